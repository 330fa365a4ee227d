# jpulse_require_role in an auth_request target whose location (or server)
# has "error_page 401 403 = /page": the subrequest's refusal went through
# that error_page, whose page answers 200, and auth_request took it for a
# pass (from a hostile review). The refusal now keeps nginx's own error
# page and its status.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest ();
use SessionTest ();
use Test::Nginx::Socket;

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;
our $Redis = { port => $ENV{TEST_NGINX_REDIS_PORT} };
our $NS = 't625:dev:';

SessionTest::put($Redis, $NS, 'plain-sid',
                 SessionTest::user_record(user => { roles => ['user'] }));
SessionTest::put($Redis, $NS, 'admin-sid',
                 SessionTest::user_record(user => { roles => ['admin'] }));

repeat_each(1);
plan tests => repeat_each() * 4;

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('wait_for_log', "command connection ready\n");
    $block->set_value('http_config', <<'CONF');
    jpulse_site_id t625;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
CONF
        $block->set_value('config', <<'CONF') unless defined $block->config;
    location = /auth {
        internal;
        jpulse_require_role admin;
        error_page 401 403 = /denied.html;
        return 204;
    }
    location = /denied.html { jpulse_session off; }
    location = /report {
        auth_request /auth;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        jpulse_session off;
        return 200 "secret report\n";
    }
CONF
    $block->set_value('user_files', ">>> denied.html\nno\n");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: anonymous, the auth target has an error_page for 401/403: must stay refused
--- request
GET /report
--- error_code: 401
--- response_body_unlike: secret report



=== TEST 2: signed in without the role: must stay refused
--- request
GET /report
--- more_headers eval
"Cookie: " . SessionTest::cookie('plain-sid')
--- error_code: 403
--- response_body_unlike: secret report
