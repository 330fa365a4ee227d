/*
 * Publishing to Redis (see cachectl_sync.h).
 *
 * A batch walks the directories that saw events (all of them at start,
 * after a reconnect, at a rescan or after a queue overflow) instead of
 * trusting the events themselves: inotify says "something moved", the
 * walk says what. A file is read again only when its stamp (inode, size,
 * mtime, which root) moved, and written only when its content hash
 * differs from what Redis holds, so a rescan of an unchanged tree costs
 * one fstatat() per file, and a batch of one edit a walk of one
 * directory.
 *
 * What is not seen is deleted only when the walk saw everything it
 * should have (no error, no link out of the root, under the file limit)
 * and the share of the tree it deletes is under --max-delete-share:
 * otherwise the deletions are held (status says why) and the rest goes
 * out. Writes are sent in transactions of at most --batch-bytes; the
 * generation counters move once, with the last one.
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
#include <time.h>
#include <unistd.h>

#include "jp_identity.h"
#include "jp_tpl.h"
#include "cachectl_file.h"
#include "cachectl_lease.h"
#include "cachectl_log.h"
#include "cachectl_redis.h"
#include "cachectl_sync.h"


#define CACHECTL_DEPTH_MAX    32
#define CACHECTL_FILES_MAX    100000
#define CACHECTL_EVENT_PATHS  100
#define CACHECTL_EXISTS_STEP  1000

#define CACHECTL_HOLD_NONE    0
#define CACHECTL_HOLD_WALK    1
#define CACHECTL_HOLD_SHARE   2


typedef struct {
    uint64_t     stamp;         /* of what Redis holds (0: read again) */
    int64_t      mtime;
    char         etag[20];      /* what Redis holds; "" for nothing */
    uint64_t     refused;       /* the stamp that did not compile */
    char        *error;
    int          held;          /* its deletion is held */
    int          indexed;       /* in the index Redis holds */

    /* what the walk of this batch saw */
    unsigned     walk;          /* the walk that saw it, or older */
    int          root;          /* the last root that added to h */
    unsigned     nfound;
    uint64_t     h;
    int64_t      newest;
} cachectl_file_t;


#define CACHECTL_P_VIEW      0
#define CACHECTL_P_VIEW_DEL  1
#define CACHECTL_P_CFG       2
#define CACHECTL_P_I18N      3
#define CACHECTL_P_I18N_DEL  4

/* a write that counts only once EXEC applied it */
typedef struct {
    int               type;
    cachectl_file_t  *file;
    char              etag[20];
    uint64_t          stamp;
    int64_t           mtime;
    char             *name;     /* view path or language (malloc()ed) */
    char             *dst;      /* config: the etag it sets */
    int               first;    /* its commands in the transaction */
    int               n;
} cachectl_pending_t;


typedef struct {
    cachectl_sync_t     *s;
    redisContext        *c;
    cachectl_batch_t    *batch;
    int                  dry;
    int                  multi;     /* MULTI sent */
    int                  queued;    /* commands after MULTI */
    size_t               bytes;     /* their payload */
    int                  kinds;     /* bit per kind in this transaction */
    int                  all;       /* bit per kind in the batch */
    cachectl_pending_t  *pending;
    size_t               npending;
    size_t               cap;
    json_t              *paths[3];  /* per kind, for the events */
    int                  refused;   /* an error reply: the first in err */
    int                  aborted;   /* a transaction discarded whole */
    char                *err;
    size_t               size;
} cachectl_tx_t;


typedef struct {
    cachectl_sync_t     *s;
    int                  root;
    json_t              *visited;   /* per root: "dev:ino" */
    json_t              *subdirs;   /* partial: rel dirs seen now */
    json_t              *recurse;   /* partial: rel dirs to walk whole */
    json_t              *scope;     /* partial: the rel dirs of events */
    int                  full;
    int                  stop;
    unsigned             found;
    unsigned             links_out;
    char                 link_out[256];     /* the first one */
    unsigned             bad_names;
    char                 bad_name[256];     /* the first one */
    int                  failed;
    char                 reason[256];
} cachectl_walk_t;


static const char  *cachectl_kinds[] = { "view", "config", "i18n" };

#define CACHECTL_VIEW    0
#define CACHECTL_CONFIG  1
#define CACHECTL_I18N    2

static const char  *cachectl_raw_default[] = {
    "json", "gif", "ico", "jpg", "jpeg", "png", "webp", NULL
};


static int cachectl_sync_load(cachectl_sync_t *s, redisContext *c,
    char *err, size_t size);
static int cachectl_sync_exists(cachectl_sync_t *s, redisContext *c,
    redisReply *index, char *err, size_t size);
static int cachectl_sync_roots(cachectl_sync_t *s);
static void cachectl_walk_dir(cachectl_walk_t *w, const char *rel,
    int depth);
static void cachectl_walk_fail(cachectl_walk_t *w, const char *fmt, ...);
static int cachectl_sync_views(cachectl_sync_t *s, cachectl_tx_t *tx,
    json_t *dirs);
static int cachectl_sync_i18n(cachectl_sync_t *s, cachectl_tx_t *tx);
static int cachectl_sync_config(cachectl_sync_t *s, cachectl_tx_t *tx,
    const char *file, const char *key, char *etag, char *bad);
static void cachectl_sync_state(cachectl_sync_t *s, int walk_ok,
    const char *walk_reason, int hold, unsigned held, const char *why);
static int cachectl_tx_cmd(cachectl_tx_t *tx, int kind, int argc,
    const char **argv, const size_t *argvlen);
static int cachectl_tx_set(cachectl_tx_t *tx, int kind, const char *key,
    const char *value, size_t len);
static int cachectl_tx_del(cachectl_tx_t *tx, int kind, const char *key);
static int cachectl_tx_pending(cachectl_tx_t *tx, int type,
    cachectl_file_t *f, const char *etag, const char *name, int first);
static int cachectl_tx_flush(cachectl_tx_t *tx, int last);
static int cachectl_tx_fence(cachectl_tx_t *tx);
static void cachectl_tx_path(cachectl_tx_t *tx, int kind, const char *path);
static void cachectl_change(cachectl_batch_t *batch, const char *op,
    int kind, const char *path);
static int cachectl_is_raw(cachectl_sync_t *s, const char *path);


int64_t
cachectl_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


int64_t
cachectl_mono_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


void
cachectl_etag(const char *p, size_t len, char out[20])
{
    uint64_t  h;

    h = 0xcbf29ce484222325ULL;

    while (len--) {
        h ^= (unsigned char) *p++;
        h *= 0x100000001b3ULL;
    }

    snprintf(out, 20, "%016llx", (unsigned long long) h);
}


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


static cachectl_file_t *
cachectl_file_get(json_t *files, const char *path)
{
    json_t  *j;

    j = json_object_get(files, path);

    return j ? (cachectl_file_t *) (intptr_t) json_integer_value(j) : NULL;
}


static cachectl_file_t *
cachectl_file_add(json_t *files, const char *path)
{
    cachectl_file_t  *f;

    f = calloc(1, sizeof(cachectl_file_t));
    if (f == NULL) {
        return NULL;
    }

    f->root = -1;

    if (json_object_set_new(files, path,
                            json_integer((json_int_t) (intptr_t) f)) != 0)
    {
        free(f);
        return NULL;
    }

    return f;
}


static void
cachectl_file_drop(json_t *files, const char *path)
{
    cachectl_file_t  *f;

    f = cachectl_file_get(files, path);

    if (f != NULL) {
        free(f->error);
        free(f);
        json_object_del(files, path);
    }
}


static void
cachectl_files_clear(json_t *files)
{
    void        *tmp;
    json_t      *v;
    const char  *k;

    json_object_foreach_safe(files, tmp, k, v) {
        cachectl_file_drop(files, k);
    }
}


int
cachectl_sync_init(cachectl_sync_t *s, cachectl_conf_t *conf)
{
    char  *env, *end;
    long   n;

    memset(s, 0, sizeof(cachectl_sync_t));

    s->conf = conf;
    s->files = json_object();
    s->i18n = json_object();
    s->i18n_bad = json_object();
    s->dir_ids = json_object();
    s->refused = json_array();
    s->walk_ok = 1;
    s->files_max = CACHECTL_FILES_MAX;

    /* the tests reach the limit without writing 100,000 files */
    env = getenv("CACHECTL_TEST_FILES_MAX");

    if (env != NULL) {
        n = strtol(env, &end, 10);
        if (*end == '\0' && n > 0 && n < CACHECTL_FILES_MAX) {
            s->files_max = n;
        }
    }

    if (s->files == NULL || s->i18n == NULL || s->i18n_bad == NULL
        || s->dir_ids == NULL || s->refused == NULL)
    {
        cachectl_sync_free(s);
        return -1;
    }

    return 0;
}


void
cachectl_sync_free(cachectl_sync_t *s)
{
    int  i;

    if (s->files) {
        cachectl_files_clear(s->files);
    }

    json_decref(s->files);
    json_decref(s->i18n);
    json_decref(s->i18n_bad);
    json_decref(s->dir_ids);
    json_decref(s->refused);
    json_decref(s->raw_exts);
    jp_tpl_disk_destroy(s->disk);

    for (i = 0; i < s->nroots; i++) {
        free(s->roots[i]);
    }

    free(s->roots);
    memset(s, 0, sizeof(cachectl_sync_t));
}


void
cachectl_sync_reset(cachectl_sync_t *s)
{
    /*
     * The stamps and etags stay: the next batch reads what Redis holds
     * and compares (cachectl_sync_load), so that a reconnect re-reads
     * only the files Redis lost or holds differently, not the tree.
     */
    s->loaded = 0;
}


/*
 * What Redis holds now: the index (and whether each tpl: key it names
 * still exists), the config and the translations. A file that Redis
 * lost or holds in another version is marked to be read and written
 * again: keys deleted behind our back are repaired by the next full
 * walk, and a second writer's changes are undone.
 */

static int
cachectl_sync_load(cachectl_sync_t *s, redisContext *c, char *err,
    size_t size)
{
    int                rc;
    char              *colon, cursor[32], key[CACHECTL_NS_MAX + 64];
    char               etag[20];
    size_t             i;
    json_t            *v;
    const char        *path;
    redisReply        *r, *k;
    cachectl_file_t   *f;

    r = cachectl_redis_cmd(c, err, size, "HGETALL %stplindex", s->conf->ns);
    if (r == NULL) {
        return CACHECTL_SYNC_LOST;
    }

    if (r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, size, "HGETALL %stplindex: %s", s->conf->ns,
                 r->type == REDIS_REPLY_ERROR ? r->str : "not a hash");
        freeReplyObject(r);
        return CACHECTL_SYNC_REFUSED;
    }

    json_object_foreach(s->files, path, v) {
        f = (cachectl_file_t *) (intptr_t) json_integer_value(v);
        f->indexed = 0;
    }

    for (i = 0; i + 1 < r->elements; i += 2) {
        /*
         * Anyone may write here: a name that is not UTF-8 (or holds a NUL)
         * is no file we publish, and no key of the file table.
         */
        if (r->element[i]->type != REDIS_REPLY_STRING
            || r->element[i + 1]->type != REDIS_REPLY_STRING
            || strlen(r->element[i]->str) != r->element[i]->len
            || !cachectl_utf8_valid(r->element[i]->str))
        {
            continue;
        }

        f = cachectl_file_get(s->files, r->element[i]->str);

        if (f == NULL) {
            f = cachectl_file_add(s->files, r->element[i]->str);
            if (f == NULL) {
                freeReplyObject(r);
                snprintf(err, size, "out of memory");
                return CACHECTL_SYNC_REFUSED;
            }
        }

        f->indexed = 1;
        colon = strchr(r->element[i + 1]->str, ':');
        colon = colon ? colon + 1 : "?";

        if (strcmp(f->etag, colon) != 0) {
            snprintf(f->etag, sizeof(f->etag), "%s", colon);
            f->stamp = 0;
        }
    }

    /* a field whose tpl: key is gone is as good as no field */
    rc = cachectl_sync_exists(s, c, r, err, size);
    freeReplyObject(r);

    if (rc != CACHECTL_SYNC_OK) {
        return rc;
    }

    json_object_foreach(s->files, path, v) {
        f = (cachectl_file_t *) (intptr_t) json_integer_value(v);

        if (!f->indexed && f->etag[0]) {
            f->etag[0] = '\0';
            f->stamp = 0;
        }
    }

    s->app_etag[0] = '\0';
    s->site_etag[0] = '\0';

    r = cachectl_redis_cmd(c, err, size, "MGET %scfg:app %scfg:site",
                           s->conf->ns, s->conf->ns);
    if (r == NULL) {
        return CACHECTL_SYNC_LOST;
    }

    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2) {
        if (r->element[0]->type == REDIS_REPLY_STRING) {
            cachectl_etag(r->element[0]->str, r->element[0]->len,
                          s->app_etag);
        }

        if (r->element[1]->type == REDIS_REPLY_STRING) {
            cachectl_etag(r->element[1]->str, r->element[1]->len,
                          s->site_etag);
        }
    }

    freeReplyObject(r);

    /* the translations: few keys, SCAN is fine */
    json_object_clear(s->i18n);
    snprintf(cursor, sizeof(cursor), "0");

    do {
        r = cachectl_redis_cmd(c, err, size, "SCAN %s MATCH %si18n:* "
                               "COUNT 1000", cursor, s->conf->ns);
        if (r == NULL) {
            return CACHECTL_SYNC_LOST;
        }

        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            snprintf(err, size, "SCAN: %s", r->type == REDIS_REPLY_ERROR
                                            ? r->str : "unexpected reply");
            freeReplyObject(r);
            return CACHECTL_SYNC_REFUSED;
        }

        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);

        for (i = 0; i < r->element[1]->elements; i++) {
            snprintf(key, sizeof(key), "%s", r->element[1]->element[i]->str);

            k = cachectl_redis_cmd(c, err, size, "GET %s", key);
            if (k == NULL) {
                freeReplyObject(r);
                return CACHECTL_SYNC_LOST;
            }

            etag[0] = '?';
            etag[1] = '\0';

            if (k->type == REDIS_REPLY_STRING) {
                cachectl_etag(k->str, k->len, etag);
            }

            freeReplyObject(k);

            json_object_set_new(s->i18n, key + strlen(s->conf->ns) + 5,
                                json_string(etag));
        }

        freeReplyObject(r);

    } while (strcmp(cursor, "0") != 0);

    s->loaded = 1;

    return CACHECTL_SYNC_OK;
}


/*
 * Does every tpl: key the index names exist? EXISTS of 1,000 keys at a
 * time answers with a count: only a step that comes short is asked again
 * key by key, so a healthy index of 100,000 fields costs 100 commands.
 */

static int
cachectl_sync_exists(cachectl_sync_t *s, redisContext *c, redisReply *index,
    char *err, size_t size)
{
    int               n, i, rc;
    char             *keys[CACHECTL_EXISTS_STEP];
    size_t            at, klen, len[CACHECTL_EXISTS_STEP + 1], onelen[2];
    long long         count;
    const char       *argv[CACHECTL_EXISTS_STEP + 1], *one[2];
    const char       *names[CACHECTL_EXISTS_STEP];
    redisReply       *r;
    cachectl_file_t  *f;

    rc = CACHECTL_SYNC_OK;
    at = 0;

    while (at + 1 < index->elements && rc == CACHECTL_SYNC_OK) {
        argv[0] = "EXISTS";
        len[0] = 6;

        for (n = 0; at + 1 < index->elements && n < CACHECTL_EXISTS_STEP;
             at += 2)
        {
            if (index->element[at]->type != REDIS_REPLY_STRING) {
                continue;
            }

            names[n] = index->element[at]->str;
            klen = strlen(s->conf->ns) + 4 + strlen(names[n]);

            keys[n] = malloc(klen + 1);
            if (keys[n] == NULL) {
                snprintf(err, size, "out of memory");
                rc = CACHECTL_SYNC_REFUSED;
                break;
            }

            snprintf(keys[n], klen + 1, "%stpl:%s", s->conf->ns, names[n]);
            argv[n + 1] = keys[n];
            len[n + 1] = klen;
            n++;
        }

        count = n;

        if (rc == CACHECTL_SYNC_OK && n > 0) {
            r = cachectl_redis_argv(c, err, size, n + 1, argv, len);

            if (r == NULL) {
                rc = CACHECTL_SYNC_LOST;

            } else if (r->type != REDIS_REPLY_INTEGER) {
                snprintf(err, size, "EXISTS: %s",
                         r->type == REDIS_REPLY_ERROR ? r->str : "?");
                rc = CACHECTL_SYNC_REFUSED;

            } else {
                count = r->integer;
            }

            if (r != NULL) {
                freeReplyObject(r);
            }
        }

        /* some are missing: which (written again as new) */
        for (i = 0; rc == CACHECTL_SYNC_OK && count < n && i < n; i++) {
            one[0] = "EXISTS";
            one[1] = keys[i];
            onelen[0] = 6;
            onelen[1] = len[i + 1];

            r = cachectl_redis_argv(c, err, size, 2, one, onelen);
            if (r == NULL) {
                rc = CACHECTL_SYNC_LOST;
                break;
            }

            f = cachectl_file_get(s->files, names[i]);

            if (f != NULL && r->type == REDIS_REPLY_INTEGER
                && r->integer == 0)
            {
                f->etag[0] = '\0';
                f->stamp = 0;
            }

            freeReplyObject(r);
        }

        while (n--) {
            free(keys[n]);
        }
    }

    return rc;
}


/* the roots as they resolve now: a swapped "current" symlink moves them */

static int
cachectl_sync_roots(cachectl_sync_t *s)
{
    int    i, same;
    char  *real[CACHECTL_VIEWS_MAX];

    same = (s->nroots == s->conf->nviews && s->disk != NULL);

    for (i = 0; i < s->conf->nviews; i++) {
        real[i] = realpath(s->conf->views[i], NULL);

        if (real[i] == NULL) {
            cachectl_log(CACHECTL_ERR, "views \"%s\": %s",
                         s->conf->views[i], strerror(errno));

            while (i--) {
                free(real[i]);
            }

            return -1;
        }

        if (same && strcmp(real[i], s->roots[i]) != 0) {
            same = 0;
        }
    }

    if (same) {
        for (i = 0; i < s->conf->nviews; i++) {
            free(real[i]);
        }

        return 0;
    }

    jp_tpl_disk_destroy(s->disk);

    for (i = 0; i < s->nroots; i++) {
        free(s->roots[i]);
    }

    free(s->roots);

    s->roots = calloc(s->conf->nviews ? s->conf->nviews : 1, sizeof(char *));
    s->nroots = 0;
    s->disk = NULL;

    if (s->roots == NULL) {
        for (i = 0; i < s->conf->nviews; i++) {
            free(real[i]);
        }
        return -1;
    }

    for (i = 0; i < s->conf->nviews; i++) {
        s->roots[i] = real[i];
    }

    s->nroots = s->conf->nviews;
    s->disk = jp_tpl_disk_create((const char *const *) s->roots,
                                 s->nroots);

    if (s->disk == NULL) {
        return -1;
    }

    if (s->nroots) {
        cachectl_log(CACHECTL_INFO, "view roots: %s%s", s->roots[0],
                     s->nroots > 1 ? " ..." : "");
    }

    /* the directories seen belong to the old roots */
    json_object_clear(s->dir_ids);

    return 1;
}


/* what editors, rsync and git leave behind for a moment */

static int
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


int
cachectl_sync_dirs(cachectl_sync_t *s, cachectl_dir_pt cb, void *arg)
{
    int    i;
    char  *slash, parent[PATH_MAX];

    for (i = 0; i < s->conf->nviews; i++) {
        /* the parent sees a "current" symlink being swapped */
        snprintf(parent, sizeof(parent), "%s", s->conf->views[i]);
        slash = strrchr(parent, '/');

        if (slash != NULL && slash != parent) {
            *slash = '\0';
            cb(arg, parent);
        }

        cb(arg, s->conf->views[i]);
    }

    if (s->conf->i18n) {
        cb(arg, s->conf->i18n);
    }

    if (s->conf->app_config) {
        snprintf(parent, sizeof(parent), "%s", s->conf->app_config);
        slash = strrchr(parent, '/');
        cb(arg, slash ? (slash == parent ? "/" : (*slash = '\0', parent))
                      : ".");
    }

    if (s->conf->site_config) {
        snprintf(parent, sizeof(parent), "%s", s->conf->site_config);
        slash = strrchr(parent, '/');
        cb(arg, slash ? (slash == parent ? "/" : (*slash = '\0', parent))
                      : ".");
    }

    return 0;
}


/* dir (as given, or its real path) is file's directory */

static int
cachectl_same_dir(const char *dir, const char *file)
{
    int          same;
    char         parent[PATH_MAX], *slash, *a, *b;

    if (file == NULL) {
        return 0;
    }

    snprintf(parent, sizeof(parent), "%s", file);
    slash = strrchr(parent, '/');

    if (slash == NULL) {
        snprintf(parent, sizeof(parent), ".");

    } else {
        slash[slash == parent] = '\0';
    }

    if (strcmp(parent, dir) == 0) {
        return 1;
    }

    a = realpath(parent, NULL);
    b = realpath(dir, NULL);
    same = a != NULL && b != NULL && strcmp(a, b) == 0;
    free(a);
    free(b);

    return same;
}


/* the batch touches dir (the i18n directory itself, or a config's) */

static int
cachectl_dirs_name(json_t *dirs, const char *file, int parent)
{
    char         *a, *b;
    json_t       *v;
    const char   *k;

    if (dirs == NULL) {
        return 1;
    }

    if (file == NULL) {
        return 0;
    }

    json_object_foreach(dirs, k, v) {
        if (parent) {
            if (cachectl_same_dir(k, file)) {
                return 1;
            }

            continue;
        }

        if (strcmp(k, file) == 0) {
            return 1;
        }

        a = realpath(k, NULL);
        b = realpath(file, NULL);

        if (a != NULL && b != NULL && strcmp(a, b) == 0) {
            free(a);
            free(b);
            return 1;
        }

        free(a);
        free(b);
    }

    return 0;
}


int
cachectl_sync_run(cachectl_sync_t *s, redisContext *c, json_t *dirs,
    cachectl_batch_t *batch, char *err, size_t size)
{
    int               rc;
    json_t           *v, *e, *changes;
    const char       *k;
    cachectl_tx_t     tx;
    cachectl_file_t  *f;

    changes = batch->changes;
    memset(batch, 0, sizeof(cachectl_batch_t));
    batch->changes = changes;
    memset(&tx, 0, sizeof(cachectl_tx_t));
    err[0] = '\0';

    /* every full walk compares with what Redis holds, to repair it */
    if (!s->loaded || dirs == NULL) {
        rc = cachectl_sync_load(s, c, err, size);

        if (rc != CACHECTL_SYNC_OK) {
            s->loaded = 0;
            goto failed;
        }
    }

    tx.s = s;
    tx.c = c;
    tx.batch = batch;
    tx.dry = s->conf->dry_run;
    tx.err = err;
    tx.size = size;

    rc = 0;

    /* config first: it says which extensions are raw */
    if (s->conf->app_config
        && cachectl_dirs_name(dirs, s->conf->app_config, 1))
    {
        rc = cachectl_sync_config(s, &tx, s->conf->app_config, "app",
                                  s->app_etag, s->app_bad);
    }

    if (rc == 0 && s->conf->site_config
        && cachectl_dirs_name(dirs, s->conf->site_config, 1))
    {
        rc = cachectl_sync_config(s, &tx, s->conf->site_config, "site",
                                  s->site_etag, s->site_bad);
    }

    if (rc == 0 && s->conf->i18n && cachectl_dirs_name(dirs, s->conf->i18n, 0))
    {
        rc = cachectl_sync_i18n(s, &tx);
    }

    if (rc == 0) {
        rc = cachectl_sync_views(s, &tx, dirs);
    }

    if (rc == 0) {
        rc = cachectl_tx_flush(&tx, 1);
    }

    /* a refusal leaves the connection usable; anything else does not */
    if (rc != 0 || tx.refused) {
        rc = tx.refused ? CACHECTL_SYNC_REFUSED : CACHECTL_SYNC_LOST;
    }

    while (tx.npending) {
        free(tx.pending[--tx.npending].name);
    }

    free(tx.pending);
    json_decref(tx.paths[0]);
    json_decref(tx.paths[1]);
    json_decref(tx.paths[2]);

    /* the refused files, for status */
    json_array_clear(s->refused);

    json_object_foreach(s->files, k, v) {
        f = (cachectl_file_t *) (intptr_t) json_integer_value(v);

        if (f->error) {
            e = json_pack("{ss ss}", "path", k, "error", f->error);
            if (e) {
                json_array_append_new(s->refused, e);
            }
        }
    }

    if (rc == CACHECTL_SYNC_OK) {
        s->last_sync_ms = cachectl_now_ms();
        s->batches++;
        return rc;
    }

failed:

    if (err[0] == '\0') {
        snprintf(err, size, "out of memory");
    }

    snprintf(s->last_error, sizeof(s->last_error), "%s", err);
    s->last_error_ms = cachectl_now_ms();

    if (rc == CACHECTL_SYNC_LOST) {
        /* whatever Redis holds after a reconnect, read it again */
        s->loaded = 0;
    }

    return rc;
}


json_t *
cachectl_sync_status(cachectl_sync_t *s)
{
    json_t  *j;

    j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:O, s:s, s:I, s:I}",
                  "filesTracked", (json_int_t) json_object_size(s->files),
                  "batches", (json_int_t) s->batches,
                  "written", (json_int_t) s->written,
                  "deleted", (json_int_t) s->deleted,
                  "lastSync", (json_int_t) s->last_sync_ms,
                  "refused", s->refused,
                  "walk", s->walk_ok ? "complete" : "incomplete",
                  "held", (json_int_t) s->held,
                  "linksOut", (json_int_t) s->links_out);

    if (j == NULL) {
        return NULL;
    }

    if (!s->walk_ok) {
        json_object_set_new(j, "walkReason", json_string(s->walk_reason));
    }

    if (s->held) {
        json_object_set_new(j, "heldReason", json_string(s->held_reason));
    }

    if (s->last_error_ms) {
        json_object_set_new(j, "lastError", json_string(s->last_error));
        json_object_set_new(j, "lastErrorAt",
                            json_integer((json_int_t) s->last_error_ms));
    }

    if (s->conf->dry_run) {
        json_object_set_new(j, "dryRun", json_true());
    }

    return j;
}


/*
 * Logs the walk's and the deletion guard's state when it changes (not at
 * every batch), and keeps it for status.
 */

static void
cachectl_sync_state(cachectl_sync_t *s, int walk_ok, const char *walk_reason,
    int hold, unsigned held, const char *why)
{
    if (!walk_ok && s->walk_ok) {
        cachectl_log(CACHECTL_WARN, "views: walk incomplete (%s): "
                     "publishing additions and changes, no deletions",
                     walk_reason);

    } else if (walk_ok && !s->walk_ok) {
        cachectl_log(CACHECTL_INFO, "views: walk complete again");
    }

    s->walk_ok = walk_ok;

    if (walk_reason != s->walk_reason) {
        snprintf(s->walk_reason, sizeof(s->walk_reason), "%s",
                 walk_ok ? "" : walk_reason);
    }

    if (hold == CACHECTL_HOLD_SHARE && s->hold_state != hold) {
        cachectl_log(CACHECTL_WARN, "views: holding %u deletion(s): %s",
                     held, why);

    } else if (hold == CACHECTL_HOLD_NONE && s->hold_state != hold) {
        cachectl_log(CACHECTL_INFO, "views: deletions no longer held");
    }

    s->hold_state = hold;
    s->held = held;
    snprintf(s->held_reason, sizeof(s->held_reason), "%s", held ? why : "");
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

static int
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


static int
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


static int
cachectl_sync_views(cachectl_sync_t *s, cachectl_tx_t *tx, json_t *dirs)
{
    int               i, hold, first;
    char             *src, etag[20], index[48], mtime[24], key[PATH_MAX];
    char              why[256];
    void             *tmp;
    size_t            len, argvlen[8], k, ndel;
    json_t           *v, *dels;
    unsigned          flags, tracked, held;
    uint64_t          stamp;
    const char       *path, *argv[8];
    jp_tpl_error_t    terr;
    cachectl_walk_t   w;
    cachectl_file_t  *f;
    jp_tpl_program_t *prog;

    if (s->conf->nviews == 0) {
        return 0;
    }

    memset(&w, 0, sizeof(cachectl_walk_t));

    i = cachectl_sync_roots(s);

    if (i < 0) {
        /* a root is missing (mid-swap?): publish nothing, delete nothing */
        return 0;
    }

    w.s = s;
    w.full = (dirs == NULL || i == 1);
    w.subdirs = json_object();
    w.recurse = json_object();
    dels = json_array();

    if (w.subdirs == NULL || w.recurse == NULL || dels == NULL) {
        json_decref(w.subdirs);
        json_decref(w.recurse);
        json_decref(dels);
        snprintf(tx->err, tx->size, "out of memory");
        return -1;
    }

    s->walk_gen++;

    if (cachectl_sync_walk(s, &w, dirs) != 0) {
        snprintf(tx->err, tx->size, "out of memory");
        goto failed;
    }

    if (w.scope == NULL) {
        /* deliberate or not, say it once, not at every rescan */
        if (w.links_out != s->links_out && w.links_out) {
            cachectl_log(CACHECTL_WARN, "views: %u link(s) out of the "
                         "roots, not followed: %s%s", w.links_out,
                         w.link_out, w.links_out > 1 ? ", ..." : "");
        }

        s->links_out = w.links_out;

        if (w.bad_names != s->bad_names && w.bad_names) {
            cachectl_log(CACHECTL_WARN, "views: %u name(s) not UTF-8, not "
                         "published: %s%s", w.bad_names, w.bad_name,
                         w.bad_names > 1 ? ", ..." : "");
        }

        s->bad_names = w.bad_names;
    }

    tracked = 0;

    json_object_foreach_safe(s->files, tmp, path, v) {
        f = (cachectl_file_t *) (intptr_t) json_integer_value(v);

        tracked += (f->etag[0] != '\0');

        if (f->walk != s->walk_gen) {
            if (w.scope != NULL && !cachectl_in_scope(&w, w.scope, path)) {
                continue;       /* not walked: as it was */
            }

            if (f->etag[0] == '\0') {
                cachectl_file_drop(s->files, path);
                continue;
            }

            json_array_append_new(dels, json_string(path));
            continue;
        }

        f->held = 0;
        stamp = f->h;
        flags = jp_tpl_disk_is_append(path) ? JP_TPL_DISK_APPEND : 0;

        if (f->stamp == stamp && f->etag[0]) {
            tx->batch->unchanged++;
            continue;
        }

        if (f->refused == stamp && f->error) {
            continue;       /* still the broken version: said so once */
        }

        if (jp_tpl_disk_read_flags(s->disk, path, flags, &src, &len) != 0) {
            continue;       /* gone between walk and read: next batch */
        }

        if (!cachectl_is_raw(s, path)) {
            prog = jp_tpl_compile_include(src, len, path, NULL, &terr);

            if (prog == NULL) {
                free(f->error);
                f->error = malloc(JP_TPL_PATH_MAX + JP_TPL_ERRMSG_MAX + 32);
                if (f->error) {
                    snprintf(f->error, JP_TPL_PATH_MAX + JP_TPL_ERRMSG_MAX + 32,
                             "%s:%u:%u: %s", path, terr.line, terr.column,
                             terr.message);
                }

                f->refused = stamp;
                tx->batch->refused++;
                free(src);

                cachectl_log(CACHECTL_ERR, "refused %s:%u:%u: %s%s", path,
                             terr.line, terr.column, terr.message,
                             f->etag[0] ? " (the last good version stays)"
                                        : "");
                continue;
            }

            jp_tpl_free(prog);
        }

        free(f->error);
        f->error = NULL;
        f->refused = 0;

        cachectl_etag(src, len, etag);

        if (strcmp(etag, f->etag) == 0) {
            free(src);
            f->stamp = stamp;
            f->mtime = f->newest;
            tx->batch->unchanged++;
            continue;
        }

        snprintf(key, sizeof(key), "%stpl:%s", s->conf->ns, path);
        snprintf(mtime, sizeof(mtime), "%lld", (long long) f->newest);
        snprintf(index, sizeof(index), "%lld:%s", (long long) f->newest,
                 etag);

        argv[0] = "HSET";
        argv[1] = key;
        argv[2] = "source";
        argv[3] = src;
        argv[4] = "etag";
        argv[5] = etag;
        argv[6] = "mtime";
        argv[7] = mtime;

        for (i = 0; i < 8; i++) {
            argvlen[i] = i == 3 ? len : strlen(argv[i]);
        }

        first = tx->queued;

        if (cachectl_tx_cmd(tx, CACHECTL_VIEW, 8, argv, argvlen) != 0) {
            free(src);
            goto failed;
        }

        free(src);

        snprintf(key, sizeof(key), "%stplindex", s->conf->ns);
        argv[0] = "HSET";
        argv[1] = key;
        argv[2] = path;
        argv[3] = index;

        for (i = 0; i < 4; i++) {
            argvlen[i] = strlen(argv[i]);
        }

        if (cachectl_tx_cmd(tx, CACHECTL_VIEW, 4, argv, argvlen) != 0
            || cachectl_tx_pending(tx, CACHECTL_P_VIEW, f, etag, path,
                                   first) != 0)
        {
            goto failed;
        }

        tx->pending[tx->npending - 1].stamp = stamp;
        tx->pending[tx->npending - 1].mtime = f->newest;

        cachectl_tx_path(tx, CACHECTL_VIEW, path);
        cachectl_change(tx->batch, "write", CACHECTL_VIEW, path);
        tx->batch->views++;

        /* at most --batch-bytes in flight: send what is queued */
        if (tx->bytes >= (size_t) s->conf->batch_bytes
            && cachectl_tx_flush(tx, 0) != 0)
        {
            goto failed;
        }
    }

    /* files gone from every root leave Redis, unless that is suspect */
    ndel = json_array_size(dels);
    hold = CACHECTL_HOLD_NONE;
    why[0] = '\0';

    if (w.failed) {
        hold = CACHECTL_HOLD_WALK;
        snprintf(why, sizeof(why), "the walk was incomplete: %.200s",
                 w.reason);

    } else if (ndel && !s->conf->force && s->conf->max_delete_pct < 100
               && (s->conf->max_delete_pct == 0
                   || (ndel > 1
                       && ndel * 100 > (size_t) s->conf->max_delete_pct
                                       * tracked)))
    {
        hold = CACHECTL_HOLD_SHARE;

        if (s->conf->max_delete_pct == 0) {
            snprintf(why, sizeof(why), "%zu of the %u files Redis holds; "
                     "deleting takes --force", ndel, tracked);

        } else {
            snprintf(why, sizeof(why), "%zu of the %u files Redis holds, "
                     "more than --max-delete-share %ld%%; --force deletes "
                     "them", ndel, tracked, s->conf->max_delete_pct);
        }
    }

    tx->batch->held = hold != CACHECTL_HOLD_NONE ? (unsigned) ndel : 0;

    json_array_foreach(dels, k, v) {
        path = json_string_value(v);
        f = cachectl_file_get(s->files, path);

        if (hold != CACHECTL_HOLD_NONE) {
            f->held = !s->conf->dry_run;
            cachectl_change(tx->batch, "hold", CACHECTL_VIEW, path);
            continue;
        }

        snprintf(key, sizeof(key), "%stpl:%s", s->conf->ns, path);
        first = tx->queued;

        if (cachectl_tx_del(tx, CACHECTL_VIEW, key) != 0) {
            goto failed;
        }

        snprintf(key, sizeof(key), "%stplindex", s->conf->ns);
        argv[0] = "HDEL";
        argv[1] = key;
        argv[2] = path;
        argvlen[0] = 4;
        argvlen[1] = strlen(key);
        argvlen[2] = strlen(path);

        if (cachectl_tx_cmd(tx, CACHECTL_VIEW, 3, argv, argvlen) != 0
            || cachectl_tx_pending(tx, CACHECTL_P_VIEW_DEL, f, "", path,
                                   first) != 0)
        {
            goto failed;
        }

        cachectl_tx_path(tx, CACHECTL_VIEW, path);
        cachectl_change(tx->batch, "delete", CACHECTL_VIEW, path);
        tx->batch->views++;

        if (tx->bytes >= (size_t) s->conf->batch_bytes
            && cachectl_tx_flush(tx, 0) != 0)
        {
            goto failed;
        }
    }

    /*
     * What is held, from this batch or an earlier one whose files this
     * (partial) walk did not look at again.
     */
    held = 0;

    json_object_foreach(s->files, path, v) {
        f = (cachectl_file_t *) (intptr_t) json_integer_value(v);
        held += (f->held != 0);
    }

    if (s->conf->dry_run) {
        held += tx->batch->held;    /* as if it had run */
    }

    if (hold == CACHECTL_HOLD_NONE && held) {
        hold = s->hold_state;
        snprintf(why, sizeof(why), "%s", s->held_reason);
    }

    /*
     * A partial walk says what went wrong in it, but nothing of the rest:
     * only a full one says the tree is complete.
     */
    cachectl_sync_state(s, !w.failed && (w.scope == NULL || s->walk_ok),
                        w.failed ? w.reason : s->walk_reason, hold, held,
                        why);

    json_decref(w.subdirs);
    json_decref(w.recurse);
    json_decref(w.scope);
    json_decref(w.visited);
    json_decref(dels);

    return 0;

failed:

    json_decref(w.subdirs);
    json_decref(w.recurse);
    json_decref(w.scope);
    json_decref(w.visited);
    json_decref(dels);

    return -1;
}


static int
cachectl_sync_i18n(cachectl_sync_t *s, cachectl_tx_t *tx)
{
    int             failed;
    DIR            *d;
    char           *src, lang[32], etag[20], key[CACHECTL_NS_MAX + 48];
    char            file[PATH_MAX];
    void           *tmp;
    size_t          n, len;
    json_t         *seen, *j, *v;
    const char     *k;
    json_error_t    jerr;
    struct dirent  *de;

    d = opendir(s->conf->i18n);
    if (d == NULL) {
        cachectl_log(CACHECTL_ERR, "i18n \"%s\": %s", s->conf->i18n,
                     strerror(errno));
        return 0;
    }

    seen = json_object();
    if (seen == NULL) {
        closedir(d);
        snprintf(tx->err, tx->size, "out of memory");
        return -1;
    }

    failed = 0;

    for ( ;; ) {
        errno = 0;
        de = readdir(d);

        if (de == NULL) {
            failed = (errno != 0);
            break;
        }

        n = strlen(de->d_name);

        if (n <= 5 || n - 5 >= sizeof(lang) || cachectl_ignored(de->d_name)
            || strcmp(de->d_name + n - 5, ".json") != 0)
        {
            continue;
        }

        memcpy(lang, de->d_name, n - 5);
        lang[n - 5] = '\0';

        if (strspn(lang, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                         "0123456789-_") != n - 5)
        {
            continue;
        }

        json_object_set_new(seen, lang, json_true());

        snprintf(file, sizeof(file), "%s/%s", s->conf->i18n, de->d_name);

        src = cachectl_read_file_in(file, &len);
        if (src == NULL) {
            if (errno == EXDEV) {
                json_object_del(seen, lang);
                cachectl_log(CACHECTL_ERR, "refused %s: %s", file,
                             cachectl_file_error(errno));

            } else if (errno != ENOENT) {
                failed = 1;     /* keep what Redis has */
            }
            continue;
        }

        cachectl_etag(src, len, etag);

        v = json_object_get(s->i18n, lang);

        if (json_is_string(v) && strcmp(json_string_value(v), etag) == 0) {
            free(src);
            continue;
        }

        j = json_loadb(src, len, 0, &jerr);

        if (!json_is_object(j)) {
            v = json_object_get(s->i18n_bad, lang);

            /* the error, never the text: it may be anything */
            if (!json_is_string(v) || strcmp(json_string_value(v), etag)) {
                cachectl_log(CACHECTL_ERR, "refused %s:%d:%d: %s", file,
                             j ? 1 : jerr.line, j ? 1 : jerr.column,
                             j ? "not a JSON object"
                               : cachectl_json_error_kind(&jerr));
            }

            json_decref(j);
            free(src);
            tx->batch->refused++;
            json_object_set_new(s->i18n_bad, lang, json_string(etag));
            continue;
        }

        json_decref(j);
        json_object_del(s->i18n_bad, lang);

        snprintf(key, sizeof(key), "%si18n:%s", s->conf->ns, lang);

        if (cachectl_tx_pending(tx, CACHECTL_P_I18N, NULL, etag, lang,
                                tx->queued) != 0
            || cachectl_tx_set(tx, CACHECTL_I18N, key, src, len) != 0)
        {
            free(src);
            json_decref(seen);
            closedir(d);
            return -1;
        }

        free(src);
        cachectl_tx_path(tx, CACHECTL_I18N, lang);
        cachectl_change(tx->batch, "write", CACHECTL_I18N, lang);
        tx->batch->i18n++;
    }

    closedir(d);

    json_object_foreach_safe(s->i18n, tmp, k, v) {
        if (json_object_get(seen, k) != NULL) {
            continue;
        }

        if (failed) {
            cachectl_change(tx->batch, "hold", CACHECTL_I18N, k);
            continue;
        }

        snprintf(key, sizeof(key), "%si18n:%s", s->conf->ns, k);

        if (cachectl_tx_pending(tx, CACHECTL_P_I18N_DEL, NULL, "", k,
                                tx->queued) != 0
            || cachectl_tx_del(tx, CACHECTL_I18N, key) != 0)
        {
            json_decref(seen);
            return -1;
        }

        cachectl_tx_path(tx, CACHECTL_I18N, k);
        cachectl_change(tx->batch, "delete", CACHECTL_I18N, k);
        tx->batch->i18n++;
    }

    json_decref(seen);

    return 0;
}


static int
cachectl_sync_config(cachectl_sync_t *s, cachectl_tx_t *tx,
    const char *file, const char *name, char *etag, char *bad)
{
    char          *src, now[20], key[CACHECTL_NS_MAX + 16];
    size_t         len;
    json_t        *j, *raw;
    json_error_t   jerr;

    src = cachectl_read_file_in(file, &len);
    if (src == NULL) {
        cachectl_log(CACHECTL_ERR, "%s: %s; the config in Redis stays", file,
                     cachectl_file_error(errno));
        return 0;
    }

    cachectl_etag(src, len, now);

    if (strcmp(now, etag) == 0) {
        free(src);
        return 0;
    }

    j = json_loadb(src, len, 0, &jerr);

    if (!json_is_object(j)) {
        /* the error, never the text: a config holds passwords */
        if (strcmp(now, bad) != 0) {
            cachectl_log(CACHECTL_ERR, "refused %s:%d:%d: %s; the config in "
                         "Redis stays", file, j ? 1 : jerr.line,
                         j ? 1 : jerr.column,
                         j ? "not a JSON object"
                           : cachectl_json_error_kind(&jerr));
        }

        json_decref(j);
        free(src);
        memcpy(bad, now, 20);
        tx->batch->refused++;
        return 0;
    }

    bad[0] = '\0';

    if (strcmp(name, "app") == 0) {
        raw = json_object_get(json_object_get(json_object_get(j,
                  "controller"), "view"), "rawExtensions");
        json_decref(s->raw_exts);
        s->raw_exts = json_is_array(raw) ? json_incref(raw) : NULL;
    }

    json_decref(j);

    snprintf(key, sizeof(key), "%scfg:%s", s->conf->ns, name);

    if (cachectl_tx_pending(tx, CACHECTL_P_CFG, NULL, now, NULL,
                            tx->queued) != 0
        || cachectl_tx_set(tx, CACHECTL_CONFIG, key, src, len) != 0)
    {
        free(src);
        return -1;
    }

    free(src);
    tx->pending[tx->npending - 1].dst = etag;
    cachectl_tx_path(tx, CACHECTL_CONFIG, name);
    cachectl_change(tx->batch, "write", CACHECTL_CONFIG, name);
    tx->batch->config++;

    return 0;
}


static void
cachectl_change(cachectl_batch_t *batch, const char *op, int kind,
    const char *path)
{
    if (batch->changes != NULL) {
        json_array_append_new(batch->changes,
                              json_pack("{s:s, s:s, s:s}", "op", op,
                                        "kind", cachectl_kinds[kind],
                                        "path", path));
    }
}


static void
cachectl_tx_path(cachectl_tx_t *tx, int kind, const char *path)
{
    if (tx->paths[kind] == NULL) {
        tx->paths[kind] = json_array();
    }

    if (tx->paths[kind] != NULL
        && json_array_size(tx->paths[kind]) < CACHECTL_EVENT_PATHS)
    {
        json_array_append_new(tx->paths[kind], json_string(path));
    }
}


static int
cachectl_tx_cmd(cachectl_tx_t *tx, int kind, int argc, const char **argv,
    const size_t *argvlen)
{
    int  i;

    tx->kinds |= 1 << kind;
    tx->all |= 1 << kind;

    if (tx->dry) {
        return 0;       /* planned, counted, not sent */
    }

    if (!tx->multi) {
        if (cachectl_tx_fence(tx) != 0
            || redisAppendCommand(tx->c, "MULTI") != REDIS_OK)
        {
            if (!tx->refused && tx->c->err == 0) {
                snprintf(tx->err, tx->size, "out of memory");
            }
            return -1;
        }

        tx->multi = 1;
    }

    if (redisAppendCommandArgv(tx->c, argc, argv, argvlen) != REDIS_OK) {
        snprintf(tx->err, tx->size, "out of memory");
        return -1;
    }

    tx->queued++;

    for (i = 0; i < argc; i++) {
        tx->bytes += argvlen[i];
    }

    return 0;
}


static int
cachectl_tx_set(cachectl_tx_t *tx, int kind, const char *key,
    const char *value, size_t len)
{
    size_t       argvlen[3];
    const char  *argv[3];

    argv[0] = "SET";
    argv[1] = key;
    argv[2] = value;
    argvlen[0] = 3;
    argvlen[1] = strlen(key);
    argvlen[2] = len;

    return cachectl_tx_cmd(tx, kind, 3, argv, argvlen);
}


static int
cachectl_tx_del(cachectl_tx_t *tx, int kind, const char *key)
{
    size_t       argvlen[2];
    const char  *argv[2];

    argv[0] = "DEL";
    argv[1] = key;
    argvlen[0] = 3;
    argvlen[1] = strlen(key);

    return cachectl_tx_cmd(tx, kind, 2, argv, argvlen);
}


/* first: the transaction's command count before the write's commands */

static int
cachectl_tx_pending(cachectl_tx_t *tx, int type, cachectl_file_t *f,
    const char *etag, const char *name, int first)
{
    cachectl_pending_t  *p;

    if (tx->npending == tx->cap) {
        tx->cap = tx->cap ? tx->cap * 2 : 64;
        p = realloc(tx->pending, tx->cap * sizeof(cachectl_pending_t));
        if (p == NULL) {
            snprintf(tx->err, tx->size, "out of memory");
            return -1;
        }

        tx->pending = p;
    }

    p = &tx->pending[tx->npending];
    memset(p, 0, sizeof(cachectl_pending_t));

    if (name != NULL) {
        p->name = strdup(name);
        if (p->name == NULL) {
            snprintf(tx->err, tx->size, "out of memory");
            return -1;
        }
    }

    tx->npending++;
    p->type = type;
    p->file = f;
    p->first = first;
    snprintf(p->etag, sizeof(p->etag), "%s", etag);

    return 0;
}


/* what EXEC applied counts as published */

static void
cachectl_tx_apply(cachectl_tx_t *tx, cachectl_pending_t *p)
{
    cachectl_sync_t  *s;

    s = tx->s;

    switch (p->type) {

    case CACHECTL_P_VIEW:
        memcpy(p->file->etag, p->etag, 20);
        p->file->stamp = p->stamp;
        p->file->mtime = p->mtime;
        s->written++;
        break;

    case CACHECTL_P_VIEW_DEL:
        cachectl_file_drop(s->files, p->name);
        s->deleted++;
        break;

    case CACHECTL_P_CFG:
        memcpy(p->dst, p->etag, 20);
        s->written++;
        break;

    case CACHECTL_P_I18N:
        json_object_set_new(s->i18n, p->name, json_string(p->etag));
        s->written++;
        break;

    default:
        json_object_del(s->i18n, p->name);
        s->deleted++;
        break;
    }
}


/* puts back the index field of a view whose write was refused */

static void
cachectl_tx_unindex(cachectl_tx_t *tx, cachectl_pending_t *p)
{
    char          err[64];
    redisReply   *r;

    if (p->file->etag[0]) {
        r = cachectl_redis_cmd(tx->c, err, sizeof(err),
                               "HSET %stplindex %s %lld:%s", tx->s->conf->ns,
                               p->name, (long long) p->file->mtime,
                               p->file->etag);

    } else {
        r = cachectl_redis_cmd(tx->c, err, sizeof(err),
                               "HDEL %stplindex %s", tx->s->conf->ns,
                               p->name);
    }

    /* a broken connection shows at the next command */
    if (r != NULL) {
        freeReplyObject(r);
    }
}


/* the first error reply: Redis refused, the connection is fine */

static void
cachectl_tx_refused(cachectl_tx_t *tx, const char *what, const char *msg)
{
    if (!tx->refused) {
        snprintf(tx->err, tx->size, "Redis refused %s: %s", what, msg);
    }

    tx->refused = 1;
}


/*
 * Before each transaction of a lease holder: WATCH the lease and check
 * that it is still ours. A loop held past the lease's TTL (a long walk, a
 * slow Redis, SIGSTOP) may have lost it to a standby meanwhile; EXEC then
 * applies nothing if the lease moves before it, so two daemons never write
 * at once. The obuf is empty here: the previous transaction was read.
 */

static int
cachectl_tx_fence(cachectl_tx_t *tx)
{
    int               ours;
    void             *reply;
    redisReply       *watch, *get;
    cachectl_sync_t  *s;

    s = tx->s;

    if (s->lease_id[0] == '\0') {
        return 0;
    }

    if (redisAppendCommand(tx->c, "WATCH %s" CACHECTL_LEASE_KEY, s->conf->ns)
        != REDIS_OK
        || redisAppendCommand(tx->c, "GET %s" CACHECTL_LEASE_KEY,
                              s->conf->ns) != REDIS_OK)
    {
        snprintf(tx->err, tx->size, "out of memory");
        return -1;
    }

    if (redisGetReply(tx->c, &reply) != REDIS_OK) {
        snprintf(tx->err, tx->size, "Redis: %s", tx->c->errstr);
        tx->refused = 0;
        return -1;
    }

    watch = reply;

    if (redisGetReply(tx->c, &reply) != REDIS_OK) {
        freeReplyObject(watch);
        snprintf(tx->err, tx->size, "Redis: %s", tx->c->errstr);
        tx->refused = 0;
        return -1;
    }

    get = reply;

    /* an earlier write may have been refused already: not a lost lease */
    ours = 1;

    if (watch->type == REDIS_REPLY_ERROR) {
        cachectl_tx_refused(tx, "WATCH", watch->str);
        ours = 0;

    } else if (get->type != REDIS_REPLY_STRING
               || strcmp(get->str, s->lease_id) != 0)
    {
        cachectl_tx_refused(tx, "the write", "the lease is no longer ours");
        ours = 0;
    }

    freeReplyObject(watch);
    freeReplyObject(get);

    if (ours) {
        return 0;
    }

    tx->aborted = 1;
    reply = redisCommand(tx->c, "UNWATCH");

    if (reply != NULL) {
        freeReplyObject(reply);
    }

    return -1;
}


/*
 * Sends what is queued: MULTI, the writes, (last: the generation bumps
 * of every kind written since the last bump), EXEC; then, last, one
 * event per kind. A transaction that is not the last bumps nothing:
 * readers see its keys only when they fetch them (a cache miss), and
 * every cached copy moves with the last one. A write counts once EXEC
 * applied it; an error reply of one write (WRONGTYPE) leaves that write
 * pending, the others count. 0 (tx->refused set when a write was refused),
 * or -1 with err set: tx->refused tells a discarded transaction
 * (connection fine) from a broken connection.
 */

static int
cachectl_tx_flush(cachectl_tx_t *tx, int last)
{
    int           k, n, total, bump, nbump, idx;
    char          key[CACHECTL_NS_MAX + 64], *msg, what[256];
    void         *reply;
    size_t        j, e;
    json_t       *m;
    long long     gen[3];
    redisReply   *r, *exec;
    cachectl_pending_t  *p;
    cachectl_sync_t     *s;

    s = tx->s;

    if (tx->dry) {
        goto done;
    }

    bump = last ? ((tx->all | s->gen_owed) & 7) : 0;

    /* each write's commands: up to the next write's first */
    for (j = 0; j < tx->npending; j++) {
        p = &tx->pending[j];
        p->n = (j + 1 < tx->npending ? tx->pending[j + 1].first
                                     : tx->queued) - p->first;
    }

    if (!tx->multi && bump == 0) {
        goto done;
    }

    if (!tx->multi) {
        if (cachectl_tx_fence(tx) != 0
            || redisAppendCommand(tx->c, "MULTI") != REDIS_OK)
        {
            if (!tx->refused && tx->c->err == 0) {
                snprintf(tx->err, tx->size, "out of memory");
            }
            return -1;
        }

        tx->multi = 1;
    }

    nbump = 0;

    for (k = 0; k < 3; k++) {
        if (bump & (1 << k)) {
            if (redisAppendCommand(tx->c, "HINCRBY %sgen %s 1", s->conf->ns,
                                   cachectl_kinds[k]) != REDIS_OK)
            {
                snprintf(tx->err, tx->size, "out of memory");
                return -1;
            }

            nbump++;
        }
    }

    if (redisAppendCommand(tx->c, "EXEC") != REDIS_OK) {
        snprintf(tx->err, tx->size, "out of memory");
        return -1;
    }

    total = tx->queued + nbump;

    /* MULTI, QUEUED for each, then EXEC's array */
    exec = NULL;

    for (n = 0; n < total + 2; n++) {
        if (redisGetReply(tx->c, &reply) != REDIS_OK) {
            if (exec) {
                freeReplyObject(exec);
            }

            snprintf(tx->err, tx->size, "Redis: %s", tx->c->errstr);
            tx->refused = 0;
            return -1;
        }

        r = reply;

        if (r->type == REDIS_REPLY_ERROR && n < total + 1) {
            snprintf(what, sizeof(what), n == 0 ? "MULTI" : "a write");
            cachectl_tx_refused(tx, what, r->str);
        }

        if (n == total + 1) {
            exec = r;

        } else {
            freeReplyObject(r);
        }
    }

    tx->multi = 0;
    tx->queued = 0;
    tx->bytes = 0;

    if (exec == NULL || exec->type != REDIS_REPLY_ARRAY
        || exec->elements != (size_t) total)
    {
        /* nothing was applied (EXECABORT after an OOM, ...) */
        cachectl_tx_refused(tx, "the transaction",
                            exec && exec->type == REDIS_REPLY_ERROR
                            ? exec->str
                            : exec && exec->type == REDIS_REPLY_NIL
                              && s->lease_id[0] != '\0'
                            ? "the lease is no longer ours (it moved under "
                              "WATCH)"
                            : "discarded");
        tx->aborted = 1;

        if (exec) {
            freeReplyObject(exec);
        }

        tx->kinds = 0;
        goto done;
    }

    /* applied, but each command on its own: WRONGTYPE on one key */

    for (j = 0; j < tx->npending; j++) {
        p = &tx->pending[j];
        n = 0;

        for (idx = p->first; idx < p->first + p->n
             && idx < (int) exec->elements; idx++)
        {
            if (exec->element[idx]->type == REDIS_REPLY_ERROR) {
                n = 1;
                snprintf(what, sizeof(what), "the write of %.40s%s%.160s",
                         cachectl_kinds[p->type == CACHECTL_P_CFG
                                        ? CACHECTL_CONFIG
                                        : p->type >= CACHECTL_P_I18N
                                          ? CACHECTL_I18N : CACHECTL_VIEW],
                         p->name ? " " : "", p->name ? p->name : "");
                cachectl_tx_refused(tx, what, exec->element[idx]->str);
            }
        }

        if (n) {
            /*
             * The tpl: key refused its HSET (WRONGTYPE) but the index
             * took its field: the index must not name a version that
             * is not there.
             */
            if (p->type == CACHECTL_P_VIEW && p->n == 2
                && exec->element[p->first]->type == REDIS_REPLY_ERROR
                && exec->element[p->first + 1]->type != REDIS_REPLY_ERROR)
            {
                cachectl_tx_unindex(tx, p);
            }

            continue;
        }

        cachectl_tx_apply(tx, p);
    }

    /* the counters are the last replies of EXEC */
    e = exec->elements;

    for (k = 2; k >= 0; k--) {
        gen[k] = -1;

        if ((bump & (1 << k)) && e > 0) {
            e--;

            if (exec->element[e]->type == REDIS_REPLY_INTEGER) {
                gen[k] = exec->element[e]->integer;

            } else {
                cachectl_tx_refused(tx, "the generation bump",
                                    exec->element[e]->type
                                    == REDIS_REPLY_ERROR
                                    ? exec->element[e]->str : "?");
            }
        }
    }

    freeReplyObject(exec);

    for (k = 0; k < 3; k++) {
        if (gen[k] >= 0) {
            s->gen_owed &= ~(1 << k);

        } else if (tx->kinds & (1 << k)) {
            s->gen_owed |= 1 << k;
        }
    }

    tx->kinds = 0;

    for (k = 0; last && k < 3; k++) {
        if (gen[k] < 0) {
            continue;
        }

        m = json_pack("{s:s+, s:{s:s, s:I, s:s, s:O?}, s:s, s:I}",
                      "channel", "controller:cache:invalidate:",
                      cachectl_kinds[k],
                      "data", "type", cachectl_kinds[k], "gen",
                      (json_int_t) gen[k], "source", "cachectl",
                      "paths", tx->paths[k],
                      "instanceId", s->instance_id,
                      "timestamp", (json_int_t) cachectl_now_ms());

        msg = m ? json_dumps(m, JSON_COMPACT) : NULL;
        json_decref(m);

        if (msg == NULL) {
            continue;
        }

        snprintf(key, sizeof(key), "%sbc:controller:cache:invalidate:%s",
                 s->conf->ns, cachectl_kinds[k]);

        r = cachectl_redis_cmd(tx->c, tx->err, tx->size, "PUBLISH %s %s",
                               key, msg);
        free(msg);

        if (r == NULL) {
            /* written and counted: peers catch up through <ns>gen */
            tx->err[0] = '\0';
            break;
        }

        freeReplyObject(r);
    }

done:

    while (tx->npending) {
        free(tx->pending[--tx->npending].name);
    }

    /*
     * A discarded part stops the batch (the next would be too); a refused
     * write is that file's error, the others go on; the last one reports.
     */
    return (tx->aborted && !last) ? -1 : 0;
}


static int
cachectl_is_raw(cachectl_sync_t *s, const char *path)
{
    size_t       i;
    json_t      *v;
    const char  *dot, *slash, *e;

    slash = strrchr(path, '/');
    dot = strrchr(slash ? slash : path, '.');

    if (dot == NULL) {
        return 0;
    }

    dot++;

    if (s->raw_exts == NULL) {
        for (i = 0; cachectl_raw_default[i]; i++) {
            if (strcasecmp(dot, cachectl_raw_default[i]) == 0) {
                return 1;
            }
        }

        return 0;
    }

    json_array_foreach(s->raw_exts, i, v) {
        e = json_string_value(v);

        if (e != NULL && strcasecmp(dot, e + (*e == '.')) == 0) {
            return 1;
        }
    }

    return 0;
}
