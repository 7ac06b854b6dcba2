/* fuzz_event.h - checks on a normalized event shared by fuzz_decode and
 * fuzz_wire: every view readable, and the wire round trip
 * (nw_wire_encode -> nw_wire_decode) gives the same event back. */
#ifndef NW_FUZZ_EVENT_H
#define NW_FUZZ_EVENT_H

#include <string.h>

#include "event.h"
#include "fuzz_common.h"
#include "wire.h"

#define FUZZ_EV_FIELDS(X)                                                                                        \
    X(identity_key) X(identity_type) X(display_name) X(account) X(tenant) X(session_name) X(credential_id)        \
    X(service) X(action) X(permission) X(resource) X(error_code) X(source_ip) X(user_agent) X(region) X(event_id) \
    X(origin_key) X(op_key) X(issued_credential) X(target_key)

static inline void fuzz_event_touch(const nw_event *ev)
{
#define T_(f)                                              \
    FUZZ_CHECK(ev->f.n == 0 || ev->f.p != NULL);           \
    fuzz_touch(ev->f.p, ev->f.n);
    FUZZ_EV_FIELDS(T_)
#undef T_
}

static inline bool fuzz_str_same(nw_str a, nw_str b) { return a.n == b.n && (a.n == 0 || !memcmp(a.p, b.p, a.n)); }

/* Encode ev, decode it again, compare. Returns the decode result (0 when
 * the round trip worked); aborts when the two events differ. */
static inline int fuzz_wire_roundtrip(nw_wire *w, const nw_event *ev, nw_arena *ar)
{
    size_t bound = nw_wire_size_bound(ev);
    char *buf = malloc(bound);
    FUZZ_CHECK(buf != NULL);
    long n = nw_wire_encode(ev, buf, bound);
    FUZZ_CHECK(n > 0 && (size_t)n <= bound); /* the bound always suffices */
    /* an exact-size copy: the decoder must not read past the message */
    char *msg = malloc((size_t)n);
    FUZZ_CHECK(msg != NULL);
    memcpy(msg, buf, (size_t)n);
    free(buf);
    nw_event back;
    nw_err err;
    nw_err_clear(&err);
    int rc = nw_wire_decode(w, msg, (size_t)n, ar, &back, &err);
    if (rc) {
        fprintf(stderr, "wire round trip: decode failed (%d: %s) on: %.*s\n", rc, err.msg, (int)(n > 2000 ? 2000 : n),
                msg);
        FUZZ_CHECK(!"an encoded event decodes");
    }
#define C_(f)                                                                                                   \
    if (!fuzz_str_same(ev->f, back.f)) {                                                                        \
        fprintf(stderr, "wire round trip: %s '%.*s' came back as '%.*s'\n", #f, (int)ev->f.n,                   \
                ev->f.p ? ev->f.p : "", (int)back.f.n, back.f.p ? back.f.p : "");                               \
        FUZZ_CHECK(!"field survives the round trip");                                                          \
    }
    FUZZ_EV_FIELDS(C_)
#undef C_
    FUZZ_CHECK(back.time_us == ev->time_us);
    FUZZ_CHECK(back.provider == ev->provider);
    FUZZ_CHECK(back.kind == ev->kind);
    FUZZ_CHECK(back.outcome == ev->outcome);
    FUZZ_CHECK(back.cred_kind == ev->cred_kind);
    FUZZ_CHECK(back.access == ev->access);
    FUZZ_CHECK(back.phase == ev->phase);
    FUZZ_CHECK(back.flags == ev->flags);
    FUZZ_CHECK(memcmp(back.dedupe_id, ev->dedupe_id, 16) == 0);
    free(msg);
    return rc;
}

#endif
