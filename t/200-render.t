# jpulse_render from disk: view routing, the lookup order of the view
# roots, append mode, raw files, content types, HEAD and 405, the 404
# page and what it reflects, the context templates see, the include jail,
# revalidation after jpulse_template_check_interval, compile errors, the
# L1 byte cap, configuration errors, and examples/site served through
# nginx. No jpulse_redis here: everything comes from the files.
#
# Most blocks use one small site (written by the block preprocessor into
# html/s/): a site root, a plugin root and a framework root, an app.json
# and translations. Blocks that edit files while nginx runs get a tree of
# their own.
use strict;
use warnings;

use lib 't/lib';
use Cwd ();
use Digest::MD5 ();
use Digest::SHA ();
use IO::Socket::INET ();
use JPulseTest ();
use Time::HiRes ();
use Test::Nginx::Socket;

our $Html = $ENV{TEST_NGINX_HTML_DIR};
$ENV{TEST_NGINX_EXAMPLE_SITE} = Cwd::abs_path('examples/site');

# a "PNG" that is no template: braces, NUL, CR LF and every byte value
our $Png = join('', map { chr(($_ * 7 + 3) % 256) } 0 .. 1023)
         . "{{url.pathname}}\0\r\n{{#if}}"
         . join('', map { chr($_ % 256) } 0 .. 1023);
our $BigPng = join('', map { chr(($_ * 13 + 5) % 256) } 0 .. 100 * 1024);

# The shared site: [path under html/, content] pairs.
our @Site = (
    ['s/app.json', <<'JSON'],
{
    "app": { "site": { "name": "Demo Site", "shortName": "Demo" } },
    "utils": { "i18n": { "default": "en" } },
    "system": { "secret": "SYS-SECRET", "defaultTheme": "light" },
    "deployment": { "mode": "DEPLOY-SECRET" },
    "database": { "url": "DB-SECRET" },
    "redis": { "url": "REDIS-SECRET" },
    "middleware": { "x": "MW-SECRET" },
    "model": { "user": { "passwordPolicy": { "minLength": 12 } },
               "y": "MODEL-SECRET" },
    "controller": { "z": "CTRL-SECRET", "user": { "profile": { "p": 1 } } },
    "view": { "navigation": [
        { "url": "/home/", "label": "Home" },
        { "url": "/about/", "label": "About" },
        { "url": "/only/", "label": "Plugin" } ] }
}
JSON
    ['s/i18n/en.json', <<'JSON'],
{ "home": { "title": "Welcome", "greet": "Hello from <b>{{app.site.shortName}}</b>" } }
JSON
    ['s/i18n/de.json', <<'JSON'],
{ "home": { "title": "Willkommen", "greet": "Hallo" } }
JSON

    # framework (last root)
    ['s/fw/jpulse-header.tmpl', <<'T'],
<!--
 * @name            test / jpulse-header.tmpl
-->
<head><title>{{title}} - {{app.site.shortName}}</title></head>
T
    ['s/fw/jpulse-footer.tmpl', "<footer>FW-FOOTER</footer>\n"],
    ['s/fw/home/index.shtml', <<'T'],
<html {{appConfig.system.htmlAttrs}}>
{{file.include "jpulse-header.tmpl" title=(i18n.home.title)}}
<h1>{{i18n.home.title}}</h1>
<p>{{i18n.home.greet}}</p>
<nav>{{#each appConfig.view.navigation}}[{{@index}}:{{this.label}}={{this.url}}{{#if @first}}^{{/if}}{{#if @last}}${{/if}}]{{/each}}</nav>
<p>user={{user.initials}} auth={{user.isAuthenticated}} admin={{user.isAdmin}}</p>
<p>site={{siteConfig}} app={{app.site.name}}</p>
<p>hidden=[{{appConfig.system.secret}}|{{appConfig.deployment}}|{{appConfig.database}}|{{appConfig.redis}}|{{appConfig.middleware}}|{{appConfig.model.y}}|{{appConfig.controller.z}}]</p>
<p>allowed=[{{appConfig.model.user.passwordPolicy.minLength}}|{{appConfig.controller.user.profile}}|{{appConfig.system.defaultTheme}}]</p>
{{file.include "jpulse-footer.tmpl"}}
</html>
T
    ['s/fw/ctx/index.shtml', <<'T'],
url={{url.domain}}|{{url.protocol}}|{{url.hostname}}|{{url.port}}|{{url.pathname}}|{{url.search}}|{{url.param.q}}|{{url.param.z}}
tz={{user.timezone}}
user={{user.initials}}|{{user.isAuthenticated}}|{{user.isAdmin}}|{{user.roles}}|{{user.hasRole}}|{{user.username}}|cluster={{appCluster.available}}
vars={{vars}}{{let a="x"}}{{vars.a}} components={{#component "t.my-card"}}C{{/component}}{{components.t.myCard}}
T
    ['s/fw/dump/index.shtml', "{{appConfig}}\n"],
    ['s/fw/about/index.shtml', "FW-ABOUT\n"],
    ['s/fw/only/index.shtml', "FW-ONLY\n"],
    ['s/fw/fwonly/index.shtml', "FW-FWONLY\n"],
    ['s/fw/error/index.shtml',
     '<h1>E{{url.param.code}}</h1><p class="msg">{{url.param.msg}}</p>'
     . '<p class="q">{{url.param.q}}</p><p class="path">{{url.pathname}}</p>'
     . "\n"],
    ['s/fw/jpulse-common.js', '/* fw {{app.site.shortName}} */'],
    ['s/fw/jpulse-common.css', '/* fw css */'],
    ['s/fw/jpulse-fwonly.js', 'fw only'],
    ['s/fw/app.js', "FW-APP\n"],
    ['s/fw/img/logo.png', $Png],
    ['s/fw/img/over.png', 'FW-PNG'],
    ['s/fw/img/a.gif', "GIF89a{{x}}"],
    ['s/fw/img/a.ico', "ICO{{x}}"],
    ['s/fw/img/a.jpg', "JPG{{x}}"],
    ['s/fw/img/a.jpeg', "JPEG{{x}}"],
    ['s/fw/img/a.webp', "WEBP{{x}}"],
    ['s/fw/data/info.json', qq({"name":"{{app.site.name}}"}\n)],
    ['s/fw/ct/a.shtml', 'shtml {{app.site.shortName}}'],
    ['s/fw/ct/a.tmpl', 'tmpl {{app.site.shortName}}'],
    ['s/fw/ct/a.html', 'html {{app.site.shortName}}'],
    ['s/fw/ct/a.css', '.x{} /* {{app.site.shortName}} */'],
    ['s/fw/ct/a.js', 'var s = "{{app.site.shortName}}";'],
    ['s/fw/ct/a.svg', '<svg>{{app.site.shortName}}</svg>'],
    ['s/fw/dironly/.keep', ''],

    # plugin (middle root)
    ['s/plugin/jpulse-footer.tmpl', "<footer>PLUGIN-FOOTER</footer>\n"],
    ['s/plugin/about/index.shtml', "PLUGIN-ABOUT\n"],
    ['s/plugin/only/index.shtml', "PLUGIN-ONLY {{app.site.shortName}}\n"],
    ['s/plugin/jpulse-common.js', "/* plugin */\n"],

    # site (first root)
    ['s/site/jpulse-footer.tmpl', "<footer>SITE-FOOTER {{app.site.shortName}}</footer>\n"],
    ['s/site/about/index.shtml', "SITE-ABOUT {{app.site.shortName}}\n"],
    ['s/site/jpulse-common.js', "/* site {{url.pathname}} */\n"],
    ['s/site/jpulse-common.css', '.site{}'],
    ['s/site/jpulse-siteonly.css', '.s{}'],
    ['s/site/app.js', "SITE-APP\n"],
    ['s/site/img/over.png', 'SITE-PNG'],
);

our $SiteHttp = <<'CONF';
    jpulse_metrics_zone jpulse 1m;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/s/site $TEST_NGINX_HTML_DIR/s/plugin $TEST_NGINX_HTML_DIR/s/fw;
    jpulse_config $TEST_NGINX_HTML_DIR/s/app.json;
    jpulse_i18n_dir $TEST_NGINX_HTML_DIR/s/i18n;
CONF

our $SiteConfig = <<'CONF';
    location / { jpulse_render; }
    location = /metrics { jpulse_metrics prometheus; }
CONF

our $PagesConfig = <<'CONF';
    location / { jpulse_render; }
CONF

our $NoErrors = [qr/\[(?:error|crit|alert|emerg)\]/];

add_block_preprocessor(sub {
    my ($block) = @_;

    my $files = $block->user_files;
    die $block->name . ": user_files must be an eval'd list\n"
        if defined $files && ref $files ne 'ARRAY';
    $block->set_value('user_files', [@Site, @{ $files || [] }]);

    $block->set_value('http_config', $SiteHttp)
        unless defined $block->http_config;
    $block->set_value('config', $block->http_config =~ /jpulse_metrics_zone/
                                ? $SiteConfig : $PagesConfig)
        unless defined $block->config;
    $block->set_value('no_error_log', $NoErrors)
        unless defined $block->no_error_log || defined $block->error_log
            || defined $block->must_die || defined $block->grep_error_log;
});


# Express's weak ETag of a body: W/"<length hex>-<27 of base64(SHA-1)>"
sub main::etag {
    return sprintf('W/"%x-%s"', length $_[0], Digest::SHA::sha1_base64($_[0]));
}

# A GET on its own connection (for pre_request): "STATUS BODY".
sub main::get {
    my ($uri, @headers) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT},
                                  Timeout => 3)
        or return "connect: $!\n";
    print $s "GET $uri HTTP/1.0\r\nHost: localhost\r\n",
             map({ "$_\r\n" } @headers), "\r\n";
    local $/;
    my $res = <$s> // '';
    my ($head, $body) = split /\r\n\r\n/, $res, 2;
    my ($status) = ($head // '') =~ m{^HTTP/\d\.\d (\d+)};
    return ($status // '???') . ' ' . ($body // '');
}

# A template that does not compile: blocks nested past the limit (64). An
# unbalanced block is no compile error (it renders as jPulse renders it).
sub main::too_deep { return ('{{#if 1}}' x 65) . ('{{/if}}' x 65) }

# Replaces a file under html/ (a new inode: its stamp always moves).
sub main::put {
    my ($path, $content) = @_;
    my $file = "$Html/$path";
    open my $f, '>', "$file.tmp" or die "$file.tmp: $!";
    binmode $f;
    print $f $content;
    close $f or die "$file.tmp: $!";
    chmod 0644, "$file.tmp";
    rename "$file.tmp", $file or die "$file: $!";
}

# Counters are read as deltas from a snapshot taken in pre_request: the
# metrics zone outlives a reload (TEST_NGINX_USE_HUP).
our %Before;

sub main::prom {
    my ($text) = @_;
    return map { /^(jpulse_\S+) (\d+)$/ ? ($1 => $2) : () } split /\n/, $text;
}

sub main::snapshot {
    my $m = main::get('/metrics');
    %main::Before = main::prom($m =~ s/\A200 //r);
}

sub main::delta {
    my ($after, $name) = @_;
    return ($after->{$name} // 0) - ($main::Before{$name} // 0);
}

# Prometheus text -> the render and template counters (as deltas), sorted
sub main::template_metrics {
    my %after = main::prom($_[0]);
    return join '', map { "$_ " . ($_ eq 'jpulse_template_cache_bytes'
                                   ? ($after{$_} > 0 ? '>0' : 0)
                                   : main::delta(\%after, $_)) . "\n" }
                    sort grep { /^jpulse_template_|handler="render"/ }
                    keys %after;
}

our $Seen = '';
our $Anon = "user=?|false|false|[]|{}||cluster=false\nvars={}x components=C\n";
sub main::seen_then { return $main::Seen . "final: $_[0]" }

# what pre_request saw, then jpulse_errors_total from Prometheus text
sub main::seen_errors {
    my %after = main::prom($_[0]);
    return $main::Seen . "errors=" . main::delta(\%after, 'jpulse_errors_total') . "\n";
}

repeat_each(1);

plan tests => repeat_each() * 309;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: "/" is a 302 to /home/ that keeps the query string, as Express redirects: relative, Vary: Accept, a body
--- request eval
["GET /", "GET /?a=1&b=%3Cx%3E", "HEAD /", "GET /?"]
--- error_code eval
[302, 302, 302, 302]
--- response_headers eval
["Location: /home/\nVary: Accept\nContent-Type: text/plain; charset=utf-8",
 "Location: /home/?a=1&b=%3Cx%3E",
 "Location: /home/\nContent-Length: 28",
 "Location: /home/?"]
--- response_body eval
["Found. Redirecting to /home/", "Found. Redirecting to /home/?a=1&b=%3Cx%3E", "",
 "Found. Redirecting to /home/?"]



=== TEST 2: "/x" without a slash: jPulse's not-found redirect (its rule 11), even when x/index.shtml exists; the message has the URL as sent, query included
--- user_files eval
[["s/site/sp ace/index.shtml", "SPACE\n"], ["s/site/q?x/index.shtml", "QMARK\n"]]
--- request eval
["GET /about", "GET /about?a=1&b=2", "GET /only", "GET /home",
 "GET /sp%20ace", "GET /q%3Fx?a=1"]
--- error_code eval
[302, 302, 302, 302, 302, 302]
--- response_headers eval
["Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fabout&code=404",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fabout%3Fa%3D1%26b%3D2&code=404",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fonly&code=404",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fhome&code=404",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fsp%2520ace&code=404",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fq%253Fx%3Fa%3D1&code=404"]



=== TEST 3: "/x/" renders x/index.shtml; the first root that has it wins
--- request eval
["GET /about/", "GET /only/", "GET /fwonly/", "GET /about/index.shtml"]
--- response_body eval
["SITE-ABOUT Demo\n", "PLUGIN-ONLY Demo\n", "FW-FWONLY\n", "SITE-ABOUT Demo\n"]



=== TEST 4: a page: includes (site's footer over plugin's and framework's), i18n, #each over app config, the context
--- request
GET /home/
--- response_headers
Content-Type: text/html; charset=utf-8
!Last-Modified
--- response_body eval
qq{<html lang="en" data-theme="light">
<head><title>Welcome - Demo</title></head>

<h1>Welcome</h1>
<p>Hello from <b>Demo</b></p>
<nav>[0:Home=/home/^][1:About=/about/][2:Plugin=/only/\$]</nav>
<p>user=? auth=false admin=false</p>
<p>site={} app=Demo Site</p>
<p>hidden=[||||||]</p>
<p>allowed=[12|{"p":1}|light]</p>
<footer>SITE-FOOTER Demo</footer>

</html>
}



=== TEST 5: appConfig is filtered for anonymous users
--- request
GET /dump/
--- response_body_unlike
SECRET
--- response_body_like
"navigation":\[\{"url":"/home/"



=== TEST 6: url.* from the request (escaped), timezone from a sane cookie, else the server's TZ
--- main_config
env TZ=Asia/Tokyo;
--- request eval
["GET /ctx/?q=%3Cb%3E%22'&z=a+b%26c",
 "GET /ctx/",
 "GET /ctx/?z=1",
 "GET /ctx/"]
--- more_headers eval
["Host: example.org:8443\nCookie: timezone=Europe/Berlin",
 "Cookie: a=1; timezone=America/Argentina/Buenos_Aires; b=2",
 "Cookie: timezone=<script>",
 ""]
--- response_body eval
["url=http://example.org:8443|http|example.org|8443|/ctx/|?q=%3Cb%3E%22&#39;&amp;z=a+b%26c|&lt;b&gt;&quot;&#39;|a b&amp;c\ntz=Europe/Berlin\n$main::Anon",
 "url=http://localhost|http|localhost||/ctx/|||\ntz=America/Argentina/Buenos_Aires\n$main::Anon",
 "url=http://localhost|http|localhost||/ctx/|?z=1||1\ntz=Asia/Tokyo\n$main::Anon",
 "url=http://localhost|http|localhost||/ctx/|||\ntz=Asia/Tokyo\n$main::Anon"]



=== TEST 7: url.hostname and url.port of an IPv6 literal Host (Express: no port)
--- request
GET /ctx/
--- more_headers
Host: [::1]:8443
--- response_body_like
\Aurl=http://\[::1\]:8443\|http\|\[::1\]\|\|/ctx/\|\|\|\n



=== TEST 8: translations and lang of app.json's utils.i18n.default
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/s/site $TEST_NGINX_HTML_DIR/s/plugin $TEST_NGINX_HTML_DIR/s/fw;
    jpulse_config $TEST_NGINX_HTML_DIR/de/app.json;
    jpulse_i18n_dir $TEST_NGINX_HTML_DIR/s/i18n;
--- user_files eval
[["de/app.json", '{"utils":{"i18n":{"default":"de"},"theme":{"default":"dark"}},"app":{"site":{"shortName":"DE"}}}'],
 ["s/fw/lang/index.shtml", "<html {{appConfig.system.htmlAttrs}}><h1>{{i18n.home.title}}</h1><p>{{i18n.home.greet}}</p><p>{{i18n.home.nope}}</p>\n"]]
--- request
GET /lang/
--- response_body
<html lang="de" data-theme="dark"><h1>Willkommen</h1><p>Hallo</p><p>home.nope</p>



=== TEST 9: append mode: framework, then site, then plugins, one newline between parts and none after the last, then expanded
--- request eval
["GET /jpulse-common.js", "GET /jpulse-common.css", "GET /jpulse-fwonly.js",
 "GET /jpulse-siteonly.css", "GET /jpulse-none.js"]
--- error_code eval
[200, 200, 200, 200, 404]
--- response_headers eval
["Content-Type: application/javascript; charset=utf-8",
 "Content-Type: text/css; charset=utf-8",
 "Content-Type: application/javascript; charset=utf-8",
 "Content-Type: text/css; charset=utf-8",
 "Content-Type: text/html; charset=utf-8"]
--- response_body eval
["/* fw Demo */\n/* site /jpulse-common.js */\n\n/* plugin */\n",
 "/* fw css */\n.site{}",
 "fw only",
 ".s{}",
 "<h1>E404</h1><p class=\"msg\">Page not found: /jpulse-none.js</p><p class=\"q\"></p><p class=\"path\">/jpulse-none.js</p>\n"]



=== TEST 10: default content types of expanded files
--- request eval
["GET /ct/a.shtml", "GET /ct/a.tmpl", "GET /ct/a.html", "GET /ct/a.css",
 "GET /ct/a.js", "GET /ct/a.svg"]
--- response_headers eval
["Content-Type: text/html; charset=utf-8",
 "Content-Type: text/html; charset=utf-8",
 "Content-Type: text/html; charset=utf-8",
 "Content-Type: text/css; charset=utf-8",
 "Content-Type: application/javascript; charset=utf-8",
 "Content-Type: image/svg+xml; charset=utf-8"]
--- response_body eval
["shtml Demo", "tmpl Demo", "html Demo", ".x{} /* Demo */",
 "var s = \"Demo\";", "<svg>Demo</svg>"]



=== TEST 11: raw files: byte for byte, default types, Express's weak ETag and no Last-Modified (304 on If-None-Match only); site root wins
--- pre_request
utime 1700000000, 1700000000, "$main::Html/s/fw/img/logo.png";
utime 1600000000, 1600000000, "$main::Html/s/fw/data/info.json";
--- request eval
["GET /img/logo.png", "GET /data/info.json", "GET /img/a.gif",
 "GET /img/a.ico", "GET /img/a.jpg", "GET /img/a.jpeg", "GET /img/a.webp",
 "GET /img/over.png", "GET /img/logo.png"]
--- more_headers eval
["", "", "", "", "", "", "", "", "If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT",
 "If-None-Match: " . main::etag($main::Png)]
--- error_code eval
[200, 200, 200, 200, 200, 200, 200, 200, 200, 304]
--- response_headers eval
["Content-Type: image/png\n!Last-Modified\nETag: " . main::etag($main::Png) . "\nContent-Length: " . length($main::Png),
 "Content-Type: application/json; charset=utf-8\n!Last-Modified\nETag: " . main::etag(qq({"name":"{{app.site.name}}"}\n)),
 "Content-Type: image/gif", "Content-Type: image/x-icon",
 "Content-Type: image/jpeg", "Content-Type: image/jpeg",
 "Content-Type: image/webp", "Content-Type: image/png\nETag: " . main::etag("SITE-PNG"),
 "!Last-Modified", "ETag: " . main::etag($main::Png)]
--- response_body_filters eval
["md5_hex", undef, undef, undef, undef, undef, undef, undef, "md5_hex", undef]
--- response_body eval
[Digest::MD5::md5_hex($main::Png), qq({"name":"{{app.site.name}}"}\n),
 "GIF89a{{x}}", "ICO{{x}}", "JPG{{x}}", "JPEG{{x}}", "WEBP{{x}}", "SITE-PNG",
 Digest::MD5::md5_hex($main::Png), ""]



=== TEST 12: HEAD: the headers of GET, no body (the next response on the connection parses)
--- pipelined_requests eval
["HEAD /about/", "HEAD /img/logo.png", "HEAD /nope/", "HEAD /jpulse-common.css", "GET /about/"]
--- error_code eval
[200, 200, 404, 200, 200]
--- response_headers eval
["Content-Length: 16\nContent-Type: text/html; charset=utf-8",
 "Content-Length: " . length($main::Png) . "\nContent-Type: image/png",
 "Content-Length: " . length(qq{<h1>E404</h1><p class="msg">Page not found: /nope/</p><p class="q"></p><p class="path">/nope/</p>\n}) . "\nContent-Type: text/html; charset=utf-8",
 "Content-Length: 20",
 "Content-Length: 16"]
--- response_body eval
["", "", "", "", "SITE-ABOUT Demo\n"]



=== TEST 13: other methods: jPulse's not-found redirect (its view rules are GET and HEAD), the body discarded
--- request eval
["POST /home/\nx=1", "PUT /about/\nabc", "DELETE /img/logo.png", "OPTIONS /", "PATCH /nope/?a=1\n{}"]
--- error_code eval
[302, 302, 302, 302, 302]
--- response_headers eval
["Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fhome%2F&code=404\n!Allow",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fabout%2F&code=404",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fimg%2Flogo.png&code=404",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2F&code=404",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fnope%2F%3Fa%3D1&code=404"]



=== TEST 14: missing pages: error/index.shtml with 404; url.param is exactly code and msg (the raw path), as in jPulse
--- request eval
["GET /nope/?msg=%3Cscript%3Ealert(1)%3C/script%3E&q=%3Csvg/onload=alert(1)%3E",
 "GET /missing/page.shtml?q=%60%24%7Bx%7D%5C",
 "GET /%3Cscript%3Ealert(1)%3C/script%3E.shtml",
 "GET /img/none.png",
 "GET /dironly/"]
--- error_code eval
[404, 404, 404, 404, 404]
--- response_headers eval
["Content-Type: text/html; charset=utf-8\n!Location",
 "Content-Type: text/html; charset=utf-8",
 "Content-Type: text/html; charset=utf-8",
 "Content-Type: text/html; charset=utf-8",
 "Content-Type: text/html; charset=utf-8"]
--- response_body eval
["<h1>E404</h1><p class=\"msg\">Page not found: /nope/</p><p class=\"q\"></p><p class=\"path\">/nope/</p>\n",
 "<h1>E404</h1><p class=\"msg\">Page not found: /missing/page.shtml</p><p class=\"q\"></p><p class=\"path\">/missing/page.shtml</p>\n",
 "<h1>E404</h1><p class=\"msg\">Page not found: /%3Cscript%3Ealert(1)%3C/script%3E.shtml</p><p class=\"q\"></p><p class=\"path\">/%3Cscript%3Ealert(1)%3C/script%3E.shtml</p>\n",
 "<h1>E404</h1><p class=\"msg\">Page not found: /img/none.png</p><p class=\"q\"></p><p class=\"path\">/img/none.png</p>\n",
 "<h1>E404</h1><p class=\"msg\">Page not found: /dironly/</p><p class=\"q\"></p><p class=\"path\">/dironly/</p>\n"]



=== TEST 15: "/x" without x/index.shtml: the not-found redirect too, never nginx's static files
--- user_files eval
[["leak", "STATIC FILE UNDER THE NGINX ROOT\n"]]
--- request eval
["GET /nope?q=1", "GET /leak", "GET /dironly"]
--- error_code eval
[302, 302, 302]
--- response_headers eval
["Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fnope%3Fq%3D1&code=404",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fleak&code=404",
 "Location: /error/index.shtml?msg=Page%20not%20found%3A%20%2Fdironly&code=404"]
--- response_body_unlike eval
["STATIC", "STATIC", "STATIC"]



=== TEST 16: no error page either: nginx's plain 404
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/n/root;
--- user_files eval
[["n/root/home/index.shtml", "HOME\n"]]
--- request eval
["GET /home/", "GET /nope/", "GET /img/none.png", "GET /jpulse-x.css"]
--- error_code eval
[200, 404, 404, 404]
--- response_body_like eval
["\\AHOME\n\\z", "<center><h1>404 Not Found</h1></center>",
 "<center><h1>404 Not Found</h1></center>",
 "<center><h1>404 Not Found</h1></center>"]



=== TEST 17: app.json controller.view: defaultTemplate, rawExtensions, contentTypes (with or without the dot); a rendered file goes with Express's charset=utf-8 in place of the type's own
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/o/root;
    jpulse_config $TEST_NGINX_HTML_DIR/o/app.json;
--- user_files eval
[["o/app.json", '{"controller":{"view":{"defaultTemplate":"main.shtml",
   "rawExtensions":[".txt","svg"],
   "contentTypes":{".shtml":"text/html; charset=iso-8859-1","css":"text/x-test-css",
                   ".txt":"text/x-test-raw"}}}}'],
 ["o/root/home/main.shtml", "MAIN {{url.pathname}}"],
 ["o/root/home/index.shtml", "INDEX"],
 ["o/root/d/a.txt", "raw {{url.pathname}}"],
 ["o/root/d/a.svg", "<svg>{{url.pathname}}</svg>"],
 ["o/root/d/a.css", "/* {{url.pathname}} */"],
 ["o/root/d/a.json", "{\"p\":\"{{url.pathname}}\"}"]]
--- request eval
["GET /home/", "GET /d/a.txt", "GET /d/a.svg", "GET /d/a.css", "GET /d/a.json", "GET /home/index.shtml"]
--- error_code eval
[200, 200, 200, 200, 200, 200]
--- response_headers eval
["Content-Type: text/html; charset=utf-8",
 "Content-Type: text/x-test-raw\n!Last-Modified",
 "Content-Type: image/svg+xml; charset=utf-8\n!Last-Modified",
 "Content-Type: text/x-test-css; charset=utf-8",
 "Content-Type: application/json; charset=utf-8",
 "Content-Type: text/html; charset=utf-8"]
--- response_body_like eval
["\\AMAIN /home/\\z", "\\Araw \\{\\{url.pathname\\}\\}\\z",
 "\\A<svg>\\{\\{url.pathname\\}\\}</svg>\\z", "\\A/\\* /d/a.css \\*/\\z",
 "\\A\\{\"p\":\"/d/a.json\"\\}\\z", "\\AINDEX\\z"]



=== TEST 18: include jail: no "..", no absolute path, no symlink out of a root
--- user_files eval
[["outside/secret.tmpl", "TOP-SECRET\n"],
 ["j/root/jail/index.shtml",
  "A[{{file.include \"../outside/secret.tmpl\"}}]\n"
  . "B[{{file.include \"jail/../../outside/secret.tmpl\"}}]\n"
  . "C[{{file.include \"$ENV{TEST_NGINX_HTML_DIR}/outside/secret.tmpl\"}}]\n"
  . "D[{{file.include \"link.tmpl\"}}]\n"
  . "E[{{file.include \"linkdir/secret.tmpl\"}}]\n"
  . "F[{{file.include \"..%2foutside/secret.tmpl\"}}]\n"
  . "G[{{file.exists \"link.tmpl\"}}]\n"
  . "H[{{file.include \"jail/ok.tmpl\"}}]\n"],
 ["j/root/jail/ok.tmpl", "inside"]]
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/j/root;
--- pre_request
symlink "$main::Html/outside/secret.tmpl", "$main::Html/j/root/link.tmpl";
symlink "$main::Html/outside", "$main::Html/j/root/linkdir";
--- request eval
["GET /jail/", "GET /link.tmpl", "GET /linkdir/secret.tmpl"]
--- error_code eval
[200, 404, 404]
--- response_body_unlike eval
["TOP-SECRET", "TOP-SECRET", "TOP-SECRET"]
--- response_body_like eval
["\\AA\\[<!-- Error: [^\\n]*Prohibited path in include: [^\\n]* -->\\]\\nB\\[<!-- Error: [^\\n]*Prohibited path in include: [^\\n]* -->\\]\\nC\\[<!-- Error: [^\\n]*Prohibited path in include: [^\\n]* -->\\]\\nD\\[<!-- Error: [^\\n]* -->\\]\\nE\\[<!-- Error: [^\\n]* -->\\]\\nF\\[<!-- Error: [^\\n]* -->\\]\\nG\\[false\\]\\nH\\[inside\\]\\n\\z",
 "", ""]



=== TEST 19: default check interval (1s): an edit shows after it (not before), a new page and a config edit too
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/e1/root;
    jpulse_config $TEST_NGINX_HTML_DIR/e1/app.json;
--- user_files eval
[["e1/app.json", '{"app":{"name":"One"}}'],
 ["e1/root/page/index.shtml", "v1 {{app.name}}\n"]]
--- pre_request
$main::Seen = main::get('/page/');
main::put('e1/root/page/index.shtml', "v2 (edited) {{app.name}}\n");
$main::Seen .= main::get('/page/');
main::put('e1/app.json', '{"app":{"name":"Two!"}}');
$main::Seen .= substr(main::get('/new/'), 0, 4) . "\n";
mkdir "$main::Html/e1/root/new";
main::put('e1/root/new/index.shtml', "new page\n");
Time::HiRes::sleep(1.1);
$main::Seen .= main::get('/new/');
--- request
GET /page/
--- response_body_filters eval
\&main::seen_then
--- response_body
200 v1 One
200 v1 One
404 
200 new page
final: v2 (edited) Two!



=== TEST 20: check interval 0: the next request sees a page, config or translation edit; broken config and translations are logged once, the last good kept
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/e0/site $TEST_NGINX_HTML_DIR/e0/root;
    jpulse_config $TEST_NGINX_HTML_DIR/e0/app.json;
    jpulse_i18n_dir $TEST_NGINX_HTML_DIR/e0/i18n;
    jpulse_template_check_interval 0;
    jpulse_metrics_zone jpulse 1m;
--- user_files eval
[["e0/app.json", '{"app":{"name":"One"}}'],
 ["e0/i18n/en.json", '{"t":"hello"}'],
 ["e0/root/page/index.shtml", "v1 {{app.name}} {{i18n.t}}\n"],
 ["e0/root/error/index.shtml", "E{{url.param.code}} {{app.name}}\n"],
 ["e0/root/jpulse-x.js", "fw1"],
 ["e0/site/.keep", ""]]
--- pre_request
main::snapshot();
$main::Seen = main::get('/page/');
main::put('e0/root/page/index.shtml', "v2 {{app.name}} {{i18n.t}}\n");
$main::Seen .= main::get('/page/');
main::put('e0/app.json', '{"app":{"name":"Two"}}');
$main::Seen .= main::get('/page/');
main::put('e0/i18n/en.json', '{"t":"hi there"}');
$main::Seen .= main::get('/page/');
main::put('e0/app.json', "{\n  \"app\": {\"name\": \"Three\"},\n  oops\n}\n");
main::put('e0/i18n/en.json', "{\n\"t\": }");
$main::Seen .= main::get('/page/');
$main::Seen .= main::get('/page/');
mkdir "$main::Html/e0/site/page";
main::put('e0/site/page/index.shtml', "site {{app.name}}\n");
$main::Seen .= main::get('/page/');
unlink "$main::Html/e0/site/page/index.shtml";
$main::Seen .= main::get('/page/');
unlink "$main::Html/e0/root/page/index.shtml";
$main::Seen .= main::get('/page/');
$main::Seen .= main::get('/jpulse-x.js') . "\n";
main::put('e0/site/jpulse-x.js', "site1");
$main::Seen .= main::get('/jpulse-x.js') . "\n";
main::put('e0/root/jpulse-x.js', "fw22");
$main::Seen .= main::get('/jpulse-x.js') . "\n";
--- request
GET /metrics
--- response_body_filters eval
\&main::seen_errors
--- response_body
200 v1 One hello
200 v2 One hello
200 v2 Two hello
200 v2 Two hi there
200 v2 Two hi there
200 v2 Two hi there
200 site Two
200 v2 Two hi there
404 E404 Two
200 fw1
200 fw1
site1
200 fw22
site1
errors=2
--- grep_error_log eval
qr/jpulse_config "[^"]*e0\/app.json": line \d+|jpulse i18n "[^"]*e0\/i18n\/en.json": line \d+/
--- grep_error_log_out eval
"jpulse_config \"$ENV{TEST_NGINX_HTML_DIR}/e0/app.json\": line 3\njpulse i18n \"$ENV{TEST_NGINX_HTML_DIR}/e0/i18n/en.json\": line 2\n"



=== TEST 21: a broken edit: the last good page (and include) keeps being served, each error logged once with FILE:LINE:COL
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/e2/root;
    jpulse_template_check_interval 0;
    jpulse_metrics_zone jpulse 1m;
--- user_files eval
[["e2/root/page/index.shtml", "page-v1 {{file.include \"part.tmpl\"}}\n"],
 ["e2/root/part.tmpl", "part-v1"]]
--- pre_request
main::snapshot();
$main::Seen = main::get('/page/');
main::put('e2/root/page/index.shtml', "page-v2\n  " . main::too_deep() . "\n");
$main::Seen .= main::get('/page/');
$main::Seen .= main::get('/page/');
main::put('e2/root/part.tmpl', "part-v2 " . main::too_deep());
$main::Seen .= main::get('/page/');
$main::Seen .= main::get('/page/');
main::put('e2/root/page/index.shtml', "page-v3 {{file.include \"part.tmpl\"}}\n");
$main::Seen .= main::get('/page/');
$main::Seen .= main::get('/page/');
main::put('e2/root/part.tmpl', "part-v3");
$main::Seen .= main::get('/page/');
--- request
GET /metrics
--- response_body_filters eval
\&main::seen_errors
--- response_body
200 page-v1 part-v1
200 page-v1 part-v1
200 page-v1 part-v1
200 page-v1 part-v1
200 page-v1 part-v1
200 page-v3 part-v1
200 page-v3 part-v1
200 page-v3 part-v3
errors=2
--- grep_error_log eval
qr/jpulse template [^ ]+: [^(]+/
--- grep_error_log_out
jpulse template page/index.shtml:2:579: blocks nested deeper than 64 
jpulse template part.tmpl:1:585: blocks nested deeper than 64 



=== TEST 22: a page that never compiled: jPulse's 500 redirect, logged once per version
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/e3/root;
    jpulse_metrics_zone jpulse 1m;
--- user_files eval
[["e3/root/bad/index.shtml", main::too_deep() . "\n"],
 ["e3/root/error/index.shtml", "E{{url.param.code}}\n"]]
--- request eval
["GET /bad/", "GET /bad/", "GET /bad/", "GET /metrics"]
--- error_code eval
[302, 302, 302, 200]
--- response_headers eval
["Location: /error/index.shtml?msg=Internal%20server%20error%3A%20the%20page%20does%20not%20compile&code=500",
 "Location: /error/index.shtml?msg=Internal%20server%20error%3A%20the%20page%20does%20not%20compile&code=500",
 "Location: /error/index.shtml?msg=Internal%20server%20error%3A%20the%20page%20does%20not%20compile&code=500",
 ""]
--- response_body_filters eval
[undef, undef, undef, \&main::seen_errors]
--- response_body_like eval
["\\AFound\\. Redirecting to ", "\\AFound", "\\AFound", "\\Aerrors=1\n\\z"]
--- pre_request
main::snapshot();
$main::Seen = '';
--- grep_error_log eval
qr/jpulse template [^ ]+: [^(]+/
--- grep_error_log_out
jpulse template bad/index.shtml:1:577: blocks nested deeper than 64 



=== TEST 23: metrics: renders, L1 hits and misses, handler "render" (the
second /about/ is the kept rendered page: a hit, no render; /img/over.png
first asks whether img/index.shtml makes /img/ a single-page app: a miss)
--- request eval
["GET /about/", "GET /about/", "GET /nope/", "GET /img/over.png", "GET /metrics"]
--- error_code eval
[200, 200, 404, 200, 200]
--- response_body_filters eval
[undef, undef, undef, undef, \&main::template_metrics]
--- pre_request
main::snapshot();
--- response_body eval
["SITE-ABOUT Demo\n", "SITE-ABOUT Demo\n", "<h1>E404</h1><p class=\"msg\">Page not found: /nope/</p><p class=\"q\"></p><p class=\"path\">/nope/</p>\n", "SITE-PNG",
 'jpulse_http_requests_total{handler="render",code="1xx"} 0
jpulse_http_requests_total{handler="render",code="2xx"} 3
jpulse_http_requests_total{handler="render",code="3xx"} 0
jpulse_http_requests_total{handler="render",code="4xx"} 1
jpulse_http_requests_total{handler="render",code="5xx"} 0
jpulse_http_requests_total{handler="render",code="other"} 0
jpulse_template_cache_bytes >0
jpulse_template_cache_evictions_total 0
jpulse_template_cache_hits_total 1
jpulse_template_cache_misses_total 5
jpulse_template_renders_total 2
']



=== TEST 24: L1 byte cap: 64k and many pages: evictions, the gauge stays under the cap, every page still right
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/l1/root;
    jpulse_template_cache_size 64k;
--- user_files eval
[(map { ["l1/root/p$_/index.shtml",
         "page $_ {{url.pathname}}\n{{file.include \"hdr.tmpl\" n=$_}}{{file.include \"inc/i$_.tmpl\"}}"
         . ("<p>filler $_ " . ('x' x 60) . "</p>\n") x 40] } 0 .. 59),
 (map { ["l1/root/inc/i$_.tmpl", "<i>inc $_ " . ('y' x 500) . "</i>\n"] } 0 .. 59),
 ["l1/root/hdr.tmpl", "<h>hdr {{n}}</h>\n"],
 ["l1/root/img/big.png", $main::BigPng]]
--- pre_request
main::snapshot();
my ($ok, $bad) = (0, '');
my $big = main::get('/img/big.png');
$bad .= "big.png differs\n" unless $big eq "200 $main::BigPng";
for my $round (1, 2) {
    for my $i (0 .. 59) {
        my $body = main::get("/p$i/");
        my $want = "200 page $i /p$i/\n<h>hdr $i</h>\n<i>inc $i " . ('y' x 500) . "</i>\n"
                 . ("<p>filler $i " . ('x' x 60) . "</p>\n") x 40;
        if ($body eq $want) { $ok++ }
        else { $bad .= "p$i: " . substr($body, 0, 40) . "\n" }
    }
}
$main::Seen = "ok=$ok\n$bad";
--- request
GET /metrics
--- response_body_filters eval
sub {
    my ($m) = @_;
    my %v = main::prom($m);
    my $bytes = $v{jpulse_template_cache_bytes} // 1e9;
    return $main::Seen
        . "evictions>0=" . (main::delta(\%v, 'jpulse_template_cache_evictions_total') > 0 ? 1 : 0) . "\n"
        . "bytes<=64k=" . ($bytes <= 65536 ? 1 : "0 ($bytes)") . "\n"
        . "renders=" . main::delta(\%v, 'jpulse_template_renders_total') . "\n";
}
--- response_body
ok=120
evictions>0=1
bytes<=64k=1
renders=120



=== TEST 25: jpulse_view_roots at server and location level
--- http_config
    jpulse_metrics_zone jpulse 1m;
--- config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/s/site $TEST_NGINX_HTML_DIR/s/fw;
    location / { jpulse_render; }
    location /v2/ {
        jpulse_view_roots $TEST_NGINX_HTML_DIR/v2root;
        jpulse_render;
    }
--- user_files eval
[["v2root/v2/index.shtml", "V2 [{{app.site.name}}]\n"]]
--- request eval
["GET /about/", "GET /only/", "GET /v2/"]
--- response_body eval
["SITE-ABOUT \n", "FW-ONLY\n", "V2 []\n"]



=== TEST 26: examples/site through nginx: /home/
--- http_config
    jpulse_view_roots $TEST_NGINX_EXAMPLE_SITE/site/webapp/view $TEST_NGINX_EXAMPLE_SITE/webapp/view;
    jpulse_config $TEST_NGINX_EXAMPLE_SITE/app.json;
    jpulse_i18n_dir $TEST_NGINX_EXAMPLE_SITE/webapp/translations;
--- config
    location / { jpulse_render; }
--- request
GET /home/
--- response_headers
Content-Type: text/html; charset=utf-8
--- response_body_like eval
qr{\A<!DOCTYPE html>
<html lang="en" data-theme="light">
<head>
<meta charset="utf-8">
<title>Tide tables - Tides</title>
<link rel="stylesheet" href="/jpulse-common.css\?v=\d{13}">
<link rel="stylesheet" href="/themes/light.css">
.*
  <a class="jp-logo" href="/"><img src="/images/tides-logo.svg" alt="Tides"> Tide Tables of the North Sea</a>
  <nav>
    <a href="/home/" class="active">Home</a>
    <a href="/about/">About</a>
    <a href="/error/">Status</a>
  </nav>
  <a href="/auth/login.shtml">Sign in</a>
.*
  <h1>Tide tables</h1>
  <p class="greeting">Hello sailor, welcome to <b>Tides</b>.</p>
.*<section class="features" aria-label="3 features">
.*<div class="feature feature-gauge"> <span class="n">1</span> <h3>Live gauges</h3> </div> 
.*<div class="feature feature-bell"> <span class="n">3</span> <h3>Harbour notices</h3> </div> 
.*<p v-if="loaded">\{\{ liveLevel \}\} \{\{ unit \}\}</p>
.*  © 2026 Example Harbour Office &middot; jPulse 1.7.17
.*    path: "/home/"
.*</html>
\z}s
--- response_body_unlike
<!-- Error



=== TEST 27: examples/site through nginx: /about/ (site layer), the 404 page, append-mode css
--- http_config
    jpulse_view_roots $TEST_NGINX_EXAMPLE_SITE/site/webapp/view $TEST_NGINX_EXAMPLE_SITE/webapp/view;
    jpulse_config $TEST_NGINX_EXAMPLE_SITE/app.json;
    jpulse_i18n_dir $TEST_NGINX_EXAMPLE_SITE/webapp/translations;
--- config
    location / { jpulse_render; }
--- request eval
["GET /about/", "GET /nope/?redirect=%60%3B%3C/script%3E", "GET /about", "GET /jpulse-common.css"]
--- error_code eval
[200, 404, 302, 200]
--- response_body_like eval
[qr{<title>About - Tides</title>.*<a href="/about/" class="active">About</a>.*<h1>About</h1>\n  <p>Maintained by the harbour office since 2026-11-20.</p>\n  <dl><dt>Tides</dt><dd>0.3.0 \(2026-11-20\)</dd></dl>.*path: "/about/"}s,
 qr{<h1>Something went wrong \(404\)</h1>.*<p class="msg">Page not found: /nope/</p>.*<script>const back = ``;</script>}s,
 "",
 qr{\S}]
--- response_body_unlike eval
["<!-- Error", "`;</script>`;", "<!-- Error", "\\{\\{"]



=== TEST 28: config error: jpulse_config that is not JSON names the line and column
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/s/fw;
    jpulse_config $TEST_NGINX_HTML_DIR/bad1.json;
--- config
    location / { jpulse_render; }
--- user_files eval
[["bad1.json", "{\n  \"app\": {\n    \"name\": \"x\",\n  }\n}\n"]]
--- must_die
--- error_log eval
[qr/\[emerg\].*jpulse_config "[^"]*bad1\.json": line 4, column \d+/]



=== TEST 29: config error: jpulse_config that is JSON but not an object
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/s/fw;
    jpulse_config $TEST_NGINX_HTML_DIR/bad2.json;
--- config
    location / { jpulse_render; }
--- user_files eval
[["bad2.json", "[1, 2]\n"]]
--- must_die
--- error_log eval
[qr/\[emerg\].*jpulse_config "[^"]*bad2\.json": line 1, column 1: not a JSON object/]



=== TEST 30: config error: a missing jpulse_config file
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/s/fw;
    jpulse_config $TEST_NGINX_HTML_DIR/no-such.json;
--- config
    location / { jpulse_render; }
--- must_die
--- error_log eval
[qr/\[emerg\].*jpulse_config.*no-such\.json/]



=== TEST 31: config error: jpulse_render without jpulse_view_roots
--- http_config
--- config
    location / { jpulse_render; }
--- must_die
--- error_log
"jpulse_render" needs "jpulse_view_roots"



=== TEST 32: config error: a view root that is a file
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/s/site $TEST_NGINX_HTML_DIR/s/app.json;
--- config
    location / { jpulse_render; }
--- must_die
--- error_log eval
[qr/\[emerg\].*jpulse_view_roots: "[^"]*s\/app\.json" is not a directory/]



=== TEST 33: config error: a missing view root
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/no-such-dir $TEST_NGINX_HTML_DIR/s/fw;
--- config
    location / { jpulse_render; }
--- must_die
--- error_log eval
[qr/\[emerg\].*jpulse_view_roots: "[^"]*no-such-dir" is not a directory/]



=== TEST 34: config error: jpulse_template_cache_size below 64k
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/s/fw;
    jpulse_template_cache_size 63k;
--- config
    location / { jpulse_render; }
--- must_die
--- error_log
jpulse_template_cache_size must be at least 64k



=== TEST 35: jpulse_template_cache_size of exactly 64k is fine
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/s/site $TEST_NGINX_HTML_DIR/s/fw;
    jpulse_config $TEST_NGINX_HTML_DIR/s/app.json;
    jpulse_template_cache_size 64k;
--- request
GET /about/
--- response_body
SITE-ABOUT Demo



=== TEST 36: a rendered page is kept when nothing in it depends on the
request (anonymous, no url.*, no user.timezone, no clock): once rendered,
served as it is until the check interval or an invalidation; pages that
read the request are rendered every time
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/oc/root;
    jpulse_template_check_interval 1h;
--- user_files eval
[["oc/root/plain/index.shtml", "plain {{file.include \"inc.tmpl\"}}\n"],
 ["oc/root/inc.tmpl", "I"],
 ["oc/root/param/index.shtml", "param {{url.param.q}}\n"],
 ["oc/root/tz/index.shtml", "tz {{user.timezone}}\n"],
 ["oc/root/clock/index.shtml", "{{#if (date.now)}}clock{{/if}}\n"],
 ["oc/root/nav/index.shtml", "nav {{url.pathname}}\n"]]
--- pre_request
main::snapshot();
my @r;
push @r, main::get('/plain/') for 1 .. 3;
push @r, main::get('/plain/', 'Accept: text/html');
push @r, main::get('/param/?q=a'), main::get('/param/?q=b');
push @r, main::get('/tz/', 'Cookie: timezone=Europe/Berlin'),
         main::get('/tz/', 'Cookie: timezone=Asia/Tokyo');
push @r, main::get('/clock/') for 1 .. 2;
# only the URL without its query: kept per URL, as nginx normalized it
push @r, main::get('/nav/'), main::get('/nav/?q=1');
push @r, main::get('/nav/index.shtml') for 1 .. 2;
push @r, main::get('/na%76/') for 1 .. 2;
$main::Seen = join '', @r;
--- request
GET /metrics
--- response_body_filters eval
sub {
    my %after = main::prom($_[0]);
    return $main::Seen . "renders="
           . main::delta(\%after, 'jpulse_template_renders_total') . "\n";
}
--- response_body
200 plain I
200 plain I
200 plain I
200 plain I
200 param a
200 param b
200 tz Europe/Berlin
200 tz Asia/Tokyo
200 clock
200 clock
200 nav /nav/
200 nav /nav/
200 nav /nav/index.shtml
200 nav /nav/index.shtml
200 nav /na%76/
200 nav /na%76/
renders=11
