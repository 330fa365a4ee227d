/*
 * jPulse instance identity (jpulse-contract.md 4.6):
 *   serverName   = hostname up to the first '.'
 *   serverId     = the first run of digits in serverName, or 0
 *   instanceName = serverName:pm2Id:pid
 *   instanceId   = serverId:pm2Id:pid
 */

#ifndef JP_IDENTITY_H
#define JP_IDENTITY_H

#include <stddef.h>

#define JP_INSTANCE_ID_MAX  64

size_t jp_server_name_len(const char *hostname, size_t len);

/* "app-012" -> 12, "web01.example.com" -> 1, "localhost" -> 0 */
unsigned long jp_server_id(const char *hostname, size_t len);

/*
 * Writes "serverId:pm2Id:pid" into buf (NUL-terminated); returns its length,
 * or 0 when it does not fit.
 */
size_t jp_instance_id(char *buf, size_t size, unsigned long server_id,
    unsigned pm2_id, long pid);

#endif /* JP_IDENTITY_H */
