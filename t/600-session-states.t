# Sessions at the edge (issue 14): the state of a request's session for
# each kind of cookie and record, as the $jpulse_* variables and a page
# rendered by a content handler (jpulse_render's who(): the signed-in
# user's language and theme) see it. Records are written as connect-redis
# writes them, cookies signed as cookie-signature signs them.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest ();
use SessionTest ();
use Test::Nginx::Socket;

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;
our $Redis = { port => $ENV{TEST_NGINX_REDIS_PORT} };
our $NS = 't600:dev:';

SessionTest::put($Redis, $NS, 'uSeR-sid_0123456789abcdefghijklm',
                 SessionTest::user_record());
SessionTest::put($Redis, $NS, 'anon-sid',
                 SessionTest::user_record(
                     user => { isAuthenticated => JSON::PP::false }));
SessionTest::put($Redis, $NS, 'truthy-sid',
                 SessionTest::user_record(user => { isAuthenticated => 1 }));
SessionTest::put($Redis, $NS, 'nouser-sid',
                 SessionTest::user_record(no_user => 1));
SessionTest::put($Redis, $NS, 'array-sid', '[1,2,3]');
SessionTest::put($Redis, $NS, 'broken-sid', '{"user":');
SessionTest::put($Redis, $NS, 'huge-sid',
                 '{"user":{"isAuthenticated":true},"x":"'
                 . ('a' x 70000) . '"}');
SessionTest::put($Redis, $NS, 'odd-sid', SessionTest::user_record(user => {
    roles => ['user', 7, {}, 'editor', '', 'x' x 200, 'root'],
    id => 42, username => ['no'], preferences => 'none' }));
JPulseTest::redis_command($Redis, 'DEL', "${NS}sess:gone-sid");

$ENV{TEST_NGINX_T600_USER} = SessionTest::cookie('uSeR-sid_0123456789abcdefghijklm');

repeat_each(1);

plan tests => repeat_each() * (blocks() * 4 + 3);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless $block->http_config;
    jpulse_site_id t600;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
CONF
    $block->set_value('config', <<'CONF') unless $block->config;
    location = /s {
        return 200 "$jpulse_session_state $jpulse_authenticated [$jpulse_user_id] [$jpulse_username] [$jpulse_user_roles]\n";
    }
CONF
    $block->set_value('wait_for_log', <<'LOG');
command connection ready
pub/sub connection ready
LOG
    $block->set_value('no_error_log', "[error]\n[alert]\n")
        unless $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: no cookie: none
--- request
GET /s
--- response_body
none 0 [] [] []



=== TEST 2: a signed-in user
--- request
GET /s
--- more_headers eval
"Cookie: a=b; " . SessionTest::cookie('uSeR-sid_0123456789abcdefghijklm') . "; c=d"
--- response_body
user 1 [64b7f0c2a1b2c3d4e5f60718] [jdoe] [user,admin]



=== TEST 3: isAuthenticated false: anonymous
--- request
GET /s
--- more_headers eval
"Cookie: " . SessionTest::cookie('anon-sid')
--- response_body
anonymous 0 [] [] []



=== TEST 4: isAuthenticated 1 is not true: anonymous
--- request
GET /s
--- more_headers eval
"Cookie: " . SessionTest::cookie('truthy-sid')
--- response_body
anonymous 0 [] [] []



=== TEST 5: no user in the record: anonymous
--- request
GET /s
--- more_headers eval
"Cookie: " . SessionTest::cookie('nouser-sid')
--- response_body
anonymous 0 [] [] []



=== TEST 6: expired (the key is gone): anonymous
--- request
GET /s
--- more_headers eval
"Cookie: " . SessionTest::cookie('gone-sid')
--- response_body
anonymous 0 [] [] []



=== TEST 7: a signature made with another secret: invalid
--- request
GET /s
--- more_headers eval
"Cookie: " . SessionTest::cookie('uSeR-sid_0123456789abcdefghijklm', 'other')
--- response_body
invalid 0 [] [] []



=== TEST 8: a record that is JSON but no object: error, anonymous
--- request
GET /s
--- more_headers eval
"Cookie: " . SessionTest::cookie('array-sid')
--- response_body
error 0 [] [] []



=== TEST 9: a record that is no JSON: error, anonymous
--- request
GET /s
--- more_headers eval
"Cookie: " . SessionTest::cookie('broken-sid')
--- response_body
error 0 [] [] []



=== TEST 10: a record over 64 KB: refused, logged
--- request
GET /s
--- more_headers eval
"Cookie: " . SessionTest::cookie('huge-sid')
--- response_body
error 0 [] [] []
--- error_log
the session is larger than 64 KB, refused



=== TEST 11: fields of the wrong type are left out, roles filtered
--- request
GET /s
--- more_headers eval
"Cookie: " . SessionTest::cookie('odd-sid')
--- response_body
user 1 [] [] [user,editor,root]



=== TEST 12: a content handler sees the session: the user's language
--- config
    location / { jpulse_render; }
--- http_config
    jpulse_site_id t600;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
    jpulse_config $TEST_NGINX_HTML_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_HTML_DIR/i18n;
--- user_files eval
[["app.json", '{}'],
 ["i18n/en.json", '{"t":"Hello"}'],
 ["i18n/de.json", '{"t":"Hallo"}'],
 ["v/p/index.shtml", "<html {{appConfig.system.htmlAttrs}}>{{i18n.t}}\n"]]
--- request eval
["GET /p/", "GET /p/"]
--- more_headers eval
["", "Cookie: $ENV{TEST_NGINX_T600_USER}"]
--- response_body eval
["<html lang=\"en\" data-theme=\"light\">Hello\n",
 "<html lang=\"de\" data-theme=\"dark\">Hallo\n"]
