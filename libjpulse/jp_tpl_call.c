/*
 * file.include and components: loading and compiling included files once
 * per render (or taking them from the host's cache), the depth, fan-out and
 * circular-call limits, and the per-render component registry.
 */

#define _GNU_SOURCE      /* memmem */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl_int.h"


/*
 * A definition's usage name: in each dotted segment a '-' followed by an
 * ASCII letter or digit is dropped and that character upper-cased
 * ("ns.my-card" -> "ns.myCard", "icon-2" -> "icon2", "a--b" -> "a-B").
 * malloc()ed.
 */
char *
jp_tpl_camel(const char *s)
{
    char    *r;
    size_t   i, n;
    char     c;

    r = malloc(strlen(s) + 1);
    if (r == NULL) {
        return NULL;
    }

    for (i = 0, n = 0; s[i] != '\0'; i++) {
        c = s[i + 1];

        if (s[i] == '-' && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
                            || (c >= '0' && c <= '9')))
        {
            r[n++] = (c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c;
            i++;
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


static void
jp_tpl_not_found(jp_tpl_rs_t *rs, const char *path)
{
    jp_tpl_error(rs, "Include file not found: %s (Module not found: view/%s "
                 "(checked site, plugins, and framework paths))", path, path);
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

        cached = rs->host->program(rs->host->data, path, NULL, &err);
        if (cached != NULL) {
            if (rs->rec != NULL) {
                jp_tpl_rec_hold(rs, cached);
            }

            return cached;
        }

        if (err.line) {
            jp_tpl_error(rs, "%s:%u:%u: %s", err.file, err.line, err.column,
                         err.message);

        } else if (err.message[0] != '\0'
                   && strcmp(err.message, "file not found") != 0)
        {
            jp_tpl_error(rs, "%s: %s", path, err.message);

        } else {
            jp_tpl_not_found(rs, path);
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
        jp_tpl_not_found(rs, path);
        return NULL;
    }

    /* jPulse's i18n pre-pass is the page's only: in an include
     * {{i18n.a.b}} is a plain lookup (missing: "", text printed as is) */
    prog = jp_tpl_compile_include(src, len, path, NULL, &err);
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


/*
 * {{file.include "path" k=v}}: k=v are visible to the included file.
 * jPulse's checks in its order, with its messages; our path jail refuses
 * more than jPulse's ("./x", "%2e%2e", "a//b"), with the same message.
 */
int
jp_tpl_include(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e, jp_tpl_val_t *args,
    size_t nargs)
{
    int                      rc;
    char                     buf[JP_TPL_PATH_MAX];
    size_t                   len;
    json_t                  *j;
    const char              *path, *p;
    jp_tpl_frame_t           f;
    const jp_tpl_program_t  *prog;

    if (rs->depth >= rs->max_depth) {
        return jp_tpl_error(rs, "Maximum include depth (%u) exceeded",
                            rs->max_depth);
    }

    j = nargs > 0 ? args[0].j : NULL;

    if (!jp_tpl_truthy(j)) {
        return jp_tpl_error(rs, "file.include requires a file path as "
                            "second argument");
    }

    if (!json_is_string(j)) {
        return jp_tpl_error(rs, "includePath.includes is not a function");
    }

    p = json_string_value(j);
    len = json_string_length(j);

    if (memmem(p, len, "../", 3) != NULL || memmem(p, len, "..\\", 3) != NULL
        || p[0] == '/'
        || jp_tpl_path_check(p, len, buf, sizeof(buf)) != 0)
    {
        return jp_tpl_error(rs, "Prohibited path in include: %s. Use "
                            "relative paths from view root only.", p);
    }

    path = buf;

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


/*
 * _inline=true: jPulse turns every LF into a space, then every run of
 * whitespace (JavaScript's \s) into one space; no trim.
 */
static void
jp_tpl_collapse(jp_tpl_buf_t *b)
{
    size_t       n, k;
    const char  *p, *end;

    p = b->data;
    end = b->data + b->len;
    n = 0;

    while (p < end) {
        k = jp_tpl_js_space_len(p, end);

        if (k == 0) {
            b->data[n++] = *p++;
            continue;
        }

        do {
            p += k;
        } while ((k = jp_tpl_js_space_len(p, end)) != 0);

        b->data[n++] = ' ';
    }

    b->len = n;
}


/*
 * jPulse's own comment for a component call that cannot run: not wrapped
 * in 'Handlebar "..."', written in place (the call prints nothing else).
 */
static int
jp_tpl_comp_comment(jp_tpl_rs_t *rs, const char *pre, const char *name,
    size_t len, const char *post)
{
    rs->errors++;

    if (jp_tpl_buf_add(rs->out, "<!-- Error: ", 12) != 0
        || jp_tpl_buf_add(rs->out, pre, strlen(pre)) != 0
        || jp_tpl_buf_add_comment(rs->out, name, len) != 0
        || jp_tpl_buf_add(rs->out, post, strlen(post)) != 0
        || jp_tpl_buf_add(rs->out, " -->", 4) != 0)
    {
        return -1;
    }

    return 0;
}


/* "Circular component reference detected: a → b → a" */
static int
jp_tpl_comp_circular(jp_tpl_rs_t *rs, const char *name)
{
    unsigned      k;
    jp_tpl_buf_t  chain;
    int           rc;

    jp_tpl_buf_init(&chain, JP_TPL_ERRMSG_MAX * 16);

    for (k = 0; k < rs->nactive; k++) {
        if (jp_tpl_buf_add(&chain, rs->active[k], strlen(rs->active[k]))
            != 0
            || jp_tpl_buf_add(&chain, " \xe2\x86\x92 ", 5) != 0)
        {
            break;
        }
    }

    rc = jp_tpl_comp_comment(rs, "Circular component reference detected: ",
                             chain.data ? chain.data : "", chain.len, name);
    jp_tpl_buf_free(&chain);

    return rc;
}


/*
 * {{components.ns.card k=v}} and {{components name=(this)}}. The name is
 * used as written (jPulse converts kebab-case at the definition only).
 * The body sees the caller's scope, the definition's k=v and the call's
 * k=v whose key does not start with '_' (jPulse's framework parameters:
 * only _inline means something). A failed call writes jPulse's comment
 * and returns 0; -1 only for our limits and memory.
 */
int
jp_tpl_component(jp_tpl_rs_t *rs, const jp_tpl_expr_t *e)
{
    int                   rc, inl;
    char                 *name;
    size_t                i;
    unsigned              k;
    json_t               *hash, *htaint, *j, *dh, *dt, *v;
    const char           *key;
    jp_tpl_str_t          str;
    jp_tpl_buf_t          tmp, *out;
    jp_tpl_frame_t        f;
    const jp_tpl_node_t  *node;
    const jp_tpl_comp_t  *def;

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
        name = strdup(e->text);

    } else {
        j = json_object_get(hash, "name");

        if (!jp_tpl_truthy(j)) {
            rc = jp_tpl_comp_comment(rs, "Invalid component call: ",
                     "\"components\"", 12, ". Use {{components.name}} or "
                     "{{components name=\"...\"}}");
            goto done;
        }

        if (jp_tpl_str(rs, j, &str) != 0) {
            goto done;
        }

        name = strndup(str.p, str.len);
        free(str.tmp);
    }

    if (name == NULL) {
        jp_tpl_error(rs, "out of memory");
        goto done;
    }

    def = NULL;
    for (i = 0; i < rs->ncomps; i++) {
        if (strcmp(rs->comps[i].name, name) == 0) {
            def = &rs->comps[i];
            break;
        }
    }

    if (def == NULL) {
        rc = jp_tpl_comp_comment(rs, "Component \"", name, strlen(name),
                 "\" not found. Did you forget to include the component "
                 "library?");
        goto done;
    }

    for (k = 0; k < rs->nactive; k++) {
        if (strcmp(rs->active[k], name) == 0) {
            rc = jp_tpl_comp_circular(rs, name);
            goto done;
        }
    }

    /*
     * Past the depth jPulse prints the body as written, unexpanded: we
     * keep no source text of a compiled body, and say why instead.
     */
    if (rs->depth >= rs->max_depth || rs->nactive >= JP_TPL_DEPTH_CAP) {
        rc = jp_tpl_comp_comment(rs, "Component \"", name, strlen(name),
                                 "\": maximum include depth exceeded");
        goto done;
    }

    if (++rs->calls > JP_TPL_CALLS_MAX) {
        jp_tpl_error(rs, "more than %d includes and component calls",
                     JP_TPL_CALLS_MAX);
        goto done;
    }

    j = json_object_get(hash, "_inline");
    inl = json_is_true(j)
          || (json_is_string(j) && strcmp(json_string_value(j), "true") == 0);

    out = rs->out;
    if (inl) {
        jp_tpl_buf_init(&tmp, jp_tpl_room(out));
        rs->out = &tmp;
    }

    if (def->node == NULL) {
        /* from file.includeComponents: expanded when registered, and
         * not expanded again (data is never expanded twice) */
        rc = jp_tpl_buf_add(rs->out, json_string_value(def->text),
                            json_string_length(def->text));
        goto body_done;
    }

    /*
     * The definition's k=v are defaults for the call's. Evaluating them
     * may register components ((file.includeComponents ...), a component
     * that defines others), which moves rs->comps: def is not used after.
     */
    node = def->node;

    if (jp_tpl_eval_hash(rs, node->hash, node->nhash, &dh, &dt, 0) != 0) {
        goto body_done;
    }

    if (dh == NULL) {
        dh = json_object();
        dt = json_object();

        if (dh == NULL || dt == NULL) {
            jp_tpl_error(rs, "out of memory");
            goto body_done;
        }
    }

    json_object_foreach(hash, key, v) {
        if (key[0] == '_') {
            continue;
        }

        if (json_object_set(dh, key, v) != 0
            || (json_object_get(htaint, key) != NULL
                && json_object_set(dt, key, json_true()) != 0))
        {
            jp_tpl_error(rs, "out of memory");
            goto body_done;
        }

        /* a default's taint does not stay on the call's value */
        if (json_object_get(htaint, key) == NULL) {
            json_object_del(dt, key);
        }
    }

    memset(&f, 0, sizeof(f));
    f.up = rs->frame;
    f.obj = dh;
    f.tainted = dt;

    rs->frame = &f;
    rs->depth++;
    rs->active[rs->nactive++] = name;

    rc = jp_tpl_nodes(rs, node->body);

    rs->nactive--;
    rs->depth--;
    rs->frame = f.up;

body_done:

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


/* jPulse's name rule: ^[A-Za-z][A-Za-z0-9_.-]*[A-Za-z0-9]$ */
static int
jp_tpl_comp_name_ok(const char *s, size_t len)
{
    size_t  i;

#define JP_TPL_ALNUM(c)  (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A'         \
                          && (c) <= 'Z') || ((c) >= '0' && (c) <= '9'))

    if (len < 2 || !((s[0] >= 'a' && s[0] <= 'z')
                     || (s[0] >= 'A' && s[0] <= 'Z'))
        || !JP_TPL_ALNUM(s[len - 1]))
    {
        return 0;
    }

    for (i = 1; i < len - 1; i++) {
        if (!JP_TPL_ALNUM(s[i]) && s[i] != '_' && s[i] != '-'
            && s[i] != '.')
        {
            return 0;
        }
    }

#undef JP_TPL_ALNUM

    return 1;
}


/*
 * The value ctx.components.<name> gets for a definition: jPulse stores
 * the raw body. A body that is text only is that text; for one with
 * expressions we keep no source text, and it is null (prints nothing).
 */
static json_t *
jp_tpl_comp_body_text(const jp_tpl_node_t *n)
{
    const jp_tpl_node_t  *b;

    b = n->body;

    if (b == NULL) {
        return json_string("");
    }

    if (b->next == NULL && b->type == JP_TPL_N_TEXT) {
        return jp_tpl_string_new(b->text, b->len);
    }

    return json_null();
}


/* {{#component NAME k=v}}: registered when evaluated, prints nothing */
int
jp_tpl_define(jp_tpl_rs_t *rs, const jp_tpl_node_t *n)
{
    int            rc;
    char          *name;
    json_t        *body;
    jp_tpl_str_t   str;
    jp_tpl_val_t   v;

    rs->mutations++;

    if (rs->rec != NULL) {
        jp_tpl_rec_define(rs, n);
    }

    v.j = NULL;
    v.taint = 0;

    if (n->expr != NULL && jp_tpl_eval(rs, n->expr, &v, 0) != 0) {
        return -1;
    }

    if (!jp_tpl_truthy(v.j)) {
        jp_tpl_val_free(&v);
        return jp_tpl_error(rs, "component definition requires a name as "
                            "first parameter");
    }

    if (jp_tpl_str(rs, v.j, &str) != 0) {
        jp_tpl_val_free(&v);
        return -1;
    }

    if (!jp_tpl_comp_name_ok(str.p, str.len)) {
        jp_tpl_error(rs, "Invalid component name \"%.*s\". Must start with "
                     "a letter, contain only letters/numbers/underscores/"
                     "hyphens/dots, and end with a letter or number.",
                     (int) (str.len > 64 ? 64 : str.len), str.p);
        free(str.tmp);
        jp_tpl_val_free(&v);
        return -1;
    }

    name = jp_tpl_camel(str.p);
    free(str.tmp);
    jp_tpl_val_free(&v);

    if (name == NULL) {
        return jp_tpl_error(rs, "out of memory");
    }

    body = jp_tpl_comp_body_text(n);
    if (body == NULL || jp_tpl_components_set(rs, name, body) != 0) {
        json_decref(body);
        free(name);
        return jp_tpl_error(rs, "out of memory");
    }

    json_decref(body);

    rc = jp_tpl_comp_add(rs, name, n, NULL);

    return rc;
}
