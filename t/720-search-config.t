# jpulse_search's configuration: what nginx -t refuses (no cursor secret,
# a short one, no schema, no jpulse_mongodb, a bad collection name), and
# a request that is not GET or HEAD (405, body discarded on keep-alive).
use lib 't/lib';
use MongoTest ();
use SearchTest ();
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2 + 8);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: without a cursor secret nginx -t fails: cursors must verify
in every worker and every instance
--- main_config
    thread_pool default threads=2;
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t720;
--- config
    location /api/1/user/search {
        jpulse_search users schema=$TEST_NGINX_SEARCH_CONF/users.json;
    }
--- must_die
--- error_log
"jpulse_search users" needs "jpulse_cursor_secret" or "jpulse_cursor_secret_file"



=== TEST 2: a secret under 32 bytes is refused
--- main_config
    thread_pool default threads=2;
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t720;
    jpulse_cursor_secret 0123456789abcdef0123456789abcde;
--- config
--- must_die
--- error_log
a cursor secret needs at least 32 bytes, this one has 31



=== TEST 3: a secret file's final newline is not counted
--- main_config
    thread_pool default threads=2;
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t720;
    jpulse_cursor_secret_file $TEST_NGINX_HTML_DIR/secret;
--- config
--- user_files
>>> secret
0123456789abcdef0123456789abcde
--- must_die
--- error_log
a cursor secret needs at least 32 bytes, this one has 31



=== TEST 4: without schema= the search is refused (nothing would say
which fields may be filtered, sorted on or returned)
--- main_config
    thread_pool default threads=2;
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t720;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET;
--- config
    location /s { jpulse_search widgets; }
--- must_die
--- error_log
"jpulse_search widgets" needs schema=FILE



=== TEST 5: without jpulse_mongodb
--- http_config
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET;
--- config
    location /api/1/user/search {
        jpulse_search users schema=$TEST_NGINX_SEARCH_CONF/users.json;
    }
--- must_die
--- error_log
"jpulse_search" needs "jpulse_mongodb" at the http level



=== TEST 6: collection names MongoDB would refuse
--- main_config
    thread_pool default threads=2;
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t720;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET;
--- config
    location /s {
        jpulse_search system.users schema=$TEST_NGINX_SEARCH_CONF/users.json;
    }
--- must_die
--- error_log
invalid collection name "system.users"



=== TEST 7: an unknown parameter
--- main_config
    thread_pool default threads=2;
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t720;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET;
--- config
    location /s {
        jpulse_search users schema=$TEST_NGINX_SEARCH_CONF/users.json
                      sort=name;
    }
--- must_die
--- error_log
invalid parameter "sort=name"



=== TEST 8: a projection that is not a JSON object
--- main_config
    thread_pool default threads=2;
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t720;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET;
--- config
    location /s {
        jpulse_search users schema=$TEST_NGINX_SEARCH_CONF/users.json
                      projection=$TEST_NGINX_HTML_DIR/p.json;
    }
--- user_files
>>> p.json
["username"]
--- must_die
--- error_log
projection "



=== TEST 9: POST is 405 with Allow, its body discarded: the next
request on the connection is served
--- main_config
    thread_pool default threads=2;
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t720;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET;
--- config
    location /api/1/user/search {
        jpulse_search users schema=$TEST_NGINX_SEARCH_CONF/users.json;
    }
--- pipelined_requests eval
["POST /api/1/user/search\n{\"a\":1}", "GET /api/1/user/search?limit=1"]
--- error_code eval
[405, 200]
--- response_body_like eval
['"code":"METHOD_NOT_ALLOWED"', '^\{"success":true,"message":"Found 0 users","data":\[\],"count":0,"pagination":\{"mode":"cursor","total":0,"limit":1,"hasMore":false,']
--- no_error_log
[error]



=== TEST 10: users and logs without schema= use jPulse's built-in
schemas (passwordHash still refused as a sort key)
--- main_config
    thread_pool default threads=2;
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t720;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET;
--- config
    location /api/1/user/search { jpulse_search users; }
    location /api/1/log/search { jpulse_search logs; }
--- pipelined_requests eval
["GET /api/1/user/search?limit=1", "GET /api/1/log/search?limit=1", "GET /api/1/user/search?sort=passwordHash"]
--- error_code eval
[200, 200, 400]
--- response_body_like eval
['^\{"success":true,"message":"Found 0 users",', '^\{"success":true,"message":"Found 0 log entries",', '"code":"INVALID_PARAMETER"']
--- no_error_log
[error]



=== TEST 11: a projection MongoDB would refuse on every search
--- main_config
    thread_pool default threads=2;
--- http_config
    jpulse_mongodb mongodb://127.0.0.1:$TEST_NGINX_MONGO_PORT db=t720;
    jpulse_cursor_secret $TEST_NGINX_SEARCH_SECRET;
--- config
    location /s {
        jpulse_search users projection=$TEST_NGINX_HTML_DIR/p.json;
    }
--- user_files
>>> p.json
{"_id":0,"username":1,"email":0}
--- must_die
--- error_log
p.json": mixes inclusions and exclusions
