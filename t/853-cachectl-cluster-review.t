# cachectl --redis-cluster: the findings of the R16-ctl review, each
# against a fake node (t/lib/fake-cluster-node.py) or a real cluster of 3
# primaries with a replica each (t/lib/RedisCluster.pm):
#
#  1. a node that sends CLUSTER SLOTS one byte a second: a command ends
#     within the 3 s deadline, and the daemon exits on SIGTERM at once;
#     a huge CLUSTER SLOTS is refused on its header (16384 elements) or
#     its size (4 MiB), without building it;
#  2. MOVED to an address of no map: not followed, the password and the
#     command go nowhere;
#  3. sessions revoke when the DEL is refused (an ACL): exit 1 with it;
#  4. sessions revoke-user while a slot migrates: nothing revoked, "run
#     again", the user's index kept; list/count say they may be
#     incomplete;
#  5. more than 64 primaries: every one is walked (the fake);
#  6. the age limit when the tombstone is refused: the session is kept;
#  7. TRYAGAIN more than 5 times within the deadline: followed;
#  8. a SCAN reply with a key shorter than the prefix: skipped.
#
# Plain Test::More like t/850: no nginx is involved.
use strict;
use warnings;

use FindBin ();
use Test::More;
use Time::HiRes ();
use JSON::PP ();
use POSIX ();

use lib "$FindBin::Bin/lib";
use JPulseTest qw(redis_cli);
use FakeNode ();
use CachectlTest qw(spawn spawn_stop daemon_wait_log daemon_log cachectl
                    poll_until);
use RedisCluster qw(cluster_start cluster_primaries cluster_slot_owner
                    cluster_migrate_begin cluster_replicas_of);

my $Dir = CachectlTest::tmpdir();


sub fake {
    my ($mode, @args) = @_;
    return FakeNode::start('fake-cluster-node.py', $mode, undef, @args);
}

open my $pw, '>', "$Dir/pw" or die "$Dir/pw: $!";
print $pw "s3cret-cluster-pass\n";
close $pw;
chmod 0600, "$Dir/pw";

sub timed {
    my (@args) = @_;
    my $t0 = Time::HiRes::time();
    my @r = cachectl({ timeout => 20 }, @args);
    return (Time::HiRes::time() - $t0, @r);
}

# ---------------------------------------------------------------------
# 1. bounded in time and size

{
    my $port = fake('dribble', 1.0);
    my ($t, $code, $out, $err) = timed('--redis-cluster', "127.0.0.1:$port",
                                       '--site-id', 'x', 'status');
    ok($t < 6, sprintf('CLUSTER SLOTS at 1 byte/s: status ends in %.1fs',
                       $t));
    is($code, 1, '... exit 1');
    like("$out$err", qr/no answer within 3000 ms/, '... saying why');

    my $views = "$Dir/views";
    mkdir $views;
    my $d = spawn(cmd => [CachectlTest::cachectl_bin(), '--redis-cluster',
                          "127.0.0.1:$port", '--site-id', 'dv', 'daemon',
                          '--views', $views, '--rescan', 0]);
    Time::HiRes::sleep(2);
    my $t0 = Time::HiRes::time();
    my $how = spawn_stop($d, timeout => 8);
    my $took = Time::HiRes::time() - $t0;
    like($how, qr/^exit/, 'the daemon exits on SIGTERM ' . "($how)");
    ok($took < 5, sprintf('... within %.1fs', $took));
}

{
    my $port = fake('huge', 2_000_000);
    my ($t, $code, $out, $err) = timed('--redis-cluster', "127.0.0.1:$port",
                                       '--site-id', 'x', 'status');
    like("$out$err", qr/a reply of more than 16384 elements/,
         'CLUSTER SLOTS of 2M ranges: refused on its header');
    ok($t < 5, sprintf('... at once (%.1fs)', $t));

    $port = fake('nested', 3_000_000);
    ($t, $code, $out, $err) = timed('--redis-cluster', "127.0.0.1:$port",
                                    '--site-id', 'x', 'status');
    like("$out$err", qr/a reply of more than 4194304 bytes/,
         'CLUSTER SLOTS of 12 MB: refused at 4 MiB');
}

# ---------------------------------------------------------------------
# 2. MOVED only to a node of the map

{
    my $cport = FakeNode::start('fake-cluster-node.py', 'capture', undef,
                                '-', "$Dir/capture.log");
    my $port = fake('moved', $cport);

    my ($t, $code, $out, $err) = timed('--redis-cluster', "127.0.0.1:$port",
                                       '--password-file', "$Dir/pw",
                                       '--site-id', 'x', 'status');
    isnt($code, 0, 'MOVED to an address of no map: status fails');
    like($err, qr/redirects to 127\.0\.0\.1:$cport, no node of the /,
         '... saying so');
    my $got = -e "$Dir/capture.log" ? -s "$Dir/capture.log" : 0;
    is($got, 0, '... and nothing (no AUTH, no command) reached it');
}

# ---------------------------------------------------------------------
# 5. more than 64 primaries; 7. TRYAGAIN; 8. a bad SCAN reply

{
    my $port = fake('many', 70);
    my ($t, $code, $out, $err) = timed('--redis-cluster', "127.0.0.1:$port",
                                       '--site-id', 'x', 'sessions', 'count');
    is($code, 0, '70 primaries: sessions count') or diag($err);
    is($out, "70\n", '... a session on each of the 70');

    $port = fake('tryagain', 7);
    ($t, $code, $out, $err) = timed('--redis-cluster', "127.0.0.1:$port",
                                    '--site-id', 'x', 'sessions', 'show',
                                    'abc');
    is($code, 0, '7 TRYAGAINs within the deadline: followed') or diag($err);
    like($out, qr/"u1"/, '... the session');

    $port = fake('scanbad');
    ($t, $code, $out, $err) = timed('--redis-cluster', "127.0.0.1:$port",
                                    '--site-id', 'x', '--json', 'sessions',
                                    'list');
    is($code, 0, 'SCAN answers a key shorter than the prefix: list')
        or diag($err);
    is($out, "[]\n", '... skips it');
}

# ---------------------------------------------------------------------
# the real cluster

my $C = cluster_start(primaries => 3, replicas => 1);
my $Seeds = join ',', map { "127.0.0.1:$_->{port}" } @{ $C->{nodes} };
my $NS = 't853:prod:';
my $SX = "${NS}{${NS}sess}";
my $L2 = "${NS}{${NS}l2}";
my @Where = ('--redis-cluster', $Seeds, '--site-id', 't853');

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

sub all_nodes { my (@cmd) = @_; redis_cli($_, @cmd) for @{ $C->{nodes} } }

sub ctl { return cachectl({ timeout => 30 }, @Where, @_) }

sub session {
    my ($uid) = @_;
    return JSON::PP->new->canonical->encode({ user => { id => $uid },
        cookie => { originalMaxAge => 3600000, path => '/' } });
}

# 3. revoke: the DEL refused
{
    my $sid = 'r' x 32;
    rc('SET', "${NS}sess:$sid", session('u1'), 'EX', 3600);
    all_nodes('ACL', 'SETUSER', 'default', '-del', '-unlink');
    my ($code, $out, $err) = ctl('sessions', 'revoke', $sid);
    all_nodes('ACL', 'SETUSER', 'default', '+@all');
    is($code, 1, 'sessions revoke, DEL refused: exit 1') or diag("$out$err");
    like($err, qr/revoke: DEL: NOPERM/, '... with the error');
    is(rc('EXISTS', "${NS}sess:$sid"), "1\n", '... the session is there');
}

# 4. revoke-user while a slot migrates
{
    my @sids = map { sprintf 'm%031d', $_ } 1 .. 12;
    rc('SET', "${NS}sess:$_", session('u4'), 'EX', 3600) for @sids;
    rc('SADD', "${SX}sessidx:u4", @sids);

    my ($slot, $from) = cluster_slot_owner($C, "${NS}sess:$sids[0]");
    my ($to) = grep { $_->{port} != $from->{port} } cluster_primaries($C);
    cluster_migrate_begin($C, $slot, $from, $to);

    my ($code, $out, $err) = ctl('sessions', 'revoke-user', 'u4');
    is($code, 1, 'revoke-user while a slot migrates: exit 1')
        or diag("$out$err");
    like($err, qr/resharded during the walk .*run again/, '... run again');
    is(rc('SCARD', "${SX}sessidx:u4"), "12\n", '... the index is kept');
    is(rc('EXISTS', "${NS}sess:$sids[0]"), "1\n", '... nothing revoked');

    ($code, $out, $err) = ctl('sessions', 'count');
    like($err, qr/the count may be incomplete/,
         'sessions count says it may be incomplete');

    # the migration called off: the walk is stable again
    redis_cli($_, 'CLUSTER', 'SETSLOT', $slot, 'STABLE') for ($from, $to);
    ($code, $out, $err) = ctl('sessions', 'revoke-user', 'u4');
    is($code, 0, 'revoke-user once no slot moves') or diag("$out$err");
    like($out, qr/revoked 12 sessions of user u4/, '... all 12');
    is(rc('EXISTS', "${SX}sessidx:u4"), "0\n", '... the index dropped');
}

# 6. the age limit in a cluster when the tombstone is refused: a site
# whose sess group and l2 group are on different primaries
SKIP: {
    my ($site) = grep {
        owner("$_:prod:{$_:prod:sess}x")->{port}
            != owner("$_:prod:{$_:prod:l2}x")->{port}
    } map { "t853$_" } 'a' .. 'z';
    skip 'no site whose sess and l2 groups are apart', 4 unless $site;

    my $ns = "$site:prod:";
    my $sx = "$ns\{${ns}sess}";
    my @where = ('--redis-cluster', $Seeds, '--site-id', $site);
    my $sp = owner("${sx}cachectl:revoked");

    # a session on another primary than the sess group's
    my ($sid) = grep { owner("${ns}sess:$_")->{port} != $sp->{port} }
                map { sprintf 'a%031d', $_ } 1 .. 20;

    rc('SET', "${ns}sess:$sid", session('u6'), 'EX', 3600);
    rc('HSET', "${sx}cachectl:sessfirst", $sid,
       int((time - 2 * 86400) * 1000) . ' u6');

    # no scripts on the sess group's primary (and its replica)
    redis_cli($_, 'ACL', 'SETUSER', 'default', '-eval', '-evalsha')
        for ($sp, cluster_replicas_of($C, $sp));

    my $views = "$Dir/v6";
    mkdir $views;
    my @daemon = (CachectlTest::cachectl_bin(), @where, 'daemon',
                  '--views', $views, '--rescan', 0,
                  '--session-pass-interval', 1,
                  '--session-scan-rate', 100000);
    my $d = spawn(cmd => \@daemon);
    ok(daemon_wait_log($d, qr/refused tombstone/, 15),
       'the age limit: the tombstone refused is logged')
        or diag(daemon_log($d));
    Time::HiRes::sleep(1.5);
    is(rc('EXISTS', "${ns}sess:$sid"), "1\n",
       '... and the session is not deleted without it');
    spawn_stop($d);
    redis_cli($_, 'ACL', 'SETUSER', 'default', '+@all')
        for ($sp, cluster_replicas_of($C, $sp));

    $d = spawn(cmd => \@daemon);
    ok(poll_until(10, sub { rc('EXISTS', "${ns}sess:$sid") eq "0\n" }),
       '... removed once the tombstone applies') or diag(daemon_log($d));
    like(rc('ZSCORE', "${sx}cachectl:revoked", $sid), qr/^\d+/,
         '... with its tombstone');
    spawn_stop($d);
}

done_testing();
