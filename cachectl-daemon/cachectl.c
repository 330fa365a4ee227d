/*
 * cachectl: the ngx_jpulse sidecar daemon and ops CLI.
 *
 *   cachectl [-c FILE] [--redis HOST:PORT|unix:PATH] [--password-file F]
 *            [--redis-sentinel H:P[,H:P...] --redis-master NAME
 *            [--sentinel-password-file F]]
 *            [--db N] [--site-id ID] [--mode MODE] COMMAND ...
 *
 * Exit codes: 0 ok, 1 failure, 2 usage, 4 written on the primary only.
 */

#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#include "jp_version.h"
#include "cachectl_cli.h"
#include "cachectl_conf.h"
#include "cachectl_daemon.h"
#include "cachectl_render.h"
#include "cachectl_sessions.h"


typedef struct {
    const char   *name;
    int         (*run)(cachectl_conf_t *conf);
    const char   *usage;
    const char   *help;
} cachectl_command_t;


static const cachectl_command_t  cachectl_commands[] = {

    { "daemon", cachectl_daemon,
      "daemon --views DIR [--views DIR ...] [--app-config FILE]\n"
      "                [--site-config FILE] [--i18n DIR]",
      "Watch the view roots, the config and the translations; validate and\n"
      "publish every change to Redis; heartbeat; keep sessions in order.\n"
      "  --views DIR              a view root, in jPulse order: site first,\n"
      "                           plugins, framework last (repeat)\n"
      "  --app-config FILE        the merged app config (.jpulse/app.json)\n"
      "  --site-config FILE       siteConfig, for <ns>cfg:site\n"
      "  --i18n DIR               <lang>.json translations\n"
      "  --settle-ms N            quiet time that ends a batch (25)\n"
      "  --rescan N               seconds between full rescans (30, 0: off)\n"
      "  --heartbeat N            seconds between heartbeats (15)\n"
      "  --session-max-age N      absolute session lifetime, s (86400;\n"
      "                           0: none)\n"
      "  --session-default-ttl N  TTL for a session without one, s (3600)\n"
      "  --session-scan-rate N    sessions checked per second (1000)\n"
      "  --session-pass-interval N  least seconds between two passes over\n"
      "                           the sessions (60)\n"
      "SIGTERM finishes the batch and exits 0; SIGHUP reloads -c FILE." },

    { "status", cachectl_status, "status [--json]",
      "Redis, generations, files in Redis, who holds the publisher's lease,\n"
      "and every daemon of this namespace (from the instance registry, no\n"
      "SCAN): its role, views, last sync, refused files, session counts and\n"
      "whatever else its status record says (degraded watches, errors,\n"
      "held deletions...).\n"
      "Exit 0 when a daemon runs (read its problems in the output), 1 when\n"
      "Redis is unreachable or no daemon runs." },

    { "sync", cachectl_sync,
      "sync --views DIR [--views DIR ...] [--app-config F] [--i18n DIR]\n"
      "                [--dry-run] [--force] [--max-delete-share PCT]",
      "One publish from the command line, as the daemon would do it now.\n"
      "It deletes nothing from Redis unless --force: what is in Redis but\n"
      "not on disk (another root's pages, say) is held and listed. It\n"
      "refuses while a daemon holds the lease (it publishes the namespace).\n"
      "  --dry-run   write nothing: list each write, delete or hold\n"
      "  --force     delete what left the tree; publish despite the lease\n"
      "  --max-delete-share PCT  delete unless more than PCT % of the tree\n"
      "              would go (the daemon's guard; only from the command\n"
      "              line, not from -c FILE)\n"
      "Exit 0 published (or previewed), 1 a file refused, deletions held,\n"
      "a daemon holds the lease, or Redis failed." },

    { "invalidate", cachectl_invalidate,
      "invalidate [view|config|i18n|all] [PATH ...]",
      "Bump the generation and publish the invalidation event: every nginx\n"
      "worker revalidates what it caches (default: all). It deletes\n"
      "nothing, so it has no --dry-run." },

    { "get", cachectl_get, "get PATH [--json]",
      "Print a file of the view tree as Redis holds it." },

    { "sessions", cachectl_sessions_cli,
      "sessions count|list [--user U]|show SID|revoke SID|revoke-user USERID"
      "\n           |import-mongo URI",
      "jPulse's sessions in Redis: count or list them, show one, revoke\n"
      "one, or revoke every session of a user; import-mongo moves\n"
      "connect-mongo's sessions into Redis (MongoDB is only read).\n"
      "  --user U      count, list: the user's (the daemon's index)\n"
      "  --dry-run     revoke, revoke-user, import-mongo: say what would\n"
      "                change, change nothing\n"
      "  --collection C  import-mongo: connect-mongo's (\"sessions\"); the\n"
      "                database is the URI's; URI \"-\": read from stdin\n"
      "  --json        machine-readable output (revoke and revoke-user too)\n"
      "revoke and revoke-user exit 1 when there is no such session or the\n"
      "user has none; import-mongo when a document could not be imported\n"
      "(as for any failure; 2: usage)." },

    { "instances", cachectl_instances, "instances [--json]",
      "The nginx instances and cachectl daemons with a live heartbeat." },

    { "watch", cachectl_watch, "watch [--json]",
      "Print every broadcast of the namespace as it happens." },

    { NULL, NULL, NULL, NULL }
};


static void
cachectl_usage(FILE *out)
{
    const cachectl_command_t  *cmd;

    fprintf(out,
            "Usage: cachectl [OPTIONS] COMMAND ...\n"
            "\n"
            "The " JP_NAME " sidecar: publishes jPulse templates and config "
            "to Redis\nand keeps sessions in order.\n"
            "\n"
            "Commands:\n");

    for (cmd = cachectl_commands; cmd->name; cmd++) {
        fprintf(out, "  cachectl %s\n", cmd->usage);
    }

    fprintf(out,
            "  cachectl render FILE [--context CTX.json] [--root DIR]...\n"
            "                  [--i18n DIR --lang LANG] [--strict]\n"
            "\n"
            "Options (any command; flags override the config file):\n"
            "  -c, --config FILE      \"key = value\" lines, keys are the "
            "long options\n"
            "  --redis HOST:PORT|unix:PATH   (127.0.0.1:6379)\n"
            "  --password-file FILE   Redis password, first line (mode 600:\n"
            "                         refused if group or others may read it)\n"
            "  --redis-sentinel H:P[,H:P...]  instead of --redis: the "
            "sentinels\n"
            "                         that name the primary (failovers "
            "followed)\n"
            "  --redis-master NAME    the name they monitor it under\n"
            "  --sentinel-password-file FILE  the sentinels' password\n"
            "  --redis-cluster H:P[,H:P...]  instead of --redis: seed nodes\n"
            "                         of a Redis Cluster (slots and\n"
            "                         failovers followed)\n"
            "  --db N                 Redis database (0)\n"
            "  --site-id ID           jPulse's app.siteId (jpulse)\n"
            "  --mode dev|prod        jPulse's deployment.mode (prod)\n"
            "  --json                 output for scripts\n"
            "  -h, --help             help (also after a command)\n"
            "  -V, --version          the version\n"
            "\n"
            "Exit status: 0 success, 1 failure, 2 usage error (each command's\n"
            "--help says what failure means for it), 4 with --redis-sentinel\n"
            "or --redis-cluster: written on the primary but no replica\n"
            "confirmed it in 1 s (a failover now would lose it).\n"
            "See cachectl(1).\n");
}


static int
cachectl_wants_help(cachectl_conf_t *conf)
{
    int  i;

    for (i = 1; i < conf->nargs; i++) {
        if (strcmp(conf->args[i], "--help") == 0
            || strcmp(conf->args[i], "-h") == 0)
        {
            return 1;
        }
    }

    return 0;
}


int
main(int argc, char **argv)
{
    int                        rc;
    char                       shm[32];
    cachectl_conf_t            conf;
    const cachectl_command_t  *cmd;

    /*
     * libmongoc (linked for "sessions import-mongo") initializes itself
     * when it is loaded, before main(), with its performance counters in
     * a shared memory segment "/mongoc-<pid>" that only a normal exit
     * removes: every cachectl killed (a daemon's SIGKILL, a crash) left
     * one in /dev/shm, and a later process given the same pid printed
     * "Falling back to malloc for counters" on stderr. The name goes now;
     * the mapping stays valid until the process ends.
     */
    snprintf(shm, sizeof(shm), "/mongoc-%u", (unsigned) getpid());
    (void) shm_unlink(shm);

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

    /* render has options of its own */
    if (strcmp(argv[1], "render") == 0) {
        return cachectl_render(argc - 1, argv + 1);
    }

    rc = cachectl_conf_parse(&conf, argc, argv);

    if (rc != CACHECTL_EXIT_OK) {
        fprintf(stderr, "cachectl: %s\n%s", conf.error,
                rc == CACHECTL_EXIT_USAGE ? "Try \"cachectl --help\".\n"
                                          : "");
        cachectl_conf_free(&conf);
        return rc;
    }

    rc = CACHECTL_EXIT_USAGE;

    if (conf.nargs == 0) {
        cachectl_usage(stderr);
        cachectl_conf_free(&conf);
        return rc;
    }

    for (cmd = cachectl_commands; cmd->name; cmd++) {
        if (strcmp(conf.args[0], cmd->name) == 0) {
            break;
        }
    }

    if (cmd->name == NULL) {
        fprintf(stderr, "cachectl: unknown command \"%s\"\n"
                        "Try \"cachectl --help\".\n", conf.args[0]);

    } else if (conf.dry_run && strcmp(cmd->name, "daemon") == 0) {
        /*
         * A daemon that writes no page would still take the lease (the
         * real publisher stands by) and keep the sessions (deleting them
         * at the age limit): refused rather than half obeyed.
         */
        fprintf(stderr, "cachectl daemon: no --dry-run: it would still "
                "take the lease and delete sessions; preview a publish "
                "with \"cachectl sync --dry-run\"\n");

    } else if (cachectl_wants_help(&conf)) {
        printf("Usage: cachectl [OPTIONS] %s\n\n%s\n", cmd->usage,
               cmd->help);
        rc = CACHECTL_EXIT_OK;

    } else {
        rc = cmd->run(&conf);
    }

    cachectl_conf_free(&conf);

    return rc;
}
