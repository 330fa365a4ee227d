# The revocation event (issue 14, docs/protocol.md): <ns>bc:controller:
# session:cache:revoked with data.digests (SHA-256 of each sid, hex)
# drops those sessions; there is no form that drops every entry (anyone
# who can publish there could flush every cache), but a resync of the
# pub/sub connection does (events may have been lost meanwhile).
use lib 't/lib';
use JPulseTest qw(redis_start);
use SessionCacheTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'sc:dev:';
our $Result;

$ENV{TEST_NGINX_T644_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

sub main::who { SessionCacheTest::who($Test::Nginx::Socket::ServerPort, @_) }

# which of sids 1..3 needed a GET now ("1 3": those two)
sub main::fetched {
    my @f;
    for my $i (1 .. 3) {
        SessionCacheTest::reset_stats($main::Redis);
        main::who(SessionCacheTest::sid($i));
        push @f, $i if SessionCacheTest::gets($main::Redis);
    }
    return @f ? "fetched: @f\n" : "fetched: none\n";
}

sub main::warm {
    for my $i (1 .. 3) {
        SessionCacheTest::put($main::Redis, $main::NS, SessionCacheTest::sid($i),
                              username => "u$i");
    }
    main::fetched();
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 4 - 1);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id sc;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T644_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret cache-suite-secret;
    jpulse_session_touch_interval 0;    # GETs are the loads alone
    jpulse_session_cache 64k 60s;
CONF
    $block->set_value('config', <<'CONF');
    location = /u.txt {
        add_header X-User "$jpulse_session_state $jpulse_username" always;
    }
CONF
    $block->set_value('user_files', ">>> u.txt\nu\n");
    $block->set_value('no_error_log', "[error]\n[alert]\n")
        unless defined $block->no_error_log;
    $block->set_value('wait_for_log', <<'LOG');
pub/sub connection ready
LOG
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: warm: a second round needs no GET
--- pre_request
main::warm();
$main::Result = main::fetched();
--- request
GET /u.txt
--- response_body_filters eval
sub { $main::Result }
--- response_body
fetched: none



=== TEST 2: data.digests drops those sessions, and only them; the sids
themselves name nothing
--- pre_request
main::warm();
SessionCacheTest::revoke($main::Redis, $main::NS,
    { digests => [SessionCacheTest::sid(2)] });
SessionCacheTest::revoke($main::Redis, $main::NS,
    { digests => [SessionCacheTest::digest(SessionCacheTest::sid(1)),
                  SessionCacheTest::digest(SessionCacheTest::sid(3))] });
$main::Result = main::fetched();
--- request
GET /u.txt
--- response_body_filters eval
sub { $main::Result }
--- response_body
fetched: 1 3



=== TEST 3: a revoked session the event named is anonymous at once (cachectl
deleted it, then published)
--- pre_request
main::warm();
my $sid = SessionCacheTest::sid(2);
JPulseTest::redis_cli($main::Redis, 'DEL', "${main::NS}sess:$sid");
my $before = main::who($sid);
SessionCacheTest::revoke($main::Redis, $main::NS,
                         { digests => [SessionCacheTest::digest($sid)] });
$main::Result = "$before\n" . main::who($sid) . "\n";
--- request
GET /u.txt
--- response_body_filters eval
sub { $main::Result }
--- response_body
user u2
anonymous 



=== TEST 4: every digest of one message drops
--- pre_request
main::warm();
SessionCacheTest::revoke($main::Redis, $main::NS,
    { digests => [map { SessionCacheTest::digest(SessionCacheTest::sid($_)) }
                      1 .. 3] });
$main::Result = main::fetched();
--- request
GET /u.txt
--- response_body_filters eval
sub { $main::Result }
--- response_body
fetched: 1 2 3



=== TEST 5: a longer channel name is not the event
--- pre_request
main::warm();
JPulseTest::redis_pipeline($main::Redis, ['PUBLISH',
    "${main::NS}bc:controller:session:cache:revokedx:y",
    '{"data":{"digests":["'
    . SessionCacheTest::digest(SessionCacheTest::sid(1)) . '"]}}']);
JPulseTest::redis_sync($main::Redis);
$main::Result = main::fetched();
--- request
GET /u.txt
--- response_body_filters eval
sub { $main::Result }
--- response_body
fetched: none



=== TEST 6: the pub/sub connection drops (CLIENT KILL): once subscribed
again, every entry is gone
--- pre_request
main::warm();
my $mark = JPulseTest::log_mark();
JPulseTest::redis_cli($main::Redis, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
JPulseTest::wait_log($mark, qr/pub\/sub connection restored/, 15)
    or die "no resubscription\n";
$main::Result = main::fetched();
--- request
GET /u.txt
--- response_body_filters eval
sub { $main::Result }
--- response_body
fetched: 1 2 3
--- no_error_log
[alert]
