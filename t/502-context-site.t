# The parts of the page context that come from the site config
# (<ns>cfg:site in Redis: jPulse's configs document "global"):
# passwordResetAvailable (jpulse-view-pipeline.md 3.8), siteConfig's
# normalisation (3.6), appConfig.system.broadcastMessage expanded as a
# template (3.7) without making a page that depends on the request a kept
# one, and appCluster.available with Redis. One nginx across blocks; each
# block publishes what it needs and waits for the page to follow.
use lib 't/lib';
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'tides:dev:';
our $Dir = File::Temp::tempdir('jpulse-t502-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {
    'auth/login.shtml' => "reset={{passwordResetAvailable}}\n",
    'auth/reset-password.shtml' => "reset={{passwordResetAvailable}}\n",
    'other/login.shtml' => "reset={{passwordResetAvailable}}\n",
    'site/index.shtml' => "{{siteConfig}}\n",
    'bc/index.shtml' => "[{{appConfig.system.broadcastMessage}}]\n",
    'bc/keys.shtml' => '{{#each appConfig.system}}{{@key}} {{/each}}' . "\n",
    'cl/index.shtml' => "available={{appCluster.available}}\n",
});
JPulseTest::view_tree($Dir, {
    'app.json' => '{"app":{"site":{"shortName":"Tides"}},'
                  . '"deployment":{"mode":"dev"}}',
});

$ENV{TEST_NGINX_T502_DIR} = $Dir;
$ENV{TEST_NGINX_T502_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

sub main::get {
    my ($path) = @_;
    my ($status, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, $path);
    return $status == 200 ? $body : "status $status: $body";
}

# publishes <ns>cfg:site (and cfg:app) and waits until /site/ shows it
sub main::site {
    my ($site, %opt) = @_;
    JPulseTest::publish_config($main::Redis, $main::NS, site => $site,
                               %opt);
    my $want = $opt{probe} // qr/./;
    JPulseTest::poll_until(2, sub { main::get($opt{path} // '/site/')
                                    =~ $want });
}

repeat_each(1);
plan tests => repeat_each() * 2 * (blocks() + 8);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless defined $block->http_config;
    jpulse_site_id tides;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T502_REDIS_PORT command_timeout=500ms;
    jpulse_view_roots $TEST_NGINX_T502_DIR/view;
    jpulse_config $TEST_NGINX_T502_DIR/app.json;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n")
        unless defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: no site config: no mailer, no password reset; appCluster.available with Redis
--- pre_request
JPulseTest::poll_until(2, sub { main::get('/cl/') =~ /true/ });
--- request eval
["GET /auth/login.shtml", "GET /cl/"]
--- response_body eval
["reset=false\n", "available=true\n"]



=== TEST 2: email.adminEmail configures the mailer: true on the reset pages, false elsewhere
--- pre_request
main::site('{"email":{"adminEmail":"harbour@example.org"}}',
           probe => qr/harbour/);
--- request eval
["GET /auth/login.shtml", "GET /auth/reset-password.shtml", "GET /other/login.shtml", "GET /auth/login.shtml?x=1"]
--- response_body eval
["reset=true\n", "reset=true\n", "reset=false\n", "reset=true\n"]



=== TEST 3: controller.user.disablePasswordReset turns it off
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS,
    app => '{"controller":{"user":{"disablePasswordReset":true}}}');
JPulseTest::poll_until(2, sub { main::get('/auth/login.shtml') =~ /false/ });
--- request
GET /auth/login.shtml
--- response_body
reset=false



=== TEST 4: siteConfig normalised: null becomes "", secrets stripped
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS, app => undef);
main::site('{"nul":null,"list":[null,1],"email":{"adminEmail":"a@b",'
           . '"smtpPass":"x","smtpServer":"mx"}}', probe => qr/nul/);
--- request
GET /site/
--- response_body
{"nul":"","list":["",1],"email":{"adminEmail":"a@b"}}



=== TEST 5: a broadcast message without "{{" is shown as it is, last in appConfig.system
--- pre_request
main::site('{"broadcast":{"message":"Storm <b>warning</b>"}}',
           path => '/bc/', probe => qr/Storm/);
--- request eval
["GET /bc/", "GET /bc/keys.shtml"]
--- response_body eval
["[Storm <b>warning</b>]\n",
 "defaultTheme htmlAttrs colorScheme themes broadcastMessage \n"]



=== TEST 6: a message with "{{" is expanded for each request over the context before filtering; one that reads the request leaves the page unkept
--- pre_request
main::site('{"broadcast":{"message":"Hi {{url.param.n}} at '
           . '{{app.site.shortName}}, mode={{appConfig.deployment.mode}}"}}',
           path => '/bc/', probe => qr/Hi /);
--- request eval
["GET /bc/?n=1", "GET /bc/?n=2", "GET /bc/?n=%3Cb%3E", "GET /bc/"]
--- response_body eval
["[Hi 1 at Tides, mode=dev]\n", "[Hi 2 at Tides, mode=dev]\n",
 "[Hi &lt;b&gt; at Tides, mode=dev]\n", "[Hi  at Tides, mode=dev]\n"]



=== TEST 7: no message: no key
--- pre_request
main::site('{"broadcast":{"message":""}}', path => '/bc/keys.shtml',
           probe => qr/^defaultTheme htmlAttrs colorScheme themes \n$/);
--- request
GET /bc/keys.shtml
--- response_body
defaultTheme htmlAttrs colorScheme themes 
