# The publisher tells a refusal from a broken connection, and bounds what
# it buffers. An error reply of Redis (WRONGTYPE on one tpl: key, an EXEC
# aborted by maxmemory, WRONGTYPE on the index) fails the batch with an
# error that says what Redis refused, and the writes Redis applied count:
# the other files of the batch are published, the index never names the
# version Redis refused. Writes go out in transactions of at most
# --batch-bytes; the generation counter moves once per batch and one
# event is published, with the last transaction.
#
# The one-shot `cachectl sync` drives the publisher (the daemon's backoff
# and status after a refusal are the daemon's side). A private
# redis-server, namespace "t340:prod:".
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't340:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't340');
our $Result;

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }

# "exit N" and the first line of stderr that is not a log line
sub main::sync {
    # --force: the blocks share the namespace, each syncs its own root
    my ($code, $out, $err) = CachectlTest::cachectl(@main::Cli, 'sync',
                                                    '--force', @_);
    my ($msg) = grep { !/ cachectl\[\d+\] / } split /\n/, $err;
    return "exit $code" . (defined $msg ? ": $msg" : '') . "\n";
}

sub main::index_paths {
    my ($dir) = @_;
    my $i = CachectlTest::tpl_index($main::Redis, $main::NS);
    return join(' ', sort grep { m{^\Q$dir\E/} } keys %$i) . "\n";
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: WRONGTYPE on one tpl: key: the batch is refused and says
which file; the other files are published, the index does not name the
refused one; it goes through once the key is repaired
--- pre_request
my $v = "$main::Dir/wrongtype";
write_file("$v/a/$_.shtml", "<p>$_</p>\n") for qw(one two three);
main::rcli('SET', "${main::NS}tpl:a/two.shtml", 'a string');
my $gen0 = CachectlTest::gen_counters($main::Redis, $main::NS)->{view};
$main::Result = "sync: " . main::sync('--views', $v)
    . "index: " . main::index_paths('a')
    . "gen moved: "
    . (CachectlTest::gen_counters($main::Redis, $main::NS)->{view} - $gen0)
    . "\n";
main::rcli('DEL', "${main::NS}tpl:a/two.shtml");
$main::Result .= "repaired: " . main::sync('--views', $v)
    . "index: " . main::index_paths('a');
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
sync: exit 1: cachectl sync: Redis refused the write of view a/two.shtml: WRONGTYPE Operation against a key holding the wrong kind of value
index: a/one.shtml a/three.shtml
gen moved: 1
repaired: exit 0
index: a/one.shtml a/three.shtml a/two.shtml



=== TEST 2: an EXEC aborted by maxmemory: refused with Redis's reason,
nothing counts as published, the next run writes it all
--- pre_request
my $v = "$main::Dir/oom";
write_file("$v/b/$_.shtml", "<p>$_</p>\n") for qw(one two);
main::rcli('CONFIG', 'SET', 'maxmemory', 1);
$main::Result = "sync: " . main::sync('--views', $v)
    . "index: " . main::index_paths('b');
main::rcli('CONFIG', 'SET', 'maxmemory', 0);
$main::Result .= "again: " . main::sync('--views', $v)
    . "index: " . main::index_paths('b');
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
sync: exit 1: cachectl sync: Redis refused a write: OOM command not allowed when used memory > 'maxmemory'.
index: 
again: exit 0
index: b/one.shtml b/two.shtml



=== TEST 3: the index is not a hash: refused, and named
--- pre_request
my $v = "$main::Dir/oom";
main::rcli('RENAME', "${main::NS}tplindex", "${main::NS}saved");
main::rcli('SET', "${main::NS}tplindex", 'a string');
$main::Result = "sync: " . main::sync('--views', $v);
main::rcli('RENAME', "${main::NS}saved", "${main::NS}tplindex");
$main::Result .= "again: " . main::sync('--views', $v);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
sync: exit 1: cachectl sync: HGETALL t340:prod:tplindex: WRONGTYPE Operation against a key holding the wrong kind of value
again: exit 0



=== TEST 4: --batch-bytes 1000 and ten 600-byte files: several
transactions (MONITOR counts them), one generation bump, one event, every
file published
--- pre_request
my $v = "$main::Dir/bytes";
write_file("$v/c/f$_.shtml", ('x' x 599) . "\n") for 1 .. 10;
my $mon = "$main::Dir/monitor.txt";
my $m = CachectlTest::spawn(log => $mon, cmd => ['redis-cli', '-p',
    $main::Redis->{port}, 'MONITOR']);
CachectlTest::poll_until(5, sub { -s $mon });
my $sub = CachectlTest::spawn(log => "$main::Dir/events.txt",
    cmd => ['redis-cli', '-p', $main::Redis->{port}, 'SUBSCRIBE',
            "${main::NS}bc:controller:cache:invalidate:view"]);
CachectlTest::poll_until(5, sub { -s "$main::Dir/events.txt" });
my $gen0 = CachectlTest::gen_counters($main::Redis, $main::NS)->{view};
$main::Result = "sync: " . main::sync('--views', $v, '--batch-bytes', 1000);
CachectlTest::poll_until(5, sub {
    CachectlTest::slurp($mon) =~ /"PUBLISH"/
    && CachectlTest::slurp("$main::Dir/events.txt") =~ /"gen"/ });
CachectlTest::spawn_stop($m);
CachectlTest::spawn_stop($sub);
my $log = CachectlTest::slurp($mon);
my $execs = () = $log =~ /"EXEC"/g;
my $bumps = () = $log =~ /"HINCRBY"/g;
my $events = () = CachectlTest::slurp("$main::Dir/events.txt") =~ /"gen"/g;
$main::Result .= "transactions: " . ($execs >= 5 ? 'at least 5' : $execs)
    . "\ngeneration bumps: $bumps\nevents: $events\ngen moved: "
    . (CachectlTest::gen_counters($main::Redis, $main::NS)->{view} - $gen0)
    . "\nindex: " . scalar(() = main::index_paths('c') =~ /\S+/g) . " files\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
sync: exit 0
transactions: at least 5
generation bumps: 1
events: 1
gen moved: 1
index: 10 files
