/* remediation.c - remediation plans per provider. See remediation.h. */
#include "remediation.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "report.h"

/* ---- a growing string ---- */

struct sb {
    char *p;
    size_t n, cap;
    bool oom;
};

static void sb_putn(struct sb *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 128;
        while (b->n + n + 1 > nc)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_put(struct sb *b, const char *s) { sb_putn(b, s, strlen(s)); }

static bool safe_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("_@%+=:,./-", c);
}

/* One shell word: bare when every character is safe, $'...' (bash) when it
 * holds control characters (the result stays on one line), else '...'. */
static void sb_word(struct sb *b, const char *s)
{
    bool safe = *s != '\0', ctl = false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (!safe_char(*p))
            safe = false;
        if (*p < 0x20 || *p == 0x7f)
            ctl = true;
    }
    if (safe) {
        sb_put(b, s);
        return;
    }
    if (ctl) {
        sb_put(b, "$'");
        for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
            char e[8];
            if (*p < 0x20 || *p == 0x7f) {
                snprintf(e, sizeof e, "\\x%02x", *p);
                sb_put(b, e);
            } else if (*p == '\'' || *p == '\\') {
                e[0] = '\\';
                e[1] = (char)*p;
                sb_putn(b, e, 2);
            } else {
                sb_putn(b, (const char *)p, 1);
            }
        }
        sb_put(b, "'");
        return;
    }
    sb_put(b, "'");
    for (const char *p = s; *p; p++) {
        if (*p == '\'')
            sb_put(b, "'\\''");
        else
            sb_putn(b, p, 1);
    }
    sb_put(b, "'");
}

void nw_sh_quote(FILE *f, const char *s)
{
    struct sb b = {0};
    sb_word(&b, s ? s : "");
    if (b.p)
        fputs(b.p, f);
    free(b.p);
}

/* A command from a NULL-terminated argument list, appended to arr. */
static void cmd(json_t *arr, const char *const *argv)
{
    struct sb b = {0};
    for (size_t i = 0; argv[i]; i++) {
        if (i)
            sb_put(&b, " ");
        sb_word(&b, argv[i]);
    }
    if (b.p && !b.oom)
        json_array_append_new(arr, json_string(b.p));
    free(b.p);
}

#define CMD(arr, ...)                                                                                                \
    do {                                                                                                         \
        const char *const argv_[] = {__VA_ARGS__, NULL};                                                         \
        cmd(arr, argv_);                                                                                         \
    } while (0)

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static const char *last_seg(const char *s)
{
    const char *p = strrchr(s, '/');
    return p ? p + 1 : s;
}

#define DENY_ALL                                                                                                     \
    "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"NhiwatchQuarantine\",\"Effect\":\"Deny\",\"Action\":\"*\"," \
    "\"Resource\":\"*\"}]}"
#define QUARANTINE_POLICY "nhiwatch-quarantine"

void nw_remediation_commands(const char *provider, const char *type, const char *key, const json_t *creds,
                             const json_t *grants, bool creds_only, json_t **disable, json_t **rollback)
{
    json_t *dis = json_array(), *rb = json_array();
    *disable = dis;
    *rollback = rb;
    if (!provider || !type || !key)
        return;
    size_t i;
    const json_t *c;
    if (strcmp(provider, "aws") == 0) {
        /* arn:aws:iam::ACCOUNT:user/path/name */
        const char *res = key;
        for (int colons = 0; colons < 5 && res; colons++) {
            res = strchr(res, ':');
            if (res)
                res++;
        }
        if (!res)
            return;
        const char *name = last_seg(res);
        if (strcmp(type, "iam_user") == 0 && strncmp(res, "user/", 5) == 0) {
            json_array_foreach(creds, i, c)
            {
                const char *id = sget(c, "id"), *k = sget(c, "kind");
                if (!id || !k || strcmp(k, "aws_long_term") != 0 || strncmp(id, "access_key_", 11) == 0)
                    continue;
                CMD(dis, "aws", "iam", "update-access-key", "--user-name", name, "--access-key-id", id, "--status",
                    "Inactive");
                CMD(rb, "aws", "iam", "update-access-key", "--user-name", name, "--access-key-id", id, "--status",
                    "Active");
            }
            if (creds_only)
                return;
            CMD(dis, "aws", "iam", "put-user-policy", "--user-name", name, "--policy-name", QUARANTINE_POLICY,
                "--policy-document", DENY_ALL);
            CMD(rb, "aws", "iam", "delete-user-policy", "--user-name", name, "--policy-name", QUARANTINE_POLICY);
        } else if (!creds_only && strcmp(type, "iam_role") == 0 && strncmp(res, "role/", 5) == 0) {
            CMD(dis, "aws", "iam", "put-role-policy", "--role-name", name, "--policy-name", QUARANTINE_POLICY,
                "--policy-document", DENY_ALL);
            CMD(rb, "aws", "iam", "delete-role-policy", "--role-name", name, "--policy-name", QUARANTINE_POLICY);
        }
        return;
    }
    if (strcmp(provider, "gcp") == 0) {
        if (strcmp(type, "service_account") != 0)
            return;
        const char *at = strchr(key, '@');
        if (!at)
            return;
        char project[256] = "";
        const char *suffix = strstr(at, ".iam.gserviceaccount.com");
        if (suffix && (size_t)(suffix - at - 1) < sizeof project)
            snprintf(project, sizeof project, "%.*s", (int)(suffix - at - 1), at + 1);
        json_array_foreach(creds, i, c)
        {
            const char *id = sget(c, "id"), *k = sget(c, "kind");
            if (!id || !k || strcmp(k, "gcp_sa_key") != 0)
                continue;
            if (*project) {
                CMD(dis, "gcloud", "iam", "service-accounts", "keys", "disable", last_seg(id), "--iam-account", key,
                    "--project", project);
                CMD(rb, "gcloud", "iam", "service-accounts", "keys", "enable", last_seg(id), "--iam-account", key,
                    "--project", project);
            } else {
                CMD(dis, "gcloud", "iam", "service-accounts", "keys", "disable", last_seg(id), "--iam-account", key);
                CMD(rb, "gcloud", "iam", "service-accounts", "keys", "enable", last_seg(id), "--iam-account", key);
            }
        }
        if (creds_only)
            return;
        if (*project) {
            CMD(dis, "gcloud", "iam", "service-accounts", "disable", key, "--project", project);
            CMD(rb, "gcloud", "iam", "service-accounts", "enable", key, "--project", project);
        } else {
            CMD(dis, "gcloud", "iam", "service-accounts", "disable", key);
            CMD(rb, "gcloud", "iam", "service-accounts", "enable", key);
        }
        return;
    }
    if (strcmp(provider, "azure") == 0) {
        const char *slash = strncmp(key, "azure:", 6) == 0 ? strchr(key + 6, '/') : NULL;
        if (!slash || !slash[1])
            return;
        const char *oid = slash + 1;
        if (creds_only)
            return; /* deleting a client secret cannot be undone: by hand */
        if (strcmp(type, "managed_identity") == 0) {
            const json_t *g;
            json_array_foreach(grants, i, g)
            {
                const char *s = json_string_value(g);
                const char *v = s ? strstr(s, " via role:") : NULL;
                if (!v)
                    continue;
                v += 10;
                const char *atp = strchr(v, '@');
                if (!atp || !atp[1])
                    continue;
                char role[256];
                snprintf(role, sizeof role, "%.*s", (int)(atp - v) < 255 ? (int)(atp - v) : 255, v);
                CMD(dis, "az", "role", "assignment", "delete", "--assignee", oid, "--role", role, "--scope", atp + 1);
                CMD(rb, "az", "role", "assignment", "create", "--assignee-object-id", oid,
                    "--assignee-principal-type", "ServicePrincipal", "--role", role, "--scope", atp + 1);
            }
            return;
        }
        CMD(dis, "az", "ad", "sp", "update", "--id", oid, "--set", "accountEnabled=false");
        CMD(rb, "az", "ad", "sp", "update", "--id", oid, "--set", "accountEnabled=true");
    }
}

/* Comment text: one line, control characters replaced. */
static void comment(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : "-"); *p; p++)
        fputc(*p < 0x20 || *p == 0x7f ? '?' : *p, f);
}

static void strings(FILE *f, const json_t *arr)
{
    size_t i;
    json_t *x;
    if (!json_array_size(arr)) {
        fputs("-", f);
        return;
    }
    json_array_foreach(arr, i, x)
    {
        if (i)
            fputs(", ", f);
        comment(f, json_string_value(x));
    }
}

static bool reason(const json_t *cand, const char *rule)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(cand, "reasons"), i, r) if (json_string_value(r) &&
                                                                  strcmp(json_string_value(r), rule) == 0) return true;
    return false;
}

static const char *const providers[] = {"aws", "azure", "gcp"};

int nw_remediation_write(const char *dir, const json_t *doc, const json_t *details, nw_err *err)
{
    int rc = nw_mkdirs(dir, err);
    if (rc)
        return rc;
    const json_t *cands = json_object_get(doc, "deprovision_candidates");
    for (size_t p = 0; p < 3; p++) {
        char path[4200], tmp[4300];
        snprintf(path, sizeof path, "%s/%s.sh", dir, providers[p]);
        FILE *f = nw_out_open(path, tmp, sizeof tmp, err);
        if (!f)
            return NW_COLLECT_E_WRITE;
        size_t n = 0, i;
        const json_t *c;
        json_array_foreach(cands, i, c) n += sget(c, "provider") && strcmp(sget(c, "provider"), providers[p]) == 0;
        fprintf(f,
                "#!/usr/bin/env bash\n"
                "# nhiwatch remediation plan (%s): %zu deprovisioning candidate(s), report as of %s.\n"
                "# Generated, never run by nhiwatch. Each identity is disabled first, reversibly; the\n"
                "# rollback commands are the comments under it. Delete only after the observation period\n"
                "# (`nhiwatch watch`). Dry run by default (prints the commands); --apply runs them.\n"
                "set -euo pipefail\n"
                "APPLY=0\n"
                "if [ \"${1:-}\" = --apply ]; then APPLY=1; elif [ $# -gt 0 ]; then echo \"usage: $0 [--apply]\" >&2; "
                "exit 2; fi\n"
                "run() {\n"
                "  if [ \"$APPLY\" = 1 ]; then \"$@\"; else printf '+'; printf ' %%q' \"$@\"; printf '\\n'; fi\n"
                "}\n",
                providers[p], n, sget(doc, "as_of") ? sget(doc, "as_of") : "-");
        if (!n)
            fputs("\n# no candidates for this provider\n", f);
        json_array_foreach(cands, i, c)
        {
            const char *prov = sget(c, "provider"), *key = sget(c, "identity"), *type = sget(c, "type");
            if (!prov || strcmp(prov, providers[p]) != 0 || !key)
                continue;
            const json_t *det = json_object_get(details, key);
            fputs("\n# ---- ", f);
            comment(f, key);
            fputs(" (", f);
            comment(f, type);
            fputs(")\n# reasons: ", f);
            strings(f, json_object_get(c, "reasons"));
            fputs("; severity: ", f);
            comment(f, sget(c, "severity"));
            fprintf(f, "; confidence: %.1f\n# last used: ", json_number_value(json_object_get(c, "confidence")));
            comment(f, det && sget(det, "last_used") ? sget(det, "last_used") : sget(c, "last_seen"));
            fputs(" from ", f);
            comment(f, sget(c, "last_source"));
            fputs("; owner: ", f);
            comment(f, sget(c, "owner"));
            fputs("\n", f);
            if (strcmp(providers[p], "azure") == 0 && strncmp(key, "azure:", 6) == 0 && strchr(key + 6, '/')) {
                fputs("# tenant: ", f);
                fprintf(f, "%.*s", (int)(strchr(key + 6, '/') - key - 6), key + 6);
                fputs(" (az login --tenant ...)\n", f);
            }
            bool creds_only = !reason(c, "NHI-DORMANT-001") && !reason(c, "NHI-DORMANT-002");
            const json_t *creds = json_object_get(det, creds_only ? "unused_credentials" : "credentials");
            json_t *dis, *rb;
            nw_remediation_commands(prov, type, key, creds, json_object_get(c, "grants"), creds_only, &dis, &rb);
            size_t j;
            json_t *x;
            if (creds_only) {
                fputs("# unused credential(s) only: ", f);
                json_array_foreach(creds, j, x)
                {
                    if (j)
                        fputs(", ", f);
                    comment(f, sget(x, "id"));
                }
                fputs(json_array_size(creds) ? "\n" : "-\n", f);
            }
            if (!json_array_size(dis))
                fputs(creds_only ? "# no reversible command for this provider: remove the credential(s) by hand after "
                                   "confirming with the owner (az ad app credential delete --id APP_ID --key-id KEY_ID)\n"
                                 : "# no command: nhiwatch has no reversible way to disable this kind of identity; "
                                   "review by hand\n",
                      f);
            json_array_foreach(dis, j, x) fprintf(f, "run %s\n", json_string_value(x));
            if (json_array_size(rb))
                fputs("# rollback:\n", f);
            json_array_foreach(rb, j, x) fprintf(f, "#   %s\n", json_string_value(x));
            json_decref(dis);
            json_decref(rb);
        }
        if ((rc = nw_out_close(f, tmp, path, err)))
            return rc;
    }
    return 0;
}
