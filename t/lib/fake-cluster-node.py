#!/usr/bin/env python3
# A hostile or odd Redis Cluster node for t/853 (after the fake of the
# R16-ctl review): fake-cluster-node.py MODE PORT [ARG] [LOG]
#   dribble S    CLUSTER SLOTS one byte every S seconds
#   huge N       CLUSTER SLOTS an array of N empty arrays
#   nested N     CLUSTER SLOTS one range whose node has N fields
#   moved P      every data command: MOVED to 127.0.0.1:P
#   capture      logs what it gets, answers +OK
#   scanbad      SCAN answers a key shorter than any prefix
#   tryagain N   the first N GETs answer TRYAGAIN
#   many N       N primaries on PORT..PORT+N-1, one session on each
#   split P      slots 0-8191 here, 8192-16383 on 127.0.0.1:P (t/844)
#   nocluster    CLUSTER answers "cluster support disabled" (t/844)
#   ask          slots 0-8191 here, 8192-16383 on a second port it opens;
#                here every data command: ASK to that one, which logs
#                "<client port> <command> <first argument>" a line (t/844)
#   reuse        64 primaries: 63 here and on ports it opens, the last on a
#                port nobody listens on (T); the first session GET is
#                answered ASK to T (then its connection closed), and from
#                then on the map names a node N it opens in T's stead,
#                which logs as in ask (t/844)
import os, socket, sys, threading, time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_resp import bulk, parse  # noqa: E402

mode = sys.argv[1]
port = int(sys.argv[2])
arg = sys.argv[3] if len(sys.argv) > 3 else None
log = open(sys.argv[4], 'ab', buffering=0) if len(sys.argv) > 4 else None
lock = threading.Lock()
state = {'gets': 0}
SESS = b'{"user":{"id":"u1"},"cookie":{}}'


def nid(p):
    return ('%040x' % p).encode()


ports = [port]
dead = 0


def ranges(prim):
    n = len(prim)
    per = 16384 // n
    out = b'*%d\r\n' % n
    for i in range(n):
        lo = i * per
        hi = 16383 if i == n - 1 else lo + per - 1
        out += (b'*3\r\n:%d\r\n:%d\r\n*3\r\n' % (lo, hi) + bulk('127.0.0.1')
                + b':%d\r\n' % prim[i] + bulk(nid(prim[i])))
    return out


def slots(me):
    if mode == 'many':
        return ranges(ports)
    if mode == 'reuse':
        with lock:
            last = ports[-1] if state['gets'] else dead
        return ranges(ports[:-1] + [last])
    if mode in ('split', 'ask'):
        other = int(arg) if mode == 'split' else ports[1]
        return (b'*2\r\n*3\r\n:0\r\n:8191\r\n*3\r\n' + bulk('127.0.0.1')
                + b':%d\r\n' % port + bulk(nid(port))
                + b'*3\r\n:8192\r\n:16383\r\n*3\r\n' + bulk('127.0.0.1')
                + b':%d\r\n' % other + bulk(nid(other)))
    return (b'*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n' + bulk('127.0.0.1')
            + b':%d\r\n' % me + bulk(nid(me)))


def handle(c, me):
    buf = b''
    peer = b'%d' % c.getpeername()[1]
    while True:
        try:
            d = c.recv(65536)
        except OSError:
            return
        if not d:
            return
        if log and mode not in ('ask', 'reuse'):
            log.write(d)
        buf += d
        if mode == 'capture':
            c.sendall(b'+OK\r\n')
            continue
        while True:
            argv, buf = parse(buf)
            if argv is None:
                break
            cmd = argv[0].upper()
            sub = argv[1].upper() if len(argv) > 1 else b''
            if mode in ('ask', 'reuse') and me == ports[-1] and log:
                log.write(b' '.join([peer] + argv[:2]) + b'\n')
            first = False
            if (mode == 'reuse' and cmd == b'GET' and me != ports[-1]
                    and b':sess:' in sub.lower()):
                with lock:
                    first = state['gets'] == 0
                    state['gets'] += 1
            if cmd in (b'AUTH', b'SELECT', b'ASKING'):
                c.sendall(b'+OK\r\n')
            elif cmd in (b'SUBSCRIBE', b'PSUBSCRIBE') and mode != 'moved':
                for i, ch in enumerate(argv[1:]):
                    c.sendall(b'*3\r\n' + bulk(cmd.lower()) + bulk(ch)
                              + b':%d\r\n' % (i + 1))
            elif cmd == b'PING':
                c.sendall(b'+PONG\r\n')
            elif cmd == b'ROLE':
                c.sendall(b'*3\r\n$6\r\nmaster\r\n:0\r\n*0\r\n')
            elif cmd == b'CLUSTER' and sub == b'NODES':
                c.sendall(bulk(nid(me) + b' 127.0.0.1:%d@1 myself,master - 0 0 1'
                               b' connected 0-16383\n' % me))
            elif cmd == b'CLUSTER' and mode == 'nocluster':
                c.sendall(b'-ERR This instance has cluster support '
                          b'disabled\r\n')
            elif cmd == b'CLUSTER':
                if mode == 'dribble':
                    for b in slots(me):
                        c.sendall(bytes([b])); time.sleep(float(arg))
                elif mode == 'huge':
                    n = int(arg); c.sendall(b'*%d\r\n' % n); sent = 0
                    while sent + 65536 <= n:
                        c.sendall(b'*0\r\n' * 65536); sent += 65536
                    c.sendall(b'*0\r\n' * (n - sent))
                elif mode == 'nested':
                    n = int(arg)
                    c.sendall(b'*1\r\n*3\r\n:0\r\n:16383\r\n*%d\r\n' % n)
                    sent = 0
                    while sent + 65536 <= n:
                        c.sendall(b':1\r\n' * 65536); sent += 65536
                    c.sendall(b':1\r\n' * (n - sent))
                else:
                    c.sendall(slots(me))
            elif cmd == b'WAIT':
                c.sendall(b':1\r\n')
            elif cmd == b'PUBLISH':
                c.sendall(b':0\r\n')
            elif mode == 'scanbad' and cmd == b'SCAN':
                c.sendall(b'*2\r\n$1\r\n0\r\n*1\r\n$1\r\nx\r\n')
            elif mode == 'many' and cmd == b'SCAN':
                c.sendall(b'*2\r\n$1\r\n0\r\n*1\r\n'
                          + bulk(b'x:prod:sess:s%d' % me))
            elif cmd == b'GET' and mode in ('scanbad', 'many'):
                c.sendall(bulk(SESS))
            elif cmd == b'GET' and mode == 'tryagain':
                with lock:
                    state['gets'] += 1
                    n = state['gets']
                if n <= int(arg):
                    c.sendall(b'-TRYAGAIN Multiple keys request during '
                              b'rehashing of slot\r\n')
                else:
                    c.sendall(bulk(SESS))
            elif cmd in (b'TTL', b'PTTL'):
                c.sendall(b':500\r\n')
            elif first:
                # and the connection closed: the worker asks for the map
                # (which names N now) at once, not at T's next retry
                c.sendall(b'-ASK 1 127.0.0.1:%d\r\n' % dead)
                time.sleep(0.05)
                c.close()
                return
            elif mode == 'ask' and me == port:
                c.sendall(b'-ASK 1 127.0.0.1:%d\r\n' % ports[1])
            elif mode == 'moved':
                c.sendall(b'-MOVED 1 127.0.0.1:%s\r\n' % arg.encode())
            else:
                c.sendall(b'$-1\r\n')


def listen(p):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(('127.0.0.1', p))
    s.listen(64)
    return s


def serve(s):
    p = s.getsockname()[1]
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c, p), daemon=True).start()


# many: the other primaries on ports the system picks
socks = [listen(port)]
n = int(arg) if mode == 'many' else {'ask': 2, 'reuse': 64}.get(mode, 1)
for i in range(1, n):
    socks.append(listen(0))
    ports.append(socks[-1].getsockname()[1])
if mode == 'reuse':
    s = listen(0)
    dead = s.getsockname()[1]
    s.close()
for s in socks[1:]:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
serve(socks[0])
