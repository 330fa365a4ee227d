# The per-user index <ns>sessidx:<userId> holds what is true. A pass of
# the daemon takes a session out of the index of the user it belonged to
# before (its first-seen record, "<ms> <userId>", says which), and the
# cleanup takes a session that is gone out of its index with its record.
# revoke-user deletes a session only if its user.id is still the user's.
# Before, an index only grew (until its TTL), and revoke-user trusted it:
# "revoke-user u7" deleted a session that had moved to u9.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file cli);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't363:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't363');

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

our %Sid = map { $_ => $_ . 'x' x (32 - length $_) } qw(moves stays goes);

sub main::set {
    my ($name, $uid) = @_;
    JPulseTest::redis_command($main::Redis, 'SET',
        "${main::NS}sess:$main::Sid{$name}",
        '{"cookie":{"originalMaxAge":3600000,"path":"/"},'
        . qq("user":{"id":"$uid","username":"u","isAuthenticated":true}}),
        'EX', 3600);
}

sub main::members {
    my ($uid) = @_;
    return join(' ', sort split /\n/, JPulseTest::redis_cli($main::Redis,
                    'SMEMBERS', "${main::NS}sessidx:$uid")) =~ s/x{4,}//gr;
}

main::set($_, 'u7') for qw(moves stays goes);

# a pass every second
our $Daemon = daemon_start(redis => $Redis, site_id => 't363',
                           views => ["$Dir/views"],
                           args => ['--session-pass-interval', 1]);
our $Result;

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a session that moved to u9 leaves u7's index for u9's, one
that is gone leaves it too; the first-seen record names the user
--- pre_request
CachectlTest::poll_until(10, sub { main::members('u7') eq 'goes moves stays' });
my $before = main::members('u7');
main::set('moves', 'u9');
JPulseTest::redis_command($main::Redis, 'DEL', "${main::NS}sess:$main::Sid{goes}");
CachectlTest::poll_until(15, sub {
    main::members('u7') eq 'stays' && main::members('u9') eq 'moves' });
$main::Result = "u7 before: $before\n"
    . "u7 after: " . main::members('u7') . "\n"
    . "u9 after: " . main::members('u9') . "\n"
    . "record of moves: " . (JPulseTest::redis_cli($main::Redis, 'HGET',
          "${main::NS}cachectl:sessfirst", $main::Sid{moves}) =~ s/^\d{13} /<ms> /r)
    . "record of goes: " . JPulseTest::redis_cli($main::Redis, 'HEXISTS',
          "${main::NS}cachectl:sessfirst", $main::Sid{goes});
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
u7 before: goes moves stays
u7 after: stays
u9 after: moves
record of moves: <ms> u9
record of goes: 0



=== TEST 2: an index that still names a session now of another user (as
one made before that fix, or between two passes): revoke-user u7 keeps
that session, says so, and revokes only u7's
--- pre_request
my $stop = CachectlTest::daemon_stop($main::Daemon);
JPulseTest::redis_command($main::Redis, 'SADD', "${main::NS}sessidx:u7",
                          $main::Sid{moves});
my $index = main::members('u7');
$main::Result = "daemon stopped: $stop\n"
    . "u7's index: $index\n"
    . "revoke-user u7: " . cli(@main::Cli, 'sessions', 'revoke-user', 'u7')
    . "moves (u9's): " . JPulseTest::redis_cli($main::Redis, 'EXISTS',
                              "${main::NS}sess:$main::Sid{moves}")
    . "stays (u7's): " . JPulseTest::redis_cli($main::Redis, 'EXISTS',
                              "${main::NS}sess:$main::Sid{stays}")
    . "u7's index: " . JPulseTest::redis_cli($main::Redis, 'EXISTS',
                              "${main::NS}sessidx:u7");
$main::Result =~ s/x{4,}//g;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
daemon stopped: exit 0
u7's index: moves stays
revoke-user u7: exit 0
kept moves: it belongs to user u9 now
revoked 1 session of user u7
moves (u9's): 1
stays (u7's): 0
u7's index: 0
