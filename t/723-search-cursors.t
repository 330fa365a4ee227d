# Cursors are signed and bound: a tampered, foreign-collection, garbled,
# oversized cursor, or one signed by a key no longer configured, is 400
# INVALID_CURSOR; a rotated key (second in the list) still verifies; with
# jpulse_search_cursor_fallback on, a bad cursor is jPulse's silent first
# page.
use lib 't/lib';
use MongoTest ();
use SearchTest qw(search line forge_cursor);
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

SearchTest::seed_users('t723', 30);
SearchTest::blocks(db => 't723', http => "large_client_header_buffers 4 32k;\n");

our ($Result, $Next, $LogNext);

sub main::c {
    my ($path, $cursor) = @_;
    my $u = $cursor;
    $u =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
    my $got = line(search("$path&cursor=$u"));
    return $got =~ s/^(200 n=\d+|\d+ [A-Z_]+) .*/$1/r;
}

# TESTs 2-4 change the keys by a reload (HUP), as an operator would
$ENV{TEST_NGINX_USE_HUP} = 1;

repeat_each(1);

plan tests => repeat_each() * blocks() * 3;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a good cursor; tampered, foreign, garbled, oversized ones
--- pre_request
my $r = '';
my ($st, $doc) = search('/api/1/user/search?limit=10&sort=username');
$main::Next = my $next = $doc->{pagination}{nextCursor};
$r .= "next page: " . main::c('/api/1/user/search?limit=10', $next) . "\n";
my ($p, $m) = split /\./, $next;
# one character of the payload changed
my $t = $p; substr($t, 5, 1) = substr($t, 5, 1) eq 'A' ? 'B' : 'A';
$r .= "tampered payload: " . main::c('/api/1/user/search?limit=10', "$t.$m") . "\n";
my $tm = $m; substr($tm, 3, 1) = substr($tm, 3, 1) eq 'A' ? 'B' : 'A';
$r .= "tampered mac: " . main::c('/api/1/user/search?limit=10', "$p.$tm") . "\n";
$r .= "mac dropped: " . main::c('/api/1/user/search?limit=10', $p) . "\n";
$r .= "on logs: " . main::c('/api/1/log/search?limit=10', $next) . "\n";
$r .= "garbled: " . main::c('/api/1/user/search?limit=10', '%%%not.base64') . "\n";
$r .= "jPulse's unsigned base64: " . main::c('/api/1/user/search?limit=10',
    MIME::Base64::encode_base64('{"v":1,"q":{},"s":{"_id":1},"l":10,"t":30,"lv":{"_id":"000000000000000000000005"},"d":1}', '')) . "\n";
$r .= "oversized: " . main::c('/api/1/user/search?limit=10', 'A' x 9000 . '.' . $m) . "\n";
# signed with the right key, but q asks for passwordHash: the server
# never trusts a cursor's filter beyond what the schema allows
my $forged = forge_cursor('{"v":1,"q":{"passwordHash":{"$regularExpression":{"pattern":"^x","options":""}}},"s":{"_id":1},"l":10,"t":30,"d":1}',
                          'users', 'not-the-secret-0123456789abcdef0123456789');
$r .= "signed by another key: " . main::c('/api/1/user/search?limit=10', $forged) . "\n";
$main::Result = $r;
--- response_body
next page: 200 n=10
tampered payload: 400 INVALID_CURSOR
tampered mac: 400 INVALID_CURSOR
mac dropped: 400 INVALID_CURSOR
on logs: 400 INVALID_CURSOR
garbled: 400 INVALID_CURSOR
jPulse's unsigned base64: 400 INVALID_CURSOR
oversized: 400 INVALID_CURSOR
signed by another key: 400 INVALID_CURSOR
--- no_error_log
[error]



=== TEST 2: key rotation: a new key first, the old one second: the old
cursor (TEST 1) still verifies
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t723;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET2;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET;
--- pre_request
my $r = "old cursor: " . main::c('/api/1/user/search?limit=10', $main::Next) . "\n";
my ($st, $doc) = search('/api/1/user/search?limit=10&sort=username');
$main::Next2 = $doc->{pagination}{nextCursor};
$r .= "new cursor: " . main::c('/api/1/user/search?limit=10', $main::Next2) . "\n";
$main::Result = $r;
--- response_body
old cursor: 200 n=10
new cursor: 200 n=10
--- no_error_log
[error]



=== TEST 3: the old key removed from the configuration (expired): its
cursor is 400, the new key's still good
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t723;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET2;
--- pre_request
my $r = "old cursor: " . main::c('/api/1/user/search?limit=10', $main::Next) . "\n";
$r .= "new cursor: " . main::c('/api/1/user/search?limit=10', $main::Next2) . "\n";
$main::Result = $r;
--- response_body
old cursor: 400 INVALID_CURSOR
new cursor: 200 n=10
--- no_error_log
[error]



=== TEST 4: jpulse_search_cursor_fallback on: a bad cursor is the first
page of the request's own filters, as jPulse does
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t723;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET2;
    jpulse_search_cursor_fallback on;
--- pre_request
my $r = "old cursor: " . line(search('/api/1/user/search?limit=3&cursor=' . $main::Next)) . "\n";
$r .= "garbled: " . line(search('/api/1/user/search?limit=3&status=inactive&cursor=xx')) . "\n";
$main::Result = $r;
--- response_body
old cursor: 200 n=3 1,2,3
garbled: 200 n=3 3,6,9
--- no_error_log
[error]
