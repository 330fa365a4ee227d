# A cachectl killed leaves nothing in /dev/shm. libmongoc (linked for
# "sessions import-mongo") puts its counters in a shared memory segment
# "/mongoc-<pid>" when it is loaded, which only a normal exit removed:
# every daemon killed left one, and a later process given the same pid
# printed "Falling back to malloc for counters" on stderr (t/374 failed
# on CI that way). cachectl removes the name at start.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start daemon_stop write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Dir = CachectlTest::tmpdir();
our $Result;

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a daemon killed with SIGKILL: no /dev/shm/mongoc-<pid> left
--- pre_request
my $d = daemon_start(redis => $main::Redis, site_id => 't399',
                     views => ["$main::Dir/views"]);
my $up = CachectlTest::poll_until(10, sub {
    CachectlTest::daemon_log($d) =~ /published/ });
my $pid = $d->{pid};
daemon_stop($d, signal => 'KILL');
$main::Result = "up: " . ($up ? 'yes' : 'no') . "\n"
    . "segment left: " . (-e "/dev/shm/mongoc-$pid" ? 'yes' : 'no') . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
up: yes
segment left: no
