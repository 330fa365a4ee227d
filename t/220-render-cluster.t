# Two nginx instances of two workers each share one Redis and have EMPTY
# view roots: every page comes from Redis (L2) into each worker's L1. A
# change published with its event reaches all four workers on their next
# request; a change whose event is lost reaches them through generation
# polling. Each response names its worker (add_header X-Pid $pid), and
# fresh connections are opened until all four pids have answered.
#
# The runner's nginx is instance A (master on, 2 workers); instance B is
# started beside it with JPulseTest::nginx_start. Blocks share one A
# (TEST_NGINX_FORCE_RESTART_ON_TEST=0).
use lib 't/lib';
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'cl220:prod:';
our $Dir = File::Temp::tempdir('jpulse-t220-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;
JPulseTest::view_tree("$Dir/view", {});    # empty

JPulseTest::publish_tree($Redis, $NS, {
    'page/index.shtml' => "<p>page v1 {{file.include \"part.tmpl\"}}</p>\n",
    'part.tmpl' => "part v1 {{i18n.greeting}} {{app.site.name}}",
}, event => 0);
JPulseTest::publish_i18n($Redis, $NS, 'en', '{"greeting":"hello"}', event => 0);
# no <ns>cfg:app yet: block 5 publishes it (a new worker whose pub/sub
# connection is ready before its command connection does not read it, see
# t/210-render-redis.t TEST 21 and 22)

$ENV{TEST_NGINX_T220_DIR} = $Dir;
$ENV{TEST_NGINX_T220_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $HttpConfig = <<'CONF';
    jpulse_site_id cl220;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T220_REDIS_PORT;
    jpulse_view_roots $TEST_NGINX_T220_DIR/view;
CONF

our $Config = <<'CONF';
    location / {
        add_header X-Pid $pid always;
        jpulse_render;
    }
CONF

our ($B, $Result);

# the four workers: A's (the runner's nginx) and B's
sub main::worker_pids {
    my ($a_master) = JPulseTest::_slurp(
        "$Test::Nginx::Socket::ServerRoot/logs/nginx.pid") =~ /(\d+)/;
    return ([JPulseTest::nginx_pids($a_master)],
            [JPulseTest::nginx_pids($main::B->{pid})]);
}

# "A: ok, B: ok" when every worker of both instances answered /page/ with
# a body matching $re, and no answer did not
sub main::all_workers {
    my ($re) = @_;
    my ($a, $b) = main::worker_pids();
    my $check = sub { $_[0] == 200 && $_[2] =~ $re };
    return sprintf "A (%d workers): %s, B (%d workers): %s\n",
        scalar @$a,
        JPulseTest::pids_seen($Test::Nginx::Socket::ServerPort, '/page/',
                              $a, $check),
        scalar @$b,
        JPulseTest::pids_seen($main::B->{port}, '/page/', $b, $check);
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

=== TEST 1: two instances, four workers, every one serves the page from
Redis
--- pre_request
$main::B = JPulseTest::nginx_start(workers => 2,
    http => "jpulse_site_id cl220;
             jpulse_redis 127.0.0.1:$main::Redis->{port};
             jpulse_view_roots $main::Dir/view;",
    config => 'location / { add_header X-Pid $pid always; jpulse_render; }');
# every worker's two Redis connections are up
JPulseTest::poll_until(5, sub {
    !grep {
        my $log = JPulseTest::_slurp($_);
        (() = $log =~ /pub\/sub connection ready/g) < 2
        || (() = $log =~ /command connection ready/g) < 2
    } "$main::B->{dir}/logs/error.log",
      "$Test::Nginx::Socket::ServerRoot/logs/error.log" });
$main::Result = main::all_workers(qr{^<p>page v1 part v1 hello </p>$});
--- request
GET /page/
--- response_body_filters eval
sub { $main::Result }
--- response_body
A (2 workers): ok, B (2 workers): ok
--- no_error_log
[error]



=== TEST 2: the pub/sub connections of all four workers drop (CLIENT
KILL) while a change is made without event or generation bump: once they
are back, every worker serves it (the resync treats everything as stale)
--- pre_request
# (no generation moved since these nginx started: a worker also flushes
# when its polling sees a counter move, even one whose event it heard)
JPulseTest::publish_template($main::Redis, $main::NS, 'part.tmpl',
    "part v2 {{i18n.greeting}} {{app.site.name}}", gen => 0, event => 0);
my $stale = main::all_workers(qr{^<p>page v1 part v1 hello </p>$});
my @logs = ("$Test::Nginx::Socket::ServerRoot/logs/error.log",
            "$main::B->{dir}/logs/error.log");
my @before = map { scalar(() = JPulseTest::_slurp($_)
                               =~ /pub\/sub connection restored/g) } @logs;
JPulseTest::redis_cli($main::Redis, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
JPulseTest::poll_until(5, sub {
    !grep { (() = JPulseTest::_slurp($logs[$_])
                  =~ /pub\/sub connection restored/g) < $before[$_] + 2 } 0, 1 });
$main::Result = "before: $stale"
    . "after: " . main::all_workers(qr{^<p>page v1 part v2 hello </p>$});
--- request
GET /page/
--- response_body_filters eval
sub { $main::Result }
--- response_body
before: A (2 workers): ok, B (2 workers): ok
after: A (2 workers): ok, B (2 workers): ok
--- error_log
pub/sub connection lost



=== TEST 3: a template changed in Redis and its event: all four workers
serve the new version on their next request
--- pre_request
my $n = JPulseTest::publish_template($main::Redis, $main::NS,
    'page/index.shtml', "<p>page v2 {{file.include \"part.tmpl\"}}</p>\n");
$main::Result = "receivers: $n\n"
              . main::all_workers(qr{^<p>page v2 part v2 hello </p>$});
--- request
GET /page/
--- response_body_filters eval
sub { $main::Result }
--- response_body
receivers: 4
A (2 workers): ok, B (2 workers): ok
--- no_error_log
[error]



=== TEST 4: an include and the translations, with their events: the next
request of every worker has both
--- pre_request
JPulseTest::publish_template($main::Redis, $main::NS, 'part.tmpl',
    "part v3 {{i18n.greeting}} {{app.site.name}}");
JPulseTest::publish_i18n($main::Redis, $main::NS, 'en', '{"greeting":"moin"}');
$main::Result = main::all_workers(qr{^<p>page v2 part v3 moin </p>$});
--- request
GET /page/
--- response_body_filters eval
sub { $main::Result }
--- response_body
A (2 workers): ok, B (2 workers): ok
--- no_error_log
[error]



=== TEST 5: the config and its event: every worker follows (once the
config is read back, a round trip after the event)
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS,
                           app => '{"app":{"site":{"name":"two"}}}');
my $re = qr{^<p>page v2 part v3 moin two</p>$};
JPulseTest::poll_until(2, sub { main::all_workers($re) =~ /: ok, B .*: ok$/ });
$main::Result = main::all_workers($re);
--- request
GET /page/
--- response_body_filters eval
sub { $main::Result }
--- response_body
A (2 workers): ok, B (2 workers): ok
--- no_error_log
[error]



=== TEST 6: the event is lost (no PUBLISH, <ns>gen bumped): all four
workers serve the new version within 3 s (generation polling)
--- pre_request
# (after block 2's resync every worker has read the counters)
JPulseTest::publish_template($main::Redis, $main::NS, 'page/index.shtml',
    "<p>page v3 {{file.include \"part.tmpl\"}}</p>\n", event => 0);
my $re = qr{^<p>page v3 part v3 moin two</p>$};
my $t0 = Time::HiRes::time();
JPulseTest::poll_until(4, sub { main::all_workers($re) =~ /: ok, B .*: ok$/ }, 0.1);
my $took = Time::HiRes::time() - $t0;
$main::Result = main::all_workers($re)
              . "in time: " . ($took < 3 ? 'yes' : "no ($took s)") . "\n";
--- request
GET /page/
--- response_body_filters eval
sub { $main::Result }
--- response_body
A (2 workers): ok, B (2 workers): ok
in time: yes
--- no_error_log
[error]



=== TEST 7: B stops cleanly, nothing unexpected in its log
--- pre_request
my $log = "$main::B->{dir}/logs/error.log";
JPulseTest::nginx_stop($main::B);
# (block 2 dropped the pub/sub connections on purpose)
$main::Result = join '', grep { /\[(error|crit|alert|emerg)\]/
                                && !/pub\/sub connection lost/ }
                         split /^/, JPulseTest::_slurp($log);
--- request
GET /page/
--- response_body_filters eval
sub { "B's errors: [$main::Result]\n" }
--- response_body
B's errors: []
--- no_error_log
[error]
