/*
 * Plans (jp_tpl.h): a page rendered once and split, top-level node by
 * top-level node, into what read nothing that differs between requests
 * (kept as the bytes it wrote) and the nodes that did (rendered again,
 * in order, on every request). An include written by a top-level node
 * of the page, with arguments that read nothing of the request, is split
 * the same way, its own top-level nodes one by one, under a frame that
 * holds the arguments of the recording.
 *
 * A node is "static" when, while it ran, nothing set a JP_TPL_USES_* bit:
 * its bytes are then a function of the program, the translations and the
 * context without the request. A static node that changes the render's
 * state changes it again on every request, so that what follows sees the
 * same state: the components it defined are defined again (the usual
 * header that includes every components/ file), a let runs again with
 * its node. A node that changes the state while reading the request, or
 * an error comment anywhere (limits depend on what ran before), means no
 * plan. Every program the recording rendered from is held by a reference.
 *
 * A request may take a node rendered again where the recording did not
 * go: a branch that sets a variable or defines a component, or more
 * includes and iterations than the limits leave room for once the kept
 * bytes are charged what they cost. What follows would then differ from
 * a full render, so the replay stops and says so (JP_TPL_PLAN_DIVERGED).
 */

#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"


enum {
    JP_TPL_P_BYTES = 1,         /* bytes of the recording */
    JP_TPL_P_NODE,              /* a node rendered again */
    JP_TPL_P_ENTER,             /* an include's parts follow ... */
    JP_TPL_P_LEAVE,             /* ... until here */
    JP_TPL_P_DEFINE             /* a component defined again */
};

typedef struct {
    unsigned                 op;
    size_t                   off;
    size_t                   len;
    const jp_tpl_node_t     *node;
    json_t                  *args;      /* ENTER: the include's k=v */
    json_t                  *taint;     /* ENTER: and their taint */
    unsigned long            calls;     /* BYTES: what writing them cost */
    unsigned long            iterations;
    unsigned long            mutations; /* NODE: the state it set (a let) */
} jp_tpl_part_t;

struct jp_tpl_plan_s {
    jp_tpl_program_t        *prog;      /* the page */
    jp_tpl_program_t       **progs;     /* the includes split */
    size_t                   nprogs;
    jp_tpl_part_t           *parts;
    size_t                   nparts;
    size_t                   cap;
    char                    *bytes;
    size_t                   len;
    size_t                   nodes;     /* parts rendered again */
};

struct jp_tpl_rec_s {
    jp_tpl_plan_t           *plan;
    size_t                   start;     /* of the page in rs->out */
    unsigned long            mutations; /* at the start of the node */
    const jp_tpl_node_t    **defs;      /* definitions since then */
    size_t                   ndefs;
    size_t                   defs_cap;
    int                      failed;
};


static int jp_tpl_rec_part(jp_tpl_rec_t *rec, unsigned op, size_t off,
    size_t len, const jp_tpl_node_t *node);
static int jp_tpl_rec_bytes(jp_tpl_rec_t *rec, size_t off, size_t len,
    unsigned long calls, unsigned long iterations);
static int jp_tpl_replay(jp_tpl_rs_t *rs, const jp_tpl_plan_t *plan,
    size_t *i);


static int
jp_tpl_rec_part(jp_tpl_rec_t *rec, unsigned op, size_t off, size_t len,
    const jp_tpl_node_t *node)
{
    size_t          cap;
    jp_tpl_plan_t  *plan;
    jp_tpl_part_t  *p;

    plan = rec->plan;

    if (op == JP_TPL_P_BYTES) {
        if (len == 0) {
            return 0;
        }

        p = plan->nparts ? &plan->parts[plan->nparts - 1] : NULL;

        if (p != NULL && p->op == JP_TPL_P_BYTES && p->off + p->len == off) {
            p->len += len;
            return 0;
        }
    }

    if (plan->nparts == plan->cap) {
        cap = plan->cap ? plan->cap * 2 : 32;

        p = realloc(plan->parts, cap * sizeof(jp_tpl_part_t));
        if (p == NULL) {
            rec->failed = 1;
            return -1;
        }

        plan->parts = p;
        plan->cap = cap;
    }

    p = &plan->parts[plan->nparts++];

    memset(p, 0, sizeof(jp_tpl_part_t));
    p->op = op;
    p->off = off;
    p->len = len;
    p->node = node;

    if (op == JP_TPL_P_NODE) {
        plan->nodes++;
    }

    return 0;
}


/* bytes of static nodes, and the includes and iterations they took */
static int
jp_tpl_rec_bytes(jp_tpl_rec_t *rec, size_t off, size_t len,
    unsigned long calls, unsigned long iterations)
{
    jp_tpl_plan_t  *plan;
    jp_tpl_part_t  *p;

    plan = rec->plan;

    if (len == 0 && calls == 0 && iterations == 0) {
        return 0;
    }

    p = plan->nparts ? &plan->parts[plan->nparts - 1] : NULL;

    if (p == NULL || p->op != JP_TPL_P_BYTES || p->off + p->len != off) {
        if (len == 0) {
            /* an empty part only to carry the cost */
            if (jp_tpl_rec_part(rec, JP_TPL_P_BYTES, off, 1, NULL) != 0) {
                return -1;
            }
            plan->parts[plan->nparts - 1].len = 0;

        } else if (jp_tpl_rec_part(rec, JP_TPL_P_BYTES, off, len, NULL)
                   != 0)
        {
            return -1;
        }

        p = &plan->parts[plan->nparts - 1];

    } else {
        p->len += len;
    }

    p->calls += calls;
    p->iterations += iterations;

    return 0;
}


void
jp_tpl_rec_hold(jp_tpl_rs_t *rs, const jp_tpl_program_t *prog)
{
    size_t              i;
    jp_tpl_plan_t      *plan;
    jp_tpl_program_t  **progs;

    plan = rs->rec->plan;

    for (i = 0; i < plan->nprogs; i++) {
        if (plan->progs[i] == prog) {
            return;
        }
    }

    progs = realloc(plan->progs, (plan->nprogs + 1) * sizeof(*progs));
    if (progs == NULL) {
        rs->rec->failed = 1;
        return;
    }

    plan->progs = progs;
    progs[plan->nprogs++] = jp_tpl_program_ref(prog);
}


void
jp_tpl_rec_define(jp_tpl_rs_t *rs, const jp_tpl_node_t *n)
{
    size_t                cap;
    jp_tpl_rec_t         *rec;
    const jp_tpl_node_t **defs;

    rec = rs->rec;

    if (rs->host == NULL || rs->host->program == NULL) {
        /* from a program that dies with the render: the node runs again */
        return;
    }

    if (rec->ndefs == rec->defs_cap) {
        cap = rec->defs_cap ? rec->defs_cap * 2 : 16;

        defs = realloc(rec->defs, cap * sizeof(*defs));
        if (defs == NULL) {
            rec->failed = 1;
            return;
        }

        rec->defs = defs;
        rec->defs_cap = cap;
    }

    rec->defs[rec->ndefs++] = n;
}


int
jp_tpl_rec_nodes(jp_tpl_rs_t *rs, const jp_tpl_node_t *n)
{
    int             rc;
    size_t          i, mark, nparts, ndefs;
    unsigned        uses;
    unsigned long   errors, mutations, calls, iterations;
    jp_tpl_rec_t   *rec;

    rec = rs->rec;

    for ( /* void */ ; n != NULL; n = n->next) {
        mark = rs->out->len;
        calls = rs->calls;
        iterations = rs->iterations;
        uses = rs->uses;
        errors = rs->errors;
        mutations = rs->mutations;
        nparts = rec->plan->nparts;
        ndefs = rec->ndefs;

        rs->uses = 0;
        rec->mutations = mutations;
        rs->rec_depth = rs->depth;
        rs->rec_include = (n->type == JP_TPL_N_OUT
                           && n->expr->kind == JP_TPL_E_CALL
                           && n->expr->helper->id == JP_TPL_H_INCLUDE)
                          ? n->expr : NULL;

        rc = jp_tpl_node_render(rs, n);

        rs->rec_include = NULL;

        if (rs->errors != errors) {
            rec->failed = 1;
        }

        if (rec->failed || rc != 0) {
            /* no plan: the rest renders as usual */
            rs->uses |= uses;
            return rc != 0 ? -1 : jp_tpl_nodes(rs, n->next);
        }

        if (rec->plan->nparts != nparts) {
            /* an include, recorded part by part */

        } else if (rs->uses == 0 && rs->mutations == mutations) {
            (void) jp_tpl_rec_bytes(rec, mark - rec->start,
                                    rs->out->len - mark, rs->calls - calls,
                                    rs->iterations - iterations);

        } else if (rs->uses == 0
                   && rs->mutations - mutations == rec->ndefs - ndefs)
        {
            /* only definitions: the bytes, then the same definitions */
            (void) jp_tpl_rec_bytes(rec, mark - rec->start,
                                    rs->out->len - mark, rs->calls - calls,
                                    rs->iterations - iterations);

            for (i = ndefs; i < rec->ndefs; i++) {
                (void) jp_tpl_rec_part(rec, JP_TPL_P_DEFINE, 0, 0,
                                       rec->defs[i]);
            }

        } else if (rs->uses != 0 && rs->mutations != mutations) {
            rec->failed = 1;

        } else if (jp_tpl_rec_part(rec, JP_TPL_P_NODE, 0, 0, n) == 0) {
            rec->plan->parts[rec->plan->nparts - 1].mutations =
                                                    rs->mutations - mutations;
        }

        rec->ndefs = ndefs;
        rs->uses |= uses;
    }

    return 0;
}


/* an include of a recorded node; jp_tpl_include() has set its frame */
int
jp_tpl_rec_include(jp_tpl_rs_t *rs, const jp_tpl_program_t *prog,
    jp_tpl_frame_t *f)
{
    int                 rc;
    jp_tpl_rec_t       *rec;
    jp_tpl_part_t      *p;
    jp_tpl_plan_t      *plan;

    rec = rs->rec;
    plan = rec->plan;

    /*
     * Arguments that read the request make the whole include a node to
     * render again; without the host's cache the program dies with the
     * render.
     */
    if (rec->failed || rs->uses != 0 || rs->mutations != rec->mutations
        || rs->host == NULL || rs->host->program == NULL)
    {
        return jp_tpl_nodes(rs, prog->root);
    }

    /* the program is held already (jp_tpl_rec_hold) */
    if (jp_tpl_rec_part(rec, JP_TPL_P_ENTER, 0, 0, NULL) != 0) {
        return jp_tpl_nodes(rs, prog->root);
    }

    p = &plan->parts[plan->nparts - 1];
    p->args = f->obj ? json_incref(f->obj) : NULL;
    p->taint = f->tainted ? json_incref(f->tainted) : NULL;

    rc = jp_tpl_rec_nodes(rs, prog->root);

    if (jp_tpl_rec_part(rec, JP_TPL_P_LEAVE, 0, 0, NULL) != 0) {
        rec->failed = 1;
    }

    return rc;
}


int
jp_tpl_render_record(const jp_tpl_program_t *prog, json_t *ctx,
    const jp_tpl_host_t *host, const jp_tpl_limits_t *limits,
    unsigned flags, jp_tpl_buf_t *out, jp_tpl_error_t *err,
    unsigned *uses, jp_tpl_plan_t **planp)
{
    int            rc;
    char          *bytes;
    size_t         i, len;
    jp_tpl_rs_t    rs;
    jp_tpl_rec_t   rec;
    jp_tpl_plan_t *plan;

    *planp = NULL;

    memset(&rec, 0, sizeof(rec));
    rec.start = out->len;
    rec.plan = calloc(1, sizeof(jp_tpl_plan_t));

    rc = jp_tpl_rs_init(&rs, prog, ctx, host, limits, flags, out, err);

    if (rc == 0) {
        if (rec.plan != NULL) {
            rs.rec = &rec;
            rc = jp_tpl_rec_nodes(&rs, prog->root);

        } else {
            rc = jp_tpl_nodes(&rs, prog->root);
        }
    }

    *uses = rs.uses;
    rc = jp_tpl_rs_done(&rs, prog, rc);

    free(rec.defs);
    plan = rec.plan;

    /* a page that read nothing of the request is kept whole instead */
    if (plan == NULL || rc != 0 || rec.failed || *uses == 0
        || plan->nodes == 0)
    {
        jp_tpl_plan_free(plan);
        return rc;
    }

    /* only what is kept, from the recording */
    for (len = 0, i = 0; i < plan->nparts; i++) {
        if (plan->parts[i].op == JP_TPL_P_BYTES) {
            len += plan->parts[i].len;
        }
    }

    bytes = len ? malloc(len) : NULL;
    if (bytes == NULL) {
        /* nothing to keep, or no memory */
        jp_tpl_plan_free(plan);
        return rc;
    }

    for (len = 0, i = 0; i < plan->nparts; i++) {
        if (plan->parts[i].op == JP_TPL_P_BYTES) {
            memcpy(bytes + len, out->data + rec.start + plan->parts[i].off,
                   plan->parts[i].len);
            plan->parts[i].off = len;
            len += plan->parts[i].len;
        }
    }

    plan->bytes = bytes;
    plan->len = len;
    plan->prog = jp_tpl_program_ref(prog);

    *planp = plan;

    return rc;
}


static int
jp_tpl_replay(jp_tpl_rs_t *rs, const jp_tpl_plan_t *plan, size_t *i)
{
    int                   rc;
    json_t               *sh, *st;
    unsigned long         mutations;
    jp_tpl_frame_t        f;
    const jp_tpl_part_t  *p;

    while (*i < plan->nparts) {
        p = &plan->parts[(*i)++];

        switch (p->op) {

        case JP_TPL_P_BYTES:
            /* charged as a full render is: a limit reached earlier now */
            rs->calls += p->calls;
            rs->iterations += p->iterations;

            if (rs->calls > JP_TPL_CALLS_MAX
                || rs->iterations > rs->max_iterations)
            {
                return JP_TPL_PLAN_DIVERGED;
            }

            if (jp_tpl_buf_add(rs->out, plan->bytes + p->off, p->len) != 0) {
                return -1;
            }
            break;

        case JP_TPL_P_NODE:
            mutations = rs->mutations;

            if (jp_tpl_node_render(rs, p->node) != 0) {
                return -1;
            }

            if (rs->mutations - mutations != p->mutations) {
                /* state the recording did not set: what follows differs */
                return JP_TPL_PLAN_DIVERGED;
            }
            break;

        case JP_TPL_P_DEFINE:
            /* it did not fail when recorded; memory may fail now */
            if (jp_tpl_define(rs, p->node) != 0) {
                rs->out->failed = JP_TPL_BUF_NOMEM;
                return -1;
            }
            break;

        case JP_TPL_P_ENTER:
            /* as jp_tpl_include() counts it; past the limit a full
             * render writes the limit's error here */
            if (++rs->calls > JP_TPL_CALLS_MAX) {
                return JP_TPL_PLAN_DIVERGED;
            }

            /* as jp_tpl_out() and jp_tpl_include() call an include */
            memset(&f, 0, sizeof(f));
            f.up = rs->frame;
            f.obj = p->args;
            f.tainted = p->taint;

            sh = rs->hash;
            st = rs->hash_taint;
            rs->hash = p->args;
            rs->hash_taint = p->taint;
            rs->frame = &f;
            rs->depth++;

            rc = jp_tpl_replay(rs, plan, i);

            rs->depth--;
            rs->frame = f.up;
            rs->hash = sh;
            rs->hash_taint = st;

            if (rc != 0) {
                return rc;
            }
            break;

        default: /* JP_TPL_P_LEAVE */
            return 0;
        }
    }

    return 0;
}


int
jp_tpl_render_plan(const jp_tpl_plan_t *plan, json_t *ctx,
    const jp_tpl_host_t *host, const jp_tpl_limits_t *limits,
    unsigned flags, jp_tpl_buf_t *out, jp_tpl_error_t *err,
    unsigned *uses)
{
    int          rc;
    char        *data;
    size_t       i, want, start;
    jp_tpl_rs_t  rs;

    start = out->len;

    rc = jp_tpl_rs_init(&rs, plan->prog, ctx, host, limits, flags, out,
                        err);

    /* the kept bytes and some: the buffer grows once at most */
    want = out->len + plan->len + 1024;

    if (rc == 0 && out->cap < want && want <= out->max) {
        data = realloc(out->data, want);

        if (data != NULL) {
            out->data = data;
            out->cap = want;
        }
    }

    if (rc == 0) {
        i = 0;
        rc = jp_tpl_replay(&rs, plan, &i);
    }

    *uses = rs.uses;

    if (rc == JP_TPL_PLAN_DIVERGED) {
        (void) jp_tpl_rs_done(&rs, plan->prog, 0);
        out->len = start;
        out->failed = 0;
        return JP_TPL_PLAN_DIVERGED;
    }

    return jp_tpl_rs_done(&rs, plan->prog, rc);
}


const jp_tpl_program_t *
jp_tpl_plan_program(const jp_tpl_plan_t *plan)
{
    return plan->prog;
}


/*
 * With the programs it holds: one the cache has replaced or evicted lives
 * on in its plans, and must count somewhere (while the cache still has
 * it too, it counts twice: an upper bound, not a leak of the accounts).
 */
size_t
jp_tpl_plan_size(const jp_tpl_plan_t *plan)
{
    size_t  i, size;

    size = sizeof(jp_tpl_plan_t) + plan->len
           + plan->cap * sizeof(jp_tpl_part_t)
           + plan->nprogs * sizeof(jp_tpl_program_t *)
           + jp_tpl_program_size(plan->prog);

    for (i = 0; i < plan->nprogs; i++) {
        size += jp_tpl_program_size(plan->progs[i]);
    }

    return size;
}


void
jp_tpl_plan_free(jp_tpl_plan_t *plan)
{
    size_t  i;

    if (plan == NULL) {
        return;
    }

    for (i = 0; i < plan->nparts; i++) {
        json_decref(plan->parts[i].args);
        json_decref(plan->parts[i].taint);
    }

    for (i = 0; i < plan->nprogs; i++) {
        jp_tpl_free(plan->progs[i]);
    }

    jp_tpl_free(plan->prog);
    free(plan->parts);
    free(plan->progs);
    free(plan->bytes);
    free(plan);
}
