/* csv.c - deprovision.csv. See csv.h. */
#include "csv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"

void nw_csv_field(FILE *f, const char *s)
{
    if (!s || !*s)
        return;
    bool formula = strchr("=+-@\t\r", s[0]) != NULL;
    bool quote = formula || strpbrk(s, "\",\r\n") != NULL;
    if (quote)
        fputc('"', f);
    if (formula)
        fputc('\'', f);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            fputc('"', f);
        fputc(*p, f);
    }
    if (quote)
        fputc('"', f);
}

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool has_reason(const json_t *cand, const char *prefix)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(cand, "reasons"), i, r)
    {
        const char *s = json_string_value(r);
        if (s && strncmp(s, prefix, strlen(prefix)) == 0)
            return true;
    }
    return false;
}

const char *nw_csv_suggested_action(const json_t *cand)
{
    const char *prov = sget(cand, "provider"), *type = sget(cand, "type");
    bool dormant = has_reason(cand, "NHI-DORMANT-001") || has_reason(cand, "NHI-DORMANT-002");
    if (!prov || !type)
        return "review";
    if (!dormant) /* unused credentials only */
        return strcmp(prov, "aws") == 0   ? "deactivate the unused access key(s); delete after the observation period"
               : strcmp(prov, "gcp") == 0 ? "disable the unused service-account key(s); delete after the observation period"
                                          : "remove the unused client secret(s) or certificate(s)";
    if (strcmp(prov, "aws") == 0) {
        if (strcmp(type, "iam_user") == 0)
            return "deactivate its access keys and attach a deny-all inline policy; delete the user after the "
                   "observation period";
        if (strcmp(type, "iam_role") == 0)
            return "attach a deny-all inline policy (also cuts live sessions); delete the role after the "
                   "observation period";
        return "review: not an IAM user or role";
    }
    if (strcmp(prov, "gcp") == 0)
        return strcmp(type, "service_account") == 0
                   ? "disable the service account and its keys; delete after the observation period"
                   : "review: not a service account";
    if (strcmp(prov, "azure") == 0) {
        if (strcmp(type, "managed_identity") == 0)
            return "remove its role assignments (a managed identity cannot be disabled); delete it with its resource "
                   "when unused";
        return "disable the service principal (accountEnabled=false); delete after the observation period";
    }
    return "review";
}

static void list(FILE *f, const json_t *arr, const char *field)
{
    /* join into one buffer so the field is quoted as a whole */
    size_t cap = 256, len = 0;
    char *b = malloc(cap);
    if (!b)
        return;
    b[0] = '\0';
    size_t i;
    json_t *x;
    json_array_foreach(arr, i, x)
    {
        const char *s = field ? sget(x, field) : json_string_value(x);
        if (!s)
            continue;
        size_t n = strlen(s);
        if (len + n + 3 > cap) {
            while (len + n + 3 > cap)
                cap *= 2;
            char *nb = realloc(b, cap);
            if (!nb)
                break;
            b = nb;
        }
        if (len) {
            memcpy(b + len, "; ", 2);
            len += 2;
        }
        memcpy(b + len, s, n + 1);
        len += n;
    }
    nw_csv_field(f, b);
    free(b);
}

int nw_csv_write(const char *path, const json_t *doc, const json_t *details, nw_err *err)
{
    char tmp[4200];
    FILE *f = nw_out_open(path, tmp, sizeof tmp, err);
    if (!f)
        return NW_COLLECT_E_WRITE;
    fputs("identity,provider,type,owner,last_used,last_source,grants,reasons,confidence,suggested_action,severity,"
          "credentials\r\n",
          f);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "deprovision_candidates"), i, c)
    {
        const char *key = sget(c, "identity");
        const json_t *det = key ? json_object_get(details, key) : NULL;
        nw_csv_field(f, key);
        fputc(',', f);
        nw_csv_field(f, sget(c, "provider"));
        fputc(',', f);
        nw_csv_field(f, sget(c, "type"));
        fputc(',', f);
        nw_csv_field(f, sget(c, "owner"));
        fputc(',', f);
        nw_csv_field(f, det && sget(det, "last_used") ? sget(det, "last_used") : sget(c, "last_seen"));
        fputc(',', f);
        nw_csv_field(f, sget(c, "last_source"));
        fputc(',', f);
        list(f, json_object_get(c, "grants"), NULL);
        fputc(',', f);
        list(f, json_object_get(c, "reasons"), NULL);
        fputc(',', f);
        const json_t *conf = json_object_get(c, "confidence");
        if (json_is_number(conf))
            fprintf(f, "%.1f", json_number_value(conf));
        fputc(',', f);
        nw_csv_field(f, nw_csv_suggested_action(c));
        fputc(',', f);
        nw_csv_field(f, sget(c, "severity"));
        fputc(',', f);
        bool creds_only = !has_reason(c, "NHI-DORMANT-001") && !has_reason(c, "NHI-DORMANT-002");
        list(f, json_object_get(det, creds_only ? "unused_credentials" : "credentials"), "id");
        fputs("\r\n", f);
    }
    return nw_out_close(f, tmp, path, err);
}
