# A translation or config file is read with a plain open(): a FIFO named
# like one (de.json, or a link to a FIFO anywhere) blocked that open() for
# good, and with it the one loop: no view was ever published, no
# heartbeat went out. A file that is not a regular one is not read.
#
# A private redis-server, namespace "t380:prod:".
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file daemon_start);
use POSIX ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't380:prod:';
our $Dir = CachectlTest::tmpdir();
our ($Result, $Daemon);

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }

write_file("$Dir/view/page.shtml", "page v1");
write_file("$Dir/i18n/en.json", '{"hello":"Hello"}');
POSIX::mkfifo("$Dir/i18n/de.json", 0644) or die "mkfifo: $!";
POSIX::mkfifo("$Dir/fifo", 0644) or die "mkfifo: $!";
symlink "$Dir/fifo", "$Dir/i18n/fr.json" or die "symlink: $!";
write_file("$Dir/conf/app.conf", '{"a":1}');

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: FIFOs among the translations: the views and en go out
--- pre_request
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't380',
                             views => ["$main::Dir/view"],
                             args => ['--i18n', "$main::Dir/i18n",
                                      '--rescan', 0]);
CachectlTest::poll_until(10, sub {
    main::rcli('HGET', "${main::NS}tpl:page.shtml", 'source') eq 'page v1'
}, 0.05);
$main::Result = join '', map { "$_\n" }
    main::rcli('HGET', "${main::NS}tpl:page.shtml", 'source'),
    main::rcli('GET', "${main::NS}i18n:en"),
    main::rcli('EXISTS', "${main::NS}i18n:de"),
    main::rcli('EXISTS', "${main::NS}i18n:fr");
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
page v1
{"hello":"Hello"}
0
0



=== TEST 2: still one loop: an edit goes out, SIGTERM stops it
--- pre_request
write_file("$main::Dir/view/page.shtml", "page v2");
CachectlTest::poll_until(10, sub {
    main::rcli('HGET', "${main::NS}tpl:page.shtml", 'source') eq 'page v2'
}, 0.05);
my $r = CachectlTest::daemon_stop($main::Daemon, timeout => 5);
$main::Result = main::rcli('HGET', "${main::NS}tpl:page.shtml", 'source')
    . "\n" . (CachectlTest::daemon_log($main::Daemon) =~ /stopped$/m
              ? "stopped\n" : "not stopped\n");
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
page v2
stopped



=== TEST 3: an app config that is a FIFO: refused, the views go out
--- pre_request
my $r = $main::Redis;
JPulseTest::redis_cli($r, 'DEL', "${main::NS}tpl:page.shtml",
                      "${main::NS}tplindex");
unlink "$main::Dir/conf/app.conf";
POSIX::mkfifo("$main::Dir/conf/app.conf", 0644) or die "mkfifo: $!";
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't380',
                             views => ["$main::Dir/view"],
                             args => ['--app-config',
                                      "$main::Dir/conf/app.conf",
                                      '--rescan', 0]);
CachectlTest::poll_until(10, sub {
    main::rcli('HGET', "${main::NS}tpl:page.shtml", 'source') eq 'page v2'
}, 0.05);
$main::Result = main::rcli('HGET', "${main::NS}tpl:page.shtml", 'source')
    . "\n" . (CachectlTest::daemon_log($main::Daemon)
              =~ m{app\.conf: not a regular file; the config in Redis stays}
              ? "said\n" : "not said\n");
CachectlTest::daemon_stop($main::Daemon, timeout => 5);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
page v2
said
