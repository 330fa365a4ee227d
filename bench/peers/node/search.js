// GET /api/1/user/search for the bench peer: jPulse's paginatedSearch
// (webapp/utils/common.js, contract §3) with the official MongoDB driver,
// sending the query jpulse_search sends for the same query string and
// cursor (libjpulse/jp_search.c): filter, sort with the _id tiebreak,
// limit + 1, countDocuments on the first page only, then jPulse's answer
// (success, message, data, count, pagination, elapsed).
//
// The cursor is the module's, not jPulse's unsigned base64: base64url of
// the JSON (canonical Extended JSON for q and lv), "." and base64url of
// HMAC-SHA256(key, collection NUL JSON), with the bench key
// bench/search/cursor.secret. So both sides do the same work per page (a
// MAC to check, a MAC to make) and a cursor from one side is valid on the
// other; the bench suite checks that they are the same bytes.
//
// What jpulse_search takes and this route does not: field filters (the
// W-141 syntax, "name", collation). The benchmark pages users by a sort
// only; a filter parameter is answered 400 rather than silently ignored,
// so nobody measures a different query by accident.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { MongoClient, BSON } from 'mongodb';

const { EJSON } = BSON;

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '../../..');

const LIMIT_DEFAULT = 50;
const LIMIT_MAX = 1000;
const CURSOR_MAX = 8192;

function readSecret(file) {
    // as ngx_http_jpulse_conf_read_secret: trailing blanks and newlines
    // are the editor's, not the key's
    const key = fs.readFileSync(file).toString('latin1')
        .replace(/[\r\n \t]+$/, '');
    if (key.length < 32) {
        throw new Error(`search: ${file}: a cursor key needs 32 bytes`);
    }
    return Buffer.from(key, 'latin1');
}

function loadSchema(file) {
    const def = JSON.parse(fs.readFileSync(file, 'utf8'));
    const hidden = def.hidden || [];
    const sortable = new Set();
    const fields = new Set(Object.keys(def.fields || {}));

    for (const [name, f] of Object.entries(def.fields || {})) {
        const type = typeof f === 'string' ? f : f.type;
        if (type === 'array' || type === 'mixed'
            || (typeof f === 'object' && f.sort === false)
            || hidden.some((h) => name === h || name.startsWith(h + '.'))) {
            continue;
        }
        sortable.add(name);
    }

    return {
        fields,
        sortable,
        ignored: new Set(def.ignore || []),
        multi: new Set(Object.keys(def.multi || {})),
        projection: Object.fromEntries(hidden.map((h) => [h, 0])),
        collation: def.collation || null,
    };
}

function b64u(buf) {
    return buf.toString('base64url');
}

function fail(res, status, code, message, param) {
    res.status(status).json({
        success: false, error: message, path: res.req.originalUrl, code,
        ...(param ? { details: { param } } : {}),
    });
}

// jp_search_parse_int: parseInt's reading (leading blanks, a sign,
// digits, anything after ignored); NaN when no digit
function parseIntLike(s) {
    const n = parseInt(s, 10);
    return Number.isNaN(n) ? null : n;
}

function parseSort(schema, raw) {
    const p = (raw || '').replace(/^[ \t]+|[ \t]+$/g, '');
    if (p === '') {
        return { _id: 1 };
    }

    let field = p;
    let dir = 1;
    const colon = p.indexOf(':');

    if (colon >= 0) {
        field = p.slice(0, colon);
        const d = p.slice(colon + 1);
        if (d === '1' || /^asc$/i.test(d)) {
            dir = 1;
        } else if (d === '-1' || /^desc$/i.test(d)) {
            dir = -1;
        } else {
            return null;
        }
    } else if (p[0] === '-') {
        dir = -1;
        field = p.slice(1);
    }

    if (field === '_id') {
        return { _id: dir };
    }
    if (!schema.sortable.has(field)) {
        return null;
    }
    return { [field]: dir, _id: dir };
}

function getPath(doc, dotted) {
    let cur = doc;
    for (const seg of dotted.split('.')) {
        if (cur === null || typeof cur !== 'object' || Array.isArray(cur)
            || cur instanceof Date || cur._bsontype) {
            return undefined;
        }
        cur = cur[seg];
    }
    return cur;
}

function isScalarEjson(v) {
    return v !== undefined && !Array.isArray(v);
}

// jp_cursor_shape, loosely: what the page needs to be well defined
function cursorShape(c) {
    if (c === null || typeof c !== 'object' || c.v !== 1
        || c.q === null || typeof c.q !== 'object' || Array.isArray(c.q)
        || !Number.isInteger(c.l) || c.l < 1 || c.l > LIMIT_MAX
        || !Number.isInteger(c.t) || c.t < 0
        || (c.d !== 1 && c.d !== -1)
        || (c.c !== undefined && c.c !== 1)
        || c.s === null || typeof c.s !== 'object') {
        return false;
    }
    const keys = Object.keys(c.s);
    if (keys.length < 1 || keys.length > 2 || keys[keys.length - 1] !== '_id'
        || keys.some((k) => c.s[k] !== c.s._id || (c.s[k] !== 1
                                                   && c.s[k] !== -1))) {
        return false;
    }
    if (c.lv !== undefined) {
        if (c.lv === null || typeof c.lv !== 'object'
            || Object.keys(c.lv).length !== keys.length
            || keys.some((k) => !isScalarEjson(c.lv[k]))) {
            return false;
        }
    }
    return true;
}

function makeCursor(key, collection, obj) {
    const json = Buffer.from(JSON.stringify(obj), 'utf8');
    const mac = crypto.createHmac('sha256', key)
        .update(collection + '\0').update(json).digest();
    return b64u(json) + '.' + b64u(mac);
}

function readCursor(keys, collection, token) {
    if (token.length > CURSOR_MAX) {
        return null;
    }
    const dot = token.indexOf('.');
    if (dot <= 0 || token.length - dot - 1 !== 43
        || !/^[A-Za-z0-9_-]+$/.test(token.slice(0, dot))
        || !/^[A-Za-z0-9_-]{43}$/.test(token.slice(dot + 1))) {
        return null;
    }
    const json = Buffer.from(token.slice(0, dot), 'base64url');
    const sig = Buffer.from(token.slice(dot + 1), 'base64url');

    // every key, no early exit (as jp_search_cursor_decode)
    let ok = false;
    for (const k of keys) {
        const mac = crypto.createHmac('sha256', k)
            .update(collection + '\0').update(json).digest();
        ok = crypto.timingSafeEqual(mac, sig) || ok;
    }
    if (!ok) {
        return null;
    }

    let c;
    try {
        c = JSON.parse(json.toString('utf8'));
    } catch {
        return null;
    }
    return cursorShape(c) ? c : null;
}

// jp_search_range: the rows after lv in the order s * d. $gt/$lt never
// match null or a missing field, which sort first ascending: past null
// ascending is {$ne: null}; descending past a value also takes the nulls.
function rangeFilter(sort, last, d) {
    const or = [];
    const keys = Object.keys(sort);

    keys.forEach((key, i) => {
        const e = sort[key] * d;
        const v = last[key];
        const isNull = v === undefined || v === null;

        if (isNull && e < 0) {
            return;
        }

        const dis = {};
        for (const kj of keys.slice(0, i)) {
            dis[kj] = last[kj] === undefined ? null : last[kj];
        }
        dis[key] = isNull ? { $ne: null } : { [e > 0 ? '$gt' : '$lt']: v };
        or.push(dis);

        if (e < 0 && !isNull && key !== '_id') {
            or.push({ ...dis, [key]: null });
        }
    });

    return or;
}

export function mountSearch(app, {
    uri, db,
    collection = 'users',
    route = '/api/1/user/search',
    schemaFile = path.join(REPO, 'conf/search/users.json'),
    secretFile = path.join(REPO, 'bench/search/cursor.secret'),
    message = 'Found {{count}} users',
}) {
    if (!uri || !db) {
        throw new Error('mountSearch: uri and db are required');
    }

    const schema = loadSchema(schemaFile);
    const keys = [readSecret(secretFile)];
    const client = new MongoClient(uri);
    const coll = client.db(db).collection(collection);
    const connected = client.connect();

    // an unhandled rejection would kill the process before a request saw it
    connected.catch(() => {});

    app.get(route, async (req, res) => {
        const start = Date.now();
        const qs = req.query;

        for (const [name, value] of Object.entries(qs)) {
            const read = ['limit', 'sort', 'cursor', 'offset'].includes(name)
                || schema.multi.has(name)
                || (schema.fields.has(name) && !schema.ignored.has(name));
            if (!read) {
                continue;
            }
            if (typeof value !== 'string') {
                return fail(res, 400, 'INVALID_PARAMETER',
                            'the parameter is given more than once', name);
            }
            if (!['limit', 'sort', 'cursor', 'offset'].includes(name)) {
                return fail(res, 400, 'INVALID_PARAMETER',
                            'field filters are not implemented by the bench'
                            + ' peer', name);
            }
        }

        let limit = LIMIT_DEFAULT;
        if (qs.limit !== undefined) {
            const v = parseIntLike(qs.limit);
            limit = v === null || v === 0 ? LIMIT_DEFAULT
                : Math.min(Math.max(v, 1), LIMIT_MAX);
        }

        const offsetMode = qs.offset !== undefined;
        let offset = 0;
        if (offsetMode) {
            const v = parseIntLike(qs.offset);
            offset = v === null || v < 0 ? 0 : v;
        }

        // qJson and sort stay as they came (canonical Extended JSON), so a
        // next cursor carries q byte for byte as the module's does
        let qJson = {};
        let sort;
        let lastJson = null;
        let d = 1;
        let total = -1;
        let hasCursor = false;
        let collation = false;   // a cursor's "c": its filter needs it

        const token = qs.cursor;
        if (!offsetMode && token && token !== 'true') {
            const c = readCursor(keys, collection, token);
            if (c === null || !Object.keys(c.s).every(
                (k) => k === '_id' || schema.sortable.has(k))) {
                return fail(res, 400, 'INVALID_CURSOR',
                            'the cursor is invalid, expired or not of this'
                            + ' search', 'cursor');
            }
            hasCursor = true;
            qJson = c.q;
            sort = c.s;
            lastJson = c.lv === undefined ? null : c.lv;
            d = c.d;
            total = c.t;
            collation = c.c === 1 && schema.collation !== null;
            if (qs.limit === undefined) {
                limit = c.l;
            }
        } else {
            sort = parseSort(schema, qs.sort);
            if (sort === null) {
                return fail(res, 400, 'INVALID_PARAMETER',
                            'sort on _id or a sortable field: f, -f, f:1,'
                            + ' f:-1, f:asc, f:desc', 'sort');
            }
        }

        const query = EJSON.deserialize(qJson, { relaxed: false });
        let filter = query;
        let findSort = sort;
        const backward = !offsetMode && lastJson !== null && d < 0;

        if (!offsetMode && lastJson !== null) {
            const last = EJSON.deserialize(lastJson, { relaxed: false });
            filter = { $and: [query, { $or: rangeFilter(sort, last, d) }] };
        }
        if (backward) {
            findSort = Object.fromEntries(
                Object.entries(sort).map(([k, v]) => [k, -v]));
        }

        let docs;
        try {
            await connected;
            const col = collation ? { collation: schema.collation } : {};
            if (offsetMode || !hasCursor) {
                total = await coll.countDocuments(query, col);
            }
            docs = await coll.find(filter, {
                ...col, sort: findSort, limit: limit + 1,
                ...(offsetMode && offset > 0 ? { skip: offset } : {}),
                projection: schema.projection,
            }).toArray();
        } catch (err) {
            return fail(res, 503, 'DATABASE_ERROR', String(err.message));
        }

        let more = docs.length > limit;
        const count = Math.min(docs.length, limit);
        const rows = docs.slice(0, count);
        if (backward) {
            rows.reverse();
        }

        let pagination;

        if (offsetMode) {
            pagination = { mode: 'offset', total, limit, offset,
                           hasMore: offset + count < total };
        } else {
            const cursorOf = (doc, dir) => {
                const lv = {};
                for (const k of Object.keys(sort)) {
                    const v = getPath(doc, k);
                    lv[k] = v === undefined || Array.isArray(v) ? null
                        : EJSON.serialize(v, { relaxed: false });
                }
                return makeCursor(keys[0], collection,
                                  { v: 1, q: qJson, s: sort, l: limit,
                                    t: total, lv, d: dir,
                                    ...(collation ? { c: 1 } : {}) });
            };
            const first = rows[0];
            const last = rows[count - 1];
            let next;
            let prev;

            if (backward) {
                next = last ? cursorOf(last, 1) : null;
                prev = more && first ? cursorOf(first, -1) : null;
                more = count > 0;
            } else {
                next = more ? cursorOf(last, 1) : null;
                prev = hasCursor && first ? cursorOf(first, -1) : null;
            }

            pagination = { mode: 'cursor', total, limit,
                           hasMore: more && count > 0,
                           nextCursor: next, prevCursor: prev };
        }

        res.json({
            success: true,
            message: message.replaceAll('{{count}}', String(count)),
            data: rows,
            count,
            pagination,
            elapsed: Date.now() - start,
        });
    });

    return { close: () => client.close() };
}
