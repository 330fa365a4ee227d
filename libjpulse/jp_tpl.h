/*
 * The jPulse template dialect (jpulse-contract.md section 5), compiled once
 * and rendered many times.
 *
 * A template is compiled per (path, language): the i18n pre-pass happens at
 * compile time, so a render is a single walk over a compact tree. All file
 * access goes through the host callbacks, so nginx can serve includes from
 * its cache and cachectl from disk. There is no global mutable state: a
 * program is read-only once compiled and may be rendered by several threads
 * at once, each with its own output buffer.
 */

#ifndef JP_TPL_H
#define JP_TPL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>


#define JP_TPL_PATH_MAX        1024
#define JP_TPL_ERRMSG_MAX      256

/* limits (jp_tpl_limits_t) when a field is 0 */
#define JP_TPL_DEFAULT_OUTPUT       (16 * 1024 * 1024)
#define JP_TPL_DEFAULT_DEPTH        10          /* includes + components */
#define JP_TPL_DEFAULT_ITERATIONS   100000      /* #each, per render */
#define JP_TPL_SOURCE_MAX           (8 * 1024 * 1024)

/* render flags */
#define JP_TPL_STRICT          0x01     /* escape every string but {{{x}}} */

/*
 * The host promises that ctx.url is the only way to reach the request's
 * data from ctx (no other value of the context shares a part of it), so
 * the engine need not search the whole context for containers of url on
 * every render. nginx builds its contexts that way.
 */
#define JP_TPL_URL_TOP_ONLY    0x02

/*
 * ctx.user is this request's signed-in user (a session's), not the
 * anonymous visitor's object: every read of a path under "user" sets
 * JP_TPL_USES_USER, so that a plan renders such nodes again for every
 * request and keeps none of one user's data for another.
 */
#define JP_TPL_USER_DYNAMIC    0x04


typedef struct jp_tpl_program_s  jp_tpl_program_t;

/* A parse or hard render error; line and column start at 1 (0: none). */
typedef struct {
    char         file[JP_TPL_PATH_MAX];
    unsigned     line;
    unsigned     column;
    char         message[JP_TPL_ERRMSG_MAX];
} jp_tpl_error_t;

/* Growable output buffer with a hard size limit. */
typedef struct {
    char        *data;
    size_t       len;
    size_t       cap;
    size_t       max;           /* 0: JP_TPL_DEFAULT_OUTPUT */
    int          failed;        /* JP_TPL_BUF_OVER, JP_TPL_BUF_NOMEM */
} jp_tpl_buf_t;

#define JP_TPL_BUF_OVER   1
#define JP_TPL_BUF_NOMEM  2

/* Called once per directory entry name by jp_tpl_host_t.list. */
typedef int (*jp_tpl_list_pt)(void *arg, const char *name, size_t len);

/*
 * File access. Every path handed to a callback has already passed
 * jp_tpl_path_check(): relative to the view roots, no "..", no absolute
 * path, no NUL, URL-decoded once. Callbacks return 0 on success and -1 when
 * the file does not exist or cannot be read.
 */
typedef struct {
    void        *data;

    /* *src is malloc()ed; the engine free()s it */
    int        (*read)(void *data, const char *path, char **src, size_t *len);

    /* modification time in milliseconds since the epoch */
    int        (*mtime)(void *data, const char *path, int64_t *ms);

    /* the entry names of one directory ("" is the view root): files as
     * they are, subdirectories as "name/" (file.list descends into them;
     * a host that gives none lists one level) */
    int        (*list)(void *data, const char *dir, jp_tpl_list_pt cb,
                       void *arg);

    /* optional: the clock for date.now and file.timestamp (ms) */
    int64_t    (*now)(void *data);

    /*
     * Optional: a compiled include from the host's cache (compiled with
     * jp_tpl_compile_include(); i18n is NULL: as in jPulse, only the page
     * gets the i18n pre-pass, so an include's program is the same for
     * every language), which must stay valid until the render returns.
     * NULL with err filled: missing (err->message "file not found" or
     * empty) or broken. Without it, includes are read and compiled once
     * per render.
     */
    const jp_tpl_program_t *(*program)(void *data, const char *path,
                       json_t *i18n, jp_tpl_error_t *err);
} jp_tpl_host_t;

typedef struct {
    size_t       max_output;
    unsigned     max_depth;
    unsigned     max_iterations;
} jp_tpl_limits_t;


/*
 * Compiles src (len bytes) into a program. path names the file in errors;
 * i18n is the language object (may be NULL) whose strings replace
 * {{i18n.a.b}} before parsing, as jPulse's pre-pass does; the program keeps
 * a reference to it. Broken markup compiles into what jPulse renders for
 * it (an unbalanced block tag becomes jPulse's error comment; see
 * jp_tpl_check()). Returns NULL and fills err only when a limit is hit
 * (size, nesting, memory).
 */
jp_tpl_program_t *jp_tpl_compile(const char *src, size_t len,
    const char *path, json_t *i18n, jp_tpl_error_t *err);

/*
 * An included file, as jPulse's file.include reads it: every "@name"
 * header comment ("<!--", "/" "**" or "{{!--", whitespace, "*", spaces,
 * "@name ", up to the first "*" "/", "-->" or "--}}", and one CR and/or
 * LF after it) is cut wherever it is, and there is no i18n pre-pass:
 * {{i18n.a.b}} is a lookup at render time. Pass i18n as NULL; one given
 * is only kept as the program's reference.
 */
jp_tpl_program_t *jp_tpl_compile_include(const char *src, size_t len,
    const char *path, json_t *i18n, jp_tpl_error_t *err);

/*
 * blocks (issue 12): compiles src as jp_tpl_compile() (include != 0: as
 * jp_tpl_compile_include()) and returns 0 when the page renders no error
 * comment known at compile time, else -1 with err holding the file, line,
 * column and message of the first one (an unbalanced or unknown block
 * tag, an expression that does not parse) or of the compile error.
 */
int jp_tpl_check(const char *src, size_t len, const char *path,
    json_t *i18n, int include, jp_tpl_error_t *err);

/* drops a reference (see jp_tpl_program_ref()) */
void jp_tpl_free(jp_tpl_program_t *prog);

/* the bytes a compiled program holds, for caches bounded by size */
size_t jp_tpl_program_size(const jp_tpl_program_t *prog);

/*
 * Renders prog over ctx (a JSON object, may be NULL) by appending to out.
 * Helper errors become "<!-- Error: ... -->" in the output and are not
 * failures. Returns 0, or -1 with err filled when a hard limit was hit
 * (output size, memory); out then holds a partial page to discard.
 */
int jp_tpl_render(const jp_tpl_program_t *prog, json_t *ctx,
    const jp_tpl_host_t *host, const jp_tpl_limits_t *limits,
    unsigned flags, jp_tpl_buf_t *out, jp_tpl_error_t *err);

/*
 * What a render read that may differ between two requests for the same
 * page, language and theme (jp_tpl_render_uses()). A render with none of
 * them gives the same bytes for every anonymous request until its inputs
 * (templates, translations, config) change, so a host may keep them.
 */
#define JP_TPL_USES_REQUEST  0x01   /* url.*, the context as a whole,
                                       appCluster */
#define JP_TPL_USES_USER     0x02   /* user as a whole, or user.timezone;
                                       any of user.* under
                                       JP_TPL_USER_DYNAMIC */
#define JP_TPL_USES_TIME     0x04   /* the clock (date.now, ...) */
#define JP_TPL_USES_URL_PATH 0x08   /* only url.pathname, .domain,
                                       .protocol, .hostname or .port:
                                       the same for the same URL without
                                       its query */

/* jp_tpl_render(), and *uses gets the JP_TPL_USES_* of this render */
int jp_tpl_render_uses(const jp_tpl_program_t *prog, json_t *ctx,
    const jp_tpl_host_t *host, const jp_tpl_limits_t *limits,
    unsigned flags, jp_tpl_buf_t *out, jp_tpl_error_t *err,
    unsigned *uses);

/*
 * Plans: most of a page that reads the request reads it in a few places.
 * jp_tpl_render_record() renders like jp_tpl_render_uses() and, when the
 * render read something of the request (*uses not 0) and some top-level
 * nodes of the page (or of an include it writes at its top level with
 * arguments that read nothing of the request) read nothing of it, gives
 * a plan (else *plan stays NULL): the bytes of those nodes and the other
 * nodes. jp_tpl_render_plan() then renders the page by writing the bytes
 * and rendering only the other nodes, over a context that differs from
 * the recording's only in what JP_TPL_USES_* covers (the host keeps a plan
 * as it would keep the page: per language, theme and version of the
 * templates, translations and config, and anonymous). A plan holds a
 * reference on every program it renders from (jp_tpl_program_ref()) and
 * the values of the include arguments it recorded; programs stay
 * read-only, and the references are atomic.
 */
typedef struct jp_tpl_plan_s  jp_tpl_plan_t;

int jp_tpl_render_record(const jp_tpl_program_t *prog, json_t *ctx,
    const jp_tpl_host_t *host, const jp_tpl_limits_t *limits,
    unsigned flags, jp_tpl_buf_t *out, jp_tpl_error_t *err,
    unsigned *uses, jp_tpl_plan_t **plan);
int jp_tpl_render_plan(const jp_tpl_plan_t *plan, json_t *ctx,
    const jp_tpl_host_t *host, const jp_tpl_limits_t *limits,
    unsigned flags, jp_tpl_buf_t *out, jp_tpl_error_t *err,
    unsigned *uses);

/*
 * jp_tpl_render_plan(): this request takes the page where the recording
 * did not go (a node rendered again sets a variable or defines a
 * component, or the limits are reached earlier): out is as it was, and
 * the page must be rendered in full.
 */
#define JP_TPL_PLAN_DIVERGED  1

/* the page a plan renders; its bytes, with the programs it holds */
const jp_tpl_program_t *jp_tpl_plan_program(const jp_tpl_plan_t *plan);
size_t jp_tpl_plan_size(const jp_tpl_plan_t *plan);
void jp_tpl_plan_free(jp_tpl_plan_t *plan);

/*
 * jPulse's pageDisableSidebars, from the raw text of a page: the first
 * "<body" (case-sensitive, "<bodyx" counts), up to the next '>' (even
 * one inside an attribute value), holds data-jp-disable-sidebars="true"
 * in double quotes. jPulse tests it on .shtml pages only (not on .tmpl,
 * appended assets, or a body tag that comes from an include); the host
 * applies that rule by path. The second form gives what the first said
 * of the source the program was compiled from.
 */
int jp_tpl_page_disables_sidebars(const char *src, size_t len);
int jp_tpl_program_disables_sidebars(const jp_tpl_program_t *prog);

/* one more reference: jp_tpl_free() frees the program with the last one */
jp_tpl_program_t *jp_tpl_program_ref(const jp_tpl_program_t *prog);

void jp_tpl_buf_init(jp_tpl_buf_t *b, size_t max);
void jp_tpl_buf_free(jp_tpl_buf_t *b);
int jp_tpl_buf_add(jp_tpl_buf_t *b, const char *p, size_t len);

/*
 * The path jail: URL-decodes path once into out (NUL-terminated) and
 * accepts it only when neither form is absolute or holds a ".." or "."
 * segment, a backslash, a NUL or an empty segment. Returns 0 or -1.
 */
int jp_tpl_path_check(const char *path, size_t len, char *out, size_t size);


/*
 * A host that reads from disk: roots are searched in order (e.g. the site
 * view directory, then the framework's), the first hit wins, and a path
 * whose real location leaves its root (a symlink) does not exist.
 */
typedef struct jp_tpl_disk_s  jp_tpl_disk_t;

jp_tpl_disk_t *jp_tpl_disk_create(const char *const *roots, size_t n);
void jp_tpl_disk_destroy(jp_tpl_disk_t *disk);

/*
 * Resolves the roots again (a release directory swapped behind a symlink
 * moves a root): 1 if one now leads elsewhere (*changed, if not NULL, is
 * the first such root's index), else -1 if a root no longer resolves,
 * else 0. A root that does not resolve keeps its last real path.
 */
int jp_tpl_disk_refresh(jp_tpl_disk_t *disk, size_t *changed);

/* the real path root i resolved to, NULL past the last */
const char *jp_tpl_disk_root(jp_tpl_disk_t *disk, size_t i);
void jp_tpl_disk_host(jp_tpl_disk_t *disk, jp_tpl_host_t *host);

/*
 * Append mode (every .js and .css jPulse's view controller serves): the
 * file of every root, framework (the last root) first, then the site (the
 * first root), then the plugins in order, joined with one "\n" between
 * neighbours and none after the last.
 */
#define JP_TPL_DISK_APPEND  0x01

/* a path served in append mode: its last extension is .js or .css (any
 * case) */
int jp_tpl_disk_is_append(const char *path);

/*
 * A stamp of what path resolves to now (with JP_TPL_DISK_APPEND: of every
 * root's file): it changes when a file is edited, replaced, removed, or
 * shadowed by a file in an earlier root. mtime_ms (may be NULL) is the
 * newest modification time. -1 when no root has the file.
 */
int jp_tpl_disk_stamp(jp_tpl_disk_t *disk, const char *path, unsigned flags,
    uint64_t *stamp, int64_t *mtime_ms);

/* reads path, or with JP_TPL_DISK_APPEND every root's file concatenated */
int jp_tpl_disk_read_flags(jp_tpl_disk_t *disk, const char *path,
    unsigned flags, char **src, size_t *len);

/* routing (issue 12): jPulse's single-page-app namespaces */

/*
 * The raw text of a namespace's index.shtml marks it as a single-page
 * app: it holds "/vue-router.min.js", "/vue-router.js",
 * "VueRouter.createRouter", "jPulse.UI.docs.init", or both
 * "history.pushState" and "popstate" (in a comment too).
 */
int jp_tpl_disk_is_spa(const char *src, size_t len);

/*
 * Whether the first root that has path is a plugin's (neither the first
 * root, the site, nor the last, the framework): jPulse never takes a
 * plugin's index.shtml for a single-page app. -1: no root has it.
 */
int jp_tpl_disk_in_plugin(jp_tpl_disk_t *disk, const char *path);

/*
 * Whether path resolves to a directory: the first root that has it, as a
 * file or a directory, has a directory (jPulse then fails to read it).
 */
int jp_tpl_disk_is_dir(jp_tpl_disk_t *disk, const char *path);

#endif /* JP_TPL_H */
