# A partial walk (a batch of events) may not grow the file table past the
# file limit: it compared the table's size with --files-max, and the table
# still holds the files whose deletion is held (more than
# --max-delete-share of the tree) and those gone in this very batch. A
# release that renames most of its files (rm old/*; cp new/*) then hit
# the limit with a tree well under it: the walk stopped at the first new
# file over it, the rest of the new release and every change after it in
# the walk were not published (until a full walk: never, with --rescan 0).
# A partial walk may now hold up to twice the limit, what a full walk's
# table (the files it found plus those it did not see) may hold; the full
# walk still counts the tree itself.
#
# A private redis-server, namespace "t387:prod:"; the limit is lowered to
# 10 files (CACHECTL_TEST_FILES_MAX).
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file remove_file daemon_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't387:prod:';
our $Dir = CachectlTest::tmpdir();
our ($Result, $Daemon);

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }
sub main::index {
    join(' ', sort keys %{ CachectlTest::tpl_index($main::Redis,
                                                   $main::NS) }) . "\n";
}

write_file("$Dir/view/a$_.shtml", "a$_") for 1 .. 6;
write_file("$Dir/view/keep/k.shtml", "k v1");

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the start: 7 files under the limit of 10
--- pre_request
$main::Daemon = do {
    local $ENV{CACHECTL_TEST_FILES_MAX} = 10;
    daemon_start(redis => $main::Redis, site_id => 't387',
                 views => ["$main::Dir/view"],
                 args => ['--rescan', 0, '--heartbeat', 1]);
};
my $want = join(' ', (map { "a$_.shtml" } 1 .. 6), 'keep/k.shtml') . "\n";
CachectlTest::poll_until(10, sub { main::index() eq $want }, 0.05);
$main::Result = main::index();
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
a1.shtml a2.shtml a3.shtml a4.shtml a5.shtml a6.shtml keep/k.shtml



=== TEST 2: a release renames five files (their deletion held): the new
ones go out
--- pre_request
remove_file("$main::Dir/view/a$_.shtml") for 1 .. 5;
write_file("$main::Dir/view/b$_.shtml", "b$_") for 1 .. 5;
my $want = join(' ', (map { "a$_.shtml" } 1 .. 6),
                (map { "b$_.shtml" } 1 .. 5), 'keep/k.shtml') . "\n";
CachectlTest::poll_until(10, sub { main::index() eq $want }, 0.05);
my $st = {};
CachectlTest::poll_until(5, sub {
    $st = CachectlTest::daemon_status($main::Redis, $main::NS,
                                      $main::Daemon);
    ($st->{publisher}{held} // 0) == 5 }, 0.05);
$main::Result = main::index() . "held: " . ($st->{publisher}{held} // '?')
    . "\nwalk: " . ($st->{publisher}{walk} // '?') . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
a1.shtml a2.shtml a3.shtml a4.shtml a5.shtml a6.shtml b1.shtml b2.shtml b3.shtml b4.shtml b5.shtml keep/k.shtml
held: 5
walk: complete



=== TEST 3: an edit goes out; the log says no walk was cut short
--- pre_request
write_file("$main::Dir/view/keep/k.shtml", "k v2");
CachectlTest::poll_until(10, sub {
    main::rcli('HGET', "${main::NS}tpl:keep/k.shtml", 'source') eq 'k v2'
}, 0.05);
CachectlTest::daemon_stop($main::Daemon);
$main::Result = main::rcli('HGET', "${main::NS}tpl:keep/k.shtml", 'source')
    . "\nmore than: " . scalar(() = CachectlTest::daemon_log($main::Daemon)
                               =~ /more than 10 files/g) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
k v2
more than: 0
