# cachectl's watches under pressure (issue 11, item 11). Out of inotify
# watches (ENOSPC; here the daemon's own cap, CACHECTL_TEST_MAX_WATCHES,
# for the suites: fs.inotify.max_user_watches is the whole host's) the
# daemon logged once per directory twice per batch. Now it warns once,
# its status says "degraded" with the counts, and it rescans every 5 s
# (even with --rescan 0), so an edit in a directory without a watch
# still goes out. And the daemon's log file inside a watched directory
# made every log line an event, whose batch logged again: now the log
# file is no event.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't354:prod:';
our $Dir = CachectlTest::tmpdir();

$ENV{TEST_NGINX_T354_DIR} = $Dir;

write_file("$Dir/view/d$_/index.shtml", "d$_\n") for 1 .. 20;

sub main::source {
    my ($ns, $path) = @_;
    JPulseTest::redis_cli($main::Redis, 'HGET', "${ns}tpl:$path", 'source')
        =~ s/\s+\z//r;
}

# the inodes the daemon's inotify descriptor watches (its fdinfo)
sub main::watched_inodes {
    my ($d) = @_;
    my %ino;
    for my $f (glob "/proc/$d->{pid}/fdinfo/*") {
        for (split /\n/, CachectlTest::slurp($f)) {
            $ino{hex $1} = 1 if /^inotify wd:\S+ ino:([0-9a-f]+)/;
        }
    }
    return %ino;
}

sub main::degraded {
    local $ENV{CACHECTL_TEST_MAX_WATCHES} = 6;
    my $d = daemon_start(redis => $main::Redis, site_id => 't354',
                         views => ["$main::Dir/view"],
                         args => ['--rescan', 0, '--heartbeat', 1]);
    my $out = '';
    CachectlTest::daemon_wait_log($d, qr/published/, 5);

    # batches in watched directories, a new directory, rescans
    for my $i (1 .. 3) {
        my $mark = CachectlTest::daemon_mark($d);
        write_file("$main::Dir/view/index$i.shtml", "top $i\n");
        CachectlTest::daemon_wait_log($d, qr/published/, 5, $mark);
    }
    write_file("$main::Dir/view/new/index.shtml", "new\n");

    # an edit where no watch is: a degraded rescan finds it
    my %watched = main::watched_inodes($d);
    my ($unwatched) = grep { !$watched{(stat "$main::Dir/view/d$_")[1]} }
                      1 .. 20;
    $out .= "a directory without a watch: "
          . (defined $unwatched ? 'found' : 'none') . "\n";
    $unwatched //= 1;
    write_file("$main::Dir/view/d$unwatched/index.shtml", "edited\n");
    CachectlTest::poll_until(15, sub {
        main::source($main::NS, "d$unwatched/index.shtml") eq 'edited' });
    $out .= "edit without a watch: "
          . main::source($main::NS, "d$unwatched/index.shtml") . "\n";
    $out .= "warnings: " . CachectlTest::daemon_count($d, qr/warn: watch/)
          . "\n";
    my ($warn) = CachectlTest::daemon_log($d) =~ /warn: (watch: .*)$/m;
    $warn //= '(none)';
    $warn =~ s/\d+ directories/N directories/;
    $warn =~ s/"[^"]*"/"DIR"/;
    $out .= "$warn\n";
    my $st = CachectlTest::daemon_status($main::Redis, $main::NS, $d);
    $out .= "status: " . ($st->{state} // '(none)')
          . ", degraded " . ($st->{watches}{degraded} ? 'yes' : 'no')
          . ", unwatched " . (($st->{watches}{unwatched} // 0) > 0
                              ? 'counted' : 'none')
          . ", watched " . ($st->{watches}{watched} // 'none') . "\n";
    CachectlTest::daemon_stop($d);
    write_file("$main::Dir/result1.txt", $out);
}

sub main::own_log {
    my $ns = 't354b:prod:';
    write_file("$main::Dir/site/view/home.shtml", "home\n");
    my $d = daemon_start(redis => $main::Redis, site_id => 't354b',
                         views => ["$main::Dir/site/view"],
                         log => "$main::Dir/site/view/cachectl.log",
                         args => ['--rescan', 0, '--heartbeat', 1]);
    CachectlTest::daemon_wait_log($d, qr/published/, 5);
    Time::HiRes::sleep(3);
    my $n = CachectlTest::daemon_count($d, qr/published/);
    my $out = "batches in 3 s: " . ($n <= 2 ? 'one or two' : $n) . "\n";
    write_file("$main::Dir/site/view/home.shtml", "home v2\n");
    CachectlTest::poll_until(5, sub {
        main::source($ns, 'home.shtml') eq 'home v2' });
    $out .= "an edit: " . main::source($ns, 'home.shtml') . "\n";
    CachectlTest::daemon_stop($d);
    write_file("$main::Dir/result2.txt", $out);
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: out of watches: one warning, "degraded" in status, an edit
without a watch found by the shorter rescans (--rescan 0)
--- config
    location = /result { alias $TEST_NGINX_T354_DIR/result1.txt; }
--- pre_request
main::degraded();
--- request
GET /result
--- response_body
a directory without a watch: found
edit without a watch: edited
warnings: 1
watch: N directories not watched, the first "DIR": No space left on device (raise fs.inotify.max_user_watches); degraded: shorter rescans find their changes
status: degraded, degraded yes, unwatched counted, watched 6
--- timeout: 40



=== TEST 2: the daemon's log file in a watched directory starts no batch
--- config
    location = /result { alias $TEST_NGINX_T354_DIR/result2.txt; }
--- pre_request
main::own_log();
--- request
GET /result
--- response_body
batches in 3 s: one or two
an edit: home v2
