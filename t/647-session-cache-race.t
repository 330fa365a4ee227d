# A revocation while a GET of the same worker is in flight (issue 14): the
# GET's reply may predate it (Redis ran the GET, then cachectl deleted the
# session and published). The request gets what its GET read, but the
# cache must not keep it: the next request reads Redis again. A proxy
# holds the GET's reply until the event has been handled.
use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use SessionCacheTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis);
our $NS = 'sc:dev:';
our $Result;
our $Sid = SessionCacheTest::sid(1);

$ENV{TEST_NGINX_T647_PROXY_PORT} = $Proxy->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

sub main::who { SessionCacheTest::who($Test::Nginx::Socket::ServerPort, @_) }

# a request whose GET Redis ran while its reply is held; then $between;
# then the reply goes: what the request got
sub main::held {
    my ($between) = @_;
    RedisProxy::hold($main::Proxy, 'GET');
    SessionCacheTest::reset_stats($main::Redis);
    my $s = IO::Socket::INET->new(
        PeerAddr => "127.0.0.1:$Test::Nginx::Socket::ServerPort")
        or die "connect: $!";
    print $s "GET /u.txt HTTP/1.0\r\nHost: localhost\r\n"
             . SessionCacheTest::cookie($main::Sid) . "\r\n";
    JPulseTest::poll_until(5, sub { SessionCacheTest::gets($main::Redis) })
        or die "the request sent no GET\n";
    $between->();
    RedisProxy::hold($main::Proxy, 0);
    local $/;
    my $resp = <$s> // '';
    my ($who) = $resp =~ /^X-User: (.*?)\r$/m;
    return $who // "no answer: $resp";
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 4);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id sc;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T647_PROXY_PORT
                 command_timeout=10s ping_interval=60s;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret cache-suite-secret;
    jpulse_session_touch_interval 0;
    jpulse_session_cache 64k 1h;
CONF
    $block->set_value('config', <<'CONF');
    location = /u.txt {
        add_header X-User "$jpulse_session_state $jpulse_username" always;
    }
CONF
    $block->set_value('user_files', ">>> u.txt\nu\n");
    $block->set_value('no_error_log', "[error]\n[alert]\n");
    $block->set_value('wait_for_log', <<'LOG');
pub/sub connection ready
LOG
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: no event meanwhile: the reply is kept (the next request needs
no GET)
--- pre_request
SessionCacheTest::put($main::Redis, $main::NS, $main::Sid, username => 'ann');
my $first = main::held(sub {});
SessionCacheTest::reset_stats($main::Redis);
$main::Result = "$first\n" . main::who($main::Sid) . "\nGETs: "
    . SessionCacheTest::gets($main::Redis) . "\n";
--- request
GET /u.txt
--- response_body_filters eval
sub { $main::Result }
--- response_body
user ann
user ann
GETs: 0



=== TEST 2: revoked while the GET's reply was held: not kept, the next
request reads Redis and is anonymous
--- pre_request
SessionCacheTest::revoke($main::Redis, $main::NS,
                         { digests => [SessionCacheTest::digest($main::Sid)] });
my $first = main::held(sub {
    my $mark = JPulseTest::log_mark();
    JPulseTest::redis_cli($main::Redis, 'DEL', "${main::NS}sess:$main::Sid");
    SessionCacheTest::revoke($main::Redis, $main::NS,
        { digests => [SessionCacheTest::digest($main::Sid)] });
    JPulseTest::wait_log($mark, qr/session cache: revoked 1 digests/)
        or die "the event was not handled\n";
});
SessionCacheTest::reset_stats($main::Redis);
$main::Result = "$first\n" . main::who($main::Sid) . "\nGETs: "
    . SessionCacheTest::gets($main::Redis) . "\n";
--- request
GET /u.txt
--- response_body_filters eval
sub { $main::Result }
--- response_body
user ann
anonymous 
GETs: 1
