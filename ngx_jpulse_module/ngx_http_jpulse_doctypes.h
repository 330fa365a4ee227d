/*
 * docTypes (contract 4.5): the distinct data.docType of jPulse's change
 * log, sorted, shown as appConfig.system.docTypes (the admin log view's
 * filter). One refresher per cluster keeps it in Redis (docs/protocol.md);
 * each worker keeps a copy for as long.
 */

#ifndef NGX_HTTP_JPULSE_DOCTYPES_H
#define NGX_HTTP_JPULSE_DOCTYPES_H

#include <ngx_config.h>
#include <ngx_core.h>

#include <jansson.h>


ngx_int_t ngx_http_jpulse_doctypes_init_process(ngx_cycle_t *cycle);
void ngx_http_jpulse_doctypes_exit_process(ngx_cycle_t *cycle);

/*
 * The list this worker has (borrowed), jPulse's fallback until one is
 * known; NULL without jpulse_mongodb. Never waits: a copy past its TTL
 * is served while a refresh runs in the background.
 */
json_t *ngx_http_jpulse_doctypes(void);


#endif /* NGX_HTTP_JPULSE_DOCTYPES_H */
