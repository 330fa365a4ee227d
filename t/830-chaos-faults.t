# chaos/faults --quick (issue 16): every fault of the fault-injection suite
# with a short load (8 s each), checked against its goals: no crash (nginx
# worker "exited on signal", a master or cachectl gone), no session lost by
# us (a signed-in request answered as anonymous while its session is in
# Redis), recovered within the fault's bound (the RESULT line's bound=),
# and the fault's own checks (the tree republished after redis-kill, every
# file of the deploy right after cachectl-kill, the full disk reported by
# cachectl and nothing lost).
#
# A run of its own: private redis-server, nginx instances, cachectl and
# Mongo-wire test server on free ports. Needs wrk and the test server
# (make deps), else it skips. CHAOS_FAULTS="redis-kill pubsub-kill" runs a
# subset; the sentinel-* faults run against Redis with Sentinel (a
# primary, a replica, three sentinels: t/lib/RedisSentinel.pm).
use strict;
use warnings;

use POSIX ();
use Test::More;

use lib 't/lib';
use ChaosTest ();

my $top = POSIX::getcwd();

plan skip_all => 'the Mongo-wire test server is not installed (make deps)'
    unless -d "$top/scripts/mongo-test-server/node_modules/\@push.rocks/smartmongo";
plan skip_all => 'wrk is not installed (make deps)'
    unless grep { -x "$_/wrk" } split /:/, $ENV{PATH};

my @faults = split ' ', ($ENV{CHAOS_FAULTS} // '');
my @all = split ' ', `'$top/chaos/faults' --list`;
my @want = @faults ? @faults : @all;
# the failovers need Redis with Sentinel: a run of their own
my @failovers = grep { /^sentinel-/ } @want;
# the cluster-* faults: t/831-chaos-faults-cluster.t
my @single = grep { !/^(?:sentinel|cluster)-/ } @want;

local $ENV{CACHECTL} = $ENV{TEST_NGINX_CACHECTL} // "$top/build/cachectl";
my $out = '';
for my $run ([@single], ['--sentinel', @failovers]) {
    next if @$run == 0 || "@$run" eq '--sentinel';
    my $t0 = time;
    my $o = `'$top/chaos/faults' --quick @$run 2>&1`;
    my $rc = $? >> 8;
    is($rc, 0, "chaos/faults --quick @$run: exit 0") or diag $o;
    note $o;
    note 'took ' . (time - $t0) . ' s';
    $out .= $o;
}

# disk-full needs mount (root): chaos/faults says why it skipped
ChaosTest::check($out, @single, @failovers);

done_testing();
