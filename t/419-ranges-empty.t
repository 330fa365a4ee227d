# Raw files take Range requests as nginx's static files do (206, a single
# range); an empty page still goes through the body filters (addition
# adds to it), as an empty static file does.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
CONF
    $block->set_value('config', <<'CONF');
    location / { jpulse_render; }
    location /add/ {
        add_after_body /after.txt;
        jpulse_render;
    }
    location = /after.txt { return 200 "AFTER\n"; }
CONF
    $block->set_value('user_files', <<'FILES');
>>> v/img/a.png
PNG-BYTES
>>> v/add/index.shtml
>>> v/full/index.shtml
FULL
FILES
    $block->set_value('no_error_log', "[error]\n[alert]");
});



run_tests();

__DATA__

=== TEST 1: a raw file, one range: 206
--- request
GET /img/a.png
--- more_headers
Range: bytes=0-2
--- error_code: 206
--- response_body chop
PNG



=== TEST 2: an empty page: addition still adds to it
--- request
GET /add/
--- error_code: 200
--- response_body
AFTER



=== TEST 3: a page with a body, for comparison
--- request
GET /full/
--- error_code: 200
--- response_body
FULL



=== TEST 4: HEAD of an empty page: headers only
--- request
HEAD /add/
--- error_code: 200
--- response_headers
Content-Length:
--- response_body
