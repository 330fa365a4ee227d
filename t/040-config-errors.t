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
"jpulse_metrics" conflicts with "jpulse_health" in this location



=== TEST 10: identity directives belong to the http block
--- config
    location = /x { jpulse_mode dev; }
--- must_die
--- error_log
"jpulse_mode" directive is not allowed here



=== TEST 11: the same handler twice
--- config
    location = /x { jpulse_health; jpulse_health ready; }
--- must_die
--- error_log
"jpulse_health" directive is duplicate



=== TEST 12: jpulse_redis: a bad address
--- http_config
    jpulse_redis 127.0.0.1:99999;
--- config
--- must_die
--- error_log
invalid jpulse_redis address "127.0.0.1:99999": invalid port



=== TEST 13: jpulse_redis: an unknown parameter
--- http_config
    jpulse_redis 127.0.0.1 timeout=1s;
--- config
--- must_die
--- error_log
invalid jpulse_redis parameter "timeout=1s"



=== TEST 14: jpulse_redis: a timeout that is not a time
--- http_config
    jpulse_redis 127.0.0.1 command_timeout=soon;
--- config
--- must_die
--- error_log
invalid jpulse_redis parameter "command_timeout=soon"



=== TEST 15: jpulse_redis: password and password_file together
--- http_config
    jpulse_redis 127.0.0.1 password=a password_file=/etc/hostname;
--- config
--- must_die
--- error_log
jpulse_redis takes "password=" or "password_file=", not both



=== TEST 16: jpulse_redis: a password file that cannot be read
--- http_config
    jpulse_redis 127.0.0.1 password_file=/nonexistent/redis.pass;
--- config
--- must_die
--- error_log
jpulse_redis: cannot open password_file "/nonexistent/redis.pass"



=== TEST 17: jpulse_redis: a host that does not resolve
--- http_config
    jpulse_redis no-such-host.invalid:6379;
--- config
--- must_die
--- error_log eval
qr/invalid jpulse_redis address "no-such-host.invalid:6379": host not found|host not found in "no-such-host.invalid:6379"/



=== TEST 18: jpulse_metrics without a zone is allowed, with a warning
--- config
    location = /m { jpulse_metrics; }
--- request
GET /m
--- error_code: 200
--- error_log
jpulse_metrics is used without jpulse_metrics_zone



=== TEST 19: jpulse_heartbeat: a time that is not a time
--- http_config
    jpulse_heartbeat interval=soon;
--- config
--- must_die
--- error_log
invalid jpulse_heartbeat parameter "interval=soon"



=== TEST 20: jpulse_heartbeat: a TTL no longer than the interval
--- http_config
    jpulse_heartbeat interval=10s ttl=5s;
--- config
--- must_die
--- error_log
jpulse_heartbeat ttl must be longer than its interval
