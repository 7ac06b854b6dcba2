/* inventory_sql.h - the SQL of inventory.c, as named constants.
 *
 * Every row remembers the file it came from (`source`, the real path):
 * importing a file deletes that file's rows and inserts the new ones in one
 * transaction. The same identity may be described by several files (an
 * authorization-details export and a credential report); readers merge the
 * rows of one key, preferring the row with the highest `rank` (3 the
 * identity's own listing, 2 a credential report, 1 a mention in a grant or
 * key list). Times are microseconds since the epoch, NULL when unknown.
 */
#ifndef NW_INVENTORY_SQL_H
#define NW_INVENTORY_SQL_H

/* Schema version 2 (store.c's migration list). */
#define SQL_SCHEMA_V2                                                                                \
    "CREATE TABLE inv_identity("                                                                     \
    " key TEXT NOT NULL, source TEXT NOT NULL,"                                                      \
    " provider TEXT NOT NULL, type TEXT NOT NULL, rank INTEGER NOT NULL,"                            \
    " display_name TEXT, account TEXT, tenant TEXT, object_id TEXT, app_id TEXT,"                    \
    " created INTEGER, last_used INTEGER, disabled INTEGER NOT NULL DEFAULT 0,"                      \
    " console INTEGER NOT NULL DEFAULT -1, mfa INTEGER NOT NULL DEFAULT -1,"                         \
    " trust TEXT, tags TEXT,"                                                                        \
    " PRIMARY KEY(key, source)) WITHOUT ROWID;"                                                      \
    "CREATE INDEX inv_identity_source ON inv_identity(source);"                                      \
    "CREATE INDEX inv_identity_object ON inv_identity(object_id) WHERE object_id IS NOT NULL;"       \
    "CREATE INDEX inv_identity_app ON inv_identity(app_id) WHERE app_id IS NOT NULL;"                \
    "CREATE TABLE inv_credential("                                                                   \
    " identity_key TEXT NOT NULL, cred_id TEXT NOT NULL, source TEXT NOT NULL,"                      \
    " kind TEXT NOT NULL, active INTEGER NOT NULL,"                                                  \
    " created INTEGER, rotated INTEGER, expires INTEGER, last_used INTEGER,"                         \
    " last_used_service TEXT, last_used_region TEXT,"                                                \
    " PRIMARY KEY(identity_key, cred_id, source)) WITHOUT ROWID;"                                    \
    "CREATE INDEX inv_credential_source ON inv_credential(source);"                                  \
    "CREATE TABLE inv_grant("                                                                        \
    " seq INTEGER PRIMARY KEY, identity_key TEXT NOT NULL, source TEXT NOT NULL,"                    \
    " effect TEXT NOT NULL, action TEXT NOT NULL, not_action INTEGER NOT NULL,"                      \
    " resource TEXT NOT NULL, not_resource INTEGER NOT NULL, via TEXT NOT NULL,"                     \
    " conditional INTEGER NOT NULL, admin INTEGER NOT NULL);"                                        \
    "CREATE UNIQUE INDEX inv_grant_row ON inv_grant(identity_key, source, via, effect, action,"      \
    " not_action, resource, not_resource, conditional);"                                             \
    "CREATE INDEX inv_grant_source ON inv_grant(source);"                                            \
    "CREATE TABLE inv_role_perm("                                                                    \
    " provider TEXT NOT NULL, role TEXT NOT NULL, role_id TEXT, perm TEXT NOT NULL,"                 \
    " not_perm INTEGER NOT NULL, data INTEGER NOT NULL, source TEXT NOT NULL,"                       \
    " PRIMARY KEY(provider, role, perm, not_perm, data, source)) WITHOUT ROWID;"                     \
    "CREATE INDEX inv_role_perm_source ON inv_role_perm(source);"                                    \
    "CREATE INDEX inv_role_perm_id ON inv_role_perm(role_id) WHERE role_id IS NOT NULL;"

/* ---- import: replace one source's rows ---- */

#define SQL_INV_DEL_IDENTITY "DELETE FROM inv_identity WHERE source = ?1"
#define SQL_INV_DEL_CRED "DELETE FROM inv_credential WHERE source = ?1"
#define SQL_INV_DEL_GRANT "DELETE FROM inv_grant WHERE source = ?1"
#define SQL_INV_DEL_ROLE_PERM "DELETE FROM inv_role_perm WHERE source = ?1"

/* The same identity mentioned twice in one file: keep what is known; a
 * live mention beats a deleted: one; the most authoritative type wins. */
#define SQL_INV_IDENTITY_UPSERT                                                                      \
    "INSERT INTO inv_identity(key, source, provider, type, rank, display_name, account, tenant,"     \
    " object_id, app_id, created, last_used, disabled, console, mfa, trust, tags)"                   \
    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17)"                            \
    " ON CONFLICT(key, source) DO UPDATE SET"                                                        \
    " type = CASE WHEN excluded.rank > rank THEN excluded.type ELSE type END,"                       \
    " rank = MAX(rank, excluded.rank),"                                                              \
    " display_name = COALESCE(display_name, excluded.display_name),"                                 \
    " account = COALESCE(account, excluded.account), tenant = COALESCE(tenant, excluded.tenant),"    \
    " object_id = COALESCE(object_id, excluded.object_id), app_id = COALESCE(app_id, excluded.app_id)," \
    " created = CASE WHEN created IS NULL OR excluded.created < created THEN COALESCE(excluded.created, created)" \
    "   ELSE created END,"                                                                           \
    " last_used = CASE WHEN last_used IS NULL OR excluded.last_used > last_used"                     \
    "   THEN COALESCE(excluded.last_used, last_used) ELSE last_used END,"                            \
    " disabled = MIN(disabled, excluded.disabled),"                                                  \
    " console = MAX(console, excluded.console), mfa = MAX(mfa, excluded.mfa),"                       \
    " trust = COALESCE(trust, excluded.trust), tags = COALESCE(tags, excluded.tags)"

#define SQL_INV_CRED_UPSERT                                                                          \
    "INSERT INTO inv_credential(identity_key, cred_id, source, kind, active, created, rotated,"      \
    " expires, last_used, last_used_service, last_used_region)"                                      \
    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11)"                                                    \
    " ON CONFLICT(identity_key, cred_id, source) DO UPDATE SET"                                      \
    " kind = excluded.kind, active = excluded.active,"                                               \
    " created = COALESCE(excluded.created, created), rotated = COALESCE(excluded.rotated, rotated),"  \
    " expires = COALESCE(excluded.expires, expires), last_used = COALESCE(excluded.last_used, last_used)," \
    " last_used_service = COALESCE(excluded.last_used_service, last_used_service),"                  \
    " last_used_region = COALESCE(excluded.last_used_region, last_used_region)"

#define SQL_INV_GRANT_INSERT                                                                         \
    "INSERT OR IGNORE INTO inv_grant(identity_key, source, effect, action, not_action, resource,"    \
    " not_resource, via, conditional, admin) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"

#define SQL_INV_ROLE_PERM_INSERT                                                                     \
    "INSERT OR IGNORE INTO inv_role_perm(provider, role, role_id, perm, not_perm, data, source)"     \
    " VALUES(?1,?2,?3,?4,?5,?6,?7)"

/* Resolving Azure object ids and role ids, AWS user names, GCP unique ids
 * against what earlier imports (and the logs) know. */
#define SQL_INV_BY_OBJECT                                                                            \
    "SELECT key FROM inv_identity WHERE object_id = ?1 AND provider = ?2 AND key NOT LIKE 'azure:*/%'" \
    " ORDER BY rank DESC, key LIMIT 1"
#define SQL_INV_ROLE_NAME "SELECT role FROM inv_role_perm WHERE role_id = ?1 AND provider = ?2 LIMIT 1"
#define SQL_INV_AWS_USERS                                                                            \
    "SELECT key FROM inv_identity WHERE provider = 'aws' AND type = 'iam_user'"                      \
    " UNION SELECT key FROM identity WHERE provider = 'aws' AND type = 'iam_user'"
#define SQL_INV_AZURE_LOG_KEYS "SELECT key FROM identity WHERE provider = 'azure' AND key LIKE 'azure:%/%'"

/* ---- reading ---- */

/* ekey: an `azure:*` key resolved to the `azure:<tenant>/` key of the same
 * object when one is known. Application rows whose service principal is
 * known are folded into it (their credentials are read with it). */
#define SQL_INV_SEL_IDENTITIES                                                                       \
    "SELECT COALESCE(CASE WHEN i.key LIKE 'azure:*/%' THEN (SELECT r.key FROM inv_identity r"        \
    "   WHERE r.object_id = i.object_id AND r.provider = 'azure' AND r.key NOT LIKE 'azure:*/%'"     \
    "   ORDER BY r.rank DESC, r.key LIMIT 1) END, i.key) AS ekey,"                                   \
    " i.provider, i.type, i.rank, i.display_name, i.account, i.tenant, i.object_id, i.app_id,"       \
    " i.created, i.last_used, i.disabled, i.console, i.mfa, i.trust, i.tags, i.source"               \
    " FROM inv_identity i"                                                                           \
    " WHERE NOT (i.type = 'application' AND EXISTS(SELECT 1 FROM inv_identity s"                     \
    "   WHERE s.app_id = i.app_id AND s.type <> 'application'))"                                     \
    " ORDER BY ekey, i.rank DESC, i.source"

/* ?1 the key, ?2 the `azure:*` / `arn:aws:iam::*` form of it (or NULL),
 * ?3 the application key whose credentials the identity uses (or NULL). */
#define SQL_INV_SEL_CREDS                                                                            \
    "SELECT identity_key, cred_id, kind, active, created, rotated, expires, last_used,"              \
    " last_used_service, last_used_region, source FROM inv_credential"                               \
    " WHERE identity_key IN (?1, ?2, ?3) ORDER BY cred_id, source"

#define SQL_INV_SEL_APP_ID                                                                           \
    "SELECT app_id FROM inv_identity WHERE key IN (?1, ?2) AND app_id IS NOT NULL"                   \
    " AND type <> 'application' LIMIT 1"

#define SQL_INV_SEL_GRANTS                                                                           \
    "SELECT identity_key, effect, action, not_action, resource, not_resource, via, conditional,"     \
    " admin, source, seq FROM inv_grant WHERE identity_key IN (?1, ?2) ORDER BY seq"

#define SQL_INV_SEL_ROLE_PERMS                                                                       \
    "SELECT DISTINCT perm, not_perm FROM inv_role_perm"                                              \
    " WHERE provider = ?1 AND (role = ?2 OR role_id = lower(?2)) AND data = 0 ORDER BY not_perm, perm"

#define SQL_INV_COUNT_ROWS                                                                           \
    "SELECT (SELECT count(*) FROM inv_identity WHERE source = ?1),"                                  \
    " (SELECT count(*) FROM inv_credential WHERE source = ?1),"                                      \
    " (SELECT count(*) FROM inv_grant WHERE source = ?1),"                                          \
    " (SELECT count(*) FROM inv_role_perm WHERE source = ?1)"

#endif
