# Review of a46ace9 (raw files take ranges, an empty page is an empty last
# buffer): checks around it. Multipart ranges over the cached copy, the
# cached raw file intact after a range, an empty page as an SSI include
# (a subrequest: no last_buf), ranges not enabled on pages, an empty raw
# file with a range answered as nginx's static module answers it. These
# pass: the review found nothing wrong there.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
CONF
    $block->set_value('config', <<'CONF');
    jpulse_template_check_interval 1h;
    location / { jpulse_render; }
    location /s/ { ssi on; alias $TEST_NGINX_HTML_DIR/s/; }
    location /st/ { alias $TEST_NGINX_HTML_DIR/v/img/; }
CONF
    $block->set_value('user_files', <<'FILES');
>>> v/img/a.png
PNG-BYTES
>>> v/img/empty.png
>>> v/empty/index.shtml
>>> v/full/index.shtml
FULL-PAGE
>>> s/page.html
[<!--# include virtual="/empty/" -->]
FILES
    $block->set_value('no_error_log', "[error]\n[alert]");
});

run_tests();

__DATA__

=== TEST 1: a raw file, two ranges: multipart 206 with both
--- request
GET /img/a.png
--- more_headers
Range: bytes=0-2,4-8
--- error_code: 206
--- response_body_like
\r\nContent-Range: bytes 0-2/10\r\n\r\nPNG\r\n.*\r\nContent-Range: bytes 4-8/10\r\n\r\nBYTES\r\n



=== TEST 2: a range of the cached raw file again
--- request
GET /img/a.png
--- more_headers
Range: bytes=4-
--- error_code: 206
--- response_body
BYTES



=== TEST 3: then the whole cached raw file: intact
--- request
GET /img/a.png
--- error_code: 200
--- response_body
PNG-BYTES



=== TEST 4: an empty page as an SSI include
--- request
GET /s/page.html
--- error_code: 200
--- response_body
[]



=== TEST 5: a page takes no ranges (kept, then asked with a range)
--- request
GET /full/
--- more_headers
Range: bytes=0-3
--- error_code: 200
--- response_body
FULL-PAGE



=== TEST 6: the kept page with a range
--- request
GET /full/
--- more_headers
Range: bytes=0-3
--- error_code: 200
--- response_body
FULL-PAGE



=== TEST 7: the static module on an empty file with a range (reference)
--- request
GET /st/empty.png
--- more_headers
Range: bytes=0-0
--- error_code: 200
--- response_body



=== TEST 8: an empty raw file with a range, as the static module
--- request
GET /img/empty.png
--- more_headers
Range: bytes=0-0
--- error_code: 200
--- response_body
