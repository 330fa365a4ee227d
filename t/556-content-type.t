# The type of a rendered file is the contentTypes entry with its charset
# parameters replaced by "charset=utf-8", and every other parameter
# written "; name=value": a type whose parameters follow their ';'
# without a space grows by one byte each, and a long one (the config, or
# Redis's app config, is an input) must not write past its buffer; and a
# type with a control character is no header value: taken as unlisted.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

our $Params = join '', map { ";p$_=1" } 1 .. 2000;
our $Want = 'text/x-long' . join('', map { "; p$_=1" } 1 .. 2000)
            . '; charset=utf-8';

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('http_config', <<'CONF');
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
    jpulse_config $TEST_NGINX_HTML_DIR/app.json;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n");
    $block->set_value('user_files', [
        ['v/t/a.txt', "TXT\n"],
        ['v/t/b.md', "MD\n"],
        ['v/error/index.shtml', "E{{url.param.code}}\n"],
        ['v/t/a.png', "PNG"],
        @{ $block->user_files
           || [['app.json', '{"controller":{"view":{"contentTypes":{'
                . '".txt":"text/x-long' . $main::Params . '",'
                . '".md":"text/markdown;a=1;b=2;charset=latin1"}}}}']] },
    ]);
    $block->set_value('no_error_log', "[error]\n[alert]");
});

plan tests => repeat_each() * 21;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: parameters without spaces, many of them: each written "; name=value", nothing past the buffer
--- request eval
["GET /t/a.txt", "GET /t/a.txt", "GET /t/b.md"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["Content-Type: $main::Want", "Content-Type: $main::Want",
 "Content-Type: text/markdown; a=1; b=2; charset=utf-8"]
--- response_body eval
["TXT\n", "TXT\n", "MD\n"]



=== TEST 2: a type with CR LF (or any control character) is taken as unlisted: never a header of its own
--- user_files eval
[["app.json", '{"controller":{"view":{"contentTypes":{'
              . '".txt":"text/plain\r\nX-Injected: 1",'
              . '".png":"image/png\r\nX-Injected: 2",'
              . '".md":"text/markdown\u0001"}}}}']]
--- request eval
["GET /t/a.txt", "GET /t/a.png", "GET /t/b.md"]
--- error_code eval
[200, 200, 200]
--- response_headers eval
["X-Injected:\nContent-Type: text/html; charset=utf-8",
 "X-Injected:\nContent-Type: image/png",
 "Content-Type: text/html; charset=utf-8"]
