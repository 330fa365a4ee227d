# A batch that would delete more than --max-delete-share percent of the
# files Redis holds (default 50) publishes its additions and changes and
# holds the deletions, unless --force; the log says so once. 100 means no
# limit, 0 never deletes without --force. One deletion is always allowed
# (with a share above 0): in a tree of one or two pages any deletion is
# half of it, and one `rm` is what an editor does, not a broken deploy.
#
# The reproduction of the issue: `rm -f v/*`, a pause, `cp src/* v/`
# under the daemon: the index never drops to 0 entries. The rest drives
# the one-shot `cachectl sync`. A private redis-server, a namespace per
# case.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file daemon_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Dir = CachectlTest::tmpdir();
our $Result;

sub main::hlen {
    my ($site) = @_;
    my $n = JPulseTest::redis_cli($main::Redis, 'HLEN', "$site:prod:tplindex");
    chomp $n;
    return $n;
}

# a tree of $n files published under $site, $k of them removed, then one
# sync with @opt: "N files, K removed (opts): exit E, index I[, held]"
sub main::shrink {
    my ($site, $n, $k, @opt) = @_;
    my $v = "$main::Dir/$site";
    write_file("$v/p$_.shtml", "<p>$_</p>\n") for 1 .. $n;
    my @cli = ('--redis', "127.0.0.1:$main::Redis->{port}", '--site-id', $site);
    CachectlTest::cachectl(@cli, 'sync', '--views', $v);
    unlink "$v/p$_.shtml" for 1 .. $k;
    my ($code, $out, $err) = CachectlTest::cachectl(@cli, @opt, 'sync',
                                                    '--views', $v);
    my ($hold) = $err =~ /warn: views: (holding .*)/;
    return sprintf "%d files, %d removed%s: exit %s, index %d%s\n", $n, $k,
        @opt ? " (@opt)" : '', $code, main::hlen($site),
        $hold ? "\n  $hold" : '';
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: rm -f v/*, a pause, cp src/* v/ under the daemon: the
deletions are held (said once, and its end once), the index never drops
below 61 entries
--- pre_request
my $v = "$main::Dir/deploy";
write_file("$main::Dir/src/page$_.shtml", "<p>page $_</p>\n") for 1 .. 61;
write_file("$v/page$_.shtml", "<p>page $_</p>\n") for 1 .. 61;
my $d = daemon_start(redis => $main::Redis, site_id => 't342',
                     views => [$v], args => ['--rescan', 0]);
CachectlTest::poll_until(10, sub { main::hlen('t342') == 61 });
my $min = main::hlen('t342');
my $sample = sub { my $n = main::hlen('t342'); $min = $n if $n < $min; 0 };
unlink glob "$v/*";
CachectlTest::poll_until(5, sub {
    $sample->(); CachectlTest::daemon_log($d) =~ /holding/ }, 0.01);
CachectlTest::poll_until(1, $sample, 0.01);
system('sh', '-c', "cp $main::Dir/src/* $v/");
CachectlTest::poll_until(2, $sample, 0.01);
CachectlTest::daemon_stop($d);
$main::Result = "lowest index: $min\nindex now: " . main::hlen('t342') . "\n"
    . "said: " . CachectlTest::daemon_count($d, qr/warn: views: holding/) . "\n"
    . join '', map { s/^.*? cachectl\[\d+\] //r . "\n" }
        grep { /views: (holding|deletions)/ } split /\n/,
        CachectlTest::daemon_log($d);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
lowest index: 61
index now: 61
said: 1
warn: views: holding 61 deletion(s): 61 of the 61 files Redis holds, more than --max-delete-share 50%; --force deletes them
info: views: deletions no longer held



=== TEST 2: the share, --force, 0, 100, one deletion; plain sync holds all
--- pre_request
$main::Result = main::shrink('t342a', 4, 2, '--max-delete-share', 50)
    . main::shrink('t342b', 4, 3, '--max-delete-share', 50)
    . main::shrink('t342c', 4, 3, '--force')
    . main::shrink('t342d', 4, 4, '--max-delete-share', 100)
    . main::shrink('t342e', 4, 1, '--max-delete-share', 0)
    . main::shrink('t342f', 1, 1, '--max-delete-share', 50)
    . main::shrink('t342g', 10, 3, '--max-delete-share', 20)
    . main::shrink('t342h', 4, 1);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
4 files, 2 removed (--max-delete-share 50): exit 0, index 2
4 files, 3 removed (--max-delete-share 50): exit 1, index 4
  holding 3 deletion(s): 3 of the 4 files Redis holds, more than --max-delete-share 50%; --force deletes them
4 files, 3 removed (--force): exit 0, index 1
4 files, 4 removed (--max-delete-share 100): exit 0, index 0
4 files, 1 removed (--max-delete-share 0): exit 1, index 4
  holding 1 deletion(s): 1 of the 4 files Redis holds; deleting takes --force
1 files, 1 removed (--max-delete-share 50): exit 0, index 0
10 files, 3 removed (--max-delete-share 20): exit 1, index 10
  holding 3 deletion(s): 3 of the 10 files Redis holds, more than --max-delete-share 20%; --force deletes them
4 files, 1 removed: exit 1, index 4
  holding 1 deletion(s): 1 of the 4 files Redis holds; deleting takes --force
