# jPulse's single-page-app namespaces (its view controller's isSPA): a
# path of two segments or more that does not end in ".shtml" (after "/"
# became "/index.shtml") renders /<ns>/index.shtml when that file, in the
# site or the framework root, has one of the markers in its raw text.
# url.pathname stays the path asked for. The verdict is kept with the
# index page and follows it when it changes.
use strict;
use warnings;

use lib 't/lib';
use IO::Socket::INET ();
use Test::Nginx::Socket;

our $Html = $ENV{TEST_NGINX_HTML_DIR};

our @Site = (
    ['v/site/user/index.shtml',
     "USER {{url.pathname}}|{{url.search}}|{{url.param.q}}\n"
     . "<script>history.pushState({}, '', u); onpopstate = f; // popstate</script>\n"],
    ['v/site/user/settings.tmpl', "SETTINGS\n"],
    ['v/site/user/real.txt', "REAL\n"],
    ['v/fw/docs/index.shtml', "DOCS {{url.pathname}} <script>jPulse.UI.docs.init({})</script>\n"],
    ['v/fw/vue/index.shtml', "<!-- <script src=\"/common/vue-router.min.js\"> -->VUE\n"],
    ['v/fw/vue/templates/index.shtml', "TEMPLATES\n"],
    ['v/fw/hash/index.shtml', "HASH only location.hash, history.pushState without the event\n"],
    ['v/fw/hash/page.txt', "HASH-PAGE\n"],
    ['v/plugin/plug/index.shtml', "PLUG <script src=\"/x/vue-router.js\"></script>\n"],
    ['v/fw/error/index.shtml', "E{{url.param.code}} {{url.param.msg}} {{url.pathname}}\n"],
);

our $Http = <<'CONF';
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v/site $TEST_NGINX_HTML_DIR/v/plugin $TEST_NGINX_HTML_DIR/v/fw;
CONF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('user_files', [@Site, @{ $block->user_files || [] }]);
    $block->set_value('http_config', $Http) unless defined $block->http_config;
    $block->set_value('config', "    location / { jpulse_render; }\n")
        unless defined $block->config;
    $block->set_value('no_error_log', "[error]")
        unless defined $block->no_error_log || defined $block->error_log;
});

sub main::get {
    my ($uri) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT},
                                  Timeout => 3) or return "connect: $!\n";
    print $s "GET $uri HTTP/1.0\r\nHost: localhost\r\n\r\n";
    local $/;
    my $res = <$s> // '';
    my ($head, $body) = split /\r\n\r\n/, $res, 2;
    my ($status) = ($head // '') =~ m{^HTTP/\d\.\d (\d+)};
    return ($status // '???') . ' ' . ($body // '');
}

sub main::put {
    my ($path, $content) = @_;
    open my $f, '>', "$Html/$path.tmp" or die $!;
    print $f $content;
    close $f;
    rename "$Html/$path.tmp", "$Html/$path" or die $!;
}

plan tests => repeat_each() * 45;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: sub-paths of an SPA namespace render its index; url.pathname and the query are the request's
--- request eval
["GET /user/me", "GET /user/foo/bar?q=%3Cb%3E", "GET /docs/api-reference", "GET /vue/todo-demo"]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
["USER /user/me||\n<script>history.pushState({}, '', u); onpopstate = f; // popstate</script>\n",
 "USER /user/foo/bar|?q=%3Cb%3E|&lt;b&gt;\n<script>history.pushState({}, '', u); onpopstate = f; // popstate</script>\n",
 "DOCS /docs/api-reference <script>jPulse.UI.docs.init({})</script>\n",
 "<!-- <script src=\"/common/vue-router.min.js\"> -->VUE\n"]



=== TEST 2: any non-.shtml path under the namespace is the index, served as text/html, even a file that exists
--- request eval
["GET /user/x.js", "GET /user/settings.tmpl", "GET /user/real.txt", "GET /vue/x.png"]
--- error_code eval
[200, 200, 200, 200]
--- response_headers eval
["Content-Type: text/html; charset=utf-8", "Content-Type: text/html; charset=utf-8",
 "Content-Type: text/html; charset=utf-8", "Content-Type: text/html; charset=utf-8"]
--- response_body_like eval
["\\AUSER /user/x\\.js\\|", "\\AUSER /user/settings\\.tmpl\\|", "\\AUSER /user/real\\.txt\\|", "VUE"]



=== TEST 3: not rewritten: a trailing slash, a .shtml sub-path, the namespace itself, a namespace without markers, a plugin's index
--- request eval
["GET /user/foo/", "GET /user/me/", "GET /user/foo.shtml", "GET /vue/templates/",
 "GET /user/", "GET /hash/foo", "GET /hash/page.txt", "GET /plug/foo"]
--- error_code eval
[404, 404, 404, 200, 200, 404, 200, 404]
--- response_body eval
["E404 Page not found: /user/foo/ /user/foo/\n",
 "E404 Page not found: /user/me/ /user/me/\n",
 "E404 Page not found: /user/foo.shtml /user/foo.shtml\n",
 "TEMPLATES\n",
 "USER /user/||\n<script>history.pushState({}, '', u); onpopstate = f; // popstate</script>\n",
 "E404 Page not found: /hash/foo /hash/foo\n",
 "HASH-PAGE\n",
 "E404 Page not found: /plug/foo /plug/foo\n"]



=== TEST 4: the verdict follows the index: markers removed, then added back (check interval 0)
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v/site $TEST_NGINX_HTML_DIR/v/plugin $TEST_NGINX_HTML_DIR/v/fw;
    jpulse_template_check_interval 0;
--- pre_request
my $seen = main::get('/vue/a') . "|";
main::put('v/fw/vue/index.shtml', "PLAIN\n");
$seen .= main::get('/vue/a') . "|";
main::put('v/fw/vue/index.shtml', "VueRouter.createRouter AGAIN\n");
$seen .= main::get('/vue/a');
$main::Seen = $seen;
--- request
GET /vue/
--- response_body_filters eval
sub { $main::Seen . "|" . $_[0] }
--- response_body
200 <!-- <script src="/common/vue-router.min.js"> -->VUE
|404 E404 Page not found: /vue/a /vue/a
|200 VueRouter.createRouter AGAIN
|VueRouter.createRouter AGAIN



=== TEST 5: a site index over a plugin's: the site's text decides
--- user_files eval
[["v/site/plug/index.shtml", "SITE-PLUG history.pushState popstate\n"]]
--- request
GET /plug/deep/link
--- response_body
SITE-PLUG history.pushState popstate
