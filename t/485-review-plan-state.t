# Review of the plans (merge of 'reqpath'): a node rendered again from a
# plan may change the render's state (a let, a component defined again)
# on a request other than the one recorded. The bytes kept from the
# recording were rendered under the recording's state, so what follows
# that node shows the recording's state, not this request's: a plan then
# differs from a full render (jpulse_template_check_interval 0). The
# recorder only refuses a node that changed the state while reading the
# request *during the recording*; a branch not taken then goes unseen.
use lib 't/lib';
use JPulseTest ();
use Test::Nginx::Socket;

our $Dir = File::Temp::tempdir('jpulse-t485-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {
    # a let only on some requests, read by a node kept from the plan
    'let/index.shtml' =>
        qq({{#if url.param.preview}}{{let banner="PREVIEW"}}{{/if}})
        . qq(<p>[{{vars.banner}}]</p>\n),
    # a component redefined only on some requests
    'comp/index.shtml' =>
        qq({{#component "site.c"}}A{{/component}})
        . qq({{#if url.param.x}}{{#component "site.c"}}B{{/component}})
        . qq({{/if}}<p>{{components.site.c}}</p>\n),
    # the same in an include written at the top level
    'inc/index.shtml' =>
        qq({{file.include "part.tmpl" t="T"}}<i>{{url.param.q}}</i>\n),
    'part.tmpl' =>
        qq({{#if url.param.q}}{{let who="q-set"}}{{/if}})
        . qq(<b>{{t}}:{{vars.who}}</b>),
});
JPulseTest::view_tree($Dir, { 'app.json' => '{"app":{"site":{}}}' });

$ENV{TEST_NGINX_T485_DIR} = $Dir;
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'CONF');
    jpulse_view_roots $TEST_NGINX_T485_DIR/view;
    jpulse_config $TEST_NGINX_T485_DIR/app.json;
CONF
    # an hour: the plan recorded by the first request serves the next
    # ones (with 0 the same requests pass: the full render)
    $block->set_value('config', <<'CONF');
    jpulse_template_check_interval 1h;
    location / { jpulse_render; }
CONF
});

repeat_each(1);
plan tests => repeat_each() * (2 * 9);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a let in a branch the recording did not take: the kept
"<p>[]</p>" is served where a full render prints the banner
--- request eval
["GET /let/", "GET /let/?preview=1", "GET /let/?preview=1"]
--- error_code eval
[200, 200, 200]
--- response_body eval
["<p>[]</p>\n", "<p>[PREVIEW]</p>\n", "<p>[PREVIEW]</p>\n"]



=== TEST 2: a component redefined in a branch the recording did not take
--- request eval
["GET /comp/", "GET /comp/?x=1", "GET /comp/"]
--- error_code eval
[200, 200, 200]
--- response_body eval
["<p>A</p>\n", "<p>B</p>\n", "<p>A</p>\n"]



=== TEST 3: the same inside an include written at the top level
--- request eval
["GET /inc/", "GET /inc/?q=z", "GET /inc/"]
--- error_code eval
[200, 200, 200]
--- response_body eval
["<b>T:</b><i></i>\n", "<b>T:q-set</b><i>z</i>\n", "<b>T:</b><i></i>\n"]
