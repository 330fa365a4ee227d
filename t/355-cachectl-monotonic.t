# cachectl's timers on CLOCK_MONOTONIC (issue 11, item 12). Every timer
# ran on the wall clock: a step back of one hour stopped heartbeats,
# session upkeep, rescans and retries for that hour. faketime is not
# installed (and "date -s" would move the host's clock), so the daemon
# runs here under a small LD_PRELOAD library, built by this test, that
# moves CLOCK_REALTIME (clock_gettime, gettimeofday, time) one hour back
# once a trigger file exists; CLOCK_MONOTONIC is left alone. After the
# step the heartbeats, the rescans and the publishing go on.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file remove_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't355:prod:';
our $Dir = CachectlTest::tmpdir();

$ENV{TEST_NGINX_T355_DIR} = $Dir;

write_file("$Dir/view/home.shtml", "home\n");

our $Shim = CachectlTest::cc_shim('clockstep', <<'C');
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static int (*real_clock_gettime)(clockid_t, struct timespec *);
static int stepped;

static long
shift(void)
{
    const char  *f;

    if (!stepped) {
        f = getenv("CLOCKSTEP_FILE");
        stepped = f != NULL && access(f, F_OK) == 0;
    }

    return stepped ? 3600 : 0;
}

int
clock_gettime(clockid_t id, struct timespec *ts)
{
    int  rc;

    if (real_clock_gettime == NULL) {
        real_clock_gettime = (int (*)(clockid_t, struct timespec *))
                             dlsym(RTLD_NEXT, "clock_gettime");
    }

    rc = real_clock_gettime(id, ts);

    if (rc == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE)) {
        ts->tv_sec -= shift();
    }

    return rc;
}

int
gettimeofday(struct timeval *tv, void *tz)
{
    struct timespec  ts;

    (void) tz;
    clock_gettime(CLOCK_REALTIME, &ts);
    tv->tv_sec = ts.tv_sec;
    tv->tv_usec = ts.tv_nsec / 1000;

    return 0;
}

time_t
time(time_t *t)
{
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    if (t != NULL) {
        *t = ts.tv_sec;
    }

    return ts.tv_sec;
}
C

# waits for $n heartbeats: the status key, deleted, comes back each time
sub main::beats {
    my ($d, $n) = @_;
    for (1 .. $n) {
        JPulseTest::redis_cli($main::Redis, 'DEL', $_)
            for grep { length } split /\n/, JPulseTest::redis_cli(
                $main::Redis, 'KEYS', "${main::NS}cachectl:status:*");
        CachectlTest::poll_until(6, sub {
            JPulseTest::redis_cli($main::Redis, 'KEYS',
                                  "${main::NS}cachectl:status:*") =~ /\S/
        }) or return "stopped\n";
    }
    return "go on\n";
}

sub main::step {
    return "no C compiler\n" unless $main::Shim;
    my $trigger = "$main::Dir/step-now";
    my $d = do {
        # ASan wants to come first; the shim only wraps three functions
        local $ENV{LD_PRELOAD} = $main::Shim;
        local $ENV{ASAN_OPTIONS} = join ':', grep { length }
            $ENV{ASAN_OPTIONS} // '', 'verify_asan_link_order=0';
        local $ENV{CLOCKSTEP_FILE} = $trigger;
        daemon_start(redis => $main::Redis, site_id => 't355',
                     views => ["$main::Dir/view"],
                     args => ['--rescan', 1, '--heartbeat', 1]);
    };
    my $out = '';
    CachectlTest::daemon_wait_log($d, qr/published/, 5);
    $out .= "heartbeats before: " . main::beats($d, 2);

    write_file($trigger, '');
    Time::HiRes::sleep(0.5);

    $out .= "heartbeats after: " . main::beats($d, 3);

    write_file("$main::Dir/view/home.shtml", "home v2\n");
    CachectlTest::poll_until(8, sub {
        JPulseTest::redis_cli($main::Redis, 'HGET', "${main::NS}tpl:home.shtml",
                              'source') =~ /v2/ });
    $out .= "publishing after: "
          . (JPulseTest::redis_cli($main::Redis, 'HGET',
                 "${main::NS}tpl:home.shtml", 'source') =~ /v2/
             ? 'goes on' : 'stopped') . "\n";

    # the proof that the step happened: lastSync is a wall-clock time
    my $st = {};
    CachectlTest::poll_until(5, sub {
        $st = CachectlTest::daemon_status($main::Redis, $main::NS, $d);
        ($st->{lastSync} // 0) / 1000 < time - 3000 });
    $out .= "lastSync: " . (($st->{lastSync} // 0) / 1000 < time - 3000
                            ? 'an hour back' : 'now') . "\n";
    CachectlTest::daemon_stop($d);
    write_file("$main::Dir/result1.txt", $out);
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the wall clock one hour back: heartbeats and publishing go on
--- config
    location = /result { alias $TEST_NGINX_T355_DIR/result1.txt; }
--- pre_request
main::step();
--- request
GET /result
--- response_body
heartbeats before: go on
heartbeats after: go on
publishing after: goes on
lastSync: an hour back
--- timeout: 40
