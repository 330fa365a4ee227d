/*
 * file.* (see jp_tpl_helpers.c). File access goes through the host
 * callbacks after the path jail; file.include itself is rendered by
 * jp_tpl_render.c.
 */

#define _GNU_SOURCE     /* qsort_r */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jp_tpl_int.h"
#include "jp_time.h"


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
    { "file.includeComponents", jp_tpl_include_components,
                                       JP_TPL_H_PLAIN,   0 },
    { NULL, NULL, 0, 0 }
};
