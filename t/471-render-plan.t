# Pages that read the request in a few places (the query, url.pathname
# in a navigation bar, the timezone) are rendered from a plan after their
# first render: the bytes of everything else are kept, and only the nodes
# that read the request run again. Every response must equal what a full
# render gives: several queries in a row (a hostile one escaped), HEAD,
# components defined by an included header, and a change of an include
# or of the page made visible by the cache API's flush.
use lib 't/lib';
use JPulseTest ();
use Test::Nginx::Socket;

our $Dir = File::Temp::tempdir('jpulse-t471-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

sub main::site {
    my (%files) = @_;
    JPulseTest::view_tree("$Dir/view", { %files });
}

our $Header = <<'T';
<!-- * @name header -->
<head><title>{{title}} - {{app.site.name}}</title>
{{#each file.list "components/*.tmpl"}}{{file.include this}}{{/each}}</head>
<nav>{{#each appConfig.view.navigation}}<a{{#eq this.url url.pathname}} class="on"{{/eq}}>{{this.label}}</a>{{/each}}</nav>
T

main::site(
    'jpulse-header.tmpl' => $Header,
    'components/cards.tmpl' =>
        qq({{#component "site.card"}}<card>{{t}}</card>{{/component}}),
    'search/index.shtml' => <<'T',
<html {{appConfig.system.htmlAttrs}}>{{file.include "jpulse-header.tmpl" title="Search"}}
<p>q={{url.param.q}}</p>{{components.site.card t=(url.param.q)}}{{components.site.card t=(app.site.name)}}
<ul>{{#each appConfig.view.navigation}}<li>{{@index}} {{this.label}}</li>{{/each}}</ul>
<p>tz={{user.timezone}} {{#if url.param.q}}found{{else}}none{{/if}}</p>
T
);
JPulseTest::view_tree($Dir, { 'app.json' =>
    '{"app":{"site":{"name":"Tides"}},"view":{"navigation":['
    . '{"url":"/home/","label":"Home"},{"url":"/search/","label":"Search"}]}}' });

$ENV{TEST_NGINX_T471_DIR} = $Dir;

# the page for query $q as a full render gives it
sub main::page {
    my ($q, $esc, %opt) = @_;
    my $title = $opt{title} // 'Search';
    my $card = $opt{card} // '<card>%s</card>';
    my $cardq = sprintf $card, $esc;
    my $cardn = sprintf $card, 'Tides';
    return qq(<html lang="en" data-theme="light">)
        . qq(<head><title>$title - Tides</title>\n</head>\n)
        . qq(<nav><a>Home</a><a class="on">Search</a></nav>\n\n)
        . qq(<p>q=$esc</p>$cardq$cardn\n)
        . qq(<ul><li>0 Home</li><li>1 Search</li></ul>\n)
        . qq(<p>tz=UTC ) . ($q eq '' ? 'none' : 'found') . qq(</p>\n);
}

our $Hostile = '<b>"x"</b>';
our $HostileEsc = '&lt;b&gt;&quot;x&quot;&lt;/b&gt;';
our $HostileUri = '%3Cb%3E%22x%22%3C%2Fb%3E';

our @Queries = (['tide', 'tide'], ['', ''], [$HostileUri, $HostileEsc],
                ['ebb', 'ebb'], ['tide', 'tide']);

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

# one nginx for every block (the plans of one block serve the next)
add_block_preprocessor(sub {
    my $block = shift;
    $block->set_value('http_config', <<'CONF');
    jpulse_view_roots $TEST_NGINX_T471_DIR/view;
    jpulse_config $TEST_NGINX_T471_DIR/app.json;
CONF
    $block->set_value('config', <<'CONF');
    location /api/1/cache/ { jpulse_cache_api; }
    location / { jpulse_render; }
CONF
});

repeat_each(1);
plan tests => repeat_each() * (2 * 5 + 3 + 2 * 2);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the same page for five queries in a row, as a full render
gives it each time
--- request eval
[map { "GET /search/?q=$_->[0]" } @main::Queries]
--- error_code eval
[(200) x 5]
--- response_body eval
[map { main::page($_->[0] eq '' ? '' : 'x', $_->[1]) } @main::Queries]



=== TEST 2: HEAD from the plan: the header, no body
--- request
HEAD /search/?q=neap
--- error_code: 200
--- response_body eval
""
--- no_error_log
[error]



=== TEST 3: a changed header include and page, made visible by the
cache API (a new epoch): the plan is not reused for them
--- pre_request
(my $h = $main::Header) =~ s/<title>/<title>v2 /;
main::site('jpulse-header.tmpl' => $h,
           'components/cards.tmpl' =>
               qq({{#component "site.card"}}<c2>{{t}}</c2>{{/component}}));
my ($status) = JPulseTest::http_get($ENV{TEST_NGINX_SERVER_PORT},
                                    '/api/1/cache/refresh/view',
                                    method => 'POST', body => '');
die "refresh: $status\n" unless $status == 200;
--- request eval
["GET /search/?q=a", "GET /search/?q=b"]
--- error_code eval
[200, 200]
--- response_body eval
[main::page('x', 'a', title => 'v2 Search', card => '<c2>%s</c2>'),
 main::page('x', 'b', title => 'v2 Search', card => '<c2>%s</c2>')]
