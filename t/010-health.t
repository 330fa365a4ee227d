# jpulse_health: jPulse's /api/1/health/status and readiness.
use Test::Nginx::Socket;

repeat_each(2);

plan tests => repeat_each() * (blocks() * 3 + 4);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: status has jPulse's shape with real values
--- config
    location /api/1/health/ {
        jpulse_health;
    }
--- request
GET /api/1/health/status
--- response_headers
Content-Type: application/json; charset=utf-8
Cache-Control: no-store
--- response_body_like chomp
^\{"success":true,"message":"jPulse Framework health status","data":\{"version":"\d+\.\d+\.\d+","release":"\d{4}-\d\d-\d\d","uptime":\d+,"environment":"prod","database":"not configured","redis":"not configured","timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\}\}$
--- no_error_log
[error]



=== TEST 2: environment follows jpulse_mode
--- http_config
    jpulse_mode dev;
    jpulse_site_id example-site;
--- config
    location = /api/1/health/status {
        jpulse_health;
    }
--- request
GET /api/1/health/status
--- response_body_like
"environment":"dev"
--- no_error_log
[error]



=== TEST 3: a URI ending in /ready is readiness
--- config
    location /api/1/health/ {
        jpulse_health;
    }
--- request
GET /api/1/health/ready
--- response_body_like chomp
^\{"success":true,"message":"jPulse Framework is ready","data":\{"ready":true,"database":"not configured","redis":"not configured","timestamp":"[^"]+"\}\}$
--- no_error_log
[error]



=== TEST 4: "ready" forces readiness whatever the URI
--- config
    location = /healthz {
        jpulse_health ready;
    }
--- request
GET /healthz
--- response_body_like
"ready":true
--- no_error_log
[error]



=== TEST 5: "status" forces status on a URI ending in /ready
--- config
    location = /lb/ready {
        jpulse_health status;
    }
--- request
GET /lb/ready
--- response_body_like
"message":"jPulse Framework health status"
--- no_error_log
[error]



=== TEST 6: HEAD gets the headers and no body
--- config
    location /api/1/health/ {
        jpulse_health;
    }
--- request
HEAD /api/1/health/status
--- response_headers
Content-Type: application/json; charset=utf-8
--- response_body
--- no_error_log
[error]



=== TEST 7: other methods get 405 in jPulse's error envelope
--- config
    location /api/1/health/ {
        jpulse_health;
    }
--- request
POST /api/1/health/status
{"x":1}
--- error_code: 405
--- response_headers
Allow: GET, HEAD
--- response_body chomp
{"success":false,"error":"Method not allowed","path":"/api/1/health/status","code":"METHOD_NOT_ALLOWED"}
--- no_error_log
[error]



=== TEST 8: the reflected path is escaped
--- config
    location /api/1/health/ {
        jpulse_health;
    }
--- request
DELETE /api/1/health/status?q=%3C/script%3E&x="<b>"
--- error_code: 405
--- response_body chomp
{"success":false,"error":"Method not allowed","path":"/api/1/health/status?q=%3C/script%3E\u0026x=\"\u003cb\u003e\"","code":"METHOD_NOT_ALLOWED"}
--- no_error_log
[error]



=== TEST 9: status is always 200 and needs no metrics zone
--- main_config
--- config
    location = /s {
        jpulse_health status;
    }
--- request
GET /s
--- error_code: 200
--- response_body_like
^\{"success":true,
--- no_error_log
[warn]
