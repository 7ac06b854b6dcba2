/* wire.c - nhiwatch.event/1 encoding and decoding. See wire.h. */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "../core/nw_time.h"

/* The encoder writes into the caller's buffer through `struct out`: every
 * write checks the room left once, and a write that does not fit marks the
 * output full (NW_WIRE_E_SPACE) instead of truncating it. Keys are literals
 * with their quotes, colon and the value's opening quote (no strlen), and a
 * string is copied in runs between the bytes that need an escape, found 16
 * at a time: encoding was a fifth of an ingest worker's main thread when it
 * went byte by byte (docs/streaming.md, "Throughput"). */
struct out {
    char *p;
    size_t n, cap;
    bool full;
};

static inline void put(struct out *o, const char *s, size_t n)
{
    if (o->full || n > o->cap - o->n) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

static inline void put_c(struct out *o, char c)
{
    if (o->full || o->n == o->cap) {
        o->full = true;
        return;
    }
    o->p[o->n++] = c;
}

#define PUT_LIT(o, lit) put((o), (lit), sizeof(lit) - 1)

/* A byte JSON requires to be escaped: control characters, '"' and '\\'.
 * Bytes >= 0x80 (UTF-8) and 0x7f are written as they are. */
static inline bool needs_esc(unsigned char c) { return c < 0x20 || c == '"' || c == '\\'; }

/* Index of the first byte at or after i that needs an escape, or n. */
static inline size_t esc_scan(const char *p, size_t i, size_t n)
{
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), ctl = _mm_set1_epi8(0x1f);
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        /* unsigned x <= 0x1f  <=>  max(x, 0x1f) == 0x1f */
        __m128i m = _mm_or_si128(_mm_cmpeq_epi8(_mm_max_epu8(x, ctl), ctl),
                                 _mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, bs)));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#endif
    while (i < n && !needs_esc((unsigned char)p[i]))
        i++;
    return i;
}

/* The string's bytes, escaped, and its closing quote (the opening quote is
 * part of the key literal). */
static void put_jstr_tail(struct out *o, nw_str s)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    for (;;) {
        size_t j = esc_scan(s.p, i, s.n);
        put(o, s.p + i, j - i);
        if (j == s.n)
            break;
        unsigned char c = (unsigned char)s.p[j];
        char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
        if (c == '"' || c == '\\') {
            esc[1] = (char)c;
            put(o, esc, 2);
        } else if (c == '\n') {
            PUT_LIT(o, "\\n");
        } else if (c == '\t') {
            PUT_LIT(o, "\\t");
        } else if (c == '\r') {
            PUT_LIT(o, "\\r");
        } else {
            put(o, esc, 6);
        }
        i = j + 1;
    }
    put_c(o, '"');
}

/* `,"key":"value"` (no comma for the first member of an object) when value
 * is not empty. kq is the key with its quotes, its colon and the value's
 * opening quote: FIELD(o, &first, "\"key\":\"", v). */
static inline void field_(struct out *o, bool *first, const char *kq, size_t kn, nw_str v)
{
    if (!v.n)
        return;
    if (!*first)
        put_c(o, ',');
    *first = false;
    put(o, kq, kn);
    put_jstr_tail(o, v);
}
#define FIELD(o, first, kq, v) field_((o), (first), (kq), sizeof(kq) - 1, (v))

/* `,"key":true` when v. kt is the key with quotes, colon and `true`. */
static inline void field_true_(struct out *o, bool *first, const char *kt, size_t kn, bool v)
{
    if (!v)
        return;
    if (!*first)
        put_c(o, ',');
    *first = false;
    put(o, kt, kn);
}
#define FIELD_TRUE(o, first, kt, v) field_true_((o), (first), (kt), sizeof(kt) - 1, (v))

/* Days of 0000-01-01 and 9999-12-31 (nw_days_from_civil): years
 * nw_time_fmt_us writes without clamping them. */
#define DAY_MIN (-719528)
#define DAY_MAX 2932896

static inline char *put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* What nw_time_fmt_us writes, without snprintf (which took a few percent
 * of an ingest worker): "YYYY-MM-DDTHH:MM:SSZ", with ".ffffff" before the
 * Z when there are microseconds. out: 40 bytes. Returns the length. */
static size_t fmt_time(int64_t us, char *out)
{
    int64_t day = nw_time_day(us);
    if (day < DAY_MIN || day > DAY_MAX) {
        nw_time_fmt_us(us, out);
        return strlen(out);
    }
    int64_t rem = us - day * NW_US_PER_DAY;
    unsigned sod = (unsigned)(rem / NW_US_PER_SEC), frac = (unsigned)(rem % NW_US_PER_SEC);
    /* civil_from_days (H. Hinnant), as core/nw_time.c does it */
    int64_t z = day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    unsigned y = (unsigned)((int64_t)yoe + era * 400 + (m <= 2));
    char *p = out;
    p = put2(p, y / 100);
    p = put2(p, y % 100);
    *p++ = '-';
    p = put2(p, m);
    *p++ = '-';
    p = put2(p, d);
    *p++ = 'T';
    p = put2(p, sod / 3600);
    *p++ = ':';
    p = put2(p, sod / 60 % 60);
    *p++ = ':';
    p = put2(p, sod % 60);
    if (frac) {
        *p++ = '.';
        p = put2(p, frac / 10000);
        p = put2(p, frac / 100 % 100);
        p = put2(p, frac % 100);
    }
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - out);
}

/* an enum's name: these are short literals, no escape needed */
static inline nw_str name_(const char *s) { return nw_str_c(s); }

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
    PUT_LIT(&o, "{\"schema\":\"" NW_WIRE_SCHEMA "\",\"time\":\"");
    put(&o, tb, fmt_time(ev->time_us, tb));
    PUT_LIT(&o, "\",\"provider\":\"");
    const char *prov = nw_provider_name(ev->provider);
    put(&o, prov, strlen(prov));
    PUT_LIT(&o, "\",\"identity\":{");
    first = true;
    FIELD(&o, &first, "\"key\":\"", ev->identity_key);
    FIELD(&o, &first, "\"type\":\"", ev->identity_type);
    FIELD(&o, &first, "\"kind\":\"", name_(nw_kind_name(ev->kind)));
    FIELD(&o, &first, "\"name\":\"", ev->display_name);
    FIELD(&o, &first, "\"account\":\"", ev->account);
    FIELD(&o, &first, "\"tenant\":\"", ev->tenant);
    FIELD(&o, &first, "\"session\":\"", ev->session_name);
    FIELD(&o, &first, "\"origin\":\"", ev->origin_key);
    FIELD_TRUE(&o, &first, "\"service_agent\":true", ev->flags & NW_EV_SERVICE_AGENT);
    put_c(&o, '}');
    if (ev->credential_id.n || ev->cred_kind) {
        PUT_LIT(&o, ",\"credential\":{");
        first = true;
        FIELD(&o, &first, "\"id\":\"", ev->credential_id);
        FIELD(&o, &first, "\"kind\":\"", name_(nw_cred_kind_name(ev->cred_kind)));
        put_c(&o, '}');
    }
    PUT_LIT(&o, ",\"action\":{");
    first = true;
    FIELD(&o, &first, "\"service\":\"", ev->service);
    FIELD(&o, &first, "\"name\":\"", ev->action);
    FIELD(&o, &first, "\"permission\":\"", ev->permission);
    FIELD(&o, &first, "\"access\":\"", name_(nw_access_name(ev->access)));
    FIELD_TRUE(&o, &first, "\"privileged\":true", ev->flags & NW_EV_PRIVILEGED);
    FIELD_TRUE(&o, &first, "\"secret_read\":true", ev->flags & NW_EV_SECRET_READ);
    PUT_LIT(&o, "},\"outcome\":{");
    first = true;
    FIELD(&o, &first, "\"result\":\"", name_(nw_outcome_name(ev->outcome)));
    FIELD(&o, &first, "\"error_code\":\"", ev->error_code);
    PUT_LIT(&o, "},\"source\":{");
    first = true;
    FIELD(&o, &first, "\"ip\":\"", ev->source_ip);
    FIELD(&o, &first, "\"user_agent\":\"", ev->user_agent);
    FIELD(&o, &first, "\"region\":\"", ev->region);
    FIELD_TRUE(&o, &first, "\"console\":true", ev->flags & NW_EV_CONSOLE);
    FIELD_TRUE(&o, &first, "\"via_service\":true", ev->flags & NW_EV_VIA_SERVICE);
    put_c(&o, '}');
    first = false;
    FIELD(&o, &first, "\"resource\":\"", ev->resource);
    FIELD(&o, &first, "\"event_id\":\"", ev->event_id);
    static const char hexd[] = "0123456789abcdef"; /* snprintf per byte was a tenth of ingest's CPU */
    for (int i = 0; i < 16; i++) {
        hx[2 * i] = hexd[ev->dedupe_id[i] >> 4];
        hx[2 * i + 1] = hexd[ev->dedupe_id[i] & 15];
    }
    hx[32] = '\0';
    FIELD(&o, &first, "\"dedupe_id\":\"", nw_str_mk(hx, 32));
    FIELD(&o, &first, "\"op_key\":\"", ev->op_key);
    FIELD(&o, &first, "\"issued_credential\":\"", ev->issued_credential);
    FIELD(&o, &first, "\"target\":\"", ev->target_key);
    if (ev->phase == NW_PHASE_PARTIAL)
        PUT_LIT(&o, ",\"phase\":\"partial\"");
    put_c(&o, '}');
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

/* The fast path's view of wpaths: the root object's keys and those of the
 * objects under it, each a value (leaf: index into v[]) or an object
 * (sub: index into objs[]). Built from wpaths, so that a field added there
 * is read by both paths. */
#define FAST_KEYS 16
#define FAST_OBJS 8

struct fkey {
    const char *k;
    size_t n;
    int leaf, sub;
};

struct fobj {
    struct fkey keys[FAST_KEYS];
    size_t n;
};

struct nw_wire {
    nw_jscan *js;
    nw_jpaths *ps;
    size_t max_message;
    struct fobj objs[FAST_OBJS]; /* objs[0]: the root */
    size_t nobjs;
    bool fast; /* the tables hold every path */
};

static struct fkey *fast_key(struct fobj *o, const char *k, size_t n)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->keys[i].n == n && memcmp(o->keys[i].k, k, n) == 0)
            return &o->keys[i];
    if (o->n == FAST_KEYS)
        return NULL;
    struct fkey *fk = &o->keys[o->n++];
    *fk = (struct fkey){k, n, -1, -1};
    return fk;
}

/* false when a path does not fit the tables (then every message takes the
 * scanner's path) */
static bool fast_tables(nw_wire *w)
{
    w->nobjs = 1;
    for (int i = 0; i < W_COUNT; i++) {
        const char *p = wpaths[i], *slash = strchr(p, '/');
        if (!slash) {
            struct fkey *k = fast_key(&w->objs[0], p, strlen(p));
            if (!k || k->sub >= 0)
                return false;
            k->leaf = i;
            continue;
        }
        if (strchr(slash + 1, '/'))
            return false;
        struct fkey *parent = fast_key(&w->objs[0], p, (size_t)(slash - p));
        if (!parent || parent->leaf >= 0)
            return false;
        if (parent->sub < 0) {
            if (w->nobjs == FAST_OBJS)
                return false;
            parent->sub = (int)w->nobjs++;
        }
        struct fkey *k = fast_key(&w->objs[parent->sub], slash + 1, strlen(slash + 1));
        if (!k || k->sub >= 0)
            return false;
        k->leaf = i;
    }
    return true;
}

nw_wire *nw_wire_new(size_t max_message, nw_err *err)
{
    nw_wire *w = calloc(1, sizeof(*w));
    if (!w) {
        nw_err_set(err, NW_WIRE_E_NOMEM, "out of memory");
        return NULL;
    }
    w->ps = nw_jpaths_new(wpaths, W_COUNT, err);
    w->max_message = max_message ? max_message : (size_t)1 << 20;
    w->js = nw_jscan_new(w->max_message, 32);
    w->fast = fast_tables(w);
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

/* ---- the fast path: the shape nw_wire_encode writes ----
 *
 * An analyze worker spent about a third of its main thread scanning wire
 * messages with the general scanner. What nw_wire_encode writes is much
 * narrower than JSON: one object of known keys whose values are strings,
 * `true` or objects of the same, no white space, no escapes. fast_scan
 * reads exactly that, fills v[] as nw_jscan_doc would, and gives up (false)
 * on anything else, which then takes the general path; so does every
 * message another producer writes differently. Giving up is never wrong:
 * it only costs the general path's time. */

/* Only printable ASCII without '\': no escape to undo, no UTF-8 to
 * validate, no control byte (the general path judges those). */
static bool plain_ascii(const char *p, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i lo = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f), bs = _mm_set1_epi8('\\');
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        /* signed: bytes >= 0x80 are negative, so below 0x20 too */
        __m128i bad = _mm_or_si128(_mm_cmplt_epi8(x, lo), _mm_or_si128(_mm_cmpeq_epi8(x, del), _mm_cmpeq_epi8(x, bs)));
        if (_mm_movemask_epi8(bad))
            return false;
        i += 16;
    }
#endif
    for (; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c >= 0x7f || c == '\\')
            return false;
    }
    return true;
}

/* p at an opening quote: the string's contents, p past its closing quote */
static bool fast_str(const char **pp, const char *end, nw_str *s)
{
    const char *p = *pp + 1;
    const char *q = memchr(p, '"', (size_t)(end - p));
    if (!q)
        return false;
    *s = nw_str_mk(p, (size_t)(q - p));
    *pp = q + 1;
    return true;
}

/* One object's members, *pp at its '{'; depth 0 is the root. */
static bool fast_obj(const nw_wire *w, const struct fobj *o, int depth, const char **pp, const char *end, nw_jval *v,
                     unsigned *seen_subs)
{
    const char *p = *pp + 1;
    size_t hint = 0; /* the encoder writes keys in table order: try the next one first */
    if (p >= end || *p == '}')
        return false; /* {} is valid but never written */
    for (;;) {
        nw_str k;
        if (p >= end || *p != '"' || !fast_str(&p, end, &k) || p >= end || *p != ':')
            return false;
        p++;
        const struct fkey *fk = NULL;
        for (size_t i = 0; i < o->n && !fk; i++) {
            const struct fkey *c = &o->keys[(hint + i) % o->n];
            if (c->n == k.n && memcmp(c->k, k.p, k.n) == 0) {
                fk = c;
                hint = (size_t)(c - o->keys) + 1;
            }
        }
        if (!fk || p >= end)
            return false; /* a key this decoder does not read: the general path skips it */
        if (fk->sub >= 0) {
            if (depth > 0 || *p != '{' || (*seen_subs >> fk->sub & 1u))
                return false;
            *seen_subs |= 1u << fk->sub;
            if (!fast_obj(w, &w->objs[fk->sub], depth + 1, &p, end, v, seen_subs))
                return false;
        } else {
            nw_jval *o_ = &v[fk->leaf];
            if (o_->type != NW_J_ABSENT)
                return false; /* repeated: the general path keeps the first */
            if (*p == '"') {
                if (!fast_str(&p, end, &o_->s))
                    return false;
                o_->type = NW_J_STRING;
            } else if ((size_t)(end - p) >= 4 && memcmp(p, "true", 4) == 0) {
                p += 4;
                o_->type = NW_J_BOOL;
                o_->b = true;
            } else {
                return false;
            }
        }
        if (p >= end)
            return false;
        if (*p == '}') {
            *pp = p + 1;
            return true;
        }
        if (*p != ',')
            return false;
        p++;
    }
}

static bool fast_scan(const nw_wire *w, const char *buf, size_t len, nw_jval *v)
{
    if (!w->fast || len < 2 || len > w->max_message || buf[0] != '{' || buf[len - 1] != '}' || !plain_ascii(buf, len))
        return false;
    for (size_t i = 0; i < W_COUNT; i++)
        v[i] = (nw_jval){0};
    const char *p = buf, *end = buf + len;
    unsigned seen = 0;
    /* fewer than NW_WIRE_MAX_FIELDS fields, as the tables hold fewer */
    return fast_obj(w, &w->objs[0], 0, &p, end, v, &seen) && p == end;
}

bool nw_wire_is_fast(const nw_wire *w, const char *buf, size_t len)
{
    nw_jval v[W_COUNT];
    return fast_scan(w, buf, len, v);
}

int nw_wire_decode(nw_wire *w, const char *buf, size_t len, nw_arena *arena, nw_event *ev, nw_err *err)
{
    nw_jval v[W_COUNT];
    memset(ev, 0, sizeof(*ev));
    if (!fast_scan(w, buf, len, v)) {
        if (nw_jscan_measure(buf, len, 0, NW_WIRE_MAX_FIELDS, err))
            return NW_WIRE_E_LIMIT;
        int rc = nw_jscan_doc(w->js, buf, len, len, w->ps, v, arena, err);
        if (rc)
            return NW_WIRE_E_JSON;
    }
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
