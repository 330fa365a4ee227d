package SentinelTest;

# What the Sentinel suites (t/801-805 for the module, t/810-812 for
# cachectl) share: a fake RESP server (a fake sentinel that names any
# address we want, refuses, stays silent or wants a password, and a fake
# Redis), the request hammers that run through a failover, and the
# runner setup of the cachectl suites. The real sentinels are
# t/lib/RedisSentinel.pm; the fakes are for what real ones can't be
# made to do on cue (name a replica, never announce, answer a host name).

use strict;
use warnings;

use Exporter 'import';
use IO::Select ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();
use JPulseTest ();

our @EXPORT_OK = qw(fake_server fake_sentinel closed_port hammer_start
                    hammer_stop get cachectl_runner);

# the fakes' pids, killed when the test that started them ends (not in
# the forked children: they never get here, they are killed or _exit)
our @Fakes;
my $Owner = $$;

END { kill 'KILL', @Fakes if $$ == $Owner && @Fakes }

# a port nobody listens on (bound and closed at once: nobody else is
# likely to take it before the test connects)
sub closed_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die "closed_port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

# A RESP server in a child, many clients at once (nginx keeps a command,
# a pub/sub and a sentinel connection per worker open together).
# $reply->(\@args, \%conn) gives the raw reply to each command; '' or
# undef sends nothing, which is how a fake stays silent (a sentinel that
# accepts and never answers). %conn lives as long as the connection (the
# password check keeps its AUTH state there). Returns { pid, port }.
sub fake_server {
    my ($reply) = @_;

    my $l = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1',
                                  LocalPort => 0, ReuseAddr => 1)
        or die "fake server: $!";
    my $port = $l->sockport;
    my $pid = fork // die "fork: $!";
    if ($pid) {
        close $l;
        push @Fakes, $pid;
        return { pid => $pid, port => $port };
    }

    my $sel = IO::Select->new($l);
    my (%buf, %conn);
    while (1) {
        for my $fh ($sel->can_read(1)) {
            if ($fh == $l) {
                my $c = $l->accept or next;
                $sel->add($c);
                $buf{$c} = '';
                $conn{$c} = {};
                next;
            }
            my $n = sysread $fh, my $chunk, 4096;
            if (!$n) {
                $sel->remove($fh);
                delete $buf{$fh};
                delete $conn{$fh};
                close $fh;
                next;
            }
            $buf{$fh} .= $chunk;
            while (my $cmd = _resp_take(\$buf{$fh})) {
                my $out = $reply->($cmd, $conn{$fh});
                syswrite $fh, $out if defined $out && $out ne '';
            }
        }
    }
}

# A fake sentinel. It names the primary of any master name:
#   master => PORT          always 127.0.0.1:PORT
#   master_file => FILE     what FILE says at each question: "PORT" or
#                           "HOST PORT" (the test moves the primary
#                           behind the module's back by rewriting it)
#   pass => S               every command but AUTH needs AUTH S first, as
#                           Sentinel's requirepass does
#   other => RAW            the reply to everything but SENTINEL and
#                           AUTH (t/811's: "+OK\r\n", cachectl asks
#                           nothing else)
# Without `other`, SUBSCRIBE is confirmed and PING answered as a sentinel
# would (nginx watches for +switch-master) and the rest is -ERR unknown
# command; no +switch-master is ever sent: the module has to find out by
# itself.
sub fake_sentinel {
    my (%o) = @_;
    my $other = $o{other} // "-ERR unknown command\r\n";

    return fake_server(sub {
        my ($cmd, $conn) = @_;
        my $name = uc($cmd->[0] // '');
        my ($host, $port) = ('127.0.0.1', $o{master});
        if (defined $o{master_file}) {
            $port = do {
                open my $pf, '<', $o{master_file}; local $/; <$pf> // '' };
            chomp $port;
            $host = $1 if $port =~ s/^(\S+)\s+//;
        }
        if ($name eq 'AUTH') {
            $conn->{authed} = !$o{pass} || ($cmd->[1] // '') eq $o{pass};
            return $conn->{authed} ? "+OK\r\n"
                 : "-WRONGPASS invalid username-password pair\r\n";
        }
        return "-NOAUTH Authentication required.\r\n"
            if $o{pass} && !$conn->{authed};
        if ($name eq 'SENTINEL') {
            return "*2\r\n" . _bulk($host) . _bulk($port);
        }
        if ($name eq 'SUBSCRIBE' && !defined $o{other}) {
            return "*3\r\n\$9\r\nsubscribe\r\n" . _bulk($cmd->[1] // '')
                   . ":1\r\n";
        }
        if ($name eq 'PING' && !defined $o{other}) {
            return "+PONG\r\n";
        }
        return $other;
    });
}

sub _bulk { my ($s) = @_; return '$' . length($s) . "\r\n$s\r\n" }

# one command (an array of bulk strings) off the front of $$buf, or undef
sub _resp_take {
    my ($buf) = @_;
    return undef unless $$buf =~ /\A\*(\d+)\r\n/;
    my ($n, $pos) = ($1, length($&));
    my @args;
    for (1 .. $n) {
        return undef unless substr($$buf, $pos) =~ /\A\$(\d+)\r\n/;
        my $len = $1;
        $pos += length($&);
        return undef if length($$buf) < $pos + $len + 2;
        push @args, substr($$buf, $pos, $len);
        $pos += $len + 2;
    }
    substr($$buf, 0, $pos) = '';
    return \@args;
}

# "STATUS BODY" of a GET to the runner's nginx
sub get {
    my ($path, $cookie) = @_;
    my ($status, undef, $body) = JPulseTest::http_get(
        $Test::Nginx::Socket::ServerPort, $path,
        headers => $cookie ? "Cookie: $cookie\r\n" : '');
    return "$status $body";
}

# GETs $path on fresh connections in a child until told to stop, so the
# requests keep going while the test kills or fails over the primary in
# the parent. A reply is bad unless 2xx and, with $want_body, that body
# (a signed-in page served as someone else is a failure too). The child
# writes "all bad 5xx span" to a file in $dir (span: seconds from the
# first bad reply to the last): a file, since the child can't return.
our $Hammers = 0;

sub hammer_start {
    my (%o) = @_;
    my ($path, $cookie, $want) = @o{qw(path cookie want_body)};
    my $file = "$o{dir}/hammer." . ++$Hammers;
    unlink $file, "$file.stop";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my ($n, $bad, $five, $first, $last) = (0, 0, 0);
        my $port = $Test::Nginx::Socket::ServerPort;
        until (-e "$file.stop") {
            my ($status, undef, $body) = JPulseTest::http_get($port, $path,
                headers => $cookie ? "Cookie: $cookie\r\n" : '');
            $n++;
            unless ($status =~ /^2/ && (!defined $want || $body eq $want)) {
                $bad++;
                $first //= Time::HiRes::time();
                $last = Time::HiRes::time();
            }
            $five++ if $status =~ /^5/ || $status == 0;
        }
        open my $fh, '>', $file or POSIX::_exit(1);
        printf $fh "%d %d %d %.2f\n", $n, $bad, $five,
                   $first ? $last - $first : 0;
        close $fh;
        POSIX::_exit(0);
    }
    return { pid => $pid, file => $file };
}

# [all, bad, 5xx, span] of a hammer, once it has stopped
sub hammer_stop {
    my ($h) = @_;
    open my $fh, '>', "$h->{file}.stop"; close $fh;
    waitpid $h->{pid}, 0;
    open $fh, '<', $h->{file} or return [0, 0, 0];
    my @r = split ' ', scalar <$fh>;
    return \@r;
}

# The cachectl suites run everything in --- pre_request and compare the
# text left in $main::Result: the runner's nginx only answers /ping.
# $http_config is nginx's http{} text for the suite (none by default).
sub cachectl_runner {
    my ($http_config) = @_;
    no warnings 'once';
    Test::Nginx::Socket::add_block_preprocessor(sub {
        my ($block) = @_;
        $block->set_value('http_config', $http_config)
            if defined $http_config && !defined $block->http_config;
        $block->set_value('config',
                          "location = /ping { return 200 \"pong\\n\"; }\n");
        $block->set_value('request', "GET /ping\n");
        $block->set_value('response_body_filters', sub { $main::Result });
    });
}

1;
