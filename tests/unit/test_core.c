/* test_core.c - time parsing/formatting, hashing, arena, strings. */
#include <stdint.h>
#include <stdlib.h>

#include "nw_arena.h"
#include "nw_hash.h"
#include "nw_test.h"
#include "nw_time.h"

static int64_t T(const char *s)
{
    int64_t us = -1;
    if (nw_time_parse(nw_str_c(s), &us))
        return -999;
    return us;
}

int main(void)
{
    /* 2025-03-04T10:15:09Z = 1741083309 s (checked with `date -u -d ... +%s`) */
    CHECK_INT(T("2025-03-04T10:15:09Z"), 1741083309LL * 1000000);
    CHECK_INT(T("2025-03-04T10:15:09.4470000Z"), 1741083309LL * 1000000 + 447000);
    CHECK_INT(T("2025-03-04T10:25:42.301556788Z"), 1741083942LL * 1000000 + 301556);
    CHECK_INT(T("2025-03-04T12:15:09+02:00"), 1741083309LL * 1000000);
    CHECK_INT(T("2025-03-04T05:15:09-0500"), 1741083309LL * 1000000);
    CHECK_INT(T("2025-03-04 10:15:09"), 1741083309LL * 1000000);
    CHECK_INT(T("20131102T010628Z"), 1383354388LL * 1000000);
    CHECK_INT(T("1970-01-01T00:00:00Z"), 0);
    CHECK_INT(T("2024-02-29T00:00:00Z"), 1709164800LL * 1000000);
    CHECK_INT(T("2025-02-30T00:00:00Z"), -999);
    CHECK_INT(T("1/9/2007 9:41:00 AM"), -999);
    CHECK_INT(T(""), -999);
    CHECK_INT(T("2025-03-04T10:15:09Zjunk"), -999);
    char buf[48];
    CHECK_CSTR(nw_time_fmt(1741083309LL * 1000000 + 5, buf), "2025-03-04T10:15:09Z");
    CHECK_CSTR(nw_time_fmt_us(1741083309LL * 1000000 + 447000, buf), "2025-03-04T10:15:09.447000Z");
    CHECK_CSTR(nw_time_fmt(-1000000, buf), "1969-12-31T23:59:59Z");
    CHECK_CSTR(nw_day_fmt(nw_time_day(1741083309LL * 1000000), buf), "2025-03-04");

    /* hash128: length-prefixed parts */
    uint8_t h1[16], h2[16], h3[16];
    nw_str a[2] = {NW_STR_LIT("ab"), NW_STR_LIT("c")};
    nw_str b[2] = {NW_STR_LIT("a"), NW_STR_LIT("bc")};
    nw_hash128(a, 2, h1);
    nw_hash128(b, 2, h2);
    nw_hash128(a, 2, h3);
    CHECK(memcmp(h1, h2, 16) != 0);
    CHECK(memcmp(h1, h3, 16) == 0);
    CHECK(nw_hash64("abc", 3, 0) != nw_hash64("abd", 3, 0));

    /* arena: oversize blocks, reset keeps one block */
    nw_arena *ar = nw_arena_new(1024);
    char *x = nw_arena_alloc(ar, 100);
    char *y = nw_arena_alloc(ar, 5000);
    CHECK(x && y);
    memset(y, 1, 5000);
    nw_str d = nw_arena_dup(ar, NW_STR_LIT("hello"));
    CHECK_STR(d, "hello");
    nw_arena_reset(ar);
    CHECK_INT(nw_arena_held(ar), 1024);
    nw_arena_free(ar);

    CHECK(nw_str_ieq(NW_STR_LIT("Records"), "records"));
    CHECK(nw_str_iends(NW_STR_LIT("AWS API Call via CloudTrail"), "via cloudtrail"));
    CHECK_INT(nw_str_find(NW_STR_LIT("a/b/c"), "/c"), 3);
    return nw_test_finish();
}
