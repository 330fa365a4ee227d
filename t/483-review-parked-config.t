# Review of issue 10, item 2 (use after free across a Redis wait): NOT
# FIXED in this tree. The fix is on branch "reqpath" (0f1997a), which is
# not merged into main: ngx_http_jpulse_render_handler() still points
# rc->lang / rc->theme at rt->default_lang / rt->default_theme, strings
# inside rt->effective (view.c), which ngx_http_jpulse_view_sync() frees
# when the config changes. A request that parks on Redis, during which a
# new cfg:app arrives, resumes with dangling rc->lang / rc->theme: the L1
# key, the i18n:<lang> key and appConfig.system.htmlAttrs read freed
# memory. Under ASan (t/nginx-asan, as make asan-t runs it) this is a
# heap-use-after-free report; without it the worker sends GET i18n:<freed
# heap bytes> to Redis, round after round (the freed bytes keep changing,
# so each round is a new key) until the 16-round limit: the client times
# out here (seen 08:07 UTC, error.log "jpulse l2: fetching 4 \"L)[)..").
#
#
# A proxy delays every command reply by 1 s, so the first render after
# start waits on Redis (the index, then its translations); meanwhile a
# new config is published with its event. Replies keep their order: the
# config's MGET is answered before the request's second fetch, whose
# resume runs view_sync() -> derive() and frees the old config.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis, delay => 1);
our $NS = 't483:prod:';
our $Dir = File::Temp::tempdir('jpulse-t483-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;
JPulseTest::view_tree("$Dir/view", {
    'home/index.shtml' => "<html {{appConfig.system.htmlAttrs}}>\n" });

JPulseTest::publish_config($Redis, $NS, event => 0,
    app => '{"utils":{"i18n":{"default":"first-language-xxxxxxxxxxxxxxxx"},'
         . '"theme":{"default":"first-theme-yyyyyyyyyyyyyyyyyyyy"}}}');

$ENV{TEST_NGINX_T483_PROXY_PORT} = $Proxy->{port};
$ENV{TEST_NGINX_T483_DIR} = $Dir;
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

plan skip_all => 'timing of a Redis wait' if $ENV{TEST_NGINX_USE_VALGRIND};

# in a child: a new config and its event while the request waits
sub main::change_config_soon {
    my $pid = fork // die "fork: $!";
    return if $pid;
    eval {
        Time::HiRes::sleep(0.3);
        JPulseTest::publish_config($main::Redis, $main::NS,
            app => '{"utils":{"i18n":{"default":"de"},'
                 . '"theme":{"default":"dark"}}}');
    };
    POSIX::_exit(0);
}

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id t483;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T483_PROXY_PORT
                 command_timeout=10s ping_interval=60s;
    jpulse_heartbeat off;
    jpulse_view_roots $TEST_NGINX_T483_DIR/view;
CONF
    $block->set_value('config', <<'CONF');
    location / { jpulse_render; }
    location = /ping { return 204; }
CONF
    $block->set_value('wait_for_log', <<'LOG');
command connection ready
pub/sub connection ready
LOG
});

repeat_each(1);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: start; the first config from Redis is read (through the proxy)
--- pre_request
Time::HiRes::sleep(2.5);
--- request
GET /ping
--- error_code: 204



=== TEST 2: a config change while parked: the request keeps the language and theme it started with
--- pre_request
main::change_config_soon();
--- request
GET /home/
--- timeout: 10
--- response_body_like
^<html lang="(first-language-x{16}|de)" data-theme="(first-theme-y{20}|dark)">\n$
--- no_error_log
[alert]
