# Fields that say what is true (docs/directives.md, jpulse_cache_api and
# jpulse_metrics): cache stats' enabled, interval, fileCount and
# directoryCount against a known configuration (two view sets with
# different check intervals, one config file, known pages, includes,
# translations and listings); metrics without a "database" this instance
# does not have, and a same-host peer's database filling the server entry.
use lib 't/lib';
use JPulseTest qw(redis_start);
use Sys::Hostname ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Dir = File::Temp::tempdir('jpulse-t455-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

# set A (2 s): a page with an include, a listing and a translation, and
# the config file; set B (5 s, declared last): one page, no config
JPulseTest::view_tree("$Dir/ra", {
    'a/index.shtml' => '<p>{{i18n.greeting}} {{file.include "inc/part.tmpl"}}'
        . '{{#each file.list "lists/*.txt"}}[{{this}}]{{/each}}</p>' . "\n",
    'inc/part.tmpl' => "part",
    'lists/one.txt' => "1",
    'lists/two.txt' => "2" });
JPulseTest::view_tree("$Dir/rb", { 'b/index.shtml' => "<p>b</p>\n" });
JPulseTest::view_tree("$Dir/etc", {
    'i18n/en.json' => '{"greeting":"hello"}',
    'app.json' => '{"app":{"site":{"name":"one"}}}' });

$ENV{TEST_NGINX_T455_DIR} = $Dir;
$ENV{TEST_NGINX_T455_REDIS_PORT} = $Redis->{port};

repeat_each(1);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: cache stats of two view sets: the shortest interval, each set's
own, files by kind, the one listing, one config file (not one per set)
--- config
    location /api/1/cache/ { jpulse_cache_api; }
    location /a/ {
        jpulse_view_roots $TEST_NGINX_T455_DIR/ra;
        jpulse_config $TEST_NGINX_T455_DIR/etc/app.json;
        jpulse_i18n_dir $TEST_NGINX_T455_DIR/etc/i18n;
        jpulse_template_check_interval 2s;
        jpulse_render;
    }
    location /b/ {
        jpulse_view_roots $TEST_NGINX_T455_DIR/rb;
        jpulse_template_check_interval 5s;
        jpulse_render;
    }
--- pipelined_requests eval
["GET /a/", "GET /b/", "GET /api/1/cache/stats"]
--- response_body_filters eval
[undef, undef, JPulseTest::json_pick(qw(
    stats.totalFilesCached stats.totalDirectoriesCached
    stats.caches.TemplateCache.enabled stats.caches.TemplateCache.interval
    stats.caches.TemplateCache.fileCount
    stats.caches.TemplateCache.directoryCount
    stats.caches.IncludeCache.interval stats.caches.IncludeCache.fileCount
    stats.caches.IncludeCache.directoryCount
    stats.caches.TranslationCache.fileCount
    stats.caches.ConfigCache.enabled stats.caches.ConfigCache.fileCount
    stats.caches.ConfigCache.directoryCount
    stats.caches.ConfigCache.config
    stats.worker.viewSets.0.checkInterval stats.worker.viewSets.1.checkInterval
    stats.worker.viewSets.2))]
--- response_body eval
["<p>hello part[lists/one.txt][lists/two.txt]</p>\n", "<p>b</p>\n",
"stats.totalFilesCached=5
stats.totalDirectoriesCached=1
stats.caches.TemplateCache.enabled=true
stats.caches.TemplateCache.interval=2000
stats.caches.TemplateCache.fileCount=2
stats.caches.TemplateCache.directoryCount=(missing)
stats.caches.IncludeCache.interval=2000
stats.caches.IncludeCache.fileCount=1
stats.caches.IncludeCache.directoryCount=1
stats.caches.TranslationCache.fileCount=1
stats.caches.ConfigCache.enabled=true
stats.caches.ConfigCache.fileCount=1
stats.caches.ConfigCache.directoryCount=(missing)
stats.caches.ConfigCache.config={\"checkInterval\":2000,\"enabled\":true}
stats.worker.viewSets.0.checkInterval=2000
stats.worker.viewSets.1.checkInterval=5000
stats.worker.viewSets.2=(missing)
"]
--- no_error_log
[error]



=== TEST 2: no view set: no cache is enabled, there is no interval
--- config
    location /api/1/cache/ { jpulse_cache_api; }
--- request
GET /api/1/cache/stats
--- response_body_filters eval
JPulseTest::json_pick(qw(stats.totalFilesCached
    stats.caches.TemplateCache.enabled stats.caches.TemplateCache.interval
    stats.caches.ConfigCache.enabled stats.caches.ConfigCache.fileCount
    stats.caches.ConfigCache.config stats.worker.viewSets))
--- response_body
stats.totalFilesCached=0
stats.caches.TemplateCache.enabled=false
stats.caches.TemplateCache.interval=null
stats.caches.ConfigCache.enabled=false
stats.caches.ConfigCache.fileCount=0
stats.caches.ConfigCache.config={"checkInterval":null,"enabled":false}
stats.worker.viewSets=[]



=== TEST 3: metrics: no "database" for an instance without one
--- http_config
    jpulse_metrics_zone jpulse 1m;
--- config
    location = /m { jpulse_metrics; }
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.servers.0.hostname data.servers.0.database
    data.servers.0.instances.0.pm2Id data.servers.0.instances.0.database))
--- response_body eval
"data.servers.0.hostname=" . Sys::Hostname::hostname() . "
data.servers.0.database=(missing)
data.servers.0.instances.0.pm2Id=100
data.servers.0.instances.0.database=(missing)
"



=== TEST 4: ... while a peer on the same host that has one (a registered
heartbeat) describes the server's database
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T455_REDIS_PORT;
    jpulse_heartbeat interval=200ms ttl=1s;
--- config
    location = /m { jpulse_metrics; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
my $host = Sys::Hostname::hostname();
JPulseTest::redis_command($main::Redis, 'SET',
    'jpulse:prod:metrics:instance:5:0:55',
    qq({"hostname":"$host","database":{"type":"MongoDB","status":"connected"},)
    . '"totalProcesses":1,"runningProcesses":1,"instances":[{"pid":55,'
    . '"pm2Id":0,"instanceId":"5:0:55","database":{"status":"connected"}}]}',
    'PX', 60000);
JPulseTest::redis_cli($main::Redis, 'ZADD', 'jpulse:prod:metrics:registry',
    int(Time::HiRes::time() * 1000) + 60000, '5:0:55');
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.totalServers
    data.servers.0.database data.servers.0.instances.0.database
    data.servers.0.instances.1.database))
--- response_body
data.statistics.totalServers=1
data.servers.0.database={"status":"connected","type":"MongoDB"}
data.servers.0.instances.0.database=(missing)
data.servers.0.instances.1.database={"status":"connected"}
--- no_error_log
[error]
