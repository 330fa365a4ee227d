# The module and cachectl, both in cluster mode, on one Redis Cluster of
# three primaries: what cachectl's daemon publishes (the l2 group's tagged
# names) is what the module renders, a file saved is served after the
# daemon's event, a session the daemon walks (first-seen record, TTL) is
# read on a signed-in page, and `cachectl sessions revoke` (the tombstone
# in the sess group, then the session's own DEL) signs the user out at the
# edge; the dashboard reads the l2 group's gen and cachectl's status record
# (metrics group). No alert.
#
# One nginx across the blocks (TEST_NGINX_FORCE_RESTART_ON_TEST=0).
use strict;
use warnings;

use lib 't/lib';
use IO::Socket::INET ();
use CachectlTest qw(spawn daemon_wait_log daemon_log write_file cachectl);
use DashboardTest ();
use GatesTest ();
use JPulseTest ();
use RedisCluster qw(cluster_start cluster_slot_owner cluster_cli);
use SessionTest ();
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks'
    if $ENV{TEST_NGINX_USE_VALGRIND};

# the cluster's nodes take free ports: nginx's is held meanwhile, so that
# none of them (nor a bus port) is the one nginx listens on later
my $Hold = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                 LocalPort => $ENV{TEST_NGINX_PORT} // 1984,
                                 ReuseAddr => 1);
our $C = cluster_start(primaries => 3, replicas => 0);
close $Hold if $Hold;
our $NS = 't843:prod:';
our $L2 = "${NS}{${NS}l2}";
our $SX = "${NS}{${NS}sess}";
our $Seeds = join ',', map { "127.0.0.1:$_->{port}" } @{ $C->{nodes} };
our @Where = ('--redis-cluster', $Seeds, '--site-id', 't843');
our $Dir = CachectlTest::tmpdir();
our $Sid = 'Y2FjaGVjdGwtY2x1c3Rlci1zaWQtMDEyMzQ1';
our ($D, $Result);

chmod 0755, $Dir;

# what the daemon publishes; nginx's disk has another text, so that a page
# from L2 is told from one from the disk
write_file("$Dir/src/home/index.shtml", "<p>home v1</p>\n");
write_file("$Dir/src/about/index.shtml", "<p>about</p>\n");
JPulseTest::view_tree("$Dir/view", {
    'home/index.shtml' => "home from disk\n",
});

sub owner { (cluster_slot_owner($main::C, $_[0]))[1] }

sub get {
    my ($path, $cookie) = @_;
    my ($status, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, $path,
        headers => $cookie ? "Cookie: $cookie\r\n" : '');
    return "$status $body";
}

$D = spawn(cmd => [CachectlTest::cachectl_bin(), @Where, 'daemon',
                   '--views', "$Dir/src", '--rescan', 0, '--heartbeat', 1,
                   '--session-pass-interval', 1,
                   '--session-scan-rate', 100000]);
daemon_wait_log($D, qr/published 2 view/, 15)
    or die "cachectl did not publish:\n" . daemon_log($D);

SessionTest::put(owner("${NS}sess:$Sid"), $NS, $Sid,
                 SessionTest::user_record(), 500);

# an admin for the dashboard
GatesTest::put_session(owner("${NS}sess:ada-session-id-0123456789abcdef"),
                       $NS, 'ada-session-id-0123456789abcdef',
                       GatesTest::session_json(%{ $GatesTest::Users{ada} }));
our $Ada = GatesTest::cookie('ada-session-id-0123456789abcdef');

$ENV{TEST_NGINX_T843_SEEDS} = $Seeds;
$ENV{TEST_NGINX_T843_DIR} = $Dir;
$ENV{TEST_NGINX_T843_COOKIE} = SessionTest::cookie($Sid);
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

repeat_each(1);

plan tests => repeat_each() * 15;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless $block->http_config;
    jpulse_site_id t843;
    jpulse_mode prod;
    jpulse_redis cluster=$TEST_NGINX_T843_SEEDS ping_interval=500ms;
    jpulse_view_roots $TEST_NGINX_T843_DIR/view;
    jpulse_session on;
    jpulse_session_secret "keyboard cat";
CONF
    $block->set_value('config', <<'CONF') unless $block->config;
    location /api/1/health/ { jpulse_session off; jpulse_health; }
    location = /s {
        return 200 "$jpulse_session_state $jpulse_username\n";
    }
    location / { jpulse_render; }
CONF
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: what cachectl published in cluster mode is rendered
--- pre_request
JPulseTest::poll_until(20, sub { main::get('/home/') =~ /^200 <p>home v1/ });
--- request eval
["GET /home/", "GET /about/"]
--- response_body_like eval
["<p>home v1</p>", "<p>about</p>"]
--- no_error_log
[error]



=== TEST 2: a file saved: the daemon publishes, its event invalidates, the new version is served
--- pre_request
write_file("$main::Dir/src/home/index.shtml", "<p>home v2</p>\n");
JPulseTest::poll_until(10, sub { main::get('/home/') =~ /^200 <p>home v2/ });
--- request
GET /home/
--- response_body_like
<p>home v2</p>
--- no_error_log
[error]



=== TEST 3: a session the daemon walks is read on a signed-in page; revoked by cachectl, signed out at the edge
--- pre_request
# the daemon's pass has seen it: its first-seen record in the sess group
JPulseTest::poll_until(10, sub {
    cluster_cli($main::C, main::owner("${main::SX}cachectl:sessfirst"),
                'HEXISTS', "${main::SX}cachectl:sessfirst", $main::Sid)
    =~ /^1/ });
my @r = (main::get('/s', $ENV{TEST_NGINX_T843_COOKIE}));
my ($code, $out, $err) = cachectl({ timeout => 20 }, @main::Where,
                                  'sessions', 'revoke', $main::Sid);
# 4: written, but no replica acknowledged (WAIT): this cluster has none
push @r, "revoke: " . ($code == 0 || $code == 4 ? "done" : "exit $code: $err")
         . "\n";
JPulseTest::poll_until(5, sub {
    main::get('/s', $ENV{TEST_NGINX_T843_COOKIE}) !~ /jdoe/ });
push @r, main::get('/s', $ENV{TEST_NGINX_T843_COOKIE}) =~ /jdoe/
         ? "still signed in\n" : "signed out\n";
$main::Result = join '', @r;
--- request
GET /api/1/health/ready
--- response_body_filters eval
sub { $main::Result . ($_[0] =~ /"redis":"connected"/ ? "ready\n" : $_[0]) }
--- response_body
200 user jdoe
revoke: done
signed out
ready
--- no_error_log
[alert]



=== TEST 4: the dashboard in cluster mode: the l2 group's gen and cachectl's status record (metrics group)
--- http_config eval
DashboardTest::http_config(1, '')
    =~ s{jpulse_redis [^;]*;}{jpulse_redis cluster=$ENV{TEST_NGINX_T843_SEEDS};}r
    =~ s{jpulse_site_id dash;}{jpulse_site_id t843;}r
    =~ s{jpulse_mode dev;}{jpulse_mode prod;}r
--- config
    location = /admin/dashboard { jpulse_dashboard; }
--- more_headers eval
"Cookie: $main::Ada"
--- pre_request
JPulseTest::poll_until(10, sub {
    my ($s, undef, $b) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, '/admin/dashboard',
        headers => "Cookie: $main::Ada\r\n");
    $s == 200 && $b =~ /class="daemon"/ });
--- request
GET /admin/dashboard
--- response_body_like
<tr><td>view</td><td class="n">[1-9]\d*</td></tr>.*<div class="daemon" data-id="[^"]+">.*<p>Last publish: <time>
--- no_error_log
[error]
[alert]
