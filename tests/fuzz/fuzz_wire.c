/* fuzz_wire.c - nw_wire_decode (ingest/wire.h) on arbitrary messages: what
 * an analyze worker reads from the nhi.events topic, which anyone who can
 * produce to it controls. Each input is one message (an exact-size heap
 * copy, as a Kafka payload is). A message that decodes must survive the
 * round trip: encoding the event and decoding it again gives the same
 * event (fuzz_event.h). */
#include "fuzz_event.h"

static nw_wire *w;
static nw_arena *ar, *ar2;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!w) {
        nw_err err;
        nw_err_clear(&err);
        w = nw_wire_new(0, &err);
        ar = nw_arena_new(64 * 1024);
        ar2 = nw_arena_new(64 * 1024);
        FUZZ_CHECK(w && ar && ar2);
    }
    nw_event ev;
    nw_err err;
    nw_err_clear(&err);
    int rc = nw_wire_decode(w, (const char *)data, size, ar, &ev, &err);
    FUZZ_CHECK(rc <= 0 && rc >= NW_WIRE_E_LIMIT);
    if (rc == 0) {
        FUZZ_CHECK(ev.identity_key.n > 0);
        fuzz_event_touch(&ev);
        fuzz_wire_roundtrip(w, &ev, ar2);
    }
    nw_arena_reset(ar);
    nw_arena_reset(ar2);
    return 0;
}
