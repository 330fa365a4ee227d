/*
 * cachectl: the ngx_jpulse sidecar daemon and ops CLI.
 *
 * This first version knows who it is; the daemon and the subcommands
 * arrive with the cachectl issue. Exit codes: 0 ok, 1 failure, 2 usage.
 */

#include <stdio.h>
#include <string.h>

#include "jp_version.h"
#include "cachectl_render.h"


#define CACHECTL_EXIT_OK     0
#define CACHECTL_EXIT_USAGE  2


static void cachectl_usage(FILE *out);


static void
cachectl_usage(FILE *out)
{
    fprintf(out,
            "Usage: cachectl [OPTIONS]\n"
            "       cachectl render FILE [--context CTX.json] [--root DIR]...\n"
            "                       [--i18n DIR --lang LANG] [--strict]\n"
            "\n"
            "The " JP_NAME " sidecar: publishes jPulse templates and config "
            "to Redis\nand keeps sessions in order.\n"
            "\n"
            "Commands:\n"
            "  render           expand one template and print it\n"
            "\n"
            "Options:\n"
            "  -h, --help       show this help and exit\n"
            "  -V, --version    show the version and exit\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 usage error.\n");
}


int
main(int argc, char **argv)
{
    if (argc < 2) {
        cachectl_usage(stderr);
        return CACHECTL_EXIT_USAGE;
    }

    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0
        || strcmp(argv[1], "help") == 0)
    {
        cachectl_usage(stdout);
        return CACHECTL_EXIT_OK;
    }

    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0
        || strcmp(argv[1], "version") == 0)
    {
        printf("cachectl (" JP_NAME ") " JP_VERSION " (" JP_RELEASE ")\n");
        return CACHECTL_EXIT_OK;
    }

    if (strcmp(argv[1], "render") == 0) {
        return cachectl_render(argc - 1, argv + 1);
    }

    fprintf(stderr, "cachectl: unknown command or option \"%s\"\n"
                    "Try \"cachectl --help\".\n", argv[1]);

    return CACHECTL_EXIT_USAGE;
}
