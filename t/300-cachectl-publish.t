# The cachectl daemon publishes a site's view tree to Redis and two nginx
# instances whose view roots are EMPTY serve it: every page here exists
# only on the daemon's side. Edits (in place and atomic rename saves),
# deletions, new directories, a swapped "current" release symlink and a
# 500-file deploy reach every worker of both instances; a template that
# does not compile is refused (the last good version keeps being served,
# `cachectl status` names it); the site root overrides the framework root
# and jpulse-*.css files are published concatenated.
#
# The daemon runs with --rescan 0: only inotify tells it about changes.
# Instance A is the runner's nginx (master on, 2 workers, one nginx for
# every block); B is started beside it, 2 workers. Every response names
# its worker (X-Pid), and fresh connections are opened until all four
# workers have answered.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file write_atomic remove_file);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $Redis = redis_start();
our $NS = 't300:prod:';
our $Dir = CachectlTest::tmpdir();

# the site layer: "current" is a release directory, swapped atomically
# by a deploy; the framework layer below it
our $Site = "$Dir/site/current";
our $Fw = "$Dir/fw/view";

mkdir "$Dir/empty";
chmod 0755, "$Dir/empty";

my %site = (
    'home/index.shtml' => "<p>home v1</p>\n",
    'about/index.shtml' => "<p>about from the site</p>\n",
    'gone/index.shtml' => "<p>soon gone</p>\n",
    'jpulse-common.css' => ".site { color: blue; }\n",
);
my %fw = (
    'error/index.shtml' => "<h1>{{url.param.code}}</h1>\n<p>framework error page</p>\n",
    'about/index.shtml' => "<p>about from the framework</p>\n",
    'fwonly/index.shtml' => "<p>framework only</p>\n",
    # no final newline: the join puts one "\n" between parts
    'jpulse-common.css' => ".fw { color: red; }",
);
write_file("$Dir/site/releases/1/$_", $site{$_}) for keys %site;
symlink 'releases/1', "$Dir/site/current" or die "symlink: $!";
write_file("$Fw/$_", $fw{$_}) for keys %fw;

our $Daemon = daemon_start(redis => $Redis, site_id => 't300',
                           views => [$Site, $Fw], args => ['--rescan', 0]);

$ENV{TEST_NGINX_T300_DIR} = $Dir;
$ENV{TEST_NGINX_T300_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our $HttpConfig = <<'CONF';
    jpulse_site_id t300;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T300_REDIS_PORT;
    jpulse_view_roots $TEST_NGINX_T300_DIR/empty;
CONF

our $Config = <<'CONF';
    location = /ping { return 200 "pong\n"; }
    location / {
        add_header X-Pid $pid always;
        jpulse_render;
    }
CONF

our ($B, $Result);

# "A (2 workers): ok, B (2 workers): ok" when every worker of both
# instances answered $path with $status and a body matching $re
sub main::all_workers {
    my ($path, $re, $status) = @_;
    my @a = CachectlTest::runner_workers();
    my @b = JPulseTest::nginx_pids($main::B->{pid});
    my $check = sub { $_[0] == ($status // 200) && $_[2] =~ $re };
    return sprintf "A (%d workers): %s, B (%d workers): %s\n",
        scalar @a,
        CachectlTest::pids_seen($Test::Nginx::Socket::ServerPort, $path,
                                \@a, $check),
        scalar @b,
        CachectlTest::pids_seen($main::B->{port}, $path, \@b, $check);
}

# waits until all_workers() is ok: "<all_workers>within 1 s: yes" (the
# time counted from $t0)
sub main::everywhere_within {
    my ($t0, $limit, @args) = @_;
    my $ok = CachectlTest::poll_until(5, sub {
        main::all_workers(@args) =~ /: ok, B .*: ok$/ }, 0.01);
    my $took = Time::HiRes::time() - $t0;
    return main::all_workers(@args)
         . "within $limit s: " . ($ok && $took < $limit ? 'yes'
                                  : sprintf('no (%.2f s)', $took)) . "\n";
}

# the daemon's "published ..." lines after $mark, without prefix and timing
sub main::batches {
    my ($mark) = @_;
    return map { s/^.*?: //r =~ s/ in \d+ ms$//r . "\n" }
           grep { /published/ } split /\n/,
           CachectlTest::daemon_log($main::Daemon, $mark);
}

# the paths of <ns>tplindex, sorted, without the 500 of the bulk deploy
sub main::index_paths {
    my $index = CachectlTest::tpl_index($main::Redis, $main::NS);
    return join(' ', sort grep { !m{^bulk/} } keys %$index) . "\n";
}

repeat_each(1);
master_on();
workers(2);

plan tests => repeat_each() * blocks() * 3;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the daemon publishes the effective tree; two instances with
EMPTY view roots serve it from all four workers
--- pre_request
CachectlTest::daemon_wait_log($main::Daemon, qr/published \d+ view/, 5);
$main::B = JPulseTest::nginx_start(workers => 2,
    http => "jpulse_site_id t300;
             jpulse_redis 127.0.0.1:$main::Redis->{port};
             jpulse_view_roots $main::Dir/empty;",
    config => 'location / { add_header X-Pid $pid always; jpulse_render; }');
# every worker's pub/sub connection is up
CachectlTest::poll_until(5, sub {
    my $b = () = CachectlTest::slurp("$main::B->{dir}/logs/error.log")
                 =~ /pub\/sub connection ready/g;
    my $a = () = CachectlTest::slurp(
        "$Test::Nginx::Socket::ServerRoot/logs/error.log")
                 =~ /pub\/sub connection ready/g;
    $a >= 2 && $b >= 2 });
opendir my $dh, "$main::Dir/empty";
my @local = grep { !/^\.\.?$/ } readdir $dh;
$main::Result = "files in the view root: " . @local . "\n"
    . "index: " . main::index_paths()
    . main::all_workers('/home/', qr{^<p>home v1</p>\n\z});
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
files in the view root: 0
index: about/index.shtml error/index.shtml fwonly/index.shtml gone/index.shtml home/index.shtml jpulse-common.css
A (2 workers): ok, B (2 workers): ok
--- no_error_log
[error]



=== TEST 2: the site root overrides the framework root; what only the
framework has is served from it
--- pre_request
$main::Result = "get: " . CachectlTest::cli('--redis',
        "127.0.0.1:$main::Redis->{port}", '--site-id', 't300',
        'get', 'about/index.shtml')
    . "about: " . main::all_workers('/about/', qr{^<p>about from the site</p>\n\z})
    . "fwonly: " . main::all_workers('/fwonly/', qr{^<p>framework only</p>\n\z});
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
get: exit 0
<p>about from the site</p>
about: A (2 workers): ok, B (2 workers): ok
fwonly: A (2 workers): ok, B (2 workers): ok
--- no_error_log
[error]



=== TEST 3: a file edited in place: every worker of both instances serves
the new version within 1 s
--- pre_request
my $t0 = Time::HiRes::time();
write_file("$main::Site/home/index.shtml", "<p>home v2</p>\n");
$main::Result = main::everywhere_within($t0, 1, '/home/',
                                        qr{^<p>home v2</p>\n\z});
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
A (2 workers): ok, B (2 workers): ok
within 1 s: yes
--- no_error_log
[error]



=== TEST 4: an atomic save (a temporary file renamed over the original):
the new version everywhere within 1 s, the temporary file never published
--- pre_request
my $mark = CachectlTest::daemon_mark($main::Daemon);
my $t0 = Time::HiRes::time();
write_atomic("$main::Site/home/index.shtml", "<p>home v3</p>\n");
$main::Result = main::everywhere_within($t0, 1, '/home/',
                                        qr{^<p>home v3</p>\n\z})
    . "index: " . main::index_paths()
    . "batch: " . join('', main::batches($mark));
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
A (2 workers): ok, B (2 workers): ok
within 1 s: yes
index: about/index.shtml error/index.shtml fwonly/index.shtml gone/index.shtml home/index.shtml jpulse-common.css
batch: published 1 view, 0 config, 0 i18n change(s)
--- no_error_log
[error]



=== TEST 5: deleted files: a page only the site had is the 404 page on
every worker, its tpl: key and index field gone; the site's override
deleted: the framework's version everywhere
--- pre_request
my $t0 = Time::HiRes::time();
remove_file("$main::Site/gone/index.shtml");
remove_file("$main::Site/about/index.shtml");
$main::Result = "gone: " . main::everywhere_within($t0, 1, '/gone/',
        qr{^<h1>404</h1>\n<p>framework error page</p>}, 404)
    . "about: " . main::all_workers('/about/',
        qr{^<p>about from the framework</p>\n\z})
    . "tpl key: " . JPulseTest::redis_cli($main::Redis, 'EXISTS',
                                          "${main::NS}tpl:gone/index.shtml")
    . "index: " . main::index_paths();
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
gone: A (2 workers): ok, B (2 workers): ok
within 1 s: yes
about: A (2 workers): ok, B (2 workers): ok
tpl key: 0
index: about/index.shtml error/index.shtml fwonly/index.shtml home/index.shtml jpulse-common.css
--- no_error_log
[error]



=== TEST 6: a new directory tree with files (a page, its include, a
subdirectory): served everywhere; then a file in the new directory is
edited: the daemon watches it too
--- pre_request
my $t0 = Time::HiRes::time();
write_file("$main::Site/news/index.shtml",
           "<p>news {{file.include \"news/part.tmpl\"}}</p>\n");
write_file("$main::Site/news/part.tmpl", "part v1");
write_file("$main::Site/news/2026/index.shtml", "<p>news of 2026</p>\n");
$main::Result = "news: " . main::everywhere_within($t0, 1, '/news/',
                                      qr{^<p>news part v1</p>\n\z})
    . "2026: " . main::all_workers('/news/2026/', qr{^<p>news of 2026</p>\n\z});
$t0 = Time::HiRes::time();
write_file("$main::Site/news/part.tmpl", "part v2");
$main::Result .= "edited: " . main::everywhere_within($t0, 1, '/news/',
                                      qr{^<p>news part v2</p>\n\z});
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
news: A (2 workers): ok, B (2 workers): ok
within 1 s: yes
2026: A (2 workers): ok, B (2 workers): ok
edited: A (2 workers): ok, B (2 workers): ok
within 1 s: yes
--- no_error_log
[error]



=== TEST 7: a deploy swaps the "current" symlink to a new release
(ln -sfn + mv -T): its pages everywhere, what it dropped is a 404; then an
edit inside the new release shows too (the daemon follows the swap)
--- pre_request
my $r = "$main::Dir/site/releases";
system('cp', '-a', "$r/1", "$r/2") == 0 or die "cp -a failed";
write_file("$r/2/home/index.shtml", "<p>home of release 2</p>\n");
write_file("$r/2/r2/index.shtml", "<p>only in release 2</p>\n");
system('rm', '-r', "$r/2/news/2026") == 0 or die "rm failed";
my $t0 = Time::HiRes::time();
system("cd $main::Dir/site && ln -sfn releases/2 current.new"
       . " && mv -T current.new current") == 0 or die "swap failed";
$main::Result = "home: " . main::everywhere_within($t0, 1, '/home/',
                                      qr{^<p>home of release 2</p>\n\z})
    . "r2: " . main::all_workers('/r2/', qr{^<p>only in release 2</p>\n\z})
    . "2026: " . main::all_workers('/news/2026/', qr{^<h1>404</h1>}, 404)
    . "news: " . main::all_workers('/news/', qr{^<p>news part v2</p>\n\z})
    . "2026 in Redis: " . JPulseTest::redis_cli($main::Redis, 'EXISTS',
                                    "${main::NS}tpl:news/2026/index.shtml");
$t0 = Time::HiRes::time();
write_file("$main::Site/home/index.shtml", "<p>home of release 2, v2</p>\n");
$main::Result .= "edited: " . main::everywhere_within($t0, 1, '/home/',
                                      qr{^<p>home of release 2, v2</p>\n\z});
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
home: A (2 workers): ok, B (2 workers): ok
within 1 s: yes
r2: A (2 workers): ok, B (2 workers): ok
2026: A (2 workers): ok, B (2 workers): ok
news: A (2 workers): ok, B (2 workers): ok
2026 in Redis: 0
edited: A (2 workers): ok, B (2 workers): ok
within 1 s: yes
--- no_error_log
[error]



=== TEST 8: a 500-file deploy (cp -r): exactly one publish batch (one
log line, <ns>gen's view counter up by exactly 1), every page in Redis and
served by both instances
--- pre_request
for my $i (1 .. 500) {
    write_file(sprintf("$main::Dir/stage/bulk/p%03d.shtml", $i),
               sprintf("<p>bulk page %03d</p>\n", $i));
}
my $before = CachectlTest::gen_counters($main::Redis, $main::NS);
my $mark = CachectlTest::daemon_mark($main::Daemon);
system('cp', '-r', "$main::Dir/stage/bulk", "$main::Site/") == 0
    or die "cp -r failed";
CachectlTest::daemon_wait_log($main::Daemon, qr/published/, 5, $mark);
# whatever a second batch would do, it would do it within the daemon's
# one-second coalescing window
Time::HiRes::sleep(1.5);
my $after = CachectlTest::gen_counters($main::Redis, $main::NS);
my @batches = main::batches($mark);
my $index = CachectlTest::tpl_index($main::Redis, $main::NS);
my %served = (A => 0, B => 0);
for my $i (1 .. 500) {
    my $path = sprintf '/bulk/p%03d.shtml', $i;
    my $want = sprintf "<p>bulk page %03d</p>\n", $i;
    for my $n (['A', $Test::Nginx::Socket::ServerPort],
               ['B', $main::B->{port}]) {
        my ($status, undef, $body) = CachectlTest::get($n->[1], $path);
        $served{$n->[0]}++ if $status == 200 && $body eq $want;
    }
}
$main::Result = "batches: " . @batches . "\n" . join('', @batches)
    . "gen view: +" . ($after->{view} - $before->{view}) . "\n"
    . "in the index: " . (grep { m{^bulk/} } keys %$index) . "\n"
    . "served: A $served{A}, B $served{B}\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
batches: 1
published 500 view, 0 config, 0 i18n change(s)
gen view: +1
in the index: 500
served: A 500, B 500
--- no_error_log
[error]



=== TEST 9: a template that does not compile: refused and logged with
its line, the last good version still served everywhere, no generation
bump; `cachectl status` (and --json, daemons[].refused) names file and
line; once fixed, the fix is served and nothing is refused
--- pre_request
my @cli = ('--redis', "127.0.0.1:$main::Redis->{port}", '--site-id', 't300');
my $before = CachectlTest::gen_counters($main::Redis, $main::NS);
my $mark = CachectlTest::daemon_mark($main::Daemon);
write_file("$main::Site/home/index.shtml",
           "<p>home broken</p>\n<p>\n" . ('{{#if 1}}' x 65)
           . ('{{/if}}' x 65) . "\n");
CachectlTest::daemon_wait_log($main::Daemon, qr/refused/, 5, $mark);
Time::HiRes::sleep(0.3);
my $after = CachectlTest::gen_counters($main::Redis, $main::NS);
my $json;
CachectlTest::poll_until(3, sub {
    $json = CachectlTest::json_decode((CachectlTest::cachectl(@cli, 'status',
                                                              '--json'))[1]);
    $json && @{ $json->{daemons}[0]{refused} // [] } });
my ($code, $status) = CachectlTest::cachectl(@cli, 'status');
my $ref = $json->{daemons}[0]{refused}[0] // {};
$main::Result = "log: " . join('', map { s/^.*?: //r . "\n" }
        grep { /refused/ } split /\n/,
        CachectlTest::daemon_log($main::Daemon, $mark))
    . "served: " . main::all_workers('/home/',
                                     qr{^<p>home of release 2, v2</p>\n\z})
    . "gen view: +" . ($after->{view} - $before->{view}) . "\n"
    . "status: exit $code\n" . join('', grep { /^Refused/ } split /^/, $status)
    . "json: $ref->{path} $ref->{error}\n";
$mark = CachectlTest::daemon_mark($main::Daemon);
my $t0 = Time::HiRes::time();
write_file("$main::Site/home/index.shtml", "<p>home fixed</p>\n");
$main::Result .= "fixed: " . main::everywhere_within($t0, 1, '/home/',
                                        qr{^<p>home fixed</p>\n\z});
CachectlTest::poll_until(3, sub {
    (CachectlTest::cachectl(@cli, 'status'))[1] =~ /^Refused    none$/m });
$main::Result .= join '', grep { /^Refused/ } split /^/,
                 (CachectlTest::cachectl(@cli, 'status'))[1];
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
log: refused home/index.shtml:3:577: blocks nested deeper than 64 (the last good version stays)
served: A (2 workers): ok, B (2 workers): ok
gen view: +0
status: exit 0
Refused    home/index.shtml:3:577: blocks nested deeper than 64
json: home/index.shtml home/index.shtml:3:577: blocks nested deeper than 64
fixed: A (2 workers): ok, B (2 workers): ok
within 1 s: yes
Refused    none
--- no_error_log
[error]



=== TEST 10: append mode: jpulse-common.css is the framework's part, then
the site's, one newline between them, on every worker; an edit of the
framework's part shows everywhere (its own final newline makes an empty
line)
--- pre_request
my @cli = ('--redis', "127.0.0.1:$main::Redis->{port}", '--site-id', 't300');
$main::Result = "css: " . main::all_workers('/jpulse-common.css',
        qr{^\.fw \{ color: red; \}\n\.site \{ color: blue; \}\n\z})
    . "get: " . CachectlTest::cli(@cli, 'get', 'jpulse-common.css');
my $t0 = Time::HiRes::time();
write_file("$main::Fw/jpulse-common.css", ".fw { color: green; }\n");
$main::Result .= "edited: " . main::everywhere_within($t0, 1,
    '/jpulse-common.css',
    qr{^\.fw \{ color: green; \}\n\n\.site \{ color: blue; \}\n\z});
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
css: A (2 workers): ok, B (2 workers): ok
get: exit 0
.fw { color: red; }
.site { color: blue; }
edited: A (2 workers): ok, B (2 workers): ok
within 1 s: yes
--- no_error_log
[error]



=== TEST 11: the daemon stops on SIGTERM with exit 0; it logged no error
but the refused file; B stops cleanly
--- pre_request
my $stop = CachectlTest::daemon_stop($main::Daemon);
my $log = "$main::B->{dir}/logs/error.log";
JPulseTest::nginx_stop($main::B);
$main::Result = "daemon: $stop\n"
    . "daemon errors: " . join('', map { s/^.*?: //r . "\n" }
        grep { / error: / } split /\n/, CachectlTest::daemon_log($main::Daemon))
    . "B's errors: [" . join('', grep { /\[(error|crit|alert|emerg)\]/ }
                                 split /^/, CachectlTest::slurp($log)) . "]\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
daemon: exit 0
daemon errors: refused home/index.shtml:3:577: blocks nested deeper than 64 (the last good version stays)
B's errors: []
--- no_error_log
[error]
