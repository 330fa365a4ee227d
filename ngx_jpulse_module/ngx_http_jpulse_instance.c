#include <ngx_config.h>
#include <ngx_core.h>

#include "jp_version.h"
#include "ngx_http_jpulse_instance.h"


ngx_http_jpulse_instance_t  ngx_http_jpulse_instance;


/*
 * Runs once in every worker (or the single process) when it starts: all
 * of it is fixed for the life of the process, so requests only read it.
 */

void
ngx_http_jpulse_instance_init(ngx_cycle_t *cycle)
{
    size_t                       n;
    ngx_listening_t             *ls;
    ngx_http_jpulse_instance_t  *in;

    in = &ngx_http_jpulse_instance;

    in->hostname = cycle->hostname;
    in->server_name.data = cycle->hostname.data;
    in->server_name.len = jp_server_name_len((char *) cycle->hostname.data,
                                             cycle->hostname.len);
    in->server_id = jp_server_id((char *) cycle->hostname.data,
                                 cycle->hostname.len);

    in->pid = (ngx_process == NGX_PROCESS_WORKER) ? ngx_parent : ngx_pid;

    n = jp_instance_id((char *) in->id, sizeof(in->id), in->server_id,
                       JP_PM2ID_NGINX, (long) in->pid);
    in->instance_id.data = in->id;
    in->instance_id.len = n;

    in->instance_name.data = in->name;
    in->instance_name.len = ngx_snprintf(in->name, sizeof(in->name),
                                         "%V:%d:%P", &in->server_name,
                                         JP_PM2ID_NGINX, in->pid)
                            - in->name;

    if (jp_host_ipv4((char *) in->ip_text, sizeof(in->ip_text)) != 0) {
        ngx_cpystrn(in->ip_text, (u_char *) "127.0.0.1", sizeof(in->ip_text));
    }

    in->ip.data = in->ip_text;
    in->ip.len = ngx_strlen(in->ip_text);

    ls = cycle->listening.elts;
    in->port = cycle->listening.nelts
               ? (ngx_uint_t) ngx_inet_get_port(ls[0].sockaddr) : 0;
}


/*
 * Runs in the master (or the single process) at every configuration
 * load: workers inherit the value, so they all report the same start.
 * It is nginx's uptime, not a worker's: reloads replace workers.
 */

void
ngx_http_jpulse_instance_start(ngx_cycle_t *cycle)
{
    static ngx_pid_t  measured;

    if (measured == ngx_pid) {
        return;
    }

    if (jp_process_start_time(ngx_pid, &ngx_http_jpulse_instance.start)
        != 0)
    {
        ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                      "jpulse: cannot read the start time of process %P, "
                      "uptime counts from now", ngx_pid);
        ngx_http_jpulse_instance.start = ngx_time();
    }

    measured = ngx_pid;
}


time_t
ngx_http_jpulse_instance_uptime(void)
{
    time_t  up;

    up = ngx_time() - ngx_http_jpulse_instance.start;

    return up > 0 ? up : 0;
}
