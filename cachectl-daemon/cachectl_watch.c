/*
 * cachectl's inotify watches (see cachectl_watch.h).
 *
 * A watch entry knows its directory, whether it is part of a tree (every
 * event there matters) and, for a directory above a root or holding a
 * config file or the deploy marker, the few names in it that matter:
 * anything else there (a log file, a release being unpacked beside
 * "current") is no event at all.
 */

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cachectl_log.h"
#include "cachectl_watch.h"


#define CACHECTL_WATCH_MASK                                                  \
    (IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM      \
     | IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF)

/* what a name in a watched directory is to us */
#define CACHECTL_WATCH_ANC     1    /* a root or a symlink on the way to one */
#define CACHECTL_WATCH_FILE    2    /* a config file */
#define CACHECTL_WATCH_MARKER  4    /* the deploy marker */

#define CACHECTL_WATCH_DEPTH   32
#define CACHECTL_WATCH_LIMIT   1048576  /* entries, whatever the kernel */


static int cachectl_watch_add(cachectl_watch_t *w, const char *dir,
    int tree, const char *name, int kind, json_t *dirs);
static void cachectl_watch_tree(cachectl_watch_t *w, const char *dir,
    int depth, json_t *dirs);
static void cachectl_watch_path(cachectl_watch_t *w, const char *path,
    int kind);
static void cachectl_watch_check(cachectl_watch_t *w);


int
cachectl_watch_init(cachectl_watch_t *w)
{
    char         *env, link[PATH_MAX], *slash;
    ssize_t       n;
    struct stat   st, dst;

    memset(w, 0, sizeof(cachectl_watch_t));

    w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    w->wds = json_object();

    if (w->fd == -1 || w->wds == NULL) {
        return -1;
    }

    /*
     * For the suites only: running out of inotify watches for real means
     * lowering fs.inotify.max_user_watches, which is the whole host's.
     */
    env = getenv("CACHECTL_TEST_MAX_WATCHES");
    if (env != NULL) {
        w->max = strtol(env, NULL, 10);
    }

    /*
     * stderr redirected to a file in a watched directory: every log line
     * would be an event, and the batch it starts would log again.
     */
    if (fstat(STDERR_FILENO, &st) != 0 || !S_ISREG(st.st_mode)) {
        return 0;
    }

    n = readlink("/proc/self/fd/2", link, sizeof(link) - 1);
    if (n <= 0) {
        return 0;
    }

    link[n] = '\0';
    slash = strrchr(link, '/');

    if (slash == NULL || slash[1] == '\0'
        || snprintf(w->log_name, sizeof(w->log_name), "%s", slash + 1)
           >= (int) sizeof(w->log_name))
    {
        return 0;
    }

    if (slash == link) {
        slash++;
    }

    *slash = '\0';

    if (stat(link, &dst) == 0) {
        w->log_set = 1;
        w->log_dir_dev = dst.st_dev;
        w->log_dir_ino = dst.st_ino;
    }

    return 0;
}


void
cachectl_watch_free(cachectl_watch_t *w)
{
    json_decref(w->wds);
    w->wds = NULL;

    if (w->fd != -1) {
        close(w->fd);
        w->fd = -1;
    }
}


void
cachectl_watch_all(cachectl_watch_t *w, cachectl_conf_t *conf)
{
    int          i;
    char        *real;
    void        *tmp;
    json_t      *v;
    const char  *k;

    w->gen++;
    w->unwatched = 0;
    w->unwatched_first[0] = '\0';

    for (i = 0; i < conf->nviews; i++) {
        cachectl_watch_path(w, conf->views[i], CACHECTL_WATCH_ANC);

        /* real paths: the publisher's roots are, and so the keys of dirs */
        real = realpath(conf->views[i], NULL);

        if (real != NULL) {
            cachectl_watch_tree(w, real, 0, NULL);
            free(real);
        }
    }

    if (conf->i18n) {
        cachectl_watch_path(w, conf->i18n, CACHECTL_WATCH_ANC);

        /* as given: the publisher knows its i18n directory by that name */
        (void) cachectl_watch_add(w, conf->i18n, 1, NULL, 0, NULL);
    }

    if (conf->app_config) {
        cachectl_watch_path(w, conf->app_config, CACHECTL_WATCH_FILE);
    }

    if (conf->site_config) {
        cachectl_watch_path(w, conf->site_config, CACHECTL_WATCH_FILE);
    }

    if (conf->deploy_marker) {
        cachectl_watch_path(w, conf->deploy_marker, CACHECTL_WATCH_MARKER);
    }

    json_object_foreach_safe(w->wds, tmp, k, v) {
        if ((unsigned) json_integer_value(json_object_get(v, "gen"))
            != w->gen)
        {
            inotify_rm_watch(w->fd, atoi(k));
            json_object_del(w->wds, k);
        }
    }

    cachectl_watch_check(w);
}


void
cachectl_watch_read(cachectl_watch_t *w, cachectl_watch_ev_t *ev)
{
    int                          kind;
    char                         key[16], path[PATH_MAX];
    char                         buf[16384]
                                 __attribute__((aligned(__alignof__(
                                     struct inotify_event))));
    ssize_t                      n;
    json_t                      *ent;
    const char                  *dir, *name;
    const struct inotify_event  *e;

    for ( ;; ) {
        n = read(w->fd, buf, sizeof(buf));

        if (n <= 0) {
            break;
        }

        for (e = (const struct inotify_event *) buf;
             (const char *) e < buf + n;
             e = (const struct inotify_event *) ((const char *) e
                 + sizeof(struct inotify_event) + e->len))
        {
            if (e->mask & IN_Q_OVERFLOW) {
                ev->overflow = 1;
                ev->full = 1;
                continue;
            }

            snprintf(key, sizeof(key), "%d", e->wd);
            ent = json_object_get(w->wds, key);

            if (ent == NULL) {
                continue;
            }

            /* the directory went (or we dropped it): the kernel did too */
            if (e->mask & IN_IGNORED) {
                json_object_del(w->wds, key);
                continue;
            }

            name = e->len ? e->name : "";

            if (*name && w->log_set
                && json_is_true(json_object_get(ent, "log"))
                && strcmp(name, w->log_name) == 0)
            {
                continue;
            }

            dir = json_string_value(json_object_get(ent, "dir"));
            kind = *name ? (int) json_integer_value(json_object_get(
                               json_object_get(ent, "names"), name))
                         : 0;

            if (dir == NULL) {
                continue;
            }

            if (kind & CACHECTL_WATCH_ANC) {
                ev->full = 1;
                ev->events++;
            }

            if (kind & CACHECTL_WATCH_FILE) {
                json_object_set_new(ev->dirs, dir, json_true());
                ev->events++;
            }

            if (kind & CACHECTL_WATCH_MARKER) {
                ev->marker = 1;
            }

            /* a directory's own end: its parent says so */
            if (!json_is_true(json_object_get(ent, "tree"))
                || (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF)))
            {
                continue;
            }

            json_object_set_new(ev->dirs, dir, json_true());
            ev->events++;

            if (!(e->mask & IN_ISDIR) || *name == '\0' || *name == '.'
                || snprintf(path, sizeof(path), "%s/%s", dir, name)
                   >= (int) sizeof(path))
            {
                continue;
            }

            if (e->mask & (IN_CREATE | IN_MOVED_TO)) {
                /*
                 * Watched at once: a copy into it goes on after its
                 * creation, and must keep the batch open. Every directory
                 * of it is new to the publisher too.
                 */
                cachectl_watch_tree(w, path, 0, ev->dirs);

            } else if (e->mask & (IN_DELETE | IN_MOVED_FROM)) {
                /* what was published below it is gone */
                json_object_set_new(ev->dirs, path, json_true());

                /* a moved directory's watches keep their old paths */
                if (e->mask & IN_MOVED_FROM) {
                    ev->full = 1;
                }
            }
        }
    }

    cachectl_watch_check(w);
}


json_t *
cachectl_watch_status(cachectl_watch_t *w)
{
    return json_pack("{s:I, s:I, s:b}",
                     "watched", (json_int_t) json_object_size(w->wds),
                     "unwatched", (json_int_t) w->unwatched,
                     "degraded", w->degraded);
}


/* 0, or -1 when dir has no watch (counted when it exists) */

static int
cachectl_watch_add(cachectl_watch_t *w, const char *dir, int tree,
    const char *name, int kind, json_t *dirs)
{
    int           wd;
    char          key[16];
    long          max;
    json_t       *ent, *names;
    struct stat   st;

    wd = inotify_add_watch(w->fd, dir, CACHECTL_WATCH_MASK);

    snprintf(key, sizeof(key), "%d", wd);
    max = w->max ? w->max : CACHECTL_WATCH_LIMIT;

    if (wd != -1 && json_object_get(w->wds, key) == NULL
        && (long) json_object_size(w->wds) >= max)
    {
        inotify_rm_watch(w->fd, wd);
        wd = -1;
        errno = ENOSPC;
    }

    if (wd == -1) {
        if (errno != ENOENT && errno != ENOTDIR) {
            if (w->unwatched++ == 0) {
                w->unwatched_errno = errno;
                snprintf(w->unwatched_first, sizeof(w->unwatched_first),
                         "%s", dir);
            }
        }

        return -1;
    }

    ent = json_object_get(w->wds, key);

    if (ent == NULL
        || (unsigned) json_integer_value(json_object_get(ent, "gen"))
           != w->gen)
    {
        /* a tree of 100,000 directories: the least per entry */
        ent = json_pack("{s:s, s:I}", "dir", dir, "gen", (json_int_t) w->gen);

        if (ent == NULL || json_object_set_new(w->wds, key, ent) != 0) {
            inotify_rm_watch(w->fd, wd);
            return -1;
        }

        if (w->log_set && stat(dir, &st) == 0 && st.st_dev == w->log_dir_dev
            && st.st_ino == w->log_dir_ino)
        {
            json_object_set_new(ent, "log", json_true());
        }
    }

    if (tree) {
        /* a tree's path wins: events there become the publisher's keys */
        json_object_set_new(ent, "dir", json_string(dir));
        json_object_set_new(ent, "tree", json_true());

        if (dirs != NULL) {
            json_object_set_new(dirs, dir, json_true());
        }
    }

    if (name != NULL && *name) {
        names = json_object_get(ent, "names");

        if (names == NULL) {
            names = json_object();

            if (json_object_set_new(ent, "names", names) != 0) {
                return -1;
            }
        }

        json_object_set_new(names, name, json_integer(
            json_integer_value(json_object_get(names, name)) | kind));
    }

    return 0;
}


/*
 * Symlinks below a root are not followed: the publisher does not descend
 * outside a root's real path, and a link inside it leads to a directory
 * that this walk reaches under its real path anyway.
 */

static void
cachectl_watch_tree(cachectl_watch_t *w, const char *dir, int depth,
    json_t *dirs)
{
    int             isdir;
    DIR            *dh;
    char            sub[PATH_MAX];
    struct stat     st;
    struct dirent  *de;

    if (depth > CACHECTL_WATCH_DEPTH) {
        return;
    }

    /* without a watch still walked: the directories below count too */
    if (cachectl_watch_add(w, dir, 1, NULL, 0, dirs) != 0
        && errno != ENOSPC)
    {
        return;
    }

    dh = opendir(dir);
    if (dh == NULL) {
        return;
    }

    while ((de = readdir(dh)) != NULL) {
        if (de->d_name[0] == '.'
            || (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN))
        {
            continue;
        }

        if (snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name)
            >= (int) sizeof(sub))
        {
            continue;
        }

        isdir = de->d_type == DT_DIR
                || (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode));

        if (isdir) {
            cachectl_watch_tree(w, sub, depth + 1, dirs);
        }
    }

    closedir(dh);
}


/*
 * The directories on the way to path that can swap it: the one holding
 * path itself (the root, a config file, the marker: kind), and the one
 * holding each symlink on the way (app/current/webapp/view: "current" in
 * app/, swapped by "ln -sfn" and "mv -T" at a release).
 */

static void
cachectl_watch_path(cachectl_watch_t *w, const char *path, int kind)
{
    int          end;
    char         abs[PATH_MAX], cwd[PATH_MAX], *p, *last, save;
    size_t       n;
    struct stat  st;

    if (path[0] == '/') {
        n = snprintf(abs, sizeof(abs), "%s", path);

    } else if (getcwd(cwd, sizeof(cwd)) != NULL) {
        n = snprintf(abs, sizeof(abs), "%s/%s", cwd, path);

    } else {
        return;
    }

    if (n >= sizeof(abs)) {
        return;
    }

    while (n > 1 && abs[n - 1] == '/') {
        abs[--n] = '\0';
    }

    for (p = abs + 1; ; p++) {
        if (*p != '/' && *p != '\0') {
            continue;
        }

        end = (*p == '\0');
        save = *p;
        *p = '\0';
        last = strrchr(abs, '/');

        if (last[1] != '\0'
            && (end || (lstat(abs, &st) == 0 && S_ISLNK(st.st_mode))))
        {
            *last = '\0';
            (void) cachectl_watch_add(w, last == abs ? "/" : abs, 0, last + 1,
                                      end ? kind : CACHECTL_WATCH_ANC, NULL);
            *last = '/';
        }

        *p = save;

        if (end) {
            break;
        }
    }
}


/* said once as it starts and once as it ends, whatever happens between */

static void
cachectl_watch_check(cachectl_watch_t *w)
{
    if (w->unwatched && !w->degraded) {
        w->degraded = 1;

        cachectl_log(CACHECTL_WARN, "watch: %u director%s not watched, "
                     "the first \"%s\": %s%s; degraded: shorter rescans "
                     "find their changes", w->unwatched,
                     w->unwatched == 1 ? "y" : "ies", w->unwatched_first,
                     strerror(w->unwatched_errno),
                     w->unwatched_errno == ENOSPC
                     ? " (raise fs.inotify.max_user_watches)" : "");

    } else if (w->unwatched == 0 && w->degraded) {
        w->degraded = 0;
        cachectl_log(CACHECTL_INFO, "watch: every directory is watched "
                     "again");
    }
}
