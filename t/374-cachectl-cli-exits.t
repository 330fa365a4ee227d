# cachectl's destructive commands and exit codes (issue 11, item 14):
# invalidate deletes nothing (it bumps counters; nginx refetches from
# Redis), so it has no dry run, and --dry-run is refused (exit 2) rather
# than ignored: no counter moves, no event is published. The help says
# what sync --dry-run/--force do and every exit code; usage errors of
# sync say its options. cachectl(1) documents the codes.
#
# A private redis-server; the runner's nginx only answers /ping.
use lib 't/lib';
use JPulseTest qw(redis_start redis_cli);
use CachectlTest qw(cli write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't374:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't374');
our $Result;

write_file("$Dir/views/index.shtml", "<p>home</p>\n");

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: invalidate --dry-run (also --json, with a kind, with paths):
exit 2, said why; no counter moved, nothing published; without it,
invalidate works
--- pre_request
my $r = $main::Redis;
my $s = JPulseTest::redis_psubscribe($r, "${main::NS}bc:*");
my $gen = sub { my $g = CachectlTest::gen_counters($r, $main::NS);
                "gen view=$g->{view} config=$g->{config} i18n=$g->{i18n}\n" };
my $heard = sub { my $m = JPulseTest::redis_next_message($s, 0.5);
                  "heard: " . ($m ? $m->[0] =~ s/^\Q$main::NS\E//r : 'nothing') . "\n" };
$main::Result = $gen->()
    . "--dry-run: " . cli(@main::Cli, 'invalidate', '--dry-run')
    . "view --dry-run --json: " . cli(@main::Cli, 'invalidate', 'view', '--dry-run', '--json')
    . "--dry-run view PATH: " . cli(@main::Cli, '--dry-run', 'invalidate', 'view', 'a.shtml')
    . $gen->() . $heard->()
    . "view: " . cli(@main::Cli, 'invalidate', 'view')
    . $gen->() . $heard->();
--- response_body_filters eval
sub { $main::Result }
--- response_body
gen view=0 config=0 i18n=0
--dry-run: exit 2
stderr: cachectl invalidate: no --dry-run: it deletes nothing (it bumps the generation counters, and nginx refetches from Redis what it caches)
view --dry-run --json: exit 2
stderr: cachectl invalidate: no --dry-run: it deletes nothing (it bumps the generation counters, and nginx refetches from Redis what it caches)
--dry-run view PATH: exit 2
stderr: cachectl invalidate: no --dry-run: it deletes nothing (it bumps the generation counters, and nginx refetches from Redis what it caches)
gen view=0 config=0 i18n=0
heard: nothing
view: exit 0
invalidated view: 1 subscriber heard it
gen view=1 config=0 i18n=0
heard: bc:controller:cache:invalidate:view



=== TEST 2: the help tells the exit codes (the program's, status's and
sync's) and sync's --dry-run and --force; cachectl(1) has an EXIT STATUS
with 0, 1, 2, 3 (sessions revoked, the revocation event refused) and 4
(with Sentinel: written on the primary only, t/813)
--- pre_request
my (undef, $help) = CachectlTest::cachectl('--help');
my (undef, $sync) = CachectlTest::cachectl('sync', '--help');
my (undef, $status) = CachectlTest::cachectl('status', '--help');
my (undef, $inv) = CachectlTest::cachectl('invalidate', '--help');
my $man = CachectlTest::slurp('docs/cachectl.1');
my ($exit) = $man =~ /^\.SH EXIT STATUS\n(.*?)^\.SH /ms;
$main::Result = "--help: " . join(' | ', grep { /^Exit status|^\s*--password-file|^\s+.*mode 600/ } split /\n/, $help) . "\n"
    . "sync --help: " . join(' | ', grep { /--dry-run|--force|^Exit|^a daemon/ } split /\n/, $sync) . "\n"
    . "status --help: " . join(' | ', grep { /^Exit|^Redis is/ } split /\n/, $status) . "\n"
    . "invalidate --help: " . join(' | ', grep { /dry-run/ } split /\n/, $inv) . "\n"
    . "cachectl(1) exit codes: " . join(' ', $exit =~ /^\.TP\n(\d+)\n/mg) . "\n";
--- response_body_filters eval
sub { $main::Result }
--- response_body
--help:   --password-file FILE   Redis password, first line (mode 600: | Exit status: 0 success, 1 failure, 2 usage error (each command's
sync --help:                 [--dry-run] [--force] [--max-delete-share PCT] | It deletes nothing from Redis unless --force: what is in Redis but |   --dry-run   write nothing: list each write, delete or hold |   --force     delete what left the tree; publish despite the lease | Exit 0 published (or previewed), 1 a file refused, deletions held, | a daemon holds the lease, or Redis failed.
status --help: Exit 0 when a daemon runs (read its problems in the output), 1 when | Redis is unreachable or no daemon runs.
invalidate --help: nothing, so it has no --dry-run.
cachectl(1) exit codes: 0 1 2 3 4



=== TEST 3: bad sync invocations: an argument, no roots, --dry-run and
--force with nothing to publish or given a value, a root that does not
exist (alone or beside one that does), a file as a root, an empty root,
a missing or directory --app-config, a file as --i18n, Redis unreachable
(also with --dry-run): exit 2 or 1, said; nothing published
--- pre_request
my $port = do {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0);
    my $p = $s->sockport; close $s; $p };
my @closed = ('--redis', "127.0.0.1:$port", '--site-id', 't374');
my $first = sub { my ($c, $o, $e) = CachectlTest::cachectl(@_);
                  my ($l) = grep { !/ info: / } split /\n/, $e;
                  "exit $c: " . ($l // '(nothing)') . "\n" };
$main::Result = "an argument: " . $first->(@main::Cli, 'sync', 'now', '--views', "$main::Dir/views")
    . "no roots: " . $first->(@main::Cli, 'sync')
    . "--dry-run, no roots: " . $first->(@main::Cli, 'sync', '--dry-run')
    . "--force, no roots: " . $first->(@main::Cli, 'sync', '--force')
    . "--force=no: " . $first->(@main::Cli, 'sync', '--force=no', '--views', "$main::Dir/views")
    . "--dry-run=yes: " . $first->(@main::Cli, 'sync', '--dry-run=yes', '--views', "$main::Dir/views")
    . "a missing root: " . $first->(@main::Cli, 'sync', '--views', "$main::Dir/nope")
    . "a missing root among two: " . $first->(@main::Cli, 'sync', '--views', "$main::Dir/views", '--views', "$main::Dir/nope")
    . "a file as a root: " . $first->(@main::Cli, 'sync', '--views', "$main::Dir/views/index.shtml")
    . "an empty root: " . $first->(@main::Cli, 'sync', '--views', '')
    . "a missing --app-config: " . $first->(@main::Cli, 'sync', '--app-config', "$main::Dir/app.json")
    . "a directory as --app-config: " . $first->(@main::Cli, 'sync', '--app-config', $main::Dir)
    . "a file as --i18n: " . $first->(@main::Cli, 'sync', '--i18n', "$main::Dir/views/index.shtml")
    . "--dry-run, a missing root: " . $first->(@main::Cli, 'sync', '--dry-run', '--views', "$main::Dir/nope")
    . "unreachable: " . $first->(@closed, 'sync', '--views', "$main::Dir/views")
    . "unreachable --dry-run: " . $first->(@closed, 'sync', '--dry-run', '--views', "$main::Dir/views")
    . "index after all that: " . (join(' ', sort keys %{ CachectlTest::tpl_index($main::Redis, $main::NS) }) || '(empty)') . "\n";
$main::Result =~ s/:$port\b/:CLOSED/g;
$main::Result =~ s/\Q$main::Dir\E/DIR/g;
--- response_body_filters eval
sub { $main::Result }
--- response_body
an argument: exit 2: Usage: cachectl sync --views DIR [--views DIR ...] [--app-config F] [--i18n DIR] [--dry-run] [--force] [--max-delete-share PCT]
no roots: exit 2: cachectl sync: nothing to publish: give --views, --app-config or --i18n
--dry-run, no roots: exit 2: cachectl sync: nothing to publish: give --views, --app-config or --i18n
--force, no roots: exit 2: cachectl sync: nothing to publish: give --views, --app-config or --i18n
--force=no: exit 2: cachectl: option --force takes no value
--dry-run=yes: exit 2: cachectl: option --dry-run takes no value
a missing root: exit 1: cachectl sync: views "DIR/nope": No such file or directory
a missing root among two: exit 1: cachectl sync: views "DIR/nope": No such file or directory
a file as a root: exit 1: cachectl sync: views "DIR/views/index.shtml": not a directory
an empty root: exit 1: cachectl sync: views "": No such file or directory
a missing --app-config: exit 1: cachectl sync: app-config "DIR/app.json": No such file or directory
a directory as --app-config: exit 1: cachectl sync: app-config "DIR": not a regular file
a file as --i18n: exit 1: cachectl sync: i18n "DIR/views/index.shtml": not a directory
--dry-run, a missing root: exit 1: cachectl sync: views "DIR/nope": No such file or directory
unreachable: exit 1: cachectl: Redis 127.0.0.1:CLOSED: Connection refused
unreachable --dry-run: exit 1: cachectl: Redis 127.0.0.1:CLOSED: Connection refused
index after all that: (empty)



=== TEST 4: not a Redis server (nginx's own port), a -c that is a
directory, numbers out of range: exit 1 or 2 with what is wrong, not a
later, stranger error ("not in Redis", or an empty config)
--- pre_request
my @nginx = ('--redis', "127.0.0.1:$Test::Nginx::Socket::ServerPort", '--site-id', 't374');
my $first = sub { my ($c, $o, $e) = CachectlTest::cachectl(@_);
                  my ($l) = grep { !/ info: / } split /\n/, $e . $o;
                  "exit $c: " . ($l // '(nothing)') . "\n" };
mkdir "$main::Dir/conf.d";
$main::Result = "get from nginx: " . $first->(@nginx, 'get', 'index.shtml')
    . "status from nginx: " . $first->(@nginx, 'status')
    . "sync to nginx: " . $first->(@nginx, 'sync', '--views', "$main::Dir/views")
    . "-c a directory: " . $first->('-c', "$main::Dir/conf.d", 'status')
    . "--db -1: " . $first->(@main::Cli, '--db', '-1', 'status')
    . "--heartbeat 2000000000: " . $first->(@main::Cli, '--heartbeat', '2000000000', 'status')
    . "--db 1e3: " . $first->(@main::Cli, '--db', '1e3', 'status')
    . "--db 16: " . $first->(@main::Cli, '--db', '16', 'status');
$main::Result =~ s/:$Test::Nginx::Socket::ServerPort\b/:NGINX/g;
$main::Result =~ s/127\.0\.0\.1:$main::Redis->{port}\b/127.0.0.1:PORT/g;
$main::Result =~ s/\Q$main::Dir\E/DIR/g;
--- response_body_filters eval
sub { $main::Result }
--- response_body
get from nginx: exit 1: cachectl: Redis 127.0.0.1:NGINX: PING: Protocol error, got "H" as reply type byte
status from nginx: exit 1: Redis      127.0.0.1:NGINX: unreachable (Redis 127.0.0.1:NGINX: PING: Protocol error, got "H" as reply type byte)
sync to nginx: exit 1: cachectl: Redis 127.0.0.1:NGINX: PING: Protocol error, got "H" as reply type byte
-c a directory: exit 1: cachectl: DIR/conf.d: not a regular file
--db -1: exit 2: cachectl: db: -1 is out of range (0 to 1000000000)
--heartbeat 2000000000: exit 2: cachectl: heartbeat: 2000000000 is out of range (0 to 1000000000)
--db 1e3: exit 2: cachectl: db: "1e3" is not a number
--db 16: exit 1: Redis      127.0.0.1:PORT: unreachable (Redis 127.0.0.1:PORT: SELECT 16: ERR DB index is out of range)
