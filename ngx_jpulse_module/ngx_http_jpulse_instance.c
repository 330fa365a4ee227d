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
    ngx_http_jpulse_instance_t  *in;

    in = &ngx_http_jpulse_instance;

    in->hostname = cycle->hostname;
    in->server_name.data = cycle->hostname.data;
    in->server_name.len = jp_server_name_len((char *) cycle->hostname.data,
                                             cycle->hostname.len);
    in->server_id = jp_server_id((char *) cycle->hostname.data,
                                 cycle->hostname.len);

    in->pid = (ngx_process == NGX_PROCESS_WORKER) ? ngx_parent : ngx_pid;

    /* nginx's uptime, not the worker's: reloads replace workers */

    if (jp_process_start_time(in->pid, &in->start) != 0) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, ngx_errno,
                      "jpulse: cannot read the start time of process %P, "
                      "uptime counts from now", in->pid);
        in->start = ngx_time();
    }

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
}


time_t
ngx_http_jpulse_instance_uptime(void)
{
    time_t  up;

    up = ngx_time() - ngx_http_jpulse_instance.start;

    return up > 0 ? up : 0;
}
