/*
 * IANA time zones read from TZif files (RFC 8536): the 64-bit section of
 * a version 2+ file (the 32-bit one of a version 1 file), and for instants
 * after the last transition the POSIX TZ rule of the footer. The process
 * environment and libc's localtime state are left alone.
 *
 * Parsed zones are shared by every thread of the process, under one
 * mutex. The names come from tzdata.zi, read once, so a cookie full of
 * garbage never opens a file; each of its zones is read on its first use
 * and kept (a binary search finds it). Without that list a small cache of
 * JP_TZ_CACHE names (zones or not) serves, evicting the least used.
 */

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>

#include "jp_tz.h"


#define JP_TZ_DIR        "/usr/share/zoneinfo"
#define JP_TZ_OFF_MAX    (26 * 3600)    /* RFC 8536: -89999 .. 93599 */
#define JP_TZ_TYPES_MAX  256
#define JP_TZ_ZI_MAX     (4 * 1024 * 1024)  /* tzdata.zi: 114 KB in 2025 */
#define JP_TZ_NAMES_MAX  4096


/* a POSIX TZ rule date: Jn, n or Mm.w.d, and the time of day */
typedef struct {
    char             kind;      /* 'J', 'n', 'M' */
    int              m, w, d;   /* d: the day (J, n) or the weekday (M) */
    int32_t          time;      /* seconds, may be negative or > 24 h */
} jp_tz_when_t;

typedef struct {
    int64_t          at;
    int32_t          off;
} jp_tz_trans_t;

typedef struct {
    char             name[JP_TZ_NAME_MAX + 1];
    unsigned         used;      /* a slot in use */
    unsigned         valid;     /* a zone (else a name that is not one) */
    uint64_t         stamp;     /* last lookup, for eviction */
    int32_t          off0;      /* before the first transition: type 0 */
    size_t           ntrans;
    jp_tz_trans_t   *trans;
    unsigned         rule;      /* the footer gives the offset after the
                                   last transition */
    unsigned         dst;       /* the rule has daylight saving time */
    int32_t          std_off;
    int32_t          dst_off;
    jp_tz_when_t     start;
    jp_tz_when_t     end;
} jp_tz_zone_t;


static pthread_mutex_t  jp_tz_mutex = PTHREAD_MUTEX_INITIALIZER;
static jp_tz_zone_t     jp_tz_cache[JP_TZ_CACHE];
static uint64_t         jp_tz_clock;
static char             jp_tz_server_name[JP_TZ_NAME_MAX + 1];

/* the zone names of tzdata.zi, sorted without case; NULL: not read yet */
static char           **jp_tz_names;

/*
 * One parsed zone per name of tzdata.zi, loaded on its first use and kept:
 * a visitor-chosen zone (the timezone cookie) must not evict another one
 * and send the next request to the disk. The names bound it (~600 zones,
 * a few KB each at most); jp_tz_cache serves hosts without tzdata.zi.
 */
static jp_tz_zone_t   **jp_tz_slots;
static size_t           jp_tz_reads;    /* zone files read */
static size_t           jp_tz_nnames;
static unsigned         jp_tz_names_read;


int64_t
jp_tz_days(int64_t y, unsigned m, unsigned d)
{
    int64_t  era, yoe, doy;

    /* days from 1970-01-01, proleptic Gregorian, March-based years */
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;

    return era * 146097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719468;
}


void
jp_tz_civil(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t   era, doe, yoe, doy, mp;

    days += 719468;
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;

    *d = (unsigned) (doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned) (mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}


static int
jp_tz_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}


int
jp_tz_name_check(const char *name, size_t len)
{
    size_t  i;

    if (len == 0 || len > JP_TZ_NAME_MAX || name[0] == '/'
        || name[len - 1] == '/')
    {
        return -1;
    }

    for (i = 0; i < len; i++) {
        if (!((name[i] >= 'a' && name[i] <= 'z')
              || (name[i] >= 'A' && name[i] <= 'Z')
              || (name[i] >= '0' && name[i] <= '9')
              || name[i] == '_' || name[i] == '+' || name[i] == '-'
              || name[i] == '/'))
        {
            return -1;
        }

        if (name[i] == '/' && name[i + 1] == '/') {
            return -1;
        }
    }

    /* no '.' gets here, so no ".." either */
    return 0;
}


/* the POSIX TZ rule of a footer */

static const char *
jp_tz_rule_name(const char *p)
{
    const char  *s;

    if (*p == '<') {
        for (s = ++p; *p != '>'; p++) {
            if (*p == '\0') {
                return NULL;
            }
        }

        return p - s >= 3 ? p + 1 : NULL;
    }

    for (s = p; (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'); p++) {
        /* void */
    }

    return p - s >= 3 ? p : NULL;
}


/* [+-]hh[:mm[:ss]], hours up to max */
static const char *
jp_tz_rule_time(const char *p, int max, int32_t *secs)
{
    int  sign, part, i, v[3];

    sign = 1;
    if (*p == '+' || *p == '-') {
        sign = (*p++ == '-') ? -1 : 1;
    }

    v[0] = v[1] = v[2] = 0;

    for (part = 0; part < 3; part++) {
        if (*p < '0' || *p > '9') {
            return NULL;
        }

        for (i = 0; *p >= '0' && *p <= '9'; p++) {
            if (++i > 3) {
                return NULL;
            }

            v[part] = v[part] * 10 + (*p - '0');
        }

        if (*p != ':') {
            break;
        }

        p++;
    }

    if (v[0] > max || v[1] > 59 || v[2] > 59) {
        return NULL;
    }

    *secs = sign * (v[0] * 3600 + v[1] * 60 + v[2]);

    return p;
}


static const char *
jp_tz_rule_num(const char *p, int lo, int hi, int *n)
{
    int  i;

    for (*n = 0, i = 0; *p >= '0' && *p <= '9'; p++) {
        if (++i > 3) {
            return NULL;
        }

        *n = *n * 10 + (*p - '0');
    }

    return (i > 0 && *n >= lo && *n <= hi) ? p : NULL;
}


static const char *
jp_tz_rule_when(const char *p, jp_tz_when_t *w)
{
    w->time = 2 * 3600;
    w->m = w->w = w->d = 0;

    if (*p == 'J') {
        w->kind = 'J';
        p = jp_tz_rule_num(p + 1, 1, 365, &w->d);

    } else if (*p == 'M') {
        w->kind = 'M';
        p = jp_tz_rule_num(p + 1, 1, 12, &w->m);
        if (p == NULL || *p++ != '.') {
            return NULL;
        }

        p = jp_tz_rule_num(p, 1, 5, &w->w);
        if (p == NULL || *p++ != '.') {
            return NULL;
        }

        p = jp_tz_rule_num(p, 0, 6, &w->d);

    } else {
        w->kind = 'n';
        p = jp_tz_rule_num(p, 0, 365, &w->d);
    }

    if (p != NULL && *p == '/') {
        /* RFC 8536 allows -167..167 hours */
        p = jp_tz_rule_time(p + 1, 167, &w->time);
    }

    return p;
}


static int
jp_tz_rule_parse(jp_tz_zone_t *z, const char *p)
{
    int32_t  off;

    p = jp_tz_rule_name(p);
    if (p == NULL || (p = jp_tz_rule_time(p, 24, &off)) == NULL) {
        return -1;
    }

    /* POSIX offsets count west of UTC */
    z->std_off = -off;
    z->dst_off = z->std_off + 3600;
    z->dst = 0;

    if (*p == '\0') {
        z->rule = 1;
        return 0;
    }

    p = jp_tz_rule_name(p);
    if (p == NULL) {
        return -1;
    }

    if (*p != ',' && *p != '\0') {
        p = jp_tz_rule_time(p, 24, &off);
        if (p == NULL) {
            return -1;
        }

        z->dst_off = -off;
    }

    if (*p == '\0') {
        /* POSIX leaves it to the implementation: the US rules, as glibc */
        z->start = (jp_tz_when_t) { 'M', 3, 2, 0, 2 * 3600 };
        z->end = (jp_tz_when_t) { 'M', 11, 1, 0, 2 * 3600 };

    } else {
        if (*p != ',' || (p = jp_tz_rule_when(p + 1, &z->start)) == NULL
            || *p != ',' || (p = jp_tz_rule_when(p + 1, &z->end)) == NULL
            || *p != '\0')
        {
            return -1;
        }
    }

    if (z->dst_off < -JP_TZ_OFF_MAX || z->dst_off > JP_TZ_OFF_MAX) {
        return -1;
    }

    z->rule = 1;
    z->dst = 1;

    return 0;
}


/* when w happens in year y, in UTC, for a local time off east of UTC */
static int64_t
jp_tz_rule_at(int64_t y, const jp_tz_when_t *w, int32_t off)
{
    int64_t   day;
    unsigned  md, first;
    static const unsigned char  mdays[] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
    };

    if (w->kind == 'J') {
        /* 1..365, February 29 never counted */
        day = jp_tz_days(y, 1, 1) + w->d - 1
              + (jp_tz_leap(y) && w->d >= 60);

    } else if (w->kind == 'n') {
        day = jp_tz_days(y, 1, 1) + w->d;

    } else {
        day = jp_tz_days(y, (unsigned) w->m, 1);

        /* 1970-01-01 was a Thursday */
        first = (unsigned) (((day % 7) + 7 + 4) % 7);
        md = 1 + (unsigned) (w->d + 7 - (int) first) % 7
             + (unsigned) (w->w - 1) * 7;

        while (md > (unsigned) (mdays[w->m - 1]
                                + (w->m == 2 && jp_tz_leap(y))))
        {
            md -= 7;
        }

        day += md - 1;
    }

    return day * 86400 + w->time - off;
}


static int32_t
jp_tz_rule_offset(const jp_tz_zone_t *z, int64_t t)
{
    int64_t   y, start, end;
    unsigned  m, d;

    if (!z->dst) {
        return z->std_off;
    }

    jp_tz_civil(((t + z->std_off) >= 0 ? (t + z->std_off)
                                        : (t + z->std_off) - 86399) / 86400,
                &y, &m, &d);

    start = jp_tz_rule_at(y, &z->start, z->std_off);
    end = jp_tz_rule_at(y, &z->end, z->dst_off);

    if (start < end) {
        return (t >= start && t < end) ? z->dst_off : z->std_off;
    }

    /* the southern hemisphere: summer spans the new year */
    return (t >= end && t < start) ? z->std_off : z->dst_off;
}


/* the TZif file */

static int32_t
jp_tz_be32(const unsigned char *p)
{
    return (int32_t) ((uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
                      | (uint32_t) p[2] << 8 | p[3]);
}


static int64_t
jp_tz_be64(const unsigned char *p)
{
    return (int64_t) ((uint64_t) (uint32_t) jp_tz_be32(p) << 32
                      | (uint32_t) jp_tz_be32(p + 4));
}


static int
jp_tz_parse(jp_tz_zone_t *z, const unsigned char *b, size_t n)
{
    char                 rule[JP_TZ_NAME_MAX * 2];
    size_t               c[6], len, tsz, i, k;
    int32_t              off, types[JP_TZ_TYPES_MAX];
    const unsigned char *p, *idx, *ty, *end, *nl;

    /* isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
    if (n < 44 || memcmp(b, "TZif", 4) != 0) {
        return -1;
    }

    p = b;
    tsz = 4;

    for ( ;; ) {
        for (i = 0; i < 6; i++) {
            c[i] = (uint32_t) jp_tz_be32(p + 20 + i * 4);
            if (c[i] > n) {
                return -1;
            }
        }

        len = c[3] * tsz + c[3] + c[4] * 6 + c[5] + c[2] * (tsz + 4)
              + c[1] + c[0];

        if (len > n - (size_t) (p - b) - 44) {
            return -1;
        }

        if (tsz == 8 || b[4] < '2') {
            break;
        }

        /* version 2+: the 64-bit header and data follow the 32-bit ones */
        p += 44 + len;
        tsz = 8;

        if ((size_t) (p - b) + 44 > n || memcmp(p, "TZif", 4) != 0) {
            return -1;
        }
    }

    /* leap-second ("right/") zones are not what Intl knows */
    if (c[4] == 0 || c[4] > JP_TZ_TYPES_MAX || c[2] != 0) {
        return -1;
    }

    p += 44;
    idx = p + c[3] * tsz;
    ty = idx + c[3];

    for (i = 0; i < c[4]; i++) {
        off = jp_tz_be32(ty + i * 6);
        if (off < -JP_TZ_OFF_MAX || off > JP_TZ_OFF_MAX) {
            return -1;
        }

        types[i] = off;
    }

    z->off0 = types[0];
    z->ntrans = c[3];
    z->trans = NULL;

    if (c[3] > 0) {
        z->trans = malloc(c[3] * sizeof(jp_tz_trans_t));
        if (z->trans == NULL) {
            return -1;
        }
    }

    for (i = 0; i < c[3]; i++) {
        z->trans[i].at = tsz == 8 ? jp_tz_be64(p + i * 8)
                                  : jp_tz_be32(p + i * 4);

        if (idx[i] >= c[4]
            || (i > 0 && z->trans[i].at <= z->trans[i - 1].at))
        {
            goto failed;
        }

        z->trans[i].off = types[idx[i]];
    }

    z->rule = 0;

    if (tsz == 8) {
        /* the footer: "\n" rule "\n"; a rule we cannot read is ignored,
         * the last transition then holds, as in a version 1 file */
        p += len;
        end = b + n;

        if (p < end && *p == '\n') {
            nl = memchr(p + 1, '\n', end - p - 1);
            k = nl ? (size_t) (nl - p - 1) : 0;

            if (nl != NULL && k > 0 && k < sizeof(rule)
                && memchr(p + 1, '\0', k) == NULL)
            {
                memcpy(rule, p + 1, k);
                rule[k] = '\0';

                if (jp_tz_rule_parse(z, rule) != 0) {
                    z->rule = 0;
                }
            }
        }
    }

    return 0;

failed:

    free(z->trans);
    z->trans = NULL;
    z->ntrans = 0;

    return -1;
}


static const char *
jp_tz_dir(void)
{
    const char  *dir;

    /* as glibc: an absolute TZDIR replaces the default */
    dir = getenv("TZDIR");

    if (dir == NULL || dir[0] != '/' || strlen(dir) > 512
        || strstr(dir, "..") != NULL)
    {
        dir = JP_TZ_DIR;
    }

    return dir;
}


static int
jp_tz_load(jp_tz_zone_t *z, const char *name)
{
    int             fd, rc;
    char            path[600];
    size_t          got;
    ssize_t         r;
    struct stat     st;
    unsigned char  *b;
    const char     *dir;

    dir = jp_tz_dir();
    jp_tz_reads++;

    if (strlen(dir) + 1 + strlen(name) + 1 > sizeof(path)) {
        return -1;
    }

    strcpy(path, dir);
    strcat(path, "/");
    strcat(path, name);

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd == -1) {
        return -1;
    }

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 44
        || st.st_size > JP_TZ_FILE_MAX)
    {
        close(fd);
        return -1;
    }

    b = malloc((size_t) st.st_size);
    if (b == NULL) {
        close(fd);
        return -1;
    }

    for (got = 0; got < (size_t) st.st_size; got += (size_t) r) {
        r = read(fd, b + got, (size_t) st.st_size - got);

        if (r == -1 && errno == EINTR) {
            r = 0;
            continue;
        }

        if (r <= 0) {
            break;
        }
    }

    close(fd);

    rc = got == (size_t) st.st_size ? jp_tz_parse(z, b, got) : -1;

    free(b);

    return rc;
}


static int32_t
jp_tz_zone_offset(const jp_tz_zone_t *z, int64_t t)
{
    size_t  lo, hi, mid;

    if (z->ntrans == 0) {
        return z->rule ? jp_tz_rule_offset(z, t) : z->off0;
    }

    if (t < z->trans[0].at) {
        return z->off0;
    }

    /* the last transition at or before t */
    lo = 0;
    hi = z->ntrans;

    while (hi - lo > 1) {
        mid = lo + (hi - lo) / 2;

        if (z->trans[mid].at <= t) {
            lo = mid;

        } else {
            hi = mid;
        }
    }

    if (lo + 1 == z->ntrans && z->rule) {
        return jp_tz_rule_offset(z, t);
    }

    return z->trans[lo].off;
}


static int
jp_tz_name_cmp(const void *a, const void *b)
{
    return strcasecmp(*(char *const *) a, *(char *const *) b);
}


/*
 * Reads the names of tzdata.zi ("Z name ..." zones, "L target name"
 * links) once. Intl takes a zone name in any case, so the list maps what
 * a template or a cookie says to the file's name, and a name that is not
 * in it never reaches the disk. Without the file (a minimal tzdata), the
 * names are the file names, as they are written.
 */
static void
jp_tz_names_load(void)
{
    int             fd;
    char          **names, *b, *p, *line, *end, *name, *nl;
    size_t          n, got, cap, len, i;
    ssize_t         r;
    struct stat     st;
    char            path[600];

    jp_tz_names_read = 1;

    if (strlen(jp_tz_dir()) + sizeof("/tzdata.zi") > sizeof(path)) {
        return;
    }

    strcpy(path, jp_tz_dir());
    strcat(path, "/tzdata.zi");

    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd == -1) {
        return;
    }

    b = NULL;

    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)
        || st.st_size > JP_TZ_ZI_MAX
        || (b = malloc((size_t) st.st_size + 1)) == NULL)
    {
        close(fd);
        return;
    }

    for (got = 0; got < (size_t) st.st_size; got += (size_t) r) {
        r = read(fd, b + got, (size_t) st.st_size - got);

        if (r == -1 && errno == EINTR) {
            r = 0;
            continue;
        }

        if (r <= 0) {
            break;
        }
    }

    close(fd);
    b[got] = '\0';

    names = NULL;
    n = cap = 0;

    for (line = b; line < b + got; line = nl + 1) {
        nl = memchr(line, '\n', b + got - line);
        if (nl == NULL) {
            nl = b + got;
        }

        *nl = '\0';

        if ((line[0] != 'Z' && line[0] != 'L') || line[1] != ' ') {
            continue;
        }

        /* Z: the second field; L: the third */
        name = line + 2;

        if (line[0] == 'L') {
            p = strchr(name, ' ');
            if (p == NULL) {
                continue;
            }

            name = p + 1;
        }

        end = strchr(name, ' ');
        len = end ? (size_t) (end - name) : strlen(name);

        if (jp_tz_name_check(name, len) != 0 || n == JP_TZ_NAMES_MAX) {
            continue;
        }

        if (n == cap) {
            cap = cap ? cap * 2 : 512;
            p = realloc(names, cap * sizeof(char *));
            if (p == NULL) {
                break;
            }

            names = (char **) p;
        }

        name[len] = '\0';
        names[n] = strdup(name);
        if (names[n] == NULL) {
            break;
        }

        n++;
    }

    free(b);

    if (n == 0) {
        free(names);
        return;
    }

    qsort(names, n, sizeof(char *), jp_tz_name_cmp);

    /* a name twice (a zone and a link) once */
    for (i = 1, len = 1; i < n; i++) {
        if (strcasecmp(names[i], names[len - 1]) == 0) {
            free(names[i]);

        } else {
            names[len++] = names[i];
        }
    }

    jp_tz_names = names;
    jp_tz_nnames = len;

    /* without slots every zone goes through the small cache */
    jp_tz_slots = calloc(len, sizeof(jp_tz_zone_t *));
}


/* the file name of name (len bytes, checked); NULL: no such zone */
static const char *
jp_tz_canonical(const char *name, size_t len, char *buf, size_t *index)
{
    int     c;
    size_t  lo, hi, mid;

    if (!jp_tz_names_read) {
        jp_tz_names_load();
    }

    memcpy(buf, name, len);
    buf[len] = '\0';

    if (jp_tz_names == NULL) {
        return buf;
    }

    lo = 0;
    hi = jp_tz_nnames;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        c = strcasecmp(buf, jp_tz_names[mid]);

        if (c == 0) {
            *index = mid;
            return jp_tz_names[mid];
        }

        if (c < 0) {
            hi = mid;

        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


/* the slot of name, loaded if need be; under the mutex */
static jp_tz_zone_t *
jp_tz_get(const char *name, size_t len)
{
    size_t         i;
    jp_tz_zone_t  *z, *old;

    old = &jp_tz_cache[0];

    for (i = 0; i < JP_TZ_CACHE; i++) {
        z = &jp_tz_cache[i];

        if (z->used && strncmp(z->name, name, len) == 0
            && z->name[len] == '\0')
        {
            z->stamp = ++jp_tz_clock;
            return z;
        }

        if (!z->used || (old->used && z->stamp < old->stamp)) {
            old = z;
        }
    }

    free(old->trans);
    memset(old, 0, sizeof(jp_tz_zone_t));

    memcpy(old->name, name, len);
    old->name[len] = '\0';
    old->used = 1;
    old->stamp = ++jp_tz_clock;
    old->valid = (jp_tz_load(old, old->name) == 0);

    return old;
}


/* the kept zone of name index of tzdata.zi, else the cache's; mutex held */
static jp_tz_zone_t *
jp_tz_slot(const char *file, size_t index)
{
    jp_tz_zone_t  *z;

    if (jp_tz_slots == NULL || index >= jp_tz_nnames) {
        return jp_tz_get(file, strlen(file));
    }

    z = jp_tz_slots[index];

    if (z == NULL) {
        z = calloc(1, sizeof(jp_tz_zone_t));
        if (z == NULL) {
            return jp_tz_get(file, strlen(file));
        }

        z->used = 1;
        strcpy(z->name, file);
        z->valid = (jp_tz_load(z, z->name) == 0);
        jp_tz_slots[index] = z;
    }

    return z;
}


int
jp_tz_offset(const char *name, size_t len, int64_t t, int32_t *off)
{
    int            rc;
    size_t         index;
    char           buf[JP_TZ_NAME_MAX + 1];
    const char    *file;
    jp_tz_zone_t  *z;

    if (jp_tz_name_check(name, len) != 0) {
        return -1;
    }

    pthread_mutex_lock(&jp_tz_mutex);

    index = (size_t) -1;
    file = jp_tz_canonical(name, len, buf, &index);
    rc = -1;

    if (file != NULL) {
        z = jp_tz_slot(file, index);

        if (z->valid) {
            *off = jp_tz_zone_offset(z, t);
            rc = 0;
        }
    }

    pthread_mutex_unlock(&jp_tz_mutex);

    return rc;
}


size_t
jp_tz_files_read(void)
{
    size_t  n;

    pthread_mutex_lock(&jp_tz_mutex);
    n = jp_tz_reads;
    pthread_mutex_unlock(&jp_tz_mutex);

    return n;
}


int
jp_tz_offset_data(const unsigned char *b, size_t n, int64_t t,
    int32_t *off)
{
    jp_tz_zone_t  z;

    memset(&z, 0, sizeof(z));

    if (jp_tz_parse(&z, b, n) != 0) {
        return -1;
    }

    *off = jp_tz_zone_offset(&z, t);
    free(z.trans);

    return 0;
}


static int
jp_tz_exists(const char *name)
{
    int32_t  off;

    return jp_tz_offset(name, strlen(name), 0, &off) == 0;
}


const char *
jp_tz_server(void)
{
    char        link[600];
    ssize_t     n;
    const char *tz, *p;

    pthread_mutex_lock(&jp_tz_mutex);
    p = jp_tz_server_name[0] ? jp_tz_server_name : NULL;
    pthread_mutex_unlock(&jp_tz_mutex);

    if (p != NULL) {
        return p;
    }

    tz = getenv("TZ");

    if (tz != NULL && tz[0] == ':') {
        tz++;
    }

    if (tz == NULL || !jp_tz_exists(tz)) {
        tz = NULL;

        n = readlink("/etc/localtime", link, sizeof(link) - 1);
        if (n > 0) {
            link[n] = '\0';
            p = strstr(link, "zoneinfo/");

            if (p != NULL && jp_tz_exists(p + 9)) {
                tz = p + 9;
            }
        }
    }

    if (tz == NULL) {
        tz = "UTC";
    }

    pthread_mutex_lock(&jp_tz_mutex);

    if (jp_tz_server_name[0] == '\0') {
        /* jp_tz_exists() took at most JP_TZ_NAME_MAX bytes */
        strncpy(jp_tz_server_name, tz, JP_TZ_NAME_MAX);
    }

    pthread_mutex_unlock(&jp_tz_mutex);

    return jp_tz_server_name;
}


void
jp_tz_flush(void)
{
    size_t  i;

    pthread_mutex_lock(&jp_tz_mutex);

    for (i = 0; i < JP_TZ_CACHE; i++) {
        free(jp_tz_cache[i].trans);
    }

    memset(jp_tz_cache, 0, sizeof(jp_tz_cache));
    jp_tz_server_name[0] = '\0';

    for (i = 0; jp_tz_slots != NULL && i < jp_tz_nnames; i++) {
        if (jp_tz_slots[i] != NULL) {
            free(jp_tz_slots[i]->trans);
            free(jp_tz_slots[i]);
        }
    }

    free(jp_tz_slots);
    jp_tz_slots = NULL;

    for (i = 0; i < jp_tz_nnames; i++) {
        free(jp_tz_names[i]);
    }

    free(jp_tz_names);
    jp_tz_names = NULL;
    jp_tz_nnames = 0;
    jp_tz_names_read = 0;

    pthread_mutex_unlock(&jp_tz_mutex);
}
