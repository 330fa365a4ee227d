# How often siteConfig is read from MongoDB (a private test server that
# logs its commands): once per reason. jPulse's event for another config
# id is no reason; the one for "global" is; events arriving while a read
# runs make one more read, not one each. One nginx (one worker) across
# blocks.
use lib 't/lib';
use JPulseTest qw(redis_start);
use MongoTest qw(skip_unless_mongo);
use SiteTest ();
use Test::More ();
use Test::Nginx::Socket;

skip_unless_mongo();

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $Redis = redis_start();
our $NS = 'site716:dev:';

our $Dir = File::Temp::tempdir('jpulse-t716-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;
JPulseTest::view_tree("$Dir/view", { 'site/index.shtml' => "{{siteConfig}}\n" });

our $Port = SiteTest::free_port();
our $CmdLog = "$Dir/commands.log";
SiteTest::mongo_start($Port, command_log => $CmdLog);

sub main::cfg {
    my ($name) = @_;
    SiteTest::mongo($Port, update => 'configs',
                    updates => [{ q => { _id => 'global' },
                                  u => { data => { name => $name } },
                                  upsert => JSON::PP::true }],
                    '$db' => 't716');
}

sub main::changed {
    my (@ids) = @_;
    my $ch = 'controller:config:data:changed';
    JPulseTest::redis_pipeline($main::Redis, map {
        ['PUBLISH', "${main::NS}bc:$ch",
         qq({"channel":"$ch","data":{"id":"$_","action":"update"},)
         . qq("instanceId":"0:0:1","timestamp":1})] } @ids);
    JPulseTest::redis_sync($main::Redis);
}

sub main::finds {
    return scalar grep { /^find configs$/ } split /\n/,
                                            JPulseTest::_slurp($main::CmdLog);
}

sub main::get {
    my ($status, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, '/site/');
    return $status == 200 ? $body : "status $status: $body";
}

main::cfg('zero');

$ENV{TEST_NGINX_T716_DIR} = $Dir;
$ENV{TEST_NGINX_T716_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_T716_MONGO_PORT} = $Port;
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

repeat_each(1);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id site716;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T716_REDIS_PORT;
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_T716_MONGO_PORT/t716;
    jpulse_heartbeat off;
    jpulse_view_roots $TEST_NGINX_T716_DIR/view;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n");
    $block->set_value('no_error_log', "[error]\n[alert]");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: an event for another id reads nothing; the one for "global" after it reads once
--- pre_request
JPulseTest::poll_until(5, sub { main::get() =~ /zero/ });
# the reads of the start (timer, resync) are over once both connections
# are up and the page shows the document: wait for the count to settle
my $n;
JPulseTest::poll_until(3, sub {
    my $m = main::finds();
    my $same = defined $n && $m == $n;
    $n = $m;
    Time::HiRes::sleep(0.3);
    return $same && main::finds() == $m;
});
main::cfg('one');
main::changed('site', 'other');
main::changed('global');
JPulseTest::poll_until(5, sub { main::get() =~ /one/ });
Test::More::is(main::finds() - $n, 1, 'one read, for "global" only');
--- request
GET /site/
--- response_body
{"name":"one"}
