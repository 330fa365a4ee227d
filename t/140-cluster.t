# The cluster view: heartbeats in Redis (one per instance, with a TTL,
# written by one worker), /api/1/health/metrics aggregating every live
# instance, a graceful stop removing the heartbeat at once, a killed
# instance expiring, and a reload under load losing nothing. Blocks share
# one nginx (TEST_NGINX_FORCE_RESTART_ON_TEST=0); other instances are
# started beside it.
use lib 't/lib';
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our ($Second, $Third, $Failed);

$ENV{TEST_NGINX_CL_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our $PeerHttp = <<"HTTP";
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$Redis->{port};
    jpulse_heartbeat interval=200ms ttl=1s;
HTTP

# the keys of the cluster, with pids and TTLs made comparable
sub main::cluster_keys {
    my @keys = sort split /\n/, JPulseTest::redis_cli($main::Redis, '--scan',
                                              '--pattern', 'jpulse:prod:*');
    my $out = '';
    for my $k (@keys) {
        my $ttl = JPulseTest::redis_cli($main::Redis, 'PTTL', $k);
        chomp $ttl;
        (my $name = $k) =~ s/\d+:100:\d+$/ID/;
        $out .= "$name ttl=" . ($ttl > 0 && $ttl <= 1000 ? 'ok' : $ttl) . "\n";
    }
    return $out;
}

# the members of the registry, pids made comparable
sub main::registry {
    my @ids = split /\n/, JPulseTest::redis_cli($main::Redis, 'ZRANGE',
                                          'jpulse:prod:metrics:registry',
                                          0, -1);
    s/^\d+:100:\d+$/ID/ for @ids;
    return "registry: @ids\n";
}

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3);

# every block runs on the same configuration (one nginx serves them all)
our $HttpConfig = <<'CONF';
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_CL_REDIS_PORT;
    jpulse_heartbeat interval=200ms ttl=1s;
CONF

our $Config = <<'CONF';
    location = /m { jpulse_metrics; }
CONF

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: one heartbeat, one duty lease and the registry, all with a TTL
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
Time::HiRes::sleep(0.7);
--- request
GET /m
--- response_body_filters eval
sub { main::cluster_keys() }
--- response_body
jpulse:prod:metrics:duty:ID ttl=ok
jpulse:prod:metrics:instance:ID ttl=ok
jpulse:prod:metrics:registry ttl=ok
--- no_error_log
[error]



=== TEST 2: a second nginx on the same Redis: both instances listed
--- pre_request
$main::Second = JPulseTest::nginx_start(http => $main::PeerHttp,
    config => 'location = /m { jpulse_metrics; }');
Time::HiRes::sleep(0.8);
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(success data.statistics.totalServers
    data.statistics.totalInstances data.statistics.totalProcesses
    data.servers.0.instances.0.pm2Id data.servers.0.instances.1.pm2Id
    data.servers.1))
--- response_body
success=true
data.statistics.totalServers=1
data.statistics.totalInstances=2
data.statistics.totalProcesses=3
data.servers.0.instances.0.pm2Id=100
data.servers.0.instances.1.pm2Id=100
data.servers.1=(missing)
--- no_error_log
[error]



=== TEST 3: the second one sees the first one too
--- request
GET /m
--- response_body_filters eval
sub {
    my $s = IO::Socket::INET->new("127.0.0.1:$main::Second->{port}")
        or return "cannot reach the second nginx\n";
    print $s "GET /m HTTP/1.0\r\n\r\n";
    local $/;
    my ($body) = (<$s> // '') =~ /\r\n\r\n(.*)\z/s;
    return JPulseTest::json_pick(qw(data.statistics.totalInstances))->($body);
}
--- response_body
data.statistics.totalInstances=2
--- no_error_log
[error]



=== TEST 4: a 1 MB heartbeat of a peer on another host comes through whole
--- pre_request
JPulseTest::redis_command($main::Redis, 'SET',
    'jpulse:prod:metrics:instance:7:0:4242',
    '{"hostname":"web07.example.com","serverName":"web07","serverId":7,'
    . '"totalProcesses":1,"runningProcesses":1,"instances":[{"pid":4242,'
    . '"pm2Id":0,"instanceId":"7:0:4242","blob":"' . ('y' x 1048576)
    . '"}]}', 'PX', '5000');
# registered the way a heartbeat registers (docs/protocol.md)
JPulseTest::redis_cli($main::Redis, 'ZADD', 'jpulse:prod:metrics:registry',
    int(Time::HiRes::time() * 1000) + 5000, '7:0:4242');
--- request
GET /m
--- response_body_filters eval
sub {
    my $j = JPulseTest::json_pick(qw(data.statistics.totalServers
        data.statistics.totalInstances data.servers.1.hostname
        data.servers.1.serverId data.servers.1.instances.0.instanceId
        data.servers.1.instances.0.blob))->(@_);
    $j =~ s/blob=(y+)\n/'blob=' . length($1) . "\n"/e;
    return $j;
}
--- response_body
data.statistics.totalServers=2
data.statistics.totalInstances=3
data.servers.1.hostname=web07.example.com
data.servers.1.serverId=7
data.servers.1.instances.0.instanceId=7:0:4242
data.servers.1.instances.0.blob=1048576
--- no_error_log
[error]



=== TEST 5: a graceful stop removes the heartbeat at once
--- pre_request
JPulseTest::redis_cli($main::Redis, 'DEL',
                      'jpulse:prod:metrics:instance:7:0:4242');
JPulseTest::redis_cli($main::Redis, 'ZREM', 'jpulse:prod:metrics:registry',
                      '7:0:4242');
JPulseTest::nginx_stop($main::Second);
# the next heartbeat fits the registry's TTL to its members again
Time::HiRes::sleep(0.5);
--- request
GET /m
--- response_body_filters eval
sub { main::cluster_keys() . main::registry() }
--- response_body
jpulse:prod:metrics:duty:ID ttl=ok
jpulse:prod:metrics:instance:ID ttl=ok
jpulse:prod:metrics:registry ttl=ok
registry: ID
--- no_error_log
[error]



=== TEST 6: an instance killed with SIGKILL is listed while it lives...
--- pre_request
$main::Third = JPulseTest::nginx_start(http => $main::PeerHttp,
    config => 'location = /m { jpulse_metrics; }');
Time::HiRes::sleep(0.8);
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.totalInstances))
--- response_body
data.statistics.totalInstances=2
--- no_error_log
[error]



=== TEST 7: ... and gone once its heartbeat's TTL has run out
--- pre_request
JPulseTest::nginx_stop($main::Third, 'KILL');
Time::HiRes::sleep(1.3);
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.totalInstances))
--- response_body
data.statistics.totalInstances=1
--- no_error_log
[error]



=== TEST 8: reloads under load: no failed request, one heartbeat, old
workers gone within a few seconds
--- pre_request
my $n = JPulseTest::nginx_start(http => $main::PeerHttp, workers => 2,
    config => 'location = /m { jpulse_metrics; } location = /ok { return 200; }');
Time::HiRes::sleep(0.5);
my $master = $n->{pid};
my @before = JPulseTest::nginx_pids($master);
my $child = fork // die;
if ($child == 0) {
    POSIX::_exit(JPulseTest::hammer($n->{port}, '/ok', 1500) ? 1 : 0);
}
for (1 .. 3) {
    Time::HiRes::sleep(0.3);
    kill 'HUP', $master;
}
waitpid $child, 0;
$main::Failed = $? >> 8;
my $gone = 0;
for (1 .. 60) {
    my %now = map { $_ => 1 } JPulseTest::nginx_pids($master);
    if (!grep { $now{$_} } @before) { $gone = 1; last }
    Time::HiRes::sleep(0.1);
}
$main::Failed .= " old-workers-" . ($gone ? 'gone' : 'left');
Time::HiRes::sleep(0.5);
# a duty lease may be between holders right now: count heartbeats
$main::Keys = join '', grep { /:instance:/ } split /^/, main::cluster_keys();
JPulseTest::nginx_stop($n);
--- request
GET /m
--- response_body_filters eval
sub { "failed=$main::Failed\n$main::Keys" }
--- response_body
failed=0 old-workers-gone
jpulse:prod:metrics:instance:ID ttl=ok
jpulse:prod:metrics:instance:ID ttl=ok
--- no_error_log
[error]



=== TEST 9: a Node peer heard on pub/sub (jPulse's health broadcast) is listed
--- pre_request
JPulseTest::redis_command($main::Redis, 'PUBLISH',
    'jpulse:prod:bc:controller:health:metrics:12:0:777',
    '{"channel":"controller:health:metrics:12:0:777","data":{'
    . '"hostname":"app-012.example.com","platform":"linux",'
    . '"nodeVersion":"v20.20.2","totalInstances":1,"totalProcesses":1,'
    . '"runningProcesses":1,"instances":[{"pid":777,"pm2Id":0,'
    . '"instanceId":"12:0:777","status":"online"}]},'
    . '"instanceId":"12:0:777","timestamp":1795658124448}');
Time::HiRes::sleep(0.3);
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.totalServers
    data.statistics.totalInstances data.servers.1.hostname
    data.servers.1.nodeVersion data.servers.1.instances.0.instanceId))
--- response_body
data.statistics.totalServers=2
data.statistics.totalInstances=2
data.servers.1.hostname=app-012.example.com
data.servers.1.nodeVersion=v20.20.2
data.servers.1.instances.0.instanceId=12:0:777
--- no_error_log
[error]



=== TEST 10: ... and dropped at once on its shutdown message
--- pre_request
JPulseTest::redis_command($main::Redis, 'PUBLISH',
    'jpulse:prod:bc:controller:health:metrics:shutdown:12:0:777',
    '{"channel":"controller:health:metrics:shutdown:12:0:777","data":{'
    . '"action":"shutdown","instanceId":"12:0:777","timestamp":1},'
    . '"instanceId":"12:0:777","timestamp":1}');
Time::HiRes::sleep(0.3);
--- request
GET /m
--- response_body_filters eval
JPulseTest::json_pick(qw(data.statistics.totalServers
    data.statistics.totalInstances))
--- response_body
data.statistics.totalServers=1
data.statistics.totalInstances=1
--- no_error_log
[error]
