# What the jPulse Node app receives from nginx: the URI nginx routed on
# (normalised), never the raw one. jPulse checks /admin/ on the raw path,
# so //admin/x or /x/../admin/x forwarded verbatim reach admin pages.
#
# The forwarding itself is contrib/jpulse-node-proxy.conf, the file
# nginx.conf.example and examples/nginx.conf include; the server below has
# nginx.conf.example's shape (signed-in pages to @node, /api/ to Node),
# with "return 200" standing in for jpulse_render, and a second server
# standing in for Node that answers with the request line's URI it got.
# The first tests check that the shipped configurations forward to Node
# through that file only.
use strict;
use warnings;

use lib 't/lib';
use Cwd ();
use Test::Nginx::Socket;

# TEST_NGINX_NODE_PROXY_CONF may name another snippet, to see this suite
# fail on a plain "proxy_pass http://jpulse_node;".
$ENV{TEST_NGINX_NODE_PROXY_CONF} //= Cwd::abs_path('contrib/jpulse-node-proxy.conf');

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value(http_config => <<'CONF') unless defined $block->http_config;
    map $http_cookie $jpulse_signed_in {
        default             0;
        "~connect\.sid="    1;
    }

    upstream jpulse_node {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        keepalive 32;
    }

    # Node's stand-in: says which URI the request line it got had
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / { return 200 "node got $request_uri\n"; }
    }
CONF

    $block->set_value(config => <<'CONF') unless defined $block->config;
    location /api/ {
        include $TEST_NGINX_NODE_PROXY_CONF;
    }

    location / {
        error_page 418 = @node;
        if ($jpulse_signed_in) {
            return 418;
        }
        return 200 "nginx rendered $uri\n";
    }

    location @node {
        include $TEST_NGINX_NODE_PROXY_CONF;
    }
CONF
});

our @Refused = ("/../admin/users.shtml", "/%2e%2e/admin/users.shtml",
                "/x/../../admin/", "/.%2E/admin/", "/admin%00.shtml",
                "/api/1/%2e%2e/%2e%2e/%2e%2e/admin/");

plan tests => 2 * 2 + repeat_each() * 94;

# The shipped configurations forward to Node only through the snippet.
# nginx.conf.example: /api/ (its pages read sessions: no @node);
# examples/nginx.conf: /login, /auth/login.shtml and /api/
my %shipped = ('nginx.conf.example' => 1, 'examples/nginx.conf' => 3);
for my $file (sort keys %shipped) {
    open my $fh, '<', $file or die "$file: $!";
    my $text = do { local $/; <$fh> };
    $text =~ s/#[^\n]*//g;
    my @proxy = $text =~ /\b(proxy_pass\b[^;]*;)/g;
    my @incl = $text =~ /\binclude\s+\S*jpulse-node-proxy\.conf\s*;/g;
    is_deeply(\@proxy, [], "$file: no proxy_pass of its own");
    is(scalar @incl, $shipped{$file},
       "$file: its Node locations include jpulse-node-proxy.conf");
}

run_tests();

__DATA__

=== TEST 1: signed-in pages: raw forms of /admin/ reach Node normalised (26)
--- more_headers
Cookie: connect.sid=s%3Aabc.def
--- request eval
["GET /admin/users.shtml",
 "GET //admin/index.shtml",
 "GET ///admin//users.shtml",
 "GET /x/../admin/users.shtml",
 "GET /x/%2e%2e/admin/users.shtml",
 "GET /x/%2E%2E/admin/users.shtml",
 "GET /admin/./users.shtml",
 "GET /admin/%2e/users.shtml",
 "GET /admin%2Fusers.shtml",
 "GET /x%2F..%2Fadmin%2Fusers.shtml",
 "GET /x/y/..//../admin/users.shtml",
 "GET /admin/x/..",
 "GET /x/.%2e/admin/"]
--- response_body eval
["node got /admin/users.shtml\n",
 "node got /admin/index.shtml\n",
 "node got /admin/users.shtml\n",
 "node got /admin/users.shtml\n",
 "node got /admin/users.shtml\n",
 "node got /admin/users.shtml\n",
 "node got /admin/users.shtml\n",
 "node got /admin/users.shtml\n",
 "node got /admin/users.shtml\n",
 "node got /admin/users.shtml\n",
 "node got /admin/users.shtml\n",
 "node got /admin/\n",
 "node got /admin/\n"]



=== TEST 2: /api/: the same, and the query string stays as sent (12)
--- request eval
["GET /api//1/admin/x",
 "GET /api/1/x/../admin/x",
 "GET /api/1/%2e%2e/1/admin/x",
 "GET /api/1/admin%2Fx?next=//y/../admin/%2e%2e&a=%2F",
 "POST /api/1/./admin/x?a=1\nbody=1",
 "GET /api/1/user/..%2F..%2F1/admin/x"]
--- response_body eval
["node got /api/1/admin/x\n",
 "node got /api/1/admin/x\n",
 "node got /api/1/admin/x\n",
 "node got /api/1/admin/x?next=//y/../admin/%2e%2e&a=%2F\n",
 "node got /api/1/admin/x?a=1\n",
 "node got /api/1/admin/x\n"]



=== TEST 3: decoded bytes are escaped again on the way out (20)
--- more_headers
Cookie: connect.sid=s%3Aabc.def
--- request eval
["GET /100%25.shtml",
 "GET /a%3Fb.shtml?c=d",
 "GET /a%23b.shtml",
 "GET /a%20b/",
 "GET /a%0D%0AX-Injected:%201/",
 "GET /a%09b/",
 "GET /%C3%A9t%C3%A9/",
 "GET /a%5Cb/",
 "GET /a%252e%252e/admin/",
 "GET /Admin/users.shtml"]
--- response_body eval
["node got /100%25.shtml\n",
 "node got /a%3Fb.shtml?c=d\n",
 "node got /a%23b.shtml\n",
 "node got /a%20b/\n",
 "node got /a%0D%0AX-Injected:%201/\n",
 "node got /a%09b/\n",
 "node got /%C3%A9t%C3%A9/\n",
 "node got /a%5Cb/\n",
 "node got /a%252e%252e/admin/\n",
 "node got /Admin/users.shtml\n"]



=== TEST 4: what cannot be normalised is refused, never forwarded (18)
nginx refuses it in the request line, before any location: the log line
names our server, not Node's stand-in.
--- more_headers
Cookie: connect.sid=s%3Aabc.def
--- request eval
[map { "GET $_" } @main::Refused]
--- error_code eval
[(400) x @main::Refused]
--- response_body_unlike eval
[("node got") x @main::Refused]
--- error_log eval
[map { qr/client sent invalid request while reading client request line, client: 127\.0\.0\.1, server: localhost, request: "GET \Q$_\E HTTP/ }
 @main::Refused]



=== TEST 5: an absolute request target is normalised too (2)
--- raw_request eval
"GET http://localhost//x/../admin/users.shtml?a=b HTTP/1.1\r\nHost: localhost\r\nCookie: connect.sid=s%3Aabc.def\r\n\r\n"
--- response_body
node got /admin/users.shtml?a=b



=== TEST 6: the proxied responses are whole: pipelined on one connection (8)
--- pipelined_requests eval
["GET //api/1/admin/x", "GET /api/1/../1/admin/y", "GET //x/../api/1/admin/z", "GET /home/"]
--- response_body eval
["node got /api/1/admin/x\n", "node got /api/1/admin/y\n",
 "node got /api/1/admin/z\n", "nginx rendered /home/\n"]



=== TEST 7: anonymous page requests stay with nginx (routed on the same URI) (6)
--- request eval
["GET //admin/index.shtml", "GET /x/../admin/users.shtml", "GET /admin%2Fusers.shtml"]
--- response_body eval
["nginx rendered /admin/index.shtml\n", "nginx rendered /admin/users.shtml\n",
 "nginx rendered /admin/users.shtml\n"]



=== TEST 8: the snippet keeps the request headers Node needs (2)
--- http_config
    upstream jpulse_node {
        server 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
    }
    server {
        listen 127.0.0.1:$TEST_NGINX_RAND_PORT_1;
        location / {
            return 200 "$request_uri host=$http_host xff=$http_x_forwarded_for xri=$http_x_real_ip proto=$http_x_forwarded_proto conn=$http_connection\n";
        }
    }
--- config
    location /api/ {
        include $TEST_NGINX_NODE_PROXY_CONF;
    }
--- request
GET //api/1/x
--- more_headers
Host: site.example
--- response_body
/api/1/x host=site.example xff=127.0.0.1 xri=127.0.0.1 proto=http conn=
