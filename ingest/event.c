#include "event.h"

#include <string.h>

#include "../core/nw_arena.h"

int nw_event_persist(nw_event *ev, struct nw_arena *a)
{
    nw_str *f[] = {&ev->identity_key, &ev->identity_type, &ev->display_name, &ev->account,   &ev->tenant,
                   &ev->session_name, &ev->credential_id, &ev->service,      &ev->action,    &ev->permission,
                   &ev->resource,     &ev->error_code,    &ev->source_ip,    &ev->user_agent, &ev->region,
                   &ev->event_id,     &ev->origin_key,    &ev->op_key,       &ev->issued_credential,
                   &ev->target_key};
    size_t total = 0;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        total += f[i]->n;
    char *p = nw_arena_alloc(a, total + 1);
    if (!p)
        return -1;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (!f[i]->n) {
            *f[i] = NW_STR_NULL;
            continue;
        }
        memcpy(p, f[i]->p, f[i]->n);
        f[i]->p = p;
        p += f[i]->n;
    }
    return 0;
}

static const char *const prov_names[] = {"unknown", "aws", "azure", "gcp"};
static const char *const kind_names[] = {"unknown", "non_human", "human"};
static const char *const out_names[] = {"success", "failure", "denied"};
static const char *const cred_names[] = {"none",       "aws_long_term", "aws_temporary", "gcp_sa_key",
                                         "azure_secret", "azure_cert",    "other"};
static const char *const access_names[] = {"unknown", "read", "write"};

#define NAME_OF(tab, v) ((unsigned)(v) < sizeof(tab) / sizeof(tab[0]) ? tab[v] : tab[0])

const char *nw_provider_name(int v) { return NAME_OF(prov_names, v); }
const char *nw_kind_name(int v) { return NAME_OF(kind_names, v); }
const char *nw_outcome_name(int v) { return NAME_OF(out_names, v); }
const char *nw_cred_kind_name(int v) { return NAME_OF(cred_names, v); }
const char *nw_access_name(int v) { return NAME_OF(access_names, v); }

static int from_name(const char *const *tab, int n, nw_str s)
{
    for (int i = 0; i < n; i++)
        if (nw_str_eq(s, tab[i]))
            return i;
    return -1;
}

#define FROM(tab, s) from_name(tab, (int)(sizeof(tab) / sizeof(tab[0])), s)

int nw_provider_from_name(nw_str s) { return FROM(prov_names, s); }
int nw_kind_from_name(nw_str s) { return FROM(kind_names, s); }
int nw_outcome_from_name(nw_str s) { return FROM(out_names, s); }
int nw_cred_kind_from_name(nw_str s) { return FROM(cred_names, s); }
int nw_access_from_name(nw_str s) { return FROM(access_names, s); }
