# A revoked session stays revoked. "sessions revoke" and "revoke-user"
# write a tombstone (<ns>cachectl:revoked: a sorted set, sid -> when the
# tombstone expires, ms on Redis's clock; the set expires with its last
# member) in the script that deletes the session; the daemon checks the
# tombstones every second and deletes a revoked session that came back,
# as it does when an in-flight request of jPulse ends with its SET.
# Before, the revoke also forgot when the session was first seen, so the
# SET recreated it with a fresh lifetime.
#
# The daemon passes only every 60 s here (the default): the deletion
# comes from the tombstone check, not from a pass.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file cli);
use POSIX ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't362:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't362');

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

sub main::session {
    my ($uid) = @_;
    return '{"cookie":{"originalMaxAge":3600000,"expires":"'
        . POSIX::strftime('%Y-%m-%dT%H:%M:%S.000Z', gmtime(time + 3600))
        . '","httpOnly":true,"path":"/"},'
        . qq("user":{"id":"$uid","username":"u","isAuthenticated":true}});
}

our %Sid = map { $_ => $_ . 'x' x (32 - length $_) }
           qw(one-u1 two-u1 a-u2 b-u2 new-u2);

# jPulse's SET of a session (at login, or at the end of a request)
sub main::set {
    my ($name) = @_;
    my ($uid) = $name =~ /-(u\d+)$/;
    JPulseTest::redis_command($main::Redis, 'SET',
        "${main::NS}sess:$main::Sid{$name}", main::session($uid), 'EX', 3600);
}

sub main::exists {
    my ($name) = @_;
    return JPulseTest::redis_cli($main::Redis, 'EXISTS',
                                 "${main::NS}sess:$main::Sid{$name}") =~ s/\s+//gr;
}

# ms until the tombstone of $name expires, on Redis's clock
sub main::tombstone {
    my ($name) = @_;
    my ($s, $us) = split /\n/, JPulseTest::redis_cli($main::Redis, 'TIME');
    my $score = JPulseTest::redis_cli($main::Redis, 'ZSCORE',
                    "${main::NS}cachectl:revoked", $main::Sid{$name}) =~ s/\s+//gr;
    return $score eq '' ? 'none' : $score - ($s * 1000 + int($us / 1000));
}

sub main::within {
    my ($got, $lo, $hi) = @_;
    return $got ne 'none' && $got >= $lo && $got <= $hi ? 'ok'
                                                        : "$got (want $lo..$hi)";
}

main::set($_) for qw(one-u1 two-u1 a-u2 b-u2);

our $Daemon = daemon_start(redis => $Redis, site_id => 't362',
                           views => ["$Dir/views"]);
our $Result;

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: revoke one session; the request in flight ends with its SET:
the daemon deletes the session again; the tombstone lasts the session's
longest life (--session-max-age, 24 h, and a pass interval, 60 s), so
does the set; the other session of the user stays
--- pre_request
# the first pass has indexed the sessions
CachectlTest::poll_until(10, sub {
    JPulseTest::redis_cli($main::Redis, 'SCARD', "${main::NS}sessidx:u1") =~ /^2/ });
my $revoke = cli(@main::Cli, 'sessions', 'revoke', $main::Sid{'one-u1'});
my $stone = main::tombstone('one-u1');
my $pttl = JPulseTest::redis_cli($main::Redis, 'PTTL',
                                 "${main::NS}cachectl:revoked") =~ s/\s+//gr;
main::set('one-u1');
my $back = main::exists('one-u1');
my $gone = CachectlTest::poll_until(10, sub { main::exists('one-u1') eq '0' });
$main::Result = "revoke: $revoke"
    . "tombstone: " . main::within($stone, 86450000, 86460000) . "\n"
    . "set expires with it: " . main::within($pttl, 86450000, 86460000) . "\n"
    . "SET again: exists $back\n"
    . "deleted again: " . ($gone ? 'yes' : 'no') . "\n"
    . "log: " . (CachectlTest::daemon_wait_log($main::Daemon,
                     qr/revoked session one-u1xxxxxx\.\.\. came back: deleted again/, 3)
                 ? 'came back: deleted again' : 'nothing') . "\n"
    . "first-seen record: " . JPulseTest::redis_cli($main::Redis, 'HEXISTS',
                                  "${main::NS}cachectl:sessfirst", $main::Sid{'one-u1'})
    . "two-u1: " . main::exists('two-u1') . "\n";
$main::Result =~ s/x{4,}//g;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
revoke: exit 0
revoked 1 session
tombstone: ok
set expires with it: ok
SET again: exists 1
deleted again: yes
log: came back: deleted again
first-seen record: 0
two-u1: 1



=== TEST 2: revoke-user writes a tombstone for each session; both come
back and are deleted again; the user's new session (a new login, a new
sid) stays
--- pre_request
my $revoke = cli(@main::Cli, 'sessions', 'revoke-user', 'u2');
my $stones = join ' ', map { main::within(main::tombstone($_), 86450000, 86460000) }
                       qw(a-u2 b-u2);
main::set($_) for qw(a-u2 b-u2 new-u2);
my $gone = CachectlTest::poll_until(10, sub {
    main::exists('a-u2') eq '0' && main::exists('b-u2') eq '0' });
$main::Result = "revoke-user: $revoke"
    . "tombstones: $stones\n"
    . "deleted again: " . ($gone ? 'yes' : 'no') . "\n"
    . "new-u2: " . main::exists('new-u2') . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
revoke-user: exit 0
revoked 2 sessions of user u2
tombstones: ok ok
deleted again: yes
new-u2: 1



=== TEST 3: the tombstone's TTL follows the options the CLI is given (the
daemon's, in the same config file): --session-max-age 600 and
--session-pass-interval 10: 610 s; with --session-max-age 0 (no limit),
jPulse's own session TTL, a day (and the pass interval)
--- pre_request
main::set('two-u1');
my @a = (cli(@main::Cli, '--session-max-age', 600, '--session-pass-interval', 10,
             'sessions', 'revoke', $main::Sid{'two-u1'}),
         main::within(main::tombstone('two-u1'), 600000, 610000));
main::set('new-u2');
my @b = (cli(@main::Cli, '--session-max-age', 0, 'sessions', 'revoke',
             $main::Sid{'new-u2'}),
         main::within(main::tombstone('new-u2'), 86450000, 86460000));
$main::Result = "max-age 600: $a[0]tombstone: $a[1]\n"
    . "max-age 0: $b[0]tombstone: $b[1]\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
max-age 600: exit 0
revoked 1 session
tombstone: ok
max-age 0: exit 0
revoked 1 session
tombstone: ok
