/* fuzz_inventory.c - the entitlement importers (analyze/inventory.h) from a
 * buffer: format detection and every importer (AWS authorization details,
 * credential report CSV and JSON, access keys; GCP policies, keys, service
 * accounts, roles; Azure role assignments and definitions, service
 * principals, apps), then the readers over what was stored.
 *
 * One database per process (in the fuzz temporary folder); every input is
 * imported under the same name, so it replaces the rows of the one before
 * and each run depends on its input only. Checked: an import that worked
 * and is repeated gives the same counts (importing again changes nothing);
 * a failure leaves a message and no rows of the name; readers never fail
 * on what an import stored. */
#include <sqlite3.h>
#include <string.h>

#include "fuzz_common.h"
#include "inventory.h"

static nw_store *st;
#define NAME "fuzz-export.json"

static int64_t rows_of_name(void)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(nw_store_db(st),
                           "SELECT (SELECT count(*) FROM inv_identity WHERE source = ?1) + (SELECT count(*) FROM "
                           "inv_credential WHERE source = ?1) + (SELECT count(*) FROM inv_grant WHERE source = ?1)",
                           -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, NAME, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    return v;
}

static int on_cred(void *ctx, const nw_inv_cred *c)
{
    (*(int *)ctx)++;
    FUZZ_CHECK(c->identity_key && c->cred_id && c->kind);
    return 0;
}

static int on_grant(void *ctx, const nw_inv_grant *g)
{
    (*(int *)ctx)++;
    FUZZ_CHECK(g->identity_key && g->effect && g->action && g->resource);
    nw_action_match(g->action, nw_str_c("s3:GetObject"));
    return 0;
}

static int on_perm(void *ctx, const char *perm, bool not_perm)
{
    (void)not_perm;
    (*(int *)ctx)++;
    FUZZ_CHECK(perm != NULL);
    return 0;
}

static int on_ident(void *ctx, const nw_inv_identity *r)
{
    (void)ctx;
    FUZZ_CHECK(r->key && r->provider && r->type && r->kind);
    nw_err err;
    nw_err_clear(&err);
    int n = 0;
    FUZZ_CHECK(nw_inventory_each_credential(st, r->key, on_cred, &n, &err) == 0);
    FUZZ_CHECK(nw_inventory_each_grant(st, r->key, on_grant, &n, &err) == 0);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!st) {
        char path[512];
        snprintf(path, sizeof path, "%s/inventory.db", fuzz_tmpdir());
        nw_err err;
        nw_err_clear(&err);
        FUZZ_CHECK(nw_store_open(path, NULL, &st, &err) == 0);
        /* the database is scratch: no fsync per input */
        sqlite3_exec(nw_store_db(st), "PRAGMA synchronous=OFF", NULL, NULL, NULL);
    }
    if (size < 1)
        return 0;
    static const char *const tenants[] = {NULL, "aaaabbbb-0000-cccc-1111-dddd2222eeee"};
    static const char *const scopes[] = {NULL, "projects/p1"};
    nw_import_opts opts = {tenants[data[0] & 1], scopes[(data[0] >> 1) & 1]};
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;

    nw_import_result r1, r2;
    nw_err err;
    nw_err_clear(&err);
    int rc = nw_inventory_import_buffer(st, NAME, buf, len, &opts, &r1, &err);
    FUZZ_CHECK(rc <= 0 && rc >= NW_INV_E_NOMEM);
    if (rc) {
        FUZZ_CHECK(err.msg[0] != '\0');
        FUZZ_CHECK(rc != NW_INV_E_STORE); /* a scratch database never fails */
        /* a failed import leaves the rows of the import before it: none
         * for a fresh name. Clear them so the next input starts empty. */
        nw_import_result e;
        FUZZ_CHECK(nw_inventory_import_buffer(st, NAME, "[]", 2, NULL, &e, &err) == 0);
        FUZZ_CHECK(rows_of_name() == 0);
        return 0;
    }
    nw_err_clear(&err);
    FUZZ_CHECK(nw_inventory_each_identity(st, on_ident, NULL, &err) == 0);
    int n = 0;
    nw_inventory_each_role_perm(st, "azure", "Owner", on_perm, &n, &err);
    nw_inventory_each_role_perm(st, "gcp", "projects/p1/roles/custom", on_perm, &n, &err);

    /* importing the same export again changes nothing */
    nw_err_clear(&err);
    FUZZ_CHECK(nw_inventory_import_buffer(st, NAME, buf, len, &opts, &r2, &err) == 0);
    if (r1.format != r2.format || r1.identities != r2.identities || r1.credentials != r2.credentials ||
        r1.grants != r2.grants || r1.skipped != r2.skipped) {
        fprintf(stderr, "re-import: %lld/%lld/%lld/%lld then %lld/%lld/%lld/%lld\n", (long long)r1.identities,
                (long long)r1.credentials, (long long)r1.grants, (long long)r1.skipped, (long long)r2.identities,
                (long long)r2.credentials, (long long)r2.grants, (long long)r2.skipped);
        FUZZ_CHECK(!"importing the same export twice gives the same rows");
    }
    return 0;
}
