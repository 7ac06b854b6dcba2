/* store_sql.h - the SQL of store.c, as named constants. */
#ifndef NW_STORE_SQL_H
#define NW_STORE_SQL_H

/* 'nhiw' */
#define NW_APPLICATION_ID 0x6e686977

#define SQL_PRAGMAS                                                                                  \
    "PRAGMA journal_mode=WAL;"                                                                       \
    "PRAGMA synchronous=NORMAL;"                                                                     \
    "PRAGMA temp_store=MEMORY;"                                                                      \
    "PRAGMA cache_size=-32768;"                                                                      \
    /* 32 MB of WAL between checkpoints instead of 4 MB: a page that many \
     * batches touch (an identity's rows) is copied to the database once  \
     * per checkpoint, not once per few batches */                        \
    "PRAGMA wal_autocheckpoint=8192;"                                                                \
    "PRAGMA foreign_keys=OFF;"

/* Schema version 1. Migrations to later versions append to store.c's table. */
#define SQL_SCHEMA_V1                                                                                \
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;"                             \
    "CREATE TABLE identity("                                                                         \
    " id INTEGER PRIMARY KEY,"                                                                       \
    " key TEXT NOT NULL UNIQUE,"                                                                     \
    " provider TEXT NOT NULL,"                                                                       \
    " type TEXT NOT NULL,"                                                                           \
    " display_name TEXT, account TEXT, tenant TEXT,"                                                 \
    " first_seen INTEGER, last_seen INTEGER, last_success INTEGER,"                                  \
    " events INTEGER NOT NULL DEFAULT 0, successes INTEGER NOT NULL DEFAULT 0,"                      \
    " failures INTEGER NOT NULL DEFAULT 0, denied INTEGER NOT NULL DEFAULT 0,"                       \
    " writes INTEGER NOT NULL DEFAULT 0, privileged INTEGER NOT NULL DEFAULT 0,"                     \
    " human_events INTEGER NOT NULL DEFAULT 0, machine_events INTEGER NOT NULL DEFAULT 0,"           \
    " last_ip TEXT, last_region TEXT, last_ua TEXT, last_action TEXT,"                               \
    " last_success_ip TEXT, last_success_action TEXT, origin TEXT,"                                  \
    " last_event_id TEXT, last_success_event_id TEXT);"                                 \
    "CREATE TABLE credential("                                                                       \
    " identity_id INTEGER NOT NULL, cred_id TEXT NOT NULL, kind TEXT NOT NULL,"                      \
    " first_seen INTEGER, last_seen INTEGER, events INTEGER NOT NULL DEFAULT 0,"                     \
    " PRIMARY KEY(identity_id, cred_id)) WITHOUT ROWID;"                                             \
    "CREATE TABLE activity_daily("                                                                   \
    " identity_id INTEGER NOT NULL, day INTEGER NOT NULL,"                                           \
    " events INTEGER NOT NULL, failures INTEGER NOT NULL, denied INTEGER NOT NULL,"                  \
    " writes INTEGER NOT NULL, privileged INTEGER NOT NULL,"                                         \
    " first_time INTEGER, first_event_id TEXT, successes INTEGER NOT NULL DEFAULT 0,"                \
    " PRIMARY KEY(identity_id, day)) WITHOUT ROWID;"                                                 \
    "CREATE TABLE action_used("                                                                      \
    " identity_id INTEGER NOT NULL, action TEXT NOT NULL, service TEXT NOT NULL,"                    \
    " first_seen INTEGER, last_seen INTEGER, count INTEGER NOT NULL, successes INTEGER NOT NULL,"    \
    " first_event_id TEXT, last_event_id TEXT, privileged INTEGER NOT NULL DEFAULT 0,"               \
    " PRIMARY KEY(identity_id, action)) WITHOUT ROWID;"                                              \
    "CREATE TABLE source_seen("                                                                      \
    " identity_id INTEGER NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,"                        \
    " first_seen INTEGER, last_seen INTEGER, count INTEGER NOT NULL, first_event_id TEXT,"          \
    " PRIMARY KEY(identity_id, kind, value)) WITHOUT ROWID;"                                         \
    "CREATE TABLE event_seen(time INTEGER NOT NULL, id BLOB NOT NULL,"                               \
    " PRIMARY KEY(time, id)) WITHOUT ROWID;"                                                         \
    "CREATE TABLE input_file(path TEXT PRIMARY KEY, size INTEGER, mtime INTEGER, format TEXT,"       \
    " records INTEGER, events INTEGER, duplicates INTEGER, skipped INTEGER, bad INTEGER,"            \
    " status TEXT, reads INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;"                                 \
    "CREATE TABLE counter(name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;"             \
    "CREATE TABLE bad_input(seq INTEGER PRIMARY KEY, source TEXT, line INTEGER, record INTEGER,"     \
    " reason TEXT);"                                                                                 \
    "CREATE TABLE kafka_offset(topic TEXT NOT NULL, partition INTEGER NOT NULL,"                     \
    " next_offset INTEGER NOT NULL, PRIMARY KEY(topic, partition)) WITHOUT ROWID;"                    \
    "CREATE TABLE issued(cred_id TEXT PRIMARY KEY, origin_key TEXT NOT NULL, target_key TEXT,"       \
    " action TEXT, time INTEGER, event_id TEXT) WITHOUT ROWID;"                                      \
    "CREATE TABLE lifecycle(target_key TEXT NOT NULL, time INTEGER NOT NULL, creator_key TEXT NOT NULL," \
    " action TEXT, event_id TEXT, PRIMARY KEY(target_key, time, creator_key)) WITHOUT ROWID;"

#define SQL_ISSUED_ADD                                                                               \
    "INSERT OR IGNORE INTO issued(cred_id, origin_key, target_key, action, time, event_id)"          \
    " VALUES(?1,?2,?3,?4,?5,?6)"
#define SQL_LIFECYCLE_ADD                                                                            \
    "INSERT OR IGNORE INTO lifecycle(target_key, time, creator_key, action, event_id) VALUES(?1,?2,?3,?4,?5)"
#define SQL_SEL_ISSUED "SELECT cred_id, origin_key, target_key, action, time, event_id FROM issued ORDER BY cred_id"
#define SQL_SEL_LIFECYCLE                                                                            \
    "SELECT target_key, time, creator_key, action, event_id FROM lifecycle ORDER BY target_key, time, creator_key"

#define SQL_EVENT_SEEN "INSERT OR IGNORE INTO event_seen(time, id) VALUES(?1, ?2)"

#define SQL_IDENT_FIND                                                                               \
    "SELECT id, first_seen, last_seen, last_success, events, privileged, human_events, machine_events" \
    " FROM identity WHERE key = ?1"

#define SQL_IDENT_INSERT "INSERT INTO identity(key, provider, type, display_name, account, tenant) VALUES(?1,?2,?3,?4,?5,?6)"

/* ?1 id, ?2 type, ?3 display, ?4 account, ?5 tenant, ?6 first, ?7 last, ?8 last_success (NULL if none),
 * ?9 events ?10 successes ?11 failures ?12 denied ?13 writes ?14 privileged ?15 human ?16 machine,
 * ?17 last_ip ?18 last_region ?19 last_ua ?20 last_action (of the batch's newest event),
 * ?21 last_success_ip ?22 last_success_action, ?23 origin */
#define SQL_IDENT_UPDATE                                                                             \
    "UPDATE identity SET"                                                                            \
    " type = CASE WHEN type = 'unknown' AND ?2 IS NOT NULL THEN ?2 ELSE type END,"                   \
    " display_name = CASE WHEN ?3 IS NOT NULL AND (display_name IS NULL OR ?3 < display_name)"      \
    "   THEN ?3 ELSE display_name END,"                                                              \
    " account = CASE WHEN ?4 IS NOT NULL AND (account IS NULL OR ?4 < account) THEN ?4 ELSE account END," \
    " tenant = CASE WHEN ?5 IS NOT NULL AND (tenant IS NULL OR ?5 < tenant) THEN ?5 ELSE tenant END," \
    " last_ip = CASE WHEN last_seen IS NULL OR ?7 > last_seen OR (?7 = last_seen AND ?17 > last_ip)" \
    "   THEN ?17 ELSE last_ip END,"                                                                  \
    " last_region = CASE WHEN last_seen IS NULL OR ?7 > last_seen OR (?7 = last_seen AND ?18 > last_region)" \
    "   THEN ?18 ELSE last_region END,"                                                              \
    " last_ua = CASE WHEN last_seen IS NULL OR ?7 > last_seen OR (?7 = last_seen AND ?19 > last_ua)" \
    "   THEN ?19 ELSE last_ua END,"                                                                  \
    " last_action = CASE WHEN last_seen IS NULL OR ?7 > last_seen OR (?7 = last_seen AND ?20 > last_action)" \
    "   THEN ?20 ELSE last_action END,"                                                              \
    " last_success_ip = CASE WHEN ?8 IS NOT NULL AND (last_success IS NULL OR ?8 > last_success"     \
    "   OR (?8 = last_success AND ?21 > last_success_ip)) THEN ?21 ELSE last_success_ip END,"       \
    " last_success_action = CASE WHEN ?8 IS NOT NULL AND (last_success IS NULL OR ?8 > last_success" \
    "   OR (?8 = last_success AND ?22 > last_success_action)) THEN ?22 ELSE last_success_action END," \
    " origin = CASE WHEN ?23 IS NOT NULL AND (origin IS NULL OR ?23 < origin) THEN ?23 ELSE origin END," \
    " last_event_id = CASE WHEN last_seen IS NULL OR ?7 > last_seen OR (?7 = last_seen AND ?24 > last_event_id)" \
    "   THEN ?24 ELSE last_event_id END,"                                                            \
    " last_success_event_id = CASE WHEN ?8 IS NOT NULL AND (last_success IS NULL OR ?8 > last_success" \
    "   OR (?8 = last_success AND ?25 > last_success_event_id)) THEN ?25 ELSE last_success_event_id END,"                                                               \
    " first_seen = CASE WHEN first_seen IS NULL OR ?6 < first_seen THEN ?6 ELSE first_seen END,"     \
    " last_seen = CASE WHEN last_seen IS NULL OR ?7 > last_seen THEN ?7 ELSE last_seen END,"         \
    " last_success = CASE WHEN ?8 IS NOT NULL AND (last_success IS NULL OR ?8 > last_success)"      \
    "   THEN ?8 ELSE last_success END,"                                                              \
    " events = events + ?9, successes = successes + ?10, failures = failures + ?11,"                 \
    " denied = denied + ?12, writes = writes + ?13, privileged = privileged + ?14,"                  \
    " human_events = human_events + ?15, machine_events = machine_events + ?16"                      \
    " WHERE id = ?1"

#define SQL_CRED_UPSERT                                                                              \
    "INSERT INTO credential(identity_id, cred_id, kind, first_seen, last_seen, events)"              \
    " VALUES(?1,?2,?3,?4,?5,?6) ON CONFLICT(identity_id, cred_id) DO UPDATE SET"                     \
    " first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen)," \
    " events = events + excluded.events"

#define SQL_DAY_UPSERT                                                                               \
    "INSERT INTO activity_daily(identity_id, day, events, failures, denied, writes, privileged,"    \
    " first_time, first_event_id, successes) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"                \
    " ON CONFLICT(identity_id, day) DO UPDATE SET"                                                   \
    " first_event_id = CASE WHEN excluded.first_time < first_time OR (excluded.first_time = first_time" \
    "   AND excluded.first_event_id < first_event_id) THEN excluded.first_event_id ELSE first_event_id END," \
    " first_time = MIN(first_time, excluded.first_time), successes = successes + excluded.successes," \
    " events = events + excluded.events, failures = failures + excluded.failures,"                   \
    " denied = denied + excluded.denied, writes = writes + excluded.writes,"                         \
    " privileged = privileged + excluded.privileged"

#define SQL_ACTION_UPSERT                                                                            \
    "INSERT INTO action_used(identity_id, action, service, first_seen, last_seen, count, successes,"  \
    " first_event_id, last_event_id, privileged) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"            \
    " ON CONFLICT(identity_id, action) DO UPDATE SET"                                                \
    " privileged = MAX(privileged, excluded.privileged),"                                            \
    " first_event_id = CASE WHEN excluded.first_seen < first_seen THEN excluded.first_event_id"      \
    "   ELSE first_event_id END,"                                                                    \
    " last_event_id = CASE WHEN excluded.last_seen > last_seen THEN excluded.last_event_id"          \
    "   ELSE last_event_id END,"                                                                     \
    " first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen)," \
    " count = count + excluded.count, successes = successes + excluded.successes"

#define SQL_SOURCE_UPSERT                                                                            \
    "INSERT INTO source_seen(identity_id, kind, value, first_seen, last_seen, count, first_event_id)" \
    " VALUES(?1,?2,?3,?4,?5,?6,?7) ON CONFLICT(identity_id, kind, value) DO UPDATE SET"             \
    " first_event_id = CASE WHEN excluded.first_seen < first_seen THEN excluded.first_event_id"      \
    "   ELSE first_event_id END,"                                                                    \
    " first_seen = MIN(first_seen, excluded.first_seen), last_seen = MAX(last_seen, excluded.last_seen)," \
    " count = count + excluded.count"

#define SQL_OFFSET_UPSERT                                                                            \
    "INSERT INTO kafka_offset(topic, partition, next_offset) VALUES(?1,?2,?3)"                      \
    " ON CONFLICT(topic, partition) DO UPDATE SET next_offset = excluded.next_offset"

#define SQL_OFFSET_GET "SELECT next_offset FROM kafka_offset WHERE topic = ?1 AND partition = ?2"

#define SQL_COUNTER_ADD                                                                              \
    "INSERT INTO counter(name, value) VALUES(?1, ?2)"                                                \
    " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value"

#define SQL_INPUT_UPSERT                                                                             \
    "INSERT INTO input_file(path, size, mtime, format, records, events, duplicates, skipped, bad, status)" \
    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10) ON CONFLICT(path) DO UPDATE SET"                       \
    " size = excluded.size, mtime = excluded.mtime, format = excluded.format,"                       \
    " records = excluded.records, events = excluded.events, duplicates = excluded.duplicates,"      \
    " skipped = excluded.skipped, bad = excluded.bad, status = excluded.status, reads = reads + 1"

#define SQL_BAD_INSERT "INSERT INTO bad_input(source, line, record, reason) VALUES(?1,?2,?3,?4)"
#define SQL_BAD_TRIM "DELETE FROM bad_input WHERE seq <= (SELECT MAX(seq) FROM bad_input) - 1000"

#define SQL_MAX_TIME "SELECT value FROM meta WHERE key = 'max_event_time'"
#define SQL_MAX_TIME_SET                                                                             \
    "INSERT INTO meta(key, value) VALUES('max_event_time', ?1) ON CONFLICT(key) DO UPDATE SET"       \
    " value = CASE WHEN CAST(value AS INTEGER) < CAST(excluded.value AS INTEGER) THEN excluded.value ELSE value END"

#define SQL_SEL_IDENTITIES                                                                           \
    "SELECT id, key, provider, type, display_name, account, tenant, first_seen, last_seen,"          \
    " last_success, events, successes, failures, denied, writes, privileged, human_events,"          \
    " machine_events, last_ip, last_region, last_ua, last_action, last_success_ip,"                  \
    " last_success_action, origin, last_event_id, last_success_event_id FROM identity ORDER BY key"
#define SQL_SEL_CREDS                                                                                \
    "SELECT cred_id, kind, first_seen, last_seen, events FROM credential WHERE identity_id = ?1"     \
    " ORDER BY cred_id"
#define SQL_SEL_USED                                                                                 \
    "SELECT service, action, first_seen, last_seen, count, successes, first_event_id, last_event_id," \
    " privileged FROM action_used"                                                                   \
    " WHERE identity_id = ?1 ORDER BY action"
#define SQL_SEL_SOURCES                                                                              \
    "SELECT kind, value, first_seen, last_seen, count, first_event_id FROM source_seen"              \
    " WHERE identity_id = ?1"                                                                        \
    " ORDER BY kind, value"
#define SQL_SEL_DAYS                                                                                 \
    "SELECT day, events, failures, denied, writes, privileged, first_time, first_event_id, successes" \
    " FROM activity_daily"                                                                           \
    " WHERE identity_id = ?1 ORDER BY day"
#define SQL_SEL_TOTALS                                                                               \
    "SELECT count(*), COALESCE(sum(events), 0), COALESCE(min(first_seen), 0), COALESCE(max(last_seen), 0)" \
    " FROM identity"
#define SQL_SEL_COUNTERS "SELECT name, value FROM counter ORDER BY name"
#define SQL_SEL_INPUTS                                                                               \
    "SELECT path, size, mtime, format, records, events, duplicates, skipped, bad, status"            \
    " FROM input_file ORDER BY path"
#define SQL_SEL_BAD "SELECT source, line, record, reason FROM bad_input ORDER BY seq"

/* Schema version 3: report history (`report --record`, `trend`) and the
 * state of every finding and control that was alerted (de-duplication of
 * SIEM alerts across runs: reports/alerts.c). */
#define SQL_SCHEMA_V3                                                                                \
    "CREATE TABLE report_history(seq INTEGER PRIMARY KEY, recorded_at INTEGER NOT NULL,"             \
    " as_of INTEGER, metrics TEXT NOT NULL);"                                                        \
    "CREATE TABLE alert_state(id TEXT PRIMARY KEY, kind TEXT, rule TEXT, identity TEXT,"             \
    " severity TEXT NOT NULL, state TEXT NOT NULL, first_alerted INTEGER NOT NULL,"                  \
    " last_changed INTEGER NOT NULL) WITHOUT ROWID;"

#define SQL_HISTORY_ADD "INSERT INTO report_history(recorded_at, as_of, metrics) VALUES(?1, ?2, ?3)"
#define SQL_SEL_HISTORY "SELECT seq, recorded_at, as_of, metrics FROM report_history ORDER BY as_of, seq"
#define SQL_ALERT_PUT                                                                                \
    "INSERT INTO alert_state(id, kind, rule, identity, severity, state, first_alerted, last_changed)" \
    " VALUES(?1,?2,?3,?4,?5,?6,?7,?7) ON CONFLICT(id) DO UPDATE SET kind = excluded.kind,"          \
    " rule = excluded.rule, identity = excluded.identity, severity = excluded.severity,"             \
    " state = excluded.state, last_changed = excluded.last_changed"
#define SQL_SEL_ALERTS                                                                               \
    "SELECT id, kind, rule, identity, severity, state, first_alerted, last_changed FROM alert_state" \
    " ORDER BY id"
#define SQL_SEL_ALERT                                                                                \
    "SELECT id, kind, rule, identity, severity, state, first_alerted, last_changed FROM alert_state" \
    " WHERE id = ?1"

#endif
