# jpulse_redis max_pending=N: the commands in flight on a connection are
# bounded. While a proxy holds Redis's replies, requests that would need
# one more command are not queued behind the slow ones: they are rendered
# from the disk at once; those with commands in flight wait for them.
# Refusals are counted in the metrics and the commands in flight shown.
use lib 't/lib';
use JPulseTest qw(redis_start);
use RedisProxy ();
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Proxy = RedisProxy::start($Redis);
our $NS = 'mp:dev:';
our $Dir = File::Temp::tempdir('jpulse-t445-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;

my %disk = map { ("p$_/index.shtml" => "disk p$_\n") } 1 .. 4;
my %redis = map { ("p$_/index.shtml" => "redis p$_\n") } 1 .. 4;

JPulseTest::view_tree("$Dir/view", \%disk);
JPulseTest::view_tree($Dir, { 'app.json' => '{}',
                              'i18n/en.json' => '{"x":"local"}' });
JPulseTest::publish_tree($Redis, $NS, \%redis, event => 0);

$ENV{TEST_NGINX_T445_DIR} = $Dir;
$ENV{TEST_NGINX_T445_PROXY_PORT} = $Proxy->{port};
$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

sub main::answer {
    my ($s) = @_;
    local $/;
    my $resp = <$s> // '';
    my ($status) = $resp =~ m{\AHTTP/1\.\d (\d+)};
    my (undef, $body) = split /\r\n\r\n/, $resp, 2;
    return ($status // 'none') . ' ' . ($body // "\n");
}

# The four pages one after the other while the replies are held: each is
# either answered from the disk or parked on Redis before the next goes.
# Then the replies are let through and the parked ones answered.
sub main::batch {
    RedisProxy::hold($main::Proxy, 1);

    my @socks;

    for my $i (1 .. 4) {
        my $path = "/p$i/";
        my $done = JPulseTest::log_count(
            qr/http finalize request: -?\d+, "\Q$path\E\?"/);
        my $s = IO::Socket::INET->new(
            PeerAddr => "127.0.0.1:$Test::Nginx::Socket::ServerPort")
            or die "connect: $!";
        print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
        push @socks, $s;

        JPulseTest::poll_until(10, sub {
            JPulseTest::log_count(qr/http finalize request: -?\d+, "\Q$path\E\?"/)
                > $done
        });
    }

    RedisProxy::hold($main::Proxy, 0);

    # at most max_pending renders can wait, each on a command of its own
    # (or a gen poll may hold a place): the others came from the disk
    my @answers = map { main::answer($_) } @socks;
    my $disk = grep { /^200 disk p\d$/ } @answers;
    my $redis = grep { /^200 redis p\d$/ } @answers;
    JPulseTest::view_tree($main::Dir, { 'batch.txt' =>
        "answered 200: " . ($disk + $redis) . "\n"
        . "from the disk: " . ($disk >= 2 ? 'at least 2' : $disk) . "\n" });
}

repeat_each(1);

plan tests => repeat_each() * (blocks() * 3 + 5);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: past max_pending, a render falls back to the disk at once
--- http_config
    jpulse_site_id mp;
    jpulse_mode dev;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$TEST_NGINX_T445_PROXY_PORT
                 command_timeout=30s ping_interval=60s max_pending=2;
    jpulse_view_roots $TEST_NGINX_T445_DIR/view;
    jpulse_config $TEST_NGINX_T445_DIR/app.json;
    jpulse_i18n_dir $TEST_NGINX_T445_DIR/i18n;
--- config
    location = /batch { alias $TEST_NGINX_T445_DIR/batch.txt; }
    location = /metrics { jpulse_metrics; }
    location = /prom { jpulse_metrics prometheus; }
    location / { jpulse_render; }
--- wait_for_log
command connection ready
pub/sub connection ready
--- pre_request
main::batch();
--- request eval
["GET /batch", "GET /metrics", "GET /prom"]
--- response_body_filters eval
[undef,
 JPulseTest::json_pick(qw(data.statistics.components.module.stats.redis_refused
     data.statistics.components.module.stats.redis_pending)),
 sub { CORE::join "", grep { /^jpulse_redis_(refused_total|pending) / }
                split /^/, $_[0] }]
--- response_body_like eval
["\\Aanswered 200: 4\nfrom the disk: at least 2\n\\z",
qr/\Adata.statistics.components.module.stats.redis_refused=([2-9]|\d\d+)
data.statistics.components.module.stats.redis_pending=\d+
\z/,
qr/\Ajpulse_redis_refused_total ([2-9]|\d\d+)
jpulse_redis_pending \d+
\z/]
--- no_error_log
[error]
[alert]
