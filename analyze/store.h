/* store.h - per-identity state in SQLite.
 *
 * One writer connection per process (WAL, synchronous=NORMAL). Events are
 * applied in batches: one transaction per batch de-duplicates each event by
 * (time, provider de-dup id), aggregates the new ones in memory per identity
 * and writes the aggregates with prepared UPSERTs; Kafka offsets given with
 * the batch are written in the same transaction, so a crash either keeps the
 * batch and its offsets or neither. Re-applying events already stored
 * changes nothing.
 *
 * Tables (store_sql.h): identity, credential, activity_daily, action_used,
 * source_seen, event_seen, input_file, counter, bad_input, kafka_offset,
 * meta. Times are microseconds since the epoch, UTC.
 */
#ifndef NW_STORE_H
#define NW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/nw_err.h"
#include "../ingest/event.h"

typedef struct nw_store nw_store;

enum nw_store_error {
    NW_STORE_OK = 0,
    NW_STORE_E_OPEN = -1,    /* cannot open or create the file */
    NW_STORE_E_FOREIGN = -2, /* not an nhiwatch database, or corrupt */
    NW_STORE_E_VERSION = -3, /* written by a newer nhiwatch */
    NW_STORE_E_SQL = -4,     /* an SQL statement failed */
    NW_STORE_E_FULL = -5,    /* disk or database full: the batch was rolled back */
    NW_STORE_E_NOMEM = -6,
    NW_STORE_E_LIMIT = -7,   /* more identities than the configured cap */
    NW_STORE_E_READONLY = -8,
    NW_STORE_E_BUSY = -9,    /* another connection held the write lock past the busy timeout: retry */
};

#define NW_STORE_SCHEMA_VERSION 3

#define NW_STORE_READONLY 0x1u /* open an existing database for reading only */

typedef struct nw_store_opts {
    unsigned flags;
    uint64_t max_identities; /* 0 = default (2,000,000) */
} nw_store_opts;

/* Open (creating with mode 0600 when missing and not read-only) and migrate
 * to the current schema. On failure *out is NULL and err says why. */
int nw_store_open(const char *path, const nw_store_opts *opts, nw_store **out, nw_err *err);
void nw_store_close(nw_store *st);
const char *nw_store_strerror(int code);
/* How long a statement waits for another connection's lock before it
 * fails with NW_STORE_E_BUSY (default 5000 ms). A caller that must wait
 * longer in a bounded way (analyze taking over a partition shard) sets a
 * short timeout and retries, so it can say what it is waiting for. */
void nw_store_set_busy_timeout(nw_store *st, int ms);

/* A Kafka position consumed by the batch: next offset to read. */
typedef struct nw_store_offset {
    const char *topic;
    int32_t partition;
    int64_t next_offset;
} nw_store_offset;

typedef struct nw_apply_result {
    uint64_t applied;    /* new events counted */
    uint64_t duplicates; /* already stored (same time and de-dup id) */
    uint64_t partial;    /* non-terminal records of multi-record operations */
    uint64_t new_identities;
} nw_apply_result;

/* Identity state as the store knows it before an event is applied; given
 * to the event hook (streaming detectors). */
typedef struct nw_ident_state {
    int64_t id;
    int64_t first_seen;   /* 0 when the identity is new */
    int64_t last_seen;
    int64_t last_success;
    uint64_t events;
    uint64_t privileged;     /* privilege-changing events so far */
    uint64_t human_events;   /* events with interactive (console, browser) evidence */
    uint64_t machine_events; /* events with programmatic evidence */
} nw_ident_state;

/* Called inside nw_store_apply for every new, complete event, in batch
 * order, with the identity's state before the event. */
typedef void (*nw_store_hook)(void *ctx, const nw_event *ev, const nw_ident_state *before);
void nw_store_set_hook(nw_store *st, nw_store_hook hook, void *ctx);

/* What became of each event of a batch. */
enum nw_apply_status {
    NW_APPLIED = 0,
    NW_APPLY_DUPLICATE = 1,
    NW_APPLY_PARTIAL = 2,
};

/* Apply n events and, in the same transaction, the offsets. status (may be
 * NULL) receives an nw_apply_status per event. On error the transaction is
 * rolled back (nothing of the batch is stored) and the in-memory identity
 * cache is dropped so it cannot disagree with disk. */
int nw_store_apply(nw_store *st, const nw_event *ev, size_t n, uint8_t *status, const nw_store_offset *offs,
                   size_t noffs, nw_apply_result *res, nw_err *err);

/* Next offset stored for topic/partition, or -1 when none. */
int64_t nw_store_offset_get(nw_store *st, const char *topic, int32_t partition);

/* Bookkeeping of inputs (files) and counters (stats). Each call is its own
 * transaction unless inside nw_store_begin/commit. */
typedef struct nw_input_info {
    const char *path;
    int64_t size;
    int64_t mtime;
    const char *format; /* gzip / plain */
    int64_t records, events, duplicates, skipped, bad;
    const char *status; /* ok / damaged / failed */
} nw_input_info;
int nw_store_note_input(nw_store *st, const nw_input_info *in, nw_err *err);
int nw_store_add_counter(nw_store *st, const char *name, int64_t delta, nw_err *err);
/* Keep a bad-input example (the newest 1000 are kept). */
int nw_store_note_bad(nw_store *st, const nw_err *bad, nw_err *err);
int nw_store_begin(nw_store *st, nw_err *err);
int nw_store_commit(nw_store *st, nw_err *err);

/* ---- reading ---- */

typedef struct nw_ident_row {
    int64_t id;
    const char *key, *provider, *type, *display_name, *account, *tenant;
    int64_t first_seen, last_seen, last_success;
    int64_t events, successes, failures, denied, writes, privileged;
    int64_t human_events, machine_events;
    const char *last_ip, *last_region, *last_ua, *last_action;
    const char *last_success_ip, *last_success_action;
    const char *origin;
    const char *last_event_id, *last_success_event_id;
} nw_ident_row;

typedef struct nw_cred_row {
    const char *cred_id, *kind;
    int64_t first_seen, last_seen, events;
} nw_cred_row;

typedef struct nw_used_row {
    const char *service, *action;
    int64_t first_seen, last_seen, count, successes;
    const char *first_event_id, *last_event_id;
    bool privileged; /* some call of it was privilege-changing */
} nw_used_row;

typedef struct nw_source_row {
    const char *kind, *value; /* kind: net, region, ua */
    int64_t first_seen, last_seen, count;
    const char *first_event_id;
} nw_source_row;

typedef struct nw_day_row {
    int64_t day; /* days since epoch */
    int64_t events, failures, denied, writes, privileged;
    int64_t first_time;         /* the day's first event (earliest time, then smallest id) */
    const char *first_event_id;
    int64_t successes;
} nw_day_row;

/* Row pointers are valid only during the callback. Callbacks return 0 to
 * go on. Identities come in key order. */
int nw_store_each_identity(nw_store *st, int (*cb)(void *ctx, const nw_ident_row *r), void *ctx, nw_err *err);
int nw_store_each_credential(nw_store *st, int64_t identity_id, int (*cb)(void *ctx, const nw_cred_row *r),
                             void *ctx, nw_err *err);
int nw_store_each_used(nw_store *st, int64_t identity_id, int (*cb)(void *ctx, const nw_used_row *r), void *ctx,
                       nw_err *err);
int nw_store_each_source(nw_store *st, int64_t identity_id, int (*cb)(void *ctx, const nw_source_row *r),
                         void *ctx, nw_err *err);
int nw_store_each_day(nw_store *st, int64_t identity_id, int (*cb)(void *ctx, const nw_day_row *r), void *ctx,
                      nw_err *err);
int nw_store_each_counter(nw_store *st, int (*cb)(void *ctx, const char *name, int64_t value), void *ctx,
                          nw_err *err);
int nw_store_each_input(nw_store *st, int (*cb)(void *ctx, const nw_input_info *in), void *ctx, nw_err *err);
int nw_store_each_bad(nw_store *st, int (*cb)(void *ctx, const char *source, int64_t line, int64_t record,
                                              const char *reason),
                      void *ctx, nw_err *err);
/* Identities one at a time, in key order (for merging shards). next()
 * returns 1 with *row filled (valid until the next call), 0 at the end, or
 * a negative nw_store_error. The store must stay open while it is used. */
typedef struct nw_ident_cursor nw_ident_cursor;
int nw_store_ident_cursor(nw_store *st, nw_ident_cursor **out, nw_err *err);
int nw_ident_cursor_next(nw_ident_cursor *c, nw_ident_row *row, nw_err *err);
void nw_ident_cursor_close(nw_ident_cursor *c);

/* Credentials minted by a call (AssumeRole sessions, CreateAccessKey,
 * service-account keys) and identity lifecycle (who created what), in key
 * order. Rows live in the shard of the identity that made the call. */
typedef struct nw_issued_row {
    const char *cred_id, *origin_key, *target_key, *action;
    int64_t time;
    const char *event_id;
} nw_issued_row;
typedef struct nw_lifecycle_row {
    const char *target_key;
    int64_t time;
    const char *creator_key, *action, *event_id;
} nw_lifecycle_row;
int nw_store_each_issued(nw_store *st, int (*cb)(void *ctx, const nw_issued_row *r), void *ctx, nw_err *err);
int nw_store_each_lifecycle(nw_store *st, int (*cb)(void *ctx, const nw_lifecycle_row *r), void *ctx, nw_err *err);

/* Report history (schema v3): the metrics of each recorded report
 * (`report --record`), read back by `trend` in (as_of, seq) order.
 * metrics_json is copied. */
typedef struct nw_history_row {
    int64_t seq, recorded_at, as_of;
    const char *metrics_json;
} nw_history_row;
int nw_store_history_add(nw_store *st, int64_t recorded_at, int64_t as_of, const char *metrics_json, nw_err *err);
int nw_store_each_history(nw_store *st, int (*cb)(void *ctx, const nw_history_row *r), void *ctx, nw_err *err);

/* Alert state (schema v3): one row per finding or control id that was
 * alerted, so the same condition is not alerted again until it changes
 * (reports/alerts.h). state is "open" or "resolved". Writes join the open
 * transaction when there is one (the streaming hook runs inside the
 * batch), else are their own. */
typedef struct nw_alert_row {
    const char *id, *kind, *rule, *identity, *severity, *state;
    int64_t first_alerted, last_changed; /* microseconds */
} nw_alert_row;
/* Upsert (first_alerted is kept from the first insert; last_changed is written). */
int nw_store_alert_put(nw_store *st, const nw_alert_row *r, nw_err *err);
/* Returns 1 and calls cb (may be NULL) with the row when id is known, 0
 * when not, or a negative nw_store_error. */
int nw_store_alert_get(nw_store *st, const char *id, int (*cb)(void *ctx, const nw_alert_row *r), void *ctx,
                       nw_err *err);
int nw_store_each_alert(nw_store *st, int (*cb)(void *ctx, const nw_alert_row *r), void *ctx, nw_err *err);

/* Give back memory the writer no longer needs: the identity cache (it is
 * rebuilt from disk on the next batch) and SQLite's page cache. */
void nw_store_trim(nw_store *st);

/* Totals over all identities. */
typedef struct nw_store_totals {
    int64_t identities, events, first_seen, last_seen;
} nw_store_totals;
int nw_store_totals_get(nw_store *st, nw_store_totals *t, nw_err *err);

/* Newest event time stored (microseconds), 0 when empty. */
int64_t nw_store_max_time(nw_store *st);

/* The connection, for the sibling modules of analyze/ that own tables of
 * their own (inventory.c). Not for use outside analyze/. */
struct sqlite3;
struct sqlite3 *nw_store_db(nw_store *st);

/* Derive an identity's kind from its type and event evidence. */
int nw_store_kind(const char *type, const char *key, int64_t human_events, int64_t machine_events);

/* Source helpers, shared with the detectors: the network prefix of an IP
 * (IPv4 /24, IPv6 /48; non-IP sources as they are) and the user-agent
 * family (product token). Write into buf (cap >= 64). */
const char *nw_ip_prefix(nw_str ip, char *buf, size_t cap);
const char *nw_ua_family(nw_str ua, char *buf, size_t cap);

#endif
