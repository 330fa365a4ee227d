# jPulse's SPA namespaces with the view tree in Redis (L2) and none on
# disk: the verdict comes from the index's text as published, is kept
# with the compiled index, and follows a publish of that index.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use IO::Socket::INET ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't515:dev:';
our $Dir = File::Temp::tempdir('jpulse-t515-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $Dir;
JPulseTest::view_tree("$Dir/view", {});

JPulseTest::publish_tree($Redis, $NS, {
    'app/index.shtml' => "APP {{url.pathname}} VueRouter.createRouter\n",
    'plain/index.shtml' => "PLAIN\n",
    'error/index.shtml' => "E{{url.param.code}} {{url.pathname}}\n",
}, event => 0);

$ENV{TEST_NGINX_T515_DIR} = $Dir;
$ENV{TEST_NGINX_T515_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('http_config', <<'CONF');
    jpulse_site_id t515;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T515_REDIS_PORT command_timeout=500ms;
    jpulse_view_roots $TEST_NGINX_T515_DIR/view;
    jpulse_template_check_interval 1h;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n");
    $block->set_value('no_error_log', "[error]");
});

sub main::get {
    my ($uri) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT},
                                  Timeout => 3) or return "connect: $!\n";
    print $s "GET $uri HTTP/1.0\r\nHost: localhost\r\n\r\n";
    local $/;
    my $res = <$s> // '';
    my ($head, $body) = split /\r\n\r\n/, $res, 2;
    my ($status) = ($head // '') =~ m{^HTTP/\d\.\d (\d+)};
    return ($status // '???') . ' ' . ($body // '');
}

our $Seen;

plan tests => repeat_each() * 10;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: from Redis: the SPA's sub-paths render its index, a namespace without markers does not
--- wait_for_log
command connection ready
--- request eval
["GET /app/deep/link", "GET /app/x.png", "GET /plain/x"]
--- error_code eval
[200, 200, 404]
--- response_body eval
["APP /app/deep/link VueRouter.createRouter\n", "APP /app/x.png VueRouter.createRouter\n",
 "E404 /plain/x\n"]



=== TEST 2: a publish of the index moves the verdict, both ways
--- pre_request
my $seen = main::get('/app/a');
JPulseTest::publish_tree($main::Redis, $main::NS,
                         { 'app/index.shtml' => "APP PLAIN NOW\n" });
$seen .= main::get('/app/a');
JPulseTest::publish_tree($main::Redis, $main::NS,
                         { 'plain/index.shtml' => "PLAIN history.pushState popstate\n" });
$seen .= main::get('/plain/b');
$main::Seen = $seen;
--- request
GET /app/
--- response_body_filters eval
sub { $main::Seen . $_[0] }
--- response_body
200 APP /app/a VueRouter.createRouter
404 E404 /app/a
200 PLAIN history.pushState popstate
APP PLAIN NOW
