# jpulse_session_cache's byte cap (issue 14): many sessions through one
# worker never hold more than SIZE; the least recently used go first; a
# session larger than a quarter of SIZE is never kept.
use lib 't/lib';
use JPulseTest qw(redis_start);
use SessionCacheTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'sc:dev:';
our $Result;

$ENV{TEST_NGINX_T643_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

sub main::who { SessionCacheTest::who($Test::Nginx::Socket::ServerPort, @_) }

sub main::stat {
    my ($name) = @_;
    my $st = SessionCacheTest::stats($Test::Nginx::Socket::ServerPort, $name);
    return $st =~ /=(\d+)/ ? $1 : -1;
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id sc;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T643_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_metrics_zone jpulse 1m;
    jpulse_session on;
    jpulse_session_secret cache-suite-secret;
    jpulse_session_touch_interval 0;    # GETs are the loads alone
    jpulse_session_cache 8k 60s;
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

=== TEST 1: 200 sessions through an 8k cache: at most 8k held, the rest
evicted, every user still served as themselves
--- pre_request
my $wrong = 0;
for my $i (1 .. 200) {
    my $sid = SessionCacheTest::sid($i);
    SessionCacheTest::put($main::Redis, $main::NS, $sid, username => "u$i");
    $wrong++ unless main::who($sid) eq "user u$i";
}
my ($bytes, $entries, $evicted) = map { main::stat("session_cache_$_") }
                                  qw(bytes entries evictions);
$main::Result = "wrong users: $wrong\n"
    . ($bytes > 0 && $bytes <= 8192 ? "bytes within the cap\n"
                                    : "bytes: $bytes\n")
    . ($entries > 5 && $entries < 40 ? "some entries\n"
                                     : "entries: $entries\n")
    . ($evicted == 200 - $entries ? "the others evicted\n"
                                  : "evicted $evicted of 200, $entries kept\n");
--- request
GET /m
--- response_body_filters eval
sub { $main::Result }
--- response_body
wrong users: 0
bytes within the cap
some entries
the others evicted



=== TEST 2: least recently used out first: the last user is still cached,
the first is not; a use moves an entry to the front
--- pre_request
SessionCacheTest::reset_stats($main::Redis);
main::who(SessionCacheTest::sid(200));
my $last = SessionCacheTest::gets($main::Redis);
main::who(SessionCacheTest::sid(1));
my $first = SessionCacheTest::gets($main::Redis) - $last;
# sid 200 was used just now, sid 199 before it: five new users push out
# 199's neighbours first, 200 stays
for my $i (201 .. 205) {
    my $sid = SessionCacheTest::sid($i);
    SessionCacheTest::put($main::Redis, $main::NS, $sid, username => "u$i");
    main::who($sid);
}
SessionCacheTest::reset_stats($main::Redis);
main::who(SessionCacheTest::sid(200));
$main::Result = "last: $last GETs, first: $first GET, "
    . "used one after five more: " . SessionCacheTest::gets($main::Redis)
    . " GETs\n";
--- request
GET /m
--- response_body_filters eval
sub { $main::Result }
--- response_body
last: 0 GETs, first: 1 GET, used one after five more: 0 GETs



=== TEST 3: a session larger than a quarter of the cap is never kept
--- pre_request
my $sid = SessionCacheTest::sid(300);
SessionCacheTest::put($main::Redis, $main::NS, $sid, username => 'big',
                      pad => 2100);
SessionCacheTest::reset_stats($main::Redis);
my @w = map { main::who($sid) } 1 .. 3;
$main::Result = "@w\nGETs: " . SessionCacheTest::gets($main::Redis) . "\n";
--- request
GET /m
--- response_body_filters eval
sub { $main::Result }
--- response_body
user big user big user big
GETs: 3
