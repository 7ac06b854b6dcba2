#include "nw_str.h"

#include <ctype.h>

static inline int fold(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

bool nw_str_eq(nw_str a, const char *lit)
{
    size_t n = strlen(lit);
    return a.n == n && (n == 0 || memcmp(a.p, lit, n) == 0);
}

bool nw_str_eqs(nw_str a, nw_str b)
{
    return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

bool nw_str_ieqs(nw_str a, nw_str b)
{
    if (a.n != b.n)
        return false;
    for (size_t i = 0; i < a.n; i++)
        if (fold((unsigned char)a.p[i]) != fold((unsigned char)b.p[i]))
            return false;
    return true;
}

bool nw_str_ieq(nw_str a, const char *lit) { return nw_str_ieqs(a, nw_str_c(lit)); }

bool nw_str_starts(nw_str a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.n >= n && memcmp(a.p, prefix, n) == 0;
}

bool nw_str_istarts(nw_str a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.n >= n && nw_str_ieqs(nw_str_mk(a.p, n), nw_str_mk(prefix, n));
}

bool nw_str_ends(nw_str a, const char *suffix)
{
    size_t n = strlen(suffix);
    return a.n >= n && memcmp(a.p + a.n - n, suffix, n) == 0;
}

bool nw_str_iends(nw_str a, const char *suffix)
{
    size_t n = strlen(suffix);
    return a.n >= n && nw_str_ieqs(nw_str_mk(a.p + a.n - n, n), nw_str_mk(suffix, n));
}

long nw_str_chr(nw_str a, char c)
{
    if (a.n == 0)
        return -1;
    const char *q = memchr(a.p, c, a.n);
    return q ? (long)(q - a.p) : -1;
}

long nw_str_rchr(nw_str a, char c)
{
    for (size_t i = a.n; i > 0; i--)
        if (a.p[i - 1] == c)
            return (long)(i - 1);
    return -1;
}

long nw_str_find(nw_str a, const char *needle)
{
    size_t n = strlen(needle);
    if (n == 0)
        return 0;
    if (a.n < n)
        return -1;
    for (size_t i = 0; i + n <= a.n; i++)
        if (a.p[i] == needle[0] && memcmp(a.p + i, needle, n) == 0)
            return (long)i;
    return -1;
}

nw_str nw_str_sub(nw_str a, size_t off, size_t n)
{
    if (off > a.n)
        off = a.n;
    if (n > a.n - off)
        n = a.n - off;
    return nw_str_mk(a.p + off, n);
}

nw_str nw_str_trim(nw_str a)
{
    while (a.n && isspace((unsigned char)a.p[0])) {
        a.p++;
        a.n--;
    }
    while (a.n && isspace((unsigned char)a.p[a.n - 1]))
        a.n--;
    return a;
}

char *nw_str_cpy(char *dst, size_t cap, nw_str s)
{
    if (cap == 0)
        return dst;
    size_t n = s.n < cap - 1 ? s.n : cap - 1;
    if (n)
        memcpy(dst, s.p, n);
    dst[n] = '\0';
    return dst;
}
