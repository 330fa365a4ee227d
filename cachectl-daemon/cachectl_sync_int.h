/*
 * What the publisher's files share (cachectl_sync.c, cachectl_walk.c,
 * cachectl_tx.c), included by them only: the file table's entries and
 * the kinds of what is published. cachectl_sync.h is the API the daemon
 * and the CLI use.
 */

#ifndef CACHECTL_SYNC_INT_H
#define CACHECTL_SYNC_INT_H

#include <stdint.h>

#include <jansson.h>

#include "cachectl_sync.h"


typedef struct {
    uint64_t     stamp;         /* of what Redis holds (0: read again) */
    int64_t      mtime;
    char         etag[20];      /* what Redis holds; "" for nothing */
    uint64_t     refused;       /* the stamp that did not compile */
    char        *error;
    char        *warning;       /* published, but jPulse's error comment
                                   shows in it (jp_tpl_check()) */
    int          held;          /* its deletion is held */
    int          indexed;       /* in the index Redis holds */

    /* what the walk of this batch saw */
    unsigned     walk;          /* the walk that saw it, or older */
    int          root;          /* the last root that added to h */
    unsigned     nfound;
    uint64_t     h;
    int64_t      newest;
} cachectl_file_t;



#define CACHECTL_VIEW    0
#define CACHECTL_CONFIG  1
#define CACHECTL_I18N    2


/* the file table (cachectl_sync_t.files): path -> cachectl_file_t * */
cachectl_file_t *cachectl_file_get(json_t *files, const char *path);
cachectl_file_t *cachectl_file_add(json_t *files, const char *path);
void cachectl_file_drop(json_t *files, const char *path);

/* dir (as given, or its real path) is file's directory */
int cachectl_same_dir(const char *dir, const char *file);


#endif /* CACHECTL_SYNC_INT_H */
