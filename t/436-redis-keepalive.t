# The keepalive of the pub/sub connection (issue 10, item 14): the
# command connection PUBLISHes on a private channel and the subscriber
# must hear the echo within command_timeout. Redis may deliver the echo
# before the PUBLISH's own reply; the deadline must then not wait for an
# echo that already came (the connection was recycled for nothing, a
# full resync). A proxy delays every reply on the command connection so
# that the echo always comes first.
use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis, delay => 0.05);

$ENV{TEST_NGINX_T436_PROXY_PORT} = $Proxy->{port};

repeat_each(1);

plan tests => repeat_each() * 4;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: echoes that come before the PUBLISH's reply keep the subscriber
Every keepalive (700ms) is echoed before its reply (50ms late): six of
them go by, each answered, and the subscriber is never recycled (before
the fix, the deadline armed by the reply fired 500ms later).
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T436_PROXY_PORT
                 command_timeout=500ms ping_interval=700ms;
--- config
    location = /m { jpulse_metrics; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
JPulseTest::poll_until(15, sub {
    JPulseTest::log_count(qr/keepalive not answered/)
        || JPulseTest::log_count(qr/pub\/sub: keepalive answered/) >= 6
});
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.components.redis.stats.connected
     data.statistics.components.redis.stats.reconnects))
--- response_body
data.statistics.components.redis.stats.connected=true
data.statistics.components.redis.stats.reconnects=0
--- no_error_log
keepalive not answered
[error]
