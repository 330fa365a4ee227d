# jpulse_redis sentinel=... master=...: the module asks the sentinels for
# the primary (the first of the list is dead: the next one answers),
# serves pages and sessions from it, and follows a SENTINEL FAILOVER: the
# switch is logged once and counted, both connections move to the new
# primary, a template published there afterwards is served (invalidation
# and broadcast resume), a session written before the failover is still
# read, and a hammer running through the switch gets no 5xx.
#
# One primary, one replica, three sentinels (t/lib/RedisSentinel.pm); one
# nginx across the blocks (TEST_NGINX_FORCE_RESTART_ON_TEST=0).
use strict;
use warnings;

use lib 't/lib';
use JPulseTest ();
use RedisSentinel qw(sentinel_start sentinel_addrs sentinel_primary
                     sentinel_failover);
use SentinelTest qw(closed_port hammer_start hammer_stop get);
use SessionTest ();
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks'
    if $ENV{TEST_NGINX_USE_VALGRIND};

our $S = sentinel_start(master => 't801', replicas => 1, sentinels => 3);
our $NS = 't801:dev:';
our $Sid = 'c2VudGluZWwtc2lkLTAxMjM0NTY3ODlhYmNkZWY';
our $Dir = File::Temp::tempdir('jpulse-t801-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

# a port nobody listens on: the first "sentinel" of the list
our $Dead = closed_port();

# /news/ is on disk too (what a page falls back to), /only/ only in Redis
JPulseTest::view_tree("$Dir/view", {
    'news/index.shtml' => "news from disk\n",
});
JPulseTest::publish_tree($S->{primary}, $NS, {
    'news/index.shtml' => "news v1\n",
    'only/index.shtml' => "only in redis\n",
}, event => 0);
SessionTest::put($S->{primary}, $NS, $Sid, SessionTest::user_record());
JPulseTest::redis_cli($S->{primary}, 'WAIT', 1, 2000);

$ENV{TEST_NGINX_T801_SENTINELS} = "127.0.0.1:$Dead," . sentinel_addrs($S);
$ENV{TEST_NGINX_T801_DIR} = $Dir;
$ENV{TEST_NGINX_T801_COOKIE} = SessionTest::cookie($Sid);
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our ($Old, $New, $Hammer);

repeat_each(1);

plan tests => repeat_each() * 27;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless $block->http_config;
    jpulse_site_id t801;
    jpulse_mode dev;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=$TEST_NGINX_T801_SENTINELS master=t801
                 connect_timeout=300ms command_timeout=500ms
                 ping_interval=200ms;
    jpulse_view_roots $TEST_NGINX_T801_DIR/view;
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

=== TEST 1: the first sentinel is dead, the next names the primary: pages from Redis
--- wait_for_log
command connection ready
pub/sub connection ready
--- request eval
["GET /only/", "GET /news/", "GET /api/1/health/ready"]
--- response_body_like eval
["only in redis", "news v1", '"redis":"connected"']
--- error_log eval
[qr/sentinel 127\.0\.0\.1:\d+: Connection refused/,
 qr/primary of t801 is 127\.0\.0\.1:\d+/]
--- no_error_log
[error]



=== TEST 2: a signed-in user's session is read from the primary
--- request
GET /s
--- more_headers eval
"Cookie: $ENV{TEST_NGINX_T801_COOKIE}"
--- response_body
user jdoe
--- no_error_log
[error]



=== TEST 3: SENTINEL FAILOVER under a hammer: followed, logged once, counted, no 5xx
--- pre_request
$main::Old = RedisSentinel::sentinel_primary($main::S);
my $h = main::hammer_start(dir => $main::Dir, path => '/news/');
my $mark = JPulseTest::log_mark();
my $t0 = Time::HiRes::time();
$main::New = RedisSentinel::sentinel_failover($main::S);
JPulseTest::wait_log($mark, qr/primary of t801 is now/, 10);
# both connections back, on the new primary
JPulseTest::poll_until(10, sub {
    main::get('/api/1/health/ready') =~ /^200 / });
my $followed = Time::HiRes::time() - $t0;
Time::HiRes::sleep(0.3);
my $r = main::hammer_stop($h);
Test::More::diag(sprintf "failover followed in %.2f s (SENTINEL FAILOVER "
    . "to ready); hammer: %d requests, %d non-2xx, %d 5xx",
    $followed, @$r[0 .. 2]);
$main::Hammer = "hammer 5xx: $r->[2]";
--- request
GET /m
--- response_body_filters eval
sub {
    my ($n) = $_[0] =~ /^jpulse_redis_failovers_total (\d+)/m;
    "$main::Hammer\nfailovers: " . ($n // 'none') . "\n"
      . ($main::New->{port} != $main::Old->{port} ? "moved\n" : "same\n")
}
--- response_body
hammer 5xx: 0
failovers: 1
moved
--- error_log eval
qr/redis: primary of t801 is now 127\.0\.0\.1:\d+ \(was 127\.0\.0\.1:\d+\)/



=== TEST 4: the switch is logged once per worker, with the new primary's port
--- request
GET /api/1/health/ready
--- response_body_filters eval
sub {
    my $n = JPulseTest::log_count(qr/primary of t801 is now/);
    my $port = JPulseTest::log_count(
        qr/primary of t801 is now 127\.0\.0\.1:$main::New->{port} /);
    "logged $n, right port $port\n"
}
--- response_body
logged 1, right port 1



=== TEST 5: a template published to the NEW primary after the failover is served
--- pre_request
JPulseTest::publish_template($main::New, $main::NS, 'news/index.shtml',
                             "news v2\n");
JPulseTest::poll_until(5, sub { main::get('/news/') eq "200 news v2\n" });
--- request
GET /news/
--- response_body
news v2
--- no_error_log
[alert]



=== TEST 6: the session written before the failover is still read
--- pre_request
# a read that times out (command_timeout=500ms, three shards starting
# beside it) is served as anonymous: the session must be read, not at
# the first try
JPulseTest::poll_until(5, sub {
    (JPulseTest::http_get($Test::Nginx::Socket::ServerPort, '/s',
        headers => "Cookie: $ENV{TEST_NGINX_T801_COOKIE}\r\n"))[2]
    eq "user jdoe\n" });
--- request
GET /s
--- more_headers eval
"Cookie: $ENV{TEST_NGINX_T801_COOKIE}"
--- response_body
user jdoe
--- no_error_log
[alert]



=== TEST 7: the JSON metrics count the failover too (module.stats.redis_failovers)
--- request
GET /mj
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.components.module.stats.redis_failovers))
--- response_body
data.statistics.components.module.stats.redis_failovers=1



=== TEST 8: a reload (a second nginx, with a master and 2 workers): the old workers close their three connections each (no socket left open), the new ones get ready
--- pre_request
my $n = JPulseTest::nginx_start(workers => 2, http => <<"HTTP",
    jpulse_redis sentinel=$ENV{TEST_NGINX_T801_SENTINELS} master=t801
                 connect_timeout=300ms command_timeout=500ms;
HTTP
    config => "location /h { jpulse_health; }\n");
my $log = "$n->{dir}/logs/error.log";
my $count = sub {
    my ($re) = @_;
    open my $fh, '<', $log or return 0;
    scalar grep { $_ =~ $re } <$fh>;
};
JPulseTest::poll_until(10, sub { $count->(qr/command connection ready/) >= 2
                                 && $count->(qr/pub\/sub connection ready/) >= 2 });
kill 'HUP', $n->{pid};
JPulseTest::poll_until(10, sub { $count->(qr/exited with code 0/) >= 2
                                 && $count->(qr/command connection ready/) >= 4
                                 && $count->(qr/pub\/sub connection ready/) >= 4 });
my ($status) = JPulseTest::http_get($n->{port}, '/h/ready');
JPulseTest::nginx_stop($n);
$main::Result = "exited cleanly: " . $count->(qr/exited with code 0/) . "\n"
    . "ready after the reload: $status\n"
    . "alerts: " . $count->(qr/\[(alert|crit|emerg)\]|open socket/) . "\n";
--- request
GET /api/1/health/ready
--- response_body_filters eval
sub { $main::Result }
--- response_body
exited cleanly: 4
ready after the reload: 200
alerts: 0
