/* nw_redact.c - credential masking. See nw_redact.h. */
#include "nw_redact.h"

#include <string.h>

struct span {
    size_t from, to; /* [from, to) is replaced by NW_REDACTED */
};

#define MAX_SPANS 32

static inline int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }
static inline bool alnum(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline bool wordc(unsigned char c) { return alnum(c) || c == '_' || c == '-' || c == '.'; }
/* characters of a bearer token / JWT (RFC 6750 b64token, plus '.') */
static inline bool tokc(unsigned char c)
{
    return alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}
static inline bool b64c(unsigned char c) { return alnum(c) || c == '+' || c == '/'; }

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

/* Bytes where a rule can start: the first letters of "bearer", "eyJ",
 * "-----BEGIN", "secret", and the separators of key=value / key: value. */
static const unsigned char trigger[256] = {
    ['b'] = 1, ['B'] = 1, ['e'] = 1, ['-'] = 1, ['s'] = 1, ['S'] = 1, ['='] = 1, [':'] = 1,
};

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
    static const char *const exact[] = {"pwd", "pass", "sig", "authorization", "cookie", "setcookie"};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (strcmp(k, exact[i]) == 0)
            return true;
    static const char *const part[] = {"password", "passwd", "secret", "token", "apikey", "privatekey", "signature"};
    for (size_t i = 0; i < sizeof part / sizeof part[0]; i++)
        if (strstr(k, part[i]))
            return true;
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

/* Find what to mask, left to right; returns the number of spans (capped:
 * when more than MAX_SPANS, the last span runs to the end of the text). */
static size_t scan(const char *p, size_t n, struct span *sp)
{
    size_t ns = 0;
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (!trigger[c]) {
            i++;
            continue;
        }
        /* the second character rules most triggers out without a call */
        unsigned char c2 = i + 1 < n ? (unsigned char)p[i + 1] : 0;
        if (((c == 'b' || c == 'B' || c == 's' || c == 'S') && (c2 | 0x20) != 'e') || (c == 'e' && c2 != 'y') ||
            (c == '-' && c2 != '-')) {
            i++;
            continue;
        }
        size_t from = 0, to = 0;
        bool hit = false;
        bool boundary = i == 0 || !wordc((unsigned char)p[i - 1]);
        if (c == '=' || c == ':') {
            hit = key_value(p, n, i, &from, &to);
        } else if ((c == 'b' || c == 'B') && boundary && ieq_at(p, n, i, "bearer")) {
            size_t v = i + 6;
            size_t sp0 = v;
            while (v < n && (p[v] == ' ' || p[v] == '\t'))
                v++;
            size_t e = v;
            while (e < n && tokc((unsigned char)p[e]))
                e++;
            if (v > sp0 && e - v >= 8) {
                from = v;
                to = e;
                hit = true;
            }
        } else if (c == 'e' && boundary && i + 3 <= n && p[i + 1] == 'y' && p[i + 2] == 'J') {
            size_t e = i, dots = 0;
            while (e < n && tokc((unsigned char)p[e])) {
                dots += p[e] == '.';
                e++;
            }
            if (dots && e - i >= 16) {
                from = i;
                to = e;
                hit = true;
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
        } else if ((c == 's' || c == 'S') && ieq_at(p, n, i, "secret")) {
            /* "secret" then, without = or :, a 40-character AWS secret key */
            size_t v = i + 6;
            while (v < n && wordc((unsigned char)p[v]))
                v++;
            size_t seps = 0;
            while (v < n && seps < 4 && (p[v] == ' ' || p[v] == '\t' || p[v] == '"' || p[v] == '\'' || p[v] == '\\')) {
                v++;
                seps++;
            }
            size_t e = v;
            while (e < n && b64c((unsigned char)p[e]))
                e++;
            if (seps && e - v == 40) {
                from = v;
                to = e;
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
         * ("pwd: secret <40 characters>"); from == i only for the rules
         * that start at their trigger (JWT, PEM), so i always advances */
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
