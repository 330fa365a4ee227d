# jpulse_search's parameters on 30 seeded users: limit forms, sort forms
# (dotted included), cursor=true, offset, a filter of every type, users'
# name OR; passwordHash never returned, never an oracle (filter, sort,
# projection); jPulse's answer shape, HEAD.
use lib 't/lib';
use MongoTest ();
use SearchTest qw(search line oid);
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

SearchTest::seed_users('t721', 30);
SearchTest::blocks(db => 't721', main => "env TZ=UTC;\n");

our ($Result, $Leak);

# the rows in the sort's order, as line() shows them
sub main::want {
    my ($cmp, $filter, $limit) = @_;
    my @ids = grep { $filter ? $filter->(SearchTest::user_doc($_)) : 1 } 1 .. 30;
    @ids = sort { $cmp->(SearchTest::user_doc($a), SearchTest::user_doc($b)) } @ids if $cmp;
    splice @ids, $limit if $limit && @ids > $limit;
    return '200 n=' . @ids . ' ' . join ',', @ids;
}

sub main::fn { $_[0]{profile}{firstName} }

sub main::check {
    my ($path, $want) = @_;
    my ($st, $doc) = search($path);
    my $got = line($st, $doc);
    # the rows never carry it (an error may name the parameter sent)
    $main::Leak = 1 if !ref $doc || JSON::PP->new->encode($doc->{data} // []) =~ /passwordHash|secret/;
    return $got eq $want ? "ok $path\n" : "NOT OK $path: $got\n  want $want\n";
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3 + 3);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: limit forms (default 50, garbage and 0 give 50, clamped
1..1000), cursor=true is the first page
--- pre_request
my $r = '';
my $all = main::want();
$r .= main::check('/api/1/user/search', $all);
$r .= main::check('/api/1/user/search?limit=5', main::want(undef, undef, 5));
$r .= main::check('/api/1/user/search?limit=0', $all);
$r .= main::check('/api/1/user/search?limit=abc', $all);
$r .= main::check('/api/1/user/search?limit=-3', main::want(undef, undef, 1));
$r .= main::check('/api/1/user/search?limit=1000000', $all);
$r .= main::check('/api/1/user/search?cursor=true&limit=5', main::want(undef, undef, 5));
$r .= "leak\n" if $main::Leak;
$main::Result = $r;
--- response_body_like chomp
\A(ok [^\n]+\n){7}\z
--- no_error_log
[error]



=== TEST 2: sort forms: f, -f, f:1, f:-1, f:desc, a dotted path (ties
broken by _id in the first key's direction); a field outside the schema
(passwordHash) is 400 naming sort
--- pre_request
my $r = '';
my $asc = sub { $_[0]{username} cmp $_[1]{username} };
my $desc = sub { $_[1]{username} cmp $_[0]{username} };
$r .= main::check('/api/1/user/search?sort=username&limit=7', main::want($asc, undef, 7));
$r .= main::check('/api/1/user/search?sort=-username&limit=7', main::want($desc, undef, 7));
$r .= main::check('/api/1/user/search?sort=username:1&limit=7', main::want($asc, undef, 7));
$r .= main::check('/api/1/user/search?sort=username:-1&limit=7', main::want($desc, undef, 7));
$r .= main::check('/api/1/user/search?sort=username:desc&limit=7', main::want($desc, undef, 7));
$r .= main::check('/api/1/user/search?sort=profile.firstName&limit=12',
    main::want(sub { main::fn($_[0]) cmp main::fn($_[1]) or $_[0]{_id}{'$oid'} cmp $_[1]{_id}{'$oid'} }, undef, 12));
$r .= main::check('/api/1/user/search?sort=-profile.firstName&limit=12',
    main::want(sub { main::fn($_[1]) cmp main::fn($_[0]) or $_[1]{_id}{'$oid'} cmp $_[0]{_id}{'$oid'} }, undef, 12));
$r .= main::check('/api/1/user/search?sort=passwordHash', '400 INVALID_PARAMETER sort');
$r .= main::check('/api/1/user/search?sort=-passwordHash', '400 INVALID_PARAMETER sort');
$r .= "leak\n" if $main::Leak;
$main::Result = $r;
--- response_body_like chomp
\A(ok [^\n]+\n){9}\z
--- no_error_log
[error]



=== TEST 3: filters of every type, the name OR over first name, last
name and username, W-141 OR and wildcards; passwordHash as a filter is
ignored (a right and a wrong hash answer the same)
--- pre_request
my $r = '';
$r .= main::check('/api/1/user/search?status=inactive', main::want(undef, sub { $_[0]{status} eq 'inactive' }));
$r .= main::check('/api/1/user/search?roles=admin', main::want(undef, sub { grep { $_ eq 'admin' } @{ $_[0]{roles} } }));
$r .= main::check('/api/1/user/search?name=Ann', main::want(undef, sub { main::fn($_[0]) eq 'Ann' }));
$r .= main::check('/api/1/user/search?name=user00003', '200 n=1 3');
$r .= main::check('/api/1/user/search?name=Ann,Bob', main::want(undef, sub { main::fn($_[0]) =~ /^(Ann|Bob)$/ }));
$r .= main::check('/api/1/user/search?name=A*', main::want(undef, sub { main::fn($_[0]) =~ /^A/ }));
$r .= main::check('/api/1/user/search?username=user0001*', '200 n=10 10,11,12,13,14,15,16,17,18,19');
$r .= main::check('/api/1/user/search?username=user0001*;!*5', '200 n=9 10,11,12,13,14,16,17,18,19');
$r .= main::check('/api/1/user/search?loginCount=5', '200 n=1 5');
$r .= main::check('/api/1/user/search?_id=' . oid(5), '200 n=1 5');
$r .= main::check('/api/1/user/search?createdAt=2025-01-01&limit=3', '200 n=3 1,2,3');
$r .= main::check('/api/1/user/search?createdAt=2024', '200 n=0 ');
$r .= main::check('/api/1/user/search?passwordHash=%242b%2412%24secret1', main::want());
$r .= main::check('/api/1/user/search?passwordHash=wrong', main::want());
$r .= "leak\n" if $main::Leak;
$main::Result = $r;
--- response_body_like chomp
\A(ok [^\n]+\n){14}\z
--- no_error_log
[error]



=== TEST 4: offset mode (presence of offset), jPulse's shape
--- pre_request
my $r = '';
$r .= main::check('/api/1/user/search?offset=0&limit=10', main::want(undef, undef, 10));
$r .= main::check('/api/1/user/search?offset=25&limit=10', '200 n=5 26,27,28,29,30');
my ($st, $doc) = search('/api/1/user/search?offset=25&limit=10');
$r .= JSON::PP->new->canonical->encode($doc->{pagination}) . "\n";
$main::Result = $r;
--- response_body
ok /api/1/user/search?offset=0&limit=10
ok /api/1/user/search?offset=25&limit=10
{"hasMore":false,"limit":10,"mode":"offset","offset":25,"total":30}
--- no_error_log
[error]



=== TEST 5: the answer, byte for byte as jPulse's, no-store
--- request
GET /api/1/user/search?limit=2&sort=username
--- response_headers
Content-Type: application/json; charset=utf-8
Cache-Control: no-store
--- response_body_like chomp
\A\{"success":true,"message":"Found 2 users","data":\[\{"_id":"000000000000000000000001",.*"createdAt":"2025-01-01T00:00:10\.000Z".*"username":"user00001".*\},\{"_id":"000000000000000000000002",.*\}\],"count":2,"pagination":\{"mode":"cursor","total":30,"limit":2,"hasMore":true,"nextCursor":"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+","prevCursor":null\},"elapsed":\d+\}\z



=== TEST 6: HEAD: the headers, no body
--- request
HEAD /api/1/user/search?limit=2
--- response_headers
Content-Type: application/json; charset=utf-8
Cache-Control: no-store
--- response_body chomp
--- no_error_log
[error]



=== TEST 7: a projection that asks for passwordHash still never returns
it; the sort key is returned though the projection leaves it out (the
cursor is made of it)
--- config
    location = /ping { return 200 "pong\n"; }
    location /api/1/user/search {
        jpulse_search users schema=$TEST_NGINX_SEARCH_CONF/users.json
                      projection=$TEST_NGINX_HTML_DIR/p.json;
    }
--- user_files
>>> p.json
{"username":1,"passwordHash":1}
--- pre_request
my $r = '';
my ($st, $doc) = search('/api/1/user/search?limit=2&sort=-profile.lastName');
$r .= "$st keys: " . join(',', sort map { keys %$_ } $doc->{data}[0]) . "\n";
my ($st2, $doc2) = search('/api/1/user/search?limit=2&sort=-profile.lastName&cursor='
                          . $doc->{pagination}{nextCursor});
$r .= "$st2 next page: " . scalar(@{ $doc2->{data} }) . " rows\n";
$main::Result = $r;
--- response_body
200 keys: _id,profile,username
200 next page: 2 rows
--- no_error_log
[error]
