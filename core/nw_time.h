/* nw_time.h - timestamps as microseconds since the Unix epoch, UTC. */
#ifndef NW_TIME_H
#define NW_TIME_H

#include <stdbool.h>
#include <stdint.h>

#include "nw_str.h"

#define NW_US_PER_SEC 1000000LL
#define NW_US_PER_DAY (86400LL * NW_US_PER_SEC)

/* Parse RFC 3339 / ISO 8601: "2025-03-04T10:15:09Z", 0-9 fractional
 * digits, 'Z' or +hh:mm / -hhmm offsets, space instead of 'T', and the
 * basic form "20131102T010628Z". A date alone is midnight UTC.
 * Returns 0 and sets *us, or -1 when s is not such a time. */
int nw_time_parse(nw_str s, int64_t *us);
/* Format as "YYYY-MM-DDTHH:MM:SSZ" (fraction dropped); buf >= 32 bytes. */
char *nw_time_fmt(int64_t us, char *buf);
/* Format with microseconds when non-zero: "...SS.ffffffZ". */
char *nw_time_fmt_us(int64_t us, char *buf);
/* Day number since the epoch (floor). */
static inline int64_t nw_time_day(int64_t us)
{
    return us >= 0 ? us / NW_US_PER_DAY : -((-us + NW_US_PER_DAY - 1) / NW_US_PER_DAY);
}
/* Days since 1970-01-01 for a civil date (proleptic Gregorian). */
int64_t nw_days_from_civil(int64_t y, unsigned m, unsigned d);
/* "YYYY-MM-DD" for a day number; buf >= 16 bytes. */
char *nw_day_fmt(int64_t day, char *buf);

#endif
