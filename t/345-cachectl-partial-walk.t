# A batch walks only the directories that saw events (the files directly
# in each, a new or replaced subdirectory whole) and considers for
# deletion only what was in them; the full walk stays for the start, a
# reconnect, a rescan and a queue overflow. Whatever walk the daemon asks
# for, the published tree must be the one on disk: edits in a deep
# directory, a new directory tree, a removed directory, a renamed one, a
# directory replaced by another under the same name, one removed and made
# again, a site file removed
# (the framework's copy shows through) and an append-mode file edited in
# the framework root.
#
# The daemon runs with --rescan 0 (only inotify): a private redis-server,
# namespace "t345:prod:". The cost of a batch (one edit among 100,000
# files) is measured outside the suite: see the report in docs/
# architecture.md ("cachectl: publishing").
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file write_atomic daemon_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't345:prod:';
our $Dir = CachectlTest::tmpdir();
our $Site = "$Dir/site";
our $Fw = "$Dir/fw";
our ($Result, $Daemon);

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }

# the index as "path=source" lines (sources without newlines)
sub main::tree {
    my $i = CachectlTest::tpl_index($main::Redis, $main::NS);
    return join '', map {
        my $src = main::rcli('HGET', "${main::NS}tpl:$_", 'source');
        $src =~ s/\n/|/g;
        "$_=$src\n" } sort keys %$i;
}

# what the tree on disk should give, from a list of "path=source"
sub main::wait_tree {
    my ($want) = @_;
    CachectlTest::poll_until(10, sub { main::tree() eq $want }, 0.02);
    return main::tree() eq $want ? "ok\n" : "got:\n" . main::tree();
}

write_file("$Site/deep/a/b/c/page.shtml", "deep v1");
write_file("$Site/keep/k$_.shtml", "keep $_") for 1 .. 16;
write_file("$Site/gone/g1.shtml", "g1");
write_file("$Site/old/o1.shtml", "o1");
write_file("$Site/swap/s1.shtml", "s1 old");
write_file("$Site/rec/r1.shtml", "r1 old");
write_file("$Site/about.shtml", "about site");
write_file("$Fw/about.shtml", "about fw");
write_file("$Site/jpulse-x.css", "site");
write_file("$Fw/jpulse-x.css", "fw");

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the start publishes the effective tree
--- pre_request
$main::Daemon = daemon_start(redis => $main::Redis, site_id => 't345',
                             views => [$main::Site, $main::Fw],
                             args => ['--rescan', 0]);
$main::Result = main::wait_tree(join '', map { "$_\n" }
    'about.shtml=about site', 'deep/a/b/c/page.shtml=deep v1',
    'gone/g1.shtml=g1', 'jpulse-x.css=fw|site',
    (map { "keep/k$_.shtml=keep $_" } sort { $a cmp $b } 1 .. 16),
    'old/o1.shtml=o1', 'rec/r1.shtml=r1 old', 'swap/s1.shtml=s1 old');
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
ok



=== TEST 2: an edit deep down, a new tree, a removed directory, a renamed
one, one replaced under its name, one removed and made again, a site file
removed, the framework's append-mode file edited
--- pre_request
my ($s, $f) = ($main::Site, $main::Fw);
write_atomic("$s/deep/a/b/c/page.shtml", "deep v2");
write_file("$s/new/x/y/n1.shtml", "n1");
write_file("$s/new/x/n2.shtml", "n2");
system('rm', '-rf', "$s/gone");
rename "$s/old", "$s/renamed" or die;
write_file("$s/swap2/s1.shtml", "s1 new");
write_file("$s/swap2/s2.shtml", "s2");
rename "$s/swap", "$s/swap.away" or die;
rename "$s/swap2", "$s/swap" or die;
system('rm', '-rf', "$s/swap.away");
unlink "$s/about.shtml";
# removed and made again under the same name (often with the same inode)
system('rm', '-rf', "$s/rec");
write_file("$s/rec/r1.shtml", "r1 new");
write_file("$s/rec/r2.shtml", "r2");
write_file("$f/jpulse-x.css", "fw v2");
$main::Result = main::wait_tree(join '', map { "$_\n" }
    'about.shtml=about fw', 'deep/a/b/c/page.shtml=deep v2',
    'jpulse-x.css=fw v2|site',
    (map { "keep/k$_.shtml=keep $_" } sort { $a cmp $b } 1 .. 16),
    'new/x/n2.shtml=n2', 'new/x/y/n1.shtml=n1',
    'rec/r1.shtml=r1 new', 'rec/r2.shtml=r2',
    'renamed/o1.shtml=o1', 'swap/s1.shtml=s1 new', 'swap/s2.shtml=s2');
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
ok



=== TEST 3: nothing was held, nothing refused, no error in the log
--- pre_request
$main::Result = join '', map { s/^.*? cachectl\[\d+\] //r . "\n" }
    grep { / (warn|error): / } split /\n/,
    CachectlTest::daemon_log($main::Daemon);
CachectlTest::daemon_stop($main::Daemon);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
