package RedisSentinel;

# A private Redis with Sentinel on 127.0.0.1 for the suites that fail it
# over: one primary, its replicas and three sentinels, each on a free
# port in its own temporary directory, killed when the test ends.
#
#   my $s = sentinel_start(master => 'jp', replicas => 1, sentinels => 3);
#   $s->{primary}, $s->{replicas}[0]    JPulseTest redis handles
#   sentinel_addrs($s)                  "127.0.0.1:P1,127.0.0.1:P2,..."
#   sentinel_primary($s)                the handle the sentinels name now
#   sentinel_failover($s)               SENTINEL FAILOVER, waits for it
#   sentinel_kill_primary($s)           kill -9 the primary, waits for the
#                                       sentinels to promote a replica
#   sentinel_cli($s, $i, @cmd)          redis-cli against sentinel $i
#   sentinel_settle($s)                 restarts killed nodes and waits
#                                       until every node replicates from
#                                       the primary
#
# Timings are short so a failover takes seconds: down-after 1000 ms,
# failover-timeout 3000 ms. Both waits return the new primary's handle
# once it answers ROLE as a master, or die after `timeout` seconds
# (default 30). Sentinel runs as `redis-sentinel` (Debian's package) or,
# where only redis-server is installed, as `redis-server --sentinel`.

use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use POSIX ();
use Time::HiRes ();

use JPulseTest qw(redis_start redis_stop redis_cli);

our @EXPORT_OK = qw(sentinel_start sentinel_addrs sentinel_primary
                    sentinel_failover sentinel_kill_primary sentinel_cli
                    sentinel_settle sentinel_stop);

my @Sentinels;


sub sentinel_start {
    my (%opt) = @_;

    my $s = {
        master    => $opt{master} // 'jp',
        quorum    => $opt{quorum} // 2,
        down_ms   => $opt{down_after} // 1000,
        fo_ms     => $opt{failover_timeout} // 3000,
        timeout   => $opt{timeout} // 30,
        sentinels => [],
    };
    my @auth = $opt{requirepass} ? (requirepass => $opt{requirepass}) : ();
    # a primary waits repl-diskless-sync-delay (5 s) for more replicas
    # before it sends the first one its data: nobody else is coming
    my @masterauth = (('--repl-diskless-sync-delay', 0),
                      $opt{requirepass}
                      ? ('--masterauth', $opt{requirepass}) : ());

    $s->{primary} = redis_start(@auth, args => [@masterauth]);
    $s->{nodes} = [$s->{primary}];
    for (1 .. $opt{replicas} // 1) {
        my $r = redis_start(@auth, args => [@masterauth, '--replicaof',
                                            '127.0.0.1', $s->{primary}{port}]);
        push @{ $s->{replicas} }, $r;
        push @{ $s->{nodes} }, $r;
    }
    _wait_synced($s, $_) for @{ $s->{replicas} };

    # Each sentinel is told the replicas and the other sentinels up front
    # (the lines Sentinel itself writes to its file once it has met them),
    # so a start does not wait for the hello messages (2 s apart, ~7 s)
    my @sentinels = map {
        { dir => File::Temp::tempdir('jpulse-sentinel-XXXXXX', TMPDIR => 1,
                                     CLEANUP => 1),
          port => JPulseTest::free_port(),
          id => join('', map { sprintf '%02x', int rand 256 } 1 .. 20) }
    } 1 .. $opt{sentinels} // 3;

    for my $i (0 .. $#sentinels) {
        my $t = $sentinels[$i];
        open my $fh, '>', "$t->{dir}/sentinel.conf" or die "sentinel.conf: $!";
        print $fh "port $t->{port}\nbind 127.0.0.1\ndir $t->{dir}\n",
                  "logfile $t->{dir}/sentinel.log\n",
                  "sentinel monitor $s->{master} 127.0.0.1 "
                  . "$s->{primary}{port} $s->{quorum}\n",
                  "sentinel down-after-milliseconds $s->{master} $s->{down_ms}\n",
                  "sentinel failover-timeout $s->{master} $s->{fo_ms}\n",
                  "sentinel parallel-syncs $s->{master} 1\n";
        print $fh "sentinel myid $t->{id}\n",
                  map({ "sentinel known-replica $s->{master} 127.0.0.1 "
                        . "$_->{port}\n" } @{ $s->{replicas} // [] }),
                  map({ "sentinel known-sentinel $s->{master} 127.0.0.1 "
                        . "$_->{port} $_->{id}\n" }
                      grep { $_ != $t } @sentinels);
        print $fh "sentinel auth-pass $s->{master} $opt{requirepass}\n"
            if $opt{requirepass};
        print $fh "requirepass $opt{sentinel_pass}\n" if $opt{sentinel_pass};
        close $fh;
        $t->{pass} = $opt{sentinel_pass};

        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            open STDOUT, '>', '/dev/null';
            my @cmd = _have('redis-sentinel')
                      ? ('redis-sentinel', "$t->{dir}/sentinel.conf")
                      : ('redis-server', "$t->{dir}/sentinel.conf",
                         '--sentinel');
            exec @cmd or POSIX::_exit(127);
        }
        $t->{pid} = $pid;
        push @{ $s->{sentinels} }, $t;
        push @Sentinels, $t;
        _until($s, "sentinel on port $t->{port} to start", sub {
            sentinel_cli($s, $i, 'PING') =~ /PONG/
        });
    }

    # every sentinel must know the replicas and the other sentinels before
    # a failover can be agreed on
    my $want_replicas = scalar @{ $s->{replicas} // [] };
    my $want_others = @{ $s->{sentinels} } - 1;
    for my $i (0 .. $#{ $s->{sentinels} }) {
        _until($s, "sentinel $i to see the replicas and the others", sub {
            my $m = sentinel_cli($s, $i, 'SENTINEL', 'MASTER', $s->{master});
            my %f = split /\n/, $m;
            ($f{'num-slaves'} // 0) >= $want_replicas
                && ($f{'num-other-sentinels'} // 0) >= $want_others
        });
    }
    return $s;
}

sub sentinel_addrs {
    my ($s) = @_;
    return join ',', map { "127.0.0.1:$_->{port}" } @{ $s->{sentinels} };
}

sub sentinel_cli {
    my ($s, $i, @cmd) = @_;
    my $t = $s->{sentinels}[$i];
    return redis_cli({ port => $t->{port}, requirepass => $t->{pass} }, @cmd);
}

# the node the sentinels name as the primary now (asks the first that
# answers)
sub sentinel_primary {
    my ($s) = @_;

    for my $i (0 .. $#{ $s->{sentinels} }) {
        next unless $s->{sentinels}[$i]{pid};
        my ($host, $port) = split /\n/,
            sentinel_cli($s, $i, 'SENTINEL', 'GET-MASTER-ADDR-BY-NAME',
                         $s->{master});
        next unless $port && $port =~ /^\d+$/;
        my ($node) = grep { $_->{port} == $port } @{ $s->{nodes} };
        return $node if $node;
    }
    return undef;
}

sub sentinel_failover {
    my ($s) = @_;

    my $old = sentinel_primary($s) or die "sentinel: no primary\n";
    for my $attempt (1 .. 10) {
        my $out = sentinel_cli($s, 0, 'SENTINEL', 'FAILOVER', $s->{master});
        last if $out =~ /OK/;
        # NOGOODSLAVE while a replica is still syncing, INPROG meanwhile
        Time::HiRes::sleep(0.5);
    }
    return _wait_new_primary($s, $old);
}

sub sentinel_kill_primary {
    my ($s) = @_;

    my $old = sentinel_primary($s) or die "sentinel: no primary\n";
    redis_stop($old);
    return _wait_new_primary($s, $old);
}

# A demoted primary stays a master, with what it had, until the sentinels
# turn it into a replica at their next INFO round (up to ~10 s); a killed
# one comes back empty and is turned too. Before another failover, every
# node must be a replica of the primary again, or the sentinels may
# promote one that missed everything since.
sub sentinel_settle {
    my ($s) = @_;

    for my $r (@{ $s->{nodes} }) {
        # killed by another process (a child's sentinel_kill_primary)
        delete $r->{pid} if $r->{pid}
            && waitpid($r->{pid}, POSIX::WNOHANG()) == $r->{pid};
        redis_start($r) unless $r->{pid};
    }
    _until($s, 'every node to replicate from the primary', sub {
        my $p = sentinel_primary($s) or return 0;
        for my $r (grep { $_ != $p } @{ $s->{nodes} }) {
            my $info = redis_cli($r, 'INFO', 'replication');
            return 0 unless $info =~ /^role:slave/m
                            && $info =~ /^master_port:$p->{port}\b/m
                            && $info =~ /^master_link_status:up/m;
        }
        return 1;
    });
}

sub sentinel_stop {
    my ($s) = @_;

    for my $t (@{ $s->{sentinels} }) {
        next unless $t->{pid};
        kill 'KILL', $t->{pid};
        waitpid $t->{pid}, 0;
        delete $t->{pid};
    }
    redis_stop($_) for @{ $s->{nodes} };
}

sub _wait_new_primary {
    my ($s, $old) = @_;
    my $new;

    _until($s, "a new primary after $old->{port}", sub {
        $new = sentinel_primary($s);
        $new && $new != $old && redis_cli($new, 'ROLE') =~ /^master/
    });
    return $new;
}

sub _wait_synced {
    my ($s, $r) = @_;
    _until($s, "replica $r->{port} to sync", sub {
        redis_cli($r, 'INFO', 'replication') =~ /master_link_status:up/
    });
}

sub _until {
    my ($s, $what, $cond) = @_;

    JPulseTest::poll_until($s->{timeout}, $cond, 0.1)
        or die "sentinel: timed out waiting for $what\n";
    return 1;
}

sub _have {
    my ($cmd) = @_;
    return grep { -x "$_/$cmd" } split /:/, $ENV{PATH} // '/usr/bin:/bin';
}



END {
    local $?;
    for my $t (@Sentinels) {
        next unless $t->{pid};
        kill 'KILL', $t->{pid};
        waitpid $t->{pid}, 0;
    }
}


1;
