/*
 * file.* (see jp_tpl_helpers.c). File access goes through the host
 * callbacks after the path jail; file.include itself is rendered by
 * jp_tpl_render.c.
 */

#define _GNU_SOURCE     /* memmem */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "jp_tpl_int.h"
#include "jp_time.h"


/* file.* (file.include is rendered by jp_tpl_render.c) */

/*
 * The file of file.exists and file.timestamp: jPulse strips one quote
 * at each end and, for a missing .css or .js, looks for PATH.tmpl. jPulse
 * checks no path at all ("../app.conf" is true); ours still goes through
 * the jail, and a path it refuses is a missing file. 0, or -1 with the
 * error jPulse throws for a missing or non-string argument.
 */
static int
jp_tpl_file_mtime(jp_tpl_rs_t *rs, jp_tpl_val_t *a, size_t n, int *found,
    int64_t *ms)
{
    char         raw[JP_TPL_PATH_MAX], buf[JP_TPL_PATH_MAX];
    size_t       len, i;
    const char  *p;

    *found = 0;

    if (n == 0 || a[0].j == NULL) {
        return jp_tpl_error(rs, "Cannot read properties of undefined "
                            "(reading 'replace')");
    }

    if (json_is_null(a[0].j)) {
        return jp_tpl_error(rs, "Cannot read properties of null "
                            "(reading 'replace')");
    }

    if (!json_is_string(a[0].j)) {
        return jp_tpl_error(rs, "filePath.replace is not a function");
    }

    p = json_string_value(a[0].j);
    len = json_string_length(a[0].j);

    if (len > 0 && (p[0] == '"' || p[0] == '\'')) {
        p++;
        len--;
    }

    if (len > 0 && (p[len - 1] == '"' || p[len - 1] == '\'')) {
        len--;
    }

    /* room for ".tmpl" */
    if (len + 6 > sizeof(raw) || rs->host == NULL
        || rs->host->mtime == NULL)
    {
        return 0;
    }

    memcpy(raw, p, len);
    raw[len] = '\0';

    for (i = 0; i < 2; i++) {
        if (jp_tpl_path_check(raw, len, buf, sizeof(buf)) == 0
            && rs->host->mtime(rs->host->data, buf, ms) == 0)
        {
            *found = 1;
            return 0;
        }

        if (i > 0
            || !((len >= 4 && strncasecmp(raw + len - 4, ".css", 4) == 0)
                 || (len >= 3 && strncasecmp(raw + len - 3, ".js", 3) == 0)))
        {
            break;
        }

        memcpy(raw + len, ".tmpl", 6);
        len += 5;
    }

    return 0;
}


static int
h_exists(JP_TPL_HELPER_ARGS)
{
    int      found;
    int64_t  ms;

    if (jp_tpl_file_mtime(rs, a, n, &found, &ms) != 0) {
        return -1;
    }

    return jp_tpl_set(rs, res, json_boolean(found));
}


/* mtime in ms, or now when the file is missing (as jPulse: the
 * cache-buster then changes on every page, never stays stale) */
static int
h_timestamp(JP_TPL_HELPER_ARGS)
{
    int      found;
    int64_t  ms;

    if (jp_tpl_file_mtime(rs, a, n, &found, &ms) != 0) {
        return -1;
    }

    return jp_tpl_set(rs, res, json_integer(found ? ms : jp_tpl_now(rs)));
}


/*
 * file.list "GLOB": jPulse walks every view root recursively (skipping
 * names starting with "." and node_modules directories) and matches each
 * file's path against GLOB anchored at both ends, "*" being any run
 * without "/" and "?" any one character, "/" included. Here the walk
 * starts at GLOB's literal directories and goes no deeper than GLOB can
 * reach. Hosts report a subdirectory as "name/" (jp_tpl_host_t.list).
 */

#define JP_TPL_GLOB_DIRS_MAX  1024      /* directories listed per call */
#define JP_TPL_GLOB_DEPTH     32        /* levels below the start */

typedef struct {
    jp_tpl_rs_t     *rs;
    uint32_t        *pat;           /* GLOB as code points */
    size_t           plen;
    unsigned char   *state;         /* the matcher's NFA, plen + 1 */
    unsigned char   *next;
    json_t          *files;         /* matching paths */
    json_t          *dirs;          /* subdirectories of the listed one */
    const char      *dir;
    size_t           dlen;
    unsigned         ndirs;
    int              failed;        /* 1: too many, 2: no memory,
                                       3: the render's calls */
} jp_tpl_glob_t;


/* the code point at *p (advanced); a stray byte stands for itself */
static uint32_t
jp_tpl_utf8_next(const unsigned char **pp, const unsigned char *end)
{
    uint32_t              c;
    size_t                n, i;
    const unsigned char  *p;

    p = *pp;
    c = *p;
    n = c < 0x80 ? 1 : c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

    if (n > 1 && (size_t) (end - p) >= n) {
        c &= 0x3f >> (n - 1);
        for (i = 1; i < n; i++) {
            c = (c << 6) | (p[i] & 0x3f);
        }

    } else {
        n = 1;
    }

    *pp = p + n;

    return c;
}


/* the whole path against the pattern: a set of states, no backtracking */
static int
jp_tpl_glob_match(jp_tpl_glob_t *g, const char *s, size_t len)
{
    size_t                i, m;
    uint32_t              c, pc;
    unsigned char        *st, *nx, *t;
    const unsigned char  *p, *end;

    m = g->plen;
    st = g->state;
    nx = g->next;

    memset(st, 0, m + 1);
    st[0] = 1;

    p = (const unsigned char *) s;
    end = p + len;

    for ( ;; ) {
        /* a star may match nothing */
        for (i = 0; i < m; i++) {
            if (st[i] && g->pat[i] == '*') {
                st[i + 1] = 1;
            }
        }

        if (p >= end) {
            break;
        }

        c = jp_tpl_utf8_next(&p, end);
        memset(nx, 0, m + 1);

        for (i = 0; i < m; i++) {
            if (!st[i]) {
                continue;
            }

            pc = g->pat[i];

            if (pc == '*') {
                nx[i] |= (c != '/');

            } else if (pc == '?') {
                nx[i + 1] |= (c != '\n' && c != '\r' && c != 0x2028
                              && c != 0x2029);

            } else {
                nx[i + 1] |= (pc == c);
            }
        }

        t = st;
        st = nx;
        nx = t;
    }

    return st[m];
}


static int
jp_tpl_glob_cb(void *arg, const char *name, size_t len)
{
    int             isdir;
    char           *path;
    json_t         *j;
    jp_tpl_glob_t  *g;

    g = arg;
    isdir = len > 1 && name[len - 1] == '/';
    len -= isdir;

    /* a name that is not UTF-8 cannot be a JSON string: skip it, the
     * other names still list */
    if (len == 0 || name[0] == '.' || memchr(name, '/', len) != NULL
        || !jp_tpl_utf8_valid(name, len)
        || (isdir && len == 12 && memcmp(name, "node_modules", 12) == 0))
    {
        return 0;
    }

    /* a directory is listed by its path, which the host URL-decodes:
     * one whose name has "%" (or "\\") would be another directory */
    if (isdir && (memchr(name, '%', len) != NULL
                  || memchr(name, '\\', len) != NULL))
    {
        return 0;
    }

    path = malloc(g->dlen + len + 2);
    if (path == NULL) {
        g->failed = 2;
        return -1;
    }

    memcpy(path, g->dir, g->dlen);
    if (g->dlen) {
        path[g->dlen] = '/';
    }
    memcpy(path + g->dlen + (g->dlen > 0), name, len);
    len += g->dlen + (g->dlen > 0);
    path[len] = '\0';

    if (isdir) {
        j = json_string(path);
        free(path);

        if (j == NULL || json_array_append_new(g->dirs, j) != 0) {
            g->failed = 2;
            return -1;
        }

        return 0;
    }

    if (!jp_tpl_glob_match(g, path, len)) {
        free(path);
        return 0;
    }

    if (json_array_size(g->files) >= JP_TPL_LIST_MAX) {
        free(path);
        g->failed = 1;
        return -1;
    }

    j = json_string(path);
    free(path);

    if (j == NULL || json_array_append_new(g->files, j) != 0) {
        g->failed = 2;
        return -1;
    }

    return 0;
}


/* code point order with the supplementary planes where UTF-16 puts them:
 * between U+D7FF and U+E000 (JavaScript's default sort) */
static int
jp_tpl_utf16_cmp(const char *a, const char *b)
{
    uint32_t              x, y, kx, ky;
    const unsigned char  *p, *q, *pe, *qe;

    p = (const unsigned char *) a;
    q = (const unsigned char *) b;
    pe = p + strlen(a);
    qe = q + strlen(b);

    while (p < pe && q < qe) {
        x = jp_tpl_utf8_next(&p, pe);
        y = jp_tpl_utf8_next(&q, qe);

        if (x == y) {
            continue;
        }

        kx = x >= 0x10000 ? 0xd800 : x;
        ky = y >= 0x10000 ? 0xd800 : y;

        if (kx == ky) {
            return x < y ? -1 : 1;
        }

        return kx < ky ? -1 : 1;
    }

    return (p < pe) - (q < qe);
}


static int
jp_tpl_str_cmp(const void *x, const void *y)
{
    return jp_tpl_utf16_cmp(json_string_value(*(json_t **) x),
                            json_string_value(*(json_t **) y));
}


static void
jp_tpl_sort_strings(json_t *arr)
{
    size_t    i, n;
    json_t  **items;

    n = json_array_size(arr);
    items = n > 1 ? malloc(n * sizeof(json_t *)) : NULL;

    if (items == NULL) {
        return;
    }

    for (i = 0; i < n; i++) {
        items[i] = json_incref(json_array_get(arr, i));
    }

    qsort(items, n, sizeof(json_t *), jp_tpl_str_cmp);

    for (i = 0; i < n; i++) {
        json_array_set_new(arr, i, items[i]);
    }

    free(items);
}


/* lists dir and below, depth levels deep at most */
static int
jp_tpl_glob_walk(jp_tpl_glob_t *g, const char *dir, unsigned depth)
{
    size_t   i, first, last;
    json_t  *dirs;

    if (g->ndirs++ >= JP_TPL_GLOB_DIRS_MAX) {
        g->failed = 1;
        return -1;
    }

    /* per render too: a loop of file.list calls lists again each time */
    if (++g->rs->calls > JP_TPL_CALLS_MAX) {
        g->failed = 3;
        return -1;
    }

    first = json_array_size(g->dirs);
    g->dir = dir;
    g->dlen = strlen(dir);

    if (g->rs->host->list(g->rs->host->data, dir, jp_tpl_glob_cb, g) != 0
        && g->failed)
    {
        return -1;
    }

    last = json_array_size(g->dirs);

    if (depth == 0 || last == first) {
        return 0;
    }

    /* the subdirectories found here, once each (several roots may have
     * them), then their own */
    dirs = json_array();
    if (dirs == NULL) {
        g->failed = 2;
        return -1;
    }

    for (i = first; i < last; i++) {
        if (json_array_append(dirs, json_array_get(g->dirs, i)) != 0) {
            json_decref(dirs);
            g->failed = 2;
            return -1;
        }
    }

    while (json_array_size(g->dirs) > first) {
        json_array_remove(g->dirs, json_array_size(g->dirs) - 1);
    }

    /* sorted, so that a name several roots gave is walked once */
    jp_tpl_sort_strings(dirs);

    for (i = 0; i < json_array_size(dirs); i++) {
        if (i > 0 && strcmp(json_string_value(json_array_get(dirs, i)),
                            json_string_value(json_array_get(dirs, i - 1)))
                     == 0)
        {
            continue;
        }

        if (jp_tpl_glob_walk(g, json_string_value(json_array_get(dirs, i)),
                             depth - 1) != 0)
        {
            json_decref(dirs);
            return -1;
        }
    }

    json_decref(dirs);

    return 0;
}


/*
 * The sorted, de-duplicated paths matching glob in *out ([] for what
 * jPulse refuses: "../", "..\", an absolute path or "**"). -1 with an
 * error set when listing failed. Shared with file.includeComponents.
 */
int
jp_tpl_file_list(jp_tpl_rs_t *rs, const char *glob, size_t len,
    json_t **out)
{
    int                   rc;
    char                  start[JP_TPL_PATH_MAX], chk[JP_TPL_PATH_MAX];
    size_t                i, n, slash, depth;
    json_t              **items;
    jp_tpl_glob_t         g;
    const unsigned char  *p, *end;

    *out = json_array();
    if (*out == NULL) {
        return jp_tpl_error(rs, "out of memory");
    }

    if (len == 0 || glob[0] == '/' || memmem(glob, len, "../", 3) != NULL
        || memmem(glob, len, "..\\", 3) != NULL
        || memmem(glob, len, "**", 2) != NULL
        || memchr(glob, '\0', len) != NULL || len >= JP_TPL_PATH_MAX
        || rs->host == NULL || rs->host->list == NULL)
    {
        return 0;
    }

    /* the literal directories before the first wildcard: the walk's
     * start, when the jail takes it as it is */
    for (i = 0, slash = 0; i < len && glob[i] != '*' && glob[i] != '?'; i++) {
        if (glob[i] == '/') {
            slash = i;
        }
    }

    start[0] = '\0';

    if (slash > 0 && jp_tpl_path_check(glob, slash, chk, sizeof(chk)) == 0
        && memcmp(chk, glob, slash) == 0 && chk[slash] == '\0')
    {
        memcpy(start, glob, slash);
        start[slash] = '\0';
    }

    /* jPulse's walk never enters a hidden or node_modules directory */
    for (i = 0; start[i] != '\0'; i++) {
        if ((i == 0 || start[i - 1] == '/')
            && (start[i] == '.' || (strncmp(start + i, "node_modules", 12)
                                    == 0 && (start[i + 12] == '/'
                                             || start[i + 12] == '\0'))))
        {
            return 0;
        }
    }

    /* "*" stays within one level, "?" may cross one */
    for (i = strlen(start) + (start[0] != '\0'), depth = 0; i < len; i++) {
        depth += (glob[i] == '/' || glob[i] == '?');
    }

    memset(&g, 0, sizeof(g));
    g.rs = rs;
    g.pat = malloc((len + 1) * sizeof(uint32_t));
    g.state = malloc(len + 1);
    g.next = malloc(len + 1);
    g.files = json_array();
    g.dirs = json_array();

    rc = -1;

    if (g.pat == NULL || g.state == NULL || g.next == NULL
        || g.files == NULL || g.dirs == NULL)
    {
        jp_tpl_error(rs, "out of memory");
        goto done;
    }

    p = (const unsigned char *) glob;
    end = p + len;

    while (p < end) {
        g.pat[g.plen++] = jp_tpl_utf8_next(&p, end);
    }

    if (jp_tpl_glob_walk(&g, start, depth < JP_TPL_GLOB_DEPTH
                                    ? (unsigned) depth : JP_TPL_GLOB_DEPTH)
        != 0)
    {
        if (g.failed == 1) {
            jp_tpl_error(rs, "file.list: more than %d files or %d "
                         "directories", JP_TPL_LIST_MAX,
                         JP_TPL_GLOB_DIRS_MAX);

        } else if (g.failed == 3) {
            jp_tpl_error(rs, "more than %d includes, component calls and "
                         "directory listings", JP_TPL_CALLS_MAX);

        } else {
            jp_tpl_error(rs, "out of memory");
        }

        goto done;
    }

    /* sorted by UTF-16 code units, duplicates (site over framework)
     * dropped */
    n = json_array_size(g.files);
    items = malloc((n + 1) * sizeof(json_t *));
    if (items == NULL) {
        jp_tpl_error(rs, "out of memory");
        goto done;
    }

    for (i = 0; i < n; i++) {
        items[i] = json_array_get(g.files, i);
    }

    qsort(items, n, sizeof(json_t *), jp_tpl_str_cmp);

    for (i = 0, rc = 0; i < n && rc == 0; i++) {
        if (i > 0 && strcmp(json_string_value(items[i]),
                            json_string_value(items[i - 1])) == 0)
        {
            continue;
        }

        rc = json_array_append(*out, items[i]);
    }

    free(items);

    if (rc != 0) {
        jp_tpl_error(rs, "out of memory");
    }

done:

    free(g.pat);
    free(g.state);
    free(g.next);
    json_decref(g.dirs);
    json_decref(g.files);

    if (rc != 0) {
        json_decref(*out);
        *out = NULL;
        return -1;
    }

    return 0;
}


static int
h_list(JP_TPL_HELPER_ARGS)
{
    json_t  *j;

    j = JP_TPL_ARG(0);

    if (!jp_tpl_truthy(j)) {
        return jp_tpl_set(rs, res, json_array());
    }

    if (!json_is_string(j)) {
        return jp_tpl_error(rs, "globPattern.includes is not a function");
    }

    if (jp_tpl_file_list(rs, json_string_value(j), json_string_length(j),
                         &res->j) != 0)
    {
        return -1;
    }

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
