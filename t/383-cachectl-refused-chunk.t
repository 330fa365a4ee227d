# A batch goes out in transactions of at most --batch-bytes. One key that
# refuses its write (a tpl: key someone made a string: WRONGTYPE) is a
# data error of that file: the other writes of its transaction count, and
# the batch is retried later. But when the refusal came in a transaction
# that was not the last, the batch stopped there: every file after it
# (in the table's order) was never sent, at this try or any later one, as
# long as the bad key stayed. A refused write no longer stops the batch;
# only a transaction Redis discarded whole (EXECABORT, OOM) does.
#
# A private redis-server, namespace "t383:prod:"; --batch-bytes 1 makes
# every write its own transaction.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file daemon_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't383:prod:';
our $Dir = CachectlTest::tmpdir();
our ($Result, $Daemon);
our @Bad = map { sprintf 'p%02d.shtml', $_ } 3, 7, 11, 15, 19;
our @Good = grep { my $p = $_; !grep { $_ eq $p } @Bad }
            map { sprintf 'p%02d.shtml', $_ } 1 .. 20;

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }

sub main::good {
    my ($v) = @_;
    return scalar grep {
        main::rcli('HGET', "${main::NS}tpl:$_", 'source') eq "$_ $v"
    } @Good;
}

write_file("$Dir/view/$_", "$_ v1") for @Good, @Bad;

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: five tpl: keys of the wrong type: the fifteen others go out
--- pre_request
main::rcli('SET', "${main::NS}tpl:$_", 'not a hash') for @main::Bad;
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't383',
                             views => ["$main::Dir/view"],
                             args => ['--rescan', 0, '--batch-bytes', 1]);
CachectlTest::poll_until(10, sub { main::good('v1') == @main::Good }, 0.05);
$main::Result = "published: " . main::good('v1') . " of "
    . scalar(@main::Good) . "\n"
    . "bad ones indexed: " . scalar(grep {
        main::rcli('HEXISTS', "${main::NS}tplindex", $_) } @main::Bad) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
published: 15 of 15
bad ones indexed: 0



=== TEST 2: an edit of every file: the good ones go out again
--- pre_request
write_file("$main::Dir/view/$_", "$_ v2") for @main::Good, @main::Bad;
CachectlTest::poll_until(10, sub { main::good('v2') == @main::Good }, 0.05);
$main::Result = "published: " . main::good('v2') . " of "
    . scalar(@main::Good) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
published: 15 of 15



=== TEST 3: the bad keys fixed: they go out at a retry
--- pre_request
main::rcli('DEL', map { "${main::NS}tpl:$_" } @main::Bad);
CachectlTest::poll_until(15, sub {
    5 == grep { main::rcli('HGET', "${main::NS}tpl:$_", 'source')
                eq "$_ v2" } @main::Bad }, 0.05);
$main::Result = "published: " . scalar(grep {
    main::rcli('HGET', "${main::NS}tpl:$_", 'source') eq "$_ v2"
} @main::Bad) . " of 5\n";
CachectlTest::daemon_stop($main::Daemon);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
published: 5 of 5
