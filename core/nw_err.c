#include "nw_err.h"

#include <stdio.h>
#include <string.h>

void nw_err_clear(nw_err *e)
{
    if (!e)
        return;
    e->code = 0;
    e->msg[0] = '\0';
    e->source[0] = '\0';
    e->line = 0;
    e->record = 0;
    e->offset = -1;
}

int nw_err_set(nw_err *e, int code, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return code;
}

const char *nw_err_fmt(const nw_err *e, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    if (e->source[0])
        n += (size_t)snprintf(buf + n, cap - n, "%s: ", e->source);
    if (n < cap && e->line > 0)
        n += (size_t)snprintf(buf + n, cap - n, "line %lld: ", (long long)e->line);
    if (n < cap && e->record > 0)
        n += (size_t)snprintf(buf + n, cap - n, "record %lld: ", (long long)e->record);
    if (n < cap && e->line <= 0 && e->record <= 0 && e->offset >= 0)
        n += (size_t)snprintf(buf + n, cap - n, "byte %lld: ", (long long)e->offset);
    if (n < cap)
        snprintf(buf + n, cap - n, "%s", e->msg);
    return buf;
}
