# R17-dash, the server side: an "if" in the dashboard's location (the
# worker crashed), what the page fetches from Redis and puts in its
# context bounded (status records, generations, strings, rows; the page
# without the records when the render still fails), figures that
# overflow or divide by zero, asset links that a "\" in the path sent to
# another host, and metrics= with a "\". Keep-alive throughout.
use strict;
use warnings;

use lib 't/lib';
use File::Temp ();
use JPulseTest qw(redis_start);
use GatesTest ();
use DashboardTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = $DashboardTest::NS;
our %C = GatesTest::cast($Redis, $NS);

# templates=DIR whose page writes 6 MB per cachectl daemon
our $Own = File::Temp::tempdir('jpulse-t960-XXXXXX', TMPDIR => 1,
                               CLEANUP => 1);
chmod 0755, $Own;
JPulseTest::view_tree($Own, {
    'admin/jpulse-dashboard/index.shtml' =>
        "<p>rows {{instances.length}}</p>\n{{#each cachectl}}"
        . ('y' x (6 * 1024 * 1024)) . '{{/each}}'
        . "<p>records {{records}}</p>\n",
});
$ENV{TEST_NGINX_T960_OWN} = $Own;

# a heartbeat of our own making: instances as given (JSON)
sub main::put_raw {
    my ($id, $instances, $host) = @_;

    $host //= 'raw-host';
    my $r = JPulseTest::redis_command($Redis, 'SET',
        "${NS}metrics:instance:$id",
        qq({"kind":"nginx","hostname":"$host","serverName":"$host",)
        . qq("serverId":7,"ip":"10.0.0.7","uptime":9,"totalProcesses":1,)
        . qq("runningProcesses":1,"instances":$instances}),
        'PX', 600000);
    die "SET heartbeat: $r" unless $r =~ /^\+OK/;

    my $ms = int(time * 1000) + 600000;
    JPulseTest::redis_command($Redis, 'ZADD', "${NS}metrics:registry", $ms,
                              $id);
    JPulseTest::redis_command($Redis, 'PEXPIREAT', "${NS}metrics:registry",
                              $ms);
}

sub main::inst {
    my ($id, %o) = @_;
    return qq({"pid":1,"pm2Id":100,"instanceName":"n-$id",)
        . qq("instanceId":"$id","status":"online",)
        . qq("metrics":{"requestsPerMin":) . ($o{rpm} // 1) . '},'
        . qq("components":{"http":{"stats":{"requests":1,"bytesOut":)
        . ($o{bytes} // 1) . '}},"module":{"stats":'
        . qq({"template_cache_hits":) . ($o{hits} // 1)
        . qq(,"template_cache_misses":) . ($o{misses} // 1) . '}}}}';
}

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config',
                      DashboardTest::http_config($Redis->{port}));
    $block->set_value('config', <<'CONF') unless defined $block->config;
    location = /admin/dashboard { jpulse_dashboard; }
    location = /own { jpulse_dashboard templates=$TEST_NGINX_T960_OWN; }
CONF
    $block->set_value('more_headers', "Cookie: $main::C{ada}")
        unless defined $block->more_headers;
    $block->set_value('wait_for_log', "command connection ready\n");
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]")
        unless defined $block->no_error_log;
});

plan tests => repeat_each() * 63;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an "if" inside the dashboard location (admin): the page
--- config
    location /admin/dashboard {
        jpulse_dashboard;
        if ($arg_x) { set $y 1; }
    }
--- pipelined_requests eval
["GET /admin/dashboard?x=1", "GET /admin/dashboard?x=1&asset=js"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/<main id="jp-dash"/, qr/jp-dash/]



=== TEST 2: one refused path of 17 MB: the record is not fetched, 200
--- pre_request
DashboardTest::forget($main::Redis);
DashboardTest::put_instance($main::Redis, id => '9:200:7', kind => 'cachectl',
    hostname => 'h', name => 'c');
DashboardTest::put_status($main::Redis, '9:200:7',
    '{"state":"ok","refused":[{"path":"' . ('a' x (17*1024*1024))
    . '","error":"x"}]}');
--- request
GET /admin/dashboard
--- error_code: 200
--- response_body_like
data-st="unknown">unknown</span>.*status record larger than 256 KB, not shown
--- response_body_unlike
aaaa



=== TEST 3: a refused path of 100 KB: cut to 512 bytes and an ellipsis
--- pre_request
DashboardTest::forget($main::Redis);
DashboardTest::put_instance($main::Redis, id => '9:200:7', kind => 'cachectl',
    hostname => 'h', name => 'c');
DashboardTest::put_status($main::Redis, '9:200:7',
    '{"state":"ok","refused":[{"path":"' . ('a' x (100*1024))
    . '","error":"x"}]}');
--- request
GET /admin/dashboard
--- error_code: 200
--- response_body_like eval
qr{<td class="mono">a{512}\xe2\x80\xa6</td><td>x</td>}



=== TEST 4: a status record of 200 KB is (its message cut)
--- pre_request
DashboardTest::forget($main::Redis);
DashboardTest::put_instance($main::Redis, id => '9:200:7', kind => 'cachectl',
    hostname => 'h', name => 'c');
DashboardTest::put_status($main::Redis, '9:200:7',
    '{"state":"syncing","message":"' . ('m' x (200*1024)) . '"}');
--- request
GET /admin/dashboard
--- error_code: 200
--- response_body_like eval
qr{data-st="syncing">syncing</span>.*; m{512}\xe2\x80\xa6</p>}s



=== TEST 5: more than 64 generations: their count, none fetched
--- pre_request
DashboardTest::forget($main::Redis);
JPulseTest::redis_command($main::Redis, 'HSET', "${main::NS}gen",
                          map { ("kind$_", $_) } 1 .. 100);
--- request
GET /admin/dashboard
--- error_code: 200
--- response_body_like
100 generations in Redis: too many to show
--- response_body_unlike
kind7



=== TEST 6: a generation's kind and value are cut to 512 bytes
--- pre_request
DashboardTest::forget($main::Redis);
JPulseTest::redis_command($main::Redis, 'HSET', "${main::NS}gen",
                          'k' x 4000, '7' x 4000);
--- request
GET /admin/dashboard
--- error_code: 200
--- response_body_like eval
qr{<tr><td>k{512}\xe2\x80\xa6</td><td class="n">7{512}\xe2\x80\xa6</td></tr>}



=== TEST 7: a string cut on a character's boundary, never inside one
--- pre_request
DashboardTest::forget($main::Redis);
DashboardTest::put_instance($main::Redis, id => '9:200:7', kind => 'cachectl',
    hostname => 'h', name => 'c');
DashboardTest::put_status($main::Redis, '9:200:7',
    '{"state":"ok","message":"a' . ("\xc3\xa9" x 400) . '"}');
--- request
GET /admin/dashboard
--- error_code: 200
--- response_body_like eval
qr{; a(?:\xc3\xa9){255}\xe2\x80\xa6</p>}



=== TEST 8: a heartbeat of 1100 instances: 1024 rows, the rest counted
--- pre_request
DashboardTest::forget($main::Redis);
main::put_raw('9:100:1',
    '[' . join(',', map { main::inst("9:100:x$_") } 1 .. 1100) . ']');
--- request
GET /admin/dashboard
--- error_code: 200
--- response_body_like
<p class="muted" id="jp-dash-more">\d+ more not shown</p>



=== TEST 9: the render fails even so: the page without the records
--- pre_request
DashboardTest::forget($main::Redis);
DashboardTest::put_instance($main::Redis, id => "9:200:$_", kind => 'cachectl',
    hostname => 'h', name => "c$_") for 1 .. 3;
--- request
GET /own
--- error_code: 200
--- response_body_like
^<p>rows \d+</p>\n<p>records false</p>
--- no_error_log
[alert]
[crit]
--- error_log
jpulse_dashboard: render failed: output larger than 16777216 bytes



=== TEST 10: sums that overflow saturate; hits and misses that do not count
--- pre_request
DashboardTest::forget($main::Redis);
main::put_raw('9:100:1', '[' . main::inst('9:100:a',
                                          rpm => '9223372036854775807',
                                          hits => 5, misses => -5) . ']');
main::put_raw('9:100:2', '[' . main::inst('9:100:b',
                                          rpm => '9223372036854775807',
                                          hits => 0, misses => 0) . ']');
main::put_raw('9:100:3', '[' . main::inst('9:100:c', rpm => -50,
                                          hits => '1e300',
                                          misses => '1e300',
                                          bytes => '1e300') . ']');
--- request
GET /admin/dashboard
--- error_code: 200
--- response_body_like eval
qr{id="jp-dash-rpm">922337203685477\d+</span>.*
   <tr\ data-id="9:100:a".*data-field="cacheHitRate"\ class="n">\xe2\x80\x93<.*
   <tr\ data-id="9:100:b".*data-field="cacheHitRate"\ class="n">\xe2\x80\x93<.*
   <tr\ data-id="9:100:c".*data-field="bytesOut"\ class="n">8388608.0\ TB<.*
   data-field="cacheHitRate"\ class="n">50.0%<}sx



=== TEST 11: a "\" in the path (regex location): the asset links relative
--- config
    location ~ /dashboard$ { jpulse_dashboard; }
--- request
GET /%5Cevil.example/admin/dashboard
--- error_code: 200
--- response_body_like
<link rel="stylesheet" href="\?asset=css">\s*<script src="\?asset=js" defer></script>
--- response_body_unlike
evil



=== TEST 12: metrics= with a "\" is refused (a scheme-relative URL)
--- config
    location = /d { jpulse_dashboard metrics=/\evil.example/m; }
--- must_die
--- error_log
invalid jpulse_dashboard parameter "metrics=/\evil.example/m"
--- no_error_log
[alert]
