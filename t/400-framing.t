# Request bodies and early answers (issue 10, item 1): every handler of
# the module discards (or reads) the request body before it answers, 405s
# and other early errors included. Otherwise, on a keep-alive connection,
# the body of "POST /home/" is taken for the next request: a body that is
# itself "GET /secret/ ..." gets a second response, the secret page.
#
# Each block writes two pipelined requests on one connection (the first
# keep-alive, the second "Connection: close", whatever the runner's
# default): the answer to the first, then the page the second asks for.
# A smuggled request would show up as the second response instead.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest ();
use Test::Nginx::Socket;

our $Smuggled = "GET /secret/ HTTP/1.1\r\nHost: localhost\r\n\r\n";
our $Next = "GET /home/";
our $Home = "HOME\n";

our $HttpConfig = <<'CONF';
    jpulse_metrics_zone jpulse 1m;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
CONF

our $Config = <<'CONF';
    location / { jpulse_render; }
    location /api/1/cache/ { jpulse_cache_api; }
    location /api/1/app-cluster/ { jpulse_app_cluster_api; }
    location /api/1/health/ { jpulse_health; }
    location = /api/1/health/metrics { jpulse_metrics; }
    location = /prom { jpulse_metrics prometheus; }
CONF

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('user_files', [
        ['v/home/index.shtml', $Home],
        ['v/secret/index.shtml', "SECRET\n"],
        ['v/error/index.shtml', "E{{url.param.code}}\n"]])
        unless defined $block->user_files;
    $block->set_value('no_error_log', "[error]\n/secret/")
        unless defined $block->no_error_log;
});

# the first response: "STATUS code" from jPulse's envelope
sub main::envelope {
    my ($body) = @_;
    return $body =~ /"success":false.*"code":"([A-Z_]+)"/ ? "$1\n" : $body;
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 6 + 1);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: jpulse_render: POST answers jPulse's not-found redirect after discarding its body
--- pipelined_requests eval
["POST /home/\n$main::Smuggled", $main::Next]
--- error_code eval
[302, 200]
--- response_body eval
["Found. Redirecting to /error/index.shtml?msg=Page%20not%20found%3A%20%2Fhome%2F&code=404", $main::Home]



=== TEST 2: jpulse_render: a chunked body too
--- pipelined_requests eval
["PUT /home/\n" . sprintf("%x\r\n%s\r\n0\r\n\r\n", length $main::Smuggled, $main::Smuggled),
 $main::Next]
--- more_headers eval
["Transfer-Encoding: chunked", ""]
--- error_code eval
[302, 200]
--- response_body eval
["Found. Redirecting to /error/index.shtml?msg=Page%20not%20found%3A%20%2Fhome%2F&code=404", $main::Home]



=== TEST 3: jpulse_render: GET with a body is served, the body dropped
--- pipelined_requests eval
["GET /home/\n$main::Smuggled", $main::Next]
--- error_code eval
[200, 200]
--- response_body eval
[$main::Home, $main::Home]



=== TEST 4: jpulse_cache_api: POST on stats is a 405
--- pipelined_requests eval
["POST /api/1/cache/stats\n$main::Smuggled", $main::Next]
--- error_code eval
[405, 200]
--- response_body_filters eval
[\&main::envelope, undef]
--- response_body eval
["METHOD_NOT_ALLOWED\n", $main::Home]



=== TEST 5: jpulse_cache_api: GET on refresh is a 405
--- pipelined_requests eval
["GET /api/1/cache/refresh/view\n$main::Smuggled", $main::Next]
--- error_code eval
[405, 200]
--- response_body_filters eval
[\&main::envelope, undef]
--- response_body eval
["METHOD_NOT_ALLOWED\n", $main::Home]



=== TEST 6: jpulse_cache_api: an unknown endpoint is a 404
--- pipelined_requests eval
["POST /api/1/cache/nope\n$main::Smuggled", $main::Next]
--- error_code eval
[404, 200]
--- response_body_filters eval
[\&main::envelope, undef]
--- response_body eval
["NOT_FOUND\n", $main::Home]



=== TEST 7: jpulse_cache_api: a refresh does not read its body either
--- pipelined_requests eval
["POST /api/1/cache/refresh/view\n$main::Smuggled", $main::Next]
--- error_code eval
[200, 200]
--- response_body_filters eval
[sub { $_[0] =~ /^\{"success":true/ ? "refreshed\n" : $_[0] }, undef]
--- response_body eval
["refreshed\n", $main::Home]



=== TEST 8: jpulse_app_cluster_api: GET on a channel is a 405
--- pipelined_requests eval
["GET /api/1/app-cluster/broadcast/view:a:b:c\n$main::Smuggled", $main::Next]
--- error_code eval
[405, 200]
--- response_body_filters eval
[\&main::envelope, undef]
--- response_body eval
["METHOD_NOT_ALLOWED\n", $main::Home]



=== TEST 9: jpulse_app_cluster_api: an invalid channel is a 400
--- pipelined_requests eval
["POST /api/1/app-cluster/broadcast/nope\n$main::Smuggled", $main::Next]
--- error_code eval
[400, 200]
--- response_body_filters eval
[\&main::envelope, undef]
--- response_body eval
["INVALID_CHANNEL_NAME\n", $main::Home]



=== TEST 10: jpulse_app_cluster_api: a reserved channel is a 403
--- pipelined_requests eval
["POST /api/1/app-cluster/broadcast/controller:cache:invalidate:view\n$main::Smuggled",
 $main::Next]
--- error_code eval
[403, 200]
--- response_body_filters eval
[\&main::envelope, undef]
--- response_body eval
["RESERVED_CHANNEL\n", $main::Home]



=== TEST 11: jpulse_app_cluster_api: a body that is not JSON is read, then a 400
--- pipelined_requests eval
["POST /api/1/app-cluster/broadcast/view:a:b:c\n$main::Smuggled", $main::Next]
--- error_code eval
[400, 200]
--- response_body_filters eval
[\&main::envelope, undef]
--- response_body eval
["INVALID_DATA\n", $main::Home]



=== TEST 12: jpulse_app_cluster_api: status takes GET only
--- pipelined_requests eval
["POST /api/1/app-cluster/broadcast/status\n$main::Smuggled", $main::Next]
--- error_code eval
[405, 200]
--- response_body_filters eval
[\&main::envelope, undef]
--- response_body eval
["METHOD_NOT_ALLOWED\n", $main::Home]



=== TEST 13: jpulse_health
--- pipelined_requests eval
["POST /api/1/health/status\n$main::Smuggled", $main::Next]
--- error_code eval
[405, 200]
--- response_body_filters eval
[\&main::envelope, undef]
--- response_body eval
["METHOD_NOT_ALLOWED\n", $main::Home]



=== TEST 14: jpulse_metrics, JSON and Prometheus
--- pipelined_requests eval
["POST /api/1/health/metrics\n$main::Smuggled", "DELETE /prom\n$main::Smuggled", $main::Next]
--- error_code eval
[405, 405, 200]
--- response_body_filters eval
[\&main::envelope, \&main::envelope, undef]
--- response_body eval
["METHOD_NOT_ALLOWED\n", "METHOD_NOT_ALLOWED\n", $main::Home]
--- no_error_log
[error]
