# Sessions at the edge: Redis down, paused or missing never fails a
# request: the session is "error" (anonymous), a warning is logged (at
# most one per 10 s per worker), and the metrics count it.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use SessionTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis);
our $NS = 't602:dev:';
our $Sid = 'ZmF1bHRzLXNpZC0wMTIzNDU2Nzg5YWJj';

SessionTest::put($Redis, $NS, $Sid, SessionTest::user_record());

$ENV{TEST_NGINX_T602_PROXY_PORT} = $Proxy->{port};
$ENV{TEST_NGINX_T602_COOKIE} = SessionTest::cookie($Sid);
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

repeat_each(1);

plan tests => repeat_each() * 31;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless $block->http_config;
    jpulse_site_id t602;
    jpulse_mode dev;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T602_PROXY_PORT
                 command_timeout=300ms ping_interval=60s;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
CONF
    $block->set_value('config', <<'CONF') unless $block->config;
    location = /s {
        return 200 "$jpulse_session_state $jpulse_username\n";
    }
    location = /m { jpulse_session off; jpulse_metrics; }
CONF
    $block->set_value('more_headers', "Cookie: $ENV{TEST_NGINX_T602_COOKIE}")
        unless defined $block->more_headers;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: Redis answers: the user
--- wait_for_log
command connection ready
pub/sub connection ready
--- request
GET /s
--- response_body
user jdoe
--- no_error_log
[warn]
[error]



=== TEST 2: the GET's reply held past the command timeout: error, a warning
--- pre_request
RedisProxy::hold($main::Proxy, 'GET');
--- request
GET /s
--- response_body
error 
--- error_log
jpulse session: no reply from Redis, the request goes on anonymous
--- no_error_log
[alert]
[crit]



=== TEST 3: Redis comes back: the user again
--- pre_request
RedisProxy::hold($main::Proxy, 0);
JPulseTest::poll_until(10, sub {
    my (undef, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, '/s',
        headers => "Cookie: $ENV{TEST_NGINX_T602_COOKIE}\r\n");
    $body eq "user jdoe\n" });
--- request
GET /s
--- response_body
user jdoe
--- no_error_log
[error]
[alert]



=== TEST 4: Redis paused (CLIENT PAUSE) past the command timeout: error, then back
--- pre_request
JPulseTest::redis_cli($main::Redis, 'CLIENT', 'PAUSE', 1500, 'ALL');
--- request
GET /s
--- response_body_filters eval
sub {
    my $back = JPulseTest::poll_until(15, sub {
        my (undef, undef, $body) = JPulseTest::http_get(
            $Test::Nginx::Socket::ServerPort, '/s',
            headers => "Cookie: $ENV{TEST_NGINX_T602_COOKIE}\r\n");
        $body eq "user jdoe\n" }, 0.2);
    $_[0] . ($back ? "back\n" : "never back\n") }
--- response_body
error 
back
--- no_error_log
[alert]
[crit]



=== TEST 5: Redis stopped: error at once, never a 500
--- pre_request
JPulseTest::redis_stop($main::Redis);
JPulseTest::poll_until(10, sub {
    my (undef, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, '/s',
        headers => "Cookie: $ENV{TEST_NGINX_T602_COOKIE}\r\n");
    $body eq "error \n" });
--- request eval
["GET /s", "GET /s"]
--- response_body eval
["error \n", "error \n"]
--- no_error_log
[alert]
[crit]



=== TEST 6: the metrics count the errors; a request without a cookie is none
--- request eval
["GET /s", "GET /m"]
--- more_headers eval
["", ""]
--- response_body_filters eval
[sub { $_[0] }, sub {
    my $s = JSON::PP->new->decode($_[0])->{data}{statistics}{components}{module}{stats};
    return CORE::join('', map { "$_=" . ($s->{$_} > 0 ? 'some' : 0) . "\n" }
        qw(session_loads_user session_loads_error session_redis_errors
           session_loads_none session_loads_invalid));
}]
--- response_body eval
["none \n", "session_loads_user=some
session_loads_error=some
session_redis_errors=some
session_loads_none=some
session_loads_invalid=0
"]



=== TEST 7: no jpulse_redis at all: error, a warning
--- http_config
    jpulse_site_id t602;
    jpulse_mode dev;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
--- request
GET /s
--- response_body
error 
--- error_log
jpulse session: Redis is not configured
--- no_error_log
[error]
