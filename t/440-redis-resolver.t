# jpulse_redis given a name follows a DNS failover without a reload
# (issue 10, item 17) when the http block has a "resolver": the name is
# resolved again before each reconnect. Two private redis-servers share a
# port, on 127.0.0.1 (A) and 127.0.0.2 (B), each with its own page; a
# DNS stub answers "localhost" (which the system resolves at load time)
# with A, then with B once A is gone.
use lib 't/lib';
use JPulseTest qw(redis_start);
use DnsStub ();
use Test::Nginx::Socket;

our $A = redis_start();
our $B = redis_start(port => $A->{port}, bind => '127.0.0.2');
our $Dns = DnsStub::start('127.0.0.1');
our $NS = 'dns:dev:';
our $Dir = File::Temp::tempdir('jpulse-t440-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {});
JPulseTest::view_tree($Dir, { 'app.json' => '{}',
                              'i18n/en.json' => '{"x":"local"}' });
JPulseTest::publish_tree($A, $NS, { 'home/index.shtml' => "from A\n" },
                         event => 0);
JPulseTest::publish_tree($B, $NS, { 'home/index.shtml' => "from B\n" },
                         event => 0);

$ENV{TEST_NGINX_T440_DIR} = $Dir;
$ENV{TEST_NGINX_T440_REDIS_PORT} = $A->{port};
$ENV{TEST_NGINX_T440_DNS_PORT} = $Dns->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

sub main::get {
    my ($path) = @_;
    my ($status, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, $path);
    return "$status $body";
}

repeat_each(1);

plan tests => repeat_each() * 8;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    resolver 127.0.0.1:$TEST_NGINX_T440_DNS_PORT ipv6=off valid=1s;
    resolver_timeout 1s;
    jpulse_site_id dns;
    jpulse_mode dev;
    jpulse_redis localhost:$TEST_NGINX_T440_REDIS_PORT command_timeout=500ms
                 ping_interval=200ms;
    jpulse_view_roots $TEST_NGINX_T440_DIR/view;
    jpulse_config $TEST_NGINX_T440_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T440_DIR/i18n;
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

=== TEST 1: the name resolves to A
--- request
GET /home/
--- response_body
from A
--- no_error_log
[error]



=== TEST 2: A goes away, the name now resolves to B: B's page, no reload
--- pre_request
DnsStub::set($main::Dns, '127.0.0.2');
JPulseTest::redis_stop($main::A);
JPulseTest::poll_until(10, sub { main::get('/home/') eq "200 from B\n" });
--- request
GET /home/
--- response_body
from B
--- error_log
"localhost" is now at 127.0.0.2
command connection restored
pub/sub connection restored
