# Append mode as jPulse's view controller does it: every .js and .css it
# serves (not only jpulse-*), the framework's file first, then the
# site's, then each plugin's, joined with one "\n" between neighbours and
# none after the last, then expanded. No .js.tmpl/.css.tmpl fallback; no
# root with the file: the 404 page.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

plan tests => repeat_each() * 16;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: themes/dark.css and an app's .js across roots; a part ending in a newline gives an empty line; an empty part is a part
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/a/site $TEST_NGINX_HTML_DIR/a/p1 $TEST_NGINX_HTML_DIR/a/p2 $TEST_NGINX_HTML_DIR/a/fw;
    jpulse_config $TEST_NGINX_HTML_DIR/a/app.json;
--- config
    location / { jpulse_render; }
--- user_files eval
[["a/app.json", '{"app":{"site":{"shortName":"Demo"}}}'],
 ["a/fw/themes/dark.css", ":root { --fw: 1; }\n"],
 ["a/site/themes/dark.css", ".site { content: \"{{app.site.shortName}}\"; }"],
 ["a/p2/themes/dark.css", "/* p2 */\n"],
 ["a/fw/hello/app.js", "var fw = 1;"],
 ["a/p1/hello/app.js", ""],
 ["a/site/hello/app.js", "var site = 2;"],
 ["a/fw/hello/one.JS", "ONE {{app.site.shortName}}"],
 ["a/fw/hello/x.css.tmpl", "TMPL"],
 ["a/fw/error/index.shtml", "E{{url.param.code}}\n"]]
--- request eval
["GET /themes/dark.css", "GET /hello/app.js", "GET /hello/one.JS", "GET /hello/x.css", "GET /hello/none.js"]
--- error_code eval
[200, 200, 200, 404, 404]
--- response_headers eval
["Content-Type: text/css; charset=utf-8",
 "Content-Type: application/javascript; charset=utf-8",
 "Content-Type: application/javascript; charset=utf-8",
 "Content-Type: text/html; charset=utf-8",
 "Content-Type: text/html; charset=utf-8"]
--- response_body eval
[":root { --fw: 1; }\n\n.site { content: \"Demo\"; }\n/* p2 */\n",
 "var fw = 1;\nvar site = 2;\n",
 "ONE Demo",
 "E404\n",
 "E404\n"]
--- no_error_log
[error]
