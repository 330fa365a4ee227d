# `cachectl sessions revoke-user` logs a user out everywhere: every
# session of theirs that Node wrote (two browsers here) is gone for Node
# and for nginx, also for an nginx that keeps sessions in its per-worker
# cache (the revocation event drops them there); another user stays
# logged in on both sides.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start nginx_start poll_until);
use CachectlTest qw(cli);
use NodePeer qw(login peer_session session_http session_server);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Peer = NodePeer->start(redis => $Redis, site_id => 't653',
                            secret => 'k653');
our %Conf = (redis => $Redis, site_id => 't653', secret => 'k653');
my $ada = '65f1a0c2e4b0a1b2c3d4e5f1';
my $user_ada = "state=user id=$ada user=ada roles=user,admin auth=1\n";
my $user_bruno = "state=user id=65f1a0c2e4b0a1b2c3d4e5f2 user=bruno roles=user auth=1\n";

our $Front = nginx_start(http => session_http(%Conf),
                         config => session_server($Peer));
# the same, with sessions kept in each worker for a minute (when the
# module has the session cache)
my $cache = "jpulse_session_cache 1m 60s;";
our $Cached = NodePeer::knows_directive($cache)
    ? nginx_start(http => session_http(%Conf, extra => "    $cache\n"),
                  config => session_server($Peer))
    : undef;
diag("no jpulse_session_cache in this build: its part is left out")
    unless $Cached;
my @nginx = grep { defined } $Front, $Cached;

my @ada = (login($Front->{port}, 'ada'), login($Front->{port}, 'ada'));
my $bruno = login($Front->{port}, 'bruno');

for my $n (@nginx) {
    my $which = $n == $Front ? 'nginx' : 'nginx with the cache';
    is(NodePeer::vars_settled($n->{port}, $_), $user_ada, "$which: ada")
        for @ada;
    is(NodePeer::vars($n->{port}, $bruno), $user_bruno, "$which: bruno");
}
ok(peer_session($Front->{port}, $_)->{authenticated}, 'Node: ada') for @ada;

is(cli('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't653',
       'sessions', 'revoke-user', $ada) =~ /^exit 0\n/ ? 'exit 0' : 'failed',
   'exit 0', 'cachectl sessions revoke-user');

for my $n (@nginx) {
    my $which = $n == $Front ? 'nginx' : 'nginx with the cache';
    for my $cookie (@ada) {
        # the cache hears the event a moment later: poll, well inside its
        # minute
        my $seen = poll_until(10, sub {
            NodePeer::vars($n->{port}, $cookie) =~ /^state=anonymous id= user= roles= auth=0$/
        });
        ok($seen, "$which: ada logged out ("
                  . NodePeer::vars($n->{port}, $cookie) =~ s/\n//r . ')');
    }
    is(NodePeer::vars($n->{port}, $bruno), $user_bruno,
       "$which: bruno still logged in");
}
ok(!peer_session($Front->{port}, $_)->{authenticated}, 'Node: ada logged out')
    for @ada;
ok(peer_session($Front->{port}, $bruno)->{authenticated},
   'Node: bruno still logged in');

$ENV{TEST_NGINX_ADA} = $ada[0];
$ENV{TEST_NGINX_BRUNO} = $bruno;

add_block_preprocessor(sub {
    my $block = shift;

    # the worker's Redis connections first (a worker still connecting
    # takes everyone for anonymous: t/654 and t/655 check that apart)
    $block->set_value(wait_for_log => "command connection ready\n"
                                      . "pub/sub connection ready\n");

    $block->set_value(http_config => session_http(%Conf));
    $block->set_value(config => session_server($Peer));
});

run_tests();

__DATA__

=== TEST 1: an nginx started after the revocation: ada anonymous, bruno logged in, for nginx and Node
--- request eval
["GET /vars", "GET /vars", "GET /api/1/auth/session", "GET /api/1/auth/session"]
--- more_headers eval
["Cookie: $ENV{TEST_NGINX_ADA}", "Cookie: $ENV{TEST_NGINX_BRUNO}",
 "Cookie: $ENV{TEST_NGINX_ADA}", "Cookie: $ENV{TEST_NGINX_BRUNO}"]
--- response_body_like eval
["^state=anonymous id= user= roles= auth=0\$",
 "^state=user id=65f1a0c2e4b0a1b2c3d4e5f2 user=bruno roles=user auth=1\$",
 '"authenticated":false',
 '"authenticated":true,.*"username":"bruno"']
