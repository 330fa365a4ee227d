# Pages of a host whose view roots are empty (everything comes from Redis,
# as docs/directives.md allows) while Redis cannot say what exists (its
# index unreadable: a cluster whose l2 primary fails over; or Redis down):
# the copy each worker holds is served, on keep-alive connections, instead
# of a 404 once the check interval passed (chaos/faults --cluster measured
# 720 of 4,926 requests as 404 while the l2 group's primary failed over).
# A page never read by the worker stays a 404, a file on disk still wins,
# and once the index is readable a page deleted meanwhile is gone.
use strict;
use warnings;

use lib 't/lib';
use File::Temp ();
use HTTP::Tiny ();
use Test::More;
use Time::HiRes ();

use JPulseTest qw(redis_start redis_stop nginx_start nginx_stop poll_until
                  publish_tree view_tree);

my $dir = File::Temp::tempdir('jpulse-t437-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
mkdir "$dir/site";
view_tree("$dir/fw", { 'error/index.shtml' => "E{{url.param.code}}\n",
                       'disk/index.shtml' => "from disk\n" });

my $redis = redis_start();
my $ns = 'away:dev:';

publish_tree($redis, $ns, {
    'home/index.shtml'  => "home from redis\n",
    'about/index.shtml' => "about from redis\n",
    'later/index.shtml' => "later from redis\n",
});

my $n = nginx_start(workers => 1, http => <<"HTTP", config => <<'CONF');
    jpulse_site_id away;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$redis->{port} connect_timeout=200ms command_timeout=300ms;
    jpulse_view_roots $dir/site $dir/fw;
    jpulse_template_check_interval 100ms;
HTTP
        location / { jpulse_render; }
CONF

my $ua = HTTP::Tiny->new(keep_alive => 1, timeout => 5);
sub page { my $r = $ua->get("http://127.0.0.1:$n->{port}$_[0]"); "$r->{status} $r->{content}" }

ok poll_until(5, sub { page('/home/') eq "200 home from redis\n" }), 'home from Redis';
is page('/about/'), "200 about from redis\n", 'about from Redis';
is page('/disk/'), "200 from disk\n", 'a page only on disk';

# Redis up, but the index cannot be read (a cluster's l2 primary failing
# over answers nothing while the other nodes do): the copies still serve
JPulseTest::redis_command($redis, 'ACL', 'SETUSER', 'default', '-hgetall');
JPulseTest::publish_event($redis, $ns, 'view');
Time::HiRes::sleep(0.3);

for (1 .. 3) {
    is page('/home/'), "200 home from redis\n", "index unreadable ($_): home still served";
    is page('/about/'), "200 about from redis\n", "index unreadable ($_): about too";
    Time::HiRes::sleep(0.3);
}
is page('/disk/'), "200 from disk\n", 'the disk still serves';

# a page deleted while the index could not be read is gone once it can
publish_tree($redis, $ns, { 'about/index.shtml' => undef }, event => 0);
JPulseTest::redis_command($redis, 'ACL', 'SETUSER', 'default', '+hgetall');
JPulseTest::publish_event($redis, $ns, 'view');
ok poll_until(5, sub { page('/about/') =~ /^(302|404) / }),
   'the index readable again: a deleted page is gone';
is page('/home/'), "200 home from redis\n", 'home still there';

redis_stop($redis);
Time::HiRes::sleep(0.5);

for (1 .. 3) {
    is page('/home/'), "200 home from redis\n", "Redis away ($_): home still served";
    Time::HiRes::sleep(0.3);
}
like page('/later/'), qr/^(302|404) /, 'a page this worker never read: not served';
is page('/disk/'), "200 from disk\n", 'the disk still serves';

nginx_stop($n);
open my $fh, '<', "$n->{dir}/logs/error.log" or die;
my $log = do { local $/; <$fh> };
unlike $log, qr/\[(alert|crit|emerg)\]/, 'no alert';
done_testing();
