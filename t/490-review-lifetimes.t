# Review of issue 10 (lifetimes): a request parked on an L2 fetch when
# Redis closes the command connection. hiredis delivers the NULL replies
# from inside its teardown, while the connection still looks ready and
# no longer takes commands: the resumed render must fall back to the
# disk, as it does when the command deadline fires, not answer 500.
use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis);
our $NS = 'rvlife:dev:';
our $Dir = File::Temp::tempdir('jpulse-t490-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", { 'a/index.shtml' => "a from disk\n",
                                     'b/index.shtml' => "b from disk\n" });
JPulseTest::view_tree($Dir, { 'app.json' => '{}',
                              'i18n/en.json' => '{"x":"local"}' });
JPulseTest::publish_tree($Redis, $NS, {
    'a/index.shtml' => "a from Redis\n",
    'b/index.shtml' => "b from Redis\n",
}, event => 0);

$ENV{TEST_NGINX_T490_DIR} = $Dir;
$ENV{TEST_NGINX_T490_PROXY_PORT} = $Proxy->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

# GETs $path while the proxy holds the replies; once the request is
# parked, Redis drops its normal clients (the command connection, not
# the subscriber). The answer goes to result.txt.
sub main::dropped_while_parked {
    my ($path) = @_;

    my $parked = JPulseTest::log_count(qr/jpulse l2: request parked on/);

    RedisProxy::hold($main::Proxy, 1);

    my $s = IO::Socket::INET->new(
        PeerAddr => "127.0.0.1:$Test::Nginx::Socket::ServerPort")
        or die "connect: $!";
    print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";

    JPulseTest::poll_until(5, sub {
        JPulseTest::log_count(qr/jpulse l2: request parked on/) > $parked
    }) or die "the request did not park\n";

    Time::HiRes::sleep(0.3);
    JPulseTest::redis_cli($main::Redis, 'CLIENT', 'KILL', 'TYPE', 'normal');

    my $resp = do { local $/; <$s> } // '';
    RedisProxy::hold($main::Proxy, 0);

    my ($status) = $resp =~ m{\AHTTP/1\.\d (\d+)};
    my (undef, $body) = split /\r\n\r\n/, $resp, 2;
    JPulseTest::view_tree($main::Dir, {
        'result.txt' => ($status // 'none') . ' ' . ($body // '') });
}

repeat_each(1);

plan tests => repeat_each() * 6;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id rvlife;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T490_PROXY_PORT
                 command_timeout=10s ping_interval=60s;
    jpulse_view_roots $TEST_NGINX_T490_DIR/view;
    jpulse_config $TEST_NGINX_T490_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T490_DIR/i18n;
CONF
    $block->set_value('config', <<'CONF');
    location = /result { alias $TEST_NGINX_T490_DIR/result.txt; }
    location / { jpulse_render; }
CONF
    $block->set_value('wait_for_log', <<'LOG');
command connection ready
pub/sub connection ready
LOG
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: warm up: the index and the translations are in L1
--- request
GET /a/
--- response_body
a from Redis
--- no_error_log
[error]



=== TEST 2: Redis drops the command connection while a request waits for a source
The parked request resumes inside hiredis's teardown (NULL reply), needs
the source again, and the send fails because the context is already
disconnecting: a 500 before the fix. When the command deadline fires instead, the
same request falls back to the disk.
--- pre_request
main::dropped_while_parked('/b/');
--- request
GET /result
--- response_body
200 b from disk
--- no_error_log
[alert]
