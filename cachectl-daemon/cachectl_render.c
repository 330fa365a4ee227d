/*
 * cachectl render FILE [--context CTX.json] [--root DIR]...
 *                      [--i18n DIR --lang LANG] [--strict] [--check]
 *
 * Prints the rendered page. Includes resolve against the --root
 * directories in order (default: FILE's directory). A parse error is
 * printed as FILE:LINE:COLUMN: message, so editors and CI can jump to it.
 * --check renders nothing: it prints where the page would render an
 * error comment known at compile time (an unbalanced block tag, ...),
 * as jPulse renders it, and exits 1; 0 when there is none.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jp_tpl.h"
#include "cachectl_file.h"
#include "cachectl_render.h"


#define CACHECTL_RENDER_ROOTS  16


static int cachectl_render_usage(const char *msg);


static int
cachectl_render_usage(const char *msg)
{
    fprintf(stderr, "cachectl render: %s\n"
            "Usage: cachectl render FILE [--context CTX.json] "
            "[--root DIR]...\n"
            "                       [--i18n DIR --lang LANG] [--strict] "
            "[--check]\n", msg);

    return 2;
}


static int
cachectl_render_lang_ok(const char *lang)
{
    size_t  n;

    n = strspn(lang, "abcdefghijklmnopqrstuvwxyz"
                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");

    return n > 0 && n <= 16 && lang[n] == '\0';
}


int
cachectl_render(int argc, char **argv)
{
    int                rc, i;
    char              *src, *slash, dir[JP_TPL_PATH_MAX], path[4096];
    size_t             len, nroots;
    json_t            *ctx, *i18n;
    const char        *file, *ctx_file, *i18n_dir, *lang;
    const char        *roots[CACHECTL_RENDER_ROOTS];
    unsigned           flags, check;
    json_error_t       jerr;
    jp_tpl_buf_t       out;
    jp_tpl_disk_t     *disk;
    jp_tpl_host_t      host;
    jp_tpl_error_t     err;
    jp_tpl_program_t  *prog;

    file = ctx_file = i18n_dir = lang = NULL;
    nroots = 0;
    flags = 0;
    check = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--strict") == 0) {
            flags |= JP_TPL_STRICT;
            continue;
        }

        if (strcmp(argv[i], "--check") == 0) {
            check = 1;
            continue;
        }

        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            printf("Usage: cachectl render FILE [--context CTX.json] "
                   "[--root DIR]...\n"
                   "                       [--i18n DIR --lang LANG] "
                   "[--strict] [--check]\n\n"
                   "Expand one template and print it. Includes resolve "
                   "against the --root\ndirectories in order (default: "
                   "FILE's directory); a parse error is\nprinted as "
                   "FILE:LINE:COLUMN: message. --check prints only where "
                   "the page\nrenders an error comment known at compile "
                   "time (an unbalanced block\ntag...), and exits 1 when "
                   "there is one.\n");
            return 0;
        }

        if (strncmp(argv[i], "--", 2) == 0) {
            if (i + 1 >= argc) {
                return cachectl_render_usage("option needs a value");
            }

            if (strcmp(argv[i], "--context") == 0) {
                ctx_file = argv[++i];

            } else if (strcmp(argv[i], "--root") == 0) {
                if (nroots == CACHECTL_RENDER_ROOTS) {
                    return cachectl_render_usage("too many --root");
                }
                roots[nroots++] = argv[++i];

            } else if (strcmp(argv[i], "--i18n") == 0) {
                i18n_dir = argv[++i];

            } else if (strcmp(argv[i], "--lang") == 0) {
                lang = argv[++i];

            } else {
                return cachectl_render_usage("unknown option");
            }

            continue;
        }

        if (file != NULL) {
            return cachectl_render_usage("more than one FILE");
        }

        file = argv[i];
    }

    if (file == NULL) {
        return cachectl_render_usage("missing FILE");
    }

    if ((i18n_dir == NULL) != (lang == NULL)) {
        return cachectl_render_usage("--i18n and --lang go together");
    }

    if (lang != NULL && !cachectl_render_lang_ok(lang)) {
        return cachectl_render_usage("bad --lang");
    }

    if (nroots == 0) {
        snprintf(dir, sizeof(dir), "%s", file);
        slash = strrchr(dir, '/');

        if (slash != NULL) {
            *slash = '\0';
            roots[nroots++] = dir[0] ? dir : "/";

        } else {
            roots[nroots++] = ".";
        }
    }

    rc = 1;
    ctx = i18n = NULL;
    src = NULL;
    prog = NULL;
    disk = NULL;
    jp_tpl_buf_init(&out, 0);

    if (ctx_file != NULL) {
        ctx = json_load_file(ctx_file, 0, &jerr);
        if (!json_is_object(ctx)) {
            fprintf(stderr, "%s:%d:%d: %s\n", ctx_file, jerr.line,
                    jerr.column, ctx ? "not a JSON object" : jerr.text);
            goto done;
        }
    }

    if (lang != NULL) {
        snprintf(path, sizeof(path), "%s/%s.json", i18n_dir, lang);

        i18n = json_load_file(path, 0, &jerr);
        if (!json_is_object(i18n)) {
            fprintf(stderr, "%s:%d:%d: %s\n", path, jerr.line, jerr.column,
                    i18n ? "not a JSON object" : jerr.text);
            goto done;
        }
    }

    src = cachectl_read_file(file, &len);
    if (src == NULL) {
        fprintf(stderr, "cachectl render: cannot read %s: %s\n", file,
                strerror(errno));
        goto done;
    }

    disk = jp_tpl_disk_create(roots, nroots);
    if (disk == NULL) {
        fprintf(stderr, "cachectl render: a --root does not exist\n");
        goto done;
    }

    jp_tpl_disk_host(disk, &host);

    if (check) {
        if (jp_tpl_check(src, len, file, i18n, 0, &err) != 0) {
            fprintf(stderr, "%s:%u:%u: %s\n", err.file, err.line,
                    err.column, err.message);
            goto done;
        }

        rc = 0;
        goto done;
    }

    prog = jp_tpl_compile(src, len, file, i18n, &err);
    if (prog == NULL) {
        fprintf(stderr, "%s:%u:%u: %s\n", err.file, err.line, err.column,
                err.message);
        goto done;
    }

    if (jp_tpl_render(prog, ctx, &host, NULL, flags, &out, &err) != 0) {
        fprintf(stderr, "%s: %s\n", err.file, err.message);
        goto done;
    }

    if (out.len > 0 && fwrite(out.data, 1, out.len, stdout) != out.len) {
        fprintf(stderr, "cachectl render: write error\n");
        goto done;
    }

    rc = fflush(stdout) == 0 ? 0 : 1;

done:

    jp_tpl_buf_free(&out);
    jp_tpl_free(prog);
    jp_tpl_disk_destroy(disk);
    free(src);
    json_decref(ctx);
    json_decref(i18n);

    return rc;
}
