# cachectl's lease (issue 11, item 4): one daemon per namespace publishes.
# A second daemon with other views used to cut the index to its own tree
# (61 entries to 1). Now the second one stands by: it says once who holds
# <ns>cachectl:lease (instance id, pid, host and views from the holder's
# status record), publishes nothing, shows "standby" and the holder in
# its status record, and takes over with a full sync when the lease runs
# out (holder killed with SIGKILL) or at once when the holder stops
# (SIGTERM releases it). A holder whose lease someone else took stops
# publishing until it has it again.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't352:prod:';
our $Dir = CachectlTest::tmpdir();

$ENV{TEST_NGINX_T352_DIR} = $Dir;

write_file("$Dir/a/page$_.shtml", "a$_\n") for 1 .. 6;
write_file("$Dir/b/only.shtml", "b\n");

our %Opts = (redis => $Redis, site_id => 't352',
             args => ['--rescan', 0, '--heartbeat', 1]);

sub main::redis { JPulseTest::redis_cli($main::Redis, @_) =~ s/\s+\z//r }
sub main::entries { scalar keys %{ CachectlTest::tpl_index($main::Redis,
                                                          $main::NS) } }

# the instance id a daemon logs at start
sub main::instance {
    my ($d) = @_;
    CachectlTest::daemon_wait_log($d, qr/starting as (\S+),/, 5);
    return CachectlTest::daemon_log($d) =~ /starting as (\S+),/ ? $1 : '?';
}

sub main::standby {
    my $out = '';
    my $a = daemon_start(%main::Opts, views => ["$main::Dir/a"]);
    CachectlTest::daemon_wait_log($a, qr/published/, 5);
    my $aid = main::instance($a);
    $out .= "A published: " . main::entries() . " entries\n";

    my $b = daemon_start(%main::Opts, views => ["$main::Dir/b"]);
    my $bid = main::instance($b);
    CachectlTest::daemon_wait_log($b, qr/lease: held by/, 5);
    Time::HiRes::sleep(2.5);
    $out .= "B started: " . main::entries() . " entries\n";
    my ($said) = CachectlTest::daemon_log($b) =~ /lease: (held by .*)$/m;
    $said //= '(nothing)';
    $said =~ s/\Q$aid\E/A/;
    $said =~ s/pid \d+ on [^,]+, views [^)]*/pid, host, views/;
    $out .= "B says: $said\n";
    $out .= "B said it: " . CachectlTest::daemon_count($b, qr/lease: held by/)
          . " time(s)\n";
    my $st = CachectlTest::daemon_status($main::Redis, $main::NS, $b);
    $out .= "B status: " . ($st->{state} // '(none)') . ", holder "
          . (($st->{lease}{holder} // '') eq $aid ? 'A' : '?') . "\n";
    $out .= "lease: " . (main::redis('GET', "${main::NS}cachectl:lease") eq $aid
                         ? 'A' : '?') . ", ttl "
          . (main::redis('PTTL', "${main::NS}cachectl:lease") > 0
             ? 'set' : 'none') . "\n";

    # A killed: its lease runs out, B takes over and syncs in full
    CachectlTest::daemon_stop($a, signal => 'KILL');
    CachectlTest::daemon_wait_log($b, qr/lease: taken over from/, 20)
        or $out .= "B did not take over\n";
    CachectlTest::poll_until(5, sub {
        main::redis('HGET', "${main::NS}tpl:only.shtml", 'source') eq 'b' });
    $out .= "B publishes: "
          . (main::redis('HGET', "${main::NS}tpl:only.shtml", 'source') eq 'b'
             ? 'yes' : 'no') . "\n";
    CachectlTest::poll_until(5, sub {
        (CachectlTest::daemon_status($main::Redis, $main::NS, $b)
             ->{lease}{ours}) });
    $st = CachectlTest::daemon_status($main::Redis, $main::NS, $b);
    $out .= "B status: " . ($st->{state} // '(none)') . ", ours "
          . ($st->{lease}{ours} ? 'yes' : 'no') . "\n";

    # C stands by; B stops: C takes over at once (B released the lease)
    my $c = daemon_start(%main::Opts, views => ["$main::Dir/a"]);
    my $cid = main::instance($c);
    CachectlTest::daemon_wait_log($c, qr/lease: held by/, 5);
    $out .= "B stops: " . CachectlTest::daemon_stop($b) . ", "
          . (CachectlTest::daemon_log($b) =~ /lease: released/ ? 'released'
                                                              : 'kept') . "\n";
    CachectlTest::daemon_wait_log($c, qr/lease: taken over/, 8)
        or $out .= "C did not take over\n";
    $out .= "lease: " . (main::redis('GET', "${main::NS}cachectl:lease")
                         eq $cid ? 'C' : '?') . "\n";
    CachectlTest::poll_until(5, sub {
        main::redis('HGET', "${main::NS}tpl:page1.shtml", 'source') eq 'a1' });
    $out .= "C publishes: "
          . (main::redis('HGET', "${main::NS}tpl:page1.shtml", 'source')
             eq 'a1' ? 'yes' : 'no') . "\n";

    # someone else takes the lease from C: C stops publishing
    my $mark = CachectlTest::daemon_mark($c);
    main::redis('SET', "${main::NS}cachectl:lease", 'intruder', 'PX', 60000);
    CachectlTest::daemon_wait_log($c, qr/lease: taken by intruder/, 5, $mark);
    write_file("$main::Dir/a/page1.shtml", "a1 v2\n");
    Time::HiRes::sleep(2);
    $out .= "lease lost, C published: "
          . (main::redis('HGET', "${main::NS}tpl:page1.shtml", 'source')
             eq 'a1' ? 'nothing' : 'the edit') . "\n";
    $out .= "C status: " . (CachectlTest::daemon_status($main::Redis,
                                $main::NS, $c)->{state} // '(none)') . "\n";
    main::redis('DEL', "${main::NS}cachectl:lease");
    CachectlTest::poll_until(8, sub {
        main::redis('HGET', "${main::NS}tpl:page1.shtml", 'source')
            eq 'a1 v2' });
    $out .= "lease free, C published: "
          . (main::redis('HGET', "${main::NS}tpl:page1.shtml", 'source')
             eq 'a1 v2' ? 'the edit' : 'nothing') . "\n";
    CachectlTest::daemon_stop($c);
    write_file("$main::Dir/result1.txt", $out);
}

# a daemon killed and started again (systemd's Restart=): the new one
# need not wait for the dead one's lease to run out
sub main::restart {
    my $ns = 't352b:prod:';
    my %opts = (%main::Opts, site_id => 't352b', views => ["$main::Dir/a"]);
    my $d1 = daemon_start(%opts);
    CachectlTest::daemon_wait_log($d1, qr/published/, 5);
    CachectlTest::daemon_wait_log($d1, qr/lease: taken/, 5);
    Time::HiRes::sleep(1.2);    # a status record, with its pid, to read
    my $out = "killed: " . CachectlTest::daemon_stop($d1, signal => 'KILL')
            . "\n";
    write_file("$main::Dir/a/page2.shtml", "a2 v2\n");
    my $d2 = daemon_start(%opts);
    CachectlTest::daemon_wait_log($d2, qr/published/, 5);
    my ($said) = CachectlTest::daemon_log($d2)
                 =~ /lease: (its holder .*)$/m;
    $said //= '(nothing)';
    $said =~ s/\S+ \(pid \d+ on [^)]*\)/OLD/;
    $out .= "restarted: $said\n";
    $out .= "published: " . JPulseTest::redis_cli($main::Redis, 'HGET',
                "${ns}tpl:page2.shtml", 'source') =~ s/\s+\z//r . "\n";
    $out .= "standby said: "
          . CachectlTest::daemon_count($d2, qr/lease: held by/) . "\n";
    CachectlTest::daemon_stop($d2);
    write_file("$main::Dir/result2.txt", $out);
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a second daemon with other views stands by and says who
holds the lease; it takes over when the holder is killed or stops; a
holder that lost the lease stops publishing until it has it again
--- config
    location = /result { alias $TEST_NGINX_T352_DIR/result1.txt; }
--- pre_request
main::standby();
--- request
GET /result
--- response_body
A published: 6 entries
B started: 6 entries
B says: held by A (pid, host, views): standing by, not publishing
B said it: 1 time(s)
B status: standby, holder A
lease: A, ttl set
B publishes: yes
B status: ok, ours yes
B stops: exit 0, released
lease: C
C publishes: yes
lease lost, C published: nothing
C status: standby
lease free, C published: the edit
--- timeout: 60



=== TEST 2: a daemon killed and started again takes its dead
predecessor's lease at once (same host, its pid gone)
--- config
    location = /result { alias $TEST_NGINX_T352_DIR/result2.txt; }
--- pre_request
main::restart();
--- request
GET /result
--- response_body
killed: signal 9
restarted: its holder OLD has no process on this host any more
published: a2 v2
standby said: 0
