# cachectl watches every symlink on the way to a view root (issue 11, item
# 5). With the views at app/current/webapp/view, a release swaps "current"
# (ln -sfn to a new name, then mv -T over it: one rename in app/); only
# the root's parent (webapp/ of the old release) was watched, so the swap
# was seen at the next rescan, never with --rescan 0. Now app/ is
# watched for "current": the swap is published at once, and the new
# release's tree is watched (an edit in it goes out too; the old one's is
# not watched any more).
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't353:prod:';
our $Dir = CachectlTest::tmpdir();

$ENV{TEST_NGINX_T353_DIR} = $Dir;

for my $r (1, 2) {
    write_file("$Dir/app/releases/r$r/webapp/view/home/index.shtml",
               "release $r\n");
    write_file("$Dir/app/releases/r$r/webapp/view/r$r.shtml", "only r$r\n");
}
symlink "releases/r1", "$Dir/app/current" or die "symlink: $!";

sub main::home {
    JPulseTest::redis_cli($main::Redis, 'HGET',
                          "${main::NS}tpl:home/index.shtml", 'source')
        =~ s/\s+\z//r;
}

# ln -sfn releases/rN current.tmp && mv -T current.tmp current
sub main::swap {
    my ($r) = @_;
    unlink "$main::Dir/app/current.tmp";
    symlink "releases/r$r", "$main::Dir/app/current.tmp" or die "symlink: $!";
    rename "$main::Dir/app/current.tmp", "$main::Dir/app/current"
        or die "rename: $!";
}

sub main::swaps {
    my $d = daemon_start(redis => $main::Redis, site_id => 't353',
                         views => ["$main::Dir/app/current/webapp/view"],
                         args => ['--rescan', 0, '--heartbeat', 1]);
    my $out = '';
    CachectlTest::daemon_wait_log($d, qr/published/, 5);
    $out .= "at start: " . main::home() . "\n";

    main::swap(2);
    CachectlTest::poll_until(8, sub { main::home() eq 'release 2' });
    $out .= "swapped to r2: " . main::home() . "\n";
    my $index = CachectlTest::tpl_index($main::Redis, $main::NS);
    $out .= "r2 only: " . ($index->{'r2.shtml'} ? 'yes' : 'no') . "\n";

    # the new release's tree is watched
    write_file("$main::Dir/app/releases/r2/webapp/view/home/index.shtml",
               "release 2, edited\n");
    CachectlTest::poll_until(8, sub { main::home() =~ /edited/ });
    $out .= "edit in r2: " . main::home() . "\n";

    # and the old one's not: an edit there is no event
    my $mark = CachectlTest::daemon_mark($d);
    write_file("$main::Dir/app/releases/r1/webapp/view/r1.shtml", "old\n");
    Time::HiRes::sleep(1);
    $out .= "edit in r1 published: "
          . CachectlTest::daemon_count($d, qr/published/, $mark) . "\n";

    main::swap(1);
    CachectlTest::poll_until(8, sub { main::home() eq 'release 1' });
    $out .= "swapped back: " . main::home() . "\n";
    CachectlTest::daemon_stop($d);
    write_file("$main::Dir/result1.txt", $out);
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a "current" symlink swapped three levels above the root is
seen at once with --rescan 0, and the new tree is watched
--- config
    location = /result { alias $TEST_NGINX_T353_DIR/result1.txt; }
--- pre_request
main::swaps();
--- request
GET /result
--- response_body
at start: release 1
swapped to r2: release 2
r2 only: yes
edit in r2: release 2, edited
edit in r1 published: 0
swapped back: release 1
