/* cmd_ship.c - `nhiwatch ship --brokers B --topic T INPUT...`: put raw audit
 * records on a Kafka topic, one message per provider event.
 *
 * Files are read exactly like `run` reads them (same walk, gzip, splitter
 * and limits). A record that is itself a container (a JSON Lines line
 * holding {"records":[...]}, an Event Hubs body) is split into its elements
 * too, so every message is one event. Records are shipped as they are: one
 * that splits fine but does not decode is still shipped, and `ingest`
 * dead-letters it with its reason. Records the splitter rejects cannot be
 * shipped; they are reported like `run` reports them and counted. */
#define _GNU_SOURCE /* memmem */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ingest/decode.h"
#include "../ingest/kafka.h"
#include "../ingest/source.h"
#include "cli.h"
#include "limits.h"

static void usage(FILE *f)
{
    fputs("usage: nhiwatch ship --brokers B --topic T [OPTIONS] INPUT...\n"
          "\n"
          "Produce the raw audit records of files or folders (read like `run` reads them)\n"
          "to a Kafka topic, one message per event; records arrays and containers are\n"
          "split. The producer is idempotent; ship waits for every delivery report.\n"
          "\n"
          "  --brokers B           bootstrap brokers, host:port[,host:port...]\n"
          "  --topic T             topic to produce to\n"
          "  --compression C       none, gzip, snappy, lz4 or zstd (default lz4)\n"
          "  -X key=value          a librdkafka property (repeatable), e.g.\n"
          "                        -X security.protocol=SASL_SSL -X sasl.mechanism=PLAIN\n"
          "  -F FILE               librdkafka properties file (key=value lines, # comments)\n"
          "  --wait-brokers SEC    give up when no broker answers for SEC s (default 30)\n"
          NW_CLI_LIMITS_USAGE
          NW_CLI_LIMITS_USAGE_FILE
          "  --quiet, -q           no per-record messages and no summary\n"
          "\n"
          "exit status: 0 every record shipped; 3 shipped, but some input was bad or\n"
          "unreadable; 1 some message was not delivered, or the brokers are unreachable;\n"
          "2 bad command line.\n",
          f);
}

#define MAX_MESSAGES 20

struct ship {
    nw_kafka *k;
    const char *topic;
    nw_decoder *dec;
    nw_arena *arena;
    nw_split *inner;
    bool quiet;
    uint64_t records, messages, containers, elements, bad, printed, file_errors;
    const nw_rec *outer;
    int rc;
    nw_err err;
};

static void say_bad(struct ship *s, const nw_err *e)
{
    s->bad++;
    if (s->quiet)
        return;
    if (s->printed < MAX_MESSAGES) {
        char buf[NW_ERR_MSG_MAX + NW_ERR_SRC_MAX + 64];
        fprintf(stderr, "nhiwatch: bad record: %s\n", nw_err_fmt(e, buf, sizeof buf));
    } else if (s->printed == MAX_MESSAGES) {
        fprintf(stderr, "nhiwatch: more bad records not shown\n");
    }
    s->printed++;
}

static int produce(struct ship *s, const nw_rec *r)
{
    int rc = nw_kafka_produce(s->k, s->topic, RD_KAFKA_PARTITION_UA, NULL, 0, r->p, r->n, NULL, NULL, &s->err);
    if (rc == NW_KAFKA_E_FATAL) {
        s->rc = rc;
        return rc;
    }
    if (rc) {
        /* refused locally (too large ...): counted as a delivery failure */
        if (!s->quiet)
            fprintf(stderr, "nhiwatch: %s: line %lld: %s\n", r->source ? r->source : "", (long long)r->line,
                    s->err.msg);
        return 0;
    }
    if (++s->messages % 1024 == 0)
        nw_kafka_poll(s->k);
    return 0;
}

static int on_element(void *ctx, const nw_rec *r)
{
    struct ship *s = ctx;
    s->elements++;
    return produce(s, r);
}

static void on_element_bad(void *ctx, const nw_err *e)
{
    struct ship *s = ctx;
    nw_err x = *e;
    snprintf(x.source, sizeof x.source, "%s", s->outer->source ? s->outer->source : "");
    char m[NW_ERR_MSG_MAX];
    snprintf(m, sizeof m, "element %lld of the records array: %.260s", (long long)e->record, e->msg);
    snprintf(x.msg, sizeof x.msg, "%s", m);
    x.line = s->outer->line + (e->line > 0 ? e->line - 1 : 0);
    x.record = s->outer->index;
    say_bad(s, &x);
}

/* Could this record be a container? A cheap look before decoding it. */
static bool maybe_container(const nw_rec *r)
{
    return r->n > 2 && r->p[0] == '{' &&
           (memmem(r->p, r->n, "ecords\"", 7) || memmem(r->p, r->n, "Events\"", 7));
}

static int on_rec(void *ctx, const nw_rec *r)
{
    struct ship *s = ctx;
    s->records++;
    if (maybe_container(r)) {
        nw_event ev;
        nw_str cont = NW_STR_NULL;
        nw_err e;
        nw_err_clear(&e);
        nw_arena_reset(s->arena);
        if (nw_decode(s->dec, r->p, r->n, r->cap, s->arena, &ev, &cont, &e) == NW_DECODE_CONTAINER) {
            s->containers++;
            s->outer = r;
            nw_split_buffer(s->inner, r->source, cont.p, cont.n, on_element, on_element_bad, s);
            s->outer = NULL;
            return s->rc;
        }
    }
    return produce(s, r);
}

static void on_bad(void *ctx, const nw_err *e) { say_bad(ctx, e); }

static void on_file_error(void *ctx, const nw_err *e)
{
    struct ship *s = ctx;
    s->file_errors++;
    if (!s->quiet) {
        char buf[NW_ERR_MSG_MAX + NW_ERR_SRC_MAX + 64];
        fprintf(stderr, "nhiwatch: %s\n", nw_err_fmt(e, buf, sizeof buf));
    }
}

int nw_cmd_ship(int argc, char **argv)
{
    enum { O_BROKERS = 256, O_TOPIC, O_COMP, O_WAIT };
    static const struct option lo[] = {
        {"brokers", required_argument, NULL, O_BROKERS},
        {"topic", required_argument, NULL, O_TOPIC},
        {"compression", required_argument, NULL, O_COMP},
        {"wait-brokers", required_argument, NULL, O_WAIT},
        NW_CLI_LIMITS_OPTIONS,
        NW_CLI_LIMITS_OPTION_FILE,
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct ship s;
    memset(&s, 0, sizeof s);
    nw_err_clear(&s.err);
    nw_cli_limits cl;
    memset(&cl, 0, sizeof cl);
    nw_source_limits lim;
    memset(&lim, 0, sizeof lim);
    nw_decode_limits dl;
    memset(&dl, 0, sizeof dl);
    const char *compression = NULL;
    int wait_s = 30;
    uint64_t v;
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
        int kr = nw_cli_kafka_opt(kc, c, O_BROKERS, optarg, &s.err);
        if (kr < 0)
            goto out_conf_error;
        if (kr == 0)
            continue;
        switch (c) {
        case O_TOPIC:
            s.topic = optarg;
            break;
        case O_COMP:
            compression = optarg;
            break;
        case 'q':
            s.quiet = true;
            break;
        case O_WAIT:
            if (nw_cli_size(optarg, &v) || v == 0) {
                nw_cli_error("option needs a positive number, not '%s'", optarg);
                goto out_free;
            }
            wait_s = v > 86400 ? 86400 : (int)v;
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
    nw_cli_limits_apply(&cl, &lim, &dl);
    if (!nw_kafka_conf_broker_list(kc)) {
        nw_cli_error("ship: --brokers is required");
        goto out_free;
    }
    if (!s.topic || !*s.topic) {
        nw_cli_error("ship: --topic is required");
        goto out_free;
    }
    if (optind >= argc) {
        nw_cli_error("ship: no INPUT given");
        usage(stderr);
        goto out_free;
    }
    if (compression) {
        static const char *const codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
        bool known = false;
        for (size_t i = 0; i < sizeof codecs / sizeof codecs[0]; i++)
            known |= strcmp(compression, codecs[i]) == 0;
        if (!known) {
            nw_cli_error("--compression '%s': expected none, gzip, snappy, lz4 or zstd", compression);
            goto out_free;
        }
        if (!nw_kafka_has_codec(compression)) {
            nw_cli_error("--compression %s: this librdkafka was built without %s", compression, compression);
            goto out_free;
        }
        if (nw_kafka_conf_set(kc, "compression.codec", compression, "--compression", &s.err))
            goto out_conf_error;
    }

    exit_code = NW_EXIT_ERROR;
    const nw_kafka_prop props[] = {
        {"client.id", "nhiwatch-ship", NULL},
        {"compression.codec", nw_kafka_has_codec("lz4") ? "lz4" : "gzip", NULL},
        {"linger.ms", "20", NULL},
        /* retries neither duplicate nor reorder; a cluster without idempotence
         * support can turn it off (-X enable.idempotence=false): duplicates are
         * then possible on retries, and analyze removes them by event id */
        {"enable.idempotence", "true", NULL},
    };
    s.k = nw_kafka_new(RD_KAFKA_PRODUCER, kc, props, sizeof props / sizeof props[0], NULL, &s.err);
    if (!s.k) {
        nw_cli_error("%s", s.err.msg);
        goto out_free;
    }
    if (nw_kafka_wait_brokers(s.k, wait_s, &s.err)) {
        nw_cli_error("%s", s.err.msg);
        goto out_free;
    }
    s.dec = nw_decoder_new(&dl, &s.err);
    s.arena = nw_arena_new(256 * 1024);
    s.inner = nw_split_new(&lim.split);
    if (!s.dec || !s.arena || !s.inner) {
        nw_cli_error("out of memory");
        goto out_free;
    }

    int64_t t0 = nw_kafka_now_ms();
    nw_source_cbs cbs = {on_rec, on_bad, NULL, on_file_error, &s};
    nw_source_stats st;
    memset(&st, 0, sizeof st);
    nw_err serr;
    nw_err_clear(&serr);
    int src_rc = nw_source_read((const char *const *)(argv + optind), (size_t)(argc - optind), &lim, &cbs, &st,
                                &serr);
    if (src_rc == NW_SRC_E_NOMEM) {
        nw_cli_error("%s", serr.msg);
        goto out_free;
    }
    nw_err ferr;
    nw_err_clear(&ferr);
    int frc = s.rc ? s.rc : nw_kafka_flush(s.k, -1, &ferr);
    nw_kafka_dstats ds;
    nw_kafka_delivery(s.k, &ds);
    double secs = (double)(nw_kafka_now_ms() - t0) / 1000.0;
    if (!s.quiet)
        fprintf(stderr,
                "nhiwatch: %llu files, %llu records (%llu containers split into %llu events): %llu messages "
                "produced to '%s', %llu delivered (%llu bytes), %llu failed; %llu bad records not shipped; "
                "in %.2f s\n",
                (unsigned long long)st.files, (unsigned long long)s.records, (unsigned long long)s.containers,
                (unsigned long long)s.elements, (unsigned long long)ds.produced, s.topic,
                (unsigned long long)ds.delivered, (unsigned long long)ds.bytes,
                (unsigned long long)(ds.produced - ds.delivered + ds.refused),
                (unsigned long long)s.bad, secs);
    if (s.rc) {
        nw_cli_error("%s", s.err.msg);
    } else if (frc) {
        nw_cli_error("%s", ferr.msg);
    } else if (ds.failed || ds.refused) {
        nw_cli_error("%llu messages were not delivered; first: %s", (unsigned long long)(ds.failed + ds.refused),
                     ds.first_error);
    } else {
        exit_code = (s.bad || s.file_errors || st.files_failed) ? NW_EXIT_BAD_INPUT : NW_EXIT_OK;
        if (st.files + st.files_empty == 0 && st.files_failed == 0 && !s.quiet)
            nw_cli_error("warning: no input files found");
    }
    goto out_free;

out_conf_error:
    nw_cli_error("%s", s.err.msg);
    exit_code = NW_EXIT_USAGE;
out_free:
    nw_split_free(s.inner);
    nw_arena_free(s.arena);
    nw_decoder_free(s.dec);
    nw_kafka_free(s.k);
    nw_kafka_conf_free(kc);
    return exit_code;
}
