# chaos/lib/Chaos.pm: what every chaos/ script needs, and nothing else.
#
# Each script gets its own temp directory, a private redis-server on a free
# 127.0.0.1 port and the cachectl daemon under test (CACHECTL=/path,
# default build/cachectl of this tree); all of it is stopped and removed
# when the script exits, is interrupted, or dies. Redis is spoken to over
# one socket with a tiny RESP client (polling every few ms must not fork a
# redis-cli each time).
package Chaos;

use strict;
use warnings;
use Cwd ();
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(time sleep);

our ($Top, $Dir, $Cachectl, $Name);
our @Procs;
my $MainPid = $$;

# init('name'): the temp directory and the binary under test
sub init {
    ($Name) = @_;
    $Top = Cwd::abs_path(__FILE__ =~ s{/chaos/lib/Chaos\.pm$}{}r);
    $Cachectl = $ENV{CACHECTL} || "$Top/build/cachectl";
    $Cachectl = Cwd::abs_path($Cachectl) // $Cachectl;
    -x $Cachectl
        or die "chaos/$Name: $Cachectl is missing: make cachectl, or "
             . "CACHECTL=/path/to/cachectl\n";
    # CHAOS_KEEP=1: the directory (logs) is left for a look afterwards
    $Dir = tempdir("jpulse-chaos-$Name-XXXXXX", TMPDIR => 1,
                   CLEANUP => !$ENV{CHAOS_KEEP});
    print STDERR "chaos/$Name: kept: $Dir\n" if $ENV{CHAOS_KEEP};
    chmod 0755, $Dir;
    $SIG{INT} = $SIG{TERM} = sub { exit 3 };
    $| = 1;
    return $Dir;
}

END {
    if ($$ == $MainPid) {
        my $rc = $?;
        stop($_) for reverse @Procs;
        $? = $rc;
    }
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die "free port: $!";
    return $s->sockport;
}

sub _die_with_parent {
    my %nr = (x86_64 => 157, aarch64 => 167);   # prctl
    my $n = $nr{(POSIX::uname())[4]} or return;
    syscall($n, 1, 15);     # PR_SET_PDEATHSIG, SIGTERM
    POSIX::_exit(0) if getppid() != $MainPid;
}

# spawn($log, @cmd): a process in the background, stdout and stderr to $log
sub spawn {
    my ($log, @cmd) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT or POSIX::_exit(126);
        _die_with_parent();
        exec @cmd or POSIX::_exit(127);
    }
    my $p = { pid => $pid, log => $log, cmd => \@cmd, started => time };
    push @Procs, $p;
    return $p;
}

# stop($p): TERM, KILL after 5 s; "exit N" / "signal N" / "killed"
sub stop {
    my ($p, $sig) = @_;
    return 'not running' unless $p->{pid};
    kill $sig // 'TERM', $p->{pid};
    my $end = time + 5;
    my $r;
    while (1) {
        if (waitpid($p->{pid}, POSIX::WNOHANG()) == $p->{pid}) {
            $r = $? & 127 ? 'signal ' . ($? & 127) : 'exit ' . ($? >> 8);
            last;
        }
        if (time > $end) {
            kill 'KILL', $p->{pid};
            waitpid $p->{pid}, 0;
            $r = 'killed after 5 s';
            last;
        }
        sleep 0.01;
    }
    delete $p->{pid};
    return $r;
}

# redis(): a private redis-server; returns a connected client
sub redis {
    my (@args) = @_;
    my $port = free_port();
    make_path("$Dir/redis");
    my $p = spawn("$Dir/redis.log", $ENV{REDIS_SERVER} // 'redis-server',
                  '--bind', '127.0.0.1', '--port', $port, '--save', '',
                  '--appendonly', 'no', '--dir', "$Dir/redis", @args);
    my $r;
    wait_for(sub { $r = Chaos::Redis->connect($port) }, 10)
        or die "chaos/$Name: redis-server did not start\n";
    $r->{proc} = $p;
    return $r;
}

# daemon($redis, site => 'x', views => [...], args => [...]): cachectl
sub daemon {
    my ($r, %o) = @_;
    my $log = $o{log} // "$Dir/cachectl.log";
    my @cmd = ($Cachectl, '--redis', "127.0.0.1:$r->{port}",
               '--site-id', $o{site} // 'chaos',
               @{ $o{global} // [] }, 'daemon',
               (map { ('--views', $_) } @{ $o{views} // [] }),
               @{ $o{args} // [] });
    my $p = spawn($log, @cmd);
    return $p;
}

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return '';
    local $/;
    return scalar <$fh>;
}

# the daemon's log lines from byte $from on
sub log_lines {
    my ($p, $from) = @_;
    return split /\n/, substr(slurp($p->{log}), $from // 0);
}

sub log_mark { return -s $_[0]{log} // 0 }

# "published 3 view, 0 config, 0 i18n change(s) in 12 ms" lines
sub batches {
    my ($p, $from) = @_;
    my @b;
    for (log_lines($p, $from)) {
        push @b, { views => $1, ms => $2, line => $_ }
            if /published (\d+) view, .* in (\d+) ms/;
    }
    return @b;
}

sub wait_for {
    my ($cond, $secs, $step) = @_;
    my $end = time + $secs;
    while (time < $end) {
        return 1 if $cond->();
        sleep $step // 0.002;
    }
    return 0;
}

# utime + stime of a process, in clock ticks
sub cpu_ticks {
    my ($pid) = @_;
    my $st = slurp("/proc/$pid/stat");
    $st =~ s/^.*\) //s or return 0;
    my @f = split ' ', $st;
    return $f[11] + $f[12];
}

sub ticks_per_s { return POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100 }

# the daemon's CPU% over $secs (runs $during->() meanwhile if given)
sub cpu_pct {
    my ($pid, $secs) = @_;
    my ($c0, $t0) = (cpu_ticks($pid), time);
    sleep $secs;
    my ($c1, $t1) = (cpu_ticks($pid), time);
    return 100 * ($c1 - $c0) / ticks_per_s() / ($t1 - $t0);
}

sub uptime {
    my $u = `uptime`;
    chomp $u;
    $u =~ s/^\s+//;
    return $u;
}

sub write_file {
    my ($path, $content) = @_;
    (my $d = $path) =~ s{/[^/]+$}{};
    make_path($d) unless -d $d;
    open my $f, '>', $path or die "$path: $!";
    print $f $content;
    close $f or die "$path: $!";
}

# an atomic save, as editors and deploy tools do
sub write_atomic {
    my ($path, $content) = @_;
    write_file("$path.tmp~", $content);
    rename "$path.tmp~", $path or die "$path: $!";
}

# header(title): what runs, against which binary, at which load
sub header {
    my ($title) = @_;
    print "== chaos/$Name: $title\n";
    print "   cachectl: $Cachectl\n";
    print "   load:     ", uptime(), "\n";
}

# table([cols], [row], ...): a left-aligned table
sub table {
    my (@rows) = @_;
    my @w;
    for my $r (@rows) {
        for my $i (0 .. $#$r) {
            my $l = length $r->[$i];
            $w[$i] = $l if !defined $w[$i] || $l > $w[$i];
        }
    }
    for my $r (@rows) {
        print '   ', join('  ', map { sprintf '%-*s', $w[$_], $r->[$_] }
                                0 .. $#$r), "\n";
    }
}

sub ms { return sprintf '%.0f ms', $_[0] * 1000 }
# ms below 10 s, else s
sub dur { return $_[0] < 10 ? ms($_[0]) : Chaos::s($_[0]) }
sub s  { return sprintf '%.1f s', $_[0] }


package Chaos::Redis;

use strict;
use warnings;
use IO::Socket::INET;

sub connect {
    my ($class, $port) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 5) or return;
    $s->autoflush(1);
    return bless { s => $s, port => $port }, $class;
}

# cmd(@args): the reply; an error reply is a Chaos::Redis::Error whose
# string is the message; undef for a nil
sub cmd {
    my ($self, @a) = @_;
    $self->send(@a);
    return $self->read;
}

sub send {
    my ($self, @a) = @_;
    my $out = '*' . @a . "\r\n";
    for (@a) {
        utf8::encode(my $b = $_);
        $out .= '$' . length($b) . "\r\n$b\r\n";
    }
    print { $self->{s} } $out or die "redis: write: $!\n";
}

sub read {
    my ($self) = @_;
    my $s = $self->{s};
    my $line = <$s>;
    die "redis: connection closed\n" unless defined $line;
    $line =~ s/\r\n\z//;
    my $t = substr($line, 0, 1, '');
    return $line if $t eq '+' || $t eq ':';
    return bless \$line, 'Chaos::Redis::Error' if $t eq '-';
    if ($t eq '$') {
        return undef if $line < 0;
        my $buf = '';
        while (length $buf < $line + 2) {
            my $n = CORE::read($s, $buf, $line + 2 - length $buf,
                               length $buf);
            die "redis: connection closed\n" unless $n;
        }
        return substr($buf, 0, $line);
    }
    if ($t eq '*') {
        return undef if $line < 0;
        return [map { $self->read } 1 .. $line];
    }
    die "redis: bad reply type '$t'\n";
}

# INFO section -> { field => value }
sub info {
    my ($self, $section) = @_;
    my %i;
    for (split /\r?\n/, $self->cmd('INFO', $section // 'all')) {
        $i{$1} = $2 if /^([^#:][^:]*):(.*)$/;
    }
    return \%i;
}


package Chaos::Redis::Error;
use overload '""' => sub { ${ $_[0] } }, fallback => 1;

1;
