# docTypes without a usable Redis, and without MongoDB: without Redis each
# worker queries MongoDB itself, once per TTL (its own copy); with Redis
# configured but down the same; with MongoDB down the page shows jPulse's
# fallback ["config","user"] and the log says why. Without Redis nobody is
# signed in, and jPulse's contextFilter shows appConfig.system to signed-in
# users only: there the test server's command log (a private server,
# --command-log) shows what the workers asked. A fresh nginx (one worker)
# per block.
use lib 't/lib';
use JPulseTest qw(redis_start redis_command);
use GatesTest ();
use MongoTest qw(skip_unless_mongo);
use SiteTest ();
use Test::More ();
use Test::Nginx::Socket;

skip_unless_mongo();

our $Dir = File::Temp::tempdir('jpulse-t714-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;
JPulseTest::view_tree("$Dir/view", {
    'logs/index.shtml' => "{{appConfig.system.docTypes}}\n",
});

our $Port = SiteTest::free_port();
our $Closed = SiteTest::free_port();    # nothing listens there
our $CmdLog = "$Dir/commands.log";
SiteTest::mongo_start($Port, command_log => $CmdLog);
SiteTest::mongo($Port, insert => 'logs', documents => [
    { data => { docType => 'user' } }, { data => { docType => 'audit' } } ], '$db' => 't714');

our $List = '["audit","user"]';

our $Redis = redis_start();
our $NS = 'dt714:dev:';
our %C = GatesTest::cast($Redis, $NS);

sub main::page {
    my ($cookie) = @_;
    my ($status, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, '/logs/',
        headers => $cookie ? "Cookie: $cookie\r\n" : '');
    $body //= '';
    chomp $body;
    return $status == 200 ? $body : "status $status: $body";
}

# renders until the test server saw a distinct more than $n, then 20 more
# renders: how many distinct commands all of them caused
sub main::queries {
    my ($n) = @_;
    JPulseTest::poll_until(10, sub {
        main::page();
        SiteTest::distinct_count($main::CmdLog) > $n }, 0.1);
    main::page() for 1 .. 20;
    return SiteTest::distinct_count($main::CmdLog) - $n;
}

$ENV{TEST_NGINX_T714_DIR} = $Dir;
$ENV{TEST_NGINX_T714_MONGO_PORT} = $Port;
$ENV{TEST_NGINX_T714_CLOSED_PORT} = $Closed;
$ENV{TEST_NGINX_T714_REDIS_PORT} = $Redis->{port};

repeat_each(1);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: no Redis: the worker queries MongoDB itself, once for many renders
--- http_config
    jpulse_site_id dt714;
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_T714_MONGO_PORT/t714;
    jpulse_view_roots $TEST_NGINX_T714_DIR/view;
--- config
    location / { jpulse_render; }
--- pre_request
Test::More::is(main::queries(SiteTest::distinct_count($main::CmdLog)), 1,
               'one distinct query for 20+ renders');
--- request
GET /logs/
--- response_body eval
"\n"
--- no_error_log
[error]
[alert]



=== TEST 2: Redis configured but down: the same, the worker's own copy
--- http_config
    jpulse_site_id dt714;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T714_CLOSED_PORT;
    jpulse_heartbeat off;
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_T714_MONGO_PORT/t714;
    jpulse_view_roots $TEST_NGINX_T714_DIR/view;
--- config
    location / { jpulse_render; }
--- pre_request
Test::More::is(main::queries(SiteTest::distinct_count($main::CmdLog)), 1,
               'one distinct query for 20+ renders');
--- request
GET /logs/
--- response_body eval
"\n"
--- no_error_log
[alert]
[crit]



=== TEST 3: MongoDB unreachable: jPulse's fallback for signed-in users, the log says why
--- http_config
    jpulse_site_id dt714;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T714_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret gates-secret-of-the-tests;
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_T714_CLOSED_PORT/t714?serverSelectionTimeoutMS=300&connectTimeoutMS=300;
    jpulse_view_roots $TEST_NGINX_T714_DIR/view;
--- config
    location / { jpulse_render; }
--- wait_for_log
command connection ready
--- pre_request
redis_command($main::Redis, 'DEL', "${main::NS}cache:controller:log:docTypes",
              "${main::NS}cache:controller:log:docTypes:refresh");
main::page($main::C{ada});
JPulseTest::wait_log(0, qr/docTypes: logs\.distinct/, 10);
--- request eval
["GET /logs/", "GET /logs/"]
--- more_headers eval
["Cookie: $main::C{ada}", "Cookie: $main::C{ada}"]
--- response_body eval
["[\"config\",\"user\"]\n", "[\"config\",\"user\"]\n"]
--- error_log
docTypes: logs.distinct("data.docType") failed
keeping jPulse's fallback ["config","user"]
--- no_error_log
[alert]
[crit]
