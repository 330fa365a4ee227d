# siteConfig from MongoDB is input like any other: a document over
# jpulse_mongodb result_max= is refused (logged, the config in force
# stays), BSON types JSON has not come out as Extended JSON (relaxed:
# numbers stay numbers, a Date and an ObjectId as jPulse's JSON.stringify()
# shows them), deep nesting is served, stripped as ever. One nginx across blocks; each block replaces the
# document and announces it as jPulse does.
use lib 't/lib';
use JPulseTest qw(redis_start);
use MongoTest qw(mongo_cmd skip_unless_mongo);
use Test::Nginx::Socket;

skip_unless_mongo();

our $Redis = redis_start();
our $NS = 'site715:dev:';
our $Db = 't715';

our $Dir = File::Temp::tempdir('jpulse-t715-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;
JPulseTest::view_tree("$Dir/view", {
    'site/index.shtml' => "{{siteConfig}}\n",
    'name/index.shtml' => "{{siteConfig.general.name}}\n",
    'types/index.shtml' => "{{siteConfig.n}} {{siteConfig.when}} "
                           . "{{siteConfig.id}}\n",
});

sub main::cfg {
    my ($data) = @_;
    my $r = mongo_cmd(update => 'configs',
                      updates => [{ q => { _id => 'global' },
                                    u => { data => $data },
                                    upsert => JSON::PP::true }],
                      '$db' => $Db);
    die "configs: " . JSON::PP->new->encode($r) . "\n"
        unless ref $r->{ok} ? $r->{ok}{'$numberInt'} : $r->{ok};
    my $ch = 'controller:config:data:changed';
    JPulseTest::redis_pipeline($main::Redis, ['PUBLISH', "${main::NS}bc:$ch",
        qq({"channel":"$ch","data":{"id":"global","action":"update"},)
        . qq("instanceId":"0:0:1","timestamp":1})]);
    JPulseTest::redis_sync($main::Redis);
}

sub main::get {
    my ($path) = @_;
    my ($status, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, $path);
    return $status == 200 ? $body : "status $status: $body";
}

sub main::wait_site {
    my ($re, $path) = @_;
    JPulseTest::poll_until(5, sub { main::get($path // '/site/') =~ $re });
}

main::cfg({ general => { name => 'Small' } });

$ENV{TEST_NGINX_T715_DIR} = $Dir;
$ENV{TEST_NGINX_T715_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

repeat_each(1);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id site715;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T715_REDIS_PORT;
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT/t715 result_max=4k;
    jpulse_heartbeat off;
    jpulse_view_roots $TEST_NGINX_T715_DIR/view;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n");
    $block->set_value('no_error_log', "[alert]\n[crit]")
        unless defined $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a document over result_max: logged with its size, the config in force stays
--- pre_request
main::wait_site(qr/Small/, '/name/');
my $mark = JPulseTest::log_mark();
main::cfg({ general => { name => 'Big' }, pad => 'x' x 8000 });
JPulseTest::wait_log($mark, qr/over the result size cap|result_max|too large/i);
--- request
GET /name/
--- response_body
Small
--- error_log eval
qr/configs \{_id:"global"\}.*(?:over the result size cap|result_max|too large)/i



=== TEST 2: types JSON has not, as jPulse's JSON.stringify() shows them: a Date as its ISO string, an ObjectId as hex, 64-bit integers as numbers; deep nesting served
--- pre_request
main::cfg({ general => { name => 'Typed' },
            n => { int => 7, neg => -2, dbl => 1.5,
                   big => { '$numberLong' => '4294967296' },
                   t => JSON::PP::true, nul => undef },
            when => { '$date' => '2025-01-02T03:04:05.000Z' },
            id => { '$oid' => '65a1f0c2e4b0a1b2c3d4e5f6' },
            deep => (do { my $d = 'bottom'; $d = { d => $d } for 1 .. 40;
                          $d }) });
main::wait_site(qr/Typed/);
--- request
GET /types/
--- response_body
{"big":4294967296,"dbl":1.5,"int":7,"neg":-2,"nul":"","t":true} 2025-01-02T03:04:05.000Z 65a1f0c2e4b0a1b2c3d4e5f6
--- no_error_log
[error]
[alert]
