# jpulse_redis cluster=...: the module against a real Redis Cluster of
# three primaries with a replica each (t/lib/RedisCluster.pm). Pages are
# rendered from L2 written the way cachectl writes it in cluster mode
# (the l2 group's hash-tagged names, with redis-cli -c semantics: on the
# primary of the tag's slot), invalidated by a PUBLISH on any node; a
# connect-redis session (its own slot) is read on a signed-in page; the
# heartbeat and the registry land under the metrics group's tag; a slot
# migrated by hand under a keep-alive load gives ASK then MOVED, counted,
# with no failed request; a primary killed and failed over to its replica:
# pages recover and the new primary serves the next publish. No worker
# crashes, no alert.
#
# One nginx across the blocks (TEST_NGINX_FORCE_RESTART_ON_TEST=0).
use strict;
use warnings;

use lib 't/lib';
use IO::Socket::INET ();
use HTTP::Tiny ();
use JPulseTest ();
use POSIX ();
use RedisCluster qw(cluster_start cluster_slot_owner cluster_primaries
                    cluster_migrate_begin cluster_migrate_keys
                    cluster_migrate_end cluster_reshard cluster_failover
                    cluster_wait cluster_cli);
use SessionTest ();
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks'
    if $ENV{TEST_NGINX_USE_VALGRIND};

# the cluster's nodes take free ports: nginx's is held meanwhile, so that
# none of them (nor a bus port) is the one nginx listens on later
my $Hold = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                 LocalPort => $ENV{TEST_NGINX_PORT} // 1984,
                                 ReuseAddr => 1);
our $C = cluster_start(primaries => 3, replicas => 1);
close $Hold if $Hold;
our $NS = 't841:dev:';
our $L2 = "t841:dev:{t841:dev:l2}";
our $MX = "t841:dev:{t841:dev:metrics}";
our $Sid = 'Y2x1c3Rlci1zaWQtMDEyMzQ1Njc4OWFiY2RlZg';
our $SKey = "${NS}sess:$Sid";
our $Dir = File::Temp::tempdir('jpulse-t841-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

# the primary that serves a key now
sub owner { (cluster_slot_owner($main::C, $_[0]))[1] }
sub slot { (cluster_slot_owner($main::C, $_[0]))[0] }

# any other live primary
sub other {
    my ($h) = @_;
    return (grep { $_->{port} != $h->{port} } cluster_primaries($main::C))[0];
}

sub get {
    my ($path, $cookie) = @_;
    my ($status, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, $path,
        headers => $cookie ? "Cookie: $cookie\r\n" : '');
    return "$status $body";
}

# GETs on ONE keep-alive connection (HTTP::Tiny keeps it; fresh => 1: a
# connection each) in a child until told to stop: "all bad 5xx" into a
# file
our $Hammers = 0;

sub hammer_start {
    my (%o) = @_;
    my $file = "$main::Dir/hammer." . ++$Hammers;
    unlink $file, "$file.stop";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $ua = HTTP::Tiny->new(keep_alive => !$o{fresh}, timeout => 5);
        my $url = "http://127.0.0.1:$Test::Nginx::Socket::ServerPort$o{path}";
        my ($n, $bad, $five) = (0, 0, 0);
        until (-e "$file.stop") {
            my $res = $ua->get($url, { headers => $o{cookie}
                                       ? { Cookie => $o{cookie} } : {} });
            $n++;
            $bad++ unless $res->{success}
                          && (!defined $o{want} || $res->{content} eq $o{want});
            $five++ if $res->{status} >= 500;
        }
        open my $fh, '>', $file or POSIX::_exit(1);
        print $fh "$n $bad $five\n";
        close $fh;
        POSIX::_exit(0);
    }
    return { pid => $pid, file => $file };
}

sub hammer_stop {
    my ($h) = @_;
    open my $fh, '>', "$h->{file}.stop"; close $fh;
    waitpid $h->{pid}, 0;
    open $fh, '<', $h->{file} or return [0, 0, 0];
    return [split ' ', scalar <$fh>];
}

# CRC16 (XMODEM) mod 16384: the slot of a key without a hash tag
sub keyslot {
    my $crc = 0;
    for my $c (unpack 'C*', $_[0]) {
        $crc ^= $c << 8;
        $crc = $crc & 0x8000 ? (($crc << 1) ^ 0x1021) & 0xffff
                             : ($crc << 1) & 0xffff for 1 .. 8;
    }
    return $crc % 16384;
}

sub metric {
    my ($name) = @_;
    my $m = get('/m');
    return $m =~ /^\Q$name\E (\d+)/m ? $1 : -1;
}

# /news/ is on disk too (what a page falls back to), /only/ only in Redis
JPulseTest::view_tree("$Dir/view", {
    'news/index.shtml' => "news from disk\n",
});
JPulseTest::publish_tree(owner("${L2}gen"), $L2, {
    'news/index.shtml' => "news v1\n",
    'only/index.shtml' => "only in redis\n",
}, event => 0);
SessionTest::put(owner($SKey), $NS, $Sid, SessionTest::user_record());

# two seeds: whichever answers first gives the map
my ($n1, $n2) = @{ $C->{nodes} };
$ENV{TEST_NGINX_T841_SEEDS} = "127.0.0.1:$n1->{port},127.0.0.1:$n2->{port}";
$ENV{TEST_NGINX_T841_DIR} = $Dir;
$ENV{TEST_NGINX_T841_COOKIE} = SessionTest::cookie($Sid);
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our ($Result, $Old, $New);

# a master: TEST 9 reloads (HUP), and a single process would not start
# new workers
master_on();
repeat_each(1);

plan tests => repeat_each() * 42;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless $block->http_config;
    jpulse_site_id t841;
    jpulse_mode dev;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis cluster=$TEST_NGINX_T841_SEEDS
                 connect_timeout=300ms command_timeout=500ms
                 ping_interval=500ms;
    jpulse_heartbeat interval=1s ttl=5s;
    jpulse_view_roots $TEST_NGINX_T841_DIR/view;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
CONF
    $block->set_value('config', <<'CONF') unless $block->config;
    location /api/1/health/ { jpulse_session off; jpulse_health; }
    location = /m { jpulse_session off; jpulse_metrics prometheus; }
    location = /mj { jpulse_session off; jpulse_metrics; }
    location = /s {
        return 200 "$jpulse_session_state $jpulse_username\n";
    }
    location / { jpulse_render; }
CONF
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the slot map from a seed, pages from L2 under the l2 group's tag
--- pre_request
JPulseTest::poll_until(20, sub {
    main::get('/api/1/health/ready') =~ /^200 /
    && main::get('/only/') eq "200 only in redis\n" });
--- request eval
["GET /only/", "GET /news/", "GET /api/1/health/ready"]
--- response_body_like eval
["only in redis", "news v1", '"redis":"connected"']
--- error_log eval
[qr/cluster slot map \d+: 3 primaries, 16384 of 16384 slots covered/,
 qr/pub\/sub connection ready/]
--- no_error_log
[error]



=== TEST 2: a signed-in user's session is read from its own slot
--- request
GET /s
--- more_headers eval
"Cookie: $ENV{TEST_NGINX_T841_COOKIE}"
--- response_body
user jdoe
--- no_error_log
[error]



=== TEST 3: the session touch in cluster mode: the sess group's script, then the session's own (P)EXPIRE
--- pre_request
my $SX = "${main::NS}{${main::NS}sess}";
my $now = int(Time::HiRes::time() * 1000);
my %sid = map { $_ => sprintf 'dG91Y2gtc2lkLTAxMjM0NTY3ODlhYmNk%06d', $_ }
          1 .. 3;
for (1 .. 3) {
    my $k = "${main::NS}sess:$sid{$_}";
    SessionTest::put(main::owner($k), $main::NS, $sid{$_},
                     SessionTest::user_record(), 500);
}
my $o = main::owner("${SX}cachectl:sessmaxage");
cluster_cli($main::C, $o, 'SET', "${SX}cachectl:sessmaxage", 150000);
cluster_cli($main::C, $o, 'HSET', "${SX}cachectl:sessfirst",
            $sid{1}, $now - 100000, $sid{2}, $now - 200000);
my $ttl = sub {
    my $k = "${main::NS}sess:$_[0]";
    return cluster_cli($main::C, main::owner($k), 'TTL', $k) + 0;
};
my @got;
for (1 .. 3) {
    my $body = main::get('/s', SessionTest::cookie($sid{$_}));
    push @got, $body =~ /user jdoe/ ? 'user' : "not signed in: $body";
}
# 1: 50 s left of the limit; 2: past it, left alone; 3: no record: the TTL
JPulseTest::poll_until(5, sub { $ttl->($sid{1}) <= 50
                                && $ttl->($sid{3}) > 500 });
Time::HiRes::sleep(0.3);
$main::Result = join('', map { "$_\n" } @got)
    . sprintf("limited %s, past the limit %s, no record %s\n",
              map { my ($t, $lo, $hi) = @$_; $t >= $lo && $t <= $hi ? 'ok'
                                                                    : $t }
              [$ttl->($sid{1}), 40, 50], [$ttl->($sid{2}), 490, 500],
              [$ttl->($sid{3}), 501, 1e9]);
cluster_cli($main::C, $o, 'DEL', "${SX}cachectl:sessmaxage",
            "${SX}cachectl:sessfirst");
--- request
GET /api/1/health/ready
--- response_body_filters eval
sub { $main::Result }
--- response_body
user
user
user
limited ok, past the limit ok, no record ok
--- no_error_log
[error]



=== TEST 4: a publish on the l2 primary and the event on another node: served
--- pre_request
my $l2 = main::owner("${main::L2}gen");
JPulseTest::publish_template($l2, $main::L2, 'news/index.shtml',
                             "news v2\n", event => 0);
# the event on a node that is not the l2 group's: cluster-wide pub/sub
JPulseTest::publish_event(main::other($l2), $main::NS, 'view');
JPulseTest::poll_until(5, sub { main::get('/news/') eq "200 news v2\n" });
--- request
GET /news/
--- response_body
news v2
--- no_error_log
[error]



=== TEST 5: heartbeat and registry under the metrics tag; the map in the metrics
--- pre_request
my $key = "${main::MX}metrics:registry";
JPulseTest::poll_until(10, sub {
    cluster_cli($main::C, main::owner($key), 'ZCARD', $key) =~ /^[1-9]/ });
my $o = main::owner($key);
my @hb = split /\n/, cluster_cli($main::C, $o, 'KEYS',
                                 "${main::MX}metrics:instance:*");
$main::Result = "registry on the metrics slot, heartbeats: "
                . scalar(@hb) . "\n";
--- request
GET /mj
--- response_body_filters eval
sub {
    $main::Result . JPulseTest::json_pick(
        'data.statistics.components.redis.stats.connected',
        'data.statistics.components.redis.stats.cluster.coveredSlots',
        'data.statistics.components.redis.stats.cluster.nodes')->($_[0])
}
--- response_body
registry on the metrics slot, heartbeats: 1
data.statistics.components.redis.stats.connected=true
data.statistics.components.redis.stats.cluster.coveredSlots=16384
data.statistics.components.redis.stats.cluster.nodes=3



=== TEST 6: the session's slot migrated under keep-alive load: ASK, then MOVED, no failure
--- pre_request
my ($slot, $from) = cluster_slot_owner($main::C, $main::SKey);
my $to = main::other($from);
my $h = main::hammer_start(path => '/s', want => "user jdoe\n",
                           cookie => $ENV{TEST_NGINX_T841_COOKIE});
Time::HiRes::sleep(0.3);
cluster_migrate_begin($main::C, $slot, $from, $to);
cluster_migrate_keys($main::C, $slot, $from, $to, $main::SKey);
Time::HiRes::sleep(0.5);                    # the ASK window
my $ask = main::metric('jpulse_redis_cluster_ask_total');
cluster_migrate_end($main::C, $slot, $to);
Time::HiRes::sleep(0.5);
my $r = main::hammer_stop($h);
Test::More::diag("hammer during the migration: $r->[0] requests, "
                 . "$r->[1] bad, $r->[2] 5xx");
$main::Result = "bad $r->[1], 5xx $r->[2], asked "
                . ($ask > 0 ? "yes" : "no ($ask)") . "\n";
--- request
GET /m
--- response_body_filters eval
sub {
    my ($moved) = $_[0] =~ /^jpulse_redis_cluster_moved_total (\d+)/m;
    $main::Result . "moved " . (($moved // 0) > 0 ? "yes" : "no") . "\n"
}
--- response_body
bad 0, 5xx 0, asked yes
moved yes
--- no_error_log
[alert]



=== TEST 7: the l2 group's slot migrated: the gen poll follows, a publish on the new owner is served
--- pre_request
my ($slot, $from) = cluster_slot_owner($main::C, "${main::L2}gen");
my $to = main::other($from);
my $keys = cluster_cli($main::C, $from, 'CLUSTER', 'GETKEYSINSLOT', $slot,
                       100);
cluster_migrate_begin($main::C, $slot, $from, $to);
cluster_migrate_keys($main::C, $slot, $from, $to, split /\n/, $keys);
cluster_migrate_end($main::C, $slot, $to);
JPulseTest::publish_template($to, $main::L2, 'news/index.shtml',
                             "news v3\n", event => 0);
JPulseTest::publish_event($from, $main::NS, 'view');
JPulseTest::poll_until(5, sub { main::get('/news/') eq "200 news v3\n" });
--- request
GET /news/
--- response_body
news v3
--- no_error_log
[alert]



=== TEST 8: the metrics slot half migrated: the heartbeat's script meets TRYAGAIN, is retried and counted; then it lands on the new owner
--- pre_request
my $key = "${main::MX}metrics:registry";
my ($slot, $from) = cluster_slot_owner($main::C, $key);
my $to = main::other($from);
my @keys = split /\n/, cluster_cli($main::C, $from, 'CLUSTER',
                                   'GETKEYSINSLOT', $slot, 100);
my $tries = main::metric('jpulse_redis_cluster_tryagain_total');
cluster_migrate_begin($main::C, $slot, $from, $to);
# the registry moves, the heartbeat and the duty lease stay: a script
# that names them all is refused with TRYAGAIN on either side
cluster_migrate_keys($main::C, $slot, $from, $to, $key);
JPulseTest::poll_until(5, sub {
    main::metric('jpulse_redis_cluster_tryagain_total') > $tries });
cluster_migrate_keys($main::C, $slot, $from, $to,
                     grep { $_ ne $key } @keys);
cluster_migrate_end($main::C, $slot, $to);
# the next heartbeat goes to the new owner (MOVED) and lands
cluster_cli($main::C, $to, 'DEL', grep { /metrics:instance:/ } @keys);
JPulseTest::poll_until(5, sub {
    cluster_cli($main::C, $to, 'KEYS', "${main::MX}metrics:instance:*")
        =~ /instance/ });
$main::Result = "tryagain counted, heartbeat on the new owner\n";
--- request
GET /api/1/health/ready
--- response_body_filters eval
sub { $main::Result . ($_[0] =~ /"redis":"connected"/ ? "ready\n" : $_[0]) }
--- response_body
tryagain counted, heartbeat on the new owner
ready
--- no_error_log
[alert]



=== TEST 9: redis-cli --cluster reshard of 300 slots, a session's among them, under keep-alive load: served throughout, MOVED counted
--- pre_request
# a session in the first slots of the primary of slot 0: the reshard
# moves that primary's lowest slots
my $sid;
for my $i (1 .. 100000) {
    $sid = sprintf 'cmVzaGFyZC1zaWQtMDEyMzQ1Njc4%010d', $i;
    last if main::keyslot("${main::NS}sess:$sid") < 300;
}
my ($slot, $from) = cluster_slot_owner($main::C, "${main::NS}sess:$sid");
die "slot $slot: the key slots disagree" unless $slot < 300;
SessionTest::put($from, $main::NS, $sid, SessionTest::user_record());
my $cookie = SessionTest::cookie($sid);
my $moved = main::metric('jpulse_redis_cluster_moved_total');
my $h = main::hammer_start(path => '/s', want => "user jdoe\n",
                           cookie => $cookie);
Time::HiRes::sleep(0.3);
my $t0 = Time::HiRes::time();
cluster_reshard($main::C, from => $from, to => main::other($from),
                slots => 300);
my $t = Time::HiRes::time() - $t0;
Time::HiRes::sleep(0.3);
my $r = main::hammer_stop($h);
my ($now) = cluster_slot_owner($main::C, "${main::NS}sess:$sid");
Test::More::diag(sprintf "reshard of 300 slots in %.1f s: %d requests, "
                 . "%d bad, %d 5xx", $t, @$r);
$main::Result = "bad $r->[1], 5xx $r->[2], moved "
    . (main::metric('jpulse_redis_cluster_moved_total') > $moved
       ? "more" : "not counted") . "\n";
--- request
GET /api/1/health/ready
--- response_body_filters eval
sub { $main::Result . ($_[0] =~ /"redis":"connected"/ ? "ready\n" : $_[0]) }
--- response_body
bad 0, 5xx 0, moved more
ready
--- no_error_log
[alert]



=== TEST 10: the l2 primary killed: its replica takes over, pages recover, the next publish is served
--- pre_request
$main::Old = main::owner("${main::L2}gen");
my $h = main::hammer_start(path => '/news/');
# a page only Redis has: its copy serves while its node fails over (a
# fetch that cannot go out is no proof that it is gone: 404s before)
my $only = main::hammer_start(path => '/only/');
# invalidations keep coming through another primary meanwhile (cachectl
# publishing elsewhere): every copy is to be checked while the l2 group
# cannot answer
my $other = main::other($main::Old);
my $events = fork // die "fork: $!";
if ($events == 0) {
    for (1 .. 100) {
        eval { JPulseTest::publish_event($other, $main::NS, 'view') };
        select undef, undef, undef, 0.1;
    }
    POSIX::_exit(0);
}
my $t0 = Time::HiRes::time();
$main::New = cluster_failover($main::C, $main::Old, how => 'kill');
kill 'KILL', $events;
waitpid $events, 0;
JPulseTest::publish_template($main::New, $main::L2, 'news/index.shtml',
                             "news v4\n", event => 0);
JPulseTest::publish_event($main::New, $main::NS, 'view');
JPulseTest::poll_until(20, sub {
    main::get('/news/') eq "200 news v4\n"
    && main::get('/api/1/health/ready') =~ /^200 / });
my $t = Time::HiRes::time() - $t0;
my $r = main::hammer_stop($h);
my $o = main::hammer_stop($only);
Test::More::diag(sprintf "failover followed in %.2f s; hammer on /news/: "
                 . "%d requests, %d bad, %d 5xx; on /only/: %d requests, "
                 . "%d bad", $t, @$r, @$o[0, 1]);
$main::Result = "5xx $r->[2], /only/ bad $o->[1]\n";
--- request
GET /news/
--- response_body_filters eval
sub { $main::Result . $_[0] }
--- response_body
5xx 0, /only/ bad 0
news v4
--- no_error_log
[alert]



=== TEST 11: the pub/sub connection's node drops it: it goes to another node, resubscribes, invalidation resumes
--- pre_request
my $json = main::get('/mj');
my ($sub) = $json =~ /"subscriber":"127\.0\.0\.1:(\d+)"/;
my ($node) = grep { $_->{port} == ($sub // 0) } @{ $main::C->{nodes} };
die "no subscriber node in the metrics: $json" unless $node;
my $mark = JPulseTest::log_mark();
cluster_cli($main::C, $node, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
JPulseTest::wait_log($mark, qr/pub\/sub connection restored/, 10);
my ($now) = main::get('/mj') =~ /"subscriber":"127\.0\.0\.1:(\d+)"/;
my $l2 = main::owner("${main::L2}gen");
JPulseTest::publish_template($l2, $main::L2, 'news/index.shtml',
                             "news v5\n", event => 0);
JPulseTest::publish_event($l2, $main::NS, 'view');
JPulseTest::poll_until(5, sub { main::get('/news/') eq "200 news v5\n" });
$main::Result = ($now && $now != $sub ? "another node" : "same node ($sub)")
                . "\n";
--- request
GET /news/
--- response_body_filters eval
sub { $main::Result . $_[0] }
--- response_body
another node
news v5
--- no_error_log
[alert]



=== TEST 12: a reload under signed-in load: new workers wait for the map, nobody is served as anonymous
--- pre_request
my $h = main::hammer_start(path => '/s', want => "user jdoe\n", fresh => 1,
                           cookie => $ENV{TEST_NGINX_T841_COOKIE});
Time::HiRes::sleep(0.3);
my $mark = JPulseTest::log_mark();
my ($master) = JPulseTest::_slurp(
    "$Test::Nginx::Socket::ServerRoot/logs/nginx.pid") =~ /(\d+)/;
kill 'HUP', $master;
JPulseTest::wait_log($mark, qr/cluster slot map 1:/, 10);
Time::HiRes::sleep(0.5);
my $r = main::hammer_stop($h);
Test::More::diag("hammer over a reload: $r->[0] requests, $r->[1] bad, "
                 . "$r->[2] 5xx; waits logged: "
                 . JPulseTest::log_count(qr/requests wait for the command/));
$main::Result = "bad $r->[1], 5xx $r->[2]\n";
--- request
GET /s
--- more_headers eval
"Cookie: $ENV{TEST_NGINX_T841_COOKIE}"
--- response_body_filters eval
sub { $main::Result . $_[0] }
--- response_body
bad 0, 5xx 0
user jdoe



=== TEST 13: no worker crashed, nothing alerted
--- request
GET /s
--- more_headers eval
"Cookie: $ENV{TEST_NGINX_T841_COOKIE}"
--- response_body_filters eval
sub {
    $_[0] . "crashes "
    . JPulseTest::log_count(qr/exited on signal|\[alert\]|\[crit\]|\[emerg\]/)
    . "\n"
}
--- response_body
user jdoe
crashes 0
