// jPulse's session stack (contract §4.3), configured as webapp/app.js and
// webapp/utils/redis-manager.js configure it: an ioredis client with the
// options of the "session" connection, connect-redis 7's default export
// with prefix "<siteId>:<mode>:sess:" and ttl 86400, express-session with
// resave false, saveUninitialized false and the cookie connect.sid
// (never Secure: jPulse compares dev|prod with 'production'). A request
// with a session of its own costs a GET and, as jPulse's does, the
// touch's EXPIRE (no rolling, the session is not modified).

import os from 'node:os';

export async function sessionMiddleware(o) {
    const { default: session } = await import('express-session');
    const { default: RedisStore } = await import('connect-redis');
    const { default: Redis } = await import('ioredis');

    const [host, port] = o.redis.split(/:(?=\d+$)/);
    const ns = `${o.siteId}:${o.mode}:`;

    const client = new Redis({
        host,
        port: Number(port),
        db: 0,
        connectTimeout: 10000,
        lazyConnect: true,
        retryDelayOnFailover: 100,
        maxRetriesPerRequest: 3,
        enableOfflineQueue: true,
        connectionName: `jpulse-session-${os.hostname()}:0:${process.pid}`,
    });
    client.on('error', err => console.error(`bench-peer: redis: ${err.message}`));
    // jPulse connects at start and falls back to memory when it cannot;
    // the bench must not measure a fallback, so a Redis that is not there
    // is an error
    await client.connect();

    const store = new RedisStore({ client, prefix: `${ns}sess:`, ttl: 86400 });

    const middleware = session({
        secret: o.secret,
        resave: false,
        saveUninitialized: false,
        store,
        cookie: {
            secure: o.mode === 'production',
            httpOnly: true,
            maxAge: 3600000,
        },
    });
    return { client, middleware };
}
