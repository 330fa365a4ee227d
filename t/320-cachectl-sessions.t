# The cachectl daemon's session upkeep and the `cachectl sessions`
# commands, on jPulse's sessions as connect-redis stores them:
# <ns>sess:<sid> = {"cookie":{"originalMaxAge","expires","httpOnly",
# "path"},"user":{"id","username","isAuthenticated",...}}.
#
#  - a session without a TTL gets one: the time left to cookie.expires, or
#    --session-default-ttl when that has passed or is missing; a TTL that
#    would outlive --session-max-age is shortened to it;
#  - a session older than --session-max-age (from when cachectl first saw
#    it, <ns>cachectl:sessfirst) is deleted: pre-seeded as seen two days
#    ago, and one kept alive by its application past a 2 s limit;
#  - sessions with a user id are indexed in <ns>sessidx:<userId>;
#    revoke-user removes every session of the user, indexed or not.
#
# The runner's nginx only carries the requests; everything is in Redis.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start cli);
use POSIX ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't320:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't320');

mkdir "$Dir/views";

sub main::iso {
    my ($t) = @_;
    return POSIX::strftime('%Y-%m-%dT%H:%M:%S.000Z', gmtime $t);
}

# a connect-redis session of jPulse; expires => undef: no expiry field
sub main::session {
    my (%o) = @_;
    my %cookie = (originalMaxAge => 3600000, httpOnly => JSON::PP::true,
                  path => '/');
    $cookie{expires} = main::iso($o{expires}) if defined $o{expires};
    my %s = (cookie => \%cookie);
    $s{user} = { id => $o{uid}, username => $o{name},
                 firstName => ucfirst $o{name}, email => "$o{name}\@example.com",
                 roles => ['user'], isAuthenticated => JSON::PP::true }
        if $o{uid};
    return JSON::PP->new->canonical->encode(\%s);
}

# 32-character sids, as connect-redis makes them
our %Sid = map { $_ => sprintf '%-32s', $_ =~ tr/ /x/r } qw(
    future-u1 second-u1 old-u1 past-u2 noexp-u2 hasttl-u3 longttl-u3 anon);
$Sid{$_} =~ tr/ /x/ for keys %Sid;

my $now = time;
my @seed = (
    [$Sid{'future-u1'},  main::session(uid => 'u1', name => 'ann',
                                       expires => $now + 1800)],
    [$Sid{'second-u1'},  main::session(uid => 'u1', name => 'ann',
                                       expires => $now + 900)],
    [$Sid{'old-u1'},     main::session(uid => 'u1', name => 'ann',
                                       expires => $now + 1800)],
    [$Sid{'past-u2'},    main::session(uid => 'u2', name => 'bob',
                                       expires => $now - 3600)],
    [$Sid{'noexp-u2'},   main::session(uid => 'u2', name => 'bob')],
    [$Sid{'hasttl-u3'},  main::session(uid => 'u3', name => 'cyd',
                                       expires => $now + 1800), 'EX', 500],
    [$Sid{'longttl-u3'}, main::session(uid => 'u3', name => 'cyd',
                                       expires => $now + 1800), 'EX', 200000],
    [$Sid{'anon'},       main::session(expires => $now + 600)],
);
JPulseTest::redis_command($Redis, 'SET', "${NS}sess:$_->[0]", $_->[1],
                          @$_[2 .. $#$_]) for @seed;
# first seen two days ago: past the default limit of 24 h
JPulseTest::redis_command($Redis, 'HSET', "${NS}cachectl:sessfirst",
                          $Sid{'old-u1'}, ($now - 2 * 86400) * 1000);

our $Daemon = daemon_start(redis => $Redis, site_id => 't320',
                           views => ["$Dir/views"],
                           args => ['--heartbeat', 1,
                                    '--session-default-ttl', 777]);
our ($Result, $Second);

sub main::ttl {
    my ($sid, $ns) = @_;
    return JPulseTest::redis_cli($main::Redis, 'TTL',
                                 ($ns // $main::NS) . "sess:$sid") =~ s/\s+//r;
}

# a first-seen record $ago_ms before Redis's clock, as a daemon that ran
# before left it
sub main::first_seen {
    my ($sid, $ns, $ago_ms) = @_;
    my ($s, $us) = split /\n/, JPulseTest::redis_cli($main::Redis, 'TIME');
    JPulseTest::redis_command($main::Redis, 'HSET', "${ns}cachectl:sessfirst",
                              $sid, int($s * 1000 + $us / 1000 - $ago_ms) . ' u9');
}

# "ok" when $got is within [$lo, $hi], else the value
sub main::within {
    my ($got, $lo, $hi) = @_;
    return $got >= $lo && $got <= $hi ? 'ok' : "$got (want $lo..$hi)";
}

sub main::members {
    my ($key) = @_;
    return join(' ', sort split /\n/,
                JPulseTest::redis_cli($main::Redis, 'SMEMBERS', $key)) =~ s/x{4,}//gr;
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

our $Config = <<'CONF';
    location = /ping { return 200 "pong\n"; }
CONF

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('config', $Config) unless defined $block->config;
});

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the daemon's first pass: TTLs from cookie.expires, else the
default TTL; an existing TTL kept, one past the limit shortened; the
session first seen two days ago removed; users indexed
--- pre_request
CachectlTest::poll_until(5, sub {
    main::ttl($main::Sid{'noexp-u2'}) > 0
    && JPulseTest::redis_cli($main::Redis, 'EXISTS',
           "${main::NS}sess:$main::Sid{'old-u1'}") =~ /^0/ });
my %s = %main::Sid;
my @first = sort map { s/x{4,}//r } split /\n/, JPulseTest::redis_cli(
    $main::Redis, 'HKEYS', "${main::NS}cachectl:sessfirst");
$main::Result = "expires in 30 min: " . main::within(main::ttl($s{'future-u1'}), 1790, 1800) . "\n"
    . "expires in 15 min: " . main::within(main::ttl($s{'second-u1'}), 890, 900) . "\n"
    . "anonymous, in 10 min: " . main::within(main::ttl($s{anon}), 590, 600) . "\n"
    . "expired cookie: " . main::ttl($s{'past-u2'}) . "\n"
    . "no expires: " . main::ttl($s{'noexp-u2'}) . "\n"
    . "had a TTL of 500: " . main::within(main::ttl($s{'hasttl-u3'}), 490, 500) . "\n"
    . "had a TTL of 200000: " . main::within(main::ttl($s{'longttl-u3'}), 86390, 86400) . "\n"
    . "first seen 2 days ago: " . main::ttl($s{'old-u1'}) . "\n"
    . "first-seen records: @first\n"
    . "index u1: " . main::members("${main::NS}sessidx:u1") . ", ttl "
    . main::within(JPulseTest::redis_cli($main::Redis, 'TTL',
                       "${main::NS}sessidx:u1") =~ s/\s+//r, 86390, 86400) . "\n"
    . "index u2: " . main::members("${main::NS}sessidx:u2") . "\n"
    . "index u3: " . main::members("${main::NS}sessidx:u3") . "\n"
    . "log: " . join('', map { s/^.*?: //r . "\n" } grep { /session/ }
                     split /\n/, CachectlTest::daemon_log($main::Daemon));
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
expires in 30 min: ok
expires in 15 min: ok
anonymous, in 10 min: ok
expired cookie: 777
no expires: 777
had a TTL of 500: ok
had a TTL of 200000: ok
first seen 2 days ago: -2
first-seen records: anon future-u1 hasttl-u3 longttl-u3 noexp-u2 past-u2 second-u1
index u1: future-u1 second-u1, ttl ok
index u2: noexp-u2 past-u2
index u3: hasttl-u3 longttl-u3
log: session old-u1xxxxxx... of user u1 removed: older than 86400s



=== TEST 2: status counts them (--json: daemons[].stats.sessions)
--- pre_request
my $j;
CachectlTest::poll_until(3, sub {
    $j = CachectlTest::json_decode((CachectlTest::cachectl(@main::Cli,
                                        'status', '--json'))[1]);
    $j && ($j->{daemons}[0]{stats}{sessions}{passes} // 0) >= 2 });
my $s = $j->{daemons}[0]{stats}{sessions} // {};
my (undef, $text) = CachectlTest::cachectl(@main::Cli, 'status');
$main::Result = "json: live=$s->{live} ttlSet=$s->{ttlSet} expired=$s->{expired}\n"
    . join '', grep { /^Sessions/ } split /^/,
                    $text =~ s/\d+ indexed/N indexed/r;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
json: live=7 ttlSet=5 expired=1
Sessions   7 live, 5 given a TTL, 1 removed at the age limit, N indexed



=== TEST 3: sessions count, list (--user, --json) and show; a missing
session: exit 1
--- pre_request
my $list = CachectlTest::json_decode((CachectlTest::cachectl(@main::Cli,
                                          'sessions', 'list', '--json'))[1]);
my (undef, $table) = CachectlTest::cachectl(@main::Cli, 'sessions', 'list');
my ($code, $show) = CachectlTest::cachectl(@main::Cli, 'sessions', 'show',
                                           $main::Sid{'future-u1'});
my $shown = CachectlTest::json_decode($show) // {};
my @rows = split /\n/, $table;
$main::Result = "count: " . cli(@main::Cli, 'sessions', 'count')
    . "count --json: " . cli(@main::Cli, 'sessions', 'count', '--json')
    . "count --user u1: " . cli(@main::Cli, 'sessions', 'count', '--user', 'u1')
    . "list --json:\n" . join('', map {
        sprintf "  %s %s %s %s %s\n", $_->{sid} =~ s/x{4,}//r,
            $_->{userId} // '-', $_->{username} // '-',
            $_->{authenticated} ? 'auth' : 'anon',
            $_->{ttl} > 0 ? 'ttl' : "ttl=$_->{ttl}" }
        sort { $a->{sid} cmp $b->{sid} } @{ $list // [] })
    . "list: " . @rows . " lines, header: "
    . ($rows[0] =~ s/\s+/ /gr) . "\n"
    . "list --user u2: " . join(' ', sort map { /^(\S+)/ ? $1 =~ s/x{4,}//r : () }
        grep { !/^SID/ } split /\n/, (CachectlTest::cachectl(@main::Cli,
            'sessions', 'list', '--user', 'u2'))[1]) . "\n"
    . "show: exit $code, sid=" . ($shown->{sid} // '') =~ s/x{4,}//r
    . " ttl=" . main::within($shown->{ttl} // 0, 1780, 1800)
    . " user=$shown->{session}{user}{username}"
    . " expires=" . ($shown->{session}{cookie}{expires} =~ /^\d{4}-.*Z$/ ? 'iso' : 'bad') . "\n"
    . "show missing: " . cli(@main::Cli, 'sessions', 'show', 'nope');
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
count: exit 0
7
count --json: exit 0
{"sessions":7}
count --user u1: exit 0
2
list --json:
  anon - - anon ttl
  future-u1 u1 ann auth ttl
  hasttl-u3 u3 cyd auth ttl
  longttl-u3 u3 cyd auth ttl
  noexp-u2 u2 bob auth ttl
  past-u2 u2 bob auth ttl
  second-u1 u1 ann auth ttl
list: 8 lines, header: SID USER USERNAME TTL EXPIRES
list --user u2: noexp-u2 past-u2
show: exit 0, sid=future-u1 ttl=ok user=ann expires=iso
show missing: exit 1
stderr: cachectl: no session "nope"



=== TEST 4: revoke one session (its first-seen record goes with it);
revoking it again: exit 1; revoke-user removes every session of the user,
one the index does not have too (made while no daemon ran), and its
index, and leaves the others; a user without sessions: exit 1, as for a
missing session; wrong usage: exit 2
--- pre_request
my %s = %main::Sid;
my $r = $main::Redis;
$main::Result = "revoke: " . cli(@main::Cli, 'sessions', 'revoke', $s{anon})
    . "exists: " . JPulseTest::redis_cli($r, 'EXISTS', "${main::NS}sess:$s{anon}")
    . "first-seen: " . JPulseTest::redis_cli($r, 'HEXISTS',
                           "${main::NS}cachectl:sessfirst", $s{anon})
    . "again: " . cli(@main::Cli, 'sessions', 'revoke', $s{anon});
$main::Result =~ s/x{4,}//g;
$main::Result .= "daemon stopped: " . CachectlTest::daemon_stop($main::Daemon) . "\n";
my $third = sprintf '%-32s', 'third-u1';
$third =~ tr/ /x/;
JPulseTest::redis_command($r, 'SET', "${main::NS}sess:$third",
    main::session(uid => 'u1', name => 'ann', expires => time + 600));
$main::Result .= "index u1 before: " . main::members("${main::NS}sessidx:u1") . "\n"
    . "revoke-user u1: " . cli(@main::Cli, 'sessions', 'revoke-user', 'u1')
    . "u1 left: " . cli(@main::Cli, 'sessions', 'count', '--user', 'u1')
    . "index u1: " . JPulseTest::redis_cli($r, 'EXISTS', "${main::NS}sessidx:u1")
    . "all left: " . cli(@main::Cli, 'sessions', 'count')
    . "u2 left: " . cli(@main::Cli, 'sessions', 'count', '--user', 'u2')
    . "revoke-user nobody: " . cli(@main::Cli, 'sessions', 'revoke-user', 'nobody')
    . "--json: " . cli(@main::Cli, 'sessions', 'revoke-user', 'nobody', '--json')
    . "no command: " . (cli(@main::Cli, 'sessions') =~ /^exit (\d+)\nstderr: (.*)/ ? "$1 $2" : '?') . "\n"
    . "show without sid: " . (cli(@main::Cli, 'sessions', 'show') =~ /^exit (\d+)\nstderr: (.*)/ ? "$1 $2" : '?') . "\n"
    . "unknown: " . (cli(@main::Cli, 'sessions', 'bogus') =~ /^exit (\d+)\nstderr: (.*)/ ? "$1 $2" : '?') . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
revoke: exit 0
revoked 1 session
exists: 0
first-seen: 0
again: exit 1
stderr: cachectl: no session "anon"
daemon stopped: exit 0
index u1 before: future-u1 second-u1
revoke-user u1: exit 0
revoked 3 sessions of user u1
u1 left: exit 0
0
index u1: 0
all left: exit 0
4
u2 left: exit 0
2
revoke-user nobody: exit 1
stderr: cachectl: no session of user "nobody"
--json: exit 1
{"revoked":0,"sessions":[],"kept":[],"dryRun":false}
stderr: cachectl: no session of user "nobody"
no command: 2 cachectl sessions: missing a command
show without sid: 2 cachectl sessions: wrong number of arguments
unknown: 2 cachectl sessions: unknown command



=== TEST 5: revoke-user with many sessions of two users in one SCAN batch
(none indexed): all of the user's sessions go, and only those
--- pre_request
my $r = $main::Redis;
for my $i (1 .. 10) {
    for my $u (qw(u4 u5)) {
        JPulseTest::redis_command($r, 'SET', "${main::NS}sess:$u-session-$i",
            main::session(uid => $u, name => "user$u", expires => time + 600));
    }
}
$main::Result = "revoke-user u4: " . cli(@main::Cli, 'sessions', 'revoke-user', 'u4')
    . join '', map { "$_ left: " . (CachectlTest::cachectl(@main::Cli,
                         'sessions', 'count', '--user', $_))[1] } qw(u4 u5 u2 u3);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
revoke-user u4: exit 0
revoked 10 sessions of user u4
u4 left: 0
u5 left: 10
u2 left: 2
u3 left: 2



=== TEST 6: --session-max-age 2: a session its application keeps
touching (EXPIRE every 0.1 s) is removed by the daemon 2 s after it first
saw it (a pass every second: --session-pass-interval 1); a new session's
cookie TTL is cut to the limit
--- pre_request
my $ns = 't320b:prod:';
my ($alive, $fresh) = ('keptalive-u9' . 'x' x 20, 'fresh-u9' . 'x' x 24);
JPulseTest::redis_command($main::Redis, 'SET', "${ns}sess:$alive",
    main::session(uid => 'u9', name => 'eve', expires => time + 3600), 'EX', 100);
JPulseTest::redis_command($main::Redis, 'SET', "${ns}sess:$fresh",
    main::session(uid => 'u9', name => 'eve', expires => time + 3600));
# first seen half a pass before a whole second, as by a daemon that ran
# before: the passes come 0.5 s away from the limit, not a few ms before
# it (the walk reaches a session a few ms later or sooner in each pass: a
# pass just before the limit cuts the TTL to those ms, and the session
# runs out instead of being removed)
main::first_seen($alive, $ns, 500);
$main::Second = daemon_start(redis => $main::Redis, site_id => 't320b',
                             views => ["$main::Dir/views"],
                             args => ['--session-max-age', 2,
                                      '--session-pass-interval', 1]);
my $t0 = Time::HiRes::time();
CachectlTest::poll_until(2, sub { main::ttl($fresh, $ns) != -1 });
my $fresh_ttl = main::ttl($fresh, $ns);
my ($first) = JPulseTest::redis_cli($main::Redis, 'HGET',
                                    "${ns}cachectl:sessfirst", $alive) =~ /^(\d+)/;
$first /= 1000;
my $gone;
while (Time::HiRes::time() < $t0 + 8) {
    # connect-redis's touch: every request resets the TTL
    # (over a socket: a redis-cli forked on a loaded machine can stall
    # past the TTL the daemon cut, and the key runs out instead)
    last unless JPulseTest::redis_command($main::Redis, 'EXPIRE',
                                          "${ns}sess:$alive", 100) =~ /^:1/;
    Time::HiRes::sleep(0.1);
}
$gone = Time::HiRes::time();
my $age = $gone - $first;
$main::Result = "new session's TTL: " . main::within($fresh_ttl, 0, 2) . "\n"
    . "kept alive, removed after: " . ($age >= 1.9 && $age < 5 ? '2 s'
                                       : sprintf '%.2f s', $age) . "\n"
    . "exists: " . JPulseTest::redis_cli($main::Redis, 'EXISTS', "${ns}sess:$alive")
    # the fresh session may expire in Redis or be removed by the daemon,
    # whichever comes first at the same limit: only the kept-alive one counts
    . "log: " . join('', map { s/^.*?: //r . "\n" } grep { /session keptalive/ }
                     split /\n/, CachectlTest::daemon_log($main::Second))
    . "stop: " . CachectlTest::daemon_stop($main::Second) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
new session's TTL: ok
kept alive, removed after: 2 s
exists: 0
log: session keptalive-u9... of user u9 removed: older than 2s
stop: exit 0



=== TEST 7: sessions that end together (one DEL of ten, as when their
TTLs run out at once): their first-seen records go at the next pass (no
pause between passes: --session-pass-interval 0), and those of the live
sessions stay as they were (their age keeps counting)
--- pre_request
my $ns = 't320c:prod:';
my $r = $main::Redis;
JPulseTest::redis_command($r, 'SET', sprintf("${ns}sess:s%02d", $_),
    main::session(uid => 'u7', name => 'gil', expires => time + 3600))
    for 1 .. 20;
my $d = daemon_start(redis => $r, site_id => 't320c',
                     views => ["$main::Dir/views"],
                     args => ['--session-pass-interval', 0]);
CachectlTest::poll_until(3, sub {
    JPulseTest::redis_cli($r, 'HLEN', "${ns}cachectl:sessfirst") =~ /^20/ });
my %before = split /\n/, JPulseTest::redis_cli($r, 'HGETALL',
                                                "${ns}cachectl:sessfirst");
JPulseTest::redis_command($r, 'DEL', map { sprintf "${ns}sess:s%02d", $_ }
                                     grep { $_ % 2 } 1 .. 20);
CachectlTest::poll_until(5, sub {
    JPulseTest::redis_cli($r, 'HLEN', "${ns}cachectl:sessfirst") =~ /^10\b/ });
my %after = split /\n/, JPulseTest::redis_cli($r, 'HGETALL',
                                               "${ns}cachectl:sessfirst");
$main::Result = "records: " . join(' ', sort keys %after) . "\n"
    # "<ms when first seen> <user id>"
    . "moved: " . (join(' ', map { "$_ ($before{$_} -> $after{$_})" }
                       grep { $after{$_} ne $before{$_} } sort keys %after)
                   || 'none') . "\n"
    . "stop: " . CachectlTest::daemon_stop($d) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
records: s02 s04 s06 s08 s10 s12 s14 s16 s18 s20
moved: none
stop: exit 0
