/* pipeline.h - files to batches of normalized events, on two threads.
 *
 * A reader thread walks the inputs, inflates, splits records, decodes them
 * (containers inside a record are split and decoded element by element)
 * and fills batches; the calling thread receives each full batch through
 * the callback (and typically applies it to the store), so decompression
 * and decoding overlap with the database writes. At most three batches
 * exist at once, which bounds memory whatever the input size.
 *
 * Bad records are printed (source, line, record index, reason) up to
 * max_messages, always counted, and a few examples per batch are handed to
 * the consumer for bookkeeping. The run goes on after every bad record.
 */
#ifndef NW_PIPELINE_H
#define NW_PIPELINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "../core/nw_arena.h"
#include "../core/nw_err.h"
#include "decode.h"
#include "event.h"
#include "source.h"

#define NW_BATCH_BAD_MAX 8

typedef struct nw_batch {
    nw_event *ev;
    uint32_t *file;  /* index into nw_pipeline_result.files, per event */
    uint8_t *status; /* for the consumer: nw_apply_status per event */
    size_t n, cap;
    nw_arena *arena; /* every string of ev lives here */
    nw_err bad[NW_BATCH_BAD_MAX];
    size_t nbad; /* examples in bad[] (more may have been counted) */
} nw_batch;

typedef struct nw_file_stat {
    char *path;
    int64_t size, mtime;
    bool gzip;
    const char *status; /* ok, damaged, failed */
    int64_t records, events, skipped, bad;
    int64_t duplicates, partial; /* filled by the consumer */
} nw_file_stat;

#define NW_SKIP_REASONS 16

typedef struct nw_pipeline_result {
    nw_source_stats src;
    uint64_t events;             /* decoded events */
    uint64_t by_provider[4];     /* indexed by enum nw_provider */
    uint64_t skipped;            /* recognised non-activity records */
    uint64_t bad;                /* bad records (split + decode) */
    uint64_t decode_errors[8];   /* by -nw_dec_error */
    char skip_reason[NW_SKIP_REASONS][80];
    uint64_t skip_count[NW_SKIP_REASONS];
    nw_file_stat *files;         /* one per file read, in read order */
    size_t nfiles;
    uint64_t file_errors;        /* files unreadable or damaged */
} nw_pipeline_result;

/* Events per batch (one store transaction) when the caller gives none.
 * Each commit writes every page the batch dirtied to the WAL, and with
 * many identities a batch dirties about a page per event: on a tenth of
 * the 50,000-identity bench estate, 16384 instead of 4096 (with the store's
 * larger WAL checkpoint interval) took `run` from about 11 to 9 CPU
 * seconds. Memory: the pipeline holds three batches, about 1 KB per event
 * with its strings (peak RSS 73 MB to 110 MB on that tenth). */
#define NW_PIPELINE_BATCH_DEFAULT 16384

typedef struct nw_pipeline_opts {
    nw_source_limits source;
    nw_decode_limits decode;
    size_t batch_events;  /* default NW_PIPELINE_BATCH_DEFAULT */
    size_t max_messages;  /* bad-record messages printed; default 20 */
    FILE *log;            /* where messages go; NULL = stderr; */
    bool quiet;           /* no messages at all (still counted) */
} nw_pipeline_opts;

/* Consumer: called on the calling thread with each full batch, in order.
 * Return 0 to go on; non-zero stops the pipeline and is returned. */
typedef int (*nw_batch_cb)(void *ctx, nw_batch *b);

/* Run the pipeline over paths. Returns 0 when everything was read whole
 * (bad records inside files do not count here: see res->bad), a negative
 * nw_source_error when some file could not be read whole, or the
 * consumer's non-zero value. res must be freed with nw_pipeline_result_free. */
int nw_pipeline_files(const char *const *paths, size_t npaths, const nw_pipeline_opts *opts, nw_batch_cb cb,
                      void *ctx, nw_pipeline_result *res, nw_err *err);
void nw_pipeline_result_free(nw_pipeline_result *res);

/* The single-threaded core, shared with the Kafka ingest worker: decode one
 * raw record (splitting containers) and append its events to b. Counts go
 * to res; bad records are reported through on_bad (may be NULL). */
typedef struct nw_recdec nw_recdec;
nw_recdec *nw_recdec_new(const nw_decode_limits *dl, const nw_split_limits *sl, nw_err *err);
void nw_recdec_free(nw_recdec *rd);
typedef void (*nw_recdec_bad_cb)(void *ctx, const nw_err *e);
/* Returns the number of events appended, or -1 when the batch arena is out
 * of memory. The batch grows as needed. */
int nw_recdec_record(nw_recdec *rd, const nw_rec *rec, uint32_t file_index, nw_batch *b, nw_pipeline_result *res,
                     nw_recdec_bad_cb on_bad, void *ctx);

nw_batch *nw_batch_new(size_t cap);
void nw_batch_free(nw_batch *b);
void nw_batch_clear(nw_batch *b);

#endif
