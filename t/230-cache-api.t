# jpulse_cache_api: jPulse's cache endpoints. POST /api/1/cache/refresh
# (and /all, /view, /i18n, /config) marks the caches of every worker of
# the instance stale (a shared-memory counter), then, with Redis, bumps
# <ns>gen and publishes the invalidation event so that every worker of
# every instance follows; GET /api/1/cache/stats describes this worker's
# cache. Response shapes, errors, the event on the wire, a refresh reaching
# a second instance, a refresh without Redis and with Redis down.
#
# Instance A is the runner's nginx (master on, 2 workers, one nginx for
# the blocks with the same config); instance B is started beside it. Each
# page response names its worker (X-Pid). Blocks titled "BUG:" show a
# module bug each (they fail until it is fixed).
use lib 't/lib';
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'c230:prod:';
our $Dir = File::Temp::tempdir('jpulse-t230-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

# with Redis: pages from Redis, one page on disk
JPulseTest::view_tree("$Dir/view", { 'disk/index.shtml' => "<p>disk v1</p>\n" });
JPulseTest::publish_tree($Redis, $NS, { 'page/index.shtml' =>
    "<p>page v1 {{i18n.greeting}} {{string.default app.site.name \"none\"}}</p>\n" },
    event => 0);
JPulseTest::publish_i18n($Redis, $NS, 'en', '{"greeting":"hello"}', event => 0);

# without Redis: everything on disk
JPulseTest::view_tree("$Dir/d", {
    'view/page/index.shtml' => "<p>page v1 {{i18n.greeting}} {{app.site.name}}</p>\n",
    'i18n/en.json' => '{"greeting":"hello"}',
    'app.json' => '{"app":{"site":{"name":"one"}}}' });

$ENV{TEST_NGINX_T230_DIR} = $Dir;
$ENV{TEST_NGINX_T230_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $HttpConfig = <<'CONF';
    jpulse_site_id c230;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T230_REDIS_PORT;
    jpulse_view_roots $TEST_NGINX_T230_DIR/view;
    jpulse_template_check_interval 1h;
CONF

our $Config = <<'CONF';
    location /api/1/cache/ { jpulse_cache_api; }
    location / {
        add_header X-Pid $pid always;
        jpulse_render;
    }
CONF

our $DiskHttpConfig = <<'CONF';
    jpulse_view_roots $TEST_NGINX_T230_DIR/d/view;
    jpulse_config $TEST_NGINX_T230_DIR/d/app.json;
    jpulse_i18n_dir $TEST_NGINX_T230_DIR/d/i18n;
    jpulse_template_check_interval 1h;
CONF

our $Results = '"results":{"TemplateCache":{"success":true,"message":'
    . '"TemplateCache refreshed successfully"},"IncludeCache":{"success":'
    . 'true,"message":"IncludeCache refreshed successfully"},'
    . '"TranslationCache":{"success":true,"message":"TranslationCache '
    . 'refreshed successfully"},"ConfigCache":{"success":true,"message":'
    . '"ConfigCache refreshed successfully"}}';

our ($B, $Sub, $Gen, $Result);

sub main::a_port { $Test::Nginx::Socket::ServerPort }
sub main::a_log { "$Test::Nginx::Socket::ServerRoot/logs/error.log" }

sub main::a_pids {
    my ($master) = JPulseTest::_slurp(
        "$Test::Nginx::Socket::ServerRoot/logs/nginx.pid") =~ /(\d+)/;
    return [JPulseTest::nginx_pids($master)];
}

# how often $re is in $file
sub main::log_count {
    my ($file, $re) = @_;
    return scalar(() = JPulseTest::_slurp($file) =~ /$re/g);
}

# "ok" when every worker of the instance on $port answered $path with a
# body matching $re (and none did not)
sub main::serve {
    my ($port, $pids, $path, $re) = @_;
    return JPulseTest::pids_seen($port, $path, $pids,
                                 sub { $_[0] == 200 && $_[2] =~ $re });
}

sub main::gen {
    my ($g) = JPulseTest::redis_pipeline($main::Redis,
        ['HMGET', "${main::NS}gen", qw(view config i18n)]);
    return [map { $_ // 0 } @$g];
}

sub main::gen_delta {
    my ($before) = @_;
    my $now = main::gen();
    return sprintf "gen: view +%d, config +%d, i18n +%d\n",
        map { $now->[$_] - $before->[$_] } 0 .. 2;
}

sub main::no_duration {
    my ($body) = @_;
    $body =~ s/"duration":\d+/"duration":N/g;
    return $body;
}

# the next event on $main::Sub, as "channel: JSON with data canonical"
sub main::event {
    my $m = JPulseTest::redis_next_message($main::Sub, 2)
        or return "no event\n";
    my $j = eval { JSON::PP->new->decode($m->[1]) }
        or return "$m->[0]: invalid JSON: $m->[1]\n";
    return "$m->[0]: channel=$j->{channel} data="
        . JSON::PP->new->canonical->encode($j->{data}) . "\n";
}

repeat_each(1);
master_on();
workers(2);

plan tests => repeat_each() * 69;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: stats: jPulse's shape, plus this worker's cache (one
keep-alive connection: the same worker served the page twice)
--- pre_request
JPulseTest::poll_until(5, sub {
    main::log_count(main::a_log(), qr/pub\/sub connection ready/) >= 2
    && main::log_count(main::a_log(), qr/command connection ready/) >= 2 });
--- pipelined_requests eval
["GET /page/", "GET /page/", "GET /api/1/cache/stats"]
--- response_body_like eval
['^<p>page v1 hello none</p>$', '^<p>page v1 hello none</p>$',
 '^\{"success":true,"stats":\{"totalCaches":4,"totalFilesCached":2,"totalDirectoriesCached":0,"caches":\{"TemplateCache":\{"enabled":true,"interval":3600000,"fileCount":1,"config":\{"enabled":true,"checkInterval":3600000\}\},"IncludeCache":\{"enabled":true,"interval":3600000,"fileCount":0,"directoryCount":0,"config":\{"enabled":true,"checkInterval":3600000\}\},"TranslationCache":\{"enabled":true,"interval":3600000,"fileCount":1,"config":\{"enabled":true,"checkInterval":3600000\}\},"ConfigCache":\{"enabled":true,"interval":3600000,"fileCount":0,"config":\{"enabled":true,"checkInterval":3600000\}\}\},"worker":\{"pid":\d+,"bytes":[1-9]\d*,"maxBytes":33554432,"entries":[1-9]\d*,"hits":1,"misses":[1-9]\d*,"evictions":0,"viewSets":\[\{"checkInterval":3600000,"maxBytes":33554432,"bytes":[1-9]\d*,"entries":[1-9]\d*\}\]\},"redis":\{"configured":true,"available":true\}\},"duration":\d+\}$']
--- response_headers eval
["Content-Type: text/html; charset=utf-8",
 "Content-Type: text/html; charset=utf-8",
 "Content-Type: application/json; charset=utf-8"]
--- no_error_log
[error]



=== TEST 2: wrong methods: 405 with Allow; unknown endpoints: 404 NOT_FOUND;
both in jPulse's error envelope
--- request eval
["GET /api/1/cache/refresh", "PUT /api/1/cache/refresh/view\n{}",
 "POST /api/1/cache/stats", "DELETE /api/1/cache/refresh/config",
 "GET /api/1/cache/nope", "POST /api/1/cache/refresh/bogus",
 "POST /api/1/cache/refreshall", "GET /api/1/cache/"]
--- error_code eval
[405, 405, 405, 405, 404, 404, 404, 404]
--- response_headers eval
["Allow: POST", "Allow: POST", "Allow: GET, HEAD", "Allow: POST",
 "!Allow", "!Allow", "!Allow", "!Allow"]
--- response_body eval
['{"success":false,"error":"Method not allowed","path":"/api/1/cache/refresh","code":"METHOD_NOT_ALLOWED"}',
 '{"success":false,"error":"Method not allowed","path":"/api/1/cache/refresh/view","code":"METHOD_NOT_ALLOWED"}',
 '{"success":false,"error":"Method not allowed","path":"/api/1/cache/stats","code":"METHOD_NOT_ALLOWED"}',
 '{"success":false,"error":"Method not allowed","path":"/api/1/cache/refresh/config","code":"METHOD_NOT_ALLOWED"}',
 '{"success":false,"error":"No such cache endpoint: expected POST refresh[/view|/i18n|/config] or GET stats","path":"/api/1/cache/nope","code":"NOT_FOUND"}',
 '{"success":false,"error":"No such cache endpoint: expected POST refresh[/view|/i18n|/config] or GET stats","path":"/api/1/cache/refresh/bogus","code":"NOT_FOUND"}',
 '{"success":false,"error":"No such cache endpoint: expected POST refresh[/view|/i18n|/config] or GET stats","path":"/api/1/cache/refreshall","code":"NOT_FOUND"}',
 '{"success":false,"error":"No such cache endpoint: expected POST refresh[/view|/i18n|/config] or GET stats","path":"/api/1/cache/","code":"NOT_FOUND"}']
--- no_error_log
[error]



=== TEST 3: a template changed in Redis with neither event nor generation
bump stays stale in both instances, until POST refresh/view on A: then
all four workers serve it
--- pre_request
$main::B = JPulseTest::nginx_start(workers => 2,
    http => "jpulse_site_id c230;
             jpulse_redis 127.0.0.1:$main::Redis->{port};
             jpulse_view_roots $main::Dir/view;
             jpulse_template_check_interval 1h;",
    config => 'location /api/1/cache/ { jpulse_cache_api; }
               location / { add_header X-Pid $pid always; jpulse_render; }');
my $b_log = "$main::B->{dir}/logs/error.log";
JPulseTest::poll_until(5, sub {
    main::log_count($b_log, qr/pub\/sub connection ready/) >= 2
    && main::log_count($b_log, qr/command connection ready/) >= 2 });
my $b_pids = [JPulseTest::nginx_pids($main::B->{pid})];
my $v1 = qr{^<p>page v1 hello none</p>$};
my $out = "warm: A " . main::serve(main::a_port(), main::a_pids(), '/page/', $v1)
        . ", B " . main::serve($main::B->{port}, $b_pids, '/page/', $v1) . "\n";
JPulseTest::publish_template($main::Redis, $main::NS, 'page/index.shtml',
    "<p>page v2 {{i18n.greeting}} {{string.default app.site.name \"none\"}}</p>\n",
    gen => 0, event => 0);
$out .= "silent change: A " . main::serve(main::a_port(), main::a_pids(), '/page/', $v1)
      . ", B " . main::serve($main::B->{port}, $b_pids, '/page/', $v1) . "\n";
$main::Result = $out;
--- request
POST /api/1/cache/refresh/view
--- response_body_filters eval
sub {
    my ($receivers) = $_[0] =~ /"receivers":(\d+)/;
    # every subscriber has the event once Redis answers again
    JPulseTest::redis_sync($main::Redis);
    my $v2 = qr{^<p>page v2 hello none</p>$};
    return $main::Result . "receivers: $receivers\n"
        . "after refresh/view on A: A "
        . main::serve(main::a_port(), main::a_pids(), '/page/', $v2) . ", B "
        . main::serve($main::B->{port},
                      [JPulseTest::nginx_pids($main::B->{pid})], '/page/', $v2)
        . "\n";
}
--- response_body
warm: A ok, B ok
silent change: A ok, B ok
receivers: 4
after refresh/view on A: A ok, B ok
--- no_error_log
[error]



=== TEST 4: translations changed in Redis without event: POST refresh/i18n
on B, and all four workers have them on their next request
--- pre_request
JPulseTest::publish_i18n($main::Redis, $main::NS, 'en', '{"greeting":"moin"}',
                         gen => 0, event => 0);
my $b_pids = [JPulseTest::nginx_pids($main::B->{pid})];
my $old = qr{^<p>page v2 hello none</p>$};
$main::Result = "silent change: A "
    . main::serve(main::a_port(), main::a_pids(), '/page/', $old)
    . ", B " . main::serve($main::B->{port}, $b_pids, '/page/', $old) . "\n";
my ($status, undef, $body) = JPulseTest::http_get($main::B->{port},
    '/api/1/cache/refresh/i18n', method => 'POST');
$main::Result .= "refresh/i18n on B: $status\n";
JPulseTest::redis_sync($main::Redis);
--- request
GET /page/
--- response_body_filters eval
sub {
    my $new = qr{^<p>page v2 moin none</p>$};
    return $main::Result . "A "
        . main::serve(main::a_port(), main::a_pids(), '/page/', $new) . ", B "
        . main::serve($main::B->{port},
                      [JPulseTest::nginx_pids($main::B->{pid})], '/page/', $new)
        . "\n";
}
--- response_body
silent change: A ok, B ok
refresh/i18n on B: 200
A ok, B ok
--- no_error_log
[error]



=== TEST 5: <ns>cfg:app written without event: POST refresh/config on A,
and all four workers follow (once the config is read back)
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS, gen => 0, event => 0,
                           app => '{"app":{"site":{"name":"two"}}}');
my ($status) = JPulseTest::http_get(main::a_port(), '/api/1/cache/refresh/config',
                                    method => 'POST');
my $new = qr{^<p>page v2 moin two</p>$};
my $all = sub {
    "A " . main::serve(main::a_port(), main::a_pids(), '/page/', $new) . ", B "
    . main::serve($main::B->{port}, [JPulseTest::nginx_pids($main::B->{pid})],
                  '/page/', $new) . "\n" };
JPulseTest::poll_until(2, sub { $all->() eq "A ok, B ok\n" });
$main::Result = "refresh/config on A: $status\n" . $all->();
JPulseTest::nginx_stop($main::B);
--- request
GET /page/
--- response_body_filters eval
sub { $main::Result }
--- response_body
refresh/config on A: 200
A ok, B ok
--- no_error_log
[error]



=== TEST 6: POST refresh: all four caches, published to the cluster: <ns>gen
bumped for every kind, the event on <ns>bc:controller:cache:invalidate:all
--- pre_request
$main::Sub = JPulseTest::redis_psubscribe($main::Redis,
    "${main::NS}bc:controller:cache:invalidate:*");
$main::Gen = main::gen();
--- request
POST /api/1/cache/refresh
--- response_body_filters eval
sub { main::no_duration($_[0]) . "\n" . main::event()
      . main::gen_delta($main::Gen) }
--- response_body eval
'{"success":true,"message":"Refreshed 4 cache types",' . $main::Results
. ',"cluster":{"published":true,"receivers":3},"duration":N}
c230:prod:bc:controller:cache:invalidate:all: channel=controller:cache:invalidate:all data={"source":"cache-api","type":"all"}
gen: view +1, config +1, i18n +1
'
--- no_error_log
[error]



=== TEST 7: the event's instanceId is this instance's and its
timestamp milliseconds since the epoch (now)
--- request
POST /api/1/cache/refresh/view
--- response_body_filters eval
sub {
    my $m = JPulseTest::redis_next_message($main::Sub, 2)
        or return "no event\n";
    close $main::Sub;
    my $j = JSON::PP->new->decode($m->[1]);
    my $now = Time::HiRes::time() * 1000;
    return "instanceId: "
        . ($j->{instanceId} =~ /^\d+:100:\d+$/ ? 'ok' : $j->{instanceId})
        . "\ntimestamp: "
        . (abs($j->{timestamp} - $now) < 60000 ? 'now'
                                               : "$j->{timestamp}, not $now")
        . "\n";
}
--- response_body
instanceId: ok
timestamp: now
--- no_error_log
[error]



=== TEST 8: every refresh endpoint: its message and results; a trailing
slash is the same endpoint; <ns>gen bumped per kind
--- pre_request
$main::Gen = main::gen();
--- request eval
["POST /api/1/cache/refresh/all", "POST /api/1/cache/refresh/view",
 "POST /api/1/cache/refresh/i18n", "POST /api/1/cache/refresh/config",
 "POST /api/1/cache/refresh/view/\n{\"ignored\":\"body\"}"]
--- response_body_filters eval
[\&main::no_duration, \&main::no_duration, \&main::no_duration,
 \&main::no_duration,
 sub { main::no_duration($_[0]) . "\n" . main::gen_delta($main::Gen) }]
--- response_body eval
['{"success":true,"message":"Refreshed 4 cache types",' . $main::Results
 . ',"cluster":{"published":true,"receivers":2},"duration":N}',
 '{"success":true,"message":"Refreshed view caches","results":{"TemplateCache":{"success":true,"message":"TemplateCache refreshed successfully"},"IncludeCache":{"success":true,"message":"IncludeCache refreshed successfully"}},"cluster":{"published":true,"receivers":2},"duration":N}',
 '{"success":true,"message":"TranslationCache refreshed successfully","cluster":{"published":true,"receivers":2},"duration":N}',
 '{"success":true,"message":"ConfigCache refreshed successfully","cluster":{"published":true,"receivers":2},"duration":N}',
 '{"success":true,"message":"Refreshed view caches","results":{"TemplateCache":{"success":true,"message":"TemplateCache refreshed successfully"},"IncludeCache":{"success":true,"message":"IncludeCache refreshed successfully"}},"cluster":{"published":true,"receivers":2},"duration":N}
gen: view +3, config +2, i18n +2
']
--- no_error_log
[error]



=== TEST 9: Redis configured but down: POST refresh answers 500
REFRESH_ERROR, yet every worker of this instance did refresh (a disk page
edited under a 1 h check interval shows in both)
--- pre_request
# Redis first: once it is gone no generation polling can flush anything
JPulseTest::redis_stop($main::Redis);
JPulseTest::poll_until(3, sub {
    (JPulseTest::http_get(main::a_port(), '/api/1/cache/stats'))[2]
        =~ /"available":false/ });
$main::Result = "warm: "
    . main::serve(main::a_port(), main::a_pids(), '/disk/', qr/disk v1/) . "\n";
JPulseTest::view_tree("$main::Dir/view", { 'disk/index.shtml' => "<p>disk v2</p>\n" });
$main::Result .= "edited: "
    . main::serve(main::a_port(), main::a_pids(), '/disk/', qr/disk v1/) . "\n";
--- request
POST /api/1/cache/refresh
--- error_code: 500
--- response_body_filters eval
sub { $_[0] . "\nafter the refresh: "
      . main::serve(main::a_port(), main::a_pids(), '/disk/', qr/disk v2/)
      . "\n" . $main::Result }
--- response_body
{"success":false,"error":"Refreshed on this instance only: Redis is unavailable, other instances catch up through the generation counter once it is back","path":"/api/1/cache/refresh","code":"REFRESH_ERROR"}
after the refresh: ok
warm: ok
edited: ok
--- no_error_log
[crit]



=== TEST 10: without Redis: stats say so; a refresh is local (not
published) and reaches every worker; each kind refreshes only its own
cache (templates, then translations, then the config file)
--- http_config eval: $::DiskHttpConfig
--- pre_request
my $out = "warm: "
    . main::serve(main::a_port(), main::a_pids(), '/page/',
                  qr{^<p>page v1 hello one</p>$}) . "\n";
JPulseTest::view_tree("$main::Dir/d", {
    'view/page/index.shtml' => "<p>page v2 {{i18n.greeting}} {{app.site.name}}</p>\n",
    'i18n/en.json' => '{"greeting":"moin"}',
    'app.json' => '{"app":{"site":{"name":"two"}}}' });
$out .= "edited: " . main::serve(main::a_port(), main::a_pids(), '/page/',
                                 qr{^<p>page v1 hello one</p>$}) . "\n";
for my $step (['view', qr{^<p>page v2 hello one</p>$}],
              ['i18n', qr{^<p>page v2 moin one</p>$}],
              ['config', qr{^<p>page v2 moin two</p>$}]) {
    my (undef, undef, $body) = JPulseTest::http_get(main::a_port(),
        "/api/1/cache/refresh/$step->[0]", method => 'POST');
    $body =~ s/.*("cluster":\{[^}]*\}).*/$1/;
    $out .= "refresh/$step->[0]: $body, "
          . main::serve(main::a_port(), main::a_pids(), '/page/', $step->[1])
          . "\n";
}
$main::Result = $out;
--- request
GET /api/1/cache/stats
--- response_body_filters eval
sub { $main::Result . ($_[0] =~ /("redis":\{[^}]*\})/ ? $1 : $_[0]) . "\n" }
--- response_body
warm: ok
edited: ok
refresh/view: "cluster":{"published":false,"receivers":0}, ok
refresh/i18n: "cluster":{"published":false,"receivers":0}, ok
refresh/config: "cluster":{"published":false,"receivers":0}, ok
"redis":{"configured":false,"available":false}
--- no_error_log
[error]



=== TEST 11: an instance with jpulse_redis and the cache API but no
view roots of its own publishes in the namespace too (<ns>gen,
<ns>bc:controller:cache:invalidate:all), never outside it
--- http_config eval: $::DiskHttpConfig
--- pre_request
JPulseTest::redis_start($main::Redis);
my $n = JPulseTest::nginx_start(workers => 1,
    http => "jpulse_site_id c230;
             jpulse_redis 127.0.0.1:$main::Redis->{port};",
    config => 'location /api/1/cache/ { jpulse_cache_api; }');
JPulseTest::poll_until(5, sub {
    JPulseTest::_slurp("$n->{dir}/logs/error.log")
        =~ /command connection ready(?s:.*)pub\/sub connection ready|pub\/sub connection ready(?s:.*)command connection ready/ });
$main::Sub = JPulseTest::redis_psubscribe($main::Redis, '*');
my ($status) = JPulseTest::http_get($n->{port}, '/api/1/cache/refresh',
                                    method => 'POST');
# the first message but the instance's own heartbeat (published when its
# connections are ready and on a timer: under load it can come after the
# psubscribe, before the refresh's event)
my ($m, $until) = (undef, Time::HiRes::time() + 2);
while (!$m || $m->[0] =~ /^\Q${main::NS}\Ebc:controller:health:metrics:/) {
    my $left = $until - Time::HiRes::time();
    $m = $left > 0 ? JPulseTest::redis_next_message($main::Sub, $left) : undef;
    last unless $m;
}
my ($ns_gen, $bare_gen) = JPulseTest::redis_pipeline($main::Redis,
    ['EXISTS', "${main::NS}gen"], ['EXISTS', 'gen']);
$main::Result = "refresh: $status\nevent on: " . ($m ? $m->[0] : 'none')
    . "\n${main::NS}gen: $ns_gen\ngen: $bare_gen\n";
JPulseTest::nginx_stop($n);
--- request
GET /api/1/cache/stats
--- response_body_filters eval
sub { $main::Result }
--- response_body
refresh: 200
event on: c230:prod:bc:controller:cache:invalidate:all
c230:prod:gen: 1
gen: 0
