# cachectl through Redis Sentinel when the primary dies with SIGKILL in
# the middle of a deploy of a few hundred files: the sentinels promote
# the replica, the daemon follows (the switch logged once) and, since
# asynchronous replication may have lost the last writes, compares
# everything with the new primary: every file ends up there with the
# right content, nothing lost. The time to follow is measured (diag).
# Then the loss itself, made certain: the daemon is stopped (SIGSTOP),
# the primary killed, and the promoted replica loses the last 100 files
# (deleted there, as if never replicated) before the daemon goes on: it
# follows, takes the lease again and writes them again.
#
# The runner's nginx only answers /ping: the checks run in --- pre_request
# and are compared as text.
use lib 't/lib';
use JPulseTest ();
use CachectlTest qw(write_file spawn daemon_wait_log daemon_count daemon_mark
                    daemon_log poll_until tpl_index);
use RedisSentinel qw(sentinel_start sentinel_addrs sentinel_primary);
use SentinelTest qw(cachectl_runner);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $S = sentinel_start(master => 't812', replicas => 2, sentinels => 3);
our $NS = 't812:prod:';
our $Dir = CachectlTest::tmpdir();
our $View = "$Dir/view";
our $Files = 400;
our ($Old, $New, $Result);

write_file("$View/home/index.shtml", "<p>home</p>\n");

our $Daemon = spawn(cmd => [CachectlTest::cachectl_bin(),
                            '--redis-sentinel', sentinel_addrs($S),
                            '--redis-master', 't812', '--site-id', 't812',
                            'daemon', '--views', $View, '--rescan', 0,
                            '--heartbeat', 1]);

sub main::content { my ($i) = @_; return "<p>page $i of the deploy</p>\n" }

# how many of the deploy's files $r holds with the right content
sub main::landed {
    my ($r) = @_;
    my @replies = JPulseTest::redis_pipeline($r, map {
        ['HGET', "${main::NS}tpl:deploy/p$_/index.shtml", 'source'] }
        1 .. $main::Files);
    my $ok = 0;
    for my $i (1 .. $main::Files) {
        my $src = $replies[$i - 1];
        $ok++ if defined $src && !ref $src
                 && index($src, main::content($i)) >= 0;
    }
    return $ok;
}

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * blocks() * 2;

cachectl_runner();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: kill -9 the primary in the middle of a 400-file deploy: every
file is on the new primary with its content; the switch logged once
--- timeout: 120
--- pre_request
$main::Old = sentinel_primary($main::S);
poll_until(15, sub { keys %{ tpl_index($main::Old, $main::NS) } == 1 });
my $mark = daemon_mark($main::Daemon);

# the deploy: a writer that takes ~4 s (batches of up to settle-max-ms,
# 1 s); the primary dies after ~2.2 s
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    for my $i (1 .. $main::Files) {
        write_file("$main::View/deploy/p$i/index.shtml", main::content($i));
        Time::HiRes::sleep(0.01);
    }
    POSIX::_exit(0);
}
Time::HiRes::sleep(2.2);
my $before = keys %{ tpl_index($main::Old, $main::NS) };
JPulseTest::redis_stop($main::Old);
my $t0 = Time::HiRes::time();

my $new;
poll_until(30, sub {
    $new = sentinel_primary($main::S);
    $new && $new != $main::Old
        && JPulseTest::redis_cli($new, 'ROLE') =~ /^master/ });
my $t_promoted = Time::HiRes::time();
waitpid $pid, 0;
$main::New = $new;

my $p = $new->{port};
my $re = qr/redis: primary of t812 is now 127\.0\.0\.1:$p \(was 127\.0\.0\.1:$main::Old->{port}\)/;
my $logged = daemon_wait_log($main::Daemon, $re, 30, $mark);
my $t_switch = Time::HiRes::time();

my $landed = 0;
poll_until(30, sub { ($landed = main::landed($new)) == $main::Files }, 0.2);
my $t_all = Time::HiRes::time();

Test::More::diag(sprintf "kill -9 with %d of %d files on the old primary; "
    . "promoted after %.2f s; the daemon logged the switch at %.2f s; every "
    . "file on the new primary at %.2f s", $before - 1, $main::Files,
    $t_promoted - $t0, $t_switch - $t0, $t_all - $t0);
Test::More::diag(daemon_log($main::Daemon, $mark)) if $ENV{TEST_VERBOSE_812};

$main::Result = "killed mid-deploy: "
    . ($before > 1 && $before - 1 < $main::Files ? 'yes' : "no ($before)") . "\n"
    . "switch logged: " . ($logged ? 'yes' : "no\n" . daemon_log($main::Daemon, $mark)) . "\n"
    . "logged once: " . daemon_count($main::Daemon, $re, $mark) . "\n"
    . "files on the new primary with their content: $landed of $main::Files\n"
    . "the index there: " . (keys %{ tpl_index($new, $main::NS) }) . "\n"
    . "daemon alive: " . (CachectlTest::daemon_alive($main::Daemon) ? 'yes' : 'no') . "\n";
--- response_body
killed mid-deploy: yes
switch logged: yes
logged once: 1
files on the new primary with their content: 400 of 400
the index there: 401
daemon alive: yes



=== TEST 2: writes the new primary never got (asynchronous replication
lost them) are written again after the failover; the lease is taken again
there
--- timeout: 120
--- pre_request
my $old = $main::New;
my ($other) = grep { $_ != $old && $_->{pid} } @{ $main::S->{nodes} };
# the last replica follows the new primary before it can take over
poll_until(30, sub {
    JPulseTest::redis_cli($other, 'INFO', 'replication')
        =~ /master_port:$old->{port}\b.*master_link_status:up/s });
poll_until(10, sub { main::landed($other) == $main::Files });
my $mark = daemon_mark($main::Daemon);

kill 'STOP', $main::Daemon->{pid};
JPulseTest::redis_stop($old);
my $t0 = Time::HiRes::time();
my $new;
poll_until(30, sub {
    $new = sentinel_primary($main::S);
    $new && $new == $other
        && JPulseTest::redis_cli($new, 'ROLE') =~ /^master/ });

# the last 100 files and the lease: never replicated
JPulseTest::redis_pipeline($new,
    (map { ['DEL', "${main::NS}tpl:deploy/p$_/index.shtml"],
           ['HDEL', "${main::NS}tplindex", "deploy/p$_/index.shtml"] }
         301 .. $main::Files),
    ['DEL', "${main::NS}cachectl:lease"]);
my $lost = $main::Files - main::landed($new);
kill 'CONT', $main::Daemon->{pid};
my $t1 = Time::HiRes::time();

my $landed = 0;
poll_until(30, sub { ($landed = main::landed($new)) == $main::Files }, 0.2);
Test::More::diag(sprintf "%d files lost by the new primary written again "
    . "%.2f s after the daemon went on", $lost, Time::HiRes::time() - $t1);
my $lease = JPulseTest::redis_cli($new, 'GET', "${main::NS}cachectl:lease");
my $re = qr/redis: primary of t812 is now 127\.0\.0\.1:$new->{port} \(was 127\.0\.0\.1:$old->{port}\)/;
$main::Result = "lost on the new primary: $lost\n"
    . "switch logged once: " . daemon_count($main::Daemon, $re, $mark) . "\n"
    . "files there with their content: $landed of $main::Files\n"
    . "lease there: " . ($lease =~ /\S/ ? 'taken again' : 'none') . "\n"
    . "daemon alive: " . (CachectlTest::daemon_alive($main::Daemon) ? 'yes' : 'no') . "\n";
--- response_body
lost on the new primary: 100
switch logged once: 1
files there with their content: 400 of 400
lease there: taken again
daemon alive: yes
