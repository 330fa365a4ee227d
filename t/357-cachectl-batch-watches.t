# A batch costs what changed (issue 11, item 16, the daemon's half): every
# batch used to re-watch the whole tree (an inotify_add_watch per
# directory). Now a batch adds watches only for the directories that
# appeared (from their IN_CREATE) and drops those of the directories that
# went (IN_IGNORED); the full pass runs at start, at rescans, on SIGHUP
# and on a queue overflow only. An LD_PRELOAD library built by this test
# counts the daemon's inotify_add_watch calls; /proc/PID/fdinfo lists its
# watches.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file remove_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't357:prod:';
our $Dir = CachectlTest::tmpdir();

$ENV{TEST_NGINX_T357_DIR} = $Dir;

write_file("$Dir/view/d$_/e$_/index.shtml", "d$_\n") for 1 .. 15;

our $Calls = "$Dir/watch-calls";
our $Shim = CachectlTest::cc_shim('countwatch', <<'C');
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* one line per call: the path, appended to $COUNTWATCH_FILE */
int
inotify_add_watch(int fd, const char *path, uint32_t mask)
{
    int          out;
    const char  *f;
    static int (*real)(int, const char *, uint32_t);

    if (real == NULL) {
        real = (int (*)(int, const char *, uint32_t))
               dlsym(RTLD_NEXT, "inotify_add_watch");
    }

    f = getenv("COUNTWATCH_FILE");
    if (f != NULL) {
        out = open(f, O_WRONLY | O_APPEND | O_CREAT, 0644);
        if (out != -1) {
            (void) write(out, path, strlen(path));
            (void) write(out, "\n", 1);
            close(out);
        }
    }

    return real(fd, path, mask);
}
C

sub main::calls { scalar split /\n/, CachectlTest::slurp($main::Calls) }

sub main::watches {
    my ($d) = @_;
    my $n = 0;
    for my $f (glob "/proc/$d->{pid}/fdinfo/*") {
        $n += () = CachectlTest::slurp($f) =~ /^inotify wd:/mg;
    }
    return $n;
}

sub main::published {
    my ($d, $mark) = @_;
    return CachectlTest::daemon_wait_log($d, qr/published/, 5, $mark);
}

sub main::batches {
    return "no C compiler\n" unless $main::Shim;
    my $d = do {
        local $ENV{LD_PRELOAD} = $main::Shim;
        local $ENV{ASAN_OPTIONS} = join ':', grep { length }
            $ENV{ASAN_OPTIONS} // '', 'verify_asan_link_order=0';
        local $ENV{COUNTWATCH_FILE} = $main::Calls;
        daemon_start(redis => $main::Redis, site_id => 't357',
                     views => ["$main::Dir/view"],
                     args => ['--rescan', 0, '--heartbeat', 1]);
    };
    my $out = '';
    main::published($d, 0);
    my $start = main::calls();
    my $watches = main::watches($d);
    $out .= "at start: a call per directory: "
          . ($start >= 31 ? 'yes' : "no ($start)") . "\n";

    for my $i (1 .. 3) {
        my $mark = CachectlTest::daemon_mark($d);
        write_file("$main::Dir/view/d$i/e$i/index.shtml", "d$i v2\n");
        main::published($d, $mark);
    }
    $out .= "3 edits: " . (main::calls() - $start) . " calls\n";

    my $mark = CachectlTest::daemon_mark($d);
    $start = main::calls();
    write_file("$main::Dir/view/new/sub/index.shtml", "new\n");
    main::published($d, $mark);
    my $n = main::calls() - $start;
    # 2, or 3 when "sub" came between the watch on "new" and its readdir
    $out .= "a new directory with one below: "
          . ($n >= 2 && $n <= 3 ? 'one call each' : "$n calls")
          . ", watches +" . (main::watches($d) - $watches) . "\n";

    $mark = CachectlTest::daemon_mark($d);
    $start = main::calls();
    remove_file("$main::Dir/view/new/sub/index.shtml");
    rmdir "$main::Dir/view/new/sub" or die "rmdir: $!";
    main::published($d, $mark);
    CachectlTest::poll_until(3, sub { main::watches($d) == $watches + 1 });
    $out .= "one removed: " . (main::calls() - $start)
          . " calls, watches +" . (main::watches($d) - $watches) . "\n";

    # a copy into the new directory right after it is made is seen
    write_file("$main::Dir/view/new/late/deep/index.shtml", "late\n");
    CachectlTest::poll_until(5, sub {
        CachectlTest::tpl_index($main::Redis, $main::NS)
            ->{'new/late/deep/index.shtml'} });
    $out .= "copied in at once: "
          . (CachectlTest::tpl_index($main::Redis, $main::NS)
                 ->{'new/late/deep/index.shtml'} ? 'published' : 'missed')
          . "\n";
    CachectlTest::daemon_stop($d);
    write_file("$main::Dir/result1.txt", $out);
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: batches add watches for new directories only, and drop those
of removed ones
--- config
    location = /result { alias $TEST_NGINX_T357_DIR/result1.txt; }
--- pre_request
main::batches();
--- request
GET /result
--- response_body
at start: a call per directory: yes
3 edits: 0 calls
a new directory with one below: one call each, watches +2
one removed: 0 calls, watches +1
copied in at once: published
