/* kafka.c - Kafka plumbing shared by ship, ingest and analyze. See kafka.h. */
#include "kafka.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

const char *nw_kafka_strerror(int code)
{
    switch (code) {
    case NW_KAFKA_OK:
        return "ok";
    case NW_KAFKA_E_CONF:
        return "bad Kafka client configuration";
    case NW_KAFKA_E_CREATE:
        return "cannot create the Kafka client";
    case NW_KAFKA_E_BROKERS:
        return "brokers not reachable";
    case NW_KAFKA_E_DELIVERY:
        return "messages not delivered";
    case NW_KAFKA_E_COMMIT:
        return "offsets not committed";
    case NW_KAFKA_E_FATAL:
        return "fatal Kafka client error";
    case NW_KAFKA_E_ASSIGN:
        return "partition assignment failed";
    case NW_KAFKA_E_NOMEM:
        return "out of memory";
    default:
        return "unknown Kafka error";
    }
}

int64_t nw_kafka_now_ms(void)
{
    /* called per message: the coarse clock (a few ms) is a plain read */
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------ */
/* properties */

struct kv {
    char *key, *value;
};

struct nw_kafka_conf {
    struct kv *v;
    size_t n, cap;
    rd_kafka_conf_t *check; /* scratch conf: every property is tried here first */
};

nw_kafka_conf *nw_kafka_conf_new(void)
{
    nw_kafka_conf *kc = calloc(1, sizeof(*kc));
    if (!kc)
        return NULL;
    kc->check = rd_kafka_conf_new();
    if (!kc->check) {
        free(kc);
        return NULL;
    }
    return kc;
}

void nw_kafka_conf_free(nw_kafka_conf *kc)
{
    if (!kc)
        return;
    for (size_t i = 0; i < kc->n; i++) {
        free(kc->v[i].key);
        free(kc->v[i].value);
    }
    free(kc->v);
    rd_kafka_conf_destroy(kc->check);
    free(kc);
}

int nw_kafka_conf_set(nw_kafka_conf *kc, const char *key, const char *value, const char *origin, nw_err *err)
{
    char errstr[512];
    if (!*key)
        return nw_err_set(err, NW_KAFKA_E_CONF, "%s: empty property name", origin);
    if (rd_kafka_conf_set(kc->check, key, value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        return nw_err_set(err, NW_KAFKA_E_CONF, "%s %s: %s", origin, key, errstr);
    for (size_t i = 0; i < kc->n; i++) {
        if (strcmp(kc->v[i].key, key) == 0) {
            char *nv = strdup(value);
            if (!nv)
                return nw_err_set(err, NW_KAFKA_E_NOMEM, "out of memory");
            free(kc->v[i].value);
            kc->v[i].value = nv;
            return 0;
        }
    }
    if (kc->n == kc->cap) {
        size_t nc = kc->cap ? kc->cap * 2 : 16;
        struct kv *nv = realloc(kc->v, nc * sizeof(*nv));
        if (!nv)
            return nw_err_set(err, NW_KAFKA_E_NOMEM, "out of memory");
        kc->v = nv;
        kc->cap = nc;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return nw_err_set(err, NW_KAFKA_E_NOMEM, "out of memory");
    }
    kc->v[kc->n].key = k;
    kc->v[kc->n].value = v;
    kc->n++;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

int nw_kafka_conf_add(nw_kafka_conf *kc, const char *kv, nw_err *err)
{
    const char *eq = strchr(kv, '=');
    if (!eq)
        return nw_err_set(err, NW_KAFKA_E_CONF, "-X '%s': expected key=value (a librdkafka property)", kv);
    size_t kn = (size_t)(eq - kv);
    char key[256];
    if (kn == 0 || kn >= sizeof key)
        return nw_err_set(err, NW_KAFKA_E_CONF, "-X '%.*s...': expected key=value", 40, kv);
    memcpy(key, kv, kn);
    key[kn] = '\0';
    return nw_kafka_conf_set(kc, key, eq + 1, "-X", err);
}

int nw_kafka_conf_file(nw_kafka_conf *kc, const char *path, nw_err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return nw_err_set(err, NW_KAFKA_E_CONF, "-F '%s': %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    int rc = 0;
    while (getline(&line, &cap, f) >= 0) {
        lineno++;
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        char origin[NW_ERR_SRC_MAX];
        snprintf(origin, sizeof origin, "'%s' line %ld:", path, lineno);
        if (!eq) {
            rc = nw_err_set(err, NW_KAFKA_E_CONF, "%s expected key=value, not '%.60s'", origin, s);
            break;
        }
        *eq = '\0';
        if ((rc = nw_kafka_conf_set(kc, trim(s), trim(eq + 1), origin, err)))
            break;
    }
    if (!rc && ferror(f))
        rc = nw_err_set(err, NW_KAFKA_E_CONF, "-F '%s': %s", path, strerror(errno));
    free(line);
    fclose(f);
    return rc;
}

int nw_kafka_conf_brokers(nw_kafka_conf *kc, const char *brokers, nw_err *err)
{
    return nw_kafka_conf_set(kc, "bootstrap.servers", brokers, "--brokers", err);
}

const char *nw_kafka_conf_get(const nw_kafka_conf *kc, const char *key)
{
    for (size_t i = 0; i < kc->n; i++)
        if (strcmp(kc->v[i].key, key) == 0)
            return kc->v[i].value;
    return NULL;
}

const char *nw_kafka_conf_broker_list(const nw_kafka_conf *kc)
{
    const char *b = nw_kafka_conf_get(kc, "bootstrap.servers");
    return b ? b : nw_kafka_conf_get(kc, "metadata.broker.list");
}

bool nw_kafka_has_codec(const char *name)
{
    if (strcmp(name, "none") == 0)
        return true;
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    char buf[1024];
    size_t sz = sizeof buf;
    bool found = false;
    if (rd_kafka_conf_get(c, "builtin.features", buf, &sz) == RD_KAFKA_CONF_OK) {
        size_t n = strlen(name);
        for (char *p = buf; (p = strstr(p, name)) != NULL; p += n)
            if ((p == buf || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) {
                found = true;
                break;
            }
    }
    rd_kafka_conf_destroy(c);
    return found;
}

/* ------------------------------------------------------------------ */
/* handles */

#define ERR_SLOTS 8
#define ERR_QUIET_MS 10000
#define TOPIC_SLOTS 8

struct nw_kafka {
    rd_kafka_t *rk;
    rd_kafka_type_t type;
    char name[64];
    nw_kafka_cbs cbs;
    char brokers[256];
    int64_t msg_timeout_ms;

    /* error logging: the last time each error code was printed */
    struct {
        int code;
        int64_t at;
        uint64_t suppressed;
    } errs[ERR_SLOTS];
    bool fatal;
    bool closing; /* in nw_kafka_free: errors from the last queue serve are stale */
    char fatal_msg[NW_ERR_MSG_MAX];

    nw_kafka_dstats ds;
    struct {
        char *name;
        rd_kafka_topic_t *rkt;
    } topics[TOPIC_SLOTS];
};

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    /* Connection failures also reach on_error, which rate-limits them. One
     * set of -X properties configures both the consumer and the producer of
     * a worker, so "is a consumer property and will be ignored by this
     * producer" is expected, not news. */
    if (level == 7) { /* debug lines come only when asked for with -X debug=... */
        fprintf(stderr, "nhiwatch: kafka %s: %s: %s\n", rd_kafka_name(rk), fac, buf);
        return;
    }
    if (level > 4 || strcmp(fac, "FAIL") == 0 || strstr(buf, "will be ignored by this"))
        return;
    fprintf(stderr, "nhiwatch: kafka %s: %s: %s\n", rd_kafka_name(rk), fac, buf);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    nw_kafka *k = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        char buf[256];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof buf);
        k->fatal = true;
        snprintf(k->fatal_msg, sizeof k->fatal_msg, "%s (%s)", buf, rd_kafka_err2name(orig));
        fprintf(stderr, "nhiwatch: kafka %s: fatal error: %s\n", k->name, k->fatal_msg);
        return;
    }
    if (k->closing)
        return;
    int64_t now = nw_kafka_now_ms();
    int slot = -1, oldest = 0;
    for (int i = 0; i < ERR_SLOTS; i++) {
        if (k->errs[i].code == err && k->errs[i].at) {
            slot = i;
            break;
        }
        if (k->errs[i].at < k->errs[oldest].at)
            oldest = i;
    }
    if (slot >= 0 && now - k->errs[slot].at < ERR_QUIET_MS) {
        k->errs[slot].suppressed++;
        return;
    }
    if (slot < 0) {
        slot = oldest;
        k->errs[slot].suppressed = 0;
    }
    if (k->errs[slot].suppressed)
        fprintf(stderr, "nhiwatch: kafka %s: %s (%s; %" PRIu64 " more like it in the last %d s)\n", k->name, reason,
                rd_kafka_err2name(err), k->errs[slot].suppressed, ERR_QUIET_MS / 1000);
    else
        fprintf(stderr, "nhiwatch: kafka %s: %s (%s)\n", k->name, reason, rd_kafka_err2name(err));
    k->errs[slot].code = err;
    k->errs[slot].at = now;
    k->errs[slot].suppressed = 0;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    nw_kafka *k = opaque;
    if (k->cbs.on_delivery)
        k->cbs.on_delivery(k->cbs.ctx, m->_private, m->err);
    if (m->err) {
        if (k->ds.failed++ == 0 && !k->ds.first_error[0])
            snprintf(k->ds.first_error, sizeof k->ds.first_error, "%s [%d]: %s", rd_kafka_topic_name(m->rkt),
                     (int)m->partition, rd_kafka_err2str(m->err));
        return;
    }
    k->ds.delivered++;
    k->ds.bytes += m->len;
}

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
                         void *opaque)
{
    nw_kafka *k = opaque;
    k->cbs.on_rebalance(k->cbs.ctx, rk, err, parts);
}

static void on_commit(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *offsets,
                      void *opaque)
{
    /* Only asynchronous commits land here: analyze's (for lag visibility;
     * the shard holds the truth) and ingest's while it reads (a failure
     * means those messages may be read again; its commit before a handover
     * or at exit is synchronous). Say so, rate-limited like other errors. */
    (void)offsets;
    if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET) {
        char reason[256];
        snprintf(reason, sizeof reason, "offsets not committed: %s (messages since the last commit may be read again)",
                 rd_kafka_err2str(err));
        on_error(rk, err, reason, opaque);
    }
}

static bool user_has(const nw_kafka_conf *kc, const char *key) { return kc && nw_kafka_conf_get(kc, key) != NULL; }

nw_kafka *nw_kafka_new(rd_kafka_type_t type, const nw_kafka_conf *kc, const nw_kafka_prop *props, size_t nprops,
                       const nw_kafka_cbs *cbs, nw_err *err)
{
    char errstr[512];
    nw_kafka *k = calloc(1, sizeof(*k));
    if (!k) {
        nw_err_set(err, NW_KAFKA_E_NOMEM, "out of memory");
        return NULL;
    }
    k->type = type;
    if (cbs)
        k->cbs = *cbs;
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (type == RD_KAFKA_CONSUMER) {
        /* Workers fall behind a backlog by design (they do real work per
         * message). librdkafka < 2.1 stops fetching when its prefetch queue
         * reaches queued.min.messages / queued.max.messages.kbytes and looks
         * again only on its next wakeup, up to a second later: with the
         * defaults (64 MB) a worker idles about a third of the time. A
         * larger queue makes those pauses rare; 2.1+ has
         * fetch.queue.backoff.ms for it. A subscribed topic that does not
         * exist yet is noticed within topic.metadata.refresh.interval.ms. */
        static const nw_kafka_prop cdef[] = {
            {"queued.max.messages.kbytes", "262144", NULL},
            {"queued.min.messages", "1000000", NULL},
            {"topic.metadata.refresh.interval.ms", "10000", NULL},
        };
        for (size_t i = 0; i < sizeof cdef / sizeof cdef[0]; i++)
            if (!user_has(kc, cdef[i].key))
                rd_kafka_conf_set(conf, cdef[i].key, cdef[i].value, errstr, sizeof errstr);
        if (rd_kafka_version() >= 0x020100ff && !user_has(kc, "fetch.queue.backoff.ms"))
            rd_kafka_conf_set(conf, "fetch.queue.backoff.ms", "20", errstr, sizeof errstr);
    }
    /* the command's defaults, then the user's properties, then the fixed ones */
    for (size_t i = 0; i < nprops; i++) {
        if (props[i].why || user_has(kc, props[i].key))
            continue;
        if (rd_kafka_conf_set(conf, props[i].key, props[i].value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            nw_err_set(err, NW_KAFKA_E_CONF, "%s=%s: %s", props[i].key, props[i].value, errstr);
            goto out_conf;
        }
    }
    for (size_t i = 0; kc && i < kc->n; i++) {
        if (rd_kafka_conf_set(conf, kc->v[i].key, kc->v[i].value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            nw_err_set(err, NW_KAFKA_E_CONF, "%s: %s", kc->v[i].key, errstr);
            goto out_conf;
        }
    }
    for (size_t i = 0; i < nprops; i++) {
        if (!props[i].why)
            continue;
        const char *uv = kc ? nw_kafka_conf_get(kc, props[i].key) : NULL;
        if (uv && strcasecmp(uv, props[i].value) != 0) {
            nw_err_set(err, NW_KAFKA_E_CONF, "%s=%s cannot be changed: %s", props[i].key, props[i].value,
                       props[i].why);
            goto out_conf;
        }
        if (rd_kafka_conf_set(conf, props[i].key, props[i].value, errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            nw_err_set(err, NW_KAFKA_E_CONF, "%s=%s: %s", props[i].key, props[i].value, errstr);
            goto out_conf;
        }
    }
    size_t sz = sizeof k->name;
    if (rd_kafka_conf_get(conf, "client.id", k->name, &sz) != RD_KAFKA_CONF_OK)
        snprintf(k->name, sizeof k->name, "%s", type == RD_KAFKA_PRODUCER ? "producer" : "consumer");
    sz = sizeof k->brokers;
    if (rd_kafka_conf_get(conf, "bootstrap.servers", k->brokers, &sz) != RD_KAFKA_CONF_OK || !k->brokers[0]) {
        sz = sizeof k->brokers;
        if (rd_kafka_conf_get(conf, "metadata.broker.list", k->brokers, &sz) != RD_KAFKA_CONF_OK)
            k->brokers[0] = '\0';
    }
    char tmo[32];
    sz = sizeof tmo;
    k->msg_timeout_ms = 300000;
    if (rd_kafka_conf_get(conf, "message.timeout.ms", tmo, &sz) == RD_KAFKA_CONF_OK)
        k->msg_timeout_ms = strtoll(tmo, NULL, 10);
    rd_kafka_conf_set_opaque(conf, k);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_conf_set_log_cb(conf, on_log);
    if (type == RD_KAFKA_PRODUCER) {
        rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    } else {
        if (k->cbs.on_rebalance)
            rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
        rd_kafka_conf_set_offset_commit_cb(conf, on_commit);
    }
    k->rk = rd_kafka_new(type, conf, errstr, sizeof errstr);
    if (!k->rk) {
        nw_err_set(err, NW_KAFKA_E_CREATE, "cannot create the Kafka %s: %s",
                   type == RD_KAFKA_PRODUCER ? "producer" : "consumer", errstr);
        goto out_conf;
    }
    if (type == RD_KAFKA_CONSUMER)
        rd_kafka_poll_set_consumer(k->rk);
    return k;
out_conf:
    rd_kafka_conf_destroy(conf);
    free(k);
    return NULL;
}

void nw_kafka_free(nw_kafka *k)
{
    if (!k)
        return;
    for (int i = 0; i < TOPIC_SLOTS; i++) {
        if (k->topics[i].rkt)
            rd_kafka_topic_destroy(k->topics[i].rkt);
        free(k->topics[i].name);
    }
    if (k->rk) {
        k->closing = true;
        if (k->type == RD_KAFKA_CONSUMER)
            rd_kafka_consumer_close(k->rk);
        rd_kafka_destroy(k->rk);
    }
    free(k);
}

rd_kafka_t *nw_kafka_rk(nw_kafka *k) { return k->rk; }

bool nw_kafka_fatal(nw_kafka *k, nw_err *err)
{
    if (k->fatal && err)
        nw_err_set(err, NW_KAFKA_E_FATAL, "Kafka %s: fatal error: %s", k->name, k->fatal_msg);
    return k->fatal;
}

int nw_kafka_wait_brokers(nw_kafka *k, int timeout_s, nw_err *err)
{
    int64_t t0 = nw_kafka_now_ms(), deadline = t0 + (int64_t)timeout_s * 1000;
    rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR__TIMED_OUT;
    int tries = 0;
    for (;;) {
        int64_t left = deadline - nw_kafka_now_ms();
        if (left <= 0 && tries > 0)
            break;
        int t = (int)(left > 3000 ? 3000 : left < 200 ? 200 : left);
        const struct rd_kafka_metadata *md = NULL;
        int64_t ts = nw_kafka_now_ms();
        last = rd_kafka_metadata(k->rk, 0, NULL, &md, t);
        tries++;
        if (last == RD_KAFKA_RESP_ERR_NO_ERROR) {
            bool ok = md->broker_cnt > 0;
            rd_kafka_metadata_destroy(md);
            if (ok)
                return 0;
        }
        if (k->fatal)
            break;
        if (nw_kafka_stop_requested())
            return nw_err_set(err, NW_KAFKA_E_BROKERS, "interrupted while waiting for brokers %s", k->brokers);
        if (tries == 1 && deadline - nw_kafka_now_ms() > 0)
            fprintf(stderr, "nhiwatch: kafka %s: waiting for brokers %s (%s), up to %d s\n", k->name,
                    k->brokers[0] ? k->brokers : "(none given)", rd_kafka_err2str(last), timeout_s);
        /* a refused connection can fail fast: do not spin */
        int64_t spent = nw_kafka_now_ms() - ts;
        if (spent < 500) {
            struct timespec ns = {0, (long)(500 - spent) * 1000000L};
            nanosleep(&ns, NULL);
        }
    }
    return nw_err_set(err, NW_KAFKA_E_BROKERS,
                      "cannot reach brokers %s after %d s (%d tries; last error: %s): check --brokers, that the "
                      "brokers are up, and the -X security.protocol / sasl.* settings",
                      k->brokers[0] ? k->brokers : "(none given)",
                      (int)((nw_kafka_now_ms() - t0 + 500) / 1000), tries, rd_kafka_err2str(last));
}

/* ------------------------------------------------------------------ */
/* producing */

static rd_kafka_topic_t *topic_get(nw_kafka *k, const char *name)
{
    int free_slot = -1;
    for (int i = 0; i < TOPIC_SLOTS; i++) {
        if (k->topics[i].name && strcmp(k->topics[i].name, name) == 0)
            return k->topics[i].rkt;
        if (!k->topics[i].name && free_slot < 0)
            free_slot = i;
    }
    if (free_slot < 0)
        return NULL; /* more topics than slots: producev by name */
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(k->rk, name, NULL);
    char *nm = strdup(name);
    if (!rkt || !nm) {
        if (rkt)
            rd_kafka_topic_destroy(rkt);
        free(nm);
        return NULL;
    }
    k->topics[free_slot].name = nm;
    k->topics[free_slot].rkt = rkt;
    return rkt;
}

int nw_kafka_produce(nw_kafka *k, const char *topic, int32_t partition, const void *key, size_t klen,
                     const void *val, size_t vlen, rd_kafka_headers_t *hdrs, void *opaque, nw_err *err)
{
    rd_kafka_topic_t *rkt = topic_get(k, topic);
    for (;;) {
        rd_kafka_resp_err_t e;
        if (rkt && hdrs)
            e = rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque),
                                  RD_KAFKA_V_KEY(key, klen),
                                  RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        else if (rkt)
            e = rd_kafka_producev(k->rk, RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_PARTITION(partition),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque),
                                  RD_KAFKA_V_KEY(key, klen),
                                  RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_END);
        else if (hdrs)
            e = rd_kafka_producev(k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque),
                                  RD_KAFKA_V_KEY(key, klen),
                                  RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_END);
        else
            e = rd_kafka_producev(k->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(partition),
                                  RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(opaque),
                                  RD_KAFKA_V_KEY(key, klen),
                                  RD_KAFKA_V_VALUE((void *)val, vlen), RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            k->ds.produced++;
            return 0;
        }
        if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL && !k->fatal) {
            rd_kafka_poll(k->rk, 50);
            continue;
        }
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        if (e == RD_KAFKA_RESP_ERR__FATAL || k->fatal) {
            nw_kafka_fatal(k, err);
            return NW_KAFKA_E_FATAL;
        }
        if (k->ds.refused++ == 0 && !k->ds.first_error[0])
            snprintf(k->ds.first_error, sizeof k->ds.first_error, "%s: %s", topic, rd_kafka_err2str(e));
        return nw_err_set(err, NW_KAFKA_E_DELIVERY, "cannot produce to '%s' (%zu bytes): %s", topic, vlen,
                          rd_kafka_err2str(e));
    }
}

void nw_kafka_poll(nw_kafka *k) { rd_kafka_poll(k->rk, 0); }

int nw_kafka_flush(nw_kafka *k, int64_t timeout_ms, nw_err *err)
{
    int64_t t0 = nw_kafka_now_ms();
    int64_t deadline = t0 + (timeout_ms < 0 ? k->msg_timeout_ms + 30000 : timeout_ms);
    for (;;) {
        /* messages without a delivery report yet (outq_len also counts
         * queued error events, which are not ours to wait for) */
        uint64_t left = k->ds.produced - k->ds.delivered - k->ds.failed;
        if (left == 0)
            return 0;
        rd_kafka_flush(k->rk, 200);
        if (k->fatal) {
            nw_kafka_fatal(k, err);
            return NW_KAFKA_E_FATAL;
        }
        if (nw_kafka_now_ms() >= deadline)
            return nw_err_set(err, NW_KAFKA_E_DELIVERY,
                              "%llu messages not acknowledged by the brokers %s after %.1f s",
                              (unsigned long long)left, k->brokers,
                              (double)(nw_kafka_now_ms() - t0) / 1000.0);
    }
}

void nw_kafka_delivery(const nw_kafka *k, nw_kafka_dstats *out) { *out = k->ds; }

rd_kafka_headers_t *nw_kafka_dlq_headers(const rd_kafka_message_t *m, const char *reason)
{
    rd_kafka_headers_t *h = rd_kafka_headers_new(8);
    if (!h)
        return NULL;
    char p[16], o[32];
    snprintf(p, sizeof p, "%d", (int)m->partition);
    snprintf(o, sizeof o, "%lld", (long long)m->offset);
    rd_kafka_header_add(h, "nhiwatch.error", -1, reason, -1);
    rd_kafka_header_add(h, "nhiwatch.source.topic", -1, rd_kafka_topic_name(m->rkt), -1);
    rd_kafka_header_add(h, "nhiwatch.source.partition", -1, p, -1);
    rd_kafka_header_add(h, "nhiwatch.source.offset", -1, o, -1);
    /* the message's own headers follow ours (get_all borrows them) */
    rd_kafka_headers_t *orig = NULL;
    if (rd_kafka_message_headers(m, &orig) == RD_KAFKA_RESP_ERR_NO_ERROR && orig) {
        const char *name;
        const void *val;
        size_t sz;
        for (size_t i = 0; rd_kafka_header_get_all(orig, i, &name, &val, &sz) == RD_KAFKA_RESP_ERR_NO_ERROR; i++)
            rd_kafka_header_add(h, name, -1, val, (ssize_t)sz);
    }
    return h;
}

/* ------------------------------------------------------------------ */
/* consuming */

int nw_kafka_subscribe(nw_kafka *k, const char *topics, nw_err *err)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    char *dup = strdup(topics);
    int rc = 0;
    if (!l || !dup) {
        rc = nw_err_set(err, NW_KAFKA_E_NOMEM, "out of memory");
        goto out;
    }
    char *save = NULL;
    for (char *t = strtok_r(dup, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        t = trim(t);
        if (*t)
            rd_kafka_topic_partition_list_add(l, t, RD_KAFKA_PARTITION_UA);
    }
    if (l->cnt == 0) {
        rc = nw_err_set(err, NW_KAFKA_E_CONF, "no topic in '%s'", topics);
        goto out;
    }
    rd_kafka_resp_err_t e = rd_kafka_subscribe(k->rk, l);
    if (e)
        rc = nw_err_set(err, NW_KAFKA_E_CONF, "cannot subscribe to '%s': %s", topics, rd_kafka_err2str(e));
out:
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    free(dup);
    return rc;
}

static bool cooperative(rd_kafka_t *rk) { return strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0; }

int nw_kafka_assign(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts, nw_err *err)
{
    if (cooperative(rk)) {
        rd_kafka_error_t *e = rd_kafka_incremental_assign(rk, parts);
        if (e) {
            nw_err_set(err, NW_KAFKA_E_ASSIGN, "cannot assign partitions: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return NW_KAFKA_E_ASSIGN;
        }
        return 0;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, parts);
    if (e)
        return nw_err_set(err, NW_KAFKA_E_ASSIGN, "cannot assign partitions: %s", rd_kafka_err2str(e));
    return 0;
}

int nw_kafka_unassign(rd_kafka_t *rk, rd_kafka_topic_partition_list_t *parts, nw_err *err)
{
    if (cooperative(rk)) {
        rd_kafka_error_t *e = rd_kafka_incremental_unassign(rk, parts);
        if (e) {
            nw_err_set(err, NW_KAFKA_E_ASSIGN, "cannot unassign partitions: %s", rd_kafka_error_string(e));
            rd_kafka_error_destroy(e);
            return NW_KAFKA_E_ASSIGN;
        }
        return 0;
    }
    rd_kafka_resp_err_t e = rd_kafka_assign(rk, NULL);
    if (e)
        return nw_err_set(err, NW_KAFKA_E_ASSIGN, "cannot unassign partitions: %s", rd_kafka_err2str(e));
    return 0;
}

static bool commit_retriable(rd_kafka_resp_err_t e)
{
    switch (e) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__WAIT_COORD:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
    case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
        return true;
    default:
        return false;
    }
}

int nw_kafka_commit(nw_kafka *k, const rd_kafka_topic_partition_list_t *parts, bool async, int64_t timeout_ms,
                    nw_err *err)
{
    int64_t deadline = nw_kafka_now_ms() + timeout_ms;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_commit(k->rk, parts, async ? 1 : 0);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR || e == RD_KAFKA_RESP_ERR__NO_OFFSET)
            return 0;
        if (async || !commit_retriable(e) || nw_kafka_now_ms() >= deadline || k->fatal)
            return nw_err_set(err, NW_KAFKA_E_COMMIT, "cannot commit offsets: %s (%s)", rd_kafka_err2str(e),
                              rd_kafka_err2name(e));
        struct timespec ns = {0, 200 * 1000000L};
        nanosleep(&ns, NULL);
    }
}

int64_t nw_kafka_lag(nw_kafka *k)
{
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(k->rk, &a) != RD_KAFKA_RESP_ERR_NO_ERROR || !a)
        return -1;
    int64_t lag = -1;
    rd_kafka_position(k->rk, a);
    for (int i = 0; i < a->cnt; i++) {
        int64_t lo = 0, hi = 0;
        if (rd_kafka_get_watermark_offsets(k->rk, a->elems[i].topic, a->elems[i].partition, &lo, &hi) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            hi < 0)
            continue;
        int64_t pos = a->elems[i].offset >= 0 ? a->elems[i].offset : lo;
        if (pos < 0)
            continue;
        if (lag < 0)
            lag = 0;
        if (hi > pos)
            lag += hi - pos;
    }
    rd_kafka_topic_partition_list_destroy(a);
    return lag;
}

/* ------------------------------------------------------------------ */
/* lifecycle */

static void stop_set(sigset_t *s)
{
    sigemptyset(s);
    sigaddset(s, SIGINT);
    sigaddset(s, SIGTERM);
}

void nw_kafka_block_signals(void)
{
    sigset_t s;
    stop_set(&s);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
}

bool nw_kafka_stop_requested(void)
{
    sigset_t s;
    stop_set(&s);
    struct timespec zero = {0, 0};
    int sig = sigtimedwait(&s, NULL, &zero);
    return sig == SIGINT || sig == SIGTERM;
}
