# jpulse_session_cache SIZE TTL | off (issue 14): what it accepts, and the
# cache's counters and gauges in both metrics formats, zero while it is
# off or empty.
use lib 't/lib';
use JPulseTest qw(json_pick);
use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a size that is not a size
--- http_config
    jpulse_session_cache 10q 10s;
--- config
--- must_die
--- error_log
invalid jpulse_session_cache size "10q" (at least 8k)



=== TEST 2: a size below 8k
--- http_config
    jpulse_session_cache 4k 10s;
--- config
--- must_die
--- error_log
invalid jpulse_session_cache size "4k" (at least 8k)



=== TEST 3: a TTL that is not a time, or zero
--- http_config
    jpulse_session_cache 1m 0s;
--- config
--- must_die
--- error_log
invalid jpulse_session_cache ttl "0s"



=== TEST 4: one argument is "off"
--- http_config
    jpulse_session_cache 1m;
--- config
--- must_die
--- error_log
"jpulse_session_cache" directive expects "off" or SIZE TTL



=== TEST 5: twice
--- http_config
    jpulse_session_cache off;
    jpulse_session_cache 1m 10s;
--- config
--- must_die
--- error_log
"jpulse_session_cache" directive is duplicate



=== TEST 6: http level only
--- config
    jpulse_session_cache 1m 10s;
--- must_die
--- error_log
"jpulse_session_cache" directive is not allowed here



=== TEST 7: on, with milliseconds: the JSON metrics carry the cache's figures
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_session_cache 64k 1500ms;
--- config
    location = /m { jpulse_metrics; }
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(map { "data.statistics.components.module.stats.$_" }
    qw(session_cache_hits session_cache_misses session_cache_evictions
       session_cache_entries session_cache_bytes))
--- response_body
data.statistics.components.module.stats.session_cache_hits=0
data.statistics.components.module.stats.session_cache_misses=0
data.statistics.components.module.stats.session_cache_evictions=0
data.statistics.components.module.stats.session_cache_entries=0
data.statistics.components.module.stats.session_cache_bytes=0



=== TEST 8: off: the same figures in Prometheus's format
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_session_cache off;
--- config
    location = /p { jpulse_metrics prometheus; }
--- request
GET /p
--- response_body_filters eval
sub { CORE::join '', grep { /^jpulse_session_cache_/ } split /^/m, $_[0] }
--- response_body
jpulse_session_cache_hits_total 0
jpulse_session_cache_misses_total 0
jpulse_session_cache_evictions_total 0
jpulse_session_cache_bytes 0
jpulse_session_cache_entries 0
