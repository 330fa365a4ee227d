# Between two passes (--session-pass-interval, 60 s by default) the
# session upkeep costs Redis next to nothing: with 100 sessions the daemon
# sent ~3,500 commands a second before (a pass every 100 ms or so:
# GET, TTL, HSETNX, HGET, SADD, EXPIRE per session, SCAN, then an HSCAN
# and an EXISTS per record); now one check of the tombstones a second
# (EVAL) and the heartbeat. And "sessions list/count --user U" read the
# daemon's per-user index instead of a SCAN of the keyspace.
#
# The counts are Redis's own (INFO commandstats), over a few seconds:
# the bound (100 commands in 3 s) is far above what the daemon sends now
# (~15) and far below what it sent before (~10,000).
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file cli);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't364:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't364');

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

for my $i (1 .. 100) {
    my $uid = 'u' . ($i % 10);
    JPulseTest::redis_command($Redis, 'SET', sprintf("${NS}sess:s%031d", $i),
        '{"cookie":{"originalMaxAge":3600000,"path":"/"},'
        . qq("user":{"id":"$uid","username":"u","isAuthenticated":true}}),
        'EX', 3600);
}

our $Daemon = daemon_start(redis => $Redis, site_id => 't364',
                           views => ["$Dir/views"],
                           args => ['--heartbeat', 1,
                                    '--session-pass-interval', 300]);
our $Result;

# { command => calls } since the last CONFIG RESETSTAT
sub main::commandstats {
    my %n = JPulseTest::redis_cli($main::Redis, 'INFO', 'commandstats')
                =~ /^cmdstat_([^:]+):calls=(\d+)/mg;
    return \%n;
}

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

=== TEST 1: after the first pass, 3 s of idle: a few dozen commands at
most, and no second pass
--- pre_request
my $s = {};
CachectlTest::poll_until(10, sub {
    $s = main::sessions_stats();
    ($s->{passes} // 0) >= 1 });
my $passes = $s->{passes} // 0;
JPulseTest::redis_cli($main::Redis, 'CONFIG', 'RESETSTAT');
Time::HiRes::sleep(3);
my $n = main::commandstats();
delete $n->{info};
my $total = 0;
$total += $_ for values %$n;
# the status record of the last heartbeat
Time::HiRes::sleep(1.2);
my $after = main::sessions_stats()->{passes} // 0;
$main::Result = "first pass: live " . ($s->{live} // 'none')
    . ", indexed " . ($s->{indexed} // 'none') . "\n"
    . "commands in 3 s: " . ($total < 100 ? 'fewer than 100'
        : "$total (" . join(' ', map { "$_=$n->{$_}" } sort keys %$n) . ")") . "\n"
    . "passes since: " . ($after - $passes) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
first pass: live 100, indexed 100
commands in 3 s: fewer than 100
passes since: 0



=== TEST 2: list and count --user read the index: no SCAN; what they
show is right (the daemon stopped: only the CLI talks to Redis)
--- pre_request
CachectlTest::daemon_stop($main::Daemon);
JPulseTest::redis_cli($main::Redis, 'CONFIG', 'RESETSTAT');
my ($code, $out) = CachectlTest::cachectl(@main::Cli, 'sessions', 'list',
                                          '--user', 'u3', '--json');
my $list = CachectlTest::json_decode($out) // [];
my $count = cli(@main::Cli, 'sessions', 'count', '--user', 'u3');
my $n = main::commandstats();
$main::Result = "list --user u3: exit $code, " . scalar(@$list) . " sessions: "
    . join(' ', sort map { $_->{userId} } @$list) . "\n"
    . "count --user u3: $count"
    . "SCAN: " . ($n->{scan} // 0) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
list --user u3: exit 0, 10 sessions: u3 u3 u3 u3 u3 u3 u3 u3 u3 u3
count --user u3: exit 0
10
SCAN: 0
