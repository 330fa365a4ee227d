# The static locations as nginx.conf.example and examples/nginx.conf ship
# them, taken from the files themselves (from "location ^~ /common/" to
# the @jpulse_not_found location): jPulse's static sender ignores
# dot-files, /common/ included, so they are its not-found redirect, never
# the file. examples/nginx.conf sends every view directory of
# examples/site to jpulse_render (/themes/*.css is expanded in append
# mode, /context/ files render), as jPulse routes them. Other methods
# on a static file are its not-found redirect too, the body dropped.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

our $NotFound = '/error/index.shtml?msg=Page%20not%20found%3A%20';

sub main::routes {
    my ($file, $from) = @_;
    open my $fh, '<', $file or die "$file: $!";
    my $text = do { local $/; <$fh> };
    my ($block) = $text =~ /(\n[ ]*location \^~ \/common\/ \{.*?\n[ ]*location \@jpulse_not_found \{[^}]*\})/s
        or die "$file: no static locations";
    $block =~ s/\Q$from\E/\$TEST_NGINX_HTML_DIR\/s/g;
    return $block . "\n    location \@node { return 599; }\n";
}

our $Example = main::routes('nginx.conf.example', '/opt/jpulse');
our $Examples = main::routes('examples/nginx.conf', '@SITE@');

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('http_config', <<'CONF');
    jpulse_view_roots $TEST_NGINX_HTML_DIR/s/site/webapp/view $TEST_NGINX_HTML_DIR/s/webapp/view;
    map $http_cookie $jpulse_signed_in {
        default 0;
    }
CONF
    $block->set_value('user_files', [
        ['s/webapp/view/error/index.shtml', "E{{url.param.code}}\n"],
        ['s/webapp/view/themes/light.css', "LIGHT {{app.x}}\n"],
        ['s/site/webapp/view/context/a.txt', "CONTEXT\n"],
        ['s/webapp/static/common/ok.css', "OK\n"],
        ['s/webapp/static/common/.secret', "COMMON-SECRET\n"],
        ['s/webapp/static/common/.git/config', "GIT-SECRET\n"],
        ['s/site/webapp/static/.env', "ENV-SECRET\n"],
        @{ $block->user_files || [] },
    ]);
    $block->set_value('no_error_log', "[error]");
});

plan tests => repeat_each() * 46;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: nginx.conf.example: dot-files are the not-found redirect, under /common/ too
--- config eval: $main::Example
--- request eval
["GET /common/ok.css", "GET /common/.secret", "GET /common/.git/config", "GET /.env"]
--- error_code eval
[200, 302, 302, 302]
--- response_headers eval
["", "Location: ${main::NotFound}%2Fcommon%2F.secret&code=404",
 "Location: ${main::NotFound}%2Fcommon%2F.git%2Fconfig&code=404",
 "Location: ${main::NotFound}%2F.env&code=404"]
--- response_body_unlike eval
["SECRET", "SECRET", "SECRET", "SECRET"]



=== TEST 2: examples/nginx.conf: the same
--- config eval: $main::Examples
--- request eval
["GET /common/ok.css", "GET /common/.secret", "GET /common/.git/config", "GET /.env"]
--- error_code eval
[200, 302, 302, 302]
--- response_body_unlike eval
["SECRET", "SECRET", "SECRET", "SECRET"]




=== TEST 3: examples/nginx.conf: examples/site's view directories themes/ and context/ are rendered
--- config eval: $main::Examples
--- request eval
["GET /themes/light.css", "GET /context/a.txt"]
--- error_code eval
[200, 200]
--- response_headers eval
["Content-Type: text/css; charset=utf-8", "Content-Type: text/html; charset=utf-8"]
--- response_body eval
["LIGHT \n", "CONTEXT\n"]



=== TEST 4: nginx.conf.example: other methods on a static file are jPulse's not-found redirect (its static sender passes them on), not nginx's 405
--- config eval: $main::Example
--- user_files eval
[["s/site/webapp/static/robots.txt", "ROBOTS\n"]]
--- request eval
["POST /robots.txt\nx=1", "PUT /common/ok.css\nx=1", "DELETE /robots.txt", "GET /robots.txt"]
--- error_code eval
[302, 302, 302, 200]
--- response_headers eval
["Location: ${main::NotFound}%2Frobots.txt&code=404",
 "Location: ${main::NotFound}%2Fcommon%2Fok.css&code=404",
 "Location: ${main::NotFound}%2Frobots.txt&code=404", ""]



=== TEST 5: examples/nginx.conf: the same
--- config eval: $main::Examples
--- user_files eval
[["s/site/webapp/static/robots.txt", "ROBOTS\n"]]
--- request eval
["POST /robots.txt\nx=1", "PUT /common/ok.css\nx=1", "DELETE /robots.txt", "GET /robots.txt"]
--- error_code eval
[302, 302, 302, 200]



=== TEST 6: nginx.conf.example: the body of such a request is read and dropped, never taken for the next request
--- config eval: $main::Example
--- user_files eval
[["s/site/webapp/static/robots.txt", "ROBOTS\n"]]
--- pipelined_requests eval
["POST /robots.txt\nGET /common/.secret HTTP/1.1\r\nHost: localhost\r\n\r\n",
 "GET /robots.txt"]
--- error_code eval
[302, 200]
--- response_body eval
["Found. Redirecting to ${main::NotFound}%2Frobots.txt&code=404", "ROBOTS\n"]
