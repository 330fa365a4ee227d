# cachectl with --redis-cluster (issue 16) against a real Redis Cluster of
# 3 primaries with a replica each (t/lib/RedisCluster.pm):
#
#  - the configuration: exactly one of redis, redis-sentinel and
#    redis-cluster, db and redis-master refused with it, a bad seed list;
#  - the daemon publishes a view tree under the hash-tagged names of
#    docs/protocol.md "Redis Cluster" (<ns>{<ns>l2}tpl:..., gen, tplindex)
#    on the primary that owns the l2 tag's slot, nothing under the old
#    names; the event reaches a subscriber on another node; <ns>{..l2}gen
#    counts; its heartbeat and status are in the metrics group;
#  - the CLI: status (the l2 primary), get, invalidate, instances;
#  - sessions (<ns>sess:<sid>, spread over the slots): the index in the
#    sess group, sessions count/list across every primary, revoke (the
#    tombstone, the session gone), a revoked session written again is
#    deleted by the tombstone check, revoke-user, the age limit, the
#    records of a session deleted by hand swept;
#  - the l2 slot migrated by hand (MIGRATING/IMPORTING, ASK, then MOVED)
#    while files are saved: none lost;
#  - the l2 primary killed: a replica takes over, publishing resumes
#    there.
#
# Plain Test::More like t/840: no nginx is involved.
use strict;
use warnings;

use FindBin ();
use Test::More;
use Time::HiRes ();
use JSON::PP ();
use POSIX ();
use IO::Socket::INET ();
use IO::Select ();

use lib "$FindBin::Bin/lib";
use JPulseTest qw(redis_cli);
use CachectlTest qw(spawn daemon_wait_log daemon_log write_file cachectl
                    poll_until);
use RedisCluster qw(cluster_start cluster_primaries cluster_slot_owner
                    cluster_migrate_begin cluster_migrate_keys
                    cluster_migrate_end cluster_failover cluster_wait);

my $T0 = Time::HiRes::time();
my $C = cluster_start(primaries => 3, replicas => 1);
my @Seeds = map { "127.0.0.1:$_->{port}" } @{ $C->{nodes} };
my $Seeds = join ',', @Seeds;
my $NS = 't850:prod:';
my $L2 = "${NS}{${NS}l2}";
my $MX = "${NS}{${NS}metrics}";
my $SX = "${NS}{${NS}sess}";
my $Dir = CachectlTest::tmpdir();
my $View = "$Dir/view";
my @Where = ('--redis-cluster', $Seeds, '--site-id', 't850');

diag(sprintf 'cluster of 6 nodes up in %.1f s', Time::HiRes::time() - $T0);

# redis-cli -c against any live node
sub rc {
    my (@cmd) = @_;
    for my $n (@{ $C->{nodes} }) {
        next unless $n->{pid};
        my $out = redis_cli($n, '-c', @cmd);
        return $out if $out ne '';
    }
    return '';
}

sub owner { my ($key) = @_; return (cluster_slot_owner($C, $key))[1] }

sub ctl { return cachectl({ timeout => 20 }, @Where, @_) }

# ---------------------------------------------------------------------
# the configuration

{
    my ($code, $out, $err) = cachectl('--redis', '127.0.0.1:1',
                                      '--redis-cluster', $Seeds, 'status');
    is($code, 2, 'redis and redis-cluster both given: usage error');
    like($err, qr/redis-cluster and redis both given/, '... said');

    ($code, $out, $err) = cachectl(@Where, '--db', 3, 'status');
    is($code, 2, 'db with redis-cluster: usage error');
    like($err, qr/db 3 with redis-cluster: a cluster has only database 0/,
         '... said');

    ($code, $out, $err) = cachectl(@Where, '--redis-master', 'm', 'status');
    is($code, 2, 'redis-master with redis-cluster: usage error');

    ($code, $out, $err) = cachectl('--redis-cluster', '127.0.0.1:1,nope',
                                   'status');
    is($code, 2, 'a seed without a port: usage error');
    like($err, qr/invalid --redis-cluster .*item 2 "nope" is not HOST:PORT/,
         '... said');

    ($code, $out, $err) = cachectl('--redis-cluster', '127.0.0.1:0',
                                   'status');
    is($code, 2, 'port 0: usage error');

    # the file names one server, the command line the cluster: it wins
    my $conf = "$Dir/cachectl.conf";
    write_file($conf, "redis = 127.0.0.1:1\nsite-id = t850\n");
    ($code, $out, $err) = cachectl('-c', $conf, '--redis-cluster', $Seeds,
                                   'status');
    # (exit 1: no daemon runs yet)
    is($code, 1, 'the command line\'s redis-cluster replaces the file\'s '
                 . 'redis') or diag($err);
    my $where = qr/^Redis +cluster via \Q$Seeds\E \(l2 group on /m;
    like($out, qr/${where}127\.0\.0\.1:\d+, 3 primaries\): reachable/,
         '... status names the l2 primary');

    write_file($conf, "redis = 127.0.0.1:1\nredis-cluster = $Seeds\n");
    ($code, $out, $err) = cachectl('-c', $conf, 'status');
    is($code, 2, 'redis and redis-cluster both in the file: usage error');
    like($err, qr/both in the config file/, '... said');

    # no node answers: exit 1, every seed said
    ($code, $out, $err) = cachectl('--redis-cluster',
                                   '127.0.0.1:1,127.0.0.1:2', 'status');
    is($code, 1, 'no seed answers: exit 1');
    like($out, qr/no node of the cluster gives its slot map/, '... said');
}

# ---------------------------------------------------------------------
# the daemon publishes under the tagged names

write_file("$View/home/index.shtml", "<p>home v1</p>\n");
write_file("$View/about/index.shtml", "<p>about</p>\n");
write_file("$View/error/index.shtml", "<h1>{{url.param.code}}</h1>\n");

my $D = spawn(cmd => [CachectlTest::cachectl_bin(), @Where, 'daemon',
                      '--views', $View, '--rescan', 0, '--heartbeat', 1,
                      '--session-pass-interval', 1,
                      '--session-scan-rate', 100000]);

ok(daemon_wait_log($D, qr/published 3 view/, 15), 'the daemon published '
   . 'the tree') or diag(daemon_log($D));

my $l2 = owner("${L2}gen");
for my $p (qw(home/index.shtml about/index.shtml error/index.shtml)) {
    is(owner("${L2}tpl:$p")->{port}, $l2->{port},
       "${L2}tpl:$p is in the l2 slot");
}
is(redis_cli($l2, 'HGET', "${L2}tpl:home/index.shtml", 'source'),
   "<p>home v1</p>\n\n", 'the template is on the l2 primary itself');
is(redis_cli($l2, 'HLEN', "${L2}tplindex"), "3\n", 'tplindex: 3 fields');
is(rc('EXISTS', "${NS}tpl:home/index.shtml"), "0\n",
   'nothing under the untagged name');
is(rc('EXISTS', "${NS}tplindex"), "0\n", '... nor the untagged index');

my $gen0 = redis_cli($l2, 'HGET', "${L2}gen", 'view');
chomp $gen0;
ok($gen0 >= 1, "the gen counter: view $gen0");

# an event heard on a node that is not the l2 primary
my ($other) = grep { $_->{port} != $l2->{port} } cluster_primaries($C);
my $sub = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                PeerPort => $other->{port}) or die "$!";
my $pat = "${NS}bc:controller:cache:invalidate:*";
print $sub "*2\r\n\$10\r\nPSUBSCRIBE\r\n\$" . length($pat) . "\r\n$pat\r\n";
Time::HiRes::sleep(0.2);

write_file("$View/home/index.shtml", "<p>home v2</p>\n");
my $heard = '';
{
    my $sel = IO::Select->new($sub);
    my $deadline = Time::HiRes::time() + 10;
    while ((my $left = $deadline - Time::HiRes::time()) > 0) {
        last unless $sel->can_read($left);
        last unless sysread($sub, $heard, 65536, length $heard);
        last if $heard =~ /home\/index\.shtml/;
    }
}
like($heard, qr/pmessage.*invalidate:view.*home\/index\.shtml/s,
     'the event reached a subscriber on another primary');
is(redis_cli($l2, 'HGET', "${L2}tpl:home/index.shtml", 'source'),
   "<p>home v2</p>\n\n", 'the new version is published');
my $gen1 = redis_cli($l2, 'HGET', "${L2}gen", 'view');
chomp $gen1;
cmp_ok($gen1, '>', $gen0, "the gen counter moved on ($gen0 -> $gen1)");

# heartbeat and status: the metrics group
ok(poll_until(5, sub { rc('EXISTS', "${MX}metrics:registry") eq "1\n" }),
   'the registry under the metrics tag');
is(rc('EXISTS', "${NS}metrics:registry"), "0\n",
   '... not under the untagged name');

{
    my ($code, $out, $err) = ctl('status', '--json');
    is($code, 0, 'status --json') or diag($err);
    my $j = eval { JSON::PP::decode_json($out) } // {};
    is($j->{redis}{cluster}{l2Primary}, "127.0.0.1:$l2->{port}",
       '... names the l2 primary');
    is($j->{redis}{cluster}{primaries}, 3, '... and 3 primaries');
    is($j->{filesInRedis}, 3, '... 3 files');
    is(scalar @{ $j->{daemons} // [] }, 1, '... the daemon\'s status '
       . 'record found') or diag($out);

    ($code, $out, $err) = ctl('get', 'home/index.shtml');
    is($code, 0, 'get') or diag($err);
    like($out, qr/home v2/, '... the source');

    ($code, $out, $err) = ctl('invalidate', 'view');
    is($code, 0, 'invalidate view (WAIT on the primaries written)')
        or diag($err);
    my $gen2 = redis_cli($l2, 'HGET', "${L2}gen", 'view');
    chomp $gen2;
    is($gen2, $gen1 + 1, '... the gen counter +1');

    ($code, $out, $err) = ctl('instances', '--json');
    is($code, 0, 'instances') or diag($err);
    like($out, qr/cachectl/, '... lists the daemon');
}

# ---------------------------------------------------------------------
# sessions across the slots

sub iso { return POSIX::strftime('%Y-%m-%dT%H:%M:%S.000Z', gmtime $_[0]) }

sub session {
    my (%o) = @_;
    my %s = (cookie => { originalMaxAge => 3600000, path => '/',
                         expires => iso(time + 1800) });
    $s{user} = { id => $o{uid}, username => $o{uid},
                 isAuthenticated => JSON::PP::true } if $o{uid};
    return JSON::PP->new->canonical->encode(\%s);
}

my @Sids = map { sprintf 's%031d', $_ } 1 .. 30;
my %Uid;
for my $i (0 .. $#Sids) {
    $Uid{ $Sids[$i] } = 'u' . ($i % 3);
    rc('SET', "${NS}sess:$Sids[$i]", session(uid => $Uid{ $Sids[$i] }));
}
my %nodes = map { owner("${NS}sess:$_")->{port} => 1 } @Sids;
is(scalar keys %nodes, 3, 'the 30 sessions are on the 3 primaries');

ok(poll_until(10, sub { rc('SCARD', "${SX}sessidx:u0") eq "10\n" }),
   'the walk over every primary indexed u0\'s 10 sessions')
    or diag(rc('SCARD', "${SX}sessidx:u0"), daemon_log($D));
is(rc('HLEN', "${SX}cachectl:sessfirst"), "30\n",
   'the first-seen records: 30 (sess group)');
cmp_ok(rc('PTTL', "${NS}sess:$Sids[0]"), '>', 0, 'a session got a TTL');

{
    my ($code, $out, $err) = ctl('sessions', 'count');
    is($code, 0, 'sessions count') or diag($err);
    like($out, qr/\b30\b/, '... 30, from every primary');

    ($code, $out, $err) = ctl('sessions', 'list', '--user', 'u1', '--json');
    is($code, 0, 'sessions list --user u1') or diag($err);
    my $l = eval { JSON::PP::decode_json($out) } // [];
    $l = $l->{sessions} if ref $l eq 'HASH';
    is(scalar @$l, 10, '... 10 sessions');

    # revoke one: tombstone, session gone, records gone
    my $victim = $Sids[3];
    ($code, $out, $err) = ctl('sessions', 'revoke', $victim);
    is($code, 0, 'sessions revoke') or diag("$out$err");
    is(rc('EXISTS', "${NS}sess:$victim"), "0\n", '... the session is gone');
    like(rc('ZSCORE', "${SX}cachectl:revoked", $victim), qr/^\d+/,
         '... its tombstone is in the sess group');
    is(rc('HEXISTS', "${SX}cachectl:sessfirst", $victim), "0\n",
       '... its first-seen record is gone');
    is(rc('SISMEMBER', "${SX}sessidx:$Uid{$victim}", $victim), "0\n",
       '... and its index entry');

    # it comes back (an in-flight request's SET): deleted again
    rc('SET', "${NS}sess:$victim", session(uid => $Uid{$victim}));
    ok(poll_until(5, sub { rc('EXISTS', "${NS}sess:$victim") eq "0\n" }),
       'a revoked session written again is deleted by the tombstone check');
    ok(daemon_wait_log($D, qr/came back: deleted again/, 2), '... logged');

    # revoke-user u2: every one of its sessions, on every primary
    ($code, $out, $err) = ctl('sessions', 'revoke-user', 'u2');
    is($code, 0, 'sessions revoke-user u2') or diag("$out$err");
    my @left = grep { $Uid{$_} eq 'u2'
                      && rc('EXISTS', "${NS}sess:$_") eq "1\n" } @Sids;
    is(scalar @left, 0, '... none of u2\'s 10 sessions is left');
    is(rc('EXISTS', "${SX}sessidx:u2"), "0\n", '... nor its index');

    # deleted by hand: the sweep drops its records
    my $gone = $Sids[0];
    rc('DEL', "${NS}sess:$gone");
    ok(poll_until(8, sub {
        rc('HEXISTS', "${SX}cachectl:sessfirst", $gone) eq "0\n" }),
       'the records of a session deleted by hand are swept')
        or diag(daemon_log($D));
}

# the age limit: first seen long ago, as t/320 pre-seeds it
{
    my $old = $Sids[1];
    rc('HSET', "${SX}cachectl:sessfirst", $old,
       int((time - 2 * 86400) * 1000) . " $Uid{$old}");
    ok(poll_until(8, sub { rc('EXISTS', "${NS}sess:$old") eq "0\n" }),
       'a session past --session-max-age is removed')
        or diag(daemon_log($D));
    like(rc('ZSCORE', "${SX}cachectl:revoked", $old), qr/^\d+/,
         '... with a tombstone');
    ok(daemon_wait_log($D, qr/session s0+\.\.\. of user u1 removed: older/,
                       2), '... logged');
}

unlike(daemon_log($D), qr/CROSSSLOT/, 'no CROSSSLOT in the daemon\'s log');

# ---------------------------------------------------------------------
# the l2 slot migrates while files are saved

{
    my ($slot, $from) = cluster_slot_owner($C, "${L2}gen");
    my ($to) = grep { $_->{port} != $from->{port} } cluster_primaries($C);
    my $mark = length daemon_log($D);

    cluster_migrate_begin($C, $slot, $from, $to);
    write_file("$View/during/a.shtml", "<p>a</p>\n");
    Time::HiRes::sleep(0.3);

    # half the keys moved: the transaction meets ASK / TRYAGAIN
    my @keys = split /\n/, redis_cli($from, 'CLUSTER', 'GETKEYSINSLOT',
                                     $slot, 1000);
    my @half = @keys[0 .. int(@keys / 2)];
    cluster_migrate_keys($C, $slot, $from, $to, @half);
    write_file("$View/during/b.shtml", "<p>b</p>\n");
    Time::HiRes::sleep(0.5);

    @keys = split /\n/, redis_cli($from, 'CLUSTER', 'GETKEYSINSLOT', $slot,
                                  1000);
    cluster_migrate_keys($C, $slot, $from, $to, @keys) if @keys;
    cluster_migrate_end($C, $slot, $to);
    write_file("$View/during/c.shtml", "<p>c</p>\n");

    ok(poll_until(20, sub {
        3 == grep { redis_cli($to, 'HGET', "${L2}tpl:during/$_.shtml",
                              'source') eq "<p>$_</p>\n\n" } qw(a b c) }),
       'every file saved during the migration is on the new owner')
        or diag(daemon_log($D, $mark));
    is(redis_cli($to, 'HLEN', "${L2}tplindex"), "6\n",
       '... and the index has all 6 files');
    diag('during the migration: '
         . join(' | ', grep { /publish|connected|cluster|Redis/ }
                split /\n/, daemon_log($D, $mark)));
}

# ---------------------------------------------------------------------
# the l2 primary is killed

{
    my $old = owner("${L2}gen");
    my $mark = length daemon_log($D);
    my $t = Time::HiRes::time();
    my $new = cluster_failover($C, $old, how => 'kill');
    my $took = Time::HiRes::time() - $t;
    write_file("$View/after/failover.shtml", "<p>after</p>\n");

    ok(poll_until(20, sub {
        redis_cli($new, 'HGET', "${L2}tpl:after/failover.shtml", 'source')
            eq "<p>after</p>\n\n" }),
       'after the failover the daemon publishes on the new primary')
        or diag(daemon_log($D, $mark));
    my $seen = Time::HiRes::time() - $t;
    is(redis_cli($new, 'HLEN', "${L2}tplindex"), "7\n",
       '... with the whole index (compared again after the reconnect)');
    diag(sprintf 'kill -9 of the l2 primary: promoted after %.2f s, the '
         . 'new file there at %.2f s', $took, $seen);

    my ($code, $out, $err) = ctl('status', '--json');
    my $j = eval { JSON::PP::decode_json($out) } // {};
    is($j->{redis}{cluster}{l2Primary}, "127.0.0.1:$new->{port}",
       'status names the new l2 primary');
}

ok(kill(0, $D->{pid}), 'the daemon is still running');
diag(sprintf 'suite took %.1f s', Time::HiRes::time() - $T0);

done_testing();
