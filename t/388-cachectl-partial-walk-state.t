# What status and the log say of the walk. A full walk that was cut short
# (more files than the limit) is "incomplete", and its deletions are
# held; but the next batch of events, a partial walk that went well,
# declared the walk "complete again" (log and status), and the next full
# walk said "incomplete" again: a log that flaps and a status that lies.
# And a partial walk that failed (a new tree deeper than the walk goes)
# held its deletions without a word in the log, status saying "complete".
# A partial walk says now what it saw go wrong, and only a full walk says
# the tree is complete.
#
# A private redis-server, namespace "t388:prod:".
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file daemon_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't388:prod:';
our $Dir = CachectlTest::tmpdir();
our ($Result, $Daemon);

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }
sub main::walk {
    my ($d) = @_;
    my $st = CachectlTest::daemon_status($main::Redis, $main::NS, $d);
    return $st->{publisher}{walk} // '?';
}

write_file("$Dir/big/many/f$_.shtml", "f$_") for 1 .. 8;
write_file("$Dir/small/page.shtml", "page");

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: over the limit: incomplete, and still so after a good batch
--- pre_request
$main::Daemon = do {
    local $ENV{CACHECTL_TEST_FILES_MAX} = 5;
    daemon_start(redis => $main::Redis, site_id => 't388',
                 views => ["$main::Dir/big"],
                 args => ['--rescan', 0, '--heartbeat', 1]);
};
CachectlTest::daemon_wait_log($main::Daemon, qr/walk incomplete/, 10);
write_file("$main::Dir/big/new/n.shtml", "new");
CachectlTest::poll_until(10, sub {
    main::rcli('HGET', "${main::NS}tpl:new/n.shtml", 'source') eq 'new' },
    0.05);
Time::HiRes::sleep(1.5);
$main::Result = "new: " . main::rcli('HGET', "${main::NS}tpl:new/n.shtml",
                                     'source')
    . "\nstatus: " . main::walk($main::Daemon)
    . "\ncomplete again: " . CachectlTest::daemon_count($main::Daemon,
                                 qr/walk complete again/) . "\n";
CachectlTest::daemon_stop($main::Daemon);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
new: new
status: incomplete
complete again: 0



=== TEST 2: a partial walk that fails says so
--- pre_request
$main::NS = 't388b:prod:';
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't388b',
                             views => ["$main::Dir/small"],
                             args => ['--rescan', 0, '--heartbeat', 1]);
CachectlTest::poll_until(10, sub {
    main::rcli('EXISTS', "${main::NS}tpl:page.shtml") }, 0.05);
my $deep = join '/', map { "d$_" } 1 .. 34;
write_file("$main::Dir/small/$deep/deep.shtml", "deep");
CachectlTest::daemon_wait_log($main::Daemon, qr/walk incomplete/, 10);
Time::HiRes::sleep(1.5);
$main::Result = "said: " . CachectlTest::daemon_count($main::Daemon,
                               qr/walk incomplete \(.*deeper than/)
    . "\nstatus: " . main::walk($main::Daemon) . "\n";
CachectlTest::daemon_stop($main::Daemon);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
said: 1
status: incomplete
