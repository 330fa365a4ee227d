# Every string a CLI command prints to a terminal comes from Redis, where
# any peer (or anyone who may write the namespace) put it: a status
# record's field names (not only its values), the instance records that
# "instances" tabulates, and the user id, user name and expiry of a session
# ("sessions list", "revoke-user --dry-run", a kept session). A newline
# must not forge a line, nor an escape sequence reach the terminal (clear
# the screen, set its title, recolour). And "status --json" prints JSON
# even when the Redis address it quotes holds a quote (unix:PATH). Before,
# the field names, the instances table and the sessions were printed raw,
# and the address was pasted into the JSON unencoded.
use lib 't/lib';
use JPulseTest qw(redis_start redis_cli);
use CachectlTest qw(cli);
use JSON::PP ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't392:prod:';
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't392');
our $Result;

my $esc = "\e[2J\e]0;owned\a";

# a status record (its registry entry, its key) with hostile field names
redis_cli($Redis, 'ZADD', "${NS}metrics:registry", '9999999999999', 'evil');
JPulseTest::redis_command($Redis, 'SET', "${NS}cachectl:status:evil",
    JSON::PP->new->canonical->encode({
        instanceId => 'evil', hostname => 'h',
        stats => { "c$esc" => 1, "d\nDaemon     forged" => 2,
                   sessions => { "s$esc" => 3, "t\nSessions   forged" => 4 } },
        "f$esc" => 'v', "g\nState      forged" => 'v',
        obj => { "k$esc" => 'v', "l\nRole       forged" => 'v' },
        list => ["m"], "n\nRefused    forged" => ['x'] }), 'EX', 300);

# an instance record (what a Node peer or nginx writes)
redis_cli($Redis, 'ZADD', "${NS}metrics:registry", '9999999999999', 'peer');
JPulseTest::redis_command($Redis, 'SET', "${NS}metrics:instance:peer",
    JSON::PP->new->canonical->encode({
        kind => "nginx$esc", hostname => "host\nforged-instance 1 2 3",
        ip => "1.2.3.4$esc", uptimeFormatted => "1s\r\n",
        instances => [{ instanceId => "p$esc" }] }), 'EX', 300);

# a session, its user's name and id chosen by whoever wrote it
JPulseTest::redis_command($Redis, 'SET', "${NS}sess:" . 'a' x 32,
    JSON::PP->new->canonical->encode({
        cookie => { expires => "2099-01-01T00:00:00.000Z$esc" },
        user => { id => 'u1', username => "eve$esc\nforged-session",
                  isAuthenticated => JSON::PP::true } }), 'EX', 3600);
JPulseTest::redis_command($Redis, 'SET', "${NS}sess:" . 'b' x 32,
    JSON::PP->new->canonical->encode({
        user => { id => "u2$esc\nforged-user" } }), 'EX', 3600);
redis_cli($Redis, 'SADD', "${NS}sessidx:u3", 'b' x 32);

# what reached the terminal: raw escapes, and lines that start as forged
sub main::raw {
    my ($what, $text) = @_;
    my $escapes = () = $text =~ /[\e\a\r]/g;
    my $forged = () = $text =~ /^(?:\S+\s+)?forged|^forged/mg;
    return "$what: escapes $escapes, forged lines $forged\n";
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: status, instances, sessions list, revoke-user with a kept
session, revoke --dry-run: nothing raw reaches the terminal
--- pre_request
my ($rc, $status) = CachectlTest::cachectl(@main::Cli, 'status');
my (undef, $inst) = CachectlTest::cachectl(@main::Cli, 'instances');
my (undef, $list) = CachectlTest::cachectl(@main::Cli, 'sessions', 'list');
my (undef, $kept) = CachectlTest::cachectl(@main::Cli, 'sessions', 'revoke-user', 'u3');
$main::Result = main::raw('status', $status)
    . ($status =~ /^\s+f\\x1b\[2J\\x1b\]0;owned\\x07: v$/m ? "field name escaped\n"
                                                         : "field name: not found\n")
    . main::raw('instances', $inst)
    . main::raw('sessions list', $list)
    . main::raw('revoke-user kept', $kept);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
status: escapes 0, forged lines 0
field name escaped
instances: escapes 0, forged lines 0
sessions list: escapes 0, forged lines 0
revoke-user kept: escapes 0, forged lines 0



=== TEST 2: status --json with Redis unreachable at an address holding a
quote and a backslash: still JSON, the address as given
--- pre_request
my ($rc, $out) = CachectlTest::cachectl('--redis', 'unix:/nonexistent/a"b\\c',
                                         'status', '--json');
my $j = eval { JSON::PP->new->decode($out) };
$main::Result = "exit $rc\n" . ($j ? "address: $j->{redis}{address}\n"
                                   : "not JSON: $out");
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 1
address: unix:/nonexistent/a"b\c
