# Rotating the session secret, as express-session's secret array does it
# (the first signs, every one verifies), on both sides at once: a cookie
# Node signed with the old secret stays valid for nginx and Node while
# both list it after the new one; new logins are signed with the new
# secret; once the old secret is dropped, its cookies are invalid at
# nginx (state invalid) and unknown to Node.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start nginx_start nginx_stop);
use NodePeer qw(login peer_session session_http session_server);
use Test::Nginx::Socket;

our $Redis = redis_start();
my %base = (redis => $Redis, site_id => 't657');
my $user_ada = "state=user id=65f1a0c2e4b0a1b2c3d4e5f1 user=ada roles=user,admin auth=1\n";
my $user_bruno = "state=user id=65f1a0c2e4b0a1b2c3d4e5f2 user=bruno roles=user auth=1\n";

# before: one secret
my $peer = NodePeer->start(%base, secret => 'old-k657');
my $n = nginx_start(http => session_http(%base, secret => 'old-k657'),
                    config => session_server($peer));
my $ada = login($n->{port}, 'ada');
is(NodePeer::vars_settled($n->{port}, $ada), $user_ada, 'old secret: ada');

# during: both list the new secret first, the old one after it
$peer->stop;
nginx_stop($n);
$peer = NodePeer->start(%base, port => $peer->{port},
                        secret => ['new-k657', 'old-k657']);
$n = nginx_start(http => session_http(%base, secret => ['new-k657', 'old-k657']),
                 config => session_server($peer));
is(NodePeer::vars_settled($n->{port}, $ada), $user_ada,
   'rotating: the old cookie at nginx');
is(peer_session($n->{port}, $ada)->{username}, 'ada',
   'rotating: the old cookie at Node');
my $bruno = login($n->{port}, 'bruno');
is(NodePeer::vars($n->{port}, $bruno), $user_bruno,
   'rotating: a new login at nginx');

# after: the old secret gone
$peer->stop;
nginx_stop($n);
$peer = NodePeer->start(%base, port => $peer->{port}, secret => 'new-k657');
$n = nginx_start(http => session_http(%base, secret => 'new-k657'),
                 config => session_server($peer));
is(NodePeer::vars_settled($n->{port}, $bruno), $user_bruno,
   'after: the new login at nginx');
is(NodePeer::vars($n->{port}, $ada),
   "state=invalid id= user= roles= auth=0\n",
   'after: the old cookie is invalid at nginx');
ok(!peer_session($n->{port}, $ada)->{authenticated},
   'after: the old cookie is unknown to Node');

$ENV{TEST_NGINX_ADA} = $ada;
$ENV{TEST_NGINX_BRUNO} = $bruno;
our $Peer = $peer;

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value(wait_for_log => "command connection ready\n"
                                      . "pub/sub connection ready\n");
    $block->set_value(http_config => session_http(%base,
                                                  secret => 'new-k657'));
    $block->set_value(config => session_server($Peer));
});

run_tests();

__DATA__

=== TEST 1: the runner's nginx with the new secret alone: bruno signed in, ada's old cookie invalid (logged at info)
--- request eval
["GET /vars", "GET /vars"]
--- more_headers eval
["Cookie: $ENV{TEST_NGINX_BRUNO}", "Cookie: $ENV{TEST_NGINX_ADA}"]
--- response_body eval
["state=user id=65f1a0c2e4b0a1b2c3d4e5f2 user=bruno roles=user auth=1\n",
 "state=invalid id= user= roles= auth=0\n"]
