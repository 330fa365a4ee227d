# Sessions at the edge: the request parked on its session's GET, as
# nginx-lifetimes.md says: keep-alive and pipelined requests, a client
# that leaves while parked, a POST whose body is not read yet, internal
# redirects that keep the session (one GET per request), subrequests
# that use the main request's, and the variables where nginx uses them
# (add_header, map, proxy_set_header).
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use SessionTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis);
our $NS = 't603:dev:';
our $Sid = 'bGlmZXRpbWVzLXNpZC0wMTIzNDU2Nzg5';
our $Cookie = SessionTest::cookie($Sid);
our $Result = '';

SessionTest::put($Redis, $NS, $Sid, SessionTest::user_record());

$ENV{TEST_NGINX_T603_PROXY_PORT} = $Proxy->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

sub main::gets_since {
    JPulseTest::redis_calls($main::Redis, 'get');
}

# writes $head (then $late, once Redis ran the GET the request waits on,
# whose reply the proxy holds), releases the reply, and returns the
# statuses and bodies of the responses read until the server closes
sub main::parked_exchange {
    my ($head, $late) = @_;
    JPulseTest::redis_cli($main::Redis, 'CONFIG', 'RESETSTAT');
    RedisProxy::hold($main::Proxy, 'GET');
    my $s = IO::Socket::INET->new(
        PeerAddr => "127.0.0.1:$Test::Nginx::Socket::ServerPort")
        or die "connect: $!";
    binmode $s;
    print $s $head;
    JPulseTest::poll_until(5, sub { main::gets_since() })
        or die "the request sent no GET\n";
    print $s $late if defined $late;
    Time::HiRes::sleep(0.1);
    RedisProxy::hold($main::Proxy, 0);
    local $/;
    my $resp = <$s> // '';
    close $s;
    my @r;
    while ($resp =~ s{\AHTTP/1\.1 (\d+)[^\r]*\r\n(.*?)\r\n\r\n}{}s) {
        my ($status, $head) = ($1, $2);
        my ($len) = $head =~ /^Content-Length: (\d+)/mi;
        push @r, "$status " . substr($resp, 0, $len // 0, '');
    }
    return join '', @r;
}

repeat_each(1);

plan tests => repeat_each() * 64;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id t603;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T603_PROXY_PORT
                 command_timeout=10s ping_interval=60s;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
    jpulse_session_touch_interval 0;

    map $jpulse_authenticated $greeting {
        1        "hello $jpulse_username";
        default  "hello stranger";
    }
CONF
    $block->set_value('config', <<'CONF');
    location = /s {
        add_header X-Roles $jpulse_user_roles always;
        return 200 "$jpulse_session_state $jpulse_username\n";
    }
    location = /greet { return 200 "$greeting\n"; }
    location = /missing { log_not_found off; error_page 404 = /s; }
    location = /tried { try_files /nothing-here /s; }
    location = /rewritten { rewrite ^ /s last; }
    location = /named { try_files /nothing-here @session; }
    location = /named-error { log_not_found off; error_page 404 = @session; }
    location @session {
        return 200 "$jpulse_session_state $jpulse_username\n";
    }
    location = /ssi.html { ssi on; }
    location = /proxied {
        proxy_set_header X-User $jpulse_username;
        proxy_set_header X-Roles $jpulse_user_roles;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/upstream;
    }
    location = /upstream {
        jpulse_session off;
        return 200 "upstream saw [$http_x_user] [$http_x_roles] [$jpulse_session_state]\n";
    }
    location = /off { jpulse_session off; return 200 "[$jpulse_session_state]\n"; }
    location = /off-missing {
        jpulse_session off;
        log_not_found off;
        error_page 404 = /s;
    }
CONF
    $block->set_value('user_files', <<'FILES');
>>> ssi.html
ssi: <!--# include virtual="/s" -->
FILES
    $block->set_value('wait_for_log', <<'LOG');
command connection ready
pub/sub connection ready
LOG
    $block->set_value('more_headers', "Cookie: $main::Cookie")
        unless defined $block->more_headers;
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]\n")
        unless defined $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: keep-alive: three requests on one connection, each loaded
--- pipelined_requests eval
["GET /s", "GET /greet", "GET /s"]
--- response_body eval
["user jdoe\n", "hello jdoe\n", "user jdoe\n"]



=== TEST 2: add_header, map and proxy_set_header see the session
--- request eval
["GET /s", "GET /greet", "GET /proxied", "GET /off"]
--- response_headers eval
["X-Roles: user,admin", "", "", ""]
--- response_body eval
["user jdoe\n", "hello jdoe\n",
 "upstream saw [jdoe] [user,admin] []\n", "[]\n"]



=== TEST 3: internal redirects keep the session: one GET per request
--- pre_request
JPulseTest::redis_cli($main::Redis, 'CONFIG', 'RESETSTAT');
--- request eval
["GET /missing", "GET /tried", "GET /rewritten", "GET /named",
 "GET /named-error", "GET /ssi.html"]
--- response_body_filters eval
[(sub { $_[0] }) x 5, sub { $_[0] . "gets " . main::gets_since() . "\n" }]
--- response_body eval
["user jdoe\n", "user jdoe\n", "user jdoe\n", "user jdoe\n", "user jdoe\n",
 "ssi: user jdoe\n\ngets 6\n"]



=== TEST 4: a pipeline parked on Redis: each request in turn
--- pre_request
$main::Result = main::parked_exchange(
    "GET /s HTTP/1.1\r\nHost: x\r\nCookie: $main::Cookie\r\n\r\n"
    . "GET /greet HTTP/1.1\r\nHost: x\r\n\r\n"
    . "GET /s HTTP/1.1\r\nHost: x\r\nCookie: $main::Cookie\r\n"
    . "Connection: close\r\n\r\n");
--- request
GET /off
--- response_body_filters eval
sub { $main::Result . $_[0] }
--- response_body
200 user jdoe
200 hello stranger
200 user jdoe
[]



=== TEST 5: a POST parked before its body is read: the body is discarded
The body comes with the headers; a pipelined GET follows it. The
response must not take the body for the next request.
--- pre_request
$main::Result = main::parked_exchange(
    "POST /s HTTP/1.1\r\nHost: x\r\nCookie: $main::Cookie\r\n"
    . "Content-Length: 30\r\n\r\nGET /off HTTP/1.1\r\nHost: x\r\n\r\n"
    . "GET /s HTTP/1.1\r\nHost: x\r\nCookie: $main::Cookie\r\n"
    . "Connection: close\r\n\r\n");
--- request
GET /off
--- response_body_filters eval
sub { $main::Result . $_[0] }
--- response_body
200 user jdoe
200 user jdoe
[]



=== TEST 6: a POST parked, its body sent while it waits
--- pre_request
$main::Result = main::parked_exchange(
    "POST /s HTTP/1.1\r\nHost: x\r\nCookie: $main::Cookie\r\n"
    . "Content-Length: 11\r\n\r\n",
    "hello there"
    . "GET /greet HTTP/1.1\r\nHost: x\r\nCookie: $main::Cookie\r\n"
    . "Connection: close\r\n\r\n");
--- request
GET /off
--- response_body_filters eval
sub { $main::Result . $_[0] }
--- response_body
200 user jdoe
200 hello jdoe
[]



=== TEST 7: a client that leaves while parked: no crash, the next ones fine
--- pre_request
my $mark = JPulseTest::log_mark();
JPulseTest::redis_cli($main::Redis, 'CONFIG', 'RESETSTAT');
RedisProxy::hold($main::Proxy, 'GET');
my $s = IO::Socket::INET->new(
    PeerAddr => "127.0.0.1:$Test::Nginx::Socket::ServerPort") or die;
print $s "GET /s HTTP/1.1\r\nHost: x\r\nCookie: $main::Cookie\r\n\r\n";
JPulseTest::poll_until(5, sub { main::gets_since() }) or die "no GET\n";
close $s;
JPulseTest::wait_log($mark, qr/client prematurely closed connection/)
    or die "the request did not notice the client leaving\n";
RedisProxy::hold($main::Proxy, 0);
JPulseTest::redis_sync($main::Redis);
--- request eval
["GET /s", "GET /s"]
--- response_body eval
["user jdoe\n", "user jdoe\n"]
--- error_log
client prematurely closed connection
--- no_error_log
[alert]
[crit]
[error]



=== TEST 8: sessions off, then an error page where they are on, with a POST body
The redirect comes before anything read the body; the session's GET
parks the request, the rest of the body comes while it waits, and the
pipelined request after it is answered.
--- pre_request
$main::Result = main::parked_exchange(
    "POST /off-missing HTTP/1.1\r\nHost: x\r\nCookie: $main::Cookie\r\n"
    . "Content-Length: 30\r\n\r\nGET /off",
    " HTTP/1.1\r\nHost: x\r\n\r\n"
    . "GET /s HTTP/1.1\r\nHost: x\r\nCookie: $main::Cookie\r\n"
    . "Connection: close\r\n\r\n");
--- request
GET /off
--- response_body_filters eval
sub { $main::Result . $_[0] }
--- response_body
200 user jdoe
200 user jdoe
[]
