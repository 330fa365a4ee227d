package SiteTest;

# For the suites of siteConfig and docTypes (t/710-719): a private
# Mongo-wire test server (scripts/mongo-test-server) that a suite may kill
# and restart, optionally logging every command it receives
# (--command-log), and the count of the docTypes queries in that log.

use strict;
use warnings;

use File::Temp ();
use IO::Socket::INET ();
use JSON::PP ();

use JPulseTest ();

my %Servers;    # port => pid

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die "no port: $!";
    return $s->sockport;
}

# starts (or restarts) the server on $port; returns once it listens
sub mongo_start {
    my ($port, %opt) = @_;

    my $log = File::Temp->new;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $log->filename or die $!;
        open STDERR, '>&', \*STDOUT;
        exec 'node', 'scripts/mongo-test-server/server.mjs', '--port', $port,
             $opt{command_log} ? ('--command-log', $opt{command_log}) : ();
        die "exec: $!";
    }
    $Servers{$port} = $pid;
    JPulseTest::poll_until(10, sub {
        JPulseTest::_slurp($log->filename) =~ /^listening on/m })
        or die "mongo test server on $port did not start: "
               . JPulseTest::_slurp($log->filename);
}

sub mongo_kill {
    my ($port) = @_;
    my $pid = delete $Servers{$port} or return;
    kill 'KILL', $pid;
    waitpid $pid, 0;
}

# one command on the server of $port, its pairs in order (the command's
# name first), as MongoTest::mongo_cmd: the reply
sub mongo {
    my ($port, @pairs) = @_;
    my $json = JSON::PP->new->canonical;
    my @parts;
    while (my ($k, $v) = splice @pairs, 0, 2) {
        push @parts, $json->encode($k) . ':' . $json->encode($v);
    }
    my $tmp = File::Temp->new;
    print $tmp '{' . join(',', @parts) . '}';
    close $tmp;
    my $out = `node t/lib/mongo-cmd.mjs $port - < @{[ $tmp->filename ]}`;
    die "mongo-cmd on $port: $out\n" if $?;
    return $out;
}

# "distinct logs" lines in a --command-log file
sub distinct_count {
    my ($file) = @_;
    return scalar grep { /^distinct logs$/ } split /\n/,
                                                JPulseTest::_slurp($file);
}

END {
    local $?;
    mongo_kill($_) for keys %Servers;
}

1;
