/* cmd_analyze.c - `nhiwatch analyze`: a consumer-group worker that applies
 * nhiwatch.event/1 messages to SQLite shards.
 *
 * Exactly-once state: each batch of events is applied together with the
 * consumed offsets (per partition: last offset + 1) in ONE SQLite
 * transaction per shard (nw_store_apply). The shard, not Kafka, is the
 * source of truth for where to resume: on assignment every partition starts
 * at the offset its shard stored (the beginning when it has none). A crash
 * either keeps a batch and its offsets or neither; events read twice (an
 * ingest worker's retries) are removed by the event-id de-duplication.
 * Offsets are committed to Kafka asynchronously, for lag dashboards only.
 *
 * Two layouts:
 *   --db FILE        one shard for whatever this worker is assigned. Exact
 *                    as long as partitions stay with their worker.
 *   --shard-dir DIR  one shard per partition (DIR/TOPIC.PARTITION.db),
 *                    opened on assignment and closed on revocation, so a
 *                    partition's state moves with it to whichever worker
 *                    gets it next: exact across rebalances when the workers
 *                    share DIR.
 *
 * Two processes never apply one partition at once: a batch is applied only
 * while the shard still holds the offset this worker read or wrote last,
 * checked inside the batch's write transaction (SQLite's write lock makes
 * the check and the write one step). A worker that finds the offset moved
 * (an earlier owner that was still finishing, a member the group had
 * already given up on) drops its pending events of that partition and
 * reads on from the stored offset. Taking over a shard waits, bounded by
 * --lock-wait, for the write lock, then reads the offset under it. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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
    fputs("usage: nhiwatch analyze --brokers B --group G --topic nhi.events (--shard-dir DIR | --db FILE)\n"
          "                        [OPTIONS]\n"
          "\n"
          "Consume normalized events (nhiwatch.event/1, from `ingest`) as a member of\n"
          "consumer group G and apply them to SQLite shards. Each batch and its offsets\n"
          "are stored in one transaction; the shard says where to resume.\n"
          "\n"
          "  --brokers B           bootstrap brokers, host:port[,host:port...]\n"
          "  --group G             consumer group (analyze workers share one)\n"
          "  --topic T             normalized events topic (comma-separated list allowed)\n"
          "  --shard-dir DIR       one shard per partition, DIR/TOPIC.PARTITION.db (DIR and\n"
          "                        the files created when missing). A partition's state\n"
          "                        moves with it: workers that share DIR stay exact when\n"
          "                        partitions change hands (scale out, a crashed worker).\n"
          "                        `nhiwatch report --db DIR` reads every shard in DIR\n"
          "  --db FILE             one shard for this worker, whatever it is assigned. Exact\n"
          "                        only while no partition moves to another worker after\n"
          "                        events were applied (docs/streaming.md, \"Scaling\");\n"
          "                        `nhiwatch report --db shard1.db --db shard2.db` merges\n"
          "  --lock-wait SEC       wait at most SEC s (default 60) for another process to\n"
          "                        release a shard's write lock (an earlier owner of the\n"
          "                        partition finishing its batch), then exit 1\n"
          "  --dlq-topic T         malformed messages, with nhiwatch.error / nhiwatch.source.*\n"
          "                        headers (default: log and count them in the shard)\n"
          "  --batch N             events per transaction (default 5000)\n"
          "  --batch-ms MS         apply a batch after MS milliseconds (default 500)\n"
          "  --stats SEC           print a JSON stats line to stdout every SEC seconds\n"
          "  --exit-on-idle SEC    exit 0 after SEC seconds without messages\n"
          "  --wait-brokers SEC    give up at start when no broker answers for SEC s (default 30)\n"
          "  --max-identities N    identities each shard may hold (default 2000000; with\n"
          "                        --shard-dir the cap is per partition shard)\n"
          NW_CLI_ALERTS_USAGE
          "                        (with --shard-dir each partition's alert state is kept\n"
          "                        in its shard and moves with it)\n"
          "  --rules DIR           rule folder for the streaming detectors (default: the shipped rules/)\n"
          "  -X key=value          a librdkafka property (consumer, and the DLQ producer)\n"
          "  -F FILE               librdkafka properties file (key=value lines, # comments)\n"
          "  --quiet, -q           no per-message messages\n"
          "\n"
          "SIGINT / SIGTERM: apply the current batch, leave the group, exit 0.\n"
          "exit status: 0 stopped cleanly; 3 stopped cleanly, but malformed messages were\n"
          "only counted (no --dlq-topic); 1 database or DLQ delivery failure, a shard\n"
          "still locked after --lock-wait, brokers unreachable at start, or a fatal Kafka\n"
          "error; 2 bad command line.\n",
          f);
}

#define MAX_MESSAGES 20
/* With --shard-dir one lock attempt waits this long, then the wait is
 * retried up to --lock-wait, so that the worker can say what it waits for. */
#define SHARD_BUSY_MS 1000

/* A SQLite shard and what hangs off it. */
struct shard {
    nw_store *st;
    char *path;          /* --shard-dir: owned; --db: the argument */
    nw_stream *stream;   /* streaming detectors (with --alerts), or NULL */
};

/* An assigned partition. */
struct part {
    char *topic;
    int32_t partition;
    struct shard *sh; /* --db: the worker's one shard; --shard-dir: its own (owned) */
    int64_t stored;   /* offset the shard held when this worker last read or wrote it (-1: none) */
    int64_t next;     /* offset to store with the pending batch; -1: nothing pending */
    int64_t floor;    /* messages below it were fetched before a seek: stale */
    uint64_t msgs, bad, dlq; /* the pending batch's */
    bool seen, take;         /* apply_batch scratch: shard visited; part applied */
};

struct analyze {
    nw_kafka *cons, *prod;
    const char *db, *shard_dir, *dlq_topic;
    struct shard one; /* --db */
    nw_store_opts so;
    int64_t lock_wait_ms;
    nw_wire *w;
    nw_batch *b;
    size_t batch;
    bool quiet;

    /* --shard-dir with --alerts: one alerter (one connection per sink) for
     * every shard, pointed at the shard whose batch is applied */
    nw_alerter *alerter;
    const nw_rules *rules;

    struct part *parts;
    size_t nparts, capparts;
    /* the batch in progress */
    uint32_t *evpart; /* part index of each event of b */
    uint32_t badpart[NW_BATCH_BAD_MAX];
    nw_event *sh_ev; /* one shard's events, gathered for its transaction */
    uint8_t *sh_status;
    nw_store_offset *offs;
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

/* ---- partition shards ---- */

/* The file name of a partition's shard: TOPIC.PARTITION.db. Legal Kafka
 * topic names are [A-Za-z0-9._-]{1,249}; any other byte (brokers that are
 * not Apache Kafka allow more) and a leading '.' (a hidden file, or '.' and
 * '..') are written %XX, so that every topic gets a plain file of its own
 * and the name maps back to one topic. A name over NAME_MAX (a long topic
 * with a partition >= 10) keeps a prefix of the topic and then '~' and a
 * 64-bit FNV-1a hash of all of it: '~' is in no legal topic name. */
static int shard_name(char *buf, size_t cap, const char *topic, int32_t partition)
{
    char enc[3 * 256 + 1];
    size_t n = 0;
    uint64_t h = 0xcbf29ce484222325ull;
    for (const unsigned char *p = (const unsigned char *)topic; *p; p++) {
        h = (h ^ *p) * 0x100000001b3ull;
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                     *p == '_' || *p == '-' || (*p == '.' && p != (const unsigned char *)topic);
        if (n + 4 > sizeof enc)
            n = sizeof enc; /* over any NAME_MAX: hashed below */
        else if (plain)
            enc[n++] = (char)*p;
        else
            n += (size_t)snprintf(enc + n, 4, "%%%02X", *p);
    }
    if (n == sizeof enc)
        n--;
    enc[n] = '\0';
    char tail[32];
    int tl = snprintf(tail, sizeof tail, ".%d.db", (int)partition);
    const size_t name_max = 255;
    int w;
    if (n + (size_t)tl <= name_max)
        w = snprintf(buf, cap, "%s%s", enc, tail);
    else
        w = snprintf(buf, cap, "%.*s~%016llx%s", (int)(name_max - (size_t)tl - 17), enc, (unsigned long long)h,
                     tail);
    return w < 0 || (size_t)w >= cap ? -1 : 0;
}

/* Say once that a shard is locked by another process and waited for. */
static void lock_note(struct analyze *a, const struct shard *sh, bool *said)
{
    if (!*said && !a->quiet)
        fprintf(stderr, "nhiwatch: analyze: shard '%s' is locked by another process; waiting up to %lld s\n",
                sh->path, (long long)(a->lock_wait_ms / 1000));
    *said = true;
}

/* Retry a transaction's BEGIN while another connection holds the write
 * lock, at most --lock-wait (rounded up to the busy timeout of one
 * attempt); then fail naming the file. */
static int shard_begin(struct analyze *a, struct shard *sh, nw_err *e)
{
    int64_t t0 = nw_kafka_now_ms();
    bool said = false;
    for (;;) {
        nw_err_clear(e);
        int rc = nw_store_begin(sh->st, e);
        if (rc != NW_STORE_E_BUSY)
            return rc;
        int64_t waited = nw_kafka_now_ms() - t0;
        if (waited >= a->lock_wait_ms) {
            char why[NW_ERR_MSG_MAX];
            snprintf(why, sizeof why, "%s", e->msg);
            return nw_err_set(e, rc,
                              "shard '%s' is still locked by another process after %lld s (an earlier owner of "
                              "its partition still writing, or another program holding it: %s); see --lock-wait",
                              sh->path, (long long)(waited / 1000), why);
        }
        lock_note(a, sh, &said);
    }
}

static void shard_close(struct analyze *a, struct shard *sh)
{
    if (!sh)
        return;
    nw_stream_free(sh->stream);
    nw_store_close(sh->st);
    if (sh != &a->one) {
        free(sh->path);
        free(sh);
    }
}

/* Open (create) a partition's shard, waiting for a lock another process
 * holds at most --lock-wait, with its streaming detectors. */
static int shard_open(struct analyze *a, const char *topic, int32_t partition, struct shard **out, nw_err *e)
{
    *out = NULL;
    char name[300];
    struct shard *sh = calloc(1, sizeof(*sh));
    if (!sh)
        return nw_err_set(e, NW_STORE_E_NOMEM, "out of memory");
    size_t plen = strlen(a->shard_dir) + sizeof name + 2;
    if (shard_name(name, sizeof name, topic, partition) || !(sh->path = malloc(plen))) {
        free(sh);
        return nw_err_set(e, NW_STORE_E_NOMEM, "out of memory");
    }
    snprintf(sh->path, plen, "%s/%s", a->shard_dir, name);
    /* opening migrates a new file under the write lock: the same wait */
    int64_t t0 = nw_kafka_now_ms(), waited = 0;
    bool said = false;
    int rc;
    for (;;) {
        nw_err_clear(e);
        rc = nw_store_open(sh->path, &a->so, &sh->st, e);
        waited = nw_kafka_now_ms() - t0;
        if (rc != NW_STORE_E_BUSY || waited >= a->lock_wait_ms)
            break;
        lock_note(a, sh, &said);
    }
    if (rc) {
        char why[NW_ERR_MSG_MAX];
        snprintf(why, sizeof why, "%s", e->msg);
        if (rc == NW_STORE_E_BUSY)
            nw_err_set(e, rc,
                       "shard '%s' of %s [%d] is still locked by another process after %lld s (an earlier owner of "
                       "the partition still writing, or another program holding it: %s); see --lock-wait",
                       sh->path, topic, (int)partition, (long long)(waited / 1000), why);
        else
            nw_err_set(e, rc, "shard '%s' of %s [%d]: %s", sh->path, topic, (int)partition, why);
        goto out_free;
    }
    nw_store_set_busy_timeout(sh->st, SHARD_BUSY_MS);
    if (a->alerter) {
        if (!(sh->stream = nw_stream_new(a->rules, nw_alerter_stream, a->alerter, e))) {
            rc = NW_STORE_E_NOMEM;
            goto out_free;
        }
        nw_store_set_hook(sh->st, nw_stream_hook, sh->stream);
    }
    *out = sh;
    return 0;
out_free:
    shard_close(a, sh);
    return rc;
}

static int part_find(const struct analyze *a, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < a->nparts; i++)
        if (a->parts[i].partition == partition && strcmp(a->parts[i].topic, topic) == 0)
            return (int)i;
    return -1;
}

/* Only when no event of the batch refers to a part (indices shift). */
static void part_remove(struct analyze *a, size_t i)
{
    struct part *p = &a->parts[i];
    if (p->sh != &a->one)
        shard_close(a, p->sh);
    free(p->topic);
    memmove(p, p + 1, (a->nparts - i - 1) * sizeof(*p));
    a->nparts--;
}

static int part_add(struct analyze *a, const char *topic, int32_t partition)
{
    if (a->nparts == a->capparts) {
        size_t nc = a->capparts ? a->capparts * 2 : 16;
        struct part *np = realloc(a->parts, nc * sizeof(*np));
        nw_store_offset *no = realloc(a->offs, nc * sizeof(*no));
        if (np)
            a->parts = np;
        if (no)
            a->offs = no;
        if (!np || !no)
            return -1;
        a->capparts = nc;
    }
    char *t = strdup(topic);
    if (!t)
        return -1;
    a->parts[a->nparts] = (struct part){t, partition, NULL, -1, -1, 0, 0, 0, 0, false, false};
    return (int)a->nparts++;
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
    for (size_t i = 0; i < a->nparts; i++) {
        struct part *p = &a->parts[i];
        p->next = -1;
        p->msgs = p->bad = p->dlq = 0;
        p->seen = p->take = false;
    }
    nw_batch_clear(a->b);
    a->batch_msgs = a->batch_bad = a->batch_dlq = 0;
    a->batch_t0 = 0;
    a->prod_mark = prod_failures(a);
}

/* Read the partition on from where its shard says: the events this worker
 * had pending for it are dropped (another process applied that range). */
static void part_fenced(struct analyze *a, struct part *p, int64_t cur, bool revoking)
{
    fprintf(stderr,
            "nhiwatch: analyze: warning: %s [%d]: shard '%s' was written by another process (it holds offset %lld, "
            "this worker expected %lld): %llu pending messages dropped, reading on from the shard's offset\n",
            p->topic, (int)p->partition, p->sh->path, (long long)cur, (long long)p->stored,
            (unsigned long long)p->msgs);
    p->stored = cur;
    p->floor = cur < 0 ? 0 : cur;
    if (revoking)
        return; /* released anyway: the next owner reads the shard */
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = cur >= 0 ? cur : RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_error_t *ke = rd_kafka_seek_partitions(nw_kafka_rk(a->cons), l, 10000);
    if (!ke && l->elems[0].err)
        nw_err_set(&a->err, NW_KAFKA_E_ASSIGN, "cannot seek %s [%d] to %lld: %s", p->topic, (int)p->partition,
                   (long long)cur, rd_kafka_err2str(l->elems[0].err));
    else if (ke)
        nw_err_set(&a->err, NW_KAFKA_E_ASSIGN, "cannot seek %s [%d] to %lld: %s", p->topic, (int)p->partition,
                   (long long)cur, rd_kafka_error_string(ke));
    if (ke || l->elems[0].err)
        a->fatal = true;
    if (ke)
        rd_kafka_error_destroy(ke);
    rd_kafka_topic_partition_list_destroy(l);
}

/* One shard's part of the batch: its events, bad-message notes, counters
 * and the offsets of its partitions, in one transaction. A partition whose
 * stored offset is no longer the one this worker knows is left out (see the
 * top of the file). */
static int apply_shard(struct analyze *a, struct shard *sh, bool revoking, nw_apply_result *res)
{
    nw_err e;
    nw_err_clear(&e);
    nw_batch *b = a->b;
    size_t noffs = 0, n = 0;
    uint64_t msgs = 0, nbad = 0, ndlq = 0;
    int rc = shard_begin(a, sh, &e);
    if (rc)
        goto out_fail;
    for (size_t j = 0; j < a->nparts; j++) {
        struct part *q = &a->parts[j];
        if (q->sh != sh || !q->msgs)
            continue;
        q->seen = true;
        int64_t cur = nw_store_offset_get(sh->st, q->topic, q->partition);
        if (cur != q->stored) {
            /* decided under the write lock, applied after the commit */
            q->take = false;
            q->next = cur;
            continue;
        }
        q->take = true;
        a->offs[noffs++] = (nw_store_offset){q->topic, q->partition, q->next};
        msgs += q->msgs;
        nbad += q->bad;
        ndlq += q->dlq;
    }
    for (size_t k = 0; k < b->n; k++) {
        const struct part *q = &a->parts[a->evpart[k]];
        if (q->sh == sh && q->take)
            a->sh_ev[n++] = b->ev[k];
    }
    if (a->alerter) /* the streaming alerts of this shard's events keep their state in it */
        nw_alerter_set_state(a->alerter, sh->st);
    if (noffs)
        rc = nw_store_apply(sh->st, a->sh_ev, n, a->sh_status, a->offs, noffs, res, &e);
    if (a->alerter)
        nw_alerter_set_state(a->alerter, NULL);
    for (size_t k = 0; !rc && k < b->nbad; k++) {
        const struct part *q = &a->parts[a->badpart[k]];
        if (q->sh == sh && q->take)
            rc = nw_store_note_bad(sh->st, &b->bad[k], &e);
    }
    struct {
        const char *name;
        uint64_t v;
    } cnt[] = {
        {"kafka_messages", msgs},           {"events", n},           {"events_new", res->applied},
        {"events_duplicate", res->duplicates}, {"events_partial", res->partial}, {"bad", nbad},
        {"dlq", ndlq},
    };
    for (size_t i = 0; !rc && i < sizeof cnt / sizeof cnt[0]; i++)
        if (cnt[i].v)
            rc = nw_store_add_counter(sh->st, cnt[i].name, (int64_t)cnt[i].v, &e);
    if (!rc)
        rc = nw_store_commit(sh->st, &e);
    if (rc)
        goto out_fail;
    for (size_t j = 0; j < a->nparts; j++) {
        struct part *q = &a->parts[j];
        if (q->sh != sh || !q->msgs)
            continue;
        if (q->take)
            q->stored = q->next;
        else
            part_fenced(a, q, q->next, revoking);
    }
    return 0;
out_fail:
    /* Never COMMIT after a failed statement: the worker stops, and closing
     * the store with the transaction open discards all of it. */
    nw_err_set(&a->err, rc, "database '%s': %s; the batch is not applied, a restart reads it again", sh->path,
               e.msg);
    a->fatal = true;
    return rc;
}

/* The batch, one transaction per shard. DLQ copies are acknowledged first,
 * so that a stored offset never covers a bad message that is neither in the
 * DLQ nor counted. */
static int apply_batch(struct analyze *a, bool revoking)
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
    nw_apply_result tot = {0, 0, 0, 0};
    for (size_t i = 0; i < a->nparts; i++) {
        struct part *p = &a->parts[i];
        if (p->seen || !p->msgs)
            continue;
        nw_apply_result res = {0, 0, 0, 0};
        if ((rc = apply_shard(a, p->sh, revoking, &res)))
            return rc;
        tot.applied += res.applied;
        tot.duplicates += res.duplicates;
        tot.partial += res.partial;
    }
    if (a->fatal) /* a seek failed */
        return NW_KAFKA_E_ASSIGN;
    /* for lag dashboards only: resuming never reads these */
    rd_kafka_topic_partition_list_t *l = NULL;
    for (size_t i = 0; i < a->nparts; i++) {
        if (!a->parts[i].take)
            continue;
        if (!l)
            l = rd_kafka_topic_partition_list_new((int)a->nparts);
        rd_kafka_topic_partition_list_add(l, a->parts[i].topic, a->parts[i].partition)->offset = a->parts[i].next;
    }
    if (l) {
        nw_kafka_commit(a->cons, l, true, 0, NULL);
        rd_kafka_topic_partition_list_destroy(l);
    }
    a->applied += tot.applied;
    a->duplicates += tot.duplicates;
    a->partial += tot.partial;
    a->batches++;
    batch_reset(a);
    return 0;
}

/* Take a partition: its shard (opened with --shard-dir), and the offset to
 * resume from, read under the shard's write lock so that a transaction an
 * earlier owner still has open is finished first. */
static int part_take(struct analyze *a, rd_kafka_topic_partition_t *tp, int64_t *off, nw_err *e)
{
    int i = part_find(a, tp->topic, tp->partition);
    if (i < 0 && (i = part_add(a, tp->topic, tp->partition)) < 0)
        return nw_err_set(e, NW_STORE_E_NOMEM, "out of memory");
    struct part *p = &a->parts[i];
    int rc;
    if (!p->sh) {
        if (!a->shard_dir)
            p->sh = &a->one;
        else if ((rc = shard_open(a, tp->topic, tp->partition, &p->sh, e)))
            goto out_remove;
    }
    if ((rc = shard_begin(a, p->sh, e)))
        goto out_remove;
    *off = nw_store_offset_get(p->sh->st, tp->topic, tp->partition);
    if ((rc = nw_store_commit(p->sh->st, e)))
        goto out_remove;
    p->stored = *off;
    p->floor = 0;
    return 0;
out_remove:
    part_remove(a, (size_t)i);
    return rc;
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
        /* resume where the shard says, not where the group committed */
        for (int i = 0; i < parts->cnt && !a->fatal; i++) {
            rd_kafka_topic_partition_t *tp = &parts->elems[i];
            int64_t off = -1;
            if (part_take(a, tp, &off, &e)) {
                nw_err_set(&a->err, e.code, "%s", e.msg);
                a->fatal = true;
                break;
            }
            const char *path = a->parts[part_find(a, tp->topic, tp->partition)].sh->path;
            int64_t other = committed ? committed->elems[i].offset : -1;
            if (other > 0 && other > off && !a->shard_dir)
                fprintf(stderr,
                        "nhiwatch: analyze: warning: %s [%d] was applied up to offset %lld by another member of "
                        "the group, and this shard has it only up to %lld: the events in between are counted in "
                        "both shards' reports. Keep each partition with its shard (docs/streaming.md, "
                        "\"Scaling\").\n",
                        tp->topic, (int)tp->partition, (long long)other, (long long)(off < 0 ? 0 : off));
            else if (other > 0 && other > off)
                fprintf(stderr,
                        "nhiwatch: analyze: warning: %s [%d] was applied up to offset %lld by a member of the "
                        "group, and its shard '%s' has it only up to %lld: the events in between are counted "
                        "twice if that member's shard is reported too. Give every worker of the group the same "
                        "--shard-dir (docs/streaming.md, \"Scaling\").\n",
                        tp->topic, (int)tp->partition, (long long)other, path, (long long)(off < 0 ? 0 : off));
            tp->offset = off >= 0 ? off : RD_KAFKA_OFFSET_BEGINNING;
            if (!a->quiet) {
                if (off >= 0)
                    fprintf(stderr, "nhiwatch: analyze: assigned %s [%d] from offset %lld (stored in '%s')\n",
                            tp->topic, (int)tp->partition, (long long)off, path);
                else if (a->shard_dir)
                    fprintf(stderr, "nhiwatch: analyze: assigned %s [%d] from the beginning (shard '%s')\n",
                            tp->topic, (int)tp->partition, path);
                else
                    fprintf(stderr, "nhiwatch: analyze: assigned %s [%d] from the beginning\n", tp->topic,
                            (int)tp->partition);
            }
        }
        if (committed)
            rd_kafka_topic_partition_list_destroy(committed);
        /* not assigned when a shard could not be taken: the worker stops */
        if (!a->fatal && nw_kafka_assign(rk, parts, &e)) {
            a->err = e;
            a->fatal = true;
        }
        return;
    }
    if (a->fatal || err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk)) {
        /* dropped: its offsets are not stored, so it is read again */
        batch_reset(a);
    } else {
        apply_batch(a, true);
        if (a->fatal)
            batch_reset(a);
    }
    /* the batch is empty: parts can go (with --shard-dir, their shards close) */
    for (int i = 0; i < parts->cnt; i++) {
        int k = part_find(a, parts->elems[i].topic, parts->elems[i].partition);
        if (!a->quiet) {
            /* with --shard-dir, where the next owner must resume it */
            if (k >= 0 && a->shard_dir && a->parts[k].stored >= 0)
                fprintf(stderr, "nhiwatch: analyze: revoked %s [%d] at offset %lld (shard '%s' closed)\n",
                        parts->elems[i].topic, (int)parts->elems[i].partition, (long long)a->parts[k].stored,
                        a->parts[k].sh->path);
            else
                fprintf(stderr, "nhiwatch: analyze: revoked %s [%d]\n", parts->elems[i].topic,
                        (int)parts->elems[i].partition);
        }
        if (k >= 0)
            part_remove(a, (size_t)k);
    }
    if (nw_kafka_unassign(rk, parts, &e)) {
        a->err = e;
        a->fatal = true;
    }
}

static void bad_message(struct analyze *a, const rd_kafka_message_t *m, struct part *p, const nw_err *why)
{
    char reason[NW_ERR_MSG_MAX + NW_ERR_SRC_MAX + 32];
    nw_err x = *why;
    snprintf(x.source, sizeof x.source, "%s/%d@%lld", rd_kafka_topic_name(m->rkt), (int)m->partition,
             (long long)m->offset);
    nw_err_fmt(&x, reason, sizeof reason);
    a->bad++;
    a->batch_bad++;
    p->bad++;
    if (a->b->nbad < NW_BATCH_BAD_MAX) {
        a->badpart[a->b->nbad] = (uint32_t)(p - a->parts);
        a->b->bad[a->b->nbad++] = x;
    }
    if (a->prod) {
        rd_kafka_headers_t *h = nw_kafka_dlq_headers(m, reason);
        if (nw_kafka_produce(a->prod, a->dlq_topic, RD_KAFKA_PARTITION_UA, m->key, m->key_len, m->payload, m->len,
                             h, NULL, &a->err)) {
            a->fatal = true;
            return;
        }
        a->dlq++;
        a->batch_dlq++;
        p->dlq++;
        say(a, "malformed message sent to the DLQ", reason);
    } else {
        say(a, "malformed message (no --dlq-topic: counted only)", reason);
    }
}

static void handle_message(struct analyze *a, const rd_kafka_message_t *m)
{
    const char *topic = rd_kafka_topic_name(m->rkt);
    int pi = part_find(a, topic, m->partition);
    if (pi < 0 || m->offset < a->parts[pi].floor) {
        /* not (or no longer) ours, or fetched before a seek: not applied,
         * not stored, so nothing is lost */
        return;
    }
    struct part *p = &a->parts[pi];
    a->messages++;
    nw_batch *b = a->b;
    nw_err e;
    nw_err_clear(&e);
    if (!m->payload || !m->len) {
        nw_err_set(&e, NW_WIRE_E_JSON, "empty message");
        bad_message(a, m, p, &e);
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
            bad_message(a, m, p, &e);
        } else {
            b->file[b->n] = 0;
            b->status[b->n] = 0;
            a->evpart[b->n] = (uint32_t)pi;
            b->n++;
            a->events++;
        }
    }
    p->next = m->offset + 1;
    p->msgs++;
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

/* DIR for --shard-dir: created (0700: the shards hold the inventory) when
 * missing. */
static int shard_dir_make(const char *dir)
{
    struct stat sb;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        nw_cli_error("analyze: cannot create --shard-dir '%s': %s", dir, strerror(errno));
        return -1;
    }
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        nw_cli_error("analyze: --shard-dir '%s' is not a directory", dir);
        return -1;
    }
    return 0;
}

int nw_cmd_analyze(int argc, char **argv)
{
    enum {
        O_BROKERS = 256,
        O_GROUP,
        O_TOPIC,
        O_DB,
        O_SHARD_DIR,
        O_LOCK_WAIT,
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
        {"shard-dir", required_argument, NULL, O_SHARD_DIR},
        {"lock-wait", required_argument, NULL, O_LOCK_WAIT},
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
    a.batch = 5000;
    a.lock_wait_ms = 60000;
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
        int kr = nw_cli_kafka_opt(kc, c, O_BROKERS, optarg, &a.err);
        if (kr < 0)
            goto out_conf_error;
        if (kr == 0) { /* the alerts' kafka:// sink gets the same properties */
            if (nw_cli_alerts_opt(&al, c == 'X' ? "X" : c == 'F' ? "F" : "brokers", optarg))
                goto out_free;
            continue;
        }
        switch (c) {
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
        case O_SHARD_DIR:
            a.shard_dir = optarg;
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
        case O_LOCK_WAIT:
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
            else if (c == O_LOCK_WAIT)
                a.lock_wait_ms = (int64_t)(v > 86400 ? 86400 : v) * 1000;
            else
                a.so.max_identities = v;
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
                          : !a.db && !a.shard_dir        ? "--shard-dir DIR or --db FILE"
                                                         : NULL;
    if (missing || optind != argc || (a.db && a.shard_dir)) {
        if (missing)
            nw_cli_error("analyze: %s is required", missing);
        else if (a.db && a.shard_dir)
            nw_cli_error("analyze: --db and --shard-dir exclude each other (one shard per worker, or one per "
                         "partition)");
        usage(stderr);
        goto out_free;
    }

    exit_code = NW_EXIT_ERROR;
    nw_kafka_block_signals();
    if (a.shard_dir) {
        if (shard_dir_make(a.shard_dir))
            goto out_free;
    } else {
        a.one.path = (char *)a.db;
        if (nw_store_open(a.db, &a.so, &a.one.st, &a.err)) {
            nw_cli_error("%s", a.err.msg);
            goto out_free;
        }
    }
    if (al.nsinks) {
        bool failed = false;
        nw_err re;
        nw_err_clear(&re);
        if (nw_rules_load(rules_dir, &rules, &re)) {
            nw_cli_error("rules: %s", re.msg);
            goto out_free;
        }
        /* with --shard-dir the alert state is the shard of the batch being
         * applied (apply_shard), and each shard opened gets its streaming
         * detectors (shard_open) */
        alerter = nw_cli_alerter_open(&al, a.shard_dir ? NULL : a.one.st, rules, &failed);
        if (!alerter)
            goto out_free;
        if (a.shard_dir) {
            a.alerter = alerter;
            a.rules = rules;
        } else {
            if (!(stream = nw_stream_new(rules, nw_alerter_stream, alerter, &re))) {
                nw_cli_error("alerts: %s", re.msg);
                goto out_free;
            }
            nw_store_set_hook(a.one.st, nw_stream_hook, stream);
        }
    }
    a.w = nw_wire_new(0, &a.err);
    a.b = nw_batch_new(a.batch + 1);
    a.evpart = malloc((a.batch + 1) * sizeof(*a.evpart));
    a.sh_ev = malloc((a.batch + 1) * sizeof(*a.sh_ev));
    a.sh_status = malloc(a.batch + 1);
    if (!a.w || !a.b || !a.evpart || !a.sh_ev || !a.sh_status) {
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
    if (!a.quiet) {
        if (a.shard_dir)
            fprintf(stderr, "nhiwatch: analyze: group '%s', topic %s -> one shard per partition in '%s'\n", group,
                    topic, a.shard_dir);
        else
            fprintf(stderr, "nhiwatch: analyze: group '%s', topic %s -> '%s'\n", group, topic, a.db);
    }

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
            apply_batch(&a, false);
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
        apply_batch(&a, false);
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
    /* parts left when the worker stopped before its revocation */
    while (a.nparts)
        part_remove(&a, a.nparts - 1);
    if (alerter) {
        int arc = nw_cli_alerter_close(alerter, &al, a.quiet);
        if (arc && exit_code == NW_EXIT_OK)
            exit_code = arc;
    } else {
        nw_kafka_conf_free(al.kafka);
    }
    nw_stream_free(stream);
    nw_rules_free(rules);
    nw_store_close(a.one.st);
    free(a.parts);
    free(a.offs);
    free(a.evpart);
    free(a.sh_ev);
    free(a.sh_status);
    nw_kafka_conf_free(kc);
    return exit_code;
}
