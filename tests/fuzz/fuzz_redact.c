/* fuzz_redact.c - credential masking (core/nw_redact.h), which every free
 * text field of an event and every bad-record message goes through.
 *
 * Mode byte, low bit 0: the rest is any text. Checked: nw_redact copies
 * exactly when nw_redact_needed says so, and the copy holds the mask;
 * nw_redact_msg gives the same text, cut to its buffer. (Masking is not
 * idempotent on every text: a mask can end a word and so make the tail of
 * a long word a key name on a second pass. That masks more, never less, and
 * nhiwatch masks once.)
 * Low bit 1: the rest is "prefix\0token\0suffix"; the token (made
 * alphanumeric, 8 to 64 characters) is planted after one of the secret
 * markers (Bearer, password=, "client_secret":", Authorization:, a private
 * key header, secret + 40 characters) between the prefix and the suffix;
 * the token must not survive unless the prefix or suffix holds it anyway. */
#define _GNU_SOURCE 1 /* memmem */
#include <string.h>

#include "fuzz_common.h"
#include "nw_redact.h"

static nw_arena *ar;

static void check_text(const char *p, size_t n)
{
    nw_str s = nw_str_mk(p, n);
    nw_str r = nw_redact(ar, s);
    bool needed = nw_redact_needed(s);
    FUZZ_CHECK(needed == (r.p != s.p));
    if (!needed) {
        FUZZ_CHECK(r.n == s.n);
        return;
    }
    FUZZ_CHECK(r.p[r.n] == '\0');
    FUZZ_CHECK(memmem(r.p, r.n, NW_REDACTED, sizeof NW_REDACTED - 1) != NULL);
    /* the message form: same text, NUL-terminated, cut to the buffer */
    char msg[320];
    size_t m = n < sizeof msg - 1 ? n : sizeof msg - 1;
    if (!memchr(p, '\0', m)) {
        memcpy(msg, p, m);
        msg[m] = '\0';
        nw_str cut = nw_str_mk(msg, m);
        nw_str want = nw_redact(ar, cut);
        bool did = nw_redact_msg(msg, sizeof msg);
        FUZZ_CHECK(did == (want.p != cut.p));
        size_t wl = want.n < sizeof msg - 1 ? want.n : sizeof msg - 1;
        FUZZ_CHECK(strlen(msg) == wl && memcmp(msg, want.p, wl) == 0);
    }
}

static const char *const markers[] = {
    " Bearer ",          " password=",      " {\"client_secret\":\"", " Authorization: ",
    "\n-----BEGIN PRIVATE KEY-----\n", " secretAccessKey ", " x-amz-security-token: ", "&sig=",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ar) {
        ar = nw_arena_new(64 * 1024);
        FUZZ_CHECK(ar != NULL);
    }
    if (size < 1 || size > 8192)
        return 0;
    nw_arena_reset(ar);
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    if (!(data[0] & 1)) {
        check_text(in, n);
        return 0;
    }
    const char *z1 = memchr(in, '\0', n);
    if (!z1)
        return 0;
    const char *tok = z1 + 1;
    const char *z2 = memchr(tok, '\0', n - (size_t)(tok - in));
    if (!z2)
        return 0;
    size_t pn = (size_t)(z1 - in), tn = (size_t)(z2 - tok);
    const char *suf = z2 + 1;
    size_t sn = n - (size_t)(suf - in);
    size_t mk = (data[0] >> 1) % (sizeof markers / sizeof markers[0]);
    bool aws_key = strstr(markers[mk], "secretAccessKey") != NULL;
    if (aws_key)
        tn = 40; /* the shape that rule looks for */
    if (tn < 8 || tn > 64)
        return 0;
    char token[64];
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = 0; i < tn; i++)
        token[i] = al[(unsigned char)tok[i % (size_t)(z2 - tok > 0 ? z2 - tok : 1)] % (sizeof al - 1)];
    size_t ml = strlen(markers[mk]);
    char *text = malloc(pn + ml + tn + 1 + sn);
    FUZZ_CHECK(text != NULL);
    size_t o = 0;
    memcpy(text + o, in, pn);
    o += pn;
    memcpy(text + o, markers[mk], ml);
    o += ml;
    memcpy(text + o, token, tn);
    o += tn;
    /* the AWS rule wants the 40 characters to end there */
    text[o++] = aws_key ? ' ' : '"';
    memcpy(text + o, suf, sn);
    o += sn;
    check_text(text, o);
    nw_str r = nw_redact(ar, nw_str_mk(text, o));
    bool elsewhere = memmem(in, pn, token, tn) || memmem(suf, sn, token, tn) ||
                     memmem(markers[mk], ml, token, tn);
    if (!elsewhere && memmem(r.p, r.n, token, tn)) {
        fprintf(stderr, "planted token survived:\n  in:  %.*s\n  out: %.*s\n", (int)o, text, (int)r.n, r.p);
        FUZZ_CHECK(!"a planted secret is masked");
    }
    free(text);
    return 0;
}
