// jscan.cc - nw_jscan on simdjson On-Demand. The only C++ translation unit:
// it exposes the C API of jscan.h and lets no exception or C++ type escape.
#include "jscan.h"

#include <simdjson.h>

#include <cstring>
#include <new>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <string>
#include <vector>

namespace od = simdjson::ondemand;

namespace {

struct tnode {
    std::string key; // lower-cased, unescaped
    int leaf = -1;   // index into the output array, or -1
    std::vector<int> kids;
    // kids bucketed by (length, first and last character): a key is
    // compared with the few kids of its bucket, not with all of them
    std::vector<std::vector<int>> buckets;
};

constexpr unsigned NBUCKET = 64;

inline unsigned char fold(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

inline unsigned bucket_of(const char *k, size_t len)
{
    if (len == 0)
        return 0;
    return (unsigned)(len * 31u + fold((unsigned char)k[0]) * 7u + fold((unsigned char)k[len - 1])) & (NBUCKET - 1);
}

} // namespace

struct nw_jpaths {
    std::vector<tnode> nodes; // nodes[0] is the root
    size_t n = 0;
};

struct nw_jscan {
    od::parser parser;
    size_t max_doc = 0;
    size_t max_depth = 0;
};

extern "C" nw_jpaths *nw_jpaths_new(const char *const *paths, size_t n, nw_err *err)
{
    nw_jpaths *ps = new (std::nothrow) nw_jpaths();
    if (!ps) {
        nw_err_set(err, NW_JSCAN_E_NOMEM, "out of memory");
        return nullptr;
    }
    ps->nodes.emplace_back();
    ps->n = n;
    for (size_t i = 0; i < n; i++) {
        const char *p = paths[i];
        int cur = 0;
        while (*p) {
            std::string key;
            while (*p && *p != '/') {
                if (p[0] == '~' && p[1] == '1') {
                    key.push_back('/');
                    p += 2;
                } else if (p[0] == '~' && p[1] == '0') {
                    key.push_back('~');
                    p += 2;
                } else {
                    key.push_back((char)fold((unsigned char)*p));
                    p++;
                }
            }
            if (*p == '/')
                p++;
            int next = -1;
            for (int k : ps->nodes[(size_t)cur].kids)
                if (ps->nodes[(size_t)k].key == key) {
                    next = k;
                    break;
                }
            if (next < 0) {
                ps->nodes.emplace_back();
                next = (int)ps->nodes.size() - 1;
                ps->nodes[(size_t)next].key = key;
                ps->nodes[(size_t)cur].kids.push_back(next);
            }
            cur = next;
        }
        tnode &t = ps->nodes[(size_t)cur];
        if (t.leaf >= 0) {
            nw_err_set(err, NW_JSCAN_E_PATH, "path '%s' given twice", paths[i]);
            delete ps;
            return nullptr;
        }
        t.leaf = (int)i;
    }
    for (tnode &t : ps->nodes) {
        t.buckets.assign(NBUCKET, std::vector<int>());
        for (int k : t.kids) {
            const std::string &key = ps->nodes[(size_t)k].key;
            t.buckets[bucket_of(key.data(), key.size())].push_back(k);
        }
    }
    for (const tnode &t : ps->nodes)
        if (t.leaf >= 0 && !t.kids.empty() && &t != &ps->nodes[0]) {
            nw_err_set(err, NW_JSCAN_E_PATH, "path '%s' is both a value and a prefix", paths[t.leaf]);
            delete ps;
            return nullptr;
        }
    return ps;
}

extern "C" void nw_jpaths_free(nw_jpaths *ps) { delete ps; }

extern "C" size_t nw_jpaths_count(const nw_jpaths *ps) { return ps ? ps->n : 0; }

extern "C" nw_jscan *nw_jscan_new(size_t max_doc, size_t max_depth)
{
    nw_jscan *js = new (std::nothrow) nw_jscan();
    if (!js)
        return nullptr;
    js->max_doc = max_doc ? max_doc : (size_t)16 << 20;
    js->max_depth = max_depth ? max_depth : 256;
    return js;
}

extern "C" void nw_jscan_free(nw_jscan *js) { delete js; }

namespace {

struct ctx {
    const nw_jpaths *ps;
    nw_jval *out;
    nw_arena *arena;
    const char *base;
    simdjson::error_code err = simdjson::SUCCESS;
};

std::string_view trim_ws(std::string_view s)
{
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

// raw_json_token() is a plain string_view on value and a result on document
inline std::string_view token_of(od::value &v) { return v.raw_json_token(); }

template <typename V> int extract(V &v, nw_jval *o, ctx &c)
{
    od::json_type t;
    if (auto e = v.type().get(t)) {
        c.err = e;
        return -1;
    }
    switch (t) {
    case od::json_type::string: {
        std::string_view raw = trim_ws(token_of(v));
        if (raw.size() < 2 || raw.back() != '"') {
            c.err = simdjson::STRING_ERROR;
            return -1;
        }
        if (!memchr(raw.data() + 1, '\\', raw.size() - 2)) {
            o->s = nw_str_mk(raw.data() + 1, raw.size() - 2);
        } else {
            std::string_view sv;
            if (auto e = v.get_string().get(sv)) {
                c.err = e;
                return -1;
            }
            o->s = sv.empty() ? nw_str_mk(raw.data() + 1, 0) : nw_arena_dup(c.arena, nw_str_mk(sv.data(), sv.size()));
            if (!sv.empty() && !o->s.p) {
                c.err = simdjson::MEMALLOC;
                return -1;
            }
        }
        o->type = NW_J_STRING;
        return 0;
    }
    case od::json_type::number: {
        std::string_view raw = trim_ws(token_of(v));
        // validate: the On-Demand token is not checked until read
        double d;
        if (auto e = v.get_double().get(d)) {
            // integers too large for double still parse; only reject syntax
            if (e != simdjson::NUMBER_OUT_OF_RANGE) {
                c.err = e;
                return -1;
            }
        }
        o->s = nw_str_mk(raw.data(), raw.size());
        o->type = NW_J_NUMBER;
        return 0;
    }
    case od::json_type::boolean: {
        bool b;
        if (auto e = v.get_bool().get(b)) {
            c.err = e;
            return -1;
        }
        o->b = b;
        o->type = NW_J_BOOL;
        return 0;
    }
    case od::json_type::null: {
        bool isnull;
        if (auto e = v.is_null().get(isnull)) {
            c.err = e;
            return -1;
        }
        if (!isnull) {
            c.err = simdjson::N_ATOM_ERROR;
            return -1;
        }
        o->type = NW_J_NULL;
        return 0;
    }
    case od::json_type::object:
    case od::json_type::array: {
        std::string_view raw;
        if (t == od::json_type::object) {
            od::object ob;
            if (auto e = v.get_object().get(ob)) {
                c.err = e;
                return -1;
            }
            if (auto e = ob.raw_json().get(raw)) {
                c.err = e;
                return -1;
            }
        } else {
            od::array ar;
            if (auto e = v.get_array().get(ar)) {
                c.err = e;
                return -1;
            }
            if (auto e = ar.raw_json().get(raw)) {
                c.err = e;
                return -1;
            }
        }
        o->s = nw_str_mk(raw.data(), raw.size());
        o->type = (t == od::json_type::object) ? NW_J_OBJECT : NW_J_ARRAY;
        return 0;
    }
    }
    c.err = simdjson::INCORRECT_TYPE;
    return -1;
}

// Match a raw (still escaped) key against node's children; returns the
// child node index or -1.
int match_key(const nw_jpaths *ps, const tnode &node, const char *kp)
{
    size_t len = 0;
    bool esc = false;
    while (kp[len] != '"') {
        if (kp[len] == '\\') {
            esc = true;
            len++;
        }
        len++;
    }
    char buf[256];
    const char *k = kp;
    if (esc) {
        // rare: unescape the simple escapes; \u keys are left unmatched
        size_t j = 0;
        for (size_t i = 0; i < len && j < sizeof(buf); i++) {
            if (kp[i] == '\\' && i + 1 < len) {
                i++;
                char ch = kp[i];
                if (ch == 'u')
                    return -1;
                buf[j++] = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch == 'r' ? '\r' : ch == 'b' ? '\b' : ch == 'f' ? '\f' : ch;
            } else {
                buf[j++] = kp[i];
            }
        }
        if (j >= sizeof(buf))
            return -1;
        k = buf;
        len = j;
    }
    for (int kid : node.buckets[bucket_of(k, len)]) {
        const tnode &t = ps->nodes[(size_t)kid];
        if (t.key.size() != len)
            continue;
        size_t i = 0;
        while (i < len && fold((unsigned char)k[i]) == (unsigned char)t.key[i])
            i++;
        if (i == len)
            return kid;
    }
    return -1;
}

int scan_object(od::object &obj, int node, ctx &c)
{
    const tnode &tn = c.ps->nodes[(size_t)node];
    for (auto fr : obj) {
        od::field f;
        if (auto e = std::move(fr).get(f)) {
            c.err = e;
            return -1;
        }
        int kid = match_key(c.ps, tn, f.key().raw());
        if (kid < 0)
            continue; // value skipped when the iterator advances
        const tnode &kn = c.ps->nodes[(size_t)kid];
        od::value v = f.value();
        if (kn.leaf >= 0) {
            nw_jval *o = &c.out[kn.leaf];
            if (o->type != NW_J_ABSENT)
                continue; // first occurrence wins
            if (extract(v, o, c))
                return -1;
        } else {
            od::json_type t;
            if (auto e = v.type().get(t)) {
                c.err = e;
                return -1;
            }
            if (t != od::json_type::object)
                continue;
            od::object sub;
            if (auto e = v.get_object().get(sub)) {
                c.err = e;
                return -1;
            }
            if (scan_object(sub, kid, c))
                return -1;
        }
    }
    return 0;
}

int map_error(simdjson::error_code e)
{
    switch (e) {
    case simdjson::CAPACITY:
        return NW_JSCAN_E_TOO_LARGE;
    case simdjson::DEPTH_ERROR:
        return NW_JSCAN_E_TOO_DEEP;
    case simdjson::MEMALLOC:
        return NW_JSCAN_E_NOMEM;
    case simdjson::INCORRECT_TYPE:
        return NW_JSCAN_E_NOT_OBJECT;
    default:
        return NW_JSCAN_E_SYNTAX;
    }
}

int fail(nw_err *err, simdjson::error_code e, const char *what)
{
    int code = map_error(e);
    if (code == NW_JSCAN_E_NOT_OBJECT)
        return nw_err_set(err, code, "%s is not a JSON object", what);
    return nw_err_set(err, code, "malformed JSON in %s: %s", what, simdjson::error_message(e));
}

// After the root value only white space may follow: simdjson On-Demand
// stops reading at the end of the value it was asked for, so `{"a":1} x`
// would pass as `{"a":1}` (docs/hardening.md, finding 3).
int check_end(od::document &doc, const char *p, const char *what, nw_err *err)
{
    const char *at = nullptr;
    auto e = doc.current_location().get(at);
    if (e == simdjson::OUT_OF_BOUNDS)
        return 0; // every token was read
    if (e)
        return fail(err, e, what);
    int rc = nw_err_set(err, NW_JSCAN_E_SYNTAX, "malformed JSON in %s: content after the end at byte %zu", what,
                        (size_t)(at - p));
    if (err)
        err->offset = (int64_t)(at - p);
    return rc;
}

// Make the buffer parseable in place: padded or copied into the arena.
const char *prepare(const char *buf, size_t len, size_t cap, nw_arena *arena)
{
    if (cap >= len + NW_JSCAN_PADDING)
        return buf;
    char *p = (char *)nw_arena_alloc(arena, len + NW_JSCAN_PADDING);
    if (!p)
        return nullptr;
    memcpy(p, buf, len);
    memset(p + len, ' ', NW_JSCAN_PADDING);
    return p;
}

int setup(nw_jscan *js, size_t len, nw_err *err)
{
    if (len > js->max_doc)
        return nw_err_set(err, NW_JSCAN_E_TOO_LARGE, "document of %zu bytes exceeds the %zu-byte cap", len,
                          js->max_doc);
    if (js->parser.capacity() < len || js->parser.max_depth() != js->max_depth) {
        size_t want = len < 65536 ? 65536 : len;
        if (want < js->parser.capacity())
            want = js->parser.capacity();
        if (js->parser.allocate(want, js->max_depth))
            return nw_err_set(err, NW_JSCAN_E_NOMEM, "out of memory for a %zu-byte document", len);
    }
    return 0;
}

} // namespace

extern "C" int nw_jscan_doc(nw_jscan *js, const char *buf, size_t len, size_t cap, const nw_jpaths *ps,
                            nw_jval *out, nw_arena *arena, nw_err *err)
{
    for (size_t i = 0; i < ps->n; i++)
        out[i] = nw_jval{};
    int rc = setup(js, len, err);
    if (rc)
        return rc;
    const char *p = prepare(buf, len, cap, arena);
    if (!p)
        return nw_err_set(err, NW_JSCAN_E_NOMEM, "out of memory");
    ctx c{ps, out, arena, p};
    od::document doc;
    if (auto e = js->parser.iterate(p, len, len + NW_JSCAN_PADDING).get(doc))
        return fail(err, e, "document");
    const tnode &root = ps->nodes[0];
    if (root.kids.empty()) {
        if (root.leaf >= 0) {
            od::value v;
            if (auto e = doc.get_value().get(v))
                return fail(err, e, "document");
            if (extract(v, &out[root.leaf], c))
                return fail(err, c.err, "document");
            return check_end(doc, p, "document", err);
        }
        return 0;
    }
    od::object obj;
    if (auto e = doc.get_object().get(obj))
        return fail(err, e, "document");
    if (scan_object(obj, 0, c))
        return fail(err, c.err, "document");
    return check_end(doc, p, "document", err);
}

extern "C" int nw_jscan_each(nw_jscan *js, const char *buf, size_t len, size_t cap, const nw_jpaths *ps,
                             nw_arena *arena, nw_jscan_each_cb cb, void *cbctx, nw_err *err)
{
    int rc = setup(js, len, err);
    if (rc)
        return rc;
    const char *p = prepare(buf, len, cap, arena);
    if (!p)
        return nw_err_set(err, NW_JSCAN_E_NOMEM, "out of memory");
    nw_jval small[16];
    std::vector<nw_jval> big;
    nw_jval *vals = small;
    if (ps->n > 16) {
        big.resize(ps->n);
        vals = big.data();
    }
    ctx c{ps, vals, arena, p};
    od::document doc;
    if (auto e = js->parser.iterate(p, len, len + NW_JSCAN_PADDING).get(doc))
        return fail(err, e, "array");
    od::array arr;
    if (doc.get_array().get(arr))
        return nw_err_set(err, NW_JSCAN_E_SYNTAX, "expected a JSON array");
    const tnode &root = ps->nodes[0];
    size_t idx = 0;
    for (auto er : arr) {
        od::value v;
        if (auto e = std::move(er).get(v))
            return fail(err, e, "array element");
        for (size_t i = 0; i < ps->n; i++)
            vals[i] = nw_jval{};
        od::json_type t;
        if (auto e = v.type().get(t))
            return fail(err, e, "array element");
        if (t == od::json_type::object && !root.kids.empty()) {
            od::object obj;
            if (auto e = v.get_object().get(obj))
                return fail(err, e, "array element");
            if (scan_object(obj, 0, c))
                return fail(err, c.err, "array element");
        } else if (root.leaf >= 0) {
            if (extract(v, &vals[root.leaf], c))
                return fail(err, c.err, "array element");
        }
        if (cb(cbctx, idx, vals))
            return nw_err_set(err, NW_JSCAN_E_CALLBACK, "stopped at element %zu", idx);
        idx++;
    }
    return check_end(doc, p, "array", err);
}

// ---- nw_jscan_measure: caps on string length and field count ----

namespace {

// Index of the first '"' or '\\' at or after i, or n.
inline size_t find_quote_or_escape(const char *d, size_t i, size_t n)
{
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\');
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(d + i));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, b)));
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n && d[i] != '"' && d[i] != '\\')
        i++;
    return i;
}

// Index of the first '"', ',', '{' or '[' at or after i, or n: the only
// bytes outside strings that start a string or a field.
inline size_t find_token(const char *d, size_t i, size_t n)
{
#if defined(__SSE2__)
    const __m128i q = _mm_set1_epi8('"'), cm = _mm_set1_epi8(','), ob = _mm_set1_epi8('{'),
                  oa = _mm_set1_epi8('[');
    while (i + 16 <= n) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(d + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, cm)),
                                   _mm_or_si128(_mm_cmpeq_epi8(x, ob), _mm_cmpeq_epi8(x, oa)));
        unsigned m = (unsigned)_mm_movemask_epi8(hit);
        if (m)
            return i + (size_t)__builtin_ctz(m);
        i += 16;
    }
#endif
    while (i < n && d[i] != '"' && d[i] != ',' && d[i] != '{' && d[i] != '[')
        i++;
    return i;
}

inline bool is_ws(char ch) { return ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t'; }

} // namespace

extern "C" int nw_jscan_measure(const char *buf, size_t len, size_t max_string, size_t max_fields, nw_err *err)
{
    // fields = commas outside strings + containers that are not empty: a
    // container with k > 0 elements holds k - 1 commas. The splitter
    // (source.c) counts the same way on bytes that arrive in chunks.
    size_t fields = 0, i = 0;
    for (;;) {
        i = find_token(buf, i, len);
        if (i >= len)
            return NW_JSCAN_OK;
        if (buf[i] == '"') {
            size_t j = i + 1;
            for (;;) {
                j = find_quote_or_escape(buf, j, len);
                if (j >= len || buf[j] == '"')
                    break;
                j += 2; // the escaped byte cannot close the string
            }
            bool unclosed = j >= len; // the input ends inside the string
            if (unclosed)
                j = len;
            size_t slen = j - i - 1;
            if (max_string && slen > max_string) {
                int rc = nw_err_set(err, NW_JSCAN_E_STRING, "string of %s%zu bytes at byte %zu exceeds the %zu-byte cap",
                                    unclosed ? "at least " : "", slen, i, max_string);
                if (err)
                    err->offset = (int64_t)i;
                return rc;
            }
            i = j + 1;
            continue;
        }
        size_t at = i; // a ',' starts the next field
        if (buf[i] != ',') {
            // '{' or '[': its first element, unless it is empty
            at = i + 1;
            while (at < len && is_ws(buf[at]))
                at++;
            if (at >= len || buf[at] == '}' || buf[at] == ']') {
                i++;
                continue;
            }
        }
        if (++fields > max_fields && max_fields) {
            int rc = nw_err_set(err, NW_JSCAN_E_FIELDS,
                                "more than %zu fields (object members and array elements): field %zu at byte %zu",
                                max_fields, fields, at);
            if (err)
                err->offset = (int64_t)at;
            return rc;
        }
        i++;
    }
}

extern "C" const char *nw_jscan_strerror(int code)
{
    switch (code) {
    case NW_JSCAN_OK:
        return "ok";
    case NW_JSCAN_E_SYNTAX:
        return "malformed JSON";
    case NW_JSCAN_E_NOT_OBJECT:
        return "not a JSON object";
    case NW_JSCAN_E_TOO_LARGE:
        return "document too large";
    case NW_JSCAN_E_NOMEM:
        return "out of memory";
    case NW_JSCAN_E_PATH:
        return "bad path";
    case NW_JSCAN_E_TOO_DEEP:
        return "nesting too deep";
    case NW_JSCAN_E_CALLBACK:
        return "stopped by callback";
    case NW_JSCAN_E_STRING:
        return "string too long";
    case NW_JSCAN_E_FIELDS:
        return "too many fields";
    }
    return "unknown error";
}
