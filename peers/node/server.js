// The Node peer of the session suites and of `make run`: a small Express
// app whose session stack is jPulse's (express-session + connect-redis 7
// on an ioredis client, configured as webapp/app.js and
// webapp/utils/redis-manager.js configure them; contract §4.3), with
// jPulse's login and logout routes writing and destroying jPulse's
// session JSON. Users come from a JSON file instead of MongoDB.
//
//   node server.js [--port N] [--host ADDR] [--redis HOST:PORT]
//                  [--redis-password P] [--site-id ID] [--mode dev|prod]
//                  [--ns NS] [--secret S]... [--users FILE]
//
// Each option also reads an environment variable (PEER_PORT, PEER_HOST,
// PEER_REDIS, PEER_REDIS_PASSWORD, PEER_SITE_ID, PEER_MODE, PEER_NS,
// PEER_SECRET: one secret, PEER_USERS). The Redis namespace is
// "<siteId>:<mode>:" as jPulse builds it (--ns gives it whole); sessions
// are <ns>sess:<sid>.
//
// Routes:
//   GET  /login, /auth/login.shtml   a sign-in form
//   POST /api/1/auth/login           jPulse's: {identifier|username,
//                                    password} -> {success, nextStep:null,
//                                    data:{user}, warnings, message,
//                                    elapsed}; a form post redirects
//   POST /api/1/auth/logout          jPulse's: destroys the session
//   GET  /api/1/auth/session         the peer's own (not jPulse's): who
//                                    Node sees, for the tests

import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import express from 'express';
import session from 'express-session';
import RedisStore from 'connect-redis';
import Redis from 'ioredis';

const here = path.dirname(fileURLToPath(import.meta.url));

function options(argv, env) {
    const o = {
        port: env.PEER_PORT || '8081',
        host: env.PEER_HOST || '127.0.0.1',
        redis: env.PEER_REDIS || '127.0.0.1:6379',
        redisPassword: env.PEER_REDIS_PASSWORD || '',
        siteId: env.PEER_SITE_ID || 'jpulse',
        mode: env.PEER_MODE || 'dev',
        ns: env.PEER_NS || '',
        secrets: env.PEER_SECRET ? [env.PEER_SECRET] : [],
        users: env.PEER_USERS || path.join(here, 'users.json'),
    };
    const names = {
        '--port': 'port', '--host': 'host', '--redis': 'redis',
        '--redis-password': 'redisPassword', '--site-id': 'siteId',
        '--mode': 'mode', '--ns': 'ns', '--users': 'users',
    };
    let cliSecrets = [];

    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const value = argv[i + 1];

        if (value === undefined
            || !(Object.hasOwn(names, arg) || arg === '--secret')) {
            throw new Error(`bad argument "${arg}" (see the head of server.js)`);
        }
        if (arg === '--secret') {
            cliSecrets.push(value);
        } else {
            o[names[arg]] = value;
        }
        i++;
    }
    if (cliSecrets.length) {
        o.secrets = cliSecrets;
    }
    if (!o.secrets.length || o.secrets.some(s => s === '')) {
        throw new Error('a session secret is required: --secret S or PEER_SECRET');
    }
    if (!/^\d+$/.test(o.port)) {
        throw new Error(`bad port "${o.port}"`);
    }
    if (!o.ns) {
        o.ns = `${o.siteId}:${o.mode}:`;
    }
    return o;
}

// users.json: [{id, username, email, password ("scrypt:<salt>:<hash>",
// base64), profile:{firstName, lastName, nickName}, roles, preferences,
// status}]: the fields of jPulse's users collection that login reads
function loadUsers(file) {
    const list = JSON.parse(fs.readFileSync(file, 'utf8'));

    if (!Array.isArray(list)) {
        throw new Error(`${file}: not an array of users`);
    }
    return list;
}

// an unknown user costs one scrypt too: no timing answer to "exists?"
const dummyHash = `scrypt:${crypto.randomBytes(16).toString('base64')}:`
                  + crypto.randomBytes(32).toString('base64');

function passwordMatches(user, password) {
    const [kind, salt, hash] = String(user?.password ?? dummyHash).split(':');

    if (kind !== 'scrypt' || !salt || !hash || typeof password !== 'string') {
        return false;
    }
    const want = Buffer.from(hash, 'base64');
    const got = crypto.scryptSync(password, Buffer.from(salt, 'base64'),
                                  want.length);
    return crypto.timingSafeEqual(want, got);
}

// jPulse's AuthController._completeLogin: the session's user object
function sessionUser(user) {
    const p = user.profile || {};

    return {
        id: String(user.id),
        username: user.username,
        email: user.email,
        firstName: p.firstName,
        lastName: p.lastName,
        nickName: p.nickName || p.firstName,
        initials: (p.firstName?.charAt(0) || '?') + (p.lastName?.charAt(0) || ''),
        roles: user.roles,
        preferences: user.preferences,
        isAuthenticated: true,
    };
}

function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`);
}

function loginPage(req) {
    const u = req.session?.user;
    const who = u?.isAuthenticated
        ? `<p class="who">Signed in as ${escapeHtml(u.username)}.
<button id="logout" type="button">Sign out</button></p>`
        : '';

    return `<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Sign in</title></head>
<body>
<main>
<h1>Sign in</h1>
${who}
<form id="login" method="post" action="/api/1/auth/login">
  <input type="hidden" name="redirect" value="/">
  <label>User name <input name="identifier" autocomplete="username"></label>
  <label>Password <input name="password" type="password"
    autocomplete="current-password"></label>
  <button type="submit">Sign in</button>
</form>
<script>
// as jPulse's login page: the JSON API, then the home page
document.getElementById('login').addEventListener('submit', async e => {
    e.preventDefault();
    const f = new FormData(e.target);
    const r = await fetch('/api/1/auth/login', {method: 'POST',
        headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({identifier: f.get('identifier'),
                              password: f.get('password')})});
    const j = await r.json();
    if (j.success) { location.href = '/'; } else { alert(j.error); }
});
document.getElementById('logout')?.addEventListener('click', async () => {
    await fetch('/api/1/auth/logout', {method: 'POST'});
    location.reload();
});
</script>
</main>
</body>
</html>
`;
}

function main() {
    const o = options(process.argv.slice(2), process.env);
    const users = loadUsers(o.users);
    const [redisHost, redisPort] = o.redis.split(/:(?=\d+$)/);
    const instanceId = `${os.hostname()}:0:${process.pid}`;

    // redis-manager.js _createSingleConfig, for the "session" connection
    const client = new Redis({
        host: redisHost,
        port: Number(redisPort || 6379),
        password: o.redisPassword || undefined,
        db: 0,
        connectTimeout: 10000,
        lazyConnect: true,
        retryDelayOnFailover: 100,
        maxRetriesPerRequest: 3,
        enableOfflineQueue: true,
        connectionName: `jpulse-session-${instanceId}`,
    });
    client.on('error', err => console.error(`peer: redis: ${err.message}`));

    // redis-manager.js configureSessionStore: the key prefix of the
    // "session" connection, its ttl of 86400 (connect-redis uses it only
    // for a session without cookie.expires)
    const store = new RedisStore({ client, prefix: `${o.ns}sess:`,
                                   ttl: 86400 });

    const app = express();

    app.disable('x-powered-by');
    app.use(express.urlencoded({ extended: true, limit: '16kb' }));
    app.use(express.json({ limit: '16kb' }));

    // app.js: no name (connect.sid), never Secure in practice (jPulse
    // compares deployment.mode, dev|prod, with 'production')
    app.use(session({
        secret: o.secrets.length === 1 ? o.secrets[0] : o.secrets,
        resave: false,
        saveUninitialized: false,
        store,
        cookie: {
            secure: o.mode === 'production',
            httpOnly: true,
            maxAge: 3600000,
        },
    }));

    app.use((req, res, next) => {
        res.on('finish', () => console.log(
            `peer: ${req.method} ${req.originalUrl} ${res.statusCode}`));
        next();
    });

    app.get(['/login', '/auth/login.shtml'], (req, res) => {
        res.type('html').send(loginPage(req));
    });

    app.post('/api/1/auth/login', (req, res) => {
        const start = Date.now();
        const body = req.body || {};
        const identifier = body.identifier || body.username;
        const form = req.is('application/x-www-form-urlencoded');

        if (!identifier || !body.password) {
            return res.status(400).json({
                success: false,
                error: 'Both identifier (username or email) and password are required',
                code: 'MISSING_CREDENTIALS',
            });
        }

        const user = users.find(u => u.username === identifier
                                     || u.email === identifier);
        const matches = passwordMatches(user, body.password);
        if (!user || !matches) {
            return res.status(401).json({
                success: false,
                error: 'Invalid username or password',
                code: 'INVALID_CREDENTIALS',
            });
        }
        if (user.status === 'locked' || user.status === 'disabled') {
            return res.status(403).json({
                success: false,
                error: `Account ${user.status}`,
                code: user.status === 'locked' ? 'ACCOUNT_LOCKED'
                                               : 'ACCOUNT_DISABLED',
            });
        }

        // as jPulse: the session id stays what it was (no regenerate)
        req.session.user = sessionUser(user);
        delete req.session.pendingAuth;

        if (form) {
            // a form without the page's script: back to a local path
            const to = typeof body.redirect === 'string'
                       && /^\/(?![\/\\])/.test(body.redirect)
                       ? body.redirect : '/';
            return res.redirect(303, to);
        }
        res.json({
            success: true,
            nextStep: null,
            data: { user: req.session.user },
            warnings: [],
            message: 'Login successful',
            elapsed: Date.now() - start,
        });
    });

    app.post('/api/1/auth/logout', (req, res) => {
        const start = Date.now();

        req.session.destroy(err => {
            if (err) {
                return res.status(500).json({
                    success: false, error: 'Logout failed',
                    code: 'LOGOUT_ERROR',
                });
            }
            res.json({ success: true, message: 'Logout successful',
                       elapsed: Date.now() - start });
        });
    });

    app.get('/api/1/auth/session', (req, res) => {
        const u = req.session?.user;

        res.json({
            success: true,
            data: {
                authenticated: !!u?.isAuthenticated,
                sid: u ? req.sessionID : null,
                username: u?.username ?? null,
                roles: u?.roles ?? [],
                language: u?.preferences?.language ?? null,
                user: u ?? null,
            },
        });
    });

    app.use((req, res) => {
        res.status(404).json({ success: false, error: 'Not found on the peer',
                               path: req.originalUrl, code: 'NOT_FOUND' });
    });

    const server = app.listen(Number(o.port), o.host, () => {
        console.log(`peer: listening on ${o.host}:${o.port}, sessions ${o.ns}sess:*`
                    + ` on ${o.redis}`);
    });
    server.on('error', err => {
        console.error(`peer: ${err.message}`);
        process.exit(1);
    });

    const stop = () => {
        server.close();
        client.disconnect();
        process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

try {
    main();
} catch (err) {
    console.error(`peer: ${err.message}`);
    process.exit(2);
}
