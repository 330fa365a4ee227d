# The test runner's own test. Runs the fixtures in t/runner-fixtures/
# through t/lib/Test/Nginx/Socket.pm in subprocesses, each on a port and a
# servroot of its own (never the main run's), and checks that what must
# pass passes and that wrong expectations fail with useful diagnostics.
use strict;
use warnings;

use Cwd ();
use File::Temp ();
use FindBin ();
use IO::Socket::INET ();
use Test::More;

my $TDir     = Cwd::abs_path($FindBin::Bin);
my $Lib      = "$TDir/lib";
my $Fixtures = "$TDir/runner-fixtures";

my $MainPort = $ENV{TEST_NGINX_PORT} || $ENV{TEST_NGINX_SERVER_PORT} || 1984;
my $Port     = pick_port($MainPort + 10);

my $Tmp = File::Temp::tempdir('ngx-runner-test-XXXXXX', TMPDIR => 1,
                              CLEANUP => 1);
# nginx workers run as "nobody" when we are root: they must reach html/.
chmod 0755, $Tmp;

note("fixtures run on 127.0.0.1:$Port under $Tmp");

subtest 'passing fixture passes' => sub {
    my $run = run_fixture('pass.tt',
                          TEST_NGINX_FIXTURE_GREETING => 'hi there');

    is($run->{exit}, 0, 'exit status 0') or diag($run->{out});
    like($run->{out}, qr/^1\.\.130$/m, 'plan: repeat_each(2) x 65');
    unlike($run->{out}, qr/^not ok/m, 'no failing test');
    is(count(qr/^ok \d+ /m, $run->{out}), 130, 'all 130 tests ran');
    is(count(qr/^ok \d+ # skip TEST 15:/m, $run->{out}), 4,
       'skip_nginx skipped 2 tests per round');
    unlike($run->{out}, qr/TEST 17:/, '--- SKIP block did not run');
    like($run->{out},
         qr/^ok \d+ - TEST 3: .* \(repeat 2\) - status code ok \(req 2\)$/m,
         'second round and third request are named');
    like($run->{out}, qr/^ok \d+ - TEST 13: .* - nginx failed to start as expected$/m,
         'must_die passes when nginx fails to start');

    my $conf = slurp("$Tmp/pass.tt/conf/nginx.conf");
    like($conf, qr/^env FIXTURE_ENV=fixture;$/m, 'env_to_nginx() in nginx.conf');
    like($conf, qr/^\s*worker_connections 128;$/m, 'worker_connections()');
    like($conf, qr/^\s*listen 127\.0\.0\.1:$Port;$/m, 'listens on 127.0.0.1 only');
    like($conf, qr/^master_process off;$/m, 'master process off by default');
    like($conf, qr/^daemon on;$/m, 'daemon on');
    nginx_stopped_ok('pass.tt');
};

subtest 'wrong expectations fail' => sub {
    my $run = run_fixture('fail.tt');
    my $out = $run->{out};

    isnt($run->{exit}, 0, 'exit status is not 0');
    like($out, qr/^1\.\.20$/m, 'every block emitted its tests');
    like($out, qr/Looks like you failed 10 tests of 20/, '10 failures');

    for my $failing (
        'TEST 1: wrong status - status code ok',
        'TEST 2: wrong body - response_body - response is expected',
        'TEST 3: wrong header value - header X-Foo ok',
        'TEST 4: header that should be absent is present - header X-Foo ok',
        'TEST 5: error_log pattern that never appears - pattern "this text never appears in the log" matches a line in error.log',
        'TEST 6: no_error_log pattern that does appear - pattern "No such file or directory" should not match any line in error.log',
        'TEST 7: response_body_like that does not match - response_body_like - response is expected',
        'TEST 8: client socket timeout - status code ok',
        'TEST 9: must_die, but nginx starts - nginx failed to start as expected',
        'TEST 10: nginx does not start (bad directive, no must_die) - nginx failed to start',
    ) {
        like($out, qr/^not ok \d+ - \Q$failing\E$/m, "fails: $failing");
    }
    for my $passing (
        'TEST 1: wrong status - response_body - response is expected',
        'TEST 2: wrong body - status code ok',
        'TEST 11: a good block after failures still passes - status code ok',
        'TEST 11: a good block after failures still passes - response_body - response is expected',
    ) {
        like($out, qr/^ok \d+ - \Q$passing\E$/m, "passes: $passing");
    }

    like($out, qr/^#\s+expected: '404'$/m, 'status failure shows the expected code');
    like($out, qr/^# -line 2\n# \+line two$/m, 'body failure shows a unified diff');
    like($out, qr/^# TEST 2: wrong body: error\.log of this round, last \d+ entries/m,
         'body failure shows the tail of error.log');
    like($out, qr/^#\s+got: 'bar'\n#\s+expected: 'baz'$/m,
         'header failure shows got and expected');
    like($out, qr/^#\s+matching lines:\n#.*\[error\].*open\(\) ".*missing\.txt" failed/m,
         'no_error_log failure shows the matching line');
    like($out, qr/client socket timed out/, 'timeout is reported as such');
    like($out, qr/unknown directive "bogus_directive_xyz"/,
         'start failure shows nginx stderr');
    like($out, qr/^ok \d+ # skip TEST 10: .* - nginx failed to start$/m,
         'the rest of a block that could not start is skipped');
    nginx_stopped_ok('fail.tt');
};

subtest 'keep-alive: responses split by their framing' => sub {
    my $run = run_fixture('keepalive.tt');

    is($run->{exit}, 0, 'exit status 0') or diag($run->{out});
    like($run->{out}, qr/^1\.\.86$/m, 'plan: repeat_each(2) x 43');
    unlike($run->{out}, qr/^not ok/m, 'no failing test');
    is(count(qr/^ok \d+ /m, $run->{out}), 86, 'all 86 tests ran');

    my $log = slurp("$Tmp/keepalive.tt/logs/error.log");
    like($log, qr/client 127\.0\.0\.1 closed keepalive connection/,
         'nginx kept connections open until the runner closed them');
    nginx_stopped_ok('keepalive.tt');
};

subtest 'keep-alive: a response nobody asked for fails the block' => sub {
    my $run = run_fixture('keepalive-fail.tt');
    my $out = $run->{out};

    isnt($run->{exit}, 0, 'exit status is not 0');
    like($out, qr/^1\.\.8$/m, 'the plan does not change');
    like($out, qr/Looks like you failed 3 tests of 8/, '3 failures');
    for my $failing (
        'TEST 1: two requests in a raw_request, one expected: the second answer is extra - status code ok',
        'TEST 2: a body the client declares empty is the next request (smuggling) - status code ok',
        'TEST 3: the same in a pipeline: the extra answer after the last one - status code ok (req 1)',
    ) {
        like($out, qr/^not ok \d+ - \Q$failing\E$/m, "fails: $failing");
    }
    like($out, qr/^ok \d+ - TEST 3: .* - status code ok \(req 0\)$/m,
         'the first response of the pipeline passes');
    like($out, qr/nginx sent \d+ more bytes on the connection.*\n#\s+HTTP\/1\.1 200 OK\\r\n(?:#.*\n)*#\s+the secret$/m,
         'the extra response is shown');
};

subtest 'no_diff() reports through Test::LongString' => sub {
    my $run = run_fixture('nodiff.tt');

    isnt($run->{exit}, 0, 'exit status is not 0');
    like($run->{out}, qr/strings begin to differ at char 7/, 'LongString report');
    unlike($run->{out}, qr/^# \+\+\+ got/m, 'no unified diff');
};

subtest 'an unset $TEST_NGINX_* variable stops the run' => sub {
    my $run = run_fixture('unset-env.tt');

    isnt($run->{exit}, 0, 'exit status is not 0');
    like($run->{out},
         qr/TEST 1: uses an unset variable: \$TEST_NGINX_FIXTURE_NOT_SET is used in --- config but the environment variable TEST_NGINX_FIXTURE_NOT_SET is not set/,
         'clear message');
};

subtest 'TEST_NGINX_LOAD_MODULES writes load_module lines' => sub {
    my $run = run_fixture('load-module.tt',
                          TEST_NGINX_LOAD_MODULES => 'nonexistent/ngx_fake_module.so');

    is($run->{exit}, 0, 'exit status 0') or diag($run->{out});
    my $root = Cwd::abs_path("$TDir/..");
    like(slurp("$Tmp/load-module.tt/conf/nginx.conf"),
         qr{\A#[^\n]*\nload_module \Q$root\E/nonexistent/ngx_fake_module\.so;$}m,
         'load_module line, made absolute, at the top');
};

subtest 'TEST_NGINX_USE_HUP reloads one master' => sub {
    my $run = run_fixture('hup.tt', TEST_NGINX_USE_HUP => 1);

    is($run->{exit}, 0, 'exit status 0') or diag($run->{out});

    my $log = slurp("$Tmp/hup.tt/logs/error.log");
    my @masters = $log =~ /\[notice\] (\d+)#\d+: start worker processes$/mg;
    is(scalar @masters, 3, 'workers started 3 times: start and 2 good reloads');
    is(scalar(keys %{{ map { $_ => 1 } @masters }}), 1, 'always by the same master');
    is(count(qr/SIGHUP/, $log), 4, '4 SIGHUPs (2 rejected: must_die, twice)');
    like(slurp("$Tmp/hup.tt/conf/nginx.conf"), qr/^master_process on;$/m,
         'USE_HUP turns the master on');
    nginx_stopped_ok('hup.tt');
};

SKIP: {
    skip 'valgrind is not installed', 2 unless in_path('valgrind');

    subtest 'TEST_NGINX_USE_VALGRIND: core nginx is clean' => sub {
        my $run = run_fixture('valgrind.tt', TEST_NGINX_USE_VALGRIND => 1);

        is($run->{exit}, 0, 'exit status 0') or diag($run->{out});
        like(slurp("$Tmp/valgrind.tt/logs/valgrind.log"),
             qr/ERROR SUMMARY: 0 errors/, 'valgrind ran and found nothing');
        like(slurp("$Tmp/valgrind.tt/conf/nginx.conf"), qr/^daemon off;$/m,
             'nginx runs in the foreground under valgrind');
    };

    subtest 'TEST_NGINX_USE_VALGRIND: findings fail the block' => sub {
        my $run = run_fixture('valgrind-leak.tt', TEST_NGINX_USE_VALGRIND => 1);

        isnt($run->{exit}, 0, 'exit status is not 0');
        like($run->{out},
             qr/^not ok \d+ - TEST 1: a connection left open at exit - valgrind reported \d+ error\(s\)$/m,
             'a failing test names the block');
        like($run->{out}, qr/^# ==\d+== .* (?:possibly|definitely) lost in loss record/m,
             'valgrind report in the diagnostics');
    };
}

done_testing();

# ---------------------------------------------------------------------------

# Runs a fixture with a clean TEST_NGINX_* environment; returns its exit
# status and its stdout and stderr together.
sub run_fixture {
    my ($fixture, %env) = @_;

    my $pid = open(my $out, '-|');
    die "fork failed: $!" unless defined $pid;

    if (!$pid) {
        # Only the nginx binary carries over from the main run.
        delete $ENV{$_} for grep { /^(?:TEST_NGINX_|HARNESS_)/ && $_ ne 'TEST_NGINX_BINARY' }
                            keys %ENV;
        $ENV{TEST_NGINX_PORT}     = $Port;
        $ENV{TEST_NGINX_SERVROOT} = "$Tmp/$fixture";
        $ENV{TEST_NGINX_LOG_LEVEL} = 'debug';
        @ENV{keys %env} = values %env;

        open STDERR, '>&', \*STDOUT or die "dup: $!";
        chdir "$TDir/.." or die "chdir: $!";
        exec $^X, "-I$Lib", "$Fixtures/$fixture" or die "exec: $!";
    }

    local $/;
    my $text = <$out>;
    close $out;
    return { exit => $? >> 8, out => $text // '' };
}

sub nginx_stopped_ok {
    my ($fixture) = @_;
    my ($pid) = slurp("$Tmp/$fixture/logs/nginx.pid") =~ /(\d+)/;
    ok(!$pid || !kill(0, $pid) || slurp("/proc/$pid/stat") =~ /\) Z /,
       'nginx is stopped at the end');
}

# The wanted port if it is free, else any free one.
sub pick_port {
    my ($want) = @_;
    for my $port ($want, 0) {
        my $sock = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                         LocalPort => $port, Proto => 'tcp',
                                         ReuseAddr => 1, Listen => 1)
            or next;
        my $got = $sock->sockport;
        close $sock;
        return $got;
    }
    die "no free port\n";
}

sub count {
    my ($re, $text) = @_;
    my $n = () = $text =~ /$re/g;
    return $n;
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    return scalar <$fh>;
}

sub in_path {
    my ($cmd) = @_;
    return grep { -x "$_/$cmd" } split /:/, $ENV{PATH} // '';
}
