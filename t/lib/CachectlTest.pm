package CachectlTest;

# Helpers for the cachectl suites (t/3*-cachectl-*.t): the real daemon
# started from the test (forked, its log in a file, stopped at the end
# whatever happens), the CLI run to completion with its exit status and
# output, files written the way editors and deploys write them, and
# requests that prove what every worker of an nginx instance serves.
#
# Plain Perl on Debian's packages, like JPulseTest.pm, whose Redis and
# nginx helpers these build on (redis_start/stop/cli, nginx_start/stop/
# pids). Every process started here is killed in END: no daemon survives
# a test file (and, on Linux, a child gets SIGTERM when the test process
# dies without running END). TEST_CACHECTL_KEEP=1 keeps the temporary
# directory with the daemons' logs (its path is printed).

use strict;
use warnings;

use Exporter 'import';
use Cwd ();
use File::Temp ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

use JPulseTest ();

our @EXPORT_OK = qw(cachectl cachectl_bin cli daemon_start daemon_stop
                    daemon_log daemon_mark daemon_wait_log daemon_count
                    daemon_alive spawn spawn_stop write_file write_atomic
                    remove_file slurp poll_until get pids_seen workers_of
                    runner_workers json_decode gen_counters tpl_index
                    instance_key);

# the HTTP and waiting helpers are the nginx suites' (JPulseTest.pm)
sub poll_until { return JPulseTest::poll_until(@_) }
sub get        { return JPulseTest::http_get(@_) }
sub pids_seen  { return JPulseTest::pids_seen(@_) }

my $MainPid = $$;
my (@Spawned, $Tmp);


# A directory for logs and files of this test file, removed at exit.
sub tmpdir {
    return $Tmp if defined $Tmp;

    $Tmp = File::Temp::tempdir('jpulse-cachectl-XXXXXX', TMPDIR => 1,
                               CLEANUP => !$ENV{TEST_CACHECTL_KEEP});
    chmod 0755, $Tmp;
    print STDERR "# CachectlTest: keeping $Tmp\n" if $ENV{TEST_CACHECTL_KEEP};
    return $Tmp;
}

# in a child, before exec: SIGTERM when the test process dies
# (prctl(PR_SET_PDEATHSIG), best effort: Linux on x86_64 and arm64)
sub _die_with_parent {
    my %nr = (x86_64 => 157, aarch64 => 167);
    my $n = $nr{(POSIX::uname())[4]} or return;
    syscall($n, 1, 15);     # PR_SET_PDEATHSIG = 1, SIGTERM
    POSIX::_exit(0) if getppid() != $MainPid;   # the parent is gone already
}

sub cachectl_bin {
    my $bin = $ENV{TEST_NGINX_CACHECTL} // 'build/cachectl';
    return Cwd::abs_path($bin) // $bin;
}


# cachectl(@args) runs the CLI to completion (at most timeout => seconds,
# default 10; then it is killed): (exit status, stdout, stderr). A hash
# ref as the first argument holds the options: { timeout => 5, stdin =>
# 'text' }.
sub cachectl {
    my $opt = ref $_[0] eq 'HASH' ? shift : {};
    my @args = @_;

    my $dir = tmpdir();
    my ($out, $err) = map { File::Temp->new(DIR => $dir) } 1 .. 2;

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out->filename;
        open STDERR, '>', $err->filename;
        _die_with_parent();
        exec cachectl_bin(), @args or POSIX::_exit(127);
    }

    my $deadline = Time::HiRes::time() + ($opt->{timeout} // 10);
    my $status;
    while (1) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            $status = $?;
            last;
        }
        if (Time::HiRes::time() > $deadline) {
            kill 'KILL', $pid;
            waitpid $pid, 0;
            $status = -1;
            last;
        }
        Time::HiRes::sleep(0.005);
    }

    my $code = $status == -1 ? 'timeout'
             : $status & 127 ? 'signal ' . ($status & 127)
             : $status >> 8;
    return ($code, slurp($out->filename), slurp($err->filename));
}

# cli(@args): the CLI's run as one text: "exit N\n" then stdout, then
# "stderr: " lines. For response_body comparisons.
sub cli {
    my ($code, $out, $err) = cachectl(@_);
    my $text = "exit $code\n" . $out;
    $text .= "\n" if length $out && $out !~ /\n\z/;
    $text .= join '', map { "stderr: $_\n" } split /\n/, $err;
    return $text;
}


# spawn(log => FILE, cmd => [...]) starts a process in the background,
# stdout and stderr to FILE: a handle { pid, log, cmd }. It is killed in
# END unless spawn_stop() reaped it first.
sub spawn {
    my (%opt) = @_;

    my $log = $opt{log} // File::Temp->new(DIR => tmpdir(), UNLINK => 0,
                                           SUFFIX => '.log')->filename;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        _die_with_parent();
        exec @{ $opt{cmd} } or POSIX::_exit(127);
    }

    my $p = { pid => $pid, log => $log, cmd => $opt{cmd} };
    push @Spawned, $p;
    return $p;
}

# spawn_stop($p, signal => 'TERM', timeout => 5): sends the signal, waits
# for the exit (SIGKILL after timeout seconds): "exit N", "signal N", or
# "killed after Ns" when it had to be SIGKILLed.
sub spawn_stop {
    my ($p, %opt) = @_;

    return 'not running' unless $p->{pid};

    kill $opt{signal} // 'TERM', $p->{pid};

    my $deadline = Time::HiRes::time() + ($opt{timeout} // 5);
    my $result;
    while (1) {
        if (waitpid($p->{pid}, POSIX::WNOHANG()) == $p->{pid}) {
            $result = $? & 127 ? 'signal ' . ($? & 127) : 'exit ' . ($? >> 8);
            last;
        }
        if (Time::HiRes::time() > $deadline) {
            kill 'KILL', $p->{pid};
            waitpid $p->{pid}, 0;
            $result = "killed after $opt{timeout}s";
            last;
        }
        Time::HiRes::sleep(0.01);
    }

    delete $p->{pid};
    return $result;
}


# daemon_start(redis => $r, site_id => 'x', views => [dirs], args => [more
# daemon options], global => [options before "daemon"]): the cachectl
# daemon, in the background, logging to its own file.
sub daemon_start {
    my (%opt) = @_;

    my $redis = $opt{redis_addr}
             // "127.0.0.1:" . ($opt{redis}{port} // $opt{port});
    my @cmd = (cachectl_bin(), '--redis', $redis,
               '--site-id', $opt{site_id} // 'jpulse',
               '--mode', $opt{mode} // 'prod',
               @{ $opt{global} // [] },
               'daemon',
               (map { ('--views', $_) } @{ $opt{views} // [] }),
               @{ $opt{args} // [] });

    my $d = spawn(cmd => \@cmd, log => $opt{log});
    $d->{started} = Time::HiRes::time();
    return $d;
}

# SIGTERM (or signal => 'KILL'): what daemon_stop says is spawn_stop's
sub daemon_stop {
    my ($d, %opt) = @_;
    return spawn_stop($d, %opt);
}

sub daemon_alive {
    my ($d) = @_;
    return 0 unless $d->{pid};
    return 0 if waitpid($d->{pid}, POSIX::WNOHANG()) == $d->{pid};
    return kill 0, $d->{pid};
}

# the daemon's log from byte $from on (default: all of it)
sub daemon_log {
    my ($d, $from) = @_;
    my $log = slurp($d->{log});
    return substr($log, $from // 0);
}

# where the log ends now, for daemon_wait_log / daemon_count
sub daemon_mark {
    my ($d) = @_;
    return -s $d->{log} // 0;
}

# waits (at most $timeout s, default 5) for $re in the log after $from:
# true once it is there
sub daemon_wait_log {
    my ($d, $re, $timeout, $from) = @_;
    return poll_until($timeout // 5,
                      sub { daemon_log($d, $from) =~ $re }, 0.02);
}

# how many lines after $from match $re
sub daemon_count {
    my ($d, $re, $from) = @_;
    return scalar grep { $_ =~ $re } split /\n/, daemon_log($d, $from);
}


# write_file($path, $content, mtime => s): in place (truncate and write,
# the same inode: what "echo > file" does), parents created, readable by
# the workers.
sub write_file {
    my ($path, $content, %opt) = @_;

    JPulseTest::mkdir_p(_parent($path));
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $content;
    close $fh or die "$path: $!";
    chmod 0644, $path;
    utime $opt{mtime}, $opt{mtime}, $path if defined $opt{mtime};
}

# write_atomic($path, $content): an editor's or rsync's save: a temporary
# file beside it (".name.XXXXXX"), then rename over the original
sub write_atomic {
    my ($path, $content) = @_;

    my $dir = _parent($path);
    JPulseTest::mkdir_p($dir);
    (my $name = $path) =~ s{.*/}{};
    my $tmp = "$dir/.$name." . sprintf('%06d', int rand 1e6);
    write_file($tmp, $content);
    rename $tmp, $path or die "rename $tmp $path: $!";
}

sub remove_file {
    my ($path) = @_;
    unlink $path or die "unlink $path: $!";
}

sub _parent {
    my ($path) = @_;
    (my $dir = $path) =~ s{/[^/]*\z}{};
    return $dir;
}

sub slurp {
    my ($file) = @_;
    open my $fh, '<:raw', $file or return '';
    local $/;
    return <$fh> // '';
}

sub json_decode {
    my ($text) = @_;
    return eval { JSON::PP->new->decode($text) };
}


# the worker pids of the nginx whose pid file is $pidfile
sub workers_of {
    my ($pidfile) = @_;
    my ($master) = slurp($pidfile) =~ /(\d+)/;
    return () unless $master;
    return JPulseTest::nginx_pids($master);
}

# the workers of the runner's nginx
sub runner_workers {
    no warnings 'once';
    return workers_of("$Test::Nginx::Socket::ServerRoot/logs/nginx.pid");
}


# HGETALL <ns>gen as { view => n, config => n, i18n => n }
sub gen_counters {
    my ($r, $ns) = @_;
    my @kv = split /\n/, JPulseTest::redis_cli($r, 'HGETALL', "${ns}gen");
    my %gen = (view => 0, config => 0, i18n => 0, @kv);
    return \%gen;
}

# HGETALL <ns>tplindex as { relpath => "mtime:etag" }
sub tpl_index {
    my ($r, $ns) = @_;
    my @kv = split /\n/, JPulseTest::redis_cli($r, 'HGETALL', "${ns}tplindex");
    return { @kv };
}

# the heartbeat key of the cachectl daemon $pid, or undef
sub instance_key {
    my ($r, $ns, $pid) = @_;
    my ($key) = grep { /:200:\Q$pid\E$/ } split /\n/,
        JPulseTest::redis_cli($r, '--scan', '--pattern',
                              "${ns}metrics:instance:*");
    return $key;
}



# --- issue 11, the daemon's suites (t/350-359) ---------------------------

# the status record of daemon $d ({} while there is none), decoded
sub daemon_status {
    my ($r, $ns, $d) = @_;
    for my $key (grep { length } split /\n/,
                 JPulseTest::redis_cli($r, 'KEYS', "${ns}cachectl:status:*")) {
        my $st = json_decode(JPulseTest::redis_cli($r, 'GET', $key)) or next;
        return $st if ($st->{pid} // 0) == $d->{pid};
    }
    return {};
}

# cc_shim($name, $c_source): an LD_PRELOAD library built from $c_source in
# the test's directory (its path), or undef without a C compiler
sub cc_shim {
    my ($name, $src) = @_;
    my $dir = tmpdir();
    write_file("$dir/$name.c", $src);
    system('cc', '-shared', '-fPIC', '-O2', '-o', "$dir/$name.so",
           "$dir/$name.c", '-ldl') == 0 or return undef;
    return "$dir/$name.so";
}

# ping_blocks(): for a suite whose blocks do their work in pre_request,
# so that nginx only has to answer: a block's config defaults to
# "location = /ping", its request to "GET /ping". Call it after
# "use Test::Nginx::Socket", before run_tests().
sub ping_blocks {
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my ($block) = @_;
        $block->set_value('config',
                          'location = /ping { return 200 "pong\n"; }')
            unless defined $block->config;
        $block->set_value('request', "GET /ping\n")
            unless defined $block->request;
    });
}

END {
    # no daemon, watcher or other child of ours outlives the test file
    if ($$ == $MainPid) {
        local $?;
        for my $p (grep { $_->{pid} } @Spawned) {
            kill 'TERM', $p->{pid};
        }
        my $deadline = Time::HiRes::time() + 3;
        for my $p (grep { $_->{pid} } @Spawned) {
            while (waitpid($p->{pid}, POSIX::WNOHANG()) == 0
                   && Time::HiRes::time() < $deadline) {
                Time::HiRes::sleep(0.02);
            }
            if (kill 0, $p->{pid}) {
                kill 'KILL', $p->{pid};
                waitpid $p->{pid}, 0;
            }
            delete $p->{pid};
        }
    }
}


1;
