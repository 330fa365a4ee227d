package RedisCluster;

# A private Redis Cluster on 127.0.0.1 for the suites that need one:
# N primaries (default 3), optionally R replicas each, every node a
# redis-server with --cluster-enabled on a free port (whose bus port,
# +10000, is free too) in its own temporary directory, joined with
# `redis-cli --cluster create`, killed when the test ends.
#
#   my $c = cluster_start(primaries => 3, replicas => 1);
#   $c->{nodes}                       JPulseTest redis handles (port, pid)
#   cluster_cli($c, $node, @cmd)      redis-cli against one node
#   cluster_topology($c, $node)       what $node says (CLUSTER NODES):
#       { owner => [16384 "host:port" or undef],
#         replicas => { "host:port" => [sorted "host:port" ...] },
#         ids => { "host:port" => id }, sig => one canonical string }
#   cluster_primaries($c)             the live primaries' handles
#   cluster_replicas_of($c, $primary) its live replicas' handles
#   cluster_slot_owner($c, $key)      (slot, handle of its primary)
#   cluster_reshard($c, from => $h, to => $h, slots => N)
#                                     redis-cli --cluster reshard, waits
#                                     until every node agrees
#   cluster_migrate_begin($c, $slot, $from, $to)
#   cluster_migrate_keys($c, $slot, $from, $to, @keys)
#   cluster_migrate_end($c, $slot, $to)
#                                     one slot by hand (IMPORTING,
#                                     MIGRATING, MIGRATE, SETSLOT NODE):
#                                     the window where ASK is answered
#   cluster_failover($c, $primary, how => 'kill' | 'manual')
#                                     kill -9 the primary and wait for a
#                                     replica's promotion, or CLUSTER
#                                     FAILOVER on a replica: the new
#                                     primary's handle
#   cluster_wait($c)                  until every live node reports
#                                     cluster_state:ok and the same
#                                     topology
#   cluster_stop($c)
#
# Timings are short: cluster-node-timeout 1000 ms (option node_timeout),
# so a kill -9 is failed over in a few seconds. Waits die after `timeout`
# seconds (default 60).

use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use IO::Socket::INET ();
use POSIX ();

use JPulseTest qw(redis_start redis_stop redis_cli);

our @EXPORT_OK = qw(cluster_start cluster_cli cluster_topology
                    cluster_primaries cluster_replicas_of cluster_slot_owner
                    cluster_reshard cluster_migrate_begin
                    cluster_migrate_keys cluster_migrate_end
                    cluster_failover cluster_wait cluster_stop);


sub _free_pair {
    for (1 .. 200) {
        my $p = JPulseTest::free_port();
        next if $p + 10000 > 65535
                || JPulseTest::nginx_port_reserved($p + 10000);
        my $bus = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                        LocalPort => $p + 10000, ReuseAddr => 0)
            or next;
        close $bus;
        return $p;
    }
    die "RedisCluster: no free port whose bus port is free\n";
}


sub cluster_start {
    my (%opt) = @_;

    my $c = {
        primaries => $opt{primaries} // 3,
        replicas  => $opt{replicas} // 0,
        timeout   => $opt{timeout} // 60,
        nodes     => [],
    };
    my $n = $c->{primaries} * (1 + $c->{replicas});
    die "RedisCluster: at least 3 primaries\n" if $c->{primaries} < 3;

    for (1 .. $n) {
        my $dir = File::Temp::tempdir('jpulse-cluster-XXXXXX', TMPDIR => 1,
                                      CLEANUP => 1);
        push @{ $c->{nodes} }, redis_start(
            dir => $dir, port => _free_pair(),
            args => ['--cluster-enabled', 'yes',
                     '--cluster-config-file', "$dir/nodes.conf",
                     '--cluster-node-timeout', $opt{node_timeout} // 1000,
                     # a replica may be promoted however long it was away
                     '--cluster-replica-validity-factor', 0,
                     @{ $opt{args} // [] }]);
    }

    my @addrs = map { "127.0.0.1:$_->{port}" } @{ $c->{nodes} };
    my $out = _run('redis-cli', '--cluster', 'create', @addrs,
                   '--cluster-replicas', $c->{replicas}, '--cluster-yes');
    die "RedisCluster: redis-cli --cluster create failed:\n$out"
        unless $out =~ /All 16384 slots covered/;

    # CLUSTER SLOTS lists a replica only once its replication offset is
    # known not to be 0: one write per primary gets there
    # (a key it owns: the others answer MOVED)
    for my $p (cluster_primaries($c)) {
        for my $i (0 .. 1000) {
            last if redis_cli($p, 'SET', "jpulse-cluster-start:$i", 1)
                    eq "OK\n";
        }
    }

    cluster_wait($c, "the new cluster");

    # every replica known as one by every node
    _until($c, 'the replicas to be seen everywhere', sub {
        for my $node (_live($c)) {
            my $t = cluster_topology($c, $node);
            my $reps = 0;
            $reps += @$_ for values %{ $t->{replicas} };
            return 0 unless $reps == $c->{primaries} * $c->{replicas};
        }
        return 1;
    });

    return $c;
}


sub cluster_cli {
    my ($c, $node, @cmd) = @_;
    return redis_cli($node, @cmd);
}


sub _run {
    my (@cmd) = @_;

    my $pid = open my $fh, '-|';
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        open STDIN, '<', '/dev/null';
        exec @cmd or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}


sub _live {
    my ($c) = @_;
    return grep { $_->{pid} } @{ $c->{nodes} };
}


# CLUSTER NODES of one node, as its topology
sub cluster_topology {
    my ($c, $node) = @_;

    my $text = redis_cli($node, 'CLUSTER', 'NODES');
    my (%by_id, @nodes);
    for my $line (split /\n/, $text) {
        my ($id, $addr, $flags, $master, undef, undef, undef, $link, @slots)
            = split / /, $line;
        next unless defined $link;
        $addr =~ s/@.*//;
        my %n = (id => $id, addr => $addr, master => $master,
                 flags => { map { $_ => 1 } split /,/, $flags },
                 slots => [grep { !/^\[/ } @slots]);
        $n{addr} = "127.0.0.1:$node->{port}"
            if $n{flags}{myself} && $addr =~ /^:/;
        $by_id{$id} = \%n;
        push @nodes, \%n;
    }

    my $t = { owner => [], replicas => {}, ids => {} };
    for my $n (@nodes) {
        next if $n->{flags}{fail} || $n->{flags}{noaddr}
                || $n->{flags}{handshake};
        if ($n->{flags}{master}) {
            for my $r (@{ $n->{slots} }) {
                my ($s, $e) = $r =~ /^(\d+)(?:-(\d+))?$/ or next;
                $e //= $s;
                $t->{owner}[$_] = $n->{addr} for $s .. $e;
            }
        }
    }
    for my $n (@nodes) {
        next unless $n->{flags}{slave} && !$n->{flags}{fail};
        my $m = $by_id{ $n->{master} } or next;
        push @{ $t->{replicas}{ $m->{addr} } }, $n->{addr};
    }
    $_ = [sort @$_] for values %{ $t->{replicas} };

    # the ids of the nodes CLUSTER SLOTS would list: owners and their
    # replicas
    my %addr_id = map { $_->{addr} => $_->{id} } @nodes;
    for my $o (grep { defined } @{ $t->{owner} }) {
        next if $t->{ids}{$o};
        $t->{ids}{$o} = $addr_id{$o};
        $t->{ids}{$_} = $addr_id{$_} for @{ $t->{replicas}{$o} // [] };
    }

    $t->{sig} = topology_sig($t);
    return $t;
}


# one line per range of one owner, with that owner's replicas
sub topology_sig {
    my ($t) = @_;

    my @lines;
    my $s = 0;
    while ($s < 16384) {
        my $o = $t->{owner}[$s];
        my $e = $s;
        $e++ while $e + 1 < 16384
                   && ($t->{owner}[$e + 1] // '') eq ($o // '');
        push @lines, "$s-$e " . ($o // '-')
                     . join('', map { " +$_" } @{ $t->{replicas}{$o // ''}
                                                  // [] })
            if defined $o;
        $s = $e + 1;
    }
    return join("\n", @lines) . "\n";
}


sub _handle {
    my ($c, $addr) = @_;
    my ($port) = $addr =~ /:(\d+)$/;
    for my $n (@{ $c->{nodes} }) {
        return $n if $n->{port} == $port;
    }
    die "RedisCluster: no node at $addr\n";
}


sub cluster_primaries {
    my ($c) = @_;
    my ($any) = _live($c);
    my $t = cluster_topology($c, $any);
    my %seen;
    return map { _handle($c, $_) }
           grep { defined && !$seen{$_}++ } @{ $t->{owner} };
}


sub cluster_replicas_of {
    my ($c, $primary) = @_;
    my ($any) = _live($c);
    my $t = cluster_topology($c, $any);
    return map { _handle($c, $_) }
           @{ $t->{replicas}{"127.0.0.1:$primary->{port}"} // [] };
}


sub cluster_slot_owner {
    my ($c, $key) = @_;
    my ($any) = _live($c);
    my $slot = redis_cli($any, 'CLUSTER', 'KEYSLOT', $key);
    chomp $slot;
    my $o = cluster_topology($c, $any)->{owner}[$slot];
    return ($slot, defined $o ? _handle($c, $o) : undef);
}


sub _id {
    my ($node) = @_;
    my $id = redis_cli($node, 'CLUSTER', 'MYID');
    chomp $id;
    return $id;
}


sub cluster_reshard {
    my ($c, %o) = @_;

    my $out = _run('redis-cli', '--cluster', 'reshard',
                   "127.0.0.1:$o{from}{port}",
                   '--cluster-from', _id($o{from}),
                   '--cluster-to', _id($o{to}),
                   '--cluster-slots', $o{slots}, '--cluster-yes');
    die "RedisCluster: reshard failed:\n$out"
        if $out =~ /\[ERR\]/ || $? != 0;
    cluster_wait($c, "the reshard of $o{slots} slots");
    return $out;
}


sub cluster_migrate_begin {
    my ($c, $slot, $from, $to) = @_;
    my $r1 = redis_cli($to, 'CLUSTER', 'SETSLOT', $slot, 'IMPORTING',
                       _id($from));
    my $r2 = redis_cli($from, 'CLUSTER', 'SETSLOT', $slot, 'MIGRATING',
                       _id($to));
    die "RedisCluster: SETSLOT $slot: $r1 $r2" unless "$r1$r2" eq "OK\nOK\n";
}


sub cluster_migrate_keys {
    my ($c, $slot, $from, $to, @keys) = @_;
    my $r = redis_cli($from, 'MIGRATE', '127.0.0.1', $to->{port}, '', 0,
                      5000, 'KEYS', @keys);
    die "RedisCluster: MIGRATE: $r" unless $r =~ /^(OK|NOKEY)$/m;
}


sub cluster_migrate_end {
    my ($c, $slot, $to) = @_;
    my $id = _id($to);
    # the new owner first, then everybody else (as redis-cli does)
    for my $n ($to, grep { $_ != $to } _live($c)) {
        my $t = cluster_topology($c, $n);
        my $r = redis_cli($n, 'CLUSTER', 'SETSLOT', $slot, 'NODE', $id);
        # a replica refuses SETSLOT: it follows its primary
        die "RedisCluster: SETSLOT $slot NODE on $n->{port}: $r"
            unless $r eq "OK\n" || !grep { $_ eq "127.0.0.1:$n->{port}" }
                                     grep { defined } @{ $t->{owner} };
    }
    cluster_wait($c, "slot $slot to move");
}


sub cluster_failover {
    my ($c, $primary, %o) = @_;

    my @reps = cluster_replicas_of($c, $primary);
    die "RedisCluster: $primary->{port} has no replica\n" unless @reps;
    my $old = "127.0.0.1:$primary->{port}";

    if (($o{how} // 'kill') eq 'kill') {
        redis_stop($primary);
    } else {
        my $r = redis_cli($reps[0], 'CLUSTER', 'FAILOVER');
        die "RedisCluster: CLUSTER FAILOVER: $r" unless $r eq "OK\n";
    }

    my $new;
    _until($c, "a replica of $old to take over", sub {
        for my $r (@reps) {
            next unless $r->{pid};
            if (redis_cli($r, 'ROLE') =~ /^master/) {
                $new = $r;
                return 1;
            }
        }
        return 0;
    });
    cluster_wait($c, "the failover of $old");
    return $new;
}


sub cluster_wait {
    my ($c, $what) = @_;
    _until($c, ($what // 'the cluster') . ' to settle', sub {
        my $sig;
        for my $node (_live($c)) {
            return 0 unless redis_cli($node, 'CLUSTER', 'INFO')
                            =~ /cluster_state:ok/;
            my $t = cluster_topology($c, $node);
            return 0 if grep { !defined } @{ $t->{owner} }[0 .. 16383];
            $sig //= $t->{sig};
            return 0 unless $t->{sig} eq $sig;
            # and CLUSTER SLOTS lists every node CLUSTER NODES does (it
            # leaves out a replica whose replication offset is still 0)
            my %listed = map { $_ => 1 }
                         redis_cli($node, 'CLUSTER', 'SLOTS')
                         =~ /^([0-9a-f]{40})$/mg;
            return 0 unless keys %listed == keys %{ $t->{ids} };
        }
        return 1;
    });
}


sub cluster_stop {
    my ($c) = @_;
    redis_stop($_) for @{ $c->{nodes} };
}


sub _until {
    my ($c, $what, $cond) = @_;

    JPulseTest::poll_until($c->{timeout}, $cond, 0.1)
        or die "RedisCluster: timed out waiting for $what\n";
    return 1;
}


1;
