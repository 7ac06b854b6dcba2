/* onerec.c - the one-object test of onerec.h.
 *
 * The bytes are read 64 at a time into bit masks (quote, backslash,
 * newline, opening and closing bracket, comma), as simdjson's first stage
 * does: the quotes that are not escaped, turned into an "inside a string"
 * mask by a prefix XOR, leave the brackets and commas that are structure.
 * Only the brackets (a dozen in a CloudTrail event) are then visited one by
 * one, for the nesting checks the splitter makes. Strings are never walked
 * byte by byte: what the splitter checks in them (a raw newline; length)
 * is a mask test or a bound.
 */
#include "onerec.h"

#include <stdint.h>
#include <string.h>

#if defined(__AVX2__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Nesting visited here; deeper objects (the splitter allows --max-depth)
 * are left to the splitter. */
#define STACK_MAX 256

struct masks {
    uint64_t quote, bslash, nl, open, close, comma;
};

static inline bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

#if defined(__AVX2__)
static inline uint64_t mask32(__m256i x, char c)
{
    return (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(x, _mm256_set1_epi8(c)));
}
#elif defined(__SSE2__)
static inline uint64_t mask16(__m128i x, char c) { return (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(c))); }
#endif

/* The masks of 64 bytes at p (all readable). '{' and '[' differ from '}'
 * and ']' in the same bit: c | 0x20 folds each pair onto the brace. */
static void load_masks(const char *p, struct masks *m)
{
    memset(m, 0, sizeof *m);
#if defined(__AVX2__)
    /* the build host's instruction set (ingest/CMakeLists.txt): half the
     * compares of the SSE2 loop below, which took a tenth of an ingest
     * worker's main thread */
    const __m256i fold = _mm256_set1_epi8(0x20);
    for (int k = 0; k < 2; k++) {
        __m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(p + 32 * k));
        __m256i f = _mm256_or_si256(x, fold);
        int sh = 32 * k;
        m->quote |= mask32(x, '"') << sh;
        m->bslash |= mask32(x, '\\') << sh;
        m->nl |= mask32(x, '\n') << sh;
        m->comma |= mask32(x, ',') << sh;
        m->open |= mask32(f, '{') << sh;
        m->close |= mask32(f, '}') << sh;
    }
#elif defined(__SSE2__)
    const __m128i fold = _mm_set1_epi8(0x20);
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * k));
        __m128i f = _mm_or_si128(x, fold);
        int sh = 16 * k;
        m->quote |= mask16(x, '"') << sh;
        m->bslash |= mask16(x, '\\') << sh;
        m->nl |= mask16(x, '\n') << sh;
        m->comma |= mask16(x, ',') << sh;
        m->open |= mask16(f, '{') << sh;
        m->close |= mask16(f, '}') << sh;
    }
#else
    for (int i = 0; i < 64; i++) {
        uint64_t b = (uint64_t)1 << i;
        char c = p[i];
        char f = (char)(c | 0x20);
        if (c == '"')
            m->quote |= b;
        else if (c == '\\')
            m->bslash |= b;
        else if (c == '\n')
            m->nl |= b;
        else if (c == ',')
            m->comma |= b;
        else if (f == '{')
            m->open |= b;
        else if (f == '}')
            m->close |= b;
    }
#endif
}

/* bit i = XOR of bits 0..i */
static inline uint64_t prefix_xor(uint64_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

/* The bytes escaped by a backslash: a backslash escapes the next byte
 * unless it is escaped itself. *carry: the first byte of this block is
 * escaped (by the last byte of the previous one); set for the next block.
 * Backslashes are rare in audit records: a plain loop over them. */
static inline uint64_t escaped_bytes(uint64_t bs, uint64_t *carry)
{
    uint64_t esc = *carry;
    *carry = 0;
    while (bs) {
        int i = __builtin_ctzll(bs);
        bs &= bs - 1;
        if (esc >> i & 1)
            continue;
        if (i == 63)
            *carry = 1;
        else
            esc |= (uint64_t)1 << (i + 1);
    }
    return esc;
}

static inline int popcount64(uint64_t x) { return __builtin_popcountll(x); }

/* Could the splitter take a string of the object for a container key
 * (source.c is_container_key: "records", "logevents", "events", compared
 * with c | 0x20)? Any string with exactly those bytes between two quotes
 * counts, key or not: rarer than exact. q: the unescaped quotes of the
 * block at base (bit i = buf[base + i]), prevq: those of the block before. */
static bool container_name_in(const char *buf, size_t lo, size_t base, uint64_t q, uint64_t prevq)
{
    static const struct {
        const char *name;
        unsigned len;
    } names[] = {{"events", 6}, {"records", 7}, {"logevents", 9}};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        unsigned d = names[k].len + 1; /* closing quote - opening quote */
        uint64_t cand = q & (q << d | prevq >> (64 - d));
        while (cand) {
            size_t close = base + (size_t)__builtin_ctzll(cand);
            cand &= cand - 1;
            if (close < lo + d)
                continue;
            const char *s = buf + close - names[k].len;
            unsigned j = 0;
            while (j < names[k].len && (char)(s[j] | 0x20) == names[k].name[j])
                j++;
            if (j == names[k].len)
                return true;
        }
    }
    return false;
}

bool nw_onerec_find(const char *buf, size_t n, const nw_split_limits *lim, const char *name, nw_rec *rec)
{
    size_t max_record = lim && lim->max_record ? lim->max_record : NW_MAX_RECORD_DEFAULT;
    size_t max_depth = lim && lim->max_depth ? lim->max_depth : NW_MAX_DEPTH_DEFAULT;
    size_t max_string = lim && lim->max_string ? lim->max_string : NW_MAX_STRING_DEFAULT;
    size_t max_fields = lim && lim->max_fields ? lim->max_fields : NW_MAX_FIELDS_DEFAULT;

    /* white space around one object: the splitter skips ' ', '\t', '\r'
     * and '\n' between records and counts lines */
    size_t lo = 0, hi = n;
    int64_t line = 1;
    while (lo < n && is_ws(buf[lo])) {
        if (buf[lo] == '\n')
            line++;
        lo++;
    }
    while (hi > lo && is_ws(buf[hi - 1]))
        hi--;
    if (hi - lo < 2 || buf[lo] != '{' || buf[hi - 1] != '}')
        return false;
    size_t len = hi - lo;
    /* caps: the record's size exactly; a string cannot be longer than the
     * record (a bound, not a count) */
    if (len > max_record || len - 2 > max_string)
        return false;

    unsigned char stack[STACK_MAX];
    size_t depth = 0, fields = 0;
    uint64_t in_str = 0, esc_carry = 0, prevq = 0;
    for (size_t base = lo; base < hi; base += 64) {
        char tail[64];
        const char *p = buf + base;
        size_t avail = hi - base;
        if (avail < 64) {
            /* the last block: spaces are nothing the masks look for */
            memset(tail, ' ', sizeof tail);
            memcpy(tail, p, avail);
            p = tail;
        }
        struct masks m;
        load_masks(p, &m);
        uint64_t esc = escaped_bytes(m.bslash, &esc_carry);
        uint64_t q = m.quote & ~esc;
        uint64_t str = prefix_xor(q) ^ in_str; /* opening quote and contents */
        in_str = (uint64_t)((int64_t)str >> 63);
        /* a backslash outside a string is not an escape to the splitter;
         * a raw newline inside one makes it drop the record */
        if ((m.bslash & ~str) || (m.nl & str))
            return false;
        if (container_name_in(buf, lo, base, q, prevq))
            return false;
        prevq = q;
        fields += (size_t)popcount64(m.comma & ~str);
        uint64_t br = (m.open | m.close) & ~str;
        while (br) {
            size_t i = (size_t)__builtin_ctzll(br);
            br &= br - 1;
            char c = p[i];
            if (c == '{' || c == '[') {
                /* the splitter refuses to open a level at depth max_depth */
                if (depth >= max_depth || depth >= STACK_MAX)
                    return false;
                stack[depth++] = (unsigned char)c;
                fields++;
            } else {
                if (depth == 0 || stack[depth - 1] != (c == '}' ? '{' : '['))
                    return false;
                depth--;
                /* the object must close at its last byte: anything after
                 * it would be another record */
                if (depth == 0 && base + i != hi - 1)
                    return false;
            }
        }
    }
    /* every field starts after a comma or an opening bracket: their count
     * bounds the splitter's field count */
    if (depth != 0 || in_str || fields > max_fields)
        return false;
    rec->p = buf + lo;
    rec->n = len;
    rec->cap = n - lo;
    rec->line = line;
    rec->index = 1;
    rec->offset = (int64_t)lo;
    rec->source = name;
    return true;
}
