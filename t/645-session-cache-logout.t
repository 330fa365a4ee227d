# A user who logs out through nginx (issue 14): jPulse's logout is a POST
# that nginx passes on; jPulse deletes the session before it answers.
# Once that request is done (its log phase: express-session saves a
# changed session after the header and all but the last byte), the worker
# drops the session and publishes the revocation event, naming it by the
# sid's digest (never the sid: jPulse forwards controller:* broadcasts to
# anonymous WebSocket clients): every worker of every instance drops it,
# so no worker serves the user as signed in any longer. A GET passed on drops
# nothing (jPulse changes sessions on POST and PUT).
use lib 't/lib';
use JPulseTest qw(redis_start);
use SessionCacheTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'sc:dev:';
our $Result;

$ENV{TEST_NGINX_T645_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our $Sid = SessionCacheTest::sid(1);

# both workers answer with $state (fresh connections until each pid did)
sub main::every_worker {
    my ($state) = @_;
    my $port = $Test::Nginx::Socket::ServerPort;
    my ($master) = JPulseTest::_slurp(
        "$Test::Nginx::Socket::ServerRoot/logs/nginx.pid") =~ /(\d+)/;
    my @pids = JPulseTest::nginx_pids($master);
    my %want = map { $_ => 1 } @pids;
    for (1 .. 400) {
        my ($status, $h) = JPulseTest::http_get($port, '/u.txt',
                               headers => SessionCacheTest::cookie($Sid));
        my $who = $h->{'x-user'} // '';
        return "pid $h->{'x-pid'}: $who" unless $who eq $state;
        delete $want{ $h->{'x-pid'} };
        return scalar(@pids) . " workers: $state" unless %want;
    }
    return 'never heard from ' . join ' ', sort keys %want;
}

# The size of error.log now; then revoked_seen($size) waits (5 s at most)
# until every worker logged, after that point, that it handled a
# revocation event: the event reaches each worker on its own pub/sub
# connection, under load well after the request that published it ended.
sub main::log_size {
    return -s "$Test::Nginx::Socket::ServerRoot/logs/error.log" // 0;
}

sub main::revoked_seen {
    my ($from) = @_;
    my $file = "$Test::Nginx::Socket::ServerRoot/logs/error.log";
    my ($master) = JPulseTest::_slurp(
        "$Test::Nginx::Socket::ServerRoot/logs/nginx.pid") =~ /(\d+)/;
    my @pids = JPulseTest::nginx_pids($master);
    JPulseTest::poll_until(5, sub {
        my %seen = map { $_ => 1 } substr(JPulseTest::_slurp($file), $from)
            =~ /^\S+ \S+ \[debug\] (\d+)#\d+: jpulse session cache: revoked /mg;
        !grep { !$seen{$_} } @pids;
    });
}

sub main::post {
    my ($path, $method) = @_;
    my ($status) = JPulseTest::http_get($Test::Nginx::Socket::ServerPort,
        $path, method => $method // 'POST', body => '{}',
        headers => SessionCacheTest::cookie($Sid));
    return $status;
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 4);

workers(2);
master_on();

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id sc;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T645_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret cache-suite-secret;
    jpulse_session_touch_interval 0;    # GETs are the loads alone
    jpulse_session_cache 64k 1h;
CONF
    $block->set_value('config', <<'CONF');
    location = /u.txt {
        add_header X-User "$jpulse_session_state $jpulse_username" always;
        add_header X-Pid $pid always;
    }
    # jPulse's Node app, as far as nginx can tell
    location /api/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/node/;
    }
    location /node/ {
        jpulse_session off;
        return 200 '{"success":true}';
    }
    # Node saved, then failed: nginx's error page (a GET from then on)
    location /api/1/fail/ {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/node-fail/;
        proxy_intercept_errors on;
        error_page 502 /u.txt;
    }
    location /node-fail/ {
        jpulse_session off;
        return 502;
    }
    location = /local {
        jpulse_session off;
        return 200 'ok';
    }
CONF
    $block->set_value('user_files', ">>> u.txt\nu\n");
    $block->set_value('no_error_log', "[error]\n[alert]\n");
    $block->set_value('wait_for_log', <<'LOG');
pub/sub connection ready
LOG
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: every worker has the user cached; the session deleted in Redis
behind nginx's back (jPulse reached directly) still shows: the TTL is the
bound
--- pre_request
SessionCacheTest::put($main::Redis, $main::NS, $main::Sid, username => 'ann');
$main::Result = main::every_worker('user ann') . "\n";
JPulseTest::redis_cli($main::Redis, 'DEL', "${main::NS}sess:$main::Sid");
$main::Result .= main::every_worker('user ann') . "\n";
--- request
GET /local
--- response_body_filters eval
sub { $main::Result }
--- response_body
2 workers: user ann
2 workers: user ann



=== TEST 2: a GET passed on to jPulse drops nothing
--- pre_request
$main::Result = main::post('/api/1/user/profile', 'GET') . "\n"
    . main::every_worker('user ann') . "\n";
--- request
GET /local
--- response_body_filters eval
sub { $main::Result }
--- response_body
200
2 workers: user ann



=== TEST 3: the logout POST passed on: one event with the digest (and not
the sid), and no worker
serves the user as signed in afterwards
--- pre_request
my $sub = JPulseTest::redis_psubscribe($main::Redis,
    "${main::NS}bc:controller:session:cache:*");
my $size = main::log_size();
my $status = main::post('/api/1/auth/logout');
my $m = JPulseTest::redis_next_message($sub, 5);
my $doc = $m ? JSON::PP->new->decode($m->[1]) : {};
$main::Result = "$status\n"
    . ($m ? "$m->[0]\n" : "no event\n")
    . "digests: " . join(' ', map { $_ eq SessionCacheTest::digest($main::Sid)
                                   ? 'of the sid' : $_ }
                            @{ $doc->{data}{digests} // [] }) . "\n"
    . "keys: " . join(',', sort keys %{ $doc->{data} // {} }) . "\n"
    . ($m && index($m->[1], $main::Sid) < 0 ? "no sid\n" : "the sid!\n")
    . ($doc->{instanceId} && $doc->{timestamp} ? "instanceId, timestamp\n"
                                               : "no instanceId\n");
main::revoked_seen($size);
$main::Result .= main::every_worker('anonymous ') . "\n";
--- request
GET /local
--- response_body_filters eval
sub { $main::Result }
--- response_body_like eval
qr/\A200
sc:dev:bc:controller:session:cache:revoked
digests: of the sid
keys: digests
no sid
instanceId, timestamp
2 workers: anonymous 
\z/



=== TEST 4: logged in again (a POST: login), every worker sees it at its
next request; a POST nginx answers itself (405 from the static file)
drops nothing
--- pre_request
SessionCacheTest::put($main::Redis, $main::NS, $main::Sid, username => 'ann');
my $size = main::log_size();
$main::Result = main::post('/api/1/auth/login') . "\n";
main::revoked_seen($size);
$main::Result .= main::every_worker('user ann') . "\n";
SessionCacheTest::put($main::Redis, $main::NS, $main::Sid, username => 'zed');
$main::Result .= main::post('/u.txt') . "\n"
    . main::every_worker('user ann') . "\n";
--- request
GET /local
--- response_body_filters eval
sub { $main::Result }
--- response_body
200
2 workers: user ann
405
2 workers: user ann



=== TEST 5: a POST passed on whose answer went to an error_page (which
makes the request a GET): the event all the same, the method counted is
the one the request came with
--- pre_request
SessionCacheTest::put($main::Redis, $main::NS, $main::Sid, username => 'ann');
my $sub = JPulseTest::redis_psubscribe($main::Redis,
    "${main::NS}bc:controller:session:cache:*");
my $status = main::post('/api/1/fail/prefs');
my $m = JPulseTest::redis_next_message($sub, 5);
$main::Result = "$status\n" . ($m ? "$m->[0]\n" : "no event\n");
--- request
GET /local
--- response_body_filters eval
sub { $main::Result }
--- response_body
502
sc:dev:bc:controller:session:cache:revoked
