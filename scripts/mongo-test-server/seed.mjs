// Seeds a database with jPulse-shaped documents: `users` (the fields of
// jPulse's webapp/model/user.js), `logs` (webapp/model/log.js) and
// `configs` {_id: "global"} (siteConfig in its data). Deterministic: the
// same --seed and counts give the same documents, _ids included, so a
// cursor or a count in a test or a benchmark means the same thing on
// every run.
//
//   node seed.mjs (--port P | --uri mongodb://HOST:PORT[/DB]) [--db NAME]
//        [--users N] [--logs N] [--seed S] [--drop] [--also USERS.json]
//
//   --db NAME      database (default: the URI's, else "jpulse")
//   --users N      users to insert (default 1000)
//   --logs N       logs to insert (default 5000)
//   --seed S       the generator's seed (default 13)
//   --drop         drop users, logs and configs first (else a second run
//                  fails on duplicate _ids: the seed makes the same ones)
//   --also FILE    users as peers/node/users.json lists them (id, username,
//                  email, profile, roles, preferences, status): inserted
//                  too, with their ids, so a signed-in user finds herself
//
// It talks OP_MSG over a plain socket with the bson package the test
// server already installs (no driver): no authentication, so a URI with
// credentials is refused. Prints one line per collection; exit 0 when
// every document went in.
//
// Never returned by a search, yet present: passwordHash is bcrypt-shaped
// ("$2b$12$" and 53 characters of bcrypt's alphabet) but hashes nothing.
import fs from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { serialize, deserialize, ObjectId } = require('bson');

const BASE_MS = Date.UTC(2024, 0, 1);           // the first createdAt
const SPAN_MS = 2 * 365 * 24 * 3600 * 1000;     // two years of sign-ups
const BATCH = 1000;                             // documents per insert

function usage(msg) {
    if (msg) {
        console.error('seed: ' + msg);
    }
    console.error('usage: node seed.mjs (--port P | --uri mongodb://HOST:PORT'
                  + '[/DB]) [--db NAME] [--users N] [--logs N] [--seed S]'
                  + ' [--drop] [--also USERS.json]');
    process.exit(2);
}

function count(v, name) {
    if (!/^[0-9]{1,7}$/.test(v || '')) {
        usage(name + ' expects a count (0..9999999)');
    }
    return Number(v);
}

function parseArgs(argv) {
    const o = { host: '127.0.0.1', port: 0, db: '', users: 1000, logs: 5000,
                seed: 13, drop: false, also: '' };

    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const v = argv[i + 1];

        switch (a) {
        case '--port':
            if (!/^[0-9]{1,5}$/.test(v || '') || v < 1 || v > 65535) {
                usage('--port expects 1..65535');
            }
            o.port = Number(v); i++;
            break;
        case '--uri': {
            // one host, no credentials, no options this client would
            // silently ignore
            const m = /^mongodb:\/\/([^@/?,]+):([0-9]{1,5})(?:\/([^/?]*))?$/
                      .exec(v || '');
            if (!m) {
                usage('--uri expects mongodb://HOST:PORT[/DB] (one host,'
                      + ' no credentials, no options)');
            }
            o.host = m[1]; o.port = Number(m[2]);
            o.db = o.db || decodeURIComponent(m[3] || ''); i++;
            break;
        }
        case '--db':
            if (!/^[A-Za-z0-9_-]{1,63}$/.test(v || '')) {
                usage('--db expects a database name ([A-Za-z0-9_-])');
            }
            o.db = v; i++;
            break;
        case '--users': o.users = count(v, a); i++; break;
        case '--logs': o.logs = count(v, a); i++; break;
        case '--seed': o.seed = count(v, a); i++; break;
        case '--drop': o.drop = true; break;
        case '--also':
            if (!v) {
                usage('--also expects a file');
            }
            o.also = v; i++;
            break;
        default:
            usage('unknown argument ' + JSON.stringify(a));
        }
    }

    if (!o.port) {
        usage('--port or --uri is required');
    }
    o.db = o.db || 'jpulse';
    return o;
}

// mulberry32: small, fast, and the same numbers on every platform
function rng(seed) {
    let s = seed >>> 0;
    return () => {
        s = (s + 0x6D2B79F5) >>> 0;
        let t = s;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

const FIRST = ['Ada', 'Bruno', 'Cleo', 'Dara', 'Emil', 'Fatima', 'Goran',
    'Hana', 'Ivo', 'Jun', 'Kira', 'Liam', 'Mia', 'Noor', 'Otto', 'Pia',
    'Quinn', 'Rosa', 'Sven', 'Tariq', 'Uma', 'Vera', 'Wen', 'Xaver', 'Yara',
    'Zoe', 'Anaïs', 'Björn', 'Chloé', 'Dmitri'];
const LAST = ['Lovelace', 'Keller', 'Nguyen', 'Okafor', 'Schmidt', 'Garcia',
    'Rossi', 'Tanaka', 'Novak', 'Larsen', 'Haddad', 'Silva', 'Kowalski',
    'Müller', 'Dubois', "O'Brien", 'Ivanova', 'Jensen', 'Costa', 'Fischer',
    'Moreau', 'Yilmaz', 'Berg', 'Sato', 'Petrov'];
const LANGS = ['en', 'en', 'en', 'de', 'fr', 'es'];
const B64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function pick(r, list) {
    return list[Math.floor(r() * list.length)];
}

// weights: [[value, weight], ...]
function weighted(r, table) {
    let x = r() * table.reduce((s, [, w]) => s + w, 0);
    for (const [v, w] of table) {
        if ((x -= w) < 0) {
            return v;
        }
    }
    return table[table.length - 1][0];
}

function hex(r, n) {
    let s = '';
    for (let i = 0; i < n; i++) {
        s += Math.floor(r() * 16).toString(16);
    }
    return s;
}

// an ObjectId as a driver makes it: its time first (seconds of `ms`),
// then "random" bytes from r, then a counter
function objectId(r, ms, n) {
    const t = Math.floor(ms / 1000).toString(16).padStart(8, '0');
    return new ObjectId(t + hex(r, 10) + (n & 0xffffff).toString(16)
                                             .padStart(6, '0'));
}

function makeUser(r, i) {
    const first = pick(r, FIRST);
    const last = pick(r, LAST);
    // a tenth share their sign-up second with the user before: ties on
    // createdAt, which keyset pages must break by _id
    const created = BASE_MS + Math.floor(i * SPAN_MS / 1e5)
                    + (r() < 0.1 ? 0 : Math.floor(r() * 1000) * 1000);
    const username = (first.normalize('NFD').replace(/[^A-Za-z]/g, '') + '.'
                      + last.normalize('NFD').replace(/[^A-Za-z]/g, '')
                      + i).toLowerCase();
    const logins = r() < 0.15 ? 0 : 1 + Math.floor(r() * 500);
    const updated = created + Math.floor(r() * 90 * 86400) * 1000;
    let hash = '$2b$12$';

    for (let k = 0; k < 53; k++) {
        hash += B64[Math.floor(r() * 64)];
    }

    return {
        _id: objectId(r, created, i),
        username,
        uuid: [hex(r, 8), hex(r, 4), '4' + hex(r, 3),
               (8 + Math.floor(r() * 4)).toString(16) + hex(r, 3),
               hex(r, 12)].join('-'),
        email: username + '@example.com',
        passwordHash: hash,
        profile: {
            firstName: first,
            lastName: last,
            nickName: r() < 0.3 ? first.slice(0, 3) : '',
            avatar: '',
        },
        roles: weighted(r, [[['user'], 90], [['user', 'admin'], 8],
                            [['user', 'admin', 'root'], 2]]),
        preferences: {
            language: pick(r, LANGS),
            theme: r() < 0.3 ? 'dark' : 'light',
        },
        status: weighted(r, [['active', 80], ['pending', 6], ['inactive', 8],
                             ['suspended', 4], ['terminated', 2]]),
        lastLogin: logins ? new Date(updated + Math.floor(r() * 30 * 86400)
                                     * 1000)
                          : null,
        loginCount: logins,
        createdAt: new Date(created),
        updatedAt: new Date(updated),
        updatedBy: '',
        docVersion: 1,
        saveCount: 1 + Math.floor(r() * 5),
    };
}

// peers/node/users.json's users, as jPulse would keep them
function alsoUsers(r, file) {
    const list = JSON.parse(fs.readFileSync(file, 'utf8'));

    if (!Array.isArray(list)) {
        throw new Error(file + ': not a JSON array');
    }

    return list.map((u, i) => {
        const doc = makeUser(r, 0);

        if (!/^[0-9a-f]{24}$/.test(u.id || '')) {
            throw new Error(file + ': user ' + i + ': id is not 24 hex digits');
        }
        doc._id = new ObjectId(u.id);
        doc.username = String(u.username);
        doc.email = String(u.email || u.username + '@example.com');
        doc.profile = { nickName: '', avatar: '', ...u.profile };
        doc.roles = Array.isArray(u.roles) ? u.roles : ['user'];
        doc.preferences = { ...doc.preferences, ...u.preferences };
        doc.status = u.status || 'active';
        return doc;
    });
}

function makeLog(r, i, n, users) {
    // in order over the two years, a few seconds apart at most
    const created = BASE_MS + Math.floor(i * (SPAN_MS / n) / 1000) * 1000
                    + Math.floor(r() * 5) * 1000;
    const config = r() < 0.2;
    const user = users.length ? users[Math.floor(r() * users.length)] : null;
    const action = config ? 'update'
                          : weighted(r, [['create', 30], ['update', 60],
                                         ['delete', 10]]);
    const by = users.length ? users[Math.floor(r() * users.length)].username
                            : '';
    let changes;

    if (config) {
        changes = [['broadcast.message', '', 'Maintenance at 02:00 UTC']];
    } else if (action === 'update') {
        changes = [['status', 'pending', 'active'],
                   ['loginCount', i % 7, i % 7 + 1]];
    } else {
        changes = [['username', action === 'create' ? null : 'gone' + i,
                    action === 'create' ? 'new' + i : null]];
    }

    return {
        _id: objectId(r, created, i),
        data: {
            docId: config ? 'global' : (user ? user._id : objectId(r, 0, i)),
            docType: config ? 'config' : 'user',
            action,
            changes,
        },
        createdAt: new Date(created),
        createdBy: by,
        docVersion: 1,
    };
}

// a jPulse-like siteConfig: what the example site's pages read
// (general.siteName, email.adminEmail, broadcast.*) and the admin roles
// the gates use (ada, an admin in peers/node/users.json, stays one)
function makeConfig() {
    const at = new Date(BASE_MS);

    return {
        _id: 'global',
        parent: null,
        data: {
            general: {
                siteName: 'ngx_jpulse example (MongoDB)',
                roles: ['user', 'admin', 'root'],
                adminRoles: ['admin', 'root'],
            },
            email: {
                adminEmail: 'admin@example.com',
                adminName: 'Site Admin',
                smtpServer: 'localhost',
                smtpPort: 25,
                smtpUser: '',
                smtpPass: 'never-shown',
                useTls: false,
            },
            broadcast: {
                enable: false,
                message: '',
                nagTime: 4,
                disableTime: 0,
                enabledAt: null,
            },
        },
        createdAt: at,
        updatedAt: at,
        updatedBy: '',
        docVersion: 1,
        saveCount: 1,
    };
}

// One socket, one command at a time (OP_MSG, kind 0 body).
class Wire {
    constructor(host, port) {
        this.host = host;
        this.port = port;
        this.id = 0;
        this.buf = Buffer.alloc(0);
        this.wait = null;
    }

    open() {
        return new Promise((resolve, reject) => {
            this.sock = net.connect(this.port, this.host, resolve);
            this.sock.once('error', reject);
            this.sock.on('error', (e) => this.fail(e));
            this.sock.on('close', () => this.fail(new Error('connection'
                                                            + ' closed')));
            this.sock.on('data', (d) => this.read(d));
        });
    }

    fail(e) {
        if (this.wait) {
            const w = this.wait;
            this.wait = null;
            w.reject(e);
        }
    }

    read(d) {
        this.buf = Buffer.concat([this.buf, d]);

        if (this.buf.length < 4 || this.buf.length < this.buf.readInt32LE(0)) {
            return;
        }

        const len = this.buf.readInt32LE(0);
        const doc = deserialize(this.buf.subarray(21, len));
        this.buf = this.buf.subarray(len);

        if (this.wait) {
            const w = this.wait;
            this.wait = null;
            w.resolve(doc);
        }
    }

    cmd(doc) {
        const body = serialize(doc);
        const head = Buffer.alloc(21);

        head.writeInt32LE(head.length + body.length, 0);
        head.writeInt32LE(++this.id, 4);
        head.writeInt32LE(0, 8);
        head.writeInt32LE(2013, 12);
        head.writeUInt32LE(0, 16);
        head.writeUInt8(0, 20);

        return new Promise((resolve, reject) => {
            this.wait = { resolve, reject };
            this.sock.write(Buffer.concat([head, body]));
        });
    }

    close() {
        this.sock.removeAllListeners('close');
        this.sock.end();
    }
}

async function insert(w, db, coll, docs) {
    let n = 0;

    for (let i = 0; i < docs.length; i += BATCH) {
        const batch = docs.slice(i, i + BATCH);
        const r = await w.cmd({ insert: coll, documents: batch,
                                ordered: true, $db: db });

        if (r.ok !== 1 || r.writeErrors || Number(r.n) !== batch.length) {
            throw new Error(coll + ': insert refused: '
                            + JSON.stringify(r.writeErrors?.[0]?.errmsg
                                             || r.errmsg || r));
        }
        n += batch.length;
    }
    return n;
}

async function main() {
    const o = parseArgs(process.argv.slice(2));
    // one stream per collection: --logs never changes the users
    const ru = rng(o.seed);
    const rl = rng(o.seed ^ 0x5eed106);
    const users = [];

    for (let i = 0; i < o.users; i++) {
        users.push(makeUser(ru, i));
    }
    if (o.also) {
        users.push(...alsoUsers(rng(o.seed ^ 0xa150), o.also));
    }

    const logs = [];
    for (let i = 0; i < o.logs; i++) {
        logs.push(makeLog(rl, i, o.logs, users));
    }

    const w = new Wire(o.host, o.port);
    await w.open();

    if (o.drop) {
        for (const coll of ['users', 'logs', 'configs']) {
            // a collection that is not there is no error here
            await w.cmd({ drop: coll, $db: o.db });
        }
    }

    const t0 = Date.now();
    const nu = await insert(w, o.db, 'users', users);
    console.log(`seed: users: ${nu} into ${o.db}.users`);
    const nl = await insert(w, o.db, 'logs', logs);
    console.log(`seed: logs: ${nl} into ${o.db}.logs`);
    await insert(w, o.db, 'configs', [makeConfig()]);

    // read back: the test server keeps string _ids through server.mjs's
    // shim only; a real MongoDB keeps them anyway
    const r = await w.cmd({ find: 'configs', filter: { _id: 'global' },
                            limit: 1, $db: o.db });
    const got = r.cursor?.firstBatch?.[0];

    if (!got || got._id !== 'global' || !got.data?.general) {
        throw new Error('configs: {_id:"global"} does not read back: '
                        + JSON.stringify(r));
    }
    console.log(`seed: configs: {_id:"global"} into ${o.db}.configs`
                + ` (read back), ${Date.now() - t0} ms in all`);
    w.close();
}

main().catch((e) => {
    console.error('seed: ' + e.message);
    process.exit(1);
});
