# Redis goes away and comes back under a running nginx: health follows,
# nothing hangs, the connections come back by themselves (within 2 s) and
# are counted as reconnects. One nginx serves every block
# (TEST_NGINX_FORCE_RESTART_ON_TEST=0 keeps it while the config is the same).
use lib 't/lib';
use JPulseTest qw(redis_start redis_stop redis_cli);
use Test::Nginx::Socket;

our $Redis = redis_start();

$ENV{TEST_NGINX_OUTAGE_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

# valgrind runs restart nginx for every block
plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3 + 4);

# every block runs on the same configuration (one nginx serves them all)
our $HttpConfig = <<'CONF';
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_OUTAGE_REDIS_PORT
                 command_timeout=300ms ping_interval=100ms;
CONF

our $Config = <<'CONF';
    location /api/1/health/ { jpulse_health; }
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

=== TEST 1: connected
--- wait_for_log
command connection ready
pub/sub connection ready
--- request
GET /api/1/health/ready
--- response_body_like
"redis":"connected"
--- no_error_log
[error]



=== TEST 2: Redis killed: not ready at once, status still 200
--- pre_request
JPulseTest::redis_stop($main::Redis);
Time::HiRes::sleep(0.3);
--- timeout: 1
--- request eval
["GET /api/1/health/ready", "GET /api/1/health/status"]
--- error_code eval
[503, 200]
--- response_body_like eval
['"error":"Not ready: redis"', '"redis":"disconnected"']
--- error_log eval
# a killed server closes or resets, depending on what was in flight
[qr/command connection lost: (Server closed the connection|Connection reset by peer)/,
 qr/pub\/sub connection lost: (Server closed the connection|Connection reset by peer)/]



=== TEST 3: Redis back: ready again within 2 s
--- pre_request
JPulseTest::redis_start($main::Redis);
Time::HiRes::sleep(2);
--- request
GET /api/1/health/ready
--- response_body_like
"ready":true,"database":"not configured","redis":"connected"
--- error_log
command connection restored
pub/sub connection restored



=== TEST 4: both reconnects are counted
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.components.redis.status
    data.statistics.components.redis.stats.reconnects))
--- response_body
data.statistics.components.redis.status=ok
data.statistics.components.redis.stats.reconnects=2
--- no_error_log
[error]



=== TEST 5: CLIENT PAUSE past command_timeout: the stuck connection is
recycled, requests never wait, and it recovers when the pause ends
--- pre_request
JPulseTest::redis_cli($main::Redis, 'CLIENT', 'PAUSE', '1500');
Time::HiRes::sleep(0.8);
--- timeout: 1
--- request
GET /api/1/health/ready
--- error_code: 503
--- response_body_like
"redis":"disconnected"
--- error_log
command connection lost: command timed out



=== TEST 6: after the pause
--- pre_request
Time::HiRes::sleep(2);
--- request
GET /api/1/health/ready
--- response_body_like
"redis":"connected"
--- error_log
command connection restored
