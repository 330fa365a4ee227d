# cachectl when Redis refuses a batch (issue 11, item 1): an error reply is
# a data error, not a lost connection. With <ns>tplindex made a string
# (WRONGTYPE) or Redis out of memory (maxmemory: every write refused with
# OOM) the daemon used to drop the connection, reconnect at once (the
# backoff started over at every TCP connect) and re-read the tree: ~10
# reconnects/s forever. Now the batch stays dirty and is retried with a
# backoff (100 ms doubling to 5 s, started over only after a batch went
# through), the error is logged once and shown in the status record, the
# heartbeat (refused too under OOM) keeps the connection, and once Redis
# takes writes again the edit goes through. (Under OOM the status record
# cannot be written either: only the log says why.)
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't350:prod:';
our $Dir = CachectlTest::tmpdir();

$ENV{TEST_NGINX_T350_DIR} = $Dir;

write_file("$Dir/view/home/index.shtml", "<p>home</p>\n");

sub main::redis { JPulseTest::redis_cli($main::Redis, @_) =~ s/\s+\z//r }

# "few" while the reconnects (after $mark, over 3 s) stay below a wedge's
# ~30, else the count
sub main::reconnects {
    my ($d, $mark) = @_;
    Time::HiRes::sleep(3);
    my $n = CachectlTest::daemon_count($d, qr/connected to Redis/, $mark);
    return $n <= 8 ? 'few' : "$n in 3 s";
}

sub main::state {
    my ($d, $re) = @_;
    my $st = {};
    CachectlTest::poll_until(8, sub {
        $st = CachectlTest::daemon_status($main::Redis, $main::NS, $d);
        ($st->{error} // '') =~ $re });
    my $err = ($st->{error} // '(none)') =~ $re ? 'the refusal' : $st->{error};
    return "status: " . ($st->{state} // '(none)') . ", error: $err\n";
}

sub main::wrongtype {
    main::redis('DEL', "${main::NS}tplindex");
    main::redis('SET', "${main::NS}tplindex", 'not a hash');

    my $d = daemon_start(redis => $main::Redis, site_id => 't350',
                         views => ["$main::Dir/view"],
                         args => ['--rescan', 0, '--heartbeat', 1]);
    my $out = '';
    CachectlTest::daemon_wait_log($d, qr/publish: .*WRONGTYPE/, 5)
        or $out .= "no refusal logged\n";
    my $mark = CachectlTest::daemon_mark($d);
    $out .= "reconnects: " . main::reconnects($d, $mark) . "\n";
    $out .= "refusal logged: "
          . CachectlTest::daemon_count($d, qr/publish: .*WRONGTYPE/) . "\n";
    $out .= main::state($d, qr/WRONGTYPE/);

    # fixed: the next retry publishes, the edit with it
    write_file("$main::Dir/view/home/index.shtml", "<p>home v2</p>\n");
    main::redis('DEL', "${main::NS}tplindex");
    CachectlTest::poll_until(10, sub {
        main::redis('HGET', "${main::NS}tpl:home/index.shtml", 'source')
            =~ /v2/ });
    $out .= "after the fix: "
          . main::redis('HGET', "${main::NS}tpl:home/index.shtml", 'source')
          . "\n";
    CachectlTest::poll_until(5, sub {
        (CachectlTest::daemon_status($main::Redis, $main::NS, $d)->{state}
         // '') eq 'ok' });
    $out .= "status then: "
          . (CachectlTest::daemon_status($main::Redis, $main::NS, $d)->{state}
             // '(none)') . "\n";
    CachectlTest::daemon_stop($d);
    write_file("$main::Dir/result1.txt", $out);
}

sub main::oom {
    my $d = daemon_start(redis => $main::Redis, site_id => 't350',
                         views => ["$main::Dir/view"],
                         args => ['--rescan', 0, '--heartbeat', 1]);
    my $out = '';
    CachectlTest::daemon_wait_log($d, qr/connected to Redis/, 5);
    Time::HiRes::sleep(0.5);

    main::redis('CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
    main::redis('CONFIG', 'SET', 'maxmemory', 1);
    my $mark = CachectlTest::daemon_mark($d);
    write_file("$main::Dir/view/home/index.shtml", "<p>home v3</p>\n");
    CachectlTest::daemon_wait_log($d, qr/publish: .*(OOM|EXECABORT)/, 5,
                                  $mark)
        or $out .= "no refusal logged\n";
    my $mark2 = CachectlTest::daemon_mark($d);
    $out .= "reconnects: " . main::reconnects($d, $mark2) . "\n";
    $out .= "refusal logged: " . CachectlTest::daemon_count($d,
                qr/publish: .*(OOM|EXECABORT)/, $mark) . "\n";

    main::redis('CONFIG', 'SET', 'maxmemory', 0);
    CachectlTest::poll_until(10, sub {
        main::redis('HGET', "${main::NS}tpl:home/index.shtml", 'source')
            =~ /v3/ });
    $out .= "after the fix: "
          . main::redis('HGET', "${main::NS}tpl:home/index.shtml", 'source')
          . "\n";
    CachectlTest::daemon_stop($d);
    write_file("$main::Dir/result2.txt", $out);
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: <ns>tplindex of the wrong type: no reconnect loop, the
refusal logged once and in status; fixed, the edit goes through
--- config
    location = /result { alias $TEST_NGINX_T350_DIR/result1.txt; }
--- pre_request
main::wrongtype();
--- request
GET /result
--- response_body
reconnects: few
refusal logged: 1
status: error, error: the refusal
after the fix: <p>home v2</p>
status then: ok



=== TEST 2: Redis out of memory refuses the batch and the heartbeat: no
reconnect loop, the refusal logged once; memory back, the edit goes through
--- config
    location = /result { alias $TEST_NGINX_T350_DIR/result2.txt; }
--- pre_request
main::oom();
--- request
GET /result
--- response_body
reconnects: few
refusal logged: 1
after the fix: <p>home v3</p>
