# Log flooding: an error that a request can trigger is logged once per
# version of what failed (the page, the file, the include, the value in
# Redis), never once per request, however many requests hit it and
# whatever else they make the cache hold meanwhile. The errors counter in
# the metrics still counts every one.
use strict;
use warnings;

use lib 't/lib';
use IO::Socket::INET ();
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'flood:dev:';
$ENV{TEST_NGINX_T425_REDIS_PORT} = $Redis->{port};

our $Html = $ENV{TEST_NGINX_HTML_DIR};
our $Seen = '';

sub main::port { $Test::Nginx::Socket::ServerPort }

# the status of $n GETs for $path, each on its own connection
sub main::statuses {
    my ($n, $path) = @_;
    my %s;
    for (1 .. $n) {
        my ($status) = JPulseTest::http_get(main::port(), $path);
        $s{$status}++;
    }
    return join(' ', map { "$_=$s{$_}" } sort keys %s) . "\n";
}

# $n GETs for paths that do not exist, pipelined on one connection
sub main::unknown_paths {
    my ($n) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . main::port(),
                                  Timeout => 30) or die "connect: $!";
    binmode $s;
    print $s join('', map { "GET /nope-$_-" . int(rand(1e9)) . ".shtml HTTP/1.1\r\n"
                            . "Host: localhost\r\n"
                            . ($_ == $n ? "Connection: close\r\n" : '')
                            . "\r\n" } 1 .. $n);
    local $/;
    my $resp = <$s> // '';
    my $got = () = $resp =~ m{^HTTP/1\.1 404 }mg;
    return "unknown paths: 404=$got\n";
}

# how many GETs Redis has served (the worker GETs <ns>i18n:<lang>)
sub main::gets {
    my ($info) = JPulseTest::redis_pipeline($main::Redis,
                                            ['INFO', 'commandstats']);
    return $info =~ /^cmdstat_get:calls=(\d+)/m ? $1 : 0;
}

sub main::errors_total {
    my (undef, undef, $m) = JPulseTest::http_get(main::port(), '/metrics');
    return $m =~ /^jpulse_errors_total (\d+)$/m ? $1 : "none in:\n$m";
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', <<'C') unless defined $block->http_config;
    jpulse_metrics_zone jpulse 1m;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/lf/root;
    jpulse_config $TEST_NGINX_HTML_DIR/lf/app.json;
    jpulse_template_check_interval 0;
C
    $block->set_value('config', <<'C') unless defined $block->config;
    location / { jpulse_render; }
    location = /metrics { jpulse_metrics prometheus; }
C
    # the blocks' own files come as [path, content] pairs
    $block->set_value('user_files', [@{ $block->user_files // [] },
        ['lf/app.json', '{"app": {"n": [' . join(', ', 0 .. 19) . ']}}'],
        ['lf/root/error/index.shtml', "E404\n"],
        ['lf/root/ok/index.shtml', "OK\n"]]);
});

repeat_each(1);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a page whose render fails (more output than a render may
give): 20 requests, 20 errors counted, one line
--- user_files eval
[["lf/root/loop/index.shtml",
  '{{#each app.n}}{{file.include "mb.tmpl"}}{{/each}}'],
 ["lf/root/mb.tmpl", 'x' x (1024 * 1024)]]
--- pre_request
my $before = main::errors_total();
$main::Seen = main::statuses(20, '/loop/');
$main::Seen .= "errors counted: " . (main::errors_total() - $before) . "\n";
--- request
GET /ok/
--- response_body_filters eval
sub { $main::Seen . $_[0] }
--- response_body
302=20
errors counted: 20
OK
--- grep_error_log eval
qr/jpulse render "[^"]+": [^;,]+/
--- grep_error_log_out
jpulse render "loop/index.shtml": output larger than 16777216 bytes



=== TEST 2: a page that cannot be read (larger than a template may be):
20 requests answered with jPulse's 500 redirect, one line
--- pre_request
open my $fh, '>', "$main::Html/lf/root/big/index.shtml" or die $!;
print $fh 'x' x (8 * 1024 * 1024 + 1);
close $fh;
$main::Seen = main::statuses(20, '/big/');
--- request
GET /ok/
--- response_body_filters eval
sub { $main::Seen . $_[0] }
--- response_body
302=20
OK
--- user_files eval
[["lf/root/big/index.shtml", "small for now\n"]]
--- grep_error_log eval
qr/jpulse: cannot read "[^"]+"/
--- grep_error_log_out
jpulse: cannot read "big/index.shtml"



=== TEST 3: a page that does not compile, in a cache that 1000 requests
for unknown paths churn in between: one line
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/lf/root;
    jpulse_template_cache_size 64k;
    jpulse_template_check_interval 1h;
--- user_files eval
[["lf/root/bad/index.shtml", ('{{#if 1}}' x 65) . ('{{/if}}' x 65) . "\n"]]
--- pre_request
$main::Seen = main::statuses(5, '/bad/')
              . main::unknown_paths(1000)
              . main::statuses(5, '/bad/');
--- request
GET /ok/
--- response_body_filters eval
sub { $main::Seen . $_[0] }
--- response_body
302=5
unknown paths: 404=1000
302=5
OK
--- grep_error_log eval
qr/jpulse template [^ ]+: [^(]+/
--- grep_error_log_out
jpulse template bad/index.shtml:1:577: blocks nested deeper than 64 



=== TEST 4: includes that fail (one does not compile, one cannot be
read): the page renders with jPulse's error comments, each include's
line once
--- user_files eval
[["lf/root/inc/index.shtml",
  "[{{file.include \"broken.tmpl\"}}][{{file.include \"huge.tmpl\"}}]\n"],
 ["lf/root/broken.tmpl", ('{{#if 1}}' x 65) . ('{{/if}}' x 65) . "\n"]]
--- pre_request
open my $fh, '>', "$main::Html/lf/root/huge.tmpl" or die $!;
print $fh 'x' x (8 * 1024 * 1024 + 1);
close $fh;
$main::Seen = main::statuses(20, '/inc/');
--- request
GET /inc/
--- response_body_filters eval
sub { $main::Seen . $_[0] }
--- response_body_like
^200=20
\[<!-- Error: [^\]]*broken\.tmpl[^\]]* -->\]\[<!-- Error: [^\]]*huge\.tmpl[^\]]* -->\]$
--- grep_error_log eval
qr/jpulse template broken[^ ]+|jpulse: cannot read "[^"]+"/
--- grep_error_log_out
jpulse template broken.tmpl:1:577:
jpulse: cannot read "huge.tmpl"



=== TEST 5: translations in Redis that are not JSON, with no good copy
before them: the disk's are used, one line, and Redis is not asked for
them again on every request (nor on every round of one)
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_site_id flood;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T425_REDIS_PORT;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/lf/root;
    jpulse_i18n_dir $TEST_NGINX_HTML_DIR/lf/i18n;
--- user_files eval
[["lf/root/t/index.shtml", "title={{i18n.title}}\n"],
 ["lf/i18n/en.json", '{"title": "from disk"}']]
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
JPulseTest::publish_i18n($main::Redis, $main::NS, 'en', '{"title": broken',
                         event => 0);
my $before = main::gets();
$main::Seen = main::statuses(10, '/t/');
$main::Seen .= "GETs: " . (main::gets() - $before) . "\n";
--- request
GET /t/
--- response_body_filters eval
sub { $main::Seen . $_[0] }
--- response_body
200=10
GETs: 1
title=from disk
--- grep_error_log eval
qr/flood:dev:i18n:en: [^;]+/
--- grep_error_log_out
flood:dev:i18n:en: line 1, column 16: invalid token near 'broken'
