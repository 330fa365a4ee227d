# The R16-mod review of jpulse_redis cluster=..., against the fake node
# of t/lib/fake-cluster-node.py:
#  1. a MOVED to an address that neither the map nor the seeds name is
#     not followed: nothing (no AUTH, no command) reaches that address,
#     and the request is answered (without its session);
#  2. a primary that refuses connections: a session on it is not waited
#     for (each request answered in under 100 ms, not parked until the
#     node's next retry);
#  3. a seed whose CLUSTER SLOTS fails for good: asked again with a
#     backoff, and the warning logged once, not 5 times a second;
#  5. a CLUSTER SLOTS of 4,000,000 empty arrays (16 MB): refused by the
#     reader before hiredis builds it, the worker stays small (its
#     VmHWM), the refusal warned of once;
#  6. an ASK to a node whose connection is at max_pending: neither
#     ASKING nor the command goes (never an ASKING alone, which would
#     let the next command on that connection into an importing slot);
#     with room for both, both go, ASKING right before its command;
#  7. a command waiting for an ASK's node (T) to connect: when it
#     resumes, T's entry may serve another address (N) since T left the
#     map; nothing of that command reaches N.
use strict;
use warnings;

use lib 't/lib';
use IO::Socket::INET ();
use Time::HiRes ();
use JPulseTest ();
use CachectlTest qw(poll_until);
use FakeNode ();
use SessionTest ();
use Test::Nginx::Socket;

our $Dir = CachectlTest::tmpdir();

sub fake {
    my ($mode, $port, @args) = @_;
    return FakeNode::start('fake-cluster-node.py', $mode, $port, @args);
}

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
fake('capture', $cport, '-', $Cap);
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

# 5: a seed whose CLUSTER SLOTS is *4000000 of *0
$ENV{TEST_NGINX_T844_HUGE} = '127.0.0.1:' . fake('huge', undef, 4000000);

# 6: ASK from the lower half of the slots to the upper one, which logs
# what it gets; a session in the lower half
our $AskLog = "$Dir/ask.log";
$ENV{TEST_NGINX_T844_ASK} = '127.0.0.1:' . fake('ask', undef, '-', $AskLog);
my $low;
for my $i (0 .. 1000) {
    $low = sprintf 'dDg0NC1sb3ctMDEyMzQ1Njc4OWFiY2RlZi0%04d', $i;
    last if slot("t844:dev:sess:$low") < 8192;
}
our $LowKey = "t844:dev:sess:$low";
$ENV{TEST_NGINX_T844_COOKIE_LOW} = SessionTest::cookie($low);

# 7: 64 primaries, the last (slots 16128-16383) T, then N; a session on
# one of the others (asked to T) and one in the last range (makes N's
# entry once the map names N)
our $ReuseLog = "$Dir/reuse.log";
$ENV{TEST_NGINX_T844_REUSE} = '127.0.0.1:'
                              . fake('reuse', undef, '-', $ReuseLog);
my ($r1, $r2);
for my $i (0 .. 5000) {
    my $id = sprintf 'dDg0NC1yZXVzZS0wMTIzNDU2Nzg5YWJjZGVmLTA%05d', $i;
    my $s = slot("t844:dev:sess:$id");
    $r1 //= $id if $s < 16128;
    $r2 //= $id if $s >= 16128;
    last if defined $r1 && defined $r2;
}
our $R1Key = "t844:dev:sess:$r1";
$ENV{TEST_NGINX_T844_COOKIE_R1} = SessionTest::cookie($r1);
$ENV{TEST_NGINX_T844_COOKIE_R2} = SessionTest::cookie($r2);

sub get_timed {
    my ($cookie) = @_;
    $cookie //= $ENV{TEST_NGINX_T844_COOKIE};
    my $t0 = Time::HiRes::time();
    my ($status) = JPulseTest::http_get($Test::Nginx::Socket::ServerPort,
        '/s', headers => "Cookie: $cookie\r\n");
    return (Time::HiRes::time() - $t0, $status);
}

# the ask node's log, per connection: an ASKING not followed by the
# command it was for (a data command) is alone
sub asking {
    my ($alone, $paired) = (0, 0);
    open my $fh, '<', $AskLog or return 'no log';
    my @lines = map { [split ' ', $_, 3] } <$fh>;
    for my $i (0 .. $#lines) {
        my ($conn, $cmd) = @{$lines[$i]};
        next unless uc $cmd eq 'ASKING';
        my ($next) = grep { $_->[0] eq $conn } @lines[$i + 1 .. $#lines];
        if ($next && uc $next->[1] eq 'GET'
            && ($next->[2] // '') =~ /^\Q$LowKey\E\s*$/)
        {
            $paired++;
        } elsif (!$next || $next->[1] =~ /^(ASKING|CLUSTER|PUBLISH|PING
                                            |AUTH|P?SUBSCRIBE)$/xi)
        {
            $alone++;
        }
    }
    return "alone $alone, paired " . ($paired ? 'some' : 'none');
}

# 7: the first session GET is asked to T, which never connects; while
# it waits (100 ms steps), the map names N instead, and a request for a
# session of N's slots gives N an entry: T's, idle since T left the map
sub reuse {
    my $port = $Test::Nginx::Socket::ServerPort;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 3) or return;
    print $s "GET /s HTTP/1.0\r\nHost: localhost\r\n"
             . "Cookie: $ENV{TEST_NGINX_T844_COOKIE_R1}\r\n\r\n";
    # right after the map that drops T: T's entry is idle until the
    # waiting command's next 100 ms step (before the fix: connects T)
    JPulseTest::poll_until(2, sub { log_count(qr/cluster slot map 2:/) > 0 },
                           0.002);
    JPulseTest::http_get($port, '/s',
        headers => "Cookie: $ENV{TEST_NGINX_T844_COOKIE_R2}\r\n");
    local $/;
    my $r = <$s>;
    close $s;
    Time::HiRes::sleep(0.3);
}

# what N got: its connection made (PING), and any of the asked command
sub reused {
    open my $fh, '<', $ReuseLog or return 'no log';
    my @lines = <$fh>;
    my $ping = grep { /^\d+ PING/i } @lines;
    my $asked = grep { /^\d+ ASKING/i || /^\d+ GET \Q$R1Key\E\s*$/ }
                @lines;
    return 'N ' . ($ping ? 'connected' : 'not connected')
           . ", asked command there $asked";
}

sub log_count {
    my ($re) = @_;
    open my $fh, '<', $Test::Nginx::Socket::ErrLogFile or return -1;
    return scalar grep { /$re/ } <$fh>;
}

worker_connections(1024);
repeat_each(1);
plan tests => repeat_each() * 2 * blocks();

add_block_preprocessor(sub {
    my ($block) = @_;
    my $seeds = $block->seeds;
    my $pending = $block->max_pending ? ' max_pending=' . $block->max_pending
                                      : '';
    my $cookie = $block->cookie ? '_' . $block->cookie : '';
    $block->set_value('http_config', <<"CONF");
    jpulse_site_id t844;
    jpulse_mode dev;
    jpulse_redis cluster=\$TEST_NGINX_T844_$seeds password=S3cr3t-Pw
                 connect_timeout=300ms command_timeout=500ms
                 ping_interval=10s$pending;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
CONF
    $block->set_value('config', <<'CONF');
    location = /s {
        return 200 "$jpulse_session_state $jpulse_username\n";
    }

    location = /pid {
        return 200 "$pid\n";
    }
CONF
    $block->set_value('more_headers',
                      "Cookie: $ENV{\"TEST_NGINX_T844_COOKIE$cookie\"}");
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



=== TEST 4: CLUSTER SLOTS of 4,000,000 elements: refused unbuilt, worker small
--- seeds: HUGE
--- pre_request
JPulseTest::poll_until(5, sub {
    main::log_count(qr/CLUSTER SLOTS of .*refused|array elements/)
        > 0 });
Time::HiRes::sleep(2);
--- request
GET /s
--- response_body_filters eval
sub { my $hwm = JPulseTest::worker_hwm($Test::Nginx::Socket::ServerPort);
      $_[0] . ($hwm > 0 && $hwm < 65536 ? "small ($hwm kB)"
                                        : "VmHWM $hwm kB")
      . ', warned '
      . main::log_count(qr/\[error\].* the server sent a reply of more than \d+ array elements/)
      . "\n" }
--- response_body_like: ^\S+ \S*\nsmall \(\d+ kB\), warned [1-4]\n$



=== TEST 5: ASK to a node at max_pending: no ASKING alone
--- seeds: ASK
--- max_pending: 1
--- cookie: LOW
--- pre_request
JPulseTest::poll_until(5, sub { main::log_count(qr/cluster slot map/) > 0 });
Time::HiRes::sleep(0.3);
main::get_timed($ENV{TEST_NGINX_T844_COOKIE_LOW}) for 1 .. 5;
--- request
GET /s
--- response_body_filters eval
sub { Time::HiRes::sleep(0.3); $_[0] . main::asking() . "\n" }
--- response_body_like: ^\S+ \S*\nalone 0, paired none\n$



=== TEST 6: ASK with room for both: ASKING right before its command
--- seeds: ASK
--- max_pending: 2
--- cookie: LOW
--- pre_request
truncate $main::AskLog, 0;
JPulseTest::poll_until(5, sub { main::log_count(qr/cluster slot map/) > 0 });
Time::HiRes::sleep(0.3);
main::get_timed($ENV{TEST_NGINX_T844_COOKIE_LOW}) for 1 .. 5;
--- request
GET /s
--- response_body_filters eval
sub { Time::HiRes::sleep(0.3); $_[0] . main::asking() . "\n" }
--- response_body_like: ^\S+ \S*\nalone 0, paired some\n$



=== TEST 7: an ASK waiting for its node: not sent to the address its entry serves next
--- seeds: REUSE
--- pre_request
JPulseTest::poll_until(5, sub { main::log_count(qr/cluster slot map/) > 0 });
Time::HiRes::sleep(0.5);
main::reuse();
--- request
GET /s
--- response_body_filters eval
sub { $_[0] . main::reused() . "\n" }
--- response_body_like: ^\S+ \S*\nN connected, asked command there 0\n$
