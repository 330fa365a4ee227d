# The language and theme of a page go into it as raw HTML
# (appConfig.system.htmlAttrs: lang="..." data-theme="..."), into the name
# of the translations file (<jpulse_i18n_dir>/<lang>.json) and into Redis
# keys (<ns>i18n:<lang>). A default from the config that is no name
# (1-32 of A-Z a-z 0-9 _ -) falls back to "en" and "light": no markup,
# no path, no second key.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

plan tests => repeat_each() * 2 * blocks();

run_tests();

__DATA__

=== TEST 1: a name in the config is used as it is
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
    jpulse_config $TEST_NGINX_HTML_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_HTML_DIR/i18n;
--- config
    location / { jpulse_render; }
--- user_files eval
[["app.json", '{"utils":{"i18n":{"default":"pt-BR"},"theme":{"default":"high_contrast"}}}'],
 ["i18n/pt-BR.json", '{"t":"Olá"}'],
 ["v/p/index.shtml", "<html {{appConfig.system.htmlAttrs}}>{{i18n.t}}\n"]]
--- request
GET /p/
--- response_body
<html lang="pt-BR" data-theme="high_contrast">Olá



=== TEST 2: markup, a path and spaces in the config fall back
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
    jpulse_config $TEST_NGINX_HTML_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_HTML_DIR/i18n/x;
--- config
    location / { jpulse_render; }
--- user_files eval
[["app.json", '{"utils":{"i18n":{"default":"../secret"},"theme":{"default":"x\"><script>alert(1)</script>"}}}'],
 ["i18n/secret.json", '{"t":"SECRET"}'],
 ["i18n/x/en.json", '{"t":"hello"}'],
 ["v/p/index.shtml", "<html {{appConfig.system.htmlAttrs}}>{{i18n.t}}\n"]]
--- request
GET /p/
--- response_body
<html lang="en" data-theme="light">hello
