# The daemon's cleanup of first-seen records (<ns>cachectl:sessfirst) of
# sessions that are gone runs in budgeted steps (a resumable HSCAN,
# batched HDELs): while 200,000 dead records are being dropped, an edit
# of a template is published and heartbeats keep coming. Before, one call
# dropped them all, one HDEL at a time, holding the loop for as long
# (1M records: ~123 s): the edit and the heartbeats waited for the end.
#
# Nothing here is timed: the checks are what Redis holds when the edit
# and a new heartbeat show up (records still to drop, or none).
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't360:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't360');
our $Dead = 200000;
our $Live = 'live-u2' . 'x' x 25;

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

# records of sessions long gone, one in ten with a user id (as the daemon
# writes them: "<ms> <userId>"), and one live session with its record
JPulseTest::redis_command($Redis, 'EVAL',
    "for i = 1, tonumber(ARGV[1]) do "
    . "redis.call('HSET', KEYS[1], string.format('dead%028d', i), "
    . "i % 10 == 0 and '1700000000000 u1' or '1700000000000') end "
    . "return 1", 1, "${NS}cachectl:sessfirst", $Dead);
JPulseTest::redis_command($Redis, 'SET', "${NS}sess:$Live",
    '{"cookie":{"originalMaxAge":3600000,"path":"/"},'
    . '"user":{"id":"u2","username":"bob","isAuthenticated":true}}',
    'EX', 3600);

our $Daemon = daemon_start(redis => $Redis, site_id => 't360',
                           views => ["$Dir/views"],
                           args => ['--heartbeat', 1]);
our $Result;

sub main::records {
    return JPulseTest::redis_cli($main::Redis, 'HLEN',
                                 "${main::NS}cachectl:sessfirst") =~ s/\s+//gr;
}

# the "timestamp" of the daemon's heartbeat blob, '' before the first
sub main::beat {
    my $key = CachectlTest::instance_key($main::Redis, $main::NS,
                                         $main::Daemon->{pid}) // return '';
    my $blob = CachectlTest::json_decode(JPulseTest::redis_cli($main::Redis,
                                                               'GET', $key));
    return $blob ? $blob->{timestamp} // '' : '';
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: while the dead records are dropped, an edit is published and
a heartbeat is written; in the end only the live session's record is
left, and status shows a cleanup of many steps
--- pre_request
my $first = 0;
# the first pass found no session of those records: the cleanup runs
CachectlTest::poll_until(30, sub {
    $first = main::beat();
    $first ne '' && main::records() < $main::Dead });
my $beat = main::beat();
CachectlTest::write_file("$main::Dir/views/edit.shtml", "<p>edit</p>\n");
my ($published, $beaten);
CachectlTest::poll_until(60, sub {
    # each reading of the index or the heartbeat, then of what is left
    if (!defined $published
        && exists CachectlTest::tpl_index($main::Redis, $main::NS)->{'edit.shtml'})
    {
        $published = main::records();
    }
    if (!defined $beaten && main::beat() ne $beat) {
        $beaten = main::records();
    }
    defined $published && defined $beaten });
CachectlTest::poll_until(120, sub { main::records() <= 1 });
my $s = {};
# the status record is rewritten with every heartbeat
CachectlTest::poll_until(5, sub {
    my $j = CachectlTest::json_decode((CachectlTest::cachectl(@main::Cli,
                                           'status', '--json'))[1]);
    $s = $j->{daemons}[0]{stats}{sessions} // {};
    ($s->{cleaned} // 0) >= $main::Dead });
$main::Result = "edit published, records still to drop: "
    . (($published // 0) > 1 ? 'yes' : 'no (' . ($published // 'never') . ')') . "\n"
    . "heartbeat written, records still to drop: "
    . (($beaten // 0) > 1 ? 'yes' : 'no (' . ($beaten // 'never') . ')') . "\n"
    . "records left: " . main::records() . "\n"
    . "the live one: " . (JPulseTest::redis_cli($main::Redis, 'HEXISTS',
                              "${main::NS}cachectl:sessfirst", $main::Live) =~ s/\s+//gr) . "\n"
    . "cleaned: " . ($s->{cleaned} // 'none') . "\n"
    . "in steps: " . (($s->{cleanupSteps} // 0) >= 100 ? 'many'
                      : 'few (' . ($s->{cleanupSteps} // 'none') . ')') . "\n"
    . "daemon alive: " . (CachectlTest::daemon_alive($main::Daemon) ? 1 : 0) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
edit published, records still to drop: yes
heartbeat written, records still to drop: yes
records left: 1
the live one: 1
cleaned: 200000
in steps: many
daemon alive: 1
