# The search of the bench peer (bench/peers/node/search.js, the official
# MongoDB driver) and jpulse_search answer the same page: 300 users in
# the Mongo-wire test server, pages 1 and 2 of 50 by createdAt (ties
# every 4th user: _id breaks them), then by -createdAt and back by the
# prev cursor. Both sign cursors with the bench key
# (bench/search/cursor.secret), so a cursor of one side is the other's;
# the answers must be equal but for "elapsed" (the rows, their order, the
# counts, the cursors), passwordHash in neither; also page 2 of a
# filtered search by nginx's cursor (its q, its collation flag). What bench/scenarios/
# peer-search.conf then times.
use strict;
use warnings;

use lib 't/lib';
use Cwd ();
use JSON::PP ();
use MIME::Base64 ();
use MongoTest ();
use SearchTest ();
use BenchPeer;
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

my $Top = Cwd::getcwd();

SearchTest::seed_users('t765', 300);

$ENV{TEST_NGINX_BENCH_SECRET} = "$Top/bench/search/cursor.secret";
$ENV{TEST_NGINX_SEARCH_SCHEMA} = "$Top/conf/search/users.json";

# the bench peer, as bench/scenarios/peer-search.conf starts it
our $Peer = BenchPeer->start(args => [
    '--mongo', "mongodb://127.0.0.1:$ENV{TEST_NGINX_MONGO_PORT}",
    '--db', 't765']);
our $NodePort = $Peer->{port};

my $Json = JSON::PP->new->canonical;

sub uri { my ($s) = @_; $s =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge; $s }

# one side's answer, one line: status, count, the users (by number),
# total, hasMore
sub line {
    my ($who, $st, $doc) = @_;
    return "$who $st " . substr($doc, 0, 200) . "\n" unless ref $doc;
    my @n = map { hex $_->{_id} } @{ $doc->{data} // [] };
    my $ids = @n && $n[-1] - $n[0] == $#n ? "$n[0]-$n[-1]"
            : @n && $n[0] - $n[-1] == $#n ? "$n[0]-$n[-1]" : "@n";
    return sprintf "%s %s n=%s %s total=%s more=%s\n", $who, $st,
        $doc->{count} // '?', $ids, $doc->{pagination}{total} // '?',
        $doc->{pagination}{hasMore} ? 1 : 0;
}

# GET $path from both sides: their lines, "same answer" or where they
# differ, and whether a passwordHash came
sub both {
    my ($path) = @_;
    my ($s1, $ng) = SearchTest::search($path);
    my ($s2, $nd) = SearchTest::search($path, port => $NodePort);
    my $r = line('nginx', $s1, $ng) . line('node ', $s2, $nd);
    return ($r . "not JSON\n", $ng, $nd) unless ref $ng && ref $nd;

    my ($a, $b) = map { my %c = %$_; delete $c{elapsed}; $Json->encode(\%c) }
                  $ng, $nd;
    if ($a eq $b) {
        $r .= "same answer\n";
    } else {
        my $i = 0;
        $i++ while $i < length $a && substr($a, $i, 1) eq substr($b, $i, 1);
        $r .= "differ at $i: nginx ..." . substr($a, $i, 60)
            . " node ..." . substr($b, $i, 60) . "\n";
    }
    $r .= "passwordHash!\n" if "$a$b" =~ /passwordHash/;
    return ($r, $ng, $nd);
}

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('main_config', "thread_pool default threads=4;\n");
    $block->set_value('http_config',
        "jpulse_mongodb mongodb://127.0.0.1:$ENV{TEST_NGINX_MONGO_PORT}"
        . " db=t765;\n"
        . "jpulse_cursor_secret_file $ENV{TEST_NGINX_BENCH_SECRET};\n");
    $block->set_value('config', <<"CONF");
location = /ping { return 200 "pong\\n"; }
location /api/1/user/search {
    jpulse_search users schema=$ENV{TEST_NGINX_SEARCH_SCHEMA};
}
CONF
    $block->set_value('request', "GET /ping\n");
    $block->set_value('response_body_filters', sub { $main::Result });
});

our $Result;

repeat_each(1);
plan tests => repeat_each() * blocks() * 3;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: page 1 by createdAt: the same 50 users in the same order
--- pre_request
my ($r) = main::both('/api/1/user/search?limit=50&sort=createdAt');
$main::Result = $r;
--- response_body
nginx 200 n=50 1-50 total=300 more=1
node  200 n=50 1-50 total=300 more=1
same answer
--- no_error_log
[error]



=== TEST 2: page 2 by nginx's cursor, and node's cursor is the same one
--- pre_request
my ($r, $ng, $nd) = main::both('/api/1/user/search?limit=50&sort=createdAt');
my ($c1, $c2) = map { $_->{pagination}{nextCursor} // '' } $ng, $nd;
my $r2 = $c1 eq $c2 ? "page 1: the same nextCursor\n"
                    : "page 1: nextCursor differs: $c1 / $c2\n";
($r) = main::both('/api/1/user/search?cursor=' . main::uri($c1));
$main::Result = $r2 . $r;
--- response_body
page 1: the same nextCursor
nginx 200 n=50 51-100 total=300 more=1
node  200 n=50 51-100 total=300 more=1
same answer
--- no_error_log
[error]



=== TEST 3: -createdAt (a tie every 4th user: _id descending breaks
it): page 2 by each side's own cursor, then back to page 1 by prev
--- pre_request
my $path = '/api/1/user/search?limit=50&sort=-createdAt';
my ($r, $ng, $nd) = main::both($path);
my ($s1, $p2n) = SearchTest::search('/api/1/user/search?cursor='
    . main::uri($ng->{pagination}{nextCursor}));
my ($s2, $p2d) = SearchTest::search('/api/1/user/search?cursor='
    . main::uri($nd->{pagination}{nextCursor}), port => $main::NodePort);
$r .= main::line('nginx', $s1, $p2n) . main::line('node ', $s2, $p2d);
my ($b) = main::both('/api/1/user/search?cursor='
    . main::uri($p2d->{pagination}{prevCursor}));
$main::Result = $r . $b;
--- response_body
nginx 200 n=50 300-251 total=300 more=1
node  200 n=50 300-251 total=300 more=1
same answer
nginx 200 n=50 250-201 total=300 more=1
node  200 n=50 250-201 total=300 more=1
nginx 200 n=50 300-251 total=300 more=1
node  200 n=50 300-251 total=300 more=1
same answer
--- no_error_log
[error]



=== TEST 4: a filtered search's cursor (status=active: its q and the
collation flag in the cursor) from nginx: page 2 the same on both sides
--- pre_request
my ($st, $p1) = SearchTest::search('/api/1/user/search?limit=50&sort=createdAt&status=active');
my $c = $p1->{pagination}{nextCursor} // '';
my ($json) = split /\./, $c;
$json =~ tr{-_}{+/};
my $r = "page 1: $st n=$p1->{count}, cursor "
      . (MIME::Base64::decode_base64($json) =~ /"q":\{"status":"active"\}.*"c":1\}$/
         ? "with q and c" : "without: $json") . "\n";
my ($b) = main::both('/api/1/user/search?cursor=' . main::uri($c));
$main::Result = $r . $b;
--- response_body_like
^page 1: 200 n=50, cursor with q and c
nginx 200 n=50 [\d ]+ total=200 more=1
node  200 n=50 [\d ]+ total=200 more=1
same answer
$
--- no_error_log
[error]
