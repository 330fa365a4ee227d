/*
 * Time formats of the jPulse API: ISO 8601 timestamps as JavaScript's
 * Date.toISOString() writes them, and "3h 25m 45s" durations.
 */

#ifndef JP_TIME_H
#define JP_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define JP_ISO8601_LEN   24             /* 2026-11-26T00:38:57.123Z */
#define JP_DURATION_MAX  32

/* Writes the timestamp and a NUL; returns its length or 0 if it won't fit. */
size_t jp_time_iso8601(char *buf, size_t size, time_t sec, unsigned msec);

/* "45s", "25m 45s", "3h 25m 45s", "2d 3h 25m 45s" */
size_t jp_duration_format(char *buf, size_t size, uint64_t seconds);

#endif /* JP_TIME_H */
