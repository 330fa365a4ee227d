# jpulse_app_cluster_api: jPulse's broadcast endpoints over Redis pub/sub,
# in jPulse's wire format, against a private redis-server this file can
# pause, kill and restart. Blocks with the same config share one nginx
# (TEST_NGINX_FORCE_RESTART_ON_TEST=0), so counters add up across them.
use lib 't/lib';
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Big = 'x' x (1024 * 1024);

$ENV{TEST_NGINX_BC_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3 + 13);

# every block runs on the same configuration (one nginx serves them all)
our $HttpConfig = <<'CONF';
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_BC_REDIS_PORT command_timeout=300ms;
    jpulse_heartbeat off;
CONF

our $Config = <<'CONF';
    client_body_buffer_size 16k;
    location /api/1/app-cluster/ { jpulse_app_cluster_api; }
    location = /m { jpulse_metrics; }
CONF

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: status: Redis available
--- wait_for_log
command connection ready
pub/sub connection ready
--- request
GET /api/1/app-cluster/broadcast/status
--- response_body_like
^\{"success":true,"data":\{"instanceId":"\d+:100:\d+","redisAvailable":true,"redisMode":"single","broadcastEnabled":true,"timestamp":"[^"]+"\}\}$
--- no_error_log
[error]



=== TEST 2: a 1 MB message from a peer arrives whole
--- pre_request
JPulseTest::redis_command($main::Redis, 'PUBLISH',
    'jpulse:prod:bc:controller:peer:data:sent', $main::Big);
Time::HiRes::sleep(0.3);
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(map { "data.statistics.components.module.stats.$_" }
    qw(broadcasts_received broadcast_received_bytes))
--- response_body
data.statistics.components.module.stats.broadcasts_received=1
data.statistics.components.module.stats.broadcast_received_bytes=1048576
--- no_error_log
[error]



=== TEST 3: publish: jPulse's answer, and our own subscriber gets it
--- request
POST /api/1/app-cluster/broadcast/controller:helloClusterTodo:item:added
{"data":{"text":"milk","n":1}}
--- response_body_like
^\{"success":true,"data":\{"channel":"controller:helloClusterTodo:item:added","instanceId":"\d+:100:\d+","timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\},"message":"Broadcast published to controller:helloClusterTodo:item:added","elapsed":\d+\}$
--- no_error_log
[error]



=== TEST 4: ... and it was received as jPulse's wire message
--- pre_request
Time::HiRes::sleep(0.3);
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(map { "data.statistics.components.module.stats.$_" }
    qw(broadcasts_published broadcasts_received broadcast_received_bytes))
--- response_body_like
\Adata.statistics.components.module.stats.broadcasts_published=1
data.statistics.components.module.stats.broadcasts_received=2
data.statistics.components.module.stats.broadcast_received_bytes=10487\d\d
\z
--- no_error_log
[error]



=== TEST 5: a 1 MB broadcast through the API (spooled body) arrives whole
--- request eval
"POST /api/1/app-cluster/broadcast/controller:big:data:sent\n"
. '{"data":{"blob":"' . $main::Big . '"}}'
--- response_body_like
^\{"success":true,"data":\{"channel":"controller:big:data:sent"
--- no_error_log
[error]



=== TEST 6: ... received: 1 MB and the envelope
--- pre_request
Time::HiRes::sleep(0.3);
--- request
GET /m
--- response_body_filters eval
[sub {
    my $j = JPulseTest::json_pick(
        'data.statistics.components.module.stats.broadcast_received_bytes'
    )->(@_);
    my ($total) = $j =~ /=(\d+)/;
    # the 1 MB blob, its envelope (channel, instanceId, timestamp: < 150
    # bytes) and the earlier messages (1048576 + one of < 150 bytes)
    my $envelope = $total - 2 * 1048576 - length('{"blob":""}');
    return $envelope > 100 && $envelope < 300 ? "ok\n" : "got $total\n";
}]
--- response_body
ok
--- no_error_log
[error]



=== TEST 7: bad requests
--- request eval
["POST /api/1/app-cluster/broadcast/controller:a:b\n{\"data\":{}}",
 "POST /api/1/app-cluster/broadcast/controller:a.b:c:d\n{\"data\":{}}",
 "POST /api/1/app-cluster/broadcast/controller:a:b:c\nnot json",
 "POST /api/1/app-cluster/broadcast/controller:a:b:c\n{\"data\":[1]}",
 "GET /api/1/app-cluster/broadcast/controller:a:b:c",
 "GET /api/1/app-cluster/other"]
--- error_code eval
[400, 400, 400, 400, 405, 404]
--- response_body_like eval
['"code":"INVALID_CHANNEL_NAME"', '"code":"INVALID_CHANNEL_NAME"',
 '"code":"INVALID_DATA"', '^\{"success":false,"error":"\\\\"data\\\\" must be an object","path":"/api/1/app-cluster/broadcast/controller:a:b:c","code":"INVALID_DATA"\}$',
 '"code":"METHOD_NOT_ALLOWED"', '"code":"NOT_FOUND"']
--- no_error_log
[error]
[alert]



=== TEST 8: CLIENT PAUSE past command_timeout: the publish fails fast
--- pre_request
JPulseTest::redis_cli($main::Redis, 'CLIENT', 'PAUSE', '2000');
--- timeout: 0.8
--- request
POST /api/1/app-cluster/broadcast/controller:a:b:c
{"data":{}}
--- error_code: 503
--- response_body_like
"code":"BROADCAST_FAILED"
--- error_log
jpulse broadcast on "controller:a:b:c" failed: no answer from Redis



=== TEST 9: Redis restarted: resubscribed, a new broadcast is received
--- pre_request
JPulseTest::redis_stop($main::Redis);
JPulseTest::redis_start($main::Redis);
Time::HiRes::sleep(2);
--- request
POST /api/1/app-cluster/broadcast/controller:after:restart:sent
{"data":{"n":2}}
--- response_body_like
"message":"Broadcast published to controller:after:restart:sent"
--- error_log
pub/sub connection restored



=== TEST 10: ... received after the resubscription
--- pre_request
Time::HiRes::sleep(0.3);
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(map { "data.statistics.components.module.stats.$_" }
    qw(broadcasts_published broadcasts_received))
--- response_body
data.statistics.components.module.stats.broadcasts_published=3
data.statistics.components.module.stats.broadcasts_received=4
--- no_error_log
[alert]



=== TEST 11: without Redis: delivered here only, and said so
--- http_config
    # no jpulse_redis
--- config
    location /api/1/app-cluster/ { jpulse_app_cluster_api; }
--- request eval
["POST /api/1/app-cluster/broadcast/view:hello:message:sent\n{\"data\":{}}",
 "GET /api/1/app-cluster/broadcast/status"]
--- response_body_like eval
['^\{"success":true,"data":\{"channel":"view:hello:message:sent","instanceId":"\d+:100:\d+","timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z","fallback":true\},"message":"Broadcast skipped - Redis unavailable \(graceful fallback\)"',
 '"redisAvailable":false,"redisMode":"none"']
--- no_error_log
[error]
