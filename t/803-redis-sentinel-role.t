# The ROLE check: a (fake) sentinel names a REPLICA as the primary of our
# master. The module connects to it, asks ROLE, is told "slave", refuses
# it (a warning naming the address and the role) and asks again with
# backoff: it never becomes ready, health says so, and the replica gets
# nothing but the handshake (no write, no subscription). Without the
# check a replica answers PING and PSUBSCRIBE and the module would
# declare itself ready on it.
#
# The fake sentinel (t/lib/SentinelTest.pm) answers SENTINEL
# get-master-addr-by-name with the replica's address, SUBSCRIBE with a
# confirmation, AUTH and PING as a server would: a real sentinel can't be
# made to name a replica.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start redis_cli);
use SentinelTest qw(fake_sentinel);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks'
    if $ENV{TEST_NGINX_USE_VALGRIND};

our $Primary = redis_start();
our $Replica = redis_start(args => ['--replicaof', '127.0.0.1',
                                    $Primary->{port}]);
JPulseTest::poll_until(10, sub {
    redis_cli($Replica, 'INFO', 'replication') =~ /master_link_status:up/ });
redis_cli($Replica, 'CONFIG', 'RESETSTAT');

our $Fake = fake_sentinel(master => $Replica->{port});

$ENV{TEST_NGINX_T803_SENTINEL} = $Fake->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

repeat_each(1);

plan tests => repeat_each() * 5;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless $block->http_config;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=127.0.0.1:$TEST_NGINX_T803_SENTINEL master=t803
                 connect_timeout=300ms command_timeout=300ms;
    jpulse_heartbeat interval=200ms ttl=1s;
CONF
    $block->set_value('config', <<'CONF') unless $block->config;
    location /api/1/health/ { jpulse_health; }
CONF
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the replica named by the sentinel is refused, with its role
--- wait_for_log
has role "slave", not master: refused
--- request
GET /api/1/health/ready
--- error_code: 503
--- error_log eval
[qr/command connection: 127\.0\.0\.1:$main::Replica->{port} has role "slave", not master: refused, asking the sentinels again/,
 qr/pub\/sub connection: 127\.0\.0\.1:$main::Replica->{port} has role "slave", not master/]



=== TEST 2: a second later: still not ready, never was, retried, nothing written to the replica
--- pre_request
Time::HiRes::sleep(1.2);
--- request
GET /api/1/health/ready
--- error_code: 503
--- response_body_filters eval
sub {
    my $info = JPulseTest::redis_cli($main::Replica, 'INFO', 'commandstats');
    my %calls = $info =~ /^cmdstat_(\w+):calls=(\d+)/mg;
    # the handshake pipelines the subscriptions behind ROLE: not writes
    my @other = grep { !/^(role|ping|auth|select|info|config|command|
                           p?subscribe)$/x }
                sort keys %calls;
    my $ready = JPulseTest::log_count(qr/": (command|pub\/sub) connection (ready|restored)/);
    "roles asked: " . (($calls{role} // 0) >= 4 ? "several" : "few") . "\n"
    . "other commands: @other\n"
    . "ready: $ready\n"
}
--- response_body
roles asked: several
other commands: 
ready: 0
