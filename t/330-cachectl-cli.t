# The cachectl command line: help for every command, usage errors (exit
# 2), the config file (-c, "key = value", flags override it, a bad line
# names file:line, exit 1), status (Redis unreachable, no daemon, a
# daemon), one-shot sync (exit 1 when a file is refused), get, invalidate
# (its receivers, and an nginx instance follows it), instances and watch.
#
# The runner's nginx (master on, 2 workers, one nginx for every block) has
# an EMPTY view root and serves what is published into a private
# redis-server, namespace "t330:prod:". Each block's checks run in
# --- pre_request and are compared as text.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(cli write_file daemon_start);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $Redis = redis_start();
our $NS = 't330:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't330');

# a port nobody listens on
our $Closed = do {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0);
    my $p = $s->sockport;
    close $s;
    $p;
};

mkdir "$Dir/empty";
chmod 0755, "$Dir/empty";
write_file("$Dir/views/home/index.shtml", "<p>home v1</p>\n",
           mtime => 1700000000);
write_file("$Dir/views/error/index.shtml", "<h1>{{url.param.code}}</h1>\n");
write_file("$Dir/app.json", '{"app":{"site":{"name":"CLI"}}}');
write_file("$Dir/i18n/en.json", '{"hello":"hello"}');

$ENV{TEST_NGINX_T330_DIR} = $Dir;
$ENV{TEST_NGINX_T330_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our $HttpConfig = <<'CONF';
    jpulse_site_id t330;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T330_REDIS_PORT;
    jpulse_view_roots $TEST_NGINX_T330_DIR/empty;
CONF

our $Config = <<'CONF';
    location = /ping { return 200 "pong\n"; }
    location / {
        add_header X-Pid $pid always;
        jpulse_render;
    }
CONF

our ($Result, $Daemon);

# "exit N: first stderr line" (usage errors)
sub main::fails {
    my ($code, $out, $err) = CachectlTest::cachectl(@_);
    my ($first) = split /\n/, $err;
    return "exit $code: " . ($first // '(nothing on stderr)') . "\n";
}

# "ok" when both workers serve $path with a body matching $re
sub main::workers_serve {
    my ($path, $re) = @_;
    my @pids = CachectlTest::runner_workers();
    return CachectlTest::pids_seen($Test::Nginx::Socket::ServerPort, $path,
        \@pids, sub { $_[0] == 200 && $_[2] =~ $re });
}

repeat_each(1);
master_on();
workers(2);

plan tests => repeat_each() * blocks() * 2;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: --help (and -h, help) for the program and after every
command: exit 0, the usage on stdout; -V: the version
--- wait_for_log
pub/sub connection ready
--- pre_request
my @runs = (['--help'], ['-h'], ['help'], map({ [$_, '--help'] }
    qw(daemon status sync invalidate get sessions instances watch render)),
    ['status', '-h'], ['--json', 'sessions', 'list', '--help']);
$main::Result = '';
for my $args (@runs) {
    my ($code, $out, $err) = CachectlTest::cachectl(@$args);
    my $cmd = $args->[0] =~ /^-|help/ ? ($args->[1] // '') : $args->[0];
    $cmd = $args->[1] if $args->[0] eq '--json';
    $main::Result .= sprintf "%s: exit %s, usage on stdout: %s\n",
        join(' ', @$args), $code,
        $out =~ /^Usage: cachectl .*\Q$cmd\E/ ? 'yes'
            : 'no' . ($err ne '' ? " (stderr: " . (split /\n/, $err)[0] . ")" : '');
}
my ($code, $out) = CachectlTest::cachectl('-V');
$main::Result .= "-V: exit $code, "
    . ($out =~ /^cachectl \(ngx_jpulse\) \d+\.\d+\.\d+ \(\d{4}-\d\d-\d\d\)$/
       ? 'version' : "'$out'") . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
--help: exit 0, usage on stdout: yes
-h: exit 0, usage on stdout: yes
help: exit 0, usage on stdout: yes
daemon --help: exit 0, usage on stdout: yes
status --help: exit 0, usage on stdout: yes
sync --help: exit 0, usage on stdout: yes
invalidate --help: exit 0, usage on stdout: yes
get --help: exit 0, usage on stdout: yes
sessions --help: exit 0, usage on stdout: yes
instances --help: exit 0, usage on stdout: yes
watch --help: exit 0, usage on stdout: yes
render --help: exit 0, usage on stdout: yes
status -h: exit 0, usage on stdout: yes
--json sessions list --help: exit 0, usage on stdout: yes
-V: exit 0, version



=== TEST 2: usage errors: exit 2 and a message on stderr
--- pre_request
$main::Result = "no command: " . main::fails()
    . "only options: " . main::fails(@main::Cli)
    . "unknown command: " . main::fails(@main::Cli, 'bogus')
    . "unknown option: " . main::fails(@main::Cli, '--bogus', 'status')
    . "unknown option after the command: " . main::fails(@main::Cli, 'status', '--frobnicate')
    . "missing value: " . main::fails('status', '--redis')
    . "bad --mode: " . main::fails(@main::Cli, '--mode', 'staging', 'status')
    . "bad --mode=: " . main::fails(@main::Cli, '--mode=test', 'status')
    . "bad --site-id: " . main::fails('--site-id', 'a:b', 'status')
    . "bad --redis: " . main::fails('--redis', 'localhost', 'status')
    . "bad number: " . main::fails(@main::Cli, '--heartbeat', 'soon', 'status')
    . "zero settle: " . main::fails(@main::Cli, '--settle-ms', '0', 'status')
    . "status with an argument: " . main::fails(@main::Cli, 'status', 'now')
    . "invalidate what: " . main::fails(@main::Cli, 'invalidate', 'pages')
    . "get without a path: " . main::fails(@main::Cli, 'get')
    . "daemon without views: " . main::fails(@main::Cli, 'daemon')
    . "sync without views: " . main::fails(@main::Cli, 'sync')
    . "render without a file: " . main::fails('render');
$main::Result =~ s/\Q$main::Dir\E/DIR/g;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
no command: exit 2: Usage: cachectl [OPTIONS] COMMAND ...
only options: exit 2: Usage: cachectl [OPTIONS] COMMAND ...
unknown command: exit 2: cachectl: unknown command "bogus"
unknown option: exit 2: cachectl: unknown option "--bogus"
unknown option after the command: exit 2: cachectl: unknown option "--frobnicate"
missing value: exit 2: cachectl: option --redis needs a value
bad --mode: exit 2: cachectl: invalid --mode "staging": expected "dev" or "prod"
bad --mode=: exit 2: cachectl: invalid --mode "test": expected "dev" or "prod"
bad --site-id: exit 2: cachectl: invalid --site-id "a:b": 1 to 64 letters, digits, "-" or "_"
bad --redis: exit 2: cachectl: invalid --redis "localhost": expected HOST:PORT or unix:PATH
bad number: exit 2: cachectl: heartbeat: "soon" is not a number
zero settle: exit 2: cachectl: settle-ms, heartbeat, session-scan-rate, session-default-ttl and batch-bytes must be positive
status with an argument: exit 2: Usage: cachectl status [--json]
invalidate what: exit 2: Usage: cachectl invalidate [view|config|i18n|all] [PATH ...]
get without a path: exit 2: Usage: cachectl get PATH [--json]
daemon without views: exit 2: cachectl daemon: nothing to publish: give --views, --app-config or --i18n
sync without views: exit 2: cachectl sync: nothing to publish: give --views, --app-config or --i18n
render without a file: exit 2: cachectl render: missing FILE



=== TEST 3: the config file: "key = value" lines (comments, blank lines,
spaces), flags override it; a bad line, an unknown setting, a bad value or
a missing file: exit 1 naming the file (and line)
--- pre_request
my $port = $main::Redis->{port};
JPulseTest::redis_command($main::Redis, 'SET', "${main::NS}sess:cfgtest",
                          '{"cookie":{},"user":{"id":"c1"}}');
write_file("$main::Dir/good.conf", <<"CONF");
# cachectl, as /etc/cachectl.conf would have it
redis = 127.0.0.1:$port

  site-id=t330
mode = prod   
CONF
write_file("$main::Dir/bad-line.conf", "redis = 127.0.0.1:$port\n\nnot a setting\n");
write_file("$main::Dir/bad-key.conf", "redis = 127.0.0.1:$port\ncolour = blue\n");
write_file("$main::Dir/bad-value.conf", "heartbeat = soon\n");
my $c = "$main::Dir/good.conf";
$main::Result = "-c: " . cli('-c', $c, 'sessions', 'count')
    . "--config=: " . cli("--config=$c", 'sessions', 'count')
    . "-c after the command: " . cli('sessions', 'count', '-c', $c)
    . "--site-id over the file: " . cli('-c', $c, '--site-id', 'other', 'sessions', 'count')
    . "--redis over the file: " . main::fails('-c', $c, '--redis',
                                               "127.0.0.1:$main::Closed", 'sessions', 'count')
    . "bad line: " . main::fails('-c', "$main::Dir/bad-line.conf", 'status')
    . "unknown setting: " . main::fails('-c', "$main::Dir/bad-key.conf", 'status')
    . "bad value: " . main::fails('-c', "$main::Dir/bad-value.conf", 'status')
    . "missing file: " . main::fails('-c', "$main::Dir/nope.conf", 'status');
$main::Result =~ s/\Q$main::Dir\E/DIR/g;
$main::Result =~ s/:$main::Closed\b/:CLOSED/g;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
-c: exit 0
1
--config=: exit 0
1
-c after the command: exit 0
1
--site-id over the file: exit 0
0
--redis over the file: exit 1: cachectl: Redis 127.0.0.1:CLOSED: Connection refused
bad line: exit 1: cachectl: DIR/bad-line.conf:3: expected "key = value"
unknown setting: exit 1: cachectl: DIR/bad-key.conf:2: unknown setting "colour"
bad value: exit 1: cachectl: DIR/bad-value.conf:1: heartbeat: "soon" is not a number
missing file: exit 1: cachectl: DIR/nope.conf: No such file or directory



=== TEST 4: status: Redis unreachable: exit 1 (text and --json); Redis
there but no daemon: exit 1, and it says so
--- pre_request
my @closed = ('--redis', "127.0.0.1:$main::Closed", '--site-id', 't330');
my ($code, $out) = CachectlTest::cachectl(@main::Cli, 'status');
$main::Result = "unreachable: " . cli(@closed, 'status')
    . "unreachable --json: " . cli(@closed, 'status', '--json')
    . "no daemon: exit $code\n"
    . join('', grep { /^(Redis|Daemon|Instances)/ } split /^/, $out);
$main::Result =~ s/:$main::Closed\b/:CLOSED/g;
$main::Result =~ s/:$main::Redis->{port}\b/:PORT/g;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
unreachable: exit 1
Redis      127.0.0.1:CLOSED: unreachable (Redis 127.0.0.1:CLOSED: Connection refused)
unreachable --json: exit 1
{"redis":{"reachable":false,"address":"127.0.0.1:CLOSED","error":"unreachable"}}
no daemon: exit 1
Redis      127.0.0.1:PORT: reachable, namespace "t330:prod:"
Instances  1 seen (cachectl instances lists them)
Daemon     none running for this namespace



=== TEST 5: sync, one shot: publishes what differs (views, app config,
translations), then nothing; nginx serves it; a file that does not
compile: exit 1, it is named with its line, and the rest is published
--- pre_request
my @views = ('--views', "$main::Dir/views");
my @all = (@views, '--app-config', "$main::Dir/app.json",
           '--i18n', "$main::Dir/i18n");
$main::Result = "first: " . cli(@main::Cli, 'sync', @all)
    . "again: " . cli(@main::Cli, 'sync', @all)
    . "gen: " . join(' ', map { "$_=" . CachectlTest::gen_counters(
                          $main::Redis, $main::NS)->{$_} } qw(view config i18n)) . "\n"
    . "served: " . main::workers_serve('/home/', qr{^<p>home v1</p>\n\z}) . "\n";
write_file("$main::Dir/views/broken.shtml",
           "<p>\n" . ('{{#if 1}}' x 65) . ('{{/if}}' x 65) . "\n");
write_file("$main::Dir/views/new/index.shtml", "<p>new</p>\n");
$main::Result .= "refused: " . cli(@main::Cli, 'sync', @views)
    . "--json: " . cli(@main::Cli, 'sync', '--json', @views)
    . "broken in Redis: " . main::fails(@main::Cli, 'get', 'broken.shtml')
    . "new served: " . main::workers_serve('/new/', qr{^<p>new</p>\n\z}) . "\n";
write_file("$main::Dir/bad-app.json", '{"app":');
$main::Result .= "bad config: " . cli(@main::Cli, 'sync', '--app-config',
                                      "$main::Dir/bad-app.json");
$main::Result =~ s/\Q$main::Dir\E/DIR/g;
$main::Result =~ s/^stderr: \S+ cachectl\[\d+\] /stderr: /mg;
# (jansson's wording)
$main::Result =~ s/(bad-app\.json:1:\d+): [^;]*;/$1: JSON ERROR;/;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
first: exit 0
published 2 view, 1 config, 1 i18n change(s); 0 unchanged
stderr: info: view roots: DIR/views
again: exit 0
published 0 view, 0 config, 0 i18n change(s); 2 unchanged
stderr: info: view roots: DIR/views
gen: view=1 config=1 i18n=1
served: ok
refused: exit 1
published 1 view, 0 config, 0 i18n change(s); 2 unchanged
refused broken.shtml:2:577: blocks nested deeper than 64
stderr: info: view roots: DIR/views
stderr: error: refused broken.shtml:2:577: blocks nested deeper than 64
--json: exit 1
{"views":0,"config":0,"i18n":0,"unchanged":3,"refusedNow":1,"refused":[{"path":"broken.shtml","error":"broken.shtml:2:577: blocks nested deeper than 64"}],"held":0,"heldPaths":[],"dryRun":false}
stderr: info: view roots: DIR/views
stderr: error: refused broken.shtml:2:577: blocks nested deeper than 64
broken in Redis: exit 1: cachectl: "broken.shtml" is not in Redis
new served: ok
bad config: exit 1
published 0 view, 0 config, 0 i18n change(s); 0 unchanged
stderr: error: refused DIR/bad-app.json:1:7: JSON ERROR; the config in Redis stays



=== TEST 6: get PATH: the source as Redis holds it (a leading "/" is
fine); --json with etag and mtime; a path Redis does not have: exit 1
--- pre_request
my ($code, $json) = CachectlTest::cachectl(@main::Cli, 'get', '--json',
                                           'home/index.shtml');
my $j = CachectlTest::json_decode($json) // {};
$main::Result = "get: " . cli(@main::Cli, 'get', 'home/index.shtml')
    . "get /: " . cli(@main::Cli, 'get', '/home/index.shtml')
    . "--json: exit $code, path=$j->{path} source=" . ($j->{source} =~ s/\n/\\n/gr)
    . " etag=" . ($j->{etag} =~ /^[0-9a-f]{16}$/ ? 'hex16' : $j->{etag})
    . " mtime=$j->{mtime}\n"
    . "missing: " . cli(@main::Cli, 'get', 'nope.shtml');
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
get: exit 0
<p>home v1</p>
get /: exit 0
<p>home v1</p>
--json: exit 0, path=home/index.shtml source=<p>home v1</p>\n etag=hex16 mtime=1700000000000
missing: exit 1
stderr: cachectl: "nope.shtml" is not in Redis



=== TEST 7: invalidate view: a page changed in Redis without event or
generation bump stays stale in nginx until `cachectl invalidate view`,
which both workers hear (receivers 2) and follow; invalidate (all) bumps
every counter; --json
--- pre_request
my $r = $main::Redis;
main::workers_serve('/home/', qr{v1});
JPulseTest::redis_command($r, 'HSET', "${main::NS}tpl:home/index.shtml",
    'source', "<p>home v2</p>\n", 'etag', 'manual2', 'mtime', 1700000001000);
JPulseTest::redis_command($r, 'HSET', "${main::NS}tplindex",
    'home/index.shtml', '1700000001000:manual2');
Time::HiRes::sleep(0.3);
my $stale = main::workers_serve('/home/', qr{^<p>home v1</p>\n\z});
my $t0 = Time::HiRes::time();
my $inv = cli(@main::Cli, 'invalidate', 'view', 'home/index.shtml');
my $ok = CachectlTest::poll_until(2, sub {
    main::workers_serve('/home/', qr{^<p>home v2</p>\n\z}) eq 'ok' }, 0.01);
my $took = Time::HiRes::time() - $t0;
my $before = CachectlTest::gen_counters($r, $main::NS);
my $all = cli(@main::Cli, 'invalidate');
my $after = CachectlTest::gen_counters($r, $main::NS);
$main::Result = "before: stale $stale\n"
    . "invalidate view: $inv"
    . "after: " . main::workers_serve('/home/', qr{^<p>home v2</p>\n\z})
    . ", within 1 s: " . ($ok && $took < 1 ? 'yes' : "no ($took s)") . "\n"
    . "invalidate: $all"
    . "gen: " . join(' ', map { "$_ +" . ($after->{$_} - $before->{$_}) }
                     qw(view config i18n)) . "\n"
    . "--json config: " . cli(@main::Cli, 'invalidate', 'config', '--json')
    . "unreachable: " . main::fails('--redis', "127.0.0.1:$main::Closed",
                                    '--site-id', 't330', 'invalidate')
        =~ s/:$main::Closed\b/:CLOSED/gr;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
before: stale ok
invalidate view: exit 0
invalidated view: 2 subscribers heard it
after: ok, within 1 s: yes
invalidate: exit 0
invalidated all: 2 subscribers heard it
gen: view +1 config +1 i18n +1
--json config: exit 0
{"type":"config","receivers":2}
unreachable: exit 1: cachectl: Redis 127.0.0.1:CLOSED: Connection refused



=== TEST 8: a daemon runs: instances (text and --json) lists it beside
the nginx instance, with their TTLs; status: exit 0, the daemon and its
files
--- pre_request
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't330',
    views => ["$main::Dir/views"], args => ['--heartbeat', 1, '--rescan', 0]);
# until its first sync is in its status record
CachectlTest::poll_until(5, sub {
    my $j = CachectlTest::json_decode((CachectlTest::cachectl(@main::Cli,
                                           'status', '--json'))[1]);
    $j && grep { $_->{lastSync} } @{ $j->{daemons} // [] } });
my ($code, $json) = CachectlTest::cachectl(@main::Cli, 'instances', '--json');
my $list = CachectlTest::json_decode($json) // [];
my ($tcode, $text) = CachectlTest::cachectl(@main::Cli, 'instances');
my @rows = split /\n/, $text;
my ($scode, $status) = CachectlTest::cachectl(@main::Cli, 'status');
my $pid = $main::Daemon->{pid};
$main::Result = "--json: exit $code\n" . join('', map {
        my $i = $_->{instances}[0];
        sprintf "  kind=%s pm2Id=%s ttl=%s id=%s\n", $_->{kind}, $i->{pm2Id},
            $_->{_ttl} > 0 ? 'ok' : $_->{_ttl},
            $i->{instanceId} =~ /:200:$pid$/ ? 'daemon'
            : $i->{instanceId} =~ /:100:\d+$/ ? 'nginx' : $i->{instanceId} }
        sort { $a->{kind} cmp $b->{kind} } @$list)
    . "text: exit $tcode, " . @rows . " lines: "
    . join(' | ', (split ' ', $rows[0])[1],     # the header, then (SCAN order)
                  sort map { (split ' ', $_)[1] } @rows[1 .. $#rows]) . "\n"
    . "status: exit $scode\n"
    . join('', grep { /^(Daemon|Refused|Files)/ } split /^/, $status)
        =~ s/ \d+:200:$pid on \S+:/ DAEMON on HOST:/r
        =~ s/last sync \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/last sync TIME/r;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
--json: exit 0
  kind=cachectl pm2Id=200 ttl=ok id=daemon
  kind=nginx pm2Id=100 ttl=ok id=nginx
text: exit 0, 3 lines: KIND | cachectl | nginx
status: exit 0
Files      3 in Redis
Daemon     DAEMON on HOST: 4 files tracked, last sync TIME
Refused    broken.shtml:2:577: blocks nested deeper than 64



=== TEST 9: watch prints each broadcast of the namespace as it happens
(text: time, channel, message; --json: the message), until it is stopped
--- pre_request
my $r = $main::Redis;
my $psubs = sub { scalar grep { /cmd=psubscribe|psub=[1-9]/ }
                  split /\n/, JPulseTest::redis_cli($r, 'CLIENT', 'LIST') };
my $n = $psubs->();
my $w = CachectlTest::spawn(cmd => [CachectlTest::cachectl_bin(), @main::Cli, 'watch']);
my $wj = CachectlTest::spawn(cmd => [CachectlTest::cachectl_bin(), @main::Cli,
                                     'watch', '--json']);
CachectlTest::poll_until(3, sub { $psubs->() >= $n + 2 });
my $inv = cli(@main::Cli, 'invalidate', 'view', 'x.shtml');
CachectlTest::poll_until(3, sub {
    CachectlTest::slurp($w->{log}) =~ /invalidate:view/
    && CachectlTest::slurp($wj->{log}) =~ /invalidate:view/ });
my ($line) = grep { /invalidate:view/ } split /\n/, CachectlTest::slurp($w->{log});
my ($jline) = grep { /invalidate:view/ } split /\n/, CachectlTest::slurp($wj->{log});
my $m = CachectlTest::json_decode($jline) // {};
$main::Result = "invalidate: $inv"
    . "watch: " . (($line // '') =~ s/^\d\d:\d\d:\d\d\.\d{3} /TIME /r
                   =~ s/"gen":\d+/"gen":N/r =~ s/"instanceId":"[^"]+"/"instanceId":ID/r
                   =~ s/"timestamp":\d+/"timestamp":MS/r) . "\n"
    . "watch --json: channel=$m->{channel} type=$m->{data}{type} "
    . "paths=@{ $m->{data}{paths} // [] } source=$m->{data}{source}\n"
    . "stop: " . CachectlTest::spawn_stop($w) . ", " . CachectlTest::spawn_stop($wj) . "\n"
    . "unreachable: " . main::fails('--redis', "127.0.0.1:$main::Closed",
                                    '--site-id', 't330', 'watch')
        =~ s/:$main::Closed\b/:CLOSED/gr;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
invalidate: exit 0
invalidated view: 4 subscribers heard it
watch: TIME controller:cache:invalidate:view {"channel":"controller:cache:invalidate:view","data":{"type":"view","gen":N,"source":"cachectl","paths":["x.shtml"]},"instanceId":ID,"timestamp":MS}
watch --json: channel=controller:cache:invalidate:view type=view paths=x.shtml source=cachectl
stop: signal 15, signal 15
unreachable: exit 1: cachectl: Redis 127.0.0.1:CLOSED: Connection refused



=== TEST 10: the daemon stops with SIGTERM: exit 0; status: exit 1 again
--- pre_request
my $stop = CachectlTest::daemon_stop($main::Daemon);
my ($code, $out) = CachectlTest::cachectl(@main::Cli, 'status');
$main::Result = "stop: $stop\nstatus: exit $code\n"
    . join '', grep { /^Daemon/ } split /^/, $out;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
stop: exit 0
status: exit 1
Daemon     none running for this namespace
