# The dashboard suites (t/910-961): other members of the cluster written
# straight into the private Redis the way they write themselves (a
# heartbeat blob under <ns>metrics:instance:<id>, registered in
# <ns>metrics:registry; a cachectl status record), the nginx
# configuration the suites share, and the headless browser of t/950 and
# t/961.
package DashboardTest;

use strict;
use warnings;

use File::Temp ();
use POSIX ();
use Time::HiRes ();

use JPulseTest ();
use CachectlTest ();
use GatesTest ();

our $NS = 'dash:dev:';

# Debian's chromium (scripts/deps.sh), undef without it: the browser
# suites skip then
our $Chromium = (grep { -x } map { "$_/chromium" } split /:/, $ENV{PATH})[0];

# an nginx instance's (or cachectl's, with kind => 'cachectl') heartbeat,
# alive for ten minutes
sub put_instance {
    my ($redis, %o) = @_;

    my $ns = $o{ns} // $NS;
    my $id = $o{id};
    my $kind = $o{kind} // 'nginx';
    my $host = $o{hostname} // 'peer-host';
    my $name = $o{name} // "$host:100:4242";
    my $comp = $kind eq 'cachectl'
        ? '{"cachectl":{"component":"Cachectl","status":"ok","stats":'
          . '{"filesTracked":12,"batches":3,"written":12,"deleted":0,'
          . '"refused":' . ($o{refused} // 0) . ',"sessions":{"live":'
          . ($o{sessions} // 0) . '}}}}'
        : '{"http":{"stats":{"requests":' . ($o{requests} // 1234)
          . ',"bytesOut":' . ($o{bytes} // 5 * 1024 * 1024) . '}},'
          . '"module":{"stats":{"template_cache_hits":' . ($o{hits} // 90)
          . ',"template_cache_misses":' . ($o{misses} // 10)
          . ',"template_cache_bytes":' . ($o{cache_bytes} // 2048) . '}}}';
    my $pm2 = $kind eq 'cachectl' ? 200 : 100;
    my $kindfield = $kind eq 'nginx' ? '' : qq("kind":"$kind",);

    my $blob = qq({"kind":"$kind","hostname":) . _str($host)
        . qq(,"serverName":) . _str($host) . qq(,"serverId":7,)
        . qq("ip":"10.0.0.7","uptime":99,"totalProcesses":1,)
        . qq("runningProcesses":1,"instances":[{$kindfield"pid":4242,)
        . qq("pm2Id":$pm2,"instanceName":) . _str($name)
        . qq(,"instanceId":) . _str($id) . qq(,"status":"online",)
        . qq("uptime":3725,"uptimeFormatted":"1h 2m 5s",)
        . qq("jPulse":{"version":"0.1.0"},"redis":{"status":"connected"},)
        . qq("metrics":{"requestsPerMin":) . ($o{rpm} // 42)
        . qq(,"errorsPerMin":0,"errorRate":"0.00"},)
        . qq("components":$comp,"workers":[{"pid":1},{"pid":2}]}],)
        . qq("components":$comp});

    my $r = JPulseTest::redis_command($redis, 'SET',
                                      "${ns}metrics:instance:$id", $blob,
                                      'PX', 600000);
    die "SET heartbeat: $r" unless $r =~ /^\+OK/;

    my $ms = int(time * 1000) + 600000;
    JPulseTest::redis_command($redis, 'ZADD', "${ns}metrics:registry", $ms,
                              $id);
    JPulseTest::redis_command($redis, 'PEXPIREAT', "${ns}metrics:registry",
                              $ms);
    return $id;
}

# a jPulse Node instance's health broadcast (heard on pub/sub, kept 60 s)
sub publish_node {
    my ($redis, %o) = @_;

    my $ns = $o{ns} // $NS;
    my $id = $o{id} // '12:0:777';
    my $data = '{"hostname":"' . ($o{hostname} // 'app-012') . '",'
        . '"platform":"linux","nodeVersion":"v20.20.2","totalInstances":1,'
        . '"totalProcesses":1,"runningProcesses":1,"instances":[{"pid":777,'
        . qq("pm2Id":0,"instanceName":"app-012:0:777","instanceId":"$id",)
        . '"status":"online","uptime":86400,"uptimeFormatted":"1d 0h 0m",'
        . '"jPulse":{"version":"1.0.0"},"redis":{"status":"connected"},'
        . '"database":{"status":"connected"},'
        . '"metrics":{"requestsPerMin":' . ($o{rpm} // 12)
        . ',"errorsPerMin":0,"errorRate":"0.00"}}]}';

    JPulseTest::redis_command($redis, 'PUBLISH',
        "${ns}bc:controller:health:metrics:$id",
        qq({"channel":"controller:health:metrics:$id","data":$data,)
        . qq("instanceId":"$id","timestamp":1795658124448}));
}

# a cachectl daemon's status record (docs/protocol.md)
sub put_status {
    my ($redis, $id, $json, $ns) = @_;

    $ns //= $NS;
    my $r = JPulseTest::redis_command($redis, 'SET',
                                      "${ns}cachectl:status:$id", $json,
                                      'PX', 600000);
    die "SET status: $r" unless $r =~ /^\+OK/;
}

sub forget {
    my ($redis, $ns) = @_;

    $ns //= $NS;
    for my $k (split /\n/, JPulseTest::redis_cli($redis, '--scan',
                                                 '--pattern', "${ns}*")) {
        next if $k =~ /sess:/;
        JPulseTest::redis_command($redis, 'DEL', $k);
    }
}

# a JSON string (the hostile names are ASCII)
sub _str {
    my ($s) = @_;
    $s =~ s/(["\\])/\\$1/g;
    return qq("$s");
}

# a view root (and the config files a view set wants), made once
our $Dir;

sub dir {
    return $Dir if $Dir;

    $Dir = File::Temp::tempdir('jpulse-dash-XXXXXX', TMPDIR => 1,
                               CLEANUP => 1);
    chmod 0755, $Dir;
    JPulseTest::view_tree("$Dir/view", {
        'error/index.shtml' => "E{{url.param.code}} {{url.param.msg}}\n",
    });
    JPulseTest::view_tree($Dir, {
        'app.json' => '{"app":{"site":{"name":"Dash"}},"deployment":'
            . '{"mode":"dev","dev":{"port":8080,"db":"d"}}}',
        'i18n/en.json' => '{"x":"y"}',
    });
    return $Dir;
}

# the http{} of the suites: sessions with GatesTest's secret, Redis, the
# view root (siteConfig, and with it the admin roles, comes with a view
# set's L2)
sub http_config {
    my ($port, $extra) = @_;
    my $d = dir();

    return <<"CONF" . ($extra // '');
    jpulse_view_roots $d/view;
    jpulse_config $d/app.json;
    jpulse_i18n_dir $d/i18n;
    jpulse_site_id dash;
    jpulse_mode dev;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$port;
    jpulse_heartbeat interval=200ms ttl=2s;
    jpulse_session on;
    jpulse_session_secret $GatesTest::Secret;
CONF
}

# runs headless chromium with @args on the suite's /t/login (a test-only
# location that sets the admin's cookie and redirects to the dashboard):
# its stdout. A fresh profile every run, so no cookie or cache is carried
# from one block to the next; killed after 90 s, so a browser that hangs
# fails its block instead of the run.
sub chromium {
    my (@args) = @_;

    my $profile = File::Temp::tempdir('jpulse-dash-chromium-XXXXXX',
                                      TMPDIR => 1, CLEANUP => 1);
    my $url = "http://127.0.0.1:$Test::Nginx::Socket::ServerPort/t/login";
    my $out = File::Temp->new(TMPDIR => 1);

    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out->filename;
        open STDERR, '>', '/dev/null';
        exec { $Chromium } $Chromium, '--headless', '--no-sandbox',
             '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update',
             '--disable-sync', '--disable-dev-shm-usage',
             "--user-data-dir=$profile", @args, $url
            or POSIX::_exit(127);
    }

    my $deadline = Time::HiRes::time() + 90;
    while (waitpid($pid, POSIX::WNOHANG()) != $pid) {
        if (Time::HiRes::time() > $deadline) {
            kill 'KILL', $pid;
            waitpid $pid, 0;
            last;
        }
        Time::HiRes::sleep(0.1);
    }

    return CachectlTest::slurp($out->filename);
}

1;
