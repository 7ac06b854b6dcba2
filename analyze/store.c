/* store.c - per-identity state in SQLite. See store.h. */
#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/nw_arena.h"
#include "../core/nw_map.h"
#include "../core/nw_time.h"
#include "inventory_sql.h"
#include "store_sql.h"

enum {
    S_EVENT_SEEN,
    S_IDENT_FIND,
    S_IDENT_INSERT,
    S_IDENT_UPDATE,
    S_CRED,
    S_DAY,
    S_ACTION,
    S_SOURCE,
    S_OFFSET_SET,
    S_OFFSET_GET,
    S_COUNTER,
    S_INPUT,
    S_BAD,
    S_BAD_TRIM,
    S_MAX_TIME_SET,
    S_ISSUED,
    S_LIFECYCLE,
    S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_EVENT_SEEN] = SQL_EVENT_SEEN, [S_IDENT_FIND] = SQL_IDENT_FIND, [S_IDENT_INSERT] = SQL_IDENT_INSERT,
    [S_IDENT_UPDATE] = SQL_IDENT_UPDATE, [S_CRED] = SQL_CRED_UPSERT, [S_DAY] = SQL_DAY_UPSERT,
    [S_ACTION] = SQL_ACTION_UPSERT, [S_SOURCE] = SQL_SOURCE_UPSERT, [S_OFFSET_SET] = SQL_OFFSET_UPSERT,
    [S_OFFSET_GET] = SQL_OFFSET_GET, [S_COUNTER] = SQL_COUNTER_ADD, [S_INPUT] = SQL_INPUT_UPSERT,
    [S_BAD] = SQL_BAD_INSERT, [S_BAD_TRIM] = SQL_BAD_TRIM, [S_MAX_TIME_SET] = SQL_MAX_TIME_SET,
    [S_ISSUED] = SQL_ISSUED_ADD, [S_LIFECYCLE] = SQL_LIFECYCLE_ADD,
};

/* Cached identity: id and the state streaming detectors need. */
struct ident {
    nw_ident_state s;
};

struct agg_day {
    int64_t day, ev, fail, den, wr, priv, succ, first;
    nw_str first_id;
};
struct agg_act {
    nw_str action, service;
    int64_t first, last, count, succ;
    nw_str first_id, last_id;
    bool priv;
};
struct agg_src {
    const char *kind;
    nw_str value;
    int64_t first, last, count;
    nw_str first_id;
};
struct agg_cred {
    nw_str id;
    uint8_t kind;
    int64_t first, last, count;
};

#define VEC(T)                                                                                       \
    struct {                                                                                         \
        T *v;                                                                                        \
        size_t n, cap;                                                                               \
    }

struct agg {
    struct ident *id;
    nw_str type, display, account, tenant, origin;
    int64_t first, last, last_success;
    int64_t ev, succ, fail, den, wr, priv, human, machine;
    nw_str last_ip, last_region, last_ua, last_action, last_id;
    nw_str ls_ip, ls_action, ls_id;
    VEC(struct agg_day) days;
    VEC(struct agg_act) acts;
    VEC(struct agg_src) srcs;
    VEC(struct agg_cred) creds;
    struct agg *next; /* batch order, for deterministic writes */
};

struct nw_store {
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    bool readonly;
    bool in_tx;
    uint64_t max_identities;
    nw_map *idents;     /* key -> struct ident */
    nw_arena *ident_ar; /* struct ident storage */
    nw_map *batch;      /* key -> struct agg, per batch */
    nw_arena *batch_ar;
    nw_store_hook hook;
    void *hook_ctx;
    struct {
        const char *sql;
        sqlite3_stmt *s;
    } rd[16]; /* reader statements, prepared on first use */
};

const char *nw_store_strerror(int code)
{
    switch (code) {
    case NW_STORE_OK:
        return "ok";
    case NW_STORE_E_OPEN:
        return "cannot open database";
    case NW_STORE_E_FOREIGN:
        return "not an nhiwatch database";
    case NW_STORE_E_VERSION:
        return "database from a newer nhiwatch";
    case NW_STORE_E_SQL:
        return "database error";
    case NW_STORE_E_FULL:
        return "disk full";
    case NW_STORE_E_NOMEM:
        return "out of memory";
    case NW_STORE_E_LIMIT:
        return "identity limit reached";
    case NW_STORE_E_READONLY:
        return "database opened read-only";
    case NW_STORE_E_BUSY:
        return "database locked by another process";
    }
    return "unknown error";
}

static int sql_fail(nw_store *st, nw_err *err, int rc, const char *what)
{
    int code = NW_STORE_E_SQL;
    if (rc == SQLITE_FULL || rc == SQLITE_IOERR || (rc & 0xff) == SQLITE_IOERR)
        code = NW_STORE_E_FULL;
    if (rc == SQLITE_NOMEM)
        code = NW_STORE_E_NOMEM;
    if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
        code = NW_STORE_E_FOREIGN;
    if (rc == SQLITE_READONLY)
        code = NW_STORE_E_READONLY;
    if (rc == SQLITE_BUSY)
        code = NW_STORE_E_BUSY;
    const char *msg = st && st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
    if (code == NW_STORE_E_FULL && rc == SQLITE_FULL)
        return nw_err_set(err, code, "%s: disk or database full (%s); the batch was rolled back", what, msg);
    return nw_err_set(err, code, "%s: %s", what, msg);
}

static int exec(nw_store *st, const char *sql, nw_err *err, const char *what)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : sql_fail(st, err, rc, what);
}

static int64_t pragma_int(sqlite3 *db, const char *sql, int *rc_out)
{
    sqlite3_stmt *s = NULL;
    int64_t v = 0;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            v = sqlite3_column_int64(s, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(s);
    *rc_out = rc;
    return v;
}

/* Migrations: index i brings a database from version i to i + 1. */
static const char *const migrations[] = {
    SQL_SCHEMA_V1,
    SQL_SCHEMA_V2,
    SQL_SCHEMA_V3,
};

static int migrate(nw_store *st, const char *path, nw_err *err)
{
    int rc;
    int64_t appid = pragma_int(st->db, "PRAGMA application_id", &rc);
    if (rc != SQLITE_OK) {
        if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
            return nw_err_set(err, NW_STORE_E_FOREIGN,
                              "'%s' is not an nhiwatch database (not SQLite, or corrupt): %s; use another --db path",
                              path, sqlite3_errstr(rc));
        return sql_fail(st, err, rc, "reading the database header");
    }
    int64_t ver = pragma_int(st->db, "PRAGMA user_version", &rc);
    int64_t ntables = pragma_int(st->db, "SELECT count(*) FROM sqlite_master", &rc);
    if (rc != SQLITE_OK)
        return nw_err_set(err, NW_STORE_E_FOREIGN, "'%s' is not an nhiwatch database: %s", path,
                          sqlite3_errstr(rc));
    if (appid != NW_APPLICATION_ID && (ntables > 0 || appid != 0))
        return nw_err_set(err, NW_STORE_E_FOREIGN,
                          "'%s' is an SQLite database of another application (application_id %lld); refusing to "
                          "change it",
                          path, (long long)appid);
    int64_t latest = (int64_t)(sizeof(migrations) / sizeof(migrations[0]));
    if (ver > latest)
        return nw_err_set(err, NW_STORE_E_VERSION,
                          "'%s' has schema version %lld, newer than this nhiwatch (%lld): upgrade nhiwatch", path,
                          (long long)ver, (long long)latest);
    if (ver == latest)
        return 0;
    if (st->readonly)
        return nw_err_set(err, NW_STORE_E_READONLY, "'%s' needs a schema upgrade; open it once for writing", path);
    if ((rc = exec(st, "BEGIN IMMEDIATE", err, "starting the schema migration")))
        return rc;
    /* another process may have migrated (created) it while this one waited
     * for the write lock: read the version again under the lock */
    ver = pragma_int(st->db, "PRAGMA user_version", &rc);
    if (rc != SQLITE_OK) {
        rc = sql_fail(st, err, rc, "reading the schema version");
        goto out_rollback;
    }
    if (ver > latest) {
        rc = nw_err_set(err, NW_STORE_E_VERSION,
                        "'%s' has schema version %lld, newer than this nhiwatch (%lld): upgrade nhiwatch", path,
                        (long long)ver, (long long)latest);
        goto out_rollback;
    }
    if (ver == latest)
        return exec(st, "COMMIT", err, "ending the schema check");
    for (int64_t v = ver; v < latest; v++) {
        if ((rc = exec(st, migrations[v], err, "migrating the schema")))
            goto out_rollback;
    }
    char buf[96];
    snprintf(buf, sizeof buf, "PRAGMA user_version=%lld; PRAGMA application_id=%d;", (long long)latest,
             NW_APPLICATION_ID);
    if ((rc = exec(st, buf, err, "stamping the schema version")))
        goto out_rollback;
    if ((rc = exec(st, "COMMIT", err, "committing the schema migration")))
        goto out_rollback;
    return 0;
out_rollback:
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int nw_store_open(const char *path, const nw_store_opts *opts, nw_store **out, nw_err *err)
{
    *out = NULL;
    nw_store *st = calloc(1, sizeof(*st));
    if (!st)
        return nw_err_set(err, NW_STORE_E_NOMEM, "out of memory");
    int rc;
    st->readonly = opts && (opts->flags & NW_STORE_READONLY);
    st->max_identities = opts && opts->max_identities ? opts->max_identities : 2000000;
    if (!st->readonly) {
        /* create with 0600 before SQLite does: the inventory is sensitive */
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            rc = nw_err_set(err, NW_STORE_E_OPEN, "cannot open database '%s': %s", path, strerror(errno));
            goto out_free;
        }
        close(fd);
    }
    int flags = st->readonly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    rc = sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = nw_err_set(err, NW_STORE_E_OPEN, "cannot open database '%s': %s", path,
                        st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        goto out_free;
    }
    sqlite3_busy_timeout(st->db, 5000);
    sqlite3_extended_result_codes(st->db, 0);
    if ((rc = migrate(st, path, err)))
        goto out_free;
    if (!st->readonly && (rc = exec(st, SQL_PRAGMAS, err, "setting database options")))
        goto out_free;
    for (int i = 0; i < S_COUNT; i++) {
        if (st->readonly && i != S_OFFSET_GET)
            continue;
        int prc = sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->st[i], NULL);
        if (prc != SQLITE_OK) {
            rc = sql_fail(st, err, prc, "preparing statements");
            goto out_free;
        }
    }
    st->idents = nw_map_new(1024);
    st->ident_ar = nw_arena_new(256 * 1024);
    st->batch = nw_map_new(1024);
    st->batch_ar = nw_arena_new(1024 * 1024);
    if (!st->idents || !st->ident_ar || !st->batch || !st->batch_ar) {
        rc = nw_err_set(err, NW_STORE_E_NOMEM, "out of memory");
        goto out_free;
    }
    *out = st;
    return 0;
out_free:
    nw_store_close(st);
    return rc;
}

void nw_store_close(nw_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->st[i]);
    for (size_t i = 0; i < sizeof st->rd / sizeof st->rd[0]; i++)
        sqlite3_finalize(st->rd[i].s);
    if (st->db)
        sqlite3_close(st->db);
    nw_map_free(st->idents);
    nw_arena_free(st->ident_ar);
    nw_map_free(st->batch);
    nw_arena_free(st->batch_ar);
    free(st);
}

void nw_store_set_busy_timeout(nw_store *st, int ms) { sqlite3_busy_timeout(st->db, ms > 0 ? ms : 5000); }

void nw_store_set_hook(nw_store *st, nw_store_hook hook, void *ctx)
{
    st->hook = hook;
    st->hook_ctx = ctx;
}

/* ---- helpers ---- */

static void bind_str(sqlite3_stmt *s, int i, nw_str v)
{
    if (v.n)
        sqlite3_bind_text(s, i, v.p, (int)v.n, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static int step_done(nw_store *st, sqlite3_stmt *s, nw_err *err, const char *what)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return 0;
    return sql_fail(st, err, rc, what);
}

/* a.b.c.d with each part 0-255; returns false for anything else */
static bool parse_ipv4(nw_str ip, unsigned part[4])
{
    size_t i = 0;
    for (int k = 0; k < 4; k++) {
        unsigned v = 0;
        size_t start = i;
        while (i < ip.n && ip.p[i] >= '0' && ip.p[i] <= '9' && i - start < 3)
            v = v * 10 + (unsigned)(ip.p[i++] - '0');
        if (i == start || v > 255)
            return false;
        part[k] = v;
        if (k < 3) {
            if (i >= ip.n || ip.p[i] != '.')
                return false;
            i++;
        }
    }
    return i == ip.n;
}

const char *nw_ip_prefix(nw_str ip, char *buf, size_t cap)
{
    unsigned q[4];
    if (parse_ipv4(ip, q)) {
        snprintf(buf, cap, "%u.%u.%u.0/24", q[0], q[1], q[2]);
        return buf;
    }
    char tmp[64];
    nw_str_cpy(tmp, sizeof tmp, ip);
    if (ip.n < sizeof tmp && nw_str_chr(ip, ':') >= 0 && strspn(tmp, "0123456789abcdefABCDEF:.") == strlen(tmp)) {
        /* IPv6: the first three groups (/48); a '::' before them ends the list */
        unsigned g[3] = {0, 0, 0};
        int n = 0;
        const char *p = tmp;
        while (n < 3 && *p && !(p[0] == ':' && p[1] == ':')) {
            g[n++] = (unsigned)strtoul(p, NULL, 16);
            const char *c = strchr(p, ':');
            if (!c)
                break;
            p = c + 1;
        }
        snprintf(buf, cap, "%x:%x:%x::/48", g[0] & 0xffff, g[1] & 0xffff, g[2] & 0xffff);
        return buf;
    }
    nw_str_cpy(buf, cap, ip);
    return buf;
}

const char *nw_ua_family(nw_str ua, char *buf, size_t cap)
{
    ua = nw_str_trim(ua);
    while (ua.n && (ua.p[0] == '[' || ua.p[0] == '('))
        ua = nw_str_sub(ua, 1, ua.n - 1);
    if (ua.n == 0) {
        nw_str_cpy(buf, cap, NW_STR_NULL);
        return buf;
    }
    if (nw_str_istarts(ua, "Mozilla/") || nw_str_istarts(ua, "Opera/")) {
        nw_str_cpy(buf, cap, NW_STR_LIT("browser"));
        return buf;
    }
    size_t n = 0;
    while (n < ua.n && ua.p[n] != '/' && ua.p[n] != ' ' && ua.p[n] != ',' && ua.p[n] != ';' && ua.p[n] != ']' &&
           ua.p[n] != ')')
        n++;
    nw_str_cpy(buf, cap, nw_str_mk(ua.p, n));
    /* lower-case: families compare case-insensitively (Boto3 / boto3) */
    for (char *p = buf; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    return buf;
}

int nw_store_kind(const char *type, const char *key, int64_t human, int64_t machine)
{
    static const char *const nhi[] = {"service_account", "service_agent", "managed_identity", "service_principal",
                                      "aws_service",     "workload_identity", "web_identity",
                                      "k8s_service_account", "k8s_node", "k8s_system"};
    static const char *const hum[] = {"root", "saml_user", "identity_center_user", "user", "federated_user"};
    for (size_t i = 0; i < sizeof nhi / sizeof nhi[0]; i++)
        if (strcmp(type, nhi[i]) == 0)
            return NW_KIND_NON_HUMAN;
    for (size_t i = 0; i < sizeof hum / sizeof hum[0]; i++)
        if (strcmp(type, hum[i]) == 0)
            return NW_KIND_HUMAN;
    if (strcmp(type, "iam_role") == 0) {
        if (key && strstr(key, ":role/aws-reserved/sso.amazonaws.com/"))
            return NW_KIND_HUMAN;
        if (key && strstr(key, "/AWSReservedSSO_"))
            return NW_KIND_HUMAN;
        if (human > machine)
            return NW_KIND_HUMAN;
        return NW_KIND_NON_HUMAN;
    }
    if (strcmp(type, "iam_user") == 0) {
        /* console or browser use marks a person, unless it is a small share
         * of an otherwise programmatic user: that is a machine credential
         * a person used, which the detectors report */
        if (human > 0 && human * 10 >= human + machine)
            return NW_KIND_HUMAN;
        if (machine > 0)
            return NW_KIND_NON_HUMAN;
        return NW_KIND_UNKNOWN;
    }
    if (human > 0 && machine == 0)
        return NW_KIND_HUMAN;
    if (machine > 0 && human == 0)
        return NW_KIND_NON_HUMAN;
    return NW_KIND_UNKNOWN;
}

/* ---- apply ---- */

#define VEC_PUSH(ar, vec, out)                                                                       \
    do {                                                                                             \
        if ((vec).n == (vec).cap) {                                                                  \
            size_t nc_ = (vec).cap ? (vec).cap * 2 : 4;                                              \
            void *nv_ = nw_arena_alloc((ar), nc_ * sizeof(*(vec).v));                                \
            if (!nv_) {                                                                              \
                (out) = NULL;                                                                        \
                break;                                                                               \
            }                                                                                        \
            if ((vec).n)                                                                             \
                memcpy(nv_, (vec).v, (vec).n * sizeof(*(vec).v));                                    \
            (vec).v = nv_;                                                                           \
            (vec).cap = nc_;                                                                         \
        }                                                                                            \
        (out) = &(vec).v[(vec).n++];                                                                 \
        memset((out), 0, sizeof(*(out)));                                                            \
    } while (0)

static inline bool str_gt(nw_str a, nw_str b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    return c > 0 || (c == 0 && a.n > b.n);
}

static struct ident *ident_get(nw_store *st, const nw_event *ev, nw_err *err, int *rc_out)
{
    int created = 0;
    void **slot = nw_map_put(st->idents, ev->identity_key, &created, NULL);
    *rc_out = 0;
    if (!slot) {
        *rc_out = nw_err_set(err, NW_STORE_E_NOMEM, "out of memory");
        return NULL;
    }
    if (!created)
        return *slot;
    struct ident *id = nw_arena_alloc(st->ident_ar, sizeof(*id));
    if (!id) {
        *rc_out = nw_err_set(err, NW_STORE_E_NOMEM, "out of memory");
        return NULL;
    }
    memset(id, 0, sizeof(*id));
    *slot = id;
    sqlite3_stmt *s = st->st[S_IDENT_FIND];
    bind_str(s, 1, ev->identity_key);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        id->s.id = sqlite3_column_int64(s, 0);
        id->s.first_seen = sqlite3_column_int64(s, 1);
        id->s.last_seen = sqlite3_column_int64(s, 2);
        id->s.last_success = sqlite3_column_int64(s, 3);
        id->s.events = (uint64_t)sqlite3_column_int64(s, 4);
        id->s.privileged = (uint64_t)sqlite3_column_int64(s, 5);
        id->s.human_events = (uint64_t)sqlite3_column_int64(s, 6);
        id->s.machine_events = (uint64_t)sqlite3_column_int64(s, 7);
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
        return id;
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    if (rc != SQLITE_DONE) {
        *rc_out = sql_fail(st, err, rc, "looking up an identity");
        return NULL;
    }
    if (nw_map_count(st->idents) > st->max_identities) {
        *rc_out = nw_err_set(err, NW_STORE_E_LIMIT,
                             "more than %llu identities: raise --max-identities if this estate is that large",
                             (unsigned long long)st->max_identities);
        return NULL;
    }
    s = st->st[S_IDENT_INSERT];
    bind_str(s, 1, ev->identity_key);
    sqlite3_bind_text(s, 2, nw_provider_name(ev->provider), -1, SQLITE_STATIC);
    if (ev->identity_type.n)
        bind_str(s, 3, ev->identity_type);
    else
        sqlite3_bind_text(s, 3, "unknown", -1, SQLITE_STATIC);
    bind_str(s, 4, ev->display_name);
    bind_str(s, 5, ev->account);
    bind_str(s, 6, ev->tenant);
    if ((*rc_out = step_done(st, s, err, "adding an identity")))
        return NULL;
    id->s.id = sqlite3_last_insert_rowid(st->db);
    return id;
}

static int add_event(nw_store *st, struct agg **head, struct agg **tail, const nw_event *ev, struct ident *id,
                     nw_err *err)
{
    nw_arena *ar = st->batch_ar;
    int created = 0;
    void **slot = nw_map_put(st->batch, ev->identity_key, &created, NULL);
    if (!slot)
        return nw_err_set(err, NW_STORE_E_NOMEM, "out of memory");
    struct agg *a = *slot;
    if (created) {
        a = nw_arena_alloc(ar, sizeof(*a));
        if (!a)
            return nw_err_set(err, NW_STORE_E_NOMEM, "out of memory");
        memset(a, 0, sizeof(*a));
        a->id = id;
        a->first = a->last = ev->time_us;
        *slot = a;
        if (*tail)
            (*tail)->next = a;
        else
            *head = a;
        *tail = a;
    }
    bool ok = ev->outcome == NW_OUT_SUCCESS;
    if (!a->type.n || nw_str_eq(a->type, "unknown"))
        a->type = ev->identity_type;
    /* descriptive attributes: the smallest value seen, so that the result
     * does not depend on the order events arrive in (Kafka vs files) */
    if (ev->display_name.n && (!a->display.n || str_gt(a->display, ev->display_name)))
        a->display = ev->display_name;
    if (ev->account.n && (!a->account.n || str_gt(a->account, ev->account)))
        a->account = ev->account;
    if (ev->tenant.n && (!a->tenant.n || str_gt(a->tenant, ev->tenant)))
        a->tenant = ev->tenant;
    if (ev->origin_key.n && (!a->origin.n || str_gt(a->origin, ev->origin_key)))
        a->origin = ev->origin_key;
    if (ev->time_us < a->first)
        a->first = ev->time_us;
    if (ev->time_us > a->last || a->ev == 0) {
        a->last = ev->time_us;
        a->last_ip = ev->source_ip;
        a->last_region = ev->region;
        a->last_ua = ev->user_agent;
        a->last_action = ev->action;
        a->last_id = ev->event_id;
    } else if (ev->time_us == a->last) {
        /* ties: the greatest value wins, whatever the order (Kafka vs files) */
        if (str_gt(ev->source_ip, a->last_ip))
            a->last_ip = ev->source_ip;
        if (str_gt(ev->region, a->last_region))
            a->last_region = ev->region;
        if (str_gt(ev->user_agent, a->last_ua))
            a->last_ua = ev->user_agent;
        if (str_gt(ev->action, a->last_action))
            a->last_action = ev->action;
        if (str_gt(ev->event_id, a->last_id))
            a->last_id = ev->event_id;
    }
    if (ok) {
        if (ev->time_us > a->last_success || !a->succ) {
            a->last_success = ev->time_us;
            a->ls_ip = ev->source_ip;
            a->ls_action = ev->action;
            a->ls_id = ev->event_id;
        } else if (ev->time_us == a->last_success) {
            if (str_gt(ev->source_ip, a->ls_ip))
                a->ls_ip = ev->source_ip;
            if (str_gt(ev->action, a->ls_action))
                a->ls_action = ev->action;
            if (str_gt(ev->event_id, a->ls_id))
                a->ls_id = ev->event_id;
        }
    }
    bool wr = ev->access == NW_ACCESS_WRITE;
    bool priv = (ev->flags & NW_EV_PRIVILEGED) != 0;
    a->ev++;
    a->succ += ok;
    a->fail += ev->outcome == NW_OUT_FAILURE;
    a->den += ev->outcome == NW_OUT_DENIED;
    a->wr += wr;
    a->priv += priv;
    a->human += ev->kind == NW_KIND_HUMAN;
    a->machine += ev->kind == NW_KIND_NON_HUMAN;

    /* day */
    int64_t day = nw_time_day(ev->time_us);
    struct agg_day *d = NULL;
    for (size_t i = 0; i < a->days.n; i++)
        if (a->days.v[i].day == day) {
            d = &a->days.v[i];
            break;
        }
    if (!d) {
        VEC_PUSH(ar, a->days, d);
        if (!d)
            return nw_err_set(err, NW_STORE_E_NOMEM, "out of memory");
        d->day = day;
        d->first = ev->time_us;
        d->first_id = ev->event_id;
    }
    if (ev->time_us < d->first || (ev->time_us == d->first && str_gt(d->first_id, ev->event_id))) {
        d->first = ev->time_us;
        d->first_id = ev->event_id;
    }
    d->succ += ok;
    d->ev++;
    d->fail += ev->outcome == NW_OUT_FAILURE;
    d->den += ev->outcome == NW_OUT_DENIED;
    d->wr += wr;
    d->priv += priv;

    /* action */
    if (ev->action.n) {
        struct agg_act *x = NULL;
        for (size_t i = 0; i < a->acts.n; i++)
            if (nw_str_eqs(a->acts.v[i].action, ev->action)) {
                x = &a->acts.v[i];
                break;
            }
        if (!x) {
            VEC_PUSH(ar, a->acts, x);
            if (!x)
                return nw_err_set(err, NW_STORE_E_NOMEM, "out of memory");
            x->action = ev->action;
            x->service = ev->service;
            x->first = x->last = ev->time_us;
            x->first_id = x->last_id = ev->event_id;
        }
        if (ev->time_us < x->first || (ev->time_us == x->first && str_gt(x->first_id, ev->event_id))) {
            x->first = ev->time_us;
            x->first_id = ev->event_id;
        }
        if (ev->time_us > x->last || (ev->time_us == x->last && str_gt(ev->event_id, x->last_id))) {
            x->last = ev->time_us;
            x->last_id = ev->event_id;
        }
        x->count++;
        x->succ += ok;
        x->priv |= priv;
    }

    /* sources: network prefix, region, user-agent family */
    char nb[64], ub[64];
    const char *kinds[3] = {"net", "region", "ua"};
    nw_str vals[3] = {NW_STR_NULL, ev->region, NW_STR_NULL};
    if (ev->source_ip.n)
        vals[0] = nw_str_c(nw_ip_prefix(ev->source_ip, nb, sizeof nb));
    if (ev->user_agent.n)
        vals[2] = nw_str_c(nw_ua_family(ev->user_agent, ub, sizeof ub));
    for (int k = 0; k < 3; k++) {
        if (!vals[k].n)
            continue;
        struct agg_src *x = NULL;
        for (size_t i = 0; i < a->srcs.n; i++)
            if (a->srcs.v[i].kind == kinds[k] && nw_str_eqs(a->srcs.v[i].value, vals[k])) {
                x = &a->srcs.v[i];
                break;
            }
        if (!x) {
            VEC_PUSH(ar, a->srcs, x);
            if (!x)
                return nw_err_set(err, NW_STORE_E_NOMEM, "out of memory");
            x->kind = kinds[k];
            x->value = (k == 1) ? vals[k] : nw_arena_dup(ar, vals[k]);
            x->first = x->last = ev->time_us;
            x->first_id = ev->event_id;
        }
        if (ev->time_us < x->first || (ev->time_us == x->first && str_gt(x->first_id, ev->event_id))) {
            x->first = ev->time_us;
            x->first_id = ev->event_id;
        }
        if (ev->time_us > x->last)
            x->last = ev->time_us;
        x->count++;
    }

    /* credential */
    if (ev->credential_id.n) {
        struct agg_cred *x = NULL;
        for (size_t i = 0; i < a->creds.n; i++)
            if (nw_str_eqs(a->creds.v[i].id, ev->credential_id)) {
                x = &a->creds.v[i];
                break;
            }
        if (!x) {
            VEC_PUSH(ar, a->creds, x);
            if (!x)
                return nw_err_set(err, NW_STORE_E_NOMEM, "out of memory");
            x->id = ev->credential_id;
            x->kind = ev->cred_kind;
            x->first = x->last = ev->time_us;
        }
        if (ev->time_us < x->first)
            x->first = ev->time_us;
        if (ev->time_us > x->last)
            x->last = ev->time_us;
        x->count++;
    }
    return 0;
}

static int flush_agg(nw_store *st, const struct agg *a, nw_err *err)
{
    int rc;
    int64_t id = a->id->s.id;
    sqlite3_stmt *s = st->st[S_IDENT_UPDATE];
    sqlite3_bind_int64(s, 1, id);
    bind_str(s, 2, a->type);
    bind_str(s, 3, a->display);
    bind_str(s, 4, a->account);
    bind_str(s, 5, a->tenant);
    sqlite3_bind_int64(s, 6, a->first);
    sqlite3_bind_int64(s, 7, a->last);
    if (a->succ)
        sqlite3_bind_int64(s, 8, a->last_success);
    else
        sqlite3_bind_null(s, 8);
    sqlite3_bind_int64(s, 9, a->ev);
    sqlite3_bind_int64(s, 10, a->succ);
    sqlite3_bind_int64(s, 11, a->fail);
    sqlite3_bind_int64(s, 12, a->den);
    sqlite3_bind_int64(s, 13, a->wr);
    sqlite3_bind_int64(s, 14, a->priv);
    sqlite3_bind_int64(s, 15, a->human);
    sqlite3_bind_int64(s, 16, a->machine);
    bind_str(s, 17, a->last_ip);
    bind_str(s, 18, a->last_region);
    bind_str(s, 19, a->last_ua);
    bind_str(s, 20, a->last_action);
    bind_str(s, 21, a->ls_ip);
    bind_str(s, 22, a->ls_action);
    bind_str(s, 23, a->origin);
    bind_str(s, 24, a->last_id);
    bind_str(s, 25, a->ls_id);
    if ((rc = step_done(st, s, err, "updating an identity")))
        return rc;
    for (size_t i = 0; i < a->days.n; i++) {
        const struct agg_day *d = &a->days.v[i];
        s = st->st[S_DAY];
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, d->day);
        sqlite3_bind_int64(s, 3, d->ev);
        sqlite3_bind_int64(s, 4, d->fail);
        sqlite3_bind_int64(s, 5, d->den);
        sqlite3_bind_int64(s, 6, d->wr);
        sqlite3_bind_int64(s, 7, d->priv);
        sqlite3_bind_int64(s, 8, d->first);
        bind_str(s, 9, d->first_id);
        sqlite3_bind_int64(s, 10, d->succ);
        if ((rc = step_done(st, s, err, "storing daily activity")))
            return rc;
    }
    for (size_t i = 0; i < a->acts.n; i++) {
        const struct agg_act *x = &a->acts.v[i];
        s = st->st[S_ACTION];
        sqlite3_bind_int64(s, 1, id);
        bind_str(s, 2, x->action);
        if (x->service.n)
            bind_str(s, 3, x->service);
        else
            sqlite3_bind_text(s, 3, "", 0, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, x->first);
        sqlite3_bind_int64(s, 5, x->last);
        sqlite3_bind_int64(s, 6, x->count);
        sqlite3_bind_int64(s, 7, x->succ);
        bind_str(s, 8, x->first_id);
        bind_str(s, 9, x->last_id);
        sqlite3_bind_int(s, 10, x->priv);
        if ((rc = step_done(st, s, err, "storing actions used")))
            return rc;
    }
    for (size_t i = 0; i < a->srcs.n; i++) {
        const struct agg_src *x = &a->srcs.v[i];
        s = st->st[S_SOURCE];
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_text(s, 2, x->kind, -1, SQLITE_STATIC);
        bind_str(s, 3, x->value);
        sqlite3_bind_int64(s, 4, x->first);
        sqlite3_bind_int64(s, 5, x->last);
        sqlite3_bind_int64(s, 6, x->count);
        bind_str(s, 7, x->first_id);
        if ((rc = step_done(st, s, err, "storing sources seen")))
            return rc;
    }
    for (size_t i = 0; i < a->creds.n; i++) {
        const struct agg_cred *x = &a->creds.v[i];
        s = st->st[S_CRED];
        sqlite3_bind_int64(s, 1, id);
        bind_str(s, 2, x->id);
        sqlite3_bind_text(s, 3, nw_cred_kind_name(x->kind), -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, x->first);
        sqlite3_bind_int64(s, 5, x->last);
        sqlite3_bind_int64(s, 6, x->count);
        if ((rc = step_done(st, s, err, "storing credentials")))
            return rc;
    }
    return 0;
}

static int agg_cmp(const void *x, const void *y)
{
    int64_t a = (*(const struct agg *const *)x)->id->s.id, b = (*(const struct agg *const *)y)->id->s.id;
    return (a > b) - (a < b);
}

/* The batch's rows in identity order: every table the batch writes is keyed
 * by identity id first, so the writes walk each B-tree from left to right
 * and an identity's neighbours share its pages, instead of jumping about in
 * trees far larger than the page cache. On the 50,000-identity bench estate
 * (7 M events) `run` took 5% less CPU time with it. */
static int flush_sorted(nw_store *st, struct agg *head, nw_err *err)
{
    size_t n = 0;
    for (struct agg *a = head; a; a = a->next)
        n++;
    if (!n)
        return 0;
    struct agg **v = nw_arena_alloc(st->batch_ar, n * sizeof(*v));
    if (!v)
        return nw_err_set(err, NW_STORE_E_NOMEM, "out of memory");
    n = 0;
    for (struct agg *a = head; a; a = a->next)
        v[n++] = a;
    qsort(v, n, sizeof(*v), agg_cmp);
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i++)
        rc = flush_agg(st, v[i], err);
    return rc;
}

/* Sessions and keys minted by a call, and who created which identity: the
 * links the report follows for role chains and probable owners. Calls by
 * AWS services (instance profiles, Lambda) mint a session every hour and
 * lead nowhere: not recorded. */
static int note_chain(nw_store *st, const nw_event *e, nw_err *err)
{
    int rc;
    if (e->flags & NW_EV_SERVICE_AGENT)
        return 0;
    if (e->issued_credential.n) {
        sqlite3_stmt *s = st->st[S_ISSUED];
        bind_str(s, 1, e->issued_credential);
        bind_str(s, 2, e->identity_key);
        bind_str(s, 3, e->target_key);
        bind_str(s, 4, e->action);
        sqlite3_bind_int64(s, 5, e->time_us);
        bind_str(s, 6, e->event_id);
        if ((rc = step_done(st, s, err, "recording minted credentials")))
            return rc;
    }
    if (e->target_key.n && (nw_str_find(e->action, "Create") >= 0 || nw_str_find(e->action, "Upload") >= 0 ||
                            nw_str_iends(e->action, "roleAssignments/write"))) {
        sqlite3_stmt *s = st->st[S_LIFECYCLE];
        bind_str(s, 1, e->target_key);
        sqlite3_bind_int64(s, 2, e->time_us);
        bind_str(s, 3, e->identity_key);
        bind_str(s, 4, e->action);
        bind_str(s, 5, e->event_id);
        if ((rc = step_done(st, s, err, "recording identity lifecycle")))
            return rc;
    }
    return 0;
}

static void drop_cache(nw_store *st)
{
    nw_map_clear(st->idents);
    nw_arena_reset(st->ident_ar);
}

int nw_store_begin(nw_store *st, nw_err *err)
{
    if (st->readonly)
        return nw_err_set(err, NW_STORE_E_READONLY, "database opened read-only");
    if (st->in_tx)
        return 0;
    int rc = exec(st, "BEGIN IMMEDIATE", err, "starting a transaction");
    if (!rc)
        st->in_tx = true;
    return rc;
}

int nw_store_commit(nw_store *st, nw_err *err)
{
    if (!st->in_tx)
        return 0;
    int rc = exec(st, "COMMIT", err, "committing");
    if (rc) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        drop_cache(st);
    }
    st->in_tx = false;
    return rc;
}

static void rollback(nw_store *st)
{
    if (st->in_tx)
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    st->in_tx = false;
    drop_cache(st);
}

int nw_store_apply(nw_store *st, const nw_event *ev, size_t n, uint8_t *status, const nw_store_offset *offs,
                   size_t noffs, nw_apply_result *res, nw_err *err)
{
    nw_apply_result r = {0};
    int rc;
    bool own_tx = !st->in_tx;
    if (own_tx && (rc = nw_store_begin(st, err)))
        return rc;
    nw_map_clear(st->batch);
    nw_arena_reset(st->batch_ar);
    struct agg *head = NULL, *tail = NULL;
    int64_t max_time = 0;
    sqlite3_stmt *seen = st->st[S_EVENT_SEEN];
    for (size_t i = 0; i < n; i++) {
        const nw_event *e = &ev[i];
        sqlite3_bind_int64(seen, 1, e->time_us);
        sqlite3_bind_blob(seen, 2, e->dedupe_id, 16, SQLITE_STATIC);
        int src = sqlite3_step(seen);
        sqlite3_reset(seen);
        if (src != SQLITE_DONE) {
            rc = sql_fail(st, err, src, "recording event ids");
            goto out_rollback;
        }
        if (sqlite3_changes(st->db) == 0) {
            r.duplicates++;
            if (status)
                status[i] = NW_APPLY_DUPLICATE;
            continue;
        }
        if (e->phase == NW_PHASE_PARTIAL) {
            r.partial++;
            if (status)
                status[i] = NW_APPLY_PARTIAL;
            continue;
        }
        if (status)
            status[i] = NW_APPLIED;
        struct ident *id = ident_get(st, e, err, &rc);
        if (!id)
            goto out_rollback;
        if (id->s.events == 0 && id->s.first_seen == 0)
            r.new_identities++;
        if (st->hook)
            st->hook(st->hook_ctx, e, &id->s);
        if ((rc = add_event(st, &head, &tail, e, id, err)))
            goto out_rollback;
        if (e->outcome == NW_OUT_SUCCESS && (e->issued_credential.n || e->target_key.n) &&
            (rc = note_chain(st, e, err)))
            goto out_rollback;
        /* the cached state moves with every event, for the next hook call */
        if (!id->s.first_seen || e->time_us < id->s.first_seen)
            id->s.first_seen = e->time_us;
        if (e->time_us > id->s.last_seen)
            id->s.last_seen = e->time_us;
        if (e->outcome == NW_OUT_SUCCESS && e->time_us > id->s.last_success)
            id->s.last_success = e->time_us;
        id->s.events++;
        id->s.privileged += (e->flags & NW_EV_PRIVILEGED) != 0;
        id->s.human_events += e->kind == NW_KIND_HUMAN;
        id->s.machine_events += e->kind == NW_KIND_NON_HUMAN;
        if (e->time_us > max_time)
            max_time = e->time_us;
        r.applied++;
    }
    if ((rc = flush_sorted(st, head, err)))
        goto out_rollback;
    for (size_t i = 0; i < noffs; i++) {
        sqlite3_stmt *s = st->st[S_OFFSET_SET];
        sqlite3_bind_text(s, 1, offs[i].topic, -1, SQLITE_STATIC);
        sqlite3_bind_int(s, 2, offs[i].partition);
        sqlite3_bind_int64(s, 3, offs[i].next_offset);
        if ((rc = step_done(st, s, err, "storing consumer offsets")))
            goto out_rollback;
    }
    if (max_time) {
        sqlite3_stmt *s = st->st[S_MAX_TIME_SET];
        sqlite3_bind_int64(s, 1, max_time);
        if ((rc = step_done(st, s, err, "storing the newest event time")))
            goto out_rollback;
    }
    if (own_tx && (rc = nw_store_commit(st, err)))
        return rc;
    if (res) {
        res->applied += r.applied;
        res->duplicates += r.duplicates;
        res->partial += r.partial;
        res->new_identities += r.new_identities;
    }
    return 0;
out_rollback:
    sqlite3_clear_bindings(seen);
    rollback(st);
    return rc;
}

int64_t nw_store_offset_get(nw_store *st, const char *topic, int32_t partition)
{
    sqlite3_stmt *s = st->st[S_OFFSET_GET];
    sqlite3_bind_text(s, 1, topic, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, partition);
    int64_t v = -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return v;
}

/* ---- bookkeeping ---- */

static int single(nw_store *st, sqlite3_stmt *s, nw_err *err, const char *what)
{
    bool own = !st->in_tx;
    int rc;
    if (own && (rc = nw_store_begin(st, err)))
        return rc;
    if ((rc = step_done(st, s, err, what))) {
        if (own)
            rollback(st);
        return rc;
    }
    return own ? nw_store_commit(st, err) : 0;
}

int nw_store_note_input(nw_store *st, const nw_input_info *in, nw_err *err)
{
    if (st->readonly)
        return nw_err_set(err, NW_STORE_E_READONLY, "database opened read-only");
    sqlite3_stmt *s = st->st[S_INPUT];
    sqlite3_bind_text(s, 1, in->path, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, in->size);
    sqlite3_bind_int64(s, 3, in->mtime);
    sqlite3_bind_text(s, 4, in->format ? in->format : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, in->records);
    sqlite3_bind_int64(s, 6, in->events);
    sqlite3_bind_int64(s, 7, in->duplicates);
    sqlite3_bind_int64(s, 8, in->skipped);
    sqlite3_bind_int64(s, 9, in->bad);
    sqlite3_bind_text(s, 10, in->status ? in->status : "ok", -1, SQLITE_STATIC);
    return single(st, s, err, "recording an input file");
}

int nw_store_add_counter(nw_store *st, const char *name, int64_t delta, nw_err *err)
{
    if (st->readonly)
        return nw_err_set(err, NW_STORE_E_READONLY, "database opened read-only");
    sqlite3_stmt *s = st->st[S_COUNTER];
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, delta);
    return single(st, s, err, "updating counters");
}

int nw_store_note_bad(nw_store *st, const nw_err *bad, nw_err *err)
{
    if (st->readonly)
        return nw_err_set(err, NW_STORE_E_READONLY, "database opened read-only");
    sqlite3_stmt *s = st->st[S_BAD];
    sqlite3_bind_text(s, 1, bad->source, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, bad->line);
    sqlite3_bind_int64(s, 3, bad->record);
    sqlite3_bind_text(s, 4, bad->msg, -1, SQLITE_STATIC);
    int rc = single(st, s, err, "recording bad input");
    if (rc)
        return rc;
    return single(st, st->st[S_BAD_TRIM], err, "trimming bad input");
}

/* ---- reading ---- */

static const char *col_text(sqlite3_stmt *s, int i) { return (const char *)sqlite3_column_text(s, i); }

/* A reader statement, prepared once per store and reset for reuse. */
static sqlite3_stmt *reader(nw_store *st, const char *sql, nw_err *err)
{
    size_t n = sizeof st->rd / sizeof st->rd[0], i;
    for (i = 0; i < n && st->rd[i].sql; i++)
        if (st->rd[i].sql == sql) {
            sqlite3_reset(st->rd[i].s);
            sqlite3_clear_bindings(st->rd[i].s);
            return st->rd[i].s;
        }
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL);
    if (rc != SQLITE_OK) {
        sql_fail(st, err, rc, "reading the database");
        return NULL;
    }
    if (i < n) {
        st->rd[i].sql = sql;
        st->rd[i].s = s;
    }
    return s;
}

static int each_rows(nw_store *st, const char *sql, int64_t bind_id, bool has_id,
                     int (*row)(void *ctx, sqlite3_stmt *s, void *cb, void *cbctx), void *cb, void *cbctx,
                     nw_err *err)
{
    sqlite3_stmt *s = reader(st, sql, err);
    if (!s)
        return NW_STORE_E_SQL;
    if (has_id)
        sqlite3_bind_int64(s, 1, bind_id);
    int out = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if ((out = row(NULL, s, cb, cbctx)))
            break;
    }
    if (!out && rc != SQLITE_DONE)
        out = sql_fail(st, err, rc, "reading the database");
    sqlite3_reset(s);
    return out;
}

static void fill_ident(sqlite3_stmt *s, nw_ident_row *r);

static int row_ident(void *u, sqlite3_stmt *s, void *cb, void *ctx)
{
    (void)u;
    nw_ident_row r;
    fill_ident(s, &r);
    return ((int (*)(void *, const nw_ident_row *))cb)(ctx, &r);
}

static int row_cred(void *u, sqlite3_stmt *s, void *cb, void *ctx)
{
    (void)u;
    nw_cred_row r = {col_text(s, 0), col_text(s, 1), sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3),
                     sqlite3_column_int64(s, 4)};
    return ((int (*)(void *, const nw_cred_row *))cb)(ctx, &r);
}

static int row_used(void *u, sqlite3_stmt *s, void *cb, void *ctx)
{
    (void)u;
    nw_used_row r = {col_text(s, 0),
                     col_text(s, 1),
                     sqlite3_column_int64(s, 2),
                     sqlite3_column_int64(s, 3),
                     sqlite3_column_int64(s, 4),
                     sqlite3_column_int64(s, 5),
                     col_text(s, 6),
                     col_text(s, 7),
                     sqlite3_column_int(s, 8) != 0};
    return ((int (*)(void *, const nw_used_row *))cb)(ctx, &r);
}

static int row_source(void *u, sqlite3_stmt *s, void *cb, void *ctx)
{
    (void)u;
    nw_source_row r = {col_text(s, 0), col_text(s, 1), sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3),
                       sqlite3_column_int64(s, 4), col_text(s, 5)};
    return ((int (*)(void *, const nw_source_row *))cb)(ctx, &r);
}

static int row_day(void *u, sqlite3_stmt *s, void *cb, void *ctx)
{
    (void)u;
    nw_day_row r = {sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
                    sqlite3_column_int64(s, 3), sqlite3_column_int64(s, 4), sqlite3_column_int64(s, 5),
                    sqlite3_column_int64(s, 6), col_text(s, 7),            sqlite3_column_int64(s, 8)};
    return ((int (*)(void *, const nw_day_row *))cb)(ctx, &r);
}

static int row_counter(void *u, sqlite3_stmt *s, void *cb, void *ctx)
{
    (void)u;
    return ((int (*)(void *, const char *, int64_t))cb)(ctx, col_text(s, 0), sqlite3_column_int64(s, 1));
}

static int row_input(void *u, sqlite3_stmt *s, void *cb, void *ctx)
{
    (void)u;
    nw_input_info in = {col_text(s, 0),
                        sqlite3_column_int64(s, 1),
                        sqlite3_column_int64(s, 2),
                        col_text(s, 3),
                        sqlite3_column_int64(s, 4),
                        sqlite3_column_int64(s, 5),
                        sqlite3_column_int64(s, 6),
                        sqlite3_column_int64(s, 7),
                        sqlite3_column_int64(s, 8),
                        col_text(s, 9)};
    return ((int (*)(void *, const nw_input_info *))cb)(ctx, &in);
}

static int row_bad(void *u, sqlite3_stmt *s, void *cb, void *ctx)
{
    (void)u;
    return ((int (*)(void *, const char *, int64_t, int64_t, const char *))cb)(
        ctx, col_text(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2), col_text(s, 3));
}

int nw_store_each_identity(nw_store *st, int (*cb)(void *, const nw_ident_row *), void *ctx, nw_err *err)
{
    return each_rows(st, SQL_SEL_IDENTITIES, 0, false, row_ident, (void *)cb, ctx, err);
}
int nw_store_each_credential(nw_store *st, int64_t id, int (*cb)(void *, const nw_cred_row *), void *ctx,
                             nw_err *err)
{
    return each_rows(st, SQL_SEL_CREDS, id, true, row_cred, (void *)cb, ctx, err);
}
int nw_store_each_used(nw_store *st, int64_t id, int (*cb)(void *, const nw_used_row *), void *ctx, nw_err *err)
{
    return each_rows(st, SQL_SEL_USED, id, true, row_used, (void *)cb, ctx, err);
}
int nw_store_each_source(nw_store *st, int64_t id, int (*cb)(void *, const nw_source_row *), void *ctx,
                         nw_err *err)
{
    return each_rows(st, SQL_SEL_SOURCES, id, true, row_source, (void *)cb, ctx, err);
}
int nw_store_each_day(nw_store *st, int64_t id, int (*cb)(void *, const nw_day_row *), void *ctx, nw_err *err)
{
    return each_rows(st, SQL_SEL_DAYS, id, true, row_day, (void *)cb, ctx, err);
}
int nw_store_each_counter(nw_store *st, int (*cb)(void *, const char *, int64_t), void *ctx, nw_err *err)
{
    return each_rows(st, SQL_SEL_COUNTERS, 0, false, row_counter, (void *)cb, ctx, err);
}
int nw_store_each_input(nw_store *st, int (*cb)(void *, const nw_input_info *), void *ctx, nw_err *err)
{
    return each_rows(st, SQL_SEL_INPUTS, 0, false, row_input, (void *)cb, ctx, err);
}
int nw_store_each_bad(nw_store *st, int (*cb)(void *, const char *, int64_t, int64_t, const char *), void *ctx,
                      nw_err *err)
{
    return each_rows(st, SQL_SEL_BAD, 0, false, row_bad, (void *)cb, ctx, err);
}

int64_t nw_store_max_time(nw_store *st)
{
    sqlite3_stmt *s = NULL;
    int64_t v = 0;
    if (sqlite3_prepare_v2(st->db, SQL_MAX_TIME, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* ---- identity cursor ---- */

struct nw_ident_cursor {
    nw_store *st;
    sqlite3_stmt *s;
};

static void fill_ident(sqlite3_stmt *s, nw_ident_row *r)
{
    nw_ident_row x = {
        .id = sqlite3_column_int64(s, 0),
        .key = col_text(s, 1),
        .provider = col_text(s, 2),
        .type = col_text(s, 3),
        .display_name = col_text(s, 4),
        .account = col_text(s, 5),
        .tenant = col_text(s, 6),
        .first_seen = sqlite3_column_int64(s, 7),
        .last_seen = sqlite3_column_int64(s, 8),
        .last_success = sqlite3_column_int64(s, 9),
        .events = sqlite3_column_int64(s, 10),
        .successes = sqlite3_column_int64(s, 11),
        .failures = sqlite3_column_int64(s, 12),
        .denied = sqlite3_column_int64(s, 13),
        .writes = sqlite3_column_int64(s, 14),
        .privileged = sqlite3_column_int64(s, 15),
        .human_events = sqlite3_column_int64(s, 16),
        .machine_events = sqlite3_column_int64(s, 17),
        .last_ip = col_text(s, 18),
        .last_region = col_text(s, 19),
        .last_ua = col_text(s, 20),
        .last_action = col_text(s, 21),
        .last_success_ip = col_text(s, 22),
        .last_success_action = col_text(s, 23),
        .origin = col_text(s, 24),
        .last_event_id = col_text(s, 25),
        .last_success_event_id = col_text(s, 26),
    };
    *r = x;
}

int nw_store_ident_cursor(nw_store *st, nw_ident_cursor **out, nw_err *err)
{
    *out = NULL;
    nw_ident_cursor *c = calloc(1, sizeof(*c));
    if (!c)
        return nw_err_set(err, NW_STORE_E_NOMEM, "out of memory");
    int rc = sqlite3_prepare_v2(st->db, SQL_SEL_IDENTITIES, -1, &c->s, NULL);
    if (rc != SQLITE_OK) {
        free(c);
        return sql_fail(st, err, rc, "reading identities");
    }
    c->st = st;
    *out = c;
    return 0;
}

int nw_ident_cursor_next(nw_ident_cursor *c, nw_ident_row *row, nw_err *err)
{
    int rc = sqlite3_step(c->s);
    if (rc == SQLITE_ROW) {
        fill_ident(c->s, row);
        return 1;
    }
    if (rc == SQLITE_DONE)
        return 0;
    return sql_fail(c->st, err, rc, "reading identities");
}

void nw_ident_cursor_close(nw_ident_cursor *c)
{
    if (!c)
        return;
    sqlite3_finalize(c->s);
    free(c);
}

int nw_store_totals_get(nw_store *st, nw_store_totals *t, nw_err *err)
{
    memset(t, 0, sizeof(*t));
    sqlite3_stmt *s = reader(st, SQL_SEL_TOTALS, err);
    if (!s)
        return NW_STORE_E_SQL;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        t->identities = sqlite3_column_int64(s, 0);
        t->events = sqlite3_column_int64(s, 1);
        t->first_seen = sqlite3_column_int64(s, 2);
        t->last_seen = sqlite3_column_int64(s, 3);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : sql_fail(st, err, rc, "reading totals");
}

sqlite3 *nw_store_db(nw_store *st) { return st->db; }

int nw_store_each_issued(nw_store *st, int (*cb)(void *ctx, const nw_issued_row *r), void *ctx, nw_err *err)
{
    sqlite3_stmt *s = reader(st, SQL_SEL_ISSUED, err);
    if (!s)
        return NW_STORE_E_SQL;
    int rc, out = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        nw_issued_row r = {col_text(s, 0), col_text(s, 1), col_text(s, 2), col_text(s, 3), sqlite3_column_int64(s, 4),
                           col_text(s, 5)};
        if ((out = cb(ctx, &r)))
            break;
    }
    if (!out && rc != SQLITE_DONE)
        out = sql_fail(st, err, rc, "reading minted credentials");
    sqlite3_reset(s);
    return out;
}

int nw_store_each_lifecycle(nw_store *st, int (*cb)(void *ctx, const nw_lifecycle_row *r), void *ctx, nw_err *err)
{
    sqlite3_stmt *s = reader(st, SQL_SEL_LIFECYCLE, err);
    if (!s)
        return NW_STORE_E_SQL;
    int rc, out = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        nw_lifecycle_row r = {col_text(s, 0), sqlite3_column_int64(s, 1), col_text(s, 2), col_text(s, 3),
                              col_text(s, 4)};
        if ((out = cb(ctx, &r)))
            break;
    }
    if (!out && rc != SQLITE_DONE)
        out = sql_fail(st, err, rc, "reading identity lifecycle");
    sqlite3_reset(s);
    return out;
}

/* ---- report history and alert state (schema v3) ----
 * Few rows and rare calls: statements are prepared per call. */

static sqlite3_stmt *prep(nw_store *st, const char *sql, nw_err *err, int *rc)
{
    sqlite3_stmt *s = NULL;
    int prc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL);
    if (prc != SQLITE_OK) {
        *rc = sql_fail(st, err, prc, "preparing a statement");
        return NULL;
    }
    *rc = 0;
    return s;
}

int nw_store_history_add(nw_store *st, int64_t recorded_at, int64_t as_of, const char *metrics_json, nw_err *err)
{
    if (st->readonly)
        return nw_err_set(err, NW_STORE_E_READONLY, "database opened read-only");
    int rc;
    sqlite3_stmt *s = prep(st, SQL_HISTORY_ADD, err, &rc);
    if (!s)
        return rc;
    sqlite3_bind_int64(s, 1, recorded_at);
    if (as_of)
        sqlite3_bind_int64(s, 2, as_of);
    sqlite3_bind_text(s, 3, metrics_json, -1, SQLITE_STATIC);
    rc = single(st, s, err, "recording the report history");
    sqlite3_finalize(s);
    return rc;
}

int nw_store_each_history(nw_store *st, int (*cb)(void *ctx, const nw_history_row *r), void *ctx, nw_err *err)
{
    int rc;
    sqlite3_stmt *s = prep(st, SQL_SEL_HISTORY, err, &rc);
    if (!s)
        return rc;
    int out = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        nw_history_row r = {sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1), sqlite3_column_int64(s, 2),
                            col_text(s, 3)};
        if ((out = cb(ctx, &r)))
            break;
    }
    if (!out && rc != SQLITE_DONE)
        out = sql_fail(st, err, rc, "reading the report history");
    sqlite3_finalize(s);
    return out;
}

static void alert_row(sqlite3_stmt *s, nw_alert_row *r)
{
    r->id = col_text(s, 0);
    r->kind = col_text(s, 1);
    r->rule = col_text(s, 2);
    r->identity = col_text(s, 3);
    r->severity = col_text(s, 4);
    r->state = col_text(s, 5);
    r->first_alerted = sqlite3_column_int64(s, 6);
    r->last_changed = sqlite3_column_int64(s, 7);
}

int nw_store_each_alert(nw_store *st, int (*cb)(void *ctx, const nw_alert_row *r), void *ctx, nw_err *err)
{
    int rc;
    sqlite3_stmt *s = prep(st, SQL_SEL_ALERTS, err, &rc);
    if (!s)
        return rc;
    int out = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        nw_alert_row r;
        alert_row(s, &r);
        if ((out = cb(ctx, &r)))
            break;
    }
    if (!out && rc != SQLITE_DONE)
        out = sql_fail(st, err, rc, "reading the alert state");
    sqlite3_finalize(s);
    return out;
}

int nw_store_alert_get(nw_store *st, const char *id, int (*cb)(void *ctx, const nw_alert_row *r), void *ctx,
                       nw_err *err)
{
    int rc;
    sqlite3_stmt *s = prep(st, SQL_SEL_ALERT, err, &rc);
    if (!s)
        return rc;
    sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    int out = 0;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        nw_alert_row r;
        alert_row(s, &r);
        out = cb ? cb(ctx, &r) : 0;
        if (out == 0)
            out = 1;
    } else if (rc != SQLITE_DONE) {
        out = sql_fail(st, err, rc, "reading the alert state");
    }
    sqlite3_finalize(s);
    return out;
}

int nw_store_alert_put(nw_store *st, const nw_alert_row *r, nw_err *err)
{
    if (st->readonly)
        return nw_err_set(err, NW_STORE_E_READONLY, "database opened read-only");
    int rc;
    sqlite3_stmt *s = prep(st, SQL_ALERT_PUT, err, &rc);
    if (!s)
        return rc;
    sqlite3_bind_text(s, 1, r->id, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, r->kind, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, r->rule, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, r->identity, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, r->severity ? r->severity : "info", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, r->state ? r->state : "open", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, r->last_changed);
    rc = single(st, s, err, "storing the alert state");
    sqlite3_finalize(s);
    return rc;
}

void nw_store_trim(nw_store *st)
{
    if (st->in_tx)
        return;
    drop_cache(st);
    sqlite3_db_release_memory(st->db);
}
