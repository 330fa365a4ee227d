# Scaling out: a second nginx (its own prefix and port) and a second Node
# instance on the same Redis know a user who logged in at the first ones,
# without a new login; a logout at the second Node ends the session for
# every instance.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start nginx_start);
use NodePeer qw(login logout peer_session session_http session_server);
use Test::Nginx::Socket;

our $Redis = redis_start();
our %Conf = (redis => $Redis, site_id => 't655', secret => 'k655');
our $Peer = NodePeer->start(%Conf);
our $Peer2 = NodePeer->start(%Conf);
my $user_ada = "state=user id=65f1a0c2e4b0a1b2c3d4e5f1 user=ada roles=user,admin auth=1\n";
my $user_bruno = "state=user id=65f1a0c2e4b0a1b2c3d4e5f2 user=bruno roles=user auth=1\n";

my $first = nginx_start(http => session_http(%Conf),
                        config => session_server($Peer));
my $ada = login($first->{port}, 'ada');
my $bruno = login($first->{port}, 'bruno');
is(NodePeer::vars_settled($first->{port}, $ada), $user_ada, 'first nginx: ada');

# added later, behind it the second Node
my $second = nginx_start(http => session_http(%Conf),
                         config => session_server($Peer2));
isnt($second->{dir}, $first->{dir}, 'the second nginx: its own prefix');
# its first request too: a worker still connecting to Redis must not
# take a logged-in user for anonymous (the session load waits for the
# connection)
is(NodePeer::vars($second->{port}, $ada), $user_ada,
   'second nginx, its first request: ada, no new login');
is(NodePeer::vars_settled($second->{port}, $ada), $user_ada,
   'second nginx: ada, no new login');
is(NodePeer::vars_settled($second->{port}, $bruno), $user_bruno,
   'second nginx: bruno');
my $node = peer_session($second->{port}, $ada);
is("$node->{authenticated} $node->{username}", '1 ada', 'second Node: ada');

# logout at the second Node: gone for every instance
is(logout($second->{port}, $ada), 200, 'logout through the second instance');
for my $n ($first, $second) {
    like(NodePeer::vars($n->{port}, $ada), qr/^state=anonymous id= user= roles= auth=0$/,
         "nginx on $n->{port}: ada logged out");
    is(NodePeer::vars($n->{port}, $bruno), $user_bruno,
       "nginx on $n->{port}: bruno still logged in");
}
ok(!peer_session($first->{port}, $ada)->{authenticated}, 'first Node: ada logged out');

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

=== TEST 1: a third nginx (the runner's): bruno, his page in German
--- request eval
["GET /vars", "GET /home/"]
--- more_headers
Cookie: $TEST_NGINX_BRUNO
--- response_body_like eval
["^state=user id=65f1a0c2e4b0a1b2c3d4e5f2 user=bruno roles=user auth=1\$",
 '<p class="greeting">Hallo Bruno, willkommen bei <b>']
