# Hardening jPulse's own session cookie at nginx. jPulse never sets
# Secure on connect.sid (it compares deployment.mode, dev|prod, with
# "production"), so nginx.conf.example adds the flags to the Set-Cookie
# it passes on from Node with proxy_cookie_flags. This suite takes that
# line from nginx.conf.example as it is and checks the Set-Cookie of a
# real login at the Node peer (peers/node, jPulse's session stack)
# through nginx: Secure, HttpOnly once, SameSite=Lax, the value and the
# other attributes untouched; without the line, jPulse's cookie as Node
# sends it.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use NodePeer;
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Peer = NodePeer->start(redis => $Redis, site_id => 't650',
                            secret => 'k650');

# the hardening line of nginx.conf.example, verbatim
open my $fh, '<', 'nginx.conf.example' or die "nginx.conf.example: $!";
my ($line) = grep { /^\s*proxy_cookie_flags\s/ } <$fh>;
close $fh;
die "nginx.conf.example has no proxy_cookie_flags line\n" unless $line;
$line =~ s/^\s+|\s+$//g;
$ENV{TEST_NGINX_COOKIE_FLAGS} = $line;

our $Login = '{"identifier":"ada","password":"ada-tides"}';

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value(more_headers => "Content-Type: application/json")
        unless defined $block->more_headers;
});

run_tests();

__DATA__

=== TEST 1: the line of nginx.conf.example is the documented one
--- config
    location = /t {
        return 200 "$TEST_NGINX_COOKIE_FLAGS\n";
    }
--- request
GET /t
--- response_body
proxy_cookie_flags connect.sid secure httponly samesite=lax;



=== TEST 2: a login through nginx with the line: Secure, HttpOnly once, SameSite=Lax, the value untouched
--- config
    $TEST_NGINX_COOKIE_FLAGS
    location /api/1/auth/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_PEER_PORT;
    }
--- request eval
"POST /api/1/auth/login\n$main::Login"
--- response_headers_like
Set-Cookie: connect\.sid=s%3A[A-Za-z0-9_-]{32}\.[A-Za-z0-9%_-]{43,}; Path=/; Expires=[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT; HttpOnly; Secure; SameSite=Lax
--- response_body_like
"success":true.*"username":"ada"



=== TEST 3: without the line: jPulse's cookie as Node sends it, HttpOnly and no Secure
--- config
    location /api/1/auth/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_PEER_PORT;
    }
--- request eval
"POST /api/1/auth/login\n$main::Login"
--- response_headers_like
Set-Cookie: connect\.sid=s%3A[A-Za-z0-9_-]{32}\.[A-Za-z0-9%_-]{43,}; Path=/; Expires=[^;]+; HttpOnly



=== TEST 4: the line in the location, and a cookie of another name left alone
--- config
    location /api/1/auth/ {
        $TEST_NGINX_COOKIE_FLAGS
        proxy_pass http://127.0.0.1:$TEST_NGINX_PEER_PORT;
    }
    location = /other {
        $TEST_NGINX_COOKIE_FLAGS
        add_header X-Note "nginx's own Set-Cookie is not proxied: untouched";
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/set-other;
    }
    location = /set-other {
        add_header Set-Cookie "theme=dark; Path=/";
        return 200 "other\n";
    }
--- request eval
["POST /api/1/auth/login\n$main::Login", "GET /other"]
--- response_headers_like eval
["Set-Cookie: connect\\.sid=s%3A[^;]+; Path=/; Expires=[^;]+; HttpOnly; Secure; SameSite=Lax",
 "Set-Cookie: theme=dark; Path=/"]
