/*
 * cachectl's inotify watches: every directory of the view trees, the
 * directories above them that hold a symlink on the way to a root (a
 * swapped "current" release link moves the whole tree), the config files'
 * and the deploy marker's directories. A batch adds watches only for the
 * directories that appeared and drops those of the directories that went;
 * a full pass (start, rescan, SIGHUP, a queue overflow, a swap above a
 * root) walks everything again.
 */

#ifndef CACHECTL_WATCH_H
#define CACHECTL_WATCH_H

#include <sys/types.h>

#include <jansson.h>

#include "cachectl_conf.h"


typedef struct {
    int               fd;           /* inotify */
    json_t           *wds;          /* "wd" -> {dir, gen, tree, names} */
    unsigned          gen;          /* of the last full pass */
    long              max;          /* CACHECTL_TEST_MAX_WATCHES, or 0 */

    unsigned          unwatched;    /* directories without a watch */
    int               unwatched_errno;
    char              unwatched_first[512];
    int               degraded;     /* some directory is not watched */

    /* the daemon's own log, when stderr is a file: never an event */
    int               log_set;
    dev_t             log_dir_dev;
    ino_t             log_dir_ino;
    char              log_name[256];
} cachectl_watch_t;


/* what one read of the inotify queue found */
typedef struct {
    json_t           *dirs;         /* in: directories with events (keys) */
    unsigned          events;       /* events that matter */
    int               full;         /* watch and walk everything again */
    int               marker;       /* the deploy marker may have changed */
    int               overflow;     /* the kernel dropped events */
} cachectl_watch_ev_t;


int cachectl_watch_init(cachectl_watch_t *w);
void cachectl_watch_free(cachectl_watch_t *w);

/* the full pass: everything conf names, stale watches dropped */
void cachectl_watch_all(cachectl_watch_t *w, cachectl_conf_t *conf);

/* reads every queued event into ev; watches new directories at once */
void cachectl_watch_read(cachectl_watch_t *w, cachectl_watch_ev_t *ev);

/* for status: {watched, unwatched, degraded} */
json_t *cachectl_watch_status(cachectl_watch_t *w);


#endif /* CACHECTL_WATCH_H */
