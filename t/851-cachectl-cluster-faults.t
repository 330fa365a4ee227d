# cachectl --redis-cluster under faults (issue 16), against a real Redis
# Cluster of 3 primaries with a replica each (t/lib/RedisCluster.pm):
#
#  - kill -9 of the primary holding the l2 slot in the middle of a
#    400-file deploy: a replica takes over, the daemon reconnects (a new
#    map), compares everything and every file ends up on the new primary
#    with its content; the times are measured (diag);
#  - the loss made certain: 100 files deleted by hand on the l2 primary,
#    as a failover that did not replicate them would leave it; a daemon
#    started again compares everything and writes them again;
#  - redis-cli --cluster reshard of 2000 slots, the l2 slot among them,
#    while a second deploy of 200 files runs: none lost;
#  - kill -9 of a primary that holds sessions but not the l2 slot: the
#    session walk goes on over the new primaries (the sessions of the
#    dead one served by its promoted replica are indexed), publishing is
#    not disturbed.
#
# Plain Test::More like t/840 and t/850: no nginx is involved.
use strict;
use warnings;

use FindBin ();
use Test::More;
use Time::HiRes ();
use JSON::PP ();
use POSIX ();

use lib "$FindBin::Bin/lib";
use JPulseTest qw(redis_cli);
use CachectlTest qw(spawn daemon_wait_log daemon_log write_file cachectl
                    poll_until);
use RedisCluster qw(cluster_start cluster_primaries cluster_slot_owner
                    cluster_reshard cluster_failover cluster_replicas_of
                    cluster_topology);

my $T0 = Time::HiRes::time();
my $C = cluster_start(primaries => 3, replicas => 1);
my $Seeds = join ',', map { "127.0.0.1:$_->{port}" } @{ $C->{nodes} };
my $NS = 't851:prod:';
my $L2 = "${NS}{${NS}l2}";
my $SX = "${NS}{${NS}sess}";
my $Dir = CachectlTest::tmpdir();
my $View = "$Dir/view";
my $Files = 400;
my @Where = ('--redis-cluster', $Seeds, '--site-id', 't851');

sub owner { my ($key) = @_; return (cluster_slot_owner($C, $key))[1] }

sub rc {
    my (@cmd) = @_;
    for my $n (@{ $C->{nodes} }) {
        next unless $n->{pid};
        my $out = redis_cli($n, '-c', @cmd);
        return $out if $out ne '';
    }
    return '';
}

sub content { my ($i, $rel) = @_; return "<p>page $i of deploy $rel</p>\n" }

# how many of a deploy's files the l2 primary holds with their content
sub landed {
    my ($dir, $n, $rel) = @_;
    my $p = owner("${L2}gen");
    my @r = JPulseTest::redis_pipeline($p, map {
        ['HGET', "${L2}tpl:$dir/p$_/index.shtml", 'source'] } 1 .. $n);
    my $ok = 0;
    for my $i (1 .. $n) {
        my $src = $r[$i - 1];
        $ok++ if defined $src && !ref $src
                 && index($src, content($i, $rel)) >= 0;
    }
    return $ok;
}

# writes a deploy in the background: its pid
sub deploy {
    my ($dir, $n, $rel, $pause) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        for my $i (1 .. $n) {
            write_file("$View/$dir/p$i/index.shtml", content($i, $rel));
            Time::HiRes::sleep($pause);
        }
        POSIX::_exit(0);
    }
    return $pid;
}

write_file("$View/home/index.shtml", "<p>home</p>\n");

my $D = spawn(cmd => [CachectlTest::cachectl_bin(), @Where, 'daemon',
                      '--views', $View, '--rescan', 0, '--heartbeat', 1,
                      '--session-pass-interval', 1,
                      '--session-scan-rate', 100000]);
ok(daemon_wait_log($D, qr/published 1 view/, 15), 'the daemon published')
    or diag(daemon_log($D));

# ---------------------------------------------------------------------
# kill -9 of the l2 primary in the middle of a deploy

{
    my $old = owner("${L2}gen");
    my $mark = length daemon_log($D);
    my $pid = deploy('deploy', $Files, 1, 0.002);

    # killed once part of the deploy is in Redis
    poll_until(20, sub { landed('deploy', $Files, 1) >= $Files / 3 }, 0.05);
    my $before = landed('deploy', $Files, 1);
    my $t = Time::HiRes::time();
    my $new = cluster_failover($C, $old, how => 'kill');
    my $promoted = Time::HiRes::time() - $t;
    waitpid $pid, 0;

    ok(poll_until(30, sub { landed('deploy', $Files, 1) == $Files }, 0.1),
       "every file of the deploy on the new l2 primary")
        or diag(landed('deploy', $Files, 1) . " of $Files; "
                . daemon_log($D, $mark));
    my $all = Time::HiRes::time() - $t;
    is(owner("${L2}gen")->{port}, $new->{port},
       '... which is the promoted replica');
    my $on = "the l2 group on 127.0.0.1:$new->{port}";
    ok(daemon_wait_log($D, qr/connected to Redis Cluster \(\Q$on\E/, 15,
                       $mark), '... the reconnect names it')
        or diag(daemon_log($D, $mark));
    diag(sprintf 'kill -9 with %d of %d files on the old l2 primary; '
         . 'promoted after %.2f s; every file on the new one at %.2f s',
         $before, $Files, $promoted, $all);
}

# ---------------------------------------------------------------------
# files lost by the primary (as an unreplicated failover would lose
# them): the daemon's next full compare writes them again

{
    my $p = owner("${L2}gen");
    my @lost = map { "${L2}tpl:deploy/p$_/index.shtml" }
               ($Files - 99) .. $Files;
    JPulseTest::redis_command($p, 'DEL', @lost);
    JPulseTest::redis_command($p, 'HDEL', "${L2}tplindex",
                              map { "deploy/p$_/index.shtml" }
                              ($Files - 99) .. $Files);
    is(landed('deploy', $Files, 1), $Files - 100, '100 files lost');

    # a restart compares everything, as a reconnect does
    CachectlTest::spawn_stop($D);
    my $t = Time::HiRes::time();
    $D = spawn(cmd => [CachectlTest::cachectl_bin(), @Where, 'daemon',
                       '--views', $View, '--rescan', 0, '--heartbeat', 1,
                       '--session-pass-interval', 1,
                       '--session-scan-rate', 100000]);
    ok(poll_until(20, sub { landed('deploy', $Files, 1) == $Files }, 0.1),
       '... written again by the full compare');
    diag(sprintf '100 lost files written again %.2f s after the start',
         Time::HiRes::time() - $t);
}

# ---------------------------------------------------------------------
# a reshard of 2000 slots (the l2 slot among them) under a deploy

{
    my ($slot, $from) = cluster_slot_owner($C, "${L2}gen");
    my ($to) = grep { $_->{port} != $from->{port} } cluster_primaries($C);
    my $t = cluster_topology($C, $from);

    # the first slots of $from up to the l2 slot's: redis-cli moves the
    # lowest first; enough of them that the l2 slot goes
    my @mine = grep { defined $t->{owner}[$_]
                      && $t->{owner}[$_] eq "127.0.0.1:$from->{port}" }
               0 .. 16383;
    my ($at) = grep { $mine[$_] == $slot } 0 .. $#mine;
    my $n = $at + 1 + 50;
    $n = @mine if $n > @mine;

    my $mark = length daemon_log($D);
    my $pid = deploy('second', 200, 2, 0.03);
    my $t0 = Time::HiRes::time();
    cluster_reshard($C, from => $from, to => $to, slots => $n);
    my $took = Time::HiRes::time() - $t0;
    waitpid $pid, 0;

    is(owner("${L2}gen")->{port}, $to->{port},
       "the l2 slot moved with $n slots");
    ok(poll_until(30, sub { landed('second', 200, 2) == 200 }, 0.1),
       'every file of the deploy during the reshard is there')
        or diag(landed('second', 200, 2) . ' of 200; '
                . daemon_log($D, $mark));
    is(landed('deploy', $Files, 1), $Files, '... and the first deploy too');
    my $log = daemon_log($D, $mark);
    my $redirects = () = $log =~ /\b(?:ASK|MOVED|TRYAGAIN)\b/g;
    diag(sprintf 'reshard of %d slots took %.2f s; the daemon met %d '
         . 'redirect(s) in its log', $n, $took, $redirects);
}

# ---------------------------------------------------------------------
# a primary with sessions but not the l2 slot is killed

{
    my $json = JSON::PP->new->canonical;
    my @sids = map { sprintf 'k%031d', $_ } 1 .. 60;
    for my $sid (@sids) {
        rc('SET', "${NS}sess:$sid",
           $json->encode({ cookie => { path => '/' },
                           user => { id => 'ku', username => 'ku' } }));
    }
    ok(poll_until(10, sub { rc('SCARD', "${SX}sessidx:ku") eq "60\n" }),
       'the 60 sessions are indexed');

    my $l2 = owner("${L2}gen");
    # not the l2 primary, one with a replica to promote
    my ($victim) = grep { $_->{port} != $l2->{port}
                          && cluster_replicas_of($C, $_) }
                   cluster_primaries($C);
    my @there = grep { owner("${NS}sess:$_")->{port} == $victim->{port} }
                @sids;
    my $mark = length daemon_log($D);

    cluster_failover($C, $victim, how => 'kill');

    # a new session on every primary, one of them the promoted replica
    my @fresh = map { sprintf 'f%031d', $_ } 1 .. 30;
    for my $sid (@fresh) {
        rc('SET', "${NS}sess:$sid",
           $json->encode({ cookie => { path => '/' },
                           user => { id => 'kf', username => 'kf' } }));
    }
    ok(poll_until(20, sub { rc('SCARD', "${SX}sessidx:kf") eq "30\n" }),
       'after the failover the walk indexes new sessions on every primary')
        or diag(rc('SCARD', "${SX}sessidx:kf"), daemon_log($D, $mark));
    diag(scalar(@there) . ' of the 60 sessions were on the killed primary');

    write_file("$View/home/index.shtml", "<p>home v2</p>\n");
    ok(poll_until(10, sub {
        redis_cli(owner("${L2}gen"), 'HGET', "${L2}tpl:home/index.shtml",
                  'source') eq "<p>home v2</p>\n\n" }),
       'publishing goes on');
}

ok(kill(0, $D->{pid}), 'the daemon is still running');
unlike(daemon_log($D), qr/CROSSSLOT/, 'no CROSSSLOT in the log');
diag(sprintf 'suite took %.1f s', Time::HiRes::time() - $T0);

done_testing();
