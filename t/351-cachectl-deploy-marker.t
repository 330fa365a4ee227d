# cachectl --deploy-marker and --settle-max-ms (issue 11, item 3). A deploy
# that empties the view root and copies the new files in ("rm -f v/*; cp
# src/* v/") used to go live half done: the index fell to 0 entries and
# came back. With a deploy marker the changes wait (status: "waiting for
# the deploy marker" with the number of events, rescans publish nothing)
# until the marker file changes, then go out as one batch, one generation
# bump. --settle-max-ms bounds how long a batch waits for quiet (the
# constant of one second it replaces split a slow copy into batches).
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file remove_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't351:prod:';
our $Dir = CachectlTest::tmpdir();
our $Marker = "$Dir/deployed";

$ENV{TEST_NGINX_T351_DIR} = $Dir;

write_file("$Dir/view/a.shtml", "a1\n");
write_file("$Dir/view/b.shtml", "b1\n");
write_file("$Dir/view/c.shtml", "c1\n");
write_file($Marker, "release 1\n");

sub main::tree {
    my ($ns) = @_;
    my $index = CachectlTest::tpl_index($main::Redis, $ns);
    return join(' ', map {
        my $src = JPulseTest::redis_cli($main::Redis, 'HGET', "${ns}tpl:$_",
                                        'source') =~ s/\s+\z//r;
        "$_=$src" } sort keys %$index) . "\n";
}

sub main::marker {
    my $d = daemon_start(redis => $main::Redis, site_id => 't351',
                         views => ["$main::Dir/view"],
                         args => ['--rescan', 1, '--heartbeat', 1,
                                  '--deploy-marker', $main::Marker]);
    my $out = '';
    CachectlTest::daemon_wait_log($d, qr/published/, 5)
        or $out .= "nothing published at start\n";
    $out .= "at start: " . main::tree($main::NS);
    my $gen = CachectlTest::gen_counters($main::Redis, $main::NS)->{view};

    # the deploy, half done for a while: two rescans go by
    my $mark = CachectlTest::daemon_mark($d);
    remove_file("$main::Dir/view/$_.shtml") for qw(a b c);
    Time::HiRes::sleep(0.3);
    write_file("$main::Dir/view/b.shtml", "b2\n");
    write_file("$main::Dir/view/d.shtml", "d2\n");
    Time::HiRes::sleep(2.5);
    $out .= "half done: " . main::tree($main::NS);
    my $st = CachectlTest::daemon_status($main::Redis, $main::NS, $d);
    $out .= "status: $st->{state}: "
          . (($st->{message} // '') =~ s/\d+ change/N change/r) . "\n";

    write_file("$main::Dir/view/a.shtml", "a2\n");
    write_file("$main::Dir/view/c.shtml", "c2\n");
    write_file($main::Marker, "release 2\n");
    CachectlTest::daemon_wait_log($d, qr/published/, 5, $mark)
        or $out .= "nothing published after the marker\n";
    $out .= "after the marker: " . main::tree($main::NS);
    $out .= "generation bumps: "
          . (CachectlTest::gen_counters($main::Redis, $main::NS)->{view}
             - $gen) . "\n";
    $out .= "batches: "
          . CachectlTest::daemon_count($d, qr/published/, $mark) . "\n";
    $out .= "said: " . (CachectlTest::daemon_log($d, $mark)
                        =~ /(deploy marker \S+ changed)/ ? 'marker changed'
                                                         : 'nothing') . "\n";
    $out .= "status then: "
          . (CachectlTest::poll_until(5, sub {
                 CachectlTest::daemon_status($main::Redis, $main::NS,
                                             $d)->{state} eq 'ok' })
             ? 'ok' : 'not ok') . "\n";

    # a touch (same content, new mtime) is a deploy too
    $mark = CachectlTest::daemon_mark($d);
    write_file("$main::Dir/view/a.shtml", "a3\n");
    Time::HiRes::sleep(1.5);
    $out .= "edit alone: " . main::tree($main::NS);
    utime undef, undef, $main::Marker;
    my $t = time + 2;
    utime $t, $t, $main::Marker;
    CachectlTest::daemon_wait_log($d, qr/published/, 5, $mark);
    $out .= "after a touch: " . main::tree($main::NS);

    CachectlTest::daemon_stop($d);
    write_file("$main::Dir/result1.txt", $out);
}

sub main::settle_max {
    my $ns = 't351b:prod:';
    write_file("$main::Dir/slow/x.shtml", "x0\n");
    my $d = daemon_start(redis => $main::Redis, site_id => 't351b',
                         views => ["$main::Dir/slow"],
                         args => ['--rescan', 0, '--heartbeat', 1,
                                  '--settle-ms', 2000,
                                  '--settle-max-ms', 20000]);
    CachectlTest::daemon_wait_log($d, qr/published/, 5);
    my $mark = CachectlTest::daemon_mark($d);

    # a slow copy: a file every 100 ms for 2.5 s
    for my $i (1 .. 25) {
        write_file("$main::Dir/slow/f$i.shtml", "f$i\n");
        Time::HiRes::sleep(0.1);
    }
    CachectlTest::daemon_wait_log($d, qr/published/, 5, $mark);
    Time::HiRes::sleep(1.5);
    my $out = "batches: " . CachectlTest::daemon_count($d, qr/published/, $mark)
            . "\nfiles: " . scalar(keys %{ CachectlTest::tpl_index(
                                $main::Redis, $ns) }) . "\n";
    CachectlTest::daemon_stop($d);
    write_file("$main::Dir/result2.txt", $out);
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: with a deploy marker a half-done deploy waits (rescans too),
the marker's change publishes it as one batch, one generation bump
--- config
    location = /result { alias $TEST_NGINX_T351_DIR/result1.txt; }
--- pre_request
main::marker();
--- request
GET /result
--- response_body
at start: a.shtml=a1 b.shtml=b1 c.shtml=c1
half done: a.shtml=a1 b.shtml=b1 c.shtml=c1
status: waiting: waiting for the deploy marker: N change event(s)
after the marker: a.shtml=a2 b.shtml=b2 c.shtml=c2 d.shtml=d2
generation bumps: 1
batches: 1
said: marker changed
status then: ok
edit alone: a.shtml=a2 b.shtml=b2 c.shtml=c2 d.shtml=d2
after a touch: a.shtml=a3 b.shtml=b2 c.shtml=c2 d.shtml=d2



=== TEST 2: --settle-max-ms: a slow copy within it is one batch
--- config
    location = /result { alias $TEST_NGINX_T351_DIR/result2.txt; }
--- pre_request
main::settle_max();
--- request
GET /result
--- response_body
batches: 1
files: 26
