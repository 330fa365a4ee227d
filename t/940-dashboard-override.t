# jpulse_dashboard's templates: shipped with the module (the directory
# `config` knows, or templates=DIR), and a view root's file of the same
# relative path (admin/jpulse-dashboard/index.shtml, dashboard.js,
# dashboard.css) wins, in the view roots' order. An edit is seen within a
# second (the check interval), without a reload; removing the override
# brings the shipped file back. An override is rendered in strict mode
# too. Keep-alive throughout.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use GatesTest ();
use DashboardTest ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our %C = GatesTest::cast($Redis, $DashboardTest::NS);
our $Dir = DashboardTest::dir();
our $Own = File::Temp::tempdir('jpulse-t940-XXXXXX', TMPDIR => 1,
                               CLEANUP => 1);
chmod 0755, $Own;
JPulseTest::view_tree("$Own/admin/jpulse-dashboard", {
    'index.shtml' => "OWN {{dashboard.siteId}}\n",
});

$ENV{TEST_NGINX_T940_OWN} = $Own;

sub main::put {
    my ($name, $text) = @_;
    JPulseTest::view_tree("$main::Dir/view/admin/jpulse-dashboard",
                          { $name => $text });
}

sub main::drop {
    unlink "$main::Dir/view/admin/jpulse-dashboard/$_[0]";
}

sub main::get {
    my ($path) = @_;
    my ($status, $h, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, $path,
        headers => "Cookie: $main::C{ada}\r\n");
    return $body;
}

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config',
                      DashboardTest::http_config($Redis->{port}));
    $block->set_value('config', <<'CONF') unless defined $block->config;
    location = /admin/dashboard { jpulse_dashboard; }
    location = /own { jpulse_dashboard templates=$TEST_NGINX_T940_OWN; }
    location = /none { jpulse_dashboard templates=/nonexistent/dashboard; }
CONF
    $block->set_value('more_headers', "Cookie: $main::C{ada}");
    $block->set_value('wait_for_log', "command connection ready\n");
    $block->set_value('no_error_log', "[error]\n[alert]\n[crit]")
        unless defined $block->no_error_log;
});

plan tests => repeat_each() * 40;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: no override: the shipped page, script and style sheet
--- pipelined_requests eval
["GET /admin/dashboard", "GET /admin/dashboard?asset=js",
 "GET /admin/dashboard?asset=css"]
--- response_body_like eval
[qr{<h1>Cluster status}, qr{ngx_jpulse's cluster dashboard},
 qr{ngx_jpulse's cluster dashboard}]



=== TEST 2: a view root's page, script and style sheet win (strict mode too)
--- pre_request
main::put('index.shtml', "MINE {{statistics.instances}} {{dashboard.uri}} "
          . "{{file.include \"admin/jpulse-dashboard/part.tmpl\"}}\n");
main::put('part.tmpl', "part of {{dashboard.siteId}}\n");
main::put('dashboard.js', "/* mine */\n");
main::put('dashboard.css', "/* my style */\n");
--- pipelined_requests eval
["GET /admin/dashboard?a=%3Cb%3E", "GET /admin/dashboard?asset=js",
 "GET /admin/dashboard?asset=css"]
--- response_body eval
["MINE 1 /admin/dashboard part of dash\n\n", "/* mine */\n",
 "/* my style */\n"]



=== TEST 3: an edit is seen after the check interval, without a reload
--- pre_request
main::get('/admin/dashboard');
main::put('index.shtml', "EDITED {{dashboard.siteId}}\n");
select undef, undef, undef, 1.2;
--- request
GET /admin/dashboard
--- response_body
EDITED dash



=== TEST 4: the override removed: the shipped page is back
--- pre_request
main::get('/admin/dashboard');
main::drop($_) for qw(index.shtml dashboard.js dashboard.css part.tmpl);
select undef, undef, undef, 1.2;
--- pipelined_requests eval
["GET /admin/dashboard", "GET /admin/dashboard?asset=js"]
--- response_body_like eval
[qr{<h1>Cluster status}, qr{ngx_jpulse's cluster dashboard}]



=== TEST 5: templates=DIR replaces the shipped directory; assets not there: 404
--- pipelined_requests eval
["GET /own", "GET /own?asset=js"]
--- error_code eval
[200, 404]
--- response_body_like eval
[qr{^OWN dash$}, qr{404 Not Found}]
--- no_error_log
[alert]
[crit]



=== TEST 6: no template anywhere: a 500, and the log says where it looked
--- request
GET /none
--- error_code: 500
--- error_log
"admin/jpulse-dashboard/index.shtml" is in none of the view roots nor in "/nonexistent/dashboard"
--- no_error_log
[alert]
[crit]
