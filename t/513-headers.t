# The headers of a rendered view as Express sends them: the type from
# jPulse's contentTypes map by the served file's extension (text/html
# when unlisted), with charset=utf-8 in place of the type's own; the weak
# ETag W/"<length hex>-<27 of base64(SHA-1(body))>" on every answer,
# kept pages and pages rendered per request alike, and a 304 for a
# matching If-None-Match on a 200 (never on the 404 page); no
# Last-Modified.
use strict;
use warnings;

use lib 't/lib';
use Digest::SHA ();
use Test::Nginx::Socket;

sub main::etag {
    return sprintf('W/"%x-%s"', length $_[0], Digest::SHA::sha1_base64($_[0]));
}

our $Page = "PAGE\n";
our $Url = "URL /u/?q=1\n";

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('http_config', <<'CONF') unless defined $block->http_config;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/h;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n")
        unless defined $block->config;
    $block->set_value('user_files', [
        ['h/p/index.shtml', $main::Page],
        ['h/u/index.shtml', "URL {{url.pathname}}{{url.search}}\n"],
        ['h/t/a.txt', "text {{x}}"],
        ['h/t/a.md', "md"],
        ['h/t/a.xml', "<x/>"],
        ['h/t/noext', "none"],
        ['h/t/a.svg', "<svg/>"],
        ['h/t/a.HTML', "upper"],
        ['h/error/index.shtml', "E{{url.param.code}}\n"],
        @{ $block->user_files || [] }]);
    $block->set_value('no_error_log', "[error]")
        unless defined $block->no_error_log || defined $block->error_log;
});

plan tests => repeat_each() * 57;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: jPulse's types: text/html for what its map does not list, charset=utf-8 on every rendered file
--- request eval
["GET /t/a.txt", "GET /t/a.md", "GET /t/a.xml", "GET /t/noext", "GET /t/a.svg", "GET /t/a.HTML"]
--- response_headers eval
["Content-Type: text/html; charset=utf-8", "Content-Type: text/html; charset=utf-8",
 "Content-Type: text/html; charset=utf-8", "Content-Type: text/html; charset=utf-8",
 "Content-Type: image/svg+xml; charset=utf-8", "Content-Type: text/html; charset=utf-8"]
--- response_body eval
["text ", "md", "<x/>", "none", "<svg/>", "upper"]



=== TEST 2: Express's weak ETag on a page, the same when it is served from the kept copy; 304 on If-None-Match (weak or not, in a list, or *)
--- request eval
["GET /p/", "GET /p/", "GET /p/", "GET /p/", "GET /p/", "HEAD /p/", "GET /p/"]
--- more_headers eval
["", "", "If-None-Match: " . main::etag($main::Page),
 "If-None-Match: \"x\", " . main::etag($main::Page),
 "If-None-Match: *", "If-None-Match: " . main::etag($main::Page),
 "If-None-Match: W/\"5-nope\""]
--- error_code eval
[200, 200, 304, 304, 304, 304, 200]
--- response_headers eval
["ETag: " . main::etag($main::Page) . "\n!Last-Modified\nCache-Control: no-cache",
 "ETag: " . main::etag($main::Page),
 "ETag: " . main::etag($main::Page),
 "", "", "", ""]
--- response_body eval
[$main::Page, $main::Page, "", "", "", "", $main::Page]



=== TEST 3: a page rendered per request (it reads the URL) gets its ETag too; the 404 page has one but is never a 304
--- request eval
["GET /u/?q=1", "GET /u/?q=1", "GET /nope/", "GET /nope/"]
--- more_headers eval
["", "If-None-Match: " . main::etag($main::Url), "",
 "If-None-Match: " . main::etag("E404\n")]
--- error_code eval
[200, 304, 404, 404]
--- response_headers eval
["ETag: " . main::etag($main::Url), "", "ETag: " . main::etag("E404\n"), ""]
--- response_body eval
[$main::Url, "", "E404\n", "E404\n"]



=== TEST 4: an empty page: Express's ETag of nothing
--- user_files eval
[["h/e/index.shtml", ""]]
--- request
GET /e/
--- response_headers
ETag: W/"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"
Content-Length: 0



=== TEST 5: etag off: none
--- config
    location / { jpulse_render; etag off; }
--- request
GET /p/
--- response_headers
!ETag
