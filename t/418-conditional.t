# Validators and caching headers of jpulse_render (issue 10, item 10).
#
# - Every answer, a kept page, a page rendered per request, a raw file,
#   the 404 page, gets Express's weak ETag, W/"<length hex>-<27 of
#   base64(SHA-1(body))>" (issue 12): the same in every worker, every
#   instance and in jPulse. No Last-Modified, as jPulse sends none: a
#   render time would differ between workers, and a raw file's time is
#   that of the first root's file, which a newly shadowing older file
#   would not move.
# - nginx's not_modified filter answers If-None-Match on a 200 (304, no
#   body); If-Modified-Since alone never gives a 304.
# - Pages carry jpulse_render_cache_control (default "no-cache"); the 404
#   page and raw files none, like expires and static files; "expires"
#   replaces it.
use strict;
use warnings;

use lib 't/lib';
use Digest::SHA ();
use JPulseTest ();
use Test::Nginx::Socket;

our $Html = $ENV{TEST_NGINX_HTML_DIR};

our $HttpConfig = <<'CONF';
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
    jpulse_template_check_interval 1h;
CONF

our $Config = <<'CONF';
    location / { jpulse_render; }
    location /api/1/cache/ { jpulse_cache_api; }
    location /cc/ {
        jpulse_render_cache_control "public, max-age=60";
        jpulse_render;
    }
    location /none/ {
        jpulse_render_cache_control off;
        jpulse_render;
    }
    location /exp/ {
        expires 1h;
        jpulse_render;
    }
    location /gz/ {
        gzip on;
        gzip_http_version 1.0;
        gzip_min_length 1;
        jpulse_render;
    }
    location /noetag/ {
        etag off;
        jpulse_render;
    }
CONF

our @Files = (
    ['v/home/index.shtml', "<p>HOME v1</p>\n"],
    ['v/q/index.shtml', "<p>Q {{url.param.a}}</p>\n"],
    ['v/nav/index.shtml', "<p>NAV {{url.pathname}}</p>\n"],
    ['v/tz/index.shtml', "TZ {{user.timezone}}\n"],
    ['v/img/a.png', "PNG-BYTES"],
    ['v/cc/index.shtml', "CC\n"],
    ['v/none/index.shtml', "NONE\n"],
    ['v/exp/index.shtml', "EXP\n"],
    ['v/noetag/index.shtml', "NOETAG\n"],
    ['v/gz/index.shtml', "<p>GZ</p>\n"],
    ['v/error/index.shtml', "E{{url.param.code}}\n"],
);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('user_files', \@Files)
        unless defined $block->user_files;
    $block->set_value('no_error_log', "[error]\n[alert]")
        unless defined $block->no_error_log || defined $block->must_die;
});

# A request on its own connection: (status, {headers}, body)
sub main::fetch {
    my ($path, @headers) = @_;
    return JPulseTest::http_get($ENV{TEST_NGINX_SERVER_PORT}, $path,
                                headers => join '', map { "$_\r\n" } @headers);
}

sub main::etag {
    return sprintf('W/"%x-%s"', length $_[0], Digest::SHA::sha1_base64($_[0]));
}

our $Seen = '';
sub main::seen { return $main::Seen }

repeat_each(1);

# status, each header line, each body check, and no_error_log (2) per block
plan tests => repeat_each() * (15 + 4 + 4 + 19 + 6 + 6 + 13 + 11 + 5 + 4 + 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a kept page: Express's weak ETag, stable, no Last-Modified, Cache-Control: no-cache
--- request eval
["GET /home/", "GET /home/", "HEAD /home/"]
--- response_headers eval
["Cache-Control: no-cache\n!Last-Modified", "Cache-Control: no-cache", "Cache-Control: no-cache"]
--- response_headers_like eval
['ETag: W/"f-[A-Za-z0-9+/]{27}"', 'ETag: W/"f-[A-Za-z0-9+/]{27}"', 'ETag: W/"f-[A-Za-z0-9+/]{27}"']
--- response_body eval
["<p>HOME v1</p>\n", "<p>HOME v1</p>\n", ""]



=== TEST 2: If-None-Match: 304 without a body, for the ETag, its strong form or in a list; 200 for another
--- pre_request
my ($s1, $h1) = main::fetch('/home/');
my $etag = $h1->{etag} // 'none';
my @seen = ("first=$s1");
(my $strong = $etag) =~ s{^W/}{};
for my $inm ($etag, $strong, qq{"0000000000000000", $etag}, qq{"0000000000000000"}, '*') {
    my ($s, $h, $b) = main::fetch('/home/', "If-None-Match: $inm");
    push @seen, "$s etag=" . (($h->{etag} // '') eq $etag ? 'same' : 'other')
        . " body=" . length($b) . " cc=" . ($h->{'cache-control'} // '');
}
my ($s, $h, $b) = main::fetch('/home/', "If-None-Match: $etag",
                              "If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT");
push @seen, "with-ims=$s";
$main::Seen = join("\n", @seen) . "\n";
--- request
GET /home/
--- response_body_filters eval
\&main::seen
--- response_body
first=200
304 etag=same body=0 cc=no-cache
304 etag=same body=0 cc=no-cache
304 etag=same body=0 cc=no-cache
200 etag=same body=15 cc=no-cache
304 etag=same body=0 cc=no-cache
with-ims=200



=== TEST 3: a changed page: 200 with a new ETag, which then gives a 304
--- pre_request
my ($s1, $h1) = main::fetch('/home/');
JPulseTest::view_tree("$main::Html/v", { 'home/index.shtml' => "<p>HOME v2</p>\n" });
my ($sr) = JPulseTest::http_get($ENV{TEST_NGINX_SERVER_PORT}, '/api/1/cache/refresh/view',
                                method => 'POST');
my ($s2, $h2, $b2) = main::fetch('/home/', "If-None-Match: $h1->{etag}");
my ($s3) = main::fetch('/home/', "If-None-Match: $h2->{etag}");
$main::Seen = "refresh=$sr\nold-etag=$s2 " . ($h2->{etag} ne $h1->{etag} ? 'new-etag' : 'same-etag')
    . " $b2" . "new-etag=$s3\n";
--- request
GET /home/
--- response_body_filters eval
\&main::seen
--- response_body
refresh=200
old-etag=200 new-etag <p>HOME v2</p>
new-etag=304



=== TEST 4: pages rendered per request get the ETag of their bytes too, and a 304 when it matches
--- request eval
["GET /q/?a=1", "GET /tz/", "GET /q/?a=1", "GET /q/?a=1"]
--- more_headers eval
["", "", 'If-None-Match: "0000000000000000"', "If-None-Match: " . main::etag("<p>Q 1</p>\n")]
--- error_code eval
[200, 200, 200, 304]
--- response_headers eval
["ETag: " . main::etag("<p>Q 1</p>\n") . "\n!Last-Modified\nCache-Control: no-cache",
 "ETag: " . main::etag("TZ UTC\n") . "\n!Last-Modified\nCache-Control: no-cache",
 "ETag: " . main::etag("<p>Q 1</p>\n"), ""]
--- response_body eval
["<p>Q 1</p>\n", "TZ UTC\n", "<p>Q 1</p>\n", ""]



=== TEST 5: a page kept per URL (it reads url.pathname only) has one, whatever the query
--- request eval
["GET /nav/", "GET /nav/?x=1"]
--- response_headers eval
["ETag: " . main::etag("<p>NAV /nav/</p>\n"), "ETag: " . main::etag("<p>NAV /nav/</p>\n")]
--- response_body eval
["<p>NAV /nav/</p>\n", "<p>NAV /nav/</p>\n"]



=== TEST 6: the 404 page: Express's ETag, and no Cache-Control (like expires: a "public, max-age" must not keep a 404 in shared caches)
--- request
GET /nope/
--- error_code: 404
--- response_headers eval
"ETag: " . main::etag("E404\n") . "\n!Cache-Control"
--- response_body
E404



=== TEST 7: raw files: Express's ETag of their bytes, no Last-Modified, no Cache-Control; 304 on If-None-Match only
--- pre_request
utime 1700000000, 1700000000, "$main::Html/v/img/a.png";
--- request eval
["GET /img/a.png", "GET /img/a.png", "GET /img/a.png", "GET /img/a.png"]
--- more_headers eval
["", "If-None-Match: " . main::etag("PNG-BYTES"), "If-Modified-Since: Tue, 14 Nov 2023 22:13:20 GMT",
 "If-Modified-Since: Tue, 14 Nov 2023 22:13:21 GMT"]
--- error_code eval
[200, 304, 200, 200]
--- response_headers eval
["ETag: " . main::etag("PNG-BYTES") . "\n!Last-Modified\n!Cache-Control", "", "", ""]
--- response_body eval
["PNG-BYTES", "", "PNG-BYTES", "PNG-BYTES"]



=== TEST 8: jpulse_render_cache_control: a value, off, and expires replacing it
--- request eval
["GET /cc/", "GET /none/", "GET /exp/"]
--- response_headers eval
["Cache-Control: public, max-age=60", "!Cache-Control", "Cache-Control: max-age=3600"]
--- response_body eval
["CC\n", "NONE\n", "EXP\n"]



=== TEST 9: etag off
--- request
GET /noetag/
--- response_headers
!ETag
--- response_body
NOETAG



=== TEST 10: gzip keeps the weak ETag, which still gives a 304
--- pre_request
my ($s1, $h1) = main::fetch('/gz/', 'Accept-Encoding: gzip');
my ($s2, $h2, $b2) = main::fetch('/gz/', 'Accept-Encoding: gzip', "If-None-Match: $h1->{etag}");
$main::Seen = "$s1 " . ($h1->{'content-encoding'} // 'identity')
    . ' ' . ($h1->{etag} =~ m{^W/"[0-9a-f]+-[A-Za-z0-9+/]{27}"$} ? 'weak' : "?$h1->{etag}")
    . "\n$s2 body=" . length($b2) . "\n";
--- request
GET /gz/
--- response_body_filters eval
\&main::seen
--- response_body
200 gzip weak
304 body=0



=== TEST 11: jpulse_render_cache_control takes one header value
--- config
    location / {
        jpulse_render_cache_control "";
        jpulse_render;
    }
--- must_die
--- error_log
invalid value "" in "jpulse_render_cache_control"
