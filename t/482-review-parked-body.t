# Review of issue 10, items 1 and 11: a request parked on Redis while
# nginx is still discarding its body. ngx_http_discard_request_body()
# leaves r->read_event_handler = ngx_http_discarded_request_body_handler
# when the body has not all arrived; parking (l2.c ngx_http_jpulse_l2_fetch,
# redis.c ngx_http_jpulse_redis_request) then overwrites it with
# ngx_http_test_reading, so the rest of the body is no longer read while
# the request waits. A GET with a body is legal (RFC 9110: no meaning, but
# allowed, and the render handler accepts it); so is a slow client.
#
# A proxy delays every Redis reply by 1 s so that the first request is
# parked on the index fetch when the rest of its body and the next
# pipelined request arrive. Both must be answered, on one connection.
#
# What happened before the fix: the discard finishes during the first wait, but the
# lingering_timeout timer nginx armed for it stays set; it fires during the
# second wait (i18n fetch) into ngx_http_test_reading, which leaves
# rev->timedout set; after the response ngx_http_keepalive_handler sees
# it and closes the connection with the pipelined request unread (RST).
# The same holds for any body-carrying request parked longer than
# lingering_timeout (default 5 s) on Redis.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis, delay => 1);
our $Dir = File::Temp::tempdir('jpulse-t482-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;
JPulseTest::view_tree("$Dir/view", { 'home/index.shtml' => "<p>home</p>\n" });

$ENV{TEST_NGINX_T482_PROXY_PORT} = $Proxy->{port};
$ENV{TEST_NGINX_T482_DIR} = $Dir;

plan skip_all => 'timing of a slow client' if $ENV{TEST_NGINX_USE_VALGRIND};

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id t482;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T482_PROXY_PORT
                 command_timeout=10s ping_interval=60s;
    jpulse_heartbeat off;
    jpulse_view_roots $TEST_NGINX_T482_DIR/view;
CONF
    $block->set_value('config', <<'CONF');
    lingering_timeout 2s;
    location / { jpulse_render; }
CONF
    $block->set_value('wait_for_log', <<'LOG');
command connection ready
pub/sub connection ready
LOG
});

repeat_each(1);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the rest of a body that arrives while parked, then a pipelined request
--- raw_request eval
["GET /home/ HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n12345",
 "67890GET /home/ HTTP/1.1\r\nHost: localhost\r\n\r\n"]
--- raw_request_middle_delay: 0.3
--- timeout: 8
--- error_code eval
[200, 200]
--- response_body eval
["<p>home</p>\n", "<p>home</p>\n"]
--- no_error_log
[error]
[alert]
