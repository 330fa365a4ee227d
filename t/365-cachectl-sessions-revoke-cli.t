# "cachectl sessions revoke" and "revoke-user": --json prints JSON for
# both ({"revoked":N,"sessions":[sids],"kept":[{sid,userId}],"dryRun":b});
# --dry-run says what would be deleted and changes nothing (no session
# deleted, no tombstone written); a missing session and a user without
# sessions exit alike: 1, with a message on stderr (and the JSON on
# stdout with --json). Before, revoke --json printed text, --dry-run was
# ignored (it deleted), and revoke-user of an unknown user exited 0.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(cli);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't365:prod:';
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't365');

our %Sid = map { $_ => $_ . 'x' x (32 - length $_) } qw(r1-u1 r2-u1 r3-u2);

for my $name (keys %Sid) {
    my ($uid) = $name =~ /-(u\d)$/;
    JPulseTest::redis_command($Redis, 'SET', "${NS}sess:$Sid{$name}",
        '{"cookie":{"originalMaxAge":3600000,"path":"/"},'
        . qq("user":{"id":"$uid","username":"u","isAuthenticated":true}}),
        'EX', 3600);
}

our $Result;

sub main::state {
    return "sessions: " . join(' ', sort map { s/^.*sess://r =~ s/x{4,}//r }
                                    split /\n/, JPulseTest::redis_cli($main::Redis,
                                        '--scan', '--pattern', "${main::NS}sess:*"))
        . "; tombstones: " . (JPulseTest::redis_cli($main::Redis, 'ZCARD',
                                  "${main::NS}cachectl:revoked") =~ s/\s+//gr) . "\n";
}

sub main::sess {
    return cli(@main::Cli, 'sessions', @_) =~ s/x{4,}//gr;
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: --dry-run: what would go, nothing changes
--- pre_request
$main::Result = main::sess('revoke', $main::Sid{'r1-u1'}, '--dry-run')
    . main::sess('revoke-user', 'u1', '--dry-run')
    . main::sess('revoke-user', 'u1', '--dry-run', '--json')
    . main::sess('revoke', 'nope', '--dry-run')
    . main::state();
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 0
would revoke 1 session:
  r1-u1
exit 0
would revoke 2 sessions of user u1:
  r1-u1
  r2-u1
exit 0
{"revoked":0,"sessions":["r1-u1","r2-u1"],"kept":[],"dryRun":true}
exit 1
stderr: cachectl: no session "nope"
sessions: r1-u1 r2-u1 r3-u2; tombstones: 0



=== TEST 2: revoke --json; revoking it again, a missing session, a user
without sessions: exit 1 alike, JSON on stdout with --json
--- pre_request
$main::Result = main::sess('revoke', $main::Sid{'r1-u1'}, '--json')
    . main::sess('revoke', $main::Sid{'r1-u1'}, '--json')
    . main::sess('revoke', 'nope')
    . main::sess('revoke-user', 'nobody')
    . main::sess('revoke-user', 'nobody', '--json')
    . main::sess('revoke-user', 'u2', '--json')
    . main::state();
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 0
{"revoked":1,"sessions":["r1-u1"],"kept":[],"dryRun":false}
exit 1
{"revoked":0,"sessions":[],"kept":[],"dryRun":false}
stderr: cachectl: no session "r1-u1"
exit 1
stderr: cachectl: no session "nope"
exit 1
stderr: cachectl: no session of user "nobody"
exit 1
{"revoked":0,"sessions":[],"kept":[],"dryRun":false}
stderr: cachectl: no session of user "nobody"
exit 0
{"revoked":1,"sessions":["r3-u2"],"kept":[],"dryRun":false}
sessions: r2-u1; tombstones: 2



=== TEST 3: usage: --dry-run only where it means something; the usage
text names the options and the exit status
--- pre_request
$main::Result = main::sess('count', '--dry-run')
    . main::sess('--help');
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 2
stderr: cachectl sessions: --dry-run is for revoke, revoke-user and import-mongo
stderr: Usage: cachectl sessions count [--user USERID] [--json]
stderr:        cachectl sessions list [--user USERID] [--json]
stderr:        cachectl sessions show SID [--json]
stderr:        cachectl sessions revoke SID [--dry-run] [--json]
stderr:        cachectl sessions revoke-user USERID [--dry-run] [--json]
stderr:        cachectl sessions import-mongo URI|- [--collection NAME] [--dry-run]
stderr:                                     [--json]
stderr: revoke and revoke-user exit 1 when there is no such session or the user
stderr: has none. import-mongo exits 1 on a failure or a document it could not
stderr: import (named on stderr, left in MongoDB); run again, it changes nothing
stderr: already done.
exit 0
Usage: cachectl [OPTIONS] sessions count|list [--user U]|show SID|revoke SID|revoke-user USERID
           |import-mongo URI

jPulse's sessions in Redis: count or list them, show one, revoke
one, or revoke every session of a user; import-mongo moves
connect-mongo's sessions into Redis (MongoDB is only read).
  --user U      count, list: the user's (the daemon's index)
  --dry-run     revoke, revoke-user, import-mongo: say what would
                change, change nothing
  --collection C  import-mongo: connect-mongo's ("sessions"); the
                database is the URI's; URI "-": read from stdin
  --json        machine-readable output (revoke and revoke-user too)
revoke and revoke-user exit 1 when there is no such session or the
user has none; import-mongo when a document could not be imported
(as for any failure; 2: usage).
