# A cursor is good in every worker and every instance that shares the
# cursor secret (no per-process key), and refused by an instance with
# another secret.
use lib 't/lib';
use MongoTest ();
use JPulseTest ();
use SearchTest qw(search line);
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

SearchTest::seed_users('t729', 40);
SearchTest::blocks(db => 't729');

our $Result;

repeat_each(1);

plan tests => repeat_each() * blocks() * 3;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: another instance (2 workers) with the same secret serves
the next pages; one with another secret refuses the cursor
--- pre_request
my $mongo = "jpulse_mongodb mongodb://127.0.0.1:$ENV{TEST_NGINX_MONGO_PORT} db=t729;";
my $loc = 'location /api/1/user/search { jpulse_search users; }';
my $same = JPulseTest::nginx_start(workers => 2, config => $loc,
    http => "$mongo\njpulse_cursor_secret $SearchTest::Secret;");
my $other = JPulseTest::nginx_start(workers => 1, config => $loc,
    http => "$mongo\njpulse_cursor_secret $SearchTest::Secret2;");
my ($st, $doc) = search('/api/1/user/search?limit=10&sort=-username');
my $r = "here: " . line($st, $doc) . "\n";
my $next = $doc->{pagination}{nextCursor};
my %seen;
for (1 .. 6) {
    my $l = line(search("/api/1/user/search?limit=10&cursor=$next", port => $same->{port}));
    $seen{$l}++;
}
$r .= "same secret, 6 times: $_\n" for sort keys %seen;
$r .= "another secret: " . line(search("/api/1/user/search?limit=10&cursor=$next", port => $other->{port})) . "\n";
JPulseTest::nginx_stop($same);
JPulseTest::nginx_stop($other);
$main::Result = $r;
--- response_body
here: 200 n=10 40,39,38,37,36,35,34,33,32,31
same secret, 6 times: 200 n=10 30,29,28,27,26,25,24,23,22,21
another secret: 400 INVALID_CURSOR cursor
--- no_error_log
[error]
