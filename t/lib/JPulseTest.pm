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
use Digest::MD5 ();
use JSON::PP ();
use POSIX ();
use Time::HiRes ();

our @EXPORT_OK = qw(json_pick promtool_check redis_start redis_stop
                    redis_cli redis_command redis_pipeline redis_psubscribe
                    redis_next_message nginx_start nginx_stop nginx_pids
                    hammer http_get poll_until pids_seen view_tree
                    publish_template publish_tree publish_config
                    publish_i18n publish_event redis_sync free_port
                    spawn_logged stop_pid);

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
# requirepass => S, unixsocket => 1, bind => '127.0.0.2', args => [...]
# for more redis-server options, e.g. --replicaof) returns a
# handle; redis_stop($r) kills
# it (SIGKILL: the point is to vanish without a goodbye); redis_start($r)
# again brings it back on the same port and socket.
sub redis_start {
    my ($r, %opt) = ref $_[0] ? @_ : (undef, @_);

    $r //= { %opt };
    $r->{dir} //= File::Temp::tempdir('jpulse-redis-XXXXXX', TMPDIR => 1,
                                      CLEANUP => 1);
    $r->{port} //= _free_port();
    $r->{socket} //= "$r->{dir}/redis.sock" if $r->{unixsocket};

    $r->{bind} //= '127.0.0.1';

    my @args = ('--bind', $r->{bind}, '--port', $r->{port}, '--save', '',
                '--appendonly', 'no', '--dir', $r->{dir},
                '--logfile', "$r->{dir}/redis.log");
    push @args, '--requirepass', $r->{requirepass} if $r->{requirepass};
    push @args, '--unixsocket', $r->{socket}, '--unixsocketperm', '777'
        if $r->{socket};
    push @args, @{ $r->{args} } if $r->{args};

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
    my $ok = open my $fh, '-|', 'redis-cli', '-h', $r->{bind} // '127.0.0.1',
                          '-p', $r->{port}, @auth, @cmd;
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

    my $s = IO::Socket::INET->new(PeerAddr => $r->{bind} // '127.0.0.1',
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

# Several commands over one RESP connection, written at once (wrap them in
# MULTI/EXEC to make them one transaction, as cachectl does): the decoded
# replies, in order. A reply is a string, an integer, undef (nil), an array
# ref, or { error => 'text' }. Binary-safe both ways.
sub redis_pipeline {
    my ($r, @cmds) = @_;

    my $s = _redis_connect($r);
    print $s map { _resp_command(@$_) } @cmds;

    my @replies = map { _resp_read($s) } @cmds;
    close $s;
    return @replies;
}

# A subscriber of its own: redis_psubscribe($r, 'jpulse:prod:bc:*', ...)
# returns the connection once Redis confirmed every pattern;
# redis_next_message($sub, $timeout) is the next [channel, message]
# published on it, or undef after $timeout seconds (default 2).
sub redis_psubscribe {
    my ($r, @patterns) = @_;

    my $s = _redis_connect($r);
    print $s _resp_command('PSUBSCRIBE', @patterns);
    _resp_read($s) for @patterns;
    return $s;
}

sub redis_next_message {
    my ($s, $timeout) = @_;

    # an alarm, not select(): a message may already sit in the buffer
    my $m = eval {
        local $SIG{ALRM} = sub { die "timeout\n" };
        Time::HiRes::alarm($timeout // 2);
        my $reply;
        do { $reply = _resp_read($s) }
            until ref $reply eq 'ARRAY' && $reply->[0] =~ /^p?message$/;
        Time::HiRes::alarm(0);
        $reply;
    };
    Time::HiRes::alarm(0);
    return undef unless $m;
    return $m->[0] eq 'pmessage' ? [$m->[2], $m->[3]] : [$m->[1], $m->[2]];
}

sub _redis_connect {
    my ($r) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => $r->{bind} // '127.0.0.1',
                                  PeerPort => $r->{port})
        or die "redis on $r->{port}: $!";
    binmode $s;
    $s->autoflush(1);

    if ($r->{requirepass}) {
        print $s _resp_command('AUTH', $r->{requirepass});
        _resp_read($s);
    }
    return $s;
}

sub _resp_command {
    return '*' . @_ . "\r\n" . join '', map { '$' . length($_) . "\r\n$_\r\n" }
                                        @_;
}

sub _resp_read {
    my ($s) = @_;

    my $line = <$s> // die "redis closed the connection\n";
    $line =~ s/\r\n\z//;
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));

    return $rest if $type eq '+';
    return { error => $rest } if $type eq '-';
    return $rest + 0 if $type eq ':';

    if ($type eq '$') {
        return undef if $rest < 0;
        my $data = '';
        while (length $data < $rest + 2) {
            read($s, $data, $rest + 2 - length $data, length $data)
                or die "redis: short read\n";
        }
        return substr $data, 0, $rest;
    }

    if ($type eq '*') {
        return undef if $rest < 0;
        return [ map { _resp_read($s) } 1 .. $rest ];
    }

    die "redis: unexpected reply '$line'\n";
}


# The L2 protocol of docs/protocol.md ("Templates and config"), written the
# way cachectl writes it: one MULTI/EXEC per batch with the HINCRBY of
# <ns>gen, then the invalidation event. $ns is "<siteId>:<mode>:", e.g.
# "jpulse:prod:". Options of every publish_*: gen => 0 (no HINCRBY),
# event => 0 (no PUBLISH: the "lost event"); they return the number of
# subscribers that got the event.

# publish_template($r, $ns, $relpath, $source, etag => ..., mtime => ...):
# one file of the effective view tree, its tpl: hash and its index field.
# etag: md5 of the source unless given; mtime: ms since the epoch, now
# unless given.
sub publish_template {
    my ($r, $ns, $relpath, $source, %opt) = @_;

    my %meta = map { $_ => delete $opt{$_} } grep { exists $opt{$_} }
               qw(etag mtime);
    return publish_tree($r, $ns, { $relpath => $source },
                        meta => { $relpath => \%meta }, %opt);
}

# publish_tree($r, $ns, { relpath => source, ... }, meta => { relpath =>
# { etag, mtime } }): several files as one batch. A source of undef deletes
# the file (its tpl: key and its index field).
sub publish_tree {
    my ($r, $ns, $files, %opt) = @_;

    my @cmds;
    for my $path (sort keys %$files) {
        my $src = $files->{$path};

        if (!defined $src) {
            push @cmds, ['DEL', "${ns}tpl:$path"],
                        ['HDEL', "${ns}tplindex", $path];
            next;
        }

        my $meta = $opt{meta}{$path} // {};
        my $etag = $meta->{etag} // Digest::MD5::md5_hex($src);
        my $mtime = $meta->{mtime} // int(Time::HiRes::time() * 1000);

        push @cmds, ['HSET', "${ns}tpl:$path", 'source', $src, 'etag', $etag,
                     'mtime', $mtime],
                    ['HSET', "${ns}tplindex", $path, "$mtime:$etag"];
    }

    return _publish_batch($r, $ns, 'view', \@cmds, %opt);
}

# publish_config($r, $ns, app => JSON text, site => JSON text): undef
# deletes the key
sub publish_config {
    my ($r, $ns, %opt) = @_;

    my @cmds;
    for my $which (qw(app site)) {
        next unless exists $opt{$which};
        my $v = delete $opt{$which};
        push @cmds, defined $v ? ['SET', "${ns}cfg:$which", $v]
                               : ['DEL', "${ns}cfg:$which"];
    }

    return _publish_batch($r, $ns, 'config', \@cmds, %opt);
}

# publish_i18n($r, $ns, $lang, JSON text or undef (deletes), %opt)
sub publish_i18n {
    my ($r, $ns, $lang, $json, %opt) = @_;

    my @cmds = defined $json ? (['SET', "${ns}i18n:$lang", $json])
                             : (['DEL', "${ns}i18n:$lang"]);

    return _publish_batch($r, $ns, 'i18n', \@cmds, %opt);
}

sub _publish_batch {
    my ($r, $ns, $kind, $cmds, %opt) = @_;

    my @tx = @$cmds;
    push @tx, ['HINCRBY', "${ns}gen", $kind, 1] if $opt{gen} // 1;

    my @replies = redis_pipeline($r, ['MULTI'], @tx, ['EXEC']);
    my $exec = $replies[-1];
    die "publish: the transaction failed\n"
        unless ref $exec eq 'ARRAY' && !grep { ref eq 'HASH' } @$exec;

    return ($opt{event} // 1) ? publish_event($r, $ns, $kind) : undef;
}

# The invalidation event, in jPulse's wire format on
# <ns>bc:controller:cache:invalidate:<kind>: the number of receivers.
# Returns once Redis has written the message to every subscriber (see
# redis_sync), so that a request sent next finds it at the worker.
sub publish_event {
    my ($r, $ns, $kind, %data) = @_;

    my $channel = "controller:cache:invalidate:$kind";
    my $msg = JSON::PP->new->canonical->encode({
        channel => $channel,
        data => { type => $kind, source => 'cachectl', %data },
        instanceId => 'test', timestamp => 1 });

    my ($n) = redis_pipeline($r, ['PUBLISH', "${ns}bc:$channel", $msg]);
    redis_sync($r);
    return $n;
}

# Redis answers a PUBLISH as soon as it ran it, and may write that reply
# before it writes the message to the subscribers (it flushes its clients
# in some order once per event-loop turn). One more round trip, on a
# connection of its own, is served in a later turn: once it is back, every
# message published before has been written to its subscribers' sockets.
# Call it after anything that published (a cache API refresh too) before
# expecting the workers to have heard it.
sub redis_sync {
    my ($r) = @_;

    my ($pong) = redis_pipeline($r, ['PING']);
    die "redis_sync: $pong\n" unless defined $pong && $pong eq 'PONG';
}


# view_tree($dir, { relpath => content, ... }, mtime => seconds): writes
# the files under $dir, each one a new inode (rename), readable by the
# workers (who run as nobody when we are root). undef removes the file.
# Returns $dir.
sub view_tree {
    my ($dir, $files, %opt) = @_;

    mkdir_p($dir);
    for my $path (sort keys %$files) {
        my $file = "$dir/$path";
        if (!defined $files->{$path}) {
            unlink $file;
            next;
        }
        (my $parent = $file) =~ s{/[^/]*\z}{};
        mkdir_p($parent);
        my $tmp = "$file.tmp$$";
        open my $fh, '>:raw', $tmp or die "$tmp: $!";
        print $fh $files->{$path};
        close $fh or die "$tmp: $!";
        chmod 0644, $tmp;
        utime $opt{mtime}, $opt{mtime}, $tmp if defined $opt{mtime};
        rename $tmp, $file or die "$file: $!";
    }
    return $dir;
}

sub mkdir_p {
    my ($dir) = @_;

    my $path = '';
    for my $part (grep { length } split m{/}, $dir) {
        $path .= "/$part";
        next if -d $path;
        mkdir $path or die "mkdir $path: $!";
        chmod 0755, $path;
    }
}


# The peak RSS (kB) of the worker that answers GET $path on $port with
# its pid (a location "return 200 $pid"), or -1.
sub worker_hwm {
    my ($port, $path) = @_;
    my (undef, undef, $pid) = http_get($port, $path // '/pid');
    ($pid // '') =~ /(\d+)/ or return -1;
    open my $fh, '<', "/proc/$1/status" or return -1;
    for (<$fh>) {
        return $1 if /^VmHWM:\s+(\d+)/;
    }
    return -1;
}

# One request on a fresh connection (HTTP/1.0, Host: localhost):
# (status, { lowercased header => value }, body), or (0, {}, what went
# wrong). http_get($port, $path, method => 'POST', body => ..., headers =>
# "X: y\r\n").
sub http_get {
    my ($port, $path, %opt) = @_;

    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => $opt{timeout} // 3)
        or return (0, {}, "connect: $!");
    binmode $s;

    my $method = $opt{method} // 'GET';
    my $body = $opt{body} // '';
    print $s "$method $path HTTP/1.0\r\nHost: localhost\r\n"
             . ($opt{headers} // '')
             . ($method eq 'GET' ? '' : "Content-Length: " . length($body)
                                        . "\r\n")
             . "\r\n$body";

    local $/;
    my $resp = <$s> // '';
    close $s;

    my ($head, $content) = split /\r\n\r\n/, $resp, 2;
    my ($status) = ($head // '') =~ m{\AHTTP/1\.\d (\d{3})};
    return (0, {}, "bad response: $resp") unless $status;

    my %h;
    for (split /\r\n/, $head) {
        $h{lc $1} = $2 if /^([^:]+):\s*(.*)$/;
    }
    return ($status, \%h, $content // '');
}

# Calls $check every $step seconds (default 0.05) until it returns true or
# $timeout seconds have passed: its last result. For waits that end as
# soon as what they wait for happened.
sub poll_until {
    my ($timeout, $check, $step) = @_;

    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        my $ok = $check->();
        return $ok if $ok || Time::HiRes::time() >= $deadline;
        Time::HiRes::sleep($step // 0.05);
    }
}

# The error.log of the running test nginx: its size now (a mark), a wait
# for $re in what was written after a mark, the lines matching $re.
sub error_log {
    return "$Test::Nginx::Socket::ServerRoot/logs/error.log";
}

sub log_mark {
    return -s error_log() // 0;
}

sub wait_log {
    my ($mark, $re, $timeout) = @_;
    return poll_until($timeout // 5, sub {
        open my $fh, '<', error_log() or return 0;
        seek $fh, $mark, 0;
        local $/;
        return (<$fh> // '') =~ $re;
    });
}

sub log_count {
    my ($re) = @_;
    open my $fh, '<', error_log() or return 0;
    my $n = 0;
    while (<$fh>) { $n++ if $_ =~ $re }
    return $n;
}

# How many times $redis ran $cmd since its last CONFIG RESETSTAT.
sub redis_calls {
    my ($redis, $cmd) = @_;
    my $info = redis_cli($redis, 'INFO', 'commandstats');
    return $info =~ /^cmdstat_\Q$cmd\E:calls=(\d+)/m ? $1 : 0;
}

# GETs $path on fresh connections (at most $max, default 400) until every
# pid of @$pids has answered (add_header X-Pid $pid), each answer passing
# $check->(status, headers, body). "ok", or what went wrong: the first
# answer that did not pass, or the pids never heard from.
sub pids_seen {
    my ($port, $path, $pids, $check, $max) = @_;

    my %want = map { $_ => 1 } @$pids;
    return 'no workers' unless %want;

    for (1 .. $max // 400) {
        my ($status, $h, $body) = http_get($port, $path);
        my $pid = $h->{'x-pid'} // 'none';
        return "pid $pid, status $status: " . substr($body, 0, 300)
            unless $check->($status, $h, $body);
        delete $want{$pid};
        return 'ok' unless %want;
    }
    return 'never answered: ' . join ' ', sort keys %want;
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

# A port nobody listens on now (the caller retries on EADDRINUSE: another
# process may take it before it binds), never one of the nginx ports of a
# run (nginx_port_reserved): those are free until Test::Nginx starts nginx
# on them, and a Redis node or a second nginx taking one meanwhile failed a
# run.
sub free_port {
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => 0)
            or die "no free port: $!";
        my $port = $s->sockport;
        return $port unless nginx_port_reserved($port);
    }
    die "no free port but the reserved nginx ports\n";
}

# True for the port t/run chose for the suites' nginx (TEST_NGINX_PORT),
# with t/run --jobs for every shard's (TEST_NGINX_SHARD_PORTS), and for
# PORT + 10 of each (t/000-runner.t's fixtures).
sub nginx_port_reserved {
    my ($port) = @_;
    for my $p (grep { /^[0-9]+$/ } $ENV{TEST_NGINX_PORT} // (),
               split ' ', $ENV{TEST_NGINX_SHARD_PORTS} // '') {
        return 1 if $port == $p || $port == $p + 10;
    }
    return 0;
}

*_free_port = \&free_port;

# Starts @cmd with stdin from /dev/null and stdout and stderr appended to
# $log, then waits (at most $timeout s, default 30: a loaded machine) until
# $up->($pid) is true: the pid. Dies with the log when the process exits
# first or never comes up (and stops it).
sub spawn_logged {
    my (%o) = @_;
    my $log = $o{log};

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', $log or POSIX::_exit(126);
        open STDERR, '>&', \*STDOUT;
        exec @{ $o{cmd} } or POSIX::_exit(127);
    }

    my $up = poll_until($o{timeout} // 30, sub {
        return 'gone' if waitpid($pid, POSIX::WNOHANG()) == $pid;
        return $o{up}->($pid) ? 'up' : 0;
    }, 0.1);

    return $pid if ($up // '') eq 'up';
    stop_pid($pid) unless ($up // '') eq 'gone';
    die "$o{what}: did not come up:\n" . _slurp($log);
}

# TERM, then KILL when it has not gone within 10 s; reaps it
sub stop_pid {
    my ($pid) = @_;

    return unless $pid;
    kill 'TERM', $pid;
    return if poll_until(10, sub { waitpid($pid, POSIX::WNOHANG()) == $pid },
                         0.05);
    kill 'KILL', $pid;
    waitpid $pid, 0;
}


END {
    # never leave a private redis-server behind
    local $?;
    nginx_stop($_, 'KILL') for @NginxStarted;
    redis_stop($_) for @Started;
}


1;
