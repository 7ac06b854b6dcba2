/* kafka.h - Kafka plumbing shared by `ship`, `ingest` and `analyze`.
 *
 * A thin layer over librdkafka, not a replacement for it: the commands use
 * rd_kafka_* calls on the handle directly (nw_kafka_rk). What lives here is
 * what all three need and must do the same way:
 *
 * nw_kafka_conf - the user's client properties, gathered like kcat does:
 *   `--brokers B`, repeated `-X key=value`, `-F FILE` (key=value lines, '#'
 *   comments). Each property is checked against librdkafka the moment it is
 *   given, so an unknown or invalid one is refused with librdkafka's own
 *   reason before anything connects.
 *
 * nw_kafka - one producer or consumer handle with a command's defaults
 *   (overridable) and fixed properties (refused when the user asks for a
 *   different value: the delivery guarantees depend on them), an error
 *   callback that logs transient errors once per 10 s per error code and
 *   remembers fatal ones, delivery accounting for producers, a bounded wait
 *   for the brokers at start, a bounded flush, rebalance helpers for both
 *   the eager and the cooperative protocol, DLQ headers and consumer lag.
 *
 * Threads: every callback runs on the thread that calls rd_kafka_poll,
 * rd_kafka_flush or rd_kafka_consumer_poll on that handle; librdkafka's log
 * callback may run on its internal threads and is stateless.
 */
#ifndef NW_KAFKA_H
#define NW_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "../core/nw_err.h"

enum nw_kafka_error {
    NW_KAFKA_OK = 0,
    NW_KAFKA_E_CONF = -1,     /* bad -X syntax, unknown or invalid property, unreadable -F file,
                                 a fixed property set to another value */
    NW_KAFKA_E_CREATE = -2,   /* rd_kafka_new failed */
    NW_KAFKA_E_BROKERS = -3,  /* no broker answered within the wait */
    NW_KAFKA_E_DELIVERY = -4, /* produce refused, or messages not acknowledged in time */
    NW_KAFKA_E_COMMIT = -5,   /* offsets could not be committed */
    NW_KAFKA_E_FATAL = -6,    /* librdkafka raised a fatal error (the handle is unusable) */
    NW_KAFKA_E_ASSIGN = -7,   /* (un)assigning partitions failed */
    NW_KAFKA_E_NOMEM = -8,
};

const char *nw_kafka_strerror(int code);

/* ---- client properties ---- */

typedef struct nw_kafka_conf nw_kafka_conf;

/* NULL when out of memory. */
nw_kafka_conf *nw_kafka_conf_new(void);
void nw_kafka_conf_free(nw_kafka_conf *kc);
/* Set one property (copied). origin names where it came from ("-X",
 * "'client.properties' line 3") for the error message. Returns 0, or
 * NW_KAFKA_E_CONF with librdkafka's reason ("No such configuration
 * property: \"foo\"") in err. A later value for the same key replaces the
 * earlier one. */
int nw_kafka_conf_set(nw_kafka_conf *kc, const char *key, const char *value, const char *origin, nw_err *err);
/* "-X key=value": split at the first '=' (values may hold '='). */
int nw_kafka_conf_add(nw_kafka_conf *kc, const char *kv, nw_err *err);
/* "-F FILE": key=value per line; blank lines and lines starting with '#'
 * are skipped; white space around the key and the value is trimmed. */
int nw_kafka_conf_file(nw_kafka_conf *kc, const char *path, nw_err *err);
/* "--brokers B": bootstrap.servers. */
int nw_kafka_conf_brokers(nw_kafka_conf *kc, const char *brokers, nw_err *err);
/* The value set for key, or NULL (borrowed; valid until the key is set again). */
const char *nw_kafka_conf_get(const nw_kafka_conf *kc, const char *key);
/* The brokers to name in messages: bootstrap.servers or metadata.broker.list, or NULL. */
const char *nw_kafka_conf_broker_list(const nw_kafka_conf *kc);

/* ---- handles ---- */

/* A property the command sets. why == NULL: a default, applied before the
 * user's properties so that those win. why != NULL: fixed, applied after
 * them; a user value that differs is refused with why in the message. */
typedef struct nw_kafka_prop {
    const char *key;
    const char *value;
    const char *why;
} nw_kafka_prop;

typedef struct nw_kafka_cbs {
    void *ctx;
    /* Producer: called for every delivery report with the opaque given to
     * nw_kafka_produce and the result (0 = acknowledged). May be NULL. */
    void (*on_delivery)(void *ctx, void *opaque, rd_kafka_resp_err_t err);
    /* Consumer: called for every assignment change. NULL: assign what the
     * group gives, from the committed offsets. When set, the callee must
     * assign/unassign (nw_kafka_assign / nw_kafka_unassign). */
    void (*on_rebalance)(void *ctx, rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts);
} nw_kafka_cbs;

typedef struct nw_kafka nw_kafka;

/* Create a producer or a consumer (type). props / nprops: the command's
 * defaults and fixed properties (see above); cbs may be NULL. Consumers
 * also get defaults of their own, under the command's: a larger prefetch
 * queue (queued.max.messages.kbytes=262144, queued.min.messages=1000000;
 * librdkafka < 2.1 pauses fetching up to a second each time that queue
 * fills), fetch.queue.backoff.ms=20 on librdkafka >= 2.1, and
 * topic.metadata.refresh.interval.ms=10000 (a topic created later is found
 * within 10 s). Returns NULL with err set (NW_KAFKA_E_CONF naming the
 * property, or NW_KAFKA_E_CREATE). A consumer's messages are served by
 * rd_kafka_consumer_poll (the main queue is redirected to it). */
nw_kafka *nw_kafka_new(rd_kafka_type_t type, const nw_kafka_conf *kc, const nw_kafka_prop *props, size_t nprops,
                       const nw_kafka_cbs *cbs, nw_err *err);
/* Consumer: closes it (leaves the group; the rebalance callback sees the
 * final revoke) then destroys it. Producer: destroys it without waiting;
 * flush first (nw_kafka_flush) to keep what is queued. NULL is a no-op. */
void nw_kafka_free(nw_kafka *k);
rd_kafka_t *nw_kafka_rk(nw_kafka *k);

/* Wait until a broker answers a metadata request, trying again every few
 * seconds, for at most timeout_s seconds (a pending SIGINT / SIGTERM, see
 * nw_kafka_block_signals, ends the wait). Returns 0 or NW_KAFKA_E_BROKERS:
 * "cannot reach brokers 127.0.0.1:1 after 10 s (2 tries; last error:
 * Local: Broker transport failure): ...". */
int nw_kafka_wait_brokers(nw_kafka *k, int timeout_s, nw_err *err);

/* A fatal error was raised (idempotent producer fencing, consumer fenced by
 * a newer instance ...): true, with the reason in err (may be NULL). */
bool nw_kafka_fatal(nw_kafka *k, nw_err *err);

/* ---- producing ---- */

typedef struct nw_kafka_dstats {
    uint64_t produced;  /* accepted by rd_kafka_produce */
    uint64_t delivered; /* acknowledged by the brokers */
    uint64_t failed;    /* delivery reports with an error */
    uint64_t refused;   /* refused by rd_kafka_produce (too large, unknown partition ...) */
    uint64_t bytes;     /* payload bytes delivered */
    char first_error[NW_ERR_MSG_MAX]; /* the first delivery failure, "" when none */
} nw_kafka_dstats;

/* Produce one message (payload and key copied). hdrs may be NULL; it is
 * always consumed (handed to librdkafka or destroyed). partition may be
 * RD_KAFKA_PARTITION_UA. opaque (borrowed, may be NULL) comes back in
 * cbs.on_delivery. When the local queue is full, serves delivery reports
 * and tries again. Returns 0, NW_KAFKA_E_DELIVERY (refused: too large,
 * unknown topic ...; counted as refused, no delivery report follows), or
 * NW_KAFKA_E_FATAL. */
int nw_kafka_produce(nw_kafka *k, const char *topic, int32_t partition, const void *key, size_t klen,
                     const void *val, size_t vlen, rd_kafka_headers_t *hdrs, void *opaque, nw_err *err);
/* Serve delivery reports without blocking (call now and then while producing). */
void nw_kafka_poll(nw_kafka *k);
/* Wait until every queued message has a delivery report, for at most
 * timeout_ms (< 0: as long as librdkafka's message.timeout.ms allows, which
 * bounds it). Returns 0 when the queue is empty (check failures with
 * nw_kafka_delivery), NW_KAFKA_E_DELIVERY when messages are still queued
 * at the deadline, NW_KAFKA_E_FATAL. */
int nw_kafka_flush(nw_kafka *k, int64_t timeout_ms, nw_err *err);
void nw_kafka_delivery(const nw_kafka *k, nw_kafka_dstats *out);

/* The DLQ headers of message m (new object, owned by the caller until
 * produced; NULL when out of memory): nhiwatch.error = reason,
 * nhiwatch.source.topic, nhiwatch.source.partition, nhiwatch.source.offset
 * (decimal text), then m's own headers. */
rd_kafka_headers_t *nw_kafka_dlq_headers(const rd_kafka_message_t *m, const char *reason);

/* The compression codecs this librdkafka was built with include name? */
bool nw_kafka_has_codec(const char *name);

/* ---- consuming ---- */

/* Subscribe to a comma-separated topic list. */
int nw_kafka_subscribe(nw_kafka *k, const char *topics, nw_err *err);
/* Assign / unassign parts with the group's protocol (eager: the whole
 * assignment; cooperative: incrementally). For use in on_rebalance. */
int nw_kafka_assign(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts, nw_err *err);
int nw_kafka_unassign(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts, nw_err *err);
/* Commit offsets (parts' offsets are the next offsets to read).
 * Synchronous commits retry retriable errors (coordinator moving, broker
 * down) for up to timeout_ms. Returns 0 or NW_KAFKA_E_COMMIT. */
int nw_kafka_commit(nw_kafka *k, const rd_kafka_topic_partition_list_t *parts, bool async, int64_t timeout_ms,
                    nw_err *err);
/* Sum over the assigned partitions of high watermark - position, from what
 * the consumer already knows (no broker round trip); -1 when nothing is
 * known yet. */
int64_t nw_kafka_lag(nw_kafka *k);

/* ---- worker lifecycle ---- */

/* Block SIGINT and SIGTERM in the calling thread (and so in the threads
 * librdkafka starts later): they stay pending until nw_kafka_stop_requested
 * picks them up, so a worker stops between batches, never in the middle of
 * one. Call before nw_kafka_new. */
void nw_kafka_block_signals(void);
/* true (once per signal) when SIGINT or SIGTERM arrived. */
bool nw_kafka_stop_requested(void);

/* Monotonic milliseconds (a coarse clock: steps of a few ms). */
int64_t nw_kafka_now_ms(void);

#endif
