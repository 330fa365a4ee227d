# jpulse_require_role (issue 14): the access phase refuses, as jPulse's
# AuthController.requireAuthentication and requireRole do through
# CommonUtils.sendError: a URI that starts with /api/ gets the error
# envelope, 401 UNAUTHORIZED "Authentication required" or 403
# INSUFFICIENT_PRIVILEGES "Insufficient privileges. Required roles: <the
# roles as listed>"; any other path Express's 302 to
# /error/index.shtml?msg=...&code=401|403 (jPulse sends nobody to its
# login page). In front of proxy_pass; inherited, cancelled by "off";
# after nginx's allow/deny, and one alternative under "satisfy any". A
# refused POST's body is discarded: the next request on the connection
# is answered.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use GatesTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'gates:dev:';
our %C = GatesTest::cast($Redis, $NS);

# a session in Redis whose user is not signed in (jPulse: anonymous)
GatesTest::put_session($Redis, $NS, 'halfway-session-id-0123456789abc',
    GatesTest::session_json(%{ $GatesTest::Users{ada} },
                            isAuthenticated => 'false'));
$C{halfway} = GatesTest::cookie('halfway-session-id-0123456789abc');

# Ada's session id signed with another secret
$C{forged} = GatesTest::cookie(substr("ada-session-id-0123456789abcdefghij",
                                      0, 32), 'not-the-secret');

$ENV{TEST_NGINX_T620_REDIS_PORT} = $Redis->{port};

our $Auth401 = '/error/index.shtml?msg=Authentication%20required&code=401';
our $Env401 = '{"success":false,"error":"Authentication required",'
    . '"path":"%s","code":"UNAUTHORIZED"}';
our $Env403 = '{"success":false,"error":"Insufficient privileges. '
    . 'Required roles: editor, admin","path":"%s",'
    . '"code":"INSUFFICIENT_PRIVILEGES"}';

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless defined $block->http_config;
    jpulse_site_id gates;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T620_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret gates-secret-of-the-tests;
CONF
    $block->set_value('config', <<'CONF') unless defined $block->config;
    location /api/1/ {
        jpulse_require_role editor admin;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }
    location /members/ {
        jpulse_require_role authenticated;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;

        location /members/open/ {
            jpulse_require_role off;
            proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        }

        location /members/admin/ {
            jpulse_require_role admin;
            proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
        }
    }
    location /backend/ {
        return 200 "backend $request_uri\n";
    }
CONF
    $block->set_value('wait_for_log', "command connection ready\n")
        unless defined $block->wait_for_log || defined $block->must_die;
    $block->set_value('no_error_log', "[error]\n[alert]")
        unless defined $block->no_error_log || defined $block->error_log;
});

plan tests => repeat_each() * 99;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an API path: anonymous, a forged cookie and a session not signed in get 401 UNAUTHORIZED in jPulse's envelope; the path is the URI as sent
--- request eval
["GET /api/1/x?y=1", "GET /api/1/x", "GET /api/1/x", "GET /api/1/x"]
--- more_headers eval
["", "Cookie: $main::C{forged}", "Cookie: $main::C{halfway}",
 "Cookie: a=1; $main::C{bob}x"]
--- error_code eval
[401, 401, 401, 401]
--- response_headers eval
["Content-Type: application/json; charset=utf-8\n!WWW-Authenticate",
 "Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8",
 "Content-Type: application/json; charset=utf-8"]
--- response_body eval
[sprintf($main::Env401, '/api/1/x?y=1'), sprintf($main::Env401, '/api/1/x'),
 sprintf($main::Env401, '/api/1/x'), sprintf($main::Env401, '/api/1/x')]



=== TEST 2: an API path: a signed-in user without the roles gets 403 INSUFFICIENT_PRIVILEGES listing them as the directive does; an editor or an admin reaches the upstream
--- request eval
["GET /api/1/items", "GET /api/1/items?a=b", "GET /api/1/items"]
--- more_headers eval
["Cookie: $main::C{bob}", "Cookie: $main::C{eve}", "Cookie: $main::C{ada}"]
--- error_code eval
[403, 200, 200]
--- response_body eval
[sprintf($main::Env403, '/api/1/items'), "backend /backend/items?a=b\n",
 "backend /backend/items\n"]



=== TEST 3: a page path: jPulse's redirects to the error page, 401 then 403 with the roles; the admin passes; HEAD has no body
--- request eval
["GET /members/admin/report.html", "GET /members/admin/report.html",
 "GET /members/admin/report.html", "HEAD /members/admin/report.html"]
--- more_headers eval
["Accept: text/html", "Cookie: $main::C{bob}", "Cookie: $main::C{ada}", ""]
--- error_code eval
[302, 302, 200, 302]
--- response_headers eval
["Location: $main::Auth401\nVary: Accept\nContent-Type: text/html; charset=utf-8",
 "Location: /error/index.shtml?msg=Insufficient%20privileges.%20Required%20roles%3A%20admin&code=403",
 "!Location",
 "Location: $main::Auth401"]
--- response_body eval
["<p>Found. Redirecting to /error/index.shtml?msg=Authentication%20required&amp;code=401</p>",
 "Found. Redirecting to /error/index.shtml?msg=Insufficient%20privileges.%20Required%20roles%3A%20admin&code=403",
 "backend /backend/report.html\n", ""]



=== TEST 4: authenticated: any signed-in user; "off" in an inner location cancels what it inherits
--- request eval
["GET /members/home", "GET /members/home", "GET /members/open/x", "GET /members/open/x"]
--- more_headers eval
["", "Cookie: $main::C{bob}", "", "Cookie: $main::C{bob}"]
--- error_code eval
[302, 200, 200, 200]
--- response_headers eval
["Location: $main::Auth401", "!Location", "!Location", "!Location"]
--- response_body eval
["Found. Redirecting to $main::Auth401", "backend /backend/home\n",
 "backend /backend/x\n", "backend /backend/x\n"]



=== TEST 5: a refused POST with a body, and a pipelined request after it on the same connection: both answered
--- pipelined_requests eval
["POST /api/1/items\n" . ('x' x 3000), "GET /api/1/items"]
--- more_headers eval
["Cookie: $main::C{bob}", "Cookie: $main::C{eve}"]
--- error_code eval
[403, 200]
--- response_body eval
[sprintf($main::Env403, '/api/1/items'), "backend /backend/items\n"]



=== TEST 6: inherited from the server level; "satisfy any" with allow: the address passes without a session; "satisfy all" (the default) with deny: nginx's 403 before any role is looked at
--- config
    jpulse_require_role admin;

    location /any/ {
        satisfy any;
        allow 127.0.0.1;
        deny all;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }
    location /denied/ {
        deny all;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }
    location /inherited/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }
    location /backend/ {
        jpulse_require_role off;
        return 200 "backend $request_uri\n";
    }
--- request eval
["GET /any/a", "GET /denied/a", "GET /inherited/a", "GET /inherited/a"]
--- more_headers eval
["", "Cookie: $main::C{ada}", "", "Cookie: $main::C{ada}"]
--- error_code eval
[200, 403, 302, 200]
--- response_body_like eval
["^backend /backend/a\n\\z", "<title>403 Forbidden</title>",
 "^Found. Redirecting to /error/index.shtml\\?msg=Authentication%20required&code=401\\z",
 "^backend /backend/a\n\\z"]
--- no_error_log
[alert]



=== TEST 7: "satisfy any" with auth_basic: no credentials and no session: auth_basic's challenge stands; a wrong address and no role: jPulse's answer; the role alone passes
--- user_files
>>> htpasswd
keeper:{PLAIN}lighthouse
--- config
    location /basic/ {
        satisfy any;
        auth_basic "harbour";
        auth_basic_user_file htpasswd;
        jpulse_require_role admin;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }
    location /api/1/ {
        satisfy any;
        allow 10.0.0.1;
        deny all;
        jpulse_require_role admin;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }
    location /backend/ {
        return 200 "backend $request_uri\n";
    }
--- request eval
["GET /basic/b", "GET /basic/b", "GET /api/1/c", "GET /api/1/c"]
--- more_headers eval
["", "Cookie: $main::C{ada}", "Cookie: $main::C{bob}", "Cookie: $main::C{ada}"]
--- error_code eval
[401, 200, 403, 200]
--- response_headers eval
['WWW-Authenticate: Basic realm="harbour"', "", "Content-Type: application/json; charset=utf-8", ""]
--- response_body_like eval
["401 Authorization Required", "^backend /backend/b\n\\z",
 '^\{"success":false,"error":"Insufficient privileges\. Required roles: admin","path":"/api/1/c","code":"INSUFFICIENT_PRIVILEGES"\}\z',
 "^backend /backend/c\n\\z"]
--- no_error_log
[alert]



=== TEST 8: a location without sessions: nobody is signed in (it fails closed); _public lets anonymous visitors in
--- config
    location /nosession/ {
        jpulse_session off;
        jpulse_require_role authenticated;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }
    location /public/ {
        jpulse_require_role _public editor;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/backend/;
    }
    location /backend/ {
        return 200 "backend $request_uri\n";
    }
--- request eval
["GET /nosession/a", "GET /public/a", "GET /public/a", "GET /public/a"]
--- more_headers eval
["Cookie: $main::C{ada}", "", "Cookie: $main::C{eve}", "Cookie: $main::C{bob}"]
--- error_code eval
[302, 200, 200, 302]
--- response_headers eval
["Location: $main::Auth401", "!Location", "!Location",
 "Location: /error/index.shtml?msg=Insufficient%20privileges.%20Required%20roles%3A%20_public%2C%20editor&code=403"]



=== TEST 9: "authenticated" and "off" stand alone
--- config
    location / { jpulse_require_role admin authenticated; }
--- must_die
--- error_log
invalid role "authenticated" ("off" and "authenticated" stand alone)



=== TEST 10: one jpulse_require_role per level
--- config
    location / { jpulse_require_role admin; jpulse_require_role root; }
--- must_die
--- error_log
"jpulse_require_role" directive is duplicate



=== TEST 11: Redis unreachable: the session is an error, so anonymous: the gate refuses with 401, never a 500
--- http_config
    jpulse_site_id gates;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:1 connect_timeout=200ms command_timeout=200ms;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret gates-secret-of-the-tests;
--- wait_for_log
--- request eval
["GET /api/1/items", "GET /members/x"]
--- more_headers eval
["Cookie: $main::C{ada}", "Cookie: $main::C{ada}"]
--- error_code eval
[401, 302]
--- response_body eval
[sprintf($main::Env401, '/api/1/items'), "Found. Redirecting to $main::Auth401"]
--- no_error_log
[alert]
[crit]
