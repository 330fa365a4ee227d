# The walk reads a session alive past --session-max-age and removes it
# with the revoke script a round trip later. The TTL the daemon cut to
# that limit can run out in between (a loaded machine makes the round trip
# long): the script found no session, wrote no tombstone, and the first-
# seen record went with the plain HDEL after it. A request in flight that
# then saved the session gave it a whole new life: t/391 and t/394 failed
# now and then on CI this way. The walk's script now leaves a tombstone
# when the session is already gone.
#
# Deterministic here: cachectl talks to Redis through RedisProxy, which
# holds the replies of the walk's read of the session while the test
# deletes the session, as its TTL running out would.
use lib 't/lib';
use JPulseTest qw(redis_start redis_cli);
use CachectlTest qw(daemon_start write_file);
use RedisProxy ();
use POSIX ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis);
our $NS = 't398:prod:';
our $Dir = CachectlTest::tmpdir();
our $Sid = 'race-u9' . 'x' x 25;
our ($Daemon, $Result);

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

sub main::set {
    JPulseTest::redis_command($main::Redis, 'SET', "${main::NS}sess:$main::Sid",
        '{"cookie":{"originalMaxAge":3600000,"expires":"'
        . POSIX::strftime('%Y-%m-%dT%H:%M:%S.000Z', gmtime(time + 3600))
        . '","path":"/"},"user":{"id":"u9","username":"eve",'
        . '"isAuthenticated":true}}', 'EX', 3600);
}

sub main::exists {
    return redis_cli($main::Redis, 'EXISTS',
                     "${main::NS}sess:$main::Sid") =~ s/\s+//gr;
}

sub main::calls {
    my ($cmd) = @_;
    return redis_cli($main::Redis, 'INFO', 'commandstats')
           =~ /^cmdstat_$cmd:calls=(\d+)/m ? $1 : 0;
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: first seen 10 s ago with a limit of 3 s: the walk reads it
alive, its TTL runs out before the removal: a tombstone all the same;
saved again by a request in flight, it is deleted as a revoked session
that came back
--- pre_request
main::set();
my ($s) = split /\n/, redis_cli($main::Redis, 'TIME');
JPulseTest::redis_command($main::Redis, 'HSET', "${main::NS}cachectl:sessfirst",
                          $main::Sid, ($s - 10) * 1000 . ' u9');
# the replies to the walk's GET, PTTL and HGET of the session are held
RedisProxy::hold($main::Proxy, "sess:$main::Sid");
$main::Daemon = daemon_start(redis_addr => "127.0.0.1:$main::Proxy->{port}",
                             site_id => 't398', views => ["$main::Dir/views"],
                             args => ['--session-max-age', 3,
                                      '--session-pass-interval', 1]);
my $read = CachectlTest::poll_until(10, sub { main::calls('pttl') > 0 });
JPulseTest::redis_command($main::Redis, 'DEL', "${main::NS}sess:$main::Sid");
RedisProxy::hold($main::Proxy, 0);
my $dropped = CachectlTest::poll_until(10, sub {
    redis_cli($main::Redis, 'HEXISTS', "${main::NS}cachectl:sessfirst",
              $main::Sid) =~ /^0/ });
my $stone = redis_cli($main::Redis, 'ZSCORE', "${main::NS}cachectl:revoked",
                      $main::Sid) =~ s/\s+//gr;
main::set();
my $gone = CachectlTest::poll_until(10, sub { main::exists() eq '0' });
my $log = CachectlTest::daemon_log($main::Daemon);
$main::Result = "read by the walk: " . ($read ? 'yes' : 'no') . "\n"
    . "record dropped: " . ($dropped ? 'yes' : 'no') . "\n"
    . "tombstone: " . ($stone =~ /^\d+$/ ? 'yes' : 'none') . "\n"
    . "saved again, deleted again: " . ($gone ? 'yes' : 'no') . "\n"
    . "came back: " . (() = $log =~ /revoked session race-u9x+\.\.\. came back/g)
    . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
read by the walk: yes
record dropped: yes
tombstone: yes
saved again, deleted again: yes
came back: 1
