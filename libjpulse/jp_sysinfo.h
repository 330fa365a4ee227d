/*
 * Host and process facts for health and metrics (Linux /proc, sysinfo(2)).
 *
 * The parsers take text so they can be tested and fuzzed without /proc;
 * the readers are thin wrappers around them.
 */

#ifndef JP_SYSINFO_H
#define JP_SYSINFO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define JP_IPV4_MAX  16

typedef struct {
    uint64_t  uptime;               /* seconds since boot */
    uint64_t  total_memory;         /* bytes */
    uint64_t  free_memory;          /* bytes, free + reclaimable buffers */
    double    load[3];              /* 1, 5, 15 minutes */
    long      cpus;
} jp_host_stats_t;

/* Field 22 (starttime, clock ticks since boot) of a /proc/PID/stat line. */
int jp_parse_proc_stat_starttime(const char *text, size_t len,
    unsigned long long *ticks);

/* Second field of /proc/PID/statm: resident pages. */
int jp_parse_proc_statm_resident(const char *text, size_t len,
    unsigned long long *pages);

/* When process pid started, in seconds since the epoch; 0 or -1. */
int jp_process_start_time(pid_t pid, time_t *start);

/* Resident set size of process pid in bytes; 0 or -1. */
int jp_process_rss(pid_t pid, uint64_t *bytes);

int jp_host_stats(jp_host_stats_t *st);

/* First IPv4 address of an interface that is up and not loopback. */
int jp_host_ipv4(char *buf, size_t size);

#endif /* JP_SYSINFO_H */
