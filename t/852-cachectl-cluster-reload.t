# cachectl's daemon switching between one Redis and a Redis Cluster on
# SIGHUP (its -c file rewritten), as docs/protocol.md "A jPulse peer"
# says a namespace is switched as a whole: in cluster mode the tree is
# published under the hash-tagged names on the cluster; back to one server,
# it is published there under today's names, byte for byte (nothing with a
# '{'), and the cluster is no longer written to. Against a 3-primary
# cluster without replicas (t/lib/RedisCluster.pm) and one redis-server.
#
# Plain Test::More like t/840 and t/850: no nginx is involved.
use strict;
use warnings;

use FindBin ();
use Test::More;
use Time::HiRes ();

use lib "$FindBin::Bin/lib";
use JPulseTest qw(redis_cli redis_start);
use CachectlTest qw(spawn daemon_wait_log daemon_log write_file poll_until);
use RedisCluster qw(cluster_start cluster_slot_owner);

my $C = cluster_start(primaries => 3, replicas => 0);
my $R = redis_start();
my $Seeds = join ',', map { "127.0.0.1:$_->{port}" } @{ $C->{nodes} };
my $NS = 't852:prod:';
my $L2 = "${NS}{${NS}l2}";
my $Dir = CachectlTest::tmpdir();
my $View = "$Dir/view";
my $Conf = "$Dir/cachectl.conf";

sub owner { my ($key) = @_; return (cluster_slot_owner($C, $key))[1] }

write_file("$View/home/index.shtml", "<p>home</p>\n");
write_file($Conf, "redis-cluster = $Seeds\nsite-id = t852\n");
chmod 0644, $Conf;

my $D = spawn(cmd => [CachectlTest::cachectl_bin(), '-c', $Conf, 'daemon',
                      '--views', $View, '--rescan', 0, '--heartbeat', 1]);

ok(daemon_wait_log($D, qr/published 1 view/, 15), 'published in cluster '
   . 'mode') or diag(daemon_log($D));
is(redis_cli(owner("${L2}gen"), 'HGET', "${L2}tpl:home/index.shtml",
             'source'), "<p>home</p>\n\n", '... under the tagged name');

# to one server
my $mark = length daemon_log($D);
write_file($Conf, "redis = 127.0.0.1:$R->{port}\nsite-id = t852\n");
chmod 0644, $Conf;
kill 'HUP', $D->{pid};

ok(daemon_wait_log($D, qr/connected to Redis 127\.0\.0\.1:$R->{port}: full/,
                   10, $mark), 'SIGHUP: connected to the one server')
    or diag(daemon_log($D, $mark));
ok(poll_until(10, sub {
    redis_cli($R, 'HGET', "${NS}tpl:home/index.shtml", 'source')
        eq "<p>home</p>\n\n" }), '... the tree published under '
   . 'today\'s names');
is(redis_cli($R, 'KEYS', '*{*'), "\n", '... no key with a hash tag there');

write_file("$View/home/index.shtml", "<p>home v2</p>\n");
ok(poll_until(10, sub {
    redis_cli($R, 'HGET', "${NS}tpl:home/index.shtml", 'source')
        eq "<p>home v2</p>\n\n" }), 'a change goes to the one server');
is(redis_cli(owner("${L2}gen"), 'HGET', "${L2}tpl:home/index.shtml",
             'source'), "<p>home</p>\n\n", '... not to the cluster');

# and back
$mark = length daemon_log($D);
write_file($Conf, "redis-cluster = $Seeds\nsite-id = t852\n");
chmod 0644, $Conf;
kill 'HUP', $D->{pid};
ok(daemon_wait_log($D, qr/connected to Redis Cluster/, 10, $mark),
   'SIGHUP: back to the cluster');
ok(poll_until(10, sub {
    redis_cli(owner("${L2}gen"), 'HGET', "${L2}tpl:home/index.shtml",
              'source') eq "<p>home v2</p>\n\n" }),
   '... the full compare publishes the change there');
unlike(daemon_log($D), qr/CROSSSLOT|MOVED/, 'no CROSSSLOT or MOVED met');

done_testing();
