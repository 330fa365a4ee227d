// The Mongo-wire test server of the suites: CongoDB (an in-memory server
// that speaks MongoDB's wire protocol) on 127.0.0.1.
//
//   node server.mjs --port P     listen; prints "listening on 127.0.0.1:P"
//                                once it accepts connections
//   node server.mjs --check      load it and exit 0 (install.sh)
//   ... --command-log FILE       test-only: append one line per command
//                                received, "NAME COLLECTION" (t/715
//                                counts the distinct commands of docTypes)
//
// CongoDB 2.2.0 keys every document by an ObjectId, and connect-mongo's
// session documents have string _ids (the session id): string _ids are
// kept as they are here, keyed apart from ObjectIds ("s:" + the string).
import fs from 'node:fs';
import { CommandRouter, CongoServer, MemoryStorageAdapter }
    from '@push.rocks/smartmongo/dist_ts/congodb/index.js';
import { HelloHandler }
    from '@push.rocks/smartmongo/dist_ts/congodb/server/handlers/HelloHandler.js';

const args = process.argv.slice(2);

// CongoDB answers every hello with a new topologyVersion and at once,
// where a real server holds an awaitable hello (maxAwaitTimeMS) until its
// topology changes. A pooled mongoc client's monitor then asks again at
// once, forever: a third of a core per nginx worker. Without a
// topologyVersion the driver polls every heartbeatFrequencyMS instead.
const hello = HelloHandler.prototype.handle;

HelloHandler.prototype.handle = async function (context) {
    const reply = await hello.call(this, context);
    delete reply.topologyVersion;
    return reply;
};

if (args[0] === '--check') {
    process.exit(0);
}

if (args[0] !== '--port' || !/^[0-9]+$/.test(args[1] || '')
    || Number(args[1]) < 1 || Number(args[1]) > 65535
    || (args.length > 2
        && (args.length !== 4 || args[2] !== '--command-log' || !args[3])))
{
    console.error('usage: node server.mjs --port PORT [--command-log FILE]'
                  + ' | --check');
    process.exit(2);
}

if (args[2] === '--command-log') {
    const log = args[3];
    const route = CommandRouter.prototype.route;

    CommandRouter.prototype.route = function (parsed) {
        const coll = parsed.command ? parsed.command[parsed.commandName] : '';

        fs.appendFileSync(log, parsed.commandName + ' '
                          + (typeof coll === 'string' ? coll : '-') + '\n');

        return route.call(this, parsed);
    };
}

const port = Number(args[1]);

// the storage, the index engine and the handlers call _id.toHexString()
Object.defineProperty(String.prototype, 'toHexString', {
    value: function () { return 's:' + this; },
    enumerable: false,
});

const insertOne = MemoryStorageAdapter.prototype.insertOne;

MemoryStorageAdapter.prototype.insertOne = async function (db, coll, doc) {
    if (typeof doc._id !== 'string') {
        return insertOne.call(this, db, coll, doc);
    }

    const docs = this.ensureCollection(db, coll);
    const key = doc._id.toHexString();

    if (docs.has(key)) {
        throw new Error('Duplicate key error: _id ' + doc._id);
    }

    const stored = { ...doc };
    docs.set(key, stored);
    return stored;
};

const server = new CongoServer({ port, host: '127.0.0.1', storage: 'memory' });

try {
    await server.start();
} catch (e) {
    console.error('mongo-test-server: ' + e.message);
    process.exit(1);
}

console.log('listening on 127.0.0.1:' + port);

for (const sig of ['SIGTERM', 'SIGINT']) {
    process.on(sig, async () => {
        await server.stop().catch(() => {});
        process.exit(0);
    });
}
