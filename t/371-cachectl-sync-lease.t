# cachectl sync and the publisher's lease (issue 11, item 4): while a
# daemon holds <ns>cachectl:lease, `sync` refuses (exit 1) and names it
# (instance id, host and view roots from its status record), changing
# nothing in Redis; --force publishes anyway and says so; a lease Redis
# cannot read (wrong type) refuses unless --force; a free lease is taken
# for the run and given back, also when the run fails (a refused file);
# --dry-run only notes the holder (exit 0).
#
# A private redis-server; the daemon holding the lease is a fake (its
# lease and status record written by the test), so that this suite does
# not depend on the daemon's own lease handling. The runner's nginx only
# answers /ping.
use lib 't/lib';
use JPulseTest qw(redis_start redis_cli);
use CachectlTest qw(cli write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't371:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't371');
our @Views = ('--views', "$Dir/a");
our $Result;

write_file("$Dir/a/index.shtml", "<p>a</p>\n");
write_file("$Dir/a/page.shtml", "<p>a page</p>\n");

# a daemon that holds the lease: its lease and its status record
sub main::fake_holder {
    my ($id, $host, @views) = @_;
    my $r = $main::Redis;
    redis_cli($r, 'SET', "${main::NS}cachectl:lease", $id, 'PX', 60000);
    JPulseTest::redis_command($r, 'SET', "${main::NS}cachectl:status:$id",
        JSON::PP->new->canonical->encode({ instanceId => $id,
            hostname => $host, views => \@views }), 'EX', 300);
}

# what the namespace holds: the index and the counters, as one line
sub main::state {
    my $index = CachectlTest::tpl_index($main::Redis, $main::NS);
    my $gen = CachectlTest::gen_counters($main::Redis, $main::NS);
    return "index: " . (join(' ', sort keys %$index) || '(empty)')
        . "; gen view=$gen->{view}\n";
}

sub main::clean {
    my $r = $main::Redis;
    redis_cli($r, 'FLUSHDB');
}

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a daemon holds the lease: sync refuses, exit 1, naming it
(id, host, views), in text and --json; Redis unchanged; --force
publishes and says whose lease it ignored; the lease is still the
daemon's
--- pre_request
use JSON::PP ();
main::clean();
main::fake_holder('5:200:55', 'web5', '/srv/site/view', '/srv/fw/view');
my $before = main::state();
$main::Result = "before: $before"
    . "sync: " . cli(@main::Cli, 'sync', @main::Views)
    . "sync --json: " . cli(@main::Cli, 'sync', '--json', @main::Views)
    . "after: " . main::state()
    . "--force: " . cli(@main::Cli, 'sync', '--force', @main::Views)
    . "after --force: " . main::state()
    . "lease: " . redis_cli($main::Redis, 'GET', "${main::NS}cachectl:lease");
$main::Result =~ s/\Q$main::Dir\E/DIR/g;
$main::Result =~ s/^stderr: \S+ cachectl\[\d+\] \w+: .*\n//mg;
--- response_body_filters eval
sub { $main::Result }
--- response_body
before: index: (empty); gen view=0
sync: exit 1
stderr: cachectl sync: refused: 5:200:55 on web5 (views /srv/site/view, /srv/fw/view) publishes this namespace (it holds t371:prod:cachectl:lease); a second writer would undo its work: let the daemon publish, stop it, or use --force
sync --json: exit 1
stderr: cachectl sync: refused: 5:200:55 on web5 (views /srv/site/view, /srv/fw/view) publishes this namespace (it holds t371:prod:cachectl:lease); a second writer would undo its work: let the daemon publish, stop it, or use --force
after: index: (empty); gen view=0
--force: exit 0
published 2 view, 0 config, 0 i18n change(s); 0 unchanged
stderr: cachectl sync: 5:200:55 on web5 (views /srv/site/view, /srv/fw/view) holds t371:prod:cachectl:lease: publishing anyway (--force)
after --force: index: index.shtml page.shtml; gen view=1
lease: 5:200:55



=== TEST 2: a lease whose holder left no status record (a one-shot sync
elsewhere, or a daemon that stopped heartbeating): refused all the same,
saying so; a holder id with a newline is escaped
--- pre_request
main::clean();
redis_cli($main::Redis, 'SET', "${main::NS}cachectl:lease", '6:200:66', 'PX', 60000);
$main::Result = "no record: " . cli(@main::Cli, 'sync', @main::Views);
JPulseTest::redis_command($main::Redis, 'SET', "${main::NS}cachectl:lease",
                          "6:200:66\nforged", 'PX', 60000);
$main::Result .= "odd id: " . cli(@main::Cli, 'sync', @main::Views)
    . "after: " . main::state();
$main::Result =~ s/^stderr: \S+ cachectl\[\d+\] \w+: .*\n//mg;
--- response_body_filters eval
sub { $main::Result }
--- response_body
no record: exit 1
stderr: cachectl sync: refused: 6:200:66 (no status record: a one-shot sync, or a daemon that stopped heartbeating) publishes this namespace (it holds t371:prod:cachectl:lease); a second writer would undo its work: let the daemon publish, stop it, or use --force
odd id: exit 1
stderr: cachectl sync: refused: 6:200:66\nforged (no status record: a one-shot sync, or a daemon that stopped heartbeating) publishes this namespace (it holds t371:prod:cachectl:lease); a second writer would undo its work: let the daemon publish, stop it, or use --force
after: index: (empty); gen view=0



=== TEST 3: a lease key Redis cannot read as one (another type): sync
cannot tell whether a daemon publishes: refused, exit 1, unless --force
--- pre_request
main::clean();
redis_cli($main::Redis, 'HSET', "${main::NS}cachectl:lease", 'holder', 'x');
$main::Result = "sync: " . cli(@main::Cli, 'sync', @main::Views)
    . "after: " . main::state()
    . "--force: " . cli(@main::Cli, 'sync', '--force', @main::Views)
    . "after --force: " . main::state();
$main::Result =~ s/^stderr: \S+ cachectl\[\d+\] \w+: .*\n//mg;
$main::Result =~ s/ script: \w+, on \@user_script:\d+\.//g;
--- response_body_filters eval
sub { $main::Result }
--- response_body
sync: exit 1
stderr: cachectl sync: cannot tell whether a daemon publishes (lease: WRONGTYPE Operation against a key holding the wrong kind of value): refused; --force publishes anyway
after: index: (empty); gen view=0
--force: exit 0
published 2 view, 0 config, 0 i18n change(s); 0 unchanged
stderr: cachectl sync: cannot tell whether a daemon publishes (lease: WRONGTYPE Operation against a key holding the wrong kind of value): going on (--force)
after --force: index: index.shtml page.shtml; gen view=1



=== TEST 4: the lease is free: a writing sync takes it for the run and
gives it back (keyspace events: set, then del; "expire" aside), also when it exits 1 for
a refused file; nothing is left behind
--- pre_request
main::clean();
my $r = $main::Redis;
redis_cli($r, 'CONFIG', 'SET', 'notify-keyspace-events', 'K$g');
my $s = JPulseTest::redis_psubscribe($r, "__keyspace\@0__:${main::NS}cachectl:lease");
my $events = sub {
    my @e;
    while (my $m = JPulseTest::redis_next_message($s, 0.5)) {
        push @e, $m->[1] if $m->[1] =~ /^(set|del)$/;
    }
    return join(' ', @e) || '(none)';
};
$main::Result = "sync: " . cli(@main::Cli, 'sync', @main::Views)
    . "events: " . $events->() . "\n";
write_file("$main::Dir/a/broken.shtml", ('{{#if 1}}' x 65) . ('{{/if}}' x 65) . "\n");
$main::Result .= "refused file: " . (cli(@main::Cli, 'sync', @main::Views) =~ /^(exit \d)/)[0] . "\n"
    . "events: " . $events->() . "\n"
    . "lease left: " . redis_cli($r, 'EXISTS', "${main::NS}cachectl:lease");
unlink "$main::Dir/a/broken.shtml";
redis_cli($r, 'CONFIG', 'SET', 'notify-keyspace-events', '');
$main::Result =~ s/^stderr: \S+ cachectl\[\d+\] \w+: .*\n//mg;
--- response_body_filters eval
sub { $main::Result }
--- response_body
sync: exit 0
published 2 view, 0 config, 0 i18n change(s); 0 unchanged
events: set del
refused file: exit 1
events: set del
lease left: 0



=== TEST 5: --dry-run while a daemon holds the lease: exit 0, a note
naming the holder; the lease stays the daemon's (a dry run takes no
lease)
--- pre_request
use JSON::PP ();
main::clean();
main::fake_holder('5:200:55', 'web5', '/srv/site/view');
my ($code, $out, $err) = CachectlTest::cachectl(@main::Cli, 'sync', '--dry-run', @main::Views);
$main::Result = "exit $code\n"
    . join('', map { "stderr: $_\n" } grep { !/ info: / } split /\n/, $err)
    . "lease: " . redis_cli($main::Redis, 'GET', "${main::NS}cachectl:lease");
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 0
stderr: cachectl sync: note: 5:200:55 on web5 (views /srv/site/view) holds t371:prod:cachectl:lease: without --dry-run, sync refuses to publish (unless --force)
lease: 5:200:55



=== TEST 6: Redis out of memory (maxmemory reached): the holder is still
read, the lease cannot be taken, the run goes on and fails on its own
write with Redis's reason, not with a lease message; a daemon's lease is
still honoured; with memory again it publishes and leaves no lease
--- pre_request
main::clean();
my $r = $main::Redis;
redis_cli($r, 'CONFIG', 'SET', 'maxmemory', 1);
my ($code, $out, $err) = CachectlTest::cachectl(@main::Cli, 'sync', @main::Views);
my ($first) = grep { !/ cachectl\[\d+\] \w+: / } split /\n/, $err;
redis_cli($r, 'CONFIG', 'SET', 'maxmemory', 0);
main::fake_holder('5:200:55', 'web5', '/srv/site/view');
redis_cli($r, 'CONFIG', 'SET', 'maxmemory', 1);
my ($hcode, undef, $herr) = CachectlTest::cachectl(@main::Cli, 'sync', @main::Views);
redis_cli($r, 'CONFIG', 'SET', 'maxmemory', 0);
redis_cli($r, 'DEL', "${main::NS}cachectl:lease");
$main::Result = "out of memory: exit $code, "
    . ($first =~ /lease/ ? "a lease message: $first"
       : $first =~ /OOM|EXECABORT/ ? "Redis's reason" : "other: $first") . "\n"
    . "a daemon's lease, out of memory: exit $hcode, "
    . ($herr =~ /refused: 5:200:55 on web5/ ? 'refused, named' : "other: $herr") . "\n"
    . "memory again: " . cli(@main::Cli, 'sync', @main::Views)
    . "lease left: " . redis_cli($r, 'EXISTS', "${main::NS}cachectl:lease");
$main::Result =~ s/^stderr: \S+ cachectl\[\d+\] \w+: .*\n//mg;
--- response_body_filters eval
sub { $main::Result }
--- response_body
out of memory: exit 1, Redis's reason
a daemon's lease, out of memory: exit 1, refused, named
memory again: exit 0
published 2 view, 0 config, 0 i18n change(s); 0 unchanged
lease left: 0
