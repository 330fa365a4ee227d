# Review of the plans (merge of 'reqpath'): the per-render limits (10000
# includes and component calls, max iterations) count what ran. The
# bytes kept from a plan are written without counting the calls and
# iterations that made them, so a node rendered again from the plan has
# the whole budget to itself: where a full render of the same request
# stops with error comments, the plan renders on. A plan must give what
# a full render gives.
use lib 't/lib';
use JPulseTest ();
use Test::Nginx::Socket;

our $Dir = File::Temp::tempdir('jpulse-t486-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

my $big = '[' . join(',', ('0') x 6000) . ']';
my $mid = '[' . join(',', ('0') x 5000) . ']';

JPulseTest::view_tree("$Dir/view", {
    # 6000 calls that read nothing of the request, then 5000 more on a
    # query: 11000 in all, past the limit of 10000
    'calls/index.shtml' =>
        qq({{#component "site.d"}}.{{/component}})
        . qq({{#each (json.parse "$big")}}{{components.site.d}}{{/each}}\n)
        . qq({{#if url.param.x}}{{#each (json.parse "$mid")}})
        . qq({{components.site.d}}{{/each}}{{/if}}\n),
});
JPulseTest::view_tree($Dir, { 'app.json' => '{"app":{"site":{}}}' });

$ENV{TEST_NGINX_T486_DIR} = $Dir;
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

our $Err = qr/<!-- Error: Handlebar "components\.site\.d": more than 10000 includes and component calls -->/;

add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'CONF');
    jpulse_view_roots $TEST_NGINX_T486_DIR/view;
    jpulse_config $TEST_NGINX_T486_DIR/app.json;
CONF
    $block->set_value('config', $block->config // <<'CONF');
    jpulse_template_check_interval 1h;
    location / { jpulse_render; }
CONF
});

no_long_string();
repeat_each(1);
plan tests => repeat_each() * (2 * 2 + 2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: a full render of ?x=1 stops at the limit (the reference)
--- config
    jpulse_template_check_interval 0;
    location / { jpulse_render; }
--- request
GET /calls/?x=1
--- error_code: 200
--- response_body_like eval
qr/\A\.{6000}\n\.{4000}(?:$main::Err){1000}\n\z/



=== TEST 2: from the plan recorded without the query, ?x=1 must stop
at the same place
--- request eval
["GET /calls/", "GET /calls/?x=1"]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/\A\.{6000}\n\n\z/, qr/\A\.{6000}\n\.{4000}(?:$main::Err){1000}\n\z/]
