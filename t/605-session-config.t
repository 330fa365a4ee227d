# Sessions at the edge: configurations that nginx -t refuses, with a
# message that names the directive and the problem: sessions on without a
# secret, an empty secret, a secret file missing, empty or too long.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

repeat_each(1);

plan tests => repeat_each() * (blocks() * 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: jpulse_session on without a secret
--- http_config
    jpulse_session on;
--- config
--- must_die
--- error_log
"jpulse_session on" without "jpulse_session_secret" or "jpulse_session_secret_file"



=== TEST 2: on in a location, and no secret anywhere
--- config
    location /a { jpulse_session on; }
--- must_die
--- error_log
"jpulse_session on" without "jpulse_session_secret"



=== TEST 3: an empty secret
--- http_config
    jpulse_session_secret "";
--- config
--- must_die
--- error_log
"jpulse_session_secret" directive is empty



=== TEST 4: a secret file that does not exist
--- http_config
    jpulse_session_secret_file /nonexistent/secret;
--- config
--- must_die
--- error_log
jpulse_session_secret_file: cannot open "/nonexistent/secret"



=== TEST 5: a secret file with only a newline
--- http_config
    jpulse_session_secret_file $TEST_NGINX_HTML_DIR/secret;
--- user_files
>>> secret

--- config
--- must_die
--- error_log eval
qr/jpulse_session_secret_file: ".*secret" is empty/



=== TEST 6: a secret file over 4 KB
--- http_config
    jpulse_session_secret_file $TEST_NGINX_HTML_DIR/secret;
--- user_files eval
[["secret", "x" x 5000]]
--- config
--- must_die
--- error_log eval
qr/jpulse_session_secret_file: ".*secret" is longer than 4096 bytes/



=== TEST 7: an empty cookie name
--- http_config
    jpulse_session_cookie "";
--- config
--- must_die
--- error_log
jpulse_session_cookie: an empty name



=== TEST 8: a touch interval that is no time
--- http_config
    jpulse_session_touch_interval often;
--- config
--- must_die
--- error_log
"jpulse_session_touch_interval" directive invalid value



=== TEST 9: sessions off where no secret is: accepted
--- http_config
    jpulse_session off;
--- config
    location = /t { return 200 "[$jpulse_session_state]\n"; }
--- request
GET /t
--- response_body
[]
