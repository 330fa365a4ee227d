package FakeNode;

# The fake Redis servers of t/lib (fake-cluster-node.py,
# fake-pubsub-node.py): started on a free port (or the one given),
# waited for until they accept, stopped at exit.
#
#   my $port = FakeNode::start('fake-cluster-node.py', 'moved', undef, @args);
#   my ($port, $p) = FakeNode::start(...);  FakeNode::stop($p);

use strict;
use warnings;

use File::Basename ();
use IO::Socket::INET ();
use CachectlTest qw(spawn spawn_stop poll_until);
use JPulseTest ();

my @Started;
my $Dir = File::Basename::dirname(__FILE__);

sub start {
    my ($script, $mode, $port, @args) = @_;

    $port //= JPulseTest::free_port();
    my $p = spawn(cmd => ['python3', "$Dir/$script", $mode, $port, @args]);
    push @Started, $p;
    poll_until(5, sub {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1)
    }) or die "$script $mode did not start\n";
    return wantarray ? ($port, $p) : $port;
}

sub stop {
    my ($p) = @_;
    @Started = grep { $_ != $p } @Started;
    spawn_stop($p);
}

END { local $?; spawn_stop($_) for @Started }

1;
