/*
 * IANA time zones from the system's tzdata (TZif files under
 * /usr/share/zoneinfo, or $TZDIR), read by hand: the process TZ and
 * localtime() are never touched, so nginx workers and threads may ask for
 * any zone at any time.
 */

#ifndef JP_TZ_H
#define JP_TZ_H

#include <stddef.h>
#include <stdint.h>


#define JP_TZ_NAME_MAX   64     /* the longest IANA name is 32 */
#define JP_TZ_CACHE      32     /* zones kept parsed (valid or not) */
#define JP_TZ_FILE_MAX   (256 * 1024)

/*
 * The offset east of UTC, in seconds, of zone name (len bytes) at t
 * (seconds since the epoch). Returns 0, or -1 when name is not a zone: a
 * name outside [A-Za-z0-9_+-/], empty or absolute, with an empty segment,
 * longer than JP_TZ_NAME_MAX, or no zone of that name. Names match the
 * zones and links of tzdata.zi without regard to case, as Intl's do (when
 * the tzdata has no tzdata.zi: the file names, as written). A file is
 * read once per zone and kept (without tzdata.zi: JP_TZ_CACHE names stay in
 * a shared cache).
 */
int jp_tz_offset(const char *name, size_t len, int64_t t, int32_t *off);

/* the name jail alone: 0 if name may be looked up */
int jp_tz_name_check(const char *name, size_t len);

/*
 * The server's zone, as Node's Intl finds it: $TZ (a leading ':'
 * dropped) when it names a zone, else the zone /etc/localtime links to,
 * else "UTC". Read once.
 */
const char *jp_tz_server(void);

/* days from 1970-01-01 to y-m-d, and back (proleptic Gregorian) */
int64_t jp_tz_days(int64_t y, unsigned m, unsigned d);
void jp_tz_civil(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* the offset at t of the TZif data b (n bytes); for tests and fuzzing */
int jp_tz_offset_data(const unsigned char *b, size_t n, int64_t t,
    int32_t *off);

/* how many zone files were read so far (tests, metrics) */
size_t jp_tz_files_read(void);

/* forgets the cache and the server zone (tests, or after a tzdata update) */
void jp_tz_flush(void);

#endif /* JP_TZ_H */
