# The $jpulse_user_id, $jpulse_username and $jpulse_user_roles variables
# go into request and response headers (proxy_set_header, add_header):
# a control byte (CR, LF, NUL, any below 0x20, DEL) in a session's
# user.id or username makes that variable not found (an empty header,
# which nginx does not send), logged at info; a role with a control byte
# or a comma (the variable is a comma list) is left out of the list, and
# of what jpulse_require_role and isAdmin see. From a hostile review:
# CR/LF in a username became an upstream header.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest ();
use SessionTest ();
use Test::Nginx::Socket;

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;
our $Redis = { port => $ENV{TEST_NGINX_REDIS_PORT} };
our $NS = 't623:dev:';

SessionTest::put($Redis, $NS, 'inject-sid',
                 SessionTest::user_record(user => {
                     username => "jdoe\r\nX-Injected: 1",
                     roles => ["user\r\nX-Role-Injected: admin"] }));
SessionTest::put($Redis, $NS, 'id-sid',
                 SessionTest::user_record(user => {
                     id => "64b7\nX-Injected: 1", username => "ok\x{7f}" }));
SessionTest::put($Redis, $NS, 'nul-sid',
                 SessionTest::user_record(user => {
                     username => "jdoe\x{0}admin", roles => ["admin\x{0}"] }));
SessionTest::put($Redis, $NS, 'comma-sid',
                 SessionTest::user_record(user => {
                     roles => ['user', 'editor,admin', "ad\tmin", 'editor'] }));
# the gate and the variable see the same roles: past the 64th, none
SessionTest::put($Redis, $NS, 'many-sid',
                 SessionTest::user_record(user => {
                     roles => [(map { "r$_" } 1 .. 64), 'admin'] }));
SessionTest::put($Redis, $NS, 'last-sid',
                 SessionTest::user_record(user => {
                     roles => [(map { "r$_" } 1 .. 63), 'admin'] }));
# written as jPulse writes it: UTF-8 (here escaped: \u00f6)
SessionTest::put($Redis, $NS, 'utf8-sid',
                 JSON::PP->new->canonical->ascii->encode(
                     SessionTest::user_record(user => {
                         username => "j\x{f6}rg", roles => ['user'] })));

repeat_each(1);
plan tests => repeat_each() * (blocks() * 2);

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('wait_for_log', "command connection ready\n");
    $block->set_value('http_config', <<'CONF') unless defined $block->http_config;
    jpulse_site_id t623;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
CONF
    $block->set_value('config', <<'CONF') unless defined $block->config;
    location = /proxied {
        proxy_set_header X-User $jpulse_username;
        proxy_set_header X-User-Id $jpulse_user_id;
        proxy_set_header X-Roles $jpulse_user_roles;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        jpulse_session off;
        return 200 "injected=[$http_x_injected] [$http_x_role_injected] user=[$http_x_user] id=[$http_x_user_id] roles=[$http_x_roles]\n";
    }
    location = /vars {
        add_header X-User $jpulse_username;
        return 200 "state=$jpulse_session_state user=[$jpulse_username] id=[$jpulse_user_id] roles=[$jpulse_user_roles]\n";
    }
    # not "return": it answers in the rewrite phase, before the gate
    location = /admin.html {
        jpulse_require_role admin;
    }
CONF
    $block->set_value('user_files', ">>> admin.html\nadmin\n");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a username and a role with CRLF become no upstream header
--- request
GET /proxied
--- more_headers eval
"Cookie: " . SessionTest::cookie('inject-sid')
--- response_body
injected=[] [] user=[] id=[64b7f0c2a1b2c3d4e5f60718] roles=[]



=== TEST 2: the same in add_header: no header at all; logged
--- request
GET /vars
--- more_headers eval
"Cookie: " . SessionTest::cookie('inject-sid')
--- response_headers
X-User:
X-Injected:
--- response_body
state=user user=[] id=[64b7f0c2a1b2c3d4e5f60718] roles=[]
--- error_log
left out of the $jpulse_* variables: user.username user.roles



=== TEST 3: LF in user.id, DEL in the username
--- request
GET /proxied
--- more_headers eval
"Cookie: " . SessionTest::cookie('id-sid')
--- response_body
injected=[] [] user=[] id=[] roles=[user,admin]



=== TEST 4: NUL in the username and a role: neither shows, no admin
--- request
GET /admin.html
--- more_headers eval
"Cookie: " . SessionTest::cookie('nul-sid')
--- error_code: 302



=== TEST 5: a role with a comma or a tab is left out of the list
--- request
GET /vars
--- more_headers eval
"Cookie: " . SessionTest::cookie('comma-sid')
--- response_body
state=user user=[jdoe] id=[64b7f0c2a1b2c3d4e5f60718] roles=[user,editor]



=== TEST 6: nor is "editor,admin" an admin to the gate
--- request
GET /admin.html
--- more_headers eval
"Cookie: " . SessionTest::cookie('comma-sid')
--- error_code: 302



=== TEST 7: the 65th role is neither in the list nor seen by the gate
--- request
GET /admin.html
--- more_headers eval
"Cookie: " . SessionTest::cookie('many-sid')
--- error_code: 302



=== TEST 8: the gate passes the 64th role
--- request
GET /admin.html
--- more_headers eval
"Cookie: " . SessionTest::cookie('last-sid')
--- response_body
admin



=== TEST 9: UTF-8 passes untouched
--- request
GET /proxied
--- more_headers eval
"Cookie: " . SessionTest::cookie('utf8-sid')
--- response_body
injected=[] [] user=[jörg] id=[64b7f0c2a1b2c3d4e5f60718] roles=[user]
