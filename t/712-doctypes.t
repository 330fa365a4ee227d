# docTypes (issue 13, contract 4.5): logs.distinct("data.docType"),
# sorted, as appConfig.system.docTypes (signed-in users only: jPulse's
# contextFilter removes appConfig.system for anonymous ones). Shared
# through Redis: <ns>cache:controller:log:docTypes (a JSON array, EX 300)
# written by the one worker that took <ns>cache:controller:log:docTypes:
# refresh (SET NX PX 30000), which deletes that lock after. A render never
# waits: jPulse's fallback ["config","user"] until a list is known. Bad
# Redis contents are ignored (logged once) and replaced.
#
# Each block starts a fresh nginx (the worker's copy lives 300 s) and
# counts the test server's distinct commands (--command-log).
use lib 't/lib';
use JPulseTest qw(redis_start redis_command redis_cli);
use MongoTest qw(skip_unless_mongo);
use GatesTest ();
use SiteTest ();
use Test::More ();
use IO::Socket::INET ();
use Test::Nginx::Socket;

skip_unless_mongo();

our $Redis = redis_start();
our $NS = 'dt712:dev:';
our $Key = "${NS}cache:controller:log:docTypes";
our $Lock = "$Key:refresh";
our %C = GatesTest::cast($Redis, $NS);

our $Dir = File::Temp::tempdir('jpulse-t712-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;
JPulseTest::view_tree("$Dir/view", {
    'logs/index.shtml' => "{{appConfig.system.docTypes}}\n",
});

our $Port = SiteTest::free_port();
our $CmdLog = "$Dir/commands.log";
SiteTest::mongo_start($Port, command_log => $CmdLog);
SiteTest::mongo($Port, insert => 'logs', documents => [
    { data => { docType => 'user' } }, { data => { docType => 'plugin' } },
    { data => { docType => 'config' } }, { data => { docType => 'user' } },
    { data => { docType => undef } }, { data => { docType => 7 } },
    { data => {} } ], '$db' => 't712');

our $List = '["config","plugin","user"]';
our $Fallback = '["config","user"]';

sub main::page {
    my ($cookie) = @_;
    my ($status, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, '/logs/',
        headers => $cookie ? "Cookie: $cookie\r\n" : '');
    $body //= '';
    chomp $body;
    return $status == 200 ? $body : "status $status: $body";
}

sub main::wait_page {
    my ($want) = @_;
    JPulseTest::poll_until(10, sub { main::page($main::C{ada}) eq $want });
    return main::page($main::C{ada});
}

sub main::lock_gone {
    JPulseTest::poll_until(5, sub {
        redis_command($main::Redis, 'EXISTS', $main::Lock) =~ /^:0/ });
}

# every command Redis gets, for the lock's values (TEST 6)
our $Monitor = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $Redis->{port})
    or die "monitor: $!";
print $Monitor "MONITOR\r\n";
<$Monitor>;

$ENV{TEST_NGINX_T712_DIR} = $Dir;
$ENV{TEST_NGINX_T712_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_T712_MONGO_PORT} = $Port;

repeat_each(1);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id dt712;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T712_REDIS_PORT;
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_T712_MONGO_PORT/t712;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret gates-secret-of-the-tests;
    jpulse_view_roots $TEST_NGINX_T712_DIR/view;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n");
    $block->set_value('wait_for_log', "command connection ready\n");
    $block->set_value('no_error_log', "[error]\n[alert]")
        unless defined $block->no_error_log;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: nothing in Redis: one worker queries MongoDB once, writes the list (EX 300) and gives the lock back; anonymous users see no appConfig.system
--- pre_request
redis_command($main::Redis, 'DEL', $main::Key, $main::Lock);
my $n = SiteTest::distinct_count($main::CmdLog);
Test::More::is(main::wait_page($main::List), $main::List,
               'the list, sorted, strings only');
Test::More::ok(main::lock_gone(), 'the lock is given back');
Test::More::is((JPulseTest::redis_pipeline($main::Redis,
                                           ['GET', $main::Key]))[0],
               $main::List, 'the list in Redis');
my ($ttl) = redis_command($main::Redis, 'TTL', $main::Key) =~ /^:(\d+)/;
Test::More::ok($ttl > 0 && $ttl <= 300, "TTL $ttl in 1..300");
Test::More::is(SiteTest::distinct_count($main::CmdLog) - $n, 1,
               'one distinct query');
--- request eval
["GET /logs/", "GET /logs/"]
--- more_headers eval
["Cookie: $main::C{ada}", ""]
--- response_body eval
["$main::List\n", "\n"]



=== TEST 2: another instance's list in Redis: taken as it is, no query
--- pre_request
redis_command($main::Redis, 'SET', $main::Key, '["alpha","beta"]', 'EX', 300);
my $n = SiteTest::distinct_count($main::CmdLog);
main::wait_page('["alpha","beta"]');
Test::More::is(SiteTest::distinct_count($main::CmdLog) - $n, 0,
               'no distinct query');
--- request
GET /logs/
--- more_headers eval
"Cookie: $main::C{ada}"
--- response_body
["alpha","beta"]



=== TEST 3: Redis holds no list of strings: ignored (logged once), read from MongoDB and replaced
--- pre_request
redis_command($main::Redis, 'DEL', $main::Lock);
redis_command($main::Redis, 'SET', $main::Key, '{"not":"a list"}', 'EX', 300);
main::wait_page($main::List);
main::lock_gone();
Test::More::is((JPulseTest::redis_pipeline($main::Redis,
                                           ['GET', $main::Key]))[0],
               $main::List, 'replaced by the list');
--- request eval
["GET /logs/", "GET /logs/"]
--- more_headers eval
["Cookie: $main::C{ada}", "Cookie: $main::C{ada}"]
--- response_body eval
["$main::List\n", "$main::List\n"]
--- error_log
cache:controller:log:docTypes: 16 bytes that are not a JSON array of at most 1000 strings; ignored, read from MongoDB



=== TEST 4: a huge value (and non-strings in a list) is ignored the same way
--- pre_request
redis_command($main::Redis, 'DEL', $main::Lock);
redis_command($main::Redis, 'SET', $main::Key,
              '[' . join(',', ('"xxxxxxxxxx"') x 7000) . ']', 'EX', 300);
main::wait_page($main::List);
JPulseTest::poll_until(5, sub { (JPulseTest::redis_pipeline($main::Redis,
                                   ['GET', $main::Key]))[0] eq $main::List });
Test::More::is((JPulseTest::redis_pipeline($main::Redis,
                                           ['GET', $main::Key]))[0],
               $main::List, 'replaced by the list');
--- request
GET /logs/
--- more_headers eval
"Cookie: $main::C{ada}"
--- response_body eval
"$main::List\n"
--- error_log
bytes that are not a JSON array of at most 1000 strings



=== TEST 5: another instance holds the lock: the fallback meanwhile, no query; its list once it wrote it
--- pre_request
redis_command($main::Redis, 'DEL', $main::Key);
redis_command($main::Redis, 'SET', $main::Lock, '9:9:9', 'PX', 30000);
my $n = SiteTest::distinct_count($main::CmdLog);
Test::More::is(main::page($main::C{ada}), $main::Fallback,
               'the fallback while another refreshes');
redis_command($main::Redis, 'SET', $main::Key, '["theirs"]', 'EX', 300);
redis_command($main::Redis, 'DEL', $main::Lock);
Test::More::is(main::wait_page('["theirs"]'), '["theirs"]',
               'their list, read again a second later');
Test::More::is(SiteTest::distinct_count($main::CmdLog) - $n, 0,
               'no distinct query');
--- request
GET /logs/
--- more_headers eval
"Cookie: $main::C{ada}"
--- response_body
["theirs"]



=== TEST 6: the lock's value is the instance id and the worker's pid (all
workers share the instance id), and the EVAL that deletes it names that
same value
--- pre_request
$main::Monitor->blocking(0);
my ($log, $chunk) = ('', '');
while (defined(my $n = sysread $main::Monitor, $chunk, 65536)) {
    last unless $n;
    $log .= $chunk;
}
my (@set, @del);
for (split /\n/, $log) {
    push @set, $1 if /"SET" "\Q$main::Lock\E" "([^"]+)" "NX"/;
    push @del, $1 if /"EVAL" ".*" "1" "\Q$main::Lock\E" "([^"]+)"/;
}
@set = grep { $_ ne '9:9:9' } @set;
# the tests' nginx runs without a master: then the two pids are one
my @bad = grep { !/^\d+:\d+:\d+:(\d+)$/ } @set;
my %set = map { $_ => 1 } @set;
Test::More::ok(@set > 0 && !@bad,
               'instance id and a worker pid: ' . join(', ', @set));
Test::More::ok(@del > 0 && !grep({ !$set{$_} } @del),
               'the EVALs name the values set: ' . join(', ', @del));
--- request
GET /logs/
--- more_headers eval
"Cookie: $main::C{ada}"
--- response_body_like
^\[
