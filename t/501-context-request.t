# The parts of the page context that come from the request
# (jpulse-view-pipeline.md 3.3, 3.4, 3.8, 1.7): url.* as Express gives
# it (qs's url.param, url.search, url.port, no Host), X-Forwarded-*
# ignored (nginx faces the client), the 404 page's url.param, the
# timezone cookie and the server's zone, pageDisableSidebars by file
# type, and the top-level keys in jPulse's order.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

our @Site = (
    ['v/ctx/index.shtml', "{{url}}\n"],
    ['v/ctx/p.shtml', "{{url.param}}|{{url.search}}\n"],
    ['v/ctx/tz.shtml', "{{user.timezone}}\n"],
    ['v/ctx/keys.shtml', '{{appCluster}} {{authProviders}} {{passwordResetAvailable}} {{pageDisableSidebars}} [{{#each components}}x{{/each}}] {{vars}} {{#if app}}app{{/if}} {{#if siteConfig}}site{{/if}} {{#if i18n}}i18n{{/if}}' . "\n"],
    ['v/side/s.shtml', "<body class=\"x\"\n data-jp-disable-sidebars=\"true\">{{pageDisableSidebars}}\n"],
    ['v/side/t.tmpl', "<body class=\"x\" data-jp-disable-sidebars=\"true\">{{pageDisableSidebars}}\n"],
    ['v/side/q.shtml', "<body data-jp-disable-sidebars='true'>{{pageDisableSidebars}}\n"],
    ['v/side/inc.shtml', "{{file.include \"side/body.tmpl\"}}{{pageDisableSidebars}}\n"],
    ['v/side/body.tmpl', "<body data-jp-disable-sidebars=\"true\">"],
    ['v/error/index.shtml', "<body data-jp-disable-sidebars=\"true\">{{url.param}}|{{url.search}}|{{url.pathname}}|{{pageDisableSidebars}}\n"],
    ['v/auth/login.shtml', "reset={{passwordResetAvailable}} providers={{authProviders}}\n"],
    ['de/app.json', '{"utils":{"i18n":{"default":"de"}}}'],
    ['i18n/de.json', '{"controller":{"view":{"pageNotFoundError":"Seite nicht gefunden: {{path}}"}}}'],
);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('user_files', [ map { [@$_] } @Site ])
        unless defined $block->user_files;
    $block->set_value('http_config', <<'CONF') unless defined $block->http_config;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n")
        unless defined $block->config;
});

repeat_each(1);
plan tests => repeat_each() * 2 * (blocks() + 6);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the reference's example (3.4): arrays, nested objects, the port of the Host; X-Forwarded-Proto does not make https
--- request
GET /ctx/?a=1&a=2&b%5Bc%5D=3&d=%3Cx%3E
--- more_headers
Host: example.com:8443
X-Forwarded-Proto: https
--- response_body
{&quot;domain&quot;:&quot;http://example.com:8443&quot;,&quot;protocol&quot;:&quot;http&quot;,&quot;hostname&quot;:&quot;example.com&quot;,&quot;port&quot;:&quot;8443&quot;,&quot;pathname&quot;:&quot;/ctx/&quot;,&quot;search&quot;:&quot;?a=1&amp;a=2&amp;b%5Bc%5D=3&amp;d=%3Cx%3E&quot;,&quot;param&quot;:{&quot;a&quot;:[&quot;1&quot;,&quot;2&quot;],&quot;b&quot;:{&quot;c&quot;:&quot;3&quot;},&quot;d&quot;:&quot;&lt;x&gt;&quot;}}



=== TEST 2: X-Forwarded-Host is not the hostname; the port is what follows the Host's first ':'
--- request
GET /ctx/p.shtml?x[]=1&x[]=2&y[z][w]=3&5=five&e
--- more_headers
Host: a.example.com
X-Forwarded-Host: pub.example.org:9443, other
--- response_body
{&quot;5&quot;:&quot;five&quot;,&quot;x&quot;:[&quot;1&quot;,&quot;2&quot;],&quot;y&quot;:{&quot;z&quot;:{&quot;w&quot;:&quot;3&quot;}},&quot;e&quot;:&quot;&quot;}|?x[]=1&amp;x[]=2&amp;y[z][w]=3&amp;5=five&amp;e



=== TEST 3: a bare "?" is url.search "?", no "?" is ""
--- request eval
["GET /ctx/p.shtml?", "GET /ctx/p.shtml"]
--- response_body eval
["{}|?\n", "{}|\n"]



=== TEST 4: HTTP/1.0 without a Host: "http://undefined" and no url.hostname, as jPulse prints them
--- raw_request eval
"GET /ctx/ HTTP/1.0\r\n\r\n"
--- response_body
{&quot;domain&quot;:&quot;http://undefined&quot;,&quot;protocol&quot;:&quot;http&quot;,&quot;port&quot;:&quot;&quot;,&quot;pathname&quot;:&quot;/ctx/&quot;,&quot;search&quot;:&quot;&quot;,&quot;param&quot;:{}}



=== TEST 5: the 404 page: url.param is exactly {code, msg} (the raw path, no query), url.search and url.pathname stay; pageDisableSidebars from the error page's own <body>
--- request eval
["GET /nope/?q=1&code=7", "GET /%6eope/x.shtml?msg=hi"]
--- error_code eval
[404, 404]
--- response_body eval
["<body data-jp-disable-sidebars=\"true\">{&quot;code&quot;:&quot;404&quot;,&quot;msg&quot;:&quot;Page not found: /nope/&quot;}|?q=1&amp;code=7|/nope/|true\n",
 "<body data-jp-disable-sidebars=\"true\">{&quot;code&quot;:&quot;404&quot;,&quot;msg&quot;:&quot;Page not found: /%6eope/x.shtml&quot;}|?msg=hi|/%6eope/x.shtml|true\n"]



=== TEST 6: the 404 message in the page's language (controller.view.pageNotFoundError, {{path}})
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
    jpulse_config $TEST_NGINX_HTML_DIR/de/app.json;
    jpulse_i18n_dir $TEST_NGINX_HTML_DIR/i18n;
--- request
GET /fehlt/
--- error_code: 404
--- response_body
<body data-jp-disable-sidebars="true">{&quot;code&quot;:&quot;404&quot;,&quot;msg&quot;:&quot;Seite nicht gefunden: /fehlt/&quot;}||/fehlt/|true



=== TEST 7: pageDisableSidebars: .shtml only, the attribute on a later line counts, single quotes and a <body> from an include do not
--- request eval
["GET /side/s.shtml", "GET /side/t.tmpl", "GET /side/q.shtml", "GET /side/inc.shtml"]
--- response_body eval
["<body class=\"x\"\n data-jp-disable-sidebars=\"true\">true\n",
 "<body class=\"x\" data-jp-disable-sidebars=\"true\">false\n",
 "<body data-jp-disable-sidebars='true'>false\n",
 "<body data-jp-disable-sidebars=\"true\">false\n"]



=== TEST 8: the top-level keys jPulse builds, each defined (a template cannot walk the context as a whole: "this" is a key of loops only)
--- request
GET /ctx/keys.shtml
--- response_body
{"available":false} [] false false [] {} app site i18n



=== TEST 9: passwordResetAvailable needs a configured mailer (no site config here); authProviders is []
--- request
GET /auth/login.shtml
--- response_body
reset=false providers=[]



=== TEST 10: the timezone cookie: the first one, up to a second '='
--- request eval
["GET /ctx/tz.shtml", "GET /ctx/tz.shtml"]
--- more_headers eval
["Cookie: timezone=Asia/Tokyo=x; timezone=Europe/Rome",
 "Cookie: timezone="]
--- response_body eval
["Asia/Tokyo\n", "UTC\n"]



=== TEST 11: without a cookie, the server's zone as Node names it: TZ without its ':'
--- main_config
env TZ=:America/New_York;
--- request
GET /ctx/tz.shtml
--- response_body
America/New_York



=== TEST 12: the UTC aliases are "UTC" (V8's canonical name)
--- main_config
env TZ=Etc/UTC;
--- request
GET /ctx/tz.shtml
--- response_body
UTC
