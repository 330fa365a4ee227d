# A page with a stray or crossed block tag is no compile failure: nginx
# serves it (200) as jPulse renders it. Block tags pair by jPulse's level
# rule (an opener with the first closer of the same name and level); a tag
# left over becomes <!-- Error: Unbalanced handlebar "..." removed --> and
# the text around it stays. Levels count per unit, so an include's stray
# tag leaves the page alone. An unknown block renders jPulse's error. A
# closer before its opener: the error comment, no "{{/if:~-1~}}" marks.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

plan tests => repeat_each() * 3 * blocks();

our $HttpConfig = <<'CONF';
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
CONF

our $Config = <<'CONF';
    location / { jpulse_render; }
CONF

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('no_error_log', "[error]\n")
        unless defined $block->no_error_log;
});

run_tests();

__DATA__

=== TEST 1: a heading that names "{{#if}}" (never closed): 200, the tag is
an error comment, the rest of the page stays
--- user_files
>>> v/doc/index.shtml
<h1>{{app.name}}</h1>
A<h4>Subexpressions in {{#if}}</h4>B
E{{#let x=1}}F
--- request
GET /doc/
--- response_body
<h1></h1>
A<h4>Subexpressions in <!-- Error: Unbalanced handlebar "#if" removed --></h4>B
E<!-- Error: Unbalanced handlebar "#let x=1" removed -->F



=== TEST 2: crossed blocks: all four tags become comments, the text stays
in place
--- user_files
>>> v/x/index.shtml
{{#if true}}A{{#each list}}B{{/if}}C{{/each}}D
--- request
GET /x/
--- response_body
<!-- Error: Unbalanced handlebar "#if true" removed -->A<!-- Error: Unbalanced handlebar "#each list" removed -->B<!-- Error: Unbalanced handlebar "/if" removed -->C<!-- Error: Unbalanced handlebar "/each" removed -->D



=== TEST 3: a wrong closer; a closer with a space does not close (but
counts); the levels run over the whole page, lines do not matter
--- user_files
>>> v/w/index.shtml
Q{{#unless false}}A{{/if}}B
{{#if true}}A{{/if }}|{{#if true }}B{{/if}}
--- request
GET /w/
--- response_body
Q<!-- Error: Unbalanced handlebar "#unless false" removed -->A<!-- Error: Unbalanced handlebar "/if" removed -->B
A<!-- Error: Unbalanced handlebar "/if " removed -->|<!-- Error: Unbalanced handlebar "#if true " removed -->B



=== TEST 4: a closer before its opener: the later blocks do not pair (as
in jPulse), each tag is an error comment, no level marks leak
--- user_files
>>> v/y/index.shtml
X{{/if}}Y{{#if true}}Z{{/if}}W
--- request
GET /y/
--- response_body
X<!-- Error: Unbalanced handlebar "/if" removed -->Y<!-- Error: Unbalanced handlebar "#if true" removed -->Z<!-- Error: Unbalanced handlebar "/if" removed -->W



=== TEST 5: an include's stray closer is its own: the page's block still
pairs around the include
--- user_files
>>> v/z/index.shtml
{{#if true}}[{{file.include "part.tmpl"}}]{{/if}}
>>> v/part.tmpl
p{{/if}}q
--- request
GET /z/
--- response_body
[p<!-- Error: Unbalanced handlebar "/if" removed -->q
]



=== TEST 6: an unknown block, a lone {{else}}, {{else}} in #each (jPulse
prints both halves per item), {{#if}} without argument
--- user_files
>>> v/u/index.shtml
{{#foo a}}x{{/foo}}|{{else}}|{{#each (json.parse '[1,2]')}}{{this}}{{else}}e{{/each}}|{{#if}}T{{else}}F{{/if}}
--- request
GET /u/
--- response_body
<!-- Error: Handlebar "#foo a": Unknown block type: #foo -->||1e2e|F



=== TEST 7: a crossed {{else}} of a nested block of another name splits
the outer block, as in jPulse
--- user_files
>>> v/e/index.shtml
{{#if true}}{{#unless false}}X{{else}}Y{{/unless}}{{/if}}
--- request
GET /e/
--- response_body
<!-- Error: Unbalanced handlebar "#unless false" removed -->X
