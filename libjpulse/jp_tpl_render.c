/*
 * Template renderer: one walk over the compiled tree, appending to the
 * output buffer. Scopes are a chain of frames on the C stack, so #each
 * does not copy the context as jPulse does, yet the parent stays visible.
 *
 * Values that come from the request (the url.* subtree) carry a taint bit
 * through helpers, #each, #with, let and include/component arguments, and
 * are always HTML-escaped on output: jPulse's reflected XSS through
 * {{url.param.x}} does not exist here.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jp_tpl_int.h"




int
jp_tpl_error(jp_tpl_rs_t *rs, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(rs->msg, sizeof(rs->msg), fmt, ap);
    va_end(ap);

    return -1;
}


int64_t
jp_tpl_now(jp_tpl_rs_t *rs)
{
    struct timespec  ts;

    rs->uses |= JP_TPL_USES_TIME;

    if (rs->host != NULL && rs->host->now != NULL) {
        return rs->host->now(rs->host->data);
    }

    clock_gettime(CLOCK_REALTIME, &ts);

    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


/* "<!-- Error: Handlebar "expr": message -->", as jPulse renders it */
static int
jp_tpl_error_comment(jp_tpl_rs_t *rs, const jp_tpl_node_t *n)
{
    rs->errors++;

    if (jp_tpl_buf_add(rs->out, "<!-- Error: Handlebar \"", 23) != 0
        || jp_tpl_buf_add_comment(rs->out, n->text, n->len) != 0
        || jp_tpl_buf_add(rs->out, "\": ", 3) != 0
        || jp_tpl_buf_add_comment(rs->out, rs->msg, strlen(rs->msg)) != 0
        || jp_tpl_buf_add(rs->out, " -->", 4) != 0)
    {
        return -1;
    }

    return 0;
}


/* the limit of a nested buffer: what is left of the page's (0 means the
 * default to jp_tpl_buf_init, so never pass 0) */
size_t
jp_tpl_room(jp_tpl_buf_t *b)
{
    return b->max > b->len + 1 ? b->max - b->len : 1;
}


static size_t
jp_tpl_ptr_hash(const json_t *j)
{
    size_t  x;

    /* allocations are aligned: the low bits say nothing */
    x = (size_t) (uintptr_t) j >> 4;

    return x * (size_t) 2654435761u;
}


static inline int
jp_tpl_ptrset_has(const jp_tpl_ptrset_t *set, const json_t *j)
{
    size_t  i, mask;

    if (set->cap == 0) {
        return 0;
    }

    mask = set->cap - 1;

    for (i = jp_tpl_ptr_hash(j) & mask; set->slots[i]; i = (i + 1) & mask) {
        if (set->slots[i] == j) {
            return 1;
        }
    }

    return 0;
}


static int
jp_tpl_ptrset_add(jp_tpl_ptrset_t *set, json_t *j)
{
    size_t    i, k, mask, cap;
    json_t  **slots;

    if (jp_tpl_ptrset_has(set, j)) {
        return 0;
    }

    if ((set->n + 1) * 2 > set->cap) {
        cap = set->cap ? set->cap * 2 : 64;

        slots = calloc(cap, sizeof(json_t *));
        if (slots == NULL) {
            return -1;
        }

        mask = cap - 1;

        for (k = 0; k < set->cap; k++) {
            if (set->slots[k] == NULL) {
                continue;
            }

            for (i = jp_tpl_ptr_hash(set->slots[k]) & mask; slots[i];
                 i = (i + 1) & mask)
            {
                /* void */
            }

            slots[i] = set->slots[k];
        }

        free(set->slots);
        set->slots = slots;
        set->cap = cap;
    }

    mask = set->cap - 1;

    for (i = jp_tpl_ptr_hash(j) & mask; set->slots[i]; i = (i + 1) & mask) {
        /* void */
    }

    set->slots[i] = j;
    set->n++;

    return 0;
}


/*
 * The request data is found by identity, not by name: url may be reached
 * as "this", through #with, let, include arguments or another key holding
 * it. rs->req holds url, everything under it and every container of the
 * context that holds it; the context is read-only during the render, so
 * the set is built once, and a lookup is a hash probe.
 */
int
jp_tpl_is_req(jp_tpl_rs_t *rs, json_t *j)
{
    return j != NULL && jp_tpl_ptrset_has(&rs->req, j);
}


static int
jp_tpl_req_under(jp_tpl_rs_t *rs, json_t *j, unsigned depth)
{
    size_t       i;
    json_t      *v;
    const char  *k;

    /* true, false and null are shared singletons and carry no bytes */
    if (json_is_true(j) || json_is_false(j) || json_is_null(j)) {
        return 0;
    }

    if (depth > JP_TPL_REQ_DEPTH_MAX) {
        return -1;
    }

    if (jp_tpl_ptrset_add(&rs->req, j) != 0) {
        return -1;
    }

    if (json_is_object(j)) {
        json_object_foreach(j, k, v) {
            if (jp_tpl_req_under(rs, v, depth + 1) != 0) {
                return -1;
            }
        }

    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            if (jp_tpl_req_under(rs, v, depth + 1) != 0) {
                return -1;
            }
        }
    }

    return 0;
}


/*
 * 1 if j holds url, marking it; seen makes shared subtrees cost once: a
 * container seen before counts as holding url when it is in rs->req (one
 * that also lies under url counts too: more escaping, never less).
 */
static int
jp_tpl_req_above(jp_tpl_rs_t *rs, json_t *j, jp_tpl_ptrset_t *seen,
    unsigned depth)
{
    int          r, found;
    size_t       i;
    json_t      *v;
    const char  *k;

    if (j == rs->url) {
        return 1;
    }

    if (!json_is_object(j) && !json_is_array(j)) {
        return 0;
    }

    if (depth > JP_TPL_REQ_DEPTH_MAX) {
        return -1;
    }

    /* perf: a container held once has one parent: walked once anyway */
    if (j->refcount != 1 && jp_tpl_ptrset_has(seen, j)) {
        return jp_tpl_ptrset_has(&rs->req, j);
    }

    found = 0;

    if (json_is_object(j)) {
        json_object_foreach(j, k, v) {
            r = jp_tpl_req_above(rs, v, seen, depth + 1);
            if (r < 0) {
                return -1;
            }

            found |= r;
        }

    } else {
        json_array_foreach(j, i, v) {
            r = jp_tpl_req_above(rs, v, seen, depth + 1);
            if (r < 0) {
                return -1;
            }

            found |= r;
        }
    }

    if ((j->refcount != 1 && jp_tpl_ptrset_add(seen, j) != 0)
        || (found && jp_tpl_ptrset_add(&rs->req, j) != 0))
    {
        return -1;
    }

    return found;
}


/* url.pathname and the like: the URL without its query decides them */
static int
jp_tpl_url_part(const jp_tpl_expr_t *e)
{
    const char  *part;

    if (e->root != JP_TPL_R_NAME || e->nseg != 2
        || strcmp(e->seg[0].name, "url") != 0)
    {
        return 0;
    }

    part = e->seg[1].name;

    return strcmp(part, "pathname") == 0 || strcmp(part, "domain") == 0
           || strcmp(part, "protocol") == 0 || strcmp(part, "hostname") == 0
           || strcmp(part, "port") == 0;
}


static int
jp_tpl_req_init(jp_tpl_rs_t *rs)
{
    int              rc;
    jp_tpl_ptrset_t  seen;

    rs->url = json_object_get(rs->ctx, "url");
    if (rs->url == NULL) {
        return 0;
    }

    memset(&seen, 0, sizeof(seen));

    rc = jp_tpl_req_under(rs, rs->url, 0);

    if (rc == 0 && (rs->flags & JP_TPL_URL_TOP_ONLY)) {
        /* the context itself is the only container of url */
        return jp_tpl_ptrset_add(&rs->req, rs->ctx);
    }

    if (rc == 0 && jp_tpl_req_above(rs, rs->ctx, &seen, 0) < 0) {
        rc = -1;
    }

    free(seen.slots);

    return rc;
}


static json_t *
jp_tpl_vars(jp_tpl_rs_t *rs)
{
    return rs->vars ? rs->vars : json_object_get(rs->ctx, "vars");
}


static jp_tpl_frame_t *
jp_tpl_each_frame(jp_tpl_rs_t *rs)
{
    jp_tpl_frame_t  *f;

    for (f = rs->frame; f != NULL; f = f->up) {
        if (f->each) {
            return f;
        }
    }

    return NULL;
}


/* perf: what jp_tpl_lookup() asks of a path's root name */
static unsigned
jp_tpl_rname(const jp_tpl_expr_t *e)
{
    const char  *name;

    name = e->seg[0].name;

    if (strcmp(name, "vars") == 0) {
        return JP_TPL_RN_VARS;
    }

    if (strcmp(name, "url") == 0) {
        return JP_TPL_RN_URL;
    }

    if (strcmp(name, "appCluster") == 0) {
        return JP_TPL_RN_APPCLUSTER;
    }

    if (strcmp(name, "user") == 0) {
        return (e->nseg == 1 || strcmp(e->seg[1].name, "timezone") == 0)
               ? JP_TPL_RN_USER : JP_TPL_RN_USER_OTHER;
    }

    if (strcmp(name, "i18n") == 0) {
        return JP_TPL_RN_I18N;
    }

    return JP_TPL_RN_OTHER;
}


/*
 * perf: at compile time, what every render of a path would recompute:
 * the segments' lengths and cache keys, the root name's meaning.
 */
void
jp_tpl_path_prepare(jp_tpl_expr_t *e)
{
    uint64_t       h;
    unsigned       i;
    jp_tpl_seg_t  *s;

    for (i = 0; i < e->nseg; i++) {
        s = &e->seg[i];
        s->len = strlen(s->name);
        s->key[0] = s->key[1] = 0;
        s->cached = 0;

        if (s->len <= sizeof(s->key)) {
            memcpy(s->key, s->name, s->len);
            h = (s->key[0] ^ (s->key[1] * 0x9e3779b97f4a7c15ULL))
                * 0xff51afd7ed558ccdULL;
            s->hash = (uint32_t) (h >> 32);
            s->cached = 1;
        }
    }

    e->rname = e->nseg ? jp_tpl_rname(e) : JP_TPL_RN_NONE;
}


/* a lookup the cache does not hold: kept in slot i while there is room */
static json_t *
jp_tpl_get_miss(jp_tpl_rs_t *rs, json_t *obj, const jp_tpl_seg_t *s,
    size_t i)
{
    json_t       *val;
    jp_tpl_lc_t  *c;

    val = json_object_getn(obj, s->name, s->len);

    if (rs->nlc < JP_TPL_LC_MAX) {
        rs->nlc++;
        rs->lc_obj[i] = obj;
        c = &rs->lc[i];
        c->val = val;
        c->key[0] = s->key[0];
        c->key[1] = s->key[1];
        c->len = s->len;
    }

    return val;
}


/*
 * json_object_get(obj, seg): obj is the context's when fixed, so the
 * answer (a value, or none) is kept for the rest of the render.
 */
static inline json_t *
jp_tpl_get(jp_tpl_rs_t *rs, json_t *obj, const jp_tpl_seg_t *s,
    unsigned fixed)
{
    size_t        i;
    jp_tpl_lc_t  *c;

    if (!s->cached) {
        return s->len ? json_object_getn(obj, s->name, s->len)
                      : json_object_get(obj, s->name);
    }

    if (!fixed || obj == NULL) {
        return json_object_getn(obj, s->name, s->len);
    }

    i = (((uint64_t) (uintptr_t) obj ^ ((uint64_t) s->hash << 20))
         * 0x9e3779b97f4a7c15ULL) >> (64 - JP_TPL_LC_BITS);

    /* never full (JP_TPL_LC_MAX): an empty slot ends the probe */
    while (rs->lc_obj[i] != NULL) {
        c = &rs->lc[i];

        if (rs->lc_obj[i] == obj && c->len == s->len
            && c->key[0] == s->key[0] && c->key[1] == s->key[1])
        {
            return c->val;
        }

        i = (i + 1) & (JP_TPL_LC_SIZE - 1);
    }

    return jp_tpl_get_miss(rs, obj, s, i);
}


/*
 * A path. In argument position (literal) an unknown root yields the path
 * itself as a string, as in jPulse ("{{#if foo}}" is true); strict mode
 * drops that fallback.
 *
 * perf: *borrow asks for no reference: 1 when the value is the context's
 * (which outlives the render and is never changed by it), 2 always (the
 * caller is done with it before anything else runs); it says 1 when
 * v->j is borrowed, which jp_tpl_val_free() must then not drop.
 * rs->fixed says whether the value is the context's.
 */
static int
jp_tpl_lookup_ref(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e, jp_tpl_val_t *v,
    int literal, int *borrow)
{
    int              want;
    unsigned         i, taint, rn, fixed;
    json_t          *j, *k;
    jp_tpl_frame_t  *f;
    const char      *name;

    v->j = NULL;
    v->taint = 0;
    want = *borrow;
    *borrow = 0;
    taint = 0;
    fixed = 0;
    rs->fixed = 0;
    j = NULL;
    name = e->seg[0].name;

    /* a quoted argument: resolved as jPulse does, but not in strict mode */
    if (e->lit != NULL && (rs->flags & JP_TPL_STRICT)) {
        v->j = json_incref(e->lit);
        return 0;
    }

    switch (e->root) {

    case JP_TPL_R_THIS:
        f = jp_tpl_each_frame(rs);
        if (f != NULL) {
            j = f->self.j;
            taint = f->self.taint;
            fixed = f->fixed;

        } else {
            /*
             * jPulse: "this" is a key of loop scopes only. Outside one,
             * the word is its own text as an argument ({{#if this}} is
             * true) and prints "" ({{this}}).
             */
            if (literal && !(rs->flags & JP_TPL_STRICT)) {
                v->j = e->word ? json_incref(e->word)
                               : jp_tpl_string_new(e->text, strlen(e->text));
                return v->j ? 0 : jp_tpl_error(rs, "out of memory");
            }

            return 0;
        }
        break;

    case JP_TPL_R_INDEX:
    case JP_TPL_R_KEY:
    case JP_TPL_R_FIRST:
    case JP_TPL_R_LAST:
        f = jp_tpl_each_frame(rs);
        if (f == NULL || e->nseg > 1) {
            return 0;
        }

        if (e->root == JP_TPL_R_INDEX) {
            v->j = json_integer((json_int_t) f->index);

        } else if (e->root == JP_TPL_R_KEY) {
            /* jPulse sets @key for objects only: an outer loop's shows
             * through an array loop */
            while (f != NULL && (!f->each || f->key == NULL)) {
                f = f->up;
            }

            /* the keys of a request object are request data too */
            v->j = f ? json_string_nocheck(f->key) : json_null();
            v->taint = f ? f->taint : 0;

        } else if (e->root == JP_TPL_R_FIRST) {
            v->j = json_boolean(f->index == 0);

        } else {
            v->j = json_boolean(f->index + 1 == f->count);
        }

        return v->j ? 0 : jp_tpl_error(rs, "out of memory");

    default:
        rn = e->rname != JP_TPL_RN_NONE ? e->rname : jp_tpl_rname(e);

        /* jPulse: a "vars" of a #with object or of include arguments
         * replaces vars inside */
        f = NULL;
        if (rn == JP_TPL_RN_VARS) {
            for (f = rs->frame; f != NULL; f = f->up) {
                if (f->obj != NULL && json_object_get(f->obj, "vars")) {
                    break;
                }
            }
        }

        if (f == NULL && rn == JP_TPL_RN_VARS) {
            j = jp_tpl_vars(rs);
            if (j == NULL) {
                return 0;
            }

            /* the context's until a let copies it */
            fixed = (rs->vars == NULL);

            /* false: holds request data by identity, told per value */
            if (e->nseg > 1) {
                taint = json_is_true(json_object_get(rs->vars_taint,
                                                     e->seg[1].name));
            } else {
                taint = json_object_size(rs->vars_taint) > 0;
            }

            break;
        }

        for (f = rs->frame; f != NULL; f = f->up) {
            if (f->obj != NULL) {
                j = jp_tpl_get(rs, f->obj, &e->seg[0], f->fixed);
                if (j != NULL) {
                    taint = f->taint
                            || json_object_get(f->tainted, name) != NULL;
                    fixed = f->fixed;
                    break;
                }
            }
        }

        /* components: what this render registered, over ctx's {} */
        if (j == NULL && rs->components != NULL
            && strcmp(name, "components") == 0)
        {
            j = rs->components;
        }

        if (j == NULL) {
            j = jp_tpl_get(rs, rs->ctx, &e->seg[0], 1);
            taint = (j != NULL && rn == JP_TPL_RN_URL);
            fixed = 1;

            if (j != NULL && rn == JP_TPL_RN_APPCLUSTER) {
                rs->uses |= JP_TPL_USES_REQUEST;

            } else if (j != NULL
                       && (rn == JP_TPL_RN_USER
                           || (rn == JP_TPL_RN_USER_OTHER
                               && (rs->flags & JP_TPL_USER_DYNAMIC))))
            {
                rs->uses |= JP_TPL_USES_USER;
            }
        }

        if (j == NULL && rn == JP_TPL_RN_I18N) {
            j = rs->i18n;
        }

        /* R13: a simple name whose value is null is its own text too */
        if (json_is_null(j) && e->nseg == 1) {
            j = NULL;
        }

        if (j == NULL) {
            if (literal && e->lit != NULL) {
                v->j = json_incref(e->lit);
                return 0;
            }

            if (literal && !(rs->flags & JP_TPL_STRICT)) {
                v->j = e->word ? json_incref(e->word)
                               : jp_tpl_string_new(e->text, strlen(e->text));
                return v->j ? 0 : jp_tpl_error(rs, "out of memory");
            }

            return 0;
        }
    }

    for (i = 1; i < e->nseg && j != NULL; i++) {
        if (json_is_object(j)) {
            j = jp_tpl_get(rs, j, &e->seg[i], fixed);

        } else if (json_is_array(j) && e->seg[i].index >= 0) {
            j = json_array_get(j, e->seg[i].index);

        } else if (strcmp(e->seg[i].name, "length") == 0 && i + 1 == e->nseg
                   && (json_is_array(j) || json_is_string(j)))
        {
            k = json_integer(json_is_array(j) ? json_array_size(j)
                                              : json_string_length(j));
            v->j = k;
            return k ? 0 : jp_tpl_error(rs, "out of memory");

        } else {
            j = NULL;
        }
    }

    /*
     * borrowed: the caller uses the value before anything else runs (no
     * let can drop it), or it is the context's, which outlives the render
     */
    if (want > 1 || (want && fixed)) {
        v->j = j;
        *borrow = 1;

    } else {
        v->j = json_incref(j);
    }

    v->taint = taint || (j != NULL && jp_tpl_ptrset_has(&rs->req, j));
    rs->fixed = fixed;

    if (v->taint) {
        rs->uses |= jp_tpl_url_part(e) ? JP_TPL_USES_URL_PATH
                                       : JP_TPL_USES_REQUEST;
    }

    return 0;
}


static int
jp_tpl_lookup(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e, jp_tpl_val_t *v,
    int literal)
{
    int  borrow;

    borrow = 0;

    return jp_tpl_lookup_ref(rs, e, v, literal, &borrow);
}


/* Evaluates k=v into rs->hash / rs->hash_taint (NULL when there are none). */
int
jp_tpl_eval_hash(jp_tpl_rs_t *rs, const jp_tpl_hash_t *h, unsigned n,
    json_t **obj, json_t **taint, unsigned depth)
{
    unsigned      i;
    jp_tpl_val_t  v;

    *obj = NULL;
    *taint = NULL;

    if (n == 0) {
        return 0;
    }

    *obj = json_object();
    *taint = json_object();

    if (*obj == NULL || *taint == NULL) {
        return jp_tpl_error(rs, "out of memory");
    }

    for (i = 0; i < n; i++) {
        if (jp_tpl_eval(rs, h[i].val, &v, depth + 1) != 0) {
            return -1;
        }

        if (json_object_set_new(*obj, h[i].key,
                                v.j ? v.j : json_null()) != 0
            || (v.taint && json_object_set(*taint, h[i].key,
                                           json_true()) != 0))
        {
            return jp_tpl_error(rs, "out of memory");
        }
    }

    return 0;
}


/*
 * Every string a call computes counts: each is within the page's limit,
 * but a loop (iterations, calls) of copies of a large one is not, and
 * would hold a worker for minutes. Past the limit the render fails as
 * a page that is too large does.
 */
static int
jp_tpl_work(jp_tpl_rs_t *rs, const jp_tpl_val_t *v)
{
    if (!json_is_string(v->j)) {
        return 0;
    }

    rs->work += json_string_length(v->j);

    if (rs->work > rs->max_work) {
        rs->out->failed = JP_TPL_BUF_OVER;
        return -1;
    }

    return 0;
}


int
jp_tpl_eval(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e, jp_tpl_val_t *v,
    unsigned depth)
{
    int            rc, borrow[JP_TPL_ARGS_MAX];
    size_t         i, k, n;
    json_t        *hash, *htaint, *sh, *st;
    jp_tpl_buf_t   tmp, *out;
    jp_tpl_val_t   args[JP_TPL_ARGS_MAX];

    v->j = NULL;
    v->taint = 0;

    switch (e->kind) {

    case JP_TPL_E_LIT:
        v->j = json_incref(e->lit);
        return 0;

    case JP_TPL_E_PATH:
        return jp_tpl_lookup(rs, e, v, 1);

    case JP_TPL_E_ERROR:
        return jp_tpl_error(rs, "%s", e->text);

    case JP_TPL_E_COMPONENT:
        /* as a value: render into a string */
        jp_tpl_buf_init(&tmp, jp_tpl_room(rs->out));
        out = rs->out;
        rs->out = &tmp;
        rc = jp_tpl_component(rs, e);
        rs->out = out;

        if (tmp.failed) {
            rs->out->failed = tmp.failed;
            rc = -1;

        } else if (rc == 0) {
            v->j = jp_tpl_string_new(tmp.data ? tmp.data : "", tmp.len);
            rc = v->j ? jp_tpl_work(rs, v) : jp_tpl_error(rs, "out of memory");
        }

        jp_tpl_buf_free(&tmp);
        return rc;

    default:
        break;
    }

    n = e->nargs;
    hash = NULL;
    htaint = NULL;
    rc = -1;

    for (i = 0; i < n; i++) {
        /* the context's values need no reference: it outlives the call */
        borrow[i] = 1;

        if (e->args[i]->kind == JP_TPL_E_PATH) {
            rc = jp_tpl_lookup_ref(rs, e->args[i], &args[i], 1, &borrow[i]);

        } else if (e->args[i]->kind == JP_TPL_E_LIT) {
            /* the program's, which outlives the render */
            args[i].j = e->args[i]->lit;
            args[i].taint = 0;
            rc = 0;

        } else {
            borrow[i] = 0;
            rc = jp_tpl_eval(rs, e->args[i], &args[i], depth + 1);
        }

        if (rc != 0) {
            rc = -1;
            goto done;
        }

        /* data helper: a helper's null (json.parse of bad JSON) is the
         * word "null" as an argument: jPulse splices it in as text */
        if (e->args[i]->kind == JP_TPL_E_CALL && json_is_null(args[i].j)) {
            json_decref(args[i].j);
            args[i].j = json_string("null");
        }
    }

    rc = -1;

    if (e->nhash != 0
        && jp_tpl_eval_hash(rs, e->hash, e->nhash, &hash, &htaint, depth)
           != 0)
    {
        goto done;
    }

    sh = rs->hash;
    st = rs->hash_taint;
    rs->hash = hash;
    rs->hash_taint = htaint;

    if (e->helper->id == JP_TPL_H_INCLUDE) {
        jp_tpl_buf_init(&tmp, jp_tpl_room(rs->out));
        out = rs->out;
        rs->out = &tmp;
        rc = jp_tpl_include(rs, e, args, n);
        rs->out = out;

        if (tmp.failed) {
            rs->out->failed = tmp.failed;
            rc = -1;

        } else if (rc == 0) {
            v->j = jp_tpl_string_new(tmp.data ? tmp.data : "", tmp.len);
            rc = v->j ? 0 : jp_tpl_error(rs, "out of memory");
        }

        jp_tpl_buf_free(&tmp);

    } else {
        rc = e->helper->fn(rs, e, args, n, v);
    }

    /* an argument given back was not computed (string.default) */
    for (k = 0; rc == 0 && k < n && args[k].j != v->j; k++) {
        /* void */
    }

    if (rc == 0 && k == n) {
        rc = jp_tpl_work(rs, v);
    }

    rs->hash = sh;
    rs->hash_taint = st;

    /* a value computed from request data is request data, unless the
     * helper escaped it: escaping it again would show "&amp;lt;" */
    if (e->helper->id != JP_TPL_H_SAFE) {
        for (k = 0; rc == 0 && k < n; k++) {
            v->taint |= args[k].taint;
        }

        if (htaint != NULL && json_object_size(htaint) > 0) {
            v->taint = 1;
        }
    }

done:

    while (i-- > 0) {
        if (!borrow[i]) {
            jp_tpl_val_free(&args[i]);
        }
    }

    json_decref(hash);
    json_decref(htaint);

    if (rc != 0) {
        jp_tpl_val_free(v);
    }

    return rc;
}


/*
 * perf: jp_tpl_buf_add() inlined for what fits in the room already
 * allocated (nearly every append of a render), the same checks in order
 */
static inline int
jp_tpl_put(jp_tpl_buf_t *b, const char *p, size_t len)
{
    if (b->failed || len > b->max || b->len > b->max - len
        || b->len + len + 1 > b->cap)
    {
        return jp_tpl_buf_add(b, p, len);
    }

    memcpy(b->data + b->len, p, len);
    b->len += len;
    b->data[b->len] = '\0';

    return 0;
}


static int
jp_tpl_emit(jp_tpl_rs_t *rs, jp_tpl_val_t *v, unsigned raw)
{
    int      rc;
    char    *s, num[64];
    size_t   len;

    if (v->j == NULL || json_is_null(v->j)) {
        return 0;
    }

    if (json_is_string(v->j)) {
        s = (char *) json_string_value(v->j);
        len = json_string_length(v->j);

    } else if (json_is_number(v->j)) {
        /* perf: as jp_tpl_to_string() prints it, without the copy */
        jp_tpl_format_number(jp_tpl_number(v->j), num, sizeof(num));
        s = num;
        len = strlen(num);

    } else {
        s = jp_tpl_to_string(v->j, &len);
        if (s == NULL) {
            rs->out->failed = JP_TPL_BUF_NOMEM;
            return -1;
        }
    }

    if (v->taint || ((rs->flags & JP_TPL_STRICT) && !raw)) {
        rc = jp_tpl_buf_add_html(rs->out, s, len);

    } else {
        rc = jp_tpl_put(rs->out, s, len);
    }

    if (s != num && !json_is_string(v->j)) {
        free(s);
    }

    return rc;
}


/* every value of v counts as an iteration: -1 past the limit */
static int
jp_tpl_charge(jp_tpl_rs_t *rs, json_t *v)
{
    size_t       i;
    json_t      *e;
    const char  *k;

    if (++rs->iterations > rs->max_iterations) {
        return -1;
    }

    if (json_is_array(v)) {
        json_array_foreach(v, i, e) {
            if (jp_tpl_charge(rs, e) != 0) {
                return -1;
            }
        }

    } else if (json_is_object(v)) {
        json_object_foreach(v, k, e) {
            if (jp_tpl_charge(rs, e) != 0) {
                return -1;
            }
        }
    }

    return 0;
}


/*
 * The render's own vars, made at the first let: the context's, all of it
 * copied (lets write into vars in place).
 */
static int
jp_tpl_vars_init(jp_tpl_rs_t *rs)
{
    json_t  *src;

    if (rs->vars == NULL) {
        src = json_object_get(rs->ctx, "vars");
        if (json_is_object(src)) {
            if (jp_tpl_charge(rs, src) != 0) {
                return jp_tpl_error(rs, "more than %lu iterations",
                                    rs->max_iterations);
            }

            rs->vars = json_deep_copy(src);

        } else {
            rs->vars = json_object();
        }

        if (rs->vars == NULL) {
            return jp_tpl_error(rs, "out of memory");
        }
    }

    if (rs->vars_taint == NULL) {
        rs->vars_taint = json_object();
        if (rs->vars_taint == NULL) {
            return jp_tpl_error(rs, "out of memory");
        }
    }

    return 0;
}


/*
 * {{let a=1 b.c="x"}}: sets vars.a and vars.b.c, walking or making the
 * objects of a dotted path in place (a value on the way that is no object
 * is replaced by one), as jPulse does; what vars holds is its own (values
 * are stored as copies), and a #let scope saved by jp_tpl_block() shares
 * its objects on purpose (jPulse's leak out of #let). The copies are counted
 * as iterations, so a loop cannot copy a large object without bound.
 */
static int
jp_tpl_let(jp_tpl_rs_t *rs, const jp_tpl_node_t *n)
{
    char          *key, *dot, *s;
    unsigned       i;
    json_t        *o, *next, *tv, *c;
    jp_tpl_val_t   v;

    if (jp_tpl_vars_init(rs) != 0) {
        return -1;
    }

    for (i = 0; i < n->nhash; i++) {
        /* jPulse: "_" keys are the helper's own, never variables */
        if (n->hash[i].key[0] == '_') {
            continue;
        }

        if (jp_tpl_eval(rs, n->hash[i].val, &v, 0) != 0) {
            return -1;
        }

        key = strdup(n->hash[i].key);
        if (key == NULL) {
            jp_tpl_val_free(&v);
            return jp_tpl_error(rs, "out of memory");
        }

        o = rs->vars;
        s = key;

        while ((dot = strchr(s, '.')) != NULL) {
            *dot = '\0';
            next = json_object_get(o, s);

            /* in place: vars owns its objects (values are copies) */
            if (!json_is_object(next)) {
                next = json_object();

                if (next == NULL || json_object_set_new(o, s, next) != 0) {
                    free(key);
                    jp_tpl_val_free(&v);
                    return jp_tpl_error(rs, "out of memory");
                }
            }

            o = next;
            s = dot + 1;
        }

        dot = strchr(key, '.');
        if (dot != NULL) {
            *dot = '\0';
        }

        /*
         * A tainted value is stored as a copy, which identity
         * (jp_tpl_is_req()) no longer finds: it taints all of vars.a.
         */
        tv = NULL;
        if (v.taint) {
            tv = json_true();

        } else if (dot != NULL
                   && json_object_get(rs->vars_taint, key) != NULL)
        {
            tv = json_true();

        } else if (dot == NULL) {
            json_object_del(rs->vars_taint, key);
        }

        /*
         * Objects and arrays are stored as deep copies, as jPulse's
         * arguments are: vars never shares a part of the context (shared
         * by concurrent renders) and never holds itself ({{let a.b=(vars)}}
         * would be a cycle jansson never frees), so lets may write into it
         * in place. Every value copied counts.
         */
        if (json_is_object(v.j) || json_is_array(v.j)) {
            if (jp_tpl_charge(rs, v.j) != 0) {
                free(key);
                json_decref(tv);
                jp_tpl_val_free(&v);
                return jp_tpl_error(rs, "more than %lu iterations",
                                    rs->max_iterations);
            }

            c = json_deep_copy(v.j);
            json_decref(v.j);
            v.j = c;

            if (c == NULL) {
                free(key);
                json_decref(tv);
                return jp_tpl_error(rs, "out of memory");
            }
        }

        if (json_object_set_new(o, s, v.j ? v.j : json_null()) != 0
            || (tv != NULL && json_object_set(rs->vars_taint, key, tv) != 0))
        {
            free(key);
            return jp_tpl_error(rs, "out of memory");
        }

        free(key);
    }

    return 0;
}


/* a key JavaScript orders first: a canonical array index */
static int
jp_tpl_index_key(const char *k, unsigned long *idx)
{
    unsigned long  n;

    if (k[0] == '0') {
        *idx = 0;
        return k[1] == '\0';
    }

    for (n = 0; *k >= '0' && *k <= '9'; k++) {
        n = n * 10 + (*k - '0');
        if (n >= 4294967295UL) {
            return 0;
        }
    }

    *idx = n;

    return *k == '\0' && n > 0;
}


typedef struct {
    unsigned long   idx;
    const char     *key;
} jp_tpl_ikey_t;


static int
jp_tpl_ikey_cmp(const void *a, const void *b)
{
    const jp_tpl_ikey_t  *x, *y;

    x = a;
    y = b;

    return (x->idx > y->idx) - (x->idx < y->idx);
}


/*
 * A copy of o in JavaScript's property order, which #each walks (jPulse's
 * Object.entries): integer-like keys first, ascending, then the others
 * in insertion order (jansson's).
 */
static json_t *
jp_tpl_js_order(json_t *o)
{
    size_t          n, i;
    json_t         *c, *val;
    const char     *key;
    unsigned long   idx;
    jp_tpl_ikey_t  *ik;

    n = 0;
    json_object_foreach(o, key, val) {
        n += jp_tpl_index_key(key, &idx);
    }

    if (n == 0) {
        return json_copy(o);
    }

    ik = malloc(n * sizeof(jp_tpl_ikey_t));
    c = json_object();

    if (ik == NULL || c == NULL) {
        free(ik);
        json_decref(c);
        return NULL;
    }

    i = 0;
    json_object_foreach(o, key, val) {
        if (jp_tpl_index_key(key, &ik[i].idx)) {
            ik[i++].key = key;
        }
    }

    qsort(ik, n, sizeof(jp_tpl_ikey_t), jp_tpl_ikey_cmp);

    for (i = 0; i < n; i++) {
        if (json_object_set(c, ik[i].key, json_object_get(o, ik[i].key))
            != 0)
        {
            goto failed;
        }
    }

    json_object_foreach(o, key, val) {
        if (!jp_tpl_index_key(key, &idx) && json_object_set(c, key, val) != 0)
        {
            goto failed;
        }
    }

    free(ik);
    return c;

failed:

    free(ik);
    json_decref(c);
    return NULL;
}


static int
jp_tpl_each(jp_tpl_rs_t *rs, const jp_tpl_node_t *n, jp_tpl_val_t *v)
{
    int              rc;
    json_t          *obj, *val;
    const char      *key;
    jp_tpl_frame_t   f;

    memset(&f, 0, sizeof(f));
    f.up = rs->frame;
    f.each = 1;
    f.self.taint = v->taint;
    f.taint = v->taint;
    f.fixed = n->expr != NULL && n->expr->kind == JP_TPL_E_PATH
              && rs->fixed;

    rc = 0;
    obj = NULL;

    if (json_is_array(v->j)) {
        f.count = json_array_size(v->j);

    } else if (json_is_object(v->j)) {
        /* a copy: the body may "let" into the object being walked */
        obj = jp_tpl_js_order(v->j);
        if (obj == NULL) {
            return jp_tpl_error(rs, "out of memory");
        }
        f.count = json_object_size(obj);

    } else {
        return 0;
    }

    rs->frame = &f;

    if (obj != NULL) {
        json_object_foreach(obj, key, val) {
            if (++rs->iterations > rs->max_iterations) {
                rc = jp_tpl_error(rs, "more than %lu iterations",
                                  rs->max_iterations);
                break;
            }

            f.self.j = val;
            f.key = key;

            if (jp_tpl_nodes(rs, n->body) != 0) {
                rc = -1;
                break;
            }

            f.index++;
        }

    } else {
        for ( /* void */ ; f.index < f.count; f.index++) {
            if (++rs->iterations > rs->max_iterations) {
                rc = jp_tpl_error(rs, "more than %lu iterations",
                                  rs->max_iterations);
                break;
            }

            f.self.j = json_array_get(v->j, f.index);

            if (f.self.j == NULL) {
                break;
            }

            if (jp_tpl_nodes(rs, n->body) != 0) {
                rc = -1;
                break;
            }
        }
    }

    rs->frame = f.up;
    json_decref(obj);

    return rc;
}


static int
jp_tpl_block(jp_tpl_rs_t *rs, const jp_tpl_node_t *n)
{
    int             rc, t, borrow;
    json_t         *saved, *saved_taint;
    jp_tpl_val_t    v;
    jp_tpl_frame_t  f;

    switch (n->block) {

    case JP_TPL_B_COMPONENT:
        return jp_tpl_define(rs, n) == 0 ? 0 : jp_tpl_error_comment(rs, n);

    case JP_TPL_B_LET:
        rs->mutations++;

        /*
         * A shallow copy is the saved scope, as jPulse's: a let into an
         * object vars had before shows after {{/let}}, new names do not.
         * It is counted: vars may have many keys.
         */
        if (jp_tpl_vars_init(rs) != 0) {
            return jp_tpl_error_comment(rs, n);
        }

        if (rs->vars != NULL) {
            rs->iterations += json_object_size(rs->vars)
                              + json_object_size(rs->vars_taint);
            if (rs->iterations > rs->max_iterations) {
                jp_tpl_error(rs, "more than %lu iterations",
                             rs->max_iterations);
                return jp_tpl_error_comment(rs, n);
            }
        }

        saved = rs->vars ? json_copy(rs->vars) : NULL;
        saved_taint = rs->vars_taint ? json_copy(rs->vars_taint) : NULL;

        if ((rs->vars != NULL && saved == NULL)
            || (rs->vars_taint != NULL && saved_taint == NULL))
        {
            json_decref(saved);
            json_decref(saved_taint);
            rs->out->failed = JP_TPL_BUF_NOMEM;
            return -1;
        }

        rc = 0;
        if (jp_tpl_let(rs, n) != 0) {
            rc = jp_tpl_error_comment(rs, n);

        } else {
            rc = jp_tpl_nodes(rs, n->body);
        }

        json_decref(rs->vars);
        json_decref(rs->vars_taint);
        rs->vars = saved;
        rs->vars_taint = saved_taint;

        return rc;

    default:
        break;
    }

    /*
     * {{#if}}, {{#each}} with no argument: undefined. perf: a path's
     * value without a reference where none is needed: #if and #unless
     * are done with it before their body runs, other blocks use it
     * through theirs, which only the context's values outlive
     */
    v.j = NULL;
    v.taint = 0;
    borrow = 0;
    rc = 0;

    if (n->expr == NULL) {
        /* void */

    } else if (n->expr->kind == JP_TPL_E_PATH) {
        borrow = (n->block == JP_TPL_B_IF || n->block == JP_TPL_B_UNLESS)
                 ? 2 : 1;
        rc = jp_tpl_lookup_ref(rs, n->expr, &v, 1, &borrow);

    } else {
        rc = jp_tpl_eval(rs, n->expr, &v, 0);
    }

    if (rc != 0) {
        return jp_tpl_error_comment(rs, n);
    }

    switch (n->block) {

    case JP_TPL_B_EACH:
        rc = jp_tpl_each(rs, n, &v);
        if (rc != 0 && !rs->out->failed) {
            rc = jp_tpl_error_comment(rs, n);
        }
        break;

    case JP_TPL_B_WITH:
        /* jPulse: nothing unless a truthy object (an array counts, its
         * indexes becoming roots no expression can name) */
        rc = 0;
        if (!json_is_object(v.j) && !json_is_array(v.j)) {
            break;
        }

        memset(&f, 0, sizeof(f));
        f.up = rs->frame;
        f.obj = json_is_object(v.j) ? v.j : NULL;
        f.taint = v.taint;
        f.fixed = n->expr != NULL && n->expr->kind == JP_TPL_E_PATH
              && rs->fixed;

        rs->frame = &f;
        rc = jp_tpl_nodes(rs, n->body);
        rs->frame = f.up;
        break;

    default:
        t = jp_tpl_truthy(v.j);
        if (n->block == JP_TPL_B_UNLESS) {
            t = !t;
        }

        rc = jp_tpl_nodes(rs, t ? n->body : n->inverse);
    }

    if (!borrow) {
        jp_tpl_val_free(&v);
    }

    return rc;
}


static int
jp_tpl_out(jp_tpl_rs_t *rs, const jp_tpl_node_t *n)
{
    int                  rc, borrow;
    size_t               i, nargs;
    json_t              *sh, *st, *hash, *htaint;
    jp_tpl_val_t         v, args[JP_TPL_ARGS_MAX];
    const jp_tpl_expr_t *e;

    e = n->expr;
    borrow = 0;

    if (e->kind == JP_TPL_E_PATH) {
        /* written out before anything else runs: no reference needed */
        borrow = 2;
        rc = jp_tpl_lookup_ref(rs, e, &v, 0, &borrow);

    } else if (e->kind == JP_TPL_E_COMPONENT) {
        if (jp_tpl_component(rs, e) == 0) {
            return 0;
        }

        return rs->out->failed ? -1 : jp_tpl_error_comment(rs, n);

    } else if (e->kind == JP_TPL_E_CALL && e->helper->id == JP_TPL_H_INCLUDE) {
        /* straight into the page, not through a string */
        nargs = e->nargs;
        rc = 0;

        for (i = 0; i < nargs && rc == 0; i++) {
            rc = jp_tpl_eval(rs, e->args[i], &args[i], 1);
        }

        if (rc != 0) {
            nargs = i - 1;
        }

        hash = htaint = NULL;

        if (rc == 0) {
            rc = jp_tpl_eval_hash(rs, e->hash, e->nhash, &hash, &htaint, 0);
        }

        if (rc == 0) {
            sh = rs->hash;
            st = rs->hash_taint;
            rs->hash = hash;
            rs->hash_taint = htaint;

            rc = jp_tpl_include(rs, e, args, nargs);

            rs->hash = sh;
            rs->hash_taint = st;
        }

        while (nargs-- > 0) {
            jp_tpl_val_free(&args[nargs]);
        }

        json_decref(hash);
        json_decref(htaint);

        if (rc != 0 && !rs->out->failed) {
            return jp_tpl_error_comment(rs, n);
        }

        return rc;

    } else {
        rc = jp_tpl_eval(rs, e, &v, 0);
    }

    if (rc != 0) {
        return jp_tpl_error_comment(rs, n);
    }

    rc = jp_tpl_emit(rs, &v, n->raw);

    if (!borrow) {
        jp_tpl_val_free(&v);
    }

    return rc;
}


/* one node: -1 only when the render must stop */
int
jp_tpl_node_render(jp_tpl_rs_t *rs, const jp_tpl_node_t *n)
{
    if (rs->out->failed) {
        return -1;
    }

    switch (n->type) {

    case JP_TPL_N_TEXT:
        return jp_tpl_buf_add(rs->out, n->text, n->len);

    case JP_TPL_N_OUT:
        if (jp_tpl_out(rs, n) != 0 && rs->out->failed) {
            return -1;
        }
        break;

    case JP_TPL_N_LET:
        rs->mutations++;

        if (jp_tpl_let(rs, n) != 0 && jp_tpl_error_comment(rs, n) != 0) {
            return -1;
        }
        break;

    default:
        if (jp_tpl_block(rs, n) != 0 && rs->out->failed) {
            return -1;
        }
    }

    return rs->out->failed ? -1 : 0;
}


int
jp_tpl_nodes(jp_tpl_rs_t *rs, const jp_tpl_node_t *n)
{
    for ( /* void */ ; n != NULL; n = n->next) {
        /* perf: text, most nodes, without the call (same result) */
        if (n->type == JP_TPL_N_TEXT) {
            if (jp_tpl_put(rs->out, n->text, n->len) != 0) {
                return -1;
            }

            continue;
        }

        /* perf: and {{expr}}, as jp_tpl_node_render() does it */
        if (n->type == JP_TPL_N_OUT && !rs->out->failed) {
            (void) jp_tpl_out(rs, n);

            if (rs->out->failed) {
                return -1;
            }

            continue;
        }

        if (jp_tpl_node_render(rs, n) != 0) {
            return -1;
        }
    }

    return rs->out->failed ? -1 : 0;
}


int
jp_tpl_render(const jp_tpl_program_t *prog, json_t *ctx,
    const jp_tpl_host_t *host, const jp_tpl_limits_t *limits,
    unsigned flags, jp_tpl_buf_t *out, jp_tpl_error_t *err)
{
    unsigned  uses;

    return jp_tpl_render_uses(prog, ctx, host, limits, flags, out, err,
                              &uses);
}


int
jp_tpl_render_uses(const jp_tpl_program_t *prog, json_t *ctx,
    const jp_tpl_host_t *host, const jp_tpl_limits_t *limits,
    unsigned flags, jp_tpl_buf_t *out, jp_tpl_error_t *err,
    unsigned *uses)
{
    int          rc;
    jp_tpl_rs_t  rs;

    rc = jp_tpl_rs_init(&rs, prog, ctx, host, limits, flags, out, err);

    if (rc == 0) {
        rc = jp_tpl_nodes(&rs, prog->root);
    }

    *uses = rs.uses;

    return jp_tpl_rs_done(&rs, prog, rc);
}


/* the state of one render of prog; -1: no memory (out->failed is set) */
int
jp_tpl_rs_init(jp_tpl_rs_t *rs, const jp_tpl_program_t *prog, json_t *ctx,
    const jp_tpl_host_t *host, const jp_tpl_limits_t *limits,
    unsigned flags, jp_tpl_buf_t *out, jp_tpl_error_t *err)
{
    /* perf: all but the lookup cache's entries (lc_obj says which are
     * set): 8 KB the render may never read */
    memset(rs, 0, offsetof(jp_tpl_rs_t, lc));
    memset((char *) rs + offsetof(jp_tpl_rs_t, lc) + sizeof(rs->lc), 0,
           sizeof(jp_tpl_rs_t) - offsetof(jp_tpl_rs_t, lc) - sizeof(rs->lc));
    rs->host = host;
    rs->ctx = json_is_object(ctx) ? ctx : NULL;
    rs->i18n = prog->i18n;
    rs->flags = flags;
    rs->out = out;
    rs->err = err;
    rs->max_depth = JP_TPL_DEFAULT_DEPTH;
    rs->max_iterations = JP_TPL_DEFAULT_ITERATIONS;

    if (limits != NULL) {
        if (limits->max_depth) {
            rs->max_depth = limits->max_depth < JP_TPL_DEPTH_CAP
                            ? limits->max_depth : JP_TPL_DEPTH_CAP;
        }

        if (limits->max_iterations) {
            rs->max_iterations = limits->max_iterations;
        }

        if (limits->max_output && limits->max_output < out->max) {
            out->max = limits->max_output;
        }
    }

    if (out->max == 0) {
        out->max = JP_TPL_DEFAULT_OUTPUT;
    }

    rs->work = 0;
    rs->max_work = out->max > SIZE_MAX / JP_TPL_WORK_PAGES
                   ? SIZE_MAX : out->max * JP_TPL_WORK_PAGES;

    jp_tpl_buf_reserve(out);

    if (jp_tpl_req_init(rs) != 0) {
        out->failed = JP_TPL_BUF_NOMEM;
        return -1;
    }

    return 0;
}


/* frees rs; rc, or -1 with err filled when the output failed */
int
jp_tpl_rs_done(jp_tpl_rs_t *rs, const jp_tpl_program_t *prog, int rc)
{
    size_t           i;
    jp_tpl_buf_t    *out;
    jp_tpl_error_t  *err;

    out = rs->out;
    err = rs->err;

    if (rc != 0 || out->failed) {
        rc = -1;

        if (err != NULL) {
            memset(err, 0, sizeof(jp_tpl_error_t));
            snprintf(err->file, sizeof(err->file), "%s", prog->path);
            if (out->failed == JP_TPL_BUF_OVER) {
                snprintf(err->message, sizeof(err->message),
                         "output larger than %zu bytes", out->max);
            } else {
                snprintf(err->message, sizeof(err->message),
                         "out of memory");
            }
        }
    }

    for (i = 0; i < rs->nmemo; i++) {
        free(rs->memo[i].path);
        jp_tpl_free(rs->memo[i].prog);
    }

    jp_tpl_components_free(rs);

    for (i = 0; i < rs->ncomps; i++) {
        free(rs->comps[i].name);
    }

    free(rs->memo);
    free(rs->comps);
    json_decref(rs->vars);
    json_decref(rs->vars_taint);
    free(rs->req.slots);

    return rc;
}
