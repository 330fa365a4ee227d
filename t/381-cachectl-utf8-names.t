# A file name that is not UTF-8 ("caf\xe9.shtml" from an old Latin-1
# archive, or planted) cannot be a key of the publisher's JSON tables:
# adding it failed, the walk took that for "out of memory" and stopped
# right there, so nothing after it in the walk (here: every subdirectory)
# was ever published, and the status blamed memory. Such a name is skipped
# now, and said once; and a log line quoting bytes that are not UTF-8
# escapes them (\xNN) like control characters: the journal keeps a line
# that is not UTF-8 as a blob that journalctl does not show.
#
# A private redis-server, namespace "t381:prod:".
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file daemon_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't381:prod:';
our $Dir = CachectlTest::tmpdir();
our ($Result, $Daemon);

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }

write_file("$Dir/view/caf\xe9.shtml", "latin-1 name");
write_file("$Dir/view/sub$_/page.shtml", "page $_") for 1 .. 5;
write_file("$Dir/view/caf\xc3\xa9.shtml", "utf-8 name");

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: everything else is published, the walk is complete
--- pre_request
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't381',
                             views => ["$main::Dir/view"],
                             args => ['--rescan', 0, '--heartbeat', 1]);
my $want = join ',', "caf\xc3\xa9.shtml", map { "sub$_/page.shtml" } 1 .. 5;
my $got = sub {
    join ',', sort keys %{ CachectlTest::tpl_index($main::Redis,
                                                   $main::NS) } };
CachectlTest::poll_until(10, sub { $got->() eq $want }, 0.05);
my $st;
CachectlTest::poll_until(10, sub {
    my ($k) = grep { /cachectl:status:/ } split /\n/,
        JPulseTest::redis_cli($main::Redis, '--scan', '--pattern',
                              "${main::NS}cachectl:status:*");
    $st = $k && CachectlTest::json_decode(main::rcli('GET', $k));
    $st && $st->{publisher} && $st->{publisher}{batches};
}, 0.05);
$main::Result = ($got->() eq $want ? "published\n" : "got " . $got->() . "\n")
    . "walk: " . ($st ? $st->{publisher}{walk} : '?') . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
published
walk: complete



=== TEST 2: the name is said once, escaped; the log is UTF-8
--- pre_request
write_file("$main::Dir/view/sub1/page.shtml", "page 1 v2");
CachectlTest::poll_until(10, sub {
    main::rcli('HGET', "${main::NS}tpl:sub1/page.shtml", 'source')
        eq 'page 1 v2' }, 0.05);
CachectlTest::daemon_stop($main::Daemon);
my $log = CachectlTest::daemon_log($main::Daemon);
my $utf8 = $log;
$main::Result = "said: "
    . scalar(() = $log =~ /caf\\xe9\.shtml/g) . "\n"
    . "utf-8: " . (utf8::decode($utf8) ? "yes" : "no") . "\n"
    . "out of memory: " . scalar(() = $log =~ /out of memory/g) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
said: 1
utf-8: yes
out of memory: 0
