package DnsStub;

# A DNS server for one test: it answers every A query with the address
# in a file the test rewrites (set($d, '127.0.0.2')), TTL 0, and every
# other query with no answer. set($d, '127.0.0.2,127.0.0.1') answers
# both, in that order; set($d, 'silent') answers nothing at all. Enough for nginx's resolver; not a DNS
# implementation (one question per query, no compression in questions).
#
#   my $d = DnsStub::start('127.0.0.1');   # { port, pid }
#   DnsStub::set($d, '127.0.0.2');

use strict;
use warnings;

use File::Temp ();
use IO::Socket::INET ();
use POSIX ();

my @Started;

sub start {
    my ($addr) = @_;

    my $dir = File::Temp::tempdir('jpulse-dns-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    my $d = { file => "$dir/addr" };
    set($d, $addr);

    my $s = IO::Socket::INET->new(Proto => 'udp', LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die "dns: $!";
    $d->{port} = $s->sockport;

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        _serve($s, $d);
        POSIX::_exit(0);
    }
    close $s;
    $d->{pid} = $pid;
    push @Started, $d;
    return $d;
}

sub set {
    my ($d, $addr) = @_;

    open my $fh, '>', "$d->{file}.tmp" or die "$d->{file}: $!";
    print $fh $addr;
    close $fh;
    rename "$d->{file}.tmp", $d->{file} or die "$d->{file}: $!";
}

sub stop {
    my ($d) = @_;

    return unless $d->{pid};
    kill 'KILL', $d->{pid};
    waitpid $d->{pid}, 0;
    delete $d->{pid};
}

sub _serve {
    my ($s, $d) = @_;

    while (1) {
        my $peer = $s->recv(my $q, 512) // next;
        next if length $q < 12;

        my ($id, $flags, $qd) = unpack 'n n n', $q;
        next if $qd != 1 || $flags & 0x8000;

        # the question: labels up to the root, then type and class
        my $end = 12;
        while ($end < length $q) {
            my $len = ord substr $q, $end, 1;
            $end += 1 + $len;
            last if $len == 0;
        }
        next if $end + 4 > length $q;
        my ($type) = unpack 'n', substr $q, $end, 2;
        my $question = substr $q, 12, $end + 4 - 12;

        open my $fh, '<', $d->{file} or next;
        my $addr = <$fh> // '';
        close $fh;

        # an unreachable DNS
        next if $addr eq 'silent';

        my @answer = $type == 1
                     ? map { pack 'n n n N n C4', 0xc00c, 1, 1, 0, 4,
                                  split /\./ }
                       grep { /^\d+\.\d+\.\d+\.\d+$/ } split /,/, $addr
                     : ();

        $s->send(pack('n n n n n n', $id, 0x8180, 1, scalar @answer, 0, 0)
                 . $question . join('', @answer), 0, $peer);
    }
}

END {
    local $?;
    stop($_) for @Started;
}

1;
