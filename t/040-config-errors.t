# A wrong directive fails configuration testing with a message that names
# the directive and the problem.
use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: jpulse_mode takes dev or prod
--- http_config
    jpulse_mode staging;
--- config
--- must_die
--- error_log
invalid jpulse_mode "staging": expected "dev" or "prod"



=== TEST 2: jpulse_site_id must be usable in a Redis namespace
--- http_config
    jpulse_site_id "a:b";
--- config
--- must_die
--- error_log
invalid jpulse_site_id "a:b": only letters, digits, "-" and "_" are allowed



=== TEST 3: jpulse_site_id length
--- http_config
    jpulse_site_id aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;
--- config
--- must_die
--- error_log
must be 1 to 64 characters



=== TEST 4: jpulse_health takes status or ready
--- config
    location = /h { jpulse_health live; }
--- must_die
--- error_log
invalid jpulse_health "live": expected "status" or "ready"



=== TEST 5: jpulse_metrics takes json or prometheus
--- config
    location = /m { jpulse_metrics xml; }
--- must_die
--- error_log
invalid jpulse_metrics format "xml": expected "json" or "prometheus"



=== TEST 6: a zone size that is not a size
--- http_config
    jpulse_metrics_zone jpulse lots;
--- config
--- must_die
--- error_log
invalid jpulse_metrics_zone size "lots"



=== TEST 7: a zone too small to be useful
--- http_config
    jpulse_metrics_zone jpulse 4k;
--- config
--- must_die
--- error_log eval
qr/jpulse_metrics_zone "jpulse" is too small: 4k, at least \d+k is needed/



=== TEST 8: one zone per http block
--- http_config
    jpulse_metrics_zone a 1m;
    jpulse_metrics_zone b 1m;
--- config
--- must_die
--- error_log
"jpulse_metrics_zone" directive is duplicate



=== TEST 9: two handlers in one location
--- config
    location = /x { jpulse_health; jpulse_metrics; }
--- must_die
--- error_log
"jpulse_metrics" directive is duplicate



=== TEST 10: identity directives belong to the http block
--- config
    location = /x { jpulse_mode dev; }
--- must_die
--- error_log
"jpulse_mode" directive is not allowed here



=== TEST 11: jpulse_metrics without a zone is allowed, with a warning
--- config
    location = /m { jpulse_metrics; }
--- request
GET /m
--- error_code: 200
--- error_log
jpulse_metrics is used without jpulse_metrics_zone
