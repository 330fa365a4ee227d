# The walk of the view roots never leaves them and never deletes what it
# did not see. A directory it cannot read (here: out of descriptors, the
# error that root, who runs the tests, still gets), or more files than the
# limit (lowered for the test by CACHECTL_TEST_FILES_MAX) make the walk
# incomplete: additions and changes are published, deletions are held,
# and the log says so. Directory links out of the root (/etc, a sibling
# directory) are not followed and said once; a link inside the root is
# published under its name; a link loop ends.
#
# The one-shot `cachectl sync` drives the publisher. A private
# redis-server, a namespace per block.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Dir = CachectlTest::tmpdir();
our $Site = 't341';     # one site per block: a namespace of its own
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}");
our $Result;

# "exit N" and the log lines matching $re, without their prefix
sub main::sync {
    my ($re, @args) = @_;
    my ($code, $out, $err) = CachectlTest::cachectl(@main::Cli, '--site-id',
                                                    $main::Site, 'sync', @args);
    return "exit $code\n" . join '', map { s/^.*? cachectl\[\d+\] //r . "\n" }
        grep { $_ =~ $re } split /\n/, $err;
}

sub main::index_paths {
    my ($dir) = @_;
    my $i = CachectlTest::tpl_index($main::Redis, "$main::Site:prod:");
    return join(' ', sort grep { m{^\Q$dir\E/} } keys %$i) . "\n";
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a directory that cannot be opened (no descriptor left:
prlimit --nofile=4, Redis holds the fourth) publishes nothing and deletes
nothing; the log says the walk was incomplete
--- pre_request
my $v = "$main::Dir/fd";
$main::Site = 't341a';
write_file("$v/fd/top.shtml", "<p>top</p>\n");
write_file("$v/fd/a/b/deep.shtml", "<p>deep</p>\n");
$main::Result = "first: " . main::sync(qr/walk/, '--views', $v)
    . "index: " . main::index_paths('fd');
my $bin = CachectlTest::cachectl_bin();
my $err = `prlimit --nofile=4 $bin @main::Cli --site-id $main::Site sync --views $v 2>&1 >/dev/null`;
$main::Result .= "short of descriptors: exit " . ($? >> 8) . "\n"
    . join('', map { s/^.*? cachectl\[\d+\] //r . "\n" }
                grep { /walk/ } split /\n/, $err)
    . "index: " . main::index_paths('fd');
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result =~ s/\Q$main::Dir\E/DIR/gr }
--- response_body
first: exit 0
index: fd/a/b/deep.shtml fd/top.shtml
short of descriptors: exit 1
warn: views: walk incomplete (DIR/fd: Too many open files): publishing additions and changes, no deletions
index: fd/a/b/deep.shtml fd/top.shtml



=== TEST 2: links: one to /etc and one to a directory beside the root
are not followed (said once), one inside the root is published under its
name, a loop ends
--- pre_request
my $v = "$main::Dir/links";
$main::Site = 't341b';
write_file("$v/ln/page.shtml", "<p>page</p>\n");
write_file("$main::Dir/outside/secret.shtml", "<p>secret</p>\n");
symlink '/etc', "$v/ln/etc" or die;
symlink "$main::Dir/outside", "$v/ln/outside" or die;
symlink 'page.shtml', "$v/ln/alias.shtml" or die;
mkdir "$v/ln/sub";
symlink '..', "$v/ln/sub/loop" or die;
$main::Result = main::sync(qr/ (warn|error): /, '--views', $v)
    . "index: " . main::index_paths('ln');
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result =~ s/\Q$main::Dir\E/DIR/gr }
--- response_body
exit 0
warn: views: 2 link(s) out of the roots, not followed: DIR/links/ln/etc -> /etc, ...
index: ln/alias.shtml ln/page.shtml



=== TEST 3: more files than the limit: the walk stops, nothing is
deleted, a new file in what it saw is still published
--- pre_request
my $v = "$main::Dir/limit";
$main::Site = 't341c';
write_file("$v/lim/f$_.shtml", "<p>$_</p>\n") for 1 .. 8;
$main::Result = "first: " . main::sync(qr/walk/, '--views', $v)
    . "index: " . scalar(() = main::index_paths('lim') =~ /\S+/g) . " files\n";
local $ENV{CACHECTL_TEST_FILES_MAX} = 5;
$main::Result .= "limit 5: " . main::sync(qr/walk/, '--views', $v)
    . "index: " . scalar(() = main::index_paths('lim') =~ /\S+/g) . " files\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
first: exit 0
index: 8 files
limit 5: exit 1
warn: views: walk incomplete (more than 5 files): publishing additions and changes, no deletions
index: 8 files
