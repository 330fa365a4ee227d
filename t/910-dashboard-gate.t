# jpulse_dashboard's gate: admins only, through the session roles (the
# /admin/ gate's notion of admin: siteConfig's general.adminRoles, else
# admin and root). Anonymous visitors get the redirect jPulse's admin
# pages give (code 401); a signed-in user without an admin role a 403; a
# location without sessions lets nobody in. The assets are gated too.
# Every block runs its requests on keep-alive connections.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use GatesTest ();
use DashboardTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our %C = GatesTest::cast($Redis, $DashboardTest::NS,
    root => { id => '65a1f0c2e4b0a1b2c3d4e5fb', username => 'rooty',
              firstName => 'Root', lastName => 'User', nickName => 'Root',
              initials => 'RU', roles => ['root'] },
    boss => { id => '65a1f0c2e4b0a1b2c3d4e5fc', username => 'boss',
              firstName => 'Big', lastName => 'Boss', nickName => 'Boss',
              initials => 'BB', roles => ['boss'] });

our $Login = '/error/index.shtml?msg=Authentication%20required&code=401';

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config',
                      DashboardTest::http_config($Redis->{port}))
        unless defined $block->http_config;
    $block->set_value('config', <<'CONF') unless defined $block->config;
    location = /admin/dashboard { jpulse_dashboard; }
    location = /api/1/health/metrics { jpulse_metrics; }
    location = /nosess {
        jpulse_session off;
        jpulse_dashboard;
    }
CONF
    $block->set_value('wait_for_log', "command connection ready\n");
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]")
        unless defined $block->no_error_log;
});

plan tests => repeat_each() * 70;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: anonymous: jPulse's admin redirect, page and assets alike
--- pipelined_requests eval
["GET /admin/dashboard", "GET /admin/dashboard?asset=js",
 "GET /admin/dashboard?asset=css"]
--- error_code eval
[302, 302, 302]
--- response_headers eval
["Location: $main::Login", "Location: $main::Login",
 "Location: $main::Login"]



=== TEST 2: a signed-in user who is no admin: 403, page and assets
--- pipelined_requests eval
["GET /admin/dashboard", "GET /admin/dashboard?asset=js"]
--- more_headers eval
"Cookie: $main::C{bob}"
--- error_code eval
[403, 403]



=== TEST 3: an admin (admin, then root): the page, text/html, with its CSP
--- request eval
["GET /admin/dashboard", "GET /admin/dashboard"]
--- more_headers eval
["Cookie: $main::C{ada}", "Cookie: $main::C{root}"]
--- error_code eval
[200, 200]
--- response_headers eval
["Content-Type: text/html; charset=utf-8
Cache-Control: no-store
X-Content-Type-Options: nosniff
Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
 "Content-Type: text/html; charset=utf-8"]
--- response_body_like eval
[qr{<title>Cluster status: dash \(dev\)</title>.*<main id="jp-dash" data-metrics="/api/1/health/metrics" data-refresh="5"}s,
 qr{<h1>Cluster status}]



=== TEST 4: an admin gets the assets, with their types
--- pipelined_requests eval
["GET /admin/dashboard?asset=js", "GET /admin/dashboard?asset=css",
 "GET /admin/dashboard?asset=nope", "HEAD /admin/dashboard?asset=js"]
--- more_headers eval
"Cookie: $main::C{ada}"
--- error_code eval
[200, 200, 404, 200]
--- response_headers eval
["Content-Type: application/javascript; charset=utf-8",
 "Content-Type: text/css; charset=utf-8", "",
 "Content-Type: application/javascript; charset=utf-8"]
--- response_body_like eval
[qr{^/\*\n \* ngx_jpulse's cluster dashboard.*fetch\(metricsUri}s,
 qr{^/\* ngx_jpulse's cluster dashboard}, qr{404 Not Found}, qr{^$}]



=== TEST 5: siteConfig's adminRoles decide, as for /admin/: boss in, ada out
--- pre_request
JPulseTest::publish_config($main::Redis, $DashboardTest::NS,
    site => '{"general":{"roles":["user","admin","boss"],"adminRoles":["boss"]}}');
--- request eval
["GET /admin/dashboard", "GET /admin/dashboard"]
--- more_headers eval
["Cookie: $main::C{boss}", "Cookie: $main::C{ada}"]
--- error_code eval
[200, 403]
--- response_body_like eval
[qr{Cluster status}, qr{403 Forbidden}]



=== TEST 6: sessions off in the location: nobody is signed in there
--- pre_request
JPulseTest::publish_config($main::Redis, $DashboardTest::NS, site => '{}');
--- pipelined_requests eval
["GET /nosess", "GET /nosess?asset=js"]
--- more_headers eval
"Cookie: $main::C{ada}"
--- error_code eval
[302, 302]
--- response_headers eval
["Location: $main::Login", "Location: $main::Login"]



=== TEST 7: other methods: 405, the body read away (keep-alive goes on)
--- pipelined_requests eval
["POST /admin/dashboard\nhello=world&GET /x HTTP/1.1", "GET /admin/dashboard"]
--- more_headers eval
"Cookie: $main::C{ada}"
--- error_code eval
[405, 200]
--- response_headers eval
["Allow: GET, HEAD", "Content-Type: text/html; charset=utf-8"]



=== TEST 8: bad parameters fail nginx -t
--- config
    location = /d { jpulse_dashboard refresh=10ms; }
--- must_die
--- error_log
invalid jpulse_dashboard parameter "refresh=10ms"
--- no_error_log
[alert]



=== TEST 9: a metrics URI of another server is refused (the CSP allows none)
--- config
    location = /d { jpulse_dashboard metrics=//evil.example/m; }
--- must_die
--- error_log
invalid jpulse_dashboard parameter "metrics=//evil.example/m"
--- no_error_log
[alert]



=== TEST 10: with jpulse_metrics in the same location: one handler only
--- config
    location = /d { jpulse_metrics; jpulse_dashboard; }
--- must_die
--- error_log
"jpulse_dashboard" conflicts with "jpulse_metrics" in this location
--- no_error_log
[alert]
