#include "event.h"

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
