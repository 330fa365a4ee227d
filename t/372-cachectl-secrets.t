# cachectl and its secrets (issue 11, item 15): a --password-file that
# group or others may read or change is refused (exit 1, naming the mode
# and "chmod 600"), as ssh refuses a private key; so are an empty or cut
# password, a directory, a FIFO (without hanging) and a missing file; a
# symlink is followed and its target's mode is what counts. A -c file that
# group or others may write is refused (it says where the password goes);
# a refused config line is not quoted unless it looks like a setting
# name, so a secret pasted there stays out of the log, nor is a Redis URL
# with its password accepted or quoted. A daemon whose
# password file turns readable keeps running on SIGHUP with its running
# configuration. The systemd unit runs as its own user.
#
# A private redis-server that wants a password; the runner's nginx only
# answers /ping. Each block's checks run in --- pre_request and are
# compared as text.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(cli write_file daemon_start);
use Test::Nginx::Socket;
use POSIX ();

our $Result;

our $Pass = 'Tr0ub4dor&3-t372';
our $Redis = redis_start(requirepass => $Pass);
our $NS = 't372:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't372');

JPulseTest::redis_command($Redis, 'HSET', "${NS}tpl:home.shtml",
                          'source', "<p>secret home</p>\n", 'etag', 'e1',
                          'mtime', 1700000000000);

# a password file with that content and mode
sub main::pass_file {
    my ($name, $content, $mode) = @_;
    my $f = "$main::Dir/$name";
    write_file($f, $content);
    chmod $mode, $f;
    return $f;
}

# "exit N: first stderr line", or "exit 0: <stdout>", the directory as DIR
sub main::attempt {
    my ($code, $out, $err) = CachectlTest::cachectl(@_);
    my ($first) = split /\n/, $code eq '0' ? $out : $err;
    my $line = "exit $code: " . ($first // '(nothing)') . "\n";
    $line =~ s/\Q$main::Dir\E/DIR/g;
    $line .= "  (the secret was printed!)\n"
        if index("$out$err", $main::Pass) >= 0;
    return $line;
}

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: --password-file: mode 600 authenticates; readable or
writable by group or others: exit 1 with the mode and the fix; the
secret is never printed
--- pre_request
my @get = (@main::Cli, 'get', 'home.shtml');
my $p = $main::Pass;
$main::Result = '';
for my $mode (0600, 0400, 0644, 0640, 0604, 0620, 0602, 0660, 0666, 0700) {
    my $f = main::pass_file(sprintf('pass-%04o', $mode), "$p\n", $mode);
    $main::Result .= sprintf("%04o: ", $mode)
        . main::attempt(@get, '--password-file', $f);
}
--- response_body_filters eval
sub { $main::Result }
--- response_body
0600: exit 0: <p>secret home</p>
0400: exit 0: <p>secret home</p>
0644: exit 1: cachectl: password file DIR/pass-0644: mode 0644 lets group or others read it; run "chmod 600 DIR/pass-0644" (and give it to the user cachectl runs as)
0640: exit 1: cachectl: password file DIR/pass-0640: mode 0640 lets group or others read it; run "chmod 600 DIR/pass-0640" (and give it to the user cachectl runs as)
0604: exit 1: cachectl: password file DIR/pass-0604: mode 0604 lets group or others read it; run "chmod 600 DIR/pass-0604" (and give it to the user cachectl runs as)
0620: exit 1: cachectl: password file DIR/pass-0620: mode 0620 lets group or others change it; run "chmod 600 DIR/pass-0620" (and give it to the user cachectl runs as)
0602: exit 1: cachectl: password file DIR/pass-0602: mode 0602 lets group or others change it; run "chmod 600 DIR/pass-0602" (and give it to the user cachectl runs as)
0660: exit 1: cachectl: password file DIR/pass-0660: mode 0660 lets group or others read it; run "chmod 600 DIR/pass-0660" (and give it to the user cachectl runs as)
0666: exit 1: cachectl: password file DIR/pass-0666: mode 0666 lets group or others read it; run "chmod 600 DIR/pass-0666" (and give it to the user cachectl runs as)
0700: exit 0: <p>secret home</p>



=== TEST 2: bad password files: a symlink is followed (its target's mode
counts), a dangling one, a missing file, a directory, a FIFO (no hang),
/dev/null, an empty file or first line, an overlong line: exit 1, named;
CRLF is fine; a wrong password: Redis says so; the same checks when the
file is named in -c; no password at all: NOAUTH, said at connect
--- pre_request
my @get = (@main::Cli, 'get', 'home.shtml');
my $p = $main::Pass;
my $d = $main::Dir;
my $good = main::pass_file('good', "$p\n", 0600);
my $open = main::pass_file('open', "$p\n", 0644);
symlink $good, "$d/link-good";
symlink $open, "$d/link-open";
symlink "$d/gone", "$d/link-dangling";
mkdir "$d/passdir", 0700;
POSIX::mkfifo("$d/fifo", 0600) or die "mkfifo: $!";
main::pass_file('crlf', "$p\r\nsecond line\n", 0600);
main::pass_file('empty', '', 0600);
main::pass_file('blank-first', "\n$p\n", 0600);
main::pass_file('long', ('x' x 600) . "\n", 0600);
main::pass_file('wrong', "not-the-password\n", 0600);
write_file("$d/with-open.conf", "redis = 127.0.0.1:$main::Redis->{port}\n"
                                . "site-id = t372\npassword-file = $open\n");
write_file("$d/with-good.conf", "redis = 127.0.0.1:$main::Redis->{port}\n"
                                . "site-id = t372\npassword-file = $good\n");
$main::Result = '';
for my $f (qw(link-good link-open link-dangling nope passdir fifo crlf
              empty blank-first long wrong)) {
    $main::Result .= "$f: " . main::attempt(@get, '--password-file', "$d/$f");
}
$main::Result .= "/dev/null: " . main::attempt(@get, '--password-file', '/dev/null')
    . "-c, open: " . main::attempt('-c', "$d/with-open.conf", 'get', 'home.shtml')
    . "-c, good: " . main::attempt('-c', "$d/with-good.conf", 'get', 'home.shtml')
    . "no password at all: " . main::attempt(@get);
$main::Result =~ s/127\.0\.0\.1:\d+/127.0.0.1:PORT/g;
--- response_body_filters eval
sub { $main::Result }
--- response_body
link-good: exit 0: <p>secret home</p>
link-open: exit 1: cachectl: password file DIR/link-open: mode 0644 lets group or others read it; run "chmod 600 DIR/link-open" (and give it to the user cachectl runs as)
link-dangling: exit 1: cachectl: password file DIR/link-dangling: No such file or directory
nope: exit 1: cachectl: password file DIR/nope: No such file or directory
passdir: exit 1: cachectl: password file DIR/passdir: not a regular file
fifo: exit 1: cachectl: password file DIR/fifo: not a regular file
crlf: exit 0: <p>secret home</p>
empty: exit 1: cachectl: password file DIR/empty: the first line is empty
blank-first: exit 1: cachectl: password file DIR/blank-first: the first line is empty
long: exit 1: cachectl: password file DIR/long: the first line is longer than 511 bytes
wrong: exit 1: cachectl: Redis 127.0.0.1:PORT: AUTH: WRONGPASS invalid username-password pair or user is disabled.
/dev/null: exit 1: cachectl: password file /dev/null: not a regular file
-c, open: exit 1: cachectl: password file DIR/open: mode 0644 lets group or others read it; run "chmod 600 DIR/open" (and give it to the user cachectl runs as)
-c, good: exit 0: <p>secret home</p>
no password at all: exit 1: cachectl: Redis 127.0.0.1:PORT: PING: NOAUTH Authentication required.



=== TEST 3: the -c file: others or group may write it: exit 1 with the
mode and "chmod go-w" (it names the Redis server and the password file);
world-readable is fine (no secret in it); a symlink to it is followed
--- pre_request
my $d = $main::Dir;
my $conf = "redis = 127.0.0.1:$main::Redis->{port}\nsite-id = t372\n"
         . "password-file = $d/good\n";
$main::Result = '';
for my $mode (0644, 0600, 0664, 0646, 0666) {
    my $f = sprintf "$d/conf-%04o.conf", $mode;
    write_file($f, $conf);
    chmod $mode, $f;
    $main::Result .= sprintf("%04o: ", $mode)
        . main::attempt('-c', $f, 'get', 'home.shtml');
}
symlink "$d/conf-0644.conf", "$d/conf-link.conf";
symlink "$d/conf-0666.conf", "$d/conf-link-open.conf";
$main::Result .= "link: " . main::attempt('-c', "$d/conf-link.conf", 'get', 'home.shtml')
    . "link to 0666: " . main::attempt('-c', "$d/conf-link-open.conf", 'get', 'home.shtml');
--- response_body_filters eval
sub { $main::Result }
--- response_body
0644: exit 0: <p>secret home</p>
0600: exit 0: <p>secret home</p>
0664: exit 1: cachectl: DIR/conf-0664.conf: writable by group or others (mode 0664): it says where the password goes; run "chmod go-w DIR/conf-0664.conf"
0646: exit 1: cachectl: DIR/conf-0646.conf: writable by group or others (mode 0646): it says where the password goes; run "chmod go-w DIR/conf-0646.conf"
0666: exit 1: cachectl: DIR/conf-0666.conf: writable by group or others (mode 0666): it says where the password goes; run "chmod go-w DIR/conf-0666.conf"
link: exit 0: <p>secret home</p>
link to 0666: exit 1: cachectl: DIR/conf-link-open.conf: writable by group or others (mode 0666): it says where the password goes; run "chmod go-w DIR/conf-link-open.conf"



=== TEST 4: a refused config line does not quote its content unless it
looks like a setting name (at most 32 of a-z and "-"): a password pasted
alone, as "secret=", as "Key = secret", or in a long key is not printed
--- pre_request
my $d = $main::Dir;
my $p = $main::Pass;
my %lines = (
    'misspelt'     => "colour = blue\n",
    'typo'         => "heart-beat = 5\n",
    'alone'        => "$p\n",
    'secret='      => "$p=\n",
    'lowercase='   => "hunter-two-but-much-longer-than-32-chars=\n",
    'Capitals'     => "Password = $p\n",
    'value'        => "password = $p\n",
    'digits'       => "s3cret=\n",
);
$main::Result = '';
for my $name (sort keys %lines) {
    (my $file = "$d/line-$name.conf") =~ s/=//;
    write_file($file, "# a comment\n" . $lines{$name});
    $main::Result .= "$name: " . main::attempt('-c', $file, 'get', 'home.shtml');
}
--- response_body_filters eval
sub { $main::Result }
--- response_body
Capitals: exit 1: cachectl: DIR/line-Capitals.conf:2: unknown setting (not shown: not a setting name)
alone: exit 1: cachectl: DIR/line-alone.conf:2: expected "key = value"
digits: exit 1: cachectl: DIR/line-digits.conf:2: unknown setting (not shown: not a setting name)
lowercase=: exit 1: cachectl: DIR/line-lowercase.conf:2: unknown setting (not shown: not a setting name)
misspelt: exit 1: cachectl: DIR/line-misspelt.conf:2: unknown setting "colour"
secret=: exit 1: cachectl: DIR/line-secret.conf:2: unknown setting (not shown: not a setting name)
typo: exit 1: cachectl: DIR/line-typo.conf:2: unknown setting "heart-beat"
value: exit 1: cachectl: DIR/line-value.conf:2: unknown setting "password"



=== TEST 5: a Redis URL with its password (--redis or redis = in -c):
refused, exit 2, the password not printed
--- pre_request
my $d = $main::Dir;
my $url = "redis://:$main::Pass\@127.0.0.1:$main::Redis->{port}";
write_file("$d/url.conf", "redis = $url\n");
write_file("$d/userinfo.conf", "redis = default:$main::Pass\@127.0.0.1:6379\n");
$main::Result = "--redis URL: " . main::attempt('--redis', $url, 'get', 'home.shtml')
    . "redis = URL: " . main::attempt('-c', "$d/url.conf", 'get', 'home.shtml')
    . "user:pass\@host: " . main::attempt('-c', "$d/userinfo.conf", 'status');
--- response_body_filters eval
sub { $main::Result }
--- response_body
--redis URL: exit 2: cachectl: invalid --redis: a URL (not shown); expected HOST:PORT or unix:PATH, and the password in --password-file
redis = URL: exit 2: cachectl: invalid --redis: a URL (not shown); expected HOST:PORT or unix:PATH, and the password in --password-file
user:pass@host: exit 2: cachectl: invalid --redis: a URL (not shown); expected HOST:PORT or unix:PATH, and the password in --password-file



=== TEST 6: a daemon whose password file becomes readable by others: on
SIGHUP it says why it keeps its running configuration, and goes on
--- pre_request
my $d = $main::Dir;
my $f = main::pass_file('daemon-pass', "$main::Pass\n", 0600);
write_file("$d/views/index.shtml", "<p>daemon</p>\n");
write_file("$d/daemon.conf", "redis = 127.0.0.1:$main::Redis->{port}\n"
                             . "site-id = t372\npassword-file = $f\n");
my $dm = daemon_start(redis => $main::Redis, site_id => 't372',
    global => ['-c', "$d/daemon.conf"], views => ["$d/views"],
    args => ['--heartbeat', 1]);
my $up = CachectlTest::poll_until(10, sub {
    JPulseTest::redis_cli($main::Redis, 'HEXISTS', "${main::NS}tplindex",
                          'index.shtml') =~ /^1/ });
chmod 0644, $f;
my $mark = CachectlTest::daemon_mark($dm);
kill 'HUP', $dm->{pid};
my $said = CachectlTest::daemon_wait_log($dm,
    qr/SIGHUP: .*mode 0644.*keeping the running configuration/, 10, $mark);
write_file("$d/views/later.shtml", "<p>later</p>\n");
my $later = CachectlTest::poll_until(10, sub {
    JPulseTest::redis_cli($main::Redis, 'HEXISTS', "${main::NS}tplindex",
                          'later.shtml') =~ /^1/ });
my $log = CachectlTest::daemon_log($dm);
$main::Result = "published with the password: " . ($up ? 'yes' : 'no') . "\n"
    . "SIGHUP refused, said: " . ($said ? 'yes' : 'no: ' . CachectlTest::daemon_log($dm, $mark)) . "\n"
    . "alive: " . (CachectlTest::daemon_alive($dm) ? 'yes' : 'no') . "\n"
    . "still publishes: " . ($later ? 'yes' : 'no') . "\n"
    . "secret in the log: " . (index($log, $main::Pass) >= 0 ? 'yes' : 'no') . "\n"
    . "stop: " . CachectlTest::daemon_stop($dm) . "\n";
--- response_body_filters eval
sub { $main::Result }
--- response_body
published with the password: yes
SIGHUP refused, said: yes
alive: yes
still publishes: yes
secret in the log: no
stop: exit 0



=== TEST 7: the systemd unit runs as its own user (created as a system
user), not as nginx's
--- pre_request
my $unit = CachectlTest::slurp('contrib/cachectl.service');
my %kv = map { /^(\w+)=(.*)$/ ? ($1 => $2) : () } split /\n/, $unit;
$main::Result = "User=$kv{User} Group=$kv{Group}\n"
    . "says how to create it: "
    . ($unit =~ /^#\s+useradd --system --no-create-home .*cachectl$/m ? 'yes' : 'no') . "\n"
    . "nginx's users anywhere: "
    . ($unit =~ /^(User|Group)=(www-data|nginx|root)$/m ? 'yes' : 'no') . "\n";
--- response_body_filters eval
sub { $main::Result }
--- response_body
User=cachectl Group=cachectl
says how to create it: yes
nginx's users anywhere: no
