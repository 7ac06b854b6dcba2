/* nw_err.h - error details for a person, filled by the callee.
 *
 * Modules return negative codes from their own enums; the details (what
 * input, where, why) go here, modelled on jansson's json_error_t. Every
 * field is optional: 0 / "" mean "not known".
 */
#ifndef NW_ERR_H
#define NW_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define NW_ERR_MSG_MAX 320
#define NW_ERR_SRC_MAX 512

typedef struct nw_err {
    int code;
    char msg[NW_ERR_MSG_MAX];   /* the reason, no trailing newline */
    char source[NW_ERR_SRC_MAX]; /* file path or "topic/partition" */
    int64_t line;               /* 1-based line, 0 = unknown */
    int64_t record;             /* 1-based record index within source, 0 = unknown */
    int64_t offset;             /* byte offset within the (decompressed) source, -1 = unknown */
} nw_err;

void nw_err_clear(nw_err *e);
/* Set code and message (printf-style); position fields are left alone.
 * Returns code, so `return nw_err_set(e, -3, "...")` reads naturally.
 * e may be NULL. */
int nw_err_set(nw_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "source: line L: record R: msg" with the parts that are known. */
const char *nw_err_fmt(const nw_err *e, char *buf, size_t cap);

#endif
