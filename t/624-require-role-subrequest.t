# jpulse_require_role in subrequests (auth_request targets, SSI include
# virtual): nginx runs no access phase for them, so the role is checked
# in the rewrite phase, before the location's own rewrite directives
# ("return"), against the main request's session; refused, the
# subrequest answers a plain 401 or 403 (no redirect, no envelope) that
# auth_request passes on. From a hostile review: an auth_request target
# with jpulse_require_role let everyone through.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest ();
use SessionTest ();
use Test::Nginx::Socket;

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;
our $Redis = { port => $ENV{TEST_NGINX_REDIS_PORT} };
our $NS = 't624:dev:';

SessionTest::put($Redis, $NS, 'plain-sid',
                 SessionTest::user_record(user => { roles => ['user'] }));
SessionTest::put($Redis, $NS, 'admin-sid',
                 SessionTest::user_record(user => { roles => ['admin'] }));

repeat_each(1);
plan tests => repeat_each() * 13;

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('wait_for_log', "command connection ready\n");
    $block->set_value('http_config', <<'CONF');
    jpulse_site_id t624;
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
        return 204;
    }
    location = /auth-any {
        internal;
        satisfy any;
        allow all;
        jpulse_require_role admin;
        return 204;
    }
    location = /admin-panel.html { jpulse_require_role admin; }
    location = /page.html { ssi on; }
    # not "return": it answers in the rewrite phase, before auth_request
    location = /report {
        auth_request /auth;
        proxy_set_header X-User $jpulse_username;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /report-any {
        auth_request /auth-any;
        proxy_set_header X-User $jpulse_username;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /open {
        jpulse_session off;
        auth_request /auth;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend;
    }
    location = /backend {
        jpulse_session off;
        return 200 "secret report for [$http_x_user]\n";
    }
CONF
    $block->set_value('user_files', ">>> admin-panel.html\nADMIN ONLY\n>>> page.html\npublic <!--# include virtual=\"/admin-panel.html\" -->\n");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: anonymous: the auth_request target refuses
--- request
GET /report
--- error_code: 401



=== TEST 2: signed in without the role: refused
--- request
GET /report
--- more_headers eval
"Cookie: " . SessionTest::cookie('plain-sid')
--- error_code: 403



=== TEST 3: with the role: passes
--- request
GET /report
--- more_headers eval
"Cookie: " . SessionTest::cookie('admin-sid')
--- response_body
secret report for [jdoe]



=== TEST 4: an SSI include of a jpulse_require_role location, anonymous
--- request
GET /page.html
--- response_body_unlike: ADMIN ONLY



=== TEST 5: the same, an admin sees it
--- request
GET /page.html
--- more_headers eval
"Cookie: " . SessionTest::cookie('admin-sid')
--- response_body_like: ^public ADMIN ONLY



=== TEST 6: satisfy any has no alternative in a subrequest (nginx runs no
access module there): the role is required
--- request
GET /report-any
--- more_headers eval
"Cookie: " . SessionTest::cookie('plain-sid')
--- error_code: 403



=== TEST 7: the main request's location has sessions off: nobody is
signed in for its subrequests
--- request
GET /open
--- more_headers eval
"Cookie: " . SessionTest::cookie('admin-sid')
--- error_code: 401
--- error_log
jpulse_require_role: not signed in



=== TEST 8: the main request is checked once, in the access phase
--- config
    location = /admin-panel.html { jpulse_require_role admin; }
--- request
GET /admin-panel.html
--- error_code: 302
--- grep_error_log: jpulse_require_role: not signed in
--- grep_error_log_out
jpulse_require_role: not signed in
