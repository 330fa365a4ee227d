# jpulse_render with Redis as L2 (docs/protocol.md, "Templates and
# config (L2)"): the same page renders byte for byte from disk and from
# Redis; config, translations and templates published to Redis reach the
# page through their events, through generation polling when an event is
# lost, and through the resync after a reconnect; a broken publish never
# replaces the last good version; paths Redis does not have, and
# everything while Redis is down, come from the disk.
#
# Block 1 runs an instance with its view tree on disk and no Redis (A);
# the other blocks share one nginx (TEST_NGINX_FORCE_RESTART_ON_TEST=0)
# whose view root starts EMPTY and whose pages come from a private
# redis-server this file can stop and restart (B). Namespace "tides:dev:".
# Blocks titled "BUG:" show a module bug each (they fail until it is
# fixed); block 22 starts a third instance of its own.
use lib 't/lib';
use Digest::SHA ();
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'tides:dev:';
our $Dir = File::Temp::tempdir('jpulse-t210-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

# the effective view tree; A has it on disk, B gets it from Redis
our %Tree = (
    'jpulse-header.tmpl' => <<'TPL',
<!--
 * @name            jpulse-header.tmpl
 * @description     the header comment is dropped on include
-->
<header>{{app.site.name}} | {{title}}</header>
TPL
    'jpulse-footer.tmpl' => <<'TPL',
<footer>{{i18n.view.footer}} &middot; {{app.site.copyright}} &middot; ts={{file.timestamp "jpulse-footer.tmpl"}}</footer>
TPL
    'home/index.shtml' => <<'TPL',
<!DOCTYPE html>
<html {{appConfig.system.htmlAttrs}}>
{{file.include "jpulse-header.tmpl" title=(i18n.view.home.title)}}
<main>
<h1>{{i18n.view.home.title}}</h1>
<p>{{i18n.view.home.greeting}}</p>
<ul>
{{#each appConfig.view.home.items}}<li{{#if @first}} class="first"{{/if}}>{{@index}}: {{this.name}}</li>
{{/each}}</ul>
<p>parts={{array.join (file.list "jpulse-*.tmpl") ","}} news={{file.exists "news/index.shtml"}} nope={{file.exists "nope.tmpl"}}</p>
</main>
{{file.include "jpulse-footer.tmpl"}}
</html>
TPL
    'error/index.shtml' => <<'TPL',
<!DOCTYPE html>
<title>{{i18n.view.error.title}}</title>
<h1>{{url.param.code}}</h1>
<p>{{url.param.msg}}</p>
TPL
    'news/index.shtml' => "<p>news v1</p>\n",
    # a raw file (served as is, with Express's ETag); an append-mode file:
    # every root's part, framework first (see %SiteRoot), one "\n" between
    'data/tide.json' => qq({"tide":"high","level":3.5}\n),
    'jpulse-common.css' => ".jp{color:#036}/* {{app.site.shortName}} */\n"
                           . "\n.site{margin:0}\n",
);

# A has two roots, site then framework (jPulse's lookup order): the site
# root overrides the header and adds its part of the CSS; the framework
# root has everything else, its own header (never used) and its CSS part
our %SiteRoot = (
    'jpulse-header.tmpl' => $Tree{'jpulse-header.tmpl'},
    'jpulse-common.css' => ".site{margin:0}\n",
);
our %FrameworkRoot = (
    %Tree,
    'jpulse-header.tmpl' => "<header>FRAMEWORK {{title}}</header>\n",
    'jpulse-common.css' => ".jp{color:#036}/* {{app.site.shortName}} */\n",
);

# pages only Redis has
our %RedisOnly = (
    'mixed/index.shtml' => "mixed: {{file.include \"local-part.tmpl\"}}\n",
    'site/index.shtml' => "site={{siteConfig}}\n",
    'name/index.shtml' => "{{app.site.name}}\n",
);

our $AppJson = '{"app":{"site":{"name":"Tides of the North Sea",'
    . '"shortName":"Tides","copyright":"(c) 2026 Harbour Office"}},'
    . '"view":{"home":{"items":[{"name":"Cuxhaven"},{"name":"Helgoland"},'
    . '{"name":"B' . "\xc3\xbc" . 'sum"}]}}}';
our $EnJson = '{"view":{"home":{"title":"Tide tables","greeting":'
    . '"Welcome to <b>{{app.site.shortName}}</b>, '
    . '{{string.default user.firstName \"sailor\"}}."},'
    . '"footer":"Fair winds","error":{"title":"Lost at sea"}}}';

# every file dated 2023-11-14T22:13:20Z, on disk and in Redis
our $Mtime = 1700000000;
our %Meta = map { $_ => { mtime => $Mtime * 1000 } } keys %Tree,
                                                     keys %RedisOnly;

JPulseTest::view_tree("$Dir/a/site", \%SiteRoot, mtime => $Mtime);
JPulseTest::view_tree("$Dir/a/view", \%FrameworkRoot, mtime => $Mtime);
JPulseTest::view_tree("$Dir/a", { 'app.json' => $AppJson,
                                  'i18n/en.json' => $EnJson });

# B: an empty view root; a local config equal to what Redis has (the
# config of a fresh instance is covered by the last blocks); local
# translations that Redis must override
JPulseTest::view_tree("$Dir/b/view", {});
JPulseTest::view_tree("$Dir/b", { 'app.json' => $AppJson,
    'i18n/en.json' => '{"view":{"home":{"title":"LOCAL title"},'
                      . '"footer":"LOCAL footer"}}' });

JPulseTest::publish_tree($Redis, $NS, { %Tree, %RedisOnly },
                         meta => \%Meta, event => 0);
JPulseTest::publish_config($Redis, $NS, app => $AppJson, event => 0);
JPulseTest::publish_i18n($Redis, $NS, 'en', $EnJson, event => 0);

$ENV{TEST_NGINX_T210_DIR} = $Dir;
$ENV{TEST_NGINX_T210_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our (@Disk, $Result, $Snapshot);

# B's configuration: every block but the first runs on it
our $HttpConfig = <<'CONF';
    jpulse_site_id tides;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T210_REDIS_PORT command_timeout=500ms;
    jpulse_view_roots $TEST_NGINX_T210_DIR/b/view;
    jpulse_config $TEST_NGINX_T210_DIR/b/app.json;
    jpulse_i18n_dir $TEST_NGINX_T210_DIR/b/i18n;
CONF

our $Config = <<'CONF';
    location /api/1/health/ { jpulse_health; }
    location / { jpulse_render; }
CONF


# the body of one GET on a fresh connection
sub main::get {
    my ($path) = @_;
    my ($status, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, $path);
    return $status == 200 ? $body : "status $status: $body";
}

# every key of the namespace, dumped (a Redis that restarts with its data)
sub main::redis_snapshot {
    my ($keys) = JPulseTest::redis_pipeline($main::Redis,
                                            ['KEYS', "${main::NS}*"]);
    my @dumps = JPulseTest::redis_pipeline($main::Redis,
                                           map { ['DUMP', $_] } @$keys);
    return { map { $keys->[$_] => $dumps[$_] } 0 .. $#$keys };
}

sub main::redis_restore {
    my ($snap) = @_;
    JPulseTest::redis_pipeline($main::Redis,
        map { ['RESTORE', $_, 0, $snap->{$_}, 'REPLACE'] } sort keys %$snap);
}

sub main::identical {
    my ($want) = @_;
    return sub {
        my ($got) = @_;
        return "identical\n" if $got eq $want;
        require Text::Diff;
        return "differs:\n" . Text::Diff::diff(\$want, \$got);
    };
}


repeat_each(1);

plan tests => repeat_each() * 119;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: A: the page from disk (no Redis; a site root over a framework
root): includes, i18n, #each over the config, file.* helpers; the 404
page, a raw file, an append-mode file
--- http_config
    jpulse_view_roots $TEST_NGINX_T210_DIR/a/site $TEST_NGINX_T210_DIR/a/view;
    jpulse_config $TEST_NGINX_T210_DIR/a/app.json;
    jpulse_i18n_dir $TEST_NGINX_T210_DIR/a/i18n;
--- config
    location / { jpulse_render; }
--- request eval
["GET /home/", "GET /nope/", "GET /data/tide.json", "GET /jpulse-common.css"]
--- error_code eval
[200, 404, 200, 200]
--- response_headers eval
["Content-Type: text/html; charset=utf-8",
 "Content-Type: text/html; charset=utf-8",
 "Content-Type: application/json; charset=utf-8
!Last-Modified
ETag: W/\"1c-" . Digest::SHA::sha1_base64(qq({"tide":"high","level":3.5}\n)) . "\"",
 "Content-Type: text/css; charset=utf-8
!Last-Modified"]
--- response_body_filters eval
[map { my $i = $_; sub { $main::Disk[$i] = $_[0] } } 0 .. 3]
--- response_body eval
["<!DOCTYPE html>
<html lang=\"en\" data-theme=\"light\">
<header>Tides of the North Sea | Tide tables</header>

<main>
<h1>Tide tables</h1>
<p>Welcome to <b>Tides</b>, sailor.</p>
<ul>
<li class=\"first\">0: Cuxhaven</li>
<li>1: Helgoland</li>
<li>2: B\xc3\xbcsum</li>
</ul>
<p>parts=jpulse-footer.tmpl,jpulse-header.tmpl news=true nope=false</p>
</main>
<footer>Fair winds &middot; (c) 2026 Harbour Office &middot; ts=1700000000000</footer>

</html>
",
"<!DOCTYPE html>
<title>Lost at sea</title>
<h1>404</h1>
<p>Page not found: /nope/</p>
",
qq({"tide":"high","level":3.5}\n),
".jp{color:#036}/* Tides */\n\n.site{margin:0}\n"]
--- no_error_log
[error]



=== TEST 2: B: the same from Redis, with an EMPTY view root and other
local translations: byte for byte what the disk gave, the ETag too
--- wait_for_log
command connection ready
pub/sub connection ready
--- request eval
["GET /home/", "GET /nope/", "GET /data/tide.json", "GET /jpulse-common.css"]
--- error_code eval
[200, 404, 200, 200]
--- response_headers eval
["Content-Type: text/html; charset=utf-8",
 "Content-Type: text/html; charset=utf-8",
 "Content-Type: application/json; charset=utf-8
!Last-Modified
ETag: W/\"1c-" . Digest::SHA::sha1_base64(qq({"tide":"high","level":3.5}\n)) . "\"",
 "Content-Type: text/css; charset=utf-8
!Last-Modified"]
--- response_body_filters eval
[map { my $i = $_; sub { main::identical($main::Disk[$i])->(@_) } } 0 .. 3]
--- response_body eval
["identical\n", "identical\n", "identical\n", "identical\n"]
--- no_error_log
[error]



=== TEST 3: a template changed in Redis: stale without its event, the
new version on the very next request once the event is out
--- pre_request
my $v1 = main::get('/news/');
JPulseTest::publish_template($main::Redis, $main::NS, 'news/index.shtml',
    "<p>news v2</p>\n", gen => 0, event => 0);
my $silent = main::get('/news/');
my $receivers = JPulseTest::publish_event($main::Redis, $main::NS, 'view');
$main::Result = "before: ${v1}silent change: ${silent}receivers: $receivers\n";
--- request
GET /news/
--- response_body_filters eval
sub { $main::Result . "after the event: $_[0]" }
--- response_body
before: <p>news v1</p>
silent change: <p>news v1</p>
receivers: 1
after the event: <p>news v2</p>
--- no_error_log
[error]



=== TEST 4: the pub/sub connection drops (CLIENT KILL): after it is back,
the worker treats everything as stale (a change made without event or
generation bump shows)
--- pre_request
# (no generation moved since this nginx started: a worker also flushes
# when its polling sees a counter move, even one whose event it heard)
JPulseTest::publish_template($main::Redis, $main::NS, 'news/index.shtml',
    "<p>news v3</p>\n", gen => 0, event => 0);
$main::Result = "silent change: " . main::get('/news/');
my $mark = JPulseTest::log_mark();
JPulseTest::redis_cli($main::Redis, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
JPulseTest::wait_log($mark, qr/pub\/sub connection restored/);
--- request
GET /news/
--- response_body_filters eval
sub { $main::Result . "after the resync: $_[0]" }
--- response_body
silent change: <p>news v2</p>
after the resync: <p>news v3</p>
--- error_log
pub/sub connection lost



=== TEST 5: <ns>cfg:app changed and its event (no generation bump): the
page follows; <ns>cfg:site as siteConfig, its secrets stripped
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS, gen => 0,
    app => '{"app":{"site":{"name":"Tides 2","shortName":"T2",'
           . '"copyright":"(c) 2027"}},"view":{"home":{"items":'
           . '[{"name":"Emden"}]}}}',
    site => '{"broadcast":{"message":"Storm"},"email":{"from":"a@b.c",'
            . '"smtpHost":"mx","smtpPass":"x"},"dbpass":"y",'
            . '"manifest":{"license":{"key":"K","tier":"pro"}}}');
# the event triggers an MGET: the page follows once its reply is in
JPulseTest::poll_until(1.5, sub { main::get('/home/') =~ /Tides 2/ });
--- request eval
["GET /home/", "GET /site/"]
--- response_body_like eval
['(?s)<header>Tides 2 \| Tide tables</header>.*Welcome to <b>T2</b>.*<ul>
<li class="first">0: Emden</li>
</ul>.*<footer>Fair winds &middot; \(c\) 2027 &middot;',
 '^site=\{"broadcast":\{"message":"Storm"\},"email":\{"from":"a@b.c"\},"manifest":\{"license":\{"tier":"pro"\}\}\}$']
--- no_error_log
[error]



=== TEST 6: jPulse's controller:config:data:changed re-reads <ns>cfg:site
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS, gen => 0, event => 0,
    site => '{"broadcast":{"message":"Calm"}}');
JPulseTest::redis_pipeline($main::Redis, ['PUBLISH',
    "${main::NS}bc:controller:config:data:changed",
    '{"channel":"controller:config:data:changed","data":{"id":"global",'
    . '"action":"update"},"instanceId":"0:0:1","timestamp":1}']);
JPulseTest::poll_until(1.5, sub { main::get('/site/') =~ /Calm/ });
--- request
GET /site/
--- response_body
site={"broadcast":{"message":"Calm"}}
--- no_error_log
[error]



=== TEST 7: a <ns>cfg:app that is not JSON is logged and ignored: the
config in force stays
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS, gen => 0,
                           app => '{"app": broken');
Time::HiRes::sleep(0.3);
--- request
GET /home/
--- response_body_like
<header>Tides 2 \| Tide tables</header>
--- error_log eval
[qr/tides:dev:cfg:app: line 1, column \d+: .*; keeping the previous config/]



=== TEST 8: <ns>cfg:app deleted: the local jpulse_config is in force again
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS, gen => 0, app => undef);
JPulseTest::poll_until(1.5, sub { main::get('/home/') =~ /North Sea/ });
--- request
GET /home/
--- response_body_filters eval
sub { main::identical($main::Disk[0])->(@_) }
--- response_body
identical
--- no_error_log
[error]



=== TEST 9: translations from Redis: <ns>i18n:en changed and its event,
in the page and in its includes on the next request
--- pre_request
(my $en = $main::EnJson) =~ s/Tide tables/Gezeiten/;
$en =~ s/Fair winds/Ahoy/;
JPulseTest::publish_config($main::Redis, $main::NS, app => $main::AppJson,
                           gen => 0);
JPulseTest::poll_until(1.5, sub { main::get('/home/') =~ /North Sea/ });
JPulseTest::publish_i18n($main::Redis, $main::NS, 'en', $en);
--- request
GET /home/
--- response_body_like
(?s)<header>Tides of the North Sea \| Gezeiten</header>.*<h1>Gezeiten</h1>.*<footer>Ahoy &middot;
--- no_error_log
[error]



=== TEST 10: <ns>i18n:en that is not JSON, with its event: logged, the
translations in force stay
--- pre_request
JPulseTest::publish_i18n($main::Redis, $main::NS, 'en', '{"view": broken');
--- request
GET /home/
--- response_body_like
(?s)<header>Tides of the North Sea \| Gezeiten</header>.*<h1>Gezeiten</h1>
--- error_log eval
[qr/tides:dev:i18n:en: line 1, column \d+: .*; keeping the previous translations/]



=== TEST 11: the default language comes from the config: <ns>cfg:app
switches it to "de", whose translations come from <ns>i18n:de
--- pre_request
JPulseTest::publish_i18n($main::Redis, $main::NS, 'de',
    '{"view":{"home":{"title":"Gezeitentafeln"},"footer":"Gute Fahrt"}}',
    event => 0);
(my $app = $main::AppJson) =~ s/^\{/{"utils":{"i18n":{"default":"de"}},/;
JPulseTest::publish_config($main::Redis, $main::NS, app => $app);
JPulseTest::poll_until(1.5, sub { main::get('/home/') =~ /lang="de"/ });
--- request
GET /home/
--- response_body_like
(?s)^<!DOCTYPE html>\n<html lang="de" data-theme="light">\n<header>Tides of the North Sea \| Gezeitentafeln</header>.*<footer>Gute Fahrt &middot;
--- no_error_log
[error]



=== TEST 12: <ns>i18n:de deleted (with its event) while "de" is the
language and the instance has no de.json: the deleted translations are
gone (the disk has none), they do not keep being served
--- pre_request
JPulseTest::publish_i18n($main::Redis, $main::NS, 'de', undef);
--- request
GET /home/
--- response_body_like
<html lang="de"
--- response_body_unlike
Gezeitentafeln
--- no_error_log
[error]



=== TEST 13: a template that does not compile, published with its event:
the last good version is still served, the error logged once with
file:line:column
--- pre_request
# back to English, fixed translations
(my $en = $main::EnJson) =~ s/Tide tables/Gezeiten/;
$en =~ s/Fair winds/Ahoy/;
JPulseTest::publish_i18n($main::Redis, $main::NS, 'en', $en);
JPulseTest::publish_config($main::Redis, $main::NS, app => $main::AppJson);
JPulseTest::poll_until(1.5, sub { main::get('/home/') =~ /lang="en"/ });
JPulseTest::publish_template($main::Redis, $main::NS, 'news/index.shtml',
    "<p>news v4</p>\n  " . ('{{#if 1}}' x 65) . ('{{/if}}' x 65) . "\n");
--- request eval
["GET /news/", "GET /news/"]
--- response_body eval
["<p>news v3</p>\n", "<p>news v3</p>\n"]
--- grep_error_log eval
qr/jpulse template [^,]*/
--- grep_error_log_out
jpulse template news/index.shtml:2:579: blocks nested deeper than 64 (from redis); serving the last good version



=== TEST 14: ... a broken include too; then fixed versions are served
--- pre_request
JPulseTest::publish_template($main::Redis, $main::NS, 'jpulse-header.tmpl',
    "<header>" . ('{{#if 1}}' x 65) . ('{{/if}}' x 65) . "</header>\n");
$main::Result = main::get('/home/') =~ m{(<header>[^\n]*)} ? "$1\n" : "none\n";
JPulseTest::publish_tree($main::Redis, $main::NS, {
    'news/index.shtml' => "<p>news v4</p>\n",
    'jpulse-header.tmpl' => "<header>fixed {{title}}</header>\n" });
--- request eval
["GET /news/", "GET /home/"]
--- response_body_filters eval
[undef, sub { $main::Result . ($_[0] =~ m{(<header>[^\n]*)} ? "$1\n" : "none\n") }]
--- response_body eval
["<p>news v4</p>\n",
 "<header>Tides of the North Sea | Gezeiten</header>\n<header>fixed Gezeiten</header>\n"]
--- error_log eval
[qr/jpulse template jpulse-header\.tmpl:1:585: .* \(from redis\); serving the last good version/]



=== TEST 15: paths that are not in <ns>tplindex come from the disk (a page,
and an include of a Redis page); paths Redis has never do
--- pre_request
JPulseTest::view_tree("$main::Dir/b/view", {
    'local/index.shtml' => "<p>local {{app.site.shortName}}</p>\n",
    'local-part.tmpl' => "part from disk\n",
    'jpulse-header.tmpl' => "<header>DISK HEADER</header>\n",
    'news/index.shtml' => "<p>news on disk</p>\n" });
--- request eval
["GET /local/", "GET /mixed/", "GET /news/", "GET /home/"]
--- response_body_like eval
['^<p>local Tides</p>$', '^mixed: part from disk\n\n\z', '^<p>news v4</p>$',
 '<header>fixed Gezeiten</header>']
--- no_error_log
[error]



=== TEST 16: an include deleted from Redis (its tpl: key and index field,
with the event): the disk's copy is used from the next request on
--- pre_request
JPulseTest::publish_tree($main::Redis, $main::NS, {
    'jpulse-header.tmpl' => undef });
--- request
GET /home/
--- response_body_like
<header>DISK HEADER</header>
--- no_error_log
[error]



=== TEST 17: a page deleted from Redis (with the event) that the disk
does not have is a 404, not the last copy Redis gave (only while Redis is
down does that copy keep serving)
--- pre_request
$main::Result = "before: " . main::get('/mixed/');
JPulseTest::publish_tree($main::Redis, $main::NS, { 'mixed/index.shtml' => undef });
--- request
GET /mixed/
--- error_code: 404
--- response_body_filters eval
sub { $main::Result . ($_[0] =~ m{<h1>(\d+)</h1>} ? "after: error page $1\n"
                                                 : "after: $_[0]") }
--- response_body
before: mixed: part from disk

after: error page 404
--- no_error_log
[error]



=== TEST 18: the event is lost (HSET and HINCRBY <ns>gen, no PUBLISH):
generation polling picks the change up within 3 s
--- pre_request
# (after block 4's resync the worker knows the counters: a fresh worker
# whose pub/sub connection was ready first does not, see block 21)
JPulseTest::publish_template($main::Redis, $main::NS, 'jpulse-header.tmpl',
    "<header>fixed {{title}}</header>\n");
JPulseTest::publish_template($main::Redis, $main::NS, 'news/index.shtml',
    "<p>news v5</p>\n", event => 0);
my $t0 = Time::HiRes::time();
my $ok = JPulseTest::poll_until(4, sub { main::get('/news/') =~ /v5/ });
$main::Result = $ok ? sprintf("in time: %s\n",
                              Time::HiRes::time() - $t0 < 3 ? 'yes' : 'no')
                    : "never\n";
--- request
GET /news/
--- response_body_filters eval
sub { $main::Result . $_[0] }
--- response_body
in time: yes
<p>news v5</p>
--- no_error_log
[error]



=== TEST 19: Redis stopped: pages still served: a page only Redis had from
L1, the others from the disk (within jpulse_template_check_interval);
health degraded
--- pre_request
main::get($_) for qw(/home/ /nope/ /news/);
$main::Snapshot = main::redis_snapshot();
JPulseTest::redis_stop($main::Redis);
JPulseTest::poll_until(3, sub {
    (JPulseTest::http_get($Test::Nginx::Socket::ServerPort,
                          '/api/1/health/ready'))[0] == 503 });
# copies from Redis are checked against the disk again after
# jpulse_template_check_interval (1 s)
JPulseTest::poll_until(3, sub { main::get('/news/') =~ /on disk/ });
--- request eval
["GET /home/", "GET /nope/", "GET /news/", "GET /local/",
 "GET /api/1/health/ready", "GET /api/1/health/status"]
--- error_code eval
[200, 404, 200, 200, 503, 200]
--- response_body_like eval
['(?s)\A<!DOCTYPE html>.*<header>DISK HEADER</header>.*<ul>
<li class="first">0: Cuxhaven</li>
<li>1: Helgoland</li>
<li>2: B\xc3\xbcsum</li>
</ul>.*<footer>[^\n]*</footer>',
 '<title>Lost at sea</title>', '^<p>news on disk</p>$',
 '^<p>local Tides</p>$', '"redis":"disconnected"',
 '"redis":"disconnected"']
--- error_log
pub/sub connection lost
--- no_error_log
[crit]



=== TEST 20: Redis back with its data (and a change made while this
instance was cut off, without event or generation bump): the resync after
the reconnect brings every page back to Redis's version
--- pre_request
JPulseTest::redis_start($main::Redis);
main::redis_restore($main::Snapshot);
JPulseTest::publish_template($main::Redis, $main::NS, 'news/index.shtml',
    "<p>news v6</p>\n", gen => 0, event => 0);
JPulseTest::poll_until(5, sub { main::get('/news/') =~ /v6/ });
--- request eval
["GET /news/", "GET /home/", "GET /api/1/health/ready"]
--- response_body_like eval
['^<p>news v6</p>$', '<header>fixed Gezeiten</header>', '"redis":"connected"']
--- error_log
pub/sub connection restored
command connection restored



=== TEST 21: the pub/sub connection is back before the command
connection (they reconnect independently, with jitter): the resync must
still re-read <ns>cfg:app changed meanwhile
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS, event => 0,
    app => '{"app":{"site":{"name":"Tides ACL","shortName":"TA"}}}');
# hold the command connection's handshake (PING) back
JPulseTest::redis_cli($main::Redis, 'ACL', 'SETUSER', 'default', '-ping');
my $mark = JPulseTest::log_mark();
JPulseTest::redis_cli($main::Redis, 'CLIENT', 'KILL', 'TYPE', 'pubsub');
JPulseTest::redis_cli($main::Redis, 'CLIENT', 'KILL', 'TYPE', 'normal');
JPulseTest::wait_log($mark, qr/pub\/sub connection restored/);
JPulseTest::redis_cli($main::Redis, 'ACL', 'SETUSER', 'default', '+ping');
JPulseTest::wait_log($mark, qr/command connection restored/);
Time::HiRes::sleep(0.3);
--- request
GET /name/
--- response_body
Tides ACL



=== TEST 22: the same at start-up: a new instance whose command
connection is ready after its pub/sub connection renders its local
jpulse_config instead of <ns>cfg:app
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS, event => 0,
    app => '{"app":{"site":{"name":"Tides fresh","shortName":"TF"}}}');
JPulseTest::redis_cli($main::Redis, 'ACL', 'SETUSER', 'default', '-ping');
my $n = JPulseTest::nginx_start(workers => 1, http => "
    jpulse_site_id tides;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$main::Redis->{port};
    jpulse_view_roots $main::Dir/b/view;
    jpulse_config $main::Dir/b/app.json;",
    config => 'location / { jpulse_render; }');
JPulseTest::poll_until(5, sub {
    JPulseTest::_slurp("$n->{dir}/logs/error.log") =~ /pub\/sub connection ready/ });
JPulseTest::redis_cli($main::Redis, 'ACL', 'SETUSER', 'default', '+ping');
JPulseTest::poll_until(5, sub {
    JPulseTest::_slurp("$n->{dir}/logs/error.log")
        =~ /command connection (restored|ready)/ });
Time::HiRes::sleep(0.3);
my (undef, undef, $body) = JPulseTest::http_get($n->{port}, '/name/');
$main::Result = $body;
JPulseTest::nginx_stop($n);
--- request
GET /home/
--- response_body_filters eval
sub { $main::Result }
--- response_body
Tides fresh
