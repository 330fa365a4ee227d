# cachectl's Sentinel settings: --redis-sentinel H:P[,H:P...],
# --redis-master NAME, --sentinel-password-file FILE (and the same keys in
# the -c file). Every error: exactly one of --redis and --redis-sentinel
# (in the same place; the command line's way replaces the file's),
# redis-master required with the sentinels and refused without,
# sentinel-password-file refused without them, each bad address item
# named, a URL refused without quoting it, a bad master name, the
# password file's checks. Then the keys at work: a sentinel that wants a
# password gets it from the file (a wrong one: AUTH in the error).
#
# The runner's nginx only answers /ping: the checks run in --- pre_request
# and are compared as text.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file);
use RedisSentinel qw(sentinel_start sentinel_addrs);
use SentinelTest qw(closed_port cachectl_runner);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $Dir = CachectlTest::tmpdir();
our $Redis = redis_start();
our $Result;

# "exit N: first stderr line" (or the first stdout line when stderr is
# empty), the temporary directory as DIR
sub main::fails {
    my ($code, $out, $err) = CachectlTest::cachectl(@_);
    my ($first) = split /\n/, ($err ne '' ? $err : $out);
    $first //= '(nothing)';
    $first =~ s/\Q$main::Dir\E/DIR/g;
    return "exit $code: $first\n";
}

sub main::conf_file {
    my ($name, $text) = @_;
    write_file("$main::Dir/$name", $text);
    chmod 0644, "$main::Dir/$name";
    return "$main::Dir/$name";
}

repeat_each(1);
master_on();
workers(1);

plan tests => repeat_each() * blocks() * 2;

cachectl_runner();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the combinations: one of --redis and --redis-sentinel,
--redis-master with the sentinels only, --sentinel-password-file with
the sentinels only
--- pre_request
my @s = ('--redis-sentinel', '127.0.0.1:1');
$main::Result = "sentinel, no master: " . main::fails(@s, 'status')
    . "master, no sentinel: " . main::fails('--redis-master', 'jp', 'status')
    . "both ways: " . main::fails(@s, '--redis-master', 'jp', '--redis',
                                  '127.0.0.1:6379', 'status')
    . "password file, no sentinel: "
    . main::fails('--sentinel-password-file', "$main::Dir/none", 'status')
    . "password file and --redis: "
    . main::fails('--redis', '127.0.0.1:6379', '--sentinel-password-file',
                  "$main::Dir/none", 'status')
    . "the daemon too: " . main::fails(@s, 'daemon', '--views', $main::Dir);
--- response_body
sentinel, no master: exit 2: cachectl: redis-sentinel without redis-master: give --redis-master NAME, the name the sentinels monitor the primary under
master, no sentinel: exit 2: cachectl: redis-master "jp" without redis-sentinel: the master name is the sentinels'; give --redis-sentinel HOST:PORT[,HOST:PORT...] too
both ways: exit 2: cachectl: redis and redis-sentinel both given: give one of the two (one server, or the sentinels that name the primary)
password file, no sentinel: exit 2: cachectl: sentinel-password-file without redis-sentinel: there is no sentinel to send it to
password file and --redis: exit 2: cachectl: sentinel-password-file without redis-sentinel: there is no sentinel to send it to
the daemon too: exit 2: cachectl: redis-sentinel without redis-master: give --redis-master NAME, the name the sentinels monitor the primary under



=== TEST 2: bad sentinel addresses: each item named; a URL refused
without quoting it (its password stays out of the log)
--- pre_request
my @m = ('--redis-master', 'jp');
my $many = join ',', map { "127.0.0.1:" . (26000 + $_) } 1 .. 17;
$main::Result = '';
for my $list ('', ',', '127.0.0.1:26379,', '127.0.0.1', 'localhost:',
              ':26379', '127.0.0.1:0', '127.0.0.1:65536', '127.0.0.1:x',
              '127.0.0.1:-1', '127.0.0.1:26379,127.0.0.1', 'unix:/run/s.sock',
              '127.0.0.1:26379 x') {
    $main::Result .= "\"$list\": " . main::fails('--redis-sentinel', $list,
                                                 @m, 'status');
}
my $url = main::fails('--redis-sentinel', 'redis://:s3cret@10.0.0.1:26379',
                      @m, 'status');
my $at = main::fails('--redis-sentinel', 'user:s3cret@10.0.0.1:26379', @m,
                     'status');
$main::Result .= "URL: $url" . 'user:pass@: ' . $at
    . "secret quoted: " . (($url . $at) =~ /s3cret/ ? 'yes' : 'no') . "\n"
    . "17 sentinels: " . main::fails('--redis-sentinel', $many, @m, 'status');
--- response_body
"": exit 2: cachectl: invalid --redis-sentinel "": item 1 "" is not HOST:PORT (sentinels are reached over TCP)
",": exit 2: cachectl: invalid --redis-sentinel ",": item 1 "" is not HOST:PORT (sentinels are reached over TCP)
"127.0.0.1:26379,": exit 2: cachectl: invalid --redis-sentinel "127.0.0.1:26379,": item 2 "" is not HOST:PORT (sentinels are reached over TCP)
"127.0.0.1": exit 2: cachectl: invalid --redis-sentinel "127.0.0.1": item 1 "127.0.0.1" is not HOST:PORT (sentinels are reached over TCP)
"localhost:": exit 2: cachectl: invalid --redis-sentinel "localhost:": item 1 "localhost:": the port is not 1 to 65535
":26379": exit 2: cachectl: invalid --redis-sentinel ":26379": item 1 ":26379" is not HOST:PORT (sentinels are reached over TCP)
"127.0.0.1:0": exit 2: cachectl: invalid --redis-sentinel "127.0.0.1:0": item 1 "127.0.0.1:0": the port is not 1 to 65535
"127.0.0.1:65536": exit 2: cachectl: invalid --redis-sentinel "127.0.0.1:65536": item 1 "127.0.0.1:65536": the port is not 1 to 65535
"127.0.0.1:x": exit 2: cachectl: invalid --redis-sentinel "127.0.0.1:x": item 1 "127.0.0.1:x": the port is not 1 to 65535
"127.0.0.1:-1": exit 2: cachectl: invalid --redis-sentinel "127.0.0.1:-1": item 1 "127.0.0.1:-1": the port is not 1 to 65535
"127.0.0.1:26379,127.0.0.1": exit 2: cachectl: invalid --redis-sentinel "127.0.0.1:26379,127.0.0.1": item 2 "127.0.0.1" is not HOST:PORT (sentinels are reached over TCP)
"unix:/run/s.sock": exit 2: cachectl: invalid --redis-sentinel "unix:/run/s.sock": item 1 "unix:/run/s.sock" is not HOST:PORT (sentinels are reached over TCP)
"127.0.0.1:26379 x": exit 2: cachectl: invalid --redis-sentinel "127.0.0.1:26379 x": item 1 "127.0.0.1:26379 x": the port is not 1 to 65535
URL: exit 2: cachectl: invalid --redis-sentinel: a URL (not shown); expected HOST:PORT[,HOST:PORT...], and the password in --sentinel-password-file
user:pass@: exit 2: cachectl: invalid --redis-sentinel: a URL (not shown); expected HOST:PORT[,HOST:PORT...], and the password in --sentinel-password-file
secret quoted: no
17 sentinels: exit 2: cachectl: invalid --redis-sentinel: more than 16 sentinels



=== TEST 3: bad master names
--- pre_request
my @s = ('--redis-sentinel', '127.0.0.1:26379');
$main::Result = '';
for my $name ('', 'my master', 'a/b', 'x' x 129) {
    my $shown = length $name > 20 ? 'x' x 3 . '... (129)' : $name;
    $main::Result .= "\"$shown\": " . (main::fails(@s, '--redis-master',
                                                   $name, 'status')
                                       =~ s/x{129}/X129/r);
}
--- response_body
"": exit 2: cachectl: invalid --redis-master "": 1 to 128 letters, digits, "-", "_", "." or ":"
"my master": exit 2: cachectl: invalid --redis-master "my master": 1 to 128 letters, digits, "-", "_", "." or ":"
"a/b": exit 2: cachectl: invalid --redis-master "a/b": 1 to 128 letters, digits, "-", "_", "." or ":"
"xxx... (129)": exit 2: cachectl: invalid --redis-master "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx": 1 to 128 letters, digits, "-", "_", "." or ":"



=== TEST 4: the sentinel password file: missing, readable by others,
empty, not a regular file: exit 1 naming it
--- pre_request
my @s = ('--redis-sentinel', '127.0.0.1:26379', '--redis-master', 'jp');
write_file("$main::Dir/open.pass", "secret\n");
chmod 0644, "$main::Dir/open.pass";
write_file("$main::Dir/empty.pass", "\n");
chmod 0600, "$main::Dir/empty.pass";
mkdir "$main::Dir/dir.pass";
chmod 0700, "$main::Dir/dir.pass";
$main::Result = '';
for my $f ('none.pass', 'open.pass', 'empty.pass', 'dir.pass') {
    $main::Result .= "$f: " . main::fails(@s, '--sentinel-password-file',
                                          "$main::Dir/$f", 'status');
}
--- response_body
none.pass: exit 1: cachectl: sentinel password file DIR/none.pass: No such file or directory
open.pass: exit 1: cachectl: sentinel password file DIR/open.pass: mode 0644 lets group or others read it; run "chmod 600 DIR/open.pass" (and give it to the user cachectl runs as)
empty.pass: exit 1: cachectl: sentinel password file DIR/empty.pass: the first line is empty
dir.pass: exit 1: cachectl: sentinel password file DIR/dir.pass: not a regular file



=== TEST 5: the config file: the keys work, both ways in the file is an
error naming it, the command line's way replaces the file's
--- pre_request
my $closed = closed_port();
my $port = $main::Redis->{port};
my $sent = main::conf_file('sentinel.conf', "redis-sentinel = 127.0.0.1:$closed\nredis-master = jp\n");
my $both = main::conf_file('both.conf', "redis = 127.0.0.1:$port\nredis-sentinel = 127.0.0.1:$closed\nredis-master = jp\n");
my $one = main::conf_file('one.conf', "redis = 127.0.0.1:$port\n");
my $nomaster = main::conf_file('nomaster.conf', "redis-sentinel = 127.0.0.1:$closed\n");
my $r = "sentinel keys: " . main::fails('-c', $sent, 'status')
    . "both in the file: " . main::fails('-c', $both, 'status')
    . "no master in the file: " . main::fails('-c', $nomaster, 'status')
    . "file sentinels, --redis given: " . main::fails('-c', $sent, '--redis', "127.0.0.1:$port", 'status')
    . "file redis, --redis-sentinel given: " . main::fails('-c', $one, '--redis-sentinel', "127.0.0.1:$closed", '--redis-master', 'jp', 'status');
$r =~ s/\b$closed\b/CLOSED/g;
$r =~ s/\b$port\b/REDIS/g;
$main::Result = $r;
--- response_body
sentinel keys: exit 1: Redis      sentinel jp via 127.0.0.1:CLOSED: unreachable (no primary for "jp" from the sentinels: 127.0.0.1:CLOSED: Connection refused)
both in the file: exit 2: cachectl: redis and redis-sentinel both in the config file: give one of the two (one server, or the sentinels that name the primary)
no master in the file: exit 2: cachectl: redis-sentinel without redis-master: give --redis-master NAME, the name the sentinels monitor the primary under
file sentinels, --redis given: exit 1: Redis      127.0.0.1:REDIS: reachable, namespace "jpulse:prod:"
file redis, --redis-sentinel given: exit 1: Redis      sentinel jp via 127.0.0.1:CLOSED: unreachable (no primary for "jp" from the sentinels: 127.0.0.1:CLOSED: Connection refused)



=== TEST 6: a sentinel with a password: the right one from the file
finds the primary, none or a wrong one fails with AUTH in the error
--- timeout: 60
--- pre_request
my $s = sentinel_start(master => 't810', replicas => 0, sentinels => 1,
                       quorum => 1, sentinel_pass => 'sentinel-pw');
my $addr = sentinel_addrs($s);
write_file("$main::Dir/good.pass", "sentinel-pw\n");
chmod 0600, "$main::Dir/good.pass";
write_file("$main::Dir/bad.pass", "wrong\n");
chmod 0600, "$main::Dir/bad.pass";
my @s = ('--redis-sentinel', $addr, '--redis-master', 't810', '--site-id', 't810');
my $sp = $s->{sentinels}[0]{port};
my $pp = $s->{primary}{port};
my $r = "right password: " . main::fails(@s, '--sentinel-password-file', "$main::Dir/good.pass", 'status')
    . "wrong password: " . main::fails(@s, '--sentinel-password-file', "$main::Dir/bad.pass", 'status')
    . "no password: " . main::fails(@s, 'status')
    . "password in a -c file: " . main::fails('-c', main::conf_file('sp.conf',
        "redis-sentinel = $addr\nredis-master = t810\nsentinel-password-file = $main::Dir/good.pass\nsite-id = t810\n"), 'status');
$r =~ s/\b$sp\b/SENTINEL/g;
$r =~ s/\b$pp\b/PRIMARY/g;
$main::Result = $r;
RedisSentinel::sentinel_stop($s);
--- response_body_like
\Aright password: exit 1: Redis      127\.0\.0\.1:PRIMARY \(primary of t810, found via sentinel 127\.0\.0\.1:SENTINEL\): reachable, namespace "t810:prod:"
wrong password: exit 1: Redis      sentinel t810 via 127\.0\.0\.1:SENTINEL: unreachable \(no primary for "t810" from the sentinels: 127\.0\.0\.1:SENTINEL: AUTH: [^\n]*\)
no password: exit 1: Redis      sentinel t810 via 127\.0\.0\.1:SENTINEL: unreachable \(no primary for "t810" from the sentinels: 127\.0\.0\.1:SENTINEL: NOAUTH [^\n]*\)
password in a -c file: exit 1: Redis      127\.0\.0\.1:PRIMARY \(primary of t810, found via sentinel 127\.0\.0\.1:SENTINEL\): reachable, namespace "t810:prod:"
\z
