# cachectl through Redis Sentinel (1 primary, 1 replica, 3 sentinels on
# 127.0.0.1, t/lib/RedisSentinel.pm): the daemon finds the primary by
# asking the sentinels and publishes the tree there; after SENTINEL
# FAILOVER it logs the switch once and a file saved then lands on the NEW
# primary with its invalidation event; the CLI's status goes through the
# sentinels and says which primary and which sentinel; a dead first
# sentinel: the next one is used; a sentinel (a fake one,
# t/lib/SentinelTest.pm) that names the REPLICA: refused (the log and the
# error say ROLE), nothing written there.
#
# The runner's nginx only answers /ping: every check runs in --- pre_request
# and is compared as text.
use lib 't/lib';
use JPulseTest ();
use CachectlTest qw(write_file spawn daemon_wait_log daemon_count daemon_mark
                    daemon_log poll_until tpl_index);
use RedisSentinel qw(sentinel_start sentinel_addrs sentinel_primary
                     sentinel_failover);
use SentinelTest qw(closed_port fake_server fake_sentinel cachectl_runner);
use IO::Socket::INET ();
use IO::Select ();
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $S = sentinel_start(master => 't811', replicas => 1, sentinels => 3);
our $Addrs = sentinel_addrs($S);
our $NS = 't811:prod:';
our $Dir = CachectlTest::tmpdir();
our $View = "$Dir/view";
our ($Old, $New, $Fake, $Result);

write_file("$View/home/index.shtml", "<p>home v1</p>\n");
write_file("$View/about/index.shtml", "<p>about</p>\n");
write_file("$View/error/index.shtml", "<h1>{{url.param.code}}</h1>\n");

our @Where = ('--redis-sentinel', $Addrs, '--redis-master', 't811');

our $Daemon = spawn(cmd => [CachectlTest::cachectl_bin(), @Where,
                            '--site-id', 't811', 'daemon',
                            '--views', $View, '--rescan', 0,
                            '--heartbeat', 1]);

# the source of $path on node $r, or "(missing)"
sub main::published {
    my ($r, $path) = @_;
    my $src = JPulseTest::redis_cli($r, 'HGET', "${NS}tpl:$path", 'source');
    $src =~ s/\s+\z//;
    return ($src eq '' ? "(missing)" : $src) . "\n";
}

# a subscriber on node $r: a socket that PSUBSCRIBEd to the
# invalidation events
sub main::subscribe {
    my ($r) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $r->{port}) or die "$!";
    my $p = "${NS}bc:controller:cache:invalidate:*";
    print $s "*2\r\n\$10\r\nPSUBSCRIBE\r\n\$" . length($p) . "\r\n$p\r\n";
    return $s;
}

# what arrived on the subscriber within $timeout s
sub main::received {
    my ($s, $timeout) = @_;
    my $sel = IO::Select->new($s);
    my $buf = '';
    my $deadline = Time::HiRes::time() + $timeout;
    while ((my $left = $deadline - Time::HiRes::time()) > 0) {
        last unless $sel->can_read($left);
        last unless sysread($s, $buf, 65536, length $buf);
        last if $buf =~ /pmessage.*invalidate/s && $buf =~ /"view"|view/;
    }
    return $buf;
}

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * blocks() * 2;

cachectl_runner();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the daemon asks the sentinels, connects to the primary they
name (ROLE master) and publishes the tree there
--- pre_request
$main::Old = sentinel_primary($main::S);
my $s0 = "127.0.0.1:$main::S->{sentinels}[0]{port}";
my $p = "127.0.0.1:$main::Old->{port}";
my $ok = poll_until(15, sub {
    keys %{ tpl_index($main::Old, $main::NS) } == 3 });
my $log = daemon_log($main::Daemon);
$main::Result = "published on the primary: " . ($ok ? "3 files" : "no") . "\n"
    . "connected line: "
    . ($log =~ /connected to Redis \Q$p\E \(primary of t811, found via sentinel \Q$s0\E\): full sync/
       ? "yes" : "no\n$log") . "\n"
    . "home: " . main::published($main::Old, 'home/index.shtml');
--- response_body
published on the primary: 3 files
connected line: yes
home: <p>home v1</p>



=== TEST 2: status through the sentinels: the primary in use and how it
was found; --json says it too
--- pre_request
my ($code, $out, $err) = CachectlTest::cachectl(@main::Where, '--site-id',
                                                't811', 'status');
my ($line) = grep { /^Redis/ } split /\n/, $out;
my $p = $main::Old->{port};
my $s0 = $main::S->{sentinels}[0]{port};
$line =~ s/\b$p\b/PRIMARY/g;
$line =~ s/\b$s0\b/S0/g;
my ($jc, $json) = CachectlTest::cachectl(@main::Where, '--site-id', 't811',
                                         '--json', 'status');
my $j = CachectlTest::json_decode($json);
$main::Result = "exit $code\n$line\n"
    . "json address: " . ($j->{redis}{address} eq "127.0.0.1:$p" ? 'primary' : $j->{redis}{address}) . "\n"
    . "json sentinel: $j->{redis}{sentinel}{master} via "
    . ($j->{redis}{sentinel}{via} eq "127.0.0.1:$s0" ? 'S0' : $j->{redis}{sentinel}{via}) . "\n"
    . "daemon record: " . join(',', map {
        ($_->{redis}{primary} // '') eq "127.0.0.1:$p" ? "primary, failovers $_->{redis}{failovers}" : 'other' }
        @{ $j->{daemons} }) . "\n";
$main::Result .= $err if $code;
--- response_body
exit 0
Redis      127.0.0.1:PRIMARY (primary of t811, found via sentinel 127.0.0.1:S0): reachable, namespace "t811:prod:"
json address: primary
json sentinel: t811 via S0
daemon record: primary, failovers 0



=== TEST 3: SENTINEL FAILOVER: the switch logged once; a file saved after
it is on the NEW primary, with its invalidation event there
--- timeout: 60
--- pre_request
my $mark = daemon_mark($main::Daemon);
my $t0 = Time::HiRes::time();
$main::New = sentinel_failover($main::S);
my $t1 = Time::HiRes::time();
my ($o, $n) = ($main::Old->{port}, $main::New->{port});
my $re = qr/redis: primary of t811 is now 127\.0\.0\.1:$n \(was 127\.0\.0\.1:$o\)/;
my $logged = daemon_wait_log($main::Daemon, $re, 20, $mark);
Test::More::diag(sprintf "SENTINEL FAILOVER took %.2f s; the daemon logged "
                 . "the switch %.2f s after the new primary answered",
                 $t1 - $t0, Time::HiRes::time() - $t1);
Test::More::diag(daemon_log($main::Daemon, $mark)) if $ENV{TEST_VERBOSE_811};
my $sub = main::subscribe($main::New);
Time::HiRes::sleep(0.2);
write_file("$main::View/news/index.shtml", "<p>news after the failover</p>\n");
my $ok = poll_until(10, sub {
    main::published($main::New, 'news/index.shtml') =~ /after the failover/ });
my $events = main::received($sub, 5);
Time::HiRes::sleep(1.5);   # a heartbeat or two later
$main::Result = "switch logged: " . ($logged ? 'yes' : "no\n" . daemon_log($main::Daemon, $mark)) . "\n"
    . "logged once: " . daemon_count($main::Daemon, $re) . "\n"
    . "new primary has the file: " . ($ok ? 'yes' : 'no') . "\n"
    . "event on the new primary: " . ($events =~ /pmessage.*invalidate.*news/s ? 'yes' : "no: $events") . "\n"
    . "old primary turned into a replica (by the sentinels, seconds later): "
    . (poll_until(30, sub { JPulseTest::redis_cli($main::Old, 'ROLE') =~ /^slave/ }) ? 'yes' : 'no') . "\n"
    . "the tree is whole there: " . join(',', sort keys %{ tpl_index($main::New, $main::NS) }) . "\n";
--- response_body
switch logged: yes
logged once: 1
new primary has the file: yes
event on the new primary: yes
old primary turned into a replica (by the sentinels, seconds later): yes
the tree is whole there: about/index.shtml,error/index.shtml,home/index.shtml,news/index.shtml



=== TEST 4: status after the failover names the new primary
--- pre_request
my ($code, $out) = CachectlTest::cachectl(@main::Where, '--site-id', 't811',
                                          '--json', 'status');
my $j = CachectlTest::json_decode($out);
my $n = "127.0.0.1:$main::New->{port}";
$main::Result = "exit $code\n"
    . "address: " . ($j->{redis}{address} eq $n ? 'new primary' : $j->{redis}{address}) . "\n"
    . "daemon record: " . join(',', map {
        ($_->{redis}{primary} // '') eq $n ? "new primary, failovers $_->{redis}{failovers}" : 'other' }
        @{ $j->{daemons} }) . "\n";
--- response_body
exit 0
address: new primary
daemon record: new primary, failovers 1



=== TEST 5: the first sentinel is dead: the next one is asked (and the
status says which)
--- pre_request
my $dead = closed_port();
my $s0 = $main::S->{sentinels}[0]{port};
my ($code, $out, $err) = CachectlTest::cachectl('--redis-sentinel',
    "127.0.0.1:$dead,$main::Addrs", '--redis-master', 't811', '--site-id',
    't811', 'status');
my ($line) = grep { /^Redis/ } split /\n/, $out;
my $n = $main::New->{port};
$line =~ s/\b$n\b/NEW/g;
$line =~ s/\b$s0\b/S0/g;
$main::Result = "exit $code\n$line\n";
--- response_body
exit 0
Redis      127.0.0.1:NEW (primary of t811, found via sentinel 127.0.0.1:S0): reachable, namespace "t811:prod:"



=== TEST 5b: the first sentinel accepts but never answers: given up after
the sentinel exchange's deadline (0.5 s), the next one is asked
--- timeout: 20
--- pre_request
# accepts, reads, never answers
my $mute = fake_server(sub { '' });
my $t0 = Time::HiRes::time();
my ($code, $out, $err) = CachectlTest::cachectl({ timeout => 15 },
    '--redis-sentinel', "127.0.0.1:$mute->{port},$main::Addrs",
    '--redis-master', 't811', '--site-id', 't811', 'status');
my $took = Time::HiRes::time() - $t0;
my ($line) = grep { /^Redis/ } split /\n/, $out;
$main::Result = "exit $code\n"
    . "the primary: " . ($line =~ /^Redis      127\.0\.0\.1:$main::New->{port} / ? 'yes' : "no: $line") . "\n"
    . "waited for the mute one: " . ($took >= 0.4 && $took < 1.5 ? 'about 0.5 s' : sprintf("%.1f s", $took)) . "\n";
--- response_body
exit 0
the primary: yes
waited for the mute one: about 0.5 s



=== TEST 6: every sentinel dead: exit 1 and each one's error
--- pre_request
my ($a, $b) = (closed_port(), closed_port());
my ($code, $out, $err) = CachectlTest::cachectl('--redis-sentinel',
    "127.0.0.1:$a,127.0.0.1:$b", '--redis-master', 't811', '--site-id',
    't811', 'status');
$out =~ s/\b$a\b/A/g;
$out =~ s/\b$b\b/B/g;
$main::Result = "exit $code\n$out";
--- response_body
exit 1
Redis      sentinel t811 via 127.0.0.1:A,127.0.0.1:B: unreachable (no primary for "t811" from the sentinels: 127.0.0.1:A: Connection refused; 127.0.0.1:B: Connection refused)



=== TEST 7: a sentinel that names the REPLICA: the CLI refuses it (ROLE),
a daemon refuses it, logs the role and writes nothing; with real
sentinels after it the primary is found
--- timeout: 30
--- pre_request
my $replica = $main::Old;      # a replica since the failover
# cachectl asks a sentinel nothing but SENTINEL (and AUTH): +OK to the rest
$main::Fake = fake_sentinel(master => $replica->{port}, other => "+OK\r\n");
my $f = $main::Fake->{port};
my $r = $replica->{port};
my ($code, $out, $err) = CachectlTest::cachectl('--redis-sentinel',
    "127.0.0.1:$f", '--redis-master', 't811', '--site-id', 't811', 'status');
$out =~ s/\b$f\b/FAKE/g;
$out =~ s/\b$r\b/REPLICA/g;
$main::Result = "exit $code\n$out";

my $d = spawn(cmd => [CachectlTest::cachectl_bin(), '--redis-sentinel',
                      "127.0.0.1:$f", '--redis-master', 't811',
                      '--site-id', 't811b', 'daemon', '--views',
                      $main::View, '--rescan', 0, '--heartbeat', 1]);
my $said = daemon_wait_log($d, qr/which is no primary \(ROLE: slave\)/, 10);
Time::HiRes::sleep(1);
CachectlTest::spawn_stop($d);
my $keys = JPulseTest::redis_cli($main::New, 'KEYS', 't811b:*');
$main::Result .= "daemon log says the role: " . ($said ? 'yes' : "no\n" . daemon_log($d)) . "\n"
    . "keys of t811b anywhere: " . ($keys =~ /\S/ ? $keys : "none\n");

($code, $out) = CachectlTest::cachectl('--redis-sentinel',
    "127.0.0.1:$f,$main::Addrs", '--redis-master', 't811', '--site-id',
    't811', '--json', 'status');
my $j = CachectlTest::json_decode($out);
$main::Result .= "fake first, then the real ones: exit $code, "
    . ($j->{redis}{address} eq "127.0.0.1:$main::New->{port}" ? 'the primary' : $j->{redis}{address}) . "\n";
--- response_body
exit 1
Redis      sentinel t811 via 127.0.0.1:FAKE: unreachable (no primary for "t811" from the sentinels: 127.0.0.1:FAKE names 127.0.0.1:REPLICA, which is no primary (ROLE: slave))
daemon log says the role: yes
keys of t811b anywhere: none
fake first, then the real ones: exit 0, the primary



=== TEST 8: a server that says it is the primary (ROLE master) but answers
a write with -READONLY: the connection is dropped, the error says why
--- pre_request
my $srv = fake_server(sub {
    my $cmd = uc($_[0][0] // '');
    return $cmd eq 'PING' ? "+PONG\r\n"
         : $cmd eq 'ROLE' ? "*3\r\n\$6\r\nmaster\r\n:0\r\n*0\r\n"
         : "-READONLY You can't write against a read only replica.\r\n" });
my $fake = fake_sentinel(master => $srv->{port}, other => "+OK\r\n");
my ($code, $out, $err) = CachectlTest::cachectl('--redis-sentinel',
    "127.0.0.1:$fake->{port}", '--redis-master', 't811', '--site-id', 't811',
    'invalidate', 'view');
$err =~ s/\b$srv->{port}\b/SERVER/g;
$main::Result = "exit $code\n$err";
--- response_body
exit 1
cachectl: 127.0.0.1:SERVER is no longer the primary: READONLY You can't write against a read only replica.



=== TEST 9: every sentinel gone: the daemon keeps publishing to the
primary it has (ROLE still says master)
--- timeout: 30
--- pre_request
for my $t (@{ $main::S->{sentinels} }) {
    kill 'KILL', $t->{pid};
    waitpid $t->{pid}, 0;
    delete $t->{pid};
}
my $mark = daemon_mark($main::Daemon);
write_file("$main::View/late/index.shtml", "<p>no sentinel left</p>\n");
my $ok = poll_until(10, sub {
    main::published($main::New, 'late/index.shtml') =~ /no sentinel left/ });
Time::HiRes::sleep(2.5);    # two heartbeats
$main::Result = "published on the primary: " . ($ok ? 'yes' : "no\n" . daemon_log($main::Daemon, $mark)) . "\n"
    . "reconnects: " . daemon_count($main::Daemon, qr/connected to Redis|asking the sentinels/, $mark) . "\n";
--- response_body
published on the primary: yes
reconnects: 0
