# jpulse_metrics_zone and jpulse_metrics: counters, jPulse's JSON shape,
# Prometheus text.
use lib 't/lib';
use JPulseTest ();
use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3 + 45);


no_shuffle();
run_tests();

__DATA__

=== TEST 1: requests are counted by handler and status class
--- http_config
    jpulse_metrics_zone jpulse 1m;
--- config
    location = /ok { return 200 "ok\n"; }
    location = /nope { return 404; }
    location /api/1/health/ { jpulse_health; }
    location = /api/1/health/metrics { jpulse_metrics; }
--- request eval
["GET /ok", "GET /ok", "GET /nope", "GET /api/1/health/status",
 "POST /api/1/health/status", "GET /api/1/health/metrics"]
--- error_code eval
[200, 200, 404, 200, 405, 200]
--- response_body_filters eval
[undef, undef, undef, undef, undef,
 JPulseTest::json_pick(map { "data.statistics.components.http.stats.$_" }
     qw(requests requests2xx requests4xx requests5xx
        byHandler.other byHandler.health byHandler.metrics))]
--- response_body_like eval
["ok", "ok", "404", "health status", "METHOD_NOT_ALLOWED",
 qr{\Adata.statistics.components.http.stats.requests=5
data.statistics.components.http.stats.requests2xx=3
data.statistics.components.http.stats.requests4xx=2
data.statistics.components.http.stats.requests5xx=0
data.statistics.components.http.stats.byHandler.other=\{"1xx":0,"2xx":2,"3xx":0,"4xx":1,"5xx":0\}
data.statistics.components.http.stats.byHandler.health=\{"1xx":0,"2xx":1,"3xx":0,"4xx":1,"5xx":0\}
data.statistics.components.http.stats.byHandler.metrics=\{"1xx":0,"2xx":0,"3xx":0,"4xx":0,"5xx":0\}
\z}]
--- no_error_log
[error]



=== TEST 2: the JSON has jPulse's /api/1/health/metrics shape
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_mode dev;
    jpulse_site_id shop;
--- config
    location = /api/1/health/metrics { jpulse_metrics; }
--- request
GET /api/1/health/metrics
--- response_body_filters eval
JPulseTest::json_pick(qw(success message data.statistics.totalServers
    data.statistics.totalInstances data.statistics.totalProcesses
    data.statistics.runningProcesses data.statistics.webSocketNamespaces
    data.servers.0.serverId data.servers.0.platform data.servers.0.cpus
    data.servers.0.database data.servers.0.instances.0.pm2Id
    data.servers.0.instances.0.instanceId
    data.servers.0.instances.0.pm2Available
    data.servers.0.instances.0.status data.servers.0.instances.0.environment
    data.servers.0.instances.0.siteId
    data.servers.0.instances.0.metrics.requestsPerMin
    data.servers.0.instances.0.metrics.errorRate
    data.servers.0.instances.0.workers.0.current
    data.servers.0.instances.0.components.metricsZone.stats.slotsUsed
    data.servers.0.instances.1))
--- response_body_like
\Asuccess=true
message=jPulse Framework metrics data
data.statistics.totalServers=1
data.statistics.totalInstances=1
data.statistics.totalProcesses=1
data.statistics.runningProcesses=1
data.statistics.webSocketNamespaces=\[\]
data.servers.0.serverId=\d+
data.servers.0.platform=linux
data.servers.0.cpus=\d+
data.servers.0.database=\(missing\)
data.servers.0.instances.0.pm2Id=100
data.servers.0.instances.0.instanceId=\d+:100:\d+
data.servers.0.instances.0.pm2Available=false
data.servers.0.instances.0.status=online
data.servers.0.instances.0.environment=dev
data.servers.0.instances.0.siteId=shop
data.servers.0.instances.0.metrics.requestsPerMin=0
data.servers.0.instances.0.metrics.errorRate=0.00
data.servers.0.instances.0.workers.0.current=true
data.servers.0.instances.0.components.metricsZone.stats.slotsUsed=1
data.servers.0.instances.1=\(missing\)
\z
--- no_error_log
[error]



=== TEST 3: requests per minute and the error rate
--- http_config
    jpulse_metrics_zone jpulse 1m;
--- config
    location = /ok { return 200; }
    location = /fail { return 503; }
    location = /m { jpulse_metrics; }
--- request eval
["GET /ok", "GET /ok", "GET /ok", "GET /fail", "GET /m"]
--- error_code eval
[200, 200, 200, 503, 200]
--- response_body_filters eval
[undef, undef, undef, undef,
 JPulseTest::json_pick(map { "data.servers.0.instances.0.metrics.$_" }
                       qw(requestsPerMin errorsPerMin errorRate))]
--- response_body_like eval
["", "", "", "503", qr{\Adata.servers.0.instances.0.metrics.requestsPerMin=4
data.servers.0.instances.0.metrics.errorsPerMin=1
data.servers.0.instances.0.metrics.errorRate=25.00
\z}]
--- no_error_log
[error]



=== TEST 4: Prometheus text passes promtool
--- http_config
    jpulse_metrics_zone jpulse 1m;
--- config
    location = /ok { return 200; }
    location = /metrics { jpulse_metrics prometheus; }
--- request eval
["GET /ok", "GET /metrics"]
--- response_headers eval
["", "Content-Type: text/plain; version=0.0.4; charset=utf-8"]
--- response_body_filters eval
[undef, \&JPulseTest::promtool_check]
--- response_body eval
["", "promtool: ok\n"]
--- no_error_log
[error]



=== TEST 5: Prometheus families and values
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_site_id shop;
--- config
    location = /ok { return 200; }
    location = /metrics { jpulse_metrics prometheus; }
--- request eval
["GET /ok", "GET /ok", "GET /metrics"]
--- response_body_like eval
["", "", qr{(?s)\njpulse_info\{version="[\d.]+",release="[\d-]+",nginx_version="[\d.]+",site_id="shop",mode="prod",instance_id="\d+:100:\d+"\} 1\n.*\njpulse_http_requests_total\{handler="other",code="2xx"\} 2\n.*\njpulse_http_request_duration_seconds_bucket\{le="0\.005"\} 2\n.*\njpulse_http_request_duration_seconds_bucket\{le="\+Inf"\} 2\n.*\njpulse_http_request_duration_seconds_count 2\n.*\njpulse_template_renders_total 0\n.*\njpulse_metrics_zone_slots\{state="used"\} 1\n}]
--- no_error_log
[error]



=== TEST 6: without a zone the endpoint still answers, with a warning
--- config
    location = /m { jpulse_metrics; }
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(success data.statistics.components.http.status
    data.statistics.components.metricsZone
    data.servers.0.instances.0.instanceId))
--- response_body_like
\Asuccess=true
data.statistics.components.http.status=warning
data.statistics.components.metricsZone=\(missing\)
data.servers.0.instances.0.instanceId=\d+:100:\d+
\z
--- no_error_log
[error]



=== TEST 7: stub_status counters are included
--- http_config
    jpulse_metrics_zone jpulse 1m;
--- config
    location = /m { jpulse_metrics; }
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.components.connections.stats.active
    data.statistics.components.connections.stats.writing))
--- response_body
data.statistics.components.connections.stats.active=1
data.statistics.components.connections.stats.writing=1
--- no_error_log
[error]



=== TEST 8: inside an "if" the location's format and label still hold
--- http_config
    jpulse_metrics_zone jpulse 1m;
--- config
    location = /p {
        if ($arg_x) {
            set $y 1;
        }
        jpulse_metrics prometheus;
    }
--- request eval
["GET /p?x=1", "GET /p?x=1"]
--- response_headers eval
["Content-Type: text/plain; version=0.0.4; charset=utf-8",
 "Content-Type: text/plain; version=0.0.4; charset=utf-8"]
--- response_body_like eval
["jpulse_info", qr/\njpulse_http_requests_total\{handler="metrics",code="2xx"\} 1\n/]
--- no_error_log
[error]



=== TEST 9: gzip compresses the answers (gzip_types sees the MIME type)
--- http_config
    jpulse_metrics_zone jpulse 1m;
    gzip on;
    gzip_min_length 1;
    gzip_types application/json text/plain;
--- config
    location = /m { jpulse_metrics; }
    location = /p { jpulse_metrics prometheus; }
--- more_headers
Accept-Encoding: gzip
--- request eval
["GET /m", "GET /p"]
--- response_headers eval
["Content-Encoding: gzip", "Content-Encoding: gzip"]
--- response_body_like eval
[qr/^\x1f\x8b/, qr/^\x1f\x8b/]
--- no_error_log
[error]



=== TEST 10: the error rate is rounded like toFixed(2)
--- http_config
    jpulse_metrics_zone jpulse 1m;
--- config
    location = /ok { return 200; }
    location = /fail { return 500; }
    location = /m { jpulse_metrics; }
--- request eval
["GET /ok", "GET /ok", "GET /ok", "GET /ok", "GET /ok", "GET /fail",
 "GET /m"]
--- error_code eval
[200, 200, 200, 200, 200, 500, 200]
--- response_body_filters eval
[(undef) x 6,
 JPulseTest::json_pick(qw(data.servers.0.instances.0.metrics.errorRate))]
--- response_body_like eval
[("") x 5, "500", qr/\Adata.servers.0.instances.0.metrics.errorRate=16.67\n\z/]
--- no_error_log
[error]
