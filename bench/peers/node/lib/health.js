// GET /api/1/health/status and /api/1/health/metrics, built per request as
// jPulse's webapp/controller/health.js builds them (contract §1.2, §1.3):
// status from the config and the process; metrics from os.*, process.*
// and the request counter of the last 60 s, in the single-instance shape
// (one server, one instance; PM2 is not there, so pm2Available: false,
// as jPulse reports without it). The bench compares them with
// jpulse_health and jpulse_metrics, which also build their JSON per
// request from what the process knows.
//
// Not jPulse's: no role check (jPulse answers metrics to admins only;
// nginx's jpulse_metrics is public unless sessions gate it, and the
// scenarios measure the full answer on both sides), no log lines.

import os from 'node:os';

function formatUptime(s) {
    s = Math.floor(s);
    const d = Math.floor(s / 86400);
    const h = Math.floor((s % 86400) / 3600);
    const m = Math.floor((s % 3600) / 60);
    const parts = [];
    if (d) {
        parts.push(`${d}d`);
    }
    if (d || h) {
        parts.push(`${h}h`);
    }
    parts.push(`${m}m`, `${s % 60}s`);
    return parts.join(' ');
}

function firstIPv4() {
    for (const list of Object.values(os.networkInterfaces())) {
        for (const a of list || []) {
            if (a.family === 'IPv4' && !a.internal) {
                return a.address;
            }
        }
    }
    return '127.0.0.1';
}

const MB = 1024 * 1024;

export class Health {
    constructor({ appConfig, mode, port }) {
        this.appConfig = appConfig;
        this.mode = mode;
        this.port = port;
        this.redis = null;
        this.mongo = false;
        this.views = null;
        this.context = null;
        // requests and 5xx per second over the last 60 s (jPulse keeps a
        // 60 s rolling window for requestsPerMin / errorsPerMin)
        this.reqs = new Uint32Array(60);
        this.errs = new Uint32Array(60);
        this.sec = new Uint32Array(60);
        this.total = 0;
        this.errors = 0;
    }

    // jPulse counts every request for requestsPerMin, and its 5xx for
    // errorsPerMin; the peer's only 5xx come from its error handler,
    // which calls error(), so no request needs a 'finish' listener
    counter() {
        return (req, res, next) => {
            this.reqs[this.slot()]++;
            this.total++;
            next();
        };
    }

    error() {
        this.errs[this.slot()]++;
        this.errors++;
    }

    // this second's slot of the 60 s window, cleared when it is reused
    slot() {
        const now = Math.floor(Date.now() / 1000);
        const i = now % 60;
        if (this.sec[i] !== now) {
            this.sec[i] = now;
            this.reqs[i] = 0;
            this.errs[i] = 0;
        }
        return i;
    }

    window() {
        const now = Math.floor(Date.now() / 1000);
        let r = 0;
        let e = 0;
        for (let i = 0; i < 60; i++) {
            if (now - this.sec[i] < 60) {
                r += this.reqs[i];
                e += this.errs[i];
            }
        }
        return { r, e };
    }

    redisStatus() {
        if (!this.redis) {
            return 'not configured';
        }
        return this.redis.status === 'ready' ? 'connected' : 'disconnected';
    }

    status(req, res) {
        const jp = this.appConfig.app?.jPulse || {};
        res.json({
            success: true,
            message: 'jPulse Framework health status',
            data: {
                version: jp.version,
                release: jp.release,
                uptime: Math.floor(process.uptime()),
                environment: this.mode,
                database: this.mongo ? 'connected' : 'not configured',
                redis: this.redisStatus(),
                timestamp: new Date().toISOString(),
            },
        });
    }

    // jPulse's W-112 registry: one entry per component that keeps stats
    // (cache, view, handlebar, redis, websocket, log, email in jPulse);
    // here those the peer has, with what it counts
    components(timestamp, r, e, mem) {
        const v = this.views;
        const entry = (component, stats, fields, category = 'app') => ({
            component, status: 'ok', initialized: true, stats,
            meta: { ttl: 0, category, fields }, timestamp,
        });
        return {
            http: entry('HttpRequests', {
                requests: this.total, errors: this.errors,
                requestsPerMin: r, errorsPerMin: e,
                errorRate: (r ? e / r * 100 : 0).toFixed(2),
            }, { requests: { aggregate: 'sum' }, errors: { aggregate: 'sum' },
                 requestsPerMin: { aggregate: 'sum' },
                 errorsPerMin: { aggregate: 'sum' } }, 'framework'),
            view: entry('ViewController', {
                pages: v ? v.pageFiles.size : 0,
                partials: v ? v.partialFiles.size : 0,
                languages: v ? v.envs.size : 0,
                renders: v ? v.renders : 0,
                scans: v ? v.scans : 0,
                recompiles: v ? v.recompiles : 0,
                scanIntervalMs: v ? v.scanMs : 0,
            }, { pages: { aggregate: 'first', global: true },
                 renders: { aggregate: 'sum' },
                 recompiles: { aggregate: 'sum' } }, 'view'),
            cache: entry('CacheManager', {
                templates: v ? v.files.size : 0,
                timestamps: v ? v.timestamps.size : 0,
                configVariants: this.context ? this.context.variants.size : 0,
                heapUsed: mem.heapUsed,
                external: mem.external,
            }, { templates: { aggregate: 'first', global: true },
                 heapUsed: { aggregate: 'sum', sanitize: true } }, 'util'),
            redis: entry('RedisManager', {
                status: this.redisStatus(),
                connections: this.redis ? 1 : 0,
                mode: this.redis ? 'single' : 'disabled',
            }, { connections: { aggregate: 'sum' },
                 status: { aggregate: 'first' } }, 'infrastructure'),
            websocket: entry('WebSocketController', {
                namespaces: 0, connections: 0, messages: 0,
                messagesPerMin: 0,
            }, { connections: { aggregate: 'sum' },
                 messages: { aggregate: 'sum' } }, 'framework'),
        };
    }

    metrics(req, res) {
        const start = Date.now();
        const timestamp = new Date(start).toISOString();
        const app = this.appConfig.app || {};
        const hostname = os.hostname();
        const serverId = Number((hostname.match(/\d+/) || ['1'])[0]);
        const mem = process.memoryUsage();
        const { r, e } = this.window();
        const instanceId = `${serverId}:0:${process.pid}`;
        const components = this.components(timestamp, r, e, mem);
        const instance = {
            pid: process.pid,
            pm2Id: 0,
            port: this.port,
            instanceName: `${hostname}:0:${process.pid}`,
            instanceId,
            pm2Available: false,
            reason: 'PM2 not available',
            status: 'online',
            uptime: Math.floor(process.uptime()),
            uptimeFormatted: formatUptime(process.uptime()),
            memory: { used: Math.round(mem.heapUsed / MB),
                      total: Math.round(mem.heapTotal / MB),
                      percentage: Math.round(mem.heapUsed / mem.heapTotal * 100) },
            cpu: null,
            restarts: 0,
            jPulse: { version: app.jPulse?.version, release: app.jPulse?.release },
            site: { version: app.site?.version, release: app.site?.release },
            environment: this.mode,
            database: { status: this.mongo ? 'connected' : 'disconnected',
                        name: '' },
            metrics: { requestsPerMin: r, errorsPerMin: e,
                       errorRate: (r ? e / r * 100 : 0).toFixed(2) },
            websockets: { uptime: 0, localConnections: 0, localMessages: 0,
                          namespaces: [] },
            processInfo: { ppid: process.ppid, memoryUsage: mem,
                           resourceUsage: process.resourceUsage() },
            components,
        };
        const server = {
            serverName: hostname,
            serverId,
            hostname,
            ip: firstIPv4(),
            uptime: Math.floor(os.uptime()),
            uptimeFormatted: formatUptime(os.uptime()),
            platform: os.platform(),
            arch: os.arch(),
            nodeVersion: process.version,
            cpus: os.cpus().length,
            loadAverage: os.loadavg(),
            freeMemory: Math.round(os.freemem() / MB),
            totalMemory: Math.round(os.totalmem() / MB),
            instances: [instance],
        };
        res.json({
            success: true,
            message: 'jPulse Framework metrics data',
            elapsed: Date.now() - start,
            data: {
                timestamp,
                statistics: {
                    totalServers: 1,
                    totalInstances: 1,
                    totalProcesses: 1,
                    runningProcesses: 1,
                    stoppedProcesses: 0,
                    erroredProcesses: 0,
                    totalWebSocketConnections: 0,
                    totalWebSocketMessages: 0,
                    totalWebSocketNamespaces: 0,
                    webSocketNamespaces: [],
                    components: Object.fromEntries(Object.entries(components)
                        .map(([k, v]) => [k, { meta: v.meta, stats: v.stats }])),
                    lastUpdated: timestamp,
                },
                servers: [server],
            },
        });
    }
}
