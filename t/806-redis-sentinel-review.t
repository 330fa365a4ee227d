# The R16a review's findings, one block each, on fake sentinels and fake
# servers (t/lib/SentinelTest.pm):
#  TEST 1 (R16a 3): sentinels that accept and never answer: after the
#          first failed round no signed-in request waits a whole round.
#  TEST 2 (R16a 2): a HUP while a request waits for discovery and the
#          2nd sentinel is asked: the request is answered, no open socket.
#  TEST 3 (R16a 4): the watched sentinel dies around a failover nobody
#          announces: the watch on the next sentinel asks again and the
#          new primary is followed.
#  TEST 4 (R16a 5): crafted +switch-master messages: other master, a
#          prefix/extension of ours, fields missing or extra, bad ports, a
#          host name, control bytes: all ignored; the right one followed.
#  TEST 5 (R16a 6): a server that says "master" to ROLE and answers every
#          write -READONLY: one notice, recycled with a backoff, not in a
#          loop.
#  TEST 6 (R16a 9): a ROLE string with CR/LF is logged escaped, on one line.
#  TEST 7 (R16a 7): after a switch the new primary's failures are logged.
#  TEST 8 (R16a 9): the pending gauge does not count the sentinel asker.
use strict;
use warnings;

use lib 't/lib';
use POSIX ();
use Time::HiRes ();
use JPulseTest ();
use SessionTest ();
use SentinelTest qw(fake_server fake_sentinel closed_port);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx per block' if $ENV{TEST_NGINX_USE_VALGRIND};

sub bulk { my ($s) = @_; return '$' . length($s) . "\r\n$s\r\n" }

# A fake Redis primary: ROLE master, PING, (P)SUBSCRIBE confirmed; every
# other command gets $other (default +OK).
sub fake_redis {
    my ($other) = @_;
    return fake_server(sub {
        my ($cmd) = @_;
        my $c = uc($cmd->[0] // '');
        return "*3\r\n" . bulk('master') . ":0\r\n*0\r\n" if $c eq 'ROLE';
        return "+PONG\r\n" if $c eq 'PING';
        return "*3\r\n" . bulk(lc $c) . bulk($cmd->[1] // '') . ":1\r\n"
            if $c =~ /^P?SUBSCRIBE$/;
        return $other // "+OK\r\n";
    });
}

# silent sentinels (TEST 1, 2)
our @Silent = (fake_server(sub { '' }), fake_server(sub { '' }));

# TEST 3: sentinel A names primary A and dies; sentinel B names B
our ($PA, $PB) = (fake_redis(), fake_redis());
our $SA = fake_sentinel(master => $PA->{port});
our $SB = fake_sentinel(master => $PB->{port});

# TEST 4: the watch's second SUBSCRIBE (the keepalive) gets the crafted
# messages; from then on the sentinel names the primary they announce
our ($P1, $P2) = (fake_redis(), fake_redis());
our $Never = closed_port();
our $SP = do {
    my ($subs, $pushed) = (0, 0);
    fake_server(sub {
        my ($cmd) = @_;
        my $c = uc($cmd->[0] // '');
        if ($c eq 'SENTINEL') {
            return "*2\r\n" . bulk('127.0.0.1')
                   . bulk($pushed ? $P2->{port} : $P1->{port});
        }
        if ($c eq 'SUBSCRIBE') {
            my $out = "*3\r\n" . bulk('subscribe') . bulk($cmd->[1] // '')
                      . ":1\r\n";
            return $out if ++$subs != 2;
            $pushed = 1;
            my ($o, $n, $b) = ($P1->{port}, $P2->{port}, $Never);
            for my $m ("other 127.0.0.1 $o 127.0.0.1 $b",
                       "mymaste 127.0.0.1 $o 127.0.0.1 $b",
                       "mymasterx 127.0.0.1 $o 127.0.0.1 $b",
                       "mymaster",
                       "mymaster 127.0.0.1 $o 127.0.0.1",
                       "mymaster 127.0.0.1 $o 127.0.0.1 $b extra",
                       "mymaster 127.0.0.1 $o 127.0.0.1 70000",
                       "mymaster 127.0.0.1 $o 127.0.0.1 0",
                       "mymaster 127.0.0.1 $o 127.0.0.1 ${b}x",
                       "mymaster 127.0.0.1 $o redis.example $b",
                       "mymaster 127.0.0.1 $o 127.0.0.1\r\n[emerg] x $b",
                       "mymaster 127.0.0.1 $o 127.0.0.1 $n")
            {
                $out .= "*3\r\n" . bulk('message') . bulk('+switch-master')
                        . bulk($m);
            }
            return $out;
        }
        return "+PONG\r\n" if $c eq 'PING';
        return "-ERR unknown command\r\n";
    });
};

# TEST 5: ROLE master, every write -READONLY
our $RO = fake_redis("-READONLY You can't write against a read only "
                     . "replica.\r\n");
our $SRO = fake_sentinel(master => $RO->{port});

# TEST 6: a "replica" whose ROLE string carries CR/LF and a fake log line
our $Evil = fake_server(sub {
    my ($cmd) = @_;
    my $c = uc($cmd->[0] // '');
    return "*3\r\n" . bulk("x\r\n[emerg] injected") . ":0\r\n*0\r\n"
        if $c eq 'ROLE';
    return "+PONG\r\n" if $c eq 'PING';
    return "+OK\r\n";
});
our $SEvil = fake_sentinel(master => $Evil->{port});

# TEST 7: the primary refuses writes once the test says so; the sentinel
# then names a port nobody listens on
our $T7 = "/tmp/jpulse-t806-$$";
our $Gone = closed_port();
our $P7 = fake_server(sub {
    my ($cmd) = @_;
    my $c = uc($cmd->[0] // '');
    return "*3\r\n" . bulk('master') . ":0\r\n*0\r\n" if $c eq 'ROLE';
    return "+PONG\r\n" if $c eq 'PING';
    return "*3\r\n" . bulk(lc $c) . bulk($cmd->[1] // '') . ":1\r\n"
        if $c =~ /^P?SUBSCRIBE$/;
    return -e "$T7.ro" ? "-READONLY You can't write against a read only "
                         . "replica.\r\n" : "+OK\r\n";
});
{ open my $fh, '>', "$T7.port" or die; print $fh "$P7->{port}\n"; }
our $S7 = fake_sentinel(master_file => "$T7.port");
END { unlink "$T7.port", "$T7.ro" }

$ENV{TEST_NGINX_SEVIL} = $SEvil->{port};
$ENV{TEST_NGINX_S7} = $S7->{port};
$ENV{TEST_NGINX_S1} = $Silent[0]{port};
$ENV{TEST_NGINX_S2} = $Silent[1]{port};
$ENV{TEST_NGINX_SA} = $SA->{port};
$ENV{TEST_NGINX_SB} = $SB->{port};
$ENV{TEST_NGINX_SP} = $SP->{port};
$ENV{TEST_NGINX_SRO} = $SRO->{port};

our $Cookie = SessionTest::cookie('c2VudGluZWwtc2lkLTAxMjM0NTY3ODlhYmNkZWY',
                                  'keyboard cat');
our $Result;

sub main::timed_get {
    my $t0 = Time::HiRes::time();
    JPulseTest::http_get($Test::Nginx::Socket::ServerPort, '/s',
                         headers => "Cookie: $Cookie\r\n", timeout => 10);
    return Time::HiRes::time() - $t0;
}

repeat_each(1);
plan tests => 22;
master_on();
workers(1);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: silent sentinels: after the first round, no signed-in request waits
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=127.0.0.1:$TEST_NGINX_S1,127.0.0.1:$TEST_NGINX_S2
                 master=m connect_timeout=300ms command_timeout=300ms;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
--- config
    location = /s { return 200 "$jpulse_session_state\n"; }
--- pre_request
Time::HiRes::sleep(1.5);
my $max = 0;
for (1 .. 8) {
    my $t = main::timed_get();
    $max = $t if $t > $max;
    Time::HiRes::sleep(0.3);
}
$main::Result = $max < 0.1 ? "no wait\n" : sprintf("waited %.2f s\n", $max);
--- request
GET /s
--- response_body_filters eval
sub { $main::Result }
--- response_body
no wait



=== TEST 2: HUP while the 2nd sentinel is asked: the waiting request is answered
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=127.0.0.1:$TEST_NGINX_S1,127.0.0.1:$TEST_NGINX_S2
                 master=m connect_timeout=2s command_timeout=2s;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
--- config
    location = /s { return 200 "$jpulse_session_state\n"; }
--- pre_request
my $file = "$Test::Nginx::Socket::ServerRoot/t2.out";
unlink $file;
Time::HiRes::sleep(0.3);
my $pid = fork // die;
if ($pid == 0) {
    my ($st) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, '/s',
        headers => "Cookie: $main::Cookie\r\n", timeout => 10);
    open my $fh, '>', $file; print $fh "$st\n"; close $fh;
    POSIX::_exit(0);
}
Time::HiRes::sleep(2.6);
my ($master) = do {
    open my $fh, '<', "$Test::Nginx::Socket::ServerRoot/logs/nginx.pid";
    <$fh> =~ /(\d+)/ };
kill 'HUP', $master;
waitpid $pid, 0;
$main::Result = do { open my $fh, '<', $file; <$fh> } // "none\n";
--- request
GET /s
--- response_body_filters eval
sub { "waiting request: $main::Result" }
--- response_body
waiting request: 200
--- no_error_log
open socket



=== TEST 3: a missed +switch-master: the watch subscribed again asks again, the new primary is followed
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=127.0.0.1:$TEST_NGINX_SA,127.0.0.1:$TEST_NGINX_SB
                 master=m connect_timeout=300ms command_timeout=300ms
                 ping_interval=300ms;
--- config
    location /api/1/health/ { jpulse_health; }
--- pre_request
JPulseTest::wait_log(0, qr/sentinel pub\/sub connection ready/, 5);
kill 'KILL', $main::SA->{pid};
waitpid $main::SA->{pid}, 0;
JPulseTest::wait_log(0, qr/primary of m is now/, 5);
--- request
GET /api/1/health/ready
--- error_code: 200
--- error_log eval
[qr/sentinel pub\/sub connection restored/,
 qr/redis: primary of m is now 127\.0\.0\.1:$main::PB->{port} \(was 127\.0\.0\.1:$main::PA->{port}\)/]



=== TEST 4: crafted +switch-master messages: only the right one is followed
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=127.0.0.1:$TEST_NGINX_SP master=mymaster
                 connect_timeout=300ms command_timeout=300ms
                 ping_interval=300ms;
--- config
    location /api/1/health/ { jpulse_health; }
--- pre_request
JPulseTest::wait_log(0, qr/primary of mymaster is now/, 5);
Time::HiRes::sleep(0.5);
my $bad = JPulseTest::log_count(qr/ignored/);
my $now = JPulseTest::log_count(qr/primary of mymaster is now/);
my $emerg = JPulseTest::log_count(qr/^\[emerg\] x/);
$main::Result = "ignored: " . ($bad >= 10 ? "yes" : $bad)
                . ", followed: $now, injected lines: $emerg\n";
--- request
GET /api/1/health/ready
--- error_code: 200
--- response_body_filters eval
sub { $main::Result }
--- response_body
ignored: yes, followed: 1, injected lines: 0
--- error_log eval
qr/redis: primary of mymaster is now 127\.0\.0\.1:$main::P2->{port} \(was 127\.0\.0\.1:$main::P1->{port}\)/
--- no_error_log eval
qr/is now [^ ]*:$main::Never/



=== TEST 5: ROLE says master, writes get -READONLY: one notice, no reconnect loop
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=127.0.0.1:$TEST_NGINX_SRO master=m
                 connect_timeout=300ms command_timeout=300ms
                 ping_interval=200ms;
    jpulse_heartbeat interval=200ms ttl=1s;
--- config
    location /api/1/health/ { jpulse_health; }
--- pre_request
my $mark = JPulseTest::log_mark();
Time::HiRes::sleep(3);
my $notices = JPulseTest::log_count(qr/answered "READONLY/);
my $asks = () = do {
    open my $fh, '<', JPulseTest::error_log(); seek $fh, $mark, 0;
    local $/; <$fh> // '' } =~ /jpulse redis sentinel: asking/g;
$main::Result = "notices: $notices, rounds: "
                . ($asks <= 15 ? "few" : "$asks") . "\n";
--- request
GET /api/1/health/live
--- response_body_filters eval
sub { $main::Result }
--- response_body
notices: 1, rounds: few



=== TEST 6: a peer's string with CR/LF is logged escaped (no forged log line)
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=127.0.0.1:$TEST_NGINX_SEVIL master=m
                 connect_timeout=300ms command_timeout=300ms;
--- config
    location /api/1/health/ { jpulse_health; }
--- pre_request
JPulseTest::wait_log(0, qr/has role/, 5);
--- request
GET /api/1/health/live
--- error_log
has role "x\x0d\x0a[emerg] injected", not master
--- no_error_log eval
qr/^\[emerg\] injected/



=== TEST 7: after a switch, the new primary's failures are logged
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=127.0.0.1:$TEST_NGINX_S7 master=m
                 connect_timeout=300ms command_timeout=300ms
                 ping_interval=200ms;
    jpulse_heartbeat interval=200ms ttl=1s;
--- config
    location /api/1/health/ { jpulse_health; }
--- pre_request
# (the error.log holds the earlier blocks' lines too)
JPulseTest::wait_log(0, qr/primary of m is 127\.0\.0\.1:$main::P7->{port}\n
                           .*command\ connection\ ready/sx, 5);
{ open my $fh, '>', "$main::T7.port" or die; print $fh "$main::Gone\n"; }
{ open my $fh, '>', "$main::T7.ro" or die; }
JPulseTest::wait_log(0, qr/primary of m is now/, 5);
Time::HiRes::sleep(1);
--- request
GET /api/1/health/live
--- error_log eval
[qr/redis: primary of m is now 127\.0\.0\.1:$main::Gone /,
 qr/\[error\].*command connection failed: .*retrying/]



=== TEST 8: jpulse_redis_pending does not count the question a silent sentinel holds
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=127.0.0.1:$TEST_NGINX_S1 master=m
                 connect_timeout=2s command_timeout=2s;
--- config
    location = /m { jpulse_metrics prometheus; }
--- pre_request
Time::HiRes::sleep(0.5);
--- request
GET /m
--- response_body_like
\njpulse_redis_pending 0\n
