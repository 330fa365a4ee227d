# One fetch in flight per key and worker (issue 10, item 13): requests
# for a page that is not in the worker's cache yet, arriving while its
# translations, index or sources are on their way, wait on the fetch in
# flight instead of sending their own. A proxy holds every reply of the
# command connection until all the requests are parked; Redis's MONITOR
# counts the commands that reached it. The result is written to a file
# the block then GETs.
use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis);
our $NS = 'coal:dev:';
our $N = 8;
our $Dir = File::Temp::tempdir('jpulse-t434-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

JPulseTest::view_tree("$Dir/view", {});
JPulseTest::view_tree($Dir, { 'app.json' => '{}',
                              'i18n/en.json' => '{"x":"local"}' });
JPulseTest::publish_tree($Redis, $NS, {
    'c/index.shtml' => "c: {{file.include \"part.tmpl\"}}\n",
    'd/index.shtml' => "d: {{file.include \"part.tmpl\"}}\n",
    'part.tmpl' => 'part',
}, event => 0);

$ENV{TEST_NGINX_T434_DIR} = $Dir;
$ENV{TEST_NGINX_T434_PROXY_PORT} = $Proxy->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

# $N concurrent GETs of $path while the replies are held, of which the
# first $leave leave once all are parked: "<n> x <status> <body>" per
# distinct answer, then the number of each command of the namespace's L2
# keys that reached Redis
sub main::batch {
    my ($path, $leave) = @_;

    my $mon = IO::Socket::INET->new("127.0.0.1:$main::Redis->{port}")
        or die "monitor: $!";
    print $mon "MONITOR\r\n";
    <$mon> =~ /^\+OK/ or die "MONITOR refused\n";

    RedisProxy::hold($main::Proxy, 1);

    my $parked = JPulseTest::log_count(qr/http finalize request: -4, "\Q$path\E\?"/);
    my @socks = map {
        my $s = IO::Socket::INET->new(
            PeerAddr => "127.0.0.1:$Test::Nginx::Socket::ServerPort")
            or die "connect: $!";
        print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
        $s;
    } 1 .. $main::N;

    # every request has been handled and parked
    JPulseTest::poll_until(5, sub {
        JPulseTest::log_count(qr/http finalize request: -4, "\Q$path\E\?"/)
            >= $parked + $main::N
    });

    if ($leave) {
        my $gone = JPulseTest::log_count(qr/client prematurely closed connection/);
        close $_ for splice @socks, 0, $leave;
        JPulseTest::poll_until(5, sub {
            JPulseTest::log_count(qr/client prematurely closed connection/)
                >= $gone + $leave
        });
    }

    RedisProxy::hold($main::Proxy, 0);

    my %answers;
    for my $s (@socks) {
        local $/;
        my $resp = <$s> // '';
        my ($status) = $resp =~ m{\AHTTP/1\.\d (\d+)};
        my (undef, $body) = split /\r\n\r\n/, $resp, 2;
        $answers{ ($status // 'none') . ' ' . ($body // '') }++;
    }

    JPulseTest::redis_cli($main::Redis, 'ECHO', 'end-of-batch');

    my %count;
    while (my $line = <$mon>) {
        last if $line =~ /"ECHO" "end-of-batch"/;
        $count{"$1 $2"}++
            if $line =~ /"(GET|HGETALL|HMGET)" "\Q$main::NS\E(i18n:\w+|tplindex|tpl:[^"]+)"/;
    }
    close $mon;

    my $out = join '', map { "$answers{$_} x $_" } sort keys %answers;
    $out .= join '', map { "$_: $count{$_}\n" } sort keys %count;
    JPulseTest::view_tree($main::Dir, { 'batch.txt' => $out });
}

repeat_each(1);

plan tests => repeat_each() * 6;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: eight requests for a cold page, one fetch of each key
--- http_config
    jpulse_site_id coal;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T434_PROXY_PORT
                 command_timeout=10s ping_interval=60s;
    jpulse_view_roots $TEST_NGINX_T434_DIR/view;
    jpulse_config $TEST_NGINX_T434_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T434_DIR/i18n;
--- config
    location = /batch { alias $TEST_NGINX_T434_DIR/batch.txt; }
    location / { jpulse_render; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
main::batch('/c/');
--- request
GET /batch
--- response_body
8 x 200 c: part
GET i18n:en: 1
HGETALL tplindex: 1
HMGET tpl:c/index.shtml: 1
HMGET tpl:part.tmpl: 1



=== TEST 2: requests that leave while others wait on the same fetches
Five of the eight leave once all are parked: the other three are answered
from the same single fetches.
--- http_config
    jpulse_site_id coal;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T434_PROXY_PORT
                 command_timeout=10s ping_interval=60s;
    jpulse_view_roots $TEST_NGINX_T434_DIR/view;
    jpulse_config $TEST_NGINX_T434_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T434_DIR/i18n;
--- config
    location = /batch { alias $TEST_NGINX_T434_DIR/batch.txt; }
    location / { jpulse_render; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
main::batch('/d/', 5);
--- request
GET /batch
--- response_body
3 x 200 d: part
HMGET tpl:d/index.shtml: 1
--- no_error_log
[error]
[alert]
