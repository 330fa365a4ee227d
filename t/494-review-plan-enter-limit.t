# Review of c5b918b (plans give what a full render gives): an include
# replayed from a plan (JP_TPL_P_ENTER) counts its call (rs->calls++) but
# does not check it against the limit, as jp_tpl_include() does; only a
# later BYTES part notices (JP_TPL_PLAN_DIVERGED). When what follows the
# ENTER is only nodes rendered again, nothing notices: a node rendered
# again before it (a branch taken on this request only) used up the
# 10000 calls, the full render writes the limit's error comment in place
# of the include, the plan rendered the include (before the fix). The page must
# start with kept bytes: a plan with none is not kept.
use lib 't/lib';
use JPulseTest ();
use Test::Nginx::Socket;

our $Dir = File::Temp::tempdir('jpulse-t494-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

my $big = '[' . join(',', ('0') x 10000) . ']';

JPulseTest::view_tree("$Dir/view", {
    # exactly 10000 calls on ?x=1, none without; then an include whose
    # whole body reads the request: no kept bytes after the ENTER
    'enter/index.shtml' =>
        qq(<p>{{#component "site.d"}}.{{/component}})
        . qq({{#if url.param.x}}{{#each (json.parse "$big")}})
        . qq({{components.site.d}}{{/each}}{{/if}})
        . qq({{file.include "part.tmpl"}}),
    'part.tmpl' => qq({{url.param.y}}),
});
JPulseTest::view_tree($Dir, { 'app.json' => '{"app":{"site":{}}}' });

$ENV{TEST_NGINX_T494_DIR} = $Dir;
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our $Err = qr/<!-- Error: [^>]*more than 10000 includes and component calls -->/;

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'CONF');
    jpulse_view_roots $TEST_NGINX_T494_DIR/view;
    jpulse_config $TEST_NGINX_T494_DIR/app.json;
CONF
    $block->set_value('config', $block->config // <<'CONF');
    jpulse_template_check_interval 1h;
    location / { jpulse_render; }
CONF
});

no_long_string();
repeat_each(1);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a full render of ?x=1&y=Y stops at the include (the reference)
--- config
    jpulse_template_check_interval 0;
    location / { jpulse_render; }
--- request
GET /enter/?x=1&y=Y
--- error_code: 200
--- response_body_like eval
qr/\A<p>\.{10000}$main::Err\z/



=== TEST 2: from the plan recorded without x, ?x=1&y=Y must stop at the same place
--- request eval
["GET /enter/?y=A", "GET /enter/?x=1&y=Y"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/\A<p>A\z/, qr/\A<p>\.{10000}$main::Err\z/]
