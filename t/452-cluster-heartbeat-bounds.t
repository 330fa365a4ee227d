# The cluster view reads the others' heartbeats with bounds (review R17-dash,
# finding 2, on the fetch the metrics answer and the dashboard share): a
# blob over 4 MB is left out instead of being held and parsed, and so is
# what goes past 32 MB in all; the answer still lists the others. Before,
# one MGET fetched every blob whole (four of 100 MB took a worker to 1 GB
# and timed out its command connection).
use strict;
use warnings;

use lib 't/lib';
use HTTP::Tiny ();
use JSON::PP ();
use Test::More;

use JPulseTest qw(redis_start nginx_start nginx_stop poll_until);
use DashboardTest ();

my $redis = redis_start();
my $ns = 'hb:dev:';

my $n = nginx_start(workers => 1, http => <<"HTTP", config => <<'CONF');
    jpulse_site_id hb;
    jpulse_mode dev;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$redis->{port};
    jpulse_heartbeat interval=200ms ttl=1s;
HTTP
        location = /m { jpulse_metrics; }
CONF

my $ua = HTTP::Tiny->new(keep_alive => 1, timeout => 10);

sub ids {
    my $r = $ua->get("http://127.0.0.1:$n->{port}/m");
    return "status $r->{status}" unless $r->{status} == 200;
    my $d = JSON::PP->new->decode($r->{content});
    return join ' ', sort map { map { $_->{instanceId} } @{ $_->{instances} } }
                          @{ $d->{data}{servers} };
}

DashboardTest::put_instance($redis, ns => $ns, id => '1:100:1');
DashboardTest::put_instance($redis, ns => $ns, id => '2:100:2',
                            hostname => 'h' x (1536 * 1024));  # 4.5 MB: thrice in the blob
DashboardTest::put_instance($redis, ns => $ns, id => '3:100:3',
                            hostname => 'h' x (1024 * 1024));  # 3 MB

my $ids;
ok poll_until(5, sub { ($ids = ids()) =~ /\b1:100:1 3:100:3$/ && $ids !~ /\b2:100:2\b/ }),
   'a 4.5 MB heartbeat is left out, a 3 MB one is read'
    or diag $ids;

# 12 blobs of 3 MB: 36 MB, over the 32 MB in all
DashboardTest::put_instance($redis, ns => $ns, id => "9:100:$_",
                            hostname => 'x' x (1024 * 1024))
    for 100 .. 111;
$ids = ids();
my $seen = () = $ids =~ /\b\d:100:\d+\b/g;
ok $seen >= 8 && $seen < 15, "past 32 MB in all the rest is left out ($seen listed)";
like $ids, qr/\b1:100:1\b/, 'the small one still';

nginx_stop($n);
open my $fh, '<', "$n->{dir}/logs/error.log" or die;
my $log = do { local $/; <$fh> };
unlike $log, qr/\[(alert|crit|emerg)\]|command timed out/, 'no alert, no timeout';
done_testing();
