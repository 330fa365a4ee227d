# jpulse_dashboard's page: every instance of the cluster view (this nginx
# live, another nginx and a cachectl daemon from their heartbeats in
# Redis), the template generations (<ns>gen), cachectl's last publish and
# refused files (its status record), the sessions count; CSP-friendly (no
# inline script, style or event handler); through gzip; and without Redis,
# this instance alone. Keep-alive throughout.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use GatesTest ();
use DashboardTest ();
use IO::Uncompress::Gunzip ();
use Time::HiRes ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our %C = GatesTest::cast($Redis, $DashboardTest::NS);

# the page without its comment (which names what it does not do)
sub main::page_body {
    my ($b) = @_;
    $b =~ s/<!--.*?-->//gs;
    return $b;
}

# what a CSP without 'unsafe-inline' would block: lines that show it
sub main::inline {
    my ($b) = @_;
    $b = main::page_body($b);
    my @bad;
    push @bad, "script: $1" while $b =~ /(<script(?![^>]*\bsrc=)[^>]*>)/gi;
    push @bad, "style element: $1" while $b =~ /(<style[^>]*>)/gi;
    push @bad, "style attribute: $1" while $b =~ /(\sstyle\s*=[^>]*)/gi;
    push @bad, "handler: $1" while $b =~ /(\son[a-z]+\s*=[^>]*)/gi;
    push @bad, "javascript: URL" if $b =~ /javascript:/i;
    return join("\n", @bad, 'inline: ' . scalar(@bad)) . "\n";
}

# the rows of the instances table: kind, host, name, rpm
sub main::rows {
    my ($b) = @_;
    my $out = '';
    my ($self) = $b =~ /data-self="([^"]+)"/;
    while ($b =~ m{<tr data-id="([^"]*)" data-kind="([^"]*)">(.*?)</tr>}gs) {
        my ($id, $kind, $tr) = ($1, $2, $3);
        my %f;
        $f{$1} = $2 while $tr =~ m{<td data-field="(\w+)"[^>]*>(.*?)</td>}gs;
        $f{$_} =~ s/<[^>]+>//g for keys %f;
        if ($id eq $self) {
            $id = 'SELF';
            $f{name} = 'SELF';
        }
        $f{host} = 'HOST' if $id eq 'SELF';
        $out .= "$kind $id host=$f{host} name=$f{name} rpm=$f{rpm} "
              . "cache=$f{cacheHitRate} bytes=$f{bytesOut} "
              . "sessions=$f{sessions} redis=$f{redis}\n";
    }
    return $out;
}

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config',
                      DashboardTest::http_config($Redis->{port},
                                                 $block->http_extra // ''))
        unless defined $block->http_config;
    $block->set_value('config', <<'CONF') unless defined $block->config;
    location = /admin/dashboard { jpulse_dashboard refresh=7s; }
CONF
    $block->set_value('more_headers', "Cookie: $main::C{ada}")
        unless defined $block->more_headers;
    $block->set_value('wait_for_log', "command connection ready\n")
        unless defined $block->wait_for_log;
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]")
        unless defined $block->no_error_log;
});

plan tests => repeat_each() * 58;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: this instance alone (nothing else in Redis)
--- pre_request
DashboardTest::forget($main::Redis);
--- request
GET /admin/dashboard
--- response_body_filters eval
\&main::rows
--- response_body_like
^nginx SELF host=HOST name=SELF rpm=\d+ cache=– bytes=\d+ B sessions=– redis=connected
$



=== TEST 2: another nginx and a cachectl daemon, from their heartbeats
--- pre_request
DashboardTest::forget($main::Redis);
DashboardTest::put_instance($main::Redis, id => '77:100:4242',
    hostname => 'web-2', name => 'web-2:100:4242', rpm => 120,
    hits => 3, misses => 1, bytes => 3 * 1024 * 1024);
DashboardTest::put_instance($main::Redis, id => '77:200:999',
    kind => 'cachectl', hostname => 'web-2', name => 'web-2:200:999',
    sessions => 321, refused => 1);
--- request
GET /admin/dashboard
--- response_body_filters eval
\&main::rows
--- response_body_like
^nginx SELF host=HOST name=SELF rpm=\d+ cache=– bytes=\d+ B sessions=– redis=connected
nginx 77:100:4242 host=web-2 name=web-2:100:4242 rpm=120 cache=75.0% bytes=3.0 MB sessions=– redis=connected
cachectl 77:200:999 host=web-2 name=web-2:200:999 rpm=42 cache=– bytes=– sessions=321 redis=connected
$



=== TEST 3: a jPulse Node instance heard on pub/sub is listed too
--- pre_request
DashboardTest::publish_node($main::Redis);
Time::HiRes::sleep(0.3);
--- request
GET /admin/dashboard
--- response_body_filters eval
\&main::rows
--- response_body_like
^nginx SELF .*
nginx 77:100:4242 .*
cachectl 77:200:999 .*
node 12:0:777 host=app-012 name=app-012:0:777 rpm=12 cache=– bytes=– sessions=– redis=connected
$



=== TEST 4: the tiles: hosts, instances, requests a minute, sessions
--- request
GET /admin/dashboard
--- response_body_like
<span class="v" id="jp-dash-servers">2</span>.*<span class="v" id="jp-dash-instances">3</span>.*<span class="v" id="jp-dash-rpm">\d+</span>.*<span class="v" id="jp-dash-sessions">321</span>



=== TEST 5: generations and cachectl's last publish and refused files
--- pre_request
JPulseTest::redis_command($main::Redis, 'HSET', "$DashboardTest::NS" . 'gen',
                          'tpl', 17, 'cfg', 4);
DashboardTest::put_status($main::Redis, '77:200:999',
    '{"state":"ok","message":"published","lastSync":1795658124448,'
    . '"refused":[{"path":"home/broken.shtml","error":"home/broken.shtml:3:7: '
    . 'unbalanced {{#if}}"}]}');
--- request
GET /admin/dashboard
--- response_body_like
<tr><td>tpl</td><td class="n">17</td></tr>\s*<tr><td>cfg</td><td class="n">4</td></tr>.*<div class="daemon" data-id="77:200:999">\s*<h3><span class="mono">web-2:200:999</span> <span class="st" data-st="ok">ok</span></h3>\s*<p>Last publish: <time>2026-11-26T01:55:24.448Z</time>; up 1h 2m 5s; published</p>.*<caption>1 refused file\(s\).*<tr><td class="mono">home/broken.shtml</td><td>home/broken.shtml:3:7: unbalanced \{\{#if\}\}</td></tr>



=== TEST 6: a daemon whose status record is gone: no refused files known
--- pre_request
JPulseTest::redis_command($main::Redis, 'DEL',
                          "$DashboardTest::NS" . 'cachectl:status:77:200:999');
--- request
GET /admin/dashboard
--- response_body_like
<p>Last publish: none yet; up 1h 2m 5s</p>\s*<p class="ok">No refused files.</p>



=== TEST 7: CSP-friendly: no inline script, style or handler; assets from the page's URI
--- request
GET /admin/dashboard
--- response_body_filters eval
\&main::inline
--- response_body
inline: 0



=== TEST 8: the page points at its own assets and the metrics JSON
--- request
GET /admin/dashboard
--- response_body_like
<link rel="stylesheet" href="/admin/dashboard\?asset=css">\s*<script src="/admin/dashboard\?asset=js" defer></script>.*data-metrics="/api/1/health/metrics" data-refresh="7"



=== TEST 9: through gzip: page and script compressed, keep-alive
--- http_extra
    gzip on;
    gzip_min_length 1;
    gzip_types application/javascript text/css;
--- pipelined_requests eval
["GET /admin/dashboard", "GET /admin/dashboard?asset=js",
 "GET /admin/dashboard?asset=css"]
--- more_headers eval
"Cookie: $main::C{ada}\nAccept-Encoding: gzip"
--- response_headers eval
["Content-Encoding: gzip\nContent-Type: text/html; charset=utf-8",
 "Content-Encoding: gzip", "Content-Encoding: gzip"]
--- response_body_filters eval
[sub { my $b = shift; IO::Uncompress::Gunzip::gunzip(\$b => \my $o); $o },
 sub { my $b = shift; IO::Uncompress::Gunzip::gunzip(\$b => \my $o); $o },
 undef]
--- response_body_like eval
[qr{<h1>Cluster status.*</html>}s, qr{fetch\(metricsUri}, qr{.}s]



=== TEST 10: without Redis no session can be read: the redirect, nothing logged
--- http_config
    jpulse_site_id dash;
    jpulse_mode dev;
    jpulse_metrics_zone jpulse 1m;
    jpulse_session on;
    jpulse_session_secret gates-secret-of-the-tests;
--- wait_for_log
--- request
GET /admin/dashboard
--- error_code: 302
--- response_headers
Location: /error/index.shtml?msg=Authentication%20required&code=401
