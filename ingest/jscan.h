/* jscan.h - raw-event JSON scanning: one pass, the values a decoder asked for.
 *
 * The hot path never builds a JSON tree. A decoder compiles the paths it
 * needs once (nw_jpaths_new), then for each record calls nw_jscan_doc, which
 * walks the document once, descends only into objects on a requested path,
 * skips everything else, and fills one nw_jval per path. Implemented on
 * simdjson On-Demand in jscan.cc (the only C++ file); everything else is C.
 *
 * Paths are JSON-Pointer-like: "userIdentity/sessionContext/sessionIssuer/arn".
 * "~1" stands for '/' inside a key and "~0" for '~' (Azure claim keys are
 * URLs). The empty path "" is the document (or array element) itself. Key
 * matching is ASCII case-insensitive: every provider has shipped the same
 * field in two casings (Azure `level`/`Level`), and no audit format has two
 * keys that differ only in case. When a key repeats in one object, the first
 * occurrence wins.
 *
 * Values:
 *   NW_J_STRING  s = the unescaped string
 *   NW_J_NUMBER  s = the number's text as written
 *   NW_J_BOOL    b
 *   NW_J_NULL
 *   NW_J_OBJECT / NW_J_ARRAY  s = the raw JSON text of the subtree, which
 *                can be scanned again with nw_jscan_doc / nw_jscan_each
 *   NW_J_ABSENT  the path is not in the document
 *
 * Ownership: value views point into the input buffer when the text needs no
 * unescaping and the buffer had padding, else into `arena`. Either way they
 * stay valid while both the input and the arena do.
 *
 * A document is one JSON value: anything but white space after it (`{"a":1}
 * x`, `{"a":1}}`) makes it NW_JSCAN_E_SYNTAX.
 *
 * Caps on string length and field count are not the scanner's: simdjson
 * On-Demand skips the subtrees nobody asked for without showing them, so
 * measuring them would take a second walk. Records from files and Kafka are
 * measured by the record splitter (source.h), which reads every byte anyway;
 * JSON that no splitter saw (an event unwrapped from a string, a wire
 * message) is measured with nw_jscan_measure before it is scanned.
 */
#ifndef NW_JSCAN_H
#define NW_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "../core/nw_arena.h"
#include "../core/nw_err.h"
#include "../core/nw_str.h"

/* Bytes that must be readable (any value) after `len` for in-place parsing.
 * Buffers with less spare capacity are copied into the arena first. */
#define NW_JSCAN_PADDING 64

enum nw_jtype {
    NW_J_ABSENT = 0,
    NW_J_NULL,
    NW_J_BOOL,
    NW_J_NUMBER,
    NW_J_STRING,
    NW_J_OBJECT,
    NW_J_ARRAY,
};

typedef struct nw_jval {
    unsigned char type; /* enum nw_jtype */
    bool b;
    nw_str s;
} nw_jval;

enum nw_jscan_error {
    NW_JSCAN_OK = 0,
    NW_JSCAN_E_SYNTAX = -1,     /* not well-formed JSON */
    NW_JSCAN_E_NOT_OBJECT = -2, /* root (or element) is not an object and "" was not asked */
    NW_JSCAN_E_TOO_LARGE = -3,  /* document over the scanner's size cap */
    NW_JSCAN_E_NOMEM = -4,
    NW_JSCAN_E_PATH = -5,       /* nw_jpaths_new: a path is malformed or conflicts */
    NW_JSCAN_E_TOO_DEEP = -6,   /* nesting deeper than the scanner's depth cap */
    NW_JSCAN_E_CALLBACK = -7,   /* nw_jscan_each: the callback returned non-zero */
    NW_JSCAN_E_STRING = -8,     /* nw_jscan_measure: a string longer than max_string */
    NW_JSCAN_E_FIELDS = -9,     /* nw_jscan_measure: more fields than max_fields */
};

typedef struct nw_jpaths nw_jpaths;
typedef struct nw_jscan nw_jscan;

/* Compile n paths; value i of a scan answers paths[i]. A path may not be
 * both requested itself and the prefix of another requested path.
 * Returns NULL on error (err says which path). */
nw_jpaths *nw_jpaths_new(const char *const *paths, size_t n, nw_err *err);
void nw_jpaths_free(nw_jpaths *ps);
size_t nw_jpaths_count(const nw_jpaths *ps);

/* A scanner owns one simdjson parser; not thread-safe, one per thread.
 * max_doc: documents larger than this are refused (NW_JSCAN_E_TOO_LARGE).
 * max_depth: nesting cap, as far as simdjson checks it while descending
 * (subtrees that are skipped are not measured: the record splitter in
 * source.h enforces the nesting cap on every record before it gets here). */
nw_jscan *nw_jscan_new(size_t max_doc, size_t max_depth);
void nw_jscan_free(nw_jscan *js);

/* Scan one document. buf[0..len) is the JSON text and buf has `cap` bytes
 * readable in all (cap >= len); with cap - len >= NW_JSCAN_PADDING it is
 * parsed in place. out must have nw_jpaths_count(ps) entries.
 * Returns NW_JSCAN_OK or a negative nw_jscan_error (NW_JSCAN_E_SYNTAX also
 * for content after the root value); err->msg says why and err->offset
 * where, when known. */
int nw_jscan_doc(nw_jscan *js, const char *buf, size_t len, size_t cap, const nw_jpaths *ps,
                 nw_jval *out, nw_arena *arena, nw_err *err);

/* Scan a JSON array: for each element, fill vals as nw_jscan_doc would
 * (a non-object element fills only the "" path, if asked) and call
 * cb(ctx, index, vals). A non-zero return from cb stops the walk and is
 * reported as NW_JSCAN_E_CALLBACK. Content after the array is
 * NW_JSCAN_E_SYNTAX, found after the last callback. */
typedef int (*nw_jscan_each_cb)(void *ctx, size_t index, const nw_jval *vals);
int nw_jscan_each(nw_jscan *js, const char *buf, size_t len, size_t cap, const nw_jpaths *ps,
                  nw_arena *arena, nw_jscan_each_cb cb, void *ctx, nw_err *err);

/* Measure buf[0..len) against two caps without parsing it: one pass over
 * the bytes, no allocation, any input (it does not validate JSON; scan the
 * text afterwards for that). What is counted, exactly as the record
 * splitter counts it (docs/hardening.md, "Limits"):
 *   string  every string, key or value: the bytes between its quotes as
 *           written (an escape such as \n or \u00e9 counts its 2 or 6 bytes);
 *   fields  every object member and every array element at any depth (the
 *           document itself is not one): {"a":[1,2]} has 3, {} and [] none.
 * max_string / max_fields of 0 mean no cap.
 * Returns NW_JSCAN_OK, NW_JSCAN_E_STRING or NW_JSCAN_E_FIELDS, the first cap
 * passed in reading order; err->msg says how much, where and which cap
 * ("string of 70000 bytes at byte 12 exceeds the 65536-byte cap"), and
 * err->offset is that byte (the opening quote, or the start of the field
 * one over the cap). */
int nw_jscan_measure(const char *buf, size_t len, size_t max_string, size_t max_fields, nw_err *err);

const char *nw_jscan_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
