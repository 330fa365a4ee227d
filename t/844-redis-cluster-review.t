# The R16-mod review of jpulse_redis cluster=..., against the fake node
# of t/lib/fake-cluster-node.py:
#  1. a MOVED to an address that neither the map nor the seeds name is
#     not followed: nothing (no AUTH, no command) reaches that address,
#     and the request is answered (without its session);
#  2. a primary that refuses connections: a session on it is not waited
#     for (each request answered in under 100 ms, not parked until the
#     node's next retry);
#  3. a seed whose CLUSTER SLOTS fails for good: asked again with a
#     backoff, and the warning logged once, not 5 times a second.
use strict;
use warnings;

use lib 't/lib';
use IO::Socket::INET ();
use Time::HiRes ();
use JPulseTest ();
use CachectlTest qw(spawn spawn_stop poll_until);
use SessionTest ();
use Test::Nginx::Socket;

my $Fake = "t/lib/fake-cluster-node.py";
our $Dir = CachectlTest::tmpdir();
my @Fakes;

sub fake {
    my ($mode, @args) = @_;
    my $port = shift(@args) // JPulseTest::free_port();
    my $p = spawn(cmd => ['python3', $Fake, $mode, $port, @args]);
    push @Fakes, $p;
    poll_until(5, sub {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1)
    }) or die "the fake node $mode did not start\n";
    return $port;
}

END { local $?; spawn_stop($_) for @Fakes }

# the slot of a key without a hash tag (CRC16/XMODEM mod 16384)
sub slot {
    my $crc = 0;
    for my $c (unpack 'C*', $_[0]) {
        $crc ^= $c << 8;
        for (1 .. 8) {
            $crc = $crc & 0x8000 ? (($crc << 1) ^ 0x1021) & 0xffff
                                 : ($crc << 1) & 0xffff;
        }
    }
    return $crc % 16384;
}

# 1: a listener that logs what it gets, named only by the fake's MOVED
our $Cap = "$Dir/capture.log";
my $cport = JPulseTest::free_port();
push @Fakes, spawn(cmd => ['python3', $Fake, 'capture', $cport, '-', $Cap]);
$ENV{TEST_NGINX_T844_MOVED} = '127.0.0.1:' . fake('moved', undef, $cport);

# 2: the upper half of the slots on a port nobody listens on, and a
# session whose key is there
my $dead = JPulseTest::free_port();
$ENV{TEST_NGINX_T844_SPLIT} = '127.0.0.1:' . fake('split', undef, $dead);
my $sid;
for my $i (0 .. 1000) {
    $sid = sprintf 'dDg0NC1zaWQtMDEyMzQ1Njc4OWFiY2RlZi0%04d', $i;
    last if slot("t844:dev:sess:$sid") >= 8192;
}
$ENV{TEST_NGINX_T844_COOKIE} = SessionTest::cookie($sid);

# 3: a seed that is not in cluster mode
$ENV{TEST_NGINX_T844_NOCLUSTER} = '127.0.0.1:' . fake('nocluster');

sub get_timed {
    my $t0 = Time::HiRes::time();
    my ($status) = JPulseTest::http_get($Test::Nginx::Socket::ServerPort,
        '/s', headers => "Cookie: $ENV{TEST_NGINX_T844_COOKIE}\r\n");
    return (Time::HiRes::time() - $t0, $status);
}

sub log_count {
    my ($re) = @_;
    open my $fh, '<', $Test::Nginx::Socket::ErrLogFile or return -1;
    return scalar grep { /$re/ } <$fh>;
}

repeat_each(1);
plan tests => repeat_each() * 2 * blocks();

add_block_preprocessor(sub {
    my ($block) = @_;
    my $seeds = $block->seeds;
    $block->set_value('http_config', <<"CONF");
    jpulse_site_id t844;
    jpulse_mode dev;
    jpulse_redis cluster=\$TEST_NGINX_T844_$seeds password=S3cr3t-Pw
                 connect_timeout=300ms command_timeout=500ms
                 ping_interval=10s;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
CONF
    $block->set_value('config', <<'CONF');
    location = /s {
        return 200 "$jpulse_session_state $jpulse_username\n";
    }
CONF
    $block->set_value('more_headers',
                      "Cookie: $ENV{TEST_NGINX_T844_COOKIE}");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: MOVED to an address of no map nor seed: not followed, nothing reaches it
--- seeds: MOVED
--- pre_request
JPulseTest::poll_until(5, sub { main::log_count(qr/cluster slot map/) > 0 });
--- request
GET /s
--- response_body_filters eval
sub { Time::HiRes::sleep(1.5);
      $_[0] . 'captured ' . ((-s $main::Cap) // 0) . "\n" }
--- response_body_like: ^\S+ \S*\ncaptured 0\n$



=== TEST 2: a refusing primary: its session is not waited for (< 100 ms)
--- seeds: SPLIT
--- pre_request
JPulseTest::poll_until(5, sub { main::log_count(qr/cluster slot map/) > 0 });
main::get_timed() for 1 .. 3;
Time::HiRes::sleep(0.3);
--- request
GET /s
--- response_body_filters eval
sub { my $max = 0;
      for (1 .. 8) {
          my ($t) = main::get_timed();
          $max = $t if $t > $max;
          Time::HiRes::sleep(0.05);
      }
      $_[0] . ($max < 0.1 ? "fast\n" : sprintf "slowest %.3f s\n", $max) }
--- response_body_like: ^\S+ \S*\nfast\n$



=== TEST 3: CLUSTER SLOTS failing for good: backoff, one warning
--- seeds: NOCLUSTER
--- pre_request
Time::HiRes::sleep(3);
--- request
GET /s
--- response_body_filters eval
sub { $_[0] . 'warned '
      . main::log_count(qr/\[warn\].*CLUSTER SLOTS on .*cluster support/)
      . "\n" }
--- response_body_like: ^\S+ \S*\nwarned 1\n$
