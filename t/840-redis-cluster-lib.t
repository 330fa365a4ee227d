# libjpulse/jp_redis_cluster against a real Redis Cluster (issue 16's
# groundwork; the module and cachectl do not use it yet): key slots agree
# with CLUSTER KEYSLOT, the slot map built from CLUSTER SLOTS agrees with
# CLUSTER NODES before and after a reshard and failovers, and the MOVED,
# ASK, TRYAGAIN, CROSSSLOT and CLUSTERDOWN a cluster answers parse to the
# right kind and node. Through build/unit/jp_cluster_tool (make unit) and
# t/lib/RedisCluster.pm.
use strict;
use warnings;

use FindBin ();
use Test::More;
use Time::HiRes ();

use lib "$FindBin::Bin/lib";
use JPulseTest qw(redis_cli);
use RedisCluster qw(cluster_start cluster_topology cluster_primaries
                    cluster_replicas_of cluster_slot_owner cluster_reshard
                    cluster_migrate_begin cluster_migrate_keys
                    cluster_migrate_end cluster_failover cluster_wait
                    cluster_stop);

my $Tool = "$FindBin::Bin/../build/unit/jp_cluster_tool";
-x $Tool or BAIL_OUT("$Tool is missing: run make unit");

sub tool {
    my (@args) = @_;
    open my $fh, '-|', $Tool, @args or die "$Tool: $!";
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return wantarray ? ($out, $? >> 8) : $out;
}

# the tool's map of what $node answers, in RedisCluster's signature form
sub tool_map {
    my ($node) = @_;
    my ($out, $rc) = tool('map', '127.0.0.1', $node->{port});
    die "jp_cluster_tool map $node->{port}: exit $rc\n$out" if $rc;
    my (@lines, %ids, %hostnames, $covered);
    for (split /\n/, $out) {
        if (/^covered (\d+)$/) {
            $covered = $1;
        } elsif (/^range (\d+) (\d+) (\S+)((?: replica \S+)*)$/) {
            my ($s, $e, $p, $r) = ($1, $2, $3, $4);
            my @reps = sort $r =~ / replica (\S+)/g;
            push @lines, "$s-$e $p" . join('', map { " +$_" } @reps);
        } elsif (/^node (\S+) (primary|replica) (\S+)( hostname \S+)?$/) {
            $ids{$1} = $3;
            $hostnames{$1} = substr $4, 10 if $4;
        } else {
            die "jp_cluster_tool map: unexpected line: $_\n";
        }
    }
    return { sig => join("\n", @lines) . "\n", ids => \%ids,
             hostnames => \%hostnames, covered => $covered };
}

sub map_agrees {
    my ($c, $what) = @_;
    for my $node (grep { $_->{pid} } @{ $c->{nodes} }) {
        my $t = cluster_topology($c, $node);
        my $m = tool_map($node);
        is($m->{sig}, $t->{sig}, "$what: the map from $node->{port} "
                                 . "is CLUSTER NODES's")
            or diag("tool:\n$m->{sig}\nCLUSTER NODES:\n$t->{sig}");
        is($m->{covered}, 16384, "$what: all slots covered");
        is_deeply($m->{ids}, $t->{ids}, "$what: the node ids");
    }
}

sub addr { "127.0.0.1:$_[0]{port}" }

my $t0 = Time::HiRes::time();
my $c = cluster_start(primaries => 3, replicas => 1);
note(sprintf 'cluster of 6 up in %.1f s', Time::HiRes::time() - $t0);
my ($any) = @{ $c->{nodes} };

subtest 'key slots agree with CLUSTER KEYSLOT' => sub {
    my @keys = ('foo', 'bar', '{user1000}.following', 'a{b}c', '{}x',
                'x{}{y}', '{{a}}', 'caf' . "\xc3\xa9", 'jp:{tpl}:index.shtml',
                'jp:{tpl}index', 'jp:{tpl}gen', 'jp:sess:abc',
                map { "key:$_" } 1 .. 300);
    push @keys, map { "{tag$_}rest" } 1 .. 50;
    my @ours = split /\n/, tool('slot', @keys);
    my $cmds = join '', map {
        'CLUSTER KEYSLOT "' . join('', map { sprintf '\\x%02x', ord }
                                   split //, $_) . "\"\n"
    } @keys;
    open my $fh, '|-', "redis-cli -p $any->{port} > $c->{nodes}[0]{dir}/ks"
        or die "redis-cli: $!";
    print $fh $cmds;
    close $fh;
    open my $in, '<', "$c->{nodes}[0]{dir}/ks" or die "ks: $!";
    my @redis = map { chomp; $_ } <$in>;
    is(scalar @ours, scalar @keys, 'one slot per key');
    is_deeply(\@ours, \@redis, scalar(@keys) . ' keys: the same slots');
};

subtest 'the map agrees with the new cluster' => sub {
    map_agrees($c, 'new');
    for my $key ('foo', 'bar', 'jp:{tpl}index', map { "key:$_" } 1 .. 20) {
        my ($slot, $owner) = cluster_slot_owner($c, $key);
        my $line = tool('route', '127.0.0.1', $any->{port}, $key);
        is($line, "$key $slot " . addr($owner) . "\n", "route $key");
    }
};

subtest 'a client follows MOVED to the value' => sub {
    my ($slot, $owner) = cluster_slot_owner($c, 'foo');
    is(redis_cli($owner, 'SET', 'foo', 'v1'), "OK\n", 'SET foo');
    my ($other) = grep { $_ != $owner } cluster_primaries($c);
    is(tool('send', '127.0.0.1', $other->{port}, 'GET', 'foo'),
       "error MOVED $slot 127.0.0.1 $owner->{port}\n",
       'GET at another primary: MOVED to the owner');
    like(tool('follow', '127.0.0.1', $other->{port}, 'foo'),
         qr/\Asend GET 127\.0\.0\.1:$owner->{port}\nvalue v1\n\z/,
         'the map routes GET to the owner at once');
    is(tool('send', '127.0.0.1', $owner->{port}, 'MSET', 'foo', '1',
            'bar', '2'), "error CROSSSLOT\n", 'MSET of two slots: CROSSSLOT');
    is(tool('send', '127.0.0.1', $owner->{port}, 'GET', 'foo', 'x'),
       "error none\n", 'a command error is no cluster error');
};

subtest 'reshard: the map follows, MOVED names the new owner' => sub {
    my ($p1, $p2) = cluster_primaries($c);
    my $before = cluster_topology($c, $any);
    # keys in most of p1's slots, set before the reshard
    my %keys_at;    # slot => a key of it
    my @keys = map { "rs:$_" } 1 .. 6000;
    my @slots = split /\n/, tool('slot', @keys);
    open my $cli, '|-', "redis-cli -p $p1->{port} > /dev/null"
        or die "redis-cli: $!";
    for my $i (0 .. $#keys) {
        next unless ($before->{owner}[ $slots[$i] ] // '') eq addr($p1);
        print $cli "SET $keys[$i] v$i\n";
        $keys_at{ $slots[$i] } //= $keys[$i];
    }
    close $cli;
    is(redis_cli($p1, 'GET', (values %keys_at)[0]) =~ /^v\d+$/ ? 1 : 0, 1,
       scalar(keys %keys_at) . ' slots of the source hold a key');

    my $t = Time::HiRes::time();
    cluster_reshard($c, from => $p1, to => $p2, slots => 200);
    note(sprintf 'reshard of 200 slots: %.1f s', Time::HiRes::time() - $t);

    my $after = cluster_topology($c, $any);
    my @moved = grep { $before->{owner}[$_] ne $after->{owner}[$_] }
                0 .. 16383;
    is(scalar @moved, 200, '200 slots changed owner');
    ok(!(grep { $after->{owner}[$_] ne addr($p2) } @moved),
       'all to the target');
    map_agrees($c, 'after the reshard');

    my @probe = grep { exists $keys_at{$_} } @moved;
    ok(@probe >= 3, scalar(@probe) . ' moved slots hold a key');
    for my $slot (@probe[0 .. 2]) {
        my $k = $keys_at{$slot};
        is(tool('send', '127.0.0.1', $p1->{port}, 'GET', $k),
           "error MOVED $slot 127.0.0.1 $p2->{port}\n",
           "GET $k at the old owner: MOVED to the new one");
        like(tool('follow', '127.0.0.1', $p2->{port}, $k),
             qr/\Asend GET 127\.0\.0\.1:$p2->{port}\nvalue v\d+\n\z/,
             "the new map sends GET $k to the new owner");
    }
};

subtest 'a slot in migration: ASK, TRYAGAIN, then MOVED' => sub {
    my ($p1, $p2) = cluster_primaries($c);
    my ($slot, $owner) = cluster_slot_owner($c, '{mig}a');
    ($p1, $p2) = ($owner, $p1 == $owner ? $p2 : $p1);
    for my $k ('{mig}a', '{mig}b') {
        is(redis_cli($p1, 'SET', $k, "val$k"), "OK\n", "SET $k");
    }

    cluster_migrate_begin($c, $slot, $p1, $p2);
    cluster_migrate_keys($c, $slot, $p1, $p2, '{mig}a');

    is(tool('send', '127.0.0.1', $p1->{port}, 'GET', '{mig}a'),
       "error ASK $slot 127.0.0.1 $p2->{port}\n",
       'a key already moved: ASK to the importing node');
    is(tool('send', '127.0.0.1', $p1->{port}, 'GET', '{mig}b'),
       "value val{mig}b\n", 'a key not yet moved: served');
    is(tool('send', '127.0.0.1', $p2->{port}, 'GET', '{mig}a'),
       "error MOVED $slot 127.0.0.1 $p1->{port}\n",
       'the importing node without ASKING: MOVED back');
    is(tool('send', '127.0.0.1', $p1->{port}, 'MGET', '{mig}a', '{mig}b'),
       "error TRYAGAIN\n", 'a multi-key command across the move: TRYAGAIN');
    is(tool('follow', '127.0.0.1', $p1->{port}, '{mig}a'),
       "send GET 127.0.0.1:$p1->{port}\n"
       . "got ASK $slot 127.0.0.1 $p2->{port}\n"
       . "send ASKING+GET 127.0.0.1:$p2->{port}\nvalue val{mig}a\n",
       'a client follows ASK once, with ASKING');
    is(tool('route', '127.0.0.1', $p2->{port}, '{mig}a'),
       "{mig}a $slot " . addr($p1) . "\n",
       'while it migrates, the map still names the old owner');

    cluster_migrate_keys($c, $slot, $p1, $p2, '{mig}b');
    cluster_migrate_end($c, $slot, $p2);
    is(tool('send', '127.0.0.1', $p1->{port}, 'GET', '{mig}b'),
       "error MOVED $slot 127.0.0.1 $p2->{port}\n",
       'after the move: MOVED to the new owner');
    my $follow = tool('follow', '127.0.0.1', $p2->{port}, '{mig}b');
    like($follow, qr/value val\{mig\}b\n\z/, 'and the value is there');
    map_agrees($c, 'after the migration');
};

subtest 'failover by kill -9: the map names the promoted replica' => sub {
    my ($victim) = cluster_primaries($c);
    my ($slot_key) = grep { (cluster_slot_owner($c, $_))[1] == $victim }
                     map { "fo:$_" } 1 .. 100;
    my ($slot) = cluster_slot_owner($c, $slot_key);
    my $t = Time::HiRes::time();
    my $new = cluster_failover($c, $victim, how => 'kill');
    note(sprintf 'kill -9 to a settled cluster: %.1f s',
         Time::HiRes::time() - $t);
    isnt($new->{port}, $victim->{port}, "a new primary: $new->{port}");
    map_agrees($c, 'after kill -9');
    my $line = tool('route', '127.0.0.1', $new->{port}, $slot_key);
    is($line, "$slot_key $slot " . addr($new) . "\n",
       'the victim\'s slots route to the promoted replica');
    my $m = tool_map($new);
    ok(!exists $m->{ids}{ addr($victim) }, 'the dead node is not listed');
};

subtest 'manual failover (CLUSTER FAILOVER)' => sub {
    my ($primary) = grep { cluster_replicas_of($c, $_) }
                    cluster_primaries($c);
    my $new = cluster_failover($c, $primary, how => 'manual');
    map_agrees($c, 'after CLUSTER FAILOVER');
    my $m = tool_map($new);
    my ($n, $o) = (addr($new), addr($primary));
    like($m->{sig}, qr/^\d+-\d+ \Q$n\E \+\Q$o\E$/m,
         'roles swapped: the old primary is the replica');
};

subtest 'a primary without replica lost: CLUSTERDOWN' => sub {
    my ($lonely) = grep { !cluster_replicas_of($c, $_) }
                   cluster_primaries($c);
    ok($lonely, "a primary without a replica: $lonely->{port}");
    JPulseTest::redis_stop($lonely);
    my ($live) = grep { $_->{pid} } @{ $c->{nodes} };
    my $down = 0;
    for (1 .. 100) {
        $down = redis_cli($live, 'CLUSTER', 'INFO') =~ /cluster_state:fail/
            and last;
        Time::HiRes::sleep(0.1);
    }
    ok($down, 'the cluster says it is down');
    like(tool('send', '127.0.0.1', $live->{port}, 'GET', 'foo'),
         qr/^error CLUSTERDOWN$/m, 'a command: CLUSTERDOWN');
};

cluster_stop($c);

subtest 'hostname and unknown endpoints (Redis 7)' => sub {
    my $h = cluster_start(primaries => 3);
    for my $n (@{ $h->{nodes} }) {
        redis_cli($n, 'CONFIG', 'SET', 'cluster-announce-hostname',
                  'localhost');
        redis_cli($n, 'CONFIG', 'SET', 'cluster-preferred-endpoint-type',
                  'hostname');
    }
    my ($n0) = @{ $h->{nodes} };
    my ($m, @hosts);
    for (1 .. 100) {    # the hostnames travel by gossip; until then "?"
        $m = tool_map($n0);
        @hosts = $m->{sig} =~ /^\d+-\d+ (\S+):\d+$/mg;
        last if "@hosts" eq 'localhost localhost localhost';
        Time::HiRes::sleep(0.1);
    }
    is_deeply(\@hosts, [('localhost') x 3], 'endpoints are the hostnames');
    is($m->{covered}, 16384, 'all slots covered');

    my ($slot, $owner) = cluster_slot_owner($h, 'foo');
    my ($other) = grep { $_ != $owner } cluster_primaries($h);
    is(tool('send', '127.0.0.1', $other->{port}, 'GET', 'foo'),
       "error MOVED $slot localhost $owner->{port}\n",
       'MOVED names the hostname');

    for my $n (@{ $h->{nodes} }) {
        redis_cli($n, 'CONFIG', 'SET', 'cluster-preferred-endpoint-type',
                  'unknown-endpoint');
    }
    $m = tool_map($n0);
    @hosts = $m->{sig} =~ /^\d+-\d+ (\S+):\d+$/mg;
    is_deeply(\@hosts, [('127.0.0.1') x 3],
              'NULL endpoints: the host the map was asked from');
    is_deeply([values %{ $m->{hostnames} }], [('localhost') x 3],
              'the hostname metadata');
    is(tool('send', '127.0.0.1', $other->{port}, 'GET', 'foo'),
       "error MOVED $slot - $owner->{port}\n",
       'MOVED :port: the node that answered');
    cluster_stop($h);
};

done_testing();
