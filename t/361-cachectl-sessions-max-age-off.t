# --session-max-age 0 turns the absolute lifetime off, as --rescan 0 turns
# the rescans off. Before, 0 was a lifetime of 0 s: every session was
# deleted at the daemon's first pass.
#
# With 0, the daemon still gives a session without a TTL one (the cookie's
# expiry, else --session-default-ttl), never shortens a TTL, deletes no
# session however old, and the per-user index gets a TTL of its own (a
# day: what jPulse's store gives a session) instead of EXPIRE 0.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file);
use POSIX ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't361:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't361');

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

sub main::session {
    my ($uid, $expires) = @_;
    my $cookie = '{"originalMaxAge":3600000,"httpOnly":true,"path":"/"'
        . (defined $expires ? ',"expires":"' . POSIX::strftime(
               '%Y-%m-%dT%H:%M:%S.000Z', gmtime $expires) . '"' : '') . '}';
    return qq({"cookie":$cookie,"user":{"id":"$uid","username":"u",)
        . qq("isAuthenticated":true}});
}

our %Sid = map { $_ => $_ . 'x' x (32 - length $_) }
           qw(fresh-u1 old-u1 longttl-u2 noexp-u2);
my $now = time;
JPulseTest::redis_command($Redis, 'SET', "${NS}sess:$Sid{'fresh-u1'}",
                          main::session('u1', $now + 1800));
JPulseTest::redis_command($Redis, 'SET', "${NS}sess:$Sid{'old-u1'}",
                          main::session('u1', $now + 600));
JPulseTest::redis_command($Redis, 'SET', "${NS}sess:$Sid{'longttl-u2'}",
                          main::session('u2', $now + 1800), 'EX', 200000);
JPulseTest::redis_command($Redis, 'SET', "${NS}sess:$Sid{'noexp-u2'}",
                          main::session('u2'));
# first seen two days ago: older than any limit
JPulseTest::redis_command($Redis, 'HSET', "${NS}cachectl:sessfirst",
                          $Sid{'old-u1'}, ($now - 2 * 86400) * 1000);

our $Daemon = daemon_start(redis => $Redis, site_id => 't361',
                           views => ["$Dir/views"],
                           args => ['--heartbeat', 1,
                                    '--session-max-age', 0,
                                    '--session-pass-interval', 1]);
our $Result;

sub main::ttl {
    my ($key) = @_;
    return JPulseTest::redis_cli($main::Redis, 'TTL', $key) =~ s/\s+//gr;
}

sub main::within {
    my ($got, $lo, $hi) = @_;
    return $got >= $lo && $got <= $hi ? 'ok' : "$got (want $lo..$hi)";
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: after a few passes every session is still there, with the
TTL it should have; the indexes have a day
--- pre_request
my $passes = 0;
# a pass a second: three of them have seen every session
CachectlTest::poll_until(20, sub {
    my $j = CachectlTest::json_decode((CachectlTest::cachectl(@main::Cli,
                                           'status', '--json'))[1]);
    $passes = $j->{daemons}[0]{stats}{sessions}{passes} // 0;
    $passes >= 3
    || (main::ttl("${main::NS}sess:$main::Sid{'noexp-u2'}") > 0
        && JPulseTest::redis_cli($main::Redis, 'EXISTS',
               "${main::NS}sess:$main::Sid{'old-u1'}") =~ /^0/) });
my %s = %main::Sid;
my $ns = $main::NS;
$main::Result = "sessions: " . (CachectlTest::cachectl(@main::Cli,
                                    'sessions', 'count'))[1]
    . "passes >= 3: " . ($passes >= 3 ? 'yes' : "no ($passes)") . "\n"
    . "cookie in 30 min: " . main::within(main::ttl("${ns}sess:$s{'fresh-u1'}"), 1700, 1800) . "\n"
    . "first seen 2 days ago: " . main::within(main::ttl("${ns}sess:$s{'old-u1'}"), 500, 600) . "\n"
    . "TTL of 200000 kept: " . main::within(main::ttl("${ns}sess:$s{'longttl-u2'}"), 199000, 200000) . "\n"
    . "no expiry: " . main::within(main::ttl("${ns}sess:$s{'noexp-u2'}"), 3500, 3600) . "\n"
    . "index u1: " . main::within(main::ttl("${ns}sessidx:u1"), 86000, 86400) . "\n"
    . "index u2: " . main::within(main::ttl("${ns}sessidx:u2"), 86000, 86400) . "\n"
    . "removed: " . CachectlTest::daemon_count($main::Daemon, qr/removed/) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
sessions: 4
passes >= 3: yes
cookie in 30 min: ok
first seen 2 days ago: ok
TTL of 200000 kept: ok
no expiry: ok
index u1: ok
index u2: ok
removed: 0
