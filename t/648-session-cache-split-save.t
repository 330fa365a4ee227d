# A session changed by a POST/PUT (issue 14, review): express-session
# writes the response header and all but the last byte of the body BEFORE
# connect-redis's SET of the modified session completes (its "split
# response"), and sends the last byte once saved. A worker that dropped
# the session at the header would keep what a GET read in that window (its
# token postdates the drop) for the whole TTL; the drop comes once the
# request is done (log phase), so the next GET reads the saved session.
use lib 't/lib';
use JPulseTest qw(redis_start);
use SessionCacheTest ();
use IO::Socket::INET;
use POSIX ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'sc:dev:';
our $Result;
our $UpPort;

$ENV{TEST_NGINX_T648_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

# a jPulse-like upstream: on the PUT, header + body minus its last byte;
# then, once the test says so (a line on $Go), the session's save, then
# the last byte
my $l = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                              LocalPort => 0, ReuseAddr => 1) or die;
$UpPort = $l->sockport;
$ENV{TEST_NGINX_T648_UP_PORT} = $UpPort;
pipe(my $go_r, our $Go) or die "pipe: $!";
my $pid = fork;
if ($pid == 0) {
    close $Go;
    while (my $c = $l->accept) {
        my $req = '';
        while (<$c>) { $req .= $_; last if /^\r?\n$/ }
        my ($len) = $req =~ /Content-Length: (\d+)/i;
        read($c, my $b, $len) if $len;
        $c->autoflush(1);
        print $c "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n"
                 . "Connection: close\r\n\r\nok";
        defined <$go_r> or POSIX::_exit(0);
        SessionCacheTest::put($main::Redis, $main::NS,
                              SessionCacheTest::sid(648), username => 'new');
        print $c "\n";
        close $c;
    }
    POSIX::_exit(0);
}
close $go_r;
$Go->autoflush(1);
END { kill 'TERM', $pid if $pid }

repeat_each(1);
plan tests => repeat_each() * (blocks() * 2);

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('http_config', <<'CONF');
    jpulse_site_id sc;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T648_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret cache-suite-secret;
    jpulse_session_touch_interval 0;
    jpulse_session_cache 64k 60s;
CONF
    $block->set_value('config', <<'CONF');
    location = /u.txt {
        add_header X-User "$jpulse_session_state $jpulse_username" always;
    }
    location = /api/1/user/profile {
        proxy_pass http://127.0.0.1:$TEST_NGINX_T648_UP_PORT;
    }
CONF
    $block->set_value('user_files', ">>> u.txt\nu\n");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a profile change (PUT): the old user while Node has not saved
yet, the new one once the PUT is done
--- pre_request
my $sid = SessionCacheTest::sid(648);
SessionCacheTest::put($main::Redis, $main::NS, $sid, username => 'old');
my $port = $Test::Nginx::Socket::ServerPort;
my $mark = JPulseTest::log_mark();
my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port") or die;
print $s "PUT /api/1/user/profile HTTP/1.1\r\nHost: x\r\n"
    . SessionCacheTest::cookie($sid)
    . "Content-Length: 2\r\nConnection: close\r\n\r\n{}";
# the header is at nginx (it went through the header filters at once)
JPulseTest::wait_log($mark, qr/http proxy header done/, 10)
    or die "no upstream header\n";
my $during = main::who_($sid);      # Node has not saved yet
print $main::Go "save\n";
local $/; my $put = <$s>; close $s; # the PUT is done: Node saved
$main::Result = "during: $during\nafter: " . main::who_($sid) . "\n";
sub main::who_ { SessionCacheTest::who($Test::Nginx::Socket::ServerPort, @_) }
--- request
GET /u.txt
--- response_body_filters eval
sub { $main::Result }
--- response_body
during: user old
after: user new
