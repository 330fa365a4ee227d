# One definition of "is admin" (ngx_http_jpulse_session_is_admin(), which
# the gates call): jPulse's rule, siteConfig's general.adminRoles only
# when general.roles is an array too, else jPulse's default admin and
# root (webapp/controller/auth.js, jp_user_admin_roles()). A siteConfig
# with adminRoles but roles not an array (or missing) makes no boss an
# admin, and an admin stays one.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use GatesTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'gates:dev:';
our %C = GatesTest::cast($Redis, $NS,
    kim => { id => '65a1f0c2e4b0a1b2c3d4e5f9', username => 'kim',
             firstName => 'Kim', lastName => 'Boss', nickName => 'Kim',
             initials => 'KB', roles => ['boss'] },
    # admin only as a 65th role: past the 64 the role list keeps
    max => { id => '65a1f0c2e4b0a1b2c3d4e5fa', username => 'max',
             firstName => 'Max', lastName => 'Roles', nickName => 'Max',
             initials => 'MR', roles => [(map { "r$_" } 1 .. 64), 'admin'] });

our $Dir = File::Temp::tempdir('jpulse-t609-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {
    'admin/index.shtml' => "ADMIN {{user.username}}\n",
    'me/index.shtml' => "{{user.username}} admin={{user.isAdmin}}\n",
    'error/index.shtml' => "E{{url.param.code}} {{url.param.msg}}\n",
});
JPulseTest::view_tree($Dir, {
    'app.json' => '{"app":{"site":{"name":"Gates"}},"deployment":{"mode":'
        . '"dev","dev":{"port":8080,"db":"g"}}}',
    'i18n/en.json' => '{"x":"y"}',
});

$ENV{TEST_NGINX_T609_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_T609_DIR} = $Dir;

our $Denied = '/error/index.shtml?msg=Insufficient%20privileges.%20'
            . 'Required%20roles%3A%20admin%2C%20root&code=403';

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF');
    jpulse_site_id gates;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T609_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret gates-secret-of-the-tests;
    jpulse_view_roots $TEST_NGINX_T609_DIR/view;
    jpulse_config $TEST_NGINX_T609_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T609_DIR/i18n;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n");
    $block->set_value('wait_for_log', "command connection ready\n");
    $block->set_value('no_error_log', "[error]\n[alert]");
});

plan tests => repeat_each() * 24;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: adminRoles with roles not an array: jPulse's default roles decide, the boss is no admin, ada is one
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS,
    site => '{"general":{"roles":"user,admin,boss","adminRoles":["boss"]}}',
);
--- request eval
["GET /admin/", "GET /admin/", "GET /me/", "GET /me/"]
--- more_headers eval
["Cookie: $main::C{kim}", "Cookie: $main::C{ada}", "Cookie: $main::C{kim}",
 "Cookie: $main::C{ada}"]
--- error_code eval
[302, 200, 200, 200]
--- response_headers eval
["Location: $main::Denied", "!Location", "", ""]
--- response_body eval
["Found. Redirecting to $main::Denied", "ADMIN ada\n", "kim admin=false\n",
 "ada admin=true\n"]



=== TEST 2: adminRoles without roles: the same
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS,
    site => '{"general":{"adminRoles":["boss"]}}',
);
--- request eval
["GET /admin/", "GET /admin/"]
--- more_headers eval
["Cookie: $main::C{kim}", "Cookie: $main::C{ada}"]
--- error_code eval
[302, 200]
--- response_body eval
["Found. Redirecting to $main::Denied", "ADMIN ada\n"]



=== TEST 3: admin as a 65th role: the gate checks the role list
$jpulse_user_roles shows (64 roles), as jpulse_require_role does, so no
admin (it checked the whole JSON array before)
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS, site => '{}');
--- request eval
["GET /admin/", "GET /admin/"]
--- more_headers eval
["Cookie: $main::C{max}", "Cookie: $main::C{ada}"]
--- error_code eval
[302, 200]
--- response_body eval
["Found. Redirecting to $main::Denied", "ADMIN ada\n"]
