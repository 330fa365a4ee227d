# RESP for the fake Redis servers of t/lib (fake-cluster-node.py,
# fake-pubsub-node.py): a bulk string, and one command off a buffer.


def bulk(s):
    s = s.encode() if isinstance(s, str) else s
    return b'$%d\r\n%s\r\n' % (len(s), s)


def parse(buf):
    """(argv, rest) for the first whole command of buf, or (None, buf)."""
    if not buf.startswith(b'*'):
        return None, buf
    try:
        i = buf.index(b'\r\n')
        n, p, argv = int(buf[1:i]), i + 2, []
        for _ in range(n):
            j = buf.index(b'\r\n', p)
            size = int(buf[p + 1:j])
            if len(buf) < j + 4 + size:
                return None, buf
            argv.append(buf[j + 2:j + 2 + size])
            p = j + 4 + size
        return argv, buf[p:]
    except ValueError:
        return None, buf
