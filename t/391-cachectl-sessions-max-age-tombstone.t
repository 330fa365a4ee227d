# A session removed at --session-max-age stays removed. The daemon deletes
# it with the tombstone "sessions revoke" writes: an in-flight request of
# jPulse that ends with its SET (a session it modified) recreates the key,
# and without a tombstone the daemon took it for a new session, first
# seen now, with a whole new lifetime: a client that keeps a modifying
# request in flight kept its session past the absolute limit forever.
# (The session is touched, as jPulse does on every request, so that the
# daemon removes it rather than its TTL, which the daemon cuts to the
# limit, running out.)
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file);
use POSIX ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't391:prod:';
our $Dir = CachectlTest::tmpdir();
our $Sid = 'expire-u9' . 'x' x 23;

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

sub main::set {
    JPulseTest::redis_command($main::Redis, 'SET', "${main::NS}sess:$main::Sid",
        '{"cookie":{"originalMaxAge":3600000,"expires":"'
        . POSIX::strftime('%Y-%m-%dT%H:%M:%S.000Z', gmtime(time + 3600))
        . '","path":"/"},"user":{"id":"u9","username":"eve",'
        . '"isAuthenticated":true}}', 'EX', 3600);
}

sub main::exists {
    return JPulseTest::redis_cli($main::Redis, 'EXISTS',
                                 "${main::NS}sess:$main::Sid") =~ s/\s+//gr;
}

our $Daemon;
our $Result;

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: removed at the age limit with a tombstone (for the limit and
a pass interval); the request in flight saves the session again: the
daemon deletes it as a revoked session that came back, not as a new one
--- pre_request
# the clock starts here, not before nginx's start (slow on a loaded
# machine), first seen 1500 ms ago as by a daemon that ran before: the
# passes come half a second away from the limit, never a few ms before it
# (the walk reaches a session a few ms later or sooner in each pass: a pass
# just before the limit cuts the TTL to those ms, and the session runs out
# instead of being removed)
main::set();
my ($s, $us) = split /\n/, JPulseTest::redis_cli($main::Redis, 'TIME');
JPulseTest::redis_command($main::Redis, 'HSET', "${main::NS}cachectl:sessfirst",
                          $main::Sid, int($s * 1000 + $us / 1000 - 1500) . ' u9');
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't391',
                             views => ["$main::Dir/views"],
                             args => ['--session-max-age', 3,
                                      '--session-pass-interval', 1]);
# connect-redis's touch on every request: the TTL never runs out, the
# daemon removes the session
my $removed = CachectlTest::poll_until(15, sub {
    # over a socket: a forked redis-cli can stall past the cut TTL
    JPulseTest::redis_command($main::Redis, 'EXPIRE',
                              "${main::NS}sess:$main::Sid", 100) =~ /^:0/ });
main::set();
my $stone = JPulseTest::redis_cli($main::Redis, 'ZSCORE',
                "${main::NS}cachectl:revoked", $main::Sid) =~ s/\s+//gr;
my $gone = CachectlTest::poll_until(15, sub { main::exists() eq '0' });
my $log = CachectlTest::daemon_log($main::Daemon);
$main::Result = "removed at the limit: " . ($removed ? 'yes' : 'no') . "\n"
    . "tombstone: " . ($stone =~ /^\d+$/ ? 'yes' : 'none') . "\n"
    . "saved again, deleted again: " . ($gone ? 'yes' : 'no') . "\n"
    . "came back: " . (() = $log =~ /revoked session expire-u9x+\.\.\. came back/g) . "\n"
    . "removed at the limit (log): "
    . (() = $log =~ /session expire-u9x+\.\.\. of user u9 removed: older than 3s/g)
    . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
removed at the limit: yes
tombstone: yes
saved again, deleted again: yes
came back: 1
removed at the limit (log): 1
