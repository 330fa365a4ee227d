# The age limit holds on a Redis that refuses scripts (an ACL without
# EVAL, as some managed Redis services give): the daemon removes a session
# at --session-max-age with the revoke script (a tombstone, t/391) and,
# after it, the plain DEL, HDEL and SREM it used before, which are no-ops
# when the script ran. With the script alone, a refused EVAL left the
# session alive past the limit.
use lib 't/lib';
use JPulseTest qw(redis_start redis_cli);
use CachectlTest qw(daemon_start write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't397:prod:';
our $Dir = CachectlTest::tmpdir();
our $Sid = 'noeval-u9' . 'x' x 23;
our $Result;

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

# the default user (the daemon's) may not run scripts
redis_cli($Redis, 'ACL', 'SETUSER', 'default', '-eval', '-evalsha');

our $Daemon;

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: touched on every request (its TTL never runs out): removed at
the limit all the same, its first-seen record and index entry with it
--- pre_request
# the clock starts here, not before nginx's start (slow on a loaded
# machine), first seen 500 ms ago as by a daemon that ran before: the
# passes come half a second away from the limit, never a few ms before it
# (the walk reaches a session a few ms later or sooner in each pass: a pass
# just before the limit cuts the TTL to those ms, and the session runs out
# instead of being removed)
JPulseTest::redis_command($main::Redis, 'SET', "${main::NS}sess:$main::Sid",
    '{"cookie":{"path":"/"},"user":{"id":"u9"}}', 'EX', 3600);
my ($s, $us) = split /\n/, JPulseTest::redis_cli($main::Redis, 'TIME');
JPulseTest::redis_command($main::Redis, 'HSET', "${main::NS}cachectl:sessfirst",
                          $main::Sid, int($s * 1000 + $us / 1000 - 500) . ' u9');
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't397',
                             views => ["$main::Dir/views"],
                             args => ['--session-max-age', 2,
                                      '--session-pass-interval', 1]);
my $removed = CachectlTest::poll_until(15, sub {
    # over a socket: a forked redis-cli can stall past the cut TTL
    JPulseTest::redis_command($main::Redis, 'EXPIRE',
                              "${main::NS}sess:$main::Sid", 100) =~ /^:0/ });
$main::Result = "removed at the limit: " . ($removed ? 'yes' : 'no') . "\n"
    . "record: " . redis_cli($main::Redis, 'HEXISTS', "${main::NS}cachectl:sessfirst",
                             $main::Sid)
    . "index: " . redis_cli($main::Redis, 'SCARD', "${main::NS}sessidx:u9")
    . "log: " . (CachectlTest::daemon_log($main::Daemon)
                 =~ /session noeval-u9x+\.\.\. of user u9 removed: older than 2s/
                 ? "removed, said\n" : "nothing\n");
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
removed at the limit: yes
record: 0
index: 0
log: removed, said
