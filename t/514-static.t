# jPulse's routing table in nginx locations, as nginx.conf.example ships
# it: /common/ from the framework's static/common only; views to
# jpulse_render; everything else from the static roots (site, plugins,
# framework) with try_files, never templated; a miss, a directory or a
# dot-file is jPulse's not-found redirect (jpulse_render not_found), for
# any method.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

our $NotFound = '/error/index.shtml?msg=Page%20not%20found%3A%20';

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('http_config', <<'CONF');
    jpulse_view_roots $TEST_NGINX_HTML_DIR/j/site/webapp/view $TEST_NGINX_HTML_DIR/j/webapp/view;
    jpulse_metrics_zone jpulse 1m;
CONF
    $block->set_value('config', <<'CONF');
    location ^~ /common/ {
        root $TEST_NGINX_HTML_DIR/j/webapp/static;
        try_files $uri @jpulse_not_found;
    }

    location ~ "^/$|\.(shtml|tmpl)$|/jpulse-.*\.(js|css)$|^/(home|error|images)/|^/[A-Za-z][A-Za-z0-9-]*/$" {
        jpulse_render;
    }

    location ~ ^/jpulse-|/\. {
        jpulse_render not_found;
    }

    location / {
        root $TEST_NGINX_HTML_DIR/j;
        try_files /site/webapp/static$uri /plugins/hello/webapp/static$uri
                  /webapp/static$uri @jpulse_not_found;
        charset utf-8;
        add_header Cache-Control "public, max-age=0";
    }

    location @jpulse_not_found {
        jpulse_render not_found;
    }

    location = /metrics { jpulse_metrics prometheus; }
CONF
    $block->set_value('user_files', [
        ['j/site/webapp/view/.keep', ''],
        ['j/webapp/view/home/index.shtml', "HOME {{url.pathname}}\n"],
        ['j/webapp/view/error/index.shtml', "E{{url.param.code}}\n"],
        ['j/webapp/view/images/index.shtml', "IMAGES VIEW\n"],
        ['j/webapp/static/robots.txt', "FW ROBOTS {{x}}\n"],
        ['j/site/webapp/static/robots.txt', "SITE ROBOTS {{x}}\n"],
        ['j/webapp/static/favicon.ico', "ICO"],
        ['j/webapp/static/common/style.css', "/* {{not expanded}} */\n"],
        ['j/site/webapp/static/common/style.css', "SITE COMMON\n"],
        ['j/site/webapp/static/common/site-only.css', "SITE ONLY\n"],
        ['j/plugins/hello/webapp/static/probe-plugin.txt', "PLUGIN {{x}}\n"],
        ['j/webapp/static/assets/docs/README.md', "# README {{x}}\n"],
        ['j/webapp/static/images/logo.png', "PNG-IN-A-VIEW-DIR"],
        ['j/webapp/static/zz-other/jpulse-x.txt', "MID JPULSE\n"],
        ['j/webapp/static/page.shtml', "STATIC SHTML\n"],
        ['j/webapp/static/.env', "SECRET=1\n"],
        ['j/webapp/static/jpulse-x.txt', "ROOT JPULSE\n"],
        ['j/webapp/static/dir/file.txt', "IN DIR\n"]]);
    $block->set_value('no_error_log', "[error]");
});

plan tests => repeat_each() * 64;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: static files, as they are: the site's over the plugin's over the framework's
--- request eval
["GET /robots.txt", "GET /favicon.ico", "GET /probe-plugin.txt", "GET /assets/docs/README.md",
 "GET /zz-other/jpulse-x.txt", "HEAD /robots.txt"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_headers eval
["Cache-Control: public, max-age=0\nContent-Type: text/plain; charset=utf-8",
 "", "", "", "", "Content-Length: 18"]
--- response_body eval
["SITE ROBOTS {{x}}\n", "ICO", "PLUGIN {{x}}\n", "# README {{x}}\n", "MID JPULSE\n", ""]



=== TEST 2: /common/ is the framework's only
--- request eval
["GET /common/style.css", "GET /common/site-only.css"]
--- error_code eval
[200, 302]
--- response_headers eval
["", "Location: ${main::NotFound}%2Fcommon%2Fsite-only.css&code=404"]
--- response_body eval
["/* {{not expanded}} */\n", "Found. Redirecting to ${main::NotFound}%2Fcommon%2Fsite-only.css&code=404"]



=== TEST 3: misses: jPulse's not-found redirect with the URL as sent, for any method
--- request eval
["GET /nope.txt?a=1", "GET /dir", "GET /static/robots.txt", "POST /nope\nx=1", "GET /.env",
 "GET /jpulse-x.txt", "GET /page.shtml"]
--- error_code eval
[302, 302, 302, 302, 302, 302, 404]
--- response_headers eval
["Location: ${main::NotFound}%2Fnope.txt%3Fa%3D1&code=404\nVary: Accept",
 "Location: ${main::NotFound}%2Fdir&code=404",
 "Location: ${main::NotFound}%2Fstatic%2Frobots.txt&code=404",
 "Location: ${main::NotFound}%2Fnope&code=404",
 "Location: ${main::NotFound}%2F.env&code=404",
 "Location: ${main::NotFound}%2Fjpulse-x.txt&code=404",
 "!Location"]
--- response_body_unlike eval
["SECRET", "IN DIR", "ROBOTS", "SECRET", "SECRET", "ROOT JPULSE", "STATIC SHTML"]



=== TEST 4: views first: a view directory shadows a static file; "/" and "/home/" render
--- request eval
["GET /images/logo.png", "GET /", "GET /home/", "GET /home"]
--- error_code eval
[404, 302, 200, 302]
--- response_headers eval
["!Location", "Location: /home/", "", "Location: ${main::NotFound}%2Fhome&code=404"]
--- response_body eval
["E404\n", "Found. Redirecting to /home/", "HOME /home/\n",
 "Found. Redirecting to ${main::NotFound}%2Fhome&code=404"]



=== TEST 5: the not-found redirects count with the renders
--- request eval
["GET /nope.txt", "POST /home/\nx=1", "GET /metrics"]
--- error_code eval
[302, 302, 200]
--- response_body_like eval
["Found", "Found", 'jpulse_http_requests_total\{handler="render",code="3xx"\} 2\n']
