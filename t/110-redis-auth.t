# jpulse_redis against a private redis-server that wants a password:
# AUTH from password= and password_file=, SELECT, unix sockets, and what a
# wrong password or database does (one clear line per connection, backoff,
# no flood).
use lib 't/lib';
use File::Temp ();
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start(requirepass => 'pa ss"word', unixsocket => 1);

my $dir = File::Temp::tempdir(CLEANUP => 1);
open my $fh, '>', "$dir/redis.pass" or die $!;
print $fh "pa ss\"word\n";
close $fh;
chmod 0644, "$dir/redis.pass";

$ENV{TEST_NGINX_AUTH_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_AUTH_REDIS_SOCKET} = $Redis->{socket};
$ENV{TEST_NGINX_PASSWORD_FILE} = "$dir/redis.pass";

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: password= authenticates both connections
--- http_config
    jpulse_redis 127.0.0.1:$TEST_NGINX_AUTH_REDIS_PORT "password=pa ss\"word";
--- config
    location /api/1/health/ { jpulse_health; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- request
GET /api/1/health/ready
--- response_body_like
"ready":true,"database":"not configured","redis":"connected"
--- no_error_log
[error]



=== TEST 2: password_file= (its final newline is not part of it), db=
--- http_config
    jpulse_redis 127.0.0.1:$TEST_NGINX_AUTH_REDIS_PORT
                 password_file=$TEST_NGINX_PASSWORD_FILE db=3;
--- config
    location /api/1/health/ { jpulse_health; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- request
GET /api/1/health/ready
--- response_body_like
"redis":"connected"
--- no_error_log
[error]



=== TEST 3: a unix socket
--- http_config
    jpulse_redis unix:$TEST_NGINX_AUTH_REDIS_SOCKET
                 password_file=$TEST_NGINX_PASSWORD_FILE;
--- config
    location /api/1/health/ { jpulse_health; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- request
GET /api/1/health/ready
--- response_body_like
"redis":"connected"
--- no_error_log
[error]



=== TEST 4: a wrong password: one line per connection, then quiet retries
--- http_config
    jpulse_redis 127.0.0.1:$TEST_NGINX_AUTH_REDIS_PORT password=wrong;
--- config
    location /api/1/health/ { jpulse_health; }
--- pre_request
Time::HiRes::sleep(1.5);
--- request
GET /api/1/health/ready
--- error_code: 503
--- response_body_like
"error":"Not ready: redis"
--- grep_error_log eval
qr/connection failed: handshake refused: WRONGPASS[^,]*/
--- grep_error_log_out
connection failed: handshake refused: WRONGPASS invalid username-password pair or user is disabled.
connection failed: handshake refused: WRONGPASS invalid username-password pair or user is disabled.



=== TEST 5: no password where one is needed
--- http_config
    jpulse_redis 127.0.0.1:$TEST_NGINX_AUTH_REDIS_PORT;
--- config
    location /api/1/health/ { jpulse_health; }
--- pre_request
Time::HiRes::sleep(0.5);
--- request
GET /api/1/health/ready
--- error_code: 503
--- response_body_like
"redis":"disconnected"
--- error_log
connection failed: NOAUTH Authentication required



=== TEST 6: a database that does not exist
--- http_config
    jpulse_redis 127.0.0.1:$TEST_NGINX_AUTH_REDIS_PORT
                 password_file=$TEST_NGINX_PASSWORD_FILE db=99;
--- config
    location /api/1/health/ { jpulse_health; }
--- pre_request
Time::HiRes::sleep(0.5);
--- request
GET /api/1/health/ready
--- error_code: 503
--- response_body_like
"redis":"disconnected"
--- error_log
connection failed: handshake refused: ERR DB index is out of range
