# siteConfig from MongoDB without Redis: nothing announces a change, so
# each worker reads configs {_id:"global"} every check interval
# (jpulse_template_check_interval, 1 s here). With the database down the
# config in force stays and the log says why; once it is back (restarted:
# the test server keeps nothing, the suite seeds it again) the new
# document is read. A private test server, on a port of its own, so that
# the suite can kill it.
use lib 't/lib';
use JPulseTest ();
use MongoTest qw(skip_unless_mongo);
use Test::Nginx::Socket;

skip_unless_mongo();

our $Port = do {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die $!;
    $s->sockport;
};
our $Pid;

# starts the private test server on $Port (again), returns once it listens
sub main::mongo_start {
    my $log = File::Temp->new;
    $Pid = fork // die "fork: $!";
    if ($Pid == 0) {
        open STDOUT, '>', $log->filename or die $!;
        open STDERR, '>&', \*STDOUT;
        exec 'node', 'scripts/mongo-test-server/server.mjs', '--port', $Port;
        die "exec: $!";
    }
    JPulseTest::poll_until(10, sub {
        JPulseTest::_slurp($log->filename) =~ /^listening on/m });
}

sub main::mongo_kill {
    return unless $Pid;
    kill 'KILL', $Pid;
    waitpid $Pid, 0;
    undef $Pid;
}

END { local $?; main::mongo_kill() }

sub main::cfg {
    my ($name) = @_;
    my $out = `node t/lib/mongo-cmd.mjs $Port '{"update":"configs","updates":[{"q":{"_id":"global"},"u":{"data":{"general":{"name":"$name"}}},"upsert":true}],"\$db":"t711"}'`;
    die "configs: $out\n" if $?;
}

sub main::get {
    my ($path) = @_;
    my ($status, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, $path);
    return $status == 200 ? $body : "status $status: $body";
}

sub main::wait_site {
    my ($re) = @_;
    JPulseTest::poll_until(10, sub { main::get('/site/') =~ $re });
}

main::mongo_start();
main::cfg('First');

our $Dir = File::Temp::tempdir('jpulse-t711-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;
JPulseTest::view_tree("$Dir/view", { 'site/index.shtml' => "{{siteConfig}}\n" });

$ENV{TEST_NGINX_T711_DIR} = $Dir;
$ENV{TEST_NGINX_T711_MONGO_PORT} = $Port;
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

repeat_each(1);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id site711;
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_T711_MONGO_PORT/t711?serverSelectionTimeoutMS=500&socketTimeoutMS=1000;
    jpulse_view_roots $TEST_NGINX_T711_DIR/view;
    jpulse_template_check_interval 1s;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: read at start
--- pre_request
main::wait_site(qr/First/);
--- request
GET /site/
--- response_body
{"general":{"name":"First"}}
--- no_error_log
[error]
[alert]



=== TEST 2: no Redis, no event: the check interval picks a change up
--- pre_request
main::cfg('Second');
main::wait_site(qr/Second/);
--- request
GET /site/
--- response_body
{"general":{"name":"Second"}}
--- no_error_log
[error]
[alert]



=== TEST 3: the database killed: the config in force stays, the log says so; pages are served
--- pre_request
my $mark = JPulseTest::log_mark();
main::mongo_kill();
JPulseTest::wait_log($mark,
    qr/configs \{_id:"global"\} (?:not read: MongoDB is unavailable|read failed|reading configs)|keeping the config in force/, 10);
--- request eval
["GET /site/", "GET /site/"]
--- response_body eval
["{\"general\":{\"name\":\"Second\"}}\n", "{\"general\":{\"name\":\"Second\"}}\n"]
--- error_log
keeping the config in force
--- no_error_log
[alert]
[crit]



=== TEST 4: back (restarted, seeded anew): the new document is read
--- pre_request
main::mongo_start();
main::cfg('Third');
main::wait_site(qr/Third/);
--- request
GET /site/
--- response_body
{"general":{"name":"Third"}}
--- no_error_log
[alert]
[crit]
