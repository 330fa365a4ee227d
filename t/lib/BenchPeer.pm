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
    my $self = bless { port => $o{port} // JPulseTest::free_port(),
                       args => $o{args} // [] }, $class;

    my $root = $ENV{TEST_NGINX_SERVROOT} // "$Top/t/servroot";
    my $logs = "$root/bench-peer";
    File::Path::make_path($logs);
    (my $suite = $0) =~ s{.*/|\.t\z}{}g;
    $self->{log} = sprintf '%s/%s-%d-%d.log', $logs, $suite, ++$Count,
                           $self->{port};

    $self->{pid} = JPulseTest::spawn_logged(
        what => "BenchPeer on port $self->{port}", log => $self->{log},
        cmd => ['node', "$Dir/server.js", '--port', $self->{port},
                '--pid-header', 'yes', @{ $self->{args} }],
        up => sub {
            my ($status, $h) = JPulseTest::http_get($self->{port},
                                                    '/api/1/health/status');
            return $status == 200 && _ours($_[0], $h->{'x-worker-pid'});
        });
    push @Running, $self;
    $ENV{TEST_NGINX_BENCH_PEER_PORT} = $self->{port};
    return $self;
}

sub get {
    my ($self, $path, $headers) = @_;

    return JPulseTest::http_get($self->{port}, $path,
                                headers => $headers // '');
}

sub stop {
    my ($self) = @_;

    JPulseTest::stop_pid(delete $self->{pid});
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


END {
    local $?;
    $_->stop for @Running;
}

1;
