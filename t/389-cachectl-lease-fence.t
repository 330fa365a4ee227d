# A holder that loses the lease in the middle of a batch stops writing at
# its next transaction. The lease is checked before a batch, but a batch
# split into many transactions (--batch-bytes), or a loop held past the
# lease's TTL (a long walk, a slow Redis, SIGSTOP), can outlive it: a
# standby has taken over meanwhile, and two daemons would write at once.
# Each transaction now WATCHes the lease and checks it is still ours.
#
# Here the lease is taken from the daemon (as a standby would once it ran
# out) while it publishes 3,000 files one transaction each.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't389:prod:';
our $Dir = CachectlTest::tmpdir();
our $Files = 3000;
our $Result;

write_file("$Dir/v/d" . int($_ / 100) . "/p$_.shtml", "<p>$_</p>\n")
    for 1 .. $Files;

sub main::redis { JPulseTest::redis_cli($main::Redis, @_) =~ s/\s+\z//r }

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the lease taken away mid-batch: the daemon stops writing at
its next transaction and says why
--- pre_request
my $d = daemon_start(redis => $main::Redis, site_id => 't389',
                     views => ["$main::Dir/v"],
                     args => ['--rescan', 0, '--heartbeat', 30,
                              '--batch-bytes', 1]);
JPulseTest::poll_until(20, sub {
    main::redis('HLEN', "${main::NS}tplindex") > 0 }, 0.002);
main::redis('SET', "${main::NS}cachectl:lease", 'intruder');
my $said = CachectlTest::daemon_wait_log($d,
    qr/the lease is no longer ours/, 20);
Time::HiRes::sleep(1);
my $n = main::redis('HLEN', "${main::NS}tplindex");
$main::Result = "said: " . ($said ? 'yes' : 'no') . "\n"
    . "stopped early: " . ($n < $main::Files ? 'yes' : "no ($n)") . "\n"
    . "lease: " . main::redis('GET', "${main::NS}cachectl:lease") . "\n";
CachectlTest::daemon_stop($d);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
said: yes
stopped early: yes
lease: intruder
