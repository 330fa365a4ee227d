# Logout at Node (POST /api/1/auth/logout: express-session's destroy, a
# DEL of the session key) is seen by nginx at once: the next page is
# anonymous, while another browser of the same user, another session,
# stays logged in. Node's logout publishes nothing, so an nginx that
# keeps sessions in its per-worker cache sees it when the cached entry
# expires (jpulse_session_cache's TTL, 2 s here): the bound a site
# accepts when it turns the cache on.
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
my $anonymous = qr/^state=(?!user)\w+ id= user= roles= auth=0$/;

my $n = nginx_start(http => session_http(%Conf),
                    config => session_server($Peer));
my $cached = nginx_start(
    http => session_http(%Conf, extra => "    jpulse_session_cache 1m 2s;\n"),
    config => session_server($Peer));

my ($laptop, $phone) = (login($n->{port}, 'ada'), login($n->{port}, 'ada'));
for my $c ($laptop, $phone) {
    is(NodePeer::vars($_->{port}, $c), $user_ada, "ada on $_->{port}")
        for $n, $cached;
}

is(logout($n->{port}, $laptop), 200, 'logout at Node, through nginx');
like(NodePeer::vars($n->{port}, $laptop), $anonymous,
     'nginx: the laptop is anonymous at once');
is(NodePeer::vars($n->{port}, $phone), $user_ada,
   'nginx: the phone, another session, stays logged in');
ok(!peer_session($n->{port}, $laptop)->{authenticated}, 'Node: the laptop logged out');
ok(poll_until(20, sub { NodePeer::vars($cached->{port}, $laptop) =~ $anonymous }),
   'nginx with the cache: anonymous once the entry expired');
is(NodePeer::vars($cached->{port}, $phone), $user_ada,
   'nginx with the cache: the phone stays logged in');

$ENV{TEST_NGINX_LAPTOP} = $laptop;
$ENV{TEST_NGINX_PHONE} = $phone;

add_block_preprocessor(sub {
    my $block = shift;

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
['"success":true', "^state=(?!user)\\w+ id= user= roles= auth=0\$"]
