# "cachectl daemon --dry-run" is refused (exit 2), as "invalidate
# --dry-run" is. The daemon used to accept the flag: it published no page
# (yet logged "published 1 view"), but took the publisher's lease, so that
# the real daemon stood by, and ran the session upkeep for real: a session
# past the age limit was deleted. A dry run must change nothing.
use lib 't/lib';
use JPulseTest qw(redis_start redis_cli);
use CachectlTest qw(write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't393:prod:';
our $Dir = CachectlTest::tmpdir();
our $Result;

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

# a session first seen long ago: past any age limit
JPulseTest::redis_command($Redis, 'SET', "${NS}sess:" . 'o' x 32,
                          '{"user":{"id":"u1"}}', 'EX', 3600);
JPulseTest::redis_command($Redis, 'HSET', "${NS}cachectl:sessfirst", 'o' x 32,
                          '1000 u1');

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: daemon --dry-run: exit 2 at once, said; the session, the lease
and the tree as they were
--- pre_request
my ($rc, $out, $err) = CachectlTest::cachectl({ timeout => 4 },
    '--redis', "127.0.0.1:$main::Redis->{port}", '--site-id', 't393',
    '--views', "$main::Dir/views", 'daemon', '--dry-run');
$main::Result = "exit $rc\n"
    . ($err =~ /no --dry-run/ ? "refused\n" : "stderr: $err")
    . "session: " . redis_cli($main::Redis, 'EXISTS', "${main::NS}sess:" . 'o' x 32)
    . "lease: " . redis_cli($main::Redis, 'EXISTS', "${main::NS}cachectl:lease");
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 2
refused
session: 1
lease: 0
