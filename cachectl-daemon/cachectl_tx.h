/*
 * The Redis transactions of a batch (see cachectl_tx.c), for
 * cachectl_sync.c only.
 */

#ifndef CACHECTL_TX_H
#define CACHECTL_TX_H

#include <stdint.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "cachectl_sync.h"
#include "cachectl_sync_int.h"


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



/* a change of the batch, for the caller that asked for them */
void cachectl_change(cachectl_batch_t *batch, const char *op,
    int kind, const char *path);

/* a path for the kind's invalidation event (the first ones) */
void cachectl_tx_path(cachectl_tx_t *tx, int kind, const char *path);

/* queues a command, after MULTI (and the lease fence) when it is first */
int cachectl_tx_cmd(cachectl_tx_t *tx, int kind, int argc,
    const char **argv, const size_t *argvlen);
int cachectl_tx_set(cachectl_tx_t *tx, int kind, const char *key,
    const char *value, size_t len);
int cachectl_tx_del(cachectl_tx_t *tx, int kind, const char *key);

/* first: the transaction's command count before the write's commands */
int cachectl_tx_pending(cachectl_tx_t *tx, int type,
    cachectl_file_t *f, const char *etag, const char *name, int first);

/*
 * Sends what is queued (last: with the generation bumps and the events):
 * 0 (tx->refused set when a write was refused), or -1 with err set.
 */
int cachectl_tx_flush(cachectl_tx_t *tx, int last);


#endif /* CACHECTL_TX_H */
