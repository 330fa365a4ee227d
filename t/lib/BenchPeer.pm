package BenchPeer;

# The bench peer (bench/peers/node: Express + handlebars.js as jPulse runs,
# `make deps` installs it) for the suites that check it serves what nginx
# serves.
#
#   my $peer = BenchPeer->start(args => ['--redis', "127.0.0.1:$port",
#                                        '--secret', 'k1']);
#   $peer->{port}        where it listens, on 127.0.0.1
#   $peer->get($path, $headers)   -> ($status, \%headers, $body), HTTP/1.0
#   $peer->stop;         SIGTERM, then SIGKILL if it lingers
#   $peer->log;          what it printed (nothing per request)
#
# start() also sets $ENV{TEST_NGINX_BENCH_PEER_PORT}. Options: args (more
# arguments of server.js), port (default a free one). Its log is kept in
# t/servroot/bench-peer/ (TEST_NGINX_SERVROOT), one file per start.
#
# The peer runs with --pid-header yes, and start() waits for an answer
# whose X-Worker-Pid is the peer's (or one of its cluster workers'): a
# free port is released before node binds it, so under parallel runs a
# foreign server could take it and answer the health poll. A peer that
# exits with EADDRINUSE is started again on a new port (unless the port
# was given).

use strict;
use warnings;

use File::Path ();
use File::Spec ();
use IO::Socket::INET ();
use POSIX ();

use JPulseTest ();

my $Top = File::Spec->rel2abs(__FILE__) =~ s{/t/lib/BenchPeer\.pm\z}{}r;
my $Dir = "$Top/bench/peers/node";
my @Running;
my $Count = 0;

sub start {
    my ($class, %o) = @_;

    die "BenchPeer: $Dir/node_modules is missing: run make deps\n"
        unless -d "$Dir/node_modules";

    for my $attempt (1 .. 3) {
        my $self = eval { $class->_start(%o) };
        return $self if $self;
        die $@ if $o{port} || $attempt == 3 || $@ !~ /EADDRINUSE/;
    }
}

sub _start {
    my ($class, %o) = @_;
    my $self = bless { port => $o{port} // _free_port(),
                       args => $o{args} // [] }, $class;

    my $root = $ENV{TEST_NGINX_SERVROOT} // "$Top/t/servroot";
    my $logs = "$root/bench-peer";
    File::Path::make_path($logs);
    (my $suite = $0) =~ s{.*/|\.t\z}{}g;
    $self->{log} = sprintf '%s/%s-%d-%d.log', $logs, $suite, ++$Count,
                           $self->{port};

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $self->{log} or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        exec 'node', "$Dir/server.js", '--port', $self->{port},
             '--pid-header', 'yes', @{ $self->{args} }
            or POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    push @Running, $self;
    $ENV{TEST_NGINX_BENCH_PEER_PORT} = $self->{port};

    # up when it answers; a generous bound for a loaded machine
    my $up = JPulseTest::poll_until(30, sub {
        return 'gone' if waitpid($pid, POSIX::WNOHANG()) == $pid;
        my ($status, $h) = JPulseTest::http_get($self->{port},
                                                '/api/1/health/status');
        return $status == 200 && _ours($pid, $h->{'x-worker-pid'}) ? 'up' : 0;
    }, 0.1);

    return $self if ($up // '') eq 'up';
    delete $self->{pid} if ($up // '') eq 'gone';
    $self->stop;
    die "BenchPeer: the peer did not come up on port $self->{port}:\n"
        . $self->log;
}

sub get {
    my ($self, $path, $headers) = @_;

    return JPulseTest::http_get($self->{port}, $path,
                                headers => $headers // '');
}

sub stop {
    my ($self) = @_;

    my $pid = delete $self->{pid} or return;
    kill 'TERM', $pid;
    my $gone = JPulseTest::poll_until(10, sub {
        waitpid($pid, POSIX::WNOHANG()) == $pid;
    }, 0.05);
    return if $gone;
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

sub log {
    my ($self) = @_;

    open my $fh, '<', $self->{log} or return '';
    local $/;
    return <$fh> // '';
}

# the answering pid is the peer, or a cluster worker of it
sub _ours {
    my ($pid, $answered) = @_;
    return 0 unless ($answered // '') =~ /^\d+$/;
    return 1 if $answered == $pid;
    open my $fh, '<', "/proc/$answered/stat" or return 0;
    my ($ppid) = (<$fh> // '') =~ /\)\s+\S+\s+(\d+)/;
    return ($ppid // 0) == $pid;
}

sub _free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die "no free port: $!";
    return $s->sockport;
}

END {
    local $?;
    $_->stop for @Running;
}

1;
