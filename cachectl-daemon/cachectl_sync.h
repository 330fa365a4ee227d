/*
 * Publishing the effective view tree, the config and the translations to
 * Redis (docs/protocol.md, "Templates and config"): scan, validate, diff
 * against what Redis holds, write one transaction per batch, bump the
 * generation counters, publish the invalidation events.
 */

#ifndef CACHECTL_SYNC_H
#define CACHECTL_SYNC_H

#include <stdint.h>
#include <sys/stat.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "jp_tpl.h"
#include "cachectl_conf.h"


typedef struct {
    cachectl_conf_t    *conf;
    jp_tpl_disk_t      *disk;
    char              **roots;          /* real paths at the last scan */
    int                 nroots;

    json_t             *files;          /* path -> cachectl_file_t * */
    json_t             *i18n;           /* lang -> etag in Redis */
    char                app_etag[20];
    char                site_etag[20];
    char                app_bad[20];    /* the refused version: said once */
    char                site_bad[20];
    json_t             *i18n_bad;       /* lang -> etag refused */
    json_t             *raw_exts;       /* from the app config, or NULL */
    int                 loaded;         /* Redis state read since connect */

    json_t             *dir_ids;        /* "<root>/<rel>" -> "dev:ino" */
    unsigned            walk_gen;
    long                files_max;
    unsigned            gen_owed;       /* kinds written, gen not bumped */

    /* the state of the last batch, logged when it changes */
    int                 walk_ok;
    char                walk_reason[256];
    int                 hold_state;     /* 0, or why deletions are held */
    unsigned            held;
    char                held_reason[256];
    unsigned            links_out;      /* links out of a root, not walked */
    unsigned            bad_names;      /* names not UTF-8, not published */
    char                last_error[512];
    int64_t             last_error_ms;

    /* for status */
    uint64_t            batches;
    uint64_t            written;
    uint64_t            deleted;
    int64_t             last_sync_ms;
    json_t             *refused;        /* [{path, error}] */
    json_t             *warnings;       /* [{path, warning}]: published,
                                           with an unbalanced tag... */
    char                instance_id[64];
    char                lease_id[64];   /* writes only while it holds
                                           <ns>cachectl:lease ("": any) */
} cachectl_sync_t;


typedef struct {
    unsigned            views;          /* files written or deleted */
    unsigned            i18n;
    unsigned            config;
    unsigned            refused;
    unsigned            unchanged;
    unsigned            held;           /* deletions not made (why: in
                                           cachectl_sync_status) */
    json_t             *changes;        /* set by the caller to get them:
                                           [{"op", "kind", "path"}] */
} cachectl_batch_t;


int cachectl_sync_init(cachectl_sync_t *s, cachectl_conf_t *conf);
void cachectl_sync_free(cachectl_sync_t *s);

/* forget what Redis holds: the next sync reads it again (reconnects) */
void cachectl_sync_reset(cachectl_sync_t *s);

#define CACHECTL_SYNC_OK        0
#define CACHECTL_SYNC_LOST     -1   /* the connection broke: reconnect */
#define CACHECTL_SYNC_REFUSED  -2   /* Redis answered an error: retry later */

/*
 * One batch: everything that changed since the last one. dirs, when not
 * NULL, is a JSON object whose keys are the absolute directories that saw
 * events since the last batch: only those need a walk; NULL walks every
 * root. CACHECTL_SYNC_OK, or _LOST / _REFUSED with err filled (nothing
 * is considered published then).
 */
int cachectl_sync_run(cachectl_sync_t *s, redisContext *c, json_t *dirs,
    cachectl_batch_t *batch, char *err, size_t size);

/* what status shows of the publisher: a new object, or NULL */
json_t *cachectl_sync_status(cachectl_sync_t *s);


/*
 * Marks the directory st describes as walked: 1 if it was already (a
 * symlink loop, or a link to a directory seen before), else 0.
 */
int cachectl_dir_visited(json_t *visited, const struct stat *st);

/* 64-bit FNV-1a as 16 hex digits */
void cachectl_etag(const char *p, size_t len, char out[20]);

/* wall-clock ms since the epoch: for timestamps that others read */
int64_t cachectl_now_ms(void);

/* CLOCK_MONOTONIC ms: for every timer and deadline of our own */
int64_t cachectl_mono_ms(void);


#endif /* CACHECTL_SYNC_H */
