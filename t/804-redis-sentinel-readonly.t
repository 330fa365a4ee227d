# Following a failover that no sentinel announces: a command meets
# -READONLY (the primary was demoted behind the module's back), the
# module recycles both connections and asks the sentinel again, which now
# names the other server; the switch is logged and counted. The sentinel
# is a fake (t/lib/SentinelTest.pm, no +switch-master ever)
# that requires a password: sentinel_password_file is sent as AUTH, and
# a wrong one is refused with a warning naming the sentinel.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start redis_cli);
use SentinelTest qw(fake_sentinel);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks'
    if $ENV{TEST_NGINX_USE_VALGRIND};

our $A = redis_start();
our $B = redis_start();
our $Dir = File::Temp::tempdir('jpulse-t804-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
our $PortFile = "$Dir/primary";

sub main::name_primary {
    my ($r) = @_;
    open my $fh, '>', "$PortFile.tmp" or die $!;
    print $fh "$r->{port}\n";
    close $fh;
    rename "$PortFile.tmp", $PortFile or die $!;
}

main::name_primary($A);

open my $pw, '>', "$Dir/sentinel.pass" or die $!;
print $pw "s3ntinel\n";
close $pw;
open $pw, '>', "$Dir/wrong.pass" or die $!;
print $pw "wrong\n";
close $pw;

# names the port in $PortFile (read at every question), wants AUTH first
our $Fake = fake_sentinel(master_file => $PortFile, pass => 's3ntinel');

$ENV{TEST_NGINX_T804_SENTINEL} = $Fake->{port};
$ENV{TEST_NGINX_T804_DIR} = $Dir;
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

repeat_each(1);

plan tests => repeat_each() * 17;

our $HttpConfig = <<'CONF';
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=127.0.0.1:$TEST_NGINX_T804_SENTINEL master=t804
                 sentinel_password_file=$TEST_NGINX_T804_DIR/sentinel.pass
                 connect_timeout=300ms command_timeout=300ms
                 ping_interval=200ms;
    jpulse_heartbeat interval=200ms ttl=1s;
CONF

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless $block->http_config;
    $block->set_value('config', <<'CONF') unless $block->config;
    location /api/1/health/ { jpulse_health; }
    location = /m { jpulse_metrics prometheus; }
CONF
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the sentinel (with its password) names A: ready on A
--- wait_for_log
command connection ready
pub/sub connection ready
--- request
GET /api/1/health/ready
--- error_code: 200
--- no_error_log
[error]
[warn]



=== TEST 2: A is demoted behind the module's back: READONLY, then B
--- pre_request
my $mark = JPulseTest::log_mark();
main::name_primary($main::B);
JPulseTest::redis_cli($main::A, 'REPLICAOF', '127.0.0.1', $main::B->{port});
JPulseTest::wait_log($mark, qr/primary of t804 is now/, 10);
JPulseTest::poll_until(5, sub {
    my ($status) = JPulseTest::http_get($Test::Nginx::Socket::ServerPort,
                                        '/api/1/health/ready');
    $status == 200 });
--- request eval
["GET /api/1/health/ready", "GET /m"]
--- response_body_filters eval
[sub { "" },
 sub { my ($n) = $_[0] =~ /^jpulse_redis_failovers_total (\d+)/m;
       "failovers: " . ($n // 'none') . "\n" }]
--- response_body eval
["", "failovers: 1\n"]
--- error_log eval
[qr/answered "READONLY[^"]*": asking the sentinels for the primary/,
 qr/redis: primary of t804 is now 127\.0\.0\.1:$main::B->{port} \(was 127\.0\.0\.1:$main::A->{port}\)/]



=== TEST 3: the heartbeat is written on B now
--- pre_request
Time::HiRes::sleep(0.5);
--- request
GET /api/1/health/ready
--- response_body_filters eval
sub {
    my $keys = JPulseTest::redis_cli($main::B, '--scan', '--pattern',
                                     '*metrics:instance:*');
    "heartbeat on B: " . ($keys =~ /metrics:instance:/ ? "yes" : "no") . "\n"
}
--- response_body
heartbeat on B: yes



=== TEST 4: a wrong sentinel password: refused by the sentinel, named in a warning, never ready
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=127.0.0.1:$TEST_NGINX_T804_SENTINEL master=t804
                 sentinel_password_file=$TEST_NGINX_T804_DIR/wrong.pass
                 connect_timeout=300ms command_timeout=300ms;
--- wait_for_log
no sentinel of 1 names the primary of "t804", retrying
--- pre_request
# rounds go on with the backoff: the sentinel is named once, not per round
Time::HiRes::sleep(1.5);
--- request
GET /api/1/health/ready
--- error_code: 503
--- response_body_filters eval
sub {
    "warnings: "
    . JPulseTest::log_count(qr/\[warn\].*handshake refused: WRONGPASS/)
    . "\n"
}
--- response_body
warnings: 1
--- error_log eval
qr/\[warn\].*jpulse_redis "t804": sentinel 127\.0\.0\.1:\d+: handshake refused: WRONGPASS/



=== TEST 5: a sentinel that names a host name (resolve-hostnames): refused, hiredis would resolve it with blocking DNS
--- wait_for_log
command connection ready
--- pre_request
my $mark = JPulseTest::log_mark();
open my $fh, '>', $main::PortFile or die $!;
print $fh "localhost $main::B->{port}\n";
close $fh;
JPulseTest::redis_cli($main::B, 'CLIENT', 'KILL', 'TYPE', 'normal');
JPulseTest::redis_cli($main::B, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
JPulseTest::wait_log($mark, qr/no sentinel of 1 names the primary/, 5);
--- request
GET /api/1/health/ready
--- error_code: 503
--- error_log eval
[qr/sentinel 127\.0\.0\.1:\d+: names a host name, not an IP address/,
 qr/no sentinel of 1 names the primary of "t804", retrying/]
