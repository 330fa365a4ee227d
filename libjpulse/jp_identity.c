#include <stdio.h>

#include "jp_identity.h"


/* More digits than this cannot be a server number; parsing stops there. */
#define JP_SERVER_ID_DIGITS  9


size_t
jp_server_name_len(const char *hostname, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if (hostname[i] == '.') {
            break;
        }
    }

    return i;
}


unsigned long
jp_server_id(const char *hostname, size_t len)
{
    size_t         i, digits;
    unsigned long  id;

    len = jp_server_name_len(hostname, len);

    for (i = 0; i < len; i++) {
        if (hostname[i] >= '0' && hostname[i] <= '9') {
            break;
        }
    }

    id = 0;

    for (digits = 0;
         i < len && hostname[i] >= '0' && hostname[i] <= '9'
         && digits < JP_SERVER_ID_DIGITS;
         i++, digits++)
    {
        id = id * 10 + (unsigned long) (hostname[i] - '0');
    }

    return id;
}


size_t
jp_instance_id(char *buf, size_t size, unsigned long server_id,
    unsigned pm2_id, long pid)
{
    int  n;

    n = snprintf(buf, size, "%lu:%u:%ld", server_id, pm2_id, pid);

    if (n < 0 || (size_t) n >= size) {
        if (size) {
            buf[0] = '\0';
        }

        return 0;
    }

    return (size_t) n;
}
