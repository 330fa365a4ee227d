# jpulse_dashboard escapes everything it writes: instance names, host
# names, states, generations' kinds, refused file names and their errors
# all come from Redis, where anyone who can write a heartbeat puts them;
# the request's own URI too. The page is rendered in strict mode, the
# script writes with textContent. Keep-alive throughout.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use GatesTest ();
use DashboardTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our %C = GatesTest::cast($Redis, $DashboardTest::NS);

our $Evil = q{<script>alert(1)</script>};
our $Attr = q{"><img src=x onerror=alert(2)>};

# what must never come out raw
sub main::raw {
    my ($b) = @_;
    my @raw;
    push @raw, "script tag: $1" while $b =~ /(<script>alert)/g;
    push @raw, "img tag: $1" while $b =~ /(<img[^>]*>)/g;
    # a quote that ends an attribute early (the handler would follow it)
    push @raw, "quote: $1" while $b =~ /("><img|"\s+onerror=)/g;
    push @raw, "svg: $1" while $b =~ /(<svg\s+onload)/g;
    return join("\n", @raw, 'raw: ' . scalar(@raw)) . "\n";
}

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config',
                      DashboardTest::http_config($Redis->{port}));
    $block->set_value('config', <<'CONF');
    location /admin/dashboard { jpulse_dashboard; }
CONF
    $block->set_value('more_headers', "Cookie: $main::C{ada}");
    $block->set_value('wait_for_log', "command connection ready\n");
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]");
});

plan tests => repeat_each() * 39;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: hostile host, instance and state names of an nginx heartbeat
--- pre_request
DashboardTest::forget($main::Redis);
DashboardTest::put_instance($main::Redis, id => qq{9:100:1$main::Attr},
    hostname => $main::Evil, name => qq{n$main::Attr});
--- pipelined_requests eval
["GET /admin/dashboard", "GET /admin/dashboard"]
--- response_body_filters eval
[\&main::raw, undef]
--- response_body_like eval
[qr{^raw: 0$},
 qr{<tr data-id="9:100:1&quot;&gt;&lt;img src=x onerror=alert\(2\)&gt;" data-kind="nginx">.*<td data-field="host">&lt;script&gt;alert\(1\)&lt;/script&gt;</td>}s]



=== TEST 2: hostile cachectl daemon: its name, state, message, refused files
--- pre_request
DashboardTest::forget($main::Redis);
DashboardTest::put_instance($main::Redis, id => '9:200:7', kind => 'cachectl',
    hostname => 'h', name => qq{c$main::Evil});
DashboardTest::put_status($main::Redis, '9:200:7',
    '{"state":"ok\"><img src=x onerror=alert(3)>","message":"<script>alert(1)</script>",'
    . '"lastSync":1,"refused":[{"path":"a/<script>alert(1)</script>.shtml",'
    . '"error":"</td><img src=x onerror=alert(4)>&amp;"}]}');
--- pipelined_requests eval
["GET /admin/dashboard", "GET /admin/dashboard"]
--- response_body_filters eval
[\&main::raw, undef]
--- response_body_like eval
[qr{^raw: 0$},
 qr{<span class="mono">c&lt;script&gt;alert\(1\)&lt;/script&gt;</span> <span class="st" data-st="ok&quot;&gt;&lt;img src=x onerror=alert\(3\)&gt;">.*; &lt;script&gt;alert\(1\)&lt;/script&gt;</p>.*<td class="mono">a/&lt;script&gt;alert\(1\)&lt;/script&gt;.shtml</td><td>&lt;/td&gt;&lt;img src=x onerror=alert\(4\)&gt;&amp;amp;</td>}s]



=== TEST 3: hostile generation kinds
--- pre_request
DashboardTest::forget($main::Redis);
JPulseTest::redis_command($main::Redis, 'HSET', "$DashboardTest::NS" . 'gen',
                          $main::Evil, '<b>1</b>');
--- request
GET /admin/dashboard
--- response_body_like
<tr><td>&lt;script&gt;alert\(1\)&lt;/script&gt;</td><td class="n">&lt;b&gt;1&lt;/b&gt;</td></tr>



=== TEST 4: the request's URI, as the page links its assets
--- request
GET /admin/dashboard%22%3E%3Cscript%3Ealert(1)%3C/script%3E
--- response_body_filters eval
\&main::raw
--- response_body
raw: 0



=== TEST 5: the same URI, escaped where the page writes it
--- request
GET /admin/dashboard%22%3E%3Cscript%3Ealert(1)%3C/script%3E
--- response_body_like
<link rel="stylesheet" href="/admin/dashboard&quot;&gt;&lt;script&gt;alert\(1\)&lt;/script&gt;\?asset=css">



=== TEST 6: a path that is no UTF-8: the page, its links relative
--- request
GET /admin/dashboard/%FF
--- response_body_like
<link rel="stylesheet" href="\?asset=css">\s*<script src="\?asset=js" defer></script>



=== TEST 7: the script writes with textContent only (no innerHTML, no eval)
--- request
GET /admin/dashboard?asset=js
--- response_body_unlike
innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function
