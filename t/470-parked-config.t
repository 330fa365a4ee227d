# A request parked on Redis (an L2 fetch) while the config in force
# changes: when it resumes, the worker has derived the new config and
# freed the old one, yet the request still renders with the language and
# theme it chose before the wait (its own copies), over the config in
# force now. Run under the ASan module (make asan-t) a dangling pointer
# into the old config is a heap-use-after-free report; without ASan it is
# a wrong language or a crash.
#
# Redis is frozen (SIGSTOP) so the fetch cannot be answered; the test
# waits until nginx logs the handler's NGX_DONE for the request (it is
# parked), rewrites the jpulse_config file, lets Redis go (SIGCONT) and
# reads the response. One worker, pages only in Redis, namespace
# "park:dev:".
use lib 't/lib';
use JPulseTest qw(redis_start);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 'park:dev:';
our $Dir = File::Temp::tempdir('jpulse-t470-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

our $Page = "<html {{appConfig.system.htmlAttrs}}> {{i18n.hello}} "
            . "marker={{appConfig.view.marker}}\n";

JPulseTest::view_tree("$Dir/view", {});    # empty: pages come from Redis
JPulseTest::publish_tree($Redis, $NS, {
    'warm/index.shtml' => $Page,
    # never requested before the test parks on it
    'parked/index.shtml' => $Page,
    'after/index.shtml' => $Page,
}, event => 0);
JPulseTest::publish_i18n($Redis, $NS, 'en', '{"hello":"Hello"}', event => 0);
JPulseTest::publish_i18n($Redis, $NS, 'de', '{"hello":"Hallo"}', event => 0);

# the local config: a new file (inode) each time, so its stamp moves
sub main::config_file {
    my ($lang, $theme, $marker) = @_;
    JPulseTest::view_tree($Dir, { 'app.json' =>
        qq({"utils":{"i18n":{"default":"$lang"},"theme":{"default":"$theme"}},)
        . qq("view":{"marker":"$marker"},"pad":"@{[ 'x' x length $marker ]}"}) });
}

main::config_file('en', 'dark', 'A');

$ENV{TEST_NGINX_T470_DIR} = $Dir;
$ENV{TEST_NGINX_T470_REDIS_PORT} = $Redis->{port};

plan skip_all => 'Redis is frozen under a single-process nginx'
    if $ENV{TEST_NGINX_USE_VALGRIND};

our $Seen = '';

# what pre_request saw, then the block's own response
sub main::seen_then { return $main::Seen . "final: $_[0]" }

sub main::get {
    my ($uri) = @_;
    my ($status, $h, $body) =
        JPulseTest::http_get($ENV{TEST_NGINX_SERVER_PORT}, $uri);
    return "$status $body";
}

sub main::parked {
    my ($uri) = @_;
    my $log = "$Test::Nginx::Socket::ServerRoot/logs/error.log";
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $ENV{TEST_NGINX_SERVER_PORT},
                                  Timeout => 30)
        or die "connect: $!";
    print $s "GET $uri HTTP/1.0\r\nHost: localhost\r\n\r\n";

    # the content handler returned NGX_DONE: the request waits for Redis
    JPulseTest::poll_until(20, sub {
        JPulseTest::_slurp($log) =~ /http finalize request: -4, "\Q$uri\E\?"/
    }) or die "$uri never parked\n";
    return $s;
}

sub main::answer {
    my ($s) = @_;
    local $/;
    my $res = <$s> // '';
    my ($head, $body) = split /\r\n\r\n/, $res, 2;
    my ($status) = ($head // '') =~ m{^HTTP/\d\.\d (\d+)};
    return ($status // 'no response') . ' ' . ($body // "\n");
}

repeat_each(1);
plan tests => repeat_each() * 4;
no_shuffle();
run_tests();

__DATA__

=== TEST 1: the config file changes (twice: the first version is also
held by the configuration) while a request is parked on Redis: it keeps
its language and theme (en, dark), renders the config in force now (C),
and the next request has the new defaults (de, light)
--- http_config
    jpulse_site_id park;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T470_REDIS_PORT command_timeout=30s;
    jpulse_view_roots $TEST_NGINX_T470_DIR/view;
    jpulse_config $TEST_NGINX_T470_DIR/app.json;
    jpulse_template_check_interval 20ms;
--- config
    location / { jpulse_render; }
--- pre_request
$main::Seen = '';
# B replaces A: the worker alone holds B once it derived it
main::config_file('en', 'dark', 'B');
JPulseTest::poll_until(10, sub { main::get('/warm/') =~ /marker=B/ })
    or die "config B never in force\n";
$main::Seen .= 'warm: ' . main::get('/warm/');

kill 'STOP', $Redis->{pid};
my $s = eval { main::parked('/parked/') };
my $err = $@;
main::config_file('de', 'light', 'C') unless $err;
# longer than the check interval: the resumed request sees the new file
Time::HiRes::sleep(0.1);
kill 'CONT', $Redis->{pid};
die $err if $err;
$main::Seen .= 'parked: ' . main::answer($s);
--- request
GET /after/
--- response_body_filters eval
\&main::seen_then
--- response_body
warm: 200 <html lang="en" data-theme="dark"> Hello marker=B
parked: 200 <html lang="en" data-theme="dark"> Hello marker=C
final: <html lang="de" data-theme="light"> Hallo marker=C
--- no_error_log
[error]
[alert]
