# jpulse_render and the request path (issue 10, item 5). nginx gives
# r->uri decoded and normalized once: it is matched as it is, never
# decoded again ("100%.shtml" is requested as "/100%25.shtml", and
# "/a%2541.shtml" is the file "a%41.shtml", not "aA.shtml"). Dot-files
# and dot-directories under the view roots (a checkout's .git, an .env)
# are refused like a miss, as pages, raw files and directory indexes.
# Includes keep jPulse's rule (no "..", no absolute path): a template may
# include what its author chose.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

our $HttpConfig = <<'CONF';
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v $TEST_NGINX_HTML_DIR/fw;
CONF

our $Config = <<'CONF';
    location / { jpulse_render; }
CONF

our @Files = (
    ['v/100%.shtml', "HUNDRED {{url.pathname}}\n"],
    ['v/a%41.shtml', "LITERAL\n"],
    ['v/aA.shtml', "DECODED\n"],
    ['v/%2e%2e/x.shtml', "DOTS-DIR\n"],
    ['v/sp ace.shtml', "SPACE\n"],
    ['v/.env', "SECRET-ENV {{x}}\n"],
    ['v/.htpasswd', "SECRET-HTPASSWD\n"],
    ['v/.git/config', "SECRET-GIT\n"],
    ['v/.git/x.shtml', "SECRET-GIT-PAGE\n"],
    ['v/x/.hidden/a.shtml', "SECRET-HIDDEN\n"],
    ['v/x/.hidden/index.shtml', "SECRET-HIDDEN-INDEX\n"],
    ['fw/.well-known/data.json', '{"secret":1}'],
    ['v/img/.logo.png', "SECRET-PNG"],
    ['v/x/.dot.shtml', "SECRET-DOT\n"],
    ['v/x/dot.shtml', "NOT-SECRET\n"],
    ['v/x/a.b.shtml', "DOTS-INSIDE\n"],
    ['v/inc/index.shtml', "[{{file.include \"inc/.part.tmpl\"}}]\n"],
    ['v/inc/.part.tmpl', "PART"],
    ['fw/error/index.shtml', "E{{url.param.code}} {{url.param.msg}}\n"],
);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('user_files', \@Files)
        unless defined $block->user_files;
    $block->set_value('no_error_log', "[error]\n[alert]")
        unless defined $block->no_error_log;
});

repeat_each(1);

# per block: 2 per request and the default no_error_log (2), TEST 2: 3
plan tests => repeat_each() * (14 + 3 + 22 + 4 + 4 + 10 + 14);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the URI is decoded once, by nginx
--- request eval
["GET /100%25.shtml", "GET /a%2541.shtml", "GET /aA.shtml",
 "GET /%252e%252e/x.shtml", "GET /sp%20ace.shtml", "GET /x/a.b.shtml"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_body eval
["HUNDRED /100%25.shtml\n", "LITERAL\n", "DECODED\n", "DOTS-DIR\n", "SPACE\n",
 "DOTS-INSIDE\n"]



=== TEST 2: a "%" that does not start an escape is a file name like any other
--- request
GET /100%.shtml
--- error_code: 400
--- response_body_like
400 Bad Request
--- no_error_log
[alert]



=== TEST 3: dot-files and dot-directories are refused like a miss (one segment: jPulse's not-found redirect, as for any "/x" that is no view)
--- request eval
["GET /.env", "GET /.htpasswd", "GET /.git/config", "GET /.git/x.shtml",
 "GET /x/.hidden/a.shtml", "GET /x/.hidden/", "GET /x/.hidden",
 "GET /.well-known/data.json", "GET /img/.logo.png", "GET /x/.dot.shtml"]
--- error_code eval
[302, 302, (404) x 8]
--- response_body eval
["Found. Redirecting to /error/index.shtml?msg=Page%20not%20found%3A%20%2F.env&code=404",
 "Found. Redirecting to /error/index.shtml?msg=Page%20not%20found%3A%20%2F.htpasswd&code=404",
 "E404 Page not found: /.git/config\n", "E404 Page not found: /.git/x.shtml\n",
 "E404 Page not found: /x/.hidden/a.shtml\n", "E404 Page not found: /x/.hidden/\n",
 "E404 Page not found: /x/.hidden\n", "E404 Page not found: /.well-known/data.json\n",
 "E404 Page not found: /img/.logo.png\n", "E404 Page not found: /x/.dot.shtml\n"]



=== TEST 4: ... also when encoded (the message names the path as sent, as jPulse's req.path)
--- request
GET /%2egit/x.shtml
--- error_code: 404
--- response_body
E404 Page not found: /%2egit/x.shtml



=== TEST 5: a dot inside a name is fine
--- request
GET /x/dot.shtml
--- response_body
NOT-SECRET



=== TEST 6: HEAD and a query string change nothing
--- request eval
["HEAD /.env", "GET /.env?a=1", "HEAD /100%25.shtml", "GET /100%25.shtml?a=1"]
--- error_code eval
[302, 302, 200, 200]
--- response_body eval
["", "Found. Redirecting to /error/index.shtml?msg=Page%20not%20found%3A%20%2F.env%3Fa%3D1&code=404", "", "HUNDRED /100%25.shtml\n"]



=== TEST 7: includes keep jPulse's jail: a template may include a dot-file its author chose
--- request eval
["GET /inc/", "GET /inc/.part.tmpl", "GET /inc/%2epart.tmpl", "GET /./inc/", "GET /x/../inc/", "GET //inc/"]
--- error_code eval
[200, 404, 404, 200, 200, 200]
--- response_body eval
["[PART]\n", "E404 Page not found: /inc/.part.tmpl\n", "E404 Page not found: /inc/%2epart.tmpl\n",
 "[PART]\n", "[PART]\n", "[PART]\n"]
