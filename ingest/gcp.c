/* gcp.c - placeholder: the decoder is being written. */
#include "provider.h"

static const char *const paths[] = {"__gcp_placeholder__"};
static bool match(const nw_jval *v) { (void)v; return false; }
static int decode(void *st, nw_decctx *dc, const nw_jval *v, nw_event *ev, nw_err *err)
{
    (void)st; (void)dc; (void)v; (void)ev;
    return nw_err_set(err, NW_DEC_E_FORMAT, "gcp decoder not built yet");
}
const nw_provider_decoder nw_gcp_decoder = {"gcp", paths, 1, match, NULL, NULL, decode};
