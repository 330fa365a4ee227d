# jPulse's access rule on views and its redirects. Any GET or HEAD under
# /admin/ (existing or not, any depth) is a 302 to the error page with
# code 401 and the translated controller.auth.authenticationRequired for
# an anonymous visitor (every visitor, until sessions are read here),
# never the page. Redirects are Express's: "302 Found", a relative
# Location encoded by encodeurl(), Vary: Accept, and a body in the type
# Accept negotiates between text/plain and text/html (none: no body).
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

our $Auth401 = '/error/index.shtml?msg=Authentication%20required&code=401';

our @Site = (
    ['v/admin/index.shtml', "ADMIN-SECRET\n"],
    ['v/admin/users.shtml', "USERS-SECRET\n"],
    ['v/admin/logo.png', "PNG-SECRET"],
    ['v/admin/x/deep.tmpl', "DEEP-SECRET\n"],
    ['v/home/index.shtml', "HOME\n"],
    ['v/error/index.shtml', "E{{url.param.code}} {{url.param.msg}}\n"],
    ['i18n/en.json', '{"x":"y"}'],
    ['i18n/de.json', '{"controller":{"auth":{"authenticationRequired":"Anmeldung erforderlich"},'
                     . '"view":{"pageNotFoundError":"Seite nicht gefunden: {{path}} ({{path}})"}}}'],
);

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('user_files', [@Site, @{ $block->user_files || [] }]);
    $block->set_value('http_config', <<'CONF') unless defined $block->http_config;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
    jpulse_i18n_dir $TEST_NGINX_HTML_DIR/i18n;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n")
        unless defined $block->config;
    $block->set_value('no_error_log', "[error]")
        unless defined $block->no_error_log || defined $block->error_log;
});

plan tests => repeat_each() * 77;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: /admin/ pages, existing or not, raw files and includes too: the 401 redirect, never the content
--- request eval
["GET /admin/", "GET /admin/users.shtml", "GET /admin/logo.png", "GET /admin/x/deep.tmpl",
 "GET /admin/nope.shtml", "HEAD /admin/users.shtml"]
--- error_code eval
[302, 302, 302, 302, 302, 302]
--- response_headers eval
["Location: $main::Auth401\nVary: Accept\nContent-Type: text/plain; charset=utf-8\n!ETag\n!Last-Modified",
 "Location: $main::Auth401", "Location: $main::Auth401", "Location: $main::Auth401",
 "Location: $main::Auth401",
 "Location: $main::Auth401\nContent-Length: " . length("Found. Redirecting to $main::Auth401")]
--- response_body eval
["Found. Redirecting to $main::Auth401", "Found. Redirecting to $main::Auth401",
 "Found. Redirecting to $main::Auth401", "Found. Redirecting to $main::Auth401",
 "Found. Redirecting to $main::Auth401", ""]
--- response_body_unlike eval
["SECRET", "SECRET", "SECRET", "SECRET", "SECRET", "SECRET"]



=== TEST 2: the message in the site's language; /admin without a slash is the plain not-found redirect
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
    jpulse_i18n_dir $TEST_NGINX_HTML_DIR/i18n;
    jpulse_config $TEST_NGINX_HTML_DIR/de.json;
--- user_files eval
[["de.json", '{"utils":{"i18n":{"default":"de"}}}']]
--- request eval
["GET /admin/users.shtml", "GET /admin", "GET /nope/"]
--- error_code eval
[302, 302, 404]
--- response_headers eval
["Location: /error/index.shtml?msg=Anmeldung%20erforderlich&code=401",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fadmin&code=404",
 "!Location"]
--- response_body eval
["Found. Redirecting to /error/index.shtml?msg=Anmeldung%20erforderlich&code=401",
 "Found. Redirecting to /error/index.shtml?msg=Page%20not%20found%3A%20%2Fadmin&code=404",
 "E404 Seite nicht gefunden: /nope/ (/nope/)\n"]



=== TEST 3: the body follows Accept as Express negotiates it
--- request eval
["GET /admin/", "GET /admin/", "GET /admin/", "GET /admin/", "GET /admin/", "GET /admin/"]
--- more_headers eval
["Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
 "Accept: */*",
 "Accept: application/json",
 "Accept: text/plain;q=0.5, text/html;q=0.4",
 "Accept: text/*",
 "Accept: text/html;q=0"]
--- error_code eval
[302, 302, 302, 302, 302, 302]
--- response_headers eval
["Content-Type: text/html; charset=utf-8\nVary: Accept",
 "Content-Type: text/plain; charset=utf-8",
 "!Content-Type\nContent-Length: 0\nVary: Accept",
 "Content-Type: text/plain; charset=utf-8",
 "Content-Type: text/plain; charset=utf-8",
 "!Content-Type\nContent-Length: 0"]
--- response_body eval
["<p>Found. Redirecting to /error/index.shtml?msg=Authentication%20required&amp;code=401</p>",
 "Found. Redirecting to $main::Auth401", "",
 "Found. Redirecting to $main::Auth401", "Found. Redirecting to $main::Auth401", ""]



=== TEST 4: what the client sent is percent-encoded in the Location (encodeurl), valid escapes kept
--- request eval
["GET /?a=<b>&c=%41\"`{|}^", "GET /x?%zz=1"]
--- error_code eval
[302, 302]
--- response_headers eval
["Location: /home/?a=%3Cb%3E&c=%41%22%60%7B%7C%7D%5E",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fx%3F%25zz%3D1&code=404"]



=== TEST 5: a path that is a directory: jPulse reads it and fails, its 500 redirect; with a slash, its index (or the 404 page)
--- user_files eval
[["v/home/sub/a.txt", "A\n"]]
--- request eval
["GET /home/sub", "GET /home/sub/", "GET /home/sub/a.txt"]
--- error_code eval
[302, 404, 200]
--- response_headers eval
["Location: /error/index.shtml?msg=Internal%20server%20error%3A%20EISDIR%3A%20illegal%20operation%20on%20a%20directory%2C%20read&code=500",
 "!Location", ""]
--- response_body eval
["Found. Redirecting to /error/index.shtml?msg=Internal%20server%20error%3A%20EISDIR%3A%20illegal%20operation%20on%20a%20directory%2C%20read&code=500",
 "E404 Page not found: /home/sub/\n", "A\n"]
