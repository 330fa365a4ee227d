# Sessions at the edge: the session counters in the metrics zone, JSON
# (module component) and Prometheus (jpulse_session_*).
use strict;
use warnings;

use lib 't/lib';
use JPulseTest ();
use SessionTest ();
use Test::Nginx::Socket;

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;
our $Redis = { port => $ENV{TEST_NGINX_REDIS_PORT} };
our $NS = 't606:dev:';

SessionTest::put($Redis, $NS, 'user-sid', SessionTest::user_record());
SessionTest::put($Redis, $NS, 'anon-sid', SessionTest::user_record(
    user => { isAuthenticated => JSON::PP::false }));
SessionTest::put($Redis, $NS, 'huge-sid', '"' . ('x' x 70000) . '"');

repeat_each(1);

plan tests => repeat_each() * (18 + 608);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: each state counted, touches, bad signatures, the tables
--- http_config
    jpulse_site_id t606;
    jpulse_mode dev;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
--- config
    location = /s { return 200 "$jpulse_session_state\n"; }
    location = /m { jpulse_session off; jpulse_metrics; }
    location = /p { jpulse_session off; jpulse_metrics prometheus; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- request eval
["GET /s", "GET /s", "GET /s", "GET /s", "GET /s", "GET /s", "GET /m", "GET /p"]
--- more_headers eval
["", "Cookie: connect.sid=forged",
 "Cookie: " . SessionTest::cookie('user-sid'),
 "Cookie: " . SessionTest::cookie('user-sid'),
 "Cookie: " . SessionTest::cookie('anon-sid'),
 "Cookie: " . SessionTest::cookie('huge-sid'), "", ""]
--- response_body_filters eval
[(sub { $_[0] }) x 6,
 JPulseTest::json_pick(map { "data.statistics.components.module.stats.$_" }
     qw(session_loads_none session_loads_invalid session_loads_anonymous
        session_loads_user session_loads_error session_redis_errors
        session_bad_signatures session_too_big session_touches
        session_touches_throttled session_table_bytes
        session_table_entries)),
 sub { my $t = JPulseTest::promtool_check($_[0]);
       CORE::join('', $t, grep { /^jpulse_session_(loads|touches)/ } split /^/m, $_[0]) }]
--- response_body eval
["none\n", "invalid\n", "user\n", "user\n", "anonymous\n", "error\n",
"data.statistics.components.module.stats.session_loads_none=1
data.statistics.components.module.stats.session_loads_invalid=1
data.statistics.components.module.stats.session_loads_anonymous=1
data.statistics.components.module.stats.session_loads_user=2
data.statistics.components.module.stats.session_loads_error=1
data.statistics.components.module.stats.session_redis_errors=0
data.statistics.components.module.stats.session_bad_signatures=1
data.statistics.components.module.stats.session_too_big=1
data.statistics.components.module.stats.session_touches=2
data.statistics.components.module.stats.session_touches_throttled=1
data.statistics.components.module.stats.session_table_bytes=147456
data.statistics.components.module.stats.session_table_entries=3
",
"promtool: ok
jpulse_session_loads_total{state=\"none\"} 1
jpulse_session_loads_total{state=\"invalid\"} 1
jpulse_session_loads_total{state=\"anonymous\"} 1
jpulse_session_loads_total{state=\"user\"} 2
jpulse_session_loads_total{state=\"error\"} 1
jpulse_session_touches_total 2
jpulse_session_touches_throttled_total 1
"]
--- no_error_log
[error]
[alert]



=== TEST 2: session_table_entries is a gauge: a slot whose time is past
is freed (a few at each use; 300 uses sweep both tables twice): the
touch's slot (1 ms) goes, the log limit's (a minute) stays
--- http_config
    jpulse_site_id t606;
    jpulse_mode dev;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
    jpulse_session_touch_interval 1ms;
--- config
    location = /s { return 200 "$jpulse_session_state\n"; }
    location = /m { jpulse_session off; jpulse_metrics; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- request eval
["GET /s", "GET /m", ("GET /s") x 300, "GET /m"]
--- more_headers eval
["Cookie: " . SessionTest::cookie('user-sid'), "",
 ("Cookie: connect.sid=forged") x 300, ""]
--- response_body_filters eval
[(sub { $_[0] }),
 JPulseTest::json_pick(map { "data.statistics.components.module.stats.$_" }
     qw(session_touches session_table_entries)),
 (sub { $_[0] }) x 300,
 JPulseTest::json_pick(map { "data.statistics.components.module.stats.$_" }
     qw(session_touches session_table_entries))]
--- response_body eval
["user\n",
"data.statistics.components.module.stats.session_touches=1
data.statistics.components.module.stats.session_table_entries=1
",
("invalid\n") x 300,
"data.statistics.components.module.stats.session_touches=1
data.statistics.components.module.stats.session_table_entries=1
"]
--- no_error_log
[error]
[alert]
