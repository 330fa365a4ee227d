# Review R16b of cachectl's Redis Sentinel support: each block failed
# before its fix (TEST 2 is kept as the regression R16b wrote for the
# reconnect's resync).
#   TEST 1  finding 1: a one-shot "sessions revoke" WAITs for the
#           replicas and says so (exit 4) when it is on the primary only
#   TEST 3  finding 2: a mute first sentinel costs no batch anything
#   TEST 4  finding 2c: disagreeing sentinel answers, no hot loop
#   TEST 5  finding 2b: a trickling sentinel, the exchange's deadline
#   TEST 6  finding 2b: an oversized sentinel reply is refused at once
#   TEST 7  finding 1: "invalidate" with a healthy replica: exit 0
#   TEST 8  finding 3: -NOREPLICAS drops the primary (min-replicas)
#   (TEST 7 passed before the fixes too: the WAIT must not turn a
#   replicated write into a failure)
#   TEST 9  finding 7: a port "6379junk" is no address
#   TEST 10 finding 4: a dataset replaced under an open connection
use lib 't/lib';
use JPulseTest ();
use CachectlTest qw(write_file spawn daemon_log poll_until);
use RedisSentinel qw(sentinel_start sentinel_addrs sentinel_primary
                     sentinel_stop);
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $Result;

# the replica stops taking the stream: SIGSTOP, then the primary drops
# its link (what the kernel had buffered is applied at SIGCONT, no more)
sub main::cut_replica {
    my ($s) = @_;
    my $r = $s->{replicas}[0];
    kill 'STOP', $r->{pid};
    JPulseTest::redis_cli($s->{primary}, 'CLIENT', 'KILL', 'TYPE', 'replica');
}

# kill -9 the primary, let the (stale) replica be promoted
sub main::lose_primary {
    my ($s) = @_;
    my ($p, $r) = ($s->{primary}, $s->{replicas}[0]);
    JPulseTest::redis_stop($p);
    kill 'CONT', $r->{pid};
    my $new;
    poll_until(30, sub { $new = sentinel_primary($s);
        $new && $new != $p && JPulseTest::redis_cli($new, 'ROLE') =~ /^master/ });
    return $new;
}


# a fake sentinel in a child: $answer->($n) gives the raw reply to the
# n-th connection's SENTINEL command (every other command: +OK)
our @Fakes;
END { kill 'KILL', $_ for @Fakes }
sub main::fake_sentinel {
    my ($answer) = @_;
    my $l = IO::Socket::INET->new(Listen => 50, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die "$!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{CHLD} = 'IGNORE';
        my $n = 0;
        while (my $c = $l->accept) {
            my $k = $n++;
            if (fork) { close $c; next }
            $c->autoflush(1);
            my $buf = '';
            while (sysread($c, $buf, 4096, length $buf)) {
                while ($buf =~ s/^\*(\d+)\r\n//) {
                    my @a;
                    for (1 .. $1) {
                        $buf =~ s/^\$(\d+)\r\n// or last;
                        push @a, substr($buf, 0, $1 + 2, '');
                        $a[-1] =~ s/\r\n\z//;
                    }
                    if (lc($a[0] // '') eq 'sentinel') {
                        $answer->($c, $k);
                    } else {
                        print $c "+OK\r\n";
                    }
                }
            }
            POSIX::_exit(0);
        }
        POSIX::_exit(0);
    }
    push @Fakes, $pid;
    return $l->sockport;
}

sub main::addr_reply {
    my ($port) = @_;
    return "*2\r\n\$9\r\n127.0.0.1\r\n\$" . length($port) . "\r\n$port\r\n";
}

repeat_each(1);
master_on();
workers(1);
plan tests => repeat_each() * blocks() * 2;

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('config',
                      "location = /ping { return 200 \"pong\\n\"; }\n");
    $block->set_value('request', "GET /ping\n");
    $block->set_value('response_body_filters', sub { $main::Result });
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: "sessions revoke" said done, then a failover: the revoked
session must not be back (or the CLI must say it is not on a replica)
--- timeout: 60
--- pre_request
my $s = sentinel_start(master => 'r1', replicas => 1, sentinels => 3);
my $sess = '{"cookie":{"originalMaxAge":86400000},"user":{"id":"u1"}}';
JPulseTest::redis_cli($s->{primary}, 'SET', 'r1:prod:sess:abc', $sess, 'EX', 86400);
poll_until(5, sub { JPulseTest::redis_cli($s->{replicas}[0], 'EXISTS', 'r1:prod:sess:abc') =~ /1/ });
main::cut_replica($s);
my ($code, $out, $err) = CachectlTest::cachectl('--redis-sentinel',
    sentinel_addrs($s), '--redis-master', 'r1', '--site-id', 'r1',
    'sessions', 'revoke', 'abc');
my $new = main::lose_primary($s);
my $back = JPulseTest::redis_cli($new, 'EXISTS', 'r1:prod:sess:abc') =~ /1/;
$main::Result = "revoked and still revoked, or not claimed: "
    . (($code == 0 && $back) ? "NO (exit 0, session back)" : "yes") . "\n"
    . "exit $code\n"
    . "said: " . ($err =~ /written on the primary, not yet on 1 replica/
                  ? 'yes' : "no ($err)") . "\n";
sentinel_stop($s);
--- response_body
revoked and still revoked, or not claimed: yes
exit 4
said: yes



=== TEST 2: a template the old primary acknowledged but never
replicated is written again on the new primary
--- timeout: 90
--- pre_request
my $s = sentinel_start(master => 'r2', replicas => 1, sentinels => 3);
my $view = CachectlTest::tmpdir() . "/view2";
my $key = 'r2:prod:tpl:home/index.shtml';
write_file("$view/home/index.shtml", "<p>v1</p>\n");
my $d = spawn(cmd => [CachectlTest::cachectl_bin(), '--redis-sentinel',
    sentinel_addrs($s), '--redis-master', 'r2', '--site-id', 'r2', 'daemon',
    '--views', $view, '--rescan', 0, '--heartbeat', 1]);
poll_until(15, sub { JPulseTest::redis_cli($s->{replicas}[0], 'HGET', $key, 'source') =~ /v1/ });
main::cut_replica($s);
write_file("$view/home/index.shtml", "<p>v2</p>\n");
my $acked = poll_until(10, sub { JPulseTest::redis_cli($s->{primary}, 'HGET', $key, 'source') =~ /v2/ });
kill 'STOP', $d->{pid};     # so that the loss is seen before the repair
my $new = main::lose_primary($s);
my $stale = JPulseTest::redis_cli($new, 'HGET', $key, 'source') =~ /v1/;
kill 'CONT', $d->{pid};
my $ok = poll_until(15, sub { JPulseTest::redis_cli($new, 'HGET', $key, 'source') =~ /v2/ });
CachectlTest::spawn_stop($d);
$main::Result = "acked by the old primary: " . ($acked ? 'yes' : 'no') . "\n"
    . "lost by the failover: " . ($stale ? 'yes' : 'no') . "\n"
    . "written again: " . ($ok ? 'yes' : 'no') . "\n";
sentinel_stop($s);
--- response_body
acked by the old primary: yes
lost by the failover: yes
written again: yes



=== TEST 3: the first sentinel hangs (SIGSTOP) while the primary is
fine: a save is still published within a second
--- timeout: 60
--- pre_request
my $s = sentinel_start(master => 'r3', replicas => 1, sentinels => 3);
my $view = CachectlTest::tmpdir() . "/view3";
my $key = 'r3:prod:tpl:home/index.shtml';
write_file("$view/home/index.shtml", "<p>v0</p>\n");
my $d = spawn(cmd => [CachectlTest::cachectl_bin(), '--redis-sentinel',
    sentinel_addrs($s), '--redis-master', 'r3', '--site-id', 'r3', 'daemon',
    '--views', $view, '--rescan', 0]);
poll_until(15, sub { JPulseTest::redis_cli($s->{primary}, 'HGET', $key, 'source') =~ /v0/ });
kill 'STOP', $s->{sentinels}[0]{pid};
my @t;
for my $v (1 .. 3) {
    my $t0 = Time::HiRes::time();
    write_file("$view/home/index.shtml", "<p>v$v</p>\n");
    poll_until(30, sub { JPulseTest::redis_cli($s->{primary}, 'HGET', $key, 'source') =~ /v$v/ }, 0.02);
    push @t, Time::HiRes::time() - $t0;
}
kill 'CONT', $s->{sentinels}[0]{pid};
CachectlTest::spawn_stop($d);
Test::More::diag(sprintf "publish with a hung first sentinel: %s s", join ', ', map { sprintf '%.2f', $_ } @t);
$main::Result = "each save published within 1 s: "
    . ((grep { $_ > 1 } @t) ? 'no' : 'yes') . "\n";
sentinel_stop($s);
--- response_body
each save published within 1 s: yes



=== TEST 4: sentinel answers that disagree (one address in front of
several sentinels, mid-failover: both servers still masters): no hot
reconnect loop, the tree is published on one of them
--- timeout: 30
--- pre_request
my $A = JPulseTest::redis_start();
my $B = JPulseTest::redis_start();
my $sp = main::fake_sentinel(sub {
    my ($c, $k) = @_;
    print $c main::addr_reply($k % 2 ? $B->{port} : $A->{port}) });
my $view = CachectlTest::tmpdir() . "/view4";
write_file("$view/p$_/index.shtml", "<p>$_</p>\n") for 1 .. 50;
my $d = spawn(cmd => [CachectlTest::cachectl_bin(), '--redis-sentinel',
    "127.0.0.1:$sp", '--redis-master', 'r4', '--site-id', 'r4', 'daemon',
    '--views', $view, '--rescan', 0]);
Time::HiRes::sleep(5);
my $conn = CachectlTest::daemon_count($d, qr/connected to Redis/);
my $files = 0;
for my $r ($A, $B) {
    my $n = JPulseTest::redis_cli($r, 'HLEN', 'r4:prod:tplindex');
    $files = $n if $n =~ /^\d+/ && $n > $files;
}
my $lines = () = CachectlTest::daemon_log($d) =~ /names 127\.0\.0\.1:\d+ as the primary/g;
CachectlTest::spawn_stop($d);
Test::More::diag("disagreeing sentinel answers: $conn connects, $lines "
                 . "mismatch lines in 5 s");
$main::Result = "at most 10 connects in 5 s: " . ($conn <= 10 ? 'yes' : 'no') . "\n"
    . "at most 3 mismatch lines: " . ($lines <= 3 ? 'yes' : "no ($lines)") . "\n"
    . "published: " . ($files + 0 == 50 ? 'yes' : "no ($files)") . "\n";
JPulseTest::redis_stop($_) for $A, $B;
--- response_body
at most 10 connects in 5 s: yes
at most 3 mismatch lines: yes
published: yes



=== TEST 5: a sentinel that answers one byte every 1.5 s: the CLI gives
up within the documented bound
--- timeout: 30
--- pre_request
my $sp = main::fake_sentinel(sub {
    my ($c) = @_;
    print $c "\$100000\r\n";
    for (1 .. 100) { print $c "x"; Time::HiRes::sleep(1.5) } });
my $t0 = Time::HiRes::time();
my ($code) = CachectlTest::cachectl({ timeout => 12 }, '--redis-sentinel',
    "127.0.0.1:$sp", '--redis-master', 'r5', 'status');
my $took = Time::HiRes::time() - $t0;
$main::Result = "exit 1 within 5 s: "
    . ($code eq '1' && $took < 5 ? 'yes' : sprintf("no (%s after %.1f s)", $code, $took)) . "\n";
--- response_body
exit 1 within 5 s: yes



=== TEST 6: a sentinel that announces a 512 MB bulk: refused at once,
not buffered (exit 1 within 2 s, the reason said)
--- timeout: 30
--- pre_request
my $sp = main::fake_sentinel(sub {
    my ($c) = @_;
    print $c "\$536870912\r\n" . ('x' x 4096);
    Time::HiRes::sleep(20) });
my $t0 = Time::HiRes::time();
my ($code, $out, $err) = CachectlTest::cachectl({ timeout => 12 },
    '--redis-sentinel', "127.0.0.1:$sp", '--redis-master', 'r6', 'status');
my $took = Time::HiRes::time() - $t0;
$main::Result = "exit 1 within 2 s: "
    . ($code eq '1' && $took < 2 ? 'yes' : sprintf("no (%s after %.1f s)", $code, $took)) . "\n"
    . "said: " . ("$out$err" =~ /a reply of more than 512 bytes/ ? 'yes' : "no ($out$err)") . "\n";
--- response_body
exit 1 within 2 s: yes
said: yes



=== TEST 7: "invalidate" through the sentinels with a replica that
keeps up: WAIT is acknowledged, exit 0
--- timeout: 60
--- pre_request
my $s = sentinel_start(master => 'r7', replicas => 1, sentinels => 3);
my ($code, $out, $err) = CachectlTest::cachectl('--redis-sentinel',
    sentinel_addrs($s), '--redis-master', 'r7', '--site-id', 'r7',
    'invalidate', 'view', '/home/');
$main::Result = "exit $code\n" . ($err eq '' ? '' : "stderr: $err");
sentinel_stop($s);
--- response_body
exit 0



=== TEST 8: the primary refuses writes with -NOREPLICAS (min-replicas-
to-write, its replicas gone) and the sentinels name another: the daemon
drops it, asks again with a backoff and publishes there long before its
next heartbeat (the sentinels are no longer asked before each batch)
--- timeout: 60
--- pre_request
my $A = JPulseTest::redis_start();
my $B = JPulseTest::redis_start();
my $flag = CachectlTest::tmpdir() . "/switch8";
my $sp = main::fake_sentinel(sub {
    my ($c) = @_;
    print $c main::addr_reply(-e $flag ? $B->{port} : $A->{port}) });
JPulseTest::redis_cli($A, 'CONFIG', 'SET', 'min-replicas-to-write', '1');
my $view = CachectlTest::tmpdir() . "/view8";
write_file("$view/home/index.shtml", "<p>v8</p>\n");
my $d = spawn(cmd => [CachectlTest::cachectl_bin(), '--redis-sentinel',
    "127.0.0.1:$sp", '--redis-master', 'r8', '--site-id', 'r8', 'daemon',
    '--views', $view, '--rescan', 0, '--heartbeat', 30]);
my $said = poll_until(10, sub { CachectlTest::daemon_log($d) =~ /NOREPLICAS/ });
Time::HiRes::sleep(2);
my $conn = CachectlTest::daemon_count($d, qr/connected to Redis/);
write_file($flag, "B\n");
my $t0 = Time::HiRes::time();
my $ok = poll_until(20, sub { JPulseTest::redis_cli($B, 'HGET', 'r8:prod:tpl:home/index.shtml', 'source') =~ /v8/ });
my $took = Time::HiRes::time() - $t0;
CachectlTest::spawn_stop($d);
Test::More::diag(sprintf "NOREPLICAS: %d connects in about 2 s, on the "
                 . "new primary after %.1f s", $conn, $took);
$main::Result = "NOREPLICAS said: " . ($said ? 'yes' : 'no') . "\n"
    . "with a backoff (at most 8 connects): " . ($conn <= 8 ? 'yes' : "no ($conn)") . "\n"
    . "published on the other primary within 5 s: " . ($ok && $took < 5 ? 'yes' : sprintf("no (%.1f s)", $took)) . "\n";
JPulseTest::redis_stop($_) for $A, $B;
--- response_body
NOREPLICAS said: yes
with a backoff (at most 8 connects): yes
published on the other primary within 5 s: yes



=== TEST 9: a sentinel naming port "6379junk" is refused (strict parse)
--- timeout: 30
--- pre_request
my $sp = main::fake_sentinel(sub {
    my ($c) = @_;
    print $c "*2\r\n\$9\r\n127.0.0.1\r\n\$8\r\n6379junk\r\n" });
my ($code, $out, $err) = CachectlTest::cachectl({ timeout => 12 },
    '--redis-sentinel', "127.0.0.1:$sp", '--redis-master', 'r9', 'status');
$main::Result = "exit $code\n"
    . "said: " . ("$out$err" =~ /an answer that is no address/ ? 'yes' : "no ($out$err)") . "\n";
--- response_body
exit 1
said: yes



=== TEST 10: the primary's dataset replaced under an open connection
(A a replica of R for a while, then a primary again: the save A had is
gone), then another save: the new replication id is seen before that
batch and the lost save is written again too
--- timeout: 60
--- pre_request
my $A = JPulseTest::redis_start();
my $R = JPulseTest::redis_start(args => ['--replicaof', '127.0.0.1', $A->{port}]);
poll_until(10, sub { JPulseTest::redis_cli($R, 'INFO', 'replication') =~ /master_link_status:up/ });
my $sp = main::fake_sentinel(sub {
    my ($c) = @_;
    print $c main::addr_reply($A->{port}) });
my $key = 'r10:prod:tpl:home/index.shtml';
my $view = CachectlTest::tmpdir() . "/view10";
write_file("$view/home/index.shtml", "<p>v1</p>\n");
my $d = spawn(cmd => [CachectlTest::cachectl_bin(), '--redis-sentinel',
    "127.0.0.1:$sp", '--redis-master', 'r10', '--site-id', 'r10', 'daemon',
    '--views', $view, '--rescan', 0, '--heartbeat', 30]);
my $v1 = poll_until(10, sub { JPulseTest::redis_cli($R, 'HGET', $key, 'source') =~ /v1/ });
JPulseTest::redis_cli($R, 'REPLICAOF', 'NO', 'ONE');
write_file("$view/home/index.shtml", "<p>v2</p>\n");
my $v2 = poll_until(10, sub { JPulseTest::redis_cli($A, 'HGET', $key, 'source') =~ /v2/ });
JPulseTest::redis_cli($A, 'REPLICAOF', '127.0.0.1', $R->{port});
poll_until(10, sub { JPulseTest::redis_cli($A, 'INFO', 'replication') =~ /master_link_status:up/ });
JPulseTest::redis_cli($A, 'REPLICAOF', 'NO', 'ONE');
my $lost = JPulseTest::redis_cli($A, 'HGET', $key, 'source') =~ /v1/;
write_file("$view/other/index.shtml", "<p>other</p>\n");
my $t0 = Time::HiRes::time();
my $ok = poll_until(10, sub { JPulseTest::redis_cli($A, 'HGET', $key, 'source') =~ /v2/ });
my $took = Time::HiRes::time() - $t0;
my $said = CachectlTest::daemon_log($d) =~ /was replaced \(replication id/;
CachectlTest::spawn_stop($d);
Test::More::diag(sprintf "a replaced dataset repaired after %.1f s", $took);
$main::Result = "published, then lost with the dataset: "
    . ($v1 && $v2 && $lost ? 'yes' : 'no') . "\n"
    . "written again within 5 s (heartbeat 30 s): " . ($ok && $took < 5 ? 'yes' : sprintf("no (%.1f s)", $took)) . "\n"
    . "said: " . ($said ? 'yes' : 'no') . "\n";
JPulseTest::redis_stop($_) for $A, $R;
--- response_body
published, then lost with the dataset: yes
written again within 5 s (heartbeat 30 s): yes
said: yes
