# A client that leaves while its request is parked on Redis (issue 10,
# item 3): what the request waits with (its wait, the fetches) must be
# freed, by whichever side comes last, and the fetch still fills the
# cache for the next request. A proxy holds the replies of the command
# connection while the client leaves. The counts come from the module's
# debug lines; under TEST_NGINX_USE_VALGRIND the same block is a leak
# check (the fetch of a client that left used to be lost).
use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis);
our $NS = 'parked:dev:';
our $Dir = File::Temp::tempdir('jpulse-t430-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {});
JPulseTest::view_tree($Dir, { 'app.json' => '{}',
                              'i18n/en.json' => '{"x":"local"}' });
JPulseTest::publish_tree($Redis, $NS, {
    'home/index.shtml' => "home: {{file.include \"part.tmpl\"}}\n",
    'part.tmpl' => 'part from Redis',
}, event => 0);

$ENV{TEST_NGINX_T430_DIR} = $Dir;
$ENV{TEST_NGINX_T430_PROXY_PORT} = $Proxy->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

# sends a GET (or a POST of $body) and leaves once Redis has run the
# command the request waits for (the proxy holds its reply)
sub main::leave_while_parked {
    my ($path, $cmd, $body) = @_;
    my $mark = JPulseTest::log_mark();
    JPulseTest::redis_cli($main::Redis, 'CONFIG', 'RESETSTAT');
    my $s = IO::Socket::INET->new(
        PeerAddr => "127.0.0.1:$Test::Nginx::Socket::ServerPort")
        or die "connect: $!";
    print $s defined $body
        ? "POST $path HTTP/1.1\r\nHost: localhost\r\nContent-Length: "
          . length($body) . "\r\n\r\n$body"
        : "GET $path HTTP/1.1\r\nHost: localhost\r\n\r\n";
    JPulseTest::poll_until(5, sub { JPulseTest::redis_calls($main::Redis, $cmd) })
        or die "the request sent no $cmd\n";
    close $s;
    JPulseTest::wait_log($mark, qr/client prematurely closed connection/)
        or die "the request did not notice the client leaving\n";
}

repeat_each(1);

plan tests => repeat_each() * 14;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id parked;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T430_PROXY_PORT
                 command_timeout=10s ping_interval=60s;
    jpulse_view_roots $TEST_NGINX_T430_DIR/view;
    jpulse_config $TEST_NGINX_T430_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T430_DIR/i18n;
CONF
    $block->set_value('config', <<'CONF');
    location = /ok { return 200 "ok\n"; }
    location /api/1/app-cluster/ { jpulse_app_cluster_api; }
    location / { jpulse_render; }
CONF
    # a no-op while nginx carries on from the block before
    $block->set_value('wait_for_log', <<'LOG');
command connection ready
pub/sub connection ready
LOG
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a client leaves while its request waits for Redis
Its first fetch (the translations) is held by the proxy; the client leaves (499), then the
reply comes: the wait was freed when the client left, the fetch when its
reply came, and nothing is outstanding.
--- pre_request
RedisProxy::hold($main::Proxy, 1);
main::leave_while_parked('/home/', 'get');
my $mark = JPulseTest::log_mark();
RedisProxy::hold($main::Proxy, 0);
JPulseTest::wait_log($mark, qr/jpulse l2: 0 fetches, 0 parked requests outstanding/);
--- request
GET /ok
--- response_body
ok
--- error_log
client prematurely closed connection
--- grep_error_log eval
qr/jpulse l2: (?:request parked on \d+ fetches|parked request gone|\d+ fetches, \d+ parked requests outstanding)/
--- grep_error_log_out
jpulse l2: request parked on 1 fetches
jpulse l2: parked request gone
jpulse l2: 1 fetches, 0 parked requests outstanding
jpulse l2: 0 fetches, 0 parked requests outstanding
--- no_error_log
[error]
[alert]



=== TEST 2: what the fetch brought serves the next request
--- request
GET /home/
--- response_body
home: part from Redis
--- no_error_log
[error]



=== TEST 3: a client leaves while its broadcast is being published
The other users of request-bound commands keep their data in the request
pool: the binding alone is freed, by the reply (a leak or a use after
free would show under valgrind or ASan).
--- pre_request
RedisProxy::hold($main::Proxy, 1);
main::leave_while_parked('/api/1/app-cluster/broadcast/controller:a:b:c',
                         'publish', '{"data":{}}');
RedisProxy::hold($main::Proxy, 0);
JPulseTest::redis_sync($main::Redis);
--- request
GET /ok
--- response_body
ok
--- error_log
client prematurely closed connection
--- no_error_log
[error]
[alert]
