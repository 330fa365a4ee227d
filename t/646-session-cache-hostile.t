# Hostile revocation events (issue 14): not JSON, over 64 KB, data.digests
# not an array, members that are not digests, more than 1,000 of them,
# the old {"all":true} (gone: whoever can publish there could flush every
# cache). Each is ignored with a warn line (a bad member alone is skipped:
# the good ones still drop); what is cached stays, the worker lives on.
use lib 't/lib';
use JPulseTest qw(redis_start);
use SessionCacheTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'sc:dev:';
our $Result;

$ENV{TEST_NGINX_T646_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our $Sid = SessionCacheTest::sid(1);
our $Digest = SessionCacheTest::digest($Sid);

sub main::who { SessionCacheTest::who($Test::Nginx::Socket::ServerPort, @_) }

# the event, then: was the cached user fetched again?
sub main::after {
    my ($msg) = @_;
    SessionCacheTest::put($main::Redis, $main::NS, $main::Sid,
                          username => 'ann');
    main::who($main::Sid);
    SessionCacheTest::revoke($main::Redis, $main::NS, $msg);
    SessionCacheTest::reset_stats($main::Redis);
    my $who = main::who($main::Sid);
    return "$who, " . (SessionCacheTest::gets($main::Redis)
                       ? "fetched again" : "still cached") . "\n";
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 5);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id sc;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T646_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret cache-suite-secret;
    jpulse_session_touch_interval 0;    # GETs are the loads alone
    jpulse_session_cache 64k 1h;
CONF
    $block->set_value('config', <<'CONF');
    location = /u.txt {
        add_header X-User "$jpulse_session_state $jpulse_username" always;
    }
CONF
    $block->set_value('user_files', ">>> u.txt\nu\n");
    $block->set_value('no_error_log', "[alert]\n[error]\n");
    $block->set_value('wait_for_log', <<'LOG');
pub/sub connection ready
LOG
    $block->set_value('request', "GET /u.txt\n");
    $block->set_value('response_body_filters', sub { $main::Result });
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: not JSON
--- pre_request
$main::Result = main::after('{"data":{"all":tru');
--- response_body
user ann, still cached
--- error_log
ignored a revocation event: not JSON (18 bytes)



=== TEST 2: over 64 KB (the digest itself inside)
--- pre_request
$main::Result = main::after('{"data":{"digests":["' . $main::Digest
                            . '"],"pad":"' . ('x' x 65536) . '"}}');
--- response_body
user ann, still cached
--- error_log eval
qr/ignored a revocation event: too long \(\d+ bytes\)/



=== TEST 3: data.digests a string; {"all":true} drops nothing
--- pre_request
$main::Result = main::after({ digests => $main::Digest })
              . main::after({ all => JSON::PP::true });
--- response_body
user ann, still cached
user ann, still cached
--- error_log
ignored a revocation event: no data.digests array (



=== TEST 4: data not an object; no data; the old data.sids
--- pre_request
$main::Result = main::after('{"data":["' . $main::Digest . '"]}')
              . main::after('[1,2,3]')
              . main::after({ sids => [$main::Sid] });
--- response_body
user ann, still cached
user ann, still cached
user ann, still cached
--- error_log
ignored a revocation event: no data.digests array (



=== TEST 5: members that are not digests (the sid itself among them) are
skipped, the digest among them still drops
--- pre_request
$main::Result = main::after({ digests => [1, { x => 1 }, undef,
                                          [$main::Digest], $main::Sid,
                                          $main::Digest . 'x'] })
              . main::after({ digests => [1, $main::Sid, $main::Digest] });
--- response_body
user ann, still cached
user ann, fetched again
--- error_log
skipped the members of a revocation event's data.digests that are not digests



=== TEST 6: more than 1,000 digests (in 64 KB: short ones)
--- pre_request
$main::Result = main::after({ digests => [ ('') x 1000, $main::Digest ] });
--- response_body
user ann, still cached
--- error_log
ignored a revocation event: too many digests (
