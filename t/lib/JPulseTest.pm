package JPulseTest;

# Helpers for the ngx_jpulse suites, used as response_body_filters:
# they turn a response into short, stable text to compare against.
# Plain Perl on Debian's packages, so the .t files keep running under
# upstream Test::Nginx::Socket too.

use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use IO::Socket::INET ();
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

our @EXPORT_OK = qw(json_pick promtool_check redis_start redis_stop
                    redis_cli redis_command nginx_start nginx_stop
                    nginx_pids hammer);

my (@Started, @NginxStarted);


# json_pick('data.a', 'data.list.0.b', ...) returns a filter that decodes
# the body as JSON and prints one "path=value" line per path: strings as
# they are, numbers as numbers, true/false, null, (missing), and objects or
# arrays as canonical JSON. Invalid JSON prints "invalid JSON: ...".
sub json_pick {
    my @paths = @_;

    return sub {
        my ($body) = @_;
        my $doc = eval { JSON::PP->new->decode($body) };

        return "invalid JSON: $@" unless defined $doc;

        return join '', map { "$_=" . _render(_lookup($doc, $_)) . "\n" }
                        @paths;
    };
}


sub _lookup {
    my ($node, $path) = @_;

    for my $step (split /\./, $path) {
        if (ref $node eq 'HASH' && exists $node->{$step}) {
            $node = $node->{$step};

        } elsif (ref $node eq 'ARRAY' && $step =~ /^\d+$/ && $step < @$node) {
            $node = $node->[$step];

        } else {
            return \'(missing)';
        }
    }

    return $node;
}


sub _render {
    my ($value) = @_;

    return 'null' unless defined $value;
    return $$value if ref $value eq 'SCALAR';
    return $value ? 'true' : 'false' if JSON::PP::is_bool($value);
    return JSON::PP->new->canonical->encode($value) if ref $value;
    return $value;
}


# A filter: "promtool: ok" when `promtool check metrics` accepts the body,
# else what promtool said.
sub promtool_check {
    my ($body) = @_;
    my $tmp = File::Temp->new;

    print $tmp $body;
    close $tmp;

    my $out = `promtool check metrics < $tmp 2>&1`;

    return $? == 0 ? "promtool: ok\n" : "promtool failed:\n$out";
}


# A private redis-server for suites that stop, restart or configure it
# (the shared one of t/run must stay up). redis_start(port => P,
# requirepass => S, unixsocket => 1) returns a handle; redis_stop($r) kills
# it (SIGKILL: the point is to vanish without a goodbye); redis_start($r)
# again brings it back on the same port and socket.
sub redis_start {
    my ($r, %opt) = ref $_[0] ? @_ : (undef, @_);

    $r //= { %opt };
    $r->{dir} //= File::Temp::tempdir('jpulse-redis-XXXXXX', TMPDIR => 1,
                                      CLEANUP => 1);
    $r->{port} //= _free_port();
    $r->{socket} //= "$r->{dir}/redis.sock" if $r->{unixsocket};

    my @args = ('--bind', '127.0.0.1', '--port', $r->{port}, '--save', '',
                '--appendonly', 'no', '--dir', $r->{dir},
                '--logfile', "$r->{dir}/redis.log");
    push @args, '--requirepass', $r->{requirepass} if $r->{requirepass};
    push @args, '--unixsocket', $r->{socket}, '--unixsocketperm', '777'
        if $r->{socket};

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        exec 'redis-server', @args or POSIX::_exit(127);
    }
    $r->{pid} = $pid;
    push @Started, $r;

    for (1 .. 100) {
        return $r if redis_cli($r, 'PING') =~ /PONG|NOAUTH/;
        Time::HiRes::sleep(0.05);
    }
    die "redis-server on port $r->{port} did not start\n";
}

sub redis_stop {
    my ($r) = @_;

    return unless $r->{pid};
    kill 'KILL', $r->{pid};
    waitpid $r->{pid}, 0;
    delete $r->{pid};
}

# redis-cli against the private server: the output, as one string.
sub redis_cli {
    my ($r, @cmd) = @_;

    my @auth = $r->{requirepass} ? ('--no-auth-warning', '-a',
                                    $r->{requirepass}) : ();
    # "Could not connect" while it starts is expected: keep it quiet
    open my $saved, '>&', \*STDERR or die "dup: $!";
    open STDERR, '>', '/dev/null' or die "/dev/null: $!";
    my $ok = open my $fh, '-|', 'redis-cli', '-p', $r->{port}, @auth, @cmd;
    open STDERR, '>&', $saved or die "dup: $!";
    die "redis-cli: $!" unless $ok;

    local $/;
    my $out = <$fh> // '';
    close $fh;
    return $out;
}

# One command over RESP, for arguments redis-cli cannot take (a 1 MB
# value is longer than one command-line argument may be): the raw reply.
sub redis_command {
    my ($r, @args) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                  PeerPort => $r->{port})
        or die "redis on $r->{port}: $!";

    my @cmd = $r->{requirepass} ? (['AUTH', $r->{requirepass}], \@args)
                                : (\@args);
    my $reply = '';
    for my $c (@cmd) {
        print $s join '', "*" . @$c . "\r\n",
                          map { '$' . length($_) . "\r\n$_\r\n" } @$c;
        $reply = <$s>;
    }
    close $s;
    return $reply;
}

# A second nginx beside the runner's, for cluster suites: nginx_start(
# http => '...directives...', config => '...locations...') returns a
# handle with its port, prefix and master pid once it answers.
sub nginx_start {
    my (%opt) = @_;

    my $dir = File::Temp::tempdir('jpulse-nginx-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    my $port = _free_port();
    my $module = $ENV{TEST_NGINX_LOAD_MODULES} // '';
    my $load = join '', map { "load_module $_;\n" } split ' ', $module;
    my $workers = $opt{workers} // 2;

    mkdir "$dir/$_" for qw(conf logs tmp);
    chmod 0777, "$dir/tmp";

    open my $fh, '>', "$dir/conf/nginx.conf" or die $!;
    print $fh <<"CONF";
${load}worker_processes $workers;
error_log logs/error.log info;
pid logs/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $dir/tmp;
    proxy_temp_path $dir/tmp;
    fastcgi_temp_path $dir/tmp;
    uwsgi_temp_path $dir/tmp;
    scgi_temp_path $dir/tmp;
$opt{http}
    server {
        listen 127.0.0.1:$port;
$opt{config}
    }
}
CONF
    close $fh;

    my $bin = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
    system($bin, '-p', "$dir/", '-c', 'conf/nginx.conf') == 0
        or die "second nginx did not start: " . _slurp("$dir/logs/error.log");

    my $n = { dir => $dir, port => $port };
    for (1 .. 100) {
        ($n->{pid}) = _slurp("$dir/logs/nginx.pid") =~ /(\d+)/;
        last if $n->{pid} && IO::Socket::INET->new("127.0.0.1:$port");
        Time::HiRes::sleep(0.05);
    }
    push @NginxStarted, $n;
    return $n;
}

# Graceful (QUIT, waits until the master is gone) or, with 'KILL', the
# whole instance dies at once without running any exit code.
sub nginx_stop {
    my ($n, $signal) = @_;

    return unless $n->{pid};
    if (($signal // 'QUIT') eq 'KILL') {
        kill 'KILL', $n->{pid}, nginx_pids($n->{pid});
    } else {
        kill 'QUIT', $n->{pid};
    }
    for (1 .. 200) {
        last unless kill 0, $n->{pid};
        Time::HiRes::sleep(0.05);
    }
    delete $n->{pid};
}

# The worker processes of master $pid.
sub nginx_pids {
    my ($master) = @_;

    return grep {
        my ($ppid) = _slurp("/proc/$_/stat") =~ /\) \S (\d+)/;
        defined $ppid && $ppid == $master;
    } map { m{/proc/(\d+)/stat} ? $1 : () } glob '/proc/[0-9]*/stat';
}

# Sends $n GETs for $path to 127.0.0.1:$port, one connection each, as
# fast as it can; returns how many did not get a complete 200.
sub hammer {
    my ($port, $path, $n) = @_;

    my $failed = 0;
    for (1 .. $n) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                      Timeout => 2);
        if (!$s) { $failed++; next }
        print $s "GET $path HTTP/1.0\r\nHost: localhost\r\n\r\n";
        local $/;
        my $resp = <$s> // '';
        $failed++ unless $resp =~ m{\AHTTP/1\.\d 200 };
    }
    return $failed;
}

sub _slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    return <$fh> // '';
}

sub _free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die "no free port: $!";
    return $s->sockport;
}


END {
    # never leave a private redis-server behind
    local $?;
    nginx_stop($_, 'KILL') for @NginxStarted;
    redis_stop($_) for @Started;
}


1;
