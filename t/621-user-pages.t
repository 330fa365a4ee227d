# Pages for signed-in users (issue 14): user.* exactly as jPulse's view
# controller builds it from the session (jpulse-view-pipeline.md 3.3),
# isAdmin and the /admin/ gate from siteConfig's general.adminRoles (the
# 403 message lists them, sorted), appConfig through the withAuth filter,
# the language from the session; and a kept (pre-rendered) page is
# anonymous-only: never served to a signed-in user, and a signed-in
# user's page is never kept for anyone.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use GatesTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'gates:dev:';
our %C = GatesTest::cast($Redis, $NS,
    # a boss: an admin only once the site config says so
    kim => { id => '65a1f0c2e4b0a1b2c3d4e5f9', username => 'kim',
             firstName => 'Kim', lastName => 'Boss', nickName => 'Kim',
             initials => 'KB', roles => ['boss'],
             preferences => '{"language":"de","theme":"dark"}' });

# the session of a user who is half-way through a multi-step login
GatesTest::put_session($Redis, $NS, 'halfway-session-id-0123456789abc',
    GatesTest::session_json(%{ $GatesTest::Users{eve} },
                            isAuthenticated => 'false'));
$C{halfway} = GatesTest::cookie('halfway-session-id-0123456789abc');

our $Dir = File::Temp::tempdir('jpulse-t621-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {
    'me/index.shtml' => '{{user.firstName}} {{user.lastName}} '
        . '({{user.initials}}) nick={{user.nickName}} '
        . 'roles={{array.join user.roles ","}} admin={{user.isAdmin}} '
        . 'auth={{user.isAuthenticated}} editor={{user.hasRole.editor}} '
        . "{{appConfig.system.htmlAttrs}}\n",
    'json/index.shtml' => "{{user}}\n",
    'conf/index.shtml' => "deployment={{appConfig.deployment}} "
        . "model={{appConfig.model}}\n",
    'home/index.shtml' => '<p>Hello {{#if user.isAuthenticated}}'
        . "{{user.nickName}}{{else}}guest{{/if}}</p>\n",
    'admin/index.shtml' => "ADMIN {{user.username}}\n",
    'error/index.shtml' => "E{{url.param.code}} {{url.param.msg}}\n",
    'site/index.shtml' => "{{siteConfig.email}} {{siteConfig.manifest}}\n",
});
JPulseTest::view_tree($Dir, {
    'app.json' => '{"app":{"site":{"name":"Gates"}},"deployment":{"mode":'
        . '"dev","dev":{"port":8080,"db":"g"}},"model":{"user":{}}}',
    'i18n/en.json' => '{"x":"y"}',
    'i18n/de.json' => '{"controller":{"auth":{"roleRequired":'
        . '"Unzureichende Berechtigung. Erforderliche Rollen: {{roles}}"}}}',
});

$ENV{TEST_NGINX_T621_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_T621_DIR} = $Dir;

our $Auth401 = '/error/index.shtml?msg=Authentication%20required&code=401';
our $TZ = 'timezone=Europe/Zurich';

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless defined $block->http_config;
    jpulse_site_id gates;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T621_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret gates-secret-of-the-tests;
    jpulse_view_roots $TEST_NGINX_T621_DIR/view;
    jpulse_config $TEST_NGINX_T621_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T621_DIR/i18n;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n")
        unless defined $block->config;
    $block->set_value('wait_for_log', "command connection ready\n")
        unless defined $block->wait_for_log;
    $block->set_value('no_error_log', "[error]\n[alert]")
        unless defined $block->no_error_log || defined $block->error_log;
});

plan tests => repeat_each() * 77;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a signed-in user sees their names, initials, roles, isAdmin and hasRole; anonymous and a half-way session are neither authenticated nor admins
--- request eval
["GET /me/", "GET /me/", "GET /me/", "GET /me/", "GET /me/"]
--- more_headers eval
["Cookie: $main::C{ada}", "Cookie: $main::C{bob}", "Cookie: $main::C{eve}",
 "", "Cookie: $main::C{halfway}"]
--- response_body eval
["Ada Lovelace (AL) nick=Ada roles=user,admin admin=true auth=true editor= lang=\"en\" data-theme=\"light\"\n",
 "Bob  (B) nick=Bobby roles=user admin=false auth=true editor= lang=\"en\" data-theme=\"light\"\n",
 "Eve Editor (EE) nick=Eve roles=user,editor admin=false auth=true editor=true lang=\"en\" data-theme=\"light\"\n",
 "  (?) nick= roles= admin=false auth=false editor= lang=\"en\" data-theme=\"light\"\n",
 "Eve Editor (EE) nick=Eve roles=user,editor admin=false auth=false editor=true lang=\"en\" data-theme=\"light\"\n"]



=== TEST 2: user as JSON: jPulse's keys in jPulse's order, the timezone from the cookie
--- request eval
["GET /json/", "GET /json/"]
--- more_headers eval
["Cookie: $main::C{ada}; $main::TZ", "Cookie: $main::TZ"]
--- response_body eval
['{"id":"65a1f0c2e4b0a1b2c3d4e5f6","username":"ada","firstName":"Ada","nickName":"Ada","lastName":"Lovelace","email":"ada@example.com","initials":"AL","roles":["user","admin"],"hasRole":{"user":true,"admin":true},"isAuthenticated":true,"isAdmin":true,"preferences":{"language":"en","theme":"light"},"timezone":"Europe/Zurich"}
',
'{"id":"","username":"","firstName":"","nickName":"","lastName":"","email":"","initials":"?","roles":[],"hasRole":{},"isAuthenticated":false,"isAdmin":false,"preferences":{},"timezone":"Europe/Zurich"}
']



=== TEST 3: appConfig: withoutAuth drops deployment and model; withAuth keeps deployment without its ports
--- request eval
["GET /conf/", "GET /conf/"]
--- more_headers eval
["", "Cookie: $main::C{bob}"]
--- response_body eval
["deployment= model=\n",
 "deployment={\"mode\":\"dev\",\"dev\":{\"db\":\"g\"}} model=\n"]



=== TEST 4: /admin/: the admin gets the page; a user jPulse's 403 redirect listing the admin roles; anonymous the 401 redirect
--- request eval
["GET /admin/", "GET /admin/", "GET /admin/"]
--- more_headers eval
["Cookie: $main::C{ada}", "Cookie: $main::C{bob}", ""]
--- error_code eval
[200, 302, 302]
--- response_headers eval
["!Location",
 "Location: /error/index.shtml?msg=Insufficient%20privileges.%20Required%20roles%3A%20admin%2C%20root&code=403",
 "Location: $main::Auth401"]
--- response_body eval
["ADMIN ada\n",
 "Found. Redirecting to /error/index.shtml?msg=Insufficient%20privileges.%20Required%20roles%3A%20admin%2C%20root&code=403",
 "Found. Redirecting to $main::Auth401"]



=== TEST 5: a kept anonymous page is never served to a signed-in user, and a signed-in user's page is never kept (one keep-alive connection, one worker)
--- pipelined_requests eval
["GET /home/", "GET /home/", "GET /home/", "GET /home/", "GET /home/"]
--- more_headers eval
["", "", "Cookie: $main::C{bob}", "", "Cookie: $main::C{ada}"]
--- response_headers eval
["Cache-Control: no-cache", "Cache-Control: no-cache",
 "Cache-Control: private, no-cache", "Cache-Control: no-cache",
 "Cache-Control: private, no-cache"]
--- response_body eval
["<p>Hello guest</p>\n", "<p>Hello guest</p>\n", "<p>Hello Bobby</p>\n",
 "<p>Hello guest</p>\n", "<p>Hello Ada</p>\n"]



=== TEST 6: the language and theme from the session: Kim reads the 403 in German, with her dark theme
--- request eval
["GET /admin/", "GET /me/"]
--- more_headers eval
["Cookie: $main::C{kim}", "Cookie: $main::C{kim}"]
--- error_code eval
[302, 200]
--- response_headers eval
["Location: /error/index.shtml?msg=Unzureichende%20Berechtigung.%20Erforderliche%20Rollen%3A%20admin%2C%20root&code=403", ""]
--- response_body eval
["Found. Redirecting to /error/index.shtml?msg=Unzureichende%20Berechtigung.%20Erforderliche%20Rollen%3A%20admin%2C%20root&code=403",
 "Kim Boss (KB) nick=Kim roles=boss admin=false auth=true editor= lang=\"de\" data-theme=\"dark\"\n"]



=== TEST 7: siteConfig's general.adminRoles decide who is an admin, and the 403 lists them sorted as jPulse sorts them
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS,
    site => '{"general":{"roles":["user","admin","boss"],"adminRoles":["boss","Admin"]}}',
);
--- request eval
["GET /admin/", "GET /admin/", "GET /me/"]
--- more_headers eval
["Cookie: $main::C{kim}", "Cookie: $main::C{ada}", "Cookie: $main::C{kim}"]
--- error_code eval
[200, 302, 200]
--- response_headers eval
["!Location",
 "Location: /error/index.shtml?msg=Insufficient%20privileges.%20Required%20roles%3A%20Admin%2C%20boss&code=403",
 ""]
--- response_body eval
["ADMIN kim\n",
 "Found. Redirecting to /error/index.shtml?msg=Insufficient%20privileges.%20Required%20roles%3A%20Admin%2C%20boss&code=403",
 "Kim Boss (KB) nick=Kim roles=boss admin=true auth=true editor= lang=\"de\" data-theme=\"dark\"\n"]



=== TEST 8: siteConfig through jPulse's schema filter: anonymous visitors see no smtp* key, signed-in users the mail server but never a password or the license key
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS,
    site => '{"general":{"roles":["user","admin"],"adminRoles":["admin"]},'
        . '"email":{"adminEmail":"harbour@example.com","smtpServer":"mail.example.com",'
        . '"smtpPort":587,"smtpUser":"mailer","smtpPass":"s3cret"},'
        . '"manifest":{"license":{"key":"K-123","tier":"free"}}}');
--- request eval
["GET /site/", "GET /site/", "GET /site/"]
--- more_headers eval
["", "Cookie: $main::C{bob}", ""]
--- response_body eval
['{"adminEmail":"harbour@example.com"} {"license":{"tier":"free"}}
',
'{"adminEmail":"harbour@example.com","smtpServer":"mail.example.com","smtpPort":587,"smtpUser":"mailer"} {"license":{"tier":"free"}}
',
'{"adminEmail":"harbour@example.com"} {"license":{"tier":"free"}}
']
