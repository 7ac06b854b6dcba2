/* cmd_analyze.c - `nhiwatch analyze`: a consumer-group worker that applies
 * nhiwatch.event/1 messages to its own SQLite shard.
 *
 * Exactly-once state: each batch of events is applied together with the
 * consumed offsets (per partition: last offset + 1) in ONE SQLite
 * transaction (nw_store_apply). The shard, not Kafka, is the source of
 * truth for where to resume: on assignment every partition starts at the
 * offset the shard stored (the beginning when it has none). A crash
 * either keeps a batch and its offsets or neither; events read twice (an
 * ingest worker's retries) are removed by the event-id de-duplication.
 * Offsets are committed to Kafka asynchronously, for lag dashboards only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../analyze/rules.h"
#include "../analyze/store.h"
#include "../analyze/stream.h"
#include "../reports/alerts.h"
#include "../core/nw_time.h"
#include "../ingest/kafka.h"
#include "../ingest/pipeline.h"
#include "../ingest/wire.h"
#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: nhiwatch analyze --brokers B --group G --topic nhi.events --db FILE [OPTIONS]\n"
          "\n"
          "Consume normalized events (nhiwatch.event/1, from `ingest`) as a member of\n"
          "consumer group G and apply them to the SQLite shard FILE. Each batch and its\n"
          "offsets are stored in one transaction; the shard says where to resume.\n"
          "`nhiwatch report --db shard1.db --db shard2.db` merges the shards.\n"
          "\n"
          "  --brokers B           bootstrap brokers, host:port[,host:port...]\n"
          "  --group G             consumer group (analyze workers share one)\n"
          "  --topic T             normalized events topic (comma-separated list allowed)\n"
          "  --db FILE             this worker's shard (created when missing)\n"
          "  --dlq-topic T         malformed messages, with nhiwatch.error / nhiwatch.source.*\n"
          "                        headers (default: log and count them in the shard)\n"
          "  --batch N             events per transaction (default 5000)\n"
          "  --batch-ms MS         apply a batch after MS milliseconds (default 500)\n"
          "  --stats SEC           print a JSON stats line to stdout every SEC seconds\n"
          "  --exit-on-idle SEC    exit 0 after SEC seconds without messages\n"
          "  --wait-brokers SEC    give up at start when no broker answers for SEC s (default 30)\n"
          "  --max-identities N    identities the shard may hold (default 2000000)\n"
          NW_CLI_ALERTS_USAGE
          "  --rules DIR           rule folder for the streaming detectors (default: the shipped rules/)\n"
          "  -X key=value          a librdkafka property (consumer, and the DLQ producer)\n"
          "  -F FILE               librdkafka properties file (key=value lines, # comments)\n"
          "  --quiet, -q           no per-message messages\n"
          "\n"
          "SIGINT / SIGTERM: apply the current batch, leave the group, exit 0.\n"
          "exit status: 0 stopped cleanly; 3 stopped cleanly, but malformed messages were\n"
          "only counted (no --dlq-topic); 1 database or DLQ delivery failure, brokers\n"
          "unreachable at start, or a fatal Kafka error; 2 bad command line.\n",
          f);
}

#define MAX_MESSAGES 20

struct tp {
    char *topic;
    int32_t partition;
    int64_t next; /* offset to store with the batch; -1: nothing pending */
};

struct analyze {
    nw_kafka *cons, *prod;
    nw_store *st;
    const char *db, *dlq_topic;
    nw_wire *w;
    nw_batch *b;
    size_t batch;
    bool quiet;

    /* the batch in progress */
    struct tp *tps;
    size_t ntp, captp;
    uint64_t batch_msgs, batch_bad, batch_dlq;
    int64_t batch_t0;
    uint64_t prod_mark;

    uint64_t messages, events, applied, duplicates, partial, batches, bad, dlq, printed, kafka_errors;
    bool joined;         /* the group gave this member an assignment (maybe empty) */
    int64_t assigned_at; /* when, for --exit-on-idle */
    bool fatal;
    nw_err err;
};

static void say(struct analyze *a, const char *what, const char *reason)
{
    if (a->quiet)
        return;
    if (a->printed < MAX_MESSAGES)
        fprintf(stderr, "nhiwatch: %s: %s\n", what, reason);
    else if (a->printed == MAX_MESSAGES)
        fprintf(stderr, "nhiwatch: more bad messages not shown; `nhiwatch stats --db` lists them\n");
    a->printed++;
}

static int note_offset(struct analyze *a, const char *topic, int32_t partition, int64_t next)
{
    for (size_t i = 0; i < a->ntp; i++) {
        if (a->tps[i].partition == partition && strcmp(a->tps[i].topic, topic) == 0) {
            a->tps[i].next = next;
            return 0;
        }
    }
    if (a->ntp == a->captp) {
        size_t nc = a->captp ? a->captp * 2 : 16;
        struct tp *nt = realloc(a->tps, nc * sizeof(*nt));
        if (!nt)
            return -1;
        a->tps = nt;
        a->captp = nc;
    }
    char *t = strdup(topic);
    if (!t)
        return -1;
    a->tps[a->ntp++] = (struct tp){t, partition, next};
    return 0;
}

static uint64_t prod_failures(struct analyze *a)
{
    if (!a->prod)
        return 0;
    nw_kafka_dstats ds;
    nw_kafka_delivery(a->prod, &ds);
    return ds.failed + ds.refused;
}

static void batch_reset(struct analyze *a)
{
    for (size_t i = 0; i < a->ntp; i++)
        a->tps[i].next = -1;
    nw_batch_clear(a->b);
    a->batch_msgs = a->batch_bad = a->batch_dlq = 0;
    a->batch_t0 = 0;
    a->prod_mark = prod_failures(a);
}

/* The batch's events, bad-message notes, counters and offsets: one
 * transaction. DLQ copies are acknowledged first, so that a stored offset
 * never covers a bad message that is neither in the DLQ nor counted. */
static int apply_batch(struct analyze *a)
{
    if (a->batch_msgs == 0)
        return 0;
    nw_err e;
    nw_err_clear(&e);
    int rc;
    if (a->batch_dlq) {
        rc = nw_kafka_flush(a->prod, -1, &e);
        uint64_t failed = prod_failures(a) - a->prod_mark;
        if (rc || failed) {
            nw_kafka_dstats ds;
            nw_kafka_delivery(a->prod, &ds);
            if (!rc)
                nw_err_set(&e, NW_KAFKA_E_DELIVERY, "%llu DLQ messages not delivered (first: %s)",
                           (unsigned long long)failed, ds.first_error);
            nw_err_set(&a->err, NW_KAFKA_E_DELIVERY, "%s; the batch is not applied, a restart reads it again",
                       e.msg);
            a->fatal = true;
            return NW_KAFKA_E_DELIVERY;
        }
    }
    nw_store_offset offs[64];
    nw_store_offset *op = offs;
    size_t noffs = 0;
    if (a->ntp > sizeof offs / sizeof offs[0]) {
        op = malloc(a->ntp * sizeof(*op));
        if (!op) {
            nw_err_set(&a->err, NW_STORE_E_NOMEM, "out of memory");
            a->fatal = true;
            return NW_STORE_E_NOMEM;
        }
    }
    for (size_t i = 0; i < a->ntp; i++)
        if (a->tps[i].next >= 0)
            op[noffs++] = (nw_store_offset){a->tps[i].topic, a->tps[i].partition, a->tps[i].next};
    nw_apply_result res = {0, 0, 0, 0};
    nw_batch *b = a->b;
    rc = nw_store_begin(a->st, &e);
    if (!rc)
        rc = nw_store_apply(a->st, b->ev, b->n, b->status, op, noffs, &res, &e);
    for (size_t i = 0; !rc && i < b->nbad; i++)
        rc = nw_store_note_bad(a->st, &b->bad[i], &e);
    struct {
        const char *name;
        uint64_t v;
    } cnt[] = {
        {"kafka_messages", a->batch_msgs}, {"events", b->n},          {"events_new", res.applied},
        {"events_duplicate", res.duplicates}, {"events_partial", res.partial}, {"bad", a->batch_bad},
        {"dlq", a->batch_dlq},
    };
    for (size_t i = 0; !rc && i < sizeof cnt / sizeof cnt[0]; i++)
        if (cnt[i].v)
            rc = nw_store_add_counter(a->st, cnt[i].name, (int64_t)cnt[i].v, &e);
    if (!rc)
        rc = nw_store_commit(a->st, &e);
    if (rc) {
        /* Never COMMIT after a failed statement: the worker stops, and closing
         * the store with the transaction open discards all of it. */
        nw_err_set(&a->err, rc, "database '%s': %s; the batch is not applied, a restart reads it again", a->db,
                   e.msg);
        a->fatal = true;
        if (op != offs)
            free(op);
        return rc;
    }
    /* for lag dashboards only: resuming never reads these */
    if (noffs) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)noffs);
        for (size_t i = 0; i < noffs; i++)
            rd_kafka_topic_partition_list_add(l, op[i].topic, op[i].partition)->offset = op[i].next_offset;
        nw_kafka_commit(a->cons, l, true, 0, NULL);
        rd_kafka_topic_partition_list_destroy(l);
    }
    if (op != offs)
        free(op);
    a->applied += res.applied;
    a->duplicates += res.duplicates;
    a->partial += res.partial;
    a->batches++;
    batch_reset(a);
    return 0;
}

static void on_rebalance(void *ctx, rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts)
{
    struct analyze *a = ctx;
    nw_err e;
    nw_err_clear(&e);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        a->joined = true;
        a->assigned_at = nw_kafka_now_ms();
        /* What the group committed (informative: every member commits what
         * it applied) tells whether another member's shard already holds
         * part of a partition. */
        rd_kafka_topic_partition_list_t *committed = rd_kafka_topic_partition_list_copy(parts);
        if (rd_kafka_committed(rk, committed, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            rd_kafka_topic_partition_list_destroy(committed);
            committed = NULL;
        }
        /* resume where this shard says, not where the group committed */
        for (int i = 0; i < parts->cnt; i++) {
            int64_t off = nw_store_offset_get(a->st, parts->elems[i].topic, parts->elems[i].partition);
            int64_t other = committed ? committed->elems[i].offset : -1;
            if (other > 0 && other > off)
                fprintf(stderr,
                        "nhiwatch: analyze: warning: %s [%d] was applied up to offset %lld by another member of "
                        "the group, and this shard has it only up to %lld: the events in between are counted in "
                        "both shards' reports. Keep each partition with its shard (docs/streaming.md, "
                        "\"Scaling\").\n",
                        parts->elems[i].topic, (int)parts->elems[i].partition, (long long)other,
                        (long long)(off < 0 ? 0 : off));
            parts->elems[i].offset = off >= 0 ? off : RD_KAFKA_OFFSET_BEGINNING;
            if (!a->quiet) {
                if (off >= 0)
                    fprintf(stderr, "nhiwatch: analyze: assigned %s [%d] from offset %lld (stored in '%s')\n",
                            parts->elems[i].topic, (int)parts->elems[i].partition, (long long)off, a->db);
                else
                    fprintf(stderr, "nhiwatch: analyze: assigned %s [%d] from the beginning\n",
                            parts->elems[i].topic, (int)parts->elems[i].partition);
            }
        }
        if (committed)
            rd_kafka_topic_partition_list_destroy(committed);
        if (nw_kafka_assign(rk, parts, &e)) {
            a->err = e;
            a->fatal = true;
        }
        return;
    }
    if (a->fatal || err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk)) {
        /* dropped: its offsets are not stored, so it is read again */
        batch_reset(a);
    } else {
        apply_batch(a);
    }
    if (!a->quiet)
        for (int i = 0; i < parts->cnt; i++)
            fprintf(stderr, "nhiwatch: analyze: revoked %s [%d]\n", parts->elems[i].topic,
                    (int)parts->elems[i].partition);
    if (nw_kafka_unassign(rk, parts, &e)) {
        a->err = e;
        a->fatal = true;
    }
}

static void bad_message(struct analyze *a, const rd_kafka_message_t *m, const nw_err *why)
{
    char reason[NW_ERR_MSG_MAX + NW_ERR_SRC_MAX + 32];
    nw_err x = *why;
    snprintf(x.source, sizeof x.source, "%s/%d@%lld", rd_kafka_topic_name(m->rkt), (int)m->partition,
             (long long)m->offset);
    nw_err_fmt(&x, reason, sizeof reason);
    a->bad++;
    a->batch_bad++;
    if (a->b->nbad < NW_BATCH_BAD_MAX)
        a->b->bad[a->b->nbad++] = x;
    if (a->prod) {
        rd_kafka_headers_t *h = nw_kafka_dlq_headers(m, reason);
        if (nw_kafka_produce(a->prod, a->dlq_topic, RD_KAFKA_PARTITION_UA, m->key, m->key_len, m->payload, m->len,
                             h, NULL, &a->err)) {
            a->fatal = true;
            return;
        }
        a->dlq++;
        a->batch_dlq++;
        say(a, "malformed message sent to the DLQ", reason);
    } else {
        say(a, "malformed message (no --dlq-topic: counted only)", reason);
    }
}

static void handle_message(struct analyze *a, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    a->messages++;
    nw_batch *b = a->b;
    nw_err e;
    nw_err_clear(&e);
    if (!m->payload || !m->len) {
        nw_err_set(&e, NW_WIRE_E_JSON, "empty message");
        bad_message(a, m, &e);
    } else {
        nw_event *ev = &b->ev[b->n];
        int rc = nw_wire_decode(a->w, m->payload, m->len, b->arena, ev, &e);
        if (rc == NW_WIRE_E_NOMEM || (rc == 0 && nw_event_persist(ev, b->arena))) {
            nw_err_set(&a->err, NW_WIRE_E_NOMEM, "out of memory decoding a message of '%s'", topic);
            a->fatal = true;
            return;
        }
        if (rc) {
            if (!e.msg[0])
                nw_err_set(&e, rc, "not a %s message", NW_WIRE_SCHEMA);
            bad_message(a, m, &e);
        } else {
            b->file[b->n] = 0;
            b->status[b->n] = 0;
            b->n++;
            a->events++;
        }
    }
    if (note_offset(a, topic, m->partition, m->offset + 1)) {
        nw_err_set(&a->err, NW_STORE_E_NOMEM, "out of memory");
        a->fatal = true;
        return;
    }
    a->batch_msgs++;
}

static void print_stats(struct analyze *a, double dt, uint64_t devents)
{
    char ts[48];
    nw_time_fmt((int64_t)time(NULL) * NW_US_PER_SEC, ts);
    printf("{\"ts\":\"%s\",\"events_per_s\":%.1f,\"events\":%llu,\"applied\":%llu,\"batches\":%llu,\"lag\":%lld,"
           "\"dlq\":%llu,\"bad\":%llu,\"duplicates\":%llu,\"partial\":%llu}\n",
           ts, dt > 0 ? (double)devents / dt : 0.0, (unsigned long long)a->events, (unsigned long long)a->applied,
           (unsigned long long)a->batches, (long long)nw_kafka_lag(a->cons), (unsigned long long)a->dlq,
           (unsigned long long)a->bad, (unsigned long long)a->duplicates, (unsigned long long)a->partial);
    fflush(stdout);
}

int nw_cmd_analyze(int argc, char **argv)
{
    enum {
        O_BROKERS = 256,
        O_GROUP,
        O_TOPIC,
        O_DB,
        O_DLQ,
        O_BATCH,
        O_BATCH_MS,
        O_STATS,
        O_IDLE,
        O_WAIT,
        O_MAXID,
        O_ALERTS,
        O_ALERT_FORMAT,
        O_RULES
    };
    static const struct option lo[] = {
        {"brokers", required_argument, NULL, O_BROKERS},
        {"group", required_argument, NULL, O_GROUP},
        {"topic", required_argument, NULL, O_TOPIC},
        {"topics", required_argument, NULL, O_TOPIC},
        {"db", required_argument, NULL, O_DB},
        {"dlq-topic", required_argument, NULL, O_DLQ},
        {"batch", required_argument, NULL, O_BATCH},
        {"batch-ms", required_argument, NULL, O_BATCH_MS},
        {"stats", required_argument, NULL, O_STATS},
        {"exit-on-idle", required_argument, NULL, O_IDLE},
        {"wait-brokers", required_argument, NULL, O_WAIT},
        {"max-identities", required_argument, NULL, O_MAXID},
        {"alerts", required_argument, NULL, O_ALERTS},
        {"alert-format", required_argument, NULL, O_ALERT_FORMAT},
        {"rules", required_argument, NULL, O_RULES},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct analyze a;
    memset(&a, 0, sizeof a);
    nw_err_clear(&a.err);
    const char *group = NULL, *topic = NULL;
    uint64_t batch_ms = 500, stats_s = 0, idle_s = 0, wait_s = 30, v;
    nw_store_opts so = {0, 0};
    a.batch = 5000;
    int c, exit_code = NW_EXIT_USAGE;
    /* streaming detectors: alerts the moment an event is applied */
    nw_cli_alerts al;
    memset(&al, 0, sizeof al);
    const char *rules_dir = NULL;
    nw_rules *rules = NULL;
    nw_stream *stream = NULL;
    nw_alerter *alerter = NULL;
    nw_kafka_conf *kc = nw_kafka_conf_new();
    if (!kc) {
        nw_cli_error("out of memory");
        return NW_EXIT_ERROR;
    }
    optind = 1;
    while ((c = getopt_long(argc, argv, "X:F:qh", lo, NULL)) != -1) {
        switch (c) {
        case O_BROKERS:
            if (nw_kafka_conf_brokers(kc, optarg, &a.err))
                goto out_conf_error;
            if (nw_cli_alerts_opt(&al, "brokers", optarg))
                goto out_free;
            break;
        case 'X':
            if (nw_kafka_conf_add(kc, optarg, &a.err))
                goto out_conf_error;
            if (nw_cli_alerts_opt(&al, "X", optarg))
                goto out_free;
            break;
        case 'F':
            if (nw_kafka_conf_file(kc, optarg, &a.err))
                goto out_conf_error;
            if (nw_cli_alerts_opt(&al, "F", optarg))
                goto out_free;
            break;
        case O_ALERTS:
        case O_ALERT_FORMAT:
            if (nw_cli_alerts_opt(&al, c == O_ALERTS ? "alerts" : "alert-format", optarg))
                goto out_free;
            break;
        case O_RULES:
            rules_dir = optarg;
            break;
        case O_GROUP:
            group = optarg;
            break;
        case O_TOPIC:
            topic = optarg;
            break;
        case O_DB:
            a.db = optarg;
            break;
        case O_DLQ:
            a.dlq_topic = optarg;
            break;
        case 'q':
            a.quiet = true;
            break;
        case O_BATCH:
        case O_BATCH_MS:
        case O_STATS:
        case O_IDLE:
        case O_WAIT:
        case O_MAXID:
            if (nw_cli_size(optarg, &v) || v == 0) {
                nw_cli_error("option needs a positive number, not '%s'", optarg);
                goto out_free;
            }
            if (c == O_BATCH)
                a.batch = v > 1000000 ? 1000000 : (size_t)v;
            else if (c == O_BATCH_MS)
                batch_ms = v;
            else if (c == O_STATS)
                stats_s = v;
            else if (c == O_IDLE)
                idle_s = v;
            else if (c == O_WAIT)
                wait_s = v > 86400 ? 86400 : v;
            else
                so.max_identities = v;
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
                          : !topic                       ? "--topic"
                          : !a.db                        ? "--db"
                                                         : NULL;
    if (missing || optind != argc) {
        if (missing)
            nw_cli_error("analyze: %s is required", missing);
        usage(stderr);
        goto out_free;
    }

    exit_code = NW_EXIT_ERROR;
    nw_kafka_block_signals();
    if (nw_store_open(a.db, &so, &a.st, &a.err)) {
        nw_cli_error("%s", a.err.msg);
        goto out_free;
    }
    if (al.nsinks) {
        bool failed = false;
        nw_err re;
        nw_err_clear(&re);
        if (nw_rules_load(rules_dir, &rules, &re)) {
            nw_cli_error("rules: %s", re.msg);
            goto out_free;
        }
        alerter = nw_cli_alerter_open(&al, a.st, rules, &failed);
        if (!alerter)
            goto out_free;
        if (!(stream = nw_stream_new(rules, nw_alerter_stream, alerter, &re))) {
            nw_cli_error("alerts: %s", re.msg);
            goto out_free;
        }
        nw_store_set_hook(a.st, nw_stream_hook, stream);
    }
    a.w = nw_wire_new(0, &a.err);
    a.b = nw_batch_new(a.batch + 1);
    if (!a.w || !a.b) {
        nw_cli_error("%s", a.err.msg[0] ? a.err.msg : "out of memory");
        goto out_free;
    }
    const nw_kafka_prop cprops[] = {
        {"client.id", "nhiwatch-analyze", NULL},
        {"auto.offset.reset", "earliest", NULL},
        {"group.id", group, "give the group with --group"},
        {"enable.auto.commit", "false", "the shard stores its offsets with the data; Kafka commits are informative"},
        {"enable.auto.offset.store", "false", "offsets are stored in the shard"},
    };
    const nw_kafka_prop pprops[] = {
        {"client.id", "nhiwatch-analyze-dlq", NULL},
        {"linger.ms", "5", NULL},
        {"enable.idempotence", "true", NULL},
    };
    nw_kafka_cbs cbs = {&a, NULL, on_rebalance};
    if (a.dlq_topic)
        a.prod = nw_kafka_new(RD_KAFKA_PRODUCER, kc, pprops, sizeof pprops / sizeof pprops[0], NULL, &a.err);
    if (a.prod || !a.dlq_topic)
        a.cons = nw_kafka_new(RD_KAFKA_CONSUMER, kc, cprops, sizeof cprops / sizeof cprops[0], &cbs, &a.err);
    if (!a.cons) {
        nw_cli_error("%s", a.err.msg);
        exit_code = a.err.code == NW_KAFKA_E_CONF ? NW_EXIT_USAGE : NW_EXIT_ERROR;
        goto out_free;
    }
    if (nw_kafka_wait_brokers(a.cons, (int)wait_s, &a.err) || nw_kafka_subscribe(a.cons, topic, &a.err)) {
        nw_cli_error("%s", a.err.msg);
        goto out_free;
    }
    batch_reset(&a);
    if (!a.quiet)
        fprintf(stderr, "nhiwatch: analyze: group '%s', topic %s -> '%s'\n", group, topic, a.db);

    int64_t t_start = nw_kafka_now_ms(), last_msg = t_start, last_stats = t_start;
    uint64_t stats_events = 0;
    int64_t last_sig = t_start;
    while (!a.fatal) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(nw_kafka_rk(a.cons), 100);
        int64_t now = nw_kafka_now_ms();
        if (m) {
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                    a.kafka_errors++;
                    if (a.kafka_errors <= MAX_MESSAGES)
                        fprintf(stderr, "nhiwatch: analyze: %s\n", rd_kafka_message_errstr(m));
                }
            } else {
                if (a.batch_msgs == 0)
                    a.batch_t0 = now;
                handle_message(&a, m);
                last_msg = now;
            }
            rd_kafka_message_destroy(m);
        }
        if (now - last_sig >= 100 || !m) {
            last_sig = now;
            if (nw_kafka_stop_requested())
                break; /* m was handled: the batch in progress is finished below */
        }
        if (nw_kafka_fatal(a.cons, &a.err) || (a.prod && nw_kafka_fatal(a.prod, &a.err)))
            a.fatal = true;
        if (a.fatal)
            break;
        if (a.batch_msgs && (a.b->n >= a.batch || !m || now - a.batch_t0 >= (int64_t)batch_ms))
            apply_batch(&a);
        if (stats_s && now - last_stats >= (int64_t)stats_s * 1000) {
            print_stats(&a, (double)(now - last_stats) / 1000.0, a.events - stats_events);
            stats_events = a.events;
            last_stats = now;
        }
        /* idle counts from the last message or the last assignment: a member
         * waiting for the group (a dead member's session to expire) is not idle */
        if (idle_s && a.joined && a.batch_msgs == 0 &&
            now - (last_msg > a.assigned_at ? last_msg : a.assigned_at) >= (int64_t)idle_s * 1000)
            break;
    }
    if (!a.fatal)
        apply_batch(&a);
    if (a.fatal)
        nw_cli_error("analyze: %s", a.err.msg);
    else
        exit_code = a.bad && !a.dlq_topic ? NW_EXIT_BAD_INPUT : NW_EXIT_OK;
    if (stats_s)
        print_stats(&a, (double)(nw_kafka_now_ms() - last_stats) / 1000.0, a.events - stats_events);
    if (!a.quiet)
        fprintf(stderr,
                "nhiwatch: analyze: %llu messages, %llu events (%llu new, %llu already stored, %llu partial), %llu "
                "malformed (%llu to the DLQ), %llu batches, in %.1f s\n",
                (unsigned long long)a.messages, (unsigned long long)a.events, (unsigned long long)a.applied,
                (unsigned long long)a.duplicates, (unsigned long long)a.partial, (unsigned long long)a.bad,
                (unsigned long long)a.dlq, (unsigned long long)a.batches,
                (double)(nw_kafka_now_ms() - t_start) / 1000.0);
    goto out_free;

out_conf_error:
    nw_cli_error("%s", a.err.msg);
out_free:
    /* closing the consumer revokes its partitions: the callback applies or drops */
    nw_kafka_free(a.cons);
    a.cons = NULL;
    if (a.prod && !a.fatal)
        nw_kafka_flush(a.prod, 10000, NULL);
    nw_kafka_free(a.prod);
    nw_wire_free(a.w);
    nw_batch_free(a.b);
    if (alerter) {
        int arc = nw_cli_alerter_close(alerter, &al, a.quiet);
        if (arc && exit_code == NW_EXIT_OK)
            exit_code = arc;
    } else {
        nw_kafka_conf_free(al.kafka);
    }
    nw_stream_free(stream);
    nw_rules_free(rules);
    nw_store_close(a.st);
    for (size_t i = 0; i < a.ntp; i++)
        free(a.tps[i].topic);
    free(a.tps);
    nw_kafka_conf_free(kc);
    return exit_code;
}
