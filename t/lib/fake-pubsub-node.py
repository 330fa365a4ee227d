#!/usr/bin/env python3
# A Redis (or a one-node Redis Cluster) that answers SUBSCRIBE/PSUBSCRIBE,
# or a PING, in ways a real Redis never does, for t/125:
#   fake-pubsub-node.py VARIANT PORT
# VARIANT, what each (P)SUBSCRIBE channel gets:
#   nil        a nil bulk string
#   empty      an empty array
#   one        an array of one field
#   kindint    an array whose kind is a number
#   chint      an array whose channel is a number
#   unsubshort "unsubscribe" and the channel, no count
#   unsubstr   "unsubscribe", the channel and a string for the count
#   unsub0msg  the confirmation, "unsubscribe" with count 0, a message
#   msgnil     the confirmation, then a message whose payload is nil
#   extra      (the command connection) two PONGs for one PING
#   hugebulk   a bulk string announced as 1 GB, 160 MB of it sent
#   straymsg   a message for a channel never subscribed
#   strayint   an integer
#   bigstrings (the command connection) PING answered with 8 strings of
#              16 MB each
#   closeafter (the command connection) closed after each PONG
#   closeafter2 the same (t/125 stops this one)
#   sentpempty a sentinel (fake-pubsub-node.py sentpempty PORT MASTER_PORT)
#              naming 127.0.0.1:MASTER_PORT, whose SUBSCRIBE gets a
#              pmessage for the empty pattern
# Replies to the commands of one read go out in one write, as Redis's do
# (hiredis then handles them in one loop).
# Everything else gets what a Redis would answer (CLUSTER SLOTS: all the
# slots here).
import os, socket, sys, threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_resp import bulk, parse  # noqa: E402

variant = sys.argv[1]
port = int(sys.argv[2])
master = (sys.argv[3] if len(sys.argv) > 3 else '6379').encode()


def confirm(cmd, ch):
    return b'*3\r\n' + bulk(cmd.lower()) + bulk(ch) + b':1\r\n'


def unsub(cmd):
    return b'punsubscribe' if cmd == b'PSUBSCRIBE' else b'unsubscribe'


ANSWER = {
    'nil': lambda cmd, ch: b'$-1\r\n',
    'empty': lambda cmd, ch: b'*0\r\n',
    'one': lambda cmd, ch: b'*1\r\n' + bulk(cmd.lower()),
    'kindint': lambda cmd, ch: b'*3\r\n:1\r\n' + bulk(ch) + b':1\r\n',
    'chint': lambda cmd, ch: b'*3\r\n' + bulk(cmd.lower()) + b':5\r\n:1\r\n',
    'unsubshort': lambda cmd, ch: b'*2\r\n' + bulk(unsub(cmd)) + bulk(ch),
    'unsubstr': lambda cmd, ch: (b'*3\r\n' + bulk(unsub(cmd)) + bulk(ch)
                                 + bulk(b'x')),
    'unsub0msg': lambda cmd, ch: (confirm(cmd, ch)
                                  + b'*3\r\n' + bulk(unsub(cmd)) + bulk(ch)
                                  + b':0\r\n*3\r\n' + bulk(b'message')
                                  + bulk(ch) + bulk(b'x')),
    'msgnil': lambda cmd, ch: (confirm(cmd, ch) + b'*3\r\n'
                               + bulk(b'message') + bulk(ch) + b'$-1\r\n'),
    'extra': confirm,
    'hugebulk': confirm,
    'straymsg': lambda cmd, ch: (b'*3\r\n' + bulk(b'message') + bulk(b'foo')
                                 + bulk(b'x')),
    'strayint': lambda cmd, ch: b':1\r\n',
    'bigstrings': confirm,
    'closeafter': confirm,
    'closeafter2': confirm,
    'sentpempty': lambda cmd, ch: (b'*3\r\n' + bulk(b'pmessage') + bulk(b'')
                                   + bulk(b'x')),
}[variant]


def slots():
    return (b'*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n' + bulk(b'127.0.0.1')
            + b':%d\r\n' % port + bulk(b'f' * 40))


def answer(c, argv):
    """What one command gets; None: close the connection after it."""
    cmd = argv[0].upper()
    if cmd in (b'SUBSCRIBE', b'PSUBSCRIBE') and variant == 'hugebulk':
        c.sendall(b'$1073741824\r\n')
        chunk = b'x' * 65536
        for _ in range(160 * 16):
            c.sendall(chunk)
        return b''
    if cmd in (b'SUBSCRIBE', b'PSUBSCRIBE'):
        return b''.join(ANSWER(cmd, ch) for ch in argv[1:])
    if cmd == b'PING' and variant == 'bigstrings':
        big = b'x' * (16 * 1024 * 1024)
        c.sendall(b'*8\r\n')
        for _ in range(8):
            c.sendall(bulk(big))
        return b''
    if cmd == b'PING':
        return b'+PONG\r\n' * (2 if variant == 'extra' else 1)
    if cmd == b'SENTINEL':
        return b'*2\r\n' + bulk(b'127.0.0.1') + bulk(master)
    if cmd == b'ROLE':
        return b'*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n'
    if cmd == b'CLUSTER':
        return slots()
    if cmd in (b'PUBLISH', b'HINCRBY', b'EVAL', b'EXPIRE'):
        return b':0\r\n'
    if cmd in (b'AUTH', b'SELECT'):
        return b'+OK\r\n'
    return b'$-1\r\n'


def handle(c):
    buf = b''
    while True:
        try:
            d = c.recv(65536)
        except OSError:
            return
        if not d:
            return
        buf += d
        out, close = b'', False
        while True:
            argv, buf = parse(buf)
            if argv is None:
                break
            try:
                out += answer(c, argv)
            except OSError:
                return
            close = close or (variant.startswith('closeafter')
                              and argv[0].upper() == b'PING')
        try:
            c.sendall(out)
            if close:
                c.close()
                return
        except OSError:
            return


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', port))
s.listen(64)
while True:
    conn, _ = s.accept()
    threading.Thread(target=handle, args=(conn,), daemon=True).start()
