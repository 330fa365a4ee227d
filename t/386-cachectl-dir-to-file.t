# A directory replaced by a file of the same name (rm -rf a/sub; a file
# a/sub): the batch walks the directories of its events, a/ and a/sub,
# and opendir("a/sub") now fails with ENOTDIR. That was taken for an
# unreadable directory: the walk was incomplete and the deletion of the
# pages that were under a/sub/ was held, silently (a partial walk keeps
# the walk "complete"), until a full walk (never, with --rescan 0). A
# directory that is no longer one is as gone as one that is not there.
#
# A private redis-server, namespace "t386:prod:".
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file daemon_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't386:prod:';
our $Dir = CachectlTest::tmpdir();
our ($Result, $Daemon);

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }
sub main::index {
    join(' ', sort keys %{ CachectlTest::tpl_index($main::Redis,
                                                   $main::NS) }) . "\n";
}

write_file("$Dir/view/a/other.shtml", "other");
write_file("$Dir/view/a/sub/x.shtml", "x");
write_file("$Dir/view/a/sub/y.shtml", "y");
write_file("$Dir/view/b/keep.shtml", "keep");

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the start
--- pre_request
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't386',
                             views => ["$main::Dir/view"],
                             args => ['--rescan', 0, '--heartbeat', 1]);
my $want = "a/other.shtml a/sub/x.shtml a/sub/y.shtml b/keep.shtml\n";
CachectlTest::poll_until(10, sub { main::index() eq $want }, 0.05);
$main::Result = main::index();
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
a/other.shtml a/sub/x.shtml a/sub/y.shtml b/keep.shtml



=== TEST 2: a/sub becomes a file: its pages go, the file comes
--- pre_request
system('rm', '-rf', "$main::Dir/view/a/sub");
write_file("$main::Dir/view/a/sub", "now a file");
my $want = "a/other.shtml a/sub b/keep.shtml\n";
CachectlTest::poll_until(10, sub { main::index() eq $want }, 0.05);
my $st = {};
CachectlTest::poll_until(5, sub {
    $st = CachectlTest::daemon_status($main::Redis, $main::NS,
                                      $main::Daemon);
    defined $st->{publisher} && !$st->{publisher}{held} }, 0.05);
$main::Result = main::index() . "held: "
    . ($st->{publisher}{held} // '?') . "\n";
CachectlTest::daemon_stop($main::Daemon);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
a/other.shtml a/sub b/keep.shtml
held: 0
