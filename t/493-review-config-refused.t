# Review of the harden merge (max_pending): a config event that arrives
# while the command connection is at max_pending loses the config.
#
# The invalidation event carries its generation ("data":{"gen":N}, as
# cachectl sends it): ngx_http_jpulse_l2_event_gen() records N before
# ngx_http_jpulse_l2_fetch_config() sends the MGET, and that MGET is
# refused by the cap (NGX_DECLINED, ignored). The gen poll then finds
# the generation it already has and never reads <ns>cfg:site again: the
# worker serves the old siteConfig until the next config change (before the fix: the poll now owes it the read).
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis);
our $NS = 't493:dev:';
our $Dir = File::Temp::tempdir('jpulse-t493-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {
    'home/index.shtml' => "site={{siteConfig.broadcast.message}}\n",
    'other/index.shtml' => "disk other\n" });
JPulseTest::publish_tree($Redis, $NS,
    { 'other/index.shtml' => "redis other\n" }, event => 0);
JPulseTest::publish_config($Redis, $NS, event => 0,
    site => '{"broadcast":{"message":"Storm"}}');

$ENV{TEST_NGINX_T493_DIR} = $Dir;
$ENV{TEST_NGINX_T493_PROXY_PORT} = $Proxy->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

# While the command connection's replies are held, one command is in
# flight (max_pending=1): a request parked on a fetch, or a gen poll. The
# new site config is written and its event published with its gen.
sub main::change_while_full {
    my $port = $Test::Nginx::Socket::ServerPort;

    RedisProxy::hold($main::Proxy, 1);

    my $done = JPulseTest::log_count(qr/http finalize request: -?\d+, "\/other\/\?"/);
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port")
        or die "connect: $!";
    print $s "GET /other/ HTTP/1.0\r\nHost: localhost\r\n\r\n";

    # parked on its fetch, or answered from the disk since a gen poll
    # holds the only place: either way one command is in flight
    JPulseTest::poll_until(10, sub {
        JPulseTest::log_count(qr/request parked on|"\/other\/\?"/) > $done
    });
    JPulseTest::poll_until(10, sub {
        JPulseTest::log_count(qr/commands in flight, refused|request parked on/)
    });

    my $heard = JPulseTest::log_count(qr/message on "controller:cache:invalidate:config"/);
    JPulseTest::publish_config($main::Redis, $main::NS, event => 0,
        site => '{"broadcast":{"message":"Calm"}}');
    my ($gen) = JPulseTest::redis_pipeline($main::Redis,
                                           ['HGET', "${main::NS}gen", 'config']);
    JPulseTest::publish_event($main::Redis, $main::NS, 'config',
                              gen => int($gen));
    JPulseTest::poll_until(10, sub {
        JPulseTest::log_count(qr/message on "controller:cache:invalidate:config"/) > $heard
    });

    RedisProxy::hold($main::Proxy, 0);
    { local $/; my $x = <$s>; }

    # a fix may take until the next gen poll (2 s): wait for it, at most 10 s
    JPulseTest::poll_until(10, sub {
        my (undef, undef, $body) = JPulseTest::http_get($port, '/home/');
        $body eq "site=Calm\n";
    }, 0.5);
}

repeat_each(1);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: start: the site config comes from Redis
--- http_config
    jpulse_site_id t493;
    jpulse_mode dev;
    jpulse_heartbeat off;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T493_PROXY_PORT
                 command_timeout=30s ping_interval=60s max_pending=1;
    jpulse_view_roots $TEST_NGINX_T493_DIR/view;
--- config
    location / { jpulse_render; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
JPulseTest::poll_until(10, sub {
    my (undef, undef, $b) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, '/home/');
    $b eq "site=Storm\n" });
--- request
GET /home/
--- response_body
site=Storm



=== TEST 2: a config event while the connection is at max_pending: the new config is read
--- http_config
    jpulse_site_id t493;
    jpulse_mode dev;
    jpulse_heartbeat off;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T493_PROXY_PORT
                 command_timeout=30s ping_interval=60s max_pending=1;
    jpulse_view_roots $TEST_NGINX_T493_DIR/view;
--- config
    location / { jpulse_render; }
--- pre_request
main::change_while_full();
--- request
GET /home/
--- timeout: 30
--- response_body
site=Calm
