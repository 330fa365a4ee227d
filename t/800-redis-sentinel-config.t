# jpulse_redis sentinel=... master=...: every configuration error is
# refused at load with a clear message; a good one loads.
use strict;
use warnings;

use lib 't/lib';
use File::Temp ();
use Test::Nginx::Socket;

our $SecretFile;

repeat_each(1);

$ENV{TEST_NGINX_T800_SECRET} = do {
    my $f = File::Temp->new(TEMPLATE => 'jpulse-t800-XXXXXX', TMPDIR => 1,
                            UNLINK => 1);
    print $f "sentinel secret\n";
    close $f;
    $main::SecretFile = $f;
    $f->filename;
};

plan tests => repeat_each() * (blocks() * 2 + 2);   # TEST 20, 22: no_error_log

no_shuffle();
run_tests();

__DATA__

=== TEST 1: sentinel= with an address too
--- http_config
    jpulse_redis 127.0.0.1:6379 sentinel=127.0.0.1:26379 master=jp;
--- config
--- must_die
--- error_log
jpulse_redis takes an address or "sentinel=", not both



=== TEST 2: sentinel= without master=
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379;
--- config
--- must_die
--- error_log
jpulse_redis "sentinel=" needs "master=" (the name the sentinels monitor)



=== TEST 3: master= without sentinel=
--- http_config
    jpulse_redis 127.0.0.1:6379 master=jp;
--- config
--- must_die
--- error_log
jpulse_redis "master=" is only for "sentinel="



=== TEST 4: master= alone (no address, no sentinel=)
--- http_config
    jpulse_redis master=jp;
--- config
--- must_die
--- error_log
jpulse_redis needs an address or "sentinel="



=== TEST 5: an empty list
--- http_config
    jpulse_redis sentinel= master=jp;
--- config
--- must_die
--- error_log
jpulse_redis "sentinel=" is empty



=== TEST 6: an empty address in the list
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379,,127.0.0.1:26380 master=jp;
--- config
--- must_die
--- error_log
jpulse_redis "sentinel=" has an empty address in "sentinel=127.0.0.1:26379,,127.0.0.1:26380"



=== TEST 7: a bad port
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379,127.0.0.1:99999 master=jp;
--- config
--- must_die
--- error_log
invalid jpulse_redis sentinel "127.0.0.1:99999": invalid port



=== TEST 8: port 0
--- http_config
    jpulse_redis sentinel=127.0.0.1:0 master=jp;
--- config
--- must_die
--- error_log eval
qr/invalid jpulse_redis sentinel (port in )?"127\.0\.0\.1:0"/



=== TEST 9: more than 16 sentinels
--- http_config
    jpulse_redis sentinel=127.0.0.1:1,127.0.0.1:2,127.0.0.1:3,127.0.0.1:4,127.0.0.1:5,127.0.0.1:6,127.0.0.1:7,127.0.0.1:8,127.0.0.1:9,127.0.0.1:10,127.0.0.1:11,127.0.0.1:12,127.0.0.1:13,127.0.0.1:14,127.0.0.1:15,127.0.0.1:16,127.0.0.1:17 master=jp;
--- config
--- must_die
--- error_log
jpulse_redis "sentinel=" has more than 16 sentinels



=== TEST 10: a name that does not resolve
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379,no-such-host.invalid:26379 master=jp;
--- config
--- must_die
--- error_log eval
qr/invalid jpulse_redis sentinel "no-such-host\.invalid:26379": host not found|host not found in "no-such-host\.invalid:26379"/



=== TEST 11: a unix socket as a sentinel
--- http_config
    jpulse_redis sentinel=unix:/tmp/s.sock master=jp;
--- config
--- must_die
--- error_log
invalid jpulse_redis sentinel "unix:/tmp/s.sock": a unix socket is not supported



=== TEST 12: an empty master=
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379 master=;
--- config
--- must_die
--- error_log
invalid jpulse_redis parameter "master="



=== TEST 13: sentinel= twice
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379 sentinel=127.0.0.1:26380 master=jp;
--- config
--- must_die
--- error_log
invalid jpulse_redis parameter "sentinel=127.0.0.1:26380"



=== TEST 14: sentinel_password and sentinel_password_file together
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379 master=jp sentinel_password=a sentinel_password_file=$TEST_NGINX_T800_SECRET;
--- config
--- must_die
--- error_log
jpulse_redis takes "sentinel_password=" or "sentinel_password_file=", not both



=== TEST 15: sentinel_password without sentinel=
--- http_config
    jpulse_redis 127.0.0.1:6379 sentinel_password=a;
--- config
--- must_die
--- error_log
jpulse_redis "sentinel_password=" is only for "sentinel="



=== TEST 16: a sentinel_password_file that cannot be read
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379 master=jp sentinel_password_file=/nonexistent/sentinel.pass;
--- config
--- must_die
--- error_log
jpulse_redis: cannot open password_file "/nonexistent/sentinel.pass"



=== TEST 17: a good one loads (port 26379 by default, a secret file, every option)
--- http_config
    jpulse_redis sentinel=127.0.0.1,127.0.0.1:26380 master=jp
                 sentinel_password_file=$TEST_NGINX_T800_SECRET db=2
                 password=p connect_timeout=200ms command_timeout=300ms
                 ping_interval=1s max_pending=100;
--- config
    location = /t { return 200 "loaded\n"; }
--- request
GET /t
--- response_body
loaded



=== TEST 18: master= with a space (+switch-master is split on spaces)
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379 "master=my master";
--- config
--- must_die
--- error_log
jpulse_redis "master=" must not contain spaces or control characters



=== TEST 19: master= given twice
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379 master=a master=b;
--- config
--- must_die
--- error_log
jpulse_redis parameter "master=" is given twice



=== TEST 20: sentinel_password= given twice: refused, the value not printed
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379 master=m sentinel_password=one
                 sentinel_password=s3cr3t;
--- config
--- must_die
--- error_log
jpulse_redis parameter "sentinel_password=" is given twice
--- no_error_log
s3cr3t



=== TEST 21: sentinel_password_file= given twice
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379 master=m
                 sentinel_password_file=/nonexistent/a
                 sentinel_password_file=/nonexistent/b;
--- config
--- must_die
--- error_log
jpulse_redis parameter "sentinel_password_file=" is given twice



=== TEST 22: a misspelt sentinel password: refused, the value not printed
--- http_config
    jpulse_redis sentinel=127.0.0.1:26379 master=m sentinel_pasword=hunter2;
--- config
--- must_die
--- error_log
invalid jpulse_redis parameter "sentinel_pasword=" (its value is not shown)
--- no_error_log
hunter2
