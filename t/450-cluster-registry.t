# The instance registry (docs/protocol.md): /api/1/health/metrics reads
# <ns>metrics:registry and reads the live members' heartbeats (one script,
# an MGET with size caps: t/452), two
# commands however many other keys Redis holds (no SCAN of the keyspace);
# nginx and cachectl heartbeats register, a graceful stop leaves at once,
# an entry whose time has passed is neither listed nor kept. jPulse's own
# SET <ns>metrics:instances is another key, left alone. Blocks share one
# nginx (TEST_NGINX_FORCE_RESTART_ON_TEST=0).
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start);
use IO::Select;
use Test::Nginx::Socket;

our $Redis = redis_start();
our ($Second, $Cachectl, $Monitor, $Result);

our $Dir = CachectlTest::tmpdir();
CachectlTest::write_file("$Dir/view/home/index.shtml", "<p>home</p>\n");

$ENV{TEST_NGINX_T450_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

# what jPulse's Node instances do at connect (contract 1.4): a plain SET
JPulseTest::redis_cli($Redis, 'SADD', 'jpulse:prod:metrics:instances',
                      '12:0:777');

# long TTLs: only a ZREM takes these entries out during the test
our $PeerHttp = <<"HTTP";
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$Redis->{port};
    jpulse_heartbeat interval=200ms ttl=30s;
HTTP

# the registry's members, pids made comparable
sub main::registry {
    my @ids = split /\n/, JPulseTest::redis_cli($main::Redis, 'ZRANGE',
                                         'jpulse:prod:metrics:registry', 0, -1);
    s/^\d+:(100|200):\d+$/ID$1/ for @ids;
    return join ' ', sort @ids;
}

# MONITOR on a connection of its own
sub main::monitor_start {
    my $s = IO::Socket::INET->new("127.0.0.1:$main::Redis->{port}")
        or die "monitor: $!";
    binmode $s;
    print $s "MONITOR\r\n";
    my $ok = <$s>;
    die "MONITOR: $ok" unless $ok =~ /^\+OK/;
    return $s;
}

# what Redis ran for the metrics answer, up to its MGET (or 5 s): the
# commands clients sent, not those run inside scripts
sub main::monitor_summary {
    my ($s) = @_;
    my ($buf, $scans, $reads, $mgets, $keys) = ('', 0, 0, 0, 0);
    my $sel = IO::Select->new($s);
    my $deadline = Time::HiRes::time() + 5;

    LINE: while (Time::HiRes::time() < $deadline) {
        while ($buf =~ s/\A([^\n]*)\n//) {
            my $line = $1;
            next if $line =~ /^\S+ \[\d+ lua\]/;
            $scans++ if $line =~ /"SCAN"/i && $line =~ /metrics:instance/;
            $reads++ if $line =~ /"EVAL"/i && $line =~ /ZRANGEBYSCORE/;
            if ($line =~ /"EVAL"/i && $line =~ /STRLEN/
                && $line =~ /metrics:instance:/)
            {
                $mgets++;
                $keys = () = $line =~ /"jpulse:prod:metrics:instance:/g;
                last LINE;
            }
        }
        last unless $sel->can_read(0.2) || length $buf;
        sysread($s, $buf, 65536, length $buf) or last;
    }
    close $s;
    return "scans of the keyspace=$scans\nregistry reads=$reads\n"
           . "heartbeat reads=$mgets of $keys keys\n";
}

# the pm2Ids of every instance listed, sorted, and the hostnames
sub main::listed {
    my ($body) = @_;
    my $doc = eval { JSON::PP->new->decode($body) }
        or return "invalid JSON: $body\n";
    my (@pm2, @hosts);
    for my $server (@{ $doc->{data}{servers} }) {
        push @hosts, $server->{hostname};
        push @pm2, map { $_->{pm2Id} } @{ $server->{instances} };
    }
    return "instances: " . join(',', sort @pm2) . "\n"
           . "total: $doc->{data}{statistics}{totalInstances}\n"
           . (grep({ /^web0/ } @hosts) ? "peer hosts: "
              . join(',', sort grep { /^web0/ } @hosts) . "\n" : '');
}

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3);

our $HttpConfig = <<'CONF';
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T450_REDIS_PORT;
    jpulse_heartbeat interval=200ms ttl=30s;
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

=== TEST 1: 100k unrelated keys: every instance (two nginx, cachectl) is
listed from the registry, with one read of it and one of the heartbeats, no SCAN
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
JPulseTest::redis_cli($main::Redis, 'EVAL',
    "for i = 1, 100000 do redis.call('SET', 'junk:' .. i, 'x') end", 0);
$main::Second = JPulseTest::nginx_start(http => $main::PeerHttp,
    config => 'location = /m { jpulse_metrics; }');
$main::Cachectl = daemon_start(redis => $main::Redis,
    views => ["$main::Dir/view"], args => ['--rescan', 0]);
JPulseTest::poll_until(10, sub {
    JPulseTest::redis_cli($main::Redis, 'ZCARD',
                          'jpulse:prod:metrics:registry') =~ /^3$/ });
$main::Monitor = main::monitor_start();
--- request
GET /m
--- response_body_filters eval
sub { main::listed($_[0]) . main::monitor_summary($main::Monitor)
      . "registry: " . main::registry() . "\n" }
--- response_body
instances: 100,100,200
total: 3
scans of the keyspace=0
registry reads=1
heartbeat reads=1 of 2 keys
registry: ID100 ID100 ID200
--- no_error_log
[error]



=== TEST 2: an entry whose time has passed is not listed (though its key
is still there) and the next heartbeat drops it; a live entry whose key
is gone is not listed either
--- pre_request
my $now = int(Time::HiRes::time() * 1000);
my $blob = '{"hostname":"%s","serverName":"%s","totalProcesses":1,'
    . '"runningProcesses":1,"instances":[{"pid":1,"pm2Id":0,'
    . '"instanceId":"%s"}]}';
JPulseTest::redis_command($main::Redis, 'SET',
    'jpulse:prod:metrics:instance:9:0:999',
    sprintf($blob, 'web09', 'web09', '9:0:999'), 'PX', 60000);
JPulseTest::redis_cli($main::Redis, 'ZADD', 'jpulse:prod:metrics:registry',
                      $now - 1000, '9:0:999', $now + 60000, '8:0:888');
--- request
GET /m
--- response_body_filters eval
sub {
    my $listed = main::listed($_[0]);
    JPulseTest::poll_until(5, sub { main::registry() !~ /9:0:999/ });
    my $registry = main::registry();
    JPulseTest::redis_cli($main::Redis, 'ZREM',
                          'jpulse:prod:metrics:registry', '8:0:888');
    return $listed . "registry: $registry\n";
}
--- response_body
instances: 100,100,200
total: 3
registry: 8:0:888 ID100 ID100 ID200
--- no_error_log
[error]



=== TEST 3: a graceful stop of nginx and of cachectl leaves the registry at
once (their entries had 30 s and 60 s to go); jPulse's SET is untouched
--- pre_request
JPulseTest::nginx_stop($main::Second);
CachectlTest::daemon_stop($main::Cachectl);
$main::Result = "registry: " . main::registry() . "\n"
    . "jPulse's set: " . join(' ', split /\n/, JPulseTest::redis_cli(
          $main::Redis, 'SMEMBERS', 'jpulse:prod:metrics:instances')) . "\n";
--- request
GET /m
--- response_body_filters eval
sub { main::listed($_[0]) . $main::Result }
--- response_body
instances: 100
total: 1
registry: ID100
jPulse's set: 12:0:777
--- no_error_log
[error]
