/* nw_redact.c - credential masking. See nw_redact.h. */
#include "nw_redact.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

struct span {
    size_t from, to; /* [from, to) is replaced by NW_REDACTED */
};

#define MAX_SPANS 32

static inline int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
/* character classes, one table lookup each */
enum { C_ALNUM = 1, C_WORD = 2, C_TOK = 4, C_B64 = 8 };
#define AL (C_ALNUM | C_WORD | C_TOK | C_B64)
static const unsigned char cls[256] = {
    ['0'] = AL, ['1'] = AL, ['2'] = AL, ['3'] = AL, ['4'] = AL, ['5'] = AL, ['6'] = AL, ['7'] = AL, ['8'] = AL,
    ['9'] = AL, ['a'] = AL, ['b'] = AL, ['c'] = AL, ['d'] = AL, ['e'] = AL, ['f'] = AL, ['g'] = AL, ['h'] = AL,
    ['i'] = AL, ['j'] = AL, ['k'] = AL, ['l'] = AL, ['m'] = AL, ['n'] = AL, ['o'] = AL, ['p'] = AL, ['q'] = AL,
    ['r'] = AL, ['s'] = AL, ['t'] = AL, ['u'] = AL, ['v'] = AL, ['w'] = AL, ['x'] = AL, ['y'] = AL, ['z'] = AL,
    ['A'] = AL, ['B'] = AL, ['C'] = AL, ['D'] = AL, ['E'] = AL, ['F'] = AL, ['G'] = AL, ['H'] = AL, ['I'] = AL,
    ['J'] = AL, ['K'] = AL, ['L'] = AL, ['M'] = AL, ['N'] = AL, ['O'] = AL, ['P'] = AL, ['Q'] = AL, ['R'] = AL,
    ['S'] = AL, ['T'] = AL, ['U'] = AL, ['V'] = AL, ['W'] = AL, ['X'] = AL, ['Y'] = AL, ['Z'] = AL,
    ['_'] = C_WORD | C_TOK, ['-'] = C_WORD | C_TOK, ['.'] = C_WORD | C_TOK,
    ['~'] = C_TOK, ['+'] = C_TOK | C_B64, ['/'] = C_TOK | C_B64, ['='] = C_TOK,
};
#undef AL
/* key names: letters, digits, '_', '-', '.' */
static inline bool wordc(unsigned char c) { return cls[c] & C_WORD; }
/* characters of a bearer token / JWT (RFC 6750 b64token, plus '.') */
static inline bool tokc(unsigned char c) { return cls[c] & C_TOK; }
/* an AWS secret access key: base64 without padding */
static inline bool b64c(unsigned char c) { return cls[c] & C_B64; }

/* lit is lower-case ASCII */
static inline bool ieq_at(const char *p, size_t n, size_t i, const char *lit)
{
    size_t k = strlen(lit); /* a literal: the compiler folds it */
    if (i + k > n)
        return false;
    for (size_t j = 0; j < k; j++)
        if (lower((unsigned char)p[i + j]) != lit[j])
            return false;
    return true;
}

static bool ifind(const char *p, size_t from, size_t to, const char *lit, size_t *at)
{
    for (size_t i = from; i < to; i++)
        if (ieq_at(p, to, i, lit)) {
            *at = i;
            return true;
        }
    return false;
}

/* Bytes where a rule is looked at: the separators of key=value and
 * key: value, the blank or quote after a word ("Bearer <token>",
 * "secret <40 characters>"), the 'J' of "eyJ" (JWT) and '-' (PEM). */
static const unsigned char trigger[256] = {
    [':'] = 1, ['='] = 1, [' '] = 1, ['\t'] = 1, ['"'] = 1, ['\''] = 1, ['J'] = 1, ['-'] = 1,
};

/* Where next_trigger is in the text: the 16-byte block last looked at and
 * its trigger bits, so that each block is compared once. */
struct cursor {
    size_t blk;
    unsigned bits;
    bool valid;
};

/* Index of the next trigger byte at or after i, or n. Most text has few:
 * looked at 16 bytes at a time where SSE2 is there. */
static inline size_t next_trigger(const char *p, size_t i, size_t n, struct cursor *cu)
{
#if defined(__SSE2__)
    if (cu->valid && i >= cu->blk && i < cu->blk + 16) {
        unsigned m = cu->bits & (~0u << (i - cu->blk));
        if (m)
            return cu->blk + (size_t)__builtin_ctz(m);
        i = cu->blk + 16;
    }
    const __m128i t0 = _mm_set1_epi8(':'), t1 = _mm_set1_epi8('='), t2 = _mm_set1_epi8(' '),
                  t3 = _mm_set1_epi8('\t'), t4 = _mm_set1_epi8('"'), t5 = _mm_set1_epi8('\''),
                  t6 = _mm_set1_epi8('J'), t7 = _mm_set1_epi8('-');
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, t0), _mm_cmpeq_epi8(x, t1)),
                                              _mm_or_si128(_mm_cmpeq_epi8(x, t2), _mm_cmpeq_epi8(x, t3))),
                                 _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, t4), _mm_cmpeq_epi8(x, t5)),
                                              _mm_or_si128(_mm_cmpeq_epi8(x, t6), _mm_cmpeq_epi8(x, t7))));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask) {
            cu->blk = i;
            cu->bits = mask;
            cu->valid = true;
            return i + (size_t)__builtin_ctz(mask);
        }
        i += 16;
    }
#else
    (void)cu;
#endif
    while (i < n && !trigger[(unsigned char)p[i]])
        i++;
    return i;
}

static bool secret_key(const char *w, size_t n)
{
    char k[48];
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (w[i] == '-' || w[i] == '_' || w[i] == '.')
            continue;
        if (m == sizeof k - 1)
            return false; /* no secret key name is that long */
        k[m++] = (char)lower((unsigned char)w[i]);
    }
    k[m] = '\0';
    if (m < 3)
        return false; /* "s3", "id", digits: the common case in ARNs and times */
    switch (m) { /* exact names */
    case 3:
        if (!memcmp(k, "pwd", 3) || !memcmp(k, "sig", 3))
            return true;
        break;
    case 4:
        if (!memcmp(k, "pass", 4))
            return true;
        break;
    case 6:
        if (!memcmp(k, "cookie", 6))
            return true;
        break;
    case 9:
        if (!memcmp(k, "setcookie", 9))
            return true;
        break;
    case 13:
        if (!memcmp(k, "authorization", 13))
            return true;
        break;
    }
    /* names containing one of these; one pass, on the first letter */
#define HAS(lit) (m - j >= sizeof(lit) - 1 && !memcmp(k + j, lit, sizeof(lit) - 1))
    for (size_t j = 0; j + 5 <= m; j++) {
        switch (k[j]) {
        case 'p':
            if (HAS("password") || HAS("passwd") || HAS("privatekey"))
                return true;
            break;
        case 's':
            if (HAS("secret") || HAS("signature"))
                return true;
            break;
        case 't':
            if (HAS("token"))
                return true;
            break;
        case 'a':
            if (HAS("apikey"))
                return true;
            break;
        }
    }
#undef HAS
    return false;
}

/* p[i] is '=' or ':': is it the separator after a secret key? Sets *from,
 * *to to the value. */
static bool key_value(const char *p, size_t n, size_t i, size_t *from, size_t *to)
{
    /* back over closing quotes / escapes / blanks: "password" : "x" */
    size_t k = i, skipped = 0;
    while (k > 0 && skipped < 3 && (p[k - 1] == '"' || p[k - 1] == '\'' || p[k - 1] == '\\' || p[k - 1] == ' ')) {
        k--;
        skipped++;
    }
    size_t ws = k;
    /* the key is the last (up to) 40 characters of the word before the
     * separator: "x.client_secret", "X-Amz-Security-Token" */
    while (ws > 0 && wordc((unsigned char)p[ws - 1]) && k - ws < 40)
        ws--;
    /* a field of an ARN (arn:aws:secretsmanager:...:secret:name) is a
     * name, not a key: a key is not itself preceded by ':' */
    if (ws == k || (p[i] == ':' && ws > 0 && p[ws - 1] == ':') || !secret_key(p + ws, k - ws))
        return false;
    bool auth = (k - ws) == 13 && ieq_at(p, n, ws, "authorization");
    size_t v = i + 1;
    while (v < n && (p[v] == ' ' || p[v] == '\t'))
        v++;
    char quote = 0;
    if (v < n && p[v] == '\\' && v + 1 < n && (p[v + 1] == '"' || p[v + 1] == '\''))
        v++;
    if (v < n && (p[v] == '"' || p[v] == '\'')) {
        quote = p[v];
        v++;
    }
    if (v >= n || p[v] == '{' || p[v] == '[')
        return false; /* a nested object: its own keys are looked at */
    size_t e = v;
    if (quote) {
        while (e < n && p[e] != quote && p[e] != '\\')
            e++;
    } else if (auth) {
        while (e < n && p[e] != '\n' && p[e] != '\r' && p[e] != '"' && p[e] != '\'' && p[e] != ',' && p[e] != ';')
            e++;
    } else {
        while (e < n) {
            unsigned char c = (unsigned char)p[e];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '&' || c == ';' || c == ',' || c == '"' ||
                c == '\'' || c == '}' || c == ']' || c == ')' || c == '\\' || c == '<' || c == '>')
                break;
            e++;
        }
    }
    if (e == v)
        return false;
    *from = v;
    *to = e;
    return true;
}

/* The word (up to 40 characters) that ends at p[k). */
static size_t word_start(const char *p, size_t k)
{
    size_t ws = k;
    while (ws > 0 && wordc((unsigned char)p[ws - 1]) && k - ws < 40)
        ws--;
    return ws;
}

static bool word_has(const char *p, size_t ws, size_t k, const char *lit)
{
    size_t at;
    return ifind(p, ws, k, lit, &at);
}

/* Find what to mask, left to right; returns the number of spans (capped:
 * when more than MAX_SPANS, the last span runs to the end of the text). */
static size_t scan(const char *p, size_t n, struct span *sp)
{
    size_t ns = 0;
    size_t i = 0;
    struct cursor cu = {0, 0, false};
    for (;;) {
        i = next_trigger(p, i, n, &cu);
        if (i >= n)
            break;
        unsigned char c = (unsigned char)p[i];
        size_t from = 0, to = 0;
        bool hit = false;
        if (c == '=' || c == ':') {
            hit = key_value(p, n, i, &from, &to);
        } else if (c == ' ' || c == '\t' || c == '"' || c == '\'') {
            /* after a word: "Bearer <token>", "secret <AWS secret key>";
             * cheapest checks first, most blanks end here */
            if (i > 0 && wordc((unsigned char)p[i - 1])) {
                if ((c == ' ' || c == '\t') && i >= 6 && ieq_at(p, n, i - 6, "bearer") &&
                    (i == 6 || !wordc((unsigned char)p[i - 7]))) {
                    size_t v = i;
                    while (v < n && (p[v] == ' ' || p[v] == '\t'))
                        v++;
                    size_t e = v;
                    while (e < n && tokc((unsigned char)p[e]))
                        e++;
                    if (e - v >= 8) {
                        from = v;
                        to = e;
                        hit = true;
                    }
                }
                if (!hit) {
                    size_t v = i, seps = 0;
                    while (v < n && seps < 4 &&
                           (p[v] == ' ' || p[v] == '\t' || p[v] == '"' || p[v] == '\'' || p[v] == '\\')) {
                        v++;
                        seps++;
                    }
                    /* exactly 40: two lookups rule most words out */
                    size_t e = v;
                    if (v + 40 <= n && b64c((unsigned char)p[v + 39]) && (v + 40 == n || !b64c((unsigned char)p[v + 40])))
                        while (e < n && e - v <= 40 && b64c((unsigned char)p[e]))
                            e++;
                    if (e - v == 40 && word_has(p, word_start(p, i), i, "secret")) {
                        from = v;
                        to = e;
                        hit = true;
                    }
                }
            }
        } else if (c == 'J') {
            /* a JWT: "eyJ" at the start of a token run, a dot, 16+ characters */
            if (i >= 2 && p[i - 2] == 'e' && p[i - 1] == 'y' && (i == 2 || !wordc((unsigned char)p[i - 3]))) {
                size_t e = i - 2, dots = 0;
                while (e < n && tokc((unsigned char)p[e])) {
                    dots += p[e] == '.';
                    e++;
                }
                if (dots && e - (i - 2) >= 16) {
                    from = i - 2;
                    to = e;
                    hit = true;
                }
            }
        } else if (c == '-' && ieq_at(p, n, i, "-----begin")) {
            /* the header line names a private key: mask to the END line */
            size_t eol = i + 10, at;
            while (eol < n && p[eol] != '\n' && p[eol] != '\r')
                eol++;
            if (ifind(p, i + 10, eol, "private key", &at)) {
                size_t end = n, e2;
                if (ifind(p, at + 11, n, "-----end", &e2)) {
                    size_t close;
                    end = ifind(p, e2 + 8, n, "-----", &close) ? close + 5 : n;
                }
                from = i;
                to = end;
                hit = true;
            }
        }
        if (!hit) {
            i++;
            continue;
        }
        if (ns && from <= sp[ns - 1].to) {
            /* inside or right after the span before ("token: Bearer x"
             * masks "Bearer", then the bearer rule masks x): one span */
            if (from < sp[ns - 1].from)
                sp[ns - 1].from = from;
            if (to > sp[ns - 1].to)
                sp[ns - 1].to = to;
        } else if (ns == MAX_SPANS) {
            /* pathological text: mask everything from the last span on */
            sp[ns - 1].to = n;
            return ns;
        } else {
            sp[ns].from = from;
            sp[ns].to = to;
            ns++;
        }
        /* go on at the value: another rule may find more in and after it
         * ("pwd: secret <40 characters>"); i always advances */
        i = from > i ? from : i + 1;
    }
    return ns;
}

bool nw_redact_needed(nw_str s)
{
    struct span sp[MAX_SPANS];
    return s.n && scan(s.p, s.n, sp) > 0;
}

/* Write the masked text into out (cap bytes, may be 0); returns the full length. */
static size_t render(const char *p, size_t n, const struct span *sp, size_t ns, char *out, size_t cap)
{
    size_t o = 0, at = 0;
    static const char mask[] = NW_REDACTED;
    for (size_t k = 0; k <= ns; k++) {
        size_t upto = k < ns ? sp[k].from : n;
        for (size_t j = at; j < upto; j++, o++)
            if (o < cap)
                out[o] = p[j];
        if (k < ns) {
            for (size_t j = 0; j < sizeof mask - 1; j++, o++)
                if (o < cap)
                    out[o] = mask[j];
            at = sp[k].to;
        }
    }
    return o;
}

nw_str nw_redact(nw_arena *a, nw_str s)
{
    struct span sp[MAX_SPANS];
    size_t ns = s.n ? scan(s.p, s.n, sp) : 0;
    if (!ns)
        return s;
    size_t len = render(s.p, s.n, sp, ns, NULL, 0);
    char *out = nw_arena_alloc(a, len + 1);
    if (!out)
        return NW_STR_LIT(NW_REDACTED);
    render(s.p, s.n, sp, ns, out, len);
    out[len] = '\0';
    return nw_str_mk(out, len);
}

bool nw_redact_msg(char *buf, size_t cap)
{
    if (!buf || cap == 0)
        return false;
    size_t n = strnlen(buf, cap - 1);
    struct span sp[MAX_SPANS];
    size_t ns = scan(buf, n, sp);
    if (!ns)
        return false;
    char tmp[1024];
    size_t len = render(buf, n, sp, ns, tmp, sizeof tmp);
    if (len > sizeof tmp)
        len = sizeof tmp;
    if (len > cap - 1)
        len = cap - 1;
    memcpy(buf, tmp, len);
    buf[len] = '\0';
    return true;
}
