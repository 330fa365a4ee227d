/*
 * siteConfig: jPulse's configs{_id:"global"}.data as templates and the
 * role gates see it. Its source is MongoDB when jpulse_mongodb is
 * configured (jPulse's source of truth), else Redis' <ns>cfg:site (l2).
 * Both install through ngx_http_jpulse_siteconfig_install().
 */

#ifndef NGX_HTTP_JPULSE_SITECONFIG_H
#define NGX_HTTP_JPULSE_SITECONFIG_H

#include <ngx_config.h>
#include <ngx_core.h>

#include <jansson.h>


ngx_int_t ngx_http_jpulse_siteconfig_init_process(ngx_cycle_t *cycle);
void ngx_http_jpulse_siteconfig_exit_process(ngx_cycle_t *cycle);

/* the config in force (borrowed), stripped: anonymous or signed-in */
json_t *ngx_http_jpulse_siteconfig(void);
json_t *ngx_http_jpulse_siteconfig_for(ngx_uint_t authenticated);

/*
 * Installs raw (borrowed; NULL: none), stripped and split as jPulse's
 * contextFilter has it. 1 when what templates see changed (the caller
 * bumps the config generation), 0 otherwise.
 */
ngx_uint_t ngx_http_jpulse_siteconfig_install(json_t *raw);

/* <ns>cfg:site is not read: MongoDB is the source (noticed once) */
ngx_uint_t ngx_http_jpulse_siteconfig_redis_ignored(void);


#endif /* NGX_HTTP_JPULSE_SITECONFIG_H */
