# file.list, file.exists and file.timestamp through nginx, as jPulse
# 1.7.17 answers them (jpulse-template-helpers.md section 12): "*" in any
# segment, "?" across "/", dot entries and node_modules never walked,
# code-unit order, one entry per path across the view roots, [] for what
# jPulse refuses; the .css -> .css.tmpl fallback; the path jail kept.
#
# Block 1 renders from two roots on disk (the walk lists subdirectories
# through jp_tpl_disk); block 2 renders the same tree from Redis with an
# EMPTY view root (the walk lists them through <ns>tplindex): the same
# bytes.
use lib 't/lib';
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'cards:dev:';
our $Dir = File::Temp::tempdir('jpulse-t545-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

our %Tree = (
    'cards/index.shtml' => <<'TPL',
<p>top={{file.list "cards/*/*.tmpl"}}</p>
<p>any={{file.list "*/*.shtml"}}</p>
<p>q={{file.list "cards?a?x.tmpl"}} deep={{file.list "cards/*/*/*.tmpl"}}</p>
<p>hidden={{file.list "cards/.h/*.tmpl"}}{{file.list "cards/node_modules/*"}}{{file.list "cards/*/h.tmpl"}}</p>
<p>refused={{file.list "../*"}}{{file.list "cards/**"}}{{file.list "/cards/*"}}{{file.list 5}}</p>
<p>exists={{file.exists "cards/theme.css"}} {{file.exists "cards/a"}} {{file.exists "../app.json"}} ts={{file.timestamp "cards/theme.css"}}</p>
<ul>{{#each file.list "cards/a/*.tmpl"}}<li>{{this}}</li>{{/each}}</ul>
TPL
    'other/index.shtml' => "other\n",
    'cards/a/x.tmpl' => "x\n",
    'cards/a/y.tmpl' => "y\n",
    'cards/a/deep/d.tmpl' => "d\n",
    'cards/b/x.tmpl' => "bx\n",
    'cards/B/z.tmpl' => "Bz\n",
    'cards/c/site.tmpl' => "site\n",
    'cards/.h/h.tmpl' => "hidden\n",
    'cards/node_modules/m/h.tmpl' => "module\n",
    'cards/theme.css.tmpl' => ".c{}\n",
);

# A: the site root has one file of its own and one the framework has too
our %SiteRoot = map { $_ => $Tree{$_} } 'cards/a/x.tmpl', 'cards/c/site.tmpl';
our %FrameworkRoot = map { $_ => $Tree{$_} }
                     grep { $_ ne 'cards/c/site.tmpl' } keys %Tree;

our $AppJson = '{"app":{"site":{"name":"Cards"}}}';
our $Mtime = 1700000000;

JPulseTest::view_tree("$Dir/a/site", \%SiteRoot, mtime => $Mtime);
JPulseTest::view_tree("$Dir/a/view", \%FrameworkRoot, mtime => $Mtime);
JPulseTest::view_tree("$Dir/a", { 'app.json' => $AppJson });
JPulseTest::view_tree("$Dir/b/view", {});
JPulseTest::view_tree("$Dir/b", { 'app.json' => $AppJson });

JPulseTest::publish_tree($Redis, $NS, \%Tree,
                         meta => { map { $_ => { mtime => $Mtime * 1000 } }
                                   keys %Tree }, event => 0);
JPulseTest::publish_config($Redis, $NS, app => $AppJson, event => 0);

$ENV{TEST_NGINX_T545_DIR} = $Dir;
$ENV{TEST_NGINX_T545_REDIS_PORT} = $Redis->{port};

our $Page = <<'HTML';
<p>top=["cards/B/z.tmpl","cards/a/x.tmpl","cards/a/y.tmpl","cards/b/x.tmpl","cards/c/site.tmpl"]</p>
<p>any=["cards/index.shtml","other/index.shtml"]</p>
<p>q=["cards/a/x.tmpl"] deep=["cards/a/deep/d.tmpl"]</p>
<p>hidden=[][][]</p>
<p>refused=[][][]<!-- Error: Handlebar "file.list 5": globPattern.includes is not a function --></p>
<p>exists=true false false ts=1700000000000</p>
<ul><li>cards/a/x.tmpl</li><li>cards/a/y.tmpl</li></ul>
HTML

repeat_each(1);

plan tests => repeat_each() * blocks() * 3;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: from two roots on disk
--- http_config
    jpulse_view_roots $TEST_NGINX_T545_DIR/a/site $TEST_NGINX_T545_DIR/a/view;
    jpulse_config $TEST_NGINX_T545_DIR/a/app.json;
--- config
    location / { jpulse_render; }
--- request
GET /cards/
--- error_code: 200
--- response_body eval
$main::Page
--- no_error_log
[error]



=== TEST 2: the same tree from Redis, with an empty view root
--- http_config
    jpulse_site_id cards;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T545_REDIS_PORT command_timeout=500ms;
    jpulse_view_roots $TEST_NGINX_T545_DIR/b/view;
    jpulse_config $TEST_NGINX_T545_DIR/b/app.json;
--- config
    location / { jpulse_render; }
--- wait_for_log
command connection ready
--- request
GET /cards/
--- error_code: 200
--- response_body eval
$main::Page
--- no_error_log
[error]
