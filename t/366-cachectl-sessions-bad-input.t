# What the session upkeep meets in a shared Redis that is not what it
# expects: a key of another type under <ns>sess:*, a value that is not
# JSON, a first-seen record that is not a number (before, it counted as
# first seen in 1970: the session was deleted as too old), a user id with
# a newline (it must not forge a log line), and the first-seen hash
# turned into a string by someone else: Redis refuses the upkeep's
# writes (WRONGTYPE): the daemon logs it once, shows it in status, stays
# connected and keeps publishing.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file cli);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't366:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't366');

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

our %Sid = map { $_ => $_ . 'x' x (32 - length $_) }
           qw(hash notjson badrecord newline);
my $cookie = '{"originalMaxAge":3600000,"path":"/"}';
JPulseTest::redis_command($Redis, 'HSET', "${NS}sess:$Sid{hash}", 'a', 'b');
JPulseTest::redis_command($Redis, 'SET', "${NS}sess:$Sid{notjson}", 'not {json');
JPulseTest::redis_command($Redis, 'SET', "${NS}sess:$Sid{badrecord}",
    qq({"cookie":$cookie,"user":{"id":"u1"}}), 'EX', 3600);
JPulseTest::redis_command($Redis, 'HSET', "${NS}cachectl:sessfirst",
                          $Sid{badrecord}, 'bogus');
JPulseTest::redis_command($Redis, 'SET', "${NS}sess:$Sid{newline}",
    qq({"cookie":$cookie,"user":{"id":"u2\\n2026-01-01 forged: line"}}),
    'EX', 3600);
# first seen two days ago: removed at the first pass, and logged
JPulseTest::redis_command($Redis, 'HSET', "${NS}cachectl:sessfirst",
                          $Sid{newline}, (time - 2 * 86400) * 1000);

our $Daemon = daemon_start(redis => $Redis, site_id => 't366',
                           views => ["$Dir/views"],
                           args => ['--heartbeat', 1,
                                    '--session-pass-interval', 1]);
our $Result;

sub main::sessions_stats {
    my $j = CachectlTest::json_decode((CachectlTest::cachectl(@main::Cli,
                                           'status', '--json'))[1]);
    return $j ? $j->{daemons}[0]{stats}{sessions} // {} : {};
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the hash is left alone, the value that is not JSON gets a TTL
and no index, the bad record is rewritten and its session kept, the old
session with a newline in its user id is removed with a one-line log
--- pre_request
my $s = {};
CachectlTest::poll_until(10, sub {
    $s = main::sessions_stats();
    ($s->{passes} // 0) >= 2 });
my %s = %main::Sid;
my $r = $main::Redis;
my $ns = $main::NS;
my @removed = grep { /removed/ } split /\n/, CachectlTest::daemon_log($main::Daemon);
$main::Result = "hash: " . JPulseTest::redis_cli($r, 'TYPE', "${ns}sess:$s{hash}")
    . "hash TTL: " . JPulseTest::redis_cli($r, 'TTL', "${ns}sess:$s{hash}")
    . "not JSON, TTL set: " . (JPulseTest::redis_cli($r, 'TTL', "${ns}sess:$s{notjson}") > 0 ? 1 : 0) . "\n"
    . "bad record, session: " . JPulseTest::redis_cli($r, 'EXISTS', "${ns}sess:$s{badrecord}")
    . "bad record now: " . (JPulseTest::redis_cli($r, 'HGET', "${ns}cachectl:sessfirst",
                                $s{badrecord}) =~ s/^\d{13} /<ms> /r)
    . "newline: " . JPulseTest::redis_cli($r, 'EXISTS', "${ns}sess:$s{newline}")
    . "log: " . join('', map { s/^.*?: //r =~ s/x{4,}//gr . "\n" } @removed)
    . "forged lines: " . CachectlTest::daemon_count($main::Daemon, qr/^2026-01-01/) . "\n"
    . "live: " . ($s->{live} // 'none') . ", error: " . ($s->{error} // 'none') . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
hash: hash
hash TTL: -1
not JSON, TTL set: 1
bad record, session: 1
bad record now: <ms> u1
newline: 0
log: session newline... of user u2?2026-01-01 forged: line removed: older than 86400s
forged lines: 0
live: 2, error: none



=== TEST 2: the first-seen hash becomes a string: the refusal is logged
once and shown in status; the daemon stays connected and publishes an
edit; put back, the upkeep goes on
--- pre_request
my $r = $main::Redis;
my $ns = $main::NS;
my $mark = CachectlTest::daemon_mark($main::Daemon);
JPulseTest::redis_command($r, 'DEL', "${ns}cachectl:sessfirst");
JPulseTest::redis_command($r, 'SET', "${ns}cachectl:sessfirst", 'oops');
my $s = {};
CachectlTest::poll_until(10, sub {
    $s = main::sessions_stats();
    ($s->{error} // '') =~ /WRONGTYPE/ });
my $error = ($s->{error} // 'none') =~ s/^\w+: WRONGTYPE.*/WRONGTYPE .../r;
CachectlTest::write_file("$main::Dir/views/edit.shtml", "<p>edit</p>\n");
my $published = CachectlTest::poll_until(10, sub {
    exists CachectlTest::tpl_index($r, $ns)->{'edit.shtml'} });
# refused again (a retry 5 s later)
CachectlTest::poll_until(15, sub {
    (main::sessions_stats()->{refusals} // 0) > ($s->{refusals} // 0) });
JPulseTest::redis_command($r, 'DEL', "${ns}cachectl:sessfirst");
my $back = CachectlTest::poll_until(15, sub {
    JPulseTest::redis_cli($r, 'HLEN', "${ns}cachectl:sessfirst") =~ /^2\b/ });
# a pass without a refusal clears the error
CachectlTest::poll_until(10, sub { !defined main::sessions_stats()->{error} });
my $log = CachectlTest::daemon_log($main::Daemon, $mark);
$main::Result = "status error: $error\n"
    # once for the writes of the walk, once for the HSCAN of the cleanup
    . "logged: " . (scalar(() = $log =~ /Redis refused \w+: WRONGTYPE/g) <= 2
                    ? 'once or twice' : 'more') . "\n"
    . "reconnects: " . scalar(() = $log =~ /connected to Redis/g) . "\n"
    . "edit published: " . ($published ? 'yes' : 'no') . "\n"
    . "records back: " . ($back ? 'yes' : 'no') . "\n"
    . "error after: " . (main::sessions_stats()->{error} // 'none') . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
status error: WRONGTYPE ...
logged: once or twice
reconnects: 0
edit published: yes
records back: yes
error after: none
