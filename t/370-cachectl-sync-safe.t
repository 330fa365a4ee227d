# cachectl sync deletes nothing unless --force (issue 11, items 4 and
# 14): `sync --views <one root>` used to delete the other root's pages and
# exit 0. Now every deletion is held, listed after "held N deletion(s):
# run with --force to delete", and sync exits 1; --force deletes.
# --dry-run writes nothing and lists each write, delete and hold (exit
# 0; --json: a "changes" array). With a daemon publishing both roots,
# `sync --views <one root>` is refused (the daemon holds the lease). An
# incomplete walk holds deletions even with --force: sync says so.
#
# NEEDS the publisher's side (held deletions, dry_run, batch->changes in
# cachectl_sync_run, the walk's state) for TESTs 2 to 5 and 7, and the
# daemon's lease for TEST 6.
#
# The runner's nginx (master on, 2 workers, an EMPTY view root) serves
# what is in a private redis-server, namespace "t370:prod:".
use lib 't/lib';
use JPulseTest qw(redis_start redis_cli);
use CachectlTest qw(cli write_file daemon_start);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $Redis = redis_start();
our $NS = 't370:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't370');
our @A = ('--views', "$Dir/site");
our @AB = (@A, '--views', "$Dir/framework");
our $Result;

mkdir "$Dir/empty";
chmod 0755, "$Dir/empty";
write_file("$Dir/site/index.shtml", "<p>site home</p>\n");
write_file("$Dir/site/about.shtml", "<p>about v1</p>\n");
write_file("$Dir/framework/fw/login.shtml", "<p>login</p>\n");
write_file("$Dir/framework/fw/logout.shtml", "<p>logout</p>\n");

$ENV{TEST_NGINX_T370_DIR} = $Dir;
$ENV{TEST_NGINX_T370_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our $HttpConfig = <<'CONF';
    jpulse_site_id t370;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T370_REDIS_PORT;
    jpulse_view_roots $TEST_NGINX_T370_DIR/empty;
CONF

our $Config = <<'CONF';
    location = /ping { return 200 "pong\n"; }
    location / {
        add_header X-Pid $pid always;
        jpulse_render;
    }
CONF

# the index's paths and the view generation, as one line
sub main::state {
    my $index = CachectlTest::tpl_index($main::Redis, $main::NS);
    my $gen = CachectlTest::gen_counters($main::Redis, $main::NS);
    return "index: " . (join(' ', sort keys %$index) || '(empty)')
        . "; gen view=$gen->{view}\n";
}

# "ok" when both workers serve $path with a body matching $re
sub main::served {
    my ($path, $re) = @_;
    my @pids = CachectlTest::runner_workers();
    return CachectlTest::pids_seen($Test::Nginx::Socket::ServerPort, $path,
        \@pids, sub { $_[0] == 200 && $_[2] =~ $re });
}

# cli() with the log lines dropped and the change lines sorted (their
# order is the publisher's)
sub main::run_cli {
    my $text = cli(@_);
    # the publisher's log lines (its wording is its own)
    $text =~ s/^stderr: \S+ cachectl\[\d+\] \w+: .*\n//mg;
    $text =~ s/\Q$main::Dir\E/DIR/g;
    my @lines = split /\n/, $text;
    my @changes = sort grep { /^(write|delete|hold)\s/ } @lines;
    my $i = 0;
    return join '', map { (/^(write|delete|hold)\s/ ? $changes[$i++] : $_)
                          . "\n" } @lines;
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
    $block->set_value('request', "GET /ping\n")
        unless defined $block->request;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: both roots published by one sync (nothing to delete): exit 0
--- wait_for_log
pub/sub connection ready
--- pre_request
$main::Result = "sync: " . main::run_cli(@main::Cli, 'sync', @main::AB)
    . main::state()
    . "login served: " . main::served('/fw/login.shtml', qr{<p>login</p>}) . "\n";
--- response_body_filters eval
sub { $main::Result }
--- response_body
sync: exit 0
published 4 view, 0 config, 0 i18n change(s); 0 unchanged
index: about.shtml fw/login.shtml fw/logout.shtml index.shtml; gen view=1
login served: ok



=== TEST 2: `sync --views <one root>`: the other root's pages are held,
listed, exit 1 (text and --json); Redis keeps them, nginx serves them
--- pre_request
my $before = main::state();
$main::Result = "sync: " . main::run_cli(@main::Cli, 'sync', @main::A)
    . "--json: " . main::run_cli(@main::Cli, 'sync', '--json', @main::A)
    . "unchanged: " . (main::state() eq $before ? 'yes' : 'no: ' . main::state())
    . "\nlogin served: " . main::served('/fw/login.shtml', qr{<p>login</p>}) . "\n";
--- response_body_filters eval
sub { $main::Result }
--- response_body
sync: exit 1
published 0 view, 0 config, 0 i18n change(s); 2 unchanged
held 2 deletion(s): run with --force to delete
hold   view   fw/login.shtml
hold   view   fw/logout.shtml
--json: exit 1
{"views":0,"config":0,"i18n":0,"unchanged":2,"refusedNow":0,"refused":[],"held":2,"heldPaths":["fw/login.shtml","fw/logout.shtml"],"dryRun":false}
unchanged: yes
login served: ok



=== TEST 3: a page removed from a root: sync holds its deletion (exit 1);
--force deletes it (exit 0), and only it
--- pre_request
unlink "$main::Dir/framework/fw/logout.shtml" or die $!;
$main::Result = "sync: " . main::run_cli(@main::Cli, 'sync', @main::AB)
    . main::state()
    . "--force: " . main::run_cli(@main::Cli, 'sync', '--force', @main::AB)
    . main::state()
    . "again: " . main::run_cli(@main::Cli, 'sync', @main::AB);
--- response_body_filters eval
sub { $main::Result }
--- response_body
sync: exit 1
published 0 view, 0 config, 0 i18n change(s); 3 unchanged
held 1 deletion(s): run with --force to delete
hold   view   fw/logout.shtml
index: about.shtml fw/login.shtml fw/logout.shtml index.shtml; gen view=1
--force: exit 0
published 1 view, 0 config, 0 i18n change(s); 3 unchanged
index: about.shtml fw/login.shtml index.shtml; gen view=2
again: exit 0
published 0 view, 0 config, 0 i18n change(s); 3 unchanged



=== TEST 4: --dry-run: a new page, an edited one, one removed: each
listed (write, write, hold; with --force: delete), exit 0, nothing
written (index, generation, the edited source, what nginx serves);
--json has the changes; then a real --force run makes them
--- pre_request
write_file("$main::Dir/site/new.shtml", "<p>new</p>\n");
write_file("$main::Dir/site/about.shtml", "<p>about v2</p>\n");
unlink "$main::Dir/framework/fw/login.shtml" or die $!;
my $before = main::state();
my ($jcode, $json) = CachectlTest::cachectl(@main::Cli, 'sync', '--dry-run',
                                            '--json', @main::AB);
my $j = CachectlTest::json_decode($json) // {};
$main::Result = "dry run: " . main::run_cli(@main::Cli, 'sync', '--dry-run', @main::AB)
    . "dry run --force: " . main::run_cli(@main::Cli, 'sync', '--dry-run', '--force', @main::AB)
    . "--json: exit $jcode, dryRun " . ($j->{dryRun} ? 'true' : 'false') . ", changes: "
    . join(' ', sort map { "$_->{op}:$_->{kind}:$_->{path}" } @{ $j->{changes} // [] }) . "\n"
    . "unchanged: " . (main::state() eq $before ? 'yes' : 'no: ' . main::state())
    . "\nabout in Redis: " . redis_cli($main::Redis, 'HGET', "${main::NS}tpl:about.shtml", 'source') =~ s/\n+\z/\n/r
    . "about served: " . main::served('/about.shtml', qr{<p>about v1</p>}) . "\n"
    . "--force: " . main::run_cli(@main::Cli, 'sync', '--force', @main::AB)
    . main::state()
    . "about served: " . main::served('/about.shtml', qr{<p>about v2</p>}) . "\n";
--- response_body_filters eval
sub { $main::Result }
--- response_body
dry run: exit 0
hold   view   fw/login.shtml
write  view   about.shtml
write  view   new.shtml
dry run: 3 change(s), 1 unchanged; nothing written
dry run --force: exit 0
delete view   fw/login.shtml
write  view   about.shtml
write  view   new.shtml
dry run: 3 change(s), 1 unchanged; nothing written
--json: exit 0, dryRun true, changes: hold:view:fw/login.shtml write:view:about.shtml write:view:new.shtml
unchanged: yes
about in Redis: <p>about v1</p>
about served: ok
--force: exit 0
published 3 view, 0 config, 0 i18n change(s); 1 unchanged
index: about.shtml index.shtml new.shtml; gen view=3
about served: ok



=== TEST 5: a page whose name holds a newline is listed escaped (one
line per change, never a forged one)
--- pre_request
write_file("$main::Dir/site/odd\nname.shtml", "<p>odd</p>\n");
$main::Result = "dry run: " . main::run_cli(@main::Cli, 'sync', '--dry-run', @main::AB);
unlink "$main::Dir/site/odd\nname.shtml";
--- response_body_filters eval
sub { $main::Result }
--- response_body
dry run: exit 0
write  view   odd\nname.shtml
dry run: 1 change(s), 3 unchanged; nothing written



=== TEST 6: the issue's case: a daemon publishes both roots; `sync
--views <one root>` is refused (exit 1, the daemon named), and the other
root's pages stay
--- pre_request
write_file("$main::Dir/framework/fw/login.shtml", "<p>login</p>\n");
my $d = daemon_start(redis => $main::Redis, site_id => 't370',
    views => ["$main::Dir/site", "$main::Dir/framework"],
    args => ['--heartbeat', 1]);
my $pid = $d->{pid};
my $held = CachectlTest::poll_until(15, sub {
    redis_cli($main::Redis, 'GET', "${main::NS}cachectl:lease") =~ /:200:$pid$/
    && exists CachectlTest::tpl_index($main::Redis, $main::NS)->{'fw/login.shtml'} });
my $sync = main::run_cli(@main::Cli, 'sync', @main::A);
$sync =~ s/\d+:200:$pid on \S+ \(views [^)]*\)/DAEMON on HOST (views V)/;
$main::Result = "daemon holds the lease: " . ($held ? 'yes' : 'no') . "\n"
    . "sync: $sync"
    . main::state() =~ s/; gen.*//r
    . "stop: " . CachectlTest::daemon_stop($d) . "\n";
--- response_body_filters eval
sub { $main::Result }
--- response_body
daemon holds the lease: yes
sync: exit 1
stderr: cachectl sync: refused: DAEMON on HOST (views V) publishes this namespace (it holds t370:prod:cachectl:lease); a second writer would undo its work: let the daemon publish, stop it, or use --force
index: about.shtml fw/login.shtml index.shtml new.shtml
stop: exit 0



=== TEST 7: an incomplete walk (more files than the limit) holds its
deletions even with --force: sync says why and that --force does not
help, exit 1; --json has walkIncomplete
--- pre_request
my $v = "$main::Dir/limit";
write_file("$v/lim/f$_.shtml", "<p>$_</p>\n") for 1 .. 8;
my @cli = ('--redis', "127.0.0.1:$main::Redis->{port}", '--site-id', 't370w');
my $first = main::run_cli(@cli, 'sync', '--views', $v);
local $ENV{CACHECTL_TEST_FILES_MAX} = 5;
my $text = main::run_cli(@cli, 'sync', '--force', '--views', $v);
my ($code, $json) = CachectlTest::cachectl(@cli, 'sync', '--force', '--json', '--views', $v);
my $j = CachectlTest::json_decode($json) // {};
$main::Result = "first: " . ($first =~ /^(exit \d)/)[0] . "\n"
    . "limit 5, --force: " . join('', grep { !/^hold / } split /^/, $text)
    =~ s/held \d+ deletion/held N deletion/r =~ s/\d+ unchanged/N unchanged/r
    . "--json: exit $code, walkIncomplete: " . ($j->{walkIncomplete} // '-')
    . ", held " . ($j->{held} > 0 ? 'N' : 0) . "\n"
    . "index: " . scalar(keys %{ CachectlTest::tpl_index($main::Redis, 't370w:prod:') }) . " files\n";
--- response_body_filters eval
sub { $main::Result }
--- response_body
first: exit 0
limit 5, --force: exit 1
published 0 view, 0 config, 0 i18n change(s); N unchanged
held N deletion(s): the walk was incomplete (more than 5 files); --force does not delete then: fix it, sync again
--json: exit 1, walkIncomplete: more than 5 files, held N
index: 8 files



=== TEST 8: --max-delete-share on sync's command line: the daemon's guard
instead of holding every deletion (a share under it is deleted, exit 0;
over it, held, exit 1); the config file's max-delete-share (the daemon's)
does not make sync delete
--- pre_request
my $v = "$main::Dir/share";
write_file("$v/s$_.shtml", "<p>$_</p>\n") for 1 .. 4;
my @cli = ('--redis', "127.0.0.1:$main::Redis->{port}", '--site-id', 't370s');
write_file("$main::Dir/share.conf", "max-delete-share = 100\n");
my $n = sub { scalar(keys %{ CachectlTest::tpl_index($main::Redis, 't370s:prod:') }) . " in the index\n" };
main::run_cli(@cli, 'sync', '--views', $v);
unlink "$v/s1.shtml";
$main::Result = "config file's 100%: "
    . main::run_cli('-c', "$main::Dir/share.conf", @cli, 'sync', '--views', $v) . $n->();
$main::Result .= "--max-delete-share 50, 1 of 4: "
    . main::run_cli(@cli, 'sync', '--max-delete-share', 50, '--views', $v) . $n->();
unlink "$v/s2.shtml", "$v/s3.shtml";
$main::Result .= "--max-delete-share 50, 2 of 3: "
    . main::run_cli(@cli, 'sync', '--max-delete-share', 50, '--views', $v) . $n->();
--- response_body_filters eval
sub { $main::Result }
--- response_body
config file's 100%: exit 1
published 0 view, 0 config, 0 i18n change(s); 3 unchanged
held 1 deletion(s): run with --force to delete
hold   view   s1.shtml
4 in the index
--max-delete-share 50, 1 of 4: exit 0
published 1 view, 0 config, 0 i18n change(s); 3 unchanged
3 in the index
--max-delete-share 50, 2 of 3: exit 1
published 0 view, 0 config, 0 i18n change(s); 1 unchanged
held 2 deletion(s): run with --force to delete
hold   view   s2.shtml
hold   view   s3.shtml
3 in the index
