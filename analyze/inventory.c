/* inventory.c - entitlement and inventory importers. See inventory.h and
 * docs/entitlements.md.
 *
 * Exports are configuration-class input (a few MB, read once), so a file is
 * read whole and parsed with jansson; the hot path of nhiwatch (audit
 * events) does not come through here. One import is one transaction: the
 * rows an earlier import of the same path produced are deleted and the new
 * ones inserted, so a file that fails half-way changes nothing.
 *
 * Layout: helpers; the row writers; format detection; one importer per
 * format (AWS, GCP, Azure); the readers, which merge the rows of one
 * identity across files; the IAM action glob.
 */
#include "inventory.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/nw_arena.h"
#include "../core/nw_map.h"
#include "../core/nw_time.h"
#include "inventory_sql.h"

/* ---------------------------------------------------------------- */
/* the IAM action glob                                              */
/* ---------------------------------------------------------------- */

static inline unsigned char fold(unsigned char c) { return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c; }

/* Classic two-pointer glob: on a mismatch, go back to just after the last
 * '*' and let it swallow one more character. Only the last star is ever
 * revisited, so the work is bounded by len(pattern) * len(s). */
bool nw_glob_match(nw_str p, nw_str s, bool icase)
{
    size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0;
    while (si < s.n) {
        if (pi < p.n && p.p[pi] == '*') {
            star = pi++;
            mark = si;
            continue;
        }
        if (pi < p.n) {
            unsigned char pc = (unsigned char)p.p[pi], sc = (unsigned char)s.p[si];
            if (pc == '?' || pc == sc || (icase && fold(pc) == fold(sc))) {
                pi++;
                si++;
                continue;
            }
        }
        if (star == SIZE_MAX)
            return false;
        pi = star + 1;
        si = ++mark;
    }
    while (pi < p.n && p.p[pi] == '*')
        pi++;
    return pi == p.n;
}

bool nw_action_match(const char *pattern, nw_str action)
{
    return nw_glob_match(nw_str_c(pattern), action, true);
}

/* ---------------------------------------------------------------- */
/* names                                                            */
/* ---------------------------------------------------------------- */

const char *nw_inv_format_name(int format)
{
    switch (format) {
    case NW_INV_AWS_AUTH_DETAILS:
        return "aws-authorization-details";
    case NW_INV_AWS_CRED_REPORT:
        return "aws-credential-report";
    case NW_INV_AWS_ACCESS_KEYS:
        return "aws-access-keys";
    case NW_INV_GCP_IAM_POLICY:
        return "gcp-iam-policy";
    case NW_INV_GCP_SA_KEYS:
        return "gcp-sa-keys";
    case NW_INV_GCP_SA_LIST:
        return "gcp-service-accounts";
    case NW_INV_AZURE_ROLE_ASSIGNMENTS:
        return "azure-role-assignments";
    case NW_INV_AZURE_ROLE_DEFINITIONS:
        return "azure-role-definitions";
    case NW_INV_AZURE_SP_LIST:
        return "azure-service-principals";
    case NW_INV_AZURE_APP_LIST:
        return "azure-applications";
    case NW_INV_GCP_ROLES:
        return "gcp-roles";
    case NW_INV_EMPTY:
        return "empty";
    }
    return "unknown";
}

const char *nw_inv_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case NW_INV_E_OPEN:
        return "cannot read the file";
    case NW_INV_E_FORMAT:
        return "not a known entitlement or inventory format";
    case NW_INV_E_PARSE:
        return "malformed file";
    case NW_INV_E_STORE:
        return "database error";
    case NW_INV_E_NOMEM:
        return "out of memory";
    }
    return "unknown error";
}

/* ---------------------------------------------------------------- */
/* import state                                                     */
/* ---------------------------------------------------------------- */

enum {
    I_DEL_IDENT,
    I_DEL_CRED,
    I_DEL_GRANT,
    I_DEL_ROLE,
    I_IDENT,
    I_CRED,
    I_GRANT,
    I_ROLE,
    I_BY_OBJECT,
    I_ROLE_NAME,
    I_COUNT_ROWS,
    I_COUNT
};

static const char *const imp_sql[I_COUNT] = {
    [I_DEL_IDENT] = SQL_INV_DEL_IDENTITY, [I_DEL_CRED] = SQL_INV_DEL_CRED,
    [I_DEL_GRANT] = SQL_INV_DEL_GRANT,    [I_DEL_ROLE] = SQL_INV_DEL_ROLE_PERM,
    [I_IDENT] = SQL_INV_IDENTITY_UPSERT,  [I_CRED] = SQL_INV_CRED_UPSERT,
    [I_GRANT] = SQL_INV_GRANT_INSERT,     [I_ROLE] = SQL_INV_ROLE_PERM_INSERT,
    [I_BY_OBJECT] = SQL_INV_BY_OBJECT,    [I_ROLE_NAME] = SQL_INV_ROLE_NAME,
    [I_COUNT_ROWS] = SQL_INV_COUNT_ROWS,
};

typedef struct imp {
    sqlite3 *db;
    const char *source; /* the real path: rows of this file */
    const nw_import_opts *opts;
    nw_err *err;
    sqlite3_stmt *s[I_COUNT];
    nw_arena *ar; /* strings built while importing (keys, vias) */
    int64_t skipped;
    /* Azure object id -> key, from the identities seen in the logs
     * (loaded on first need) */
    nw_map *az_logs;
    bool az_logs_loaded;
    /* AWS user name -> ARN (or "" when ambiguous), loaded on first need */
    nw_map *aws_users;
    bool aws_users_loaded;
} imp;

/* An identity row to write. */
typedef struct irow {
    const char *key, *provider, *type;
    int rank;
    const char *display, *account, *tenant, *object_id, *app_id;
    int64_t created, last_used;
    int disabled, console, mfa;
    const char *trust, *tags;
} irow;

enum { RANK_MENTION = 1, RANK_REPORT = 2, RANK_LISTING = 3 };

static int fail_sql(imp *im, int rc, const char *what)
{
    return nw_err_set(im->err, NW_INV_E_STORE, "%s: %s", what,
                      im->db ? sqlite3_errmsg(im->db) : sqlite3_errstr(rc));
}

static int nomem(imp *im) { return nw_err_set(im->err, NW_INV_E_NOMEM, "out of memory"); }

/* A parse error about one element: "UserDetailList[3].Arn: must be a string". */
static int bad(imp *im, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(imp *im, const char *fmt, ...)
{
    char msg[NW_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return nw_err_set(im->err, NW_INV_E_PARSE, "%s", msg);
}

/* NUL-terminated copy in the import arena ("" for NULL / empty). */
static const char *sdup(imp *im, const char *p, size_t n)
{
    char *d = nw_arena_alloc(im->ar, n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, p, n);
    d[n] = '\0';
    return d;
}

/* Concatenate NULL-terminated list of strings into the arena. */
static const char *cat(imp *im, ...)
{
    va_list ap;
    size_t n = 0;
    va_start(ap, im);
    for (const char *s; (s = va_arg(ap, const char *));)
        n += strlen(s);
    va_end(ap);
    char *d = nw_arena_alloc(im->ar, n + 1);
    if (!d)
        return NULL;
    char *w = d;
    va_start(ap, im);
    for (const char *s; (s = va_arg(ap, const char *));) {
        size_t l = strlen(s);
        memcpy(w, s, l);
        w += l;
    }
    va_end(ap);
    *w = '\0';
    return d;
}

static const char *lower(imp *im, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *d = nw_arena_alloc(im->ar, n + 1);
    if (!d)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        d[i] = (char)fold((unsigned char)s[i]);
    return d;
}

/* ---- jansson accessors: NULL / 0 when absent or of another type ---- */

static const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : NULL;
}

/* Case-insensitive key lookup, for exports that change key case. */
static json_t *jget_i(const json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    if (v)
        return v;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)o, key, val)
    {
        if (strcasecmp(key, k) == 0)
            return val;
    }
    return NULL;
}

static const char *jtype_name(const json_t *v)
{
    if (!v)
        return "missing";
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* A required string member; a parse error naming path.k otherwise. */
static int need_str(imp *im, const json_t *o, const char *k, const char *path, const char **out)
{
    json_t *v = json_object_get(o, k);
    const char *s = json_string_value(v);
    if (!s || !*s)
        return bad(im, "%s%s%s: must be a non-empty string, is %s", path, *path ? "." : "", k,
                   s ? "an empty string" : jtype_name(v));
    *out = s;
    return 0;
}

/* Times: absent / null / "N/A"-style -> 0; a string that is not a time
 * is a parse error naming the element. Far-future expiries (year >= 9000,
 * GCP's 9999-12-31 "never") -> 0 too when never_is_zero. */
static int time_val(imp *im, const char *s, const char *where, int64_t *out)
{
    *out = 0;
    if (!s || !*s || strcmp(s, "N/A") == 0 || strcmp(s, "no_information") == 0 || strcmp(s, "not_supported") == 0)
        return 0;
    if (nw_time_parse(nw_str_c(s), out) != 0)
        return bad(im, "%s: '%s' is not a time", where, s);
    return 0;
}

static int jtime(imp *im, const json_t *o, const char *k, const char *path, int64_t *out)
{
    json_t *v = json_object_get(o, k);
    *out = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return bad(im, "%s.%s: must be a time string, is %s", path, k, jtype_name(v));
    char where[384];
    snprintf(where, sizeof where, "%s.%s", path, k);
    return time_val(im, json_string_value(v), where, out);
}

/* expiries from the year 9000 on mean "never" (GCP: 9999-12-31T23:59:59Z) */
static int64_t never_expires(void) { return nw_days_from_civil(9000, 1, 1) * NW_US_PER_DAY; }

/* "arn:aws:iam::123:user/x" -> "123" in the arena. */
static const char *arn_account(imp *im, const char *arn)
{
    if (!arn || strncmp(arn, "arn:", 4) != 0)
        return NULL;
    const char *p = arn;
    for (int i = 0; i < 4; i++) {
        p = strchr(p, ':');
        if (!p)
            return NULL;
        p++;
    }
    const char *e = strchr(p, ':');
    if (!e || e == p)
        return NULL;
    return sdup(im, p, (size_t)(e - p));
}

/* ---------------------------------------------------------------- */
/* row writers                                                      */
/* ---------------------------------------------------------------- */

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v && *v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static void bind_time(sqlite3_stmt *s, int i, int64_t v)
{
    if (v)
        sqlite3_bind_int64(s, i, v);
    else
        sqlite3_bind_null(s, i);
}

static int step(imp *im, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : fail_sql(im, rc, what);
}

static int put_identity(imp *im, const irow *r)
{
    sqlite3_stmt *s = im->s[I_IDENT];
    bind_text(s, 1, r->key);
    sqlite3_bind_text(s, 2, im->source, -1, SQLITE_STATIC);
    bind_text(s, 3, r->provider);
    sqlite3_bind_text(s, 4, r->type ? r->type : "unknown", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, r->rank);
    bind_text(s, 6, r->display);
    bind_text(s, 7, r->account);
    bind_text(s, 8, r->tenant);
    bind_text(s, 9, r->object_id);
    bind_text(s, 10, r->app_id);
    bind_time(s, 11, r->created);
    bind_time(s, 12, r->last_used);
    sqlite3_bind_int(s, 13, r->disabled ? 1 : 0);
    sqlite3_bind_int(s, 14, r->console);
    sqlite3_bind_int(s, 15, r->mfa);
    bind_text(s, 16, r->trust);
    bind_text(s, 17, r->tags);
    return step(im, s, "storing an identity");
}

static int put_cred(imp *im, const nw_inv_cred *c)
{
    sqlite3_stmt *s = im->s[I_CRED];
    bind_text(s, 1, c->identity_key);
    bind_text(s, 2, c->cred_id);
    sqlite3_bind_text(s, 3, im->source, -1, SQLITE_STATIC);
    bind_text(s, 4, c->kind);
    sqlite3_bind_int(s, 5, c->active ? 1 : 0);
    bind_time(s, 6, c->created);
    bind_time(s, 7, c->rotated);
    bind_time(s, 8, c->expires);
    bind_time(s, 9, c->last_used);
    bind_text(s, 10, c->last_used_service);
    bind_text(s, 11, c->last_used_region);
    return step(im, s, "storing a credential");
}

static int put_grant(imp *im, const nw_inv_grant *g)
{
    sqlite3_stmt *s = im->s[I_GRANT];
    bind_text(s, 1, g->identity_key);
    sqlite3_bind_text(s, 2, im->source, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, g->effect, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, g->action ? g->action : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, g->not_action);
    sqlite3_bind_text(s, 6, g->resource ? g->resource : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 7, g->not_resource);
    sqlite3_bind_text(s, 8, g->via ? g->via : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 9, g->conditional);
    sqlite3_bind_int(s, 10, g->admin);
    return step(im, s, "storing a grant");
}

static int put_role_perm(imp *im, const char *provider, const char *role, const char *role_id, const char *perm,
                         bool not_perm, bool data)
{
    sqlite3_stmt *s = im->s[I_ROLE];
    bind_text(s, 1, provider);
    bind_text(s, 2, role);
    bind_text(s, 3, role_id);
    sqlite3_bind_text(s, 4, perm, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 5, not_perm);
    sqlite3_bind_int(s, 6, data);
    sqlite3_bind_text(s, 7, im->source, -1, SQLITE_STATIC);
    return step(im, s, "storing a role permission");
}

/* ---------------------------------------------------------------- */
/* small decoders                                                   */
/* ---------------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* %XX-decode (RFC 3986) into a new malloc'd buffer; *n gets the length. */
static char *pct_decode(const char *s, size_t *n)
{
    size_t len = strlen(s);
    char *d = malloc(len + 1);
    if (!d)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        int h, l;
        if (s[i] == '%' && i + 2 < len && (h = hexval((unsigned char)s[i + 1])) >= 0 &&
            (l = hexval((unsigned char)s[i + 2])) >= 0) {
            d[w++] = (char)(h * 16 + l);
            i += 2;
        } else {
            d[w++] = s[i];
        }
    }
    d[w] = '\0';
    *n = w;
    return d;
}

static int b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Base64 (standard or URL alphabet, whitespace ignored) into a new
 * malloc'd buffer. Returns NULL on a bad character (*bad_at = its index)
 * or on allocation failure (*bad_at = -1). */
static char *b64_decode(const char *s, size_t *n, long *bad_at)
{
    size_t len = strlen(s);
    char *d = malloc(len / 4 * 3 + 4);
    *bad_at = -1;
    if (!d)
        return NULL;
    uint32_t acc = 0;
    int bits = 0;
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=' || c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        int v = b64val(c);
        if (v < 0) {
            free(d);
            *bad_at = (long)i;
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            d[w++] = (char)((acc >> bits) & 0xff);
        }
    }
    d[w] = '\0';
    *n = w;
    return d;
}

/* ---------------------------------------------------------------- */
/* AWS policy documents                                             */
/* ---------------------------------------------------------------- */

/* IAM writes that let a principal grant itself anything: an Allow
 * NotAction on "*" that leaves one of them is admin-class. */
static const char *const aws_escalation[] = {
    "iam:PutUserPolicy",   "iam:PutRolePolicy",   "iam:PutGroupPolicy",     "iam:AttachUserPolicy",
    "iam:AttachRolePolicy", "iam:AttachGroupPolicy", "iam:CreatePolicyVersion",
};

static bool aws_admin_policy(const char *arn)
{
    /* any partition: arn:aws:, arn:aws-cn:, arn:aws-us-gov: */
    if (!arn || strncmp(arn, "arn:aws", 7) != 0)
        return false;
    const char *p = strstr(arn, ":iam::aws:policy/");
    return p && strcmp(p, ":iam::aws:policy/AdministratorAccess") == 0;
}

/* A policy document as a JSON object: an object as is (borrowed), or a
 * JSON string, plain or percent-encoded, parsed (a new reference kept in
 * `keep` so that it lives as long as the import). */
static int policy_doc(imp *im, json_t *keep, json_t *v, const char *path, json_t **out)
{
    *out = NULL;
    if (json_is_object(v)) {
        *out = v;
        return 0;
    }
    if (!json_is_string(v))
        return bad(im, "%s: a policy document must be an object or a string, is %s", path, jtype_name(v));
    const char *s = json_string_value(v);
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    char *dec = NULL;
    size_t n = strlen(s);
    if (*s != '{') {
        dec = pct_decode(s, &n);
        if (!dec)
            return nomem(im);
    }
    json_error_t jerr;
    json_t *doc = json_loadb(dec ? dec : s, n, 0, &jerr);
    free(dec);
    if (!doc)
        return bad(im, "%s: the policy document string is not JSON (%s: line %d, column %d: %s)", path,
                   *s == '{' ? "as is" : "after %XX decoding", jerr.line, jerr.column, jerr.text);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return bad(im, "%s: the policy document is not a JSON object", path);
    }
    if (json_array_append_new(keep, doc))
        return nomem(im);
    *out = doc;
    return 0;
}

/* A string or an array of strings: *count of them (str_at reads them);
 * other types are parse errors naming path. */
static int str_or_list(imp *im, json_t *v, const char *path, size_t *count)
{
    *count = 0;
    if (!v)
        return 0;
    if (json_is_string(v)) {
        *count = 1;
        return 0;
    }
    if (!json_is_array(v))
        return bad(im, "%s: must be a string or an array of strings, is %s", path, jtype_name(v));
    for (size_t i = 0; i < json_array_size(v); i++)
        if (!json_is_string(json_array_get(v, i)))
            return bad(im, "%s[%zu]: must be a string, is %s", path, i, jtype_name(json_array_get(v, i)));
    *count = json_array_size(v);
    return 0;
}

static const char *str_at(json_t *v, size_t i)
{
    return json_is_string(v) ? json_string_value(v) : json_string_value(json_array_get(v, i));
}

/* Emit the grant rows of one policy document for identity key.
 * mode: 0 identity policy, 1 permissions boundary. */
static int aws_emit_doc(imp *im, const char *key, json_t *doc, const char *via, const char *policy_arn, int mode,
                        const char *path)
{
    int rc;
    json_t *st = json_object_get(doc, "Statement");
    if (!st)
        return bad(im, "%s: the policy document has no Statement", path);
    if (!json_is_object(st) && !json_is_array(st))
        return bad(im, "%s.Statement: must be an object or an array, is %s", path, jtype_name(st));
    size_t nst = json_is_array(st) ? json_array_size(st) : 1;
    bool admin_policy = aws_admin_policy(policy_arn);
    for (size_t si = 0; si < nst; si++) {
        json_t *s = json_is_array(st) ? json_array_get(st, si) : st;
        char sp[384];
        if (json_is_array(st))
            snprintf(sp, sizeof sp, "%s.Statement[%zu]", path, si);
        else
            snprintf(sp, sizeof sp, "%s.Statement", path);
        if (!json_is_object(s))
            return bad(im, "%s: must be an object, is %s", sp, jtype_name(s));
        const char *eff = json_string_value(json_object_get(s, "Effect"));
        bool allow;
        if (eff && strcasecmp(eff, "Allow") == 0)
            allow = true;
        else if (eff && strcasecmp(eff, "Deny") == 0)
            allow = false;
        else
            return bad(im, "%s.Effect: must be \"Allow\" or \"Deny\", is %s%s%s", sp, eff ? "'" : "",
                       eff ? eff : jtype_name(json_object_get(s, "Effect")), eff ? "'" : "");
        json_t *act = json_object_get(s, "Action"), *nact = json_object_get(s, "NotAction");
        json_t *res = json_object_get(s, "Resource"), *nres = json_object_get(s, "NotResource");
        if (!act && !nact)
            return bad(im, "%s: has neither Action nor NotAction", sp);
        bool not_action = !act;
        bool not_resource = !res && nres;
        json_t *acts = act ? act : nact, *ress = res ? res : nres;
        char ap[400], rp[400];
        snprintf(ap, sizeof ap, "%s.%s", sp, act ? "Action" : "NotAction");
        snprintf(rp, sizeof rp, "%s.%s", sp, res ? "Resource" : "NotResource");
        size_t na, nr;
        if ((rc = str_or_list(im, acts, ap, &na)) || (rc = str_or_list(im, ress, rp, &nr)))
            return rc;
        json_t *cond = json_object_get(s, "Condition");
        bool conditional = cond && !json_is_null(cond) && !(json_is_object(cond) && json_object_size(cond) == 0);
        /* Allow NotAction on "*": admin when a self-granting IAM write is left */
        bool notaction_admin = false;
        if (not_action && allow) {
            for (size_t e = 0; e < sizeof aws_escalation / sizeof aws_escalation[0] && !notaction_admin; e++) {
                bool excluded = false;
                for (size_t i = 0; i < na && !excluded; i++)
                    excluded = nw_action_match(str_at(acts, i), nw_str_c(aws_escalation[e]));
                notaction_admin = !excluded;
            }
        }
        const char *effect = allow ? (mode == 1 ? "boundary" : "allow") : "deny";
        for (size_t i = 0; i < na; i++) {
            const char *a = str_at(acts, i);
            for (size_t j = 0; j < (nr ? nr : 1); j++) {
                const char *r = nr ? str_at(ress, j) : "*";
                bool star_res = strcmp(r, "*") == 0 && !not_resource;
                bool admin = false;
                if (allow && mode == 0) {
                    if (admin_policy)
                        admin = true;
                    else if (star_res && !conditional) {
                        if (!not_action)
                            admin = strcmp(a, "*") == 0 || strcmp(a, "*:*") == 0 || strcasecmp(a, "iam:*") == 0;
                        else
                            admin = notaction_admin;
                    }
                }
                nw_inv_grant g = {.identity_key = key,
                                  .effect = effect,
                                  .action = a,
                                  .not_action = not_action,
                                  .resource = r,
                                  .not_resource = not_resource,
                                  .via = via,
                                  .conditional = conditional,
                                  .admin = admin};
                if ((rc = put_grant(im, &g)))
                    return rc;
            }
        }
    }
    return 0;
}

struct aws_ctx {
    json_t *keep;     /* parsed documents (owned) */
    nw_map *policies; /* ARN -> json_t * default version document (not yet parsed) */
    nw_map *groups;   /* "<account>/<name>" -> json_t * group */
};

/* An attached managed policy: its default version, or an "unknown" row
 * when the export does not include it. */
static int aws_managed(imp *im, struct aws_ctx *ax, const char *key, json_t *att, const char *via_prefix, int mode,
                       const char *path)
{
    int rc;
    const char *arn = NULL;
    if (!json_is_object(att))
        return bad(im, "%s: must be an object, is %s", path, jtype_name(att));
    if ((rc = need_str(im, att, mode == 1 ? "PermissionsBoundaryArn" : "PolicyArn", path, &arn)))
        return rc;
    const char *via = cat(im, via_prefix, mode == 1 ? "boundary:" : "managed:", arn, NULL);
    if (!via)
        return nomem(im);
    json_t *docv = nw_map_get(ax->policies, nw_str_c(arn));
    if (!docv) {
        nw_inv_grant g = {.identity_key = key,
                          .effect = "unknown",
                          .action = "",
                          .resource = "",
                          .via = via,
                          .admin = mode == 0 && aws_admin_policy(arn)};
        return put_grant(im, &g);
    }
    json_t *doc;
    char dp[400];
    snprintf(dp, sizeof dp, "Policies[%s].Document", arn);
    if ((rc = policy_doc(im, ax->keep, docv, dp, &doc)))
        return rc;
    return aws_emit_doc(im, key, doc, via, arn, mode, dp);
}

/* AttachedManagedPolicies: a list, or (AWS's own CLI example) one object. */
static int aws_attached(imp *im, struct aws_ctx *ax, const char *key, json_t *o, const char *via_prefix,
                        const char *path)
{
    int rc;
    json_t *amp = json_object_get(o, "AttachedManagedPolicies");
    char p[400];
    if (!amp || json_is_null(amp))
        return 0;
    if (json_is_object(amp)) {
        snprintf(p, sizeof p, "%s.AttachedManagedPolicies", path);
        return aws_managed(im, ax, key, amp, via_prefix, 0, p);
    }
    if (!json_is_array(amp))
        return bad(im, "%s.AttachedManagedPolicies: must be an array, is %s", path, jtype_name(amp));
    for (size_t i = 0; i < json_array_size(amp); i++) {
        snprintf(p, sizeof p, "%s.AttachedManagedPolicies[%zu]", path, i);
        if ((rc = aws_managed(im, ax, key, json_array_get(amp, i), via_prefix, 0, p)))
            return rc;
    }
    return 0;
}

static int aws_inline(imp *im, struct aws_ctx *ax, const char *key, json_t *o, const char *list,
                      const char *via_prefix, const char *path)
{
    int rc;
    json_t *l = json_object_get(o, list);
    if (!l || json_is_null(l))
        return 0;
    if (json_is_object(l)) { /* one policy instead of a list */
        if (!(l = json_pack("[O]", l)) || json_array_append_new(ax->keep, l))
            return nomem(im);
    }
    if (!json_is_array(l))
        return bad(im, "%s.%s: must be an array, is %s", path, list, jtype_name(l));
    for (size_t i = 0; i < json_array_size(l); i++) {
        json_t *p = json_array_get(l, i);
        char pp[400];
        snprintf(pp, sizeof pp, "%s.%s[%zu]", path, list, i);
        if (!json_is_object(p))
            return bad(im, "%s: must be an object, is %s", pp, jtype_name(p));
        const char *name;
        if ((rc = need_str(im, p, "PolicyName", pp, &name)))
            return rc;
        json_t *doc;
        char dp[420];
        snprintf(dp, sizeof dp, "%s.PolicyDocument", pp);
        json_t *dv = json_object_get(p, "PolicyDocument");
        if (!dv)
            return bad(im, "%s: missing", dp);
        if ((rc = policy_doc(im, ax->keep, dv, dp, &doc)))
            return rc;
        const char *via = cat(im, via_prefix, "inline:", name, NULL);
        if (!via)
            return nomem(im);
        if ((rc = aws_emit_doc(im, key, doc, via, NULL, 0, dp)))
            return rc;
    }
    return 0;
}

static int aws_boundary(imp *im, struct aws_ctx *ax, const char *key, json_t *o, const char *path)
{
    json_t *b = json_object_get(o, "PermissionsBoundary");
    if (!b || json_is_null(b) || (json_is_object(b) && json_object_size(b) == 0))
        return 0;
    char p[400];
    snprintf(p, sizeof p, "%s.PermissionsBoundary", path);
    return aws_managed(im, ax, key, b, "", 1, p);
}

/* Tags [{Key, Value}] -> {"Key": "Value"} as compact JSON in the arena. */
static const char *aws_tags(imp *im, json_t *o)
{
    json_t *t = json_object_get(o, "Tags");
    if (!json_is_array(t) || json_array_size(t) == 0)
        return NULL;
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    for (size_t i = 0; i < json_array_size(t); i++) {
        json_t *e = json_array_get(t, i);
        const char *k = json_string_value(json_object_get(e, "Key"));
        const char *v = json_string_value(json_object_get(e, "Value"));
        if (k)
            json_object_set_new(obj, k, json_string(v ? v : ""));
    }
    char *s = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(obj);
    if (!s)
        return NULL;
    const char *r = sdup(im, s, strlen(s));
    free(s);
    return r;
}

/* Trust policy principals of a role: ["Service:ec2.amazonaws.com", ...]. */
static const char *aws_trust(imp *im, struct aws_ctx *ax, json_t *role, const char *path)
{
    json_t *dv = json_object_get(role, "AssumeRolePolicyDocument");
    json_t *doc = NULL;
    char dp[400];
    snprintf(dp, sizeof dp, "%s.AssumeRolePolicyDocument", path);
    if (!dv)
        return NULL;
    nw_err saved = *im->err;
    if (policy_doc(im, ax->keep, dv, dp, &doc)) {
        *im->err = saved; /* the trust is an attribute: a bad one does not refuse the file */
        return NULL;
    }
    json_t *st = json_object_get(doc, "Statement");
    json_t *out = json_array();
    if (!out)
        return NULL;
    size_t nst = json_is_array(st) ? json_array_size(st) : (json_is_object(st) ? 1 : 0);
    for (size_t i = 0; i < nst; i++) {
        json_t *s = json_is_array(st) ? json_array_get(st, i) : st;
        const char *eff = json_string_value(json_object_get(s, "Effect"));
        if (!eff || strcasecmp(eff, "Allow") != 0)
            continue;
        json_t *pr = json_object_get(s, "Principal");
        if (json_is_string(pr)) {
            json_array_append_new(out, json_string(json_string_value(pr)));
            continue;
        }
        const char *k;
        json_t *v;
        json_object_foreach(pr, k, v)
        {
            size_t n = json_is_array(v) ? json_array_size(v) : 1;
            for (size_t j = 0; j < n; j++) {
                const char *p = json_is_array(v) ? json_string_value(json_array_get(v, j)) : json_string_value(v);
                if (!p)
                    continue;
                char buf[1024];
                snprintf(buf, sizeof buf, "%s:%s", k, p);
                json_array_append_new(out, json_string(buf));
            }
        }
    }
    const char *r = NULL;
    if (json_array_size(out)) {
        char *s = json_dumps(out, JSON_COMPACT);
        if (s) {
            r = sdup(im, s, strlen(s));
            free(s);
        }
    }
    json_decref(out);
    return r;
}

static int aws_auth_details(imp *im, json_t *root)
{
    int rc = 0;
    struct aws_ctx ax = {json_array(), nw_map_new(256), nw_map_new(64)};
    if (!ax.keep || !ax.policies || !ax.groups) {
        rc = nomem(im);
        goto out_free;
    }
    static const char *const lists[] = {"UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"};
    for (size_t i = 0; i < 4; i++) {
        json_t *l = json_object_get(root, lists[i]);
        if (l && !json_is_array(l)) {
            rc = bad(im, "%s: must be an array, is %s", lists[i], jtype_name(l));
            goto out_free;
        }
    }
    /* managed policies: the default version's document */
    json_t *pl = json_object_get(root, "Policies");
    for (size_t i = 0; i < json_array_size(pl); i++) {
        json_t *p = json_array_get(pl, i);
        char path[64];
        snprintf(path, sizeof path, "Policies[%zu]", i);
        const char *arn;
        if (!json_is_object(p)) {
            rc = bad(im, "%s: must be an object, is %s", path, jtype_name(p));
            goto out_free;
        }
        if ((rc = need_str(im, p, "Arn", path, &arn)))
            goto out_free;
        json_t *vl = json_object_get(p, "PolicyVersionList");
        json_t *doc = NULL;
        for (size_t j = 0; j < json_array_size(vl); j++) {
            json_t *v = json_array_get(vl, j);
            if (json_is_true(json_object_get(v, "IsDefaultVersion")))
                doc = json_object_get(v, "Document");
        }
        if (!doc) {
            im->skipped++; /* no default version: nothing to evaluate */
            continue;
        }
        void **slot = nw_map_put(ax.policies, nw_str_c(arn), NULL, NULL);
        if (!slot) {
            rc = nomem(im);
            goto out_free;
        }
        *slot = doc;
    }
    /* groups by account and name (GroupList holds names) */
    json_t *gl = json_object_get(root, "GroupDetailList");
    for (size_t i = 0; i < json_array_size(gl); i++) {
        json_t *g = json_array_get(gl, i);
        char path[64];
        snprintf(path, sizeof path, "GroupDetailList[%zu]", i);
        const char *name, *arn;
        if (!json_is_object(g)) {
            rc = bad(im, "%s: must be an object, is %s", path, jtype_name(g));
            goto out_free;
        }
        if ((rc = need_str(im, g, "GroupName", path, &name)) || (rc = need_str(im, g, "Arn", path, &arn)))
            goto out_free;
        const char *acct = arn_account(im, arn);
        const char *gk = cat(im, acct ? acct : "", "/", name, NULL);
        void **slot = gk ? nw_map_put(ax.groups, nw_str_c(gk), NULL, NULL) : NULL;
        if (!slot) {
            rc = nomem(im);
            goto out_free;
        }
        *slot = g;
    }
    /* users */
    json_t *ul = json_object_get(root, "UserDetailList");
    for (size_t i = 0; i < json_array_size(ul); i++) {
        json_t *u = json_array_get(ul, i);
        char path[64];
        snprintf(path, sizeof path, "UserDetailList[%zu]", i);
        if (!json_is_object(u)) {
            rc = bad(im, "%s: must be an object, is %s", path, jtype_name(u));
            goto out_free;
        }
        const char *arn;
        if ((rc = need_str(im, u, "Arn", path, &arn)))
            goto out_free;
        irow r = {.key = arn, .provider = "aws", .type = "iam_user", .rank = RANK_LISTING, .console = -1, .mfa = -1};
        r.display = jstr(u, "UserName");
        r.account = arn_account(im, arn);
        r.object_id = jstr(u, "UserId");
        r.tags = aws_tags(im, u);
        if ((rc = jtime(im, u, "CreateDate", path, &r.created)) || (rc = put_identity(im, &r)))
            goto out_free;
        if ((rc = aws_inline(im, &ax, arn, u, "UserPolicyList", "", path)) ||
            (rc = aws_attached(im, &ax, arn, u, "", path)) || (rc = aws_boundary(im, &ax, arn, u, path)))
            goto out_free;
        json_t *groups = json_object_get(u, "GroupList");
        if (groups && !json_is_array(groups)) {
            rc = bad(im, "%s.GroupList: must be an array of group names, is %s", path, jtype_name(groups));
            goto out_free;
        }
        for (size_t j = 0; j < json_array_size(groups); j++) {
            const char *gname = json_string_value(json_array_get(groups, j));
            if (!gname) {
                rc = bad(im, "%s.GroupList[%zu]: must be a group name, is %s", path, j,
                         jtype_name(json_array_get(groups, j)));
                goto out_free;
            }
            const char *prefix = cat(im, "group:", gname, "/", NULL);
            const char *gk = cat(im, r.account ? r.account : "", "/", gname, NULL);
            if (!prefix || !gk) {
                rc = nomem(im);
                goto out_free;
            }
            json_t *g = nw_map_get(ax.groups, nw_str_c(gk));
            char gp[400];
            snprintf(gp, sizeof gp, "GroupDetailList[%s]", gname);
            if (!g) {
                /* group not in the export (filtered): say so rather than drop it */
                nw_inv_grant ug = {.identity_key = arn, .effect = "unknown", .action = "", .resource = "",
                                   .via = cat(im, "group:", gname, NULL)};
                if ((rc = put_grant(im, &ug)))
                    goto out_free;
                continue;
            }
            if ((rc = aws_inline(im, &ax, arn, g, "GroupPolicyList", prefix, gp)) ||
                (rc = aws_attached(im, &ax, arn, g, prefix, gp)))
                goto out_free;
        }
    }
    /* roles */
    json_t *rl = json_object_get(root, "RoleDetailList");
    for (size_t i = 0; i < json_array_size(rl); i++) {
        json_t *ro = json_array_get(rl, i);
        char path[64];
        snprintf(path, sizeof path, "RoleDetailList[%zu]", i);
        if (!json_is_object(ro)) {
            rc = bad(im, "%s: must be an object, is %s", path, jtype_name(ro));
            goto out_free;
        }
        const char *arn;
        if ((rc = need_str(im, ro, "Arn", path, &arn)))
            goto out_free;
        irow r = {.key = arn, .provider = "aws", .type = "iam_role", .rank = RANK_LISTING, .console = -1, .mfa = -1};
        r.display = jstr(ro, "RoleName");
        r.account = arn_account(im, arn);
        r.object_id = jstr(ro, "RoleId");
        r.tags = aws_tags(im, ro);
        r.trust = aws_trust(im, &ax, ro, path);
        json_t *lu = json_object_get(ro, "RoleLastUsed");
        char lp[96];
        snprintf(lp, sizeof lp, "%s.RoleLastUsed", path);
        if ((rc = jtime(im, ro, "CreateDate", path, &r.created)) ||
            (json_is_object(lu) && (rc = jtime(im, lu, "LastUsedDate", lp, &r.last_used))) ||
            (rc = put_identity(im, &r)))
            goto out_free;
        if ((rc = aws_inline(im, &ax, arn, ro, "RolePolicyList", "", path)) ||
            (rc = aws_attached(im, &ax, arn, ro, "", path)) || (rc = aws_boundary(im, &ax, arn, ro, path)))
            goto out_free;
    }
out_free:
    json_decref(ax.keep);
    nw_map_free(ax.policies);
    nw_map_free(ax.groups);
    return rc;
}

/* ---------------------------------------------------------------- */
/* AWS credential report (CSV)                                      */
/* ---------------------------------------------------------------- */

#define CSV_MAX_FIELDS 64

/* One CSV record (RFC 4180: quotes, "" escapes, CRLF or LF). Fields are
 * NUL-terminated in place in buf (which it modifies). Returns the number
 * of fields, 0 at the end, -1 for an unterminated quote. *line counts
 * physical lines. */
static int csv_record(char **cur, char *end, char **f, int maxf, int64_t *line, int *overflow)
{
    char *p = *cur;
    *overflow = 0;
    if (p >= end)
        return 0;
    int n = 0;
    for (;;) {
        char *w = p, *start = p;
        if (p < end && *p == '"') {
            p++;
            for (;;) {
                if (p >= end)
                    return -1;
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (*p == '\n')
                    (*line)++;
                *w++ = *p++;
            }
            /* anything up to the separator after a closing quote is kept */
            while (p < end && *p != ',' && *p != '\n' && *p != '\r')
                *w++ = *p++;
        } else {
            while (p < end && *p != ',' && *p != '\n' && *p != '\r')
                w++, p++;
        }
        char sep = p < end ? *p : '\n';
        if (n < maxf)
            f[n] = start;
        else
            *overflow = 1;
        n++;
        /* terminate: w <= p, and p points at the separator (or end) */
        if (p < end)
            p++;
        *w = '\0';
        if (sep == ',')
            continue;
        if (sep == '\r' && p < end && *p == '\n')
            p++;
        (*line)++;
        break;
    }
    *cur = p;
    return n;
}

enum { CR_USER, CR_ARN, CR_CREATED, CR_PW_ENABLED, CR_PW_USED, CR_MFA, CR_REQUIRED };
static const char *const cr_required[CR_REQUIRED] = {"user",          "arn",
                                                     "user_creation_time", "password_enabled",
                                                     "password_last_used", "mfa_active"};
static const char *const cr_key_cols[] = {"active", "last_rotated", "last_used_date", "last_used_region",
                                          "last_used_service"};

static int csv_col(char **hdr, int nh, const char *name)
{
    for (int i = 0; i < nh && i < CSV_MAX_FIELDS; i++)
        if (strcasecmp(hdr[i], name) == 0)
            return i;
    return -1;
}

static int tri(const char *v)
{
    if (strcasecmp(v, "true") == 0)
        return 1;
    if (strcasecmp(v, "false") == 0)
        return 0;
    return -1;
}

static const char *na_null(const char *v) { return !*v || strcmp(v, "N/A") == 0 ? NULL : v; }

/* err->line is the CSV line (of the decoded Content for the JSON form). */
static int aws_cred_report(imp *im, char *buf, size_t len, bool decoded)
{
    int rc = 0;
    char *cur = buf + nw_utf8_bom_len(buf, len), *end = buf + len;
    char *hdr[CSV_MAX_FIELDS], *f[CSV_MAX_FIELDS];
    int64_t line = 1, rec_line;
    int ovf;
    const char *of = decoded ? "in the base64 Content: " : "";
    int nh = csv_record(&cur, end, hdr, CSV_MAX_FIELDS, &line, &ovf);
    if (nh <= 0 || ovf) {
        im->err->line = 1;
        return bad(im, "%snot a credential report header", of);
    }
    int col[CR_REQUIRED], keycol[2][5], certcol[2][2];
    for (int i = 0; i < CR_REQUIRED; i++)
        if ((col[i] = csv_col(hdr, nh, cr_required[i])) < 0) {
            im->err->line = 1;
            return bad(im, "%sthe credential report header has no column '%s'", of, cr_required[i]);
        }
    for (int k = 0; k < 2; k++) {
        for (int c = 0; c < 5; c++) {
            char name[48];
            snprintf(name, sizeof name, "access_key_%d_%s", k + 1, cr_key_cols[c]);
            if ((keycol[k][c] = csv_col(hdr, nh, name)) < 0) {
                im->err->line = 1;
                return bad(im, "%sthe credential report header has no column '%s'", of, name);
            }
        }
        char a[32], r[32];
        snprintf(a, sizeof a, "cert_%d_active", k + 1);
        snprintf(r, sizeof r, "cert_%d_last_rotated", k + 1);
        certcol[k][0] = csv_col(hdr, nh, a); /* optional: older reports lack them */
        certcol[k][1] = csv_col(hdr, nh, r);
    }
    for (;;) {
        rec_line = line;
        int n = csv_record(&cur, end, f, CSV_MAX_FIELDS, &line, &ovf);
        if (n == 0)
            break;
        im->err->line = rec_line;
        if (n < 0)
            return bad(im, "%sa quoted field is not closed", of);
        if (n == 1 && f[0][0] == '\0')
            continue; /* blank line */
        if (n != nh || ovf)
            return bad(im, "%s%d fields, the header has %d", of, n, nh);
        const char *user = f[col[CR_USER]], *arn = f[col[CR_ARN]];
        if (!*arn || strncmp(arn, "arn:", 4) != 0)
            return bad(im, "%sarn '%s' is not an ARN", of, arn);
        bool root = strcmp(user, "<root_account>") == 0;
        irow r = {.key = arn, .provider = "aws", .type = root ? "root" : "iam_user", .rank = RANK_REPORT};
        r.display = root ? "root" : user;
        r.account = arn_account(im, arn);
        r.console = tri(f[col[CR_PW_ENABLED]]);
        r.mfa = tri(f[col[CR_MFA]]);
        char where[96];
        snprintf(where, sizeof where, "%suser_creation_time", of);
        if ((rc = time_val(im, f[col[CR_CREATED]], where, &r.created)))
            return rc;
        snprintf(where, sizeof where, "%spassword_last_used", of);
        if ((rc = time_val(im, f[col[CR_PW_USED]], where, &r.last_used)))
            return rc;
        for (int k = 0; k < 2; k++) {
            nw_inv_cred c = {.identity_key = arn, .kind = "aws_long_term"};
            int64_t rot, used;
            snprintf(where, sizeof where, "%saccess_key_%d_last_rotated", of, k + 1);
            if ((rc = time_val(im, f[keycol[k][1]], where, &rot)))
                return rc;
            snprintf(where, sizeof where, "%saccess_key_%d_last_used_date", of, k + 1);
            if ((rc = time_val(im, f[keycol[k][2]], where, &used)))
                return rc;
            c.active = tri(f[keycol[k][0]]) == 1;
            if (!c.active && !rot)
                continue; /* no key in this slot */
            c.cred_id = k == 0 ? "access_key_1" : "access_key_2";
            c.created = c.rotated = rot;
            c.last_used = used;
            c.last_used_region = na_null(f[keycol[k][3]]);
            c.last_used_service = na_null(f[keycol[k][4]]);
            if (used > r.last_used)
                r.last_used = used;
            if ((rc = put_cred(im, &c)))
                return rc;
        }
        for (int k = 0; k < 2; k++) {
            if (certcol[k][0] < 0 || certcol[k][1] < 0)
                continue;
            int64_t rot;
            snprintf(where, sizeof where, "%scert_%d_last_rotated", of, k + 1);
            if ((rc = time_val(im, f[certcol[k][1]], where, &rot)))
                return rc;
            bool active = tri(f[certcol[k][0]]) == 1;
            if (!active && !rot)
                continue;
            nw_inv_cred c = {.identity_key = arn, .kind = "other", .cred_id = k == 0 ? "cert_1" : "cert_2",
                             .active = active, .created = rot, .rotated = rot};
            if ((rc = put_cred(im, &c)))
                return rc;
        }
        if ((rc = put_identity(im, &r)))
            return rc;
    }
    im->err->line = 0;
    return 0;
}

/* get-credential-report JSON: {"Content": base64 CSV, "ReportFormat": "text/csv"} */
static int aws_cred_report_json(imp *im, json_t *root)
{
    const char *fmt = jstr(root, "ReportFormat");
    if (fmt && strcasecmp(fmt, "text/csv") != 0)
        return bad(im, "ReportFormat: '%s' is not text/csv", fmt);
    const char *content;
    int rc;
    if ((rc = need_str(im, root, "Content", "", &content)))
        return rc;
    size_t n;
    long at;
    char *csv = b64_decode(content, &n, &at);
    if (!csv)
        return at < 0 ? nomem(im) : bad(im, "Content: not base64 (character %ld)", at + 1);
    rc = aws_cred_report(im, csv, n, true);
    free(csv);
    return rc;
}

/* ---------------------------------------------------------------- */
/* AWS list-access-keys                                             */
/* ---------------------------------------------------------------- */

static int load_aws_users(imp *im)
{
    if (im->aws_users_loaded)
        return 0;
    im->aws_users_loaded = true;
    if (!(im->aws_users = nw_map_new(256)))
        return nomem(im);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(im->db, SQL_INV_AWS_USERS, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return fail_sql(im, rc, "reading known users");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *arn = (const char *)sqlite3_column_text(s, 0);
        const char *slash = arn ? strrchr(arn, '/') : NULL;
        if (!slash || !strstr(arn, ":user/"))
            continue;
        int created;
        void **slot = nw_map_put(im->aws_users, nw_str_c(slash + 1), &created, NULL);
        if (!slot) {
            sqlite3_finalize(s);
            return nomem(im);
        }
        if (created)
            *slot = (void *)sdup(im, arn, strlen(arn));
        else if (*slot && strcmp(*slot, arn) != 0)
            *slot = (void *)""; /* the same name in two accounts: ambiguous */
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : fail_sql(im, rc, "reading known users");
}

static int aws_access_keys(imp *im, json_t *root)
{
    int rc;
    json_t *l = json_object_get(root, "AccessKeyMetadata");
    if (!json_is_array(l))
        return bad(im, "AccessKeyMetadata: must be an array, is %s", jtype_name(l));
    if ((rc = load_aws_users(im)))
        return rc;
    for (size_t i = 0; i < json_array_size(l); i++) {
        json_t *k = json_array_get(l, i);
        char path[64];
        snprintf(path, sizeof path, "AccessKeyMetadata[%zu]", i);
        if (!json_is_object(k))
            return bad(im, "%s: must be an object, is %s", path, jtype_name(k));
        const char *user, *id;
        if ((rc = need_str(im, k, "UserName", path, &user)) || (rc = need_str(im, k, "AccessKeyId", path, &id)))
            return rc;
        const char *arn = nw_map_get(im->aws_users, nw_str_c(user));
        bool known_user = arn && *arn;
        const char *key = known_user ? arn : cat(im, "arn:aws:iam::*:user/", user, NULL);
        if (!key)
            return nomem(im);
        const char *status = jstr(k, "Status");
        nw_inv_cred c = {.identity_key = key, .cred_id = id, .kind = "aws_long_term"};
        c.active = status && strcasecmp(status, "Active") == 0;
        if ((rc = jtime(im, k, "CreateDate", path, &c.created)))
            return rc;
        c.kind = strncmp(id, "ASIA", 4) == 0 ? "aws_temporary" : "aws_long_term";
        if ((rc = put_cred(im, &c)))
            return rc;
        if (known_user) {
            irow r = {.key = key, .provider = "aws", .type = "iam_user", .rank = RANK_MENTION, .console = -1,
                      .mfa = -1, .display = user, .account = arn_account(im, key)};
            if ((rc = put_identity(im, &r)))
                return rc;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* GCP                                                              */
/* ---------------------------------------------------------------- */

/* `<label>.iam.gserviceaccount.com` domains that belong to Google (service
 * agents), as ingest/gcp.c classifies principals. */
static const char *const gcp_agent_labels[] = {
    "compute-system",          "container-engine-robot", "gcf-admin-robot",
    "serverless-robot-prod",   "gs-project-accounts",    "cloud-ml.google.com",
    "dataflow-service-producer-prod", "cloudcomposer-accounts", "containerregistry",
    "dataproc-accounts",       "genomics-api.google.com", "firebase-rules",
    "sourcerepo-service-accounts", "cloud-filer",        "cloud-redis",
    "cloud-tpu",               "gae-api-prod.google.com", "cloudbuild",
};

static bool all_digits(const char *s, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* service_account or service_agent (docs/log-formats.md 2.3) */
static const char *gcp_sa_type(const char *email)
{
    const char *at = strrchr(email, '@');
    if (!at)
        return "service_account";
    const char *dom = at + 1;
    size_t ln = (size_t)(at - email);
    if (strcasecmp(dom, "developer.gserviceaccount.com") == 0 || strcasecmp(dom, "appspot.gserviceaccount.com") == 0)
        return "service_account";
    const char *suf = ".iam.gserviceaccount.com";
    size_t dn = strlen(dom), sn = strlen(suf);
    if (dn > sn && strcasecmp(dom + dn - sn, suf) == 0) {
        size_t lab = dn - sn;
        if (lab >= 7 && strncasecmp(dom, "gcp-sa-", 7) == 0)
            return "service_agent";
        for (size_t i = 0; i < sizeof gcp_agent_labels / sizeof gcp_agent_labels[0]; i++)
            if (strlen(gcp_agent_labels[i]) == lab && strncasecmp(dom, gcp_agent_labels[i], lab) == 0)
                return "service_agent";
        if (ln > 8 && strncmp(email, "service-", 8) == 0) {
            const char *r = email + 8;
            size_t rn = ln - 8;
            if (rn > 4 && strncmp(r, "org-", 4) == 0)
                r += 4, rn -= 4;
            else if (rn > 7 && strncmp(r, "folder-", 7) == 0)
                r += 7, rn -= 7;
            if (all_digits(r, rn))
                return "service_agent";
        }
        return "service_account";
    }
    if (dn >= 19 && strcasecmp(dom + dn - 19, "gserviceaccount.com") == 0)
        return "service_agent"; /* cloudservices, cloudbuild, system ... */
    return "service_account";
}

/* Roles that are admin-class: they can change IAM or act as any service
 * account (docs/entitlements.md "Admin"). */
static const char *const gcp_admin_roles[] = {
    "roles/owner",
    "roles/editor",
    "roles/iam.securityAdmin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/resourcemanager.folderIamAdmin",
    "roles/resourcemanager.organizationAdmin",
    "roles/iam.serviceAccountTokenCreator",
    "roles/iam.serviceAccountKeyAdmin",
};

static bool gcp_admin(const char *role)
{
    for (size_t i = 0; i < sizeof gcp_admin_roles / sizeof gcp_admin_roles[0]; i++)
        if (strcmp(role, gcp_admin_roles[i]) == 0)
            return true;
    return false;
}

/* A binding member -> identity row. Returns 1 when the member is of a
 * kind we do not know (the caller counts it as skipped). */
static int gcp_member(imp *im, const char *m, irow *r)
{
    memset(r, 0, sizeof *r);
    r->provider = "gcp";
    r->rank = RANK_MENTION;
    r->console = r->mfa = -1;
    const char *body = m;
    if (strncmp(m, "deleted:", 8) == 0) {
        r->disabled = 1;
        body = m + 8;
        const char *q = strstr(body, "?uid=");
        if (q) {
            r->object_id = q + 5;
            body = sdup(im, body, (size_t)(q - body));
            if (!body)
                return nomem(im);
        }
    }
    if (strncmp(body, "serviceAccount:", 15) == 0) {
        const char *email = body + 15;
        if (!*email)
            return 1;
        r->key = lower(im, email);
        if (!r->key)
            return nomem(im);
        if (strstr(r->key, ".svc.id.goog[")) {
            r->type = "workload_identity"; /* GKE workload identity (legacy member form) */
        } else {
            r->type = gcp_sa_type(r->key);
            const char *at = strrchr(r->key, '@');
            const char *dot = at ? strstr(at, ".iam.gserviceaccount.com") : NULL;
            if (dot && strcmp(r->type, "service_account") == 0) /* the project of a user-managed SA */
                r->account = sdup(im, at + 1, (size_t)(dot - at - 1));
        }
        return 0;
    }
    if (strncmp(body, "user:", 5) == 0) {
        if (!body[5])
            return 1;
        r->key = lower(im, body + 5);
        r->type = "user";
        return r->key ? 0 : nomem(im);
    }
    if (strncmp(body, "group:", 6) == 0 || strncmp(body, "domain:", 7) == 0) {
        r->key = lower(im, body);
        r->type = body[0] == 'g' ? "group" : "domain";
        return r->key ? 0 : nomem(im);
    }
    if (r->disabled)
        return 1;
    if (strcmp(m, "allUsers") == 0 || strcmp(m, "allAuthenticatedUsers") == 0) {
        r->key = m;
        r->type = "public";
        return 0;
    }
    if (strncmp(m, "principal://", 12) == 0) {
        r->key = m; /* federation subjects are case-sensitive */
        r->type = strstr(m, "/workforcePools/") ? "user" : "workload_identity";
        return 0;
    }
    if (strncmp(m, "principalSet://", 15) == 0) {
        r->key = m;
        r->type = "principal_set";
        return 0;
    }
    if (strncmp(m, "projectOwner:", 13) == 0 || strncmp(m, "projectEditor:", 14) == 0 ||
        strncmp(m, "projectViewer:", 14) == 0) {
        r->key = m;
        r->type = "project_role";
        return 0;
    }
    return 1;
}

static int gcp_policy_one(imp *im, json_t *pol, const char *resource, const char *path)
{
    int rc;
    if (!json_is_object(pol))
        return bad(im, "%s: must be an object, is %s", path, jtype_name(pol));
    json_t *bl = json_object_get(pol, "bindings");
    if (bl && !json_is_array(bl))
        return bad(im, "%s.bindings: must be an array, is %s", path, jtype_name(bl));
    for (size_t i = 0; i < json_array_size(bl); i++) {
        json_t *b = json_array_get(bl, i);
        char bp[400];
        snprintf(bp, sizeof bp, "%s%sbindings[%zu]", path, *path ? "." : "", i);
        if (!json_is_object(b))
            return bad(im, "%s: must be an object, is %s", bp, jtype_name(b));
        const char *role;
        if ((rc = need_str(im, b, "role", bp, &role)))
            return rc;
        json_t *members = json_object_get(b, "members");
        if (members && !json_is_array(members))
            return bad(im, "%s.members: must be an array, is %s", bp, jtype_name(members));
        json_t *cond = json_object_get(b, "condition");
        bool conditional = cond && !json_is_null(cond);
        const char *via = cat(im, "binding:", role, "@", resource, NULL);
        if (!via)
            return nomem(im);
        for (size_t j = 0; j < json_array_size(members); j++) {
            const char *m = json_string_value(json_array_get(members, j));
            if (!m)
                return bad(im, "%s.members[%zu]: must be a string, is %s", bp, j,
                           jtype_name(json_array_get(members, j)));
            irow r;
            int k = gcp_member(im, m, &r);
            if (k < 0)
                return k;
            if (k == 1) {
                im->skipped++; /* no type prefix, or a kind we do not know */
                continue;
            }
            if ((rc = put_identity(im, &r)))
                return rc;
            nw_inv_grant g = {.identity_key = r.key,
                              .effect = "allow",
                              .action = role,
                              .resource = resource,
                              .via = via,
                              .conditional = conditional,
                              .admin = gcp_admin(role)};
            if ((rc = put_grant(im, &g)))
                return rc;
        }
    }
    return 0;
}

/* A plain policy, {resource, policy} (asset search), or an array of those. */
static int gcp_iam_policy(imp *im, json_t *root)
{
    const char *scope = im->opts && im->opts->gcp_scope && *im->opts->gcp_scope ? im->opts->gcp_scope : NULL;
    if (json_is_array(root)) {
        for (size_t i = 0; i < json_array_size(root); i++) {
            json_t *e = json_array_get(root, i);
            char path[64];
            snprintf(path, sizeof path, "[%zu]", i);
            if (!json_is_object(e))
                return bad(im, "%s: must be an object, is %s", path, jtype_name(e));
            const char *res = jstr(e, "resource");
            json_t *pol = json_object_get(e, "policy");
            int rc = gcp_policy_one(im, pol ? pol : e, res ? res : scope ? scope : "unknown", path);
            if (rc)
                return rc;
        }
        return 0;
    }
    json_t *pol = json_object_get(root, "policy");
    const char *res = jstr(root, "resource");
    if (pol && json_is_object(pol))
        return gcp_policy_one(im, pol, res ? res : scope ? scope : "unknown", "policy");
    return gcp_policy_one(im, root, scope ? scope : res ? res : "unknown", "");
}

static json_t *items_of(json_t *root, const char *k)
{
    if (json_is_array(root))
        return root;
    json_t *v = json_object_get(root, k);
    return json_is_array(v) ? v : NULL;
}

/* The elements of a list export: the root array, root[k], or the root
 * object alone (then *single owns a one-element array). NULL: no memory. */
static json_t *list_or_single(json_t *root, const char *k, json_t **single)
{
    *single = NULL;
    json_t *l = items_of(root, k);
    if (l)
        return l;
    return *single = json_pack("[O]", root);
}

/* "projects/P/serviceAccounts/SA/keys/ID" -> SA, ID */
static int gcp_keys_of(imp *im, json_t *l, const char *lname)
{
    int rc;
    sqlite3_stmt *bo = im->s[I_BY_OBJECT];
    for (size_t i = 0; i < json_array_size(l); i++) {
        json_t *k = json_array_get(l, i);
        char path[64];
        snprintf(path, sizeof path, "%s[%zu]", lname, i);
        if (!json_is_object(k))
            return bad(im, "%s: must be an object, is %s", path, jtype_name(k));
        const char *name;
        if ((rc = need_str(im, k, "name", path, &name)))
            return rc;
        const char *type = jstr(k, "keyType");
        if (type && strcmp(type, "SYSTEM_MANAGED") == 0) {
            im->skipped++; /* Google-rotated, not an exportable secret */
            continue;
        }
        const char *sa = strstr(name, "serviceAccounts/"), *kp = strstr(name, "/keys/");
        if (!sa || !kp || kp < sa + 16 || !kp[6])
            return bad(im, "%s.name: '%s' is not projects/P/serviceAccounts/SA/keys/ID", path, name);
        const char *email = sdup(im, sa + 16, (size_t)(kp - sa - 16));
        if (!email)
            return nomem(im);
        const char *key = lower(im, email);
        if (!strchr(key, '@')) {
            /* the SA by its unique id: use the email an SA list gave it */
            bind_text(bo, 1, key);
            bind_text(bo, 2, "gcp");
            if (sqlite3_step(bo) == SQLITE_ROW)
                key = sdup(im, (const char *)sqlite3_column_text(bo, 0),
                           (size_t)sqlite3_column_bytes(bo, 0));
            sqlite3_reset(bo);
            sqlite3_clear_bindings(bo);
            if (!key)
                return nomem(im);
        }
        nw_inv_cred c = {.identity_key = key, .cred_id = kp + 6, .kind = "gcp_sa_key"};
        c.active = !json_is_true(json_object_get(k, "disabled"));
        if ((rc = jtime(im, k, "validAfterTime", path, &c.created)) ||
            (rc = jtime(im, k, "validBeforeTime", path, &c.expires)))
            return rc;
        if (c.expires >= never_expires())
            c.expires = 0;
        if ((rc = put_cred(im, &c)))
            return rc;
        irow r = {.key = key, .provider = "gcp", .type = gcp_sa_type(key), .rank = RANK_MENTION, .console = -1,
                  .mfa = -1};
        if ((rc = put_identity(im, &r)))
            return rc;
    }
    return 0;
}

static int gcp_keys(imp *im, json_t *root)
{
    json_t *single;
    json_t *l = list_or_single(root, "keys", &single);
    if (!l)
        return nomem(im);
    int rc = gcp_keys_of(im, l, json_is_array(root) || single ? "" : "keys");
    json_decref(single);
    return rc;
}

static int gcp_sa_list_of(imp *im, json_t *l, const char *lname)
{
    int rc;
    for (size_t i = 0; i < json_array_size(l); i++) {
        json_t *a = json_array_get(l, i);
        char path[64];
        snprintf(path, sizeof path, "%s[%zu]", lname, i);
        if (!json_is_object(a))
            return bad(im, "%s: must be an object, is %s", path, jtype_name(a));
        const char *email;
        if ((rc = need_str(im, a, "email", path, &email)))
            return rc;
        irow r = {.provider = "gcp", .rank = RANK_LISTING, .console = -1, .mfa = -1};
        r.key = lower(im, email);
        if (!r.key)
            return nomem(im);
        r.type = gcp_sa_type(r.key);
        r.display = jstr(a, "displayName");
        r.account = jstr(a, "projectId");
        r.object_id = jstr(a, "uniqueId");
        r.disabled = json_is_true(json_object_get(a, "disabled"));
        if ((rc = jtime(im, a, "createTime", path, &r.created)) || (rc = put_identity(im, &r)))
            return rc;
    }
    return 0;
}

static int gcp_sa_list(imp *im, json_t *root)
{
    json_t *single;
    json_t *l = list_or_single(root, "accounts", &single);
    if (!l)
        return nomem(im);
    int rc = gcp_sa_list_of(im, l, json_is_array(root) || single ? "" : "accounts");
    json_decref(single);
    return rc;
}

/* gcloud iam roles describe (one) / list ({"roles": [...]} or an array) */
static int gcp_roles(imp *im, json_t *root)
{
    int rc;
    json_t *l = json_object_get(root, "includedPermissions") ? NULL : items_of(root, "roles");
    size_t n = l ? json_array_size(l) : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *ro = l ? json_array_get(l, i) : root;
        char path[64];
        snprintf(path, sizeof path, l ? "roles[%zu]" : "(role)", i);
        if (!json_is_object(ro))
            return bad(im, "%s: must be an object, is %s", path, jtype_name(ro));
        const char *name;
        if ((rc = need_str(im, ro, "name", path, &name)))
            return rc;
        json_t *perms = json_object_get(ro, "includedPermissions");
        if (perms && !json_is_array(perms))
            return bad(im, "%s.includedPermissions: must be an array, is %s", path, jtype_name(perms));
        for (size_t j = 0; j < json_array_size(perms); j++) {
            const char *p = json_string_value(json_array_get(perms, j));
            if (!p)
                return bad(im, "%s.includedPermissions[%zu]: must be a string", path, j);
            if ((rc = put_role_perm(im, "gcp", name, NULL, p, false, false)))
                return rc;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- */
/* Azure                                                            */
/* ---------------------------------------------------------------- */

struct az_builtin {
    const char *id, *name;
    bool admin;
};
static const struct az_builtin az_builtins[] = {
    {"8e3af657-a8ff-443c-a75c-2fe8c4bcb635", "Owner", true},
    {"b24988ac-6180-42a0-ab88-20f7382dd24c", "Contributor", true},
    {"acdd72a7-3385-48ef-bd42-f606fba81ae7", "Reader", false},
    {"18d7d88d-d35e-4fb5-a5c3-7773c20a72d9", "User Access Administrator", true},
    {"f58310d9-a9f6-439a-9e8d-f62e7b41a168", "Role Based Access Control Administrator", true},
};

/* Tenants that own Microsoft's first-party applications: their SPs live in
 * every tenant, so they say nothing about which tenant a list is from. */
static const char *const az_first_party[] = {
    "f8cdef31-a31e-4b4a-93e4-5f571e91255a",
    "72f988bf-86f1-41af-91ab-2d7cd011db47",
};

static const char *last_segment(const char *s)
{
    const char *p = s ? strrchr(s, '/') : NULL;
    return p ? p + 1 : s;
}

/* The fields of an Azure element, CLI shape (top level) or REST shape
 * ("properties"). */
static json_t *az_field(json_t *e, const char *k)
{
    json_t *v = json_object_get(e, k);
    if (v && !json_is_null(v))
        return v;
    json_t *p = json_object_get(e, "properties");
    return json_is_object(p) ? json_object_get(p, k) : NULL;
}

static const char *az_str(json_t *e, const char *k)
{
    const char *s = json_string_value(az_field(e, k));
    return s && *s ? s : NULL;
}

static int load_az_logs(imp *im)
{
    if (im->az_logs_loaded)
        return 0;
    im->az_logs_loaded = true;
    if (!(im->az_logs = nw_map_new(256)))
        return nomem(im);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(im->db, SQL_INV_AZURE_LOG_KEYS, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return fail_sql(im, rc, "reading Azure identities");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(s, 0);
        const char *oid = last_segment(k);
        if (!oid || !*oid || strncmp(k, "azure:*/", 8) == 0)
            continue;
        void **slot = nw_map_put(im->az_logs, nw_str_c(oid), NULL, NULL);
        if (!slot) {
            sqlite3_finalize(s);
            return nomem(im);
        }
        if (!*slot)
            *slot = (void *)sdup(im, k, strlen(k));
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : fail_sql(im, rc, "reading Azure identities");
}

/* azure:<tenant>/<oid>: the tenant from opts, else from an identity with
 * the same object id (earlier imports, then the logs), else azure:*\/<oid>. */
static int az_key(imp *im, const char *tenant, const char *oid_in, const char **out)
{
    const char *oid = lower(im, oid_in);
    if (!oid)
        return nomem(im);
    if (im->opts && im->opts->azure_tenant && *im->opts->azure_tenant)
        tenant = im->opts->azure_tenant;
    if (tenant) {
        const char *t = lower(im, tenant);
        *out = t ? cat(im, "azure:", t, "/", oid, NULL) : NULL;
        return *out ? 0 : nomem(im);
    }
    sqlite3_stmt *s = im->s[I_BY_OBJECT];
    sqlite3_bind_text(s, 1, oid, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, "azure", -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *out = NULL;
    if (rc == SQLITE_ROW)
        *out = sdup(im, (const char *)sqlite3_column_text(s, 0), (size_t)sqlite3_column_bytes(s, 0));
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return fail_sql(im, rc, "resolving an Azure object id");
    if (*out)
        return 0;
    if ((rc = load_az_logs(im)))
        return rc;
    const char *k = nw_map_get(im->az_logs, nw_str_c(oid));
    *out = k ? k : cat(im, "azure:*/", oid, NULL);
    return *out ? 0 : nomem(im);
}

static const char *az_principal_type(const char *pt)
{
    if (!pt)
        return "unknown";
    if (strcasecmp(pt, "ServicePrincipal") == 0)
        return "service_principal";
    if (strcasecmp(pt, "User") == 0)
        return "user";
    if (strcasecmp(pt, "Group") == 0 || strcasecmp(pt, "ForeignGroup") == 0)
        return "group";
    return "unknown";
}

static int az_role_assignments(imp *im, json_t *root)
{
    int rc;
    json_t *single;
    json_t *l = list_or_single(root, "value", &single);
    if (!l)
        return nomem(im);
    rc = 0;
    for (size_t i = 0; i < json_array_size(l) && !rc; i++) {
        json_t *e = json_array_get(l, i);
        char path[64];
        snprintf(path, sizeof path, "%s[%zu]", single || json_is_array(root) ? "" : "value", i);
        if (!json_is_object(e)) {
            rc = bad(im, "%s: must be an object, is %s", path, jtype_name(e));
            break;
        }
        const char *pid = az_str(e, "principalId"), *rid = az_str(e, "roleDefinitionId");
        const char *rname = az_str(e, "roleDefinitionName"), *scope = az_str(e, "scope");
        if (!pid) {
            rc = bad(im, "%s.principalId: must be a non-empty string, is %s", path,
                     jtype_name(az_field(e, "principalId")));
            break;
        }
        if (!scope) {
            rc = bad(im, "%s.scope: must be a non-empty string, is %s", path, jtype_name(az_field(e, "scope")));
            break;
        }
        if (!rid && !rname) {
            rc = bad(im, "%s: has neither roleDefinitionId nor roleDefinitionName", path);
            break;
        }
        const char *guid = rid ? lower(im, last_segment(rid)) : NULL;
        bool admin = false;
        const char *role = rname;
        for (size_t b = 0; b < sizeof az_builtins / sizeof az_builtins[0]; b++) {
            if ((guid && strcmp(guid, az_builtins[b].id) == 0) || (rname && strcmp(rname, az_builtins[b].name) == 0)) {
                admin = az_builtins[b].admin;
                if (!role)
                    role = az_builtins[b].name;
            }
        }
        if (!role && guid) {
            /* a role definition imported earlier names it */
            sqlite3_stmt *s = im->s[I_ROLE_NAME];
            sqlite3_bind_text(s, 1, guid, -1, SQLITE_STATIC);
            sqlite3_bind_text(s, 2, "azure", -1, SQLITE_STATIC);
            if (sqlite3_step(s) == SQLITE_ROW)
                role = sdup(im, (const char *)sqlite3_column_text(s, 0), (size_t)sqlite3_column_bytes(s, 0));
            sqlite3_reset(s);
            sqlite3_clear_bindings(s);
        }
        if (!role)
            role = guid;
        const char *key;
        if ((rc = az_key(im, NULL, pid, &key)))
            break;
        const char *cond = az_str(e, "condition");
        irow r = {.key = key, .provider = "azure", .rank = RANK_MENTION, .console = -1, .mfa = -1};
        r.type = az_principal_type(az_str(e, "principalType"));
        r.object_id = lower(im, pid);
        r.display = az_str(e, "principalName");
        if (strncmp(key, "azure:*/", 8) != 0) {
            const char *t = key + 6, *sl = strrchr(key, '/');
            r.tenant = sdup(im, t, (size_t)(sl - t));
        }
        nw_inv_grant g = {.identity_key = key,
                          .effect = "allow",
                          .action = role,
                          .resource = scope,
                          .via = cat(im, "role:", role, "@", scope, NULL),
                          .conditional = cond != NULL,
                          .admin = admin};
        if (!g.via || !r.object_id) {
            rc = nomem(im);
            break;
        }
        if ((rc = put_identity(im, &r)) || (rc = put_grant(im, &g)))
            break;
    }
    json_decref(single);
    return rc;
}

static int az_perm_list(imp *im, json_t *perm, const char *k, const char *role, const char *rid, bool not_perm,
                        bool data, const char *path)
{
    json_t *l = jget_i(perm, k);
    if (!l || json_is_null(l))
        return 0;
    if (!json_is_array(l))
        return bad(im, "%s.%s: must be an array, is %s", path, k, jtype_name(l));
    for (size_t i = 0; i < json_array_size(l); i++) {
        const char *p = json_string_value(json_array_get(l, i));
        if (!p)
            return bad(im, "%s.%s[%zu]: must be a string", path, k, i);
        int rc = put_role_perm(im, "azure", role, rid, p, not_perm, data);
        if (rc)
            return rc;
    }
    return 0;
}

static int az_role_definitions(imp *im, json_t *root)
{
    int rc;
    json_t *single;
    json_t *l = list_or_single(root, "value", &single);
    if (!l)
        return nomem(im);
    rc = 0;
    for (size_t i = 0; i < json_array_size(l) && !rc; i++) {
        json_t *e = json_array_get(l, i);
        char path[64];
        snprintf(path, sizeof path, "%s[%zu]", single || json_is_array(root) ? "" : "value", i);
        if (!json_is_object(e)) {
            rc = bad(im, "%s: must be an object, is %s", path, jtype_name(e));
            break;
        }
        const char *role = az_str(e, "roleName");
        if (!role) {
            rc = bad(im, "%s.roleName: must be a non-empty string, is %s", path, jtype_name(az_field(e, "roleName")));
            break;
        }
        const char *id = jstr(e, "name");
        if (!id)
            id = last_segment(jstr(e, "id"));
        const char *rid = id ? lower(im, id) : NULL;
        json_t *perms = az_field(e, "permissions");
        if (perms && !json_is_array(perms)) {
            rc = bad(im, "%s.permissions: must be an array, is %s", path, jtype_name(perms));
            break;
        }
        for (size_t j = 0; j < json_array_size(perms) && !rc; j++) {
            json_t *p = json_array_get(perms, j);
            char pp[128];
            snprintf(pp, sizeof pp, "%s.permissions[%zu]", path, j);
            if (!json_is_object(p)) {
                rc = bad(im, "%s: must be an object, is %s", pp, jtype_name(p));
                break;
            }
            if ((rc = az_perm_list(im, p, "actions", role, rid, false, false, pp)) ||
                (rc = az_perm_list(im, p, "notActions", role, rid, true, false, pp)) ||
                (rc = az_perm_list(im, p, "dataActions", role, rid, false, true, pp)) ||
                (rc = az_perm_list(im, p, "notDataActions", role, rid, true, true, pp)))
                break;
        }
    }
    json_decref(single);
    return rc;
}

/* passwordCredentials / keyCredentials -> credential rows */
static int az_creds(imp *im, json_t *e, const char *key, const char *path)
{
    static const struct {
        const char *list, *kind;
    } lists[] = {{"passwordCredentials", "azure_secret"}, {"keyCredentials", "azure_cert"}};
    int rc;
    for (size_t li = 0; li < 2; li++) {
        json_t *l = json_object_get(e, lists[li].list);
        if (!l || json_is_null(l))
            continue;
        if (!json_is_array(l))
            return bad(im, "%s.%s: must be an array, is %s", path, lists[li].list, jtype_name(l));
        for (size_t i = 0; i < json_array_size(l); i++) {
            json_t *c = json_array_get(l, i);
            char cp[400];
            snprintf(cp, sizeof cp, "%s.%s[%zu]", path, lists[li].list, i);
            if (!json_is_object(c))
                return bad(im, "%s: must be an object, is %s", cp, jtype_name(c));
            const char *kid = jstr(c, "keyId");
            if (!kid) {
                im->skipped++; /* cannot be told apart from the others */
                continue;
            }
            nw_inv_cred cr = {.identity_key = key, .cred_id = lower(im, kid), .kind = lists[li].kind, .active = true};
            if (!cr.cred_id)
                return nomem(im);
            const char *sk = json_object_get(c, "startDateTime") ? "startDateTime" : "startDate";
            const char *ek = json_object_get(c, "endDateTime") ? "endDateTime" : "endDate";
            if ((rc = jtime(im, c, sk, cp, &cr.created)) || (rc = jtime(im, c, ek, cp, &cr.expires)))
                return rc;
            if ((rc = put_cred(im, &cr)))
                return rc;
        }
    }
    return 0;
}

static bool az_is_mi(json_t *e)
{
    const char *t = jstr(e, "servicePrincipalType");
    if (t && strcasecmp(t, "ManagedIdentity") == 0)
        return true;
    json_t *alt = json_object_get(e, "alternativeNames");
    for (size_t i = 0; i < json_array_size(alt); i++) {
        const char *a = json_string_value(json_array_get(alt, i));
        if (a && strncasecmp(a, "isExplicit=", 11) == 0)
            return true;
    }
    return false;
}

static const char *az_object_id(json_t *e)
{
    const char *id = jstr(e, "id");
    return id ? id : jstr(e, "objectId");
}

static const char *az_owner_tenant(json_t *e)
{
    const char *o = jstr(e, "appOwnerOrganizationId");
    return o ? o : jstr(e, "appOwnerTenantId");
}

static int az_sp_list(imp *im, json_t *root)
{
    int rc;
    json_t *single;
    json_t *l = list_or_single(root, "value", &single);
    if (!l)
        return nomem(im);
    /* the listing's tenant: the one owner of its own (non first-party)
     * Application SPs, when there is exactly one */
    const char *tenant = NULL;
    bool ambiguous = false;
    for (size_t i = 0; i < json_array_size(l); i++) {
        json_t *e = json_array_get(l, i);
        const char *t = jstr(e, "servicePrincipalType"), *o = az_owner_tenant(e);
        if (!o || !t || strcasecmp(t, "Application") != 0)
            continue;
        bool fp = false;
        for (size_t j = 0; j < sizeof az_first_party / sizeof az_first_party[0]; j++)
            fp = fp || strcasecmp(o, az_first_party[j]) == 0;
        if (fp)
            continue;
        if (!tenant)
            tenant = o;
        else if (strcasecmp(tenant, o) != 0)
            ambiguous = true;
    }
    if (ambiguous)
        tenant = NULL;
    rc = 0;
    for (size_t i = 0; i < json_array_size(l) && !rc; i++) {
        json_t *e = json_array_get(l, i);
        char path[64];
        snprintf(path, sizeof path, "%s[%zu]", single || json_is_array(root) ? "" : "value", i);
        if (!json_is_object(e)) {
            im->skipped++;
            continue;
        }
        const char *oid = az_object_id(e);
        if (!oid) {
            rc = bad(im, "%s: has neither id nor objectId", path);
            break;
        }
        irow r = {.provider = "azure", .rank = RANK_LISTING, .console = -1, .mfa = -1};
        if ((rc = az_key(im, tenant, oid, &r.key)))
            break;
        r.type = az_is_mi(e) ? "managed_identity" : "service_principal";
        r.display = jstr(e, "displayName");
        r.app_id = lower(im, jstr(e, "appId"));
        r.object_id = lower(im, oid);
        r.disabled = json_is_false(json_object_get(e, "accountEnabled"));
        if (strncmp(r.key, "azure:*/", 8) != 0) {
            const char *t = r.key + 6, *sl = strrchr(r.key, '/');
            r.tenant = sdup(im, t, (size_t)(sl - t));
        }
        if ((rc = jtime(im, e, "createdDateTime", path, &r.created)) || (rc = put_identity(im, &r)) ||
            (rc = az_creds(im, e, r.key, path)))
            break;
    }
    json_decref(single);
    return rc;
}

static int az_app_list(imp *im, json_t *root)
{
    int rc;
    json_t *single;
    json_t *l = list_or_single(root, "value", &single);
    if (!l)
        return nomem(im);
    rc = 0;
    for (size_t i = 0; i < json_array_size(l) && !rc; i++) {
        json_t *e = json_array_get(l, i);
        char path[64];
        snprintf(path, sizeof path, "%s[%zu]", single || json_is_array(root) ? "" : "value", i);
        if (!json_is_object(e)) {
            im->skipped++;
            continue;
        }
        const char *app;
        if ((rc = need_str(im, e, "appId", path, &app)))
            break;
        irow r = {.provider = "azure", .type = "application", .rank = RANK_LISTING, .console = -1, .mfa = -1};
        r.app_id = lower(im, app);
        r.key = r.app_id ? cat(im, "azure:app/", r.app_id, NULL) : NULL;
        if (!r.key) {
            rc = nomem(im);
            break;
        }
        r.display = jstr(e, "displayName");
        r.object_id = lower(im, az_object_id(e));
        if (im->opts && im->opts->azure_tenant && *im->opts->azure_tenant)
            r.tenant = lower(im, im->opts->azure_tenant);
        if ((rc = jtime(im, e, "createdDateTime", path, &r.created)) || (rc = put_identity(im, &r)) ||
            (rc = az_creds(im, e, r.key, path)))
            break;
    }
    json_decref(single);
    return rc;
}

/* ---------------------------------------------------------------- */
/* format detection                                                 */
/* ---------------------------------------------------------------- */

static bool has(const json_t *o, const char *k) { return json_object_get(o, k) != NULL; }

static bool str_has(const json_t *o, const char *k, const char *needle)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && strstr(s, needle);
}

/* The format of one list element (also a lone object). */
static int elem_format(json_t *e)
{
    if (!json_is_object(e))
        return NW_INV_UNKNOWN;
    json_t *p = json_object_get(e, "properties");
    if (json_is_object(p)) {
        if (has(p, "principalId") && (has(p, "roleDefinitionId") || has(p, "roleDefinitionName")))
            return NW_INV_AZURE_ROLE_ASSIGNMENTS;
        if (has(p, "roleName") && has(p, "permissions"))
            return NW_INV_AZURE_ROLE_DEFINITIONS;
    }
    if (has(e, "principalId") && (has(e, "roleDefinitionId") || has(e, "roleDefinitionName")))
        return NW_INV_AZURE_ROLE_ASSIGNMENTS;
    if (has(e, "roleName") && has(e, "permissions"))
        return NW_INV_AZURE_ROLE_DEFINITIONS;
    const char *ot = jstr(e, "objectType"), *odt = jstr(e, "@odata.type");
    if (has(e, "servicePrincipalType") || has(e, "servicePrincipalNames") || (ot && !strcmp(ot, "ServicePrincipal")) ||
        (odt && strstr(odt, "servicePrincipal")))
        return NW_INV_AZURE_SP_LIST;
    if (has(e, "appId") && ((ot && !strcmp(ot, "Application")) || (odt && strstr(odt, "application")) ||
                            has(e, "identifierUris") || has(e, "requiredResourceAccess")))
        return NW_INV_AZURE_APP_LIST;
    if (str_has(e, "name", "/keys/") && (has(e, "keyType") || has(e, "validAfterTime")))
        return NW_INV_GCP_SA_KEYS;
    if (has(e, "email") && (has(e, "uniqueId") || str_has(e, "name", "/serviceAccounts/")))
        return NW_INV_GCP_SA_LIST;
    if (has(e, "includedPermissions"))
        return NW_INV_GCP_ROLES;
    if (json_is_object(json_object_get(e, "policy")) && has(e, "resource"))
        return NW_INV_GCP_IAM_POLICY;
    if (json_is_array(json_object_get(e, "bindings")))
        return NW_INV_GCP_IAM_POLICY;
    return NW_INV_UNKNOWN;
}

static int root_format(json_t *root)
{
    if (json_is_array(root)) {
        if (json_array_size(root) == 0)
            return NW_INV_EMPTY;
        for (size_t i = 0; i < json_array_size(root); i++) {
            json_t *e = json_array_get(root, i);
            if (json_is_object(e))
                return elem_format(e);
        }
        return NW_INV_UNKNOWN;
    }
    if (!json_is_object(root))
        return NW_INV_UNKNOWN;
    if (has(root, "UserDetailList") || has(root, "RoleDetailList") || has(root, "GroupDetailList") ||
        (json_is_array(json_object_get(root, "Policies")) && has(root, "IsTruncated")))
        return NW_INV_AWS_AUTH_DETAILS;
    if (json_is_string(json_object_get(root, "Content")) && (has(root, "ReportFormat") || has(root, "GeneratedTime")))
        return NW_INV_AWS_CRED_REPORT;
    if (has(root, "AccessKeyMetadata"))
        return NW_INV_AWS_ACCESS_KEYS;
    if (json_is_array(json_object_get(root, "bindings")))
        return NW_INV_GCP_IAM_POLICY;
    if (json_is_object(json_object_get(root, "policy")) && has(root, "resource"))
        return NW_INV_GCP_IAM_POLICY;
    json_t *k = json_object_get(root, "keys");
    if (json_is_array(k)) {
        json_t *e = json_array_get(k, 0);
        if (!e || elem_format(e) == NW_INV_GCP_SA_KEYS)
            return NW_INV_GCP_SA_KEYS;
    }
    json_t *a = json_object_get(root, "accounts");
    if (json_is_array(a)) {
        json_t *e = json_array_get(a, 0);
        if (!e || elem_format(e) == NW_INV_GCP_SA_LIST)
            return NW_INV_GCP_SA_LIST;
    }
    if (has(root, "includedPermissions"))
        return NW_INV_GCP_ROLES;
    json_t *ro = json_object_get(root, "roles");
    if (json_is_array(ro) && (json_array_size(ro) == 0 || has(json_array_get(ro, 0), "includedPermissions") ||
                              str_has(json_array_get(ro, 0), "name", "roles/")))
        return NW_INV_GCP_ROLES;
    json_t *v = json_object_get(root, "value");
    if (json_is_array(v))
        return json_array_size(v) == 0 ? NW_INV_EMPTY : elem_format(json_array_get(v, 0));
    /* an empty GCP policy is {"etag": ..., "version": 1} */
    if (has(root, "etag") && json_object_size(root) <= 3 &&
        (json_object_size(root) == 1 || has(root, "version") || has(root, "auditConfigs")))
        return NW_INV_GCP_IAM_POLICY;
    return elem_format(root);
}

/* "a JSON object with keys a, b, c" for the unknown-format message */
static void describe(json_t *root, char *buf, size_t cap)
{
    json_t *o = root;
    const char *what = "a JSON object";
    if (json_is_array(root)) {
        o = NULL;
        for (size_t i = 0; i < json_array_size(root) && !o; i++)
            if (json_is_object(json_array_get(root, i)))
                o = json_array_get(root, i);
        what = o ? "a JSON array whose first object has" : "a JSON array of non-objects";
    } else if (!json_is_object(root)) {
        snprintf(buf, cap, "a JSON value that is %s", jtype_name(root));
        return;
    }
    size_t n = (size_t)snprintf(buf, cap, "%s", what);
    if (!o)
        return;
    if (o == root && n < cap)
        n += (size_t)snprintf(buf + n, cap - n, " with");
    if (n < cap)
        n += (size_t)snprintf(buf + n, cap - n, " keys");
    const char *k;
    json_t *v;
    int i = 0;
    json_object_foreach(o, k, v)
    {
        if (n >= cap)
            break;
        if (i == 8) {
            snprintf(buf + n, cap - n, ", ...");
            break;
        }
        n += (size_t)snprintf(buf + n, cap - n, "%s %s", i ? "," : "", k);
        i++;
    }
    if (i == 0 && n < cap)
        snprintf(buf + n, cap - n, " (none)");
}

/* CSV credential report: a first line with user and arn columns */
static bool looks_like_report(const char *buf, size_t len)
{
    size_t i = nw_utf8_bom_len(buf, len);
    size_t e = i;
    while (e < len && buf[e] != '\n' && buf[e] != '\r')
        e++;
    bool user = false, arn = false;
    for (size_t s = i; s <= e;) {
        size_t t = s;
        while (t < e && buf[t] != ',')
            t++;
        size_t n = t - s;
        if (n == 4 && strncasecmp(buf + s, "user", 4) == 0)
            user = true;
        if (n == 3 && strncasecmp(buf + s, "arn", 3) == 0)
            arn = true;
        s = t + 1;
    }
    return user && arn;
}

/* ---------------------------------------------------------------- */
/* import                                                           */
/* ---------------------------------------------------------------- */

static int read_file(const char *path, char **out, size_t *len, nw_err *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return nw_err_set(err, NW_INV_E_OPEN, "cannot open: %s", strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return nw_err_set(err, NW_INV_E_OPEN, "not a regular file");
    }
    if (sb.st_size > NW_INV_MAX_FILE) {
        fclose(f);
        return nw_err_set(err, NW_INV_E_OPEN, "%lld bytes, over the %lld byte limit for an export",
                          (long long)sb.st_size, (long long)NW_INV_MAX_FILE);
    }
    size_t n = (size_t)sb.st_size;
    char *buf = malloc(n + 1);
    if (!buf) {
        fclose(f);
        return nw_err_set(err, NW_INV_E_NOMEM, "out of memory");
    }
    size_t got = fread(buf, 1, n, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || got != n) {
        free(buf);
        return nw_err_set(err, NW_INV_E_OPEN, "read %zu of %zu bytes: %s", got, n, rerr ? strerror(errno) : "short read");
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int dispatch(imp *im, int fmt, json_t *root)
{
    switch (fmt) {
    case NW_INV_AWS_AUTH_DETAILS:
        return aws_auth_details(im, root);
    case NW_INV_AWS_CRED_REPORT:
        return aws_cred_report_json(im, root);
    case NW_INV_AWS_ACCESS_KEYS:
        return aws_access_keys(im, root);
    case NW_INV_GCP_IAM_POLICY:
        return gcp_iam_policy(im, root);
    case NW_INV_GCP_SA_KEYS:
        return gcp_keys(im, root);
    case NW_INV_GCP_SA_LIST:
        return gcp_sa_list(im, root);
    case NW_INV_GCP_ROLES:
        return gcp_roles(im, root);
    case NW_INV_AZURE_ROLE_ASSIGNMENTS:
        return az_role_assignments(im, root);
    case NW_INV_AZURE_ROLE_DEFINITIONS:
        return az_role_definitions(im, root);
    case NW_INV_AZURE_SP_LIST:
        return az_sp_list(im, root);
    case NW_INV_AZURE_APP_LIST:
        return az_app_list(im, root);
    case NW_INV_EMPTY:
        return 0;
    }
    return bad(im, "internal: no importer for format %d", fmt);
}

/* Import buf[0..len) (NUL-terminated at len; the CSV reader writes into it) as the file `source`. */
static int import_text(nw_store *st, const char *source, char *buf, size_t len, const nw_import_opts *opts,
                       nw_import_result *res, nw_err *err)
{
    nw_import_result r = {0};
    imp im = {.db = nw_store_db(st), .opts = opts, .err = err};
    json_t *root = NULL;
    bool own_tx = false, in_tx = false;
    int rc = 0;
    im.source = source;
    if (!(im.ar = nw_arena_new(64 * 1024))) {
        rc = nomem(&im);
        goto out_free;
    }

    /* detect */
    size_t i = nw_utf8_bom_len(buf, len);
    while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
        i++;
    int fmt;
    bool csv = false;
    if (i < len && (buf[i] == '{' || buf[i] == '[')) {
        json_error_t jerr;
        root = json_loadb(buf + i, len - i, 0, &jerr);
        if (!root) {
            /* jansson counts lines from the start of what it was given */
            int64_t skipped_lines = 0;
            for (size_t j = 0; j < i; j++)
                skipped_lines += buf[j] == '\n';
            err->line = jerr.line > 0 ? jerr.line + skipped_lines : 0;
            err->offset = jerr.position >= 0 ? jerr.position + (int64_t)i : -1;
            rc = nw_err_set(err, NW_INV_E_PARSE, "column %d: %s (not valid JSON)", jerr.column, jerr.text);
            goto out_free;
        }
        fmt = root_format(root);
        if (fmt == NW_INV_UNKNOWN) {
            char what[256];
            describe(root, what, sizeof what);
            rc = nw_err_set(err, NW_INV_E_FORMAT,
                            "not an entitlement or inventory export nhiwatch knows (found %s); see "
                            "docs/entitlements.md for the accepted formats",
                            what);
            goto out_free;
        }
    } else if (looks_like_report(buf, len)) {
        fmt = NW_INV_AWS_CRED_REPORT;
        csv = true;
    } else {
        rc = nw_err_set(err, NW_INV_E_FORMAT,
                        i >= len ? "empty file: nothing to recognise the format by"
                                 : "neither JSON nor an IAM credential report CSV (a first line with user and arn "
                                   "columns); see docs/entitlements.md for the accepted formats");
        goto out_free;
    }
    r.format = fmt;

    /* one transaction: inside the caller's if there is one */
    for (int s = 0; s < I_COUNT; s++) {
        int prc = sqlite3_prepare_v2(im.db, imp_sql[s], -1, &im.s[s], NULL);
        if (prc != SQLITE_OK) {
            rc = fail_sql(&im, prc, "preparing the import");
            goto out_free;
        }
    }
    own_tx = sqlite3_get_autocommit(im.db) != 0;
    int trc = sqlite3_exec(im.db, own_tx ? "BEGIN IMMEDIATE" : "SAVEPOINT nw_inventory_import", NULL, NULL, NULL);
    if (trc != SQLITE_OK) {
        rc = fail_sql(&im, trc, "starting the import transaction");
        goto out_free;
    }
    in_tx = true;
    for (int s = I_DEL_IDENT; s <= I_DEL_ROLE; s++) {
        sqlite3_bind_text(im.s[s], 1, im.source, -1, SQLITE_STATIC);
        if ((rc = step(&im, im.s[s], "removing the rows of the earlier import")))
            goto out_rollback;
    }
    rc = csv ? aws_cred_report(&im, buf + i, len - i, false) : dispatch(&im, fmt, root);
    if (rc)
        goto out_rollback;
    sqlite3_stmt *c = im.s[I_COUNT_ROWS];
    sqlite3_bind_text(c, 1, im.source, -1, SQLITE_STATIC);
    int crc = sqlite3_step(c);
    if (crc == SQLITE_ROW) {
        r.identities = sqlite3_column_int64(c, 0);
        r.credentials = sqlite3_column_int64(c, 1);
        r.grants = sqlite3_column_int64(c, 2);
        if (fmt == NW_INV_AZURE_ROLE_DEFINITIONS || fmt == NW_INV_GCP_ROLES)
            r.grants = sqlite3_column_int64(c, 3);
    }
    sqlite3_reset(c);
    if (crc != SQLITE_ROW) {
        rc = fail_sql(&im, crc, "counting the imported rows");
        goto out_rollback;
    }
    r.skipped = im.skipped;
    trc = sqlite3_exec(im.db, own_tx ? "COMMIT" : "RELEASE nw_inventory_import", NULL, NULL, NULL);
    if (trc != SQLITE_OK) {
        rc = fail_sql(&im, trc, "committing the import");
        goto out_rollback;
    }
    in_tx = false;
    if (res)
        *res = r;
    goto out_free;
out_rollback:
    if (in_tx) {
        if (own_tx)
            sqlite3_exec(im.db, "ROLLBACK", NULL, NULL, NULL);
        else
            sqlite3_exec(im.db, "ROLLBACK TO nw_inventory_import; RELEASE nw_inventory_import", NULL, NULL, NULL);
    }
out_free:
    if (rc && res) {
        memset(res, 0, sizeof *res);
        res->format = r.format;
    }
    for (int s = 0; s < I_COUNT; s++)
        sqlite3_finalize(im.s[s]);
    json_decref(root);
    nw_map_free(im.az_logs);
    nw_map_free(im.aws_users);
    nw_arena_free(im.ar);
    return rc;
}

static void import_err_init(nw_err *err, const char *source)
{
    snprintf(err->source, sizeof err->source, "%s", source);
    err->line = 0;
    err->record = 0;
    err->offset = -1;
}

int nw_inventory_import(nw_store *st, const char *path, const nw_import_opts *opts, nw_import_result *res,
                        nw_err *err)
{
    nw_err local;
    if (!err) {
        nw_err_clear(&local);
        err = &local;
    }
    import_err_init(err, path);
    char *buf = NULL;
    size_t len = 0;
    int rc = read_file(path, &buf, &len, err);
    if (rc) {
        if (res)
            memset(res, 0, sizeof *res);
        return rc;
    }
    char *real = realpath(path, NULL);
    rc = import_text(st, real ? real : path, buf, len, opts, res, err);
    free(buf);
    free(real);
    return rc;
}

int nw_inventory_import_buffer(nw_store *st, const char *name, const char *buf, size_t len,
                               const nw_import_opts *opts, nw_import_result *res, nw_err *err)
{
    nw_err local;
    if (!err) {
        nw_err_clear(&local);
        err = &local;
    }
    import_err_init(err, name);
    if (res)
        memset(res, 0, sizeof *res);
    if (len > (size_t)NW_INV_MAX_FILE)
        return nw_err_set(err, NW_INV_E_OPEN, "%zu bytes, over the %lld byte limit for an export", len,
                          (long long)NW_INV_MAX_FILE);
    /* the CSV reader relies on the NUL that read_file puts after the text */
    char *copy = malloc(len + 1);
    if (!copy)
        return nw_err_set(err, NW_INV_E_NOMEM, "out of memory");
    if (len)
        memcpy(copy, buf, len);
    copy[len] = '\0';
    int rc = import_text(st, name, copy, len, opts, res, err);
    free(copy);
    return rc;
}

/* ---------------------------------------------------------------- */
/* reading                                                          */
/* ---------------------------------------------------------------- */

static int rd_fail(sqlite3 *db, nw_err *err, int rc, const char *what)
{
    return nw_err_set(err, NW_INV_E_STORE, "%s: %s", what, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
}

static const char *col(sqlite3_stmt *s, int i) { return (const char *)sqlite3_column_text(s, i); }

static bool is_guid(const char *s)
{
    if (strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : hexval((unsigned char)s[i]) < 0)
            return false;
    }
    return true;
}

/* The placeholder a key's rows may also be stored under: azure:*\/<oid>
 * for azure:<tenant>/<oid> and for azure:<oid> (the logs' key when a record
 * has a caller but no claims), arn:aws:iam::*:user/<name> for a user ARN.
 * buf receives it; returns NULL when there is none. */
static const char *alt_key(const char *key, char *buf, size_t cap)
{
    const char *sl = strrchr(key, '/');
    if (strncmp(key, "azure:", 6) == 0 && !sl && is_guid(key + 6)) {
        snprintf(buf, cap, "azure:*/%s", key + 6);
        return buf;
    }
    if (strncmp(key, "azure:", 6) == 0 && strncmp(key, "azure:*/", 8) != 0 && strncmp(key, "azure:app/", 10) != 0 &&
        sl && sl[1]) {
        snprintf(buf, cap, "azure:*/%s", sl + 1);
        return buf;
    }
    if (strncmp(key, "arn:", 4) == 0 && strstr(key, ":user/") && !strstr(key, "::*:") && sl && sl[1]) {
        snprintf(buf, cap, "arn:aws:iam::*:user/%s", sl + 1);
        return buf;
    }
    return NULL;
}

struct cred_buf {
    nw_inv_cred *v;
    size_t n, cap;
    nw_arena *ar;
};

static const char *adup(nw_arena *ar, const char *s)
{
    if (!s)
        return NULL;
    nw_str d = nw_arena_dup(ar, nw_str_c(s));
    return d.p ? d.p : "";
}

/* The prepared statements of the credential reader, reused by each_identity. */
struct cred_rd {
    sqlite3 *db;
    sqlite3_stmt *app, *creds;
};

static int cred_rd_open(struct cred_rd *r, sqlite3 *db, nw_err *err)
{
    r->db = db;
    int rc = sqlite3_prepare_v2(db, SQL_INV_SEL_APP_ID, -1, &r->app, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, SQL_INV_SEL_CREDS, -1, &r->creds, NULL);
    return rc == SQLITE_OK ? 0 : rd_fail(db, err, rc, "reading credentials");
}

static void cred_rd_close(struct cred_rd *r)
{
    sqlite3_finalize(r->app);
    sqlite3_finalize(r->creds);
}

static bool same_second(int64_t a, int64_t b)
{
    return a && b && a / NW_US_PER_SEC == b / NW_US_PER_SEC;
}

/* Collect and merge the credentials of key into cb (cleared first). */
static int cred_collect(struct cred_rd *r, const char *key, struct cred_buf *cb, nw_err *err)
{
    cb->n = 0;
    char alt[1024], appk[512];
    const char *ak = alt_key(key, alt, sizeof alt);
    const char *app = NULL;
    int rc;
    sqlite3_bind_text(r->app, 1, key, -1, SQLITE_STATIC);
    if (ak)
        sqlite3_bind_text(r->app, 2, ak, -1, SQLITE_STATIC);
    rc = sqlite3_step(r->app);
    if (rc == SQLITE_ROW) {
        snprintf(appk, sizeof appk, "azure:app/%s", col(r->app, 0));
        app = appk;
    }
    sqlite3_reset(r->app);
    sqlite3_clear_bindings(r->app);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return rd_fail(r->db, err, rc, "reading credentials");
    sqlite3_stmt *s = r->creds;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (ak)
        sqlite3_bind_text(s, 2, ak, -1, SQLITE_STATIC);
    if (app)
        sqlite3_bind_text(s, 3, app, -1, SQLITE_STATIC);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *id = col(s, 1);
        nw_inv_cred *prev = cb->n ? &cb->v[cb->n - 1] : NULL;
        int64_t created = sqlite3_column_int64(s, 4), rotated = sqlite3_column_int64(s, 5);
        int64_t expires = sqlite3_column_int64(s, 6), used = sqlite3_column_int64(s, 7);
        bool active = sqlite3_column_int(s, 3) != 0;
        if (prev && strcmp(prev->cred_id, id) == 0) {
            /* the same credential in another file */
            prev->active = prev->active || active;
            if (created && (!prev->created || created < prev->created))
                prev->created = created;
            if (rotated > prev->rotated)
                prev->rotated = rotated;
            if (expires && !prev->expires)
                prev->expires = expires;
            if (used > prev->last_used) {
                prev->last_used = used;
                prev->last_used_service = adup(cb->ar, col(s, 8));
                prev->last_used_region = adup(cb->ar, col(s, 9));
            }
            continue;
        }
        if (cb->n == cb->cap) {
            size_t nc = cb->cap ? cb->cap * 2 : 8;
            nw_inv_cred *nv = realloc(cb->v, nc * sizeof *nv);
            if (!nv) {
                sqlite3_reset(s);
                sqlite3_clear_bindings(s);
                return nw_err_set(err, NW_INV_E_NOMEM, "out of memory");
            }
            cb->v = nv;
            cb->cap = nc;
        }
        nw_inv_cred *c = &cb->v[cb->n++];
        c->identity_key = adup(cb->ar, col(s, 0));
        c->cred_id = adup(cb->ar, id);
        c->kind = adup(cb->ar, col(s, 2));
        c->active = active;
        c->created = created;
        c->rotated = rotated;
        c->expires = expires;
        c->last_used = used;
        c->last_used_service = adup(cb->ar, col(s, 8));
        c->last_used_region = adup(cb->ar, col(s, 9));
        c->source = adup(cb->ar, col(s, 10));
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE)
        return rd_fail(r->db, err, rc, "reading credentials");
    /* a credential-report slot (access_key_N) that is a listed key */
    for (size_t i = 0; i < cb->n; i++) {
        nw_inv_cred *slot = &cb->v[i];
        if (strncmp(slot->cred_id, "access_key_", 11) != 0)
            continue;
        for (size_t j = 0; j < cb->n; j++) {
            nw_inv_cred *k = &cb->v[j];
            if (j == i || strncmp(k->cred_id, "access_key_", 11) == 0 || strcmp(k->kind, "aws_long_term") != 0 ||
                !same_second(k->created, slot->rotated))
                continue;
            if (slot->last_used > k->last_used) {
                k->last_used = slot->last_used;
                k->last_used_service = slot->last_used_service;
                k->last_used_region = slot->last_used_region;
            }
            if (slot->rotated > k->rotated)
                k->rotated = slot->rotated;
            memmove(slot, slot + 1, (cb->n - i - 1) * sizeof *slot);
            cb->n--;
            i--;
            break;
        }
    }
    return 0;
}

int nw_inventory_each_credential(nw_store *st, const char *key, int (*cb)(void *ctx, const nw_inv_cred *r),
                                 void *ctx, nw_err *err)
{
    struct cred_rd rd = {0};
    struct cred_buf buf = {0};
    int rc = cred_rd_open(&rd, nw_store_db(st), err);
    if (rc)
        goto out_free;
    if (!(buf.ar = nw_arena_new(4096))) {
        rc = nw_err_set(err, NW_INV_E_NOMEM, "out of memory");
        goto out_free;
    }
    if ((rc = cred_collect(&rd, key, &buf, err)))
        goto out_free;
    for (size_t i = 0; i < buf.n && !rc; i++)
        rc = cb(ctx, &buf.v[i]);
out_free:
    cred_rd_close(&rd);
    free(buf.v);
    nw_arena_free(buf.ar);
    return rc;
}

int nw_inventory_each_grant(nw_store *st, const char *key, int (*cb)(void *ctx, const nw_inv_grant *r), void *ctx,
                            nw_err *err)
{
    sqlite3 *db = nw_store_db(st);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, SQL_INV_SEL_GRANTS, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rd_fail(db, err, rc, "reading grants");
    char alt[1024];
    const char *ak = strncmp(key, "azure:", 6) == 0 ? alt_key(key, alt, sizeof alt) : NULL;
    sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (ak)
        sqlite3_bind_text(s, 2, ak, -1, SQLITE_STATIC);
    int out = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        nw_inv_grant g = {
            .identity_key = col(s, 0),
            .effect = col(s, 1),
            .action = col(s, 2),
            .not_action = sqlite3_column_int(s, 3) != 0,
            .resource = col(s, 4),
            .not_resource = sqlite3_column_int(s, 5) != 0,
            .via = col(s, 6),
            .conditional = sqlite3_column_int(s, 7) != 0,
            .admin = sqlite3_column_int(s, 8) != 0,
            .source = col(s, 9),
            .seq = sqlite3_column_int64(s, 10),
        };
        if ((out = cb(ctx, &g)))
            break;
    }
    if (!out && rc != SQLITE_DONE)
        out = rd_fail(db, err, rc, "reading grants");
    sqlite3_finalize(s);
    return out;
}

int nw_inventory_each_role_perm(nw_store *st, const char *provider, const char *role,
                                int (*cb)(void *ctx, const char *perm, bool not_perm), void *ctx, nw_err *err)
{
    sqlite3 *db = nw_store_db(st);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, SQL_INV_SEL_ROLE_PERMS, -1, &s, NULL);
    if (rc != SQLITE_OK)
        return rd_fail(db, err, rc, "reading role permissions");
    sqlite3_bind_text(s, 1, provider, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, role, -1, SQLITE_STATIC);
    int n = 0, out = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        n++;
        if (cb && (out = cb(ctx, col(s, 0), sqlite3_column_int(s, 1) != 0)))
            break;
    }
    if (!out && rc != SQLITE_DONE)
        out = rd_fail(db, err, rc, "reading role permissions");
    sqlite3_finalize(s);
    return out ? out : n;
}

/* One identity being merged from its rows (highest rank first). */
struct merged {
    nw_inv_identity r;
    int64_t created;
    bool have;
};

static const char *kind_of(const nw_inv_identity *r)
{
    if (strcmp(r->type, "iam_user") == 0) {
        if (r->console == 1 && r->active_credentials == 0)
            return "human";
        if (r->console == 0 && r->active_credentials > 0)
            return "non_human";
        return "unknown";
    }
    if (strcmp(r->type, "application") == 0)
        return "non_human";
    return nw_kind_name(nw_store_kind(r->type, r->key, 0, 0));
}

static int emit_identity(struct merged *m, struct cred_rd *crd, struct cred_buf *cbuf,
                         int (*cb)(void *ctx, const nw_inv_identity *r), void *ctx, nw_err *err)
{
    int rc = cred_collect(crd, m->r.key, cbuf, err);
    if (rc)
        return rc;
    m->r.active_credentials = 0;
    for (size_t i = 0; i < cbuf->n; i++)
        m->r.active_credentials += cbuf->v[i].active;
    m->r.kind = kind_of(&m->r);
    m->have = false;
    return cb(ctx, &m->r);
}

int nw_inventory_each_identity(nw_store *st, int (*cb)(void *ctx, const nw_inv_identity *r), void *ctx, nw_err *err)
{
    sqlite3 *db = nw_store_db(st);
    sqlite3_stmt *s = NULL;
    struct cred_rd crd = {0};
    struct cred_buf cbuf = {0};
    nw_arena *ar = nw_arena_new(8192);
    struct merged m;
    memset(&m, 0, sizeof m);
    int rc = 0, src;
    if (!ar || !(cbuf.ar = nw_arena_new(4096))) {
        rc = nw_err_set(err, NW_INV_E_NOMEM, "out of memory");
        goto out_free;
    }
    if ((src = sqlite3_prepare_v2(db, SQL_INV_SEL_IDENTITIES, -1, &s, NULL)) != SQLITE_OK) {
        rc = rd_fail(db, err, src, "reading the inventory");
        goto out_free;
    }
    if ((rc = cred_rd_open(&crd, db, err)))
        goto out_free;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *key = col(s, 0);
        if (m.have && strcmp(m.r.key, key) != 0) {
            if ((rc = emit_identity(&m, &crd, &cbuf, cb, ctx, err)))
                goto out_free;
            nw_arena_reset(ar);
            nw_arena_reset(cbuf.ar);
        }
        int64_t created = sqlite3_column_int64(s, 9), used = sqlite3_column_int64(s, 10);
        if (!m.have) {
            memset(&m, 0, sizeof m);
            m.have = true;
            m.r.key = adup(ar, key);
            m.r.provider = adup(ar, col(s, 1));
            m.r.type = adup(ar, col(s, 2));
            m.r.source = adup(ar, col(s, 16));
            m.r.disabled = sqlite3_column_int(s, 11) != 0;
            m.r.console = m.r.mfa = -1;
        }
        /* rows come by rank: the first that states a field gives it */
#define FIRST(field, i)                                                                              \
    if (!m.r.field && col(s, i))                                                                     \
    m.r.field = adup(ar, col(s, i))
        FIRST(display_name, 4);
        FIRST(account, 5);
        FIRST(tenant, 6);
        FIRST(object_id, 7);
        FIRST(app_id, 8);
        FIRST(trust_json, 14);
        FIRST(tags_json, 15);
#undef FIRST
        if (created && (!m.r.created || created < m.r.created))
            m.r.created = created;
        if (used > m.r.last_used)
            m.r.last_used = used;
        if (m.r.console < 0)
            m.r.console = sqlite3_column_int(s, 12);
        if (m.r.mfa < 0)
            m.r.mfa = sqlite3_column_int(s, 13);
        m.r.sources++;
    }
    if (src != SQLITE_DONE) {
        rc = rd_fail(db, err, src, "reading the inventory");
        goto out_free;
    }
    if (m.have)
        rc = emit_identity(&m, &crd, &cbuf, cb, ctx, err);
out_free:
    sqlite3_finalize(s);
    cred_rd_close(&crd);
    free(cbuf.v);
    nw_arena_free(cbuf.ar);
    nw_arena_free(ar);
    return rc;
}
