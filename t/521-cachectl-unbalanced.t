# cachectl and a page with an unbalanced block tag: it is published (nginx
# renders it as jPulse does: an error comment in place of the tag), and
# cachectl says where: a warning with FILE:LINE:COLUMN on stderr and in
# sync's output (--json: "warnings"; a one-shot sync says it of every
# such page it reads); `cachectl render --check` prints it and exits 1. A template that does not compile at all is still refused.
#
# One nginx (view root EMPTY) serves what is published into a private
# redis-server, namespace "t521:prod:".
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(cli write_file);
use Test::Nginx::Socket;

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $Redis = redis_start();
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't521');

mkdir "$Dir/empty";
chmod 0755, "$Dir/empty";
write_file("$Dir/views/ok/index.shtml", "<p>ok</p>\n");
write_file("$Dir/views/doc/index.shtml",
           "<h1>Doc</h1>\n<h4>Subexpressions in {{#if}}</h4>\n"
           . "{{#if true}}A{{/unless}}\n");

$ENV{TEST_NGINX_T521_DIR} = $Dir;
$ENV{TEST_NGINX_T521_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our $Result;

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless defined $block->http_config;
    jpulse_site_id t521;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T521_REDIS_PORT;
    jpulse_view_roots $TEST_NGINX_T521_DIR/empty;
CONF
    $block->set_value('config', <<'CONF') unless defined $block->config;
    location = /ping { return 200 "pong\n"; }
    location / { jpulse_render; }
CONF
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: sync publishes the unbalanced page (exit 0) and warns with its
line and column; --json lists it under "warnings"
--- wait_for_log
pub/sub connection ready
--- pre_request
my @views = ('--views', "$main::Dir/views");
$main::Result = "sync: " . cli(@main::Cli, 'sync', @views)
    . "--json: " . cli(@main::Cli, 'sync', '--json', '--force', @views);
write_file("$main::Dir/views/doc/index.shtml",
           "<h1>Doc v2</h1>\n  {{/each}}\n");
$main::Result .= "edit: " . cli(@main::Cli, 'sync', '--json', @views);
$main::Result =~ s/\Q$main::Dir\E/DIR/g;
$main::Result =~ s/^stderr: \S+ cachectl\[\d+\] /stderr: /mg;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
sync: exit 0
published 2 view, 0 config, 0 i18n change(s); 0 unchanged
warning doc/index.shtml:2:23: unbalanced "{{#if}}": no matching {{/if}}
stderr: info: view roots: DIR/views
stderr: warn: published doc/index.shtml:2:23: unbalanced "{{#if}}": no matching {{/if}} (an error comment in the page, as jPulse renders it)
--json: exit 0
{"views":0,"config":0,"i18n":0,"unchanged":2,"refusedNow":0,"refused":[],"held":0,"heldPaths":[],"dryRun":false,"warnings":[{"path":"doc/index.shtml","warning":"doc/index.shtml:2:23: unbalanced \"{{#if}}\": no matching {{/if}}"}]}
stderr: info: view roots: DIR/views
stderr: warn: published doc/index.shtml:2:23: unbalanced "{{#if}}": no matching {{/if}} (an error comment in the page, as jPulse renders it)
edit: exit 0
{"views":1,"config":0,"i18n":0,"unchanged":1,"refusedNow":0,"refused":[],"held":0,"heldPaths":[],"dryRun":false,"warnings":[{"path":"doc/index.shtml","warning":"doc/index.shtml:2:3: unbalanced \"{{/each}}\": no matching {{#each}}"}]}
stderr: info: view roots: DIR/views
stderr: warn: published doc/index.shtml:2:3: unbalanced "{{/each}}": no matching {{#each}} (an error comment in the page, as jPulse renders it)



=== TEST 2: nginx serves the published page, 200, as jPulse renders it
--- request
GET /doc/
--- response_body
<h1>Doc v2</h1>
  <!-- Error: Unbalanced handlebar "/each" removed -->



=== TEST 3: render --check: FILE:LINE:COLUMN of the first tag, exit 1;
a clean page: exit 0, silent; a page that does not compile: refused by
sync (exit 1), the last good version stays
--- pre_request
write_file("$main::Dir/check.shtml", "<p>\n{{#if a}}x{{/unless}}\n");
$main::Result = "check: " . cli('render', '--check', "$main::Dir/check.shtml")
    . "clean: " . cli('render', '--check', "$main::Dir/views/ok/index.shtml");
write_file("$main::Dir/views/ok/index.shtml",
           ('{{#if 1}}' x 65) . ('{{/if}}' x 65));
$main::Result .= "deep: " . cli(@main::Cli, 'sync', '--views',
                                "$main::Dir/views");
$main::Result =~ s/\Q$main::Dir\E/DIR/g;
$main::Result =~ s/^stderr: \S+ cachectl\[\d+\] /stderr: /mg;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
check: exit 1
stderr: DIR/check.shtml:2:1: unbalanced "{{#if a}}": no matching {{/if}}
clean: exit 0
deep: exit 1
published 0 view, 0 config, 0 i18n change(s); 1 unchanged
refused ok/index.shtml:1:577: blocks nested deeper than 64
warning doc/index.shtml:2:3: unbalanced "{{/each}}": no matching {{#each}}
stderr: info: view roots: DIR/views
stderr: warn: published doc/index.shtml:2:3: unbalanced "{{/each}}": no matching {{#each}} (an error comment in the page, as jPulse renders it)
stderr: error: refused ok/index.shtml:1:577: blocks nested deeper than 64 (the last good version stays)



=== TEST 4: ... and nginx still serves the last good /ok/
--- request
GET /ok/
--- response_body
<p>ok</p>
