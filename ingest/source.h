/* source.h - files and folders in, raw JSON records out.
 *
 * Two layers:
 *
 * nw_split - a streaming record splitter. Fed bytes in chunks of any size,
 *   it finds record boundaries without parsing values: top-level values
 *   (JSON Lines, concatenated JSON), elements of a top-level array (gcloud,
 *   REST exports), and elements of the array under a container key
 *   (`Records`, `records`, `logEvents`, `Events`) of a top-level object
 *   (CloudTrail S3 objects, Azure Event Hubs bodies). It holds at most one
 *   record in memory (capped by max_record), so memory stays bounded on
 *   files of any size. A broken record costs that record only: brackets
 *   that do not match, a raw newline inside a string, a record over a cap
 *   (size, nesting, string length, field count: nw_split_limits) are
 *   reported through the bad-record callback with the position, and
 *   splitting resumes after it. In JSON Lines input (the
 *   first value sits on its first line) a line is a record: a truncated line
 *   never swallows the next one.
 *
 * nw_source - walks paths (files and folders, recursively, in sorted
 *   order), detects gzip by its magic bytes, inflates (multi-member gzip
 *   too) and feeds the splitter. Empty files are skipped and counted. A
 *   truncated or corrupt gzip stream keeps every record that arrived whole
 *   before the damage.
 */
#ifndef NW_SOURCE_H
#define NW_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/nw_err.h"

/* One record as the splitter found it. p[0..n) is the JSON text; cap bytes
 * are readable from p (cap >= n; with cap >= n + NW_JSCAN_PADDING it can be
 * parsed in place). Valid only during the callback. */
typedef struct nw_rec {
    const char *p;
    size_t n;
    size_t cap;
    int64_t line;   /* 1-based line where the record starts */
    int64_t index;  /* 1-based record number within the source */
    int64_t offset; /* byte offset of the record in the (decompressed) source */
    const char *source;
} nw_rec;

/* Return 0 to go on, non-zero to stop the source (the value is returned). */
typedef int (*nw_rec_cb)(void *ctx, const nw_rec *rec);
/* A record that could not be split out whole; e carries source and position. */
typedef void (*nw_bad_cb)(void *ctx, const nw_err *e);

/* The caps on one record; docs/hardening.md ("Limits") says why these
 * defaults. nw_decode_limits (decode.h) has the same four, for JSON that
 * a decoder unwraps from a string. */
#define NW_MAX_RECORD_DEFAULT ((size_t)1 << 20)
#define NW_MAX_DEPTH_DEFAULT ((size_t)128)
#define NW_MAX_STRING_DEFAULT ((size_t)768 << 10)
#define NW_MAX_FIELDS_DEFAULT ((size_t)100000)

/* Each cap, 0 for its default. What string and field mean is
 * nw_jscan_measure's definition (jscan.h): a string is the bytes between
 * its quotes as written, key or value; a field is an object member or an
 * array element at any depth, the record itself not counted. They are
 * measured while the bytes go by (no second pass); a record over one is
 * reported as bad and not buffered further. The record's own size is
 * checked first: a record over max_record is reported as such even when
 * one of its strings is over max_string as well. */
typedef struct nw_split_limits {
    size_t max_record; /* bytes per record; default 1 MiB */
    size_t max_depth;  /* nesting; default 128 */
    size_t max_string; /* bytes of one string; default 768 KiB */
    size_t max_fields; /* members + elements in one record; default 100000 */
} nw_split_limits;

typedef struct nw_split nw_split;

nw_split *nw_split_new(const nw_split_limits *lim);
void nw_split_free(nw_split *sp);
/* Start a new source; name is used in positions and errors (copied). */
void nw_split_reset(nw_split *sp, const char *name);
/* Feed bytes. Returns 0, or the first non-zero value of on_rec. */
int nw_split_feed(nw_split *sp, const char *data, size_t n, nw_rec_cb on_rec, nw_bad_cb on_bad, void *ctx);
/* End of input: a record still open is reported as truncated.
 * Returns the number of bytes of that partial record (0 when none). */
size_t nw_split_finish(nw_split *sp, nw_bad_cb on_bad, void *ctx);
/* Records emitted and bad records seen since the last reset. */
int64_t nw_split_records(const nw_split *sp);
int64_t nw_split_bad(const nw_split *sp);
/* true when the source was detected as JSON Lines. */
bool nw_split_is_jsonl(const nw_split *sp);

/* Whole-input convenience: split buf (e.g. a Kafka message, or the raw
 * array of a container) with a splitter of the caller's. */
int nw_split_buffer(nw_split *sp, const char *name, const char *buf, size_t n, nw_rec_cb on_rec,
                    nw_bad_cb on_bad, void *ctx);

enum nw_source_error {
    NW_SRC_OK = 0,
    NW_SRC_E_OPEN = -1,  /* cannot open / stat / read a path */
    NW_SRC_E_GZIP = -2,  /* corrupt or truncated gzip stream (records before it kept) */
    NW_SRC_E_LIMIT = -3, /* over a configured cap */
    NW_SRC_E_NOMEM = -4,
    NW_SRC_E_STOPPED = -5, /* a callback asked to stop */
};

typedef struct nw_source_stats {
    uint64_t files;         /* files opened and read */
    uint64_t files_empty;   /* skipped: zero bytes or only white space */
    uint64_t files_failed;  /* could not be opened or read */
    uint64_t files_gzip;    /* of files, gzip-compressed */
    uint64_t files_damaged; /* gzip damage or truncation: read up to the damage */
    uint64_t bytes_in;      /* bytes read from disk */
    uint64_t bytes;         /* bytes after decompression */
    uint64_t records;       /* records split out */
    uint64_t bad;           /* records that could not be split out */
} nw_source_stats;

typedef struct nw_source_cbs {
    nw_rec_cb on_rec;
    nw_bad_cb on_bad;
    /* Called once per file before its first record (may be NULL). */
    void (*on_file)(void *ctx, const char *path, int64_t size);
    /* Called for a file-level problem (open failure, gzip damage) with the
     * message; the walk goes on. */
    void (*on_file_error)(void *ctx, const nw_err *e);
    void *ctx;
} nw_source_cbs;

typedef struct nw_source_limits {
    nw_split_limits split;
    uint64_t max_file_bytes; /* decompressed bytes per file; 0 = unlimited */
} nw_source_limits;

/* Read every file under each path (a file or a folder; folders are walked
 * recursively in byte-wise sorted order; names starting with '.' are
 * skipped). Returns 0 when every file was read whole, NW_SRC_E_OPEN /
 * NW_SRC_E_GZIP when some file had a problem (reported through
 * on_file_error, the rest read anyway), NW_SRC_E_STOPPED when on_rec asked
 * to stop. Stats are added to *st. */
int nw_source_read(const char *const *paths, size_t npaths, const nw_source_limits *lim,
                   const nw_source_cbs *cbs, nw_source_stats *st, nw_err *err);

/* Expand paths into the sorted list of files nw_source_read would read.
 * *files is malloc'd (free each string and the array). Returns the count;
 * err->code is non-zero when some path could not be read (the last such
 * problem is in err; the others are still listed). */
long nw_source_list(const char *const *paths, size_t npaths, char ***files, nw_err *err);

#endif
