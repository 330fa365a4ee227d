# kill -9 of the primary under load (anonymous and signed-in pages): the
# anonymous pages keep being served (from the disk while Redis is away:
# goal 0 non-2xx), no 5xx for the signed-in ones; the sentinels promote
# the replica and the module follows it: the time from the kill to the
# module's first write on the new primary is measured (diag), and the
# heartbeats resume there.
#
# One primary, one replica, three sentinels (t/lib/RedisSentinel.pm,
# down-after 1000 ms); one nginx across the blocks.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest ();
use RedisSentinel qw(sentinel_start sentinel_addrs sentinel_primary);
use SentinelTest qw(hammer_start hammer_stop get);
use SessionTest ();
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks'
    if $ENV{TEST_NGINX_USE_VALGRIND};

our $S = sentinel_start(master => 't802', replicas => 1, sentinels => 3);
our $NS = 't802:dev:';
our $Sid = 'a2lsbC1zaWQtMDEyMzQ1Njc4OWFiY2RlZjAxMjM0';
our $Dir = File::Temp::tempdir('jpulse-t802-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {
    'news/index.shtml' => "news from disk\n",
});
JPulseTest::publish_tree($S->{primary}, $NS, {
    'news/index.shtml' => "news from redis\n",
}, event => 0);
SessionTest::put($S->{primary}, $NS, $Sid, SessionTest::user_record());
JPulseTest::redis_cli($S->{primary}, 'WAIT', 1, 2000);

$ENV{TEST_NGINX_T802_SENTINELS} = sentinel_addrs($S);
$ENV{TEST_NGINX_T802_DIR} = $Dir;
$ENV{TEST_NGINX_T802_COOKIE} = SessionTest::cookie($Sid);
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our ($Old, $New, $Result);

# the heartbeat key of the instance (on the primary now)
sub main::heartbeat_key {
    my ($r) = @_;
    my ($k) = grep { /metrics:instance:/ } split /\n/,
        JPulseTest::redis_cli($r, '--scan', '--pattern', '*metrics:instance:*');
    return $k;
}

repeat_each(1);

plan tests => repeat_each() * 14;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless $block->http_config;
    jpulse_mode dev;
    jpulse_site_id t802;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=$TEST_NGINX_T802_SENTINELS master=t802
                 connect_timeout=300ms command_timeout=500ms
                 ping_interval=200ms;
    jpulse_heartbeat interval=200ms ttl=1s;
    jpulse_view_roots $TEST_NGINX_T802_DIR/view;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
CONF
    $block->set_value('config', <<'CONF') unless $block->config;
    location /api/1/health/ { jpulse_session off; jpulse_health; }
    location = /m { jpulse_session off; jpulse_metrics prometheus; }
    location = /s {
        return 200 "$jpulse_session_state $jpulse_username\n";
    }
    location / { jpulse_render; }
CONF
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: ready through the sentinels, a heartbeat on the primary
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
JPulseTest::poll_until(5, sub { main::heartbeat_key($main::S->{primary}) });
--- request eval
["GET /news/", "GET /s"]
--- more_headers eval
"Cookie: $ENV{TEST_NGINX_T802_COOKIE}"
--- response_body eval
["news from redis\n", "user jdoe\n"]
--- no_error_log
[error]



=== TEST 2: kill -9 of the primary under load: pages served, the new primary followed
--- pre_request
$main::Old = RedisSentinel::sentinel_primary($main::S);
my ($replica) = grep { $_ != $main::Old } @{ $main::S->{nodes} };
my $key = main::heartbeat_key($main::Old);
my $anon = main::hammer_start(dir => $main::Dir, path => '/news/');
# signed-in: served as anyone but jdoe counts as bad too
my $user = main::hammer_start(dir => $main::Dir, path => '/s',
                              cookie => $ENV{TEST_NGINX_T802_COOKIE},
                              want_body => "user jdoe\n");
Time::HiRes::sleep(0.3);
my $t0 = Time::HiRes::time();
JPulseTest::redis_stop($main::Old);
my ($promoted, $announced, $written);
# the old heartbeat lives 1 s at most: a key there after that is new
JPulseTest::poll_until(20, sub {
    my $now = Time::HiRes::time();
    $promoted //= $now
        if JPulseTest::redis_cli($replica, 'ROLE') =~ /^master/;
    $announced //= $now
        if RedisSentinel::sentinel_cli($main::S, 0, 'SENTINEL',
               'GET-MASTER-ADDR-BY-NAME', 't802') =~ /\b$replica->{port}\b/;
    my $pttl = JPulseTest::redis_cli($replica, 'PTTL', $key);
    $written //= $now if $promoted && $now > $t0 + 1.05 && $pttl =~ /^\d+$/
                         && $pttl > 0;
    $written }, 0.02);
$main::New = RedisSentinel::sentinel_primary($main::S);
JPulseTest::poll_until(10, sub {
    main::get('/api/1/health/ready') =~ /^200 / });
Time::HiRes::sleep(0.5);
my $ra = main::hammer_stop($anon);
my $ru = main::hammer_stop($user);
Test::More::diag(sprintf "kill -9: replica promoted after %.2f s, named "
    . "by the sentinels after %.2f s, first module write on it after %.2f s "
    . "(%.2f s after the sentinels named it)",
    ($promoted // 0) - $t0, ($announced // 0) - $t0, ($written // 0) - $t0,
    ($written // 0) - ($announced // 0));
Test::More::diag(sprintf "anonymous: %d requests, %d non-2xx, %d 5xx; "
    . "signed-in: %d requests, %d not served as the user (during %.2f s), "
    . "%d 5xx", @$ra[0 .. 2], @$ru[0 .. 1], $ru->[3], $ru->[2]);
$main::Result = "written: " . ($written ? "yes" : "no") . "\n"
    . "anonymous non-2xx: $ra->[1]\nsigned-in 5xx: $ru->[2]\n"
    . "new is the replica: "
    . (($main::New // {}) == $replica ? "yes" : "no") . "\n";
--- request
GET /api/1/health/ready
--- response_body_filters eval
sub { $main::Result }
--- response_body
written: yes
anonymous non-2xx: 0
signed-in 5xx: 0
new is the replica: yes
--- error_log eval
qr/redis: primary of t802 is now 127\.0\.0\.1:\d+ \(was 127\.0\.0\.1:\d+\)/



=== TEST 3: heartbeats resume on the new primary; the session is read there; counted once
--- pre_request
Time::HiRes::sleep(0.5);
--- request eval
["GET /s", "GET /m"]
--- more_headers eval
"Cookie: $ENV{TEST_NGINX_T802_COOKIE}"
--- response_body_filters eval
[sub {
    my $key = main::heartbeat_key($main::New);
    my $pttl = $key ? JPulseTest::redis_cli($main::New, 'PTTL', $key) : -2;
    $_[0] . "heartbeat: " . ($pttl =~ /^\d+$/ && $pttl > 0 ? "fresh" : "none")
    . "\n" },
 sub { my ($n) = $_[0] =~ /^jpulse_redis_failovers_total (\d+)/m;
       "failovers: " . ($n // 'none') . "\n" }]
--- response_body eval
["user jdoe\nheartbeat: fresh\n", "failovers: 1\n"]



=== TEST 4: the master's goodbye at stop asks the sentinels and deletes its heartbeat on the new primary
--- pre_request
my %before = map { $_ => 1 } grep { /metrics:instance:/ } split /\n/,
    JPulseTest::redis_cli($main::New, '--scan', '--pattern',
                          '*metrics:instance:*');
my $n = JPulseTest::nginx_start(workers => 1, http => <<"HTTP", config => '');
    jpulse_redis sentinel=$ENV{TEST_NGINX_T802_SENTINELS} master=t802;
    jpulse_heartbeat interval=200ms ttl=30s;
HTTP
my $key;
JPulseTest::poll_until(5, sub {
    ($key) = grep { /metrics:instance:/ && !$before{$_} } split /\n/,
        JPulseTest::redis_cli($main::New, '--scan', '--pattern',
                              '*metrics:instance:*');
    $key });
JPulseTest::nginx_stop($n);
my $left = $key ? JPulseTest::redis_cli($main::New, 'EXISTS', $key) : 'none';
chomp $left;
$main::Result = "heartbeat of the second nginx: "
    . (!$key ? "never written\n" : $left eq '0' ? "deleted at stop\n"
                                                 : "still there\n");
--- request
GET /api/1/health/ready
--- response_body_filters eval
sub { $main::Result }
--- response_body
heartbeat of the second nginx: deleted at stop
