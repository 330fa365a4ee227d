# nginx's filters on what jpulse_render sends (issue 10, item 9): the
# Content-Type is set as nginx's own modules set it, the MIME type alone
# in content_type_len (what gzip_types, sub_filter_types, ssi_types and
# charset_types look up) and the charset apart, which the header filter
# appends once. So gzip, sub_filter, ssi and charset apply to rendered
# pages, append files, raw files and the 404 page, and the header still
# reads "text/html; charset=utf-8", once.
use strict;
use warnings;

use lib 't/lib';
use IO::Uncompress::Gunzip ();
use Test::Nginx::Socket;

our $HttpConfig = <<'CONF';
    jpulse_metrics_zone jpulse 1m;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v $TEST_NGINX_HTML_DIR/fw;
    jpulse_config $TEST_NGINX_HTML_DIR/app.json;
    charset_map koi8-r utf-8 { }
CONF

our $Config = <<'CONF';
    gzip on;
    gzip_types text/css application/javascript application/json;
    gzip_min_length 1;

    location / { jpulse_render; }
    location /sub/ {
        gzip off;
        sub_filter PLACEHOLDER REPLACED;
        jpulse_render;
    }
    location /ssi/ {
        gzip off;
        ssi on;
        jpulse_render;
    }
    location /cs/ {
        gzip off;
        charset utf-8;
        source_charset utf-8;
        jpulse_render;
    }
    location /koi/ {
        gzip off;
        charset koi8-r;
        override_charset on;
        jpulse_render;
    }
    location /api/1/health/ { jpulse_health; }
CONF

our $Home = "<html><p>HOME {{app.site.name}}</p></html>\n";

our @Files = (
    ['app.json', '{"app":{"site":{"name":"Demo"}},'
                 . '"controller":{"view":{"contentTypes":'
                 . '{".txt":"text/plain; charset=\"iso-8859-1\"",'
                 . '".xhtml":"application/xhtml+xml; q=1; charset=utf-8"}}}}'],
    ['v/home/index.shtml', $Home],
    ['v/jpulse-common.css', ".site{}\n"],
    ['fw/jpulse-common.css', ".fw{}\n"],
    ['v/jpulse-common.js', "var site;\n"],
    ['v/data/x.json', '{"raw":true}'],
    ['v/t/a.txt', "TXT\n"],
    ['v/t/a.xhtml', "<x/>\n"],
    ['v/sub/index.shtml', "<p>PLACEHOLDER {{app.site.name}}</p>\n"],
    ['v/ssi/index.shtml', '<p><!--# set var="a" value="SSI-OK" --><!--# echo var="a" --> {{app.site.name}}</p>' . "\n"],
    ['v/cs/index.shtml', "<p>CS</p>\n"],
    ['v/koi/index.shtml', "<p>KOI</p>\n"],
    ['fw/error/index.shtml', "<h1>E{{url.param.code}}</h1>\n"],
);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('user_files', \@Files)
        unless defined $block->user_files;
    $block->set_value('no_error_log', "[error]\n[alert]")
        unless defined $block->no_error_log;
});

sub main::gunzip {
    my ($in) = @_;
    my $out;
    IO::Uncompress::Gunzip::gunzip(\$in => \$out)
        or return "not gzip: $IO::Uncompress::Gunzip::GunzipError\n";
    return $out;
}

repeat_each(1);

# per request: status, body, each header; per block: no_error_log (2)
plan tests => repeat_each() * (22 + 6 + 5 + 5 + 5 + 5 + 8 + 6);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: gzip: a page, append files, a raw file and the 404 page
--- request eval
["GET /home/", "GET /jpulse-common.css", "GET /jpulse-common.js",
 "GET /data/x.json", "GET /nope/"]
--- more_headers
Accept-Encoding: gzip
--- error_code eval
[200, 200, 200, 200, 404]
--- response_headers eval
["Content-Encoding: gzip\nContent-Type: text/html; charset=utf-8",
 "Content-Encoding: gzip\nContent-Type: text/css; charset=utf-8",
 "Content-Encoding: gzip\nContent-Type: application/javascript; charset=utf-8",
 "Content-Encoding: gzip\nContent-Type: application/json; charset=utf-8",
 "Content-Encoding: gzip\nContent-Type: text/html; charset=utf-8"]
--- response_body_filters eval
[(\&main::gunzip) x 5]
--- response_body eval
["<html><p>HOME Demo</p></html>\n", ".fw{}\n\n.site{}\n", "var site;\n",
 '{"raw":true}', "<h1>E404</h1>\n"]



=== TEST 2: without Accept-Encoding: as it is
--- request
GET /home/
--- response_headers
!Content-Encoding
Content-Type: text/html; charset=utf-8
--- response_body
<html><p>HOME Demo</p></html>



=== TEST 3: sub_filter applies to a rendered page
--- request
GET /sub/
--- response_headers
Content-Type: text/html; charset=utf-8
--- response_body
<p>REPLACED Demo</p>



=== TEST 4: ssi applies to a rendered page
--- request
GET /ssi/
--- response_headers
Content-Type: text/html; charset=utf-8
--- response_body
<p>SSI-OK Demo</p>



=== TEST 5: charset utf-8 in the location: one charset, not two
--- request
GET /cs/
--- response_headers
Content-Type: text/html; charset=utf-8
--- response_body
<p>CS</p>



=== TEST 6: charset koi8-r with override_charset: the charset filter takes utf-8 as the source and converts
--- request
GET /koi/
--- response_headers
Content-Type: text/html; charset=koi8-r
--- response_body
<p>KOI</p>



=== TEST 7: contentTypes from the config: Express's charset=utf-8 in place of the type's own, other parameters kept as they are
--- request eval
["GET /t/a.txt", "GET /t/a.xhtml"]
--- response_headers eval
["Content-Type: text/plain; charset=utf-8",
 "Content-Type: application/xhtml+xml; q=1; charset=utf-8"]
--- response_body eval
["TXT\n", "<x/>\n"]



=== TEST 8: JSON envelopes: gzip and one charset
--- request
GET /api/1/health/status
--- more_headers
Accept-Encoding: gzip
--- response_headers
Content-Encoding: gzip
Content-Type: application/json; charset=utf-8
--- response_body_filters eval
[\&main::gunzip]
--- response_body_like
^\{"success":true,"message":"jPulse Framework health status"
