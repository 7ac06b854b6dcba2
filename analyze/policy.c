/* policy.c - the ownership policy file. See policy.h. */
#include "policy.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../core/nw_arena.h"
#include "../core/nw_time.h"
#include "inventory.h"

#define POLICY_MAX_FILE (64L * 1024 * 1024)
#define POLICY_MAX_ROTATION_DAYS 36500

struct entry {
    nw_policy_entry e;
    nw_str match;
    bool exact; /* no '*' or '?': compare, do not glob */
};

struct nw_policy {
    struct entry *v;
    size_t n;
    nw_arena *ar; /* every string the entries point to */
};

const char *nw_policy_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case NW_POLICY_E_OPEN:
        return "cannot read the policy file";
    case NW_POLICY_E_PARSE:
        return "malformed policy file";
    case NW_POLICY_E_NOMEM:
        return "out of memory";
    }
    return "unknown error";
}

void nw_policy_free(nw_policy *p)
{
    if (!p)
        return;
    free(p->v);
    nw_arena_free(p->ar);
    free(p);
}

size_t nw_policy_count(const nw_policy *p) { return p ? p->n : 0; }

const nw_policy_entry *nw_policy_entry_at(const nw_policy *p, size_t i)
{
    return p && i < p->n ? &p->v[i].e : NULL;
}

const nw_policy_entry *nw_policy_match(const nw_policy *p, const char *key)
{
    if (!p || !key)
        return NULL;
    nw_str k = nw_str_c(key);
    /* AWS names are case-sensitive; Azure / GCP keys and emails are not */
    bool icase = !nw_str_starts(k, "arn:");
    for (size_t i = 0; i < p->n; i++) {
        const struct entry *e = &p->v[i];
        if (e->exact ? (icase ? nw_str_ieqs(k, e->match) : nw_str_eqs(k, e->match))
                     : nw_glob_match(e->match, k, icase))
            return &e->e;
    }
    return NULL;
}

static const char *dup(nw_policy *p, const char *s)
{
    nw_str d = nw_arena_dup(p->ar, nw_str_c(s));
    return d.p ? d.p : "";
}

static const char *const entry_fields[] = {"match", "owner", "expires", "rotation_days", "jit", "tags", "description"};
static const char *const top_fields[] = {"version", "identities", "description"};

static bool known(const char *k, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(k, v[i]) == 0)
            return true;
    return false;
}

static const char *jtype(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "something else";
}

#define BAD(...)                                                                                     \
    do {                                                                                             \
        rc = nw_err_set(err, NW_POLICY_E_PARSE, __VA_ARGS__);                                        \
        goto out_free;                                                                               \
    } while (0)

static int parse_entry(nw_policy *p, size_t i, json_t *o, nw_err *err)
{
    int rc = 0;
    struct entry *en = &p->v[i];
    memset(en, 0, sizeof *en);
    en->e.index = (int)i;
    en->e.jit = -1;
    if (!json_is_object(o))
        BAD("identities[%zu]: must be an object, not %s", i, jtype(o));
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        if (!known(k, entry_fields, sizeof entry_fields / sizeof entry_fields[0]))
            BAD("identities[%zu]: unknown field '%s' (known: match, owner, expires, rotation_days, jit, tags, "
                "description)",
                i, k);
    }
    json_t *m = json_object_get(o, "match");
    if (!m)
        BAD("identities[%zu].match: missing (an identity key or a glob)", i);
    if (!json_is_string(m) || json_string_length(m) == 0)
        BAD("identities[%zu].match: must be a non-empty string, not %s", i,
            json_is_string(m) ? "an empty string" : jtype(m));
    if (strlen(json_string_value(m)) != json_string_length(m))
        BAD("identities[%zu].match: contains a NUL character", i);
    en->e.match = dup(p, json_string_value(m));
    en->match = nw_str_c(en->e.match);
    en->exact = strpbrk(en->e.match, "*?") == NULL;

    if ((v = json_object_get(o, "owner")) && !json_is_null(v)) {
        if (!json_is_string(v) || json_string_length(v) == 0)
            BAD("identities[%zu].owner: must be a non-empty string or null, not %s", i,
                json_is_string(v) ? "an empty string" : jtype(v));
        en->e.owner = dup(p, json_string_value(v));
    }
    if ((v = json_object_get(o, "expires")) && !json_is_null(v)) {
        int64_t t = 0;
        if (!json_is_string(v) || nw_time_parse(nw_str_c(json_string_value(v)), &t) || t <= 0)
            BAD("identities[%zu].expires: must be a date (\"2027-01-01\") or an RFC 3339 time, not %s%s%s%s", i,
                jtype(v), json_is_string(v) ? " '" : "", json_is_string(v) ? json_string_value(v) : "",
                json_is_string(v) ? "'" : "");
        en->e.expires = t;
    }
    if ((v = json_object_get(o, "rotation_days")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > POLICY_MAX_ROTATION_DAYS)
            BAD("identities[%zu].rotation_days: must be an integer from 0 (none) to %d, not %s", i,
                POLICY_MAX_ROTATION_DAYS, json_is_integer(v) ? "out of range" : jtype(v));
        en->e.rotation_days = (int)json_integer_value(v);
    }
    if ((v = json_object_get(o, "jit")) && !json_is_null(v)) {
        if (!json_is_boolean(v))
            BAD("identities[%zu].jit: must be true or false, not %s", i, jtype(v));
        en->e.jit = json_is_true(v) ? 1 : 0;
    }
    if ((v = json_object_get(o, "tags")) && !json_is_null(v)) {
        if (!json_is_object(v))
            BAD("identities[%zu].tags: must be an object of strings, not %s", i, jtype(v));
        const char *tk;
        json_t *tv;
        json_object_foreach(v, tk, tv)
        {
            if (!json_is_string(tv))
                BAD("identities[%zu].tags.%s: must be a string, not %s", i, tk, jtype(tv));
        }
        char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        if (!s) {
            rc = nw_err_set(err, NW_POLICY_E_NOMEM, "out of memory");
            goto out_free;
        }
        en->e.tags_json = dup(p, s);
        free(s);
    }
    if ((v = json_object_get(o, "description")) && !json_is_null(v) && !json_is_string(v))
        BAD("identities[%zu].description: must be a string, not %s", i, jtype(v));
out_free:
    return rc;
}

int nw_policy_parse(const char *buf, size_t len, const char *name, nw_policy **out, nw_err *err)
{
    *out = NULL;
    if (err)
        snprintf(err->source, sizeof err->source, "%s", name ? name : "policy");
    int rc = 0;
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    nw_policy *p = calloc(1, sizeof *p);
    if (!p || !(p->ar = nw_arena_new(16 * 1024))) {
        rc = nw_err_set(err, NW_POLICY_E_NOMEM, "out of memory");
        goto out_free;
    }
    if (!root) {
        if (err) {
            err->line = jerr.line > 0 ? jerr.line : 0;
            err->offset = jerr.position;
        }
        BAD("column %d: %s (not valid JSON)", jerr.column, jerr.text);
    }
    if (!json_is_object(root))
        BAD("the policy must be a JSON object {\"version\": 1, \"identities\": [...]}, not %s", jtype(root));
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        if (!known(k, top_fields, sizeof top_fields / sizeof top_fields[0]))
            BAD("unknown top-level field '%s' (known: version, identities, description)", k);
    }
    v = json_object_get(root, "version");
    if (!v)
        BAD("version: missing (this nhiwatch reads version 1)");
    if (!json_is_integer(v))
        BAD("version: must be the number 1, not %s", jtype(v));
    if (json_integer_value(v) != 1)
        BAD("version: this nhiwatch reads version 1, the file says %lld", (long long)json_integer_value(v));
    json_t *ids = json_object_get(root, "identities");
    if (!ids)
        BAD("identities: missing (an array of entries)");
    if (!json_is_array(ids))
        BAD("identities: must be an array, not %s", jtype(ids));
    size_t n = json_array_size(ids);
    if (n) {
        p->v = calloc(n, sizeof *p->v);
        if (!p->v) {
            rc = nw_err_set(err, NW_POLICY_E_NOMEM, "out of memory");
            goto out_free;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if ((rc = parse_entry(p, i, json_array_get(ids, i), err)))
            goto out_free;
        p->n = i + 1;
    }
    json_decref(root);
    *out = p;
    return 0;
out_free:
    json_decref(root);
    nw_policy_free(p);
    return rc;
}

int nw_policy_load(const char *path, nw_policy **out, nw_err *err)
{
    *out = NULL;
    if (err)
        snprintf(err->source, sizeof err->source, "%s", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return nw_err_set(err, NW_POLICY_E_OPEN, "cannot open the policy file: %s", strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(f);
        return nw_err_set(err, NW_POLICY_E_OPEN, "the policy file is not a regular file");
    }
    if (sb.st_size > POLICY_MAX_FILE) {
        fclose(f);
        return nw_err_set(err, NW_POLICY_E_OPEN, "the policy file is %lld bytes, over the %ld byte limit",
                          (long long)sb.st_size, POLICY_MAX_FILE);
    }
    size_t n = (size_t)sb.st_size;
    char *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return nw_err_set(err, NW_POLICY_E_NOMEM, "out of memory");
    }
    size_t got = fread(buf, 1, n, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr || got != n) {
        free(buf);
        return nw_err_set(err, NW_POLICY_E_OPEN, "cannot read the policy file (read %zu of %zu bytes)", got, n);
    }
    int rc = nw_policy_parse(buf, n, path, out, err);
    free(buf);
    return rc;
}
