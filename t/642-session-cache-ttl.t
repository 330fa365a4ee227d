# jpulse_session_cache's TTL (issue 14): an entry is served for at most TTL
# after the GET that brought it, however often it is used; then the next
# request reads Redis again (a logout made behind nginx's back shows).
use lib 't/lib';
use JPulseTest qw(redis_start);
use SessionCacheTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'sc:dev:';
our $Result;

$ENV{TEST_NGINX_T642_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

sub main::who { SessionCacheTest::who($Test::Nginx::Socket::ServerPort, @_) }

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id sc;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T642_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret cache-suite-secret;
    jpulse_session_touch_interval 0;    # GETs are the loads alone
    jpulse_session_cache 64k 2s;
CONF
    $block->set_value('config', <<'CONF');
    location = /u.txt {
        add_header X-User "$jpulse_session_state $jpulse_username" always;
    }
CONF
    $block->set_value('user_files', ">>> u.txt\nu\n");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a user logged out in Redis alone (no event) is served from the
cache until the entry expires, then is anonymous; used all the while, the
entry still expires
--- pre_request
my $sid = SessionCacheTest::sid(1);
SessionCacheTest::put($main::Redis, $main::NS, $sid, username => 'ann');
my @seen = (main::who($sid));
JPulseTest::redis_cli($main::Redis, 'DEL', "${main::NS}sess:$sid");
push @seen, main::who($sid);
# polled, each request a use of the entry: it must still go
my $after = JPulseTest::poll_until(15, sub {
    my $w = main::who($sid);
    return $w =~ /^anonymous/ ? $w : 0;
}, 0.1);
$main::Result = join("\n", @seen, $after || 'still signed in') . "\n";
--- request
GET /u.txt
--- response_body_filters eval
sub { $main::Result }
--- response_body
user ann
user ann
anonymous 



=== TEST 2: an expired entry is fetched again, and kept again
--- pre_request
my $sid = SessionCacheTest::sid(2);
SessionCacheTest::put($main::Redis, $main::NS, $sid, username => 'bob');
main::who($sid);
SessionCacheTest::put($main::Redis, $main::NS, $sid, username => 'bob2');
my $after = JPulseTest::poll_until(15, sub { main::who($sid) eq 'user bob2' },
                                   0.1);
SessionCacheTest::reset_stats($main::Redis);
main::who($sid);
$main::Result = ($after ? "renamed seen" : "never renamed") . "\n"
    . "GETs: " . SessionCacheTest::gets($main::Redis) . "\n";
--- request
GET /u.txt
--- response_body_filters eval
sub { $main::Result }
--- response_body
renamed seen
GETs: 0
