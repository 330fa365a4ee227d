# jpulse_mongodb: what can be wrong is found by nginx -t, with a message
# that names it (mongoc's own for the URI, the fix for a missing thread
# pool); nothing is connected at configuration time.
use lib 't/lib';
use File::Temp ();
use Test::Nginx::Socket;

our $Dir = File::Temp::tempdir('jpulse-t700-XXXXXX', TMPDIR => 1,
                               CLEANUP => 1);

for (['pw', "s3cret\n"], ['empty', "\n"]) {
    open my $fh, '>', "$Dir/$_->[0]" or die $!;
    print $fh $_->[1];
    close $fh;
}

$ENV{TEST_NGINX_T700_DIR} = $Dir;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2 + 1);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a URI mongoc refuses: its message
--- http_config
    jpulse_mongodb http://127.0.0.1/db;
--- config
--- must_die
--- error_log
invalid jpulse_mongodb URI: Invalid URI Schema, expecting 'mongodb://' or 'mongodb+srv://'



=== TEST 2: no database: neither db= nor the URI's
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:1/;
--- config
--- must_die
--- error_log
jpulse_mongodb needs a database: "db=NAME" or the URI's "/NAME"



=== TEST 3: a database name MongoDB would refuse
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:1/ db=a.b;
--- config
--- must_die
--- error_log
jpulse_mongodb: invalid database name "a.b"



=== TEST 4: a thread pool nobody declared: what to add, and where
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:1/jp thread_pool=mongo;
--- config
--- must_die
--- error_log eval
qr/unknown thread pool "mongo" in \S+nginx\.conf \(jpulse_mongodb thread_pool=mongo needs "thread_pool mongo threads=4;" in the main context, outside http\{\}\), line:\d+/



=== TEST 5: declared (after http{} is fine too): accepted
--- main_config
    thread_pool mongo threads=2;
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:1/jp thread_pool=mongo;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok



=== TEST 6: bad sizes and numbers
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:1/jp pool_max=0;
--- config
--- must_die
--- error_log
invalid jpulse_mongodb parameter "pool_max=0"



=== TEST 7: result_max below 1k
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:1/jp result_max=12;
--- config
--- must_die
--- error_log
invalid jpulse_mongodb parameter "result_max=12"



=== TEST 8: max_queue must be a number
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:1/jp max_queue=lots;
--- config
--- must_die
--- error_log
invalid jpulse_mongodb parameter "max_queue=lots"



=== TEST 8a: max_queue over 65536 (nginx's thread pool default): refused
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:1/jp max_queue=65537;
--- config
--- must_die
--- error_log
invalid jpulse_mongodb parameter "max_queue=65537"



=== TEST 9: a timeout of zero
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:1/jp timeout=0;
--- config
--- must_die
--- error_log
invalid jpulse_mongodb parameter "timeout=0"



=== TEST 10: an unknown parameter
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:1/jp pool=3;
--- config
--- must_die
--- error_log
invalid jpulse_mongodb parameter "pool=3"



=== TEST 11: twice
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:1/jp;
    jpulse_mongodb mongodb://127.0.0.1:1/jp2;
--- config
--- must_die
--- error_log
"jpulse_mongodb" directive is duplicate



=== TEST 12: password_file without a user in the URI
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:1/jp password_file=$TEST_NGINX_T700_DIR/pw;
--- config
--- must_die
--- error_log
jpulse_mongodb: "password_file=" needs a user name in the URI (mongodb://USER@host/db)



=== TEST 13: an empty password_file
--- http_config
    jpulse_mongodb mongodb://jp@127.0.0.1:1/jp password_file=$TEST_NGINX_T700_DIR/empty;
--- config
--- must_die
--- error_log eval
qr/jpulse_mongodb: password_file "\S+empty" is empty or holds a NUL byte/



=== TEST 14: a missing password_file
--- http_config
    jpulse_mongodb mongodb://jp@127.0.0.1:1/jp password_file=$TEST_NGINX_T700_DIR/nope;
--- config
--- must_die
--- error_log eval
qr/jpulse_mongodb: cannot open password_file "\S+nope"/



=== TEST 15: a password_file with a user: accepted, the password never
logged
--- http_config
    jpulse_mongodb mongodb://jp@127.0.0.1:1/jp password_file=$TEST_NGINX_T700_DIR/pw
                   timeout=200ms ping_interval=100ms max_queue=65536;
--- config
    location = /t { return 200 "ok\n"; }
--- request
GET /t
--- response_body
ok
--- no_error_log
s3cret
