package RedisProxy;

# A TCP proxy in front of a private redis-server, for suites that need a
# Redis reply to come late, deterministically: replies on command
# connections are held while hold($p, 1) is on, and delayed by `delay`
# seconds in any case; a pub/sub connection (one that sent SUBSCRIBE or
# PSUBSCRIBE) gets everything at once. So a test can let Redis run a
# command, change what it read and publish the event, and only then let
# the reply through. hold($p, 'HGETALL') holds a command connection only
# from the first command matching that pattern on.
#
#   my $p = RedisProxy::start($redis, delay => 0.05);  # { port, pid }
#   RedisProxy::hold($p, 1); ...; RedisProxy::hold($p, 0);
#   RedisProxy::stop($p);                              # also at exit

use strict;
use warnings;

use File::Temp ();
use IO::Select ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

my @Started;

sub start {
    my ($r, %opt) = @_;

    my $dir = File::Temp::tempdir('jpulse-proxy-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    my $listen = IO::Socket::INET->new(Listen => 64, LocalAddr => '127.0.0.1',
                                       LocalPort => 0, ReuseAddr => 1)
        or die "proxy: $!";
    my $p = { port => $listen->sockport, hold => "$dir/hold",
              delay => $opt{delay} // 0 };

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        _serve($listen, $r->{port}, $p);
        POSIX::_exit(0);
    }
    close $listen;
    $p->{pid} = $pid;
    push @Started, $p;
    return $p;
}

sub hold {
    my ($p, $on) = @_;

    if ($on) {
        my $tmp = "$p->{hold}.tmp";
        open my $fh, '>', $tmp or die "$tmp: $!";
        print $fh $on eq '1' ? '' : $on;
        close $fh;
        rename $tmp, $p->{hold} or die "$p->{hold}: $!";
    } else {
        unlink $p->{hold};
    }
}

sub stop {
    my ($p) = @_;

    return unless $p->{pid};
    kill 'KILL', $p->{pid};
    waitpid $p->{pid}, 0;
    delete $p->{pid};
}

sub _serve {
    my ($listen, $port, $p) = @_;

    my $sel = IO::Select->new($listen);
    my %conn;       # fileno => { client, server, sub, queue, peer }

    while (1) {
        my $now = Time::HiRes::time();
        my $pattern = _slurp($p->{hold});

        for my $c (values %conn) {
            $c->{holding} = 0 unless defined $pattern;
            my $held = defined $pattern
                       && ($pattern eq '' || $c->{holding});
            while (@{ $c->{queue} } && !$held
                   && $c->{queue}[0][0] + $p->{delay} <= $now)
            {
                _write($c->{client}, (shift @{ $c->{queue} })->[1])
                    or _close(\%conn, $sel, $c), last;
            }
        }

        for my $fh ($sel->can_read(0.005)) {
            if ($fh == $listen) {
                my $client = $listen->accept or next;
                my $server = IO::Socket::INET->new(
                    PeerAddr => "127.0.0.1:$port") or do { close $client; next };
                my $c = { client => $client, server => $server, sub => 0,
                          queue => [] };
                $conn{ fileno $client } = $c;
                $conn{ fileno $server } = $c;
                $sel->add($client, $server);
                next;
            }

            my $c = $conn{ fileno $fh } or next;
            my $n = sysread $fh, my $buf, 65536;
            if (!$n) {
                _close(\%conn, $sel, $c);
                next;
            }

            if ($fh == $c->{client}) {
                $c->{sub} = 1 if $buf =~ /SUBSCRIBE/i;
                # read now: hold() may have come while we were waiting
                $pattern = _slurp($p->{hold});
                $c->{holding} = 1 if length($pattern // '')
                                     && $buf =~ /\Q$pattern\E/i;
                _write($c->{server}, $buf) or _close(\%conn, $sel, $c);

            } elsif ($c->{sub}) {
                _write($c->{client}, $buf) or _close(\%conn, $sel, $c);

            } else {
                push @{ $c->{queue} }, [Time::HiRes::time(), $buf];
            }
        }
    }
}

sub _slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return undef;
    local $/;
    return <$fh> // '';
}

sub _write {
    my ($fh, $buf) = @_;

    while (length $buf) {
        my $n = syswrite $fh, $buf;
        return 0 unless $n;
        substr $buf, 0, $n, '';
    }
    return 1;
}

sub _close {
    my ($conn, $sel, $c) = @_;

    for my $fh ($c->{client}, $c->{server}) {
        next unless defined fileno $fh;
        delete $conn->{ fileno $fh };
        $sel->remove($fh);
        close $fh;
    }
}

END {
    local $?;
    stop($_) for @Started;
}

1;
