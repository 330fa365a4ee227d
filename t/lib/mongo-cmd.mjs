// Runs one command on the Mongo-wire test server (OP_MSG, no driver) and
// prints the reply as canonical Extended JSON. The suites seed documents
// with it as connect-mongo writes them (Dates as {"$date": ...}).
//
//   node t/lib/mongo-cmd.mjs PORT 'EXTENDED JSON COMMAND'
//   node t/lib/mongo-cmd.mjs PORT - < command.json    (a long one)
//
// Exit 0 on an "ok":1 reply without write errors, 1 otherwise.
import fs from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';

const require = createRequire(new URL(
    '../../scripts/mongo-test-server/package.json', import.meta.url));
const { serialize, deserialize, EJSON } = require('bson');

const port = Number(process.argv[2]);
const text = process.argv[3] === '-' ? fs.readFileSync(0, 'utf8')
                                     : process.argv[3];
const body = serialize(EJSON.parse(text, { relaxed: false }));

// header (length, requestID, responseTo, opCode 2013), flagBits, kind 0
const head = Buffer.alloc(21);
head.writeInt32LE(head.length + body.length, 0);
head.writeInt32LE(1, 4);
head.writeInt32LE(0, 8);
head.writeInt32LE(2013, 12);
head.writeUInt32LE(0, 16);
head.writeUInt8(0, 20);

let reply = Buffer.alloc(0);

const sock = net.connect(port, '127.0.0.1', () => {
    sock.write(Buffer.concat([head, body]));
});

sock.on('error', (e) => {
    console.error('mongo-cmd: ' + e.message);
    process.exit(1);
});

sock.on('data', (d) => {
    reply = Buffer.concat([reply, d]);

    if (reply.length < 4 || reply.length < reply.readInt32LE(0)) {
        return;
    }

    const doc = deserialize(reply.subarray(21, reply.readInt32LE(0)));
    console.log(EJSON.stringify(doc, { relaxed: false }));
    sock.end();
    process.exit(doc.ok === 1 && !doc.writeErrors ? 0 : 1);
});
