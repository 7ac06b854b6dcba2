/* nw_str.h - length-delimited string views.
 *
 * A view never owns its bytes: whoever produced it says how long they live
 * (usually: until the batch arena is reset, or until the input buffer is
 * released). Views are not NUL-terminated.
 */
#ifndef NW_STR_H
#define NW_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

typedef struct nw_str {
    const char *p;
    size_t n;
} nw_str;

#define NW_STR_NULL ((nw_str){NULL, 0})
#define NW_STR_LIT(s) ((nw_str){(s), sizeof(s) - 1})

static inline nw_str nw_str_c(const char *s)
{
    nw_str r = {s, s ? strlen(s) : 0};
    return r;
}

static inline nw_str nw_str_mk(const char *p, size_t n)
{
    nw_str r = {p, n};
    return r;
}

static inline bool nw_str_empty(nw_str s) { return s.n == 0; }

/* The UTF-8 byte order mark some Windows tools write before text. */
#define NW_UTF8_BOM "\xef\xbb\xbf"

/* Bytes of a UTF-8 byte order mark at the start of p: 3 or 0. */
static inline size_t nw_utf8_bom_len(const char *p, size_t n)
{
    return n >= 3 && memcmp(p, NW_UTF8_BOM, 3) == 0 ? 3 : 0;
}

bool nw_str_eq(nw_str a, const char *lit);
bool nw_str_ieq(nw_str a, const char *lit);
bool nw_str_eqs(nw_str a, nw_str b);
bool nw_str_ieqs(nw_str a, nw_str b);
bool nw_str_starts(nw_str a, const char *prefix);
bool nw_str_istarts(nw_str a, const char *prefix);
bool nw_str_ends(nw_str a, const char *suffix);
bool nw_str_iends(nw_str a, const char *suffix);
/* Index of the first occurrence of c, or -1. */
long nw_str_chr(nw_str a, char c);
long nw_str_rchr(nw_str a, char c);
/* Index of the first occurrence of needle, or -1. */
long nw_str_find(nw_str a, const char *needle);
nw_str nw_str_sub(nw_str a, size_t off, size_t n);
nw_str nw_str_trim(nw_str a);
/* Copy into a NUL-terminated buffer of size cap (truncating); returns dst. */
char *nw_str_cpy(char *dst, size_t cap, nw_str s);

#endif
