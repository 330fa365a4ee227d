# A session that nginx touched is still Node's. nginx keeps a session
# alive as connect-redis's touch does (EXPIRE to the time left until
# cookie.expires) and never rewrites it; Node then reads the same
# session, touches it in turn, and nginx reads it after that. Redis's TTL
# stands in for time passing: cut short, a request through nginx brings
# it back to the cookie's hour. Once the key is gone, neither side knows
# the user.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start redis_command nginx_start poll_until);
use NodePeer qw(login peer_session session_http session_server);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Peer = NodePeer->start(redis => $Redis, site_id => 't652',
                            secret => 'k652');
# a short throttle, so that one session is touched more than once here
our %Conf = (redis => $Redis, site_id => 't652', secret => 'k652',
             extra => "    jpulse_session_touch_interval 1s;\n");

our $Front = nginx_start(http => session_http(%Conf),
                         config => session_server($Peer));
our $Cookie = login($Front->{port}, 'ada');
$ENV{TEST_NGINX_ADA} = $Cookie;

my ($sid) = $Cookie =~ /^connect\.sid=s%3A([^.]+)\./ or die "sid of $Cookie";
my $key = "t652:prod:sess:$sid";

sub ttl { my ($n) = redis_command($Redis, 'TTL', $key) =~ /(-?\d+)/; $n }
sub value { my ($v) = JPulseTest::redis_pipeline($Redis, ['GET', $key]); $v }
sub vars { NodePeer::vars($Front->{port}, $Cookie) }

my $written = value();
like($written, qr/"isAuthenticated":true/, 'Node wrote the session');
cmp_ok(ttl(), '>', 3000, "Node's TTL: the cookie's hour");

# nginx: a short TTL back to the cookie's hour, the value as Node wrote it
redis_command($Redis, 'EXPIRE', $key, 100);
is(NodePeer::vars_settled($Front->{port}, $Cookie), "state=user id=65f1a0c2e4b0a1b2c3d4e5f1 user=ada roles=user,admin auth=1\n",
   'nginx reads the session');
ok(poll_until(10, sub { ttl() > 3000 }), 'nginx touched it: TTL ' . ttl());
is(value(), $written, 'nginx left the value as Node wrote it');

# Node reads what nginx touched, and touches it itself
redis_command($Redis, 'EXPIRE', $key, 100);
my $node = peer_session($Front->{port}, $Cookie);
is("$node->{authenticated} $node->{username} $node->{sid}", "1 ada $sid",
   'Node reads the session nginx touched');
ok(poll_until(10, sub { ttl() > 3000 }), "Node's touch: TTL " . ttl());

# and nginx again, past its throttle
redis_command($Redis, 'EXPIRE', $key, 100);
ok(poll_until(15, sub { vars() =~ /state=user/ && ttl() > 3000 }),
   'nginx again, after Node: TTL ' . ttl());
is(value(), $written, 'still the value Node wrote');

# gone from Redis: neither side knows the user
redis_command($Redis, 'DEL', $key);
like(vars(), qr/^state=anonymous id= user= roles= auth=0$/,
     'nginx: no user once the key is gone');
$node = peer_session($Front->{port}, $Cookie);
ok(!$node->{authenticated}, 'Node: no user once the key is gone');

# a new login, for the runner's nginx below
$ENV{TEST_NGINX_ADA} = login($Front->{port}, 'ada');

add_block_preprocessor(sub {
    my $block = shift;

    # the worker's Redis connections first (a worker still connecting
    # takes everyone for anonymous: t/654 and t/655 check that apart)
    $block->set_value(wait_for_log => "command connection ready\n"
                                      . "pub/sub connection ready\n");

    $block->set_value(http_config => session_http(%Conf));
    $block->set_value(config => session_server($Peer));
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: page, Node, page: one session, read by both in turn
--- request eval
["GET /vars", "GET /api/1/auth/session", "GET /vars"]
--- more_headers eval
["Cookie: $ENV{TEST_NGINX_ADA}", "Cookie: $ENV{TEST_NGINX_ADA}",
 "Cookie: $ENV{TEST_NGINX_ADA}"]
--- response_body_like eval
["^state=user id=65f1a0c2e4b0a1b2c3d4e5f1 user=ada roles=user,admin auth=1\$",
 '"authenticated":true,.*"username":"ada"',
 "^state=user id=65f1a0c2e4b0a1b2c3d4e5f1 user=ada roles=user,admin auth=1\$"]
--- no_error_log
[error]
