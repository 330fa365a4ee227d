package MongoServer;

# A private Mongo-wire test server (scripts/mongo-test-server) for suites
# that kill, pause or restart it: t/run's shared one must stay up for the
# others. mongo_server_start() returns a handle once it accepts
# connections; mongo_server_stop($m, 'KILL'|'TERM') ends it;
# mongo_server_start($m) brings it back on the same port;
# mongo_server_signal($m, 'STOP'|'CONT') pauses and resumes it.

use strict;
use warnings;

use Exporter 'import';
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();

our @EXPORT_OK = qw(mongo_server_start mongo_server_stop
                    mongo_server_signal mongo_server_installed);

my @Started;
my $MainPid = $$;

sub mongo_server_installed {
    return -d 'scripts/mongo-test-server/node_modules/@push.rocks/smartmongo';
}

sub mongo_server_start {
    my ($m) = @_;

    $m //= {};
    $m->{port} //= do {
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => 0) or die "no port: $!";
        $s->sockport;
    };

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec 'node', 'scripts/mongo-test-server/server.mjs',
             '--port', $m->{port} or POSIX::_exit(127);
    }
    $m->{pid} = $pid;
    push @Started, $m;

    for (1 .. 200) {
        return $m if IO::Socket::INET->new("127.0.0.1:$m->{port}");
        Time::HiRes::sleep(0.05);
    }
    die "the Mongo-wire test server on port $m->{port} did not start\n";
}

sub mongo_server_stop {
    my ($m, $signal) = @_;

    return unless $m->{pid};
    kill 'CONT', $m->{pid};
    kill $signal // 'KILL', $m->{pid};
    waitpid $m->{pid}, 0;
    delete $m->{pid};
}

sub mongo_server_signal {
    my ($m, $signal) = @_;
    kill $signal, $m->{pid} if $m->{pid};
}

END {
    if ($$ == $MainPid) {
        local $?;
        mongo_server_stop($_) for grep { $_->{pid} } @Started;
    }
}

1;
