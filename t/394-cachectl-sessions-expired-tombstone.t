# A session that reached --session-max-age by its own TTL stays gone. A
# pass cuts the TTL of a session to what is left of its lifetime, so an
# untouched session runs out in Redis at the limit; the pass's cleanup
# then drops its first-seen record. A request in flight that saves it
# after that (a slow upload that ends by modifying the session) made it a
# new session to the daemon, with a whole new lifetime. The cleanup now
# leaves a tombstone for a record past the age limit, as the walk does
# when it removes the session itself (t/391).
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file);
use POSIX ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't394:prod:';
our $Dir = CachectlTest::tmpdir();
our $Sid = 'expire-u9' . 'x' x 23;

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

sub main::set {
    JPulseTest::redis_command($main::Redis, 'SET', "${main::NS}sess:$main::Sid",
        '{"cookie":{"originalMaxAge":3600000,"expires":"'
        . POSIX::strftime('%Y-%m-%dT%H:%M:%S.000Z', gmtime(time + 3600))
        . '","path":"/"},"user":{"id":"u9","username":"eve",'
        . '"isAuthenticated":true}}', 'EX', 3600);
}

sub main::exists {
    return JPulseTest::redis_cli($main::Redis, 'EXISTS',
                                 "${main::NS}sess:$main::Sid") =~ s/\s+//gr;
}

our $Daemon;
our $Result;

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: never touched: the TTL cut to the limit runs out, the cleanup
drops the record and leaves a tombstone; saved again by a request in
flight, the session is deleted as a revoked one that came back
--- pre_request
# the clock starts here, not before nginx's start (slow on a loaded machine)
main::set();
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't394',
                             views => ["$main::Dir/views"],
                             args => ['--session-max-age', 3,
                                      '--session-pass-interval', 1]);
my $dropped = CachectlTest::poll_until(15, sub {
    main::exists() eq '0'
    && JPulseTest::redis_cli($main::Redis, 'HEXISTS', "${main::NS}cachectl:sessfirst",
                             $main::Sid) =~ /^0/ });
my $stone = JPulseTest::redis_cli($main::Redis, 'ZSCORE',
                "${main::NS}cachectl:revoked", $main::Sid) =~ s/\s+//gr;
main::set();
my $gone = CachectlTest::poll_until(15, sub { main::exists() eq '0' });
my $log = CachectlTest::daemon_log($main::Daemon);
$main::Result = "expired, record dropped: " . ($dropped ? 'yes' : 'no') . "\n"
    . "tombstone: " . ($stone =~ /^\d+$/ ? 'yes' : 'none') . "\n"
    . "saved again, deleted again: " . ($gone ? 'yes' : 'no') . "\n"
    . "came back: " . (() = $log =~ /revoked session expire-u9x+\.\.\. came back/g) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
expired, record dropped: yes
tombstone: yes
saved again, deleted again: yes
came back: 1



=== TEST 2: the record of a session dead for longer than a tombstone lasts
(a daemon stopped for days, a million records left) is dropped without
one: the cleanup writes no flood of tombstones
--- pre_request
my ($s) = split /\n/, JPulseTest::redis_cli($main::Redis, 'TIME');
my $old = 'old-u9' . 'x' x 26;
JPulseTest::redis_command($main::Redis, 'HSET', "${main::NS}cachectl:sessfirst",
                          $old, ($s - 3 * 86400) * 1000 . ' u9');
my $dropped = CachectlTest::poll_until(15, sub {
    JPulseTest::redis_cli($main::Redis, 'HEXISTS', "${main::NS}cachectl:sessfirst",
                          $old) =~ /^0/ });
$main::Result = "record dropped: " . ($dropped ? 'yes' : 'no') . "\n"
    . "tombstone: " . (JPulseTest::redis_cli($main::Redis, 'ZSCORE',
                           "${main::NS}cachectl:revoked", $old) =~ /^\d/
                       ? 'yes' : 'none') . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
record dropped: yes
tombstone: none
