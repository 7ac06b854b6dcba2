/* cef.c - alerts as ArcSight CEF lines. See alertfmt.h. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/nw_time.h"
#include "alertfmt.h"

struct buf {
    char *p;
    size_t n, cap;
    bool oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 512;
        while (b->n + n + 1 > nc)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s) { put(b, s, strlen(s)); }

/* header field: '\' and '|' escaped; no line breaks */
static void hdr(struct buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '|')
            put(b, "\\", 1);
        if (*s == '\n' || *s == '\r')
            put(b, " ", 1);
        else
            put(b, s, 1);
    }
}

/* extension value: '\' and '=' escaped, line breaks as \n \r */
static void ext(struct buf *b, const char *key, const char *s)
{
    if (!s)
        return;
    if (b->n && b->p[b->n - 1] != '|')
        put(b, " ", 1);
    puts_(b, key);
    put(b, "=", 1);
    for (; *s; s++) {
        if (*s == '\\' || *s == '=')
            put(b, "\\", 1);
        if (*s == '\n')
            puts_(b, "\\n");
        else if (*s == '\r')
            puts_(b, "\\r");
        else
            put(b, s, 1);
    }
}

static const char *sget(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

static int cef_severity(const char *s)
{
    if (!s)
        return 0;
    if (strcmp(s, "critical") == 0)
        return 10;
    if (strcmp(s, "high") == 0)
        return 8;
    if (strcmp(s, "medium") == 0)
        return 5;
    if (strcmp(s, "low") == 0)
        return 3;
    return 1;
}

static bool ip_like(const char *s)
{
    if (!s || !*s)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F') || *p == '.' ||
              *p == ':'))
            return false;
    return true;
}

char *nw_cef_alert(const json_t *alert, const char *version)
{
    struct buf b = {0};
    bool control = sget(alert, "schema") && strcmp(sget(alert, "schema"), "nhiwatch.control/1") == 0;
    const char *state = sget(alert, "state") ? sget(alert, "state") : "new";
    puts_(&b, "CEF:0|nhiwatch|nhiwatch|");
    hdr(&b, version ? version : "0.0.0");
    puts_(&b, "|");
    char name[600];
    if (control) {
        snprintf(name, sizeof name, "%s %s", sget(alert, "framework") ? sget(alert, "framework") : "-",
                 sget(alert, "control") ? sget(alert, "control") : "-");
        hdr(&b, "CONTROL");
        puts_(&b, "|");
        char t[700];
        snprintf(t, sizeof t, "%s %s", name, strcmp(state, "resolved") == 0 ? "passing again" : "failing");
        hdr(&b, t);
    } else {
        hdr(&b, sget(alert, "rule") ? sget(alert, "rule") : "-");
        puts_(&b, "|");
        hdr(&b, sget(alert, "title") ? sget(alert, "title") : "-");
    }
    char sev[8];
    snprintf(sev, sizeof sev, "|%d|", cef_severity(sget(alert, "severity")));
    puts_(&b, sev);
    int64_t us = 0;
    char rt[32];
    if (sget(alert, "time") && nw_time_parse(nw_str_c(sget(alert, "time")), &us) == 0) {
        snprintf(rt, sizeof rt, "%lld", (long long)(us / 1000));
        ext(&b, "rt", rt);
    }
    ext(&b, "externalId", sget(alert, "id"));
    ext(&b, "act", state);
    ext(&b, "cat", control ? "compliance" : sget(alert, "kind"));
    ext(&b, "suser", sget(alert, "identity"));
    const json_t *ev = json_object_get(alert, "evidence");
    const char *ip = sget(ev, "source_ip") ? sget(ev, "source_ip") : sget(ev, "last_source_ip");
    if (ip_like(ip))
        ext(&b, "src", ip);
    ext(&b, "msg", control ? name : sget(alert, "title"));
    ext(&b, "cs1Label", "findingId");
    ext(&b, "cs1", sget(alert, "id"));
    if (sget(alert, "provider")) {
        ext(&b, "cs2Label", "provider");
        ext(&b, "cs2", sget(alert, "provider"));
    }
    /* compliance references, "; "-joined */
    const json_t *comp = json_object_get(alert, "compliance");
    if (json_array_size(comp)) {
        struct buf c = {0};
        size_t i;
        json_t *x;
        json_array_foreach(comp, i, x)
        {
            if (i)
                puts_(&c, "; ");
            puts_(&c, sget(x, "framework") ? sget(x, "framework") : "");
            puts_(&c, " ");
            puts_(&c, sget(x, "control") ? sget(x, "control") : "");
        }
        ext(&b, "cs3Label", "compliance");
        ext(&b, "cs3", c.p);
        free(c.p);
    }
    if (ev) {
        char *s = json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER);
        ext(&b, "cs4Label", "evidence");
        ext(&b, "cs4", s);
        free(s);
    }
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    return b.p;
}
