/* source.c - record splitting, gzip and folder walking. See source.h. */
#include "source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "../core/nw_str.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define PAD 64
#define KEY_MAX 32

enum rec_kind { RK_STRUCT = 0, RK_STRING = 1, RK_BARE = 2 };

struct nw_split {
    nw_split_limits lim;
    char name[NW_ERR_SRC_MAX];

    /* structure */
    int depth;
    unsigned char *stack; /* '{' or '[' per level, up to lim.max_depth */
    size_t stack_cap;
    bool in_str, esc;
    int cont_depth;  /* depth at which records are array elements; -1: none */
    bool top_is_obj; /* the current top-level value is an object */
    int64_t top_line;

    /* key tracking at depth 1 of a top-level object */
    bool expect_key, in_key, key_done, pending_container;
    char key[KEY_MAX];
    size_t keylen;

    /* the record being collected */
    bool rec_active, rec_bad, too_big;
    int rec_kind, rec_depth;
    int64_t rec_line, rec_offset;
    /* string and field caps (nw_jscan_measure's counting, done in passing) */
    int64_t str_limit;  /* str_slack past the open string's quote (an offset in the
                           source): a closing quote beyond it is over the cap */
    int64_t str_slack;  /* 1 + lim.max_string */
    size_t fields_left; /* members + elements the record may still have */
    bool just_opened;   /* a '{' or '[' of the record ended the last chunk, maybe
                           followed by white space: is it empty? */
    char badmsg[200];
    char *buf;
    size_t len, bufcap;
    size_t chunk_start; /* where the record starts in the current chunk */

    /* position */
    int64_t line;
    int64_t base; /* bytes fed before the current chunk */
    int64_t index, nrec, nbad;
    bool first_done, jsonl;
    bool resync; /* skipping garbage after a reported error */
    bool skip_line; /* the rest of the current line is garbage (it may go on in the next chunk) */
    int64_t bom_n;  /* bytes of a byte order mark read at the start */
};

nw_split *nw_split_new(const nw_split_limits *lim)
{
    nw_split *sp = calloc(1, sizeof(*sp));
    if (!sp)
        return NULL;
    sp->lim.max_record = lim && lim->max_record ? lim->max_record : NW_MAX_RECORD_DEFAULT;
    sp->lim.max_depth = lim && lim->max_depth ? lim->max_depth : NW_MAX_DEPTH_DEFAULT;
    sp->lim.max_string = lim && lim->max_string ? lim->max_string : NW_MAX_STRING_DEFAULT;
    sp->lim.max_fields = lim && lim->max_fields ? lim->max_fields : NW_MAX_FIELDS_DEFAULT;
    if (sp->lim.max_string > (size_t)INT64_MAX / 2) /* offsets are int64_t */
        sp->lim.max_string = (size_t)INT64_MAX / 2;
    sp->str_slack = 1 + (int64_t)sp->lim.max_string;
    sp->stack_cap = sp->lim.max_depth + 2;
    sp->stack = malloc(sp->stack_cap);
    sp->bufcap = 64 * 1024;
    sp->buf = malloc(sp->bufcap + PAD);
    if (!sp->stack || !sp->buf) {
        nw_split_free(sp);
        return NULL;
    }
    nw_split_reset(sp, "");
    return sp;
}

void nw_split_free(nw_split *sp)
{
    if (!sp)
        return;
    free(sp->stack);
    free(sp->buf);
    free(sp);
}

void nw_split_reset(nw_split *sp, const char *name)
{
    snprintf(sp->name, sizeof(sp->name), "%s", name ? name : "");
    sp->depth = 0;
    sp->in_str = sp->esc = false;
    sp->cont_depth = -1;
    sp->top_is_obj = false;
    sp->expect_key = sp->in_key = sp->key_done = sp->pending_container = false;
    sp->keylen = 0;
    sp->rec_active = sp->rec_bad = sp->too_big = false;
    sp->fields_left = sp->lim.max_fields;
    sp->just_opened = false;
    sp->len = 0;
    sp->line = 1;
    sp->base = 0;
    sp->index = sp->nrec = sp->nbad = 0;
    sp->first_done = sp->jsonl = false;
    sp->resync = false;
    sp->skip_line = false;
    sp->bom_n = 0;
    /* a splitter that once held a huge record gives the memory back */
    if (sp->bufcap > (size_t)1 << 20) {
        char *nb = realloc(sp->buf, 64 * 1024 + PAD);
        if (nb) {
            sp->buf = nb;
            sp->bufcap = 64 * 1024;
        }
    }
}

int64_t nw_split_records(const nw_split *sp) { return sp->nrec; }
int64_t nw_split_bad(const nw_split *sp) { return sp->nbad; }
bool nw_split_is_jsonl(const nw_split *sp) { return sp->jsonl; }

static void report(nw_split *sp, nw_bad_cb on_bad, void *ctx, int64_t line, int64_t index, int64_t off,
                   const char *msg)
{
    sp->nbad++;
    if (!on_bad)
        return;
    nw_err e;
    nw_err_clear(&e);
    e.code = NW_SRC_E_LIMIT;
    snprintf(e.source, sizeof(e.source), "%s", sp->name);
    e.line = line;
    e.record = index;
    e.offset = off;
    snprintf(e.msg, sizeof(e.msg), "%s", msg);
    on_bad(ctx, &e);
}

static void rec_start(nw_split *sp, size_t i, int kind, int depth)
{
    sp->rec_active = true;
    sp->rec_bad = sp->too_big = false;
    sp->rec_kind = kind;
    sp->rec_depth = depth;
    sp->rec_line = sp->line;
    sp->rec_offset = sp->base + (int64_t)i;
    sp->len = 0;
    sp->chunk_start = i;
    sp->index++;
    sp->resync = false;
    sp->fields_left = sp->lim.max_fields;
    sp->just_opened = false;
}

static void rec_mark_bad(nw_split *sp, const char *msg)
{
    if (!sp->rec_active || sp->rec_bad)
        return;
    sp->rec_bad = true;
    snprintf(sp->badmsg, sizeof(sp->badmsg), "%s", msg);
}

/* The record is already over max_record at the absolute offset pos: that is
 * what gets reported, not a string or field cap passed later in it. */
static bool over_size_at(const nw_split *sp, int64_t pos)
{
    return sp->too_big || (uint64_t)(pos - sp->rec_offset) >= sp->lim.max_record;
}

/* A string closed at d[i], past str_limit. Cold: kept out of the byte
 * loop, which only compares an offset per string and counts per field. */
__attribute__((cold, noinline)) static void string_over(nw_split *sp, size_t i)
{
    int64_t end = sp->base + (int64_t)i;
    int64_t start = sp->str_limit - sp->str_slack; /* its opening quote */
    if (!sp->rec_active || sp->rec_bad || over_size_at(sp, end))
        return;
    char m[200];
    snprintf(m, sizeof m, "string of %lld bytes at byte %lld of the record exceeds --max-string %zu (record skipped)",
             (long long)(end - start - 1), (long long)(start - sp->rec_offset), sp->lim.max_string);
    rec_mark_bad(sp, m);
}

/* The record has more than max_fields fields; the last one starts at d[i]. */
__attribute__((cold, noinline)) static void fields_over(nw_split *sp, size_t i)
{
    if (!sp->rec_active || sp->rec_bad || over_size_at(sp, sp->base + (int64_t)i))
        return;
    char m[200];
    snprintf(m, sizeof m,
             "more than %zu fields (object members and array elements; field %zu at byte %lld of the record) "
             "exceeds --max-fields %zu (record skipped)",
             sp->lim.max_fields, sp->lim.max_fields + 1, (long long)(sp->base + (int64_t)i - sp->rec_offset),
             sp->lim.max_fields);
    rec_mark_bad(sp, m);
}

/* One more member or element, starting at d[i]: the one over the cap is
 * reported, once (the count then wraps around). Outside a record the count
 * is stale and harmless: rec_start resets it. */
static inline void count_field(nw_split *sp, size_t i)
{
    if (sp->fields_left-- == 0)
        fields_over(sp, i);
}

static inline bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

/* A '{' or '[' of the record came before d[j]: unless the next token closes
 * it, that token is its first member or element. Looked ahead here, so
 * that no other token has to ask; when the chunk ends first, the next chunk
 * answers (nw_split_feed). */
static inline void opened(nw_split *sp, const char *d, size_t j, size_t n)
{
    while (j < n && is_ws(d[j]))
        j++;
    if (j == n)
        sp->just_opened = true;
    else if (d[j] != '}' && d[j] != ']')
        count_field(sp, j);
}

/* Append data[from..to) to the record buffer, respecting the cap. */
static void rec_append(nw_split *sp, const char *data, size_t from, size_t to)
{
    if (sp->too_big || sp->rec_bad || to <= from)
        return;
    size_t add = to - from;
    if (sp->len + add > sp->lim.max_record) {
        sp->too_big = true;
        return;
    }
    if (sp->len + add > sp->bufcap) {
        size_t nc = sp->bufcap * 2;
        while (nc < sp->len + add)
            nc *= 2;
        if (nc > sp->lim.max_record)
            nc = sp->lim.max_record;
        char *nb = realloc(sp->buf, nc + PAD);
        if (!nb) {
            sp->too_big = true;
            return;
        }
        sp->buf = nb;
        sp->bufcap = nc;
    }
    memcpy(sp->buf + sp->len, data + from, add);
    sp->len += add;
}

/* The record ends at data[end) (exclusive). */
static int rec_end(nw_split *sp, const char *data, size_t n, size_t end, nw_rec_cb on_rec, nw_bad_cb on_bad,
                   void *ctx)
{
    sp->rec_active = false;
    size_t total = sp->len + (end - sp->chunk_start);
    if (!sp->rec_bad && !sp->too_big && total > sp->lim.max_record)
        sp->too_big = true;
    if (sp->rec_bad) {
        report(sp, on_bad, ctx, sp->rec_line, sp->index, sp->rec_offset, sp->badmsg);
        return 0;
    }
    if (sp->too_big) {
        char m[160];
        snprintf(m, sizeof(m), "record larger than the %zu-byte cap (skipped; --max-record raises it)",
                 sp->lim.max_record);
        report(sp, on_bad, ctx, sp->rec_line, sp->index, sp->rec_offset, m);
        return 0;
    }
    nw_rec r;
    if (sp->len == 0) {
        r.p = data + sp->chunk_start;
        r.n = end - sp->chunk_start;
        r.cap = n - sp->chunk_start;
    } else {
        rec_append(sp, data, sp->chunk_start, end);
        memset(sp->buf + sp->len, ' ', PAD);
        r.p = sp->buf;
        r.n = sp->len;
        r.cap = sp->len + PAD;
    }
    sp->len = 0;
    r.line = sp->rec_line;
    r.index = sp->index;
    r.offset = sp->rec_offset;
    r.source = sp->name;
    sp->nrec++;
    return on_rec ? on_rec(ctx, &r) : 0;
}

/* Abandon the open value: the line ended inside it (JSON Lines) or the
 * input is corrupt. Back to the top level. */
static void abandon(nw_split *sp, nw_bad_cb on_bad, void *ctx, const char *why, int64_t off)
{
    if (sp->rec_active) {
        rec_mark_bad(sp, why);
        report(sp, on_bad, ctx, sp->rec_line, sp->index, sp->rec_offset, sp->badmsg);
        sp->rec_active = false;
        sp->len = 0;
    } else if (!sp->resync) {
        report(sp, on_bad, ctx, sp->line, sp->index + 1, off, why);
    }
    sp->depth = 0;
    sp->in_str = sp->esc = false;
    sp->cont_depth = -1;
    sp->top_is_obj = false;
    sp->expect_key = sp->in_key = sp->pending_container = false;
    sp->just_opened = false;
}

static bool is_container_key(const char *k, size_t n)
{
    static const char *const keys[] = {"records", "logevents", "events"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        size_t kn = strlen(keys[i]);
        if (kn != n)
            continue;
        size_t j = 0;
        while (j < n && (k[j] | 0x20) == keys[i][j])
            j++;
        if (j == n)
            return true;
    }
    return false;
}

/* Index of the next '"', '\\' or '\n' at or after i, or n. */
static inline size_t scan_str(const char *d, size_t i, size_t n)
{
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\'), nl = _mm_set1_epi8('\n');
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(d + i));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, b)), _mm_cmpeq_epi8(x, nl));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
        i += 16;
    }
#endif
    while (i < n && d[i] != '"' && d[i] != '\\' && d[i] != '\n')
        i++;
    return i;
}

int nw_split_feed(nw_split *sp, const char *d, size_t n, nw_rec_cb on_rec, nw_bad_cb on_bad, void *ctx)
{
    int rc = 0;
    if (sp->rec_active)
        sp->chunk_start = 0;
    size_t i = 0;
    if (sp->just_opened) {
        /* the last chunk ended right after a '{' or '[' */
        sp->just_opened = false;
        opened(sp, d, 0, n);
    }
    /* a UTF-8 byte order mark (files saved by Windows tools, PowerShell
     * redirection) is not part of the JSON; offsets still count it */
    while (sp->base + (int64_t)i < 3 && sp->bom_n == sp->base + (int64_t)i && i < n &&
           d[i] == NW_UTF8_BOM[sp->bom_n]) {
        sp->bom_n++;
        i++;
    }
    if (sp->skip_line) {
        const char *nl = memchr(d, '\n', n);
        i = nl ? (size_t)(nl - d) : n;
        sp->skip_line = nl == NULL;
    }
    while (i < n) {
        if (sp->in_str) {
            if (sp->esc) {
                sp->esc = false;
                if (sp->in_key && sp->keylen < KEY_MAX)
                    sp->key[sp->keylen++] = d[i];
                i++;
                continue;
            }
            size_t j = scan_str(d, i, n);
            if (sp->in_key) {
                for (size_t k = i; k < j && sp->keylen < KEY_MAX; k++)
                    sp->key[sp->keylen++] = d[k];
            }
            i = j;
            if (i >= n)
                break;
            char c = d[i];
            if (c == '\\') {
                sp->esc = true;
                if (sp->in_key && sp->keylen < KEY_MAX)
                    sp->key[sp->keylen++] = '\\';
                i++;
                continue;
            }
            if (c == '\n') {
                /* a raw newline cannot be inside a JSON string: the line was
                 * cut. Resume at the next line. */
                abandon(sp, on_bad, ctx, "record cut short: line ends inside a string", sp->base + (int64_t)i);
                sp->line++;
                i++;
                continue;
            }
            /* closing quote */
            sp->in_str = false;
            if (sp->base + (int64_t)i > sp->str_limit)
                string_over(sp, i);
            if (sp->in_key) {
                sp->in_key = false;
                sp->key_done = true;
            }
            i++;
            if (sp->rec_active && sp->rec_kind == RK_STRING && sp->depth == sp->rec_depth &&
                (rc = rec_end(sp, d, n, i, on_rec, on_bad, ctx)))
                return rc;
            continue;
        }

        char c = d[i];
        switch (c) {
        case '\n':
            if (sp->rec_active && sp->rec_kind == RK_BARE &&
                (rc = rec_end(sp, d, n, i, on_rec, on_bad, ctx)))
                return rc;
            if (sp->jsonl && sp->depth > 0)
                abandon(sp, on_bad, ctx, "record cut short: line ends inside the record", sp->base + (int64_t)i);
            sp->line++;
            break;
        case ' ':
        case '\t':
        case '\r':
            if (sp->rec_active && sp->rec_kind == RK_BARE &&
                (rc = rec_end(sp, d, n, i, on_rec, on_bad, ctx)))
                return rc;
            break;
        case '{':
        case '[':
            if (sp->depth == 0) {
                if (c == '{') {
                    rec_start(sp, i, RK_STRUCT, 0);
                    sp->top_is_obj = true;
                    sp->expect_key = true;
                } else {
                    sp->top_is_obj = false;
                    sp->cont_depth = 1;
                }
                sp->top_line = sp->line;
            } else if (sp->depth == 1 && sp->top_is_obj && sp->pending_container && c == '[') {
                /* {"Records": [ ... ]}: the elements are the records */
                sp->rec_active = false;
                sp->index--; /* the envelope was not a record */
                sp->len = 0;
                sp->cont_depth = 2;
            } else if (sp->depth == sp->cont_depth && !sp->rec_active) {
                rec_start(sp, i, RK_STRUCT, sp->cont_depth);
            }
            sp->pending_container = false;
            if ((size_t)sp->depth >= sp->lim.max_depth) {
                char m[64];
                snprintf(m, sizeof m, "nested deeper than %zu levels", sp->lim.max_depth);
                rec_mark_bad(sp, m);
            }
            if ((size_t)sp->depth < sp->stack_cap)
                sp->stack[sp->depth] = (unsigned char)c;
            sp->depth++;
            if (sp->depth == 1 && sp->top_is_obj)
                sp->expect_key = true;
            if (sp->rec_active)
                opened(sp, d, i + 1, n);
            break;
        case '}':
        case ']': {
            if (sp->depth == 0) {
                if (!sp->resync) {
                    report(sp, on_bad, ctx, sp->line, sp->index + 1, sp->base + (int64_t)i,
                           c == '}' ? "unexpected '}' outside any record" : "unexpected ']' outside any record");
                    sp->resync = true;
                }
                break;
            }
            if (sp->rec_active && sp->rec_kind == RK_BARE && sp->depth == sp->rec_depth &&
                (rc = rec_end(sp, d, n, i, on_rec, on_bad, ctx)))
                return rc;
            unsigned char want = c == '}' ? '{' : '[';
            int top = sp->depth - 1;
            if ((size_t)top < sp->stack_cap && sp->stack[top] != want) {
                /* mismatched: close back to the matching opener if any */
                int k = top;
                while (k >= 0 && ((size_t)k >= sp->stack_cap || sp->stack[k] != want))
                    k--;
                if (sp->rec_active)
                    rec_mark_bad(sp, c == '}' ? "brackets do not match: unexpected '}'"
                                              : "brackets do not match: unexpected ']'");
                if (k < 0) {
                    abandon(sp, on_bad, ctx, "brackets do not match", sp->base + (int64_t)i);
                    sp->resync = true;
                    break;
                }
                if (sp->rec_active && k < sp->rec_depth) {
                    /* closing beyond the record: the record is over */
                    sp->depth = sp->rec_depth + 1;
                } else {
                    sp->depth = k + 1;
                }
            }
            sp->depth--;
            if (sp->depth == 0) {
                if (sp->rec_active) {
                    if (!sp->first_done)
                        sp->jsonl = (sp->top_line == sp->line);
                    if ((rc = rec_end(sp, d, n, i + 1, on_rec, on_bad, ctx)))
                        return rc;
                } else if (!sp->first_done) {
                    sp->jsonl = (sp->top_line == sp->line);
                }
                sp->first_done = true;
                sp->cont_depth = -1;
                sp->top_is_obj = false;
                sp->expect_key = false;
            } else if (sp->depth == sp->cont_depth - 1) {
                sp->cont_depth = -1; /* the container array closed */
            } else if (sp->rec_active && sp->rec_kind == RK_STRUCT && sp->depth == sp->rec_depth &&
                       sp->rec_depth > 0) {
                if ((rc = rec_end(sp, d, n, i + 1, on_rec, on_bad, ctx)))
                    return rc;
            }
            break;
        }
        case '"':
            sp->str_limit = sp->base + (int64_t)i + sp->str_slack;
            if (sp->depth == 0) {
                rec_start(sp, i, RK_STRING, 0);
            } else if (sp->depth == sp->cont_depth && !sp->rec_active) {
                rec_start(sp, i, RK_STRING, sp->cont_depth);
            }
            if (sp->depth == 1 && sp->top_is_obj && sp->expect_key) {
                sp->in_key = true;
                sp->keylen = 0;
                sp->expect_key = false;
            } else {
                sp->pending_container = false;
            }
            sp->in_str = true;
            break;
        case ':':
            if (sp->depth == 1 && sp->top_is_obj && sp->key_done) {
                sp->pending_container = is_container_key(sp->key, sp->keylen);
                sp->key_done = false;
            }
            break;
        case ',':
            if (sp->rec_active && sp->rec_kind == RK_BARE && sp->depth == sp->rec_depth &&
                (rc = rec_end(sp, d, n, i, on_rec, on_bad, ctx)))
                return rc;
            count_field(sp, i);
            if (sp->depth == 1 && sp->top_is_obj) {
                sp->expect_key = true;
                sp->pending_container = false;
            }
            break;
        default:
            if (sp->depth == 0) {
                if (!sp->resync) {
                    char m[96];
                    unsigned char uc = (unsigned char)c;
                    if (uc >= 0x20 && uc < 0x7f)
                        snprintf(m, sizeof(m), "not JSON: unexpected '%c' where a record should start", c);
                    else if (sp->base + (int64_t)i == 0 && (uc == 0xff || uc == 0xfe))
                        snprintf(m, sizeof(m), "not JSON: starts with a UTF-16 byte order mark (convert to UTF-8)");
                    else
                        snprintf(m, sizeof(m), "not JSON: unexpected byte 0x%02x where a record should start", uc);
                    report(sp, on_bad, ctx, sp->line, sp->index + 1, sp->base + (int64_t)i, m);
                    sp->index++;
                    sp->resync = true;
                }
                /* skip the rest of the line, in this chunk and the next ones */
                const char *nl = memchr(d + i, '\n', n - i);
                i = nl ? (size_t)(nl - d) : n;
                sp->skip_line = nl == NULL;
                continue;
            }
            if (sp->depth == sp->cont_depth && !sp->rec_active)
                rec_start(sp, i, RK_BARE, sp->cont_depth);
            if (sp->depth == 1)
                sp->pending_container = false;
            break;
        }
        i++;
    }
    /* keep the part of the open record that is in this chunk */
    if (sp->rec_active)
        rec_append(sp, d, sp->chunk_start, n);
    sp->base += (int64_t)n;
    return 0;
}

size_t nw_split_finish(nw_split *sp, nw_bad_cb on_bad, void *ctx)
{
    size_t partial = 0;
    if (sp->rec_active && sp->rec_kind == RK_BARE && sp->depth == sp->rec_depth) {
        /* a bare value at the very end: complete as it is, but it can only
         * be a scalar, which no decoder accepts */
        sp->rec_active = false;
        report(sp, on_bad, ctx, sp->rec_line, sp->index, sp->rec_offset, "not a JSON object");
        sp->len = 0;
        return 0;
    }
    if (sp->rec_active) {
        partial = sp->len;
        char m[160];
        snprintf(m, sizeof(m), "input ends inside a record (%zu bytes of an incomplete record dropped)", partial);
        report(sp, on_bad, ctx, sp->rec_line, sp->index, sp->rec_offset, m);
        sp->rec_active = false;
        sp->len = 0;
    } else if (sp->depth > 0 && sp->cont_depth < 0 && !sp->top_is_obj) {
        /* inside something that was not a record (envelope tail): harmless */
    }
    sp->depth = 0;
    sp->in_str = false;
    sp->skip_line = false;
    return partial;
}

int nw_split_buffer(nw_split *sp, const char *name, const char *buf, size_t n, nw_rec_cb on_rec, nw_bad_cb on_bad,
                    void *ctx)
{
    nw_split_reset(sp, name);
    int rc = nw_split_feed(sp, buf, n, on_rec, on_bad, ctx);
    if (rc)
        return rc;
    nw_split_finish(sp, on_bad, ctx);
    return 0;
}

/* ------------------------------------------------------------------ */
/* folder walk */

struct flist {
    char **v;
    size_t n, cap;
};

static int flist_add(struct flist *l, const char *s)
{
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        char **nv = realloc(l->v, nc * sizeof(*nv));
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = nc;
    }
    l->v[l->n] = strdup(s);
    if (!l->v[l->n])
        return -1;
    l->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int walk(const char *path, struct flist *out, int depth, nw_err *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        nw_err_set(err, NW_SRC_E_OPEN, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    if (S_ISREG(st.st_mode))
        return flist_add(out, path);
    if (!S_ISDIR(st.st_mode))
        return 0;
    if (depth > 64) {
        nw_err_set(err, NW_SRC_E_LIMIT, "cannot read '%s': folders nested deeper than 64 (link loop?)", path);
        return -1;
    }
    DIR *dir = opendir(path);
    if (!dir) {
        nw_err_set(err, NW_SRC_E_OPEN, "cannot read folder '%s': %s", path, strerror(errno));
        return -1;
    }
    struct flist names = {0};
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (flist_add(&names, de->d_name)) {
            rc = -1;
            break;
        }
    }
    closedir(dir);
    if (names.n)
        qsort(names.v, names.n, sizeof(char *), cmp_str);
    size_t plen = strlen(path);
    for (size_t i = 0; i < names.n; i++) {
        size_t need = plen + 1 + strlen(names.v[i]) + 1;
        char *child = malloc(need);
        if (!child) {
            rc = -1;
            break;
        }
        snprintf(child, need, "%s%s%s", path, (plen && path[plen - 1] == '/') ? "" : "/", names.v[i]);
        if (walk(child, out, depth + 1, err))
            rc = -1;
        free(child);
    }
    for (size_t i = 0; i < names.n; i++)
        free(names.v[i]);
    free(names.v);
    return rc;
}

long nw_source_list(const char *const *paths, size_t npaths, char ***files, nw_err *err)
{
    struct flist l = {0};
    for (size_t i = 0; i < npaths; i++)
        walk(paths[i], &l, 0, err);
    *files = l.v;
    return (long)l.n;
}

/* ------------------------------------------------------------------ */
/* reading one file */

#define READ_CHUNK (256 * 1024)
#define OUT_CHUNK (1024 * 1024)

struct reader {
    nw_split *sp;
    const nw_source_cbs *cbs;
    nw_source_stats *st;
    const nw_source_limits *lim;
    unsigned char *in;
    char *out;
};

static void file_error(const struct reader *r, const char *path, int code, const char *fmt, const char *a,
                       const char *b)
{
    if (!r->cbs->on_file_error)
        return;
    nw_err e;
    nw_err_clear(&e);
    e.code = code;
    snprintf(e.source, sizeof(e.source), "%s", path);
    snprintf(e.msg, sizeof(e.msg), fmt, a, b);
    r->cbs->on_file_error(r->cbs->ctx, &e);
}

static bool all_space(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t')
            return false;
    return true;
}

static int read_file(struct reader *r, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        r->st->files_failed++;
        file_error(r, path, NW_SRC_E_OPEN, "cannot open: %s%s", strerror(errno), "");
        return NW_SRC_E_OPEN;
    }
    struct stat stt;
    int64_t size = fstat(fd, &stt) == 0 ? (int64_t)stt.st_size : -1;
    ssize_t got = read(fd, r->in, READ_CHUNK);
    if (got < 0) {
        r->st->files_failed++;
        file_error(r, path, NW_SRC_E_OPEN, "cannot read: %s%s", strerror(errno), "");
        close(fd);
        return NW_SRC_E_OPEN;
    }
    if (got == 0 || (size >= 0 && size == got && all_space(r->in, (size_t)got))) {
        r->st->files_empty++;
        close(fd);
        return 0;
    }
    r->st->files++;
    if (r->cbs->on_file)
        r->cbs->on_file(r->cbs->ctx, path, size);
    nw_split_reset(r->sp, path);
    bool gz = got >= 2 && r->in[0] == 0x1f && r->in[1] == 0x8b;
    int rc = 0;
    uint64_t produced = 0;
    uint64_t cap = r->lim && r->lim->max_file_bytes ? r->lim->max_file_bytes : 0;

    if (!gz) {
        memcpy(r->out, r->in, (size_t)got);
        while (got > 0) {
            r->st->bytes_in += (uint64_t)got;
            r->st->bytes += (uint64_t)got;
            produced += (uint64_t)got;
            memset(r->out + got, ' ', PAD);
            int frc = nw_split_feed(r->sp, r->out, (size_t)got, r->cbs->on_rec, r->cbs->on_bad, r->cbs->ctx);
            if (frc) {
                rc = NW_SRC_E_STOPPED;
                goto out;
            }
            if (cap && produced > cap) {
                char lim[32];
                snprintf(lim, sizeof lim, "%llu", (unsigned long long)cap);
                file_error(r, path, NW_SRC_E_LIMIT, "file larger than the %s-byte cap%s: rest skipped", lim, "");
                rc = NW_SRC_E_LIMIT;
                goto out;
            }
            got = read(fd, r->out, OUT_CHUNK);
        }
        if (got < 0) {
            file_error(r, path, NW_SRC_E_OPEN, "read error: %s%s", strerror(errno), "");
            rc = NW_SRC_E_OPEN;
        }
        goto out;
    }

    r->st->files_gzip++;
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) {
        rc = NW_SRC_E_NOMEM;
        goto out;
    }
    bool eof = false, damaged = false;
    const char *why = NULL;
    z.next_in = r->in;
    z.avail_in = (uInt)got;
    r->st->bytes_in += (uint64_t)got;
    for (;;) {
        if (z.avail_in == 0 && !eof) {
            got = read(fd, r->in, READ_CHUNK);
            if (got < 0) {
                damaged = true;
                why = strerror(errno);
                break;
            }
            if (got == 0) {
                eof = true;
            } else {
                r->st->bytes_in += (uint64_t)got;
                z.next_in = r->in;
                z.avail_in = (uInt)got;
            }
        }
        z.next_out = (Bytef *)r->out;
        z.avail_out = OUT_CHUNK;
        int zr = (z.avail_in || !eof) ? inflate(&z, Z_NO_FLUSH) : Z_BUF_ERROR;
        size_t have = OUT_CHUNK - z.avail_out;
        if (have) {
            r->st->bytes += have;
            produced += have;
            memset(r->out + have, ' ', PAD);
            if (nw_split_feed(r->sp, r->out, have, r->cbs->on_rec, r->cbs->on_bad, r->cbs->ctx)) {
                inflateEnd(&z);
                rc = NW_SRC_E_STOPPED;
                goto out;
            }
            if (cap && produced > cap) {
                inflateEnd(&z);
                char lim[32];
                snprintf(lim, sizeof lim, "%llu", (unsigned long long)cap);
                file_error(r, path, NW_SRC_E_LIMIT, "decompressed size over the %s-byte cap%s: rest skipped", lim,
                           "");
                rc = NW_SRC_E_LIMIT;
                goto out;
            }
        }
        if (zr == Z_STREAM_END) {
            /* another gzip member may follow (concatenated gzip) */
            if (z.avail_in == 0 && !eof) {
                got = read(fd, r->in, READ_CHUNK);
                if (got > 0) {
                    r->st->bytes_in += (uint64_t)got;
                    z.next_in = r->in;
                    z.avail_in = (uInt)got;
                } else {
                    eof = true;
                }
            }
            if (z.avail_in == 0)
                break;
            /* zero padding after the last member is common: not a member */
            if (z.next_in[0] == 0)
                break;
            inflateReset(&z);
            continue;
        }
        if (zr == Z_OK)
            continue;
        if (zr == Z_BUF_ERROR && have)
            continue;
        if (zr == Z_BUF_ERROR && eof) {
            damaged = true;
            why = "truncated gzip stream";
            break;
        }
        if (zr == Z_BUF_ERROR)
            continue;
        damaged = true;
        why = z.msg ? z.msg : "corrupt gzip stream";
        break;
    }
    uint64_t total_out = z.total_out;
    inflateEnd(&z);
    if (damaged) {
        r->st->files_damaged++;
        size_t partial = nw_split_finish(r->sp, NULL, NULL);
        char m[64];
        snprintf(m, sizeof m, "%llu", (unsigned long long)total_out);
        char m2[160];
        snprintf(m2, sizeof m2, " (%lld records kept, %zu bytes of a partial record dropped)",
                 (long long)nw_split_records(r->sp), partial);
        if (r->cbs->on_file_error) {
            nw_err e;
            nw_err_clear(&e);
            e.code = NW_SRC_E_GZIP;
            snprintf(e.source, sizeof(e.source), "%s", path);
            snprintf(e.msg, sizeof(e.msg), "%s after %s bytes%s", why, m, m2);
            r->cbs->on_file_error(r->cbs->ctx, &e);
        }
        if (partial)
            r->st->bad++;
        rc = NW_SRC_E_GZIP;
        goto out_counted;
    }
out:
    nw_split_finish(r->sp, r->cbs->on_bad, r->cbs->ctx);
out_counted:
    r->st->records += (uint64_t)nw_split_records(r->sp);
    r->st->bad += (uint64_t)nw_split_bad(r->sp);
    close(fd);
    return rc;
}

int nw_source_read(const char *const *paths, size_t npaths, const nw_source_limits *lim, const nw_source_cbs *cbs,
                   nw_source_stats *st, nw_err *err)
{
    char **files = NULL;
    int rc = 0;
    nw_err werr;
    nw_err_clear(&werr);
    long nf = nw_source_list(paths, npaths, &files, &werr);
    if (werr.code) {
        /* some path could not be read: report it, read the rest */
        if (cbs->on_file_error) {
            nw_err e = werr;
            cbs->on_file_error(cbs->ctx, &e);
        }
        st->files_failed++;
        rc = NW_SRC_E_OPEN;
    }
    struct reader r = {0};
    r.cbs = cbs;
    r.st = st;
    r.lim = lim;
    r.sp = nw_split_new(lim ? &lim->split : NULL);
    r.in = malloc(READ_CHUNK);
    r.out = malloc(OUT_CHUNK + PAD);
    if (!r.sp || !r.in || !r.out) {
        rc = nw_err_set(err, NW_SRC_E_NOMEM, "out of memory");
        goto out;
    }
    for (long i = 0; i < nf; i++) {
        int frc = read_file(&r, files[i]);
        if (frc == NW_SRC_E_STOPPED) {
            rc = frc;
            break;
        }
        if (frc && !rc)
            rc = frc;
    }
out:
    for (long i = 0; i < nf; i++)
        free(files[i]);
    free(files);
    nw_split_free(r.sp);
    free(r.in);
    free(r.out);
    if (rc && rc != NW_SRC_E_NOMEM && err && !err->code)
        nw_err_set(err, rc, "some input could not be read whole");
    return rc;
}
