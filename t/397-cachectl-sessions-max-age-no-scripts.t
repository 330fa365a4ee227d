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

JPulseTest::redis_command($Redis, 'SET', "${NS}sess:$Sid",
    '{"cookie":{"path":"/"},"user":{"id":"u9"}}', 'EX', 3600);

# the default user (the daemon's) may not run scripts
redis_cli($Redis, 'ACL', 'SETUSER', 'default', '-eval', '-evalsha');

our $Daemon = daemon_start(redis => $Redis, site_id => 't397',
                           views => ["$Dir/views"],
                           args => ['--session-max-age', 2,
                                    '--session-pass-interval', 1]);

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
my $removed = CachectlTest::poll_until(15, sub {
    JPulseTest::redis_cli($main::Redis, 'EXPIRE', "${main::NS}sess:$main::Sid",
                          100) =~ /^0/ });
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
