/*
 * Who this nginx instance is, in jPulse's terms (jpulse-contract.md 4.6):
 * one nginx (master and its workers) is one jPulse "instance" with
 * pm2Id JP_PM2ID_NGINX and the master's pid.
 */

#ifndef NGX_HTTP_JPULSE_INSTANCE_H
#define NGX_HTTP_JPULSE_INSTANCE_H

#include <ngx_config.h>
#include <ngx_core.h>

#include "jp_identity.h"
#include "jp_sysinfo.h"


typedef struct {
    ngx_str_t       hostname;
    ngx_str_t       server_name;
    unsigned long   server_id;
    ngx_pid_t       pid;                /* the master, or the single process */
    time_t          start;              /* when that process started */
    ngx_str_t       instance_id;
    ngx_str_t       instance_name;
    ngx_str_t       ip;
    ngx_uint_t      port;               /* the first one nginx listens on */

    u_char          id[JP_INSTANCE_ID_MAX];
    u_char          name[NGX_MAXHOSTNAMELEN + JP_INSTANCE_ID_MAX];
    u_char          ip_text[JP_IPV4_MAX];
} ngx_http_jpulse_instance_t;


extern ngx_http_jpulse_instance_t  ngx_http_jpulse_instance;


void ngx_http_jpulse_instance_start(ngx_cycle_t *cycle);
void ngx_http_jpulse_instance_init(ngx_cycle_t *cycle);

/* seconds since the instance started */
time_t ngx_http_jpulse_instance_uptime(void);


#endif /* NGX_HTTP_JPULSE_INSTANCE_H */
