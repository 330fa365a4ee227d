#define _GNU_SOURCE

#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "jp_sysinfo.h"


#define JP_PROC_READ_MAX  4096


static int
jp_parse_ull(const char **pp, const char *end, unsigned long long *value)
{
    const char          *p;
    unsigned long long  v;

    p = *pp;

    if (p >= end || *p < '0' || *p > '9') {
        return -1;
    }

    for (v = 0; p < end && *p >= '0' && *p <= '9'; p++) {
        if (v > (~0ULL - 9) / 10) {
            return -1;
        }

        v = v * 10 + (unsigned long long) (*p - '0');
    }

    *pp = p;
    *value = v;

    return 0;
}


int
jp_parse_proc_stat_starttime(const char *text, size_t len,
    unsigned long long *ticks)
{
    int          field;
    const char  *p, *end, *paren;

    /* the command name (field 2) may hold spaces and ')': skip to the last */
    end = text + len;
    paren = NULL;

    for (p = text; p < end; p++) {
        if (*p == ')') {
            paren = p;
        }
    }

    if (paren == NULL) {
        return -1;
    }

    /* after ") " comes field 3; starttime is field 22 */
    p = paren + 1;

    for (field = 2; field < 22; field++) {
        if (p >= end || *p != ' ') {
            return -1;
        }

        p++;

        if (field < 21) {
            while (p < end && *p != ' ') {
                p++;
            }
        }
    }

    return jp_parse_ull(&p, end, ticks);
}


int
jp_parse_proc_statm_resident(const char *text, size_t len,
    unsigned long long *pages)
{
    const char          *p, *end;
    unsigned long long  size;

    p = text;
    end = text + len;

    if (jp_parse_ull(&p, end, &size) != 0 || p >= end || *p != ' ') {
        return -1;
    }

    p++;

    return jp_parse_ull(&p, end, pages);
}


static ssize_t
jp_read_small_file(const char *path, char *buf, size_t size)
{
    int      fd;
    ssize_t  n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return -1;
    }

    n = read(fd, buf, size);

    (void) close(fd);

    return n;
}


int
jp_process_start_time(pid_t pid, time_t *start)
{
    long                hz;
    char                path[64], buf[JP_PROC_READ_MAX];
    ssize_t             n;
    struct timespec     boot;
    unsigned long long  ticks, now_ms, started_ms;

    (void) snprintf(path, sizeof(path), "/proc/%ld/stat", (long) pid);

    n = jp_read_small_file(path, buf, sizeof(buf));
    if (n <= 0 || jp_parse_proc_stat_starttime(buf, (size_t) n, &ticks) != 0)
    {
        return -1;
    }

    hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0) {
        return -1;
    }

    /* starttime counts from boot on CLOCK_BOOTTIME; btime is too coarse */

    if (clock_gettime(CLOCK_BOOTTIME, &boot) != 0) {
        return -1;
    }

    now_ms = (unsigned long long) boot.tv_sec * 1000
             + (unsigned long long) boot.tv_nsec / 1000000;
    started_ms = ticks * 1000 / (unsigned long long) hz;

    if (started_ms > now_ms) {
        started_ms = now_ms;
    }

    *start = time(NULL) - (time_t) ((now_ms - started_ms + 500) / 1000);

    return 0;
}


int
jp_process_rss(pid_t pid, uint64_t *bytes)
{
    long                page;
    char                path[64], buf[256];
    ssize_t             n;
    unsigned long long  pages;

    (void) snprintf(path, sizeof(path), "/proc/%ld/statm", (long) pid);

    n = jp_read_small_file(path, buf, sizeof(buf));
    if (n <= 0 || jp_parse_proc_statm_resident(buf, (size_t) n, &pages) != 0)
    {
        return -1;
    }

    page = sysconf(_SC_PAGESIZE);
    if (page <= 0) {
        return -1;
    }

    *bytes = (uint64_t) pages * (uint64_t) page;

    return 0;
}


int
jp_host_stats(jp_host_stats_t *st)
{
    struct sysinfo  si;

    if (sysinfo(&si) != 0) {
        return -1;
    }

    st->uptime = (uint64_t) si.uptime;
    st->total_memory = (uint64_t) si.totalram * si.mem_unit;
    st->free_memory = ((uint64_t) si.freeram + si.bufferram) * si.mem_unit;
    st->load[0] = si.loads[0] / (double) (1 << SI_LOAD_SHIFT);
    st->load[1] = si.loads[1] / (double) (1 << SI_LOAD_SHIFT);
    st->load[2] = si.loads[2] / (double) (1 << SI_LOAD_SHIFT);
    st->cpus = sysconf(_SC_NPROCESSORS_ONLN);

    return 0;
}


int
jp_host_ipv4(char *buf, size_t size)
{
    int              rc;
    struct ifaddrs  *ifa, *list;

    if (getifaddrs(&list) != 0) {
        return -1;
    }

    rc = -1;

    for (ifa = list; ifa != NULL; ifa = ifa->ifa_next) {
        if (ifa->ifa_addr == NULL
            || ifa->ifa_addr->sa_family != AF_INET
            || (ifa->ifa_flags & IFF_LOOPBACK)
            || !(ifa->ifa_flags & IFF_UP))
        {
            continue;
        }

        if (inet_ntop(AF_INET,
                      &((struct sockaddr_in *) (void *) ifa->ifa_addr)
                          ->sin_addr,
                      buf, (socklen_t) size)
            != NULL)
        {
            rc = 0;
            break;
        }
    }

    freeifaddrs(list);

    return rc;
}
