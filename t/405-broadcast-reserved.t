# jpulse_app_cluster_api and the channels the module acts on itself
# (issue 10, item 4): controller:cache:invalidate:* (every worker of every
# instance drops its caches), controller:health:metrics:* (instances in
# the cluster view; ...:shutdown:<id> removes one) and
# controller:config:data:changed[*] (every worker re-reads the config;
# the listener matches by prefix, so does the check) and (issue 14)
# controller:session:cache:revoked (every worker drops those sessions).
# Publishing on them through the API is a 403 unless
# jpulse_app_cluster_reserved_channels allows it; and nothing reaches
# Redis: a subscriber sees the next allowed message first.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Sub;

$ENV{TEST_NGINX_T405_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $HttpConfig = <<'CONF';
    jpulse_site_id t405;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T405_REDIS_PORT;
    jpulse_heartbeat off;
CONF

our $Config = <<'CONF';
    location /api/1/app-cluster/ { jpulse_app_cluster_api; }
    location /open/ {
        jpulse_app_cluster_reserved_channels allow;
        jpulse_app_cluster_api;
    }
CONF

our @Reserved = qw(
    controller:cache:invalidate:view
    controller:cache:invalidate:all
    controller:health:metrics:fake:1:2
    controller:health:metrics:shutdown:12:0:1
    controller:config:data:changed
    controller:config:data:changed:x
    controller:session:cache:revoked
);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
});

# the channel of the next message on $Sub, without "<ns>bc:"
sub main::next_channel {
    my $m = JPulseTest::redis_next_message($main::Sub, 3);
    return $m ? ($m->[0] =~ s/\At405:prod:bc://r) . "\n" : "none\n";
}

repeat_each(1);

plan tests => repeat_each() * (3 * @Reserved + 4 + 4 + 4 + 2 + 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: reserved channels: 403 with jPulse's error envelope
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
$main::Sub = JPulseTest::redis_psubscribe($main::Redis, 't405:prod:bc:*');
--- request eval
[map { "POST /api/1/app-cluster/broadcast/$_\n" . '{"data":{"a":1}}' } @main::Reserved]
--- error_code eval
[(403) x @main::Reserved]
--- response_headers eval
[("Content-Type: application/json; charset=utf-8") x @main::Reserved]
--- response_body eval
[map { qq({"success":false,"error":"Channel reserved for the cluster's own messages","path":"/api/1/app-cluster/broadcast/$_","code":"RESERVED_CHANNEL"}) } @main::Reserved]



=== TEST 2: their neighbours are the application's
--- request eval
["POST /api/1/app-cluster/broadcast/controller:cache:invalidated:view\n" . '{"data":{}}',
 "POST /api/1/app-cluster/broadcast/controller:config:data:change\n" . '{"data":{}}']
--- error_code eval
[200, 200]
--- response_body_like eval
['^\{"success":true,"data":\{"channel":"controller:cache:invalidated:view"',
 '^\{"success":true,"data":\{"channel":"controller:config:data:change"']



=== TEST 3: nothing reserved reached Redis: the first message heard is the neighbour's
--- request
GET /api/1/app-cluster/broadcast/status
--- response_body_filters eval
sub { main::next_channel() . main::next_channel() }
--- response_body
controller:cache:invalidated:view
controller:config:data:change
--- no_error_log
[error]
[alert]



=== TEST 4: jpulse_app_cluster_reserved_channels allow
--- request eval
["POST /open/broadcast/controller:health:metrics:shutdown:nobody:0:0\n" . '{"data":{"action":"shutdown"}}',
 "POST /open/broadcast/controller:cache:invalidate:i18n\n" . '{"data":{}}']
--- error_code eval
[200, 200]
--- response_body_like eval
['^\{"success":true,"data":\{"channel":"controller:health:metrics:shutdown:nobody:0:0"',
 '^\{"success":true,"data":\{"channel":"controller:cache:invalidate:i18n"']



=== TEST 5: ... published
--- request
GET /api/1/app-cluster/broadcast/status
--- response_body_filters eval
sub { main::next_channel() . main::next_channel() }
--- response_body
controller:health:metrics:shutdown:nobody:0:0
controller:cache:invalidate:i18n



=== TEST 6: only allow and deny
--- config
    location / {
        jpulse_app_cluster_reserved_channels yes;
        jpulse_app_cluster_api;
    }
--- must_die
--- error_log
invalid value "yes"
