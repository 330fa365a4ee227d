/*
 * The walk of the view roots (see cachectl_walk.c), for cachectl_sync.c
 * only.
 */

#ifndef CACHECTL_WALK_H
#define CACHECTL_WALK_H

#include <jansson.h>

#include "cachectl_sync.h"
#include "cachectl_sync_int.h"


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



/* what editors, rsync and git leave behind for a moment */
int cachectl_ignored(const char *name);

/*
 * Is path (a tracked file) in what a partial walk covered: directly in a
 * walked directory, in a subtree walked whole, or in a subdirectory that
 * no root has any more?
 */
int cachectl_in_scope(cachectl_walk_t *w, json_t *scope, const char *path);

/*
 * Walks every root (w->full), or the directories of dirs and what is new
 * below them: -1 when out of memory; w says what the walk saw.
 */
int cachectl_sync_walk(cachectl_sync_t *s, cachectl_walk_t *w, json_t *dirs);


#endif /* CACHECTL_WALK_H */
