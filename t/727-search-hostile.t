# Hostile query strings are a clear 400 (or a page: a value that is only
# odd, such as invalid UTF-8 or an operator-looking string, is matched as
# the literal it is), never a 500 nor a crash: %00, invalid UTF-8, 10k parameters, a 1 MB query string,
# repeated parameters, a long /regex/, operators as values; keep-alive
# and pipelined searches on one connection.
use lib 't/lib';
use MongoTest ();
use SearchTest qw(search line);
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

SearchTest::seed_users('t727', 10);
SearchTest::blocks(db => 't727', http => "large_client_header_buffers 4 2m;\n");

our $Result;

sub main::h {
    my ($label, $q) = @_;
    my ($st, $doc) = search("/api/1/user/search?$q", timeout => 20);
    my $l = line($st, $doc);
    $l = '200 a page' if $l =~ /^200 n=/;
    return "$label: $l\n";
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 3 + 6;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: hostile values
--- pre_request
my $r = '';
$r .= main::h('NUL in a filter', 'username=a%00b');
$r .= main::h('NUL in a name', 'user%00name=a');
$r .= main::h('NUL in sort', 'sort=username%00x');
$r .= main::h('invalid UTF-8', 'username=%C3%28%FF');
$r .= main::h('invalid UTF-8 name', '%FF%FE=1');
$r .= main::h('10k params', join '&', map { "p$_=1" } 1 .. 10000);
$r .= main::h('1 MB value', 'username=' . ('a' x (1024 * 1024)));
$r .= main::h('repeated limit', 'limit=5&limit=7');
$r .= main::h('repeated filter', 'status=active&status=inactive');
$r .= main::h('long regex', 'username=/' . ('a' x 300) . '/');
$r .= main::h('bad regex', 'username=/(/');
$r .= main::h('operator value', 'username[$ne]=x');
$r .= main::h('JSON value', 'username=%7B%22%24ne%22%3A1%7D');
$r .= main::h('deep AND', 'username=' . join(';', ('a') x 30));
$r .= main::h('bad percent', 'username=%G1%');
$r .= main::h('bad ObjectId', '_id=xyz');
$r .= main::h('bad date', 'createdAt=2025-13-45');
$main::Result = $r;
--- response_body
NUL in a filter: 400 INVALID_PARAMETER username
NUL in a name: 400 INVALID_PARAMETER query
NUL in sort: 400 INVALID_PARAMETER sort
invalid UTF-8: 200 a page
invalid UTF-8 name: 200 a page
10k params: 400 INVALID_PARAMETER query
1 MB value: 200 a page
repeated limit: 400 INVALID_PARAMETER limit
repeated filter: 400 INVALID_PARAMETER status
long regex: 400 INVALID_PARAMETER username
bad regex: 400 INVALID_PARAMETER username
operator value: 200 a page
JSON value: 200 a page
deep AND: 400 INVALID_PARAMETER username
bad percent: 200 a page
bad ObjectId: 400 INVALID_PARAMETER _id
bad date: 400 INVALID_PARAMETER createdAt
--- no_error_log
[alert]



=== TEST 2: keep-alive and pipelined searches on one connection
--- pipelined_requests eval
["GET /api/1/user/search?limit=2", "GET /api/1/user/search?limit=3&sort=-username", "HEAD /api/1/user/search?limit=1", "GET /api/1/user/search?sort=passwordHash"]
--- error_code eval
[200, 200, 200, 400]
--- response_body_like eval
['"count":2,', '"count":3,', '^$', '"code":"INVALID_PARAMETER"']
--- no_error_log
[error]
