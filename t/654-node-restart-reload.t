# Sessions live in Redis, not in nginx nor in Node (W-076's criterion: they
# survive instance restarts): a user who logged in at Node stays logged in
# across an nginx reload (HUP: every worker replaced), a graceful restart
# (QUIT, then a new master), a crash (KILL) and a restart of Node, and the
# runner's nginx, restarted for each block, still knows the user.
#
# "Still logged in" holds from the first request a new worker answers:
# a worker that is still connecting to Redis must not take a logged-in
# user for anonymous (a page for a guest, jpulse_require_role's 401 or
# login redirect). Each step checks that first request, then the answer
# once the worker is connected.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start nginx_start nginx_stop nginx_pids poll_until);
use NodePeer qw(login peer_session session_http session_server);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Peer = NodePeer->start(redis => $Redis, site_id => 't654',
                            secret => 'k654');
our %Conf = (redis => $Redis, site_id => 't654', secret => 'k654');
my $user_ada = "state=user id=65f1a0c2e4b0a1b2c3d4e5f1 user=ada roles=user,admin auth=1\n";

# The first request of a new worker comes while it connects to Redis:
# the session load waits for the connection (ngx_http_jpulse_redis_wait.c)
# instead of taking the user for anonymous (state error).

my $n = nginx_start(http => session_http(%Conf),
                    config => session_server($Peer));
my $ada = login($n->{port}, 'ada');
is(NodePeer::vars_settled($n->{port}, $ada), $user_ada, 'logged in');

# reload: new workers, the old ones gone
my %old = map { $_ => 1 } nginx_pids($n->{pid});
kill 'HUP', $n->{pid};
ok(poll_until(20, sub {
    my @now = nginx_pids($n->{pid});
    @now == 2 && !grep { $old{$_} } @now;
}), 'HUP: every worker replaced');
is(NodePeer::vars($n->{port}, $ada), $user_ada,
   'after the reload, the first request: logged in');
is(NodePeer::vars_settled($n->{port}, $ada), $user_ada,
   'after the reload: logged in');

# graceful restart: the same configuration, a new master
nginx_stop($n);
$n = nginx_start(http => session_http(%Conf), config => session_server($Peer));
is(NodePeer::vars($n->{port}, $ada), $user_ada,
   'after a restart (QUIT, start), the first request: logged in');
is(NodePeer::vars_settled($n->{port}, $ada), $user_ada,
   'after a restart (QUIT, start): logged in, no new login');

# crash: nothing ran at exit
nginx_stop($n, 'KILL');
$n = nginx_start(http => session_http(%Conf), config => session_server($Peer));
is(NodePeer::vars($n->{port}, $ada), $user_ada,
   'after KILL and start, the first request: logged in');
is(NodePeer::vars_settled($n->{port}, $ada), $user_ada,
   'after KILL and start: logged in');

# Node restarted: express-session finds the session in Redis
$Peer->restart;
my $node = peer_session($n->{port}, $ada);
is("$node->{authenticated} $node->{username}", '1 ada',
   'Node restarted: logged in');
is(NodePeer::vars_settled($n->{port}, $ada), $user_ada, 'and nginx too');

$ENV{TEST_NGINX_ADA} = $ada;

add_block_preprocessor(sub {
    my $block = shift;

    # the worker's Redis connections first (a worker still connecting
    # takes everyone for anonymous: t/654 and t/655 check that apart)
    $block->set_value(wait_for_log => "command connection ready\n"
                                      . "pub/sub connection ready\n");

    $block->set_value(http_config => session_http(%Conf));
    $block->set_value(config => session_server($Peer));
    $block->set_value(more_headers => "Cookie: $ENV{TEST_NGINX_ADA}");
});

run_tests();

__DATA__

=== TEST 1: the runner's nginx: ada
--- request
GET /vars
--- response_body
state=user id=65f1a0c2e4b0a1b2c3d4e5f1 user=ada roles=user,admin auth=1



=== TEST 2: restarted for this block: still ada, her page too
--- request eval
["GET /vars", "GET /home/"]
--- response_body_like eval
["^state=user id=65f1a0c2e4b0a1b2c3d4e5f1 user=ada roles=user,admin auth=1\$",
 '<p class="greeting">Hello Ada, welcome to <b>']
