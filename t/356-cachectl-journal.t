# cachectl's log lines (issue 11, item 13). Under systemd, stderr is the
# journal (JOURNAL_STREAM holds its "device:inode"): each line gets a
# "<N>" priority prefix (3 error, 4 warning, 6 info) and no timestamp of
# our own. A file name with a newline used to forge a log line of its
# own; control characters are escaped now (\n, \xNN) in every line.
# A poll() failure (not EINTR) ended the loop with exit 0, so systemd's
# Restart=on-failure never restarted the daemon: it exits 1 now (poll made
# to fail by an LD_PRELOAD library built here, once a trigger file exists).
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Dir = CachectlTest::tmpdir();

$ENV{TEST_NGINX_T356_DIR} = $Dir;

write_file("$Dir/view/home.shtml", "home\n");
write_file("$Dir/view/broken.shtml", ('{{#if 1}}' x 65) . ('{{/if}}' x 65) . "\n");
write_file("$Dir/view/evil\n2026-01-01T00:00:00.000Z cachectl[1] info: "
           . "published 99 view\e[31m.shtml", ('{{#if 1}}' x 65) . ('{{/if}}' x 65) . "\n");

# the daemon's log, whose stream is the journal when $journal
sub main::run_daemon {
    my ($site, $journal) = @_;
    my $log = "$main::Dir/$site.log";
    write_file($log, '');
    my @st = stat $log;
    my $d = do {
        local $ENV{JOURNAL_STREAM} = $journal ? "$st[0]:$st[1]" : '1:1';
        daemon_start(redis => $main::Redis, site_id => $site, log => $log,
                     views => ["$main::Dir/view"],
                     args => ['--rescan', 0, '--heartbeat', 1]);
    };
    CachectlTest::daemon_wait_log($d, qr/published/, 5);
    CachectlTest::daemon_stop($d);
    return CachectlTest::slurp($log);
}

sub main::journal {
    my $log = main::run_daemon('t356', 1);
    my @lines = split /\n/, $log;
    my $out = "lines: " . scalar(@lines) . "\n";
    $out .= "with a priority: " . scalar(grep { /^<[3467]>/ } @lines) . "\n";
    $out .= "with a timestamp: " . scalar(grep { /^\d{4}-\d\d-\d\dT/ } @lines)
          . "\n";
    $out .= join '', map { "$_\n" } grep { defined }
        (map { /^(<6>info: published)/ } @lines)[0],
        (map { /^(<3>error: refused broken\.shtml:)/ } @lines)[0],
        (map { /^(<6>info: stopped)$/ } @lines)[0];
    write_file("$main::Dir/result1.txt", $out);
}

sub main::escaped {
    my $log = main::run_daemon('t356b', 0);
    my @lines = split /\n/, $log;
    my $out = "lines that do not start with a timestamp: "
            . scalar(grep { !/^\d{4}-\d\d-\d\dT[\d:.]+Z cachectl\[\d+\] / }
                     @lines) . "\n";
    $out .= "forged: " . scalar(grep { /^2026-01-01T/ } @lines) . "\n";
    $out .= "escape characters: " . scalar(grep { /\e/ } @lines) . "\n";
    my ($evil) = grep { /refused evil/ } @lines;
    $out .= ($evil // '(no refusal)') =~ s/^.*?(refused evil.*?\.shtml).*$/$1/r
          . "\n";
    write_file("$main::Dir/result2.txt", $out);
}

our $Shim = CachectlTest::cc_shim('pollfail', <<'C');
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

int
poll(struct pollfd *fds, nfds_t n, int timeout)
{
    const char  *f;
    static int (*real)(struct pollfd *, nfds_t, int);

    if (real == NULL) {
        real = (int (*)(struct pollfd *, nfds_t, int)) dlsym(RTLD_NEXT,
                                                             "poll");
    }

    f = getenv("POLLFAIL_FILE");
    if (f != NULL && access(f, F_OK) == 0) {
        errno = EINVAL;
        return -1;
    }

    return real(fds, n, timeout);
}
C

sub main::poll_fails {
    return "no C compiler\n" unless $main::Shim;
    my $trigger = "$main::Dir/fail-now";
    my $d = do {
        local $ENV{LD_PRELOAD} = $main::Shim;
        local $ENV{ASAN_OPTIONS} = join ':', grep { length }
            $ENV{ASAN_OPTIONS} // '', 'verify_asan_link_order=0';
        local $ENV{POLLFAIL_FILE} = $trigger;
        daemon_start(redis => $main::Redis, site_id => 't356c',
                     views => ["$main::Dir/view"],
                     args => ['--rescan', 0, '--heartbeat', 1]);
    };
    CachectlTest::daemon_wait_log($d, qr/published/, 5);
    write_file($trigger, '');
    CachectlTest::daemon_wait_log($d, qr/info: stopped$/m, 5);
    Time::HiRes::sleep(0.2);
    my $out = "exit: " . CachectlTest::daemon_stop($d, signal => 0,
                                                   timeout => 3) . "\n";
    my ($said) = CachectlTest::daemon_log($d) =~ /error: (poll: .*)$/m;
    $out .= ($said // '(nothing said)') . "\n";
    write_file("$main::Dir/result3.txt", $out);
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: stderr is the journal: <N> priorities, no timestamps
--- config
    location = /result { alias $TEST_NGINX_T356_DIR/result1.txt; }
--- pre_request
main::journal();
--- request
GET /result
--- response_body_like
^lines: (\d+)
with a priority: \1
with a timestamp: 0
<6>info: published
<3>error: refused broken\.shtml:
<6>info: stopped
$



=== TEST 2: a file name with a newline and an escape sequence: one line,
escaped (JOURNAL_STREAM of another stream: timestamps as usual)
--- config
    location = /result { alias $TEST_NGINX_T356_DIR/result2.txt; }
--- pre_request
main::escaped();
--- request
GET /result
--- response_body
lines that do not start with a timestamp: 0
forged: 0
escape characters: 0
refused evil\n2026-01-01T00:00:00.000Z cachectl[1] info: published 99 view\x1b[31m.shtml



=== TEST 3: a poll() failure exits 1 (Restart=on-failure restarts it)
--- config
    location = /result { alias $TEST_NGINX_T356_DIR/result3.txt; }
--- pre_request
main::poll_fails();
--- request
GET /result
--- response_body
exit: exit 1
poll: Invalid argument; exiting
