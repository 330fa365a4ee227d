# jpulse_redis cluster=...: what cannot work in cluster mode is refused at
# load (db=, sentinel=, an address or a unix socket besides, an empty or
# bad seed); a namespace can never carry a '{' (the site id refuses it).
# A cluster nobody answers for loads: pages come from the disk, the
# health says Redis is down, and Redis is retried without flooding the
# log.
use strict;
use warnings;

use lib 't/lib';
use File::Temp ();
use JPulseTest ();
use SentinelTest qw(closed_port);
use Test::Nginx::Socket;

repeat_each(1);

our $Dir = File::Temp::tempdir('jpulse-t842-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;
JPulseTest::view_tree("$Dir/view", { 'news/index.shtml' => "from disk\n" });

$ENV{TEST_NGINX_T842_DIR} = $Dir;
$ENV{TEST_NGINX_T842_DEAD} = '127.0.0.1:' . closed_port() . ',127.0.0.1:'
                             . closed_port();

plan tests => repeat_each() * (blocks() * 2 + 3);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: cluster= with db=
--- http_config
    jpulse_redis cluster=127.0.0.1:7000 db=1;
--- config
--- must_die
--- error_log
jpulse_redis "db=" cannot be used with "cluster=" (a cluster has database 0 only)



=== TEST 2: cluster= with db=0 too (SELECT is not sent, but say so)
--- http_config
    jpulse_redis cluster=127.0.0.1:7000 db=0;
--- config
--- must_die
--- error_log
jpulse_redis "db=" cannot be used with "cluster="



=== TEST 3: cluster= with sentinel=
--- http_config
    jpulse_redis cluster=127.0.0.1:7000 sentinel=127.0.0.1:26379 master=m;
--- config
--- must_die
--- error_log
jpulse_redis "cluster=" cannot be used with "sentinel="



=== TEST 4: cluster= with an address
--- http_config
    jpulse_redis 127.0.0.1:6379 cluster=127.0.0.1:7000;
--- config
--- must_die
--- error_log
jpulse_redis "cluster=" cannot be used with an address



=== TEST 5: cluster= with a unix socket as the address
--- http_config
    jpulse_redis unix:/tmp/redis.sock cluster=127.0.0.1:7000;
--- config
--- must_die
--- error_log
jpulse_redis "cluster=" cannot be used with an address



=== TEST 6: a unix socket as a seed
--- http_config
    jpulse_redis cluster=unix:/tmp/redis.sock;
--- config
--- must_die
--- error_log
invalid jpulse_redis cluster "unix:/tmp/redis.sock": a unix socket is not supported



=== TEST 7: an empty list
--- http_config
    jpulse_redis cluster=;
--- config
--- must_die
--- error_log
jpulse_redis "cluster=" is empty



=== TEST 8: an empty seed in the list
--- http_config
    jpulse_redis cluster=127.0.0.1:7000,,127.0.0.1:7001;
--- config
--- must_die
--- error_log
jpulse_redis "cluster=" has an empty address in "cluster=127.0.0.1:7000,,127.0.0.1:7001"



=== TEST 9: a seed with a bad port
--- http_config
    jpulse_redis cluster=127.0.0.1:0;
--- config
--- must_die
--- error_log
invalid jpulse_redis cluster



=== TEST 10: cluster= given twice
--- http_config
    jpulse_redis cluster=127.0.0.1:7000 cluster=127.0.0.1:7001;
--- config
--- must_die
--- error_log
invalid jpulse_redis parameter "cluster=127.0.0.1:7001"



=== TEST 11: master= is still only for sentinel=
--- http_config
    jpulse_redis cluster=127.0.0.1:7000 master=m;
--- config
--- must_die
--- error_log
jpulse_redis "master=" is only for "sentinel="



=== TEST 12: a site id with a brace (it would break the groups' hash tags) is refused
--- http_config
    jpulse_site_id "a{b}";
    jpulse_redis cluster=127.0.0.1:7000;
--- config
--- must_die
--- error_log
invalid jpulse_site_id "a{b}"



=== TEST 13: nobody answers: it loads, pages from the disk, Redis is down
--- http_config
    jpulse_site_id t842;
    jpulse_redis cluster=$TEST_NGINX_T842_DEAD connect_timeout=200ms;
    jpulse_view_roots $TEST_NGINX_T842_DIR/view;
--- config
    location /api/1/health/ { jpulse_health; }
    location / { jpulse_render; }
--- request eval
["GET /news/", "GET /api/1/health/ready"]
--- error_code eval
[200, 503]
--- response_body_like eval
["from disk", '"redis":"(down|disconnected|error)"']
--- no_error_log
[alert]
