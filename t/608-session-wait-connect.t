# A worker whose command connection to Redis is still being made (it just
# started, was reloaded, reconnects) makes a signed-in user's request wait
# for it instead of taking the user for anonymous (state error): the
# request is answered as the user once the connection is ready. Made
# deterministic by RedisProxy, which holds the handshake's replies (the
# connection stays in its handshake) until released.
#
# Also: a client that leaves while it waits, the wait list's bound
# (max_pending), a Redis that refuses connections (error at once, no
# waits), and an attempt that timed out (nothing waits for the next ones).
use strict;
use warnings;

use lib 't/lib';
use IO::Socket::INET ();
use JPulseTest qw(redis_start nginx_start nginx_stop nginx_pids poll_until
                  http_get);
use GatesTest ();
use RedisProxy ();
use Test::More;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis);
our $NS = 't608:dev:';
our %C = GatesTest::cast($Redis, $NS);

my $ada = "state=user user=ada roles=user,admin\n";
my $waits = qr/requests wait for the command connection/;

sub http {
    my ($port, %o) = @_;
    my $redis = $o{redis} // $Proxy->{port};
    my $opts = $o{opts} // 'command_timeout=60s connect_timeout=60s';

    return "    jpulse_site_id t608;\n"
         . "    jpulse_mode dev;\n"
         . "    jpulse_redis 127.0.0.1:$redis $opts;\n"
         . "    jpulse_session on;\n"
         . "    jpulse_session_secret $GatesTest::Secret;\n"
         . "    log_format t608 '\$status \$jpulse_session_state';\n";
}

my $server = <<'CONF';
        access_log logs/access.log t608;
        location = /vars {
            return 200 "state=$jpulse_session_state user=$jpulse_username roles=$jpulse_user_roles\n";
        }
        location = /who {
            jpulse_require_role authenticated;
            return 200 "signed in: $jpulse_username\n";
        }
CONF

sub start {
    my (%o) = @_;
    return nginx_start(http => http(0, %o), config => $server,
                       workers => $o{workers} // 1);
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    return <$fh> // '';
}

sub log_of { slurp("$_[0]{dir}/logs/error.log") }

# the log's lines from offset $mark on match $re (polled, at most 10 s)
sub wait_log {
    my ($n, $mark, $re) = @_;
    return poll_until(10, sub { substr(log_of($n), $mark) =~ $re });
}

# a request sent now, its answer read later
sub send_request {
    my ($port, $path, $cookie) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 10) or die "connect: $!";
    binmode $s;
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n"
             . ($cookie ? "Cookie: $cookie\r\n" : '') . "\r\n";
    return $s;
}

sub answer {
    my ($s) = @_;
    local $/;
    my $resp = <$s> // '';
    close $s;
    my ($status) = $resp =~ m{\AHTTP/1\.\d (\d{3})};
    my (undef, $body) = split /\r\n\r\n/, $resp, 2;
    return ($status // 0) . ' ' . ($body // '');
}

sub vars {
    my ($port, $cookie, %o) = @_;
    my ($status, $h, $body) = http_get($port, '/vars',
        headers => "Cookie: $cookie\r\n", %o);
    return "$status $body";
}

sub clean_log {
    my ($n) = @_;
    my @bad = grep { /\[(alert|crit|emerg)\]|exited on signal/ }
              split /\n/, log_of($n);
    return join "\n", @bad;
}


# 1. a new nginx: its first signed-in request waits and is the user

RedisProxy::hold($Proxy, 1);
my $n = start();
my $s = send_request($n->{port}, '/vars', $C{ada});
ok(wait_log($n, 0, $waits), 'start: the request waits for the connection');
RedisProxy::hold($Proxy, 0);
is(answer($s), "200 $ada", 'start: the first request is ada');

# the same behind jpulse_require_role: no 401 for a signed-in user
nginx_stop($n);
RedisProxy::hold($Proxy, 1);
$n = start();
$s = send_request($n->{port}, '/who', $C{ada});
ok(wait_log($n, 0, $waits), 'start, require_role: the request waits');
RedisProxy::hold($Proxy, 0);
is(answer($s), "200 signed in: ada\n",
   'start, require_role: the first request passes');

# 2. a reload (HUP): the new worker's first request

RedisProxy::hold($Proxy, 1);
my $mark = length log_of($n);
my %old = map { $_ => 1 } nginx_pids($n->{pid});
kill 'HUP', $n->{pid};
# the old worker no longer accepts once it logs this (it may stay a
# while: its keepalive's reply is held too)
ok(poll_until(20, sub { grep { !$old{$_} } nginx_pids($n->{pid}) }),
   'HUP: a new worker');
ok(wait_log($n, $mark, qr/gracefully shutting down/),
   'HUP: the old worker stops accepting');
$s = send_request($n->{port}, '/vars', $C{bob});
ok(wait_log($n, $mark, $waits), 'HUP: the request waits');
RedisProxy::hold($Proxy, 0);
is(answer($s), "200 state=user user=bob roles=user\n",
   'HUP: the first request is bob');

# 3. a client that leaves while it waits; another one waiting beside it

nginx_stop($n);
RedisProxy::hold($Proxy, 1);
$n = start();
my $leaves = send_request($n->{port}, '/vars', $C{eve});
ok(wait_log($n, 0, $waits), 'leaving: the first request waits');
my $stays = send_request($n->{port}, '/vars', $C{ada});
close $leaves;
ok(poll_until(10, sub { slurp("$n->{dir}/logs/access.log") =~ /^499 /m }),
   'leaving: nginx saw the client go (499)');
RedisProxy::hold($Proxy, 0);
is(answer($stays), "200 $ada", 'leaving: the one that stayed is ada');
is(vars($n->{port}, $C{eve}), "200 state=user user=eve roles=user,editor\n",
   'leaving: the worker goes on');
is(clean_log($n), '', 'leaving: no alert, no crash');

# 4. the bound: max_pending=1, a second request does not wait

nginx_stop($n);
RedisProxy::hold($Proxy, 1);
$n = start(opts => 'command_timeout=60s connect_timeout=60s max_pending=1');
$s = send_request($n->{port}, '/vars', $C{ada});
ok(wait_log($n, 0, $waits), 'bound: the first request waits');
is(vars($n->{port}, $C{bob}), "200 state=error user= roles=\n",
   'bound: the second one is answered at once, state error');
RedisProxy::hold($Proxy, 0);
is(answer($s), "200 $ada", 'bound: the first one is ada');

# 5. a Redis that refuses connections: error at once, every time (a wait
# of connect_timeout would outlast the client's 5 s)

nginx_stop($n);
my $closed = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                   LocalPort => 0)->sockport;
$n = start(redis => $closed, workers => 2);
my @answers = map { vars($n->{port}, $C{ada}, timeout => 5) } 1 .. 20;
is(scalar(grep { $_ eq "200 state=error user= roles=\n" } @answers), 20,
   'refused: state error, answered at once, 20 times')
    or diag join '', @answers;

# 6. an attempt that ran into its timeout: the next attempts keep nobody
# waiting (a Redis that never answers would hold each request that long)

nginx_stop($n);
RedisProxy::hold($Proxy, 1);
$n = start(opts => 'command_timeout=8s connect_timeout=8s');
ok(wait_log($n, 0, qr/no answer to the handshake/),
   'timed out: the first attempt timed out');
is(vars($n->{port}, $C{ada}, timeout => 4), "200 state=error user= roles=\n",
   'timed out: then nothing waits');
RedisProxy::hold($Proxy, 0);
ok(poll_until(10, sub { vars($n->{port}, $C{ada}) eq "200 $ada" }),
   'timed out: ada once Redis answers');
is(clean_log($n), '', 'no alert, no crash');

nginx_stop($n);

# 7. nginx told to quit while a request waits: the attempt ends, the
# request is answered as the user, then the worker exits

RedisProxy::hold($Proxy, 1);
$n = start();
$s = send_request($n->{port}, '/vars', $C{ada});
ok(wait_log($n, 0, $waits), 'quit: the request waits');
my @workers = nginx_pids($n->{pid});
kill 'QUIT', $n->{pid};
ok(wait_log($n, 0, qr/gracefully shutting down/), 'quit: the worker exits');
RedisProxy::hold($Proxy, 0);
is(answer($s), "200 $ada", 'quit: the waiting request is ada');
ok(poll_until(20, sub { !grep { kill 0, $_ } @workers, $n->{pid} }),
   'quit: then nginx is gone');
is(clean_log($n), '', 'quit: no alert, no crash');

done_testing();
