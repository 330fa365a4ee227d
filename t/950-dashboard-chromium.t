# jpulse_dashboard in a real browser: Debian's chromium, headless, opens
# the page of a 2-instance cluster (this suite's nginx and a second one on
# the same Redis, both serving examples/site, which a cachectl daemon
# publishes, refusing a draft that does not compile; and a jPulse Node
# instance's health broadcast, as Node peers are heard), signed in as an
# admin (a session written into Redis as the other suites write one; the
# browser gets its cookie from a test-only location). The script must
# have run: --dump-dom shows both nginx instances, the daemon and the Node
# instance, the figures and charts filled in by the script, no refresh
# error; --screenshot (1280x900) writes a PNG (DASHBOARD_SCREENSHOT=path
# keeps it: docs/dashboard.png was made so). Skipped without chromium
# (scripts/deps.sh installs it).
use strict;
use warnings;

use lib 't/lib';
use Cwd ();
use File::Temp ();

use JPulseTest qw(redis_start);
use CachectlTest ();
use GatesTest ();
use DashboardTest ();
use Test::Nginx::Socket;

plan skip_all => 'chromium is not installed (scripts/deps.sh)'
    unless $DashboardTest::Chromium;
plan skip_all => 'needs one nginx across blocks'
    if $ENV{TEST_NGINX_USE_VALGRIND};

our $Redis = redis_start();
our $NS = $DashboardTest::NS;
our %C = GatesTest::cast($Redis, $NS);
our $Site = Cwd::abs_path('examples/site');
our ($Second, $Daemon, $Png);

# a draft that does not compile, ahead of the site: cachectl refuses it
our $Drafts = File::Temp::tempdir('jpulse-t950-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
chmod 0755, $Drafts;
JPulseTest::view_tree($Drafts, {
    'drafts/tides.shtml' => "<p>\n" . ('{{#if 1}}' x 65) . ('{{/if}}' x 65)
                            . "\n",
});

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;
$ENV{TEST_NGINX_T950_REDIS_PORT} = $Redis->{port};
$ENV{TEST_NGINX_T950_SITE} = $Site;
$ENV{TEST_NGINX_T950_COOKIE} = $C{ada};

our $Http = <<'CONF';
    jpulse_site_id dash;
    jpulse_mode dev;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T950_REDIS_PORT;
    jpulse_heartbeat interval=200ms ttl=3s;
    jpulse_view_roots $TEST_NGINX_T950_SITE/site/webapp/view $TEST_NGINX_T950_SITE/webapp/view;
    jpulse_config $TEST_NGINX_T950_SITE/app.json;
    jpulse_i18n_dir $TEST_NGINX_T950_SITE/webapp/translations;
    jpulse_session on;
    jpulse_session_secret gates-secret-of-the-tests;
CONF

our $Config = <<'CONF';
    location = /admin/dashboard { jpulse_dashboard refresh=2s; }
    location = /api/1/health/metrics { jpulse_metrics; }
    location / { jpulse_render; }
    # the test's sign-in: the browser takes ada's cookie here
    location = /t/login {
        add_header Set-Cookie "$TEST_NGINX_T950_COOKIE; Path=/; HttpOnly";
        return 302 /admin/dashboard;
    }
CONF

sub main::subst {
    my ($text) = @_;
    $text =~ s/\$(TEST_NGINX_\w+)/$ENV{$1}/g;
    return $text;
}

# the dashboard at 1280x900 after 7 s of virtual time, with @args: stdout
sub main::chromium {
    return DashboardTest::chromium('--hide-scrollbars',
                                   '--window-size=1280,900',
                                   '--virtual-time-budget=7000', @_);
}

# the cells of the row of instance $id, tags dropped: "field=text ..."
sub main::row_cells {
    my ($html, $id) = @_;
    my ($tr) = $html =~ m{<tr data-id="\Q$id\E"[^>]*>(.*?)</tr>}s;
    return 'no row' unless defined $tr;
    my @f;
    while ($tr =~ m{<td data-field="(\w+)"[^>]*>(.*?)</td>}gs) {
        my ($f, $v) = ($1, $2);
        next if $f eq 'trend';
        $v =~ s/<[^>]+>//g;
        push @f, "$f=$v";
    }
    return join ' ', @f;
}

# what the DOM says once the script ran
sub main::dom_summary {
    my ($dom) = @_;

    my $master = CachectlTest::slurp("$Test::Nginx::Socket::ServerRoot"
                                     . "/logs/nginx.pid") =~ /(\d+)/ ? $1 : 0;
    my ($tbody) = $dom =~ m{<table id="jp-dash-table">.*?<tbody>(.*?)</tbody>}s;
    $tbody //= '';

    my %kinds;
    my @nums;
    my $self = 0;
    my $second = 0;
    my $sparks = 0;
    while ($tbody =~ m{<tr data-id="([^"]*)" data-kind="([^"]*)"[^>]*>(.*?)</tr>}gs) {
        my ($id, $kind, $tr) = ($1, $2, $3);
        $kinds{$kind}++;
        $self++ if $id =~ /:100:$master$/;
        $second++ if $main::Second && $id =~ /:100:$main::Second->{pid}$/;
        $sparks++ if $tr =~ /<svg[^>]*class="spark"[^>]*><polyline points="[\d., ]+"/;
        if ($kind eq 'nginx') {
            my ($rpm) = $tr =~ m{<td data-field="rpm"[^>]*>([^<]*)</td>};
            my ($req) = $tr =~ m{<td data-field="requests"[^>]*>([^<]*)</td>};
            push @nums, ($rpm // '') =~ /^\d+$/ && ($req // '') =~ /^\d+$/
                        && $req > 0 ? 'ok' : "rpm=$rpm requests=$req";
        }
    }
    my ($state) = $dom =~ /<main id="jp-dash"[^>]*data-state="(\w+)"/;
    my ($updated) = $dom =~ m{id="jp-dash-updated"[^>]*>([^<]*)<};
    my ($instances) = $dom =~ m{id="jp-dash-instances">(\d+)<};
    my $chart = $dom =~ m{<svg id="jp-dash-chart"[^>]*><polyline points="[\d., ]+"} ? 1 : 0;
    my $records = $dom =~ m{<section class="two" id="jp-dash-records" data-refreshed="[^"]+">.*drafts/tides.shtml}s ? 'yes' : 'no';
    my $error = $dom =~ m{<p id="jp-dash-error" class="error">} ? 'shown' : 'hidden';

    # the Node instance's figures do not move: the script's row (from the
    # metrics JSON) must read as the server's (rendered in C)
    my (undef, undef, $page) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, '/admin/dashboard',
        headers => "Cookie: $main::C{ada}\r\n");
    my ($js, $c) = (main::row_cells($dom, '12:0:777'),
                    main::row_cells($page, '12:0:777'));
    my $same = $js eq $c ? 'yes' : "no:\n  script: $js\n  server: $c";

    return "state=" . ($state // 'none') . "\n"
         . "updated=" . (($updated // '') =~ /^live: updated / ? 'yes' : "no: $updated") . "\n"
         . "rows: " . join(' ', map { "$_=$kinds{$_}" } sort keys %kinds) . "\n"
         . "this instance=$self second instance=$second\n"
         . "nginx figures: @nums\n"
         . "sparklines=$sparks chart=$chart instances tile=" . ($instances // '') . "\n"
         . "generations and cachectl fetched again=$records\n"
         . "Node row as the server renders it=$same\n"
         . "error=$error\n";
}

sub main::png_size {
    my ($file) = @_;
    my $png = CachectlTest::slurp($file);
    return "no PNG\n" unless substr($png, 0, 8) eq "\x89PNG\r\n\x1a\n";
    my ($w, $h) = unpack 'NN', substr($png, 16, 8);
    return "PNG ${w}x$h\n";
}

repeat_each(1);

plan tests => 12;

add_block_preprocessor(sub {
    my ($block) = @_;

    $block->set_value('http_config', $Http);
    $block->set_value('config', $Config);
    $block->set_value('no_error_log', "[alert]\n[crit]");
    # the Node instance's broadcast must find us subscribed
    $block->set_value('wait_for_log',
                      "pub/sub connection ready\ncommand connection ready\n");
});

no_shuffle();
run_tests();

END {
    JPulseTest::nginx_stop($Second) if $Second;
    CachectlTest::daemon_stop($Daemon) if $Daemon;
}

__DATA__

=== TEST 1: the cluster: a second nginx, cachectl publishing examples/site, traffic on both
--- pre_request
$main::Daemon = CachectlTest::daemon_start(redis => $main::Redis,
    site_id => 'dash', mode => 'dev',
    views => [$main::Drafts, "$main::Site/site/webapp/view",
              "$main::Site/webapp/view"],
    args => ['--app-config', "$main::Site/app.json",
             '--i18n', "$main::Site/webapp/translations"]);
$main::Second = JPulseTest::nginx_start(http => main::subst($main::Http),
                                        config => main::subst($main::Config));
for my $port ($Test::Nginx::Socket::ServerPort, $main::Second->{port}) {
    JPulseTest::http_get($port, $_) for ('/home/') x 5, '/about/', '/nope/';
}
# a jPulse Node instance on another host, heard by both nginx on pub/sub
DashboardTest::publish_node($main::Redis, hostname => 'app-012', rpm => 57);
# both nginx, the daemon and the Node instance are in the cluster view
JPulseTest::poll_until(10, sub {
    my (undef, undef, $b) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, '/admin/dashboard',
        headers => "Cookie: $main::C{ada}\r\n");
    my $n = () = $b =~ /<tr data-id=/g;
    $n >= 4;
});
--- request
GET /admin/dashboard
--- more_headers eval
"Cookie: $main::C{ada}"
--- response_body_like
^(?=(?:.*?data-kind="nginx">){2})(?=.*data-kind="cachectl">)(?=.*data-kind="node">)(?=.*<tr><td>view</td><td class="n">[1-9]\d*</td></tr>)(?=.*<tr><td class="mono">drafts/tides.shtml</td><td>drafts/tides.shtml:2:577: blocks nested deeper than 64</td></tr>)



=== TEST 2: headless chromium: the script ran, both instances and the daemon listed, figures filled in
--- request
GET /admin/dashboard
--- more_headers eval
"Cookie: $main::C{ada}"
--- response_body_filters eval
sub { main::dom_summary(main::chromium('--dump-dom')) }
--- response_body
state=live
updated=yes
rows: cachectl=1 nginx=2 node=1
this instance=1 second instance=1
nginx figures: ok ok
sparklines=4 chart=1 instances tile=4
generations and cachectl fetched again=yes
Node row as the server renders it=yes
error=hidden



=== TEST 3: headless chromium: a 1280x900 screenshot
--- request
GET /admin/dashboard
--- more_headers eval
"Cookie: $main::C{ada}"
--- response_body_filters eval
sub {
    my $dir = File::Temp::tempdir('jpulse-t950-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    my $png = $ENV{DASHBOARD_SCREENSHOT}
              // "$dir/dashboard.png";
    $png = Cwd::abs_path('.') . "/$png" unless $png =~ m{^/};
    unlink $png;
    main::chromium("--screenshot=$png");
    main::png_size($png);
}
--- response_body
PNG 1280x900
