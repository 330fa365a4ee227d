# Components and includes through nginx, as jPulse renders them: a card
# grid registered by file.includeComponents from files of several view
# roots and printed by {{#each components.ns}} in order=; "@name" header
# comments cut anywhere in an include (with one line break) but kept in
# the page; the whitespace after {{/component}} dropped; jPulse's own
# error comments for a missing include, a too deep include and a
# component that is not defined; and no i18n pre-pass in an include.
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

plan tests => repeat_each() * 2 * blocks();

run_tests();

__DATA__

=== TEST 1: a card grid from file.includeComponents across the roots
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/site $TEST_NGINX_HTML_DIR/fw;
--- config
    location / { jpulse_render; }
--- user_files eval
[["fw/dash/index.shtml", "<!--\n * \@name admin page\n-->\n{{file.include \"components/icons.tmpl\"}}{{file.includeComponents \"dash/*.shtml\" component=\"adminCards.*\"}}<div class=\"grid\">{{#each components.adminCards}}\n{{this}}{{/each}}\n</div>\n"],
 ["fw/components/icons.tmpl", "<!-- Start icons -->\n<!--\n * \@name icons\n * \@file components/icons.tmpl\n-->\n{{#component \"jpIcons.gear-svg\"}}<i>G</i>{{/component}}\n\n{{#component \"jpIcons.star-svg\"}}<i>S</i>{{/component}}\n"],
 ["fw/dash/config.shtml", "<!--\n * \@name config\n-->\n{{#component \"adminCards.config\" order=20}}\n  <a href=\"/dash/config.shtml\">{{components.jpIcons.gearSvg}} Config</a>\n{{/component}}\n<h1>Config page</h1>\n"],
 ["fw/dash/users.shtml", "{{#component \"adminCards.users\" order=10}}<a>{{components.jpIcons.starSvg}} Users</a>{{/component}}\n{{#component \"other.card\" order=1}}OTHER{{/component}}\n"],
 ["site/dash/site.shtml", "{{#component \"adminCards.site\"}}<a>Site</a>{{/component}}\n"]]
--- request
GET /dash/
--- response_body
<!--
 * @name admin page
-->
<!-- Start icons -->
<div class="grid">
<a><i>S</i> Users</a>
<a href="/dash/config.shtml"><i>G</i> Config</a>
<a>Site</a>
</div>



=== TEST 2: header comments anywhere in an include, with one line break
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
--- config
    location / { jpulse_render; }
--- user_files eval
[["v/p/index.shtml", "[{{file.include \"inc.tmpl\" p=\"P\"}}][{{file.include \"crlf.tmpl\"}}]\n"],
 ["v/inc.tmpl", "<!-- top -->\n<!--\n * \@name x\n-->\nBODY[{{p}}]\n/**\n * \@name js\n */\nMID\n{{!--\n * \@name hb\n--}}\nEND<!--  *  \@name two -->X\n<!--\n  \@name no star\n-->Y"],
 ["v/crlf.tmpl", "<!--\r\n * \@name c\r\n-->\r\nAFTER"]]
--- request
GET /p/
--- response_body
[<!-- top -->
BODY[P]
MID
ENDX
<!--
  @name no star
-->Y][AFTER]



=== TEST 3: jPulse's error comments for includes and components
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
--- config
    location / { jpulse_render; }
--- user_files eval
[["v/p/index.shtml", "{{file.include \"nope.tmpl\"}}\n{{file.include \"../x\"}}\n[{{components.q.r}}]{{#component \"q.r\"}}Q{{/component}}   \n[{{components.q.r}}]{{components}}\n{{file.include \"self.tmpl\"}}\n"],
 ["v/self.tmpl", "<{{file.include \"self.tmpl\"}}"]]
--- request
GET /p/
--- response_body
<!-- Error: Handlebar "file.include "nope.tmpl"": Include file not found: nope.tmpl (Module not found: view/nope.tmpl (checked site, plugins, and framework paths)) -->
<!-- Error: Handlebar "file.include "../x"": Prohibited path in include: ../x. Use relative paths from view root only. -->
[<!-- Error: Component "q.r" not found. Did you forget to include the component library? -->][Q]<!-- Error: Invalid component call: "components". Use {{components.name}} or {{components name="..."}} -->
<<<<<<<<<<<!-- Error: Handlebar "file.include "self.tmpl"": Maximum include depth (10) exceeded -->



=== TEST 4: an include gets no i18n pre-pass: a plain lookup
--- http_config
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
    jpulse_config $TEST_NGINX_HTML_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_HTML_DIR/i18n;
--- config
    location / { jpulse_render; }
--- user_files eval
[["app.json", '{"app":{"site":{"name":"Tides"}},"utils":{"i18n":{"default":"en"}}}'],
 ["i18n/en.json", '{"view":{"intro":"Home of {{app.site.name}}."}}'],
 ["v/p/index.shtml", "{{i18n.view.intro}}|{{i18n.view.nope}}|{{file.include \"inc.tmpl\"}}\n"],
 ["v/inc.tmpl", "{{i18n.view.intro}}|{{i18n.view.nope}}|{{#if true}}{{i18n.view.intro}}{{/if}}"]]
--- request
GET /p/
--- response_body
Home of Tides.|view.nope|Home of {{app.site.name}}.||Home of {{app.site.name}}.
