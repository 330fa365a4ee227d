# The +switch-master watch: each worker subscribes on the sentinel that
# answered first; when that sentinel dies (kill -9) the watch moves to the
# next one, and a failover announced there is followed at once, before
# any command could meet -READONLY (no heartbeat; the keepalive only
# PUBLISHes, which a replica accepts: only the announcement can tell the
# module). A sentinel that stops answering (SIGSTOP) is noticed by the
# watch's PING keepalive and the next one is watched.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest ();
use RedisSentinel qw(sentinel_start sentinel_addrs sentinel_primary
                     sentinel_cli);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks'
    if $ENV{TEST_NGINX_USE_VALGRIND};

our $S = sentinel_start(master => 't805', replicas => 1, sentinels => 3);

$ENV{TEST_NGINX_T805_SENTINELS} = sentinel_addrs($S);
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our ($Old, $Result);

repeat_each(1);

plan tests => repeat_each() * 12;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless $block->http_config;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=$TEST_NGINX_T805_SENTINELS master=t805
                 connect_timeout=300ms command_timeout=500ms
                 ping_interval=300ms;
CONF
    $block->set_value('config', <<'CONF') unless $block->config;
    location /api/1/health/ { jpulse_health; }
CONF
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: ready; the watch subscribed on the first sentinel, its keepalive answered (several rounds, no warning)
--- wait_for_log
command connection ready
pub/sub connection ready
sentinel pub/sub connection ready
--- pre_request
Time::HiRes::sleep(1.5);
--- request
GET /api/1/health/ready
--- error_code: 200
--- no_error_log
[warn]
[error]



=== TEST 2: the watched sentinel dies: the watch moves to the next one
--- pre_request
my $mark = JPulseTest::log_mark();
my $t = $main::S->{sentinels}[0];
kill 'KILL', $t->{pid};
waitpid $t->{pid}, 0;
delete $t->{pid};
JPulseTest::wait_log($mark, qr/sentinel pub\/sub connection restored/, 10);
--- request
GET /api/1/health/ready
--- error_code: 200
--- error_log eval
[qr/\[warn\].*sentinel pub\/sub connection lost/,
 qr/sentinel pub\/sub connection restored/]



=== TEST 3: a failover announced by the second sentinel is followed at once, without READONLY
--- pre_request
$main::Old = sentinel_primary($main::S);
my $mark = JPulseTest::log_mark();
my $t0;
for (1 .. 20) {
    $t0 = Time::HiRes::time();
    last if sentinel_cli($main::S, 1, 'SENTINEL', 'FAILOVER', 't805') =~ /OK/;
    Time::HiRes::sleep(0.3);
}
my $seen = JPulseTest::wait_log($mark, qr/primary of t805 is now/, 15);
my $t1 = Time::HiRes::time();
my $new = sentinel_primary($main::S);
Test::More::diag(sprintf "SENTINEL FAILOVER to the module's notice: %.2f s",
                 $t1 - $t0);
# only the announcement tells this fast: without the watch the old
# primary's conversion (~10 s later) would, through lost connections
my $before = do {
    open my $fh, '<', JPulseTest::error_log(); seek $fh, $mark, 0;
    local $/; my $l = <$fh> // ''; $l =~ s/primary of t805 is now.*//s; $l };
$main::Result = "followed: " . ($seen ? "yes" : "no") . "\n"
    . "within 3 s: " . ($seen && $t1 - $t0 < 3 ? "yes" : "no") . "\n"
    . "lost before: " . ($before =~ /(?:command|pub\/sub) connection lost
                                     |Server\ closed/x ? "yes" : "no") . "\n"
    . "moved: " . ($new && $new != $main::Old ? "yes" : "no") . "\n";
--- request
GET /api/1/health/ready
--- response_body_filters eval
sub { $main::Result }
--- response_body
followed: yes
within 3 s: yes
lost before: no
moved: yes
--- no_error_log
answered "READONLY



=== TEST 4: the watched sentinel hangs (SIGSTOP): its PING goes unanswered, the next one is watched
--- pre_request
my $mark = JPulseTest::log_mark();
my $t = $main::S->{sentinels}[1];
kill 'STOP', $t->{pid};
my $moved = JPulseTest::wait_log($mark,
    qr/sentinel pub\/sub connection lost: keepalive not answered[\s\S]*sentinel pub\/sub connection restored/, 10);
kill 'CONT', $t->{pid};
$main::Result = "moved on: " . ($moved ? "yes" : "no") . "\n";
--- request
GET /api/1/health/ready
--- response_body_filters eval
sub { $main::Result }
--- response_body
moved on: yes
--- no_error_log
[alert]
