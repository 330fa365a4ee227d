# cachectl's heartbeat EVAL refused by Redis (here WRONGTYPE: someone made
# <ns>metrics:registry a string; NOPERM from an ACL is alike) leaves the
# daemon out of the cluster's metrics: it says so once, not at every
# beat, and once more when Redis takes the heartbeat again.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't447:prod:';
our $Dir = CachectlTest::tmpdir();
CachectlTest::write_file("$Dir/view/home/index.shtml", "<p>home</p>\n");

$ENV{TEST_NGINX_T447_DIR} = $Dir;

# waits for $n heartbeats: the status key, written after the heartbeat
# EVAL at every beat, is deleted and comes back each time
sub main::beats {
    my ($n) = @_;
    for (1 .. $n) {
        my ($key) = grep { length } split /\n/, JPulseTest::redis_cli(
            $main::Redis, 'KEYS', "${main::NS}cachectl:status:*");
        JPulseTest::redis_cli($main::Redis, 'DEL', $key) if $key;
        JPulseTest::poll_until(10, sub {
            JPulseTest::redis_cli($main::Redis, 'KEYS',
                                  "${main::NS}cachectl:status:*") =~ /\S/
        }) or return "no heartbeat\n";
    }
    return '';
}

sub main::refused_beats {
    JPulseTest::redis_cli($main::Redis, 'SET',
                          "${main::NS}metrics:registry", 'not a zset');
    my $d = daemon_start(redis => $main::Redis, site_id => 't447',
                         views => ["$main::Dir/view"],
                         args => ['--rescan', 0, '--heartbeat', 1]);
    my $out = main::beats(4);
    JPulseTest::redis_cli($main::Redis, 'DEL', "${main::NS}metrics:registry");
    $out .= main::beats(3);
    my $registered = JPulseTest::redis_cli($main::Redis, 'ZCARD',
                                           "${main::NS}metrics:registry");
    chomp $registered;
    CachectlTest::daemon_stop($d);

    $out .= "refused: "
        . CachectlTest::daemon_count($d, qr/heartbeat: refused by Redis: WRONGTYPE/)
        . "\naccepted again: "
        . CachectlTest::daemon_count($d, qr/heartbeat: accepted again/)
        . "\nregistered: $registered\n";
    CachectlTest::write_file("$main::Dir/result.txt", $out);
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a refused heartbeat is logged once, and its end once
--- config
    location = /result { alias $TEST_NGINX_T447_DIR/result.txt; }
--- pre_request
main::refused_beats();
--- request
GET /result
--- response_body
refused: 1
accepted again: 1
registered: 1
