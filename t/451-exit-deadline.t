# The master's stop-time exchange with Redis (delete the heartbeat, leave
# the registry, jPulse's shutdown message) has one deadline, 500 ms, for
# everything: connect, AUTH, SELECT and the commands. A fake Redis that
# answers, but one byte every 400 ms, used to hold "nginx -s quit" for
# seconds: every step and every read had its own 500 ms. The commands are
# written at once, so even a slow Redis gets them all.
use lib 't/lib';
use JPulseTest ();
use IO::Select;
use IO::Socket::INET;
use POSIX ();
use Test::Nginx::Socket;

our ($Fake, $Result);

# A listener that reads RESP commands on every connection (a process
# each) and answers each with "+OK\r\n", one byte every $delay seconds.
# When a connection ends it appends "names of the commands|seconds it
# lasted" to $log.
sub main::slow_redis {
    my ($delay) = @_;

    my $listen = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                       LocalPort => 0, ReuseAddr => 1)
        or die "listen: $!";
    my $log = File::Temp->new(UNLINK => 1)->filename;

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{PIPE} = 'IGNORE';
        $SIG{CHLD} = 'IGNORE';
        while (my $c = $listen->accept) {
            next if fork;
            main::slow_connection($c, $delay, $log);
            POSIX::_exit(0);
        }
        POSIX::_exit(0);
    }

    return { pid => $pid, port => $listen->sockport, log => $log };
}

sub main::slow_connection {
    my ($c, $delay, $log) = @_;
    my $start = Time::HiRes::time();
    my $sel = IO::Select->new($c);
    my ($buf, $owed, @names) = ('', 0);

    CONN: while (1) {
        # every complete command in the buffer
        while ($buf =~ /\A\*(\d+)\r\n/) {
            my ($n, $pos, @args) = ($1, length("*$1\r\n"));
            for (1 .. $n) {
                substr($buf, $pos) =~ /\A\$(\d+)\r\n/ or last;
                my $len = $1;
                my $at = $pos + length("\$$len\r\n");
                last if length($buf) < $at + $len + 2;
                push @args, substr($buf, $at, $len);
                $pos = $at + $len + 2;
            }
            last if @args < $n;
            substr($buf, 0, $pos) = '';
            push @names, uc $args[0];
            $owed++;
        }

        if ($owed) {
            for my $byte (split //, "+OK\r\n") {
                Time::HiRes::sleep($delay);
                last CONN unless $c->connected && syswrite($c, $byte);
                # the client may have given up meanwhile
                if ($sel->can_read(0)) {
                    my $n = sysread($c, $buf, 65536, length $buf);
                    last CONN unless $n;
                }
            }
            $owed--;
            next;
        }

        $sel->can_read(5) or last;
        sysread($c, $buf, 65536, length $buf) or last;
    }

    open my $fh, '>>', $log or return;
    printf $fh "%s|%.1f\n", join(' ', @names), Time::HiRes::time() - $start;
    close $fh;
}

# the exit exchange as the fake Redis saw it: its commands, and whether it
# was over within 3 s (the deadline is 500 ms; old code took about 8 s)
sub main::exit_exchange {
    my ($fake) = @_;
    open my $fh, '<', $fake->{log} or return "no connection\n";
    my ($line) = grep { /\bDEL\b/ } <$fh>;
    return "no exchange at exit\n" unless $line;
    my ($names, $took) = $line =~ /^(.*)\|([\d.]+)$/;
    return "exit commands: $names\n"
           . "over within 3 s: " . ($took < 3 ? 'yes' : "no ($took s)") . "\n";
}

plan skip_all => 'starts its own nginx' if $ENV{TEST_NGINX_USE_VALGRIND};

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3);

no_shuffle();
run_tests();

END { kill 'KILL', $Fake->{pid} if $Fake && $Fake->{pid} }

__DATA__

=== TEST 1: a Redis that answers one byte every 400 ms: quit completes
within 3 s (was about 8), and every command was sent
--- config
    location = /t { return 200 "ok\n"; }
--- pre_request
$main::Fake = main::slow_redis(0.4);
my $n = JPulseTest::nginx_start(http => "
    jpulse_redis 127.0.0.1:$main::Fake->{port} db=2 password=secret
                 connect_timeout=300ms;
    jpulse_heartbeat interval=1s ttl=5s;", config => '');
Time::HiRes::sleep(0.3);
my $start = Time::HiRes::time();
JPulseTest::nginx_stop($n);
my $took = Time::HiRes::time() - $start;
Time::HiRes::sleep(0.5);     # the fake notices the close within a byte
my ($gave_up) = JPulseTest::_slurp("$n->{dir}/logs/error.log")
    =~ /(cannot remove the heartbeat of instance \S+ at exit \([^)]*\))/;
$gave_up =~ s/instance \S+/instance ID/ if $gave_up;
$main::Result = "quit within 3 s: " . ($took < 3 ? 'yes' : "no ($took s)")
    . "\n" . main::exit_exchange($main::Fake)
    . "log: " . ($gave_up // 'nothing') . "\n";
--- request
GET /t
--- response_body_filters eval
sub { $main::Result }
--- response_body
quit within 3 s: yes
exit commands: AUTH SELECT DEL ZREM PUBLISH
over within 3 s: yes
log: cannot remove the heartbeat of instance ID at exit (no answer in time, 500 ms at most)
--- no_error_log
[error]
