# Plans for signed-in pages (issue 14): a signed-in user's page is
# rendered from a plan (the bytes of what reads nothing of the request,
# kept from a first render; what reads user.*, url.* or the clock
# rendered again) kept per language, theme and auth class. A plan must
# never show one user's data to another: signed-in users, a session half
# signed in and anonymous visitors interleaved on one keep-alive
# connection get, byte for byte, what a full render gives them (the
# location /ref/ has jpulse_template_check_interval 0, which keeps
# neither pages nor plans), with user.* in a header include, #if, #each,
# #with, a component given the user, a subexpression, a let that
# captures the user, and appConfig as the withAuth filter shows it.
use strict;
use warnings;

use lib 't/lib';
use JPulseTest qw(redis_start);
use GatesTest ();
use IO::Socket::INET;
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'plan:dev:';
our %C = GatesTest::cast($Redis, $NS);

# half-way through a multi-step login: user.* shown, not signed in
GatesTest::put_session($Redis, $NS, 'halfway-session-id-0123456789abc',
    GatesTest::session_json(%{ $GatesTest::Users{eve} },
                            isAuthenticated => 'false'));
$C{halfway} = GatesTest::cookie('halfway-session-id-0123456789abc');
$C{anon} = '';

our $Dir = File::Temp::tempdir('jpulse-t610-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

our $Page = <<'T';
<html {{appConfig.system.htmlAttrs}}>{{file.include "header.tmpl" title=(app.site.name)}}
<p>A long static paragraph of {{app.site.name}} that every visitor sees.</p>
{{#if user.isAdmin}}<b>admin</b>{{else}}<i>not admin</i>{{/if}}
<ul>{{#each user.roles}}<li>{{this}}</li>{{/each}}</ul>
{{#component "site.badge"}}<badge>{{n}}/{{l}}</badge>{{/component}}
{{components.site.badge n=(user.firstName) l=(user.username)}}
<nick>{{string.uppercase (string.default user.nickName "guest")}}</nick>
<with>{{#with user}}{{lastName}}:{{email}}{{/with}}</with>
<p>q={{url.param.q}}</p>
<conf>{{appConfig.deployment.mode}}</conf>
<footer>{{user.preferences.theme}} {{app.site.name}}</footer>
T

our $Let = <<'T';
{{let who=(user.firstName)}}<p>{{app.site.name}}</p><who>{{vars.who}}</who>
<p>q={{url.param.q}}</p>
T

# the site's broadcast message, expanded per request, may greet the user
our $Bc = "<p>{{app.site.name}}</p>[{{appConfig.system.broadcastMessage}}]"
    . "\n<p>q={{url.param.q}}</p>\n";

JPulseTest::view_tree("$Dir/view", {
    'header.tmpl' => '<head><title>{{title}}</title>'
        . '{{#if user.isAuthenticated}}<span title="{{user.username}}">'
        . '{{user.initials}}</span>{{else}}<a>sign in</a>{{/if}}'
        . "</head>\n",
    'p/index.shtml' => $Page,
    'ref/index.shtml' => $Page,
    'let/index.shtml' => $Let,
    'letref/index.shtml' => $Let,
    'bc/index.shtml' => $Bc,
    'bcref/index.shtml' => $Bc,
});
JPulseTest::view_tree($Dir, {
    'app.json' => '{"app":{"site":{"name":"Tides"}},"deployment":{"mode":'
        . '"dev","dev":{"port":8080,"db":"g"}}}',
    'i18n/en.json' => '{"x":"y"}',
});

$ENV{TEST_NGINX_T610_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_T610_DIR} = $Dir;

# GETs on one keep-alive connection: [status, headers, body] each
sub main::keepalive {
    my (@reqs) = @_;

    my $port = $ENV{TEST_NGINX_PORT} || $ENV{TEST_NGINX_SERVER_PORT} || 1984;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 5)
        or die "connect: $!";
    binmode $s;

    my @res;
    for my $r (@reqs) {
        my ($path, $cookie) = @$r;
        print $s "GET $path HTTP/1.1\r\nHost: localhost\r\n"
                 . ($cookie ? "Cookie: $cookie\r\n" : '') . "\r\n";

        my $head = '';
        while ($head !~ /\r\n\r\n\z/) {
            sysread($s, my $c, 1) == 1 or die "eof in the head of $path";
            $head .= $c;
        }

        my ($status) = $head =~ m{\AHTTP/1\.1 (\d{3})};
        my %h;
        for (split /\r\n/, $head) {
            $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
        }

        die "no Content-Length for $path" unless defined $h{'content-length'};

        my $body = '';
        while (length $body < $h{'content-length'}) {
            my $n = sysread($s, my $buf,
                            $h{'content-length'} - length $body);
            die "eof in the body of $path" unless $n;
            $body .= $buf;
        }

        push @res, [$status, \%h, $body];
    }

    close $s;
    return @res;
}

# Each visitor's page from the plan and from a full render, interleaved,
# rounds times over: one line per difference, else "same N".
sub main::compare {
    my ($page, $ref, $rounds, @who) = @_;

    my (@reqs, @tags);
    for my $round (1 .. $rounds) {
        for my $w (@who) {
            push @reqs, ["/$page/?q=$w$round", $C{$w}],
                        ["/$ref/?q=$w$round", $C{$w}];
            push @tags, "$w$round";
        }
    }

    my @res = main::keepalive(@reqs);
    my ($same, $out) = (0, '');
    my %body;

    for my $i (0 .. $#tags) {
        my ($p, $r) = @res[2 * $i, 2 * $i + 1];

        if ($p->[0] != 200 || $r->[0] != 200) {
            $out .= "$tags[$i]: status $p->[0] $r->[0]\n";

        } elsif ($p->[2] ne $r->[2]) {
            $out .= "$tags[$i]: plan [$p->[2]] full [$r->[2]]\n";

        } else {
            $same++;
        }

        # a page for a signed-in user is theirs only
        my $cc = $p->[1]{'cache-control'} // '';
        my ($w) = $tags[$i] =~ /^([a-z]+)/;
        $out .= "$tags[$i]: Cache-Control [$cc]\n"
            if ($w eq 'anon') ? $cc =~ /private/ : $cc ne 'private, no-cache';

        (my $b = $p->[2]) =~ s/q=\w+/q=/;
        $body{$w} //= $b;
        $out .= "$tags[$i]: not the page of round 1\n" if $body{$w} ne $b;
    }

    # and no two visitors got the same page
    my %seen;
    for my $w (sort keys %body) {
        $out .= "$w and $seen{$body{$w}}: the same page\n"
            if $seen{$body{$w}};
        $seen{$body{$w}} //= $w;
    }

    return $out . "same $same\n";
}

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', <<'CONF') unless defined $block->http_config;
    jpulse_site_id plan;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T610_REDIS_PORT;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret gates-secret-of-the-tests;
    jpulse_view_roots $TEST_NGINX_T610_DIR/view;
    jpulse_config $TEST_NGINX_T610_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T610_DIR/i18n;
    jpulse_template_check_interval 1h;
CONF
    $block->set_value('config', <<'CONF') unless defined $block->config;
    location / { jpulse_render; }
    location /ref/ { jpulse_template_check_interval 0; jpulse_render; }
    location /letref/ { jpulse_template_check_interval 0; jpulse_render; }
    location /bcref/ { jpulse_template_check_interval 0; jpulse_render; }
CONF
    $block->set_value('wait_for_log', "command connection ready\n")
        unless defined $block->wait_for_log;
    $block->set_value('no_error_log', "[error]\n[alert]")
        unless defined $block->no_error_log || defined $block->error_log;
});

plan tests => repeat_each() * 40;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: what each visitor sees (a full render, for the record)
--- request eval
["GET /ref/?q=x", "GET /ref/?q=x", "GET /ref/?q=x"]
--- more_headers eval
["Cookie: $main::C{ada}", "Cookie: $main::C{bob}", ""]
--- response_body eval
[qq(<html lang="en" data-theme="light"><head><title>Tides</title><span title="ada">AL</span></head>

<p>A long static paragraph of Tides that every visitor sees.</p>
<b>admin</b>
<ul><li>user</li><li>admin</li></ul>
<badge>Ada/ada</badge>
<nick>ADA</nick>
<with>Lovelace:ada\@example.com</with>
<p>q=x</p>
<conf>dev</conf>
<footer>light Tides</footer>
),
qq(<html lang="en" data-theme="light"><head><title>Tides</title><span title="bob">B</span></head>

<p>A long static paragraph of Tides that every visitor sees.</p>
<i>not admin</i>
<ul><li>user</li></ul>
<badge>Bob/bob</badge>
<nick>BOBBY</nick>
<with>:bob\@example.com</with>
<p>q=x</p>
<conf>dev</conf>
<footer>light Tides</footer>
),
qq(<html lang="en" data-theme="light"><head><title>Tides</title><a>sign in</a></head>

<p>A long static paragraph of Tides that every visitor sees.</p>
<i>not admin</i>
<ul></ul>
<badge>/</badge>
<nick>GUEST</nick>
<with>:</with>
<p>q=x</p>
<conf></conf>
<footer> Tides</footer>
)]



=== TEST 2: a signed-in user first: the plan recorded for Ada serves Bob, Eve, a half-way session and anonymous visitors their own pages
--- request
GET /m
--- config
    location / { jpulse_render; }
    location /ref/ { jpulse_template_check_interval 0; jpulse_render; }
    location = /m { return 200 "m\n"; }
--- response_body_filters eval
sub { main::compare('p', 'ref', 3, qw(ada bob anon eve halfway)) }
--- response_body
same 15



=== TEST 3: an anonymous visitor first, then signed-in users
--- request
GET /m
--- config
    location / { jpulse_render; }
    location /ref/ { jpulse_template_check_interval 0; jpulse_render; }
    location = /m { return 200 "m\n"; }
--- response_body_filters eval
sub { main::compare('p', 'ref', 3, qw(anon halfway bob ada eve)) }
--- response_body
same 15



=== TEST 4: a let that captures the user: the page is right for everyone
--- request
GET /m
--- config
    location / { jpulse_render; }
    location /letref/ { jpulse_template_check_interval 0; jpulse_render; }
    location = /m { return 200 "m\n"; }
--- response_body_filters eval
sub { main::compare('let', 'letref', 2, qw(ada bob anon halfway)) }
--- response_body
same 8



=== TEST 5: the let page's text
--- request eval
["GET /let/?q=1", "GET /let/?q=2", "GET /let/?q=3"]
--- more_headers eval
["Cookie: $main::C{ada}", "Cookie: $main::C{bob}", ""]
--- response_body eval
["<p>Tides</p><who>Ada</who>\n<p>q=1</p>\n",
 "<p>Tides</p><who>Bob</who>\n<p>q=2</p>\n",
 "<p>Tides</p><who></who>\n<p>q=3</p>\n"]



=== TEST 6: a broadcast message that greets the user: each visitor's own
--- pre_request
JPulseTest::publish_config($main::Redis, $main::NS, site =>
    '{"broadcast":{"message":"Hello {{user.firstName}}!"}}');
JPulseTest::poll_until(2, sub {
    (JPulseTest::http_get($ENV{TEST_NGINX_PORT}, '/bcref/',
                          headers => "Cookie: $main::C{ada}\r\n"))[2]
    =~ /Hello Ada/ });
--- request
GET /m
--- config
    location / { jpulse_render; }
    location /bcref/ { jpulse_template_check_interval 0; jpulse_render; }
    location = /m { return 200 "m\n"; }
--- response_body_filters eval
sub { main::compare('bc', 'bcref', 2, qw(ada bob anon eve)) }
--- response_body
same 8



=== TEST 7: the broadcast page's text, from the page that may be planned
--- request eval
["GET /bc/?q=1", "GET /bc/?q=2", "GET /bc/?q=3"]
--- more_headers eval
["Cookie: $main::C{bob}", "Cookie: $main::C{ada}", ""]
--- response_body eval
["<p>Tides</p>[Hello Bob!]\n<p>q=1</p>\n",
 "<p>Tides</p>[Hello Ada!]\n<p>q=2</p>\n",
 "<p>Tides</p>[Hello !]\n<p>q=3</p>\n"]
