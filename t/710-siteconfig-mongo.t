# siteConfig from MongoDB (issue 13, contract 4.5 and 9.9): with
# jpulse_mongodb, configs {_id:"global"}.data is siteConfig, stripped as
# <ns>cfg:site is (which is ignored now, noticed once); re-read on jPulse's
# controller:config:data:changed for id "global" and on a Redis resync;
# adminRoles from it gate /admin/; a missing document is jPulse's {} and
# the default admin roles; data that is not an object leaves the config in
# force. One nginx across blocks; each block changes the document (through
# the test server's string _id shim) and polls the page until it follows.
use lib 't/lib';
use JPulseTest qw(redis_start);
use MongoTest qw(mongo_cmd skip_unless_mongo);
use GatesTest ();
use Test::Nginx::Socket;

skip_unless_mongo();

our $Redis = redis_start();
our $NS = 'site710:dev:';
our $Db = 't710';
our %C = GatesTest::cast($Redis, $NS,
    kim => { id => '65a1f0c2e4b0a1b2c3d4e5f9', username => 'kim',
             firstName => 'Kim', lastName => 'Boss', nickName => 'Kim',
             initials => 'KB', roles => ['boss'] });

our $Dir = File::Temp::tempdir('jpulse-t710-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {
    'site/index.shtml' => "{{siteConfig}}\n",
    'admin/index.shtml' => "ADMIN {{user.username}}\n",
    'error/index.shtml' => "E{{url.param.code}} {{url.param.msg}}\n",
});

# replaces configs {_id:"global"} (upsert); undef deletes it
sub main::cfg {
    my ($data) = @_;
    my $r = defined $data
        ? mongo_cmd(update => 'configs',
                    updates => [{ q => { _id => 'global' },
                                  u => { data => $data },
                                  upsert => JSON::PP::true }],
                    '$db' => $Db)
        : mongo_cmd(delete => 'configs',
                    deletes => [{ q => { _id => 'global' }, limit => 1 }],
                    '$db' => $Db);
    die "configs: " . JSON::PP->new->encode($r) . "\n"
        unless ref $r->{ok} ? $r->{ok}{'$numberInt'} : $r->{ok};
}

# jPulse's announcement of a config write (RedisManager.publishBroadcast)
sub main::changed {
    my ($id) = @_;
    my $ch = 'controller:config:data:changed';
    my $msg = JSON::PP->new->canonical->encode({
        channel => $ch,
        data => { id => $id, action => 'update', timestamp => 1 },
        instanceId => '0:0:1', timestamp => 1 });
    JPulseTest::redis_pipeline($main::Redis,
                               ['PUBLISH', "${main::NS}bc:$ch", $msg]);
    JPulseTest::redis_sync($main::Redis);
}

sub main::get {
    my ($path, $cookie) = @_;
    my ($status, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, $path,
        headers => $cookie ? "Cookie: $cookie\r\n" : '');
    return $status == 200 ? $body : "status $status: $body";
}

sub main::wait_site {
    my ($re) = @_;
    JPulseTest::poll_until(5, sub { main::get('/site/') =~ $re });
}

sub main::denied {
    my ($roles) = @_;
    (my $r = $roles) =~ s/, /%2C%20/g;
    return '/error/index.shtml?msg=Insufficient%20privileges.%20'
         . "Required%20roles%3A%20$r&code=403";
}

main::cfg({ general => { name => 'Harbour' },
            email => { adminEmail => 'a@b', smtpPass => 'secret',
                       smtpServer => 'mx' } });
# what cachectl would publish: ignored while MongoDB is the source
JPulseTest::publish_config($Redis, $NS, site => '{"general":{"name":"R"}}',
                           event => 0);

$ENV{TEST_NGINX_T710_DIR} = $Dir;
$ENV{TEST_NGINX_T710_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

repeat_each(1);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id site710;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T710_REDIS_PORT;
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT/t710;
    jpulse_heartbeat off;
    jpulse_metrics_zone jpulse 1m;
    jpulse_session on;
    jpulse_session_secret gates-secret-of-the-tests;
    jpulse_view_roots $TEST_NGINX_T710_DIR/view;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n"
                              . "    location = /p { jpulse_session off; jpulse_metrics prometheus; }\n");
    $block->set_value('no_error_log', "[alert]\n[crit]")
        unless defined $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: siteConfig is configs {_id:"global"}.data (keys in the document's order), secrets (email.smtp*) stripped; Redis' cfg:site is ignored, said once at notice
--- pre_request
main::wait_site(qr/Harbour/);
--- request
GET /site/
--- response_body
{"email":{"adminEmail":"a@b"},"general":{"name":"Harbour"}}
--- error_log
siteConfig comes from MongoDB (jpulse_mongodb): Redis' cfg:site is ignored
--- no_error_log
[error]
[alert]



=== TEST 2: a change in MongoDB and jPulse's event for "global" (after one for another id): the next page shows it
--- pre_request
main::cfg({ general => { name => 'Lighthouse' } });
main::changed('site');
main::changed('global');
main::wait_site(qr/Lighthouse/);
--- request
GET /site/
--- response_body
{"general":{"name":"Lighthouse"}}
--- no_error_log
[error]
[alert]



=== TEST 3: adminRoles from MongoDB gate /admin/ for signed-in users: the boss in, the admin out
--- pre_request
main::cfg({ general => { roles => ['user', 'admin', 'boss'],
                         adminRoles => ['boss'] } });
main::changed('global');
main::wait_site(qr/boss/);
--- request eval
["GET /admin/", "GET /admin/"]
--- more_headers eval
["Cookie: $main::C{kim}", "Cookie: $main::C{ada}"]
--- error_code eval
[200, 302]
--- response_headers eval
["!Location", "Location: " . main::denied('boss')]
--- response_body eval
["ADMIN kim\n", "Found. Redirecting to " . main::denied('boss')]
--- no_error_log
[error]
[alert]



=== TEST 4: the document deleted: siteConfig {} as jPulse has it, admin roles back to admin, root, a warning
--- pre_request
main::cfg(undef);
main::changed('global');
main::wait_site(qr/^\{\}$/);
--- request eval
["GET /site/", "GET /admin/", "GET /admin/"]
--- more_headers eval
["", "Cookie: $main::C{kim}", "Cookie: $main::C{ada}"]
--- error_code eval
[200, 302, 200]
--- response_body eval
["{}\n", "Found. Redirecting to " . main::denied('admin, root'),
 "ADMIN ada\n"]
--- error_log
no configs {_id:"global"} document: siteConfig is empty
--- no_error_log
[error]
[alert]



=== TEST 5: data that is not an object is logged; the config in force stays
--- pre_request
main::cfg({ general => { name => 'Kept' } });
main::changed('global');
main::wait_site(qr/Kept/);
my $mark = JPulseTest::log_mark();
main::cfg('a string');
main::changed('global');
JPulseTest::wait_log($mark, qr/is not an object; keeping the config/);
--- request
GET /site/
--- response_body
{"general":{"name":"Kept"}}
--- error_log
configs {_id:"global"}.data is not an object; keeping the config in force



=== TEST 6: a change whose event was lost is read at the resync (the pub/sub connection killed)
--- pre_request
main::cfg({ general => { name => 'Resynced' } });
JPulseTest::redis_cli($main::Redis, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
main::wait_site(qr/Resynced/);
--- request
GET /site/
--- response_body
{"general":{"name":"Resynced"}}



=== TEST 7: events in a burst while a read runs: the last change wins
--- pre_request
for my $n (1 .. 20) {
    main::cfg({ general => { name => "burst$n" } });
    main::changed('global');
}
main::wait_site(qr/burst20/);
--- request
GET /site/
--- response_body
{"general":{"name":"burst20"}}



=== TEST 8: the reads are counted as the "config" operation (the name the
metrics list)
--- request
GET /p
--- response_body_like
jpulse_mongodb_operations_total\{operation="config",outcome="ok"\} [1-9]
