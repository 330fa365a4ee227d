# A session that Node writes is read by nginx. The Node peer (peers/node:
# express-session and connect-redis 7 configured as jPulse configures
# them) logs users in behind an nginx (POST /api/1/auth/login through
# proxy_pass, as a browser does it); the runner's nginx, with the same
# secret and namespace, then knows them from the cookie alone: the
# session variables, the language and theme of their preferences and
# their name in a page of the example site (examples/site), which
# jpulse_render renders per request for a logged-in user.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start nginx_start);
use NodePeer qw(login session_http session_server);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Peer = NodePeer->start(redis => $Redis, site_id => 't651',
                            secret => 'k651');
our %Conf = (redis => $Redis, site_id => 't651', secret => 'k651');

# the logins go through an nginx in front of the peer
our $Front = nginx_start(http => session_http(%Conf),
                         config => session_server($Peer));
$ENV{TEST_NGINX_ADA} = login($Front->{port}, 'ada');
$ENV{TEST_NGINX_BRUNO} = login($Front->{port}, 'bruno');
$ENV{TEST_NGINX_CLEO} = login($Front->{port}, 'cleo');

add_block_preprocessor(sub {
    my $block = shift;

    # the worker's Redis connections first (a worker still connecting
    # takes everyone for anonymous: t/654 and t/655 check that apart)
    $block->set_value(wait_for_log => "command connection ready\n"
                                      . "pub/sub connection ready\n");

    $block->set_value(http_config => session_http(%Conf))
        unless defined $block->http_config;
    $block->set_value(config => session_server($Peer))
        unless defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the variables of Node's session: ada, an admin
--- request
GET /vars
--- more_headers
Cookie: $TEST_NGINX_ADA
--- response_body
state=user id=65f1a0c2e4b0a1b2c3d4e5f1 user=ada roles=user,admin auth=1
--- no_error_log
[error]
[warn]



=== TEST 2: bruno and cleo, each their own; no cookie: none
--- request eval
["GET /vars", "GET /vars", "GET /vars"]
--- more_headers eval
["Cookie: $ENV{TEST_NGINX_BRUNO}", "Cookie: $ENV{TEST_NGINX_CLEO}", ""]
--- response_body eval
["state=user id=65f1a0c2e4b0a1b2c3d4e5f2 user=bruno roles=user auth=1\n",
 "state=user id=65f1a0c2e4b0a1b2c3d4e5f3 user=cleo roles=user,editor auth=1\n",
 "state=none id= user= roles= auth=0\n"]



=== TEST 3: ada's page greets her by name, in English, with the dark theme of her preferences and the admin note
--- request
GET /home/
--- more_headers
Cookie: $TEST_NGINX_ADA
--- response_body_like
<html lang="en" data-theme="dark">.*<link rel="stylesheet" href="/themes/dark\.css">.*<span class="jp-user" title="ada">AL</span>.*<p class="greeting">Hello Ada, welcome to <b>.*<p class="admin">You are an administrator \(user, admin\)\.</p>



=== TEST 4: bruno's page: German (his preferences), light theme, his name, no admin note
--- request
GET /home/
--- more_headers
Cookie: $TEST_NGINX_BRUNO
--- response_body_like
<html lang="de" data-theme="light">.*<span class="jp-user" title="bruno">BK</span>.*<p class="greeting">Hallo Bruno, willkommen bei <b>
--- response_body_unlike
class="admin"



=== TEST 5: the user card of context/user.shtml: nickName, roles, signed in, the admin link only for ada
--- request eval
["GET /context/user.shtml", "GET /context/user.shtml", "GET /context/user.shtml"]
--- more_headers eval
["Cookie: $ENV{TEST_NGINX_ADA}", "Cookie: $ENV{TEST_NGINX_BRUNO}", ""]
--- response_body_like eval
['<span class="jp-avatar">AL</span>\s*<span class="name">Ada</span>\s*signed in\s*<a href="/admin/">Admin</a>',
 '<span class="jp-avatar">BK</span>\s*<span class="name">Bru</span>\s*signed in\s*</div>',
 '<span class="name">Guest</span>\s*<a href="/auth/login.shtml">Sign in</a>']



=== TEST 6: anonymous: the sailor of the default greeting
--- request
GET /home/
--- response_body_like
<p class="greeting">Hello sailor, welcome to <b>



=== TEST 7: Node, behind this nginx, sees the same users
--- request eval
["GET /api/1/auth/session", "GET /api/1/auth/session"]
--- more_headers eval
["Cookie: $ENV{TEST_NGINX_ADA}", "Cookie: $ENV{TEST_NGINX_BRUNO}"]
--- response_body_filters eval
JPulseTest::json_pick('data.authenticated', 'data.username', 'data.language')
--- response_body eval
["data.authenticated=true\ndata.username=ada\ndata.language=en\n",
 "data.authenticated=true\ndata.username=bruno\ndata.language=de\n"]
