/* rules.c - the rule set: loading and validating rules/ and the lookups the
 * detectors use. See rules.h and docs/rules.md.
 *
 * jansson keeps no positions of values, so the line of a bad value is found
 * by walking the (already validated) JSON text along the value's path
 * (rules[3].params.dormant_days): exact even when the same text appears
 * elsewhere in the file.
 */
#include "rules.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#ifndef NW_RULES_DIR
#define NW_RULES_DIR "rules"
#endif

/* A rule or table file is small; anything bigger is not one of ours. */
#define RULES_FILE_MAX (4u << 20)
#define RULES_FILES_MAX 256

static const char *const families[] = {"dormant", "suddenly_active", "over_privileged", "hygiene"};
enum { T_AWS_MAP, T_UNOBS, T_AZURE, T_GCP, T_COUNT };
static const char *const tables[T_COUNT] = {"aws-action-map", "unobservable", "azure-roles", "gcp-roles"};
static const char *const rule_keys[] = {"id",       "kind",       "title",    "severity", "severity_escalated",
                                        "description", "remediation", "compliance", "params", "patterns"};

struct doc {
    char *path;   /* display path: dir/name */
    char *text;   /* file contents, kept while validating */
    size_t len;
    json_t *root; /* owned */
};

struct nw_rules {
    struct doc *docs;
    size_t ndocs;
    nw_rule *rules;
    size_t nrules;
    const json_t *table[T_COUNT]; /* borrowed from docs */
    const char *table_file[T_COUNT];
};

const char *nw_rules_strerror(int code)
{
    switch (code) {
    case 0:
        return "ok";
    case NW_RULES_E_OPEN:
        return "cannot read the rules folder";
    case NW_RULES_E_PARSE:
        return "rule file is not valid JSON";
    case NW_RULES_E_INVALID:
        return "invalid rule or table";
    case NW_RULES_E_NOMEM:
        return "out of memory";
    }
    return "unknown error";
}

const char *nw_rules_default_dir(void)
{
    const char *env = getenv("NHIWATCH_RULES");
    return env && *env ? env : NW_RULES_DIR;
}

int nw_severity_rank(const char *severity)
{
    static const char *const names[] = {"info", "low", "medium", "high", "critical"};
    if (!severity)
        return -1;
    for (int i = 0; i < 5; i++)
        if (strcmp(severity, names[i]) == 0)
            return i;
    return -1;
}

/* ---- errors ---- */

__attribute__((format(printf, 5, 6))) static int fail(nw_err *err, int code, const char *file, int line,
                                                      const char *fmt, ...)
{
    if (!err)
        return code;
    char what[NW_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (line > 0)
        nw_err_set(err, code, "%s:%d: %s", file, line, what);
    else
        nw_err_set(err, code, "%s: %s", file, what);
    snprintf(err->source, sizeof err->source, "%s", file);
    err->line = line > 0 ? line : 0;
    return code;
}

/* ---- where a value is in the text ---- */

struct seg {
    const char *key; /* object member, or NULL for an array index */
    size_t index;
};
#define K(k) ((struct seg){(k), 0})
#define I(i) ((struct seg){NULL, (i)})

struct scan {
    const char *p, *end;
    int line;
};

static void scan_ws(struct scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r')) {
        if (*s->p == '\n')
            s->line++;
        s->p++;
    }
}

static void scan_string(struct scan *s)
{
    s->p++; /* opening quote */
    while (s->p < s->end && *s->p != '"') {
        if (*s->p == '\\' && s->p + 1 < s->end)
            s->p++;
        s->p++;
    }
    if (s->p < s->end)
        s->p++;
}

static void scan_value(struct scan *s)
{
    scan_ws(s);
    if (s->p >= s->end)
        return;
    if (*s->p == '"') {
        scan_string(s);
        return;
    }
    if (*s->p == '{' || *s->p == '[') {
        int depth = 0;
        do {
            char c = *s->p;
            if (c == '"') {
                scan_string(s);
                continue;
            }
            if (c == '{' || c == '[')
                depth++;
            else if (c == '}' || c == ']')
                depth--;
            else if (c == '\n')
                s->line++;
            s->p++;
        } while (s->p < s->end && depth > 0);
        return;
    }
    while (s->p < s->end && !strchr(",]} \t\r\n", *s->p))
        s->p++;
}

/* Line of the value at path, 0 when the path is not in the text. The text
 * is valid JSON (jansson accepted it), so the walk needs no error checks
 * beyond staying inside the buffer. */
static int scan_find(struct scan *s, const struct seg *path, size_t n)
{
    scan_ws(s);
    if (s->p >= s->end)
        return 0;
    if (n == 0)
        return s->line;
    if (*s->p == '{' && path[0].key) {
        size_t klen = strlen(path[0].key);
        s->p++;
        for (;;) {
            scan_ws(s);
            if (s->p >= s->end || *s->p != '"')
                return 0;
            const char *k = s->p + 1;
            scan_string(s);
            bool hit = (size_t)(s->p - 1 - k) == klen && memcmp(k, path[0].key, klen) == 0;
            scan_ws(s);
            if (s->p >= s->end || *s->p != ':')
                return 0;
            s->p++;
            if (hit)
                return scan_find(s, path + 1, n - 1);
            scan_value(s);
            scan_ws(s);
            if (s->p >= s->end || *s->p != ',')
                return 0;
            s->p++;
        }
    }
    if (*s->p == '[' && !path[0].key) {
        s->p++;
        for (size_t i = 0;; i++) {
            scan_ws(s);
            if (s->p >= s->end || *s->p == ']')
                return 0;
            if (i == path[0].index)
                return scan_find(s, path + 1, n - 1);
            scan_value(s);
            scan_ws(s);
            if (s->p >= s->end || *s->p != ',')
                return 0;
            s->p++;
        }
    }
    return 0;
}

static int line_at(const struct doc *d, const struct seg *path, size_t n)
{
    struct scan s = {d->text, d->text + d->len, 1};
    int line = scan_find(&s, path, n);
    /* fall back to the closest enclosing value that exists */
    while (line == 0 && n > 0) {
        n--;
        s = (struct scan){d->text, d->text + d->len, 1};
        line = scan_find(&s, path, n);
    }
    return line;
}

/* ---- glob ---- */

static inline int fold(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* '*' any run (also empty), '?' one character, case-insensitive. */
static bool glob_match(const char *pat, nw_str s)
{
    const char *p = pat, *star = NULL;
    size_t i = 0, mark = 0;
    while (i < s.n) {
        if (*p == '*') {
            star = p++;
            mark = i;
        } else if (*p && (*p == '?' || fold((unsigned char)*p) == fold((unsigned char)s.p[i]))) {
            p++;
            i++;
        } else if (star) {
            p = star + 1;
            i = ++mark;
        } else {
            return false;
        }
    }
    while (*p == '*')
        p++;
    return *p == '\0';
}

/* ---- reading the folder ---- */

static int cmp_names(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static bool ends_json(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && name[0] != '.' && strcmp(name + n - 5, ".json") == 0;
}

static int read_file(const char *path, char **text, size_t *len, nw_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, NW_RULES_E_OPEN, path, 0, "cannot open: %s", strerror(errno));
    int rc = 0;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        rc = fail(err, NW_RULES_E_NOMEM, path, 0, "out of memory");
        goto out_close;
    }
    for (;;) {
        if (n == cap) {
            if (cap >= RULES_FILE_MAX) {
                rc = fail(err, NW_RULES_E_INVALID, path, 0, "larger than %u bytes: not a rule file", RULES_FILE_MAX);
                goto out_free;
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                rc = fail(err, NW_RULES_E_NOMEM, path, 0, "out of memory");
                goto out_free;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                rc = fail(err, NW_RULES_E_OPEN, path, 0, "read error: %s", strerror(errno));
                goto out_free;
            }
            break;
        }
    }
    *text = buf;
    *len = n;
    goto out_close;
out_free:
    free(buf);
out_close:
    fclose(f);
    return rc;
}

static int list_dir(const char *dir, char ***names_out, size_t *n_out, nw_err *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return fail(err, NW_RULES_E_OPEN, dir, 0, "cannot open the rules folder: %s (set --rules or $NHIWATCH_RULES)",
                    strerror(errno));
    int rc = 0;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!ends_json(e->d_name))
            continue;
        if (n == RULES_FILES_MAX) {
            rc = fail(err, NW_RULES_E_INVALID, dir, 0, "more than %d .json files: not a rules folder", RULES_FILES_MAX);
            goto out_free;
        }
        char **nn = realloc(names, (n + 1) * sizeof(*names));
        char *dup = strdup(e->d_name);
        if (nn)
            names = nn;
        if (!nn || !dup) {
            free(dup);
            rc = fail(err, NW_RULES_E_NOMEM, dir, 0, "out of memory");
            goto out_free;
        }
        names[n++] = dup;
    }
    qsort(names, n, sizeof(*names), cmp_names);
    *names_out = names;
    *n_out = n;
    closedir(d);
    return 0;
out_free:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(d);
    return rc;
}

/* ---- validation ---- */

struct vctx {
    nw_rules *r;
    const struct doc *d;
    nw_err *err;
};

static const char *str_or_null(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* An array whose every element is a non-empty string. */
static bool string_array(const json_t *a, size_t *bad)
{
    if (!json_is_array(a))
        return false;
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v) if (!json_is_string(v) || !*json_string_value(v))
    {
        if (bad)
            *bad = i;
        return false;
    }
    return true;
}

static int check_version(struct vctx *v)
{
    const json_t *ver = json_object_get(v->d->root, "version");
    if (!json_is_integer(ver) || json_integer_value(ver) < 1) {
        struct seg p[] = {K("version")};
        return fail(v->err, NW_RULES_E_INVALID, v->d->path, line_at(v->d, p, ver ? 1 : 0),
                    "\"version\" must be a positive integer");
    }
    return 0;
}

static int rule_fail(struct vctx *v, size_t idx, const char *id, const struct seg *path, size_t n,
                     const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int rule_fail(struct vctx *v, size_t idx, const char *id, const struct seg *path, size_t n, const char *fmt,
                     ...)
{
    char what[NW_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int line = line_at(v->d, path, n);
    if (id)
        return fail(v->err, NW_RULES_E_INVALID, v->d->path, line, "rule %s: %s", id, what);
    return fail(v->err, NW_RULES_E_INVALID, v->d->path, line, "rule #%zu: %s", idx + 1, what);
}

static int check_rule(struct vctx *v, const char *family, size_t idx, const json_t *o, nw_rule *out)
{
    struct seg at[] = {K("rules"), I(idx), K(""), K(""), I(0)};
    if (!json_is_object(o))
        return rule_fail(v, idx, NULL, at, 2, "a rule must be an object");
    const json_t *jid = json_object_get(o, "id");
    const char *id = json_string_value(jid);
    if (!id || !*id) {
        at[2] = K("id");
        return rule_fail(v, idx, NULL, at, jid ? 3 : 2, jid ? "\"id\" must be a non-empty string" : "missing \"id\"");
    }
    at[2] = K("id");
    int rule_line = line_at(v->d, at, 3);

    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)o, key, val)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof rule_keys / sizeof rule_keys[0]; i++)
            known |= strcmp(key, rule_keys[i]) == 0;
        if (!known) {
            at[2] = K(key);
            return rule_fail(v, idx, id, at, 3, "unknown field \"%s\"", key);
        }
    }

    static const char *const required[] = {"title", "severity", "description", "remediation"};
    for (size_t i = 0; i < 4; i++) {
        const json_t *s = json_object_get(o, required[i]);
        at[2] = K(required[i]);
        if (!s)
            return fail(v->err, NW_RULES_E_INVALID, v->d->path, rule_line, "rule %s: missing \"%s\"", id, required[i]);
        if (!json_is_string(s) || !*json_string_value(s))
            return rule_fail(v, idx, id, at, 3, "\"%s\" must be a non-empty string", required[i]);
    }
    const char *sev = str_or_null(o, "severity");
    if (nw_severity_rank(sev) < 0) {
        at[2] = K("severity");
        return rule_fail(v, idx, id, at, 3, "unknown severity \"%s\" (expected info, low, medium, high or critical)",
                         sev);
    }
    const json_t *esc = json_object_get(o, "severity_escalated");
    if (esc && nw_severity_rank(json_string_value(esc)) < 0) {
        at[2] = K("severity_escalated");
        return rule_fail(v, idx, id, at, 3,
                         "unknown severity_escalated \"%s\" (expected info, low, medium, high or critical)",
                         json_is_string(esc) ? json_string_value(esc) : "(not a string)");
    }
    if (esc && nw_severity_rank(json_string_value(esc)) < nw_severity_rank(sev)) {
        at[2] = K("severity_escalated");
        return rule_fail(v, idx, id, at, 3, "severity_escalated \"%s\" is lower than severity \"%s\"",
                         json_string_value(esc), sev);
    }
    const json_t *kind = json_object_get(o, "kind");
    if (kind && (!json_is_string(kind) || !*json_string_value(kind))) {
        at[2] = K("kind");
        return rule_fail(v, idx, id, at, 3, "\"kind\" must be a non-empty string");
    }

    const json_t *comp = json_object_get(o, "compliance");
    at[2] = K("compliance");
    if (!comp)
        return fail(v->err, NW_RULES_E_INVALID, v->d->path, rule_line, "rule %s: missing \"compliance\"", id);
    if (!json_is_array(comp) || json_array_size(comp) == 0)
        return rule_fail(v, idx, id, at, 3, "\"compliance\" must be a non-empty array of {\"framework\", \"control\"}");
    size_t ci;
    const json_t *c;
    json_array_foreach(comp, ci, c)
    {
        at[3] = I(ci);
        const char *fw = str_or_null(c, "framework"), *ctl = str_or_null(c, "control");
        if (!json_is_object(c) || !fw || !*fw || !ctl || !*ctl)
            return rule_fail(v, idx, id, at, 4, "compliance[%zu] needs non-empty \"framework\" and \"control\" strings",
                             ci);
    }

    const json_t *params = json_object_get(o, "params");
    at[2] = K("params");
    if (!params)
        return fail(v->err, NW_RULES_E_INVALID, v->d->path, rule_line, "rule %s: missing \"params\"", id);
    if (!json_is_object(params))
        return rule_fail(v, idx, id, at, 3, "\"params\" must be an object of numbers");
    json_object_foreach((json_t *)params, key, val)
    {
        if (!json_is_number(val)) {
            at[3] = K(key);
            char *shown = json_dumps(val, JSON_ENCODE_ANY | JSON_COMPACT);
            int rc = rule_fail(v, idx, id, at, 4, "params.%s is not a number (%s)", key, shown ? shown : "?");
            free(shown);
            return rc;
        }
    }

    const json_t *pats = json_object_get(o, "patterns");
    if (pats) {
        at[2] = K("patterns");
        if (!json_is_object(pats))
            return rule_fail(v, idx, id, at, 3, "\"patterns\" must be an object of string arrays");
        json_object_foreach((json_t *)pats, key, val)
        {
            at[3] = K(key);
            if (!string_array(val, NULL))
                return rule_fail(v, idx, id, at, 4, "patterns.%s must be an array of non-empty strings", key);
        }
    }

    /* unique across every file loaded so far */
    for (size_t i = 0; i < v->r->nrules; i++)
        if (strcmp(v->r->rules[i].id, id) == 0)
            return fail(v->err, NW_RULES_E_INVALID, v->d->path, rule_line,
                        "rule %s: duplicate id (first defined at %s:%d)", id, v->r->rules[i].file,
                        v->r->rules[i].line);

    *out = (nw_rule){
        .id = id,
        .family = family,
        .title = str_or_null(o, "title"),
        .severity = sev,
        .description = str_or_null(o, "description"),
        .remediation = str_or_null(o, "remediation"),
        .compliance = comp,
        .params = params,
        .kind = kind ? json_string_value(kind) : family,
        .severity_escalated = esc ? json_string_value(esc) : NULL,
        .patterns = pats,
        .file = v->d->path,
        .line = rule_line,
    };
    return 0;
}

static int check_rule_file(struct vctx *v)
{
    const json_t *root = v->d->root;
    const json_t *jf = json_object_get(root, "family");
    const char *family = json_string_value(jf);
    struct seg p[] = {K("family")};
    bool known = false;
    for (size_t i = 0; family && i < sizeof families / sizeof families[0]; i++)
        known |= strcmp(family, families[i]) == 0;
    if (!known)
        return fail(v->err, NW_RULES_E_INVALID, v->d->path, line_at(v->d, p, 1),
                    "unknown family \"%s\" (expected dormant, suddenly_active, over_privileged or hygiene)",
                    family ? family : "(not a string)");
    int rc = check_version(v);
    if (rc)
        return rc;
    for (size_t i = 0; i < v->r->nrules; i++)
        if (strcmp(v->r->rules[i].family, family) == 0)
            return fail(v->err, NW_RULES_E_INVALID, v->d->path, line_at(v->d, p, 1),
                        "family \"%s\" is already defined in %s: one file per family", family, v->r->rules[i].file);
    const json_t *rules = json_object_get(root, "rules");
    p[0] = K("rules");
    if (!json_is_array(rules) || json_array_size(rules) == 0)
        return fail(v->err, NW_RULES_E_INVALID, v->d->path, line_at(v->d, p, 1),
                    "\"rules\" must be a non-empty array");
    nw_rule *grown = realloc(v->r->rules, (v->r->nrules + json_array_size(rules)) * sizeof(nw_rule));
    if (!grown)
        return fail(v->err, NW_RULES_E_NOMEM, v->d->path, 0, "out of memory");
    v->r->rules = grown;
    size_t i;
    const json_t *o;
    json_array_foreach(rules, i, o)
    {
        rc = check_rule(v, family, i, o, &v->r->rules[v->r->nrules]);
        if (rc)
            return rc;
        v->r->nrules++;
    }
    return 0;
}

/* -- tables -- */

static int table_fail(struct vctx *v, const struct seg *path, size_t n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int table_fail(struct vctx *v, const struct seg *path, size_t n, const char *fmt, ...)
{
    char what[NW_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fail(v->err, NW_RULES_E_INVALID, v->d->path, line_at(v->d, path, n), "table %s: %s",
                json_string_value(json_object_get(v->d->root, "table")), what);
}

/* An action list: array of "prefix:Action", or {"actions": [...], "note": "..."}. */
static const json_t *entry_actions(const json_t *e)
{
    return json_is_object(e) ? json_object_get(e, "actions") : e;
}

static int check_action_list(struct vctx *v, struct seg *p, size_t n, const json_t *e, const char *what)
{
    const json_t *acts = entry_actions(e);
    size_t bad = 0;
    if (json_is_object(e) && json_object_get(e, "note") && !json_is_string(json_object_get(e, "note")))
        return table_fail(v, p, n, "%s: \"note\" must be a string", what);
    if (!string_array(acts, &bad))
        return table_fail(v, p, n, "%s: expected an array of IAM actions or {\"actions\": [...], \"note\": \"...\"}",
                          what);
    size_t i;
    const json_t *a;
    json_array_foreach(acts, i, a)
    {
        const char *s = json_string_value(a);
        const char *colon = strchr(s, ':');
        if (!colon || colon == s || !colon[1] || strchr(colon + 1, ':')) {
            if (json_is_object(e)) {
                p[n] = K("actions");
                p[n + 1] = I(i);
                n += 2;
            } else {
                p[n] = I(i);
                n += 1;
            }
            return table_fail(v, p, n, "%s: \"%s\" is not an IAM action (prefix:Action)", what, s);
        }
    }
    return 0;
}

static int check_aws_map(struct vctx *v)
{
    const json_t *root = v->d->root;
    struct seg p[8] = {K("source_renames")};
    const json_t *ren = json_object_get(root, "source_renames");
    const char *key;
    const json_t *val;
    if (!json_is_object(ren))
        return table_fail(v, p, 1, "\"source_renames\" must be an object of strings");
    json_object_foreach((json_t *)ren, key, val) if (!json_is_string(val))
    {
        p[1] = K(key);
        return table_fail(v, p, 2, "source_renames.%s must be a string", key);
    }
    p[0] = K("event_types_without_action");
    size_t bad = 0;
    if (!string_array(json_object_get(root, "event_types_without_action"), &bad))
        return table_fail(v, p, 1, "\"event_types_without_action\" must be an array of strings");
    const json_t *events = json_object_get(root, "events");
    p[0] = K("events");
    if (!json_is_object(events))
        return table_fail(v, p, 1, "\"events\" must be an object: IAM prefix -> {eventName: actions}");
    json_object_foreach((json_t *)events, key, val)
    {
        p[1] = K(key);
        if (!json_is_object(val))
            return table_fail(v, p, 2, "events.%s must be an object of eventName -> actions", key);
        const char *name;
        const json_t *e;
        json_object_foreach((json_t *)val, name, e)
        {
            char what[256];
            snprintf(what, sizeof what, "entry %s/%s", key, name);
            p[2] = K(name);
            int rc = check_action_list(v, p, 3, e, what);
            if (rc)
                return rc;
        }
    }
    const json_t *np = json_object_get(root, "name_prefixes");
    p[0] = K("name_prefixes");
    if (np && !json_is_object(np))
        return table_fail(v, p, 1, "\"name_prefixes\" must be an object: IAM prefix -> [{prefix, actions}]");
    json_object_foreach((json_t *)np, key, val)
    {
        p[1] = K(key);
        if (!json_is_array(val))
            return table_fail(v, p, 2, "name_prefixes.%s must be an array of {\"prefix\", \"actions\"}", key);
        size_t i;
        const json_t *e;
        json_array_foreach(val, i, e)
        {
            p[2] = I(i);
            const char *pre = str_or_null(e, "prefix");
            if (!pre || !*pre)
                return table_fail(v, p, 3, "name_prefixes.%s[%zu] needs a non-empty \"prefix\"", key, i);
            char what[256];
            snprintf(what, sizeof what, "name_prefixes.%s[%zu]", key, i);
            p[3] = K("actions");
            int rc = check_action_list(v, p, 4, json_object_get(e, "actions"), what);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int check_unobs(struct vctx *v)
{
    const json_t *prov = json_object_get(v->d->root, "providers");
    struct seg p[4] = {K("providers")};
    if (!json_is_object(prov))
        return table_fail(v, p, 1, "\"providers\" must be an object: aws/azure/gcp -> [{pattern, kind, why}]");
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)prov, key, val)
    {
        p[1] = K(key);
        if (strcmp(key, "aws") && strcmp(key, "azure") && strcmp(key, "gcp"))
            return table_fail(v, p, 2, "unknown provider \"%s\" (expected aws, azure or gcp)", key);
        if (!json_is_array(val))
            return table_fail(v, p, 2, "providers.%s must be an array", key);
        size_t i;
        const json_t *e;
        json_array_foreach(val, i, e)
        {
            p[2] = I(i);
            const char *pat = str_or_null(e, "pattern"), *kind = str_or_null(e, "kind"), *why = str_or_null(e, "why");
            if (!pat || !*pat || !why)
                return table_fail(v, p, 3, "providers.%s[%zu] needs \"pattern\" and \"why\" strings", key, i);
            if (!kind || (strcmp(kind, "never") && strcmp(kind, "data_logs"))) {
                p[3] = K("kind");
                return table_fail(v, p, 4, "providers.%s[%zu]: kind must be \"never\" or \"data_logs\"", key, i);
            }
        }
    }
    return 0;
}

static int check_roles(struct vctx *v, bool azure)
{
    const json_t *roles = json_object_get(v->d->root, "roles");
    struct seg p[4] = {K("roles")};
    if (!json_is_array(roles) || json_array_size(roles) == 0)
        return table_fail(v, p, 1, "\"roles\" must be a non-empty array");
    size_t i;
    const json_t *e;
    json_array_foreach(roles, i, e)
    {
        p[1] = I(i);
        const char *name = str_or_null(e, "name");
        if (!json_is_object(e) || !name || !*name)
            return table_fail(v, p, 2, "roles[%zu] needs a \"name\"", i);
        if (!json_is_boolean(json_object_get(e, "admin"))) {
            p[2] = K("admin");
            return table_fail(v, p, 3, "role \"%s\": \"admin\" must be true or false", name);
        }
        static const char *const az_lists[] = {"actions", "notActions", "dataActions", "notDataActions"};
        static const char *const gcp_lists[] = {"services", "permissions", "notPermissions", "permission_prefixes"};
        const char *const *lists = azure ? az_lists : gcp_lists;
        for (size_t k = 0; k < 4; k++) {
            const json_t *l = json_object_get(e, lists[k]);
            bool required = azure || k == 0;
            if (!l && !required)
                continue;
            p[2] = K(lists[k]);
            /* Azure lists may be empty; a string inside must not be */
            if (!json_is_array(l) || !string_array(l, NULL))
                return table_fail(v, p, 3, "role \"%s\": \"%s\" must be an array of strings", name, lists[k]);
        }
        if (azure) {
            const char *id = str_or_null(e, "id");
            if (!id || strlen(id) != 36) {
                p[2] = K("id");
                return table_fail(v, p, 3, "role \"%s\": \"id\" must be the role definition GUID", name);
            }
        } else {
            if (strncmp(name, "roles/", 6) != 0) {
                p[2] = K("name");
                return table_fail(v, p, 3, "role \"%s\": GCP role names start with \"roles/\"", name);
            }
            if (!json_object_get(e, "permissions") && !json_object_get(e, "permission_prefixes"))
                return table_fail(v, p, 2, "role \"%s\": needs \"permissions\" or \"permission_prefixes\"", name);
        }
    }
    return 0;
}

static int check_table_file(struct vctx *v)
{
    const json_t *jt = json_object_get(v->d->root, "table");
    const char *name = json_string_value(jt);
    struct seg p[] = {K("table")};
    int t = -1;
    for (int i = 0; name && i < T_COUNT; i++)
        if (strcmp(name, tables[i]) == 0)
            t = i;
    if (t < 0)
        return fail(v->err, NW_RULES_E_INVALID, v->d->path, line_at(v->d, p, 1),
                    "unknown table \"%s\" (expected aws-action-map, unobservable, azure-roles or gcp-roles)",
                    name ? name : "(not a string)");
    if (v->r->table[t])
        return fail(v->err, NW_RULES_E_INVALID, v->d->path, line_at(v->d, p, 1),
                    "table \"%s\" is already defined in %s", name, v->r->table_file[t]);
    int rc = check_version(v);
    if (rc)
        return rc;
    switch (t) {
    case T_AWS_MAP:
        rc = check_aws_map(v);
        break;
    case T_UNOBS:
        rc = check_unobs(v);
        break;
    default:
        rc = check_roles(v, t == T_AZURE);
        break;
    }
    if (rc)
        return rc;
    v->r->table[t] = v->d->root;
    v->r->table_file[t] = v->d->path;
    return 0;
}

static int check_doc(struct vctx *v)
{
    const json_t *root = v->d->root;
    if (!json_is_object(root))
        return fail(v->err, NW_RULES_E_INVALID, v->d->path, line_at(v->d, NULL, 0),
                    "expected an object with \"family\" (a rule file) or \"table\" (a data table)");
    if (json_object_get(root, "family"))
        return check_rule_file(v);
    if (json_object_get(root, "table"))
        return check_table_file(v);
    return fail(v->err, NW_RULES_E_INVALID, v->d->path, line_at(v->d, NULL, 0),
                "neither a rule file (\"family\") nor a data table (\"table\")");
}

void nw_rules_free(nw_rules *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->ndocs; i++) {
        json_decref(r->docs[i].root);
        free(r->docs[i].text);
        free(r->docs[i].path);
    }
    free(r->docs);
    free(r->rules);
    free(r);
}

int nw_rules_load(const char *dir, nw_rules **out, nw_err *err)
{
    *out = NULL;
    if (!dir)
        dir = nw_rules_default_dir();
    char **names = NULL;
    size_t nnames = 0;
    int rc = list_dir(dir, &names, &nnames, err);
    if (rc)
        return rc;
    nw_rules *r = calloc(1, sizeof(*r));
    if (!r || (nnames && !(r->docs = calloc(nnames, sizeof(*r->docs))))) {
        rc = fail(err, NW_RULES_E_NOMEM, dir, 0, "out of memory");
        goto out_free;
    }
    if (nnames == 0) {
        rc = fail(err, NW_RULES_E_INVALID, dir, 0, "no .json rule files in the rules folder");
        goto out_free;
    }
    size_t dl = strlen(dir);
    bool slash = dl > 0 && dir[dl - 1] == '/';
    for (size_t i = 0; i < nnames; i++) {
        struct doc *d = &r->docs[r->ndocs];
        size_t pl = dl + 1 + strlen(names[i]) + 1;
        if (!(d->path = malloc(pl))) {
            rc = fail(err, NW_RULES_E_NOMEM, dir, 0, "out of memory");
            goto out_free;
        }
        snprintf(d->path, pl, "%s%s%s", dir, slash ? "" : "/", names[i]);
        r->ndocs++;
        if ((rc = read_file(d->path, &d->text, &d->len, err)))
            goto out_free;
        json_error_t je;
        d->root = json_loadb(d->text, d->len, JSON_REJECT_DUPLICATES, &je);
        if (!d->root) {
            rc = NW_RULES_E_PARSE;
            if (err) {
                nw_err_set(err, rc, "%s:%d:%d: %s", d->path, je.line, je.column, je.text);
                snprintf(err->source, sizeof err->source, "%s", d->path);
                err->line = je.line > 0 ? je.line : 0;
                err->offset = je.position;
            }
            goto out_free;
        }
        struct vctx v = {r, d, err};
        if ((rc = check_doc(&v)))
            goto out_free;
    }
    /* the detectors need every family and table: nothing runs on half a configuration */
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++) {
        bool have = false;
        for (size_t k = 0; k < r->nrules && !have; k++)
            have = strcmp(r->rules[k].family, families[i]) == 0;
        if (!have) {
            rc = fail(err, NW_RULES_E_INVALID, dir, 0, "no rule file for family \"%s\"", families[i]);
            goto out_free;
        }
    }
    for (int t = 0; t < T_COUNT; t++)
        if (!r->table[t]) {
            rc = fail(err, NW_RULES_E_INVALID, dir, 0, "no data table \"%s\" (file with \"table\": \"%s\")", tables[t],
                      tables[t]);
            goto out_free;
        }
    for (size_t i = 0; i < r->ndocs; i++) {
        free(r->docs[i].text);
        r->docs[i].text = NULL;
    }
    *out = r;
    r = NULL;
    rc = 0;
out_free:
    nw_rules_free(r);
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    return rc;
}

/* ---- rules ---- */

const nw_rule *nw_rules_get(const nw_rules *r, const char *id)
{
    if (!r || !id)
        return NULL;
    for (size_t i = 0; i < r->nrules; i++)
        if (strcmp(r->rules[i].id, id) == 0)
            return &r->rules[i];
    return NULL;
}

size_t nw_rules_family(const nw_rules *r, const char *family, const nw_rule **out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; r && family && i < r->nrules; i++)
        if (strcmp(r->rules[i].family, family) == 0) {
            if (out && n < max)
                out[n] = &r->rules[i];
            n++;
        }
    return n;
}

size_t nw_rules_count(const nw_rules *r) { return r ? r->nrules : 0; }

const nw_rule *nw_rules_at(const nw_rules *r, size_t i) { return r && i < r->nrules ? &r->rules[i] : NULL; }

double nw_rule_param(const nw_rule *rule, const char *name, bool *ok)
{
    const json_t *v = rule && name ? json_object_get(rule->params, name) : NULL;
    bool num = json_is_number(v);
    if (ok)
        *ok = num;
    return num ? json_number_value(v) : 0;
}

bool nw_rule_match(const nw_rule *rule, const char *list, nw_str value)
{
    const json_t *l = rule && list ? json_object_get(rule->patterns, list) : NULL;
    size_t i;
    const json_t *p;
    json_array_foreach(l, i, p) if (glob_match(json_string_value(p), value)) return true;
    return false;
}

/* ---- CloudTrail event -> IAM actions ---- */

static bool all_digits(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return false;
    return true;
}

/* Length of a date-shaped version suffix ending at name[end): 20150331 or
 * 2019_03_31; 0 when there is none. */
static size_t date_suffix(const char *p, size_t end)
{
    if (end >= 8 && all_digits(p + end - 8, 8) && (p[end - 8] == '1' || p[end - 8] == '2') &&
        (p[end - 7] == '9' || p[end - 7] == '0'))
        return 8;
    if (end >= 10 && all_digits(p + end - 10, 4) && p[end - 6] == '_' && all_digits(p + end - 5, 2) &&
        p[end - 3] == '_' && all_digits(p + end - 2, 2))
        return 10;
    return 0;
}

/* eventName without the API version suffix CloudTrail appends for some
 * services (Lambda CreateFunction20150331, UpdateFunctionCode20150331v2,
 * CloudFront CreateDistribution2020_05_31). Only date-shaped suffixes are
 * removed, so names that end in a digit for other reasons (ListObjectsV2)
 * stay as they are. */
static nw_str strip_version(nw_str name)
{
    size_t end = name.n;
    size_t d = end;
    while (d > 0 && name.p[d - 1] >= '0' && name.p[d - 1] <= '9')
        d--;
    if (d < end && d > 0 && name.p[d - 1] == 'v') /* ...v2 */
        end = d - 1;
    size_t s = date_suffix(name.p, end);
    if (!s) {
        end = name.n;
        s = date_suffix(name.p, end);
    }
    if (!s || end - s == 0)
        return name;
    char last = name.p[end - s - 1];
    if (!((last >= 'a' && last <= 'z') || (last >= 'A' && last <= 'Z')))
        return name;
    return nw_str_mk(name.p, end - s);
}

static size_t put_actions(const json_t *entry, char out[][128], size_t max)
{
    const json_t *acts = entry_actions(entry);
    size_t n = 0, i;
    const json_t *a;
    json_array_foreach(acts, i, a) if (n < max) snprintf(out[n++], 128, "%s", json_string_value(a));
    return n;
}

size_t nw_rules_aws_actions(const nw_rules *r, nw_str prefix, nw_str name, char out[][128], size_t max)
{
    if (!r || !prefix.n || !name.n || !max)
        return 0;
    const json_t *map = r->table[T_AWS_MAP];
    /* accept a whole eventSource too */
    if (nw_str_iends(prefix, ".amazonaws.com"))
        prefix.n -= sizeof(".amazonaws.com") - 1;
    const char *renamed = json_string_value(json_object_getn(json_object_get(map, "source_renames"), prefix.p, prefix.n));
    if (renamed) {
        prefix = nw_str_c(renamed);
    } else {
        long dot = nw_str_chr(prefix, '.');
        if (dot > 0)
            prefix.n = (size_t)dot;
    }
    if (prefix.n >= 64)
        return 0;
    const json_t *events = json_object_getn(json_object_get(map, "events"), prefix.p, prefix.n);
    const json_t *e = json_object_getn(events, name.p, name.n);
    nw_str base = strip_version(name);
    if (!e && base.n != name.n)
        e = json_object_getn(events, base.p, base.n);
    if (e)
        return put_actions(e, out, max);
    const json_t *rules = json_object_getn(json_object_get(map, "name_prefixes"), prefix.p, prefix.n);
    size_t i;
    const json_t *pr;
    json_array_foreach(rules, i, pr)
    {
        const char *pre = json_string_value(json_object_get(pr, "prefix"));
        size_t pl = strlen(pre);
        if (base.n > pl && memcmp(base.p, pre, pl) == 0 && base.p[pl] >= 'A' && base.p[pl] <= 'Z')
            return put_actions(json_object_get(pr, "actions"), out, max);
    }
    snprintf(out[0], 128, "%.*s:%.*s", (int)prefix.n, prefix.p, (int)base.n, base.p);
    return 1;
}

bool nw_rules_aws_type_without_action(const nw_rules *r, nw_str event_type)
{
    const json_t *l = r ? json_object_get(r->table[T_AWS_MAP], "event_types_without_action") : NULL;
    size_t i;
    const json_t *t;
    json_array_foreach(l, i, t) if (nw_str_eq(event_type, json_string_value(t))) return true;
    return false;
}

/* ---- unobservable ---- */

int nw_rules_unobservable_kind(const nw_rules *r, const char *provider, nw_str action)
{
    const json_t *l = r && provider ? json_object_get(json_object_get(r->table[T_UNOBS], "providers"), provider) : NULL;
    size_t i;
    const json_t *e;
    json_array_foreach(l, i, e)
    {
        if (glob_match(json_string_value(json_object_get(e, "pattern")), action))
            return strcmp(json_string_value(json_object_get(e, "kind")), "never") == 0 ? NW_UNOBS_NEVER
                                                                                      : NW_UNOBS_DATA_LOGS;
    }
    return NW_OBSERVABLE;
}

bool nw_rules_unobservable(const nw_rules *r, const char *provider, nw_str action)
{
    return nw_rules_unobservable_kind(r, provider, action) != NW_OBSERVABLE;
}

/* ---- roles ---- */

static const json_t *find_role(const nw_rules *r, const char *provider, const char *role)
{
    if (!r || !provider || !role || !*role)
        return NULL;
    bool azure = strcmp(provider, "azure") == 0;
    if (!azure && strcmp(provider, "gcp") != 0)
        return NULL;
    const json_t *roles = json_object_get(r->table[azure ? T_AZURE : T_GCP], "roles");
    const char *guid = role;
    if (azure) {
        const char *slash = strrchr(role, '/');
        if (slash && slash - role >= 16 && nw_str_iends(nw_str_mk(role, (size_t)(slash - role) + 1), "/roleDefinitions/"))
            guid = slash + 1;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(roles, i, e)
    {
        const char *name = json_string_value(json_object_get(e, "name"));
        if (azure) {
            const char *id = json_string_value(json_object_get(e, "id"));
            if (strcasecmp(name, role) == 0 || (id && strcasecmp(id, guid) == 0))
                return e;
        } else if (strcmp(name, role) == 0) {
            return e;
        }
    }
    return NULL;
}

typedef void (*action_cb)(void *ctx, const char *action, bool not_action);

static size_t each_in(const json_t *l, bool neg, action_cb cb, void *ctx)
{
    size_t i;
    const json_t *a;
    json_array_foreach(l, i, a) if (cb) cb(ctx, json_string_value(a), neg);
    return json_array_size(l);
}

size_t nw_rules_role_actions(const nw_rules *r, const char *provider, const char *role, action_cb cb, void *ctx)
{
    const json_t *e = find_role(r, provider, role);
    if (!e)
        return 0;
    if (strcmp(provider, "azure") == 0)
        return each_in(json_object_get(e, "actions"), false, cb, ctx) +
               each_in(json_object_get(e, "notActions"), true, cb, ctx);
    if (json_object_get(e, "permissions"))
        return each_in(json_object_get(e, "permissions"), false, cb, ctx) +
               each_in(json_object_get(e, "notPermissions"), true, cb, ctx);
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(e, "permission_prefixes"), i, p)
    {
        char pat[160];
        snprintf(pat, sizeof pat, "%s*", json_string_value(p));
        if (cb)
            cb(ctx, pat, false);
    }
    return json_array_size(json_object_get(e, "permission_prefixes"));
}

size_t nw_rules_role_data_actions(const nw_rules *r, const char *provider, const char *role, action_cb cb,
                                  void *ctx)
{
    if (!provider || strcmp(provider, "azure") != 0)
        return 0;
    const json_t *e = find_role(r, provider, role);
    if (!e)
        return 0;
    return each_in(json_object_get(e, "dataActions"), false, cb, ctx) +
           each_in(json_object_get(e, "notDataActions"), true, cb, ctx);
}

size_t nw_rules_role_services(const nw_rules *r, const char *provider, const char *role,
                              void (*cb)(void *ctx, const char *service), void *ctx)
{
    const json_t *e = find_role(r, provider, role);
    if (!e)
        return 0;
    if (strcmp(provider, "gcp") == 0) {
        size_t i;
        const json_t *s;
        json_array_foreach(json_object_get(e, "services"), i, s) if (cb) cb(ctx, json_string_value(s));
        return json_array_size(json_object_get(e, "services"));
    }
    /* Azure: the resource-provider namespace of each action and data action */
    char seen[64][96];
    size_t n = 0;
    static const char *const lists[] = {"actions", "dataActions"};
    for (size_t k = 0; k < 2; k++) {
        size_t i;
        const json_t *a;
        json_array_foreach(json_object_get(e, lists[k]), i, a)
        {
            const char *s = json_string_value(a);
            char ns[96];
            if (s[0] == '*')
                snprintf(ns, sizeof ns, "*");
            else
                snprintf(ns, sizeof ns, "%.*s", (int)strcspn(s, "/"), s);
            bool dup = false;
            for (size_t j = 0; j < n && !dup; j++)
                dup = strcasecmp(seen[j], ns) == 0;
            if (dup || n == 64)
                continue;
            memcpy(seen[n++], ns, sizeof ns);
            if (cb)
                cb(ctx, ns);
        }
    }
    return n;
}

bool nw_rules_role_admin(const nw_rules *r, const char *provider, const char *role)
{
    return json_is_true(json_object_get(find_role(r, provider, role), "admin"));
}
