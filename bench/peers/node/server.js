// The bench peer: the Express app a jPulse team would run instead of (or
// behind) ngx_jpulse, configured the way jPulse runs, but with the
// fastest template setup Node offers: handlebars.js templates compiled
// once at start and cached (jPulse's own engine re-scans its templates
// with regular expressions on every request, so this flatters Node).
// bench/scenarios/peer-*.conf measure nginx against it; README.md says
// what is jPulse's here and what is not.
//
//   node server.js --port N [--host 127.0.0.1] [--workers N]
//       [--redis HOST:PORT] [--site-id ID] [--mode dev|prod] [--secret S]
//       [--config FILE] [--i18n DIR] [--views DIR]... [--static DIR]
//       [--scan-interval SECS] [--scan-phase start|random]
//       [--pid-header yes|no] [--mongo URI --db NAME]
//
// It prints nothing per request: logging would cost Node and not nginx
// (the scenarios run nginx with access_log off).

import cluster from 'node:cluster';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Express reads NODE_ENV when an app is created; a production user runs
// with it set, and the bench should not depend on who starts it.
process.env.NODE_ENV ||= 'production';

const here = path.dirname(fileURLToPath(import.meta.url));
const bench = path.resolve(here, '..', '..');

const USAGE = `usage: node server.js --port N [--host ADDR] [--workers N]
    [--redis HOST:PORT] [--site-id ID] [--mode dev|prod] [--secret S]
    [--config FILE] [--i18n DIR] [--views DIR]... [--static DIR]
    [--scan-interval SECS] [--scan-phase start|random]
    [--pid-header yes|no] [--mongo URI --db NAME]`;

function options(argv) {
    const o = {
        port: null,
        host: '127.0.0.1',
        workers: 1,
        redis: null,
        siteId: 'jpulse',
        mode: 'prod',
        secret: null,
        config: path.join(bench, 'site', 'app.json'),
        i18n: path.join(bench, 'site', 'webapp', 'translations'),
        views: [],
        static: null,
        scanInterval: 0,
        scanPhase: 'start',
        pidHeader: 'no',
        mongo: null,
        db: null,
    };
    const names = {
        '--port': 'port', '--host': 'host', '--workers': 'workers',
        '--redis': 'redis', '--site-id': 'siteId', '--mode': 'mode',
        '--secret': 'secret', '--config': 'config', '--i18n': 'i18n',
        '--views': 'views', '--static': 'static',
        '--scan-interval': 'scanInterval', '--scan-phase': 'scanPhase',
        '--pid-header': 'pidHeader', '--mongo': 'mongo', '--db': 'db',
    };

    for (let i = 0; i < argv.length; i += 2) {
        const arg = argv[i];
        const value = argv[i + 1];

        if (arg === '--help' || arg === '-h') {
            console.log(USAGE);
            process.exit(0);
        }
        if (!Object.hasOwn(names, arg)) {
            throw new Error(`unknown argument "${arg}"\n${USAGE}`);
        }
        if (value === undefined || value.startsWith('--')) {
            throw new Error(`${arg} needs a value\n${USAGE}`);
        }
        if (arg === '--views') {
            o.views.push(path.resolve(value));
        } else {
            o[names[arg]] = value;
        }
    }

    if (o.port === null || !/^\d+$/.test(o.port) || +o.port > 65535) {
        throw new Error(`--port N is required (0-65535), got "${o.port}"\n${USAGE}`);
    }
    o.port = +o.port;
    if (!/^[1-9]\d*$/.test(String(o.workers)) || +o.workers > 256) {
        throw new Error(`--workers must be 1-256, got "${o.workers}"`);
    }
    o.workers = +o.workers;
    if (!/^\d+(\.\d+)?$/.test(String(o.scanInterval))) {
        throw new Error(`--scan-interval must be seconds >= 0, got "${o.scanInterval}"`);
    }
    o.scanInterval = +o.scanInterval;
    if (o.scanPhase !== 'start' && o.scanPhase !== 'random') {
        throw new Error(`--scan-phase must be start or random, got "${o.scanPhase}"`);
    }
    if (o.pidHeader !== 'yes' && o.pidHeader !== 'no') {
        throw new Error(`--pid-header must be yes or no, got "${o.pidHeader}"`);
    }
    if (o.mode !== 'dev' && o.mode !== 'prod') {
        throw new Error(`--mode must be dev or prod, got "${o.mode}"`);
    }
    if (o.redis !== null && !/^[^:]+:\d+$/.test(o.redis)) {
        throw new Error(`--redis must be HOST:PORT, got "${o.redis}"`);
    }
    if (o.redis !== null && !o.secret) {
        throw new Error('--redis needs --secret S (the session secret)');
    }
    if ((o.mongo === null) !== (o.db === null)) {
        throw new Error('--mongo URI and --db NAME go together');
    }
    if (!o.views.length) {
        o.views.push(path.join(here, 'views'));
    }
    for (const dir of o.views) {
        if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
            throw new Error(`--views ${dir}: not a directory`);
        }
    }
    if (o.static !== null) {
        o.static = path.resolve(o.static);
        if (!fs.statSync(o.static, { throwIfNoEntry: false })?.isDirectory()) {
            throw new Error(`--static ${o.static}: not a directory`);
        }
    }
    o.config = path.resolve(o.config);
    o.i18n = path.resolve(o.i18n);
    return o;
}

async function worker(o) {
    const { default: express } = await import('express');
    const { Views } = await import('./lib/views.js');
    const { Context } = await import('./lib/context.js');
    const { Health } = await import('./lib/health.js');

    const appConfig = JSON.parse(fs.readFileSync(o.config, 'utf8'));
    const views = new Views({ roots: o.views, i18nDir: o.i18n,
                              configDir: path.dirname(o.config),
                              defaultLang: appConfig.utils?.i18n?.default || 'en' });
    views.load();
    if (o.scanInterval > 0) {
        // "random": the first scan at a random point of [0, S), then every
        // S: jPulse's processes start at unrelated times, so their timers
        // are spread over the interval, while processes started together
        // (the bench's) would otherwise tick within milliseconds of each
        // other. "start" (default): the timer runs from start.
        views.startScan(o.scanInterval * 1000,
                        o.scanPhase === 'random' ? Math.random() * o.scanInterval * 1000 : 0);
    }

    const context = new Context({ appConfig, mode: o.mode,
                                  translations: views.translations });
    const health = new Health({ appConfig, mode: o.mode, port: o.port });
    health.views = views;
    health.context = context;

    const app = express();

    app.disable('x-powered-by');
    // --pid-header yes: X-Worker-Pid names the process that answered (the
    // invalidation bench tells cluster workers apart by it; the suites
    // check the server answering is the one they started). Off by
    // default: the scenarios measure no header nginx does not send.
    if (o.pidHeader === 'yes') {
        const pid = String(process.pid);
        app.use((req, res, next) => { res.setHeader('X-Worker-Pid', pid); next(); });
    }
    // 'etag' stays Express's default (weak), as in jPulse

    // jPulse counts every request for its metrics' requestsPerMin
    app.use(health.counter());

    if (o.static !== null) {
        app.use('/static', express.static(o.static));
    }

    let redis = null;
    if (o.redis !== null) {
        const { sessionMiddleware } = await import('./lib/session.js');
        const s = await sessionMiddleware(o);
        redis = s.client;
        app.use(s.middleware);
    }
    health.redis = redis;

    app.get('/api/1/health/status', (req, res) => health.status(req, res));
    app.get('/api/1/health/metrics', (req, res) => health.metrics(req, res));

    if (o.mongo !== null) {
        const file = path.join(here, 'search.js');
        if (!fs.existsSync(file)) {
            throw new Error(`--mongo given, but ${file} is missing`
                            + ' (search.js mounts the search route)');
        }
        const { mountSearch } = await import('./search.js');
        await mountSearch(app, { uri: o.mongo, db: o.db });
        health.mongo = true;
    }

    app.get('/', (req, res) => {
        const q = req.originalUrl.indexOf('?');
        res.redirect(302, '/home/' + (q >= 0 ? req.originalUrl.slice(q) : ''));
    });

    // GET /<path>/ renders <view root>/<path>/index.hbs (jPulse: /x/ ->
    // x/index.shtml)
    app.get(/\/$/, (req, res, next) => {
        const page = views.page(req.path, context.lang(req));
        if (!page) {
            return next();
        }
        res.type('html').send(page(context.build(req)));
    });

    app.use((req, res) => {
        res.status(404).json({ success: false, error: 'Not found',
                               path: req.originalUrl, code: 'NOT_FOUND' });
    });
    app.use((err, req, res, next) => {    // eslint-disable-line no-unused-vars
        console.error(`bench-peer: ${req.method} ${req.originalUrl}: ${err.stack || err}`);
        health.error();
        res.status(500).json({ success: false, error: 'Internal error',
                               code: 'INTERNAL_ERROR' });
    });

    const server = app.listen(o.port, o.host);
    // wrk holds its connections for a whole run; jPulse's Node default
    // (5 s) would close idle ones between rounds, which costs reconnects
    server.keepAliveTimeout = 65000;
    server.headersTimeout = 66000;
    server.on('error', err => {
        console.error(`bench-peer: ${o.host}:${o.port}: ${err.message}`);
        process.exit(1);
    });
    server.on('listening', () => {
        if (cluster.isPrimary) {
            console.log(`bench-peer: listening on ${o.host}:${o.port}`
                        + ` (pid ${process.pid}, ${views.count()} page(s))`);
        }
    });

    const stop = () => {
        server.close();
        redis?.disconnect();
        process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

function primary(o) {
    let stopping = false;

    for (let i = 0; i < o.workers; i++) {
        cluster.fork();
    }
    let up = 0;
    cluster.on('listening', () => {
        if (++up === o.workers) {
            console.log(`bench-peer: listening on ${o.host}:${o.port}`
                        + ` (${o.workers} cluster workers, primary ${process.pid})`);
        }
    });
    // a worker that dies takes the bench with it: a silent restart would
    // hide the crash and measure a different process tree
    cluster.on('exit', (w, code, signal) => {
        if (stopping) {
            if (!Object.keys(cluster.workers).length) {
                process.exit(0);
            }
            return;
        }
        console.error(`bench-peer: worker ${w.process.pid} exited`
                      + ` (${signal || code}); stopping`);
        stopping = true;
        for (const x of Object.values(cluster.workers)) {
            x.process.kill('SIGTERM');
        }
        process.exitCode = 1;
        setTimeout(() => process.exit(1), 5000).unref();
    });
    const stop = () => {
        if (stopping) {
            return;
        }
        stopping = true;
        for (const x of Object.values(cluster.workers)) {
            x.process.kill('SIGTERM');
        }
        setTimeout(() => process.exit(0), 5000).unref();
        if (!Object.keys(cluster.workers).length) {
            process.exit(0);
        }
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
}

try {
    const o = options(process.argv.slice(2));

    if (o.workers > 1 && cluster.isPrimary) {
        primary(o);
    } else {
        await worker(o);
    }
} catch (err) {
    console.error(`bench-peer: ${err.message}`);
    process.exit(2);
}
