/*
 * The walk of the view roots for a batch (see cachectl_sync.c): which
 * files every root holds now, each with a stamp (inode, size, mtime,
 * which root) that says whether it must be read again. A full walk reads
 * every directory of every root; a partial one only the directories that
 * saw events, and the subdirectories it finds new or replaced. Anything
 * it could not read, a link out of its root or too many files make it
 * incomplete: cachectl_sync.c then deletes nothing.
 *
 * The directories the batch names are mapped here to directories of the
 * roots (its scope); a walk marks every directory it reads, so a link
 * loop or two links to one directory are read once.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jp_tpl.h"
#include "cachectl_log.h"
#include "cachectl_sync.h"
#include "cachectl_sync_int.h"
#include "cachectl_walk.h"


#define CACHECTL_DEPTH_MAX    32


static uint64_t
cachectl_mix(uint64_t h, uint64_t v)
{
    size_t  i;

    for (i = 0; i < 8; i++) {
        h ^= (v >> (i * 8)) & 0xff;
        h *= 0x100000001b3ULL;
    }

    return h;
}


/* what editors, rsync and git leave behind for a moment */

int
cachectl_ignored(const char *name)
{
    size_t  n;

    n = strlen(name);

    return name[0] == '.' || (n && name[n - 1] == '~')
           || strcmp(name, "4913") == 0
           || (n > 4 && strcmp(name + n - 4, ".swp") == 0)
           || (n > 4 && strcmp(name + n - 4, ".tmp") == 0);
}


int
cachectl_dir_visited(json_t *visited, const struct stat *st)
{
    char  id[48];

    snprintf(id, sizeof(id), "%llu:%llu", (unsigned long long) st->st_dev,
             (unsigned long long) st->st_ino);

    if (json_object_get(visited, id) != NULL) {
        return 1;
    }

    json_object_set_new(visited, id, json_true());

    return 0;
}


/*
 * What a partial walk remembers of a directory: device, inode and ctime.
 * A directory created in place of another may get its inode back, but not
 * its ctime; one whose entries changed also gets a new ctime, and is
 * walked whole (it has its own events too: at worst a walk more).
 */

static void
cachectl_dir_id(const struct stat *st, char *id, size_t size)
{
    snprintf(id, size, "%llu:%llu:%lld.%09ld",
             (unsigned long long) st->st_dev,
             (unsigned long long) st->st_ino,
             (long long) st->st_ctim.tv_sec, (long) st->st_ctim.tv_nsec);
}


/* real lies in root (a real path; "" for "/") */

static int
cachectl_inside(const char *root, const char *real)
{
    size_t  n;

    n = strlen(root);

    return strncmp(real, root, n) == 0 && (real[n] == '/' || real[n] == '\0');
}


static void
cachectl_walk_fail(cachectl_walk_t *w, const char *fmt, ...)
{
    va_list  ap;

    /* the first reason is the one reported */
    if (!w->failed) {
        va_start(ap, fmt);
        vsnprintf(w->reason, sizeof(w->reason), fmt, ap);
        va_end(ap);
    }

    w->failed = 1;
}


/*
 * A file of the walk: its stamp gathers every root's copy in root order
 * (the first one only, unless it is an append-mode file), as
 * jp_tpl_disk_read_flags() will read it.
 */

static void
cachectl_walk_file(cachectl_walk_t *w, const char *rel, struct stat *st)
{
    int64_t           ms;
    cachectl_file_t  *f;
    cachectl_sync_t  *s;

    s = w->s;
    f = cachectl_file_get(s->files, rel);

    if (f == NULL) {
        /*
         * A partial walk adds to what a full one counted. The table also
         * holds what went (held deletions, or gone in this batch): as a
         * full walk's, it may hold the files_max found and as many more.
         */
        if (w->scope != NULL
            && json_object_size(s->files) >= 2 * (size_t) s->files_max)
        {
            cachectl_walk_fail(w, "more than %ld files", s->files_max);
            w->stop = 1;
            return;
        }

        f = cachectl_file_add(s->files, rel);
        if (f == NULL) {
            cachectl_walk_fail(w, "out of memory");
            w->stop = 1;
            return;
        }
    }

    if (f->walk != s->walk_gen) {
        f->walk = s->walk_gen;
        f->root = -1;
        f->nfound = 0;
        f->h = 0xcbf29ce484222325ULL;
        f->newest = 0;
        w->found++;

        if (w->found > (unsigned) s->files_max) {
            cachectl_walk_fail(w, "more than %ld files", s->files_max);
            w->stop = 1;
            return;
        }
    }

    if (w->root <= f->root
        || (f->nfound && !jp_tpl_disk_is_append(rel)))
    {
        return;
    }

    f->root = w->root;
    f->nfound++;
    f->h = cachectl_mix(f->h, (uint64_t) w->root);
    f->h = cachectl_mix(f->h, (uint64_t) st->st_dev);
    f->h = cachectl_mix(f->h, (uint64_t) st->st_ino);
    f->h = cachectl_mix(f->h, (uint64_t) st->st_size);
    f->h = cachectl_mix(f->h, (uint64_t) st->st_mtim.tv_sec);
    f->h = cachectl_mix(f->h, (uint64_t) st->st_mtim.tv_nsec);

    ms = (int64_t) st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    f->newest = ms > f->newest ? ms : f->newest;
}


/*
 * One directory of one root (rel "" is the root). A full walk descends
 * into every subdirectory; a partial one only into those it has not seen
 * before with the same inode (new, or replaced by a rename), the others
 * having their own events. Subdirectories are walked after closedir(),
 * so the walk holds one descriptor whatever the depth. A link is
 * followed only when its real path stays in the root; anything that
 * could not be read makes the walk incomplete (no deletions).
 */

static void
cachectl_walk_dir(cachectl_walk_t *w, const char *rel, int depth)
{
    int              fd;
    DIR             *d;
    char             dir[PATH_MAX], full[PATH_MAX], real[PATH_MAX];
    char             sub[PATH_MAX], id[96], key[PATH_MAX + 16];
    size_t           i;
    json_t          *subs, *v;
    const char      *root, *old;
    struct stat      st;
    struct dirent   *de;
    cachectl_sync_t *s;

    s = w->s;
    root = s->roots[w->root];

    if (w->stop) {
        return;
    }

    if (depth > CACHECTL_DEPTH_MAX) {
        cachectl_walk_fail(w, "%s/%s: deeper than %d directories", root,
                           rel, CACHECTL_DEPTH_MAX);
        return;
    }

    if (snprintf(dir, sizeof(dir), "%s%s%s", root, *rel ? "/" : "", rel)
        >= (int) sizeof(dir))
    {
        cachectl_walk_fail(w, "%s/%s: path too long", root, rel);
        return;
    }

    d = opendir(dir);
    if (d == NULL) {
        if ((errno == ENOENT || errno == ENOTDIR) && *rel) {
            return;     /* gone (or a file now) since its parent was read */
        }

        cachectl_walk_fail(w, "%s: %s", dir, strerror(errno));
        return;
    }

    fd = dirfd(d);

    if (fstat(fd, &st) != 0) {
        cachectl_walk_fail(w, "%s: %s", dir, strerror(errno));
        closedir(d);
        return;
    }

    if (cachectl_dir_visited(w->visited, &st)) {
        closedir(d);
        return;
    }

    cachectl_dir_id(&st, id, sizeof(id));
    snprintf(key, sizeof(key), "%d/%s", w->root, rel);
    json_object_set_new(s->dir_ids, key, json_string(id));

    subs = json_array();
    if (subs == NULL) {
        cachectl_walk_fail(w, "out of memory");
        closedir(d);
        return;
    }

    for ( ;; ) {
        errno = 0;
        de = readdir(d);

        if (de == NULL) {
            if (errno != 0) {
                cachectl_walk_fail(w, "%s: %s", dir, strerror(errno));
            }
            break;
        }

        if (cachectl_ignored(de->d_name)) {
            continue;
        }

        /* no key of the file table: skipped, said by the full walk */
        if (!cachectl_utf8_valid(de->d_name)) {
            if (w->bad_names++ == 0) {
                snprintf(w->bad_name, sizeof(w->bad_name), "%.120s/%.120s",
                         dir, de->d_name);
            }

            continue;
        }

        if (snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
                     de->d_name) >= (int) sizeof(sub)
            || snprintf(full, sizeof(full), "%s/%s", dir, de->d_name)
               >= (int) sizeof(full))
        {
            cachectl_walk_fail(w, "%s/%s: path too long", dir, de->d_name);
            continue;
        }

        if (fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno != ENOENT) {
                cachectl_walk_fail(w, "%s: %s", full, strerror(errno));
            }
            continue;
        }

        if (S_ISLNK(st.st_mode)) {
            /* a dangling link or a loop of links is not a page */
            if (stat(full, &st) != 0) {
                continue;
            }

            if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
                continue;
            }

            if (realpath(full, real) == NULL) {
                continue;
            }

            if (!cachectl_inside(root, real)) {
                if (w->links_out++ == 0) {
                    snprintf(w->link_out, sizeof(w->link_out),
                             "%.120s -> %.120s", full, real);
                }
                continue;
            }
        }

        if (S_ISDIR(st.st_mode)) {
            if (!w->full) {
                json_object_set_new(w->subdirs, sub, json_true());

                cachectl_dir_id(&st, id, sizeof(id));
                snprintf(key, sizeof(key), "%d/%s", w->root, sub);
                old = json_string_value(json_object_get(s->dir_ids, key));

                if (old != NULL && strcmp(old, id) == 0) {
                    continue;   /* its own events say what changed */
                }

                json_object_set_new(w->recurse, sub, json_true());
                continue;
            }

            json_array_append_new(subs, json_string(sub));

        } else if (S_ISREG(st.st_mode)) {
            cachectl_walk_file(w, sub, &st);

            if (w->stop) {
                break;
            }
        }
    }

    closedir(d);

    json_array_foreach(subs, i, v) {
        cachectl_walk_dir(w, json_string_value(v), depth + 1);
    }

    json_decref(subs);
}


/* the directories of the batch as (rel) directories of the roots */

static int
cachectl_sync_scope(cachectl_sync_t *s, json_t *dirs, json_t *scope)
{
    int          i, found;
    char        *real;
    size_t       n;
    json_t      *v;
    const char  *k, *base, *rel;

    json_object_foreach(dirs, k, v) {
        found = 0;
        real = NULL;

        for (i = 0; i < 2 * s->nroots && !found; i++) {
            base = i < s->nroots ? s->conf->views[i] : s->roots[i - s->nroots];
            n = strlen(base);

            while (n > 1 && base[n - 1] == '/') {
                n--;
            }

            if (strncmp(k, base, n) == 0 && (k[n] == '/' || k[n] == '\0')) {
                rel = k + n;
                rel += (*rel == '/');
                json_object_set_new(scope, rel, json_true());
                found = 1;
            }
        }

        if (found) {
            continue;
        }

        /*
         * Above a root: watched for a swapped "current" link, which
         * cachectl_sync_roots() sees (and walks everything); other
         * events there are not ours.
         */
        for (i = 0; i < s->nroots && !found; i++) {
            n = strlen(k);
            base = s->conf->views[i];
            found = strncmp(base, k, n) == 0 && base[n] == '/';
        }

        if (found) {
            continue;
        }

        /* the i18n and config directories */
        if (cachectl_same_dir(k, s->conf->app_config)
            || cachectl_same_dir(k, s->conf->site_config)
            || (s->conf->i18n && strcmp(k, s->conf->i18n) == 0))
        {
            continue;
        }

        real = realpath(k, NULL);

        for (i = 0; real != NULL && i < s->nroots; i++) {
            if (cachectl_inside(s->roots[i], real)) {
                rel = real + strlen(s->roots[i]);
                rel += (*rel == '/');
                json_object_set_new(scope, rel, json_true());
                found = 1;
                break;
            }
        }

        free(real);

        if (!found) {
            return -1;      /* e.g. above a root: walk everything */
        }
    }

    return 0;
}


/*
 * Is path (a tracked file) in what a partial walk covered: directly in a
 * walked directory, in a subtree walked whole, or in a subdirectory that
 * no root has any more?
 */

int
cachectl_in_scope(cachectl_walk_t *w, json_t *scope, const char *path)
{
    char         sub[PATH_MAX];
    size_t       n;
    json_t      *v;
    const char  *r, *rest, *slash;

    json_object_foreach(scope, r, v) {
        n = strlen(r);

        if (n == 0) {
            rest = path;

        } else if (strncmp(path, r, n) == 0 && path[n] == '/') {
            rest = path + n + 1;

        } else {
            continue;
        }

        slash = strchr(rest, '/');

        if (slash == NULL) {
            return 1;
        }

        if ((size_t) (slash - path) >= sizeof(sub)) {
            continue;
        }

        memcpy(sub, path, slash - path);
        sub[slash - path] = '\0';

        if (json_object_get(w->recurse, sub) != NULL
            || json_object_get(w->subdirs, sub) == NULL)
        {
            return 1;
        }
    }

    return 0;
}


int
cachectl_sync_walk(cachectl_sync_t *s, cachectl_walk_t *w, json_t *dirs)
{
    int          i, depth;
    char         dir[PATH_MAX], real[PATH_MAX];
    json_t      *scope, *v;
    const char  *rel, *p;

    scope = w->full ? NULL : json_object();

    if (!w->full && (scope == NULL || cachectl_sync_scope(s, dirs, scope)))
    {
        json_decref(scope);
        scope = NULL;
        w->full = 1;
    }

    w->scope = scope;

    if (w->full) {
        json_object_clear(s->dir_ids);
    }

    for (i = 0; i < s->nroots; i++) {
        w->root = i;
        w->visited = json_object();

        if (w->visited == NULL) {
            return -1;
        }

        if (w->full) {
            cachectl_walk_dir(w, "", 0);

        } else {
            json_object_foreach(scope, rel, v) {
                /* the same directory of another root: inside it? */
                if (*rel) {
                    snprintf(dir, sizeof(dir), "%s/%s", s->roots[i], rel);

                    if (realpath(dir, real) == NULL) {
                        if (errno != ENOENT && errno != ENOTDIR) {
                            cachectl_walk_fail(w, "%s: %s", dir,
                                               strerror(errno));
                        }
                        continue;
                    }

                    if (!cachectl_inside(s->roots[i], real)) {
                        continue;
                    }
                }

                for (depth = 0, p = rel; *p; p++) {
                    depth += (*p == '/');
                }

                cachectl_walk_dir(w, rel, depth + (*rel != '\0'));
            }
        }

        json_decref(w->visited);
        w->visited = NULL;
    }

    if (w->full) {
        return 0;
    }

    /* the new subdirectories, whole, in every root in order */
    w->full = 1;

    for (i = 0; i < s->nroots; i++) {
        w->root = i;
        w->visited = json_object();

        if (w->visited == NULL) {
            return -1;
        }

        json_object_foreach(w->recurse, rel, v) {
            for (depth = 1, p = rel; *p; p++) {
                depth += (*p == '/');
            }

            cachectl_walk_dir(w, rel, depth);
        }

        json_decref(w->visited);
        w->visited = NULL;
    }

    w->full = 0;

    return 0;
}
