/* cmd_ingest.c - `nhiwatch ingest`: a consumer-group worker that normalizes
 * raw audit records from Kafka topics into nhiwatch.event/1 messages.
 *
 * Delivery: at least once. For each batch of input messages every output
 * (events to --out-topic keyed by identity, bad messages to --dlq-topic) is
 * produced, every delivery report is checked, and only then are the input
 * offsets committed (an explicit list; asynchronously while reading,
 * synchronously before partitions are handed over and at exit). A crash
 * anywhere before the commit makes the next owner of the partitions re-read
 * the batch: the events it produces again carry the same de-duplication
 * ids, and `analyze` does not count them twice. A delivery failure stops
 * the worker without committing (exit 1). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/nw_time.h"
#include "../ingest/kafka.h"
#include "../ingest/onerec.h"
#include "../ingest/pipeline.h"
#include "../ingest/wire.h"
#include "cli.h"
#include "limits.h"

static void usage(FILE *f)
{
    fputs("usage: nhiwatch ingest --brokers B --group G --topics T1[,T2...] --out-topic T [OPTIONS]\n"
          "\n"
          "Consume raw audit records (CloudTrail, Azure Activity, GCP audit; format detected\n"
          "per message, containers split) as a member of consumer group G, and produce one\n"
          "nhiwatch.event/1 message per event to the out topic, keyed by identity. Input\n"
          "offsets are committed only after every output of a batch was acknowledged.\n"
          "\n"
          "  --brokers B           bootstrap brokers, host:port[,host:port...]\n"
          "  --group G             consumer group (ingest workers share one)\n"
          "  --topics T1,T2        raw topics to consume\n"
          "  --out-topic T         normalized events (e.g. nhi.events)\n"
          "  --dlq-topic T         bad messages, with nhiwatch.error / nhiwatch.source.*\n"
          "                        headers (default: log and count them)\n"
          "  --batch N             input messages per commit (default 5000)\n"
          "  --batch-ms MS         close a batch after MS milliseconds (default 500)\n"
          "  --stats SEC           print a JSON stats line to stdout every SEC seconds\n"
          "  --exit-on-idle SEC    exit 0 after SEC seconds without messages\n"
          "  --max-rate N          read at most N messages per second (a backfill that must\n"
          "                        not starve the live stream)\n"
          "  --wait-brokers SEC    give up at start when no broker answers for SEC s (default 30)\n"
          "  -X key=value          a librdkafka property for the consumer and the producer\n"
          "  -F FILE               librdkafka properties file (key=value lines, # comments)\n"
          NW_CLI_LIMITS_USAGE
          "  --quiet, -q           no per-message messages\n"
          "\n"
          "SIGINT / SIGTERM: finish the current batch (commit it once acknowledged), leave\n"
          "the group, exit 0.\n"
          "exit status: 0 stopped cleanly (bad messages went to the DLQ); 3 stopped cleanly,\n"
          "but bad messages were only counted (no --dlq-topic); 1 delivery failure, brokers\n"
          "unreachable at start, or a fatal Kafka error; 2 bad command line.\n",
          f);
}

#define MAX_MESSAGES 20
/* Batches whose outputs may be in flight at once: the worker keeps reading
 * while earlier batches wait for their acknowledgements. */
#define INFLIGHT 8

struct tp {
    char *topic;
    int32_t partition;
    int64_t next;
};

/* One commit unit: the input offsets it consumed and its outputs in flight. */
struct batch {
    struct tp *tps;
    size_t ntp, captp;
    uint64_t msgs;        /* input messages */
    uint64_t outstanding; /* outputs produced without a delivery report yet */
    uint64_t failed;      /* outputs whose delivery failed */
    bool closed;          /* no more messages join it */
    int64_t t0;
};

struct ingest {
    nw_kafka *cons, *prod;
    const char *out_topic, *dlq_topic;
    nw_split *split; /* a message is split like a file: arrays, containers, JSON Lines */
    nw_split_limits lim; /* the splitter's caps, for the one-object test (onerec.h) */
    nw_recdec *rd;
    nw_batch *b;
    nw_pipeline_result res;
    char *wbuf;
    size_t wcap;
    bool quiet;
    uint64_t batch_max;
    int64_t batch_ms;

    /* in-flight batches, oldest first: ring[head .. head + count) */
    struct batch ring[INFLIGHT];
    size_t head, count;

    /* the message in progress */
    const rd_kafka_message_t *msg;
    uint32_t msg_bad, msg_records;
    bool nomem;
    nw_err first_bad;

    uint64_t messages, events, batches, dlq, bad_msgs, printed, kafka_errors;
    int64_t first_msg_at, committed_at; /* the first message read, the last commit made (ms) */
    bool joined;         /* the group gave this member an assignment (maybe empty) */
    int64_t assigned_at; /* when, for --exit-on-idle */
    char delivery_error[NW_ERR_MSG_MAX];
    bool fatal;
    nw_err err;
};

static void say(struct ingest *g, const char *what, const char *reason)
{
    if (g->quiet)
        return;
    if (g->printed < MAX_MESSAGES)
        fprintf(stderr, "nhiwatch: %s: %s\n", what, reason);
    else if (g->printed == MAX_MESSAGES)
        fprintf(stderr, "nhiwatch: more bad messages not shown; see the stats\n");
    g->printed++;
}

/* Stop the worker: the first reason is the one reported. */
static void fail(struct ingest *g, int code, const char *what, const char *detail)
{
    if (!g->fatal)
        nw_err_set(&g->err, code, "%s%s%s", what, detail ? ": " : "", detail ? detail : "");
    g->fatal = true;
}

static struct batch *open_batch(struct ingest *g)
{
    if (!g->count)
        return NULL;
    struct batch *b = &g->ring[(g->head + g->count - 1) % INFLIGHT];
    return b->closed ? NULL : b;
}

static int note_offset(struct batch *b, const char *topic, int32_t partition, int64_t next)
{
    for (size_t i = 0; i < b->ntp; i++) {
        if (b->tps[i].partition == partition && strcmp(b->tps[i].topic, topic) == 0) {
            b->tps[i].next = next;
            return 0;
        }
    }
    if (b->ntp == b->captp) {
        size_t nc = b->captp ? b->captp * 2 : 8;
        struct tp *nt = realloc(b->tps, nc * sizeof(*nt));
        if (!nt)
            return -1;
        b->tps = nt;
        b->captp = nc;
    }
    char *t = strdup(topic);
    if (!t)
        return -1;
    b->tps[b->ntp++] = (struct tp){t, partition, next};
    return 0;
}

static void batch_empty(struct batch *b)
{
    for (size_t i = 0; i < b->ntp; i++)
        free(b->tps[i].topic);
    b->ntp = 0;
    b->msgs = b->outstanding = b->failed = 0;
    b->closed = false;
    b->t0 = 0;
}

static void on_delivery(void *ctx, void *opaque, rd_kafka_resp_err_t err)
{
    struct ingest *g = ctx;
    struct batch *b = opaque;
    if (!b)
        return;
    b->outstanding--;
    if (err) {
        if (!b->failed++ && !g->delivery_error[0])
            snprintf(g->delivery_error, sizeof g->delivery_error, "%s", rd_kafka_err2str(err));
    }
}

/* Commit the offsets of the oldest batches whose outputs are all
 * acknowledged, in one commit. A batch with a failed output is never
 * committed, nor is anything after it: the worker stops. While reading, the
 * commit is asynchronous (a synchronous one stalled the worker for a round
 * trip per batch); librdkafka sends commits in order, and a failed one only
 * means those messages may be read again. Before partitions are handed over
 * and at exit (drain) it is synchronous, which also waits for the earlier
 * ones. */
static void commit_done(struct ingest *g, bool sync)
{
    size_t n = 0;
    while (n < g->count) {
        struct batch *b = &g->ring[(g->head + n) % INFLIGHT];
        if (!b->closed || b->outstanding)
            break;
        if (b->failed) {
            char m[NW_ERR_MSG_MAX];
            snprintf(m, sizeof m,
                     "%llu outputs not delivered (%.120s); the input offsets of that batch are not committed, so a "
                     "restarted worker reads it again",
                     (unsigned long long)b->failed, g->delivery_error);
            fail(g, NW_KAFKA_E_DELIVERY, m, NULL);
            break;
        }
        n++;
    }
    if (!n)
        return;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    uint64_t msgs = 0;
    for (size_t i = 0; i < n; i++) {
        struct batch *b = &g->ring[(g->head + i) % INFLIGHT];
        msgs += b->msgs;
        for (size_t j = 0; j < b->ntp; j++) {
            rd_kafka_topic_partition_t *e =
                rd_kafka_topic_partition_list_find(l, b->tps[j].topic, b->tps[j].partition);
            if (!e)
                e = rd_kafka_topic_partition_list_add(l, b->tps[j].topic, b->tps[j].partition);
            e->offset = b->tps[j].next; /* later batches read further */
        }
    }
    nw_err e;
    nw_err_clear(&e);
    if (l->cnt && nw_kafka_commit(g->cons, l, !sync, 60000, &e)) {
        /* The outputs are safe; without the commit these messages are read
         * again by whoever owns the partitions next, and their events are
         * de-duplicated downstream. */
        fprintf(stderr, "nhiwatch: ingest: %s (%llu messages may be processed again)\n", e.msg,
                (unsigned long long)msgs);
    }
    rd_kafka_topic_partition_list_destroy(l);
    g->committed_at = nw_kafka_now_ms();
    for (size_t i = 0; i < n; i++)
        batch_empty(&g->ring[(g->head + i) % INFLIGHT]);
    g->head = (g->head + n) % INFLIGHT;
    g->count -= n;
    g->batches += n;
}

static void close_batch(struct ingest *g)
{
    struct batch *b = open_batch(g);
    if (!b)
        return;
    if (b->msgs == 0) {
        batch_empty(b);
        g->count--;
        return;
    }
    b->closed = true;
}

/* Wait for every output in flight, commit what was acknowledged. */
static void drain(struct ingest *g, int64_t flush_ms)
{
    close_batch(g);
    if (!g->count)
        return;
    nw_err e;
    nw_err_clear(&e);
    if (nw_kafka_flush(g->prod, flush_ms, &e)) {
        char m[NW_ERR_MSG_MAX];
        snprintf(m, sizeof m, "%.200s; the batches in flight are not committed, a restarted worker reads them again",
                 e.msg);
        fail(g, e.code, m, NULL);
    }
    if (!g->fatal)
        commit_done(g, true);
}

/* Forget the batches in flight without committing them. */
static void abandon(struct ingest *g)
{
    for (size_t i = 0; i < INFLIGHT; i++)
        batch_empty(&g->ring[i]);
    g->head = g->count = 0;
}

/* "nhiwatch: ingest: assigned nhi.raw [0] [1], other [0]" (the first 32) */
static void say_parts(const char *what, const rd_kafka_topic_partition_list_t *parts)
{
    char line[1024];
    size_t n = (size_t)snprintf(line, sizeof line, "nhiwatch: ingest: %s", what);
    for (int i = 0; i < parts->cnt && i < 32 && n < sizeof line; i++) {
        const char *t = parts->elems[i].topic;
        int p = (int)parts->elems[i].partition;
        if (i > 0 && strcmp(t, parts->elems[i - 1].topic) == 0)
            n += (size_t)snprintf(line + n, sizeof line - n, " [%d]", p);
        else
            n += (size_t)snprintf(line + n, sizeof line - n, "%s %s [%d]", i ? "," : "", t, p);
    }
    if (parts->cnt == 0 && n < sizeof line)
        n += (size_t)snprintf(line + n, sizeof line - n, " no partitions");
    else if (parts->cnt > 32 && n < sizeof line)
        snprintf(line + n, sizeof line - n, " (and %d more)", parts->cnt - 32);
    fprintf(stderr, "%s\n", line);
}

static void on_rebalance(void *ctx, rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts)
{
    struct ingest *g = ctx;
    nw_err e;
    nw_err_clear(&e);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        g->joined = true;
        g->assigned_at = nw_kafka_now_ms();
        if (!g->quiet)
            say_parts("assigned", parts);
        if (nw_kafka_assign(rk, parts, &e))
            fail(g, e.code, e.msg, NULL);
        return;
    }
    if (!g->fatal && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && !rd_kafka_assignment_lost(rk)) {
        /* hand the partitions over with what was read from them committed */
        drain(g, -1);
    } else if (!g->fatal) {
        /* lost (session timed out): another member may own them already; it
         * reads the batches again and our outputs are de-duplicated downstream */
        nw_kafka_flush(g->prod, 10000, NULL);
    }
    if (g->fatal || err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk))
        abandon(g);
    if (nw_kafka_unassign(rk, parts, &e))
        fail(g, e.code, e.msg, NULL);
}

static void on_bad(void *ctx, const nw_err *e)
{
    struct ingest *g = ctx;
    if (g->msg_bad++ == 0) {
        g->first_bad = *e;
        const rd_kafka_message_t *m = g->msg;
        snprintf(g->first_bad.source, sizeof g->first_bad.source, "%s/%d@%lld", rd_kafka_topic_name(m->rkt),
                 (int)m->partition, (long long)m->offset);
    }
}

static int on_split_rec(void *ctx, const nw_rec *r)
{
    struct ingest *g = ctx;
    g->msg_records++;
    if (nw_recdec_record(g->rd, r, 0, g->b, &g->res, on_bad, g) < 0) {
        g->nomem = true;
        return -1;
    }
    return 0;
}

static void on_split_bad(void *ctx, const nw_err *e)
{
    struct ingest *g = ctx;
    g->res.bad++;
    on_bad(g, e);
}

static int grow_wbuf(struct ingest *g, size_t need)
{
    if (need <= g->wcap)
        return 0;
    size_t nc = g->wcap ? g->wcap : 64 * 1024;
    while (nc < need)
        nc *= 2;
    char *nb = realloc(g->wbuf, nc);
    if (!nb)
        return -1;
    g->wbuf = nb;
    g->wcap = nc;
    return 0;
}

static int produce(struct ingest *g, struct batch *b, const char *topic, const void *key, size_t klen,
                   const void *val, size_t vlen, rd_kafka_headers_t *h)
{
    b->outstanding++;
    if (nw_kafka_produce(g->prod, topic, RD_KAFKA_PARTITION_UA, key, klen, val, vlen, h, b, &g->err)) {
        b->outstanding--;
        g->fatal = true; /* refused or fatal: this batch cannot be committed */
        return -1;
    }
    return 0;
}

/* A batch to add the message to: the open one, or a new one once a slot is
 * free (waiting for the oldest batch's acknowledgements when all are busy). */
static struct batch *batch_for_message(struct ingest *g, int64_t now)
{
    struct batch *b = open_batch(g);
    if (b)
        return b;
    while (g->count == INFLIGHT && !g->fatal) {
        rd_kafka_poll(nw_kafka_rk(g->prod), 10);
        commit_done(g, false);
        if (nw_kafka_fatal(g->prod, &g->err))
            g->fatal = true;
    }
    if (g->fatal)
        return NULL;
    b = &g->ring[(g->head + g->count) % INFLIGHT];
    batch_empty(b);
    b->t0 = now;
    g->count++;
    return b;
}

static int handle_message(struct ingest *g, const rd_kafka_message_t *m, int64_t now)
{
    struct batch *bt = batch_for_message(g, now);
    if (!bt)
        return -1;
    const char *topic = rd_kafka_topic_name(m->rkt);
    g->messages++;
    g->msg = m;
    g->msg_bad = g->msg_records = 0;
    nw_batch_clear(g->b);
    if (m->payload && m->len) {
        /* a message that is one plain event skips the splitter: the same
         * record, found in one vectorised pass (onerec.h) */
        nw_rec r;
        if (nw_onerec_find(m->payload, m->len, &g->lim, topic, &r))
            on_split_rec(g, &r);
        else
            nw_split_buffer(g->split, topic, m->payload, m->len, on_split_rec, on_split_bad, g);
    }
    if (g->nomem) {
        fail(g, NW_KAFKA_E_NOMEM, "out of memory decoding a message from", topic);
        return -1;
    }
    if (!g->msg_records && !g->msg_bad) {
        nw_err e;
        nw_err_clear(&e);
        nw_err_set(&e, NW_DEC_E_FORMAT, "empty message");
        on_bad(g, &e);
        g->res.bad++;
    }
    for (size_t i = 0; i < g->b->n; i++) {
        const nw_event *ev = &g->b->ev[i];
        long n = -1;
        if (!grow_wbuf(g, nw_wire_size_bound(ev)))
            n = nw_wire_encode(ev, g->wbuf, g->wcap);
        if (n < 0) {
            fail(g, NW_KAFKA_E_NOMEM, "out of memory encoding an event from", topic);
            return -1;
        }
        if (produce(g, bt, g->out_topic, ev->identity_key.p, ev->identity_key.n, g->wbuf, (size_t)n, NULL))
            return -1;
        g->events++;
    }
    if (g->msg_bad) {
        char reason[NW_ERR_MSG_MAX + NW_ERR_SRC_MAX + 96];
        nw_err_fmt(&g->first_bad, reason, sizeof reason - 64);
        if (g->msg_bad > 1) {
            size_t l = strlen(reason);
            snprintf(reason + l, sizeof reason - l, " (and %u more bad records in this message)", g->msg_bad - 1);
        }
        g->bad_msgs++;
        if (g->dlq_topic) {
            rd_kafka_headers_t *h = nw_kafka_dlq_headers(m, reason);
            if (produce(g, bt, g->dlq_topic, m->key, m->key_len, m->payload, m->len, h))
                return -1;
            g->dlq++;
            say(g, "bad message sent to the DLQ", reason);
        } else {
            say(g, "bad message (no --dlq-topic: counted only)", reason);
        }
    }
    g->msg = NULL;
    if (note_offset(bt, topic, m->partition, m->offset + 1)) {
        fail(g, NW_KAFKA_E_NOMEM, "out of memory", NULL);
        return -1;
    }
    bt->msgs++;
    return 0;
}

static void print_stats(struct ingest *g, double dt, uint64_t dmsgs)
{
    char ts[48];
    nw_time_fmt((int64_t)time(NULL) * NW_US_PER_SEC, ts);
    printf("{\"ts\":\"%s\",\"messages_per_s\":%.1f,\"messages\":%llu,\"events\":%llu,\"batches\":%llu,"
           "\"lag\":%lld,\"dlq\":%llu,\"bad\":%llu,\"skipped\":%llu}\n",
           ts, dt > 0 ? (double)dmsgs / dt : 0.0, (unsigned long long)g->messages, (unsigned long long)g->events,
           (unsigned long long)g->batches, (long long)nw_kafka_lag(g->cons), (unsigned long long)g->dlq,
           (unsigned long long)g->bad_msgs, (unsigned long long)g->res.skipped);
    fflush(stdout);
}

int nw_cmd_ingest(int argc, char **argv)
{
    enum {
        O_BROKERS = 256,
        O_GROUP,
        O_TOPICS,
        O_OUT,
        O_DLQ,
        O_BATCH,
        O_BATCH_MS,
        O_STATS,
        O_IDLE,
        O_WAIT,
        O_RATE
    };
    static const struct option lo[] = {
        {"brokers", required_argument, NULL, O_BROKERS},
        {"group", required_argument, NULL, O_GROUP},
        {"topics", required_argument, NULL, O_TOPICS},
        {"topic", required_argument, NULL, O_TOPICS},
        {"out-topic", required_argument, NULL, O_OUT},
        {"dlq-topic", required_argument, NULL, O_DLQ},
        {"batch", required_argument, NULL, O_BATCH},
        {"batch-ms", required_argument, NULL, O_BATCH_MS},
        {"stats", required_argument, NULL, O_STATS},
        {"exit-on-idle", required_argument, NULL, O_IDLE},
        {"wait-brokers", required_argument, NULL, O_WAIT},
        NW_CLI_LIMITS_OPTIONS,
        {"max-rate", required_argument, NULL, O_RATE},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ingest g;
    memset(&g, 0, sizeof g);
    nw_err_clear(&g.err);
    const char *group = NULL, *topics = NULL;
    uint64_t batch = 5000, batch_ms = 500, stats_s = 0, idle_s = 0, wait_s = 30, rate = 0, v;
    nw_cli_limits cl;
    memset(&cl, 0, sizeof cl);
    nw_source_limits src;
    memset(&src, 0, sizeof src);
    nw_decode_limits dl;
    memset(&dl, 0, sizeof dl);
    int c, exit_code = NW_EXIT_USAGE;
    nw_kafka_conf *kc = nw_kafka_conf_new();
    if (!kc) {
        nw_cli_error("out of memory");
        return NW_EXIT_ERROR;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "X:F:qh", lo, NULL)) != -1) {
        if (nw_cli_limits_is_opt(c)) {
            if (nw_cli_limits_opt(&cl, c, optarg))
                goto out_free;
            continue;
        }
        int kr = nw_cli_kafka_opt(kc, c, O_BROKERS, optarg, &g.err);
        if (kr < 0)
            goto out_conf_error;
        if (kr == 0)
            continue;
        switch (c) {
        case O_GROUP:
            group = optarg;
            break;
        case O_TOPICS:
            topics = optarg;
            break;
        case O_OUT:
            g.out_topic = optarg;
            break;
        case O_DLQ:
            g.dlq_topic = optarg;
            break;
        case 'q':
            g.quiet = true;
            break;
        case O_BATCH:
        case O_BATCH_MS:
        case O_STATS:
        case O_IDLE:
        case O_WAIT:
        case O_RATE:
            if (nw_cli_size(optarg, &v) || v == 0) {
                nw_cli_error("option needs a positive number, not '%s'", optarg);
                goto out_free;
            }
            if (c == O_BATCH)
                batch = v > 1000000 ? 1000000 : v;
            else if (c == O_BATCH_MS)
                batch_ms = v;
            else if (c == O_STATS)
                stats_s = v;
            else if (c == O_IDLE)
                idle_s = v;
            else if (c == O_WAIT)
                wait_s = v > 86400 ? 86400 : v;
            else
                rate = v;
            break;
        case 'h':
            usage(stdout);
            exit_code = NW_EXIT_OK;
            goto out_free;
        default:
            usage(stderr);
            goto out_free;
        }
    }
    if (!group)
        group = nw_kafka_conf_get(kc, "group.id");
    const char *missing = !nw_kafka_conf_broker_list(kc) ? "--brokers"
                          : !group                       ? "--group"
                          : !topics                      ? "--topics"
                          : !g.out_topic                 ? "--out-topic"
                                                         : NULL;
    if (missing || optind != argc) {
        if (missing)
            nw_cli_error("ingest: %s is required", missing);
        usage(stderr);
        goto out_free;
    }

    exit_code = NW_EXIT_ERROR;
    nw_kafka_block_signals();
    const nw_kafka_prop cprops[] = {
        {"client.id", "nhiwatch-ingest", NULL},
        {"auto.offset.reset", "earliest", NULL},
        {"group.id", group, "give the group with --group"},
        {"enable.auto.commit", "false", "ingest commits input offsets only after its outputs are acknowledged"},
    };
    const nw_kafka_prop pprops[] = {
        {"client.id", "nhiwatch-ingest", NULL},
        {"compression.codec", nw_kafka_has_codec("lz4") ? "lz4" : "gzip", NULL},
        /* larger produce requests: the broker spent 40% less CPU on the events
         * topic than with 10 ms (docs/streaming.md, "Throughput") */
        {"linger.ms", "50", NULL},
        /* the Java client's default: other producers to the out topic put an identity on the same partition */
        {"partitioner", "murmur2_random", NULL},
        /* no duplicates or reordering from retries; may be turned off for a
         * cluster without support (analyze de-duplicates by event id) */
        {"enable.idempotence", "true", NULL},
    };
    nw_kafka_cbs cbs = {&g, on_delivery, on_rebalance};
    g.prod = nw_kafka_new(RD_KAFKA_PRODUCER, kc, pprops, sizeof pprops / sizeof pprops[0], &cbs, &g.err);
    if (g.prod)
        g.cons = nw_kafka_new(RD_KAFKA_CONSUMER, kc, cprops, sizeof cprops / sizeof cprops[0], &cbs, &g.err);
    if (!g.prod || !g.cons) {
        nw_cli_error("%s", g.err.msg);
        exit_code = g.err.code == NW_KAFKA_E_CONF ? NW_EXIT_USAGE : NW_EXIT_ERROR;
        goto out_free;
    }
    if (nw_kafka_wait_brokers(g.cons, (int)wait_s, &g.err) || nw_kafka_subscribe(g.cons, topics, &g.err)) {
        nw_cli_error("%s", g.err.msg);
        goto out_free;
    }
    nw_cli_limits_apply(&cl, &src, &dl);
    g.rd = nw_recdec_new(&dl, &src.split, &g.err);
    g.split = nw_split_new(&src.split);
    g.lim = src.split;
    g.b = nw_batch_new(64);
    if (!g.rd || !g.split || !g.b) {
        nw_cli_error("%s", g.err.msg[0] ? g.err.msg : "out of memory");
        goto out_free;
    }
    g.batch_max = batch;
    g.batch_ms = (int64_t)batch_ms;
    if (!g.quiet)
        fprintf(stderr, "nhiwatch: ingest: group '%s', topics %s -> '%s'%s%s\n", group, topics, g.out_topic,
                g.dlq_topic ? ", bad messages -> " : "", g.dlq_topic ? g.dlq_topic : "");

    int64_t t_start = nw_kafka_now_ms(), last_msg = t_start, last_stats = t_start;
    uint64_t stats_msgs = 0;
    int64_t last_sig = t_start, rate_t0 = 0;
    uint64_t rate_n0 = 0;
    while (!g.fatal) {
        rd_kafka_message_t *m = NULL;
        int64_t due = 0;
        if (rate) {
            /* --max-rate: when ahead of N messages/s, wait on delivery reports instead of reading */
            int64_t t = nw_kafka_now_ms();
            if (!rate_t0 || t - rate_t0 > 10000) {
                rate_t0 = t;
                rate_n0 = g.messages;
            }
            due = rate_t0 + (int64_t)((g.messages - rate_n0) * 1000 / rate) - t;
            if (due > 0)
                rd_kafka_poll(nw_kafka_rk(g.prod), (int)(due > 100 ? 100 : due));
        }
        if (due <= 0)
            m = rd_kafka_consumer_poll(nw_kafka_rk(g.cons), 100);
        int64_t now = nw_kafka_now_ms();
        if (m) {
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                    g.kafka_errors++;
                    if (g.kafka_errors <= MAX_MESSAGES)
                        fprintf(stderr, "nhiwatch: ingest: %s\n", rd_kafka_message_errstr(m));
                }
            } else {
                if (!g.first_msg_at)
                    g.first_msg_at = now;
                handle_message(&g, m, now);
                last_msg = now;
            }
            rd_kafka_message_destroy(m);
        }
        if (now - last_sig >= 100 || !m) {
            last_sig = now;
            if (nw_kafka_stop_requested())
                break; /* m was handled: the batch in progress is finished below */
        }
        if (nw_kafka_fatal(g.cons, &g.err) || nw_kafka_fatal(g.prod, &g.err))
            g.fatal = true;
        if (g.fatal)
            break;
        struct batch *ob = open_batch(&g);
        /* a poll that found nothing closes the batch; a --max-rate pause does not */
        if (ob && (ob->msgs >= g.batch_max || (!m && due <= 0) || now - ob->t0 >= g.batch_ms))
            close_batch(&g);
        if (!m || g.messages % 256 == 0) {
            nw_kafka_poll(g.prod); /* delivery reports */
            commit_done(&g, false);
        }
        if (stats_s && now - last_stats >= (int64_t)stats_s * 1000) {
            print_stats(&g, (double)(now - last_stats) / 1000.0, g.messages - stats_msgs);
            stats_msgs = g.messages;
            last_stats = now;
        }
        /* idle counts from the last message or the last assignment: a member
         * waiting for the group (a dead member's session to expire) is not idle */
        if (idle_s && g.joined && g.count == 0 && now - (last_msg > g.assigned_at ? last_msg : g.assigned_at) >=
                                                        (int64_t)idle_s * 1000)
            break;
    }
    /* finish the batches in flight; what cannot be acknowledged in time is
     * abandoned uncommitted and read again after a restart */
    if (!g.fatal)
        drain(&g, 30000);
    abandon(&g);
    if (g.fatal)
        nw_cli_error("ingest: %s", g.err.msg);
    else
        exit_code = g.bad_msgs && !g.dlq_topic ? NW_EXIT_BAD_INPUT : NW_EXIT_OK;
    if (stats_s)
        print_stats(&g, (double)(nw_kafka_now_ms() - last_stats) / 1000.0, g.messages - stats_msgs);
    if (!g.quiet)
        fprintf(stderr,
                "nhiwatch: ingest: %llu messages, %llu events produced to '%s', %llu skipped, %llu bad messages "
                "(%llu to the DLQ), %llu batches committed, in %.1f s (first message to last commit %.2f s)\n",
                (unsigned long long)g.messages, (unsigned long long)g.events, g.out_topic,
                (unsigned long long)g.res.skipped, (unsigned long long)g.bad_msgs, (unsigned long long)g.dlq,
                (unsigned long long)g.batches, (double)(nw_kafka_now_ms() - t_start) / 1000.0,
                g.first_msg_at && g.committed_at > g.first_msg_at
                    ? (double)(g.committed_at - g.first_msg_at) / 1000.0
                    : 0.0);
    goto out_free;

out_conf_error:
    nw_cli_error("%s", g.err.msg);
out_free:
    /* the consumer first: closing it revokes the partitions, which may flush */
    nw_kafka_free(g.cons);
    g.cons = NULL;
    if (g.prod && !g.fatal)
        nw_kafka_flush(g.prod, 10000, NULL);
    nw_kafka_free(g.prod);
    nw_recdec_free(g.rd);
    nw_split_free(g.split);
    nw_batch_free(g.b);
    nw_pipeline_result_free(&g.res);
    abandon(&g);
    for (size_t i = 0; i < INFLIGHT; i++)
        free(g.ring[i].tps);
    free(g.wbuf);
    nw_kafka_conf_free(kc);
    return exit_code;
}
