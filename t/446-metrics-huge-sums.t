# Heartbeats in Redis are other hosts' data, not ours to trust: counts
# that a peer claims near INT64_MAX (or below zero) must not overflow the
# cluster's sums (undefined behaviour in C; UBSan reports it under
# `make asan-t`). A sum that would pass the largest integer stays there;
# a negative count adds nothing.
use lib 't/lib';
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();

$ENV{TEST_NGINX_T446_REDIS_PORT} = $Redis->{port};

sub main::peer {
    my ($id, $n, $neg) = @_;
    my $now = int(Time::HiRes::time() * 1000);
    JPulseTest::redis_command($main::Redis, 'SET',
        "jpulse:prod:metrics:instance:$id",
        qq({"hostname":"web$n","serverName":"web$n",)
        . qq("totalProcesses":9223372036854775807,)
        . qq("runningProcesses":9223372036854775000,)
        . qq("stoppedProcesses":$neg,"erroredProcesses":-9223372036854775807,)
        . qq("totalWebSocketConnections":4611686018427387904,)
        . qq("totalWebSocketMessages":9223372036854775807,)
        . qq("instances":[{"pid":$n,"pm2Id":$n,"instanceId":"$id"}]}),
        'PX', 60000);
    JPulseTest::redis_cli($main::Redis, 'ZADD',
                          'jpulse:prod:metrics:registry', $now + 60000, $id);
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3 + 1);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: two peers with counts near INT64_MAX: the sums saturate and
the answer is well-formed JSON
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T446_REDIS_PORT;
    jpulse_heartbeat interval=200ms ttl=30s;
--- config
    location = /m { jpulse_metrics; }
--- wait_for_log
command connection ready
--- pre_request
main::peer('1:0:101', 1, -9223372036854775807);
main::peer('2:0:102', 2, -9223372036854775807);
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(map { "data.statistics.$_" }
    qw(totalInstances totalProcesses runningProcesses stoppedProcesses
       erroredProcesses totalWebSocketConnections totalWebSocketMessages))
--- response_body_like
\Adata.statistics.totalInstances=3
data.statistics.totalProcesses=9223372036854775807
data.statistics.runningProcesses=9223372036854775807
data.statistics.stoppedProcesses=0
data.statistics.erroredProcesses=0
data.statistics.totalWebSocketConnections=9223372036854775807
data.statistics.totalWebSocketMessages=9223372036854775807
\z
--- no_error_log
[error]
[alert]
