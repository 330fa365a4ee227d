# Logout at Node (POST /api/1/auth/logout: express-session's destroy, a
# DEL of the session key) is seen by nginx at once: the next page is
# anonymous, while another browser of the same user, another session,
# stays logged in.
#
# With the session cache (jpulse_session_cache, when the module has it):
# a logout through nginx drops the session from every worker's cache at
# once (the worker that passed the POST publishes the revocation event);
# a logout that reaches Node another way publishes nothing, and a worker
# serves its cached copy until the entry's TTL (2 s here) ran out: the
# bound a site accepts when it turns the cache on.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start nginx_start poll_until);
use NodePeer qw(login logout peer_session session_http session_server);
use Test::Nginx::Socket;

our $Redis = redis_start();
our %Conf = (redis => $Redis, site_id => 't656', secret => 'k656');
our $Peer = NodePeer->start(%Conf);
my $user_ada = "state=user id=65f1a0c2e4b0a1b2c3d4e5f1 user=ada roles=user,admin auth=1\n";
my $anon = "state=anonymous id= user= roles= auth=0\n";

my $n = nginx_start(http => session_http(%Conf),
                    config => session_server($Peer));

my ($laptop, $phone) = (login($n->{port}, 'ada'), login($n->{port}, 'ada'));
is(NodePeer::vars_settled($n->{port}, $_), $user_ada, 'ada') for $laptop, $phone;

is(logout($n->{port}, $laptop), 200, 'logout at Node, through nginx');
is(NodePeer::vars($n->{port}, $laptop), $anon,
   'nginx: the laptop is anonymous at once');
is(NodePeer::vars($n->{port}, $phone), $user_ada,
   'nginx: the phone, another session, stays logged in');
ok(!peer_session($n->{port}, $laptop)->{authenticated},
   'Node: the laptop logged out');

my $cache = 'jpulse_session_cache 1m 2s;';
if (NodePeer::knows_directive($cache)) {
    my $c = nginx_start(http => session_http(%Conf, extra => "    $cache\n"),
                        config => session_server($Peer));
    my ($a, $b) = (login($c->{port}, 'ada'), login($c->{port}, 'ada'));

    # in the cache of every worker (two workers, fresh connections)
    for my $s ($a, $b) {
        is(NodePeer::vars_settled($c->{port}, $s), $user_ada,
           'cached: ada') for 1 .. 4;
    }

    # through this nginx: gone from every worker once the event is there
    is(logout($c->{port}, $a), 200, 'cached: logout through nginx');
    ok(poll_until(5, sub {
        !grep { NodePeer::vars($c->{port}, $a) ne $anon } 1 .. 4
    }), 'cached: anonymous on every worker, well inside the TTL');

    # at Node directly: served from the cache until the TTL ran out
    is(logout($Peer->{port}, $b), 200, 'cached: logout at Node directly');
    ok(poll_until(20, sub {
        !grep { NodePeer::vars($c->{port}, $b) ne $anon } 1 .. 4
    }), 'cached: anonymous on every worker after the TTL');
} else {
    diag("no jpulse_session_cache in this build: its part is left out");
}

$ENV{TEST_NGINX_LAPTOP} = $laptop;
$ENV{TEST_NGINX_PHONE} = $phone;

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

=== TEST 1: the laptop's page is the anonymous one, the phone's greets ada
--- request eval
["GET /home/", "GET /home/"]
--- more_headers eval
["Cookie: $ENV{TEST_NGINX_LAPTOP}", "Cookie: $ENV{TEST_NGINX_PHONE}"]
--- response_body_like eval
['<p class="greeting">Hello sailor, welcome to <b>',
 '<p class="greeting">Hello Ada, welcome to <b>']



=== TEST 2: the phone logs out through this nginx: anonymous on its next page
--- request eval
["POST /api/1/auth/logout", "GET /vars"]
--- more_headers
Cookie: $TEST_NGINX_PHONE
--- response_body_like eval
['"success":true', "^state=anonymous id= user= roles= auth=0\$"]
