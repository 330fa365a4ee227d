# Keyset paging: 10,000 users paged forward to the end and back to the
# start by prev cursors (limit=1000, sorted by createdAt with ties every
# 4th row, and by _id), and 1,000 of them by 50 on a dotted sort key with
# 7 distinct values (ties everywhere): no row missing or repeated, in
# order both ways, prev right from every page. The test server scans on
# every page (no index): the long walk uses big pages.
use lib 't/lib';
use MongoTest ();
use SearchTest qw(walk oid);
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

SearchTest::seed_users('t722', 10000);
SearchTest::seed_users('t722s', 1000);

SearchTest::blocks(db => 't722', config => <<'CONF');
location /small/search {
    jpulse_search users schema=$TEST_NGINX_SEARCH_CONF/users.json;
}
CONF

our $Result;

sub main::doc { SearchTest::user_doc($_[0]) }
sub main::t { my $d = main::doc($_[0]); $d->{createdAt}{'$date'} }
sub main::fn { main::doc($_[0])->{profile}{firstName} }

repeat_each(1);

plan tests => repeat_each() * blocks() * 3;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: 10,000 by _id, 1000 a page
--- pre_request
$main::Result = walk('/api/1/user/search?limit=1000', [ map { oid($_) } 1 .. 10000 ]) . "\n";
--- response_body
ok 10 pages
--- no_error_log
[error]



=== TEST 2: 10,000 by -createdAt (a tie every 4th row: _id breaks it,
descending as the first key)
--- pre_request
my @ids = sort { main::t($b) cmp main::t($a) or $b <=> $a } 1 .. 10000;
$main::Result = walk('/api/1/user/search?limit=1000&sort=-createdAt', [ map { oid($_) } @ids ]) . "\n";
--- response_body
ok 10 pages
--- no_error_log
[error]



=== TEST 3: 1,000 by profile.firstName (7 values), 50 a page, and
with a filter that the cursor carries
--- config
    location = /ping { return 200 "pong\n"; }
    location /api/1/user/search {
        jpulse_search users schema=$TEST_NGINX_SEARCH_CONF/users.json;
    }
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t722s;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET;
--- pre_request
my @ids = sort { main::fn($a) cmp main::fn($b) or $a <=> $b } 1 .. 1000;
my $r = walk('/api/1/user/search?limit=50&sort=profile.firstName', [ map { oid($_) } @ids ]) . "\n";
@ids = sort { $b <=> $a } grep { main::doc($_)->{status} eq 'active' } 1 .. 1000;
$r .= walk('/api/1/user/search?limit=50&sort=_id:-1&status=active', [ map { oid($_) } @ids ]) . "\n";
$main::Result = $r;
--- response_body
ok 20 pages
ok 14 pages
--- no_error_log
[error]
