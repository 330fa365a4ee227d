# jpulse_redis: the two connections of each worker, health and metrics,
# against the suite's redis-server ($TEST_NGINX_REDIS_PORT, started by
# t/run). wait_for_log and pre_request are this project's runner
# extensions (t/README.md).
use lib 't/lib';
use JPulseTest ();
use Test::Nginx::Socket;

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3 + 7);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: status and readiness report Redis connected
--- http_config
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- config
    location /api/1/health/ { jpulse_health; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- request eval
["GET /api/1/health/status", "GET /api/1/health/ready"]
--- response_body_like eval
['"database":"not configured","redis":"connected",',
 '^\{"success":true,"message":"jPulse Framework is ready","data":\{"ready":true,"database":"not configured","redis":"connected",']
--- no_error_log
[error]



=== TEST 2: Redis commands, latency and state in the metrics
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT ping_interval=50ms;
--- config
    location = /m { jpulse_metrics; }
    location = /p { jpulse_metrics prometheus; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
Time::HiRes::sleep(0.5);    # some keepalives go by
--- request eval
["GET /m", "GET /p"]
--- response_body_filters eval
[JPulseTest::json_pick(qw(data.statistics.components.redis.status
     data.statistics.components.redis.stats.connected
     data.statistics.components.redis.stats.errors
     data.statistics.components.redis.stats.reconnects
     data.servers.0.instances.0.redis.status)),
 \&JPulseTest::promtool_check]
--- response_body eval
["data.statistics.components.redis.status=ok
data.statistics.components.redis.stats.connected=true
data.statistics.components.redis.stats.errors=0
data.statistics.components.redis.stats.reconnects=0
data.servers.0.instances.0.redis.status=connected
", "promtool: ok\n"]
--- no_error_log
[error]



=== TEST 3: commands are counted, with their latency
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT ping_interval=50ms;
--- config
    location = /p { jpulse_metrics prometheus; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
Time::HiRes::sleep(0.5);
--- request
GET /p
--- response_body_like
(?s)\njpulse_redis_commands_total ([5-9]|\d\d+)\n.*\njpulse_redis_command_duration_seconds_bucket\{le="0\.000100"\} \d+\n.*\njpulse_redis_command_duration_seconds_count ([5-9]|\d\d+)\n
--- no_error_log
[error]



=== TEST 4: Redis unreachable: disconnected, not ready, one error line
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_RAND_PORT_1 connect_timeout=200ms;
--- config
    location /api/1/health/ { jpulse_health; }
--- pre_request
Time::HiRes::sleep(1.5);    # several reconnect attempts go by
--- request eval
["GET /api/1/health/status", "GET /api/1/health/ready"]
--- error_code eval
[200, 503]
--- response_body_like eval
['"redis":"disconnected"',
 '^\{"success":false,"error":"Not ready: redis","path":"/api/1/health/ready","code":"NOT_READY","details":\{"ready":false,"database":"not configured","redis":"disconnected",']
--- grep_error_log eval
qr/connection failed: Connection refused/
--- grep_error_log_out
connection failed: Connection refused
connection failed: Connection refused
--- no_error_log
[crit]



=== TEST 5: a unix socket path that does not exist
--- http_config
    jpulse_redis unix:/nonexistent/redis.sock;
--- config
    location /api/1/health/ { jpulse_health; }
--- request
GET /api/1/health/ready
--- error_code: 503
--- response_body_like
"redis":"disconnected"
--- error_log
connection failed: No such file or directory
