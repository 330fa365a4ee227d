# With --deploy-marker, changes wait until the marker changes. Its removal
# counted as a change: a deploy that takes the marker away as it starts
# ("rm DEPLOYED; rsync ...; touch DEPLOYED", the usual ready flag) opened
# the way at its first step, and the half-copied tree went live a settle
# time later. A marker that went away opens nothing now; its return does.
#
# A private redis-server, namespace "t385:prod:".
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file remove_file daemon_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't385:prod:';
our $Dir = CachectlTest::tmpdir();
our $Marker = "$Dir/DEPLOYED";
our ($Result, $Daemon);

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }
sub main::page { main::rcli('HGET', "${main::NS}tpl:page.shtml", 'source') }

write_file("$Dir/view/page.shtml", "page v1");
write_file($Marker, "release 1\n");

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the deploy removes the marker, then copies: nothing goes out
--- pre_request
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't385',
                             views => ["$main::Dir/view"],
                             args => ['--rescan', 0, '--heartbeat', 1,
                                      '--deploy-marker', $main::Marker]);
CachectlTest::poll_until(10, sub { main::page() eq 'page v1' }, 0.05);
remove_file($main::Marker);
write_file("$main::Dir/view/page.shtml", "page half");
Time::HiRes::sleep(2.5);
$main::Result = main::page() . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
page v1



=== TEST 2: the marker is back: the release goes out
--- pre_request
write_file("$main::Dir/view/page.shtml", "page v2");
write_file($main::Marker, "release 2\n");
CachectlTest::poll_until(10, sub { main::page() eq 'page v2' }, 0.05);
$main::Result = main::page() . "\n";
CachectlTest::daemon_stop($main::Daemon);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
page v2
