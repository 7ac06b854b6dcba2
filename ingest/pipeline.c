/* pipeline.c - files to batches of normalized events. See pipeline.h. */
#include "pipeline.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/nw_hash.h"
#include "../core/nw_redact.h"

/* ------------------------------------------------------------------ */
/* batches */

nw_batch *nw_batch_new(size_t cap)
{
    nw_batch *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->cap = cap ? cap : 4096;
    b->ev = calloc(b->cap, sizeof(nw_event));
    b->file = calloc(b->cap, sizeof(uint32_t));
    b->status = calloc(b->cap, 1);
    b->arena = nw_arena_new(1024 * 1024);
    if (!b->ev || !b->file || !b->status || !b->arena) {
        nw_batch_free(b);
        return NULL;
    }
    return b;
}

void nw_batch_free(nw_batch *b)
{
    if (!b)
        return;
    free(b->ev);
    free(b->file);
    free(b->status);
    nw_arena_free(b->arena);
    free(b);
}

void nw_batch_clear(nw_batch *b)
{
    b->n = 0;
    b->nbad = 0;
    nw_arena_reset(b->arena);
}

static int batch_grow(nw_batch *b)
{
    size_t nc = b->cap * 2;
    nw_event *ev = realloc(b->ev, nc * sizeof(nw_event));
    if (!ev)
        return -1;
    b->ev = ev;
    uint32_t *f = realloc(b->file, nc * sizeof(uint32_t));
    if (!f)
        return -1;
    b->file = f;
    uint8_t *s = realloc(b->status, nc);
    if (!s)
        return -1;
    b->status = s;
    b->cap = nc;
    return 0;
}

static void batch_note_bad(nw_batch *b, const nw_err *e)
{
    if (b->nbad < NW_BATCH_BAD_MAX)
        b->bad[b->nbad++] = *e;
}

/* ------------------------------------------------------------------ */
/* record decoding */

struct nw_recdec {
    nw_decoder *dec;
    nw_split *inner;
};

nw_recdec *nw_recdec_new(const nw_decode_limits *dl, const nw_split_limits *sl, nw_err *err)
{
    nw_recdec *rd = calloc(1, sizeof(*rd));
    if (!rd) {
        nw_err_set(err, NW_DEC_E_NOMEM, "out of memory");
        return NULL;
    }
    rd->dec = nw_decoder_new(dl, err);
    rd->inner = nw_split_new(sl);
    if (!rd->dec || !rd->inner) {
        if (rd->dec && !rd->inner)
            nw_err_set(err, NW_DEC_E_NOMEM, "out of memory");
        nw_recdec_free(rd);
        return NULL;
    }
    return rd;
}

void nw_recdec_free(nw_recdec *rd)
{
    if (!rd)
        return;
    nw_decoder_free(rd->dec);
    nw_split_free(rd->inner);
    free(rd);
}

struct decctx {
    nw_recdec *rd;
    const nw_rec *outer; /* the record holding the container, or NULL */
    uint32_t fi;
    nw_batch *b;
    nw_pipeline_result *res;
    nw_recdec_bad_cb on_bad;
    void *ctx;
    int added;
    bool nomem;
};

static void count_skip(nw_pipeline_result *res, const char *why)
{
    res->skipped++;
    for (int i = 0; i < NW_SKIP_REASONS; i++) {
        if (res->skip_reason[i][0] == '\0') {
            snprintf(res->skip_reason[i], sizeof res->skip_reason[i], "%.79s", why);
            res->skip_count[i]++;
            return;
        }
        if (strncmp(res->skip_reason[i], why, sizeof res->skip_reason[i] - 1) == 0) {
            res->skip_count[i]++;
            return;
        }
    }
    res->skip_count[NW_SKIP_REASONS - 1]++; /* the last bucket takes the overflow */
}

static void bad_record(struct decctx *c, const nw_rec *r, nw_err *e, int rc)
{
    c->res->bad++;
    if (rc < 0 && -rc < 8)
        c->res->decode_errors[-rc]++;
    snprintf(e->source, sizeof e->source, "%s", r->source ? r->source : "");
    e->line = r->line;
    e->record = r->index;
    e->offset = r->offset;
    if (c->outer) {
        /* an element of a container: position the container, then the element */
        char m[NW_ERR_MSG_MAX];
        snprintf(m, sizeof m, "element %lld of the records array: %.260s", (long long)r->index, e->msg);
        snprintf(e->msg, sizeof e->msg, "%s", m);
        e->line = c->outer->line + r->line - 1;
        e->record = c->outer->index;
    }
    batch_note_bad(c->b, e);
    if (c->on_bad)
        c->on_bad(c->ctx, e);
}

static int decode_one(struct decctx *c, const nw_rec *r, bool allow_container);

static int inner_rec(void *ctx, const nw_rec *r)
{
    struct decctx *c = ctx;
    decode_one(c, r, false);
    return c->nomem ? -1 : 0;
}

static void inner_bad(void *ctx, const nw_err *e)
{
    struct decctx *c = ctx;
    nw_err x = *e;
    nw_rec r = {0};
    r.source = c->outer->source;
    r.line = e->line;
    r.index = e->record;
    r.offset = c->outer->offset;
    bad_record(c, &r, &x, NW_DEC_E_JSON);
}

static int decode_one(struct decctx *c, const nw_rec *r, bool allow_container)
{
    nw_batch *b = c->b;
    if (b->n == b->cap && batch_grow(b)) {
        c->nomem = true;
        return -1;
    }
    nw_event *ev = &b->ev[b->n];
    nw_str cont;
    nw_err e;
    nw_err_clear(&e);
    int rc = nw_decode(c->rd->dec, r->p, r->n, r->cap, b->arena, ev, &cont, &e);
    if (rc != NW_DECODE_EVENT)
        nw_redact_msg(e.msg, sizeof e.msg); /* messages quote record values: printed, stored, counted */
    if (rc == NW_DECODE_EVENT) {
        static const uint8_t zero[16];
        if (memcmp(ev->dedupe_id, zero, 16) == 0) {
            /* no provider event id: the record's own bytes identify it */
            nw_str parts[2] = {nw_str_c(nw_provider_name(ev->provider)), nw_str_mk(r->p, r->n)};
            nw_hash128(parts, 2, ev->dedupe_id);
        }
        if (nw_event_persist(ev, b->arena)) {
            c->nomem = true;
            return -1;
        }
        b->file[b->n] = c->fi;
        b->status[b->n] = 0;
        b->n++;
        c->added++;
        c->res->events++;
        c->res->by_provider[ev->provider & 3]++;
        return 0;
    }
    if (rc == NW_DECODE_SKIP) {
        count_skip(c->res, e.msg);
        return 0;
    }
    if (rc == NW_DECODE_CONTAINER) {
        if (!allow_container) {
            nw_err_set(&e, NW_DEC_E_FORMAT, "a records container inside a records container");
            bad_record(c, r, &e, NW_DEC_E_FORMAT);
            return 0;
        }
        struct decctx ic = *c;
        ic.outer = r;
        ic.added = 0;
        nw_split_buffer(c->rd->inner, r->source, cont.p, cont.n, inner_rec, inner_bad, &ic);
        c->added += ic.added;
        c->nomem = ic.nomem;
        return c->nomem ? -1 : 0;
    }
    bad_record(c, r, &e, rc);
    return 0;
}

int nw_recdec_record(nw_recdec *rd, const nw_rec *rec, uint32_t fi, nw_batch *b, nw_pipeline_result *res,
                     nw_recdec_bad_cb on_bad, void *ctx)
{
    struct decctx c = {rd, NULL, fi, b, res, on_bad, ctx, 0, false};
    decode_one(&c, rec, true);
    return c.nomem ? -1 : c.added;
}

/* ------------------------------------------------------------------ */
/* the two-thread pipeline */

#define NBATCH 3

struct pipe {
    const nw_pipeline_opts *o;
    const char *const *paths;
    size_t npaths;
    nw_pipeline_result *res;
    nw_recdec *rd;
    size_t batch_events;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    nw_batch *full[NBATCH + 1];
    int nfull;
    nw_batch *freeb[NBATCH + 1];
    int nfree;
    bool done, stop;
    int src_rc;
    nw_err src_err;

    nw_batch *cur; /* reader's current batch */
    uint32_t fi;   /* current file index */
    size_t printed;
    size_t files_cap;
};

static FILE *logf_(const struct pipe *p) { return p->o->log ? p->o->log : stderr; }

static void say(struct pipe *p, const nw_err *e)
{
    if (p->o->quiet)
        return;
    size_t max = p->o->max_messages ? p->o->max_messages : 20;
    if (p->printed < max) {
        char buf[NW_ERR_MSG_MAX + NW_ERR_SRC_MAX + 64];
        fprintf(logf_(p), "nhiwatch: bad record: %s\n", nw_err_fmt(e, buf, sizeof buf));
    } else if (p->printed == max) {
        fprintf(logf_(p), "nhiwatch: more bad records not shown; `nhiwatch stats` lists them\n");
    }
    p->printed++;
}

static void on_bad_rec(void *ctx, const nw_err *e) { say(ctx, e); }

/* hand the current batch over and take an empty one; false when stopped */
static bool handoff(struct pipe *p)
{
    pthread_mutex_lock(&p->mu);
    p->full[p->nfull++] = p->cur;
    p->cur = NULL;
    pthread_cond_broadcast(&p->cv);
    while (p->nfree == 0 && !p->stop)
        pthread_cond_wait(&p->cv, &p->mu);
    if (!p->stop)
        p->cur = p->freeb[--p->nfree];
    bool ok = !p->stop;
    pthread_mutex_unlock(&p->mu);
    return ok;
}

static void r_on_file(void *ctx, const char *path, int64_t size)
{
    struct pipe *p = ctx;
    nw_pipeline_result *res = p->res;
    if (res->nfiles == p->files_cap) {
        size_t nc = p->files_cap ? p->files_cap * 2 : 64;
        nw_file_stat *nf = realloc(res->files, nc * sizeof(*nf));
        if (!nf)
            return;
        res->files = nf;
        p->files_cap = nc;
    }
    nw_file_stat *f = &res->files[res->nfiles];
    memset(f, 0, sizeof(*f));
    f->path = strdup(path);
    f->size = size;
    f->status = "ok";
    struct stat sb;
    if (stat(path, &sb) == 0)
        f->mtime = (int64_t)sb.st_mtime;
    p->fi = (uint32_t)res->nfiles;
    res->nfiles++;
}

static nw_file_stat *cur_file(struct pipe *p) { return p->res->nfiles ? &p->res->files[p->fi] : NULL; }

static int r_on_rec(void *ctx, const nw_rec *r)
{
    struct pipe *p = ctx;
    if (p->stop)
        return -1;
    nw_file_stat *f = cur_file(p);
    uint64_t ev0 = p->res->events, sk0 = p->res->skipped, bad0 = p->res->bad;
    int added = nw_recdec_record(p->rd, r, p->fi, p->cur, p->res, on_bad_rec, p);
    if (added < 0) {
        nw_err_set(&p->src_err, NW_SRC_E_NOMEM, "out of memory while decoding");
        return -1;
    }
    if (f) {
        f->records++;
        f->events += (int64_t)(p->res->events - ev0);
        f->skipped += (int64_t)(p->res->skipped - sk0);
        f->bad += (int64_t)(p->res->bad - bad0);
    }
    if (p->cur->n >= p->batch_events && !handoff(p))
        return -1;
    return 0;
}

static void r_on_bad(void *ctx, const nw_err *e)
{
    struct pipe *p = ctx;
    nw_file_stat *f = cur_file(p);
    p->res->bad++;
    if (f)
        f->bad++;
    batch_note_bad(p->cur, e);
    say(p, e);
}

static void r_on_file_error(void *ctx, const nw_err *e)
{
    struct pipe *p = ctx;
    p->res->file_errors++;
    nw_file_stat *f = cur_file(p);
    if (e->code == NW_SRC_E_GZIP && f && strcmp(f->path, e->source) == 0)
        f->status = "damaged";
    batch_note_bad(p->cur, e);
    if (!p->o->quiet) {
        char buf[NW_ERR_MSG_MAX + NW_ERR_SRC_MAX + 64];
        fprintf(logf_(p), "nhiwatch: %s\n", nw_err_fmt(e, buf, sizeof buf));
    }
}

static void *reader_main(void *arg)
{
    struct pipe *p = arg;
    nw_source_cbs cbs = {r_on_rec, r_on_bad, r_on_file, r_on_file_error, p};
    nw_err e;
    nw_err_clear(&e);
    int rc = nw_source_read(p->paths, p->npaths, &p->o->source, &cbs, &p->res->src, &e);
    pthread_mutex_lock(&p->mu);
    p->src_rc = rc;
    if (rc && !p->src_err.code)
        p->src_err = e;
    if (p->cur) {
        if (p->cur->n || p->cur->nbad)
            p->full[p->nfull++] = p->cur;
        else
            p->freeb[p->nfree++] = p->cur;
        p->cur = NULL;
    }
    p->done = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int nw_pipeline_files(const char *const *paths, size_t npaths, const nw_pipeline_opts *o, nw_batch_cb cb, void *ctx,
                      nw_pipeline_result *res, nw_err *err)
{
    memset(res, 0, sizeof(*res));
    struct pipe p;
    memset(&p, 0, sizeof p);
    p.o = o;
    p.paths = paths;
    p.npaths = npaths;
    p.res = res;
    p.batch_events = o->batch_events ? o->batch_events : NW_PIPELINE_BATCH_DEFAULT;
    nw_err_clear(&p.src_err);
    int rc = 0;
    p.rd = nw_recdec_new(&o->decode, &o->source.split, err);
    if (!p.rd)
        return err->code ? err->code : NW_SRC_E_NOMEM;
    for (int i = 0; i < NBATCH; i++) {
        nw_batch *b = nw_batch_new(p.batch_events + 64);
        if (!b) {
            rc = nw_err_set(err, NW_SRC_E_NOMEM, "out of memory");
            goto out_free;
        }
        p.freeb[p.nfree++] = b;
    }
    p.cur = p.freeb[--p.nfree];
    pthread_mutex_init(&p.mu, NULL);
    pthread_cond_init(&p.cv, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, reader_main, &p) != 0) {
        rc = nw_err_set(err, NW_SRC_E_NOMEM, "cannot start the reader thread");
        p.freeb[p.nfree++] = p.cur;
        p.cur = NULL;
        goto out_sync;
    }
    int crc = 0;
    for (;;) {
        pthread_mutex_lock(&p.mu);
        while (p.nfull == 0 && !p.done)
            pthread_cond_wait(&p.cv, &p.mu);
        if (p.nfull == 0 && p.done) {
            pthread_mutex_unlock(&p.mu);
            break;
        }
        nw_batch *b = p.full[0];
        memmove(p.full, p.full + 1, (size_t)(p.nfull - 1) * sizeof(nw_batch *));
        p.nfull--;
        pthread_mutex_unlock(&p.mu);
        if (!crc)
            crc = cb(ctx, b);
        nw_batch_clear(b);
        pthread_mutex_lock(&p.mu);
        p.freeb[p.nfree++] = b;
        if (crc)
            p.stop = true;
        pthread_cond_broadcast(&p.cv);
        pthread_mutex_unlock(&p.mu);
    }
    pthread_join(th, NULL);
    if (crc)
        rc = crc;
    else if (p.src_err.code == NW_SRC_E_NOMEM)
        rc = nw_err_set(err, NW_SRC_E_NOMEM, "%s", p.src_err.msg);
    else if (p.src_rc && p.src_rc != NW_SRC_E_STOPPED) {
        rc = p.src_rc;
        *err = p.src_err;
    }
out_sync:
    pthread_mutex_destroy(&p.mu);
    pthread_cond_destroy(&p.cv);
out_free:
    for (int i = 0; i < p.nfree; i++)
        nw_batch_free(p.freeb[i]);
    for (int i = 0; i < p.nfull; i++)
        nw_batch_free(p.full[i]);
    nw_batch_free(p.cur);
    nw_recdec_free(p.rd);
    return rc;
}

void nw_pipeline_result_free(nw_pipeline_result *res)
{
    if (!res)
        return;
    for (size_t i = 0; i < res->nfiles; i++)
        free(res->files[i].path);
    free(res->files);
    res->files = NULL;
    res->nfiles = 0;
}
