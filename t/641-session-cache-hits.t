# jpulse_session_cache (issue 14): a signed-in user's requests to one
# worker need one GET of <ns>sess:<sid> for as long as the entry lives;
# what is not a session Redis had is never kept; the counters and gauges
# say so.
use lib 't/lib';
use JPulseTest qw(redis_start);
use SessionCacheTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'sc:dev:';
our $Result;

$ENV{TEST_NGINX_T641_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

sub main::who { SessionCacheTest::who($Test::Nginx::Socket::ServerPort, @_) }

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id sc;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T641_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_metrics_zone jpulse 1m;
    jpulse_session on;
    jpulse_session_secret cache-suite-secret;
    jpulse_session_touch_interval 0;    # GETs are the loads alone
    jpulse_session_cache 64k 60s;
CONF
    $block->set_value('config', <<'CONF');
    location = /u.txt {
        add_header X-User "$jpulse_session_state $jpulse_username" always;
    }
    location = /m { jpulse_session off; jpulse_metrics; }
CONF
    $block->set_value('user_files', ">>> u.txt\nu\n");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: ten requests of a signed-in user, one GET
--- pre_request
my $sid = SessionCacheTest::sid(1);
SessionCacheTest::put($main::Redis, $main::NS, $sid, username => 'ann');
SessionCacheTest::reset_stats($main::Redis);
my %seen;
$seen{ main::who($sid) }++ for 1 .. 10;
$main::Result = join('', map { "$_ x$seen{$_}\n" } sort keys %seen)
    . "GETs: " . SessionCacheTest::gets($main::Redis) . "\n";
--- request
GET /m
--- response_body_filters eval
sub { $main::Result . SessionCacheTest::stats(
          $Test::Nginx::Socket::ServerPort,
          qw(session_cache_hits session_cache_misses session_cache_entries)) }
--- response_body
user ann x10
GETs: 1
session_cache_hits=9
session_cache_misses=1
session_cache_entries=1



=== TEST 2: a change in Redis is not seen while the entry lives (the TTL
is the bound); the entry's bytes are counted
--- pre_request
my $sid = SessionCacheTest::sid(1);
my $len = SessionCacheTest::put($main::Redis, $main::NS, $sid,
                                username => 'ann-renamed');
$main::Result = main::who($sid) . "\n";
my $st = SessionCacheTest::stats($Test::Nginx::Socket::ServerPort,
                                 'session_cache_bytes');
my ($bytes) = $st =~ /=(\d+)/;
$main::Result .= ($bytes > $len && $bytes < $len + 512
                  ? "bytes: the JSON and a little" : "bytes: $st") . "\n";
--- request
GET /m
--- response_body_filters eval
sub { $main::Result }
--- response_body
user ann
bytes: the JSON and a little



=== TEST 3: a sid Redis does not have is asked for on every request
--- pre_request
my $sid = SessionCacheTest::sid(2);
SessionCacheTest::reset_stats($main::Redis);
$main::Result = join('', map { main::who($sid) . "\n" } 1 .. 3)
    . "GETs: " . SessionCacheTest::gets($main::Redis) . "\n";
--- request
GET /m
--- response_body_filters eval
sub { $main::Result }
--- response_body
anonymous 
anonymous 
anonymous 
GETs: 3



=== TEST 4: a login the cache has not seen shows at once (no negative
entry): the same sid, now in Redis
--- pre_request
my $sid = SessionCacheTest::sid(2);
SessionCacheTest::put($main::Redis, $main::NS, $sid, username => 'bob');
$main::Result = main::who($sid) . "\n";
--- request
GET /m
--- response_body_filters eval
sub { $main::Result }
--- response_body
user bob



=== TEST 5: a session that is no JSON object is not kept
--- pre_request
my $sid = SessionCacheTest::sid(3);
JPulseTest::redis_command($main::Redis, 'SET', "${main::NS}sess:$sid",
                          '[1,2', 'EX', 60);
SessionCacheTest::reset_stats($main::Redis);
main::who($sid) for 1 .. 2;
$main::Result = "GETs: " . SessionCacheTest::gets($main::Redis) . "\n";
--- request
GET /m
--- response_body_filters eval
sub { $main::Result }
--- response_body
GETs: 2



=== TEST 6: a session that is not signed in (a pending MFA step) is not
kept: its login, by whatever method, shows at once
--- pre_request
my $sid = SessionCacheTest::sid(4);
SessionCacheTest::put($main::Redis, $main::NS, $sid, username => 'pending',
                      isAuthenticated => JSON::PP::false);
SessionCacheTest::reset_stats($main::Redis);
my @w = map { main::who($sid) } 1 .. 2;
$main::Result = "@w\nGETs: " . SessionCacheTest::gets($main::Redis) . "\n";
--- request
GET /m
--- response_body_filters eval
sub { $main::Result }
--- response_body
anonymous  anonymous 
GETs: 2
