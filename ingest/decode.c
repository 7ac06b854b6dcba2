/* decode.c - record format detection and dispatch to the provider decoders.
 *
 * One scan per record: the path set is the union of the envelope paths
 * below and every provider's paths, so detecting the format costs nothing
 * beyond decoding it. Envelopes that hold the event as a nested object or as
 * a JSON string (EventBridge `detail`, lookup-events `CloudTrailEvent`,
 * CloudWatch Logs `message`, Pub/Sub push `message.data`) are unwrapped and
 * decoded again, at most NW_MAX_UNWRAP levels deep.
 */
#include "decode.h"

#include "../core/nw_redact.h"
#include "source.h" /* the default caps */

#include <stdlib.h>
#include <string.h>
#include <strings.h>


#define NW_MAX_UNWRAP 3

enum {
    E_RECORDS,
    E_LOGEVENTS,
    E_EVENTS,
    E_DIGEST_OBJ,
    E_DIGEST_START,
    E_DETAIL_TYPE,
    E_DETAIL,
    E_MESSAGE_TYPE,
    E_CT_EVENT,
    E_MESSAGE,
    E_AWSLOGS,
    E_EVENT_TYPE,
    E_S3_BUCKET,
    E_S3_KEY,
    E_COUNT
};

/* jscan keys are case-insensitive, so "Records" also finds "records". */
static const char *const env_paths[E_COUNT] = {
    [E_RECORDS] = "Records",
    [E_LOGEVENTS] = "logEvents",    [E_EVENTS] = "Events",
    [E_DIGEST_OBJ] = "digestS3Object", [E_DIGEST_START] = "digestStartTime",
    [E_DETAIL_TYPE] = "detail-type", [E_DETAIL] = "detail",
    [E_MESSAGE_TYPE] = "messageType", [E_CT_EVENT] = "CloudTrailEvent",
    [E_MESSAGE] = "message",        [E_AWSLOGS] = "awslogs",
    [E_EVENT_TYPE] = "eventType",
    [E_S3_BUCKET] = "s3Bucket",     [E_S3_KEY] = "s3ObjectKey",
};

static const nw_provider_decoder *const providers[] = {
    &nw_cloudtrail_decoder,
    &nw_gcp_decoder,
    &nw_azure_decoder,
};
#define NPROV (sizeof(providers) / sizeof(providers[0]))

struct nw_decoder {
    nw_jscan *js;
    nw_jpaths *ps;
    nw_jpaths *pubsub; /* message.data inside a Pub/Sub push envelope */
    size_t *map[NPROV]; /* provider path j -> index in the unified path set */
    nw_jval *pv;        /* one provider's values, gathered through map */
    size_t total;
    void *state[NPROV];
    nw_jval *vals[NW_MAX_UNWRAP + 1];
    nw_decode_limits lim;
};

nw_decoder *nw_decoder_new(const nw_decode_limits *limits, nw_err *err)
{
    nw_decoder *d = calloc(1, sizeof(*d));
    const char **all = NULL;
    if (!d)
        goto out_nomem;
    d->lim.max_record = limits && limits->max_record ? limits->max_record : NW_MAX_RECORD_DEFAULT;
    d->lim.max_depth = limits && limits->max_depth ? limits->max_depth : NW_MAX_DEPTH_DEFAULT;
    d->lim.max_string = limits && limits->max_string ? limits->max_string : NW_MAX_STRING_DEFAULT;
    d->lim.max_fields = limits && limits->max_fields ? limits->max_fields : NW_MAX_FIELDS_DEFAULT;
    /* unified path set: envelope paths, then every provider path not yet
     * in the set (compared case-insensitively, as jscan matches keys) */
    size_t cap = E_COUNT;
    size_t maxp = 0;
    for (size_t i = 0; i < NPROV; i++) {
        cap += providers[i]->npaths;
        if (providers[i]->npaths > maxp)
            maxp = providers[i]->npaths;
    }
    all = calloc(cap, sizeof(*all));
    d->pv = calloc(maxp ? maxp : 1, sizeof(nw_jval));
    if (!all || !d->pv)
        goto out_nomem;
    for (size_t i = 0; i < E_COUNT; i++)
        all[i] = env_paths[i];
    d->total = E_COUNT;
    for (size_t i = 0; i < NPROV; i++) {
        d->map[i] = calloc(providers[i]->npaths ? providers[i]->npaths : 1, sizeof(size_t));
        if (!d->map[i])
            goto out_nomem;
        for (size_t j = 0; j < providers[i]->npaths; j++) {
            const char *pth = providers[i]->paths[j];
            size_t k = 0;
            while (k < d->total && strcasecmp(all[k], pth) != 0)
                k++;
            if (k == d->total)
                all[d->total++] = pth;
            d->map[i][j] = k;
        }
    }
    d->ps = nw_jpaths_new(all, d->total, err);
    free(all);
    all = NULL;
    if (!d->ps)
        goto out_free;
    static const char *const pub[] = {"data", "attributes", "messageId"};
    d->pubsub = nw_jpaths_new(pub, 3, err);
    if (!d->pubsub)
        goto out_free;
    d->js = nw_jscan_new(d->lim.max_record * 2 + 4096, d->lim.max_depth);
    if (!d->js)
        goto out_nomem;
    for (size_t i = 0; i <= NW_MAX_UNWRAP; i++) {
        d->vals[i] = calloc(d->total, sizeof(nw_jval));
        if (!d->vals[i])
            goto out_nomem;
    }
    for (size_t i = 0; i < NPROV; i++) {
        if (providers[i]->state_new) {
            d->state[i] = providers[i]->state_new(err);
            if (!d->state[i])
                goto out_free;
        }
    }
    return d;
out_nomem:
    nw_err_set(err, NW_DEC_E_NOMEM, "out of memory creating the decoder");
out_free:
    free(all);
    nw_decoder_free(d);
    return NULL;
}

void nw_decoder_free(nw_decoder *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < NPROV; i++)
        if (d->state[i] && providers[i]->state_free)
            providers[i]->state_free(d->state[i]);
    for (size_t i = 0; i <= NW_MAX_UNWRAP; i++)
        free(d->vals[i]);
    for (size_t i = 0; i < NPROV; i++)
        free(d->map[i]);
    free(d->pv);
    nw_jscan_free(d->js);
    nw_jpaths_free(d->ps);
    nw_jpaths_free(d->pubsub);
    free(d);
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Base64 (standard or URL alphabet, padding optional) into the arena. */
static int b64_decode(nw_arena *a, nw_str in, nw_str *out)
{
    char *p = nw_arena_alloc(a, in.n / 4 * 3 + 4 + NW_JSCAN_PADDING);
    if (!p)
        return -1;
    size_t n = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < in.n; i++) {
        unsigned char c = (unsigned char)in.p[i];
        if (c == '=' || c == '\n' || c == '\r' || c == ' ')
            continue;
        int v = b64val(c);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            p[n++] = (char)((acc >> bits) & 0xff);
        }
    }
    memset(p + n, ' ', NW_JSCAN_PADDING);
    *out = nw_str_mk(p, n);
    return 0;
}

static int decode_at(nw_decoder *d, int level, const char *buf, size_t len, size_t cap, nw_arena *arena,
                     nw_event *ev, nw_str *container, nw_err *err);

/* The free-text fields of an event can carry what a caller put there (a
 * user agent with an Authorization header, an object name with a password,
 * an error message with a token): mask credentials before the event is
 * stored, sent or printed (core/nw_redact.h). Identity keys, ids and names
 * the provider assigns are left as they are. */
static void redact_event(nw_event *ev, nw_arena *arena)
{
    ev->user_agent = nw_redact(arena, ev->user_agent);
    ev->resource = nw_redact(arena, ev->resource);
    ev->error_code = nw_redact(arena, ev->error_code);
    ev->display_name = nw_redact(arena, ev->display_name);
    ev->session_name = nw_redact(arena, ev->session_name);
}

/* JSON that was text inside a string (`what` says which) was never seen by
 * the splitter: measure it against the string and field caps first. */
static int measure_inner(const nw_decoder *d, const char *what, nw_str s, nw_err *err)
{
    nw_err m;
    nw_err_clear(&m);
    int rc = nw_jscan_measure(s.p, s.n, d->lim.max_string, d->lim.max_fields, &m);
    if (rc == NW_JSCAN_OK)
        return 0;
    if (rc == NW_JSCAN_E_STRING)
        return nw_err_set(err, NW_DEC_E_LIMIT, "the JSON in %s: %s (--max-string)", what, m.msg);
    return nw_err_set(err, NW_DEC_E_LIMIT, "the JSON in %s: %s (--max-fields)", what, m.msg);
}

/* Decode JSON held in a string value (already unescaped). */
static int decode_inner(nw_decoder *d, int level, const char *what, nw_str s, nw_arena *arena, nw_event *ev,
                        nw_str *container, nw_err *err)
{
    if (level >= NW_MAX_UNWRAP)
        return nw_err_set(err, NW_DEC_E_LIMIT, "envelopes nested more than %d deep", NW_MAX_UNWRAP);
    int rc = measure_inner(d, what, s, err);
    if (rc)
        return rc;
    return decode_at(d, level + 1, s.p, s.n, s.n, arena, ev, container, err);
}

static int decode_at(nw_decoder *d, int level, const char *buf, size_t len, size_t cap, nw_arena *arena,
                     nw_event *ev, nw_str *container, nw_err *err)
{
    if (len > d->lim.max_record)
        return nw_err_set(err, NW_DEC_E_LIMIT, "record of %zu bytes exceeds the %zu-byte cap", len,
                          d->lim.max_record);
    nw_jval *v = d->vals[level];
    int rc = nw_jscan_doc(d->js, buf, len, cap, d->ps, v, arena, err);
    if (rc == NW_JSCAN_E_NOT_OBJECT) {
        return nw_err_set(err, NW_DEC_E_FORMAT, "record is not a JSON object");
    } else if (rc == NW_JSCAN_E_TOO_DEEP || rc == NW_JSCAN_E_TOO_LARGE) {
        err->code = NW_DEC_E_LIMIT;
        return NW_DEC_E_LIMIT;
    } else if (rc == NW_JSCAN_E_NOMEM) {
        err->code = NW_DEC_E_NOMEM;
        return NW_DEC_E_NOMEM;
    } else if (rc) {
        err->code = NW_DEC_E_JSON;
        return NW_DEC_E_JSON;
    }

    /* containers: the caller splits them */
    static const int ckeys[] = {E_RECORDS, E_LOGEVENTS, E_EVENTS};
    for (size_t i = 0; i < sizeof(ckeys) / sizeof(ckeys[0]); i++) {
        const nw_jval *c = &v[ckeys[i]];
        if (c->type == NW_J_ARRAY) {
            if (ckeys[i] == E_LOGEVENTS && nw_str_eq(nw_jv_str(&v[E_MESSAGE_TYPE]), "CONTROL_MESSAGE")) {
                nw_err_set(err, 0, "CloudWatch Logs control message");
                return NW_DECODE_SKIP;
            }
            *container = c->s;
            return NW_DECODE_CONTAINER;
        }
    }
    if (v[E_DIGEST_OBJ].type != NW_J_ABSENT || v[E_DIGEST_START].type != NW_J_ABSENT) {
        nw_err_set(err, 0, "CloudTrail digest file");
        return NW_DECODE_SKIP;
    }
    /* CloudTrail's SNS notice of a delivery: {"s3Bucket": B, "s3ObjectKey": [K...]}
     * names log objects and holds no record */
    if (v[E_S3_BUCKET].type == NW_J_STRING && v[E_S3_KEY].type == NW_J_ARRAY) {
        nw_err_set(err, 0, "CloudTrail log delivery notification (s3Bucket, s3ObjectKey): read the objects it names");
        return NW_DECODE_SKIP;
    }
    /* EventBridge: {"detail-type": "...", "detail": {event}} */
    if (v[E_DETAIL_TYPE].type == NW_J_STRING && v[E_DETAIL].type == NW_J_OBJECT) {
        nw_str dt = v[E_DETAIL_TYPE].s;
        if (!nw_str_iends(dt, "via CloudTrail")) {
            nw_err_set(err, 0, "EventBridge event '%.*s' is not a CloudTrail record", (int)(dt.n > 80 ? 80 : dt.n),
                       dt.p);
            return NW_DECODE_SKIP;
        }
        if (level >= NW_MAX_UNWRAP)
            return nw_err_set(err, NW_DEC_E_LIMIT, "envelopes nested too deep");
        nw_str inner = v[E_DETAIL].s;
        return decode_at(d, level + 1, inner.p, inner.n, cap - (size_t)(inner.p - buf), arena, ev, container, err);
    }
    /* lookup-events element: {"EventId":..., "CloudTrailEvent": "<json>"} */
    if (v[E_CT_EVENT].type == NW_J_STRING)
        return decode_inner(d, level, "the CloudTrailEvent string", v[E_CT_EVENT].s, arena, ev, container, err);
    if (v[E_CT_EVENT].type == NW_J_OBJECT) {
        nw_str inner = v[E_CT_EVENT].s;
        if (level >= NW_MAX_UNWRAP)
            return nw_err_set(err, NW_DEC_E_LIMIT, "envelopes nested too deep");
        return decode_at(d, level + 1, inner.p, inner.n, cap - (size_t)(inner.p - buf), arena, ev, container, err);
    }

    for (size_t i = 0; i < NPROV; i++) {
        nw_jval *pv = d->pv;
        for (size_t j = 0; j < providers[i]->npaths; j++)
            pv[j] = v[d->map[i][j]];
        if (!providers[i]->match(pv))
            continue;
        nw_decctx dc = {d->js, arena};
        memset(ev, 0, sizeof(*ev));
        rc = providers[i]->decode(d->state[i], &dc, pv, ev, err);
        if (rc < 0)
            err->code = rc;
        if (rc == 0)
            redact_event(ev, arena);
        return rc == NW_DEC_SKIP ? NW_DECODE_SKIP : rc;
    }

    /* CloudWatch Logs log event: {"id","timestamp","message":"<event json>"} */
    if (v[E_MESSAGE].type == NW_J_STRING) {
        nw_str m = nw_str_trim(v[E_MESSAGE].s);
        if (m.n && m.p[0] == '{')
            return decode_inner(d, level, "the CloudWatch Logs message", m, arena, ev, container, err);
    }
    /* Pub/Sub push: {"message":{"data":"<base64 LogEntry>"},"subscription":...} */
    if (v[E_MESSAGE].type == NW_J_OBJECT) {
        nw_str m = v[E_MESSAGE].s;
        nw_jval pv[3];
        rc = nw_jscan_doc(d->js, m.p, m.n, cap - (size_t)(m.p - buf), d->pubsub, pv, arena, err);
        if (rc == 0 && pv[0].type == NW_J_STRING) {
            nw_str raw;
            if (b64_decode(arena, pv[0].s, &raw))
                return nw_err_set(err, NW_DEC_E_FIELD, "Pub/Sub message.data is not base64");
            if (level >= NW_MAX_UNWRAP)
                return nw_err_set(err, NW_DEC_E_LIMIT, "envelopes nested too deep");
            if ((rc = measure_inner(d, "Pub/Sub message.data", raw, err)))
                return rc;
            return decode_at(d, level + 1, raw.p, raw.n, raw.n + NW_JSCAN_PADDING, arena, ev, container, err);
        }
    }
    if (v[E_AWSLOGS].type != NW_J_ABSENT)
        return nw_err_set(err, NW_DEC_E_FORMAT,
                          "Lambda-wrapped CloudWatch Logs data (awslogs): decode the base64 gzip payload first");
    if (nw_str_eq(nw_jv_str(&v[E_MESSAGE_TYPE]), "CONTROL_MESSAGE")) {
        nw_err_set(err, 0, "CloudWatch Logs control message");
        return NW_DECODE_SKIP;
    }
    return nw_err_set(err, NW_DEC_E_FORMAT,
                      "not a CloudTrail, Azure Activity or GCP audit record (no recognised keys)");
}

int nw_decode(nw_decoder *d, const char *buf, size_t len, size_t cap, nw_arena *arena, nw_event *ev,
              nw_str *container, nw_err *err)
{
    *container = NW_STR_NULL;
    return decode_at(d, 0, buf, len, cap, arena, ev, container, err);
}

const char *nw_dec_strerror(int code)
{
    switch (code) {
    case NW_DECODE_EVENT:
        return "ok";
    case NW_DECODE_SKIP:
        return "skipped";
    case NW_DECODE_CONTAINER:
        return "container";
    case NW_DEC_E_JSON:
        return "malformed JSON";
    case NW_DEC_E_FORMAT:
        return "unrecognised format";
    case NW_DEC_E_IDENTITY:
        return "no identity";
    case NW_DEC_E_TIME:
        return "bad event time";
    case NW_DEC_E_FIELD:
        return "wrong field type";
    case NW_DEC_E_NOMEM:
        return "out of memory";
    case NW_DEC_E_LIMIT:
        return "over a size limit";
    }
    return "unknown error";
}

/* ---- helpers for the provider decoders ---- */

nw_str nw_jv_str(const nw_jval *v) { return v->type == NW_J_STRING ? v->s : NW_STR_NULL; }

nw_str nw_jv_text(const nw_jval *v)
{
    switch (v->type) {
    case NW_J_STRING:
    case NW_J_NUMBER:
        return v->s;
    case NW_J_BOOL:
        return v->b ? NW_STR_LIT("true") : NW_STR_LIT("false");
    default:
        return NW_STR_NULL;
    }
}

bool nw_jv_true(const nw_jval *v)
{
    if (v->type == NW_J_BOOL)
        return v->b;
    if (v->type == NW_J_STRING)
        return nw_str_ieq(v->s, "true");
    return false;
}

nw_str nw_lower(nw_arena *a, nw_str s)
{
    size_t i = 0;
    while (i < s.n && !(s.p[i] >= 'A' && s.p[i] <= 'Z'))
        i++;
    if (i == s.n)
        return s; /* already lower-case: no copy */
    char *p = nw_arena_alloc(a, s.n + 1);
    if (!p)
        return NW_STR_NULL;
    for (i = 0; i < s.n; i++) {
        char c = s.p[i];
        p[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
    }
    p[s.n] = '\0';
    return nw_str_mk(p, s.n);
}

nw_str nw_cat(nw_arena *a, const nw_str *parts, size_t n)
{
    size_t len = 0;
    for (size_t i = 0; i < n; i++)
        len += parts[i].n;
    char *p = nw_arena_alloc(a, len + 1);
    if (!p)
        return NW_STR_NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (parts[i].n)
            memcpy(p + o, parts[i].p, parts[i].n);
        o += parts[i].n;
    }
    p[o] = '\0';
    return nw_str_mk(p, len);
}

bool nw_is_ip(nw_str s)
{
    if (s.n == 0 || s.n > 45)
        return false;
    bool colon = false, dot = false;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (c == ':')
            colon = true;
        else if (c == '.')
            dot = true;
        else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
            return false;
    }
    return colon || dot;
}
