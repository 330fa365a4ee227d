# jpulse_redis with a name and a resolver, against DNS trouble: a name
# with several addresses keeps the connections on the server they are on
# (nginx's resolver rotates a cached answer, and the first address used
# to be taken: both connections could land on different servers, and "is
# now at" was logged on reconnects); an unreachable DNS delays a
# reconnect by connect_timeout at most, not resolver_timeout (30 s by
# default), before the last address known is tried. Two redis-servers
# share a port on 127.0.0.1 (A) and 127.0.0.2 (B), each with its own page.
use lib 't/lib';
use JPulseTest qw(redis_start);
use DnsStub ();
use Test::Nginx::Socket;

our $A = redis_start();
our $B = redis_start(port => $A->{port}, bind => '127.0.0.2');
our $Dns = DnsStub::start('127.0.0.2,127.0.0.1');
our $NS = 'dns:dev:';
our $Dir = File::Temp::tempdir('jpulse-t449-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
our $Result;
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {});
JPulseTest::view_tree($Dir, { 'app.json' => '{}',
                              'i18n/en.json' => '{"x":"local"}' });
JPulseTest::publish_tree($A, $NS, { 'home/index.shtml' => "from A\n" },
                         event => 0);
JPulseTest::publish_tree($B, $NS, { 'home/index.shtml' => "from B\n" },
                         event => 0);

$ENV{TEST_NGINX_T449_DIR} = $Dir;
$ENV{TEST_NGINX_T449_REDIS_PORT} = $A->{port};
$ENV{TEST_NGINX_T449_DNS_PORT} = $Dns->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

# A closes nginx's connections: "restored within $bound s" once both
# are back (or not)
sub main::reconnect {
    my ($bound) = @_;
    my $cmd = JPulseTest::log_count(qr/command connection restored/);
    my $sub = JPulseTest::log_count(qr/pub\/sub connection restored/);
    JPulseTest::redis_cli($main::A, 'CLIENT', 'KILL', 'TYPE', 'normal');
    JPulseTest::redis_cli($main::A, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
    my $ok = JPulseTest::poll_until($bound, sub {
        JPulseTest::log_count(qr/command connection restored/) > $cmd
        && JPulseTest::log_count(qr/pub\/sub connection restored/) > $sub });
    return "restored within $bound s: " . ($ok ? 'yes' : 'no') . "\n";
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3);

add_block_preprocessor(sub {
    my ($block) = @_;

    # no resolver_timeout: nginx's 30 s
    $block->set_value('http_config', <<'CONF');
    resolver 127.0.0.1:$TEST_NGINX_T449_DNS_PORT ipv6=off valid=1s;
    jpulse_site_id dns;
    jpulse_mode dev;
    jpulse_redis localhost:$TEST_NGINX_T449_REDIS_PORT ping_interval=60s;
    jpulse_view_roots $TEST_NGINX_T449_DIR/view;
    jpulse_config $TEST_NGINX_T449_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T449_DIR/i18n;
CONF
    $block->set_value('config', <<'CONF');
    location / { jpulse_render; }
CONF
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the name answers B then A: the connections stay on A, which
they are on, through three reconnects
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
$main::Result = join '', map { main::reconnect(10) } 1 .. 3;
--- request
GET /home/
--- response_body_filters eval
sub { $main::Result . $_[0] }
--- response_body
restored within 10 s: yes
restored within 10 s: yes
restored within 10 s: yes
from A
--- no_error_log
is now at



=== TEST 2: the DNS answers nothing: a reconnect tries A after the
connect timeout (1 s), not after resolver_timeout (30 s)
--- pre_request
DnsStub::set($main::Dns, 'silent');
# the cached answer (valid=1s) has expired
Time::HiRes::sleep(1.5);
$main::Result = main::reconnect(10);
--- request
GET /home/
--- response_body_filters eval
sub { $main::Result . $_[0] }
--- response_body
restored within 10 s: yes
from A
--- error_log
cannot resolve "localhost": Operation timed out, trying 127.0.0.1
