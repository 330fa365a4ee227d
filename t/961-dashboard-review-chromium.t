# R17-dash, the script (t/950's harness: Debian's chromium, headless,
# --dump-dom once the script ran): instance ids that are names of
# Object.prototype's members, a null instance, figures that overflow or
# divide by zero, rows gone from the cluster. The metrics JSON the script
# reads is a fixed answer of a location here (metrics=), so every tick
# sees the same cluster. Skipped without chromium (scripts/deps.sh).
use strict;
use warnings;

use lib 't/lib';

use JPulseTest qw(redis_start);
use GatesTest ();
use DashboardTest ();
use Test::Nginx::Socket;

plan skip_all => 'chromium is not installed (scripts/deps.sh)'
    unless $DashboardTest::Chromium;

our $Redis = redis_start();
our %C = GatesTest::cast($Redis, $DashboardTest::NS);

$ENV{TEST_NGINX_T961_COOKIE} = $C{ada};

# a metrics answer of one server with these instances (JSON)
sub main::answer {
    my (@inst) = @_;
    my $a = '{"success":true,"data":{"statistics":{},"servers":'
            . '[{"hostname":"h","instances":[' . join(',', @inst) . ']}]}}';
    $a =~ s/'/\\'/g;
    return $a;
}

sub main::inst {
    my ($id, %o) = @_;
    return qq({"pm2Id":100,"instanceName":"n","instanceId":"$id",)
        . qq("status":"online","metrics":{"requestsPerMin":)
        . ($o{rpm} // 1) . '},"components":{"module":{"stats":'
        . qq({"template_cache_hits":) . ($o{hits} // 1)
        . qq(,"template_cache_misses":) . ($o{misses} // 1) . '}}}}';
}

# the dashboard's DOM after $ms of virtual time
sub main::chromium {
    my ($ms) = @_;
    return DashboardTest::chromium("--virtual-time-budget=$ms", '--dump-dom');
}

# the script's state, its error, the rows (id: hit rate) and the tile
sub main::summary {
    my ($dom) = @_;

    my ($state) = $dom =~ /<main id="jp-dash"[^>]*data-state="(\w+)"/;
    my ($error) = $dom =~ m{<p id="jp-dash-error" class="error">([^<]*)<};
    my ($rpm) = $dom =~ m{id="jp-dash-rpm">([^<]*)<};
    my ($tbody) = $dom =~ m{<table id="jp-dash-table">.*?<tbody>(.*?)</tbody>}s;
    my @rows;
    my $gone = 0;
    while (($tbody // '') =~ m{<tr data-id="([^"]*)"([^>]*)>(.*?)</tr>}gs) {
        my ($id, $attr, $tr) = ($1, $2, $3);
        my ($rate) = $tr =~ m{data-field="cacheHitRate"[^>]*>([^<]*)<};
        # this nginx's own row, rendered by the server, is not in the answer
        if ($attr =~ /data-gone/) {
            $gone++;
            next;
        }
        push @rows, "$id:" . ($rate // '');
    }
    return "state=" . ($state // 'none') . "\n"
         . "error=" . ($error // 'none') . "\n"
         . "rpm=" . ($rpm // '') . "\n"
         . "rows=@rows\n"
         . "gone=" . ($gone ? 'some' : 'none') . "\n";
}

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config',
                      DashboardTest::http_config($Redis->{port}));
    $block->set_value('config', main::config($block->metrics));
    $block->set_value('request', 'GET /t/login');
    $block->set_value('error_code', 302);
    $block->set_value('wait_for_log', "command connection ready\n");
    $block->set_value('no_error_log', "[alert]\n[crit]");
});

sub main::config {
    my ($answer) = @_;
    chomp $answer;
    return <<"CONF";
    location = /admin/dashboard {
        jpulse_dashboard refresh=1s metrics=/t/metrics;
    }
    location = /t/metrics {
        default_type application/json;
        return 200 '$answer';
    }
    location = /t/login {
        add_header Set-Cookie "\$TEST_NGINX_T961_COOKIE; Path=/; HttpOnly";
        return 302 /admin/dashboard;
    }
CONF
}

plan tests => blocks() * 4;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an instance whose id is "constructor": the page stays live
--- metrics eval
main::answer(main::inst('constructor'), main::inst('9:100:1'))
--- response_body_filters eval
sub { main::summary(main::chromium(4000)) }
--- response_body
state=live
error=none
rpm=2
rows=constructor:50.0% 9:100:1:50.0%
gone=some



=== TEST 2: ids "__proto__", "toString", "hasOwnProperty": live
--- metrics eval
main::answer(main::inst('__proto__'), main::inst('toString'),
             main::inst('hasOwnProperty'))
--- response_body_filters eval
sub { main::summary(main::chromium(4000)) }
--- response_body
state=live
error=none
rpm=3
rows=__proto__:50.0% toString:50.0% hasOwnProperty:50.0%
gone=some



=== TEST 3: a null instance, a number, a string: skipped, the rest live
--- metrics eval
main::answer('null', '7', '"x"', main::inst('9:100:1'))
--- response_body_filters eval
sub { main::summary(main::chromium(4000)) }
--- response_body
state=live
error=none
rpm=1
rows=9:100:1:50.0%
gone=some



=== TEST 4: figures: a sum that overflows saturates, negative counters ignored, no rate from hits 5 and misses -5
--- metrics eval
main::answer(main::inst('a', rpm => '9223372036854775807', hits => 5,
                        misses => -5),
             main::inst('b', rpm => '9223372036854775807', hits => 0,
                        misses => 0),
             main::inst('c', rpm => -50, hits => -1, misses => 3))
--- response_body_filters eval
sub { main::summary(main::chromium(4000)) }
--- response_body
state=live
error=none
rpm=9223372036854776000
rows=a:– b:– c:–
gone=some



=== TEST 5: rows the cluster no longer lists are dropped after ten ticks
--- metrics eval
main::answer()
--- response_body_filters eval
sub { main::summary(main::chromium(16000)) }
--- response_body
state=live
error=none
rpm=0
rows=
gone=none
