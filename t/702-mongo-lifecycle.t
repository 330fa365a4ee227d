# jpulse_mongodb across a worker's life: each worker makes its own client
# pool after fork and pings; nothing is left in /dev/shm by libmongoc
# (its load-time counters segment, /mongoc-<pid>, is unlinked in the
# master, even one killed); a reload (HUP) brings new workers that
# connect while the old ones exit cleanly (no "open socket left", no
# alert); a graceful stop the same. Its own nginx (JPulseTest::nginx_start)
# against t/run's test server.
use lib 't/lib';
use JPulseTest qw(http_get poll_until);
use MongoTest qw(mongo_port);
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

our $Result;

sub main::connected {
    my ($n) = @_;
    return poll_until(15, sub {
        my ($s, $h, $b) = http_get($n->{port}, '/api/1/health/ready');
        return $s == 200 && $b =~ /"database":"connected"/;
    }) ? 'yes' : 'no';
}

sub main::shm_left {
    my (@pids) = @_;
    my @left = grep { -e "/dev/shm/mongoc-$_" } @pids;
    return @left ? "left for @left" : 'none';
}

sub main::log_of {
    my ($n) = @_;
    open my $fh, '<', "$n->{dir}/logs/error.log" or return '';
    local $/;
    return <$fh> // '';
}

sub main::start {
    my $port = mongo_port();
    return JPulseTest::nginx_start(workers => 2, http => <<"HTTP",
    jpulse_mongodb mongodb://127.0.0.1:$port/t702 timeout=1s
                   ping_interval=100ms pool_max=4;
HTTP
        config => 'location /api/1/health/ { jpulse_health; }');
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('config', 'location = /ping { return 200 "pong\n"; }');
    $block->set_value('request', "GET /ping\n");
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: connected; no counters segment for the master or a worker;
HUP: the new workers connect, the old ones exit without leaving anything
--- pre_request
my $n = main::start();
my $c = main::connected($n);
my @old;
poll_until(5, sub { @old = JPulseTest::nginx_pids($n->{pid}); @old == 2 });
$main::Result = "connected: $c\n"
    . "workers: " . scalar(@old) . "\n"
    . "segments: " . main::shm_left($n->{pid}, @old) . "\n";
kill 'HUP', $n->{pid};
my $gone = poll_until(15, sub { !grep { kill 0, $_ } @old });
my @new;
poll_until(5, sub { @new = JPulseTest::nginx_pids($n->{pid}); @new == 2 });
$main::Result .= "old workers gone: " . ($gone ? 'yes' : 'no') . "\n"
    . "after HUP connected: " . main::connected($n) . "\n"
    . "segments: " . main::shm_left($n->{pid}, @old, @new) . "\n";
JPulseTest::nginx_stop($n);
my $log = main::log_of($n);
$main::Result .= "stopped; segments: " . main::shm_left($n->{pid} // (), @old, @new) . "\n"
    . "clean worker exits: " . (() = $log =~ /worker process \d+ exited with code 0$/mg) . "\n"
    . "bad lines: " . join('', $log =~ /^(.*(?:\[alert\]|\[crit\]|\[emerg\]|open socket|exited on signal).*\n)/mg) . "\n";
--- response_body_filters eval
sub { $main::Result }
--- response_body
connected: yes
workers: 2
segments: none
old workers gone: yes
after HUP connected: yes
segments: none
stopped; segments: none
clean worker exits: 4
bad lines: 



=== TEST 2: a master killed (SIGKILL) leaves no /dev/shm/mongoc-<pid>
(daemon off: the master keeps the pid that loaded the module)
--- pre_request
my $n = main::start();
JPulseTest::nginx_stop($n);
my $bin = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    open STDERR, '>', '/dev/null';
    exec $bin, '-p', "$n->{dir}/", '-c', 'conf/nginx.conf',
         '-g', 'daemon off;' or POSIX::_exit(127);
}
$n->{pid} = $pid;
my $c = main::connected($n);
my @w;
poll_until(5, sub { @w = JPulseTest::nginx_pids($pid); @w == 2 });
kill 'KILL', $pid, @w;
waitpid $pid, 0;
delete $n->{pid};
$main::Result = "connected: $c\nsegments: " . main::shm_left($pid, @w) . "\n";
--- response_body_filters eval
sub { $main::Result }
--- response_body
connected: yes
segments: none
