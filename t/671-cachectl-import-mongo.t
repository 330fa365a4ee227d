# "cachectl sessions import-mongo URI": connect-mongo's sessions
# ({_id: sid, expires: Date, session: JSON string or document}) into
# connect-redis keys with connect-redis's TTL (ceil(expires - now)), the
# first-seen record and the user's index; an expired document skipped, a
# key already in Redis (newer) or a revoked session never written; a
# second run changes nothing; --dry-run writes nothing. Against the
# Mongo-wire test server t/run starts.
use lib 't/lib';
use JPulseTest qw(redis_start redis_cli);
use CachectlTest qw(cachectl);
use MongoTest qw(mongo_uri mongo_insert iso);
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

our $Redis = redis_start();
our $Result;

sub main::ctl {
    my ($site, @args) = @_;
    my ($code, $out, $err) = cachectl('--redis', "127.0.0.1:$main::Redis->{port}",
                                      '--site-id', $site, 'sessions', @args);
    return "exit $code\n$out" . join '', map { "stderr: $_\n" } split /\n/, $err;
}

sub main::r { return JPulseTest::redis_cli($main::Redis, @_) =~ s/\n\z//r }

sub main::keys_of {
    my ($ns) = @_;
    return join ' ', sort map { s/^\Q$ns\E//r }
        split /\n/, main::r('--scan', '--pattern', "$ns*");
}

sub main::within { my ($v, $lo, $hi) = @_; return $v >= $lo && $v <= $hi ? 'ok' : $v }

our $Now = JPulseTest::redis_cli(redis_start(), 'TIME');

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: --dry-run writes nothing; the import: values, TTLs, index,
first-seen records (connect-mongo's createdAt when it has one); a second
run changes nothing
--- pre_request
my $ns = 't671a:prod:';
my $s1 = '{"cookie":{"originalMaxAge":3600000,"expires":"2030-01-01T00:00:00.000Z","httpOnly":true,"path":"/"},"user":{"id":"u1","username":"ann","isAuthenticated":true}}';
my $created = time - 100;
mongo_insert('t671a', 'sessions',
    { _id => 's1', expires => iso(3600), session => $s1 },
    { _id => 's2', expires => iso(7200), createdAt => { '$date' => { '$numberLong' => $created * 1000 . '' } },
      session => { cookie => { originalMaxAge => 7200000, expires => iso(7200), path => '/' },
                   user => { id => 'u2', username => 'bob', isAuthenticated => JSON::PP::true(),
                             roles => ['user', 'admin'] } } },
    { _id => 's3', expires => iso(-10), session => '{"user":{"id":"u3"}}' },
    { _id => 's4', session => '{"cookie":{"expires":"' . iso(1800)->{'$date'} . '"}}' },
    { _id => 's5', expires => iso(600), session => '{"cookie":{"path":"/"}}' });
my $uri = mongo_uri('t671a');
my $r = main::ctl('t671a', 'import-mongo', $uri, '--dry-run');
$r .= "after the dry run: [" . main::keys_of($ns) . "]\n";
$r .= main::ctl('t671a', 'import-mongo', $uri);
$r .= "keys: " . main::keys_of($ns) . "\n";
$r .= "s1 as stored: " . (main::r('GET', "${ns}sess:s1") eq $s1 ? 'same bytes' : 'changed') . "\n";
my $s2 = CachectlTest::json_decode(main::r('GET', "${ns}sess:s2"));
$r .= "s2: cookie.expires $s2->{cookie}{expires} roles @{ $s2->{user}{roles} }\n"
    =~ s/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z/ISO/r;
$r .= "ttl s1 " . main::within(main::r('TTL', "${ns}sess:s1"), 3595, 3600)
    . ", s2 " . main::within(main::r('TTL', "${ns}sess:s2"), 7195, 7200)
    . ", s4 " . main::within(main::r('TTL', "${ns}sess:s4"), 1795, 1800)
    . ", s5 " . main::within(main::r('TTL', "${ns}sess:s5"), 595, 600) . "\n";
$r .= "index u1: " . main::r('SMEMBERS', "${ns}sessidx:u1") . ", u2: "
    . main::r('SMEMBERS', "${ns}sessidx:u2") . ", ttl "
    . main::within(main::r('TTL', "${ns}sessidx:u1"), 86000, 86400) . "\n";
my %first = split /\n/, main::r('HGETALL', "${ns}cachectl:sessfirst");
my ($t) = split /\n/, main::r('TIME');
$r .= "first seen s2: " . ($first{s2} eq $created * 1000 . ' u2' ? 'createdAt' : $first{s2})
    . ", s1: " . ($first{s1} =~ /^(\d+) u1$/ && abs($1 / 1000 - $t) < 30 ? 'now' : $first{s1})
    . ", s5: " . ($first{s5} =~ /^\d+$/ ? 'no user' : $first{s5}) . "\n";
my %before = map { $_ => main::r('GET', "$ns$_") } split / /, main::keys_of("${ns}sess:") =~ s/^|(?<= )/sess:/gr;
$r .= main::ctl('t671a', 'import-mongo', $uri);
my %after = map { $_ => main::r('GET', "$ns$_") } keys %before;
$r .= "second run: " . ((grep { $before{$_} ne $after{$_} } keys %before) ? 'changed' : 'unchanged')
    . ", keys: " . main::keys_of($ns) . "\n";
# a logout at jPulse between two runs (connect-redis's destroy: a DEL,
# no tombstone): the next run does not bring the session back
main::r('DEL', "${ns}sess:s1");
$r .= main::ctl('t671a', 'import-mongo', $uri);
$r .= "logged out of, after a third run: " . main::r('EXISTS', "${ns}sess:s1") . "\n";
$r .= main::ctl('t671a', 'count', '--user', 'u2');
$main::Result = $r;
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 0
dry run of t671a.sessions: read 5, would import 4, expired 1, existing 0, revoked 0, imported before 0, invalid 0
after the dry run: []
exit 0
imported from t671a.sessions: read 5, imported 4, expired 1, existing 0, revoked 0, imported before 0, invalid 0
keys: cachectl:imported cachectl:sessfirst sess:s1 sess:s2 sess:s4 sess:s5 sessidx:u1 sessidx:u2
s1 as stored: same bytes
s2: cookie.expires ISO roles user admin
ttl s1 ok, s2 ok, s4 ok, s5 ok
index u1: s1, u2: s2, ttl ok
first seen s2: createdAt, s1: now, s5: no user
exit 0
imported from t671a.sessions: read 5, imported 0, expired 1, existing 4, revoked 0, imported before 0, invalid 0
second run: unchanged, keys: cachectl:imported cachectl:sessfirst sess:s1 sess:s2 sess:s4 sess:s5 sessidx:u1 sessidx:u2
exit 0
imported from t671a.sessions: read 5, imported 0, expired 1, existing 3, revoked 0, imported before 1, invalid 0
logged out of, after a third run: 0
exit 0
1



=== TEST 2: a session already in Redis is newer: kept as it is; a revoked
session (its tombstone) is not brought back; --json
--- pre_request
my $ns = 't671b:prod:';
JPulseTest::redis_command($main::Redis, 'SET', "${ns}sess:n1", '{"newer":true}', 'EX', 100);
JPulseTest::redis_command($main::Redis, 'SET', "${ns}sess:r1", '{"user":{"id":"u9"}}', 'EX', 100);
my $r = main::ctl('t671b', 'revoke', 'r1');
mongo_insert('t671b', 'sessions',
    { _id => 'n1', expires => iso(3600), session => '{"older":true}' },
    { _id => 'r1', expires => iso(3600), session => '{"user":{"id":"u9"}}' },
    { _id => 'k1', expires => iso(3600), session => '{"user":{"id":"u9"}}' });
$r .= main::ctl('t671b', 'import-mongo', mongo_uri('t671b'), '--json', '--dry-run');
$r .= main::ctl('t671b', 'import-mongo', mongo_uri('t671b'), '--json');
$r .= "n1: " . main::r('GET', "${ns}sess:n1") . ", ttl " . main::within(main::r('TTL', "${ns}sess:n1"), 90, 100)
    . "; r1: " . main::r('EXISTS', "${ns}sess:r1") . "; k1: " . main::r('GET', "${ns}sess:k1") . "\n";
$main::Result = $r;
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 0
revoked 1 session
exit 0
{"read":3,"imported":1,"expired":0,"existing":1,"revoked":1,"importedBefore":0,"invalid":0,"dryRun":true}
exit 0
{"read":3,"imported":1,"expired":0,"existing":1,"revoked":1,"importedBefore":0,"invalid":0,"dryRun":false}
n1: {"newer":true}, ttl ok; r1: 0; k1: {"user":{"id":"u9"}}



=== TEST 3: documents that are not connect-mongo's: named on stderr, left
in MongoDB, the others imported, exit 1; a collection of other documents;
no such collection
--- pre_request
my $ns = 't671c:prod:';
mongo_insert('t671c', 'sessions',
    { _id => 'g1', expires => iso(3600), session => '{"user":{"id":"u1"}}' },
    { _id => { '$oid' => '65a1b2c3d4e5f60718293a4b' }, expires => iso(3600), session => '{}' },
    { _id => 'enc', expires => iso(3600), session => 'a3f9c0:8e1d...' },
    { _id => 'arr', expires => iso(3600), session => '[1,2]' },
    { _id => 'num', expires => iso(3600), session => 42 },
    { _id => 'date', expires => '2030-01-01', session => '{}' },
    { _id => 'none', expires => iso(3600) },
    { _id => "ctl\x{7}", expires => iso(3600), session => '{}' },
    { _id => 'huge', expires => iso(3600), session => '{"a":"' . 'x' x (1024 * 1024) . '"}' },
    { _id => 'regex', expires => iso(3600), session => { r => { '$regularExpression' => { pattern => 'a', options => '' } } } });
mongo_insert('t671c', 'users',
    { _id => { '$oid' => '65a1b2c3d4e5f60718293a4c' }, name => 'ann' },
    { _id => { '$oid' => '65a1b2c3d4e5f60718293a4d' }, name => 'bob' });
my $r = main::ctl('t671c', 'import-mongo', mongo_uri('t671c'));
$r .= "keys: " . main::keys_of("${ns}sess:") . "\n";
$r .= main::ctl('t671c', 'import-mongo', mongo_uri('t671c'), '--collection', 'users');
$r .= main::ctl('t671c', 'import-mongo', mongo_uri('t671c'), '--collection', 'nope');
$r .= main::ctl('t671c', 'count', '--collection', 'users');
$main::Result = $r;
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 1
imported from t671c.sessions: read 10, imported 1, expired 0, existing 0, revoked 0, imported before 0, invalid 9
stderr: cachectl: document (an _id that is no session id) not imported: its _id is not a string (a session id)
stderr: cachectl: document "enc..." not imported: its session is not a JSON object (encrypted, or another serializer)
stderr: cachectl: document "arr..." not imported: its session is not a JSON object (encrypted, or another serializer)
stderr: cachectl: document "num..." not imported: its session is neither a string nor a document
stderr: cachectl: document "date..." not imported: its expires is not a date
stderr: cachectl: document "none..." not imported: no session field
stderr: cachectl: document "ctl\x07..." not imported: its _id is no session id
stderr: cachectl: document "huge..." not imported: its session is larger than 1 MB
stderr: cachectl: document "regex..." not imported: a BSON type a session never has
keys: g1
exit 1
imported from t671c.users: read 2, imported 0, expired 0, existing 0, revoked 0, imported before 0, invalid 2
stderr: cachectl: document (an _id that is no session id) not imported: its _id is not a string (a session id)
stderr: cachectl: document (an _id that is no session id) not imported: its _id is not a string (a session id)
stderr: cachectl: no document of t671c.users is connect-mongo's {_id: sid, expires: Date, session}
exit 1
stderr: cachectl: MongoDB has no collection t671c.nope (connect-mongo's is "sessions": --collection)
exit 2
stderr: cachectl sessions: --collection is for import-mongo
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



=== TEST 4: MongoDB unreachable, credentials refused, not a URI, Redis
unreachable: a clear error, nothing written; the URI on stdin
--- pre_request
my $ns = 't671d:prod:';
mongo_insert('t671d', 'sessions',
    { _id => 'd1', expires => iso(3600), session => '{"user":{"id":"u1"}}' });
my $closed = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0);
my $port = $closed->sockport;
close $closed;
my $r = main::ctl('t671d', 'import-mongo', "mongodb://127.0.0.1:$port/t671d");
$r .= main::ctl('t671d', 'import-mongo', mongo_uri('t671d', 'ann:s3cret@'));
$r .= main::ctl('t671d', 'import-mongo', 'http://127.0.0.1/');
my ($code, $out, $err) = cachectl('--redis', "127.0.0.1:$port", '--site-id', 't671d',
                                  'sessions', 'import-mongo', mongo_uri('t671d'));
$r .= "redis down: exit $code" . ($err =~ /^cachectl: .*(refused|connect)/i ? ', said so' : ": $err") . "\n";
$r .= "keys: [" . main::keys_of($ns) . "]\n";
$r .= "no password in any message: " . ($r =~ /s3cret/ ? 'leaked' : 'yes') . "\n";
my $uri = mongo_uri('t671d');
$r .= `echo '$uri' | $ENV{TEST_NGINX_CACHECTL} --redis 127.0.0.1:$main::Redis->{port} --site-id t671d sessions import-mongo - 2>&1; echo "exit \$?"`;
$main::Result = $r =~ s/(unreachable|credentials): .*/$1: .../gr;
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 1
stderr: cachectl: MongoDB unreachable: ...
exit 1
stderr: cachectl: MongoDB refused the credentials: ...
exit 2
stderr: cachectl: not a MongoDB URI: Invalid URI Schema, expecting 'mongodb://' or 'mongodb+srv://'
redis down: exit 1, said so
keys: []
no password in any message: yes
imported from t671d.sessions: read 1, imported 1, expired 0, existing 0, revoked 0, imported before 0, invalid 0
exit 0



=== TEST 5: more documents than a batch of scripts (100) and a cursor
batch (500)
--- pre_request
mongo_insert('t671e', 'sessions', map {
    { _id => sprintf('m%04d', $_) . 'x' x 27, expires => iso(3600),
      session => '{"user":{"id":"u' . ($_ % 7) . '"}}' } } 1 .. 1234);
my $r = main::ctl('t671e', 'import-mongo', mongo_uri('t671e'));
$r .= main::ctl('t671e', 'count');
$r .= main::ctl('t671e', 'count', '--user', 'u3');
$main::Result = $r;
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 0
imported from t671e.sessions: read 1234, imported 1234, expired 0, existing 0, revoked 0, imported before 0, invalid 0
exit 0
1234
exit 0
176
