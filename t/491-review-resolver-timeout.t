# Review of issue 10, item 17: "resolver" in http{} without
# "resolver_timeout". The http{}-level core loc conf is never merged, so
# its resolver_timeout stays NGX_CONF_UNSET_MSEC ((ngx_msec_t) -1); used
# as ctx->timeout, ngx_add_timer() wraps it to "already expired", every
# resolution that is not answered from the resolver's cache times out at
# once and the connection goes to the address resolved at load time.
# Here the system resolves "localhost" to A (127.0.0.1) at load time and
# the DNS stub says B (127.0.0.2): the connections must go to B.
use lib 't/lib';
use JPulseTest qw(redis_start);
use DnsStub ();
use Test::Nginx::Socket;

our $A = redis_start();
our $B = redis_start(port => $A->{port}, bind => '127.0.0.2');
our $Dns = DnsStub::start('127.0.0.2');
our $NS = 'rvdns:dev:';
our $Dir = File::Temp::tempdir('jpulse-t491-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {});
JPulseTest::view_tree($Dir, { 'app.json' => '{}',
                              'i18n/en.json' => '{"x":"local"}' });
JPulseTest::publish_tree($A, $NS, { 'home/index.shtml' => "from A\n" },
                         event => 0);
JPulseTest::publish_tree($B, $NS, { 'home/index.shtml' => "from B\n" },
                         event => 0);

$ENV{TEST_NGINX_T491_DIR} = $Dir;
$ENV{TEST_NGINX_T491_REDIS_PORT} = $A->{port};
$ENV{TEST_NGINX_T491_DNS_PORT} = $Dns->{port};

repeat_each(1);

plan tests => repeat_each() * 6;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF' . ($block->timeout_conf // ''));
    jpulse_site_id rvdns;
    jpulse_mode dev;
    jpulse_redis localhost:$TEST_NGINX_T491_REDIS_PORT;
    jpulse_view_roots $TEST_NGINX_T491_DIR/view;
    jpulse_config $TEST_NGINX_T491_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T491_DIR/i18n;
    resolver 127.0.0.1:$TEST_NGINX_T491_DNS_PORT ipv6=off;
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

=== TEST 1: no resolver_timeout (nginx's default, 30 s): the name is followed
Before the fix the resolution "times out" at once and the page comes from A.
--- request
GET /home/
--- response_body
from B
--- no_error_log
cannot resolve



=== TEST 2: the same with resolver_timeout written out: B
--- timeout_conf
    resolver_timeout 30s;
--- request
GET /home/
--- response_body
from B
--- no_error_log
cannot resolve
