# L1 flooding by anonymous clients: 100k requests for paths that do not
# exist, and 100k with Host values of their own, must not push compiled
# templates out of a worker's cache (jpulse_template_cache_size is split
# in pools: negative entries and kept pages have caps of their own), and
# a kept page is keyed by a host the server block names, never by any
# Host a client sends.
#
# How eviction is seen: /page/ is compiled once, then its file changes on
# disk; with a check interval of an hour the worker keeps serving the
# compiled version as long as it is in L1, and reads the new one only
# after an eviction. /page/ reads url.param, so it is never a kept page.
use strict;
use warnings;

use lib 't/lib';
use IO::Socket::INET ();
use JPulseTest ();
use POSIX ();
use Test::Nginx::Socket;

our $Html = $ENV{TEST_NGINX_HTML_DIR};
our $Seen = '';

sub main::port { $Test::Nginx::Socket::ServerPort }

sub main::write_file {
    my ($path, $content) = @_;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $content;
    close $fh;
}

# Sends the requests $make->(0 .. $n - 1) gives, pipelined over keep-alive
# connections of $per requests each (a child writes while this process
# reads, so neither side waits for the other's buffers); returns
# "status=count ..." over every response.
sub main::flood {
    my ($n, $per, $make) = @_;

    my %status;
    for (my $first = 0; $first < $n; $first += $per) {
        my $last = $first + $per > $n ? $n - 1 : $first + $per - 1;
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . main::port(),
                                      Timeout => 30)
            or die "connect: $!";
        binmode $s;

        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            my $buf = '';
            for my $i ($first .. $last) {
                $buf .= $make->($i, $i == $last);
                if (length $buf > 65536) { print $s $buf; $buf = '' }
            }
            print $s $buf;
            POSIX::_exit(0);
        }

        my ($resp, $chunk) = ('');
        while (sysread $s, $chunk, 1 << 20) { $resp .= $chunk }
        waitpid $pid, 0;
        close $s;

        # a redirect's body has no final newline: a status line may follow
        # it on the same line
        $status{$1}++ while $resp =~ m{HTTP/1\.1 (\d{3}) }g;
    }

    return join(' ', map { "$_=$status{$_}" } sort keys %status);
}

sub main::renders {
    my (undef, undef, $m) = JPulseTest::http_get(main::port(), '/metrics');
    return $m =~ /^jpulse_template_renders_total (\d+)$/m ? $1 : -1;
}

# the worker's L1 after a flood: within its cap?
sub main::l1 {
    my (undef, undef, $j) = JPulseTest::http_get(main::port(),
                                                 '/api/1/cache/stats');
    my ($bytes, $max) = $j =~ /"bytes":(\d+),"maxBytes":(\d+)/
        or return "no stats: $j\n";
    return "L1 within its cap: " . ($bytes <= $max ? 1 : "0 ($bytes > $max)")
           . "\n";
}

sub main::req {
    my ($path, $host, $close) = @_;
    return "GET $path HTTP/1.1\r\nHost: $host\r\n"
           . ($close ? "Connection: close\r\n" : '') . "\r\n";
}

# "PAGE v1 <x>": /page/ is compiled and cached; then v2 goes to disk
sub main::prime {
    my ($status, undef, $body) = JPulseTest::http_get(main::port(),
                                                      '/page/?x=1');
    main::write_file("$Html/fl/root/page/index.shtml", "PAGE v2 {{url.param.x}}\n");
    return "before: $status $body";
}

add_block_preprocessor(sub {
    my $block = shift;

    $block->set_value('http_config', <<'C') unless defined $block->http_config;
    jpulse_metrics_zone jpulse 1m;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/fl/root;
    jpulse_template_cache_size 64k;
    jpulse_template_check_interval 1h;
C
    $block->set_value('config', <<'C') unless defined $block->config;
    keepalive_requests 100000;
    location / { jpulse_render; }
    location = /metrics { jpulse_metrics prometheus; }
    location /api/1/cache/ { jpulse_cache_api; }
C
    $block->set_value('user_files', <<'F') unless defined $block->user_files;
>>> fl/root/page/index.shtml
PAGE v1 {{url.param.x}}
>>> fl/root/host/index.shtml
HOST {{url.hostname}}
>>> fl/root/plain/index.shtml
PLAIN
>>> fl/root/error/index.shtml
E404
F
    $block->set_value('log_level', 'warn') unless defined $block->log_level;
});

repeat_each(1);
no_shuffle();
run_tests();

__DATA__

=== TEST 1: 100k requests for paths that do not exist (pages, directories,
extensionless, raw files) leave the compiled page in L1
--- pre_request
$main::Seen = main::prime();
$main::Seen .= "flood: " . main::flood(100_000, 10_000, sub {
    my ($i, $close) = @_;
    my $r = int(rand(1 << 30));
    my @paths = ("/r$r/$i.shtml", "/d$r$i/", "/x$i$r", "/img$r/$i.png");
    return main::req($paths[$i % 4], 'localhost', $close);
}) . "\n" . main::l1();
--- request
GET /page/?x=2
--- response_body_filters eval
sub { $main::Seen . "after: $_[0]" }
--- response_body
before: 200 PAGE v1 1
flood: 302=25000 404=75000
L1 within its cap: 1
after: PAGE v1 2
--- timeout: 60



=== TEST 2: 100k requests with Host values of their own for a page that
reads url.hostname leave the compiled page in L1
--- pre_request
$main::Seen = main::prime();
$main::Seen .= "flood: " . main::flood(100_000, 10_000, sub {
    my ($i, $close) = @_;
    return main::req('/host/', 'h' . int(rand(1 << 30)) . "-$i.example",
                     $close);
}) . "\n" . main::l1();
--- request
GET /page/?x=2
--- response_body_filters eval
sub { $main::Seen . "after: $_[0]" }
--- response_body
before: 200 PAGE v1 1
flood: 200=100000
L1 within its cap: 1
after: PAGE v1 2
--- timeout: 60



=== TEST 3: a page that reads the host is kept for the server's own names
(alone or with the port the connection came in on) and rendered every
time for any other Host, which a default server answers too: renders for
three requests each (another server on the port gives nginx a table of
names, where www.localhost is found)
--- http_config
    jpulse_metrics_zone jpulse 1m;
    jpulse_view_roots $TEST_NGINX_HTML_DIR/fl/root;
--- config
    server_name www.localhost *.wild.test;
    location / { jpulse_render; }
    location = /metrics { jpulse_metrics prometheus; }
    }

    # after the test's server, which stays the default one; the runner
    # closes this block
    server {
        listen 127.0.0.1:$TEST_NGINX_SERVER_PORT;
        server_name other.test;
        return 404;
--- pre_request
$main::Seen = '';
my $port = main::port();
my @hosts = (['localhost'], ['localhost:PORT', "localhost:$port"],
             ['evil.example'], ['LOCALHOST'], ['localhost.'],
             ['localhost:1'], ['localhost:0PORT', "localhost:0$port"],
             ['localhost:PORT+65536', 'localhost:' . ($port + 65536)],
             ['127.0.0.1:PORT', "127.0.0.1:$port"], ['www.localhost'],
             ['www.localhost:PORT', "www.localhost:$port"],
             ['WWW.localhost'], ['a.wild.test']);
for (@hosts) {
    my ($label, $host) = ($_->[0], $_->[1] // $_->[0]);
    my $before = main::renders();
    my $out = main::flood(3, 3, sub { main::req('/host/', $host, $_[1]) });
    $main::Seen .= "$label: $out renders=" . (main::renders() - $before) . "\n";
}
--- request
GET /plain/
--- response_body_filters eval
sub { $main::Seen . $_[0] }
--- response_body
localhost: 200=3 renders=1
localhost:PORT: 200=3 renders=1
evil.example: 200=3 renders=3
LOCALHOST: 200=3 renders=3
localhost.: 200=3 renders=3
localhost:1: 200=3 renders=3
localhost:0PORT: 200=3 renders=3
localhost:PORT+65536: 200=3 renders=3
127.0.0.1:PORT: 200=3 renders=3
www.localhost: 200=3 renders=1
www.localhost:PORT: 200=3 renders=1
WWW.localhost: 200=3 renders=3
a.wild.test: 200=3 renders=3
PLAIN
