# bench/lib/Fleet.pm: nginx instances that render a cachectl-published
# view tree, and "has every worker served it yet?" probes; shared by
# bench/cachectl/latency and bench/invalidation/run.
#
#   my @ng = Fleet::nginx_instances(dir => $dir, module => $so,
#                redis_port => $p, instances => 2, workers => 2,
#                empty => "$dir/empty");       # view root of nginx itself
#   Fleet::all_workers([map { $_->{port} } @ng], '/edit/', 'v3', 4)
#   Fleet::stop_nginx(@ng);                    # also done at exit
#
# Every answer carries X-Pid (nginx's $pid), so a probe knows which worker
# it reached. A server without such a header (node's cluster module hands
# connections to its workers in turn) is probed by count instead: see
# all_workers.
package Fleet;

use strict;
use warnings;
use File::Path qw(make_path);
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

our $Nginx = $ENV{NGINX} || '/usr/sbin/nginx';
my @Started;
my $MainPid = $$;

END {
    if ($$ == $MainPid) {
        my $rc = $?;
        stop_nginx(@Started);
        $? = $rc;
    }
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die "free port: $!";
    return $s->sockport;
}

# N instances of W workers each, every one reading views from Redis only
# (its own view root is empty): what cachectl publishes is all they serve
sub nginx_instances {
    my (%o) = @_;
    my @ng;

    for my $i (1 .. ($o{instances} // 2)) {
        my $p = "$o{dir}/nginx$i";
        make_path("$p/conf", "$p/logs");
        my $port = free_port();
        open my $c, '>', "$p/conf/nginx.conf" or die "$p: $!\n";
        print $c <<"CONF";
load_module $o{module};
worker_processes @{[ $o{workers} // 2 ]};
error_log logs/error.log warn;
pid logs/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $p/body;
    jpulse_site_id @{[ $o{site_id} // 'bench' ]};
    jpulse_redis 127.0.0.1:$o{redis_port};
    jpulse_heartbeat off;
    jpulse_view_roots $o{empty};
    server {
        listen 127.0.0.1:$port;
        location / { jpulse_render; add_header X-Pid \$pid; }
    }
}
CONF
        close $c;
        push @ng, { prefix => $p, port => $port };
    }

    for my $n (@ng) {
        system($Nginx, '-p', $n->{prefix}, '-c', 'conf/nginx.conf') == 0
            or die "nginx did not start (prefix $n->{prefix})\n";
        push @Started, $n;
    }

    return @ng;
}

# TERM to the master (nginx -s stop without its "signal process" notice),
# and wait until it is gone, so its ports and workers are too
sub stop_nginx {
    for my $n (@_) {
        my $f = "$n->{prefix}/logs/nginx.pid";
        open my $fh, '<', $f or next;
        my ($pid) = <$fh> =~ /(\d+)/;
        close $fh;
        next unless $pid && kill 'TERM', $pid;
        my $end = time + 5;
        sleep 0.01 while kill(0, $pid) && time < $end;
        kill 'KILL', $pid if kill 0, $pid;
    }
}

# every worker of every port has served $want on $uri: new connections
# until each worker has answered with it; a stale answer ends the probe
# (0: not yet). $workers: how many workers each port has. A worker is
# known by its X-Pid (or X-Worker-Pid) header; an answer without one
# counts as a turn of node's round-robin: 2 x $workers fresh answers in a
# row from one port reached each of its workers twice.
sub all_workers {
    my ($ports, $uri, $want, $workers) = @_;
    $workers //= 2;

    for my $port (@$ports) {
        my (%pids, $anon);
        for (1 .. 16 * $workers) {
            my ($pid, $body) = get($port, $uri);
            return 0 unless defined $body && index($body, $want) >= 0;
            if (defined $pid) {
                $pids{$pid} = 1;
            } else {
                $anon++;
            }
            last if keys %pids >= $workers || ($anon // 0) >= 2 * $workers;
        }
        return 0 unless keys %pids >= $workers
                        || ($anon // 0) >= 2 * $workers;
    }

    return 1;
}

# GET over a fresh connection (a new connection may reach another worker):
# (the X-Pid or undef, the whole answer) or () when it could not connect
sub get {
    my ($port, $uri) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => 2) or return;
    print $s "GET $uri HTTP/1.0\r\nHost: bench\r\n\r\n";
    local $/;
    my $r = <$s> // '';
    close $s;
    my ($head) = split /\r\n\r\n/, $r, 2;
    my ($pid) = ($head // '') =~ /^X-(?:Worker-)?Pid: *(\d+)/mi;
    return ($pid, $r);
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

1;
