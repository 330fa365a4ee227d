# A request whose L2 fetch cannot go out (max_pending reached; or, in a
# cluster, the node of the l2 group failing over) keeps the copy it has
# for itself, instead of a 404 from empty view roots; but only for
# itself: the next request asks the index again, so a page deleted from
# Redis meanwhile is gone, not served on until the next invalidation
# (R16-s2 3: it was served on).
use strict;
use warnings;

use lib 't/lib';
use File::Temp ();
use HTTP::Tiny ();
use POSIX ();
use Test::More;
use Time::HiRes ();

use JPulseTest qw(redis_start nginx_start nginx_stop poll_until
                  publish_tree view_tree);
use RedisProxy ();

my $dir = File::Temp::tempdir('jpulse-t438-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
view_tree("$dir/site", {});

my $redis = redis_start();
my $ns = 'refused:dev:';

publish_tree($redis, $ns, {
    'news/index.shtml' => "news v1\n",
    'site/index.shtml' => "site\n",
}, event => 0);

my $proxy = RedisProxy::start($redis);

my $n = nginx_start(workers => 1, http => <<"HTTP", config => <<'CONF');
    jpulse_site_id refused;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$proxy->{port} command_timeout=5s max_pending=1;
    jpulse_view_roots $dir/site;
HTTP
        location / { jpulse_render; }
CONF

my $ua = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
sub page { my $r = $ua->get("http://127.0.0.1:$n->{port}$_[0]"); "$r->{status} $r->{content}" }

ok poll_until(5, sub { page('/news/') eq "200 news v1\n" }), 'news from Redis';

# the one command slot taken by a fetch whose reply is held
RedisProxy::hold($proxy, 1);
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    HTTP::Tiny->new(timeout => 10)->get("http://127.0.0.1:$n->{port}/site/");
    POSIX::_exit(0);
}
Time::HiRes::sleep(0.3);

# the page deleted as cachectl deletes it, and its event
publish_tree($redis, $ns, { 'news/index.shtml' => undef }, event => 0);
JPulseTest::publish_event($redis, $ns, 'view');
Time::HiRes::sleep(0.3);

like page('/news/'), qr/^200 news v1/,
     'its index fetch refused: this request keeps the copy';

RedisProxy::hold($proxy, 0);
waitpid $pid, 0;

ok poll_until(5, sub { page('/news/') =~ /^404 / }),
   'Redis answers again: the deleted page is gone';
like page('/news/'), qr/^404 /, 'and stays gone';
is page('/site/'), "200 site\n", 'the other page still there';

nginx_stop($n);
RedisProxy::stop($proxy);
open my $fh, '<', "$n->{dir}/logs/error.log" or die;
my $log = do { local $/; <$fh> };
unlike $log, qr/\[(alert|crit|emerg)\]/, 'no alert';
done_testing();
