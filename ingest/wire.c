/* wire.c - nhiwatch.event/1 encoding and decoding. See wire.h. */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/nw_time.h"

struct out {
    char *p;
    size_t n, cap;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || o->n + n > o->cap) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

static void put_jstr(struct out *o, nw_str s)
{
    static const char hex[] = "0123456789abcdef";
    put(o, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(o, s.p + start, i - start);
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            put(o, esc, 2);
        } else if (c == '\n') {
            put(o, "\\n", 2);
        } else if (c == '\t') {
            put(o, "\\t", 2);
        } else if (c == '\r') {
            put(o, "\\r", 2);
        } else {
            put(o, esc, 6);
        }
        start = i + 1;
    }
    put(o, s.p + start, s.n - start);
    put(o, "\"", 1);
}

/* ,"key":"value" when value is not empty */
static void field(struct out *o, bool *first, const char *key, nw_str v)
{
    if (!v.n)
        return;
    if (!*first)
        put(o, ",", 1);
    *first = false;
    put(o, "\"", 1);
    puts_(o, key);
    put(o, "\":", 2);
    put_jstr(o, v);
}

static void field_bool(struct out *o, bool *first, const char *key, bool v)
{
    if (!v)
        return;
    if (!*first)
        put(o, ",", 1);
    *first = false;
    put(o, "\"", 1);
    puts_(o, key);
    puts_(o, "\":true");
}

static void open_obj(struct out *o, const char *key)
{
    put(o, ",\"", 2);
    puts_(o, key);
    put(o, "\":{", 3);
}

size_t nw_wire_size_bound(const nw_event *ev)
{
    const nw_str *f[] = {&ev->identity_key, &ev->identity_type, &ev->display_name, &ev->account,   &ev->tenant,
                         &ev->session_name, &ev->credential_id, &ev->service,      &ev->action,    &ev->permission,
                         &ev->resource,     &ev->error_code,    &ev->source_ip,    &ev->user_agent, &ev->region,
                         &ev->event_id,     &ev->origin_key,    &ev->op_key,       &ev->issued_credential,
                         &ev->target_key};
    size_t n = 1024;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        n += f[i]->n * 6 + 32;
    return n;
}

long nw_wire_encode(const nw_event *ev, char *buf, size_t cap)
{
    struct out o = {buf, 0, cap, false};
    char tb[48], hx[33];
    bool first;
    puts_(&o, "{\"schema\":\"" NW_WIRE_SCHEMA "\",\"time\":\"");
    puts_(&o, nw_time_fmt_us(ev->time_us, tb));
    puts_(&o, "\",\"provider\":\"");
    puts_(&o, nw_provider_name(ev->provider));
    puts_(&o, "\"");
    open_obj(&o, "identity");
    first = true;
    field(&o, &first, "key", ev->identity_key);
    field(&o, &first, "type", ev->identity_type);
    field(&o, &first, "kind", nw_str_c(nw_kind_name(ev->kind)));
    field(&o, &first, "name", ev->display_name);
    field(&o, &first, "account", ev->account);
    field(&o, &first, "tenant", ev->tenant);
    field(&o, &first, "session", ev->session_name);
    field(&o, &first, "origin", ev->origin_key);
    field_bool(&o, &first, "service_agent", ev->flags & NW_EV_SERVICE_AGENT);
    put(&o, "}", 1);
    if (ev->credential_id.n || ev->cred_kind) {
        open_obj(&o, "credential");
        first = true;
        field(&o, &first, "id", ev->credential_id);
        field(&o, &first, "kind", nw_str_c(nw_cred_kind_name(ev->cred_kind)));
        put(&o, "}", 1);
    }
    open_obj(&o, "action");
    first = true;
    field(&o, &first, "service", ev->service);
    field(&o, &first, "name", ev->action);
    field(&o, &first, "permission", ev->permission);
    field(&o, &first, "access", nw_str_c(nw_access_name(ev->access)));
    field_bool(&o, &first, "privileged", ev->flags & NW_EV_PRIVILEGED);
    field_bool(&o, &first, "secret_read", ev->flags & NW_EV_SECRET_READ);
    put(&o, "}", 1);
    open_obj(&o, "outcome");
    first = true;
    field(&o, &first, "result", nw_str_c(nw_outcome_name(ev->outcome)));
    field(&o, &first, "error_code", ev->error_code);
    put(&o, "}", 1);
    open_obj(&o, "source");
    first = true;
    field(&o, &first, "ip", ev->source_ip);
    field(&o, &first, "user_agent", ev->user_agent);
    field(&o, &first, "region", ev->region);
    field_bool(&o, &first, "console", ev->flags & NW_EV_CONSOLE);
    field_bool(&o, &first, "via_service", ev->flags & NW_EV_VIA_SERVICE);
    put(&o, "}", 1);
    first = false;
    field(&o, &first, "resource", ev->resource);
    field(&o, &first, "event_id", ev->event_id);
    static const char hexd[] = "0123456789abcdef"; /* snprintf per byte was a tenth of ingest's CPU */
    for (int i = 0; i < 16; i++) {
        hx[2 * i] = hexd[ev->dedupe_id[i] >> 4];
        hx[2 * i + 1] = hexd[ev->dedupe_id[i] & 15];
    }
    hx[32] = '\0';
    field(&o, &first, "dedupe_id", nw_str_mk(hx, 32));
    field(&o, &first, "op_key", ev->op_key);
    field(&o, &first, "issued_credential", ev->issued_credential);
    field(&o, &first, "target", ev->target_key);
    if (ev->phase == NW_PHASE_PARTIAL)
        puts_(&o, ",\"phase\":\"partial\"");
    put(&o, "}", 1);
    return o.full ? NW_WIRE_E_SPACE : (long)o.n;
}

/* ---- decoding ---- */

enum {
    W_SCHEMA,
    W_TIME,
    W_PROVIDER,
    W_KEY,
    W_TYPE,
    W_KIND,
    W_NAME,
    W_ACCOUNT,
    W_TENANT,
    W_SESSION,
    W_ORIGIN,
    W_SVC_AGENT,
    W_CRED_ID,
    W_CRED_KIND,
    W_SERVICE,
    W_ACTION,
    W_PERMISSION,
    W_ACCESS,
    W_PRIV,
    W_SECRET,
    W_RESULT,
    W_ERROR,
    W_IP,
    W_UA,
    W_REGION,
    W_CONSOLE,
    W_VIA,
    W_RESOURCE,
    W_EVENT_ID,
    W_DEDUPE,
    W_OPKEY,
    W_PHASE,
    W_ISSUED,
    W_TARGET,
    W_COUNT
};

static const char *const wpaths[W_COUNT] = {
    [W_SCHEMA] = "schema",
    [W_TIME] = "time",
    [W_PROVIDER] = "provider",
    [W_KEY] = "identity/key",
    [W_TYPE] = "identity/type",
    [W_KIND] = "identity/kind",
    [W_NAME] = "identity/name",
    [W_ACCOUNT] = "identity/account",
    [W_TENANT] = "identity/tenant",
    [W_SESSION] = "identity/session",
    [W_ORIGIN] = "identity/origin",
    [W_SVC_AGENT] = "identity/service_agent",
    [W_CRED_ID] = "credential/id",
    [W_CRED_KIND] = "credential/kind",
    [W_SERVICE] = "action/service",
    [W_ACTION] = "action/name",
    [W_PERMISSION] = "action/permission",
    [W_ACCESS] = "action/access",
    [W_PRIV] = "action/privileged",
    [W_SECRET] = "action/secret_read",
    [W_RESULT] = "outcome/result",
    [W_ERROR] = "outcome/error_code",
    [W_IP] = "source/ip",
    [W_UA] = "source/user_agent",
    [W_REGION] = "source/region",
    [W_CONSOLE] = "source/console",
    [W_VIA] = "source/via_service",
    [W_RESOURCE] = "resource",
    [W_EVENT_ID] = "event_id",
    [W_DEDUPE] = "dedupe_id",
    [W_OPKEY] = "op_key",
    [W_PHASE] = "phase",
    [W_ISSUED] = "issued_credential",
    [W_TARGET] = "target",
};

struct nw_wire {
    nw_jscan *js;
    nw_jpaths *ps;
};

nw_wire *nw_wire_new(size_t max_message, nw_err *err)
{
    nw_wire *w = calloc(1, sizeof(*w));
    if (!w) {
        nw_err_set(err, NW_WIRE_E_NOMEM, "out of memory");
        return NULL;
    }
    w->ps = nw_jpaths_new(wpaths, W_COUNT, err);
    w->js = nw_jscan_new(max_message ? max_message : (size_t)1 << 20, 32);
    if (!w->ps || !w->js) {
        nw_wire_free(w);
        return NULL;
    }
    return w;
}

void nw_wire_free(nw_wire *w)
{
    if (!w)
        return;
    nw_jscan_free(w->js);
    nw_jpaths_free(w->ps);
    free(w);
}

static nw_str s_(const nw_jval *v) { return v->type == NW_J_STRING ? v->s : NW_STR_NULL; }

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int nw_wire_decode(nw_wire *w, const char *buf, size_t len, nw_arena *arena, nw_event *ev, nw_err *err)
{
    nw_jval v[W_COUNT];
    memset(ev, 0, sizeof(*ev));
    int rc = nw_jscan_doc(w->js, buf, len, len, w->ps, v, arena, err);
    if (rc)
        return NW_WIRE_E_JSON;
    if (!nw_str_eq(s_(&v[W_SCHEMA]), NW_WIRE_SCHEMA))
        return nw_err_set(err, NW_WIRE_E_SCHEMA, "not a %s message (schema '%.*s')", NW_WIRE_SCHEMA,
                          (int)(s_(&v[W_SCHEMA]).n > 40 ? 40 : s_(&v[W_SCHEMA]).n),
                          s_(&v[W_SCHEMA]).p ? s_(&v[W_SCHEMA]).p : "");
    if (nw_time_parse(s_(&v[W_TIME]), &ev->time_us))
        return nw_err_set(err, NW_WIRE_E_FIELD, "event without a valid time");
    ev->identity_key = s_(&v[W_KEY]);
    if (!ev->identity_key.n)
        return nw_err_set(err, NW_WIRE_E_FIELD, "event without identity.key");
    int p = nw_provider_from_name(s_(&v[W_PROVIDER]));
    ev->provider = (uint8_t)(p < 0 ? 0 : p);
    ev->identity_type = s_(&v[W_TYPE]);
    int k = nw_kind_from_name(s_(&v[W_KIND]));
    ev->kind = (uint8_t)(k < 0 ? 0 : k);
    ev->display_name = s_(&v[W_NAME]);
    ev->account = s_(&v[W_ACCOUNT]);
    ev->tenant = s_(&v[W_TENANT]);
    ev->session_name = s_(&v[W_SESSION]);
    ev->origin_key = s_(&v[W_ORIGIN]);
    ev->credential_id = s_(&v[W_CRED_ID]);
    int ck = nw_cred_kind_from_name(s_(&v[W_CRED_KIND]));
    ev->cred_kind = (uint8_t)(ck < 0 ? 0 : ck);
    ev->service = s_(&v[W_SERVICE]);
    ev->action = s_(&v[W_ACTION]);
    ev->permission = s_(&v[W_PERMISSION]);
    int ac = nw_access_from_name(s_(&v[W_ACCESS]));
    ev->access = (uint8_t)(ac < 0 ? 0 : ac);
    int oc = nw_outcome_from_name(s_(&v[W_RESULT]));
    ev->outcome = (uint8_t)(oc < 0 ? 0 : oc);
    ev->error_code = s_(&v[W_ERROR]);
    ev->source_ip = s_(&v[W_IP]);
    ev->user_agent = s_(&v[W_UA]);
    ev->region = s_(&v[W_REGION]);
    ev->resource = s_(&v[W_RESOURCE]);
    ev->event_id = s_(&v[W_EVENT_ID]);
    ev->op_key = s_(&v[W_OPKEY]);
    ev->issued_credential = s_(&v[W_ISSUED]);
    ev->target_key = s_(&v[W_TARGET]);
    if (v[W_SVC_AGENT].type == NW_J_BOOL && v[W_SVC_AGENT].b)
        ev->flags |= NW_EV_SERVICE_AGENT;
    if (v[W_PRIV].type == NW_J_BOOL && v[W_PRIV].b)
        ev->flags |= NW_EV_PRIVILEGED;
    if (v[W_SECRET].type == NW_J_BOOL && v[W_SECRET].b)
        ev->flags |= NW_EV_SECRET_READ;
    if (v[W_CONSOLE].type == NW_J_BOOL && v[W_CONSOLE].b)
        ev->flags |= NW_EV_CONSOLE;
    if (v[W_VIA].type == NW_J_BOOL && v[W_VIA].b)
        ev->flags |= NW_EV_VIA_SERVICE;
    ev->phase = nw_str_eq(s_(&v[W_PHASE]), "partial") ? NW_PHASE_PARTIAL : NW_PHASE_COMPLETE;
    nw_str dd = s_(&v[W_DEDUPE]);
    if (dd.n != 32)
        return nw_err_set(err, NW_WIRE_E_FIELD, "event without a 32-hex-digit dedupe_id");
    for (int i = 0; i < 16; i++) {
        int hi = hexval(dd.p[2 * i]), lo = hexval(dd.p[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return nw_err_set(err, NW_WIRE_E_FIELD, "dedupe_id is not hexadecimal");
        ev->dedupe_id[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}
