# Sessions at the edge: the sliding expiry connect-redis's touch gives a
# session (express-session resets cookie.expires to now + originalMaxAge,
# then EXPIRE ceil(that - now)), at most once per session per
# jpulse_session_touch_interval per worker, fire and forget, and never
# past cachectl's absolute limit (<ns>cachectl:sessmaxage from the
# first-seen record in <ns>cachectl:sessfirst, both on Redis's clock).
use strict;
use warnings;

use lib 't/lib';
use JPulseTest ();
use SessionTest ();
use Test::Nginx::Socket;

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;
our $Redis = { port => $ENV{TEST_NGINX_REDIS_PORT} };
our $NS = 't604:dev:';
our $Sid = 'dG91Y2gtc2lkLTAxMjM0NTY3ODlhYmNk';
our $Cookie = SessionTest::cookie($Sid);

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

sub main::cli { JPulseTest::redis_cli($main::Redis, @_) }

sub main::ttl {
    my $t = main::cli('TTL', "${NS}sess:$Sid");
    chomp $t;
    return $t;
}

sub main::evals { JPulseTest::redis_calls($main::Redis, 'eval') }

# Redis's clock, in ms
sub main::redis_ms {
    my ($s, $us) = split /\n/, main::cli('TIME');
    return $s * 1000 + int($us / 1000);
}

# a fresh session with a short TTL, no limit, the counters reset
sub main::fresh {
    my (%rec) = @_;
    SessionTest::put($main::Redis, $NS, $Sid,
                     SessionTest::user_record(%rec), 100);
    main::cli('DEL', "${NS}cachectl:sessmaxage", "${NS}cachectl:sessfirst");
    main::cli('CONFIG', 'RESETSTAT');
}

# the TTL once the fire-and-forget EVAL ran (polled)
sub main::ttl_after {
    my ($n) = @_;
    JPulseTest::poll_until(5, sub { main::evals() >= $n });
    JPulseTest::redis_sync($main::Redis);
    return main::ttl();
}

sub main::range {
    my ($v, $lo, $hi) = @_;
    return $v >= $lo && $v <= $hi ? "in [$lo, $hi]" : "$v not in [$lo, $hi]";
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 4 + 6);

add_block_preprocessor(sub {
    my ($block) = @_;

    my $interval = $block->touch_interval // '60s';
    $block->set_value('http_config', <<"CONF");
    jpulse_site_id t604;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:\$TEST_NGINX_REDIS_PORT;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
    jpulse_session_touch_interval $interval;
    # the heartbeat is an EVAL too: none here, the touch's are counted
    jpulse_heartbeat off;
CONF
    $block->set_value('config', <<'CONF');
    location = /s { return 200 "$jpulse_session_state\n"; }
CONF
    $block->set_value('wait_for_log', <<'LOG');
command connection ready
pub/sub connection ready
LOG
    $block->set_value('more_headers', "Cookie: $main::Cookie");
    $block->set_value('no_error_log', "[error]\n[alert]\n");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a load touches: the TTL is originalMaxAge again (3600 s)
--- pre_request
main::fresh();
--- request
GET /s
--- response_body_filters eval
sub { $_[0] . "ttl " . main::range(main::ttl_after(1), 3590, 3600) . "\n" }
--- response_body
user
ttl in [3590, 3600]



=== TEST 2: the next loads within the interval do not touch
--- pre_request
main::cli('EXPIRE', "${main::NS}sess:$main::Sid", 100);
main::cli('CONFIG', 'RESETSTAT');
--- request eval
["GET /s", "GET /s", "GET /s"]
--- response_body_filters eval
[(sub { $_[0] }) x 2, sub {
    JPulseTest::redis_sync($main::Redis);
    $_[0] . "evals " . main::evals() . ", ttl " . main::range(main::ttl(), 90, 100) . "\n" }]
--- response_body eval
["user\n", "user\n", "user\nevals 0, ttl in [90, 100]\n"]



=== TEST 3: without originalMaxAge: the store's TTL, a day
--- touch_interval: 59s
--- pre_request
main::fresh();
my $r = SessionTest::user_record();
delete $r->{cookie}{originalMaxAge};
SessionTest::put($main::Redis, $main::NS, $main::Sid, $r, 100);
--- request
GET /s
--- response_body_filters eval
sub { $_[0] . "ttl " . main::range(main::ttl_after(1), 86390, 86400) . "\n" }
--- response_body
user
ttl in [86390, 86400]



=== TEST 4: once the interval has passed, the session is touched again
--- touch_interval: 1s
--- pre_request
main::fresh();
--- request
GET /s
--- response_body_filters eval
sub {
    main::ttl_after(1);
    my $ok = JPulseTest::poll_until(10, sub {
        JPulseTest::http_get($Test::Nginx::Socket::ServerPort, '/s',
                             headers => "Cookie: $main::Cookie\r\n");
        main::evals() >= 2 }, 0.2);
    $_[0] . ($ok ? "touched again\n" : "never touched again\n") }
--- response_body
user
touched again



=== TEST 5: touch_interval 0: never touched
--- touch_interval: 0
--- pre_request
main::fresh();
--- request eval
["GET /s", "GET /s"]
--- response_body_filters eval
[sub { $_[0] }, sub { JPulseTest::redis_sync($main::Redis);
    $_[0] . "evals " . main::evals() . ", ttl " . main::range(main::ttl(), 90, 100) . "\n" }]
--- response_body eval
["user\n", "user\nevals 0, ttl in [90, 100]\n"]



=== TEST 6: cachectl's limit caps the TTL (first seen 2 h - 200 s ago, limit 2 h)
--- touch_interval: 61s
--- pre_request
main::fresh();
main::cli('SET', "${main::NS}cachectl:sessmaxage", 7200000, 'PX', 60000);
main::cli('HSET', "${main::NS}cachectl:sessfirst", $main::Sid,
          (main::redis_ms() - 7000000) . " 64b7f0c2a1b2c3d4e5f60718");
--- request
GET /s
--- response_body_filters eval
sub { $_[0] . "ttl " . main::range(main::ttl_after(1), 190, 200) . "\n" }
--- response_body
user
ttl in [190, 200]



=== TEST 7: past the limit the touch leaves the session alone (cachectl deletes it)
--- touch_interval: 62s
--- pre_request
main::fresh();
main::cli('SET', "${main::NS}cachectl:sessmaxage", 7200000, 'PX', 60000);
main::cli('HSET', "${main::NS}cachectl:sessfirst", $main::Sid,
          main::redis_ms() - 7300000);
--- request
GET /s
--- response_body_filters eval
sub { $_[0] . "ttl " . main::range(main::ttl_after(1), 90, 100) . "\n" }
--- response_body
user
ttl in [90, 100]



=== TEST 8: a limit far away does not shorten the TTL; no record: no cap
--- touch_interval: 63s
--- pre_request
main::fresh();
main::cli('SET', "${main::NS}cachectl:sessmaxage", 86400000, 'PX', 60000);
main::cli('HSET', "${main::NS}cachectl:sessfirst", 'another-sid',
          main::redis_ms() - 86000000);
--- request
GET /s
--- response_body_filters eval
sub { $_[0] . "ttl " . main::range(main::ttl_after(1), 3590, 3600) . "\n" }
--- response_body
user
ttl in [3590, 3600]



=== TEST 9: an anonymous session is touched too, as connect-redis does
--- touch_interval: 64s
--- pre_request
main::fresh(user => { isAuthenticated => JSON::PP::false });
--- request
GET /s
--- response_body_filters eval
sub { $_[0] . "ttl " . main::range(main::ttl_after(1), 3590, 3600) . "\n" }
--- response_body
anonymous
ttl in [3590, 3600]
