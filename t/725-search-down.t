# The database goes away (its server killed): a search is 503
# DATABASE_UNAVAILABLE, pages that need no database are still served;
# once a server listens again on the same port, searches answer again
# (reconnect) without a restart of nginx. A private test server.
use lib 't/lib';
use MongoTest ();
use JPulseTest ();
use SearchTest qw(search line);
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

our $Port = SearchTest::free_port();
our $Pid = SearchTest::mongo_start($Port);
$SearchTest::SeedPort = $Port;
SearchTest::seed_users('t725', 20);

SearchTest::blocks(db => 't725', port => $Port,
    uri_opts => "/?serverSelectionTimeoutMS=1000&connectTimeoutMS=1000");

our $Result;

repeat_each(1);

plan tests => repeat_each() * blocks() * 3;

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: up, killed, restarted
--- pre_request
my $r = "up: " . line(search('/api/1/user/search?limit=3')) . "\n";
SearchTest::mongo_stop($main::Pid, 'KILL');
$r .= "down: " . line(search('/api/1/user/search?limit=3', timeout => 15)) . "\n";
$r .= "a page: " . (JPulseTest::http_get($Test::Nginx::Socket::ServerPort, '/ping'))[2];
$main::Pid = SearchTest::mongo_start($main::Port);
SearchTest::seed_users('t725', 20);
my $again = JPulseTest::poll_until(30, sub {
    line(search('/api/1/user/search?limit=3', timeout => 15)) =~ /^200/
}, 0.5);
$r .= "restarted: " . ($again ? line(search('/api/1/user/search?limit=3')) : 'never answered') . "\n";
$main::Result = $r;
--- response_body
up: 200 n=3 1,2,3
down: 503 DATABASE_UNAVAILABLE
a page: pong
restarted: 200 n=3 1,2,3
--- no_error_log
[alert]
