# cachectl status and instances on a shared, busy Redis (issue 11): they
# read the instance registry (<ns>metrics:registry) and MGET the keys of
# its live members, never SCAN the keyspace (with a million keys that is
# a thousand round trips); a heartbeat or status key left without a
# registry entry is not listed. status shows who holds the publisher's
# lease, each daemon's role, and every field of its status record as it
# comes (degraded watches, errors, held deletions, a deploy marker...),
# names escaped; its exit codes: 0 a daemon runs, 1 Redis unreachable or
# no daemon; a registry Redis refuses: exit 1, said.
#
# A private redis-server; the runner's nginx (one for every block) sends
# its heartbeat there, and a real daemon runs beside a fake one whose
# status record the test writes.
use lib 't/lib';
use JPulseTest qw(redis_start redis_cli);
use CachectlTest qw(cli write_file daemon_start);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $Redis = redis_start();
our $NS = 't373:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't373');
our ($Result, $Daemon);

mkdir "$Dir/empty";
chmod 0755, "$Dir/empty";
write_file("$Dir/views/index.shtml", "<p>home</p>\n");

$ENV{TEST_NGINX_T373_DIR} = $Dir;
$ENV{TEST_NGINX_T373_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our $HttpConfig = <<'CONF';
    jpulse_site_id t373;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T373_REDIS_PORT;
    jpulse_view_roots $TEST_NGINX_T373_DIR/empty;
CONF

# the Redis commands run since the last CONFIG RESETSTAT: { name => calls }
sub main::commands {
    my %calls;
    for (split /\r?\n/, redis_cli($main::Redis, 'INFO', 'commandstats')) {
        $calls{$1} = $2 if /^cmdstat_([^:]+):calls=(\d+)/;
    }
    return \%calls;
}

# a fake daemon: registered, its status record written by the test
sub main::fake_daemon {
    my ($id, $record) = @_;
    my $r = $main::Redis;
    redis_cli($r, 'ZADD', "${main::NS}metrics:registry", '9999999999999', $id);
    JPulseTest::redis_command($r, 'SET', "${main::NS}cachectl:status:$id",
        JSON::PP->new->canonical->encode($record), 'EX', 300);
}

repeat_each(1);
master_on();
workers(2);

plan tests => repeat_each() * blocks() * 2;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', <<'CONF') unless defined $block->config;
    location = /ping { return 200 "pong\n"; }
CONF
    $block->set_value('request', "GET /ping\n")
        unless defined $block->request;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: 20,000 other keys, and a heartbeat and a status record that
are not in the registry: status and instances list the nginx instance
and the daemon only, without one SCAN or KEYS (the daemon, whose session
upkeep SCANs, is paused meanwhile)
--- pre_request
use JSON::PP ();
my $r = $main::Redis;
my $ns = $main::NS;
$main::Daemon = daemon_start(redis => $r, site_id => 't373',
    views => ["$main::Dir/views"], args => ['--heartbeat', 1]);
my $pid = $main::Daemon->{pid};
# the daemon and nginx registered, the daemon's first sync recorded
my $ready = CachectlTest::poll_until(15, sub {
    my $ids = redis_cli($r, 'ZRANGE', "${ns}metrics:registry", 0, -1);
    my $st = redis_cli($r, 'GET', "${ns}cachectl:status:" .
                       ((grep { /:200:$pid$/ } split /\n/, $ids)[0] // 'x'));
    $ids =~ /:100:/ && $st =~ /"lastSync":[1-9]/ });
redis_cli($r, 'EVAL', "for i = 1, 20000 do redis.call('SET', KEYS[1] .. i, "
          . "'{}') end", 1, "${ns}sess:");
redis_cli($r, 'EVAL', "for i = 1, 200 do redis.call('SET', KEYS[1] .. i, "
          . "'{}') end", 1, "other:prod:metrics:instance:");
my $ghost = '{"kind":"nginx","hostname":"ghost","instances":[{"instanceId":"9:100:9"}]}';
redis_cli($r, 'SET', "${ns}metrics:instance:9:100:9", $ghost, 'EX', 300);
redis_cli($r, 'SET', "${ns}cachectl:status:9:200:9",
          '{"instanceId":"9:200:9","hostname":"ghost"}', 'EX', 300);
# the daemon paused: its own session walk SCANs, and must not be counted
kill 'STOP', $pid;
redis_cli($r, 'CONFIG', 'RESETSTAT');
my ($scode, $status) = CachectlTest::cachectl(@main::Cli, 'status');
my ($jcode, $json) = CachectlTest::cachectl(@main::Cli, 'status', '--json');
my ($icode, $inst) = CachectlTest::cachectl(@main::Cli, 'instances');
my ($ijcode, $ijson) = CachectlTest::cachectl(@main::Cli, 'instances', '--json');
my $calls = main::commands();
kill 'CONT', $pid;
my $total = 0;
$total += $_ for values %$calls;
my $j = CachectlTest::json_decode($json) // {};
my $list = CachectlTest::json_decode($ijson) // [];
$main::Result = "ready: " . ($ready ? 'yes' : 'no') . "\n"
    . "status: exit $scode, daemons: "
    . join(' ', map { /^Daemon\s+(\S+) on (\S+):/ ? ($1 =~ /:200:$pid$/ ? 'DAEMON' : "$1 on $2") : () }
           split /\n/, $status) . "\n"
    . "status --json: exit $jcode, daemons: "
    . join(' ', map { $_->{instanceId} =~ /:200:$pid$/ ? 'DAEMON' : $_->{instanceId} }
           @{ $j->{daemons} // [] }) . ", instances $j->{instances}\n"
    . "instances: exit $icode, rows: "
    . join(' ', sort map { (split ' ')[1] } grep { !/^INSTANCE/ } split /\n/, $inst) . "\n"
    . "instances --json: exit $ijcode, "
    . join(' ', sort map { $_->{kind} . ($_->{hostname} eq 'ghost' ? '(ghost)' : '')
                           . ($_->{_ttl} > 0 ? ' ttl>0' : " ttl=$_->{_ttl}") } @$list) . "\n"
    . "SCAN: " . ($calls->{scan} // 0) . ", KEYS: " . ($calls->{keys} // 0)
    . ", commands in all four runs at most 40: " . ($total <= 40 ? 'yes' : "no ($total)") . "\n";
--- response_body_filters eval
sub { $main::Result }
--- response_body
ready: yes
status: exit 0, daemons: DAEMON
status --json: exit 0, daemons: DAEMON, instances 2
instances: exit 0, rows: cachectl nginx
instances --json: exit 0, cachectl ttl>0 nginx ttl>0
SCAN: 0, KEYS: 0, commands in all four runs at most 40: yes



=== TEST 2: status prints every field of a status record, as it comes
(the lease holder, degraded watches, the last error, held deletions, a
deploy marker, counters), its state and message on one line (the error
not again), but not the empty ones (null, "", [], {}),
lists of more than 20 cut, names escaped; the
lease line names its holder with host and views; a daemon that does not
hold it is a standby; --json has the lease and the records whole
--- pre_request
use JSON::PP ();
my $r = $main::Redis;
my $pid = $main::Daemon->{pid};
main::fake_daemon('7:200:77', {
    instanceId => '7:200:77', hostname => 'web7', pid => 77,
    views => ['/srv/site/view', "/srv/odd\nname"],
    lastSync => 1764755000000, startedAt => 1764754000000,
    stats => { filesTracked => 61, batches => 3, written => 60, deleted => 1,
               sessions => { live => 5, ttlSet => 1, expired => 0, indexed => 2,
                             passes => 4, lastPass => 1764755000000 } },
    state => 'error', message => 'Redis refused a write: OOM',
    error => 'Redis refused a write: OOM', nothing => {}, none => [],
    empty => '', null => undef,
    publisher => { walk => 'complete', walkReason => '', heldReason => undef },
    refused => [ { path => 'bad.shtml', error => "bad.shtml:1:1: oops" } ],
    degraded => { watches => JSON::PP::true, reason => 'inotify watches exhausted',
                  since => 1764755000000 },
    lastError => "WRONGTYPE Operation against a key\nforged: line",
    held => [ map { { kind => 'view', path => "gone/$_.shtml",
                      why => 'more than 50% of the tree' } } 1 .. 22 ],
    deployMarker => { path => '/srv/release/.deployed', waiting => JSON::PP::true },
});
redis_cli($r, 'SET', "${main::NS}cachectl:lease", '7:200:77', 'PX', 60000);
my ($code, $out) = CachectlTest::cachectl(@main::Cli, 'status');
my ($jcode, $json) = CachectlTest::cachectl(@main::Cli, 'status', '--json');
my $j = CachectlTest::json_decode($json) // {};
my ($fake) = grep { $_->{instanceId} eq '7:200:77' } @{ $j->{daemons} // [] };
# the fake's block of lines: from its "Daemon" line to the next daemon's
my @lines = split /\n/, $out;
my ($from) = grep { $lines[$_] =~ /^Daemon\s+7:200:77 / } 0 .. $#lines;
my @block = ($lines[$from]);
for my $i ($from + 1 .. $#lines) {
    last if $lines[$i] =~ /^Daemon/;
    push @block, $lines[$i];
}
my @real_role = grep { /^Role/ } do {
    my ($f) = grep { $lines[$_] =~ /^Daemon\s+\S+:200:$pid / } 0 .. $#lines;
    my @b;
    for my $i ($f + 1 .. $#lines) { last if $lines[$i] =~ /^Daemon/; push @b, $lines[$i] }
    @b };
$main::Result = "exit $code\n"
    . join('', map { "$_\n" } grep { /^Lease/ } @lines)
    . join('', map { "$_\n" } @block)
    . "the real daemon: @real_role\n"
    . "--json: exit $jcode, lease " . ($j->{lease}{holder} // '-')
    . ($j->{lease}{ttlMs} > 0 ? ' ttlMs>0' : ' ttlMs?')
    . ", the fake's held: " . scalar(@{ $fake->{held} // [] })
    . ", lastError: " . ($fake->{lastError} =~ s/\n/\\n/gr) . "\n";
$main::Result =~ s/ \d+ s left/ N s left/;
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 0
Lease      7:200:77 on web7 (views /srv/site/view, /srv/odd\nname) publishes, N s left
Daemon     7:200:77 on web7: 61 files tracked, last sync 2025-12-03T09:43:20Z
State      error: Redis refused a write: OOM
Role       publisher (holds the lease)
Views      /srv/site/view, /srv/odd\nname
Counters   batches: 3, deleted: 1, written: 60
Sessions   5 live, 1 given a TTL, 0 removed at the age limit, 2 indexed
Upkeep     lastPass: 2025-12-03T09:43:20Z, passes: 4
Refused    bad.shtml:1:1: oops
           degraded: reason=inotify watches exhausted since=2025-12-03T09:43:20Z watches=yes
           deployMarker: path=/srv/release/.deployed waiting=yes
           held: kind=view path=gone/1.shtml why=more than 50% of the tree
           held: kind=view path=gone/2.shtml why=more than 50% of the tree
           held: kind=view path=gone/3.shtml why=more than 50% of the tree
           held: kind=view path=gone/4.shtml why=more than 50% of the tree
           held: kind=view path=gone/5.shtml why=more than 50% of the tree
           held: kind=view path=gone/6.shtml why=more than 50% of the tree
           held: kind=view path=gone/7.shtml why=more than 50% of the tree
           held: kind=view path=gone/8.shtml why=more than 50% of the tree
           held: kind=view path=gone/9.shtml why=more than 50% of the tree
           held: kind=view path=gone/10.shtml why=more than 50% of the tree
           held: kind=view path=gone/11.shtml why=more than 50% of the tree
           held: kind=view path=gone/12.shtml why=more than 50% of the tree
           held: kind=view path=gone/13.shtml why=more than 50% of the tree
           held: kind=view path=gone/14.shtml why=more than 50% of the tree
           held: kind=view path=gone/15.shtml why=more than 50% of the tree
           held: kind=view path=gone/16.shtml why=more than 50% of the tree
           held: kind=view path=gone/17.shtml why=more than 50% of the tree
           held: kind=view path=gone/18.shtml why=more than 50% of the tree
           held: kind=view path=gone/19.shtml why=more than 50% of the tree
           held: kind=view path=gone/20.shtml why=more than 50% of the tree
           held: ... 2 more (--json lists them)
           lastError: WRONGTYPE Operation against a key\nforged: line
           pid: 77
           publisher: walk=complete
           startedAt: 2025-12-03T09:26:40Z
the real daemon: Role       standby (another holds the lease)
--json: exit 0, lease 7:200:77 ttlMs>0, the fake's held: 22, lastError: WRONGTYPE Operation against a key\nforged: line



=== TEST 3: the lease key of the wrong type: status says it cannot tell
(exit 0: a daemon runs); the registry of the wrong type: status and
instances exit 1 and say so; restored, both work again; no daemon: exit 1
--- pre_request
my $r = $main::Redis;
my $ns = $main::NS;
redis_cli($r, 'DEL', "${ns}cachectl:lease");
redis_cli($r, 'HSET', "${ns}cachectl:lease", 'x', 'y');
my ($lcode, $lout) = CachectlTest::cachectl(@main::Cli, 'status');
redis_cli($r, 'DEL', "${ns}cachectl:lease");
my @ids = split /\n/, redis_cli($r, 'ZRANGE', "${ns}metrics:registry", 0, -1,
                                'WITHSCORES');
redis_cli($r, 'DEL', "${ns}metrics:registry");
redis_cli($r, 'SET', "${ns}metrics:registry", 'not a sorted set');
my $bad = "status: " . cli(@main::Cli, 'status')
        . "instances: " . cli(@main::Cli, 'instances');
$bad =~ s/^(Generation|Files) .*\n//mg;
redis_cli($r, 'DEL', "${ns}metrics:registry");
redis_cli($r, 'ZADD', "${ns}metrics:registry", reverse @ids) if @ids;
my ($ok) = CachectlTest::cachectl(@main::Cli, 'status');
my $stop = CachectlTest::daemon_stop($main::Daemon);
redis_cli($r, 'ZREM', "${ns}metrics:registry", '7:200:77');
my ($none, $nout) = CachectlTest::cachectl(@main::Cli, 'status');
$main::Result = "wrong lease type: exit $lcode\n"
    . join('', map { "$_\n" } grep { /^Lease/ } split /\n/, $lout)
    . $bad
    . "restored: exit $ok\n"
    . "daemon stopped: $stop; status: exit $none\n"
    . join('', map { "$_\n" } grep { /^(Lease|Daemon)/ } split /\n/, $nout);
$main::Result =~ s/127\.0\.0\.1:\d+/127.0.0.1:PORT/g;
# Redis 7 names the script
$main::Result =~ s/ script: \w+, on \@user_script:\d+\.//g;
--- response_body_filters eval
sub { $main::Result }
--- response_body
wrong lease type: exit 0
Lease      unknown: lease: WRONGTYPE Operation against a key holding the wrong kind of value
status: exit 1
Redis      127.0.0.1:PORT: reachable, namespace "t373:prod:"
Instances  0 seen (cachectl instances lists them)
Lease      free: no daemon publishes the view tree
Daemon     none running for this namespace
stderr: cachectl: the instance registry: WRONGTYPE Operation against a key holding the wrong kind of value
instances: exit 1
stderr: cachectl: the instance registry: WRONGTYPE Operation against a key holding the wrong kind of value
restored: exit 0
daemon stopped: exit 0; status: exit 1
Lease      free: no daemon publishes the view tree
Daemon     none running for this namespace
