# A daemon takes the lease of a holder "of this host whose process is
# gone" at once (a daemon killed with SIGKILL and restarted by systemd).
# "This host" was the host name alone: containers with the host's name
# (docker --network host) and cloned machines share it, and there a pid
# that does not exist here may well be alive: each daemon took the
# other's lease at every batch and heartbeat, and both published. The
# holder's pid is trusted now only when its status record names the same
# boot (boot_id) and the same pid namespace as ours.
#
# A private redis-server, namespace "t384:prod:".
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file daemon_start);
use JSON::PP ();
use POSIX ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't384:prod:';
our $Dir = CachectlTest::tmpdir();
our ($Result, $Daemon);

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }

# a pid that is not running here
sub main::dead_pid {
    my $pid = fork // die "fork: $!";
    POSIX::_exit(0) if $pid == 0;
    waitpid $pid, 0;
    return $pid;
}

sub main::fake_holder {
    my ($id, %more) = @_;
    main::rcli('SET', "${main::NS}cachectl:lease", $id, 'PX', 60000);
    JPulseTest::redis_command($main::Redis, 'SET',
        "${main::NS}cachectl:status:$id",
        JSON::PP->new->canonical->encode({ instanceId => $id,
            hostname => (POSIX::uname())[1], pid => main::dead_pid(),
            views => ['/elsewhere'], %more }), 'EX', 300);
}

sub main::boot_id {
    open my $fh, '<', '/proc/sys/kernel/random/boot_id' or return '';
    chomp(my $id = <$fh> // '');
    return $id;
}

write_file("$Dir/view/page.shtml", "page v1");

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a holder of our host name, from another boot or pid namespace:
its lease is not taken
--- pre_request
main::fake_holder('other-container');
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't384',
                             views => ["$main::Dir/view"],
                             args => ['--rescan', 0, '--heartbeat', 1]);
CachectlTest::daemon_wait_log($main::Daemon,
    qr/lease: (held by|its holder)/, 10);
Time::HiRes::sleep(1.5);
$main::Result = "lease: " . main::rcli('GET', "${main::NS}cachectl:lease")
    . "\npublished: " . main::rcli('EXISTS', "${main::NS}tpl:page.shtml")
    . "\nstate: " . (CachectlTest::daemon_status($main::Redis, $main::NS,
                         $main::Daemon)->{state} // '(none)') . "\n";
CachectlTest::daemon_stop($main::Daemon);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
lease: other-container
published: 0
state: standby



=== TEST 2: the same record from this boot and pid namespace: taken
--- pre_request
main::fake_holder('dead-daemon', bootId => main::boot_id(),
                  pidNs => readlink('/proc/self/ns/pid'));
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't384',
                             views => ["$main::Dir/view"],
                             args => ['--rescan', 0, '--heartbeat', 1]);
CachectlTest::poll_until(10, sub {
    main::rcli('EXISTS', "${main::NS}tpl:page.shtml") }, 0.05);
$main::Result = "published: " . main::rcli('EXISTS',
                                           "${main::NS}tpl:page.shtml")
    . "\nsaid: " . (CachectlTest::daemon_log($main::Daemon)
                    =~ /lease: its holder dead-daemon .* has no process/
                    ? 'yes' : 'no') . "\n";
CachectlTest::daemon_stop($main::Daemon);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
published: 1
said: yes
