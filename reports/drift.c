/* drift.c - the baseline report and the drift against it. See drift.h. */
#include "drift.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../analyze/rules.h"

/* ---- loading: a top-level scanner over the mapped file ---- */

static const char *const wanted[] = {"schema", "as_of",      "generated_at", "window_days",
                                     "findings", "compliance", "metrics"};

static json_t *ref(const json_t *f);

static size_t skip_ws(const char *p, size_t i, size_t n)
{
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

/* i at the opening quote: index after the closing quote, or n when unterminated. */
static size_t skip_string(const char *p, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return n;
}

/* The scanner walks the mapped file once, front to back: pages behind it
 * are handed back as it goes (re-read from the file if an error message
 * looks back), so a large baseline report never sits in memory whole. p is
 * the start of the mapping. */
#define DROP_CHUNK ((size_t)16 << 20)
static void drop_behind(const char *p, size_t upto)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096;
    size_t len = upto & ~(page - 1);
    if (len)
        madvise((void *)p, len, MADV_DONTNEED);
}

/* i at the start of a value: index after it, or n when it does not end. */
static size_t skip_value(const char *p, size_t i, size_t n)
{
    if (i >= n)
        return n;
    if (p[i] == '"')
        return skip_string(p, i, n);
    if (p[i] == '{' || p[i] == '[') {
        size_t depth = 0, mark = i + DROP_CHUNK;
        while (i < n) {
            if (i >= mark) {
                drop_behind(p, i);
                mark = i + DROP_CHUNK;
            }
            char ch = p[i];
            if (ch == '"') {
                i = skip_string(p, i, n);
                continue;
            }
            if (ch == '{' || ch == '[')
                depth++;
            else if (ch == '}' || ch == ']') {
                if (--depth == 0)
                    return i + 1;
            }
            i++;
        }
        return n;
    }
    while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
        i++;
    return i;
}

static int line_of(const char *p, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off; i++)
        line += p[i] == '\n';
    return line;
}

/* The findings array at p[vs..ve), one element parsed at a time and kept as
 * its reference fields (ref()): a baseline with many findings costs little. */
static int load_findings(const char *p, size_t vs, size_t ve, const char *path, json_t **out, nw_err *err)
{
    json_error_t je;
    if (p[vs] != '[') { /* not an array: the schema check says so */
        *out = json_loadb(p + vs, ve - vs, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        return *out ? 0
                    : nw_err_set(err, NW_DRIFT_E_PARSE, "'%s' line %d: member 'findings': %s", path,
                                 line_of(p, vs) + je.line - 1, je.text);
    }
    json_t *arr = json_array();
    size_t i = skip_ws(p, vs + 1, ve);
    if (i < ve && p[i] == ']') {
        *out = arr;
        return 0;
    }
    size_t mark = vs + DROP_CHUNK;
    for (;;) {
        if (i >= mark) {
            drop_behind(p, i);
            mark = i + DROP_CHUNK;
        }
        size_t es = i, ee = skip_value(p, es, ve);
        json_t *f = json_loadb(p + es, ee - es, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
        if (!f) {
            json_decref(arr);
            return nw_err_set(err, NW_DRIFT_E_PARSE, "'%s' line %d: a finding: %s", path,
                              line_of(p, es) + je.line - 1, je.text);
        }
        json_array_append_new(arr, json_is_object(f) ? ref(f) : json_incref(f));
        json_decref(f);
        i = skip_ws(p, ee, ve);
        if (i < ve && p[i] == ',') {
            i = skip_ws(p, i + 1, ve);
            continue;
        }
        if (i < ve && p[i] == ']')
            break;
        json_decref(arr);
        return nw_err_set(err, NW_DRIFT_E_PARSE, "'%s' line %d: ',' or ']' was expected in findings", path,
                          line_of(p, i));
    }
    *out = arr;
    return 0;
}

static int scan(const char *p, size_t n, const char *path, json_t *out, nw_err *err)
{
    size_t i = skip_ws(p, 0, n);
    if (i >= n || p[i] != '{')
        return nw_err_set(err, NW_DRIFT_E_PARSE, "'%s' is not a JSON object", path);
    i = skip_ws(p, i + 1, n);
    if (i < n && p[i] == '}')
        return 0;
    for (;;) {
        if (i >= n || p[i] != '"')
            return nw_err_set(err, NW_DRIFT_E_PARSE, "'%s' line %d: a member name was expected", path, line_of(p, i));
        size_t ks = i, ke = skip_string(p, i, n);
        i = skip_ws(p, ke, n);
        if (i >= n || p[i] != ':')
            return nw_err_set(err, NW_DRIFT_E_PARSE, "'%s' line %d: ':' was expected", path, line_of(p, i));
        size_t vs = skip_ws(p, i + 1, n), ve = skip_value(p, vs, n);
        if (ve >= n && vs < n)
            return nw_err_set(err, NW_DRIFT_E_PARSE, "'%s' line %d: the value does not end (truncated file?)", path,
                              line_of(p, vs));
        for (size_t w = 0; w < sizeof wanted / sizeof wanted[0]; w++) {
            size_t wl = strlen(wanted[w]);
            if (ke - ks - 2 != wl || memcmp(p + ks + 1, wanted[w], wl) != 0)
                continue;
            json_error_t je;
            json_t *v = NULL;
            if (strcmp(wanted[w], "findings") == 0) {
                int rc = load_findings(p, vs, ve, path, &v, err);
                if (rc)
                    return rc;
            } else {
                v = json_loadb(p + vs, ve - vs, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
            }
            if (!v)
                return nw_err_set(err, NW_DRIFT_E_PARSE, "'%s' line %d: member '%s': %s", path,
                                  line_of(p, vs) + je.line - 1, wanted[w], je.text);
            json_object_set_new(out, wanted[w], v);
        }
        i = skip_ws(p, ve, n);
        if (i < n && p[i] == ',') {
            i = skip_ws(p, i + 1, n);
            continue;
        }
        if (i < n && p[i] == '}')
            return 0;
        return nw_err_set(err, NW_DRIFT_E_PARSE, "'%s' line %d: ',' or '}' was expected", path, line_of(p, i));
    }
}

int nw_baseline_load(const char *path, json_t **out, nw_err *err)
{
    *out = NULL;
    char buf[4200];
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(buf, sizeof buf, "%s/report.json", path);
        path = buf;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return nw_err_set(err, NW_DRIFT_E_OPEN, "cannot read '%s': %s", path, strerror(errno));
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
        close(fd);
        return nw_err_set(err, NW_DRIFT_E_OPEN, "'%s' is not a report.json (empty or not a file)", path);
    }
    size_t n = (size_t)sb.st_size;
    const char *p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED)
        return nw_err_set(err, NW_DRIFT_E_OPEN, "cannot map '%s': %s", path, strerror(errno));
    json_t *o = json_object();
    int rc = scan(p, n, path, o, err);
    munmap((void *)p, n);
    if (!rc) {
        const char *schema = json_string_value(json_object_get(o, "schema"));
        if (!schema || strcmp(schema, "nhiwatch.report/1") != 0)
            rc = nw_err_set(err, NW_DRIFT_E_SCHEMA, "'%s' is not an nhiwatch report (schema %s)", path,
                            schema ? schema : "missing");
        else if (!json_is_array(json_object_get(o, "findings")))
            rc = nw_err_set(err, NW_DRIFT_E_SCHEMA, "'%s' has no findings array", path);
    }
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* ---- metrics ---- */

static void flatten(const json_t *v, char *path, size_t len, size_t cap, json_t *out)
{
    if (json_is_number(v)) {
        json_object_set_new(out, path, json_deep_copy(v));
        return;
    }
    if (json_is_null(v) && len) {
        json_object_set_new(out, path, json_null());
        return;
    }
    if (!json_is_object(v))
        return;
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x)
    {
        size_t kl = strlen(k);
        if (len + kl + 2 > cap)
            continue;
        size_t at = len;
        if (len)
            path[at++] = '.';
        memcpy(path + at, k, kl + 1);
        flatten(x, path, at + kl, cap, out);
        path[len] = '\0';
    }
}

json_t *nw_metrics_flatten(const json_t *metrics)
{
    json_t *out = json_object();
    char path[1024] = "";
    if (out)
        flatten(metrics, path, 0, sizeof path, out);
    return out;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

static json_t *metric_drift(const json_t *base, const json_t *cur)
{
    json_t *fb = nw_metrics_flatten(base), *fc = nw_metrics_flatten(cur);
    json_t *all = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(fb, k, v) json_object_set_new(all, k, json_true());
    json_object_foreach(fc, k, v) json_object_set_new(all, k, json_true());
    size_t n = json_object_size(all), m = 0;
    const char **keys = n ? malloc(n * sizeof(*keys)) : NULL;
    json_object_foreach(all, k, v)
    {
        if (keys)
            keys[m++] = k;
    }
    if (m > 1)
        qsort(keys, m, sizeof(*keys), cmp_str);
    json_t *out = json_object();
    for (size_t i = 0; i < m; i++) {
        const json_t *b = json_object_get(fb, keys[i]), *c = json_object_get(fc, keys[i]);
        json_t *e = json_object();
        json_object_set_new(e, "baseline", b ? json_deep_copy(b) : json_null());
        json_object_set_new(e, "current", c ? json_deep_copy(c) : json_null());
        if (json_is_integer(b) && json_is_integer(c))
            json_object_set_new(e, "change", json_integer(json_integer_value(c) - json_integer_value(b)));
        else if (json_is_number(b) && json_is_number(c))
            json_object_set_new(e, "change", json_real(round((json_number_value(c) - json_number_value(b)) * 10000.0) /
                                                       10000.0));
        else
            json_object_set_new(e, "change", json_null());
        json_object_set_new(out, keys[i], e);
    }
    free(keys);
    json_decref(all);
    json_decref(fb);
    json_decref(fc);
    return out;
}

/* ---- findings ---- */

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *ref(const json_t *f)
{
    json_t *r = json_object();
    static const char *const keys[] = {"id", "rule", "kind", "identity", "severity", "credential"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const json_t *v = json_object_get(f, keys[i]);
        if (v)
            json_object_set(r, keys[i], (json_t *)v);
    }
    return r;
}

static json_t *index_by_id(const json_t *findings)
{
    json_t *idx = json_object();
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f)
    {
        const char *id = sget(f, "id");
        if (id)
            json_object_set(idx, id, f);
    }
    return idx;
}

static json_t *control_key_index(const json_t *comp)
{
    json_t *idx = json_object();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(comp, "controls"), i, c)
    {
        const char *fw = sget(c, "framework"), *ctl = sget(c, "control");
        if (!fw || !ctl)
            continue;
        size_t n = strlen(fw) + strlen(ctl) + 2;
        char *k = malloc(n);
        if (!k)
            continue;
        snprintf(k, n, "%s\x1f%s", fw, ctl);
        json_object_set(idx, k, c);
        free(k);
    }
    return idx;
}

static json_t *ctl_ref(const json_t *c)
{
    json_t *r = json_object();
    json_object_set(r, "framework", json_object_get(c, "framework"));
    json_object_set(r, "control", json_object_get(c, "control"));
    json_object_set(r, "findings", json_object_get(c, "findings"));
    return r;
}

struct cur {
    json_t *bidx; /* baseline findings by id */
    json_t *seen; /* ids of the current findings */
    json_t *nw, *per;
    json_int_t escalated;
};

static int cur_finding(void *ctx, const json_t *f)
{
    struct cur *c = ctx;
    const char *id = sget(f, "id");
    if (id)
        json_object_set_new(c->seen, id, json_true());
    const json_t *old = id ? json_object_get(c->bidx, id) : NULL;
    if (!old)
        return json_array_append_new(c->nw, ref(f)) ? NW_FINDINGS_E_NOMEM : 0;
    json_t *r = ref(f);
    const char *os = sget(old, "severity");
    json_object_set_new(r, "baseline_severity", os ? json_string(os) : json_null());
    bool esc = nw_severity_rank(sget(f, "severity")) > nw_severity_rank(os);
    json_object_set_new(r, "escalated", json_boolean(esc));
    c->escalated += esc;
    return json_array_append_new(c->per, r) ? NW_FINDINGS_E_NOMEM : 0;
}

json_t *nw_drift_build(const json_t *base, json_t *doc, const nw_findings *fs, const char *base_path, nw_err *err)
{
    json_t *d = json_object();
    if (!d) {
        nw_err_set(err, NW_FINDINGS_E_NOMEM, "out of memory");
        return NULL;
    }
    json_t *b = json_object();
    json_object_set_new(b, "path", base_path ? json_string(base_path) : json_null());
    json_object_set(b, "as_of", json_object_get(base, "as_of") ? json_object_get(base, "as_of") : json_null());
    json_object_set(b, "generated_at",
                    json_object_get(base, "generated_at") ? json_object_get(base, "generated_at") : json_null());
    json_object_set_new(d, "baseline", b);

    const json_t *bf = json_object_get(base, "findings");
    struct cur cur = {index_by_id(bf), json_object(), json_array(), json_array(), 0};
    json_t *nw = cur.nw, *per = cur.per, *res = json_array();
    size_t i;
    json_t *f;
    /* current order (severity first) for new and persisting; baseline order for resolved */
    if (fs && nw_findings_each(fs, cur_finding, &cur, err)) {
        json_decref(cur.bidx);
        json_decref(cur.seen);
        json_decref(nw);
        json_decref(per);
        json_decref(res);
        json_decref(d);
        return NULL;
    }
    json_int_t escalated = cur.escalated;
    json_array_foreach(bf, i, f)
    {
        const char *id = sget(f, "id");
        if (id && !json_object_get(cur.seen, id))
            json_array_append_new(res, ref(f));
    }
    json_t *cnt = json_object();
    json_object_set_new(cnt, "new", json_integer((json_int_t)json_array_size(nw)));
    json_object_set_new(cnt, "resolved", json_integer((json_int_t)json_array_size(res)));
    json_object_set_new(cnt, "persisting", json_integer((json_int_t)json_array_size(per)));
    json_object_set_new(cnt, "escalated", json_integer(escalated));
    json_object_set_new(d, "counts", cnt);
    json_object_set_new(d, "new", nw);
    json_object_set_new(d, "resolved", res);
    json_object_set_new(d, "persisting", per);
    json_decref(cur.bidx);
    json_decref(cur.seen);

    json_object_set_new(d, "metrics", metric_drift(json_object_get(base, "metrics"), json_object_get(doc, "metrics")));

    /* compliance */
    json_t *comp = json_object_get(doc, "compliance");
    const json_t *bcomp = json_object_get(base, "compliance");
    json_t *bci = control_key_index(bcomp), *cci = control_key_index(comp);
    json_t *nf = json_array(), *np = json_array();
    json_int_t bfail = 0, cfail = 0;
    json_t *c;
    json_array_foreach(json_object_get(comp, "controls"), i, c)
    {
        size_t n = strlen(sget(c, "framework")) + strlen(sget(c, "control")) + 2;
        char *k = malloc(n);
        if (!k)
            continue;
        snprintf(k, n, "%s\x1f%s", sget(c, "framework"), sget(c, "control"));
        const json_t *old = json_object_get(bci, k);
        free(k);
        bool fail = strcmp(sget(c, "status"), "fail") == 0;
        cfail += fail;
        const char *ch;
        if (!old) {
            ch = "new_control";
            if (fail && bcomp)
                json_array_append_new(nf, ctl_ref(c));
        } else {
            bool ofail = sget(old, "status") && strcmp(sget(old, "status"), "fail") == 0;
            if (fail && !ofail) {
                ch = "newly_failing";
                json_array_append_new(nf, ctl_ref(c));
            } else if (!fail && ofail) {
                ch = "newly_passing";
                json_array_append_new(np, ctl_ref(c));
            } else {
                ch = "unchanged";
            }
        }
        json_object_set_new(c, "change", json_string(ch));
    }
    json_array_foreach(json_object_get(bcomp, "controls"), i, c)
    {
        const char *st = sget(c, "status");
        bfail += st && strcmp(st, "fail") == 0;
        if (!st || strcmp(st, "fail") != 0 || !sget(c, "framework") || !sget(c, "control"))
            continue;
        size_t n = strlen(sget(c, "framework")) + strlen(sget(c, "control")) + 2;
        char *k = malloc(n);
        if (!k)
            continue;
        snprintf(k, n, "%s\x1f%s", sget(c, "framework"), sget(c, "control"));
        if (!json_object_get(cci, k)) /* a failing control no rule maps to any more */
            json_array_append_new(np, ctl_ref(c));
        free(k);
    }
    json_decref(bci);
    json_decref(cci);
    json_t *dc = json_object();
    json_object_set_new(dc, "newly_failing", nf);
    json_object_set_new(dc, "newly_passing", np);
    json_t *fc = json_object();
    json_object_set_new(fc, "baseline", bcomp ? json_integer(bfail) : json_null());
    json_object_set_new(fc, "current", json_integer(cfail));
    json_object_set_new(fc, "change", bcomp ? json_integer(cfail - bfail) : json_null());
    json_object_set_new(dc, "failing", fc);
    json_object_set_new(d, "compliance", dc);
    return d;
}
