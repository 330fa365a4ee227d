# Review of issue 10: url.pathname and the per-URL key take the path's
# length as r->args.data - 1 - r->unparsed_uri.data (context.c
# ngx_http_jpulse_context_url, render.c ngx_http_jpulse_render_url_variant).
# That holds only while r->args points into the request line. "set $args",
# a rewrite with a query, an internal redirect with one (error_page,
# try_files, index) point r->args into the pool: the length is then the
# distance between two unrelated buffers (or a negative one cast to
# size_t), and the context reads it as url.pathname: an out-of-bounds
# read, a huge malloc in jp_json_string_lossy, or a crash. The plainest
# trigger needs no rewrite at all: an SSI "include virtual" with a query
# (a subrequest's args live in the pool; TEST 4). What leaks is worker
# heap: other requests' headers, config text, pointers (ASLR).
use strict;
use warnings;

use lib 't/lib';
use Test::Nginx::Socket;

our $HttpConfig = <<'CONF';
    jpulse_view_roots $TEST_NGINX_HTML_DIR/v;
    jpulse_template_check_interval 1h;
CONF

our $Config = <<'CONF';
    location / { jpulse_render; }
    location /set/ {
        set $args "a=1";
        jpulse_render;
    }
    location /ssi/ {
        ssi on;
        jpulse_render;
    }
    location /rw/ {
        rewrite ^/rw/(.*)$ /nav/$1?b=2 last;
    }
CONF

our @Files = (
    ['v/set/index.shtml', "P={{url.pathname}} S={{url.search}}\n"],
    ['v/nav/index.shtml', "P={{url.pathname}} S={{url.search}}\n"],
    ['v/ssi/index.shtml', qq(A<!--# include virtual="/nav/?x=1" -->B\n)],
    ['v/error/index.shtml', "E{{url.param.code}}\n"],
);

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $HttpConfig)
        unless defined $block->http_config;
    $block->set_value('config', $Config) unless defined $block->config;
    $block->set_value('user_files', \@Files)
        unless defined $block->user_files;
    $block->set_value('no_error_log', "[alert]\n[emerg]\nsignal")
        unless defined $block->no_error_log;
});

# keep the report short: what leaks is worker memory, 160 KB of it
sub main::short {
    my ($b) = @_;
    return length($b) > 200
           ? 'LEAK: ' . length($b) . ' bytes: '
             . join('', map { sprintf '%02x', ord } split //, substr($b, 0, 48))
             . "\n"
           : $b;
}

no_long_string();
repeat_each(1);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: set $args: url.pathname is the path as sent
--- request
GET /set/
--- response_body_filters eval
\&main::short
--- response_body
P=/set/ S=?a=1



=== TEST 2: set $args, the request had a query of its own
--- request
GET /set/?zz=1
--- response_body_filters eval
\&main::short
--- response_body
P=/set/ S=?a=1



=== TEST 3: rewrite with a query: the length is not that of the request line
--- request
GET /rw/
--- response_body_filters eval
\&main::short
--- response_body_like
^P=/rw/ S=\?b=2\n$



=== TEST 4: an SSI include virtual with a query, no rewrite anywhere
--- request
GET /ssi/
--- response_body_filters eval
\&main::short
--- response_body_like
^AP=/(nav|ssi)/ S=\?x=1\nB\n$
