# docTypes: one query per TTL across 2 instances x 2 workers sharing one
# Redis (issue 13, "Must show"). The runner's nginx is instance A (master
# on, 2 workers), instance B is started beside it; every one of the four
# workers renders the page (fresh connections until each pid answered)
# until it shows the list, and the private test server's command log
# counts the distinct commands: exactly one, although four workers each
# had nothing and each started a refresh.
use lib 't/lib';
use JPulseTest qw(redis_start redis_command);
use MongoTest qw(skip_unless_mongo);
use GatesTest ();
use SiteTest ();
use Test::More ();
use Test::Nginx::Socket;

skip_unless_mongo();

plan skip_all => 'needs one nginx across blocks' if $ENV{TEST_NGINX_USE_VALGRIND};

our $Redis = redis_start();
our $NS = 'dt713:dev:';
our $Key = "${NS}cache:controller:log:docTypes";
our %C = GatesTest::cast($Redis, $NS);

our $Dir = File::Temp::tempdir('jpulse-t713-XXXXXX', TMPDIR => 1,
                                CLEANUP => 1);
chmod 0755, $Dir;
JPulseTest::view_tree("$Dir/view", {
    'logs/index.shtml' => "{{appConfig.system.docTypes}}\n",
});

our $Port = SiteTest::free_port();
our $CmdLog = "$Dir/commands.log";
SiteTest::mongo_start($Port, command_log => $CmdLog);
SiteTest::mongo($Port, insert => 'logs', documents => [
    { data => { docType => 'user' } }, { data => { docType => 'config' } },
    { data => { docType => 'site' } } ], '$db' => 't713');

our $HttpConfig = <<"CONF";
    jpulse_site_id dt713;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$Redis->{port};
    jpulse_mongodb mongodb://127.0.0.1:$Port/t713;
    jpulse_heartbeat off;
    jpulse_session on;
    jpulse_session_secret gates-secret-of-the-tests;
    jpulse_view_roots $Dir/view;
CONF

our $Config = <<'CONF';
    location / {
        add_header X-Pid $pid always;
        jpulse_render;
    }
CONF

our ($B, $Result);

# "A: ok, B: ok" once every worker of both instances answered with $want;
# each worker's first answers may be the fallback (a render never waits)
sub main::all_workers {
    my ($want) = @_;
    my ($a_master) = JPulseTest::_slurp(
        "$Test::Nginx::Socket::ServerRoot/logs/nginx.pid") =~ /(\d+)/;
    my @a = JPulseTest::nginx_pids($a_master);
    my @b = JPulseTest::nginx_pids($main::B->{pid});
    my $res;
    JPulseTest::poll_until(10, sub {
        my %seen;
        for my $n ([A => $Test::Nginx::Socket::ServerPort, \@a],
                   [B => $main::B->{port}, \@b])
        {
            my %want = map { $_ => 1 } @{ $n->[2] };
            for (1 .. 200) {
                my ($st, $h, $body) = JPulseTest::http_get($n->[1],
                    '/logs/', headers => "Cookie: $main::C{ada}\r\n");
                delete $want{ $h->{'x-pid'} // '' }
                    if $st == 200 && $body eq "$want\n";
                last unless %want;
            }
            $seen{ $n->[0] } = sprintf '%s (%d workers): %s', $n->[0],
                scalar @{ $n->[2] }, %want ? 'not all' : 'ok';
        }
        $res = "$seen{A}, $seen{B}\n";
        return $res !~ /not all/;
    }, 0.2);
    return $res;
}

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

repeat_each(1);
master_on();
workers(2);

add_block_preprocessor(sub {
    my ($block) = @_;
    $block->set_value('http_config', $HttpConfig);
    $block->set_value('config', $Config);
});

no_shuffle();
run_tests();

__DATA__

=== TEST 1: 2 instances x 2 workers, nothing in Redis: every worker shows the list, MongoDB was asked once
--- pre_request
redis_command($main::Redis, 'DEL', $main::Key);
$main::B = JPulseTest::nginx_start(workers => 2, http => $main::HttpConfig,
                                   config => $main::Config);
# every worker's Redis connections are up before the first render
JPulseTest::poll_until(10, sub {
    !grep {
        my $log = JPulseTest::_slurp($_);
        (() = $log =~ /command connection ready/g) < 2
    } "$main::B->{dir}/logs/error.log",
      "$Test::Nginx::Socket::ServerRoot/logs/error.log" });
my $n = SiteTest::distinct_count($main::CmdLog);
$main::Result = main::all_workers('["config","site","user"]');
$main::Result .= 'distinct queries: '
               . (SiteTest::distinct_count($main::CmdLog) - $n) . "\n";
--- request
GET /logs/
--- more_headers eval
"Cookie: $main::C{ada}"
--- response_body_filters eval
sub { $main::Result }
--- response_body
A (2 workers): ok, B (2 workers): ok
distinct queries: 1
--- no_error_log
[error]
[alert]
