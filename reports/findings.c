/* findings.c - a report's findings, spilled to a temporary file or over a
 * JSON array. See findings.h. */
#include "findings.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../analyze/rules.h"

/* ranks -1 (unknown) .. 4 (critical) are stored shifted by one */
#define NRANKS 6

struct spilled {
    uint64_t off;
    uint32_t len;
    uint8_t rank;
};

struct nw_findings {
    json_t *arr; /* array set; NULL for a spilled one */
    /* spilled set */
    FILE *f;
    char *dir;
    uint64_t end;
    struct spilled *v;
    size_t n, cap;
};

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

int nw_finding_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int rx = nw_severity_rank(sget(x, "severity")), ry = nw_severity_rank(sget(y, "severity"));
    if (rx != ry)
        return ry - rx;
    int c = strcmp(sget(x, "identity"), sget(y, "identity"));
    return c ? c : strcmp(sget(x, "id"), sget(y, "id"));
}

nw_findings *nw_findings_spill(const char *dir, nw_err *err)
{
    nw_findings *fs = calloc(1, sizeof(*fs));
    size_t n = strlen(dir) + sizeof "/.nhiwatch-findings-XXXXXX";
    char *path = malloc(n);
    if (!fs || !path) {
        free(fs);
        free(path);
        nw_err_set(err, NW_FINDINGS_E_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(path, n, "%s/.nhiwatch-findings-XXXXXX", dir);
    int fd = mkstemp(path); /* 0600 */
    if (fd < 0 || !(fs->f = fdopen(fd, "w+"))) {
        nw_err_set(err, NW_FINDINGS_E_IO, "cannot create a temporary file in '%s': %s", dir, strerror(errno));
        if (fd >= 0) {
            close(fd);
            unlink(path);
        }
        free(path);
        free(fs);
        return NULL;
    }
    unlink(path); /* nothing to clean up, whatever happens next */
    free(path);
    fs->dir = strdup(dir);
    if (!fs->dir) {
        nw_findings_free(fs);
        nw_err_set(err, NW_FINDINGS_E_NOMEM, "out of memory");
        return NULL;
    }
    return fs;
}

nw_findings *nw_findings_of(json_t *arr)
{
    nw_findings *fs = calloc(1, sizeof(*fs));
    if (!fs)
        return NULL;
    fs->arr = arr ? json_incref(arr) : json_array();
    if (!fs->arr) {
        free(fs);
        return NULL;
    }
    return fs;
}

static int write_err(const nw_findings *fs, nw_err *err)
{
    return nw_err_set(err, NW_FINDINGS_E_IO, "cannot write the findings' temporary file in '%s': %s", fs->dir,
                      strerror(errno ? errno : EIO));
}

int nw_findings_add(nw_findings *fs, const json_t *f, nw_err *err)
{
    if (fs->arr)
        return json_array_append(fs->arr, (json_t *)f) ? nw_err_set(err, NW_FINDINGS_E_NOMEM, "out of memory") : 0;
    if (fs->n == fs->cap) {
        size_t cap = fs->cap ? fs->cap * 2 : 1024;
        struct spilled *v = realloc(fs->v, cap * sizeof(*v));
        if (!v)
            return nw_err_set(err, NW_FINDINGS_E_NOMEM, "out of memory");
        fs->v = v;
        fs->cap = cap;
    }
    char *s = json_dumps(f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    if (!s)
        return nw_err_set(err, NW_FINDINGS_E_NOMEM, "out of memory");
    size_t len = strlen(s);
    errno = 0;
    bool ok = len <= UINT32_MAX && fwrite(s, 1, len, fs->f) == len;
    free(s);
    if (!ok)
        return write_err(fs, err);
    fs->v[fs->n++] = (struct spilled){fs->end, (uint32_t)len, (uint8_t)(nw_severity_rank(sget(f, "severity")) + 1)};
    fs->end += len;
    return 0;
}

int nw_findings_sort(nw_findings *fs, nw_err *err)
{
    if (fs->arr) {
        size_t n = json_array_size(fs->arr);
        if (n < 2)
            return 0;
        json_t **v = malloc(n * sizeof(*v));
        if (!v)
            return nw_err_set(err, NW_FINDINGS_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++)
            v[i] = json_incref(json_array_get(fs->arr, i));
        qsort(v, n, sizeof(*v), nw_finding_cmp);
        json_array_clear(fs->arr);
        for (size_t i = 0; i < n; i++)
            json_array_append_new(fs->arr, v[i]);
        free(v);
        return 0;
    }
    errno = 0;
    if (fflush(fs->f))
        return write_err(fs, err);
    if (fs->n < 2)
        return 0;
    /* stable counting sort by rank, highest first: bucket 0 = critical */
    size_t start[NRANKS] = {0};
    for (size_t i = 0; i < fs->n; i++)
        start[NRANKS - 1 - fs->v[i].rank]++;
    for (size_t b = 0, sum = 0; b < NRANKS; b++) {
        size_t c = start[b];
        start[b] = sum;
        sum += c;
    }
    struct spilled *out = malloc(fs->n * sizeof(*out));
    if (!out)
        return nw_err_set(err, NW_FINDINGS_E_NOMEM, "out of memory");
    for (size_t i = 0; i < fs->n; i++)
        out[start[NRANKS - 1 - fs->v[i].rank]++] = fs->v[i];
    free(fs->v);
    fs->v = out;
    fs->cap = fs->n;
    return 0;
}

size_t nw_findings_count(const nw_findings *fs) { return fs->arr ? json_array_size(fs->arr) : fs->n; }

/* Read spilled finding i into *buf (grown as needed) and parse it. */
static json_t *load(const nw_findings *fs, size_t i, char **buf, size_t *cap, nw_err *err)
{
    const struct spilled *e = &fs->v[i];
    if (*cap < e->len) {
        char *b = realloc(*buf, e->len);
        if (!b) {
            nw_err_set(err, NW_FINDINGS_E_NOMEM, "out of memory");
            return NULL;
        }
        *buf = b;
        *cap = e->len;
    }
    size_t got = 0;
    while (got < e->len) {
        ssize_t r = pread(fileno(fs->f), *buf + got, e->len - got, (off_t)(e->off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            nw_err_set(err, NW_FINDINGS_E_IO, "cannot read the findings' temporary file in '%s': %s", fs->dir,
                       r < 0 ? strerror(errno) : "unexpected end of file");
            return NULL;
        }
        got += (size_t)r;
    }
    json_error_t je;
    json_t *f = json_loadb(*buf, e->len, 0, &je);
    if (!f)
        nw_err_set(err, NW_FINDINGS_E_PARSE, "finding %zu did not read back: %s", i, je.text);
    return f;
}

json_t *nw_findings_get(const nw_findings *fs, size_t i, nw_err *err)
{
    if (fs->arr) {
        json_t *f = json_array_get(fs->arr, i);
        if (!f)
            nw_err_set(err, NW_FINDINGS_E_PARSE, "no finding %zu", i);
        return json_incref(f);
    }
    if (i >= fs->n) {
        nw_err_set(err, NW_FINDINGS_E_PARSE, "no finding %zu", i);
        return NULL;
    }
    if (fflush(fs->f)) {
        write_err(fs, err);
        return NULL;
    }
    char *buf = NULL;
    size_t cap = 0;
    json_t *f = load(fs, i, &buf, &cap, err);
    free(buf);
    return f;
}

int nw_findings_each(const nw_findings *fs, nw_findings_cb cb, void *ctx, nw_err *err)
{
    if (fs->arr) {
        size_t i;
        json_t *f;
        json_array_foreach(fs->arr, i, f)
        {
            int rc = cb(ctx, f);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (fs->n && fflush(fs->f))
        return write_err(fs, err);
    char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    for (size_t i = 0; i < fs->n && !rc; i++) {
        json_t *f = load(fs, i, &buf, &cap, err);
        if (!f) {
            rc = err->code ? err->code : NW_FINDINGS_E_PARSE;
            break;
        }
        rc = cb(ctx, f);
        json_decref(f);
    }
    free(buf);
    return rc;
}

void nw_findings_free(nw_findings *fs)
{
    if (!fs)
        return;
    json_decref(fs->arr);
    if (fs->f)
        fclose(fs->f);
    free(fs->v);
    free(fs->dir);
    free(fs);
}
