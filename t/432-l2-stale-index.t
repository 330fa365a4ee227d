# An index read from Redis before an invalidation must not be installed
# after it (issue 10, item 12). A proxy holds the reply of the HGETALL of
# <ns>tplindex while cachectl (this test) publishes a new tree and its
# event; the worker hears the event first, then gets the old index. It
# must drop it and read the index again, so the new page is served at
# once and stays served (the generation poll would not rescue an
# installed stale index: the event told it the new generation).
use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis);
our $NS = 'stale:dev:';
our $Dir = File::Temp::tempdir('jpulse-t432-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {});
JPulseTest::view_tree($Dir, { 'app.json' => '{}',
                              'i18n/en.json' => '{"x":"local"}' });
JPulseTest::publish_tree($Redis, $NS, { 'home/index.shtml' => "home v1\n" },
                         event => 0);

$ENV{TEST_NGINX_T432_DIR} = $Dir;
$ENV{TEST_NGINX_T432_PROXY_PORT} = $Proxy->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

# In a child, while the block's request waits: once Redis has answered
# the HGETALL (held by the proxy), publish the tree $files with its event,
# wait until the worker has handled the event, then let the reply go.
sub main::race_index {
    my ($files) = @_;

    my $mark = JPulseTest::log_mark();
    JPulseTest::redis_cli($main::Redis, 'CONFIG', 'RESETSTAT');
    RedisProxy::hold($main::Proxy, 'HGETALL');

    my $pid = fork // die "fork: $!";
    return if $pid;

    # never back into the runner from here
    eval {
        if (JPulseTest::poll_until(5, sub { JPulseTest::redis_calls($main::Redis, 'hgetall') })) {
            JPulseTest::publish_tree($main::Redis, $main::NS, $files);
            JPulseTest::wait_log($mark, qr/jpulse view: invalidate 0/);
        }
    };
    warn "race_index: $@" if $@;
    RedisProxy::hold($main::Proxy, 0);
    POSIX::_exit(0);
}

repeat_each(1);

plan tests => repeat_each() * 10;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id stale;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T432_PROXY_PORT
                 command_timeout=10s ping_interval=60s;
    jpulse_view_roots $TEST_NGINX_T432_DIR/view;
    jpulse_config $TEST_NGINX_T432_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T432_DIR/i18n;
CONF
    $block->set_value('config', <<'CONF');
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

=== TEST 1: the tree as published first
--- request
GET /home/
--- response_body
home v1



=== TEST 2: a new page published while the index is on its way is served
The index is invalidated (an event with nothing new), then read again by
this request; meanwhile a new tree with /fresh/ is published.
--- pre_request
my $mark = JPulseTest::log_mark();
JPulseTest::publish_event($main::Redis, $main::NS, 'view');
JPulseTest::wait_log($mark, qr/jpulse view: invalidate 0/);
main::race_index({ 'home/index.shtml' => "home v2\n",
                   'fresh/index.shtml' => "fresh v2\n" });
--- request
GET /fresh/
--- response_body
fresh v2
--- error_log
jpulse l2: index read before an invalidation dropped
--- no_error_log
[error]



=== TEST 3: and stays served: no stale index was kept
--- request eval
["GET /fresh/", "GET /home/"]
--- response_body eval
["fresh v2\n", "home v2\n"]
