# Review of issue 10 (items 12, 13, 15): jpulse_site_id takes up to 64
# characters, so the namespace "<siteId>:<mode>:" is up to 70, but l2.c
# builds "<ns>gen" (poll, cache API), "<ns>cfg:app" and "<ns>cfg:site" in
# 64-byte stack buffers with ngx_snprintf, which truncates silently: with
# a long site id the cache API bumps, and every worker polls, a key that
# is not <ns>gen (peers never see the bump), and the config in Redis is
# never read.
use lib 't/lib';
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Site = 'a' x 64;
our $NS = "$Site:dev:";
our $Result;

$ENV{TEST_NGINX_T492_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_T492_SITE} = $Site;

repeat_each(1);

plan tests => repeat_each() * 2;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a refresh through the cache API bumps <ns>gen for a 64-character site id
--- http_config
    jpulse_site_id $TEST_NGINX_T492_SITE;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T492_REDIS_PORT;
--- config
    location = /result { return 200 "ok\n"; }
    location /api/1/cache/ { jpulse_cache_api; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
my ($status) = JPulseTest::http_get($Test::Nginx::Socket::ServerPort,
                                    '/api/1/cache/refresh/view',
                                    method => 'POST');
my $gen = JPulseTest::redis_cli($main::Redis, 'HGET', "${main::NS}gen",
                                'view');
chomp $gen;
my @keys = sort split /\n/, JPulseTest::redis_cli($main::Redis, 'KEYS', '*');
$main::Result = "refresh: $status\n<ns>gen view: "
    . (length $gen ? $gen : 'nil') . "\nkeys: "
    . join(' ', map { index($_, $main::NS) == 0
                          ? '<ns>' . substr($_, length $main::NS)
                          : '"' . substr($_, 0, 8) . '..." (' . length($_)
                            . ' chars)' } @keys)
    . "\n";
--- request
GET /result
--- response_body_filters eval
sub { $main::Result }
--- response_body
refresh: 200
<ns>gen view: 1
keys: <ns>gen
