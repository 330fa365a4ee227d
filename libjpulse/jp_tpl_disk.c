/*
 * A jp_tpl_host_t over directories on disk, searched in order as jPulse
 * searches site/webapp/view, then plugins, then webapp/view. Used by
 * cachectl and the tests; nginx brings its own host over its cache.
 *
 * Paths arrive jailed (jp_tpl_path_check); on top of that the real path of
 * every hit must stay inside its root, so a symlink cannot leave it: when
 * found, when listed, and once more for the file actually opened (a link
 * swapped in between realpath() and open() is caught on the descriptor).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jp_tpl.h"


#define JP_TPL_DISK_FILE_MAX  JP_TPL_SOURCE_MAX


struct jp_tpl_disk_s {
    size_t   n;
    char   **roots;             /* real paths, without a trailing '/' */
    char   **given;             /* as configured: resolved again on refresh */
};


/* realpath() of a root, "/" kept as "": root + "/" + path stays valid */
static char *
jp_tpl_disk_real(const char *root)
{
    char  *real;

    real = realpath(root, NULL);

    if (real != NULL && strcmp(real, "/") == 0) {
        real[0] = '\0';
    }

    return real;
}


jp_tpl_disk_t *
jp_tpl_disk_create(const char *const *roots, size_t n)
{
    size_t          i;
    jp_tpl_disk_t  *disk;

    disk = calloc(1, sizeof(jp_tpl_disk_t));
    if (disk == NULL) {
        return NULL;
    }

    disk->roots = calloc(n ? n : 1, sizeof(char *));
    disk->given = calloc(n ? n : 1, sizeof(char *));
    disk->n = n;

    if (disk->roots == NULL || disk->given == NULL) {
        jp_tpl_disk_destroy(disk);
        return NULL;
    }

    for (i = 0; i < n; i++) {
        disk->given[i] = strdup(roots[i]);
        disk->roots[i] = jp_tpl_disk_real(roots[i]);

        if (disk->given[i] == NULL || disk->roots[i] == NULL) {
            jp_tpl_disk_destroy(disk);
            return NULL;
        }
    }

    return disk;
}


void
jp_tpl_disk_destroy(jp_tpl_disk_t *disk)
{
    size_t  i;

    if (disk == NULL) {
        return;
    }

    for (i = 0; i < disk->n; i++) {
        if (disk->roots) {
            free(disk->roots[i]);
        }

        if (disk->given) {
            free(disk->given[i]);
        }
    }

    free(disk->roots);
    free(disk->given);
    free(disk);
}


int
jp_tpl_disk_refresh(jp_tpl_disk_t *disk, size_t *changed)
{
    int      failed, moved;
    char    *real;
    size_t   i;

    failed = 0;
    moved = 0;

    for (i = 0; i < disk->n; i++) {
        real = jp_tpl_disk_real(disk->given[i]);

        if (real == NULL) {
            failed = 1;
            continue;
        }

        if (strcmp(real, disk->roots[i]) == 0) {
            free(real);
            continue;
        }

        free(disk->roots[i]);
        disk->roots[i] = real;

        if (!moved && changed) {
            *changed = i;
        }

        moved = 1;
    }

    return moved ? 1 : (failed ? -1 : 0);
}


const char *
jp_tpl_disk_root(jp_tpl_disk_t *disk, size_t i)
{
    return i < disk->n ? (disk->roots[i][0] ? disk->roots[i] : "/") : NULL;
}


/* root/path into buf when it exists and really lies under root */
static int
jp_tpl_disk_resolve(const char *root, const char *path, char *buf)
{
    char    joined[PATH_MAX];
    size_t  rlen;

    if (snprintf(joined, sizeof(joined), "%s/%s", root, path)
        >= (int) sizeof(joined))
    {
        return -1;
    }

    if (realpath(joined, buf) == NULL) {
        return -1;
    }

    rlen = strlen(root);

    if (strncmp(buf, root, rlen) != 0
        || (buf[rlen] != '/' && buf[rlen] != '\0'))
    {
        return -1;
    }

    return 0;
}


/* the root the file was found in, or NULL */
static const char *
jp_tpl_disk_find(jp_tpl_disk_t *disk, const char *path, char *buf,
    struct stat *st)
{
    size_t  i;

    for (i = 0; i < disk->n; i++) {
        if (jp_tpl_disk_resolve(disk->roots[i], path, buf) == 0
            && stat(buf, st) == 0 && S_ISREG(st->st_mode))
        {
            return disk->roots[i];
        }
    }

    return NULL;
}


/*
 * Opens the resolved path without following a link in its last component,
 * then checks what was opened: a regular file whose real path (from the
 * descriptor, not the name) still lies under root.
 */
static int
jp_tpl_disk_open(const char *root, const char *path, struct stat *st)
{
    int      fd;
    char     proc[64], real[PATH_MAX];
    size_t   rlen;
    ssize_t  n;

    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd == -1) {
        return -1;
    }

    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
        goto failed;
    }

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);

    n = readlink(proc, real, sizeof(real) - 1);
    if (n <= 0) {
        goto failed;
    }

    real[n] = '\0';
    rlen = strlen(root);

    if (strncmp(real, root, rlen) != 0 || real[rlen] != '/') {
        goto failed;
    }

    return fd;

failed:

    close(fd);
    return -1;
}


/* reads the opened file (closing fd) into a NUL-terminated copy */
static int
jp_tpl_disk_slurp(int fd, struct stat *st, char **src, size_t *len)
{
    char     *p;
    size_t    n;
    ssize_t   r;

    /* the size of what was opened, not of what was found */
    if (st->st_size > JP_TPL_DISK_FILE_MAX) {
        close(fd);
        return -1;
    }

    p = malloc((size_t) st->st_size + 1);
    if (p == NULL) {
        close(fd);
        return -1;
    }

    for (n = 0; n < (size_t) st->st_size; n += r) {
        r = read(fd, p + n, (size_t) st->st_size - n);

        if (r == -1 && errno == EINTR) {
            r = 0;
            continue;
        }

        if (r <= 0) {
            break;
        }
    }

    close(fd);

    if (n != (size_t) st->st_size) {
        free(p);
        return -1;
    }

    p[n] = '\0';
    *src = p;
    *len = n;

    return 0;
}


static int
jp_tpl_disk_read(void *data, const char *path, char **src, size_t *len)
{
    int           fd;
    char          buf[PATH_MAX];
    struct stat   st;
    const char   *root;

    root = jp_tpl_disk_find(data, path, buf, &st);
    if (root == NULL) {
        return -1;
    }

    fd = jp_tpl_disk_open(root, buf, &st);
    if (fd == -1) {
        return -1;
    }

    return jp_tpl_disk_slurp(fd, &st, src, len);
}


static int
jp_tpl_disk_mtime(void *data, const char *path, int64_t *ms)
{
    char         buf[PATH_MAX];
    struct stat  st;

    if (jp_tpl_disk_find(data, path, buf, &st) == NULL) {
        return -1;
    }

    *ms = (int64_t) st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;

    return 0;
}


static int
jp_tpl_disk_list(void *data, const char *dir, jp_tpl_list_pt cb, void *arg)
{
    char            buf[PATH_MAX], rel[PATH_MAX], real[PATH_MAX];
    DIR            *d;
    size_t          i, len;
    struct stat     st;
    struct dirent  *de;
    jp_tpl_disk_t  *disk;

    disk = data;

    for (i = 0; i < disk->n; i++) {
        if (*dir == '\0') {
            snprintf(buf, sizeof(buf), "%s",
                     disk->roots[i][0] ? disk->roots[i] : "/");

        } else if (jp_tpl_disk_resolve(disk->roots[i], dir, buf) != 0) {
            continue;
        }

        d = opendir(buf);
        if (d == NULL) {
            continue;
        }

        while ((de = readdir(d)) != NULL) {
            if (de->d_type != DT_REG && de->d_type != DT_UNKNOWN
                && de->d_type != DT_LNK && de->d_type != DT_DIR)
            {
                continue;
            }

            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            {
                continue;
            }

            /* only what read() would serve: a link leaving the root is
             * not listed; a directory is "name/" (file.list walks it) */
            if (snprintf(rel, sizeof(rel), "%s%s%s", dir, *dir ? "/" : "",
                         de->d_name) >= (int) sizeof(rel)
                || jp_tpl_disk_resolve(disk->roots[i], rel, real) != 0
                || stat(real, &st) != 0
                || !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)))
            {
                continue;
            }

            len = strlen(de->d_name);

            if (S_ISDIR(st.st_mode)) {
                if (len + 2 > sizeof(rel)) {
                    continue;
                }

                memcpy(rel, de->d_name, len);
                rel[len++] = '/';
                rel[len] = '\0';
            }

            if (cb(arg, S_ISDIR(st.st_mode) ? rel : de->d_name, len) != 0) {
                closedir(d);
                return -1;
            }
        }

        closedir(d);
    }

    return 0;
}


void
jp_tpl_disk_host(jp_tpl_disk_t *disk, jp_tpl_host_t *host)
{
    memset(host, 0, sizeof(jp_tpl_host_t));
    host->data = disk;
    host->read = jp_tpl_disk_read;
    host->mtime = jp_tpl_disk_mtime;
    host->list = jp_tpl_disk_list;
}


/*
 * jPulse appends every .js and .css its view controller serves: the last
 * extension of the last component, in any case ("x.CSS" too).
 */
int
jp_tpl_disk_is_append(const char *path)
{
    const char  *base, *dot;

    base = strrchr(path, '/');
    base = base ? base + 1 : path;

    dot = strrchr(base, '.');
    if (dot == NULL) {
        return 0;
    }

    return strcasecmp(dot, ".js") == 0 || strcasecmp(dot, ".css") == 0;
}


/* the roots in append order: framework, site, then the plugins */
static size_t
jp_tpl_disk_append_root(jp_tpl_disk_t *disk, size_t k)
{
    if (disk->n < 2) {
        return k;
    }

    return k == 0 ? disk->n - 1 : k - 1;
}


static uint64_t
jp_tpl_disk_mix(uint64_t h, uint64_t v)
{
    size_t  i;

    /* FNV-1a over the eight bytes of v */
    for (i = 0; i < 8; i++) {
        h ^= (v >> (i * 8)) & 0xff;
        h *= 0x100000001b3ULL;
    }

    return h;
}


int
jp_tpl_disk_stamp(jp_tpl_disk_t *disk, const char *path, unsigned flags,
    uint64_t *stamp, int64_t *mtime_ms)
{
    char         buf[PATH_MAX];
    size_t       i, found;
    int64_t      ms, newest;
    uint64_t     h;
    struct stat  st;

    h = 0xcbf29ce484222325ULL;
    newest = 0;
    found = 0;

    for (i = 0; i < disk->n; i++) {
        if (jp_tpl_disk_resolve(disk->roots[i], path, buf) != 0
            || stat(buf, &st) != 0 || !S_ISREG(st.st_mode))
        {
            h = jp_tpl_disk_mix(h, ~(uint64_t) 0);
            continue;
        }

        h = jp_tpl_disk_mix(h, i);
        h = jp_tpl_disk_mix(h, (uint64_t) st.st_dev);
        h = jp_tpl_disk_mix(h, (uint64_t) st.st_ino);
        h = jp_tpl_disk_mix(h, (uint64_t) st.st_size);
        h = jp_tpl_disk_mix(h, (uint64_t) st.st_mtim.tv_sec);
        h = jp_tpl_disk_mix(h, (uint64_t) st.st_mtim.tv_nsec);

        ms = (int64_t) st.st_mtim.tv_sec * 1000
             + st.st_mtim.tv_nsec / 1000000;
        newest = ms > newest ? ms : newest;
        found++;

        if (!(flags & JP_TPL_DISK_APPEND)) {
            break;
        }
    }

    if (found == 0) {
        return -1;
    }

    *stamp = h;

    if (mtime_ms) {
        *mtime_ms = newest;
    }

    return 0;
}


int
jp_tpl_disk_read_flags(jp_tpl_disk_t *disk, const char *path,
    unsigned flags, char **src, size_t *len)
{
    int          fd;
    char         buf[PATH_MAX], *all, *one, *p;
    size_t       k, n, total, found;
    struct stat  st;
    const char  *root;

    if (!(flags & JP_TPL_DISK_APPEND)) {
        return jp_tpl_disk_read(disk, path, src, len);
    }

    all = NULL;
    total = 0;
    found = 0;

    for (k = 0; k < disk->n; k++) {
        root = disk->roots[jp_tpl_disk_append_root(disk, k)];

        if (jp_tpl_disk_resolve(root, path, buf) != 0
            || stat(buf, &st) != 0 || !S_ISREG(st.st_mode))
        {
            continue;
        }

        fd = jp_tpl_disk_open(root, buf, &st);
        if (fd == -1) {
            continue;
        }

        one = NULL;
        n = 0;

        if (jp_tpl_disk_slurp(fd, &st, &one, &n) != 0
            || total + n + 1 > JP_TPL_DISK_FILE_MAX)
        {
            free(one);
            free(all);
            return -1;
        }

        /* one "\n" between neighbours, none after the last: an empty
         * part is a part too (jPulse joins the list with "\n") */
        p = realloc(all, total + (found > 0) + n + 1);
        if (p == NULL) {
            free(one);
            free(all);
            return -1;
        }

        all = p;

        if (found > 0) {
            all[total++] = '\n';
        }

        memcpy(all + total, one, n);
        total += n;
        free(one);

        all[total] = '\0';
        found++;
    }

    if (found == 0) {
        return -1;
    }

    *src = all;
    *len = total;

    return 0;
}


static int
jp_tpl_disk_has(const char *src, size_t len, const char *what)
{
    size_t       n;
    const char  *p, *end;

    n = strlen(what);
    end = src + len;

    /* memchr for the first byte: linear in len for these needles */
    for (p = src; (size_t) (end - p) >= n; p++) {
        p = memchr(p, what[0], end - p - n + 1);
        if (p == NULL) {
            return 0;
        }

        if (memcmp(p, what, n) == 0) {
            return 1;
        }
    }

    return 0;
}


int
jp_tpl_disk_is_spa(const char *src, size_t len)
{
    if (src == NULL) {
        return 0;
    }

    return jp_tpl_disk_has(src, len, "/vue-router.min.js")
           || jp_tpl_disk_has(src, len, "/vue-router.js")
           || jp_tpl_disk_has(src, len, "VueRouter.createRouter")
           || jp_tpl_disk_has(src, len, "jPulse.UI.docs.init")
           || (jp_tpl_disk_has(src, len, "history.pushState")
               && jp_tpl_disk_has(src, len, "popstate"));
}


int
jp_tpl_disk_in_plugin(jp_tpl_disk_t *disk, const char *path)
{
    char         buf[PATH_MAX];
    size_t       i;
    struct stat  st;

    for (i = 0; i < disk->n; i++) {
        if (jp_tpl_disk_resolve(disk->roots[i], path, buf) == 0
            && stat(buf, &st) == 0 && S_ISREG(st.st_mode))
        {
            return i > 0 && i + 1 < disk->n;
        }
    }

    return -1;
}


int
jp_tpl_disk_is_dir(jp_tpl_disk_t *disk, const char *path)
{
    char         buf[PATH_MAX];
    size_t       i;
    struct stat  st;

    for (i = 0; i < disk->n; i++) {
        if (jp_tpl_disk_resolve(disk->roots[i], path, buf) == 0
            && stat(buf, &st) == 0)
        {
            return S_ISDIR(st.st_mode) ? 1 : 0;
        }
    }

    return 0;
}
