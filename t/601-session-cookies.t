# Sessions at the edge: hostile and odd cookies, read as express-session
# reads them (cookie 0.4: the first pair of the name wins, trimmed,
# quotes dropped; decodeURIComponent or the text as sent; "s:" required;
# the last '.' splits; every configured secret verifies). A cookie that
# does not verify is "invalid": anonymous, logged at info once per client
# address per minute.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest ();
use SessionTest ();
use Test::Nginx::Socket;

$ENV{TEST_NGINX_REDIS_PORT} ||= 6379;
our $Redis = { port => $ENV{TEST_NGINX_REDIS_PORT} };
our $NS = 't601:dev:';
our $Sid = 'Zm9vYmFyYmF6cXV4MDEyMzQ1Njc4OWFi';

SessionTest::put($Redis, $NS, $Sid, SessionTest::user_record());
SessionTest::put($Redis, $NS, 'a.b', SessionTest::user_record(
    user => { username => 'dotted' }));

our $Good = SessionTest::cookie($Sid);
our ($GoodValue) = $Good =~ /^connect\.sid=(.*)$/;

# one byte of the signed value changed (before URL-encoding)
sub flip {
    my ($where) = @_;
    my $v = SessionTest::signed($Sid);
    my $i = $where eq 'sid' ? 5 : length($v) - 3;
    substr($v, $i, 1) = chr(ord(substr($v, $i, 1)) ^ 0x01);
    $v =~ s/([^A-Za-z0-9\-_.!~*'()])/sprintf('%%%02X', ord $1)/ge;
    return "connect.sid=$v";
}

repeat_each(1);

# two no_error_log per block, status and body per request (33)
plan tests => repeat_each() * (blocks() * 2 + 2 * 33 + 1);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless $block->http_config;
    jpulse_site_id t601;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
CONF
    $block->set_value('config', <<'CONF') unless $block->config;
    location = /s {
        return 200 "$jpulse_session_state $jpulse_username\n";
    }
CONF
    $block->set_value('wait_for_log', <<'LOG');
command connection ready
pub/sub connection ready
LOG
    $block->set_value('no_error_log', "[error]\n[alert]\n")
        unless $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: bit flips in the sid and in the signature, another secret
--- request eval
["GET /s", "GET /s", "GET /s", "GET /s"]
--- more_headers eval
["Cookie: $main::Good",
 "Cookie: " . main::flip('sid'),
 "Cookie: " . main::flip('sig'),
 "Cookie: " . SessionTest::cookie($main::Sid, 'keyboard dog')]
--- response_body eval
["user jdoe\n", "invalid \n", "invalid \n", "invalid \n"]



=== TEST 2: truncated, no "s:", a '=' kept, the dot missing
--- request eval
["GET /s", "GET /s", "GET /s", "GET /s", "GET /s"]
--- more_headers eval
["Cookie: " . substr($main::Good, 0, -1),
 "Cookie: " . substr($main::Good, 0, 30),
 "Cookie: connect.sid=$main::Sid",
 "Cookie: $main::Good%3D",
 "Cookie: connect.sid=s%3A$main::Sid"]
--- response_body eval
["invalid \n", "invalid \n", "invalid \n", "invalid \n", "invalid \n"]



=== TEST 3: 4 KB of garbage, 5 KB (over the limit), bytes that are no UTF-8
--- request eval
["GET /s", "GET /s", "GET /s", "GET /s", "GET /s"]
--- more_headers eval
["Cookie: connect.sid=s%3A" . ('x' x 4000) . ".abc",
 "Cookie: connect.sid=" . ('A' x 5000),
 "Cookie: connect.sid=s:\xff\xfe\x80.\xc3",
 "Cookie: connect.sid=s%3A%FF%FE." . substr(SessionTest::signed('x'), -43),
 "Cookie: connect.sid=%"]
--- response_body eval
["invalid \n", "invalid \n", "invalid \n", "invalid \n", "invalid \n"]



=== TEST 4: the first connect.sid wins, even an empty or a bad one
--- request eval
["GET /s", "GET /s", "GET /s", "GET /s"]
--- more_headers eval
["Cookie: connect.sid=bad; $main::Good",
 "Cookie: $main::Good; connect.sid=bad",
 "Cookie: connect.sid=; $main::Good",
 "Cookie: connect.sid\r\nCookie: x=1; $main::Good"]
--- response_body eval
["invalid \n", "user jdoe\n", "none \n", "user jdoe\n"]



=== TEST 5: many cookies, spaces, quotes, names that only look alike
--- request eval
["GET /s", "GET /s", "GET /s", "GET /s", "GET /s"]
--- more_headers eval
["Cookie: " . CORE::join('; ', map { "c$_=" . ('v' x 20) } 1 .. 150) . "; $main::Good",
 "Cookie: \t connect.sid \t=  $main::GoodValue  ;x=1",
 "Cookie: connect.sid=\"$main::GoodValue\"",
 "Cookie: Connect.sid=$main::GoodValue; connect.sidx=$main::GoodValue",
 "Cookie: connect.sid"]
--- response_body eval
["user jdoe\n", "user jdoe\n", "user jdoe\n", "none \n", "none \n"]



=== TEST 6: a sid with dots: the last one splits
--- request
GET /s
--- more_headers eval
"Cookie: " . SessionTest::cookie('a.b')
--- response_body
user dotted



=== TEST 7: the second secret verifies (a rotated secret), the first signs
--- http_config
    jpulse_site_id t601;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    jpulse_session on;
    jpulse_session_secret "new secret";
    jpulse_session_secret "keyboard cat";
--- request eval
["GET /s", "GET /s", "GET /s"]
--- more_headers eval
["Cookie: $main::Good",
 "Cookie: " . SessionTest::cookie($main::Sid, 'new secret'),
 "Cookie: " . SessionTest::cookie($main::Sid, 'old secret')]
--- response_body eval
["user jdoe\n", "user jdoe\n", "invalid \n"]



=== TEST 8: a secret from a file (its last newline is no part of it)
--- http_config
    jpulse_site_id t601;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    jpulse_session on;
    jpulse_session_secret_file $TEST_NGINX_HTML_DIR/secret;
--- user_files
>>> secret
keyboard cat
--- request
GET /s
--- more_headers eval
"Cookie: $main::Good"
--- response_body
user jdoe



=== TEST 9: another cookie name; connect.sid is then just a cookie
--- http_config
    jpulse_site_id t601;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
    jpulse_session_cookie jp.sid;
--- request eval
["GET /s", "GET /s"]
--- more_headers eval
["Cookie: " . SessionTest::cookie($main::Sid, undef, 'jp.sid'),
 "Cookie: $main::Good"]
--- response_body eval
["user jdoe\n", "none \n"]



=== TEST 10: a bad cookie is logged at info once a minute per client
--- http_config
    jpulse_site_id t601;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
--- log_level: info
--- request eval
["GET /s", "GET /s", "GET /s"]
--- more_headers eval
["Cookie: connect.sid=one", "Cookie: connect.sid=two",
 "Cookie: connect.sid=three"]
--- response_body eval
["invalid \n", "invalid \n", "invalid \n"]
--- grep_error_log eval: qr/does not verify/
--- grep_error_log_out
does not verify
