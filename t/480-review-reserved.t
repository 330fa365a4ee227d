# Review of issue 10, item 4: the listener of controller:config:data:changed
# matches by PREFIX (ngx_http_jpulse_redis_deliver), the reservation
# (jp_channel_reserved) by exact length. So an anonymous POST on
# controller:config:data:changed:x (or ...:changedX) passes the API and
# makes every worker of every instance re-read cfg:app/cfg:site (one MGET
# each, and with a broken cfg:* in Redis one error line per worker per
# request: a log flood driven from outside).
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Dir = File::Temp::tempdir('jpulse-t480-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;
JPulseTest::view_tree("$Dir/view", { 'home/index.shtml' => "<p>home</p>\n" });

$ENV{TEST_NGINX_T480_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_T480_DIR} = $Dir;
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $HttpConfig = <<'CONF';
    jpulse_site_id t480;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T480_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_view_roots $TEST_NGINX_T480_DIR/view;
CONF

our $Config = <<'CONF';
    location /api/1/app-cluster/ { jpulse_app_cluster_api; }
    location / { jpulse_render; }
CONF

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
});

repeat_each(1);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: start, both connections up
--- wait_for_log
command connection ready
pub/sub connection ready
--- request
GET /home/
--- response_body
<p>home</p>



=== TEST 2: controller:config:data:changed:<x> reaches the module's listener: must be 403
--- pre_request
JPulseTest::redis_cli($main::Redis, 'SET', 't480:prod:cfg:app', '{broken');
--- request eval
["POST /api/1/app-cluster/broadcast/controller:config:data:changed:x\n" . '{"data":{}}',
 "POST /api/1/app-cluster/broadcast/controller:config:data:changedX\n" . '{"data":{}}']
--- error_code eval
[403, 403]
--- no_error_log
cfg:app
