/*
 * Publishing to Redis (see cachectl_sync.h).
 *
 * Every batch rescans the roots instead of trusting the events that
 * started it: inotify says "something moved", the scan says what. A file
 * is read again only when its stamp (inode, size, mtime, which root)
 * moved, and written only when its content hash differs from what Redis
 * holds, so a rescan of an unchanged tree costs one stat() per file.
 */

#include <dirent.h>
#include <errno.h>
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
#include "cachectl_log.h"
#include "cachectl_redis.h"
#include "cachectl_sync.h"


#define CACHECTL_DEPTH_MAX    32
#define CACHECTL_FILES_MAX    100000
#define CACHECTL_EVENT_PATHS  100


typedef struct {
    uint64_t     stamp;
    int64_t      mtime;
    char         etag[20];      /* what Redis holds; "" for nothing */
    uint64_t     refused;       /* the stamp that did not compile */
    char        *error;
    int          seen;
} cachectl_file_t;


/* a write that counts only once EXEC succeeded */
typedef struct {
    cachectl_file_t  *file;
    char              etag[20];
    const char       *path;     /* deleted: remove from the map */
} cachectl_pending_t;


typedef struct {
    cachectl_sync_t     *s;
    redisContext        *c;
    int                  multi;     /* MULTI sent */
    int                  queued;    /* commands after MULTI */
    cachectl_pending_t  *pending;
    size_t               npending;
    size_t               cap;
    json_t              *paths[3];  /* per kind, for the events */
    int                  kinds;     /* bit per kind touched */
    char                *err;
    size_t               size;
} cachectl_tx_t;


static const char  *cachectl_kinds[] = { "view", "config", "i18n" };

#define CACHECTL_VIEW    0
#define CACHECTL_CONFIG  1
#define CACHECTL_I18N    2

static const char  *cachectl_raw_default[] = {
    "json", "gif", "ico", "jpg", "jpeg", "png", "webp", NULL
};


static int cachectl_sync_load(cachectl_sync_t *s, redisContext *c,
    char *err, size_t size);
static int cachectl_sync_roots(cachectl_sync_t *s);
static void cachectl_sync_walk(cachectl_sync_t *s, const char *root,
    const char *rel, int depth, json_t *found, json_t *visited);
static int cachectl_sync_views(cachectl_sync_t *s, cachectl_tx_t *tx,
    cachectl_batch_t *batch);
static int cachectl_sync_i18n(cachectl_sync_t *s, cachectl_tx_t *tx,
    cachectl_batch_t *batch);
static int cachectl_sync_config(cachectl_sync_t *s, cachectl_tx_t *tx,
    cachectl_batch_t *batch, const char *file, const char *key,
    char *etag);
static int cachectl_tx_cmd(cachectl_tx_t *tx, int kind, const char *path,
    int argc, const char **argv, const size_t *argvlen);
static int cachectl_tx_set(cachectl_tx_t *tx, int kind, const char *name,
    const char *key, const char *value, size_t len);
static int cachectl_tx_del(cachectl_tx_t *tx, int kind, const char *name,
    const char *key);
static int cachectl_tx_pending(cachectl_tx_t *tx, cachectl_file_t *f,
    const char *etag, const char *deleted);
static int cachectl_tx_commit(cachectl_tx_t *tx, cachectl_batch_t *batch);
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

    if (json_object_set_new(files, path,
                            json_integer((json_int_t) (intptr_t) f)) != 0)
    {
        free(f);
        return NULL;
    }

    return f;
}


static void
cachectl_files_clear(json_t *files)
{
    void             *tmp;
    json_t           *v;
    const char       *k;
    cachectl_file_t  *f;

    json_object_foreach_safe(files, tmp, k, v) {
        f = (cachectl_file_t *) (intptr_t) json_integer_value(v);
        free(f->error);
        free(f);
        json_object_del(files, k);
    }
}


int
cachectl_sync_init(cachectl_sync_t *s, cachectl_conf_t *conf)
{
    memset(s, 0, sizeof(cachectl_sync_t));

    s->conf = conf;
    s->files = json_object();
    s->i18n = json_object();
    s->refused = json_array();

    if (s->files == NULL || s->i18n == NULL || s->refused == NULL) {
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
    void             *tmp;
    json_t           *v;
    const char       *k;
    cachectl_file_t  *f;

    /* keep the stamps and refusals, forget what Redis holds */
    json_object_foreach_safe(s->files, tmp, k, v) {
        f = (cachectl_file_t *) (intptr_t) json_integer_value(v);
        f->etag[0] = '\0';
        f->stamp = 0;
    }

    json_object_clear(s->i18n);
    s->app_etag[0] = '\0';
    s->site_etag[0] = '\0';
    s->loaded = 0;
}


/* what Redis holds now: the index, the config and translation keys */

static int
cachectl_sync_load(cachectl_sync_t *s, redisContext *c, char *err,
    size_t size)
{
    char              *colon, cursor[32], key[CACHECTL_NS_MAX + 64];
    char               etag[20];
    size_t             i;
    redisReply        *r, *k, *v;
    cachectl_file_t   *f;

    cachectl_sync_reset(s);

    r = cachectl_redis_cmd(c, err, size, "HGETALL %stplindex", s->conf->ns);
    if (r == NULL || r->type != REDIS_REPLY_ARRAY) {
        if (r) {
            snprintf(err, size, "HGETALL %stplindex: %s", s->conf->ns,
                     r->type == REDIS_REPLY_ERROR ? r->str : "not a hash");
            freeReplyObject(r);
        }
        return -1;
    }

    for (i = 0; i + 1 < r->elements; i += 2) {
        f = cachectl_file_get(s->files, r->element[i]->str);

        if (f == NULL) {
            f = cachectl_file_add(s->files, r->element[i]->str);
            if (f == NULL) {
                freeReplyObject(r);
                snprintf(err, size, "out of memory");
                return -1;
            }
        }

        colon = strchr(r->element[i + 1]->str, ':');
        snprintf(f->etag, sizeof(f->etag), "%s", colon ? colon + 1 : "?");
    }

    freeReplyObject(r);

    r = cachectl_redis_cmd(c, err, size, "MGET %scfg:app %scfg:site",
                           s->conf->ns, s->conf->ns);
    if (r == NULL) {
        return -1;
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
    snprintf(cursor, sizeof(cursor), "0");

    do {
        r = cachectl_redis_cmd(c, err, size, "SCAN %s MATCH %si18n:* "
                               "COUNT 1000", cursor, s->conf->ns);
        if (r == NULL || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            if (r) {
                freeReplyObject(r);
                snprintf(err, size, "SCAN failed");
            }
            return -1;
        }

        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);

        for (i = 0; i < r->element[1]->elements; i++) {
            k = r->element[1]->element[i];
            snprintf(key, sizeof(key), "%s", k->str);

            v = cachectl_redis_cmd(c, err, size, "GET %s", key);
            if (v == NULL) {
                freeReplyObject(r);
                return -1;
            }

            etag[0] = '?';
            etag[1] = '\0';

            if (v->type == REDIS_REPLY_STRING) {
                cachectl_etag(v->str, v->len, etag);
            }

            freeReplyObject(v);

            json_object_set_new(s->i18n, key + strlen(s->conf->ns) + 5,
                                json_string(etag));
        }

        freeReplyObject(r);

    } while (strcmp(cursor, "0") != 0);

    s->loaded = 1;

    return 0;
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

    return 0;
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


/* visited: every directory once, so a symlink loop ends at once */

static void
cachectl_sync_walk(cachectl_sync_t *s, const char *root, const char *rel,
    int depth, json_t *found, json_t *visited)
{
    DIR            *d;
    char            dir[PATH_MAX], sub[PATH_MAX];
    struct stat     st;
    struct dirent  *de;

    if (depth > CACHECTL_DEPTH_MAX
        || json_object_size(found) >= CACHECTL_FILES_MAX)
    {
        return;
    }

    if (snprintf(dir, sizeof(dir), "%s%s%s", root, *rel ? "/" : "", rel)
        >= (int) sizeof(dir)
        || stat(dir, &st) != 0)
    {
        return;
    }

    if (cachectl_dir_visited(visited, &st)) {
        return;
    }

    d = opendir(dir);
    if (d == NULL) {
        return;
    }

    while ((de = readdir(d)) != NULL) {
        if (cachectl_ignored(de->d_name)) {
            continue;
        }

        if (snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "",
                     de->d_name) >= (int) sizeof(sub))
        {
            continue;
        }

        if (snprintf(dir, sizeof(dir), "%s/%s", root, sub)
            >= (int) sizeof(dir)
            || stat(dir, &st) != 0)
        {
            continue;
        }

        if (S_ISDIR(st.st_mode)) {
            cachectl_sync_walk(s, root, sub, depth + 1, found, visited);

        } else if (S_ISREG(st.st_mode)) {
            json_object_set_new(found, sub, json_true());
        }
    }

    closedir(d);
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

    if (!s->loaded && cachectl_sync_load(s, c, err, size) != 0) {
        return -1;
    }

    tx.s = s;
    tx.c = c;
    tx.err = err;
    tx.size = size;

    rc = 0;

    /* config first: it says which extensions are raw */
    if (s->conf->app_config
        && cachectl_sync_config(s, &tx, batch, s->conf->app_config, "app",
                                s->app_etag) != 0)
    {
        rc = -1;
    }

    if (rc == 0 && s->conf->site_config
        && cachectl_sync_config(s, &tx, batch, s->conf->site_config, "site",
                                s->site_etag) != 0)
    {
        rc = -1;
    }

    if (rc == 0 && s->conf->i18n && cachectl_sync_i18n(s, &tx, batch) != 0) {
        rc = -1;
    }

    if (rc == 0 && cachectl_sync_views(s, &tx, batch) != 0) {
        rc = -1;
    }

    if (rc == 0) {
        rc = cachectl_tx_commit(&tx, batch);
    }

    free(tx.pending);

    if (rc == 0) {
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

        s->last_sync_ms = cachectl_now_ms();
        s->batches++;
    }

    json_decref(tx.paths[0]);
    json_decref(tx.paths[1]);
    json_decref(tx.paths[2]);

    if (rc != 0) {
        /* whatever Redis holds now, read it again next time */
        s->loaded = 0;
    }

    return rc;
}


json_t *
cachectl_sync_status(cachectl_sync_t *s)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:O}",
                     "filesTracked", (json_int_t) json_object_size(s->files),
                     "batches", (json_int_t) s->batches,
                     "written", (json_int_t) s->written,
                     "deleted", (json_int_t) s->deleted,
                     "lastSync", (json_int_t) s->last_sync_ms,
                     "refused", s->refused);
}


static int
cachectl_sync_views(cachectl_sync_t *s, cachectl_tx_t *tx,
    cachectl_batch_t *batch)
{
    int               i;
    char             *src, etag[20], index[48], mtime[24], key[PATH_MAX];
    void             *tmp;
    size_t            len, argvlen[8];
    json_t           *found, *visited, *v;
    int64_t           ms;
    uint64_t          stamp;
    unsigned          flags;
    const char       *path, *argv[8];
    jp_tpl_error_t    terr;
    cachectl_file_t  *f;
    jp_tpl_program_t *prog;

    if (s->conf->nviews == 0) {
        return 0;
    }

    if (cachectl_sync_roots(s) != 0) {
        /* a root is missing (mid-swap?): publish nothing, delete nothing */
        return 0;
    }

    found = json_object();
    if (found == NULL) {
        return -1;
    }

    for (i = 0; i < s->nroots; i++) {
        visited = json_object();
        if (visited == NULL) {
            json_decref(found);
            return -1;
        }

        cachectl_sync_walk(s, s->roots[i], "", 0, found, visited);
        json_decref(visited);
    }

    json_object_foreach(s->files, path, v) {
        f = (cachectl_file_t *) (intptr_t) json_integer_value(v);
        f->seen = 0;
    }

    json_object_foreach(found, path, v) {
        flags = jp_tpl_disk_is_append(path) ? JP_TPL_DISK_APPEND : 0;

        if (jp_tpl_disk_stamp(s->disk, path, flags, &stamp, &ms) != 0) {
            continue;       /* a link out of its root */
        }

        f = cachectl_file_get(s->files, path);

        if (f == NULL) {
            f = cachectl_file_add(s->files, path);
            if (f == NULL) {
                json_decref(found);
                return -1;
            }
        }

        f->seen = 1;

        if (f->stamp == stamp && f->etag[0]) {
            batch->unchanged++;
            continue;
        }

        if (f->refused == stamp && f->error) {
            continue;       /* still the broken version: said so once */
        }

        if (jp_tpl_disk_read_flags(s->disk, path, flags, &src, &len) != 0) {
            continue;       /* gone between scan and read: next batch */
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
                batch->refused++;
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
        f->stamp = stamp;
        f->mtime = ms;

        cachectl_etag(src, len, etag);

        if (strcmp(etag, f->etag) == 0) {
            free(src);
            batch->unchanged++;
            continue;
        }

        snprintf(key, sizeof(key), "%stpl:%s", s->conf->ns, path);
        snprintf(mtime, sizeof(mtime), "%lld", (long long) ms);
        snprintf(index, sizeof(index), "%lld:%s", (long long) ms, etag);

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

        if (cachectl_tx_cmd(tx, CACHECTL_VIEW, path, 8, argv, argvlen) != 0) {
            free(src);
            json_decref(found);
            return -1;
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

        if (cachectl_tx_cmd(tx, CACHECTL_VIEW, NULL, 4, argv, argvlen) != 0
            || cachectl_tx_pending(tx, f, etag, NULL) != 0)
        {
            json_decref(found);
            return -1;
        }

        batch->views++;
    }

    /* files gone from every root leave Redis */
    json_object_foreach_safe(s->files, tmp, path, v) {
        f = (cachectl_file_t *) (intptr_t) json_integer_value(v);

        if (f->seen) {
            continue;
        }

        if (f->etag[0] == '\0') {
            free(f->error);
            free(f);
            json_object_del(s->files, path);
            continue;
        }

        snprintf(key, sizeof(key), "%stpl:%s", s->conf->ns, path);

        if (cachectl_tx_del(tx, CACHECTL_VIEW, path, key) != 0) {
            json_decref(found);
            return -1;
        }

        snprintf(key, sizeof(key), "%stplindex", s->conf->ns);
        argv[0] = "HDEL";
        argv[1] = key;
        argv[2] = path;
        argvlen[0] = 4;
        argvlen[1] = strlen(key);
        argvlen[2] = strlen(path);

        if (cachectl_tx_cmd(tx, CACHECTL_VIEW, NULL, 3, argv, argvlen) != 0
            || cachectl_tx_pending(tx, f, "", path) != 0)
        {
            json_decref(found);
            return -1;
        }

        batch->views++;
    }

    json_decref(found);

    return 0;
}


static int
cachectl_sync_i18n(cachectl_sync_t *s, cachectl_tx_t *tx,
    cachectl_batch_t *batch)
{
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
        return -1;
    }

    while ((de = readdir(d)) != NULL) {
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

        src = cachectl_read_file(file, &len);
        if (src == NULL) {
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
            cachectl_log(CACHECTL_ERR, "refused %s:%d:%d: %s", file,
                         jerr.line, jerr.column,
                         j ? "not a JSON object" : jerr.text);
            json_decref(j);
            free(src);
            batch->refused++;
            /* remember it, so it is said once */
            json_object_set_new(s->i18n, lang, json_string(etag));
            continue;
        }

        json_decref(j);

        snprintf(key, sizeof(key), "%si18n:%s", s->conf->ns, lang);

        if (cachectl_tx_set(tx, CACHECTL_I18N, lang, key, src, len) != 0) {
            free(src);
            json_decref(seen);
            closedir(d);
            return -1;
        }

        free(src);
        json_object_set_new(s->i18n, lang, json_string(etag));
        batch->i18n++;
    }

    closedir(d);

    json_object_foreach_safe(s->i18n, tmp, k, v) {
        if (json_object_get(seen, k) != NULL) {
            continue;
        }

        snprintf(key, sizeof(key), "%si18n:%s", s->conf->ns, k);

        if (cachectl_tx_del(tx, CACHECTL_I18N, k, key) != 0) {
            json_decref(seen);
            return -1;
        }

        json_object_del(s->i18n, k);
        batch->i18n++;
    }

    json_decref(seen);

    return 0;
}


static int
cachectl_sync_config(cachectl_sync_t *s, cachectl_tx_t *tx,
    cachectl_batch_t *batch, const char *file, const char *name, char *etag)
{
    char          *src, now[20], key[CACHECTL_NS_MAX + 16];
    size_t         len;
    json_t        *j, *raw;
    json_error_t   jerr;

    src = cachectl_read_file(file, &len);
    if (src == NULL) {
        cachectl_log(CACHECTL_ERR, "%s: %s; the config in Redis stays", file,
                     strerror(errno));
        return 0;
    }

    cachectl_etag(src, len, now);

    if (strcmp(now, etag) == 0) {
        free(src);
        return 0;
    }

    j = json_loadb(src, len, 0, &jerr);

    if (!json_is_object(j)) {
        cachectl_log(CACHECTL_ERR, "refused %s:%d:%d: %s; the config in "
                     "Redis stays", file, jerr.line, jerr.column,
                     j ? "not a JSON object" : jerr.text);
        json_decref(j);
        free(src);
        memcpy(etag, now, 20);
        batch->refused++;
        return 0;
    }

    if (strcmp(name, "app") == 0) {
        raw = json_object_get(json_object_get(json_object_get(j,
                  "controller"), "view"), "rawExtensions");
        json_decref(s->raw_exts);
        s->raw_exts = json_is_array(raw) ? json_incref(raw) : NULL;
    }

    json_decref(j);

    snprintf(key, sizeof(key), "%scfg:%s", s->conf->ns, name);

    if (cachectl_tx_set(tx, CACHECTL_CONFIG, name, key, src, len) != 0) {
        free(src);
        return -1;
    }

    free(src);
    memcpy(etag, now, 20);
    batch->config++;

    return 0;
}


static int
cachectl_tx_cmd(cachectl_tx_t *tx, int kind, const char *path, int argc,
    const char **argv, const size_t *argvlen)
{
    if (!tx->multi) {
        if (redisAppendCommand(tx->c, "MULTI") != REDIS_OK) {
            snprintf(tx->err, tx->size, "out of memory");
            return -1;
        }

        tx->multi = 1;
    }

    if (redisAppendCommandArgv(tx->c, argc, argv, argvlen) != REDIS_OK) {
        snprintf(tx->err, tx->size, "out of memory");
        return -1;
    }

    tx->queued++;
    tx->kinds |= 1 << kind;

    if (path != NULL) {
        if (tx->paths[kind] == NULL) {
            tx->paths[kind] = json_array();
        }

        if (tx->paths[kind] != NULL
            && json_array_size(tx->paths[kind]) < CACHECTL_EVENT_PATHS)
        {
            json_array_append_new(tx->paths[kind], json_string(path));
        }
    }

    return 0;
}


static int
cachectl_tx_set(cachectl_tx_t *tx, int kind, const char *name,
    const char *key, const char *value, size_t len)
{
    size_t       argvlen[3];
    const char  *argv[3];

    argv[0] = "SET";
    argv[1] = key;
    argv[2] = value;
    argvlen[0] = 3;
    argvlen[1] = strlen(key);
    argvlen[2] = len;

    return cachectl_tx_cmd(tx, kind, name, 3, argv, argvlen);
}


static int
cachectl_tx_del(cachectl_tx_t *tx, int kind, const char *name,
    const char *key)
{
    size_t       argvlen[2];
    const char  *argv[2];

    argv[0] = "DEL";
    argv[1] = key;
    argvlen[0] = 3;
    argvlen[1] = strlen(key);

    return cachectl_tx_cmd(tx, kind, name, 2, argv, argvlen);
}


static int
cachectl_tx_pending(cachectl_tx_t *tx, cachectl_file_t *f, const char *etag,
    const char *deleted)
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

    p = &tx->pending[tx->npending++];
    p->file = f;
    p->path = deleted;
    snprintf(p->etag, sizeof(p->etag), "%s", etag);

    return 0;
}


/*
 * EXEC, then one event per kind. Until EXEC has answered, nothing counts
 * as published: a failure leaves the old etags, and the next batch (after
 * a reconnect, a full sync) writes everything again.
 */

static int
cachectl_tx_commit(cachectl_tx_t *tx, cachectl_batch_t *batch)
{
    int           k, i, n, ok;
    char          key[CACHECTL_NS_MAX + 64], *msg;
    void         *reply;
    size_t        j;
    json_t       *m;
    long long     gen[3];
    redisReply   *r, *exec;
    cachectl_sync_t  *s;

    s = tx->s;

    if (!tx->multi) {
        return 0;
    }

    for (k = 0; k < 3; k++) {
        if (tx->kinds & (1 << k)) {
            if (redisAppendCommand(tx->c, "HINCRBY %sgen %s 1", s->conf->ns,
                                   cachectl_kinds[k]) != REDIS_OK)
            {
                snprintf(tx->err, tx->size, "out of memory");
                return -1;
            }
            tx->queued++;
        }
    }

    if (redisAppendCommand(tx->c, "EXEC") != REDIS_OK) {
        snprintf(tx->err, tx->size, "out of memory");
        return -1;
    }

    /* MULTI, QUEUED for each, then EXEC's array */
    exec = NULL;
    ok = 1;

    for (n = 0; n < tx->queued + 2; n++) {
        if (redisGetReply(tx->c, &reply) != REDIS_OK) {
            snprintf(tx->err, tx->size, "Redis: %s", tx->c->errstr);
            return -1;
        }

        r = reply;

        if (r->type == REDIS_REPLY_ERROR) {
            snprintf(tx->err, tx->size, "Redis: %s", r->str);
            ok = 0;
        }

        if (n == tx->queued + 1) {
            exec = r;

        } else {
            freeReplyObject(r);
        }
    }

    if (!ok || exec == NULL || exec->type != REDIS_REPLY_ARRAY) {
        if (exec) {
            freeReplyObject(exec);
        }

        if (ok) {
            snprintf(tx->err, tx->size, "Redis: the transaction was "
                     "discarded");
        }

        return -1;
    }

    /* the counters are the last replies of EXEC */
    i = (int) exec->elements;

    for (k = 2; k >= 0; k--) {
        gen[k] = 0;

        if ((tx->kinds & (1 << k)) && i > 0) {
            i--;
            if (exec->element[i]->type == REDIS_REPLY_INTEGER) {
                gen[k] = exec->element[i]->integer;
            }
        }
    }

    freeReplyObject(exec);

    for (j = 0; j < tx->npending; j++) {
        if (tx->pending[j].path != NULL) {
            free(tx->pending[j].file->error);
            free(tx->pending[j].file);
            json_object_del(s->files, tx->pending[j].path);
            s->deleted++;
            continue;
        }

        memcpy(tx->pending[j].file->etag, tx->pending[j].etag, 20);
        s->written++;
    }

    for (k = 0; k < 3; k++) {
        if (!(tx->kinds & (1 << k))) {
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
            return 0;
        }

        freeReplyObject(r);
    }

    (void) batch;

    return 0;
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
