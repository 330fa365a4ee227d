# The page context jPulse builds (jpulse-view-pipeline.md 3), seen
# through the example site's context/ pages (examples/site): one page per
# field, rendered by nginx from disk, anonymous, no Redis.
use strict;
use warnings;

use lib 't/lib';
use Cwd ();
use Test::Nginx::Socket;

$ENV{TEST_NGINX_EXAMPLE_SITE} = Cwd::abs_path('examples/site');

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless defined $block->http_config;
    jpulse_view_roots $TEST_NGINX_EXAMPLE_SITE/site/webapp/view $TEST_NGINX_EXAMPLE_SITE/webapp/view;
    jpulse_config $TEST_NGINX_EXAMPLE_SITE/app.json;
    jpulse_i18n_dir $TEST_NGINX_EXAMPLE_SITE/webapp/translations;
CONF
    $block->set_value('config', "    location / { jpulse_render; }\n")
        unless defined $block->config;
});

repeat_each(1);
plan tests => repeat_each() * (2 * blocks() + 2);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: pageDisableSidebars: the footer's {{#unless pageDisableSidebars}} keeps the sidebars of a normal page and drops them where <body> asks
--- request eval
["GET /context/", "GET /context/no-sidebars.shtml"]
--- response_body eval
['<!DOCTYPE html>
<html lang="en" data-theme="light">
<body class="jp-page">
<main>
  <h1>The page context</h1>
  
  
  <aside class="jp-sidebar-left">sidebar</aside>
  <nav class="jp-toc">toc</nav>
  
  <p>pageDisableSidebars=false</p>
</main>
</body>
</html>
',
'<!DOCTYPE html>
<html lang="en" data-theme="light">
<body class="jp-page jp-wide"
      data-jp-disable-sidebars="true">
<main>
  <h1>A full-width page</h1>
  
  <p>pageDisableSidebars=true</p>
</main>
</body>
</html>
']



=== TEST 2: url: repeated names are an array, bracket names an object, request data escaped
--- request
GET /context/url.shtml?tag=a&tag=b&q=%3Cx%3E&filter%5Blevel%5D=3
--- response_body
<!DOCTYPE html>
<html lang="en" data-theme="light">
<body>
<main>
  <h1>/context/url.shtml</h1>
  <p class="where">http localhost [] http://localhost</p>
  <p class="search">[?tag=a&amp;tag=b&amp;q=%3Cx%3E&amp;filter%5Blevel%5D=3]</p>
  
  <ul class="tags"><li>0=a</li><li>1=b</li></ul>
  <p class="one">&lt;x&gt;</p>
  <p class="level">3</p>
</main>
</body>
</html>



=== TEST 3: appConfig.system.themes from themes/*.json of every root (light, dark, then the others), colorScheme read from each theme's CSS
--- request
GET /context/themes.shtml
--- response_body
<!DOCTYPE html>
<html lang="en" data-theme="light">
<head>
<link rel="stylesheet" href="/themes/light.css">
<link rel="stylesheet" href="/common/prism/prism-light.css">
</head>
<body>
<main>
  <h1>Themes</h1>
  <select name="theme">
  
    <option value="light" selected>Light (light, framework)</option>
  
    <option value="dark">Dark (dark, framework)</option>
  
    <option value="harbour">Harbour Lights (dark, site)</option>
  
  </select>
</main>
</body>
</html>



=== TEST 4: the site's default theme decides data-theme and colorScheme (from harbour.css's color-scheme)
--- http_config
    jpulse_view_roots $TEST_NGINX_EXAMPLE_SITE/site/webapp/view $TEST_NGINX_EXAMPLE_SITE/webapp/view;
    jpulse_config $TEST_NGINX_HTML_DIR/app.json;
--- user_files
>>> app.json
{"utils":{"theme":{"default":"harbour"}}}
--- request
GET /context/themes.shtml
--- response_body_like
\A<!DOCTYPE html>
<html lang="en" data-theme="harbour">
<head>
<link rel="stylesheet" href="/themes/harbour.css">
<link rel="stylesheet" href="/common/prism/prism-dark.css">
.*<option value="harbour" selected>Harbour Lights \(dark, site\)</option>



=== TEST 5: user: jPulse's anonymous record, every field
--- request
GET /context/user.shtml
--- response_body
<!DOCTYPE html>
<html lang="en" data-theme="light">
<body>
<main>
  <div class="jp-user-card">
    <span class="jp-avatar">?</span>
    <span class="name">Guest</span>
    <a href="/auth/login.shtml">Sign in</a>
    
  </div>
  <p class="roles">roles=[] hasRole={} isAdmin=false</p>
  <p class="prefs">preferences={} theme=light</p>
  <p class="tz">timezone=UTC</p>
</main>
</body>
</html>



=== TEST 6: authProviders, passwordResetAvailable (no site config: no mailer), appCluster without Redis
--- request
GET /context/flags.shtml
--- response_body
<!DOCTYPE html>
<html lang="en" data-theme="light">
<body>
<main>
  
  
  <p class="providers">no external providers</p>
  <p class="reset">no password reset</p>
  <p class="cluster">appCluster.available=false</p>
  <p class="raw">authProviders=[] passwordResetAvailable=false</p>
</main>
</body>
</html>



=== TEST 7: appConfig as an anonymous user sees it: jPulse's key order, system re-admitted at the end with only its four keys
--- request
GET /context/config.shtml
--- response_body
<!DOCTYPE html>
<html lang="en" data-theme="light">
<body>
<main>
  <p class="keys">appConfig: app utils view system</p>
  <p class="system">system: defaultTheme htmlAttrs colorScheme themes</p>
  <p class="controller">controller=</p>
  <p class="site"> </p>
  
</main>
</body>
</html>
