package NodePeer;

# The Node peer of the session suites (peers/node: express-session and
# connect-redis 7 as jPulse configures them; `make deps` installs it).
#
#   my $peer = NodePeer->start(redis => $r, site_id => 't650',
#                              secret => 'k1');
#   $peer->{port}        where it listens, on 127.0.0.1
#   $peer->stop;         SIGTERM, then SIGKILL if it lingers
#   $peer->log;          what it printed (one line per request)
#
# start() also sets $ENV{TEST_NGINX_PEER_PORT}, so a block's config can
# proxy_pass to http://127.0.0.1:$TEST_NGINX_PEER_PORT. Options: redis (a
# JPulseTest::redis_start handle; default the runner's redis-server),
# site_id (default 'jpulse'), mode (default 'prod'), secret (a string or
# an array ref: the first signs), port (default a free one). Its log is
# kept in t/servroot/node-peer/ (TEST_NGINX_SERVROOT), one file per start.
#
# The helpers speak HTTP/1.0 on fresh connections (JPulseTest::http_get):
#   login($port, $user, $password)  -> the cookie "connect.sid=..." that
#                                      a POST /api/1/auth/login set (dies
#                                      without one)
#   logout($port, $cookie)          -> the status of POST .../logout
#   peer_session($port, $cookie)    -> what GET /api/1/auth/session says:
#                                      its "data" object, decoded
#   set_cookie($headers)            -> "connect.sid=..." of a Set-Cookie
#   vars($port, $cookie)            -> GET /vars through nginx (see
#                                      session_server): "state=user id=..
#                                      user=ada roles=user,admin auth=1"
#   vars_settled($port, $cookie)    -> the same, once the worker that
#                                      answers has connected to Redis

use strict;
use warnings;

use Exporter 'import';
use File::Path ();
use File::Spec ();
use File::Temp ();
use JSON::PP ();
use Time::HiRes ();

use JPulseTest ();

our @EXPORT_OK = qw(login logout peer_session set_cookie session_http
                    session_server);

my $Top = File::Spec->rel2abs(__FILE__) =~ s{/t/lib/NodePeer\.pm\z}{}r;
my $Dir = "$Top/peers/node";
my @Running;
my $Count = 0;

sub start {
    my ($class, %o) = @_;

    die "NodePeer: $Dir/node_modules is missing: run make deps\n"
        unless -d "$Dir/node_modules";

    my $redis = $o{redis} // { port => $ENV{TEST_NGINX_REDIS_PORT} };
    die "NodePeer: no redis-server (TEST_NGINX_REDIS_PORT)\n"
        unless $redis->{port};

    my @secrets = ref $o{secret} ? @{ $o{secret} } : ($o{secret} // 'peer');
    my $self = bless {
        port => $o{port} // JPulseTest::free_port(),
        site_id => $o{site_id} // 'jpulse',
        mode => $o{mode} // 'prod',
        redis => $redis,
        secrets => \@secrets,
    }, $class;

    my $root = $ENV{TEST_NGINX_SERVROOT} // "$Top/t/servroot";
    my $logs = "$root/node-peer";
    File::Path::make_path($logs);
    (my $suite = $0) =~ s{.*/|\.t\z}{}g;
    $self->{log} = sprintf '%s/%s-%d-%d.log', $logs, $suite, ++$Count,
                           $self->{port};

    $self->_spawn;
    push @Running, $self;
    return $self;
}

sub _spawn {
    my ($self) = @_;

    my @args = ('node', "$Dir/server.js",
                '--port', $self->{port},
                '--redis', "127.0.0.1:$self->{redis}{port}",
                '--site-id', $self->{site_id}, '--mode', $self->{mode},
                map { ('--secret', $_) } @{ $self->{secrets} });
    push @args, '--redis-password', $self->{redis}{requirepass}
        if $self->{redis}{requirepass};

    $self->{pid} = JPulseTest::spawn_logged(
        what => "NodePeer on port $self->{port}", log => $self->{log},
        cmd => \@args,
        up => sub {
            my ($status) = JPulseTest::http_get($self->{port},
                                                '/api/1/auth/session');
            return $status == 200;
        });
    $ENV{TEST_NGINX_PEER_PORT} = $self->{port};
}

# the same peer again (its port, its options): after stop()
sub restart {
    my ($self) = @_;

    $self->stop;
    $self->_spawn;
}

sub stop {
    my ($self) = @_;

    JPulseTest::stop_pid(delete $self->{pid});
}

sub log {
    my ($self) = @_;

    open my $fh, '<', $self->{log} or return '';
    local $/;
    return <$fh> // '';
}

sub set_cookie {
    my ($headers) = @_;

    my ($value) = ($headers->{'set-cookie'} // '') =~ /^(connect\.sid=[^;]*)/;
    return $value;
}

sub login {
    my ($port, $user, $password) = @_;

    my $body = JSON::PP->new->encode({ identifier => $user,
                                       password => $password // "$user-tides" });
    my ($status, $h, $resp) = JPulseTest::http_get($port, '/api/1/auth/login',
        method => 'POST', body => $body,
        headers => "Content-Type: application/json\r\n");
    my $cookie = set_cookie($h);

    die "NodePeer: login of $user through port $port: $status, no cookie:"
        . " $resp\n" unless $status == 200 && $cookie;
    return $cookie;
}

sub logout {
    my ($port, $cookie) = @_;

    my ($status) = JPulseTest::http_get($port, '/api/1/auth/logout',
        method => 'POST', headers => "Cookie: $cookie\r\n");
    return $status;
}

sub peer_session {
    my ($port, $cookie) = @_;

    my ($status, $h, $body) = JPulseTest::http_get($port,
        '/api/1/auth/session',
        headers => $cookie ? "Cookie: $cookie\r\n" : '');
    my $doc = eval { JSON::PP->new->decode($body) };

    return { error => "$status: $body" } unless $status == 200 && $doc;
    return $doc->{data};
}

# The nginx side of the session suites, for a Test::Nginx block or
# JPulseTest::nginx_start: session_http(redis => $r, site_id => 't651',
# secret => 'k1', extra => '...') is the http-level part (sessions on
# with the peer's secret, the example site of examples/site rendered by
# jpulse_render), session_server($peer) the locations: /api/1/auth/ to
# the peer (login, logout, what Node sees), /vars with the session's
# variables, every other path rendered.
sub session_http {
    my (%o) = @_;

    my $site = "$Top/examples/site";
    my $redis = $o{redis}{port} // $ENV{TEST_NGINX_REDIS_PORT};
    my @secrets = ref $o{secret} ? @{ $o{secret} } : ($o{secret} // 'peer');

    return "    jpulse_site_id $o{site_id};\n"
         . "    jpulse_mode " . ($o{mode} // 'prod') . ";\n"
         . "    jpulse_redis 127.0.0.1:$redis;\n"
         . "    jpulse_session on;\n"
         . join('', map { "    jpulse_session_secret $_;\n" } @secrets)
         . "    jpulse_view_roots $site/site/webapp/view $site/webapp/view;\n"
         . "    jpulse_config $site/app.json;\n"
         . "    jpulse_i18n_dir $site/webapp/translations;\n"
         . ($o{extra} // '');
}

sub session_server {
    my ($peer) = @_;
    my $port = ref $peer ? $peer->{port} : $peer;

    return <<"CONF" . <<'CONF';
    location /api/1/auth/ {
        proxy_pass http://127.0.0.1:$port;
    }
CONF
    location = /vars {
        return 200 "state=$jpulse_session_state id=$jpulse_user_id user=$jpulse_username roles=$jpulse_user_roles auth=$jpulse_authenticated\n";
    }
    location / {
        jpulse_render;
    }
CONF
}

# GET /vars through nginx on $port with $cookie: its one line
sub vars {
    my ($port, $cookie) = @_;

    my ($status, $h, $body) = JPulseTest::http_get($port, '/vars',
        headers => $cookie ? "Cookie: $cookie\r\n" : '');
    return "status $status: $body" unless $status == 200;
    return $body;
}

# The same once the answering worker has its Redis connection: polls
# while the state is "error" (a worker that just started or was reloaded
# connects first), at most 10 s. For the checks that are not about the
# first requests of a new worker.
sub vars_settled {
    my ($port, $cookie) = @_;

    my $last;
    JPulseTest::poll_until(10, sub {
        $last = vars($port, $cookie);
        return $last !~ /^state=error /;
    }, 0.05);
    return $last;
}

# Whether the module in TEST_NGINX_LOAD_MODULES takes $line at the http
# level (nginx -t): for the parts of a suite that need a directive of
# another concern of the module (the session cache).
sub knows_directive {
    my ($line) = @_;

    my $dir = File::Temp::tempdir('jpulse-peer-XXXXXX', TMPDIR => 1,
                                  CLEANUP => 1);
    mkdir "$dir/logs";
    open my $fh, '>', "$dir/nginx.conf" or die "$dir/nginx.conf: $!";
    print $fh map({ "load_module $_;\n" }
                  split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // ''),
              "error_log $dir/logs/error.log;\npid $dir/logs/nginx.pid;\n",
              "events {}\nhttp {\n    $line\n}\n";
    close $fh;

    my $bin = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
    my $out = `$bin -p $dir/ -c $dir/nginx.conf -t 2>&1`;
    return $? == 0 ? 1 : $out =~ /unknown directive/ ? 0 : die $out;
}


END {
    local $?;
    $_->stop for @Running;
}

1;
