# A zone with fewer slots than workers: the workers left over log why they
# are not counted, the metrics say so, and nothing breaks.
use lib 't/lib';
use JPulseTest ();
use Test::Nginx::Socket;

# valgrind runs a single process: no master, no reload, no second worker
plan skip_all => 'needs a master process, which valgrind runs turn off'
    if $ENV{TEST_NGINX_USE_VALGRIND};

master_on();
workers(24);
repeat_each(1);

plan tests => repeat_each() * (blocks() * 4);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: 24 workers, 12 slots (the session and MongoDB counters, the dashboard's handler and the Redis Cluster counters made a slot bigger)
--- http_config
    jpulse_metrics_zone jpulse 32k;
--- config
    location = /m { jpulse_metrics; }
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(success
    data.statistics.components.metricsZone.status
    data.statistics.components.metricsZone.stats.slots
    data.statistics.components.metricsZone.stats.slotsUsed
    data.statistics.components.metricsZone.stats.claimFailures
    data.statistics.components.metricsZone.stats.workersWithoutSlot))
--- response_body
success=true
data.statistics.components.metricsZone.status=warning
data.statistics.components.metricsZone.stats.slots=12
data.statistics.components.metricsZone.stats.slotsUsed=12
data.statistics.components.metricsZone.stats.claimFailures=12
data.statistics.components.metricsZone.stats.workersWithoutSlot=12
--- error_log
jpulse_metrics_zone "jpulse" has no free worker slot (12 slots): requests of this worker are not counted until one is freed, make the zone bigger
--- no_error_log
[crit]
