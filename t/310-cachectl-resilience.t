# The cachectl daemon against failures: Redis restarted under it (empty:
# the test Redis keeps no data) gets everything again; a daemon killed
# with SIGKILL and started again brings Redis back to the files (deleted
# while it was dead: removed; edited: published); a daemon started while
# Redis is down retries and syncs once it is up; SIGTERM exits 0 and
# removes the daemon's heartbeat. While it runs, nginx's
# /api/1/health/metrics lists it.
#
# One nginx (the runner's, master on, 2 workers) with an EMPTY view root
# serves what the daemon publishes, from a private redis-server that this
# file stops and starts on the same port.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file remove_file);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $Redis = redis_start();
our $NS = 't310:prod:';
our $Dir = CachectlTest::tmpdir();
our $View = "$Dir/view";

mkdir "$Dir/empty";
chmod 0755, "$Dir/empty";

write_file("$View/home/index.shtml", "<p>home v1</p>\n");
write_file("$View/keep/index.shtml", "<p>keep</p>\n");
write_file("$View/doomed/index.shtml", "<p>doomed</p>\n");
write_file("$View/error/index.shtml", "<h1>{{url.param.code}}</h1>\n");

our @Opts = (redis => $Redis, site_id => 't310', views => [$View],
             args => ['--rescan', 0, '--heartbeat', 1]);
our $Daemon = daemon_start(@Opts);

$ENV{TEST_NGINX_T310_DIR} = $Dir;
$ENV{TEST_NGINX_T310_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our $HttpConfig = <<'CONF';
    jpulse_site_id t310;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T310_REDIS_PORT;
    jpulse_view_roots $TEST_NGINX_T310_DIR/empty;
CONF

our $Config = <<'CONF';
    location = /ping { return 200 "pong\n"; }
    location = /api/1/health/metrics { jpulse_metrics; }
    location / {
        add_header X-Pid $pid always;
        jpulse_render;
    }
CONF

our $Result;

# "ok" when both workers answer $path with $status and a body matching $re
sub main::workers_serve {
    my ($path, $re, $status) = @_;
    my @pids = CachectlTest::runner_workers();
    return CachectlTest::pids_seen($Test::Nginx::Socket::ServerPort, $path,
        \@pids, sub { $_[0] == ($status // 200) && $_[2] =~ $re });
}

# what Redis holds of the tree: the paths of <ns>tplindex, sorted, each
# flagged when its tpl: key is missing
sub main::redis_tree {
    my $index = CachectlTest::tpl_index($main::Redis, $main::NS);
    return join('', map {
        my $e = JPulseTest::redis_cli($main::Redis, 'EXISTS',
                                      "${main::NS}tpl:$_") =~ s/\s+//r;
        "$_" . ($e ? '' : ' (no tpl: key)') . "\n" } sort keys %$index);
}

# the source of a published file, or "(missing)"
sub main::published {
    my ($path) = @_;
    my $src = JPulseTest::redis_cli($main::Redis, 'HGET',
                                    "${main::NS}tpl:$path", 'source');
    $src =~ s/\n\z//;     # redis-cli's own newline
    return length $src ? $src : "(missing)\n";
}

# the daemon's log lines after $mark that match $re, without the prefix
# and timings
sub main::log_lines {
    my ($d, $mark, $re) = @_;
    return join '', map { s/^.*?: //r =~ s/ in \d+ ms$//r . "\n" }
                    grep { $_ =~ $re } split /\n/,
                    CachectlTest::daemon_log($d, $mark);
}

# the daemon's instance in the metrics answer, as "pm2Id=... kind=..."
sub main::metrics_instance {
    my ($pid) = @_;
    my (undef, undef, $body) = CachectlTest::get(
        $Test::Nginx::Socket::ServerPort, '/api/1/health/metrics');
    my $m = CachectlTest::json_decode($body)
        or return "metrics: not JSON: $body\n";
    for my $s (@{ $m->{data}{servers} // [] }) {
        for my $i (@{ $s->{instances} // [] }) {
            next unless ($i->{instanceId} // '') =~ /:200:\Q$pid\E$/;
            return sprintf "listed: pm2Id=%s status=%s component=%s\n",
                $i->{pm2Id}, $i->{status},
                $i->{components}{cachectl}{component} // '(none)';
        }
    }
    return "not listed (of $m->{data}{statistics}{totalInstances} instances)\n";
}

repeat_each(1);
master_on();
workers(2);

plan tests => repeat_each() * blocks() * 3;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the daemon runs: the tree in Redis, pages served; its
heartbeat (kind "cachectl", with a TTL) makes /api/1/health/metrics list it
--- wait_for_log
pub/sub connection ready
--- pre_request
CachectlTest::daemon_wait_log($main::Daemon, qr/published \d+ view/, 5);
my $key = CachectlTest::instance_key($main::Redis, $main::NS,
                                     $main::Daemon->{pid}) // 'none';
my $blob = CachectlTest::json_decode(JPulseTest::redis_cli($main::Redis,
                                                           'GET', $key)) // {};
my $ttl = JPulseTest::redis_cli($main::Redis, 'TTL', $key) =~ s/\s+//r;
$main::Result = main::redis_tree()
    . "home: " . main::workers_serve('/home/', qr{^<p>home v1</p>\n\z}) . "\n"
    . "heartbeat: kind=" . ($blob->{kind} // '(none)')
    . " ttl=" . ($ttl > 0 && $ttl <= 60 ? 'ok' : $ttl) . "\n"
    . main::metrics_instance($main::Daemon->{pid});
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
doomed/index.shtml
error/index.shtml
home/index.shtml
keep/index.shtml
home: ok
heartbeat: kind=cachectl ttl=ok
listed: pm2Id=200 status=online component=Cachectl
--- no_error_log
[error]



=== TEST 2: Redis restarted under the daemon (its data gone) while a file
changed: the daemon reconnects and syncs in full: the tree, the edit,
<ns>gen and the heartbeat are back, and nginx serves the pages again
--- pre_request
my $mark = CachectlTest::daemon_mark($main::Daemon);
JPulseTest::redis_stop($main::Redis);
write_file("$main::View/home/index.shtml", "<p>home v2</p>\n");
CachectlTest::daemon_wait_log($main::Daemon, qr/retrying/, 3, $mark);
Time::HiRes::sleep(0.3);
JPulseTest::redis_start($main::Redis);
my $t0 = Time::HiRes::time();
CachectlTest::daemon_wait_log($main::Daemon, qr/published/, 8, $mark);
my $took = Time::HiRes::time() - $t0;
CachectlTest::poll_until(5, sub {
    main::workers_serve('/home/', qr{^<p>home v2</p>\n\z}) eq 'ok' });
CachectlTest::poll_until(3, sub {
    CachectlTest::instance_key($main::Redis, $main::NS, $main::Daemon->{pid}) });
$main::Result = main::log_lines($main::Daemon, $mark,
                                qr/connected to Redis|published/)
        =~ s/127\.0\.0\.1:\d+/REDIS/r
    . "synced within 6 s of Redis' return: " . ($took < 6 ? 'yes' : "no ($took s)") . "\n"
    . main::redis_tree()
    . "gen view: " . CachectlTest::gen_counters($main::Redis, $main::NS)->{view} . "\n"
    . "heartbeat: " . (CachectlTest::instance_key($main::Redis, $main::NS,
                           $main::Daemon->{pid}) ? 'back' : 'missing') . "\n"
    . "home: " . main::workers_serve('/home/', qr{^<p>home v2</p>\n\z}) . "\n"
    . "keep: " . main::workers_serve('/keep/', qr{^<p>keep</p>\n\z}) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
connected to Redis REDIS: full sync
published 4 view, 0 config, 0 i18n change(s)
synced within 6 s of Redis' return: yes
doomed/index.shtml
error/index.shtml
home/index.shtml
keep/index.shtml
gen view: 1
heartbeat: back
home: ok
keep: ok
--- error_log
pub/sub connection lost



=== TEST 3: the daemon killed with SIGKILL; while it is dead a file is
deleted, one edited, one added (Redis keeps the old state); started
again, it makes Redis match the files: the deleted one removed (tpl: key
and index field), the others published, and nginx follows
--- pre_request
my $killed = CachectlTest::daemon_stop($main::Daemon, signal => 'KILL');
remove_file("$main::View/doomed/index.shtml");
write_file("$main::View/home/index.shtml", "<p>home v3</p>\n");
write_file("$main::View/fresh/index.shtml", "<p>fresh</p>\n");
Time::HiRes::sleep(0.2);
my $while_dead = main::redis_tree();
$main::Daemon = daemon_start(@main::Opts);
CachectlTest::daemon_wait_log($main::Daemon, qr/published/, 5);
CachectlTest::poll_until(5, sub {
    main::workers_serve('/home/', qr{^<p>home v3</p>\n\z}) eq 'ok' });
$main::Result = "killed: $killed\n"
    . "while dead:\n$while_dead"
    . main::log_lines($main::Daemon, 0, qr/published/)
    . "after the restart:\n" . main::redis_tree()
    . "doomed tpl: key: " . JPulseTest::redis_cli($main::Redis, 'EXISTS',
                                 "${main::NS}tpl:doomed/index.shtml")
    . "home in Redis: " . main::published('home/index.shtml')
    . "home: " . main::workers_serve('/home/', qr{^<p>home v3</p>\n\z}) . "\n"
    . "fresh: " . main::workers_serve('/fresh/', qr{^<p>fresh</p>\n\z}) . "\n"
    . "doomed: " . main::workers_serve('/doomed/', qr{^<h1>404</h1>}, 404) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
killed: signal 9
while dead:
doomed/index.shtml
error/index.shtml
home/index.shtml
keep/index.shtml
published 3 view, 0 config, 0 i18n change(s)
after the restart:
error/index.shtml
fresh/index.shtml
home/index.shtml
keep/index.shtml
doomed tpl: key: 0
home in Redis: <p>home v3</p>
home: ok
fresh: ok
doomed: ok
--- no_error_log
[error]



=== TEST 4: a daemon started while Redis is down keeps retrying (and
stays up); once Redis is there it syncs everything, and nginx serves it
--- pre_request
my $stopped = CachectlTest::daemon_stop($main::Daemon);
JPulseTest::redis_stop($main::Redis);
write_file("$main::View/home/index.shtml", "<p>home v4</p>\n");
$main::Daemon = daemon_start(@main::Opts);
CachectlTest::daemon_wait_log($main::Daemon, qr/retrying/, 3);
Time::HiRes::sleep(1.5);
my $alive = CachectlTest::daemon_alive($main::Daemon) ? 'yes' : 'no';
my $published_early = CachectlTest::daemon_count($main::Daemon, qr/published/);
JPulseTest::redis_start($main::Redis);
my $t0 = Time::HiRes::time();
CachectlTest::daemon_wait_log($main::Daemon, qr/published/, 8);
my $took = Time::HiRes::time() - $t0;
CachectlTest::poll_until(5, sub {
    main::workers_serve('/home/', qr{^<p>home v4</p>\n\z}) eq 'ok' });
$main::Result = "previous daemon: $stopped\n"
    . "alive while Redis is down: $alive, published meanwhile: $published_early\n"
    . main::log_lines($main::Daemon, 0, qr/retrying|connected to Redis|published/)
        =~ s/127\.0\.0\.1:\d+/REDIS/gr =~ s/REDIS: .*; retrying/REDIS: (why); retrying/r
    . "synced within 6 s of Redis' return: " . ($took < 6 ? 'yes' : "no ($took s)") . "\n"
    . main::redis_tree()
    . "home: " . main::workers_serve('/home/', qr{^<p>home v4</p>\n\z}) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
previous daemon: exit 0
alive while Redis is down: yes, published meanwhile: 0
Redis REDIS: (why); retrying
connected to Redis REDIS: full sync
published 4 view, 0 config, 0 i18n change(s)
synced within 6 s of Redis' return: yes
error/index.shtml
fresh/index.shtml
home/index.shtml
keep/index.shtml
home: ok
--- error_log
pub/sub connection lost



=== TEST 5: SIGTERM: exit 0, the heartbeat and the status record are
deleted at once, metrics no longer list the daemon; what it published
stays
--- pre_request
my $pid = $main::Daemon->{pid};
CachectlTest::poll_until(3, sub {
    main::metrics_instance($pid) =~ /^listed/ });
my $key = CachectlTest::instance_key($main::Redis, $main::NS, $pid) // 'none';
(my $status_key = $key) =~ s/metrics:instance:/cachectl:status:/;
my $before = sprintf "before: heartbeat %s, status record %s, %s",
    map({ JPulseTest::redis_cli($main::Redis, 'EXISTS', $_) =~ s/\s+//r }
        $key, $status_key),
    main::metrics_instance($pid);
my $stop = CachectlTest::daemon_stop($main::Daemon);
$main::Result = $before . "stop: $stop\n"
    . sprintf("after: heartbeat %s, status record %s, %s",
        map({ JPulseTest::redis_cli($main::Redis, 'EXISTS', $_) =~ s/\s+//r }
            $key, $status_key),
        main::metrics_instance($pid) =~ s/ \(of \d+ instances\)//r)
    . main::log_lines($main::Daemon, 0, qr/SIGTERM|stopped/)
    . main::redis_tree();
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
before: heartbeat 1, status record 1, listed: pm2Id=200 status=online component=Cachectl
stop: exit 0
after: heartbeat 0, status record 0, not listed
SIGTERM: stopping
stopped
error/index.shtml
fresh/index.shtml
home/index.shtml
keep/index.shtml
--- no_error_log
[error]
