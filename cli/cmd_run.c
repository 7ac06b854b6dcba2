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
#include "../ingest/pipeline.h"
#include "../reports/report.h"
#include "cli.h"

static void usage(FILE *f)
{
    fputs("usage: nhiwatch run [OPTIONS] INPUT...\n"
          "\n"
          "Ingest audit logs (files or folders, recursively; gzip or plain; CloudTrail,\n"
          "Azure Activity and GCP audit formats detected by content) into a SQLite\n"
          "database, then write report.json and report.md.\n"
          "\n"
          "  --db FILE             database (default nhiwatch.db); re-running adds to it,\n"
          "                        events already stored are not counted again\n"
          "  --out DIR             report folder (default nhiwatch-report)\n"
          "  --as-of TIME          evaluate as of TIME (RFC 3339); default: newest event\n"
          "  --no-report           ingest only\n"
          "  --entitlements FILE   import an IAM export first (repeatable; see `nhiwatch import`)\n"
          "  --tenant ID           Azure tenant id for role-assignment exports\n"
          "  --policy FILE         ownership policy (owners, expiry, rotation, JIT)\n"
          "  --rules DIR           rule folder replacing the shipped rules/\n"
          "  --alerts FILE         append streaming alerts (JSON Lines) as events arrive\n"
          "  --quiet, -q           no progress and no per-record messages\n"
          "  --max-record SIZE     largest record accepted (default 1M)\n"
          "  --max-depth N         deepest nesting accepted (default 128)\n"
          "  --max-identities N    identities the database may hold (default 2000000)\n"
          "  --max-file SIZE       largest decompressed file (default unlimited)\n"
          "  --batch N             events per database transaction (default 4096)\n"
          "\n"
          "exit status: 0 all input read; 3 done, but some input was bad or unreadable;\n"
          "1 error (nothing reported); 2 bad command line.\n",
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

static void alert_to_file(void *ctx, const json_t *alert)
{
    FILE *f = ctx;
    json_dumpf(alert, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
    fputc('\n', f);
    fflush(f); /* an alert is worth a write: a SIEM tails this file */
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
    nw_err err;
    nw_err_clear(&err);
    nw_report_opts ro = {as_of, 0, 0, 0, rules, policy};
    nw_report_summary sum;
    if (nw_report_write(shards, n, &ro, out_dir, &sum, &err)) {
        nw_cli_error("cannot write the report: %s", err.msg);
        return NW_EXIT_ERROR;
    }
    if (!quiet)
        fprintf(stderr,
                "nhiwatch: report in %s/report.json and report.md: %lld identities (%lld non-human, %lld human, %lld "
                "unknown), %lld findings\n",
                out_dir, (long long)sum.identities, (long long)sum.non_human, (long long)sum.human,
                (long long)sum.unknown, (long long)sum.findings);
    return NW_EXIT_OK;
}

int nw_cmd_run(int argc, char **argv)
{
    enum {
        O_DB = 256,
        O_OUT,
        O_ASOF,
        O_NOREPORT,
        O_MAXREC,
        O_MAXDEPTH,
        O_MAXID,
        O_MAXFILE,
        O_BATCH,
        O_ENT,
        O_TENANT,
        O_POLICY,
        O_RULES,
        O_ALERTS
    };
    static const struct option lo[] = {
        {"db", required_argument, NULL, O_DB},
        {"out", required_argument, NULL, O_OUT},
        {"as-of", required_argument, NULL, O_ASOF},
        {"no-report", no_argument, NULL, O_NOREPORT},
        {"quiet", no_argument, NULL, 'q'},
        {"max-record", required_argument, NULL, O_MAXREC},
        {"max-depth", required_argument, NULL, O_MAXDEPTH},
        {"max-identities", required_argument, NULL, O_MAXID},
        {"max-file", required_argument, NULL, O_MAXFILE},
        {"batch", required_argument, NULL, O_BATCH},
        {"entitlements", required_argument, NULL, O_ENT},
        {"tenant", required_argument, NULL, O_TENANT},
        {"policy", required_argument, NULL, O_POLICY},
        {"rules", required_argument, NULL, O_RULES},
        {"alerts", required_argument, NULL, O_ALERTS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *db = "nhiwatch.db", *out = "nhiwatch-report";
    const char *ents[64];
    size_t nents = 0;
    const char *tenant = NULL, *policy_path = NULL, *rules_dir = NULL, *alerts_path = NULL;
    int64_t as_of = 0;
    bool report = true, quiet = false;
    uint64_t v;
    nw_pipeline_opts po;
    memset(&po, 0, sizeof po);
    nw_store_opts so = {0, 0};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "qh", lo, NULL)) != -1) {
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
        case O_NOREPORT:
            report = false;
            break;
        case 'q':
            quiet = true;
            break;
        case O_MAXREC:
        case O_MAXDEPTH:
        case O_MAXID:
        case O_MAXFILE:
        case O_BATCH:
            if (nw_cli_size(optarg, &v) || v == 0) {
                nw_cli_error("option needs a positive number, not '%s'", optarg);
                return NW_EXIT_USAGE;
            }
            if (c == O_MAXREC) {
                po.source.split.max_record = (size_t)v;
                po.decode.max_record = (size_t)v;
            } else if (c == O_MAXDEPTH) {
                po.source.split.max_depth = (size_t)v;
                po.decode.max_depth = (size_t)v;
            } else if (c == O_MAXID) {
                so.max_identities = v;
            } else if (c == O_MAXFILE) {
                po.source.max_file_bytes = v;
            } else {
                po.batch_events = (size_t)v;
            }
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
        case O_ALERTS:
            alerts_path = optarg;
            break;
        case 'h':
            usage(stdout);
            return NW_EXIT_OK;
        default:
            usage(stderr);
            return NW_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        nw_cli_error("run: no INPUT given");
        usage(stderr);
        return NW_EXIT_USAGE;
    }
    po.quiet = quiet;

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
    FILE *alerts = NULL;
    if (nw_cli_load_config(rules_dir, policy_path, &rules, &policy))
        return NW_EXIT_ERROR;
    int rc = nw_store_open(db, &so, &r.st, &r.err);
    if (rc) {
        nw_cli_error("%s", r.err.msg);
        nw_rules_free(rules);
        nw_policy_free(policy);
        return NW_EXIT_ERROR;
    }
    bool bad_import = false;
    for (size_t i = 0; i < nents; i++) {
        nw_import_opts io = {tenant, NULL};
        nw_import_result ir;
        nw_err ie;
        nw_err_clear(&ie);
        if (nw_inventory_import(r.st, ents[i], &io, &ir, &ie)) {
            char buf[NW_ERR_MSG_MAX + NW_ERR_SRC_MAX + 64];
            nw_cli_error("entitlements: %s", nw_err_fmt(&ie, buf, sizeof buf));
            bad_import = true;
        } else if (!quiet) {
            fprintf(stderr, "nhiwatch: %s: %s: %lld identities, %lld credentials, %lld grants\n", ents[i],
                    nw_inv_format_name(ir.format), (long long)ir.identities, (long long)ir.credentials,
                    (long long)ir.grants);
        }
    }
    if (alerts_path) {
        alerts = strcmp(alerts_path, "-") == 0 ? stdout : fopen(alerts_path, "a");
        if (!alerts) {
            nw_cli_error("cannot open --alerts '%s'", alerts_path);
            nw_store_close(r.st);
            nw_rules_free(rules);
            nw_policy_free(policy);
            return NW_EXIT_ERROR;
        }
        nw_err se;
        nw_err_clear(&se);
        stream = nw_stream_new(rules, alert_to_file, alerts, &se);
        if (!stream) {
            nw_cli_error("alerts: %s", se.msg);
            if (alerts != stdout)
                fclose(alerts);
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
            fprintf(stderr, "nhiwatch: %llu streaming alerts to %s\n", (unsigned long long)nw_stream_alerts(stream),
                    alerts_path);
        if (report)
            exit_code = nw_write_reports(&r.st, 1, out, as_of, quiet, rules, policy);
        if (exit_code == NW_EXIT_OK && (pr.bad || pr.file_errors || pr.src.files_failed || bad_import))
            exit_code = NW_EXIT_BAD_INPUT;
    }
    nw_pipeline_result_free(&pr);
    free(r.acc);
    nw_store_close(r.st);
    nw_stream_free(stream);
    if (alerts && alerts != stdout)
        fclose(alerts);
    nw_rules_free(rules);
    nw_policy_free(policy);
    return exit_code;
}
