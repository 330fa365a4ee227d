# Every full walk (start, reconnect, rescan) compares with what Redis
# holds, not only with what the daemon wrote last: a tpl: key deleted
# behind its back, an index field deleted, a page overwritten by another
# writer are all put back at the next rescan. --dry-run plans the batch
# and writes nothing.
#
# A private redis-server, a namespace per block.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file daemon_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Dir = CachectlTest::tmpdir();
our $Result;

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }

# "path: source" for every page of the index, and whether its etag is the
# one of the tpl: key
sub main::pages {
    my ($ns) = @_;
    my $i = CachectlTest::tpl_index($main::Redis, $ns);
    my $out = '';
    for my $p (sort keys %$i) {
        my ($src, $etag) = split /\n/, main::rcli('HMGET', "${ns}tpl:$p",
                                                 'source', 'etag');
        $src = '(no key)' unless main::rcli('EXISTS', "${ns}tpl:$p");
        $out .= "$p: " . $src
              . ($i->{$p} =~ /:\Q$etag\E$/ ? '' : ' (index etag differs)')
              . "\n";
    }
    return $out;
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a deleted tpl: key, a deleted index field and a page another
writer replaced are repaired by the next rescan (--rescan 1)
--- pre_request
my $v = "$main::Dir/repair";
my $ns = 't343:prod:';
write_file("$v/$_.shtml", "<p>$_</p>") for qw(a b c d);
my $d = daemon_start(redis => $main::Redis, site_id => 't343',
                     views => [$v], args => ['--rescan', 1]);
CachectlTest::poll_until(10, sub { main::pages($ns) =~ /d.shtml/ });
main::rcli('DEL', "${ns}tpl:a.shtml");
main::rcli('HDEL', "${ns}tplindex", 'b.shtml');
main::rcli('HSET', "${ns}tpl:c.shtml", 'source', '<p>other</p>', 'etag', 'x');
main::rcli('HSET', "${ns}tplindex", 'c.shtml', '1:x');
$main::Result = "broken:\n" . main::pages($ns);
my $want = join '', map { "$_.shtml: <p>$_</p>\n" } qw(a b c d);
CachectlTest::poll_until(10, sub { main::pages($ns) eq $want });
$main::Result .= "after a rescan:\n" . main::pages($ns);
CachectlTest::daemon_stop($d);
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
broken:
a.shtml: (no key) (index etag differs)
c.shtml: <p>other</p>
d.shtml: <p>d</p>
after a rescan:
a.shtml: <p>a</p>
b.shtml: <p>b</p>
c.shtml: <p>c</p>
d.shtml: <p>d</p>



=== TEST 2: sync --dry-run writes nothing: the index, the pages and the
generation counter stay; the run itself succeeds
--- pre_request
my $v = "$main::Dir/dry";
my $ns = 't343d:prod:';
my @cli = ('--redis', "127.0.0.1:$main::Redis->{port}", '--site-id', 't343d');
write_file("$v/$_.shtml", "<p>$_</p>") for qw(a b c);
CachectlTest::cachectl(@cli, 'sync', '--views', $v);
my $before = main::pages($ns);
my $gen = CachectlTest::gen_counters($main::Redis, $ns)->{view};
write_file("$v/a.shtml", "<p>a2</p>");
write_file("$v/new.shtml", "<p>new</p>");
unlink "$v/b.shtml";
my ($code) = CachectlTest::cachectl(@cli, 'sync', '--dry-run', '--force',
                                    '--views', $v);
$main::Result = "exit $code\nunchanged: "
    . (main::pages($ns) eq $before ? 'yes' : "no:\n" . main::pages($ns))
    . "\ngen moved: "
    . (CachectlTest::gen_counters($main::Redis, $ns)->{view} - $gen) . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 0
unchanged: yes
gen moved: 0
