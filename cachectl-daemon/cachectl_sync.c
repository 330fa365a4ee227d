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
 *
 * This file holds the batch itself: what Redis holds (read at connect and
 * at every full walk), the file table, the views, translations and
 * configs published, the deletion guard and status. The walk of the view
 * roots is in cachectl_walk.c, the Redis transactions in cachectl_tx.c;
 * what they share is in cachectl_sync_int.h.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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
#include "cachectl_sync_int.h"
#include "cachectl_tx.h"
#include "cachectl_walk.h"


#define CACHECTL_FILES_MAX    100000
#define CACHECTL_EXISTS_STEP  1000

#define CACHECTL_HOLD_NONE    0
#define CACHECTL_HOLD_WALK    1
#define CACHECTL_HOLD_SHARE   2


static const char  *cachectl_raw_default[] = {
    "json", "gif", "ico", "jpg", "jpeg", "png", "webp", NULL
};


static int cachectl_sync_load(cachectl_sync_t *s, redisContext *c,
    char *err, size_t size);
static int cachectl_sync_exists(cachectl_sync_t *s, redisContext *c,
    redisReply *index, char *err, size_t size);
static int cachectl_sync_roots(cachectl_sync_t *s);
static int cachectl_sync_views(cachectl_sync_t *s, cachectl_tx_t *tx,
    json_t *dirs);
static int cachectl_sync_i18n(cachectl_sync_t *s, cachectl_tx_t *tx);
static int cachectl_sync_config(cachectl_sync_t *s, cachectl_tx_t *tx,
    const char *file, const char *key, char *etag, char *bad);
static void cachectl_sync_state(cachectl_sync_t *s, int walk_ok,
    const char *walk_reason, int hold, unsigned held, const char *why);
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


cachectl_file_t *
cachectl_file_get(json_t *files, const char *path)
{
    json_t  *j;

    j = json_object_get(files, path);

    return j ? (cachectl_file_t *) (intptr_t) json_integer_value(j) : NULL;
}


cachectl_file_t *
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


void
cachectl_file_drop(json_t *files, const char *path)
{
    cachectl_file_t  *f;

    f = cachectl_file_get(files, path);

    if (f != NULL) {
        free(f->error);
        free(f->warning);
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
    s->warnings = json_array();
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
        || s->dir_ids == NULL || s->refused == NULL || s->warnings == NULL)
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
    json_decref(s->warnings);
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
    char              *colon, cursor[32], key[CACHECTL_GROUP_MAX + 64];
    char               etag[20];
    size_t             i;
    json_t            *v;
    const char        *path;
    redisReply        *r, *k;
    cachectl_file_t   *f;

    r = cachectl_redis_cmd(c, err, size, "HGETALL %stplindex", s->conf->l2);
    if (r == NULL) {
        return CACHECTL_SYNC_LOST;
    }

    if (r->type != REDIS_REPLY_ARRAY) {
        snprintf(err, size, "HGETALL %stplindex: %s", s->conf->l2,
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
                           s->conf->l2, s->conf->l2);
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
                               "COUNT 1000", cursor, s->conf->l2);
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

            json_object_set_new(s->i18n, key + strlen(s->conf->l2) + 5,
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
            klen = strlen(s->conf->l2) + 4 + strlen(names[n]);

            keys[n] = malloc(klen + 1);
            if (keys[n] == NULL) {
                snprintf(err, size, "out of memory");
                rc = CACHECTL_SYNC_REFUSED;
                break;
            }

            snprintf(keys[n], klen + 1, "%stpl:%s", s->conf->l2, names[n]);
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


/* dir (as given, or its real path) is file's directory */

int
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

    /* the refused files and those published with warnings, for status */
    json_array_clear(s->refused);
    json_array_clear(s->warnings);

    json_object_foreach(s->files, k, v) {
        f = (cachectl_file_t *) (intptr_t) json_integer_value(v);

        if (f->error) {
            e = json_pack("{ss ss}", "path", k, "error", f->error);
            if (e) {
                json_array_append_new(s->refused, e);
            }
        }

        if (f->warning && !f->error) {
            e = json_pack("{ss ss}", "path", k, "warning", f->warning);
            if (e) {
                json_array_append_new(s->warnings, e);
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

    if (json_array_size(s->warnings) > 0) {
        json_object_set(j, "warnings", s->warnings);
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


static int
cachectl_sync_views(cachectl_sync_t *s, cachectl_tx_t *tx, json_t *dirs)
{
    int               i, hold, first;
    char             *src, etag[20], index[48], mtime[24];
    char              key[PATH_MAX + CACHECTL_GROUP_MAX];
    char              why[256];
    void             *tmp;
    size_t            len, argvlen[8], k, ndel;
    json_t           *v, *dels;
    unsigned          flags, tracked, held;
    uint64_t          stamp;
    const char       *path, *argv[8];
    jp_tpl_error_t    terr, werr;
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

        free(f->warning);
        f->warning = NULL;

        /*
         * A page jPulse renders with an error comment (an unbalanced
         * block tag...) is published: nginx renders it as jPulse does.
         * Where it is goes to the log and to status. Only what does not
         * compile at all (a limit) is refused.
         */
        if (!cachectl_is_raw(s, path)
            && jp_tpl_check(src, len, path, NULL, 1, &werr) != 0)
        {
            prog = jp_tpl_compile_include(src, len, path, NULL, &terr);

            if (prog != NULL) {
                jp_tpl_free(prog);
                terr = werr;

                f->warning = malloc(JP_TPL_PATH_MAX + JP_TPL_ERRMSG_MAX
                                    + 32);
                if (f->warning) {
                    snprintf(f->warning,
                             JP_TPL_PATH_MAX + JP_TPL_ERRMSG_MAX + 32,
                             "%s:%u:%u: %s", path, terr.line, terr.column,
                             terr.message);
                }

                cachectl_log(CACHECTL_WARN, "published %s:%u:%u: %s (an "
                             "error comment in the page, as jPulse renders "
                             "it)", path, terr.line, terr.column,
                             terr.message);

            } else {
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

        snprintf(key, sizeof(key), "%stpl:%s", s->conf->l2, path);
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

        snprintf(key, sizeof(key), "%stplindex", s->conf->l2);
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

        snprintf(key, sizeof(key), "%stpl:%s", s->conf->l2, path);
        first = tx->queued;

        if (cachectl_tx_del(tx, CACHECTL_VIEW, key) != 0) {
            goto failed;
        }

        snprintf(key, sizeof(key), "%stplindex", s->conf->l2);
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
    char           *src, lang[32], etag[20], key[CACHECTL_GROUP_MAX + 48];
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

        snprintf(key, sizeof(key), "%si18n:%s", s->conf->l2, lang);

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

        snprintf(key, sizeof(key), "%si18n:%s", s->conf->l2, k);

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
    char          *src, now[20], key[CACHECTL_GROUP_MAX + 16];
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

    snprintf(key, sizeof(key), "%scfg:%s", s->conf->l2, name);

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
