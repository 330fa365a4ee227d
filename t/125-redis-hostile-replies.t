# Replies a real Redis never sends, from a peer that is not one (or a
# compromised one): a pub/sub message of the wrong shape, an unsubscribe
# without its count, a reply to no command. hiredis 0.14 asserts on each:
# the worker aborted, nginx started another, and the peer did it again
# (about 400 crashes a second). The module's reader refuses them first:
# the connection fails, is logged (a server that does it at every
# connection: four times, then once a minute) and retried with backoff, and
# the worker lives.
# Each variant of t/lib/fake-pubsub-node.py, against one Redis and
# against a one-node Redis Cluster.
use strict;
use warnings;

use lib 't/lib';
use FakeNode ();
use JPulseTest ();
use Test::Nginx::Socket;

our %Fakes;

# closeafter2: stopped in the middle of its block; sentpempty: a sentinel
# naming t/run's Redis as the primary
for my $variant (qw(nil empty one kindint chint unsubshort unsubstr
                    unsub0msg msgnil extra hugebulk straymsg strayint
                    bigstrings closeafter closeafter2 sentpempty))
{
    my $port;
    ($port, $Fakes{$variant}) = FakeNode::start('fake-pubsub-node.py',
        $variant, undef, $ENV{TEST_NGINX_REDIS_PORT});
    $ENV{"TEST_NGINX_T125_\U$variant"} = $port;
}

# the body, and "small" if the worker's peak RSS stayed under $mb MB
# (under ASan, whose shadow memory and quarantine take more, not measured)
sub small {
    my ($body, $mb) = @_;
    return "${body}small\n" if $ENV{JPULSE_ASAN_DIR};
    my $hwm = JPulseTest::worker_hwm($Test::Nginx::Socket::ServerPort);
    return $body . ($hwm > 0 && $hwm < $mb * 1024 ? "small\n"
                                                  : "VmHWM $hwm kB\n");
}

# a line of this block's error log matches (64 MB take a while to come;
# under ASan the handshake's deadline may come first)
sub logged {
    my ($re) = @_;
    open my $fh, '<', $Test::Nginx::Socket::ErrLogFile or return 0;
    return scalar grep { /$re/ } <$fh>;
}

repeat_each(1);
plan tests => repeat_each() * (4 * blocks() + 3);

add_block_preprocessor(sub {
    my ($block) = @_;
    my ($variant, $mode, $password) = split ' ', $block->fake;
    my $addr = "127.0.0.1:\$TEST_NGINX_T125_\U$variant";
    $addr = "cluster=$addr" if $mode eq 'cluster';
    $addr = "sentinel=$addr master=t125 sentinel_password=S3cr3t-Sn"
        if $mode eq 'sentinel';
    # AUTH before SUBSCRIBE: hiredis then has a callback to misroute to
    $addr .= ' password=S3cr3t-Pw' if $password;
    $block->set_value('http_config', <<"CONF");
    jpulse_site_id t125;
    jpulse_mode dev;
    jpulse_redis $addr connect_timeout=300ms command_timeout=500ms
                 ping_interval=1s;
CONF
    $block->set_value('config', <<'CONF');
    location = /t {
        return 200 "alive\n";
    }
    location = /pid {
        return 200 $pid;
    }
CONF
    # time for the crash loop that was, and for retries to repeat it
    $block->set_value('pre_request', 'select undef, undef, undef, 0.5;')
        unless defined $block->pre_request;
    $block->set_value('request', 'GET /t');
    $block->set_value('response_body', "alive\n")
        unless defined $block->response_body;
    $block->set_value('no_error_log', 'exited on signal');
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: SUBSCRIBE answered nil: refused, no crash
--- fake: nil single
--- error_log
pub/sub connection failed: the server sent a pub/sub reply that is not an array

=== TEST 2: the same, cluster
--- fake: nil cluster
--- error_log
pub/sub connection failed: the server sent a pub/sub reply that is not an array

=== TEST 3: an empty array on the subscribed connection: refused, no crash
--- fake: empty single
--- error_log
pub/sub connection failed: the server sent a pub/sub message of fewer than two fields

=== TEST 4: the same, cluster
--- fake: empty cluster
--- error_log
pub/sub connection failed: the server sent a pub/sub message of fewer than two fields

=== TEST 5: an array of one field: refused, no crash
--- fake: one single
--- error_log
pub/sub connection failed: the server sent a pub/sub message of fewer than two fields

=== TEST 6: the same, cluster
--- fake: one cluster
--- error_log
pub/sub connection failed: the server sent a pub/sub message of fewer than two fields

=== TEST 7: a number for the kind: refused, no crash
--- fake: kindint single
--- error_log
the server sent a pub/sub message whose kind or channel is not a string

=== TEST 8: the same, cluster
--- fake: kindint cluster
--- error_log
the server sent a pub/sub message whose kind or channel is not a string

=== TEST 9: a number for the channel: refused, no crash
--- fake: chint single
--- error_log
the server sent a pub/sub message whose kind or channel is not a string

=== TEST 10: the same, cluster
--- fake: chint cluster
--- error_log
the server sent a pub/sub message whose kind or channel is not a string

=== TEST 11: an unsubscribe without its count (hiredis would read past the array)
--- fake: unsubshort single
--- error_log
the server sent an unsubscribe message without its count

=== TEST 12: the same, cluster
--- fake: unsubshort cluster
--- error_log
the server sent an unsubscribe message without its count

=== TEST 13: an unsubscribe whose count is a string: refused, no crash
--- fake: unsubstr single
--- error_log
the server sent an unsubscribe message whose count is not a number

=== TEST 14: the same, cluster
--- fake: unsubstr cluster
--- error_log
the server sent an unsubscribe message whose count is not a number

=== TEST 15: unsubscribed from everything, then a message: refused, no crash
--- fake: unsub0msg single
--- error_log
pub/sub connection lost: the server sent a reply to no command

=== TEST 16: the same, cluster
--- fake: unsub0msg cluster
--- error_log
pub/sub connection lost: the server sent a reply to no command

=== TEST 17: a message with a nil payload: ignored, the connection stays
--- fake: msgnil single
--- error_log
pub/sub connection ready

=== TEST 18: the same, cluster
--- fake: msgnil cluster
--- error_log
pub/sub connection ready

=== TEST 19: two replies to one PING on the command connection: refused, said four times
--- fake: extra single
--- pre_request
select undef, undef, undef, 3.5;
--- error_log
command connection lost: the server sent a reply to no command
--- log_level: notice
--- grep_error_log eval: qr/the server sent a reply to no command|connection restored/
--- grep_error_log_out
the server sent a reply to no command
connection restored
the server sent a reply to no command
connection restored
the server sent a reply to no command
connection restored
the server sent a reply to no command
connection restored

=== TEST 20: the same on a cluster node's connection
--- fake: extra cluster
--- pre_request
select undef, undef, undef, 3.5;
--- error_log
connection lost: the server sent a reply to no command
--- log_level: notice
--- grep_error_log eval: qr/the server sent a reply to no command|connection restored/
--- grep_error_log_out
the server sent a reply to no command
connection restored
the server sent a reply to no command
connection restored
the server sent a reply to no command
connection restored
the server sent a reply to no command
connection restored


=== TEST 21: a bulk string announced as 1 GB: the connection goes at 64 MB, the worker stays small
--- fake: hugebulk single
--- pre_request
JPulseTest::poll_until(20, sub { main::logged(qr/more than 64 MB|no answer to the handshake/) });
--- error_log eval
qr/pub\/sub connection failed: (?:the server sent a reply of more than 64 MB|no answer to the handshake)/
--- response_body_filters eval
sub { main::small($_[0], 100) }
--- response_body
alive
small



=== TEST 22: with AUTH first, SUBSCRIBE answered nil (hiredis ran AUTH's freed callback again: SIGSEGV)
--- fake: nil single password
--- error_log
pub/sub connection failed: the server sent a pub/sub reply that is not an array

=== TEST 23: with AUTH first, a message for a channel never subscribed
--- fake: straymsg single password
--- error_log
pub/sub connection failed: the server sent a pub/sub message for no subscription

=== TEST 24: the same, cluster
--- fake: straymsg cluster password
--- error_log
pub/sub connection failed: the server sent a pub/sub message for no subscription

=== TEST 25: with AUTH first, an integer on the subscribed connection
--- fake: strayint single password
--- error_log
pub/sub connection failed: the server sent a pub/sub reply that is not an array

=== TEST 26: 8 strings of 16 MB in one reply: refused past 64 MB, the worker stays small
--- fake: bigstrings single
--- pre_request
JPulseTest::poll_until(20, sub { main::logged(qr/more than 64 MB|no answer to the handshake/) });
--- error_log eval
qr/command connection failed: (?:the server sent a reply of more than 64 MB|no answer to the handshake)/
--- response_body_filters eval
sub { main::small($_[0], 120) }
--- response_body
alive
small

=== TEST 27: a server that closes right after each handshake: said four times, not at every reconnect
--- fake: closeafter single
--- log_level: notice
--- pre_request
select undef, undef, undef, 3.5;
--- error_log
command connection lost: Server closed the connection
--- grep_error_log eval: qr/command connection (?:lost|restored)/
--- grep_error_log_out
command connection lost
command connection restored
command connection lost
command connection restored
command connection lost
command connection restored
command connection lost
command connection restored



=== TEST 28: the flapping server goes away: the outage is said (after the hushed losses)
--- fake: closeafter2 single
--- log_level: notice
--- pre_request
select undef, undef, undef, 3.5;
FakeNode::stop(delete $main::Fakes{closeafter2});
select undef, undef, undef, 1.5;
--- error_log
command connection failed: Connection refused

=== TEST 29: a sentinel whose watch gets a pmessage for an empty pattern (the watch has none), with AUTH first
--- fake: sentpempty sentinel
--- pre_request
select undef, undef, undef, 1;
--- error_log
the server sent a pub/sub message for no subscription
