# The ROLE check: a (fake) sentinel names a REPLICA as the primary of our
# master. The module connects to it, asks ROLE, is told "slave", refuses
# it (a warning naming the address and the role) and asks again with
# backoff: it never becomes ready, health says so, and the replica gets
# nothing but the handshake (no write, no subscription). Without the
# check a replica answers PING and PSUBSCRIBE and the module would
# declare itself ready on it.
#
# The fake sentinel is a tiny RESP server in this file: it answers
# SENTINEL get-master-addr-by-name with the replica's address, SUBSCRIBE
# with a confirmation, AUTH and PING as a server would.
use strict;
use warnings;

use lib 't/lib';
use IO::Select ();
use IO::Socket::INET ();
use JPulseTest qw(redis_start redis_cli);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks'
    if $ENV{TEST_NGINX_USE_VALGRIND};

our $Primary = redis_start();
our $Replica = redis_start(args => ['--replicaof', '127.0.0.1',
                                    $Primary->{port}]);
JPulseTest::poll_until(10, sub {
    redis_cli($Replica, 'INFO', 'replication') =~ /master_link_status:up/ });
redis_cli($Replica, 'CONFIG', 'RESETSTAT');

our $Fake = fake_sentinel($Replica->{port});

$ENV{TEST_NGINX_T803_SENTINEL} = $Fake->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

sub fake_sentinel {
    my ($answer_port) = @_;

    my $l = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1) or die $!;
    my $port = $l->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid) {
        close $l;
        return { pid => $pid, port => $port };
    }

    my $sel = IO::Select->new($l);
    my %buf;
    while (1) {
        for my $fh ($sel->can_read(1)) {
            if ($fh == $l) {
                my $c = $l->accept or next;
                $sel->add($c);
                $buf{$c} = '';
                next;
            }
            my $n = sysread $fh, my $chunk, 4096;
            if (!$n) { $sel->remove($fh); delete $buf{$fh}; close $fh; next }
            $buf{$fh} .= $chunk;
            while (my $cmd = _resp_take(\$buf{$fh})) {
                my $name = uc($cmd->[0] // '');
                my $out;
                if ($name eq 'SENTINEL') {
                    $out = "*2\r\n\$9\r\n127.0.0.1\r\n\$" . length($answer_port)
                           . "\r\n$answer_port\r\n";
                } elsif ($name eq 'SUBSCRIBE') {
                    my $ch = $cmd->[1] // '';
                    $out = "*3\r\n\$9\r\nsubscribe\r\n\$" . length($ch)
                           . "\r\n$ch\r\n:1\r\n";
                } elsif ($name eq 'PING') {
                    $out = "+PONG\r\n";
                } elsif ($name eq 'AUTH') {
                    $out = "+OK\r\n";
                } else {
                    $out = "-ERR unknown command\r\n";
                }
                syswrite $fh, $out;
            }
        }
    }
}

# one command (an array of bulk strings) off the front of $$buf, or undef
sub _resp_take {
    my ($buf) = @_;
    return undef unless $$buf =~ /\A\*(\d+)\r\n/;
    my ($n, $pos) = ($1, length($&));
    my @args;
    for (1 .. $n) {
        return undef unless substr($$buf, $pos) =~ /\A\$(\d+)\r\n/;
        my $len = $1;
        $pos += length($&);
        return undef if length($$buf) < $pos + $len + 2;
        push @args, substr($$buf, $pos, $len);
        $pos += $len + 2;
    }
    substr($$buf, 0, $pos) = '';
    return \@args;
}

END { kill 'KILL', $Fake->{pid} if $Fake && $Fake->{pid} }

repeat_each(1);

plan tests => repeat_each() * 5;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless $block->http_config;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis sentinel=127.0.0.1:$TEST_NGINX_T803_SENTINEL master=t803
                 connect_timeout=300ms command_timeout=300ms;
    jpulse_heartbeat interval=200ms ttl=1s;
CONF
    $block->set_value('config', <<'CONF') unless $block->config;
    location /api/1/health/ { jpulse_health; }
CONF
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the replica named by the sentinel is refused, with its role
--- wait_for_log
has role "slave", not master: refused
--- request
GET /api/1/health/ready
--- error_code: 503
--- error_log eval
[qr/command connection: 127\.0\.0\.1:$main::Replica->{port} has role "slave", not master: refused, asking the sentinels again/,
 qr/pub\/sub connection: 127\.0\.0\.1:$main::Replica->{port} has role "slave", not master/]



=== TEST 2: a second later: still not ready, never was, retried, nothing written to the replica
--- pre_request
Time::HiRes::sleep(1.2);
--- request
GET /api/1/health/ready
--- error_code: 503
--- response_body_filters eval
sub {
    my $info = JPulseTest::redis_cli($main::Replica, 'INFO', 'commandstats');
    my %calls = $info =~ /^cmdstat_(\w+):calls=(\d+)/mg;
    # the handshake pipelines the subscriptions behind ROLE: not writes
    my @other = grep { !/^(role|ping|auth|select|info|config|command|
                           p?subscribe)$/x }
                sort keys %calls;
    my $ready = JPulseTest::log_count(qr/": (command|pub\/sub) connection (ready|restored)/);
    "roles asked: " . (($calls{role} // 0) >= 4 ? "several" : "few") . "\n"
    . "other commands: @other\n"
    . "ready: $ready\n"
}
--- response_body
roles asked: several
other commands: 
ready: 0
