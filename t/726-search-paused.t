# A worker is never blocked: with the test server SIGSTOPped, 200
# searches wait (parked on the thread pool's queue) while a health
# request is answered in under 50 ms (a generous bound: it is served
# from memory, a few hundred microseconds on an idle host; the bound
# only has to tell "answered" from "waited behind the database"). After
# SIGCONT every search answers, 200, or 503 for those whose time ran out
# or that the queue refused; no connection or descriptor is left behind.
# A client that leaves while its search waits: nothing logged at alert,
# the worker frees it. A private test server.
use lib 't/lib';
use MongoTest ();
use JPulseTest ();
use SearchTest qw(search line);
use IO::Socket::INET ();
use IO::Select ();
use Time::HiRes ();
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

our $Port = SearchTest::free_port();
our $Pid = SearchTest::mongo_start($Port);
$ENV{TEST_NGINX_SEARCH_PRIVATE_PORT} = $Port;
$SearchTest::SeedPort = $Port;
SearchTest::seed_users('t726', 100);

SearchTest::blocks(db => 't726', port => $Port,
    uri_opts => "/?socketTimeoutMS=5000&serverSelectionTimeoutMS=2000");

our $Result;

# sends a search on each of $n connections, reads nothing
sub main::park {
    my ($n, $path) = @_;
    my @s;
    for (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$Test::Nginx::Socket::ServerPort",
                                      Timeout => 3) or die "connect: $!";
        print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
        push @s, $s;
    }
    return @s;
}

# every connection's status, waiting up to $t seconds in all
sub main::collect {
    my ($t, @s) = @_;
    my %buf;
    my $sel = IO::Select->new(@s);
    my $deadline = Time::HiRes::time() + $t;
    while ($sel->count && Time::HiRes::time() < $deadline) {
        for my $s ($sel->can_read(0.5)) {
            my $n = sysread $s, my $chunk, 65536;
            if ($n) { $buf{$s} .= $chunk; next }
            $sel->remove($s);
            close $s;
        }
    }
    my %st;
    for my $s (@s) {
        my ($code) = ($buf{$s} // '') =~ m{\AHTTP/1\.\d (\d{3})};
        my ($err) = ($buf{$s} // '') =~ /"code":"([A-Z_]+)"/;
        $st{ $code ? $code . ($err ? " $err" : '') : 'no answer' }++;
    }
    return \%st;
}

sub main::worker_fds {
    my $pid = (split ' ', JPulseTest::_slurp("$Test::Nginx::Socket::ServerRoot/logs/nginx.pid"))[0];
    my $n = 0;
    $n += () = glob "/proc/$_/fd/*" for JPulseTest::nginx_pids($pid);
    return $n;
}

worker_connections(1024);
repeat_each(1);

plan tests => repeat_each() * blocks() * 3 + 2;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: 200 parked searches, health in < 50 ms, all answer after
SIGCONT, no descriptor left
--- main_config
    thread_pool default threads=4;
--- pre_request
my $r = "before: " . line(search('/api/1/user/search?limit=3')) . "\n";
my $fds = main::worker_fds();
kill 'STOP', $main::Pid;
my @s = main::park(200, '/api/1/user/search?limit=50');
Time::HiRes::sleep(0.3);
my $t0 = Time::HiRes::time();
my ($st) = JPulseTest::http_get($Test::Nginx::Socket::ServerPort, '/api/1/health/status');
my $ms = (Time::HiRes::time() - $t0) * 1000;
$r .= "health while paused: $st, " . ($ms < 50 ? 'under 50 ms' : sprintf('%.1f ms', $ms)) . "\n";
kill 'CONT', $main::Pid;
my $got = main::collect(30, @s);
Test::More::diag(sprintf "health while paused: %.2f ms; the 200 searches: %s", $ms,
                 join ', ', map { "$_ x$got->{$_}" } sort keys %$got);
$r .= "answered: " . join(', ', map { "$_ x$got->{$_}" } grep { !/^(200|503 DATABASE_\w+)$/ } sort keys %$got) . "\n";
$r .= "after: " . line(search('/api/1/user/search?limit=3')) . "\n";
my $left = JPulseTest::poll_until(10, sub { main::worker_fds() <= $fds });
$r .= "descriptors: " . ($left ? 'as before' : main::worker_fds() . " (were $fds)") . "\n";
$main::Result = $r;
--- response_body
before: 200 n=3 1,2,3
health while paused: 200, under 50 ms
answered: 
after: 200 n=3 1,2,3
descriptors: as before
--- no_error_log
[alert]



=== TEST 2: clients that close while their search waits
--- pre_request
kill 'STOP', $main::Pid;
my @s = main::park(20, '/api/1/user/search?limit=50');
Time::HiRes::sleep(0.3);
close $_ for @s;
Time::HiRes::sleep(0.3);
kill 'CONT', $main::Pid;
my $ok = JPulseTest::poll_until(15, sub { line(search('/api/1/user/search?limit=2')) eq '200 n=2 1,2' });
$main::Result = "after: " . ($ok ? 'served' : line(search('/api/1/user/search?limit=2'))) . "\n";
--- response_body
after: served
--- no_error_log
[alert]
[crit]
[emerg]



=== TEST 3: paused longer than the operation's timeout: the waiting
searches are answered 503 while the database is still stopped, and
searches work again once it continues
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_SEARCH_PRIVATE_PORT/?socketTimeoutMS=1000&serverSelectionTimeoutMS=1000 db=t726 timeout=1s;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET;
--- pre_request
my $r = "before: " . line(search('/api/1/user/search?limit=3')) . "\n";
kill 'STOP', $main::Pid;
my @s = main::park(20, '/api/1/user/search?limit=50');
my $got = main::collect(20, @s);
$r .= "while stopped: " . join(', ', map { "$_ x$got->{$_}" } sort keys %$got) . "\n";
kill 'CONT', $main::Pid;
my $ok = JPulseTest::poll_until(20, sub { line(search('/api/1/user/search?limit=3')) eq '200 n=3 1,2,3' }, 0.2);
$r .= "after: " . ($ok ? 'served' : line(search('/api/1/user/search?limit=3'))) . "\n";
$main::Result = $r;
--- response_body
before: 200 n=3 1,2,3
while stopped: 503 DATABASE_UNAVAILABLE x20
after: served
--- no_error_log
[alert]



=== TEST 4: one budget for the whole search: a count that comes back
after the operation's timeout (the server paused well past it, socket
timeouts longer still) is not followed by a find with a new maxTimeMS:
503, said in the log
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_SEARCH_PRIVATE_PORT/?socketTimeoutMS=30000&serverSelectionTimeoutMS=30000 db=t726 timeout=1s;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET;
--- pre_request
my $r = "before: " . line(search('/api/1/user/search?limit=3')) . "\n";
kill 'STOP', $main::Pid;
my @s = main::park(1, '/api/1/user/search?limit=3');
Time::HiRes::sleep(2.5);
kill 'CONT', $main::Pid;
my $got = main::collect(20, @s);
$r .= "paused: " . join(', ', map { "$_ x$got->{$_}" } sort keys %$got) . "\n";
$r .= "after: " . line(search('/api/1/user/search?limit=3')) . "\n";
$main::Result = $r;
--- response_body
before: 200 n=3 1,2,3
paused: 503 DATABASE_UNAVAILABLE x1
after: 200 n=3 1,2,3
--- no_error_log
[alert]



=== TEST 5: nginx's thread pool refuses a task (its own max_queue):
503 DATABASE_BUSY in the JSON envelope, never a bare 500
--- main_config
    thread_pool default threads=1 max_queue=1;
--- pre_request
# the worker's start-up reads (ping, siteConfig, docTypes) may hold the
# one-slot queue for a moment: wait for them, as a client retrying a 503
my $before;
for (1 .. 100) {
    $before = line(search('/api/1/user/search?limit=3'));
    last if $before =~ /^200 /;
    Time::HiRes::sleep(0.1);
}
my $r = "before: $before\n";
kill 'STOP', $main::Pid;
my @s = main::park(6, '/api/1/user/search?limit=3');
Time::HiRes::sleep(0.5);
kill 'CONT', $main::Pid;
my $got = main::collect(20, @s);
Test::More::diag("the 6 searches: " . join ', ', map { "$_ x$got->{$_}" } sort keys %$got);
$r .= "busy: " . ($got->{'503 DATABASE_BUSY'} ? 'yes' : 'no') . "\n";
$r .= "others: " . join(', ', grep { !/^(200|503 DATABASE_\w+)$/ } sort keys %$got) . "\n";
$r .= "after: " . line(search('/api/1/user/search?limit=3')) . "\n";
$main::Result = $r;
--- response_body
before: 200 n=3 1,2,3
busy: yes
others: 
after: 200 n=3 1,2,3
--- no_error_log
[alert]
