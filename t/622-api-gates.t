# The module's own APIs once sessions are on in their location (issue
# 14; contract 1.3, 2.3): the cache API for the effective admin roles
# (401 NOT_AUTHENTICATED / 403 NOT_AUTHORIZED); the metrics for
# controller.health.requiredRoles.metrics of the app config (JSON:
# jPulse's 200 success:false with data.timestamp only; Prometheus: a 401
# or 403), obfuscated for a caller allowed to see them who is not an
# admin; health status public; broadcast publish for signed-in users.
# Where sessions are off, nginx's allow/deny alone decide, as before.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use GatesTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'gates:dev:';
our %C = GatesTest::cast($Redis, $NS);

our $Dir = File::Temp::tempdir('jpulse-t622-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", { 'home/index.shtml' => "home\n" });
JPulseTest::view_tree($Dir, { 'app.json' => '{"controller":{"health":'
    . '{"requiredRoles":{"metrics":["editor","admin","root"]}}}}' });

$ENV{TEST_NGINX_T622_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_T622_DIR} = $Dir;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless defined $block->http_config;
    jpulse_site_id gates;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T622_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_metrics_zone jpulse 1m;
    jpulse_session on;
    jpulse_session_secret gates-secret-of-the-tests;
    jpulse_view_roots $TEST_NGINX_T622_DIR/view;
    jpulse_config $TEST_NGINX_T622_DIR/app.json;
CONF
    $block->set_value('config', <<'CONF') unless defined $block->config;
    location /api/1/health/ { jpulse_health; }
    location = /api/1/health/metrics { jpulse_metrics; }
    location = /prom { jpulse_metrics prometheus; }
    location = /prom-open {
        jpulse_session off;
        allow 127.0.0.1;
        deny all;
        jpulse_metrics prometheus;
    }
    location /api/1/cache/ { jpulse_cache_api; }
    location /open/api/1/cache/ { jpulse_session off; jpulse_cache_api; }
    location /api/1/app-cluster/ { jpulse_app_cluster_api; }
CONF
    $block->set_value('wait_for_log', "command connection ready\n")
        unless defined $block->wait_for_log;
    $block->set_value('no_error_log', "[error]\n[alert]")
        unless defined $block->no_error_log || defined $block->error_log;
});

plan tests => repeat_each() * 55;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the cache API: anonymous 401 NOT_AUTHENTICATED, a user 403 NOT_AUTHORIZED, both in jPulse's envelope with the body of the POST discarded (keep-alive); an admin is served
--- pipelined_requests eval
["POST /api/1/cache/refresh/view\n" . ('{"x":1}' x 500), "POST /api/1/cache/refresh",
 "GET /api/1/cache/stats", "GET /api/1/cache/stats"]
--- more_headers eval
["", "Cookie: $main::C{bob}", "Cookie: $main::C{eve}", "Cookie: $main::C{ada}"]
--- error_code eval
[401, 403, 403, 200]
--- response_body_like eval
['^\{"success":false,"error":"Authentication required","path":"/api/1/cache/refresh/view","code":"NOT_AUTHENTICATED"\}\z',
 '^\{"success":false,"error":"Admin access required","path":"/api/1/cache/refresh","code":"NOT_AUTHORIZED"\}\z',
 '^\{"success":false,"error":"Admin access required","path":"/api/1/cache/stats","code":"NOT_AUTHORIZED"\}\z',
 '^\{"success":true,"stats":\{']



=== TEST 2: the cache API where sessions are off: as before (nginx's allow/deny decide); unknown endpoints and wrong methods answer before the gate, as jPulse's router does
--- request eval
["GET /open/api/1/cache/stats", "GET /api/1/cache/nope", "GET /api/1/cache/refresh"]
--- error_code eval
[200, 404, 405]
--- response_body_like eval
['^\{"success":true,"stats":\{', '"code":"NOT_FOUND"', '"code":"METHOD_NOT_ALLOWED"']



=== TEST 3: metrics (JSON): anonymous and a user without a metrics role get jPulse's 200 with success false and the time only
--- request eval
["GET /api/1/health/metrics", "GET /api/1/health/metrics"]
--- more_headers eval
["", "Cookie: $main::C{bob}"]
--- error_code eval
[200, 200]
--- response_headers eval
["Content-Type: application/json; charset=utf-8", ""]
--- response_body_like eval
['^\{"success":false,"message":"Not authorized to see more jPulse Framework metrics data","data":\{"timestamp":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"\},"elapsed":\d+\}\z',
 '^\{"success":false,"message":"Not authorized to see more jPulse Framework metrics data","data":\{"timestamp":"[^"]+"\},"elapsed":\d+\}\z']



=== TEST 4: metrics (JSON): an admin sees them as they are; an editor (a metrics role, not an admin) sees jPulse's obfuscated values
--- request eval
["GET /api/1/health/metrics", "GET /api/1/health/metrics"]
--- more_headers eval
["Cookie: $main::C{ada}", "Cookie: $main::C{eve}"]
--- response_body_filters eval
JPulseTest::json_pick(qw(success data.servers.0.serverName
    data.servers.0.hostname data.servers.0.serverId data.servers.0.ip
    data.servers.0.instances.0.pid data.servers.0.instances.0.instanceName
    data.servers.0.instances.0.instanceId data.servers.0.instances.0.pm2Id))
--- response_body_like eval
['^success=true
data.servers.0.serverName=(?!\*)[^\n]+
data.servers.0.hostname=(?!\*)[^\n]+
data.servers.0.serverId=\d+
data.servers.0.ip=(?!192\.99\.99\.99)[^\n]+
data.servers.0.instances.0.pid=(?!99999\n)\d+
data.servers.0.instances.0.instanceName=[^*\n][^\n]*:100:\d+
data.servers.0.instances.0.instanceId=\d+:100:\d+
data.servers.0.instances.0.pm2Id=100
\z',
'^success=true
data.servers.0.serverName=\*\*\*\*\*\*\*\*
data.servers.0.hostname=\*\*\*\*\*\*\*\*
data.servers.0.serverId=999
data.servers.0.ip=192\.99\.99\.99
data.servers.0.instances.0.pid=99999
data.servers.0.instances.0.instanceName=\*\*\*\*\*\*\*\*:100:99999
data.servers.0.instances.0.instanceId=999:100:99999
data.servers.0.instances.0.pm2Id=100
\z']



=== TEST 5: Prometheus with sessions on: the same roles, refused as 401 or 403; with sessions off, nginx's allow/deny alone
--- request eval
["GET /prom", "GET /prom", "GET /prom", "GET /prom-open"]
--- more_headers eval
["", "Cookie: $main::C{bob}", "Cookie: $main::C{eve}", ""]
--- error_code eval
[401, 403, 200, 200]
--- response_body_like eval
['^\{"success":false,"error":"Authentication required","path":"/prom","code":"NOT_AUTHENTICATED"\}\z',
 '^\{"success":false,"error":"Not authorized to see more jPulse Framework metrics data","path":"/prom","code":"NOT_AUTHORIZED"\}\z',
 '(?m)^jpulse_info\{', '(?m)^jpulse_info\{']



=== TEST 6: health status stays public
--- request
GET /api/1/health/status
--- error_code: 200
--- response_body_like
^\{"success":true,"message":"jPulse Framework health status"



=== TEST 7: broadcast: publishing needs a signed-in user (401 UNAUTHORIZED before the channel is looked at, the body discarded); the status is public
--- pipelined_requests eval
["POST /api/1/app-cluster/broadcast/view:gates:test:hello\n{\"data\":{\"n\":1}}",
 "POST /api/1/app-cluster/broadcast/not-a-channel\n{\"data\":{}}",
 "POST /api/1/app-cluster/broadcast/view:gates:test:hello\n{\"data\":{\"n\":2}}",
 "GET /api/1/app-cluster/broadcast/status"]
--- more_headers eval
["Content-Type: application/json", "Content-Type: application/json",
 "Content-Type: application/json\nCookie: $main::C{bob}", ""]
--- error_code eval
[401, 401, 200, 200]
--- response_body_like eval
['^\{"success":false,"error":"Authentication required","path":"/api/1/app-cluster/broadcast/view:gates:test:hello","code":"UNAUTHORIZED"\}\z',
 '"code":"UNAUTHORIZED"',
 '^\{"success":true,"data":\{"channel":"view:gates:test:hello"',
 '^\{"success":true,"data":\{"instanceId"']
