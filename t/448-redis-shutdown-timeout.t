# worker_shutdown_timeout bounds how long an exiting worker may keep its
# Redis commands: nginx then closes the worker's connections (c->close),
# and the Redis connections give their commands in flight up at once.
# Before, a command held by a slow Redis kept the old worker alive until
# command_timeout (30 s here) despite worker_shutdown_timeout 1s.
use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use Test::Nginx::Socket;

plan skip_all => 'reloads the runner nginx' if $ENV{TEST_NGINX_USE_VALGRIND};

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis);
our $NS = 'sd:dev:';
our $Dir = File::Temp::tempdir('jpulse-t448-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", { 'p/index.shtml' => "disk\n" });
JPulseTest::view_tree($Dir, { 'app.json' => '{}',
                              'i18n/en.json' => '{"x":"local"}' });
JPulseTest::publish_tree($Redis, $NS, { 'p/index.shtml' => "redis\n" },
                         event => 0);

$ENV{TEST_NGINX_T448_DIR} = $Dir;
$ENV{TEST_NGINX_T448_PROXY_PORT} = $Proxy->{port};

# A render parked on a held reply, then a reload: the old worker must be
# gone well before the 30 s command timeout.
sub main::reload_with_held_command {
    my ($master) = JPulseTest::_slurp(
        "$Test::Nginx::Socket::ServerRoot/logs/nginx.pid") =~ /(\d+)/;
    my @old = JPulseTest::nginx_pids($master);

    RedisProxy::hold($main::Proxy, 1);

    my $s = IO::Socket::INET->new(
        PeerAddr => "127.0.0.1:$Test::Nginx::Socket::ServerPort")
        or die "connect: $!";
    print $s "GET /p/ HTTP/1.0\r\nHost: localhost\r\n\r\n";

    my $parked = JPulseTest::poll_until(10, sub {
        JPulseTest::log_count(qr{http finalize request: -4, "/p/\?"}) });

    kill 'HUP', $master;

    my $gone = JPulseTest::poll_until(15, sub {
        !grep { kill 0, $_ } @old });

    RedisProxy::hold($main::Proxy, 0);

    JPulseTest::view_tree($main::Dir, { 'result.txt' =>
        "parked: " . ($parked ? 'yes' : 'no') . "\n"
        . "old worker gone within 15 s: " . ($gone ? 'yes' : 'no') . "\n" });
}

master_on();
workers(1);
repeat_each(1);

plan tests => repeat_each() * (blocks() * 3);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a reload with a command held: the old worker exits after
worker_shutdown_timeout, not after command_timeout
--- main_config
    worker_shutdown_timeout 1s;
--- http_config
    jpulse_site_id sd;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T448_PROXY_PORT
                 command_timeout=30s ping_interval=60s;
    jpulse_view_roots $TEST_NGINX_T448_DIR/view;
    jpulse_config $TEST_NGINX_T448_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T448_DIR/i18n;
--- config
    location = /result { alias $TEST_NGINX_T448_DIR/result.txt; }
    location / { jpulse_render; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
main::reload_with_held_command();
--- request
GET /result
--- response_body
parked: yes
old worker gone within 15 s: yes
--- no_error_log
[alert]
