/*
 * cachectl's settings: global options, a config file of "key = value"
 * lines, and the command line on top (flags override the file).
 */

#ifndef CACHECTL_CONF_H
#define CACHECTL_CONF_H

#include <stddef.h>


#define CACHECTL_VIEWS_MAX   16
#define CACHECTL_ARGS_MAX    64
#define CACHECTL_NS_MAX      160
#define CACHECTL_GROUP_MAX   (2 * CACHECTL_NS_MAX + 16)
#define CACHECTL_OWNED_MAX   256
#define CACHECTL_SENTINELS_MAX  16
#define CACHECTL_SENTINEL_LIST_MAX  (CACHECTL_SENTINELS_MAX * 300)

#define CACHECTL_EXIT_OK     0
#define CACHECTL_EXIT_FAIL   1
#define CACHECTL_EXIT_USAGE  2
#define CACHECTL_EXIT_EVENT  3    /* sessions revoked, the event not sent */
#define CACHECTL_EXIT_UNREPLICATED  4    /* written on the primary only */


typedef struct {
    const char   *file;                 /* -c */
    const char   *redis;                /* host:port or unix:/path */
    const char   *redis_sentinel;       /* H:P[,H:P...] */
    const char   *redis_cluster;        /* H:P[,H:P...]: seed nodes */
    const char   *redis_master;         /* the sentinels' master name */
    const char   *sentinel_password_file;
    int           redis_from;           /* 1: the file, 2: argv */
    int           sentinel_from;        /* the same for redis-sentinel */
    int           cluster_from;         /* ... redis-cluster */
    int           master_from;          /* ... redis-master */
    int           spass_from;           /* ... sentinel-password-file */
    const char   *password_file;
    int           db;
    const char   *site_id;
    const char   *mode;
    const char   *views[CACHECTL_VIEWS_MAX];
    int           nviews;
    int           views_cli;            /* some came from the command line */
    const char   *app_config;
    const char   *site_config;
    const char   *i18n;
    long          settle_ms;            /* quiet time that ends a batch */
    long          rescan_s;             /* full rescan, in case of a miss */
    long          heartbeat_s;
    long          session_max_age_s;    /* absolute session lifetime */
    long          session_default_ttl_s;
    long          session_scan_rate;    /* keys per second */
    long          session_pass_s;       /* least time between full passes */
    long          settle_max_ms;        /* a batch waits at most this */
    const char   *deploy_marker;        /* publish views when it changes */
    long          max_delete_pct;       /* refuse deleting more of the tree */
    int           max_delete_cli;       /* ... given on the command line */
    long          batch_bytes;          /* one transaction's payload */
    int           force;                /* --force: destructive runs */
    int           dry_run;              /* --dry-run: say, change nothing */
    int           json;                 /* --json */
    const char   *user;                 /* --user */
    const char   *collection;           /* --collection (import-mongo) */

    /* what is left: the subcommand and its arguments */
    const char   *args[CACHECTL_ARGS_MAX];
    int           nargs;

    char         *owned[CACHECTL_OWNED_MAX];  /* the file's values */
    int           nowned;

    char          ns[CACHECTL_NS_MAX];  /* "<siteId>:<mode>:" */

    /*
     * The prefixes of the key groups (docs/protocol.md "Redis Cluster"):
     * "<ns>{<ns><group>}" with redis-cluster, "<ns>" otherwise
     */
    char          l2[CACHECTL_GROUP_MAX];
    char          mx[CACHECTL_GROUP_MAX];   /* metrics */
    char          sx[CACHECTL_GROUP_MAX];   /* session upkeep */
    char          password[512];
    char          sentinel_password[512];
    char          redis_desc[640];      /* "sentinel NAME via ..." */
    char          error[512];
} cachectl_conf_t;


/*
 * Fills conf from argv (argv[0] is the program): options anywhere, the
 * config file named by -c in between. Returns CACHECTL_EXIT_OK, or
 * CACHECTL_EXIT_USAGE / _FAIL with conf->error set.
 */
int cachectl_conf_parse(cachectl_conf_t *conf, int argc, char **argv);

/* re-reads the config file (SIGHUP); command-line values still win */
int cachectl_conf_reload(cachectl_conf_t *conf);

/* frees the values read from the config file */
void cachectl_conf_free(cachectl_conf_t *conf);


#endif /* CACHECTL_CONF_H */
