# date.* through nginx: jPulse's format tokens and IANA zones read from the
# system's tzdata by the worker (no TZ change, no localtime), the
# "browser" zone from the timezone cookie (user.timezone), the server's
# zone from the worker's TZ, and kept pages: a page whose output depends
# on the visitor's zone is rendered for every request, one that names its
# zone is kept.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

plan tests => repeat_each() * 15;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: format tokens, in jPulse's order, and named zones
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
--- config
    location / { jpulse_render; }
--- user_files eval
[["v/d/index.shtml", <<'T']]
{{let d="2025-01-18T14:53:20.123Z"}}[{{date.format vars.d}}]
[{{date.format vars.d format="%DATE%|%TIME%|%DATETIME%|%Y%|%M%|%D%|%H%|%MIN%|%SEC%|%MS%|%%|%m%|%S%"}}]
[{{date.format vars.d format="YYYY-MM-DD"}}]
[{{date.format vars.d timezone="America/New_York"}}]
[{{date.format vars.d timezone="Asia/Kolkata"}}]
[{{date.format vars.d timezone="Europe/London"}}]
[{{date.format vars.d timezone="Bad/Zone"}}|{{date.format vars.d timezone="../../etc/passwd"}}]
[{{date.format "1850-01-18T14:53:20.123Z" timezone="America/New_York"}}]
[{{date.format "2025-03-30T01:30:00Z" timezone="Europe/Berlin"}}]
[{{date.format ""}}|{{date.format nope}}|{{date.format 0}}]
[{{date.parse "2025-01-18T14:53:20Z"}}|{{date.parse "0"}}|{{date.parse "bad"}}]
[{{date.add vars.d value=1 unit="months"}}|{{date.diff "2025-01-18T00:00Z" "2025-01-25T12:00Z" unit="days"}}]
T
--- request
GET /d/
--- response_body
[2025-01-18T14:53:20.123Z]
[2025-01-18|14:53|2025-01-18 14:53|2025|01|18|14|53|20|123|%%|%m%|%S%]
[YYYY-MM-DD]
[2025-01-18T09:53:20.123-05:00]
[2025-01-18T20:23:20.123+05:30]
[2025-01-18T14:53:20.123Z]
[2025-01-18T14:53:20.123Z|2025-01-18T14:53:20.123Z]
[1850-01-18T09:57:18.123-04:56.03333333333336]
[2025-03-30T03:30:00.000+02:00]
[||1970-01-01T00:00:00.000Z]
[1737212000000|946684800000|]
[1739890400123|7.5]
--- no_error_log
[error]



=== TEST 2: timezone="browser" follows the timezone cookie, else the
server's zone (the worker's TZ); "server" is the worker's TZ; the page is
rendered again for each visitor even with a long check interval
--- main_config
env TZ=America/New_York;
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
    jpulse_template_check_interval 1h;
--- config
    location / { jpulse_render; }
--- user_files eval
[["v/b/index.shtml", <<'T']]
{{date.format "2025-01-18T14:53:20.123Z" timezone="browser"}} {{date.format "2025-01-18T14:53:20.123Z" format="%DATETIME%" timezone="user"}} {{date.format "2025-01-18T14:53:20.123Z" timezone="server"}} {{date.parse "2025-01-18T10:00"}}
T
--- request eval
["GET /b/", "GET /b/", "GET /b/", "GET /b/"]
--- more_headers eval
["Cookie: timezone=Asia/Tokyo",
 "Cookie: a=b; timezone=Europe/Berlin",
 "Cookie: timezone=<script>",
 ""]
--- response_body eval
["2025-01-18T23:53:20.123+09:00 2025-01-18 23:53 2025-01-18T09:53:20.123-05:00 1737212400000\n",
 "2025-01-18T15:53:20.123+01:00 2025-01-18 15:53 2025-01-18T09:53:20.123-05:00 1737212400000\n",
 "2025-01-18T09:53:20.123-05:00 2025-01-18 09:53 2025-01-18T09:53:20.123-05:00 1737212400000\n",
 "2025-01-18T09:53:20.123-05:00 2025-01-18 09:53 2025-01-18T09:53:20.123-05:00 1737212400000\n"]
--- no_error_log
[error]



=== TEST 3: date.fromNow and date.add against the clock; the example
site's tide clock in jPulse's tokens
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
--- config
    location / { jpulse_render; }
--- user_files eval
[["v/f/index.shtml", <<'T']]
[{{date.fromNow (date.add value=-3 unit="days")}}|{{date.fromNow (date.add value=-26 unit="hours") format="short 1"}}|{{date.fromNow}}]
[{{date.format (date.now) format="%DATETIME%"}}]
T
--- request
GET /f/
--- response_body_like
\A\[3 days ago\|1d ago\|\]
\[\d{4}-\d\d-\d\d \d\d:\d\d\]
\z
--- no_error_log
[error]
