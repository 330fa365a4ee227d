#include <string.h>

#include "jp_channel.h"


static int
jp_channel_word_char(char c, int dots)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '_' || c == '-'
           || (dots && c == '.');
}


/* Length of the layer prefix, or 0. */

static size_t
jp_channel_layer(const char *name, size_t len)
{
    static const struct {
        const char  *text;
        size_t       len;
    } layers[] = {
        { "model", 5 }, { "view", 4 }, { "controller", 10 }
    };

    size_t  i, j;

    for (i = 0; i < sizeof(layers) / sizeof(layers[0]); i++) {
        if (len < layers[i].len) {
            continue;
        }

        for (j = 0; j < layers[i].len; j++) {
            if (name[j] != layers[i].text[j]) {
                break;
            }
        }

        if (j == layers[i].len) {
            return j;
        }
    }

    return 0;
}


/*
 * Counts the ":segment" parts after the layer; a final ":*" is reported
 * through *wildcard. Returns -1 when a part is empty or has a character
 * the rule does not allow.
 */

static int
jp_channel_segments(const char *p, const char *end, int dots, int *wildcard)
{
    int          n;
    const char  *start;

    n = 0;
    *wildcard = 0;

    while (p < end) {
        if (*p != ':') {
            return -1;
        }

        p++;

        if (end - p == 1 && *p == '*') {
            *wildcard = 1;
            return n;
        }

        for (start = p; p < end && *p != ':'; p++) {
            if (!jp_channel_word_char(*p, dots)) {
                return -1;
            }
        }

        if (p == start) {
            return -1;
        }

        n++;
    }

    return n;
}


/*
 * Both rules: a layer, then segments; dots and a final ":*" only in the
 * general rule, which also bounds the count.
 */

static int
jp_channel_check(const char *name, size_t len, int general)
{
    int     n, wildcard;
    size_t  layer;

    if (len == 0 || len > JP_CHANNEL_MAX) {
        return 0;
    }

    layer = jp_channel_layer(name, len);
    if (layer == 0) {
        return 0;
    }

    n = jp_channel_segments(name + layer, name + len, general, &wildcard);

    if (!general) {
        return !wildcard && n >= 3;
    }

    if (wildcard) {
        return n >= 1 && n <= 15;
    }

    return n >= 3 && n <= 16;
}


int
jp_channel_valid(const char *name, size_t len)
{
    return jp_channel_check(name, len, 1);
}


int
jp_channel_valid_rest(const char *name, size_t len)
{
    return jp_channel_check(name, len, 0);
}


/*
 * What the module acts on when it hears it (l2.c, cluster.c,
 * session_cache.c: only cachectl and the module publish revocations). The
 * listeners match a channel by prefix (redis.c), so these are prefixes
 * too: "controller:config:data:changed:x" reaches the config listener and
 * is as reserved as the channel itself.
 */

int
jp_channel_reserved(const char *name, size_t len)
{
    static const struct {
        const char  *text;
        size_t       len;
    } reserved[] = {
        { "controller:cache:invalidate:", 28 },
        { "controller:health:metrics:", 26 },
        { "controller:config:data:changed", 30 },
        { "controller:session:cache:revoked", 32 }
    };

    size_t  i;

    for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (len >= reserved[i].len
            && memcmp(name, reserved[i].text, reserved[i].len) == 0)
        {
            return 1;
        }
    }

    return 0;
}
