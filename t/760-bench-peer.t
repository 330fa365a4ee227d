# The bench peer (bench/peers/node, issue 15) serves what nginx serves, so
# that bench/scenarios/peer-*.conf compare the same work: bench/site's
# pages rendered by jpulse_render and by the peer's handlebars.js
# translations are the same bytes (anonymous, with ?q=, and for the
# signed-in user of bench/site/session, whose session both read from the
# same Redis with the same secret); its health answers have jPulse's
# shape, as jpulse_health's and jpulse_metrics's do; /static/ serves a
# file. No timing here: bench/run measures.
use strict;
use warnings;

use lib 't/lib';
use File::Spec ();
use File::Temp ();
use JSON::PP ();
use JPulseTest qw(redis_start);
use BenchPeer;
use Test::Nginx::Socket;

my $Top = File::Spec->rel2abs('.');
our $Bench = "$Top/bench";
our $Redis = redis_start();

# the signed-in user of the session scenarios, in this suite's Redis
system("$Bench/site/session", $Redis->{port}) == 0
    or die "bench/site/session $Redis->{port} failed\n";
our $Cookie = `$Bench/site/session --cookie`;
chomp $Cookie;
$Cookie =~ s/^Cookie: // or die "bench/site/session --cookie: $Cookie\n";
$ENV{TEST_NGINX_BENCH_COOKIE} = $Cookie;

our $Static = File::Temp::tempdir('jpulse-t760-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
open my $fh, '>', "$Static/hello.txt" or die "$Static/hello.txt: $!";
print $fh "hello from the bench peer\n";
close $fh;

our $Peer = BenchPeer->start(args => [
    '--redis', "127.0.0.1:$Redis->{port}", '--site-id', 'jpulse',
    '--mode', 'prod', '--secret', 'bench-session-secret',
    '--static', $Static]);

# what the peer sends, fetched once: each block compares nginx's answer
# with it (a failure shows both texts)
our %P;
for (['tides', '/tides/', ''], ['search', '/search/?q=tide', ''],
     ['table', '/table/', ''], ['account', '/account/', "Cookie: $Cookie\r\n"],
     ['anon', '/account/', ''])
{
    my ($name, $path, $headers) = @$_;
    my ($status, $h, $body) = $Peer->get($path, $headers);
    die "bench peer: GET $path: $status $body\n" . $Peer->log
        unless $status == 200;
    $P{$name} = $body;
}

# the key paths of a JSON answer, arrays by their first element, sorted
sub shape {
    my ($v, $prefix, $depth) = @_;
    return () if $depth > 3;
    if (ref $v eq 'HASH') {
        return map { my $p = $prefix eq '' ? $_ : "$prefix.$_";
                     ($p, shape($v->{$_}, $p, $depth + 1)) } sort keys %$v;
    }
    if (ref $v eq 'ARRAY' && @$v) {
        return shape($v->[0], "$prefix.0", $depth);
    }
    return ();
}

sub status_shape {
    my $doc = eval { JSON::PP->new->decode($_[0]) } or return "invalid JSON: $_[0]";
    return join("\n", shape($doc, '', 0)) . "\n";
}

# jPulse's fields of GET /api/1/health/metrics (contract 1.3) that both
# must have; each side has a few of its own besides (nginx: workers,
# nginxVersion; Node: database), which are not checked
our @Metrics = qw(success message elapsed data.timestamp
    data.statistics.totalServers data.statistics.totalInstances
    data.statistics.totalProcesses data.statistics.runningProcesses
    data.statistics.stoppedProcesses data.statistics.erroredProcesses
    data.statistics.totalWebSocketConnections
    data.statistics.totalWebSocketMessages
    data.statistics.totalWebSocketNamespaces
    data.statistics.webSocketNamespaces data.statistics.components
    data.statistics.lastUpdated
    data.servers.0.serverName data.servers.0.serverId data.servers.0.hostname
    data.servers.0.ip data.servers.0.uptime data.servers.0.uptimeFormatted
    data.servers.0.platform data.servers.0.arch data.servers.0.nodeVersion
    data.servers.0.cpus data.servers.0.loadAverage data.servers.0.freeMemory
    data.servers.0.totalMemory
    data.servers.0.instances.0.pid data.servers.0.instances.0.pm2Id
    data.servers.0.instances.0.port data.servers.0.instances.0.instanceName
    data.servers.0.instances.0.instanceId
    data.servers.0.instances.0.pm2Available data.servers.0.instances.0.status
    data.servers.0.instances.0.uptime
    data.servers.0.instances.0.uptimeFormatted
    data.servers.0.instances.0.memory.used
    data.servers.0.instances.0.memory.total
    data.servers.0.instances.0.cpu data.servers.0.instances.0.restarts
    data.servers.0.instances.0.jPulse.version
    data.servers.0.instances.0.site data.servers.0.instances.0.environment
    data.servers.0.instances.0.metrics.requestsPerMin
    data.servers.0.instances.0.metrics.errorsPerMin
    data.servers.0.instances.0.metrics.errorRate
    data.servers.0.instances.0.websockets
    data.servers.0.instances.0.processInfo.memoryUsage
    data.servers.0.instances.0.components);

sub metrics_missing {
    my $doc = eval { JSON::PP->new->decode($_[0]) } or return "invalid JSON: $_[0]";
    return "success is not true\n" unless $doc->{success};
    my @missing;
    PATH: for my $path (@Metrics) {
        my $v = $doc;
        for my $k (split /\./, $path) {
            if (ref $v eq 'ARRAY' && $k =~ /^\d+$/ && $k < @$v) {
                $v = $v->[$k];
            } elsif (ref $v eq 'HASH' && exists $v->{$k}) {
                $v = $v->{$k};
            } else {
                push @missing, $path;
                next PATH;
            }
        }
    }
    return @missing ? "missing: @missing\n" : "jPulse's fields: all there\n";
}

our $StatusShape = <<'EOF';
data
data.database
data.environment
data.redis
data.release
data.timestamp
data.uptime
data.version
message
success
EOF

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value(http_config => <<"CONF") unless defined $block->http_config;
    jpulse_redis 127.0.0.1:$Redis->{port};
    jpulse_heartbeat off;
    jpulse_metrics_zone jpulse 1m;
    jpulse_session on;
    jpulse_session_secret bench-session-secret;
    jpulse_view_roots $Bench/site/site/webapp/view $Bench/site/webapp/view;
    jpulse_config $Bench/site/app.json;
    jpulse_i18n_dir $Bench/site/webapp/translations;
CONF
    $block->set_value(config => <<'CONF') unless defined $block->config;
    location = /api/1/health/status { jpulse_health; }
    location = /api/1/health/metrics { jpulse_session off; jpulse_metrics; }
    location /peer/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_BENCH_PEER_PORT/;
    }
    location / { jpulse_render; }
CONF
    # the worker's Redis connection first: a worker still connecting takes
    # everyone for anonymous
    $block->set_value(wait_for_log => "command connection ready\n")
        unless defined $block->wait_for_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: /tides/: nginx's render and the peer's are the same bytes
--- request
GET /tides/
--- response_body eval
$::P{tides}
--- no_error_log
[error]



=== TEST 2: the page is bench/site's (so TEST 1 compares something): the table, the i18n with expressions, the anonymous header
--- request
GET /peer/tides/
--- response_body_like
<html lang="en" data-theme="light">.*<a href="/tides/" class="active">Tide tables</a>.*<a href="/auth/login\.shtml">Sign in</a>.*<div class="jp-card jp-user-card">Guest</div>.*Water levels of the last 24 hours, 24 readings, as published by <b>Tides</b>.*<td>24</td><td>Wittdün</td>.*<p v-else>\{\{ selected\.station \}\}.*roles: \[\],\n    isAdmin: false,



=== TEST 3: /search/?q=tide (rendered on every request on both sides): the same bytes, the query in them
--- request
GET /search/?q=tide
--- response_body eval
$::P{search}
--- response_body_like
<p class="query">tide</p>



=== TEST 4: /table/: the same bytes
--- request
GET /table/
--- response_body eval
$::P{table}



=== TEST 5: /account/ with bench/site/session's cookie: both read the session from Redis and render it for Jane Smith, byte for byte
--- request
GET /account/
--- more_headers
Cookie: $TEST_NGINX_BENCH_COOKIE
--- response_body eval
$::P{account}
--- response_body_like
<html lang="en" data-theme="dark">.*<span class="jp-user" title="jsmith">JS</span>.*<p class="account">Signed in as Jane Smith \(jsmith, JS\).*<span class="role">editor</span>.*roles: \["user","admin","editor"\],\n    isAdmin: true,



=== TEST 6: /account/ without the cookie: anonymous on both sides
--- request
GET /account/
--- response_body eval
$::P{anon}
--- response_body_like
<p class="account">sailor



=== TEST 7: the peer's session is the one in Redis: a cookie signed with another secret is anonymous there too
--- request
GET /peer/account/
--- more_headers
Cookie: connect.sid=s%3ABenchSession0123456789abcdefABCD.AAAAhnu7EQV16QX7YcQfSuBPE3HXYC2HYJx1rUoz2K%2Fw
--- response_body_like
<p class="account">sailor
--- response_body_unlike
Jane



=== TEST 8: health status: jPulse's shape on nginx
--- request
GET /api/1/health/status
--- response_body_filters eval
\&::status_shape
--- response_body eval
$::StatusShape



=== TEST 9: health status: the same shape on the peer, its values
--- request
GET /peer/api/1/health/status
--- response_body_filters eval
[\&::status_shape]
--- response_body eval
$::StatusShape



=== TEST 10: the peer's status values: jPulse's version from app.json, prod, Redis connected
--- request
GET /peer/api/1/health/status
--- response_body_filters eval
JPulseTest::json_pick('success', 'message', 'data.version', 'data.environment', 'data.redis', 'data.database')
--- response_body
success=true
message=jPulse Framework health status
data.version=1.7.17
data.environment=prod
data.redis=connected
data.database=not configured



=== TEST 11: health metrics: jPulse's fields on nginx
--- request
GET /api/1/health/metrics
--- response_body_filters eval
\&::metrics_missing
--- response_body
jPulse's fields: all there



=== TEST 12: health metrics: jPulse's fields on the peer
--- request
GET /peer/api/1/health/metrics
--- response_body_filters eval
\&::metrics_missing
--- response_body
jPulse's fields: all there



=== TEST 13: /static/ on the peer serves the file
--- request
GET /peer/static/hello.txt
--- response_body
hello from the bench peer



=== TEST 14: a page that is not there: 404 from the peer
--- request
GET /peer/nowhere/
--- error_code: 404
--- response_body_like
"code":"NOT_FOUND"
