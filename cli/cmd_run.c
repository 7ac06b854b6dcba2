/* cmd_run.c - `nhiwatch run INPUT...`: ingest files into the database, then
 * write report.json and report.md. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../analyze/inventory.h"
#include "../analyze/policy.h"
#include "../analyze/rules.h"
#include "../analyze/store.h"
#include "../analyze/stream.h"
#include "../core/nw_time.h"
#include "../ingest/kafka.h"
#include "../ingest/pipeline.h"
#include "../ingest/source.h"
#include "../reports/alertfmt.h"
#include "../reports/alerts.h"
#include "../reports/collect.h"
#include "../reports/report.h"
#include "cli.h"
#include "limits.h"

#ifndef NW_VERSION
#define NW_VERSION "0.0.0"
#endif

static void usage(FILE *f)
{
    fputs("usage: nhiwatch run [OPTIONS] INPUT...\n"
          "\n"
          "Ingest audit logs (files or folders, recursively; gzip or plain; CloudTrail,\n"
          "Azure Activity and GCP audit formats detected by content) into a SQLite\n"
          "database, then write the report (report.json and report.md by default).\n"
          "\n"
          "  --db FILE             database (default nhiwatch.db); re-running adds to it,\n"
          "                        events already stored are not counted again\n"
          "  --out DIR             report folder (default nhiwatch-report)\n"
          "  --as-of TIME          evaluate as of TIME (RFC 3339); default: newest event\n"
          "  --no-report           ingest only\n"
          "  --entitlements PATH   import IAM exports first: a file or a folder of them (repeatable;\n"
          "                        see `nhiwatch import`)\n"
          "  --tenant ID           Azure tenant id for role-assignment exports\n"
          "  --policy FILE         ownership policy (owners, expiry, rotation, JIT)\n"
          "  --rules DIR           rule folder replacing the shipped rules/\n"
          "  --format LIST         report formats: json,md,html,csv,remediation or all (default json,md)\n"
          "  --baseline REPORT     previous report.json (or its folder): drift in the new report\n"
          "  --record              keep this report's metrics in the database (`nhiwatch trend`)\n"
          "  --max-cards N         identity cards in report.html, most severe first (default 500)\n"
          NW_CLI_ALERTS_USAGE
          "  --quiet, -q           no progress and no per-record messages\n"
          NW_CLI_LIMITS_USAGE
          NW_CLI_LIMITS_USAGE_IDENTITIES
          NW_CLI_LIMITS_USAGE_FILE
          "  --batch N             events per database transaction (default 16384)\n"
          "\n"
          "exit status: 0 all input read; 3 done, but some input was bad or unreadable;\n"
          "1 error (nothing reported, or an alert could not be delivered); 2 bad command line.\n"
          "docs/reports.md describes the formats, alerts, drift and remediation plans.\n",
          f);
}

struct file_acc {
    int64_t dups, partial;
};

struct run {
    nw_store *st;
    bool quiet, progress;
    uint64_t applied, duplicates, partial, batches, seen;
    struct file_acc *acc;
    size_t nacc;
    double t0, last_print;
    nw_err err;
    int rc;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int on_batch(void *ctx, nw_batch *b)
{
    struct run *r = ctx;
    nw_apply_result res = {0};
    int rc = nw_store_begin(r->st, &r->err);
    if (!rc)
        rc = nw_store_apply(r->st, b->ev, b->n, b->status, NULL, 0, &res, &r->err);
    for (size_t i = 0; !rc && i < b->nbad; i++)
        rc = nw_store_note_bad(r->st, &b->bad[i], &r->err);
    if (!rc)
        rc = nw_store_commit(r->st, &r->err);
    if (rc) {
        r->rc = rc;
        return rc;
    }
    r->applied += res.applied;
    r->duplicates += res.duplicates;
    r->partial += res.partial;
    r->batches++;
    r->seen += b->n;
    for (size_t i = 0; i < b->n; i++) {
        uint32_t fi = b->file[i];
        if (fi >= r->nacc) {
            size_t nn = r->nacc ? r->nacc : 64;
            while (nn <= fi)
                nn *= 2;
            struct file_acc *na = realloc(r->acc, nn * sizeof(*na));
            if (!na) {
                r->rc = nw_err_set(&r->err, NW_STORE_E_NOMEM, "out of memory");
                return r->rc;
            }
            memset(na + r->nacc, 0, (nn - r->nacc) * sizeof(*na));
            r->acc = na;
            r->nacc = nn;
        }
        r->acc[fi].dups += b->status[i] == NW_APPLY_DUPLICATE;
        r->acc[fi].partial += b->status[i] == NW_APPLY_PARTIAL;
    }
    if (r->progress) {
        double t = now_s();
        if (t - r->last_print > 0.5) {
            r->last_print = t;
            fprintf(stderr, "\r\033[Knhiwatch: %llu events (%llu new, %llu already stored), %.0f events/s",
                    (unsigned long long)r->seen, (unsigned long long)r->applied,
                    (unsigned long long)r->duplicates, (double)r->seen / (t - r->t0 + 1e-9));
        }
    }
    return 0;
}

static int save_bookkeeping(struct run *r, const nw_pipeline_result *pr)
{
    nw_store *st = r->st;
    nw_err *e = &r->err;
    int rc = nw_store_begin(st, e);
    for (size_t i = 0; !rc && i < pr->nfiles; i++) {
        const nw_file_stat *f = &pr->files[i];
        nw_input_info in = {f->path,
                            f->size,
                            f->mtime,
                            f->gzip ? "gzip" : "plain",
                            f->records,
                            f->events,
                            i < r->nacc ? r->acc[i].dups : 0,
                            f->skipped,
                            f->bad,
                            f->status};
        rc = nw_store_note_input(st, &in, e);
    }
    struct {
        const char *name;
        uint64_t v;
    } c[] = {
        {"files", pr->src.files},
        {"files_empty", pr->src.files_empty},
        {"files_failed", pr->src.files_failed},
        {"files_gzip", pr->src.files_gzip},
        {"files_damaged", pr->src.files_damaged},
        {"bytes_read", pr->src.bytes_in},
        {"bytes", pr->src.bytes},
        {"records", pr->src.records},
        {"events", pr->events},
        {"events_new", r->applied},
        {"events_duplicate", r->duplicates},
        {"events_partial", r->partial},
        {"events_aws", pr->by_provider[NW_PROV_AWS]},
        {"events_azure", pr->by_provider[NW_PROV_AZURE]},
        {"events_gcp", pr->by_provider[NW_PROV_GCP]},
        {"skipped", pr->skipped},
        {"bad", pr->bad},
        {"bad_json", pr->decode_errors[1]},
        {"bad_format", pr->decode_errors[2]},
        {"bad_identity", pr->decode_errors[3]},
        {"bad_time", pr->decode_errors[4]},
        {"bad_field", pr->decode_errors[5]},
        {"bad_limit", pr->decode_errors[7]},
        {"runs", 1},
    };
    for (size_t i = 0; !rc && i < sizeof c / sizeof c[0]; i++)
        if (c[i].v)
            rc = nw_store_add_counter(st, c[i].name, (int64_t)c[i].v, e);
    for (int i = 0; !rc && i < NW_SKIP_REASONS && pr->skip_reason[i][0]; i++) {
        char name[128];
        snprintf(name, sizeof name, "skipped: %s", pr->skip_reason[i]);
        rc = nw_store_add_counter(st, name, (int64_t)pr->skip_count[i], e);
    }
    if (!rc)
        rc = nw_store_commit(st, e);
    return rc;
}

int nw_cli_load_config(const char *rules_dir, const char *policy_path, nw_rules **rules, nw_policy **policy)
{
    nw_err err;
    nw_err_clear(&err);
    *rules = NULL;
    *policy = NULL;
    if (nw_rules_load(rules_dir, rules, &err)) {
        nw_cli_error("rules: %s", err.msg);
        return -1;
    }
    if (policy_path && nw_policy_load(policy_path, policy, &err)) {
        char buf[NW_ERR_MSG_MAX + NW_ERR_SRC_MAX + 64];
        nw_cli_error("policy: %s", nw_err_fmt(&err, buf, sizeof buf));
        nw_rules_free(*rules);
        *rules = NULL;
        return -1;
    }
    return 0;
}

int nw_write_reports(nw_store *const *shards, size_t n, const char *out_dir, int64_t as_of, bool quiet,
                     const nw_rules *rules, const nw_policy *policy)
{
    nw_cli_report r = {out_dir, as_of, quiet, rules, policy, 0, NULL, false, NULL, NULL, 0};
    return nw_cli_report_write(shards, n, &r);
}

static void formats_text(unsigned f, char *buf, size_t cap)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{NW_FMT_JSON, "report.json"},
                 {NW_FMT_MD, "report.md"},
                 {NW_FMT_HTML, "report.html"},
                 {NW_FMT_CSV, "deprovision.csv"},
                 {NW_FMT_REMEDIATION, "remediation/"}};
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (f & names[i].bit)
            len += (size_t)snprintf(buf + len, len < cap ? cap - len : 0, "%s%s", len ? ", " : "", names[i].name);
}

int nw_cli_report_write(nw_store *const *shards, size_t n, const nw_cli_report *r)
{
    nw_err err;
    nw_err_clear(&err);
    json_t *doc = NULL;
    nw_findings *fs = NULL;
    bool want_doc = r->alerter || r->record;
    nw_report_opts ro = {r->as_of,     0,           0,           0,           r->rules,
                         r->policy,    r->formats,  r->baseline, r->max_cards, want_doc ? &doc : NULL,
                         want_doc ? &fs : NULL};
    nw_report_summary sum;
    if (nw_report_write(shards, n, &ro, r->out_dir, &sum, &err)) {
        nw_cli_error("cannot write the report: %s", err.msg);
        return NW_EXIT_ERROR;
    }
    char what[160];
    formats_text(r->formats ? r->formats : NW_FMT_DEFAULT, what, sizeof what);
    if (!r->quiet)
        fprintf(stderr,
                "nhiwatch: report in %s (%s): %lld identities (%lld non-human, %lld human, %lld "
                "unknown), %lld findings\n",
                r->out_dir, what, (long long)sum.identities, (long long)sum.non_human, (long long)sum.human,
                (long long)sum.unknown, (long long)sum.findings);
    int rc = NW_EXIT_OK;
    int64_t now = (int64_t)time(NULL) * NW_US_PER_SEC;
    if (r->record && r->state_st) {
        json_t *met = json_object_get(doc, "metrics");
        char *txt = json_dumps(met, JSON_COMPACT | JSON_PRESERVE_ORDER);
        int64_t as_of = 0;
        const char *a = json_string_value(json_object_get(doc, "as_of"));
        if (a)
            nw_time_parse(nw_str_c(a), &as_of);
        if (!txt || nw_store_history_add(r->state_st, now, as_of, txt, &err)) {
            nw_cli_error("--record: %s", txt ? err.msg : "out of memory");
            rc = NW_EXIT_ERROR;
        } else if (!r->quiet) {
            fprintf(stderr, "nhiwatch: metrics recorded in the report history (nhiwatch trend)\n");
        }
        free(txt);
    }
    if (r->alerter && nw_alerter_report(r->alerter, doc, fs, now, &err)) {
        nw_cli_error("alerts: %s", err.msg);
        rc = NW_EXIT_ERROR;
    }
    json_decref(doc);
    nw_findings_free(fs);
    return rc;
}

/* ---- alert options, shared with report and watch ---- */

int nw_cli_alerts_opt(nw_cli_alerts *a, const char *name, const char *arg)
{
    nw_err err;
    nw_err_clear(&err);
    if (strcmp(name, "alerts") == 0) {
        if (a->nsinks == NW_CLI_MAX_SINKS) {
            nw_cli_error("at most %d --alerts sinks", NW_CLI_MAX_SINKS);
            return -1;
        }
        a->sinks[a->nsinks++] = arg;
        return 0;
    }
    if (strcmp(name, "alert-format") == 0) {
        int f = nw_alert_format_parse(arg);
        if (f < 0) {
            nw_cli_error("--alert-format '%s': ocsf, ecs, cef or json", arg);
            return -1;
        }
        a->format = f;
        return 0;
    }
    if (!a->kafka && !(a->kafka = nw_kafka_conf_new())) {
        nw_cli_error("out of memory");
        return -1;
    }
    int rc = strcmp(name, "brokers") == 0 ? nw_kafka_conf_brokers(a->kafka, arg, &err)
             : strcmp(name, "X") == 0     ? nw_kafka_conf_add(a->kafka, arg, &err)
                                          : nw_kafka_conf_file(a->kafka, arg, &err);
    if (rc) {
        nw_cli_error("%s", err.msg);
        return -1;
    }
    return 0;
}

nw_alerter *nw_cli_alerter_open(const nw_cli_alerts *a, nw_store *state, const nw_rules *rules, bool *failed)
{
    *failed = false;
    if (!a->nsinks)
        return NULL;
    nw_err err;
    nw_err_clear(&err);
    nw_alerter_opts ao = {a->format, NW_VERSION, state, rules, a->kafka};
    nw_alerter *al = nw_alerter_new(&ao, &err);
    for (size_t i = 0; al && i < a->nsinks; i++) {
        if (nw_alerter_add_sink(al, a->sinks[i], &err)) {
            nw_alerter_free(al);
            al = NULL;
        }
    }
    if (!al) {
        nw_cli_error("%s", err.msg);
        *failed = true;
    }
    return al;
}

int nw_cli_alerter_close(nw_alerter *al, nw_cli_alerts *a, bool quiet)
{
    int rc = NW_EXIT_OK;
    if (al) {
        nw_alerter_stats st;
        nw_alerter_stats_get(al, &st);
        nw_err err;
        nw_err_clear(&err);
        if (nw_alerter_close(al, &err)) {
            nw_cli_error("%s", err.msg);
            rc = NW_EXIT_ERROR;
        }
        if (!quiet)
            fprintf(stderr,
                    "nhiwatch: %llu alerts sent as %s to %zu sink(s): %llu new, %llu escalated, %llu resolved; %llu "
                    "already alerted\n",
                    (unsigned long long)st.sent, nw_alert_format_name(a->format), a->nsinks,
                    (unsigned long long)st.new_, (unsigned long long)st.escalated, (unsigned long long)st.resolved,
                    (unsigned long long)st.suppressed);
        if (st.state_errors) {
            nw_cli_error("alerts: %llu alert states could not be stored (they may be sent again)",
                         (unsigned long long)st.state_errors);
            rc = NW_EXIT_ERROR;
        }
        nw_alerter_free(al);
    }
    nw_kafka_conf_free(a->kafka);
    a->kafka = NULL;
    return rc;
}

int nw_cmd_run(int argc, char **argv)
{
    enum {
        O_DB = 256,
        O_OUT,
        O_ASOF,
        O_NOREPORT,
        O_BATCH,
        O_ENT,
        O_TENANT,
        O_POLICY,
        O_RULES,
        O_ALERTS,
        O_ALERT_FORMAT,
        O_BROKERS,
        O_FORMAT,
        O_BASELINE,
        O_RECORD,
        O_MAX_CARDS
    };
    static const struct option lo[] = {
        {"db", required_argument, NULL, O_DB},
        {"out", required_argument, NULL, O_OUT},
        {"as-of", required_argument, NULL, O_ASOF},
        {"no-report", no_argument, NULL, O_NOREPORT},
        {"quiet", no_argument, NULL, 'q'},
        NW_CLI_LIMITS_OPTIONS,
        NW_CLI_LIMITS_OPTION_IDENTITIES,
        NW_CLI_LIMITS_OPTION_FILE,
        {"batch", required_argument, NULL, O_BATCH},
        {"entitlements", required_argument, NULL, O_ENT},
        {"tenant", required_argument, NULL, O_TENANT},
        {"policy", required_argument, NULL, O_POLICY},
        {"rules", required_argument, NULL, O_RULES},
        {"alerts", required_argument, NULL, O_ALERTS},
        {"alert-format", required_argument, NULL, O_ALERT_FORMAT},
        {"brokers", required_argument, NULL, O_BROKERS},
        {"format", required_argument, NULL, O_FORMAT},
        {"baseline", required_argument, NULL, O_BASELINE},
        {"record", no_argument, NULL, O_RECORD},
        {"max-cards", required_argument, NULL, O_MAX_CARDS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = "nhiwatch.db", *out = "nhiwatch-report";
    const char *ents[64];
    size_t nents = 0;
    const char *tenant = NULL, *policy_path = NULL, *rules_dir = NULL, *baseline = NULL;
    nw_cli_alerts al;
    memset(&al, 0, sizeof al);
    unsigned formats = 0;
    bool record = false;
    size_t max_cards = 0;
    int64_t as_of = 0;
    bool report = true, quiet = false;
    uint64_t v;
    nw_pipeline_opts po;
    memset(&po, 0, sizeof po);
    nw_store_opts so = {0, 0};
    nw_cli_limits lim;
    memset(&lim, 0, sizeof lim);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qhX:F:", lo, NULL)) != -1) {
        if (nw_cli_limits_is_opt(c)) {
            if (nw_cli_limits_opt(&lim, c, optarg)) {
                nw_kafka_conf_free(al.kafka);
                return NW_EXIT_USAGE;
            }
            continue;
        }
        switch (c) {
        case O_DB:
            db = optarg;
            break;
        case O_OUT:
            out = optarg;
            break;
        case O_ASOF:
            if (nw_cli_time(optarg, &as_of)) {
                nw_cli_error("--as-of '%s' is not an RFC 3339 time (e.g. 2026-11-30T00:00:00Z)", optarg);
                return NW_EXIT_USAGE;
            }
            break;
        case O_ALERTS:
        case O_ALERT_FORMAT:
        case O_BROKERS:
        case 'X':
        case 'F':
            if (nw_cli_alerts_opt(&al, c == O_ALERTS         ? "alerts"
                                       : c == O_ALERT_FORMAT ? "alert-format"
                                       : c == O_BROKERS      ? "brokers"
                                       : c == 'X'            ? "X"
                                                             : "F",
                                  optarg)) {
                nw_kafka_conf_free(al.kafka);
                return NW_EXIT_USAGE;
            }
            break;
        case O_FORMAT: {
            nw_err fe;
            nw_err_clear(&fe);
            if (nw_formats_parse(optarg, &formats, &fe)) {
                nw_cli_error("--format: %s", fe.msg);
                nw_kafka_conf_free(al.kafka);
                return NW_EXIT_USAGE;
            }
            break;
        }
        case O_BASELINE:
            baseline = optarg;
            break;
        case O_RECORD:
            record = true;
            break;
        case O_NOREPORT:
            report = false;
            break;
        case 'q':
            quiet = true;
            break;
        case O_MAX_CARDS:
        case O_BATCH:
            if (nw_cli_size(optarg, &v) || v == 0) {
                nw_cli_error("option needs a positive number, not '%s'", optarg);
                nw_kafka_conf_free(al.kafka);
                return NW_EXIT_USAGE;
            }
            if (c == O_MAX_CARDS)
                max_cards = (size_t)v;
            else
                po.batch_events = (size_t)v;
            break;
        case O_ENT:
            if (nents == sizeof ents / sizeof ents[0]) {
                nw_cli_error("at most 64 --entitlements files");
                return NW_EXIT_USAGE;
            }
            ents[nents++] = optarg;
            break;
        case O_TENANT:
            tenant = optarg;
            break;
        case O_POLICY:
            policy_path = optarg;
            break;
        case O_RULES:
            rules_dir = optarg;
            break;
        case 'h':
            usage(stdout);
            nw_kafka_conf_free(al.kafka);
            return NW_EXIT_OK;
        default:
            usage(stderr);
            nw_kafka_conf_free(al.kafka);
            return NW_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        nw_cli_error("run: no INPUT given");
        usage(stderr);
        nw_kafka_conf_free(al.kafka);
        return NW_EXIT_USAGE;
    }
    po.quiet = quiet;
    nw_cli_limits_apply(&lim, &po.source, &po.decode);
    if (lim.max_identities)
        so.max_identities = lim.max_identities;

    struct run r;
    memset(&r, 0, sizeof r);
    nw_err_clear(&r.err);
    r.quiet = quiet;
    r.progress = !quiet && nw_cli_tty();
    r.t0 = now_s();
    /* the whole configuration first: nothing runs on half of it */
    nw_rules *rules = NULL;
    nw_policy *policy = NULL;
    nw_stream *stream = NULL;
    nw_alerter *alerter = NULL;
    if (nw_cli_load_config(rules_dir, policy_path, &rules, &policy)) {
        nw_kafka_conf_free(al.kafka);
        return NW_EXIT_ERROR;
    }
    int rc = nw_store_open(db, &so, &r.st, &r.err);
    if (rc) {
        nw_cli_error("%s", r.err.msg);
        nw_rules_free(rules);
        nw_policy_free(policy);
        nw_kafka_conf_free(al.kafka);
        return NW_EXIT_ERROR;
    }
    bool bad_import = false;
    /* --entitlements takes files and folders (every file below, sorted) */
    char **efiles = NULL;
    nw_err le;
    nw_err_clear(&le);
    long nef = nents ? nw_source_list(ents, nents, &efiles, &le) : 0;
    if (le.code) {
        nw_cli_error("entitlements: %s", le.msg);
        bad_import = true;
    }
    for (long i = 0; i < nef; i++) {
        nw_import_opts io = {tenant, NULL};
        nw_import_result ir;
        nw_err ie;
        nw_err_clear(&ie);
        if (nw_inventory_import(r.st, efiles[i], &io, &ir, &ie)) {
            char buf[NW_ERR_MSG_MAX + NW_ERR_SRC_MAX + 64];
            nw_cli_error("entitlements: %s", nw_err_fmt(&ie, buf, sizeof buf));
            bad_import = true;
        } else if (!quiet) {
            fprintf(stderr, "nhiwatch: %s: %s: %lld identities, %lld credentials, %lld grants\n", efiles[i],
                    nw_inv_format_name(ir.format), (long long)ir.identities, (long long)ir.credentials,
                    (long long)ir.grants);
        }
    }
    for (long i = 0; i < nef; i++)
        free(efiles[i]);
    free(efiles);
    if (al.nsinks) {
        bool failed;
        alerter = nw_cli_alerter_open(&al, r.st, rules, &failed);
        nw_err se;
        nw_err_clear(&se);
        if (alerter && !(stream = nw_stream_new(rules, nw_alerter_stream, alerter, &se)))
            nw_cli_error("alerts: %s", se.msg);
        if (!stream) {
            nw_cli_alerter_close(alerter, &al, true);
            nw_store_close(r.st);
            nw_rules_free(rules);
            nw_policy_free(policy);
            return NW_EXIT_ERROR;
        }
        nw_store_set_hook(r.st, nw_stream_hook, stream);
    }
    nw_pipeline_result pr;
    nw_err perr;
    nw_err_clear(&perr);
    int prc = nw_pipeline_files((const char *const *)(argv + optind), (size_t)(argc - optind), &po, on_batch, &r,
                                &pr, &perr);
    if (r.progress)
        fputs("\r\033[K", stderr);
    int exit_code = NW_EXIT_OK;
    if (r.rc) {
        nw_cli_error("database '%s': %s", db, r.err.msg);
        exit_code = NW_EXIT_ERROR;
    } else if (prc == NW_SRC_E_NOMEM) {
        nw_cli_error("%s", perr.msg);
        exit_code = NW_EXIT_ERROR;
    } else if (save_bookkeeping(&r, &pr)) {
        nw_cli_error("database '%s': %s", db, r.err.msg);
        exit_code = NW_EXIT_ERROR;
    }
    double secs = now_s() - r.t0;
    if (exit_code == NW_EXIT_OK) {
        if (!quiet)
            fprintf(stderr,
                    "nhiwatch: %llu files (%llu empty, %llu unreadable or damaged), %llu records: %llu events "
                    "(%llu new, %llu already stored, %llu partial), %llu skipped, %llu bad, in %.2f s\n",
                    (unsigned long long)pr.src.files, (unsigned long long)pr.src.files_empty,
                    (unsigned long long)(pr.src.files_failed + pr.src.files_damaged),
                    (unsigned long long)pr.src.records, (unsigned long long)pr.events,
                    (unsigned long long)r.applied, (unsigned long long)r.duplicates, (unsigned long long)r.partial,
                    (unsigned long long)pr.skipped, (unsigned long long)pr.bad, secs);
        if (pr.src.files + pr.src.files_empty == 0 && pr.src.files_failed == 0 && !quiet)
            nw_cli_error("warning: no input files found");
        if (stream && !quiet)
            fprintf(stderr, "nhiwatch: %llu streaming detections while ingesting\n",
                    (unsigned long long)nw_stream_alerts(stream));
        /* the ingest's per-file list and caches are done with: give the
         * memory back before the report builds its own */
        bool input_bad = pr.bad || pr.file_errors || pr.src.files_failed;
        nw_pipeline_result_free(&pr);
        free(r.acc);
        r.acc = NULL;
        nw_store_trim(r.st);
        if (report) {
            nw_cli_report rep = {out, as_of, quiet, rules, policy, formats, baseline, record, r.st, alerter, max_cards};
            exit_code = nw_cli_report_write(&r.st, 1, &rep);
        }
        if (exit_code == NW_EXIT_OK && (input_bad || bad_import))
            exit_code = NW_EXIT_BAD_INPUT;
    }
    nw_pipeline_result_free(&pr);
    free(r.acc);
    nw_store_set_hook(r.st, NULL, NULL);
    int arc = nw_cli_alerter_close(alerter, &al, quiet);
    if (arc != NW_EXIT_OK && (exit_code == NW_EXIT_OK || exit_code == NW_EXIT_BAD_INPUT))
        exit_code = arc;
    nw_store_close(r.st);
    nw_stream_free(stream);
    nw_rules_free(rules);
    nw_policy_free(policy);
    return exit_code;
}
