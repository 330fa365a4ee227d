# What <ns>tplindex holds is read back at every full walk (to repair what
# another writer did), and anyone who can write to Redis can put anything
# there. A field whose name is not UTF-8 could not become a key of the
# publisher's file table: the load failed as "out of memory", the batch
# was refused, and it was refused again at every retry: one HSET wedged
# publishing for good. Such a field names no file we could publish: it is
# passed over now, and the tree goes out.
#
# A private redis-server, namespace "t382:prod:".
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file daemon_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't382:prod:';
our $Dir = CachectlTest::tmpdir();
our ($Result, $Daemon);

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }

write_file("$Dir/view/page.shtml", "page v1");

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a field name that is not UTF-8 in the index: the tree goes out
--- pre_request
main::rcli('HSET', "${main::NS}tplindex", "junk\xff\xfe.shtml", "1:x",
           "other.shtml", "nonsense");
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't382',
                             views => ["$main::Dir/view"],
                             args => ['--rescan', 0, '--heartbeat', 1]);
CachectlTest::poll_until(10, sub {
    main::rcli('HGET', "${main::NS}tpl:page.shtml", 'source') eq 'page v1'
}, 0.05);
my $st = {};
CachectlTest::poll_until(10, sub {
    $st = CachectlTest::daemon_status($main::Redis, $main::NS,
                                      $main::Daemon);
    ($st->{publisher}{batches} // 0) > 0 }, 0.05);
$main::Result = main::rcli('HGET', "${main::NS}tpl:page.shtml", 'source')
    . "\nstate: " . ($st->{state} // '(none)') . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
page v1
state: ok



=== TEST 2: an edit goes out too; no "out of memory" in the log
--- pre_request
write_file("$main::Dir/view/page.shtml", "page v2");
CachectlTest::poll_until(10, sub {
    main::rcli('HGET', "${main::NS}tpl:page.shtml", 'source') eq 'page v2'
}, 0.05);
CachectlTest::daemon_stop($main::Daemon);
$main::Result = main::rcli('HGET', "${main::NS}tpl:page.shtml", 'source')
    . "\nout of memory: " . scalar(() = CachectlTest::daemon_log(
        $main::Daemon) =~ /out of memory/g) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
page v2
out of memory: 0
