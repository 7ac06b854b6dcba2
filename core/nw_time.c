#include "nw_time.h"

#include <stdio.h>

int64_t nw_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *yy, unsigned *mm, unsigned *dd)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t y = (int64_t)yoe + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    *yy = (int)(y + (m <= 2));
    *mm = m;
    *dd = d;
}

static int digits(const char *p, size_t n, size_t k, int *out)
{
    if (n < k)
        return -1;
    int v = 0;
    for (size_t i = 0; i < k; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

static const unsigned char mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

int nw_time_parse(nw_str s, int64_t *us)
{
    s = nw_str_trim(s);
    const char *p = s.p;
    size_t n = s.n;
    int Y, M, D, h = 0, mi = 0, se = 0;
    bool basic = false;
    if (n < 8 || digits(p, n, 4, &Y))
        return -1;
    if (p[4] == '-') {
        if (digits(p + 5, n - 5, 2, &M) || n < 10 || p[7] != '-' || digits(p + 8, n - 8, 2, &D))
            return -1;
        p += 10;
        n -= 10;
    } else {
        if (digits(p + 4, n - 4, 2, &M) || digits(p + 6, n - 6, 2, &D))
            return -1;
        basic = true;
        p += 8;
        n -= 8;
    }
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1])
        return -1;
    int64_t frac_us = 0;
    int off_min = 0;
    if (n > 0 && (p[0] == 'T' || p[0] == 't' || p[0] == ' ')) {
        p++;
        n--;
        if (digits(p, n, 2, &h))
            return -1;
        p += 2;
        n -= 2;
        if (!basic && n && p[0] == ':') {
            p++;
            n--;
        }
        if (digits(p, n, 2, &mi))
            return -1;
        p += 2;
        n -= 2;
        if (n && (p[0] == ':' || (basic && p[0] >= '0' && p[0] <= '9'))) {
            if (p[0] == ':') {
                p++;
                n--;
            }
            if (digits(p, n, 2, &se))
                return -1;
            p += 2;
            n -= 2;
        }
        if (n && (p[0] == '.' || p[0] == ',')) {
            p++;
            n--;
            int64_t scale = 100000;
            size_t k = 0;
            while (k < n && p[k] >= '0' && p[k] <= '9') {
                if (scale > 0) {
                    frac_us += (p[k] - '0') * scale;
                    scale /= 10;
                }
                k++;
            }
            if (k == 0)
                return -1;
            p += k;
            n -= k;
        }
        if (n && (p[0] == 'Z' || p[0] == 'z')) {
            p++;
            n--;
        } else if (n && (p[0] == '+' || p[0] == '-')) {
            int sign = p[0] == '-' ? -1 : 1, oh, om = 0;
            p++;
            n--;
            if (digits(p, n, 2, &oh))
                return -1;
            p += 2;
            n -= 2;
            if (n && p[0] == ':') {
                p++;
                n--;
            }
            if (n >= 2 && !digits(p, n, 2, &om)) {
                p += 2;
                n -= 2;
            }
            if (oh > 23 || om > 59)
                return -1;
            off_min = sign * (oh * 60 + om);
        }
        if (n != 0)
            return -1;
    } else if (n != 0) {
        return -1;
    }
    if (h > 24 || mi > 59 || se > 60)
        return -1;
    int64_t days = nw_days_from_civil(Y, (unsigned)M, (unsigned)D);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - (int64_t)off_min * 60;
    *us = secs * NW_US_PER_SEC + frac_us;
    return 0;
}

/* years outside 0..9999 do not occur in audit logs; clamping keeps every
 * formatted time within the callers' buffers (and tells the compiler so) */
static int clamp_year(int y) { return y < 0 ? 0 : y > 9999 ? 9999 : y; }

char *nw_time_fmt(int64_t us, char *buf)
{
    int64_t day = nw_time_day(us);
    int64_t sod = (us - day * NW_US_PER_DAY) / NW_US_PER_SEC;
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(buf, 32, "%04d-%02u-%02uT%02u:%02u:%02uZ", clamp_year(y), m % 100u, d % 100u,
             (unsigned)(sod / 3600) % 100u, (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
    return buf;
}

char *nw_time_fmt_us(int64_t us, char *buf)
{
    int64_t day = nw_time_day(us);
    int64_t rem = us - day * NW_US_PER_DAY;
    int64_t sod = rem / NW_US_PER_SEC;
    int64_t frac = rem % NW_US_PER_SEC;
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    if (frac)
        snprintf(buf, 40, "%04d-%02u-%02uT%02u:%02u:%02u.%06uZ", clamp_year(y), m % 100u, d % 100u,
                 (unsigned)(sod / 3600) % 100u, (unsigned)(sod / 60 % 60), (unsigned)(sod % 60),
                 (unsigned)(frac % NW_US_PER_SEC));
    else
        snprintf(buf, 40, "%04d-%02u-%02uT%02u:%02u:%02uZ", clamp_year(y), m % 100u, d % 100u,
                 (unsigned)(sod / 3600) % 100u, (unsigned)(sod / 60 % 60), (unsigned)(sod % 60));
    return buf;
}

char *nw_day_fmt(int64_t day, char *buf)
{
    int y;
    unsigned m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(buf, 16, "%04d-%02u-%02u", clamp_year(y), m % 100u, d % 100u);
    return buf;
}
