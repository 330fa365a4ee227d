/*
 * file.include and components: loading and compiling included files once
 * per render (or taking them from the host's cache), the depth, fan-out and
 * circular-call limits, and the per-render component registry.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"


/* "ns.my-card" -> "ns.myCard" (malloc()ed) */
static char *
jp_tpl_camel(const char *s)
{
    char    *r;
    size_t   i, n;

    r = malloc(strlen(s) + 1);
    if (r == NULL) {
        return NULL;
    }

    for (i = 0, n = 0; s[i] != '\0'; i++) {
        if (s[i] == '-' && s[i + 1] >= 'a' && s[i + 1] <= 'z') {
            r[n++] = s[++i] - 'a' + 'A';
            continue;
        }

        r[n++] = s[i];
    }

    r[n] = '\0';

    return r;
}


const char *
jp_tpl_jail(jp_tpl_rs_t *rs, json_t *path, char *buf, size_t size)
{
    if (!json_is_string(path)) {
        jp_tpl_error(rs, "path must be a string");
        return NULL;
    }

    if (jp_tpl_path_check(json_string_value(path), json_string_length(path),
                          buf, size) != 0)
    {
        jp_tpl_error(rs, "path not allowed");
        return NULL;
    }

    return buf;
}


static const jp_tpl_program_t *
jp_tpl_load(jp_tpl_rs_t *rs, const char *path)
{
    char                    *src;
    size_t                   i, len;
    jp_tpl_memo_t           *memo;
    jp_tpl_error_t           err;
    jp_tpl_program_t        *prog;
    const jp_tpl_program_t  *cached;

    for (i = 0; i < rs->nmemo; i++) {
        if (strcmp(rs->memo[i].path, path) == 0) {
            return rs->memo[i].prog;
        }
    }

    if (rs->host != NULL && rs->host->program != NULL) {
        memset(&err, 0, sizeof(err));

        cached = rs->host->program(rs->host->data, path, rs->i18n, &err);
        if (cached != NULL) {
            if (rs->rec != NULL) {
                jp_tpl_rec_hold(rs, cached);
            }

            return cached;
        }

        if (err.line) {
            jp_tpl_error(rs, "%s:%u:%u: %s", err.file, err.line, err.column,
                         err.message);
        } else {
            jp_tpl_error(rs, "file not found: %s", path);
        }

        return NULL;
    }

    if (rs->nmemo >= JP_TPL_MEMO_MAX) {
        jp_tpl_error(rs, "more than %d files included", JP_TPL_MEMO_MAX);
        return NULL;
    }

    if (rs->host == NULL || rs->host->read == NULL
        || rs->host->read(rs->host->data, path, &src, &len) != 0)
    {
        jp_tpl_error(rs, "file not found: %s", path);
        return NULL;
    }

    prog = jp_tpl_compile_include(src, len, path, rs->i18n, &err);
    free(src);

    if (prog == NULL) {
        jp_tpl_error(rs, "%s:%u:%u: %s", err.file, err.line, err.column,
                     err.message);
        return NULL;
    }

    memo = realloc(rs->memo, (rs->nmemo + 1) * sizeof(jp_tpl_memo_t));
    if (memo == NULL || (memo[rs->nmemo].path = strdup(path)) == NULL) {
        if (memo != NULL) {
            rs->memo = memo;
        }
        jp_tpl_free(prog);
        jp_tpl_error(rs, "out of memory");
        return NULL;
    }

    rs->memo = memo;
    memo[rs->nmemo++].prog = prog;

    return prog;
}


/* {{file.include "path" k=v}}: k=v are visible to the included file */
int
jp_tpl_include(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e, jp_tpl_val_t *args,
    size_t nargs)
{
    int                      rc;
    char                     buf[JP_TPL_PATH_MAX];
    const char              *path;
    jp_tpl_frame_t           f;
    const jp_tpl_program_t  *prog;

    if (nargs < 1) {
        return jp_tpl_error(rs, "file.include needs a path");
    }

    path = jp_tpl_jail(rs, args[0].j, buf, sizeof(buf));
    if (path == NULL) {
        return -1;
    }

    if (rs->depth >= rs->max_depth) {
        return jp_tpl_error(rs, "include depth %u exceeded", rs->max_depth);
    }

    /* depth alone allows fan-out^depth includes */
    if (++rs->calls > JP_TPL_CALLS_MAX) {
        return jp_tpl_error(rs, "more than %d includes and component calls",
                            JP_TPL_CALLS_MAX);
    }

    prog = jp_tpl_load(rs, path);
    if (prog == NULL) {
        return -1;
    }

    memset(&f, 0, sizeof(f));
    f.up = rs->frame;
    f.obj = rs->hash;
    f.tainted = rs->hash_taint;

    rs->frame = &f;
    rs->depth++;

    if (rs->rec != NULL && rs->rec_include == e
        && rs->rec_depth + 1 == rs->depth)
    {
        /* the recorder's own node: its parts are recorded one by one */
        rc = jp_tpl_rec_include(rs, prog, &f);

    } else {
        rc = jp_tpl_nodes(rs, prog->root);
    }

    rs->depth--;
    rs->frame = f.up;

    return rc;
}


static void
jp_tpl_collapse(jp_tpl_buf_t *b)
{
    size_t  i, n;
    int     space;

    for (i = 0, n = 0, space = 0; i < b->len; i++) {
        if (b->data[i] == ' ' || b->data[i] == '\t' || b->data[i] == '\n'
            || b->data[i] == '\r')
        {
            space = 1;
            continue;
        }

        if (space && n > 0) {
            b->data[n++] = ' ';
        }

        space = 0;
        b->data[n++] = b->data[i];
    }

    b->len = n;
}


/* {{components.ns.card k=v}} and {{components name=(this)}} */
int
jp_tpl_component(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e)
{
    int                   rc, inl;
    char                 *name;
    size_t                i;
    unsigned              k;
    json_t               *hash, *htaint, *j, *dh, *dt;
    jp_tpl_buf_t          tmp, *out;
    jp_tpl_frame_t        f;
    const jp_tpl_node_t  *def;

    if (jp_tpl_eval_hash(rs, e->hash, e->nhash, &hash, &htaint, 0) != 0) {
        json_decref(hash);
        json_decref(htaint);
        return -1;
    }

    rc = -1;
    name = NULL;
    dh = NULL;
    dt = NULL;

    if (e->text != NULL) {
        name = jp_tpl_camel(e->text);

    } else {
        j = json_object_get(hash, "name");
        if (!json_is_string(j)) {
            jp_tpl_error(rs, "components needs a name");
            goto done;
        }

        name = jp_tpl_camel(json_string_value(j));
    }

    if (name == NULL) {
        jp_tpl_error(rs, "out of memory");
        goto done;
    }

    def = NULL;
    for (i = rs->ncomps; i-- > 0; /* void */) {
        if (strcmp(rs->comps[i].name, name) == 0) {
            def = rs->comps[i].node;
            break;
        }
    }

    if (def == NULL) {
        jp_tpl_error(rs, "component \"%s\" not found", name);
        goto done;
    }

    for (k = 0; k < rs->nactive; k++) {
        if (strcmp(rs->active[k], name) == 0) {
            jp_tpl_error(rs, "circular call of component \"%s\"", name);
            goto done;
        }
    }

    if (rs->depth >= rs->max_depth || rs->nactive >= JP_TPL_DEPTH_CAP) {
        jp_tpl_error(rs, "include depth %u exceeded", rs->max_depth);
        goto done;
    }

    if (++rs->calls > JP_TPL_CALLS_MAX) {
        jp_tpl_error(rs, "more than %d includes and component calls",
                     JP_TPL_CALLS_MAX);
        goto done;
    }

    /* the definition's k=v are defaults for the call's */
    if (jp_tpl_eval_hash(rs, def->hash, def->nhash, &dh, &dt, 0) != 0) {
        goto done;
    }

    if (dh != NULL) {
        if ((hash != NULL && json_object_update(dh, hash) != 0)
            || (htaint != NULL && json_object_update(dt, htaint) != 0))
        {
            jp_tpl_error(rs, "out of memory");
            goto done;
        }

        json_decref(hash);
        json_decref(htaint);
        hash = dh;
        htaint = dt;
        dh = dt = NULL;
    }

    inl = jp_tpl_truthy(json_object_get(hash, "_inline"));

    memset(&f, 0, sizeof(f));
    f.up = rs->frame;
    f.obj = hash;
    f.tainted = htaint;

    out = rs->out;
    if (inl) {
        jp_tpl_buf_init(&tmp, jp_tpl_room(out));
        rs->out = &tmp;
    }

    rs->frame = &f;
    rs->depth++;
    rs->active[rs->nactive++] = name;

    rc = jp_tpl_nodes(rs, def->body);

    rs->nactive--;
    rs->depth--;
    rs->frame = f.up;

    if (inl) {
        rs->out = out;

        if (rc == 0) {
            jp_tpl_collapse(&tmp);
            if (jp_tpl_buf_add(out, tmp.data, tmp.len) != 0) {
                rc = -1;
            }
        }

        if (tmp.failed) {
            out->failed = tmp.failed;
            rc = -1;
        }

        jp_tpl_buf_free(&tmp);
    }

done:

    free(name);
    json_decref(hash);
    json_decref(htaint);
    json_decref(dh);
    json_decref(dt);

    return rc;
}


int
jp_tpl_define(jp_tpl_rs_t *rs, const jp_tpl_node_t *n)
{
    char           *name;
    size_t          i;
    jp_tpl_comp_t  *c;

    rs->mutations++;

    if (rs->rec != NULL) {
        jp_tpl_rec_define(rs, n);
    }

    name = jp_tpl_camel(json_string_value(n->expr->lit));
    if (name == NULL) {
        return jp_tpl_error(rs, "out of memory");
    }

    for (i = 0; i < rs->ncomps; i++) {
        if (strcmp(rs->comps[i].name, name) == 0) {
            free(name);
            rs->comps[i].node = n;
            return 0;
        }
    }

    if (rs->ncomps >= JP_TPL_COMPONENTS_MAX) {
        free(name);
        return jp_tpl_error(rs, "more than %d components",
                            JP_TPL_COMPONENTS_MAX);
    }

    c = realloc(rs->comps, (rs->ncomps + 1) * sizeof(jp_tpl_comp_t));
    if (c == NULL) {
        free(name);
        return jp_tpl_error(rs, "out of memory");
    }

    rs->comps = c;
    c[rs->ncomps].name = name;
    c[rs->ncomps++].node = n;

    return 0;
}
