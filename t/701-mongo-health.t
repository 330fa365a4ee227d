# The database's state, as each worker's ping sees it, in health status,
# readiness, both metrics formats and the instance's JSON: connected;
# the server killed (disconnected, ready 503, operations refused at once);
# back by itself after a restart; a paused server (SIGSTOP) never slows
# health down: health reads only what the worker knows, it never touches
# the thread pool. A private test server (t/lib/MongoServer.pm): t/run's
# stays up for the other suites. One nginx serves every block.
use lib 't/lib';
use JPulseTest qw(http_get poll_until);
use MongoServer qw(mongo_server_start mongo_server_stop mongo_server_signal);
use Test::Nginx::Socket;

plan skip_all => 'no Mongo-wire test server (make deps)'
    unless MongoServer::mongo_server_installed();
plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $M = mongo_server_start();

$ENV{TEST_NGINX_T701_MONGO_PORT} = $M->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

# the database's state as health reports it, polled until it is $want
sub main::database_becomes {
    my ($want) = @_;
    return poll_until(15, sub {
        my ($s, $h, $b) = http_get(Test::Nginx::Socket::server_port(),
                                   '/api/1/health/status');
        return $b =~ /"database":"$want"/;
    }) ? "database $want" : "database never $want";
}

repeat_each(1);

plan tests => repeat_each() * 51;

our $HttpConfig = <<'CONF';
    jpulse_metrics_zone jpulse 1m;
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_T701_MONGO_PORT/t701
                   timeout=500ms ping_interval=100ms;
CONF

our $Config = <<'CONF';
    location /api/1/health/ { jpulse_health; }
    location = /m { jpulse_metrics; }
    location = /p { jpulse_metrics prometheus; }
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

=== TEST 1: connected: ready
--- wait_for_log
connected, database "t701"
--- request
GET /api/1/health/ready
--- response_body_like
"ready":true,"database":"connected"
--- no_error_log
[error]



=== TEST 2: status
--- request
GET /api/1/health/status
--- response_body_like
"database":"connected","redis":"not configured"



=== TEST 3: JSON metrics: the MongoDB component, the server's database
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.components.mongodb.status
    data.statistics.components.mongodb.stats.connected
    data.statistics.components.mongodb.stats.database
    data.statistics.components.mongodb.stats.errors
    data.servers.0.database.status
    data.servers.0.instances.0.database.status))
--- response_body
data.statistics.components.mongodb.status=ok
data.statistics.components.mongodb.stats.connected=true
data.statistics.components.mongodb.stats.database=t701
data.statistics.components.mongodb.stats.errors=0
data.servers.0.database.status=connected
data.servers.0.instances.0.database.status=connected



=== TEST 4: Prometheus: up, pings counted and timed, pool_max per worker
--- request
GET /p
--- response_body_like eval
qr/jpulse_dependency_up\{dependency="database"\} 1\n.*jpulse_mongodb_operations_total\{operation="ping",outcome="ok"\} [1-9]\d*\n.*jpulse_mongodb_operation_duration_seconds_bucket\{le="0\.001"\} \d+\n.*jpulse_mongodb_operation_duration_seconds_bucket\{le="5\.000"\} [1-9]\d*\n.*_bucket\{le="\+Inf"\} [1-9]\d*\n.*jpulse_mongodb_pending \d+\n.*jpulse_mongodb_pool_max (16|32)\n/s



=== TEST 5: promtool accepts the exposition with the MongoDB families
--- request
GET /p
--- response_body_filters eval
\&JPulseTest::promtool_check
--- response_body
promtool: ok



=== TEST 6: the server killed: disconnected, not ready, status still 200
--- pre_request
mongo_server_stop($main::M);
$main::Result = main::database_becomes('disconnected');
--- request eval
["GET /api/1/health/ready", "GET /api/1/health/status"]
--- error_code eval
[503, 200]
--- response_body_like eval
['"error":"Not ready: database"', '"database":"disconnected"']
--- error_log eval
qr/\[warn\] .*jpulse_mongodb 127\.0\.0\.1:\d+: unreachable: /



=== TEST 7: metrics while down, in both formats
--- request eval
["GET /p", "GET /m"]
--- response_body_like eval
[qr/jpulse_dependency_up\{dependency="database"\} 0\n/,
 qr/"mongodb":\{"component":"MongoDB","status":"error","initialized":true,"stats":\{"connected":false,/]



=== TEST 8: restarted: connected again by itself
--- pre_request
mongo_server_start($main::M);
$main::Result = main::database_becomes('connected');
--- request eval
["GET /api/1/health/ready", "GET /api/1/health/status"]
--- error_code eval
[200, 200]
--- response_body_like eval
['"ready":true,"database":"connected"', '"database":"connected"']
--- error_log eval
qr/\[notice\] .*jpulse_mongodb 127\.0\.0\.1:\d+: connected, database "t701"/



=== TEST 9: a paused server: health answers at once, many times, while
the pings wait on their threads; then it is down, and back after SIGCONT
--- pre_request
mongo_server_signal($main::M, 'STOP');
--- timeout: 2
--- request eval
[("GET /api/1/health/status") x 10]
--- error_code eval
[(200) x 10]
--- response_body_like eval
[('"database":"(dis)?connected"') x 10]



=== TEST 10: paused long enough: disconnected
--- pre_request
$main::Result = main::database_becomes('disconnected');
--- request
GET /api/1/health/ready
--- error_code: 503
--- response_body_like
"database":"disconnected"



=== TEST 11: resumed: connected
--- pre_request
mongo_server_signal($main::M, 'CONT');
$main::Result = main::database_becomes('connected');
--- request
GET /api/1/health/ready
--- response_body_like
"ready":true,"database":"connected"
--- no_error_log
[alert]
[crit]
