# make run with MongoDB (examples/run): the Mongo-wire test server
# started on a free port and seeded, nginx configured for it, and the
# searches as README.md's "make run" section shows them with curl: sign
# in, a page of users, the next page by its cursor; users for admins
# only (ada), logs for anyone signed in (bruno); passwordHash never
# returned. Ctrl-C (SIGINT to the process group, as a terminal sends it)
# stops everything it started. MONGO=off says so and runs without.
#
# A run of its own in a private RUN_DIR on free ports; needs the Node
# peer and the test server (make deps), else it skips.
use strict;
use warnings;

use lib 't/lib';
use File::Temp ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes ();
use JPulseTest qw(http_get poll_until);
use Test::More;

my $top = POSIX::getcwd();

plan skip_all => 'the Mongo-wire test server is not installed (make deps)'
    unless -d "$top/scripts/mongo-test-server/node_modules/\@push.rocks/smartmongo";
plan skip_all => 'the Node peer is not installed (make deps)'
    unless -d "$top/peers/node/node_modules";

my $Json = JSON::PP->new;

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die "no free port: $!";
    return $s->sockport;
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    return <$fh> // '';
}

# examples/run in a process group of its own: (pid, port, dir, out file)
sub start_run {
    my (%env) = @_;
    my $dir = File::Temp::tempdir('t740.XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $port = free_port();
    my $out = "$dir.out";

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        POSIX::setpgid(0, 0);
        $ENV{$_} = $env{$_} for keys %env;
        $ENV{RUN_DIR} = $dir;
        $ENV{PORT} = $port;
        delete $ENV{$_} for qw(MONGO_URI NODE SESSION_SECRET);
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out;
        open STDERR, '>&', \*STDOUT;
        exec "$top/examples/run" or POSIX::_exit(127);
    }

    # nginx is the last to start: ready once it answers
    my $up = poll_until(60, sub {
        return 0 if waitpid($pid, POSIX::WNOHANG()) != 0;
        my ($st) = http_get($port, '/api/1/health/ready');
        return $st != 0;
    }, 0.2);
    return ($pid, $port, $dir, $out, $up);
}

# SIGINT to the group; every process of it gone
sub stop_run {
    my ($pid) = @_;
    kill 'INT', -$pid;
    waitpid $pid, 0;
    return poll_until(15, sub { kill(0, -$pid) == 0 }, 0.1);
}

sub login {
    my ($port, $user) = @_;
    my ($st, $h) = http_get($port, '/api/1/auth/login', method => 'POST',
        headers => "Content-Type: application/json\r\n",
        body => qq({"identifier":"$user","password":"$user-tides"}));
    my ($sid) = ($h->{'set-cookie'} // '') =~ /^(connect\.sid=[^;]+)/;
    return $st == 200 ? $sid : undef;
}

sub get_json {
    my ($port, $path, $cookie) = @_;
    my ($st, $h, $body) = http_get($port, $path,
        headers => $cookie ? "Cookie: $cookie\r\n" : '');
    my $doc = eval { $Json->decode($body) } // { raw => $body };
    return ($st, $doc);
}

sub urlenc {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9._~-])/sprintf('%%%02X', ord $1)/ge;
    return $s;
}


# ---- with MongoDB

my ($pid, $port, $dir, $out, $up) = start_run();
ok($up, 'make run with MongoDB is up') or diag(slurp($out));

my $said = slurp($out);
like($said, qr/Mongo-wire test server \(CongoDB, in memory\) at mongodb:\/\/127\.0\.0\.1:(\d+)\/jpulse/,
     'it says where the test server is');
my ($mongo_port) = $said =~ m{mongodb://127\.0\.0\.1:(\d+)/jpulse};
like(slurp("$dir/logs/mongo.log"),
     qr/seed: users: 1003 into jpulse\.users\n.*seed: logs: 5000 into jpulse\.logs\n.*configs: \{_id:"global"\}/s,
     'seeded: 1,000 users and the example\'s three, 5,000 logs, siteConfig');

ok(poll_until(20, sub {
    my (undef, $d) = get_json($port, '/api/1/health/status');
    return ($d->{data}{database} // '') eq 'connected';
}, 0.2), 'health: database connected');

my ($st, $d) = get_json($port, '/api/1/user/search');
is($st, 401, 'anonymous: user search refused');
is($d->{code}, 'UNAUTHORIZED', '... as jPulse refuses it');

my $bruno = login($port, 'bruno');
ok($bruno, 'bruno signs in');
($st, $d) = get_json($port, '/api/1/user/search', $bruno);
is($st, 403, 'bruno (no admin) may not search users');
($st, $d) = get_json($port, '/api/1/log/search?limit=3', $bruno);
is($st, 200, 'bruno (signed in) may search logs');
is($d->{pagination}{total}, 5000, '... all 5,000 of them');

my $ada = login($port, 'ada');
ok($ada, 'ada (an admin) signs in');

($st, $d) = get_json($port, '/api/1/user/search?limit=5&sort=-createdAt', $ada);
is($st, 200, 'ada: a page of users');
is($d->{success} ? 1 : 0, 1, '... success');
is(scalar @{ $d->{data} // [] }, 5, '... 5 rows');
is($d->{pagination}{mode}, 'cursor', '... cursor mode');
is($d->{pagination}{total}, 1003, '... of 1,003');
ok($d->{pagination}{hasMore} && $d->{pagination}{nextCursor}, '... and a next cursor');
ok(!grep({ exists $_->{passwordHash} } @{ $d->{data} // [] }),
   '... no passwordHash');
my @page1 = map { $_->{_id} } @{ $d->{data} // [] };

($st, my $d2) = get_json($port, '/api/1/user/search?cursor='
                         . urlenc($d->{pagination}{nextCursor} // ''), $ada);
is($st, 200, 'the next page by its cursor');
my @page2 = map { $_->{_id} } @{ $d2->{data} // [] };
is(scalar @page2, 5, '... 5 rows');
my %one = map { $_ => 1 } @page1;
ok(!grep({ $one{$_} } @page2), '... none of the first page');
ok($d2->{pagination}{prevCursor}, '... and a prev cursor');

($st, $d) = get_json($port, '/api/1/user/search?username=ada', $ada);
is($st, 200, 'ada finds herself');
is(join(',', map { "$_->{_id} $_->{username}" } @{ $d->{data} // [] }),
   '65f1a0c2e4b0a1b2c3d4e5f1 ada', '... with her id');

($st, $d) = get_json($port, '/api/1/log/search?data.docType=config&limit=2', $ada);
is($st, 200, 'log search by docType');
ok(($d->{pagination}{total} // 0) > 0
   && !grep({ ($_->{data}{docType} // '') ne 'config' } @{ $d->{data} // [] }),
   '... config changes only');

my ($redis_port) = $said =~ /^redis-server on 127\.0\.0\.1:(\d+),/m;
ok(stop_run($pid), 'Ctrl-C: every process of make run is gone');
ok(!IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1),
   '... nginx no longer listens');
ok($mongo_port
   && !IO::Socket::INET->new(PeerAddr => "127.0.0.1:$mongo_port", Timeout => 1),
   '... nor the Mongo-wire test server');
ok($redis_port
   && !IO::Socket::INET->new(PeerAddr => "127.0.0.1:$redis_port", Timeout => 1),
   '... nor redis-server');
# the databases outlive nginx: no worker killed while its last MongoDB
# call waited on a server that was gone, the heartbeat removed
my $log = slurp("$dir/logs/error.log");
unlike($log, qr/exited on signal|\[alert\]|\[emerg\]/,
       '... its workers exited by themselves');
unlike($log, qr/cannot remove the heartbeat/, '... the heartbeat removed');


# ---- MONGO=off

($pid, $port, $dir, $out, $up) = start_run(MONGO => 'off');
ok($up, 'make run with MONGO=off is up') or diag(slurp($out));
like(slurp($out), qr/^no MongoDB \(MONGO=off\): no search$/m, 'it says so');
my $conf = slurp("$dir/conf/nginx.conf");
ok($conf !~ /jpulse_mongodb|jpulse_search|thread_pool/,
   '... no MongoDB in its configuration');
($st, $d) = get_json($port, '/api/1/health/status');
is($d->{data}{database}, 'not configured', '... database not configured');
ok(stop_run($pid), 'Ctrl-C: every process is gone');

done_testing();
