# Counters with a master and two workers, across HUP reloads (the way
# users deploy) and a change of the zone's size.
use lib 't/lib';
use JPulseTest ();
use Test::Nginx::Socket;

# valgrind runs a single process: no master, no reload, no second worker
plan skip_all => 'needs a master process, which valgrind runs turn off'
    if $ENV{TEST_NGINX_USE_VALGRIND};

$ENV{TEST_NGINX_USE_HUP} = 1;

master_on();
workers(2);
repeat_each(1);

plan tests => repeat_each() * (blocks() * 3 + 41);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: two workers: every request is counted once
--- http_config
    jpulse_metrics_zone jpulse 1m;
--- config
    location = /ok { return 200 "ok"; }
    location = /m { jpulse_metrics; }
--- request eval
[("GET /ok") x 20, "GET /m"]
--- error_code eval
[(200) x 21]
--- response_body_filters eval
[(undef) x 20,
 JPulseTest::json_pick(qw(data.statistics.components.http.stats.requests
     data.statistics.runningProcesses
     data.statistics.components.metricsZone.stats.slotsUsed
     data.statistics.components.metricsZone.stats.reloads))]
--- response_body eval
[("ok") x 20, "data.statistics.components.http.stats.requests=20
data.statistics.runningProcesses=2
data.statistics.components.metricsZone.stats.slotsUsed=2
data.statistics.components.metricsZone.stats.reloads=0
"]
--- no_error_log
[error]



=== TEST 2: a HUP reload keeps the counts
--- http_config
    jpulse_metrics_zone jpulse 1m;
--- config
    location = /ok { return 200 "ok"; }
    location = /m { jpulse_metrics; }
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.components.http.stats.requests
    data.statistics.components.http.stats.byHandler.metrics.2xx
    data.statistics.components.metricsZone.stats.reloads
    data.statistics.components.metricsZone.stats.resizes))
--- response_body
data.statistics.components.http.stats.requests=21
data.statistics.components.http.stats.byHandler.metrics.2xx=1
data.statistics.components.metricsZone.stats.reloads=1
data.statistics.components.metricsZone.stats.resizes=0
--- no_error_log
[error]



=== TEST 3: a reload that resizes the zone carries the counts over
--- http_config
    jpulse_metrics_zone jpulse 2m;
--- config
    location = /ok { return 200 "ok"; }
    location = /m { jpulse_metrics; }
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.components.http.stats.requests
    data.statistics.components.metricsZone.stats.size
    data.statistics.components.metricsZone.stats.reloads
    data.statistics.components.metricsZone.stats.resizes))
--- response_body
data.statistics.components.http.stats.requests=22
data.statistics.components.metricsZone.stats.size=2097152
data.statistics.components.metricsZone.stats.reloads=2
data.statistics.components.metricsZone.stats.resizes=1
--- error_log
resized to 2097152 bytes
--- no_error_log
[error]



=== TEST 4: Prometheus agrees with JSON after the reloads
--- http_config
    jpulse_metrics_zone jpulse 2m;
--- config
    location = /ok { return 200 "ok"; }
    location = /m { jpulse_metrics; }
    location = /p { jpulse_metrics prometheus; }
--- request
GET /p
--- response_body_like
(?m)^jpulse_http_requests_total\{handler="metrics",code="2xx"\} 3$
--- no_error_log
[error]



=== TEST 5: a worker killed with SIGKILL: its slot is taken back
--- http_config
    jpulse_metrics_zone jpulse 2m;
--- config
    location = /ok { return 200 "ok"; }
    location = /m { jpulse_metrics; }
    location = /p { jpulse_metrics prometheus; }
--- pre_request
my $master = do { local (@ARGV, $/) = ("$Test::Nginx::Socket::PidFile"); <> };
chomp $master;
my @workers = JPulseTest::nginx_pids($master);
kill 'KILL', $workers[0];
Time::HiRes::sleep(1);      # the master starts another worker
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.runningProcesses
    data.statistics.components.metricsZone.stats.slotsUsed
    data.statistics.components.http.stats.requests))
--- response_body
data.statistics.runningProcesses=2
data.statistics.components.metricsZone.stats.slotsUsed=2
data.statistics.components.http.stats.requests=24
--- error_log
exited on signal 9
