# A batch of the daemon walks only the directories that had events. Such a
# partial walk that runs into the file limit (lowered for the test by
# CACHECTL_TEST_FILES_MAX) is an incomplete walk like a full one: the log
# says so at once and status shows it; the new file is published (a
# partial walk may fill the file table to twice the limit, t/387), nothing
# is deleted. It used to stay silent, and publish nothing, until the next
# full rescan (never, with --rescan 0).
#
# A private redis-server; the daemon under the test's own namespace.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Dir = CachectlTest::tmpdir();
our $Result;

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: one file more than the limit, seen by a partial walk: said
at once, status shows it, the file published
--- pre_request
my $v = "$main::Dir/v";
write_file("$v/a/p$_.shtml", "<p>$_</p>\n") for 1 .. 5;
my $d = do {
    local $ENV{CACHECTL_TEST_FILES_MAX} = 5;
    daemon_start(redis => $main::Redis, site_id => 't346', views => [$v],
                 args => ['--rescan', 0, '--heartbeat', 1]);
};
my $ns = 't346:prod:';
JPulseTest::poll_until(10, sub {
    keys %{ CachectlTest::tpl_index($main::Redis, $ns) } == 5 });
my $mark = CachectlTest::daemon_mark($d);
write_file("$v/a/p6.shtml", "<p>6</p>\n");
my $said = CachectlTest::daemon_wait_log($d, qr/walk incomplete/, 10,
                                         $mark);
my $walk = '(not)';
JPulseTest::poll_until(10, sub {
    my $s = CachectlTest::daemon_status($main::Redis, $ns, $d);
    $walk = $s->{publisher}{walk} // '(not)';
    $walk eq 'incomplete' });
$main::Result = "said: " . ($said ? "yes" : "no") . "\n"
    . "status walk: $walk\n"
    . "index: " . scalar(keys %{ CachectlTest::tpl_index($main::Redis, $ns)
                            }) . "\n";
CachectlTest::daemon_stop($d);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
said: yes
status walk: incomplete
index: 6
