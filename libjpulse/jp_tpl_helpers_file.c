/*
 * file.* and date.* (see jp_tpl_helpers.c). File access goes through the
 * host callbacks after the path jail; file.include itself is rendered by
 * jp_tpl_render.c. Dates are milliseconds since the epoch, in UTC.
 */

#define _GNU_SOURCE     /* qsort_r */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jp_tpl_int.h"
#include "jp_time.h"


/* date.*: milliseconds since the epoch, UTC */

static int
h_now(JP_TPL_HELPER_ARGS)
{
    return jp_tpl_set(rs, res, json_integer(jp_tpl_now(rs)));
}


static int64_t
jp_tpl_days(int64_t y, int64_t m, int64_t d)
{
    /* days from 1970-01-01 to y-m-d (proleptic Gregorian) */
    y -= m <= 2;
    return 365 * y + y / 4 - y / 100 + y / 400
           + (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1 - 719468;
}


/* ISO 8601: YYYY-MM-DD[THH:MM[:SS[.mmm]]][Z|+HH:MM]; -1 if not */
static int
jp_tpl_parse_date(const char *s, int64_t *ms)
{
    int      f[7], i, sign, oh, om, digits;
    int64_t  t;

    memset(f, 0, sizeof(f));
    f[1] = f[2] = 1;

    if (sscanf(s, "%4d-%2d-%2d", &f[0], &f[1], &f[2]) != 3
        || strlen(s) < 10)
    {
        return -1;
    }

    s += 10;

    if (*s == 'T' || *s == ' ') {
        if (sscanf(s + 1, "%2d:%2d", &f[3], &f[4]) != 2) {
            return -1;
        }

        s += 6;

        if (*s == ':') {
            if (sscanf(s + 1, "%2d", &f[5]) != 1) {
                return -1;
            }

            s += 3;

            if (*s == '.') {
                for (s++, digits = 0; *s >= '0' && *s <= '9'; s++) {
                    if (digits++ < 3) {
                        f[6] = f[6] * 10 + (*s - '0');
                    }
                }

                for (i = digits; i < 3; i++) {
                    f[6] *= 10;
                }
            }
        }
    }

    sign = 0;
    oh = om = 0;

    if (*s == 'Z') {
        s++;

    } else if (*s == '+' || *s == '-') {
        sign = (*s == '-') ? 1 : -1;
        if (sscanf(s + 1, "%2d:%2d", &oh, &om) != 2) {
            return -1;
        }
        s += 6;
    }

    if (*s != '\0' || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31
        || f[3] > 23 || f[4] > 59 || f[5] > 59)
    {
        return -1;
    }

    t = jp_tpl_days(f[0], f[1], f[2]) * 86400 + f[3] * 3600 + f[4] * 60
        + f[5] + (int64_t) sign * (oh * 3600 + om * 60);

    *ms = t * 1000 + f[6];

    return 0;
}


static int
jp_tpl_date_arg(json_t *j, int64_t *ms)
{
    if (json_is_number(j)) {
        *ms = (int64_t) json_number_value(j);
        return 0;
    }

    if (json_is_string(j)) {
        return jp_tpl_parse_date(json_string_value(j), ms);
    }

    return -1;
}


/* an invalid date is null, where JavaScript has NaN */
static int
h_dparse(JP_TPL_HELPER_ARGS)
{
    int64_t  ms;

    if (jp_tpl_date_arg(JP_TPL_ARG(0), &ms) != 0) {
        return jp_tpl_set(rs, res, json_null());
    }

    return jp_tpl_set(rs, res, json_integer(ms));
}


/* date.format d [format="YYYY-MM-DD HH:mm:ss"]; default: toISOString() */
static int
h_dformat(JP_TPL_HELPER_ARGS)
{
    char          iso[JP_ISO8601_LEN + 1], num[16];
    int64_t       ms;
    time_t        sec;
    json_t       *fmt;
    struct tm     tm;
    const char   *p;
    jp_tpl_buf_t  b;

    if (jp_tpl_date_arg(JP_TPL_ARG(0), &ms) != 0) {
        return jp_tpl_error(rs, "invalid date");
    }

    sec = (time_t) (ms >= 0 ? ms / 1000 : (ms - 999) / 1000);

    fmt = json_object_get(rs->hash, "format");
    if (!json_is_string(fmt) && n > 1 && json_is_string(a[1].j)) {
        fmt = a[1].j;
    }

    if (!json_is_string(fmt)) {
        if (jp_time_iso8601(iso, sizeof(iso), sec,
                            (unsigned) (ms - (int64_t) sec * 1000)) == 0)
        {
            return jp_tpl_error(rs, "invalid date");
        }

        return jp_tpl_set(rs, res, json_string(iso));
    }

    if (gmtime_r(&sec, &tm) == NULL) {
        return jp_tpl_error(rs, "invalid date");
    }

    jp_tpl_buf_init(&b, 0);
    jp_tpl_buf_add(&b, "", 0);

    for (p = json_string_value(fmt); *p != '\0'; /* void */) {
        if (strncmp(p, "YYYY", 4) == 0) {
            snprintf(num, sizeof(num), "%04d", tm.tm_year + 1900);
            p += 4;
        } else if (strncmp(p, "MM", 2) == 0) {
            snprintf(num, sizeof(num), "%02d", tm.tm_mon + 1);
            p += 2;
        } else if (strncmp(p, "DD", 2) == 0) {
            snprintf(num, sizeof(num), "%02d", tm.tm_mday);
            p += 2;
        } else if (strncmp(p, "HH", 2) == 0) {
            snprintf(num, sizeof(num), "%02d", tm.tm_hour);
            p += 2;
        } else if (strncmp(p, "mm", 2) == 0) {
            snprintf(num, sizeof(num), "%02d", tm.tm_min);
            p += 2;
        } else if (strncmp(p, "ss", 2) == 0) {
            snprintf(num, sizeof(num), "%02d", tm.tm_sec);
            p += 2;
        } else if (strncmp(p, "SSS", 3) == 0) {
            snprintf(num, sizeof(num), "%03d",
                     (int) (ms - (int64_t) sec * 1000));
            p += 3;
        } else {
            num[0] = *p++;
            num[1] = '\0';
        }

        jp_tpl_buf_add(&b, num, strlen(num));
    }

    return jp_tpl_set_buf(rs, res, &b);
}

/* file.* (file.include is rendered by jp_tpl_render.c) */

static int
h_exists(JP_TPL_HELPER_ARGS)
{
    char         buf[JP_TPL_PATH_MAX];
    int64_t      ms;
    const char  *path;

    path = jp_tpl_jail(rs, JP_TPL_ARG(0), buf, sizeof(buf));
    if (path == NULL) {
        return -1;
    }

    return jp_tpl_set(rs, res, json_boolean(
        rs->host != NULL && rs->host->mtime != NULL
        && rs->host->mtime(rs->host->data, path, &ms) == 0));
}


/* mtime in ms, or now when the file is missing (as jPulse: the
 * cache-buster then changes on every page, never stays stale) */
static int
h_timestamp(JP_TPL_HELPER_ARGS)
{
    char         buf[JP_TPL_PATH_MAX];
    int64_t      ms;
    const char  *path;

    path = jp_tpl_jail(rs, JP_TPL_ARG(0), buf, sizeof(buf));
    if (path == NULL) {
        return -1;
    }

    if (rs->host == NULL || rs->host->mtime == NULL
        || rs->host->mtime(rs->host->data, path, &ms) != 0)
    {
        ms = jp_tpl_now(rs);
    }

    return jp_tpl_set(rs, res, json_integer(ms));
}


typedef struct {
    const char  *dir;
    size_t       dlen;
    const char  *pat;
    json_t      *arr;
    int          failed;
} jp_tpl_glob_t;


/* '*' globbing without recursion: linear backtracking to the last '*' */
static int
jp_tpl_match(const char *pat, const char *s, size_t len)
{
    size_t       i, mark;
    const char  *star;

    star = NULL;
    mark = 0;
    i = 0;

    while (i < len) {
        if (*pat == '*') {
            star = pat++;
            mark = i;
            continue;
        }

        if (*pat != '\0' && *pat == s[i]) {
            pat++;
            i++;
            continue;
        }

        if (star == NULL) {
            return 0;
        }

        pat = star + 1;
        i = ++mark;
    }

    while (*pat == '*') {
        pat++;
    }

    return *pat == '\0';
}


static int
jp_tpl_glob_cb(void *arg, const char *name, size_t len)
{
    char           *path;
    json_t         *j;
    jp_tpl_glob_t  *g;

    g = arg;

    /* a name that is not UTF-8 cannot be a JSON string: skip it, the
     * other names still list */
    if (len == 0 || name[0] == '.' || memchr(name, '/', len) != NULL
        || !jp_tpl_utf8_valid(name, len)
        || !jp_tpl_match(g->pat, name, len))
    {
        return 0;
    }

    if (json_array_size(g->arr) >= JP_TPL_LIST_MAX) {
        g->failed = 1;
        return -1;
    }

    path = malloc(g->dlen + len + 2);
    if (path == NULL) {
        g->failed = 1;
        return -1;
    }

    memcpy(path, g->dir, g->dlen);
    if (g->dlen) {
        path[g->dlen] = '/';
    }
    memcpy(path + g->dlen + (g->dlen > 0), name, len);
    path[g->dlen + (g->dlen > 0) + len] = '\0';

    j = json_string(path);
    free(path);

    if (j == NULL || json_array_append_new(g->arr, j) != 0) {
        g->failed = 1;
        return -1;
    }

    return 0;
}


static int
jp_tpl_str_cmp(const void *x, const void *y, void *arg)
{
    return strcmp(json_string_value(*(json_t **) x),
                  json_string_value(*(json_t **) y));
}


/* file.list "dir/x*.tmpl": one level, a star only in the last segment */
static int
h_list(JP_TPL_HELPER_ARGS)
{
    char            buf[JP_TPL_PATH_MAX], *slash;
    size_t          i, k, size;
    json_t        **items;
    const char     *path;
    jp_tpl_glob_t   g;

    path = jp_tpl_jail(rs, JP_TPL_ARG(0), buf, sizeof(buf));
    if (path == NULL) {
        return -1;
    }

    slash = strrchr(buf, '/');
    if (strstr(buf, "**") != NULL
        || (slash != NULL && memchr(buf, '*', slash - buf) != NULL))
    {
        return jp_tpl_error(rs, "only a single-level '*' is allowed");
    }

    memset(&g, 0, sizeof(g));
    g.arr = json_array();
    if (g.arr == NULL) {
        return jp_tpl_error(rs, "out of memory");
    }

    if (slash != NULL) {
        *slash = '\0';
        g.dir = buf;
        g.dlen = slash - buf;
        g.pat = slash + 1;

    } else {
        g.dir = "";
        g.pat = buf;
    }

    if (rs->host != NULL && rs->host->list != NULL) {
        rs->host->list(rs->host->data, g.dir, jp_tpl_glob_cb, &g);
    }

    if (g.failed) {
        json_decref(g.arr);
        return jp_tpl_error(rs, "file.list failed (more than %d files?)",
                            JP_TPL_LIST_MAX);
    }

    /* sorted by file name, duplicates (site over framework) dropped */
    size = json_array_size(g.arr);
    items = malloc((size + 1) * sizeof(json_t *));
    res->j = json_array();

    if (items == NULL || res->j == NULL) {
        free(items);
        json_decref(g.arr);
        json_decref(res->j);
        res->j = NULL;
        return jp_tpl_error(rs, "out of memory");
    }

    for (i = 0; i < size; i++) {
        items[i] = json_array_get(g.arr, i);
    }

    qsort_r(items, size, sizeof(json_t *), jp_tpl_str_cmp, NULL);

    for (i = 0, k = 0; i < size; i++) {
        if (k > 0 && strcmp(json_string_value(items[i]),
                            json_string_value(items[k - 1])) == 0)
        {
            continue;
        }

        items[k++] = items[i];

        if (json_array_append(res->j, items[i]) != 0) {
            free(items);
            json_decref(g.arr);
            return jp_tpl_error(rs, "out of memory");
        }
    }

    free(items);
    json_decref(g.arr);

    return 0;
}


const jp_tpl_helper_t  jp_tpl_helpers_file[] = {
    { "file.include",     NULL,        JP_TPL_H_INCLUDE, 0 },
    { "file.exists",      h_exists,    JP_TPL_H_PLAIN,   0 },
    { "file.timestamp",   h_timestamp, JP_TPL_H_PLAIN,   0 },
    { "file.list",        h_list,      JP_TPL_H_PLAIN,   0 },
    { "date.now",         h_now,       JP_TPL_H_PLAIN,   0 },
    { "date.parse",       h_dparse,    JP_TPL_H_PLAIN,   0 },
    { "date.format",      h_dformat,   JP_TPL_H_PLAIN,   0 },
    { NULL, NULL, 0, 0 }
};
