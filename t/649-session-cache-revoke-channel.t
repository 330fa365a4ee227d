# Who may revoke (issue 14, review): controller:session:cache:revoked is a
# reserved channel, so jpulse_app_cluster_api answers 403
# RESERVED_CHANNEL and publishes nothing (a signed-in user could otherwise
# drop other users' cached sessions); and the event has no form that drops
# every entry: jPulse's own broadcast API (Node) has no auth, whatever
# reaches the channel through it names sessions only by digests, which
# nobody can derive without the sid.
use lib 't/lib';
use JPulseTest qw(redis_start);
use SessionCacheTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'sc:dev:';
our $Result;

$ENV{TEST_NGINX_T649_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our $Victim = SessionCacheTest::sid(1);
our $Mallory = SessionCacheTest::sid(2);

sub main::who { SessionCacheTest::who($Test::Nginx::Socket::ServerPort, @_) }

# ann cached, then $what; "GETs for ann" counts her session's reloads
sub main::after {
    my ($what) = @_;
    SessionCacheTest::put($main::Redis, $main::NS, $main::Victim,
                          username => 'ann');
    SessionCacheTest::put($main::Redis, $main::NS, $main::Mallory,
                          username => 'mal');
    main::who($main::Victim) for 1 .. 2;
    my $r = $what->();
    JPulseTest::redis_sync($main::Redis);
    SessionCacheTest::reset_stats($main::Redis);
    $r .= main::who($main::Victim) . ", GETs for ann: "
        . SessionCacheTest::gets($main::Redis) . "\n";
    return $r;
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3);

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('http_config', <<'CONF');
    jpulse_site_id sc;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T649_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret cache-suite-secret;
    jpulse_session_touch_interval 0;
    jpulse_session_cache 64k 60s;
CONF
    $block->set_value('config', <<'CONF');
    location = /u.txt {
        add_header X-User "$jpulse_session_state $jpulse_username" always;
    }
    location /api/1/app-cluster/ { jpulse_app_cluster_api; }
CONF
    $block->set_value('user_files', ">>> u.txt\nu\n");
    $block->set_value('wait_for_log', "pub/sub connection ready\n");
    $block->set_value('request', "GET /u.txt\n");
    $block->set_value('response_body_filters', sub { $main::Result });
    $block->set_value('no_error_log', "[error]\n");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a signed-in user's broadcast on the channel: 403, nothing
published, nothing dropped
--- pre_request
my $sub = JPulseTest::redis_psubscribe($main::Redis, "${main::NS}bc:*");
$main::Result = main::after(sub {
    my ($st, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort,
        '/api/1/app-cluster/broadcast/controller:session:cache:revoked',
        method => 'POST',
        body => '{"data":{"digests":["'
                . SessionCacheTest::digest($main::Victim) . '"]}}',
        headers => SessionCacheTest::cookie($main::Mallory)
                   . "Content-Type: application/json\r\n");
    my $m = JPulseTest::redis_next_message($sub, 0.5);
    return "broadcast: $st " . ($body =~ /"code":"(\w+)"/ ? $1 : $body)
         . "\npublished: " . ($m ? $m->[0] : 'nothing') . "\n";
});
--- response_body
broadcast: 403 RESERVED_CHANNEL
published: nothing
user ann, GETs for ann: 0



=== TEST 2: the old {"all":true}, published straight on Redis (as jPulse's
broadcast API would): nothing dropped
--- pre_request
$main::Result = main::after(sub {
    SessionCacheTest::revoke($main::Redis, $main::NS,
                             { all => JSON::PP::true });
    return '';
});
--- response_body
user ann, GETs for ann: 0
