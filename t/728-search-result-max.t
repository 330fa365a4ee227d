# A page whose documents pass jpulse_mongodb's result_max= is a 500
# DATABASE_ERROR, logged at error with the size; a page under it is
# served.
use lib 't/lib';
use MongoTest ();
use SearchTest qw(search line);
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

SearchTest::seed_users('t728', 60);
SearchTest::blocks(db => 't728', uri_opts => ' result_max=16k');

our $Result;

repeat_each(1);

plan tests => repeat_each() * blocks() * 4;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: 2 rows fit, 50 do not
--- pre_request
$main::Result = "2 rows: " . line(search('/api/1/user/search?limit=2')) . "\n"
    . "50 rows: " . line(search('/api/1/user/search?limit=50')) . "\n";
--- response_body
2 rows: 200 n=2 1,2
50 rows: 500 DATABASE_ERROR
--- error_log eval
qr/jpulse search on "users": the result passed result_max \(\d+ bytes of JSON held, 16384 allowed\)/
--- no_error_log
[alert]
