# The Debian packages (make deb, debian/, docs/packages.md) installed on
# this machine: dpkg -i of libnginx-mod-http-jpulse and jpulse-cachectl;
# their files, the modules-enabled link, the nginx ABI, the _cachectl user
# and state directory; Debian's nginx with the installed module (a test
# conf that includes /etc/nginx/modules-enabled/*.conf, as Debian's
# nginx.conf does, started with start-stop-daemon as /etc/init.d/nginx
# does, on a free 127.0.0.1 port) and cachectl started as its unit starts
# it (the unit's ExecStart, as the unit's User=) after the conffile was
# edited as an admin would, publishing a copy of examples/site to a private
# redis-server; nginx's view roots are empty, so the page it serves came
# through cachectl and Redis. Then an upgrade (the same .debs repacked
# with a higher version) after the admin removed the link and edited the
# conffile: both choices stay. Then dpkg -r (the link parked as .removed,
# the conffile and the user kept) and dpkg --purge: no link, conffile or
# state directory left, the user kept as Debian packages keep theirs (this
# suite then deletes it when it made it, so the machine is as it was).
#
# Uses build/deb/*.deb when they are newer than every file they are built
# from, else builds them (scripts/deb-build.sh, about a minute). Root only;
# skipped when either package is already installed (it would not put an
# admin's install back). An END block stops what it started and purges
# the packages whatever happened, so a failure halfway leaves no package,
# link or user behind.
use strict;
use warnings;

use lib 't/lib';
use File::Find ();
use File::Path ();
use File::Temp ();
use IO::Socket::INET ();
use POSIX ();
use Time::HiRes ();
use JPulseTest qw(http_get poll_until);
use Test::More;

my $top = POSIX::getcwd();
my @Pkgs = qw(libnginx-mod-http-jpulse jpulse-cachectl);
my $User = '_cachectl';
my $Link = '/etc/nginx/modules-enabled/50-mod-http-jpulse.conf';
my $Avail = '/usr/share/nginx/modules-available/mod-http-jpulse.conf';
my $So = '/usr/lib/nginx/modules/ngx_http_jpulse_module.so';
my $Unit = '/lib/systemd/system/cachectl.service';
my $Conf = '/etc/jpulse/cachectl.conf';
my $State = '/var/lib/jpulse-cachectl';

sub slurp {
    my ($f) = @_;
    open my $fh, '<', $f or return undef;
    local $/;
    return <$fh>;
}

sub spew {
    my ($f, $s) = @_;
    open my $fh, '>', $f or die "$f: $!";
    print $fh $s;
    close $fh or die "$f: $!";
}

sub installed {
    my ($p) = @_;
    my $st = `dpkg-query -W -f='\${Status}' $p 2>/dev/null` // '';
    return $st =~ /install ok installed/ ? 1 : 0;
}

# a dpkg command; waits (60 s at most) while another dpkg or apt-get holds
# the lock, instead of failing at once as dpkg does
sub dpkg {
    my (@args) = @_;
    my $out = '';
    for (1 .. 120) {
        $out = `dpkg @args 2>&1`;
        return ($? >> 8, $out)
            unless $? != 0 && $out =~ /lock|locked/i;
        Time::HiRes::sleep(0.5);
    }
    return (1, $out);
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die "no free port: $!";
    return $s->sockport;
}

plan skip_all => 'installs packages with dpkg: root only' if $> != 0;
for my $p (@Pkgs) {
    plan skip_all => "$p is installed already (this suite would purge it)"
        if installed($p);
}
plan skip_all => "$Link exists without the package" if -e $Link || -l $Link;
for my $tool (qw(/usr/sbin/nginx /usr/bin/redis-server /usr/bin/dpkg-buildpackage
                 /usr/bin/lintian /usr/sbin/start-stop-daemon /usr/bin/setpriv)) {
    next if -x $tool;
    # CI installs everything through make deps: missing there is a failure
    if ($ENV{CI}) {
        plan tests => 1;
        fail("$tool is missing (make deps)");
        exit 1;
    }
    plan skip_all => "$tool is missing (make deps)";
}

# --- what the machine looks like before -----------------------------------

sub snapshot {
    my %s;
    $s{user} = defined getpwnam($User) ? 1 : 0;
    $s{group} = defined getgrnam($User) ? 1 : 0;
    opendir my $d, '/etc/nginx/modules-enabled' or die $!;
    $s{enabled} = join ' ', sort grep { !/^\./ } readdir $d;
    closedir $d;
    $s{"-e $_"} = -e $_ ? 1 : 0
        for '/usr/lib/nginx/modules', '/usr/share/nginx/modules-available',
            '/etc/jpulse', $State, $Conf, $Unit, '/usr/bin/cachectl', $So;
    return \%s;
}

my $Before = snapshot();

# --- cleanup, whatever happens ---------------------------------------------

my $Tmp = File::Temp::tempdir('t900.XXXXXX', TMPDIR => 1, CLEANUP => 0);
chmod 0755, $Tmp;
my ($RedisPid, $CtlPid, $NginxPid);
my $NginxPidFile = "$Tmp/nginx.pid";
my $Installed = 0;

# TERM, then KILL after 10 s; a child of this process or not (the
# start-stop-daemon ones)
sub stop_pid {
    my ($pid) = @_;
    return unless $pid && kill 0, $pid;
    kill 'TERM', $pid;
    my $gone = sub {
        my $w = waitpid($pid, POSIX::WNOHANG());
        return $w == $pid || !kill 0, $pid;
    };
    return if poll_until(10, $gone, 0.05);
    kill 'KILL', $pid;
    poll_until(5, $gone, 0.05);
}

sub stop_nginx {
    return unless -s $NginxPidFile;
    system('start-stop-daemon', '--stop', '--quiet', '--retry=QUIT/5/TERM/5/KILL/5',
           '--pidfile', $NginxPidFile, '--exec', '/usr/sbin/nginx');
}

sub deluser {
    system("deluser --quiet --system $User >/dev/null 2>&1")
        if defined getpwnam($User);
    system("delgroup --quiet --system $User >/dev/null 2>&1")
        if defined getgrnam($User);
}

sub cleanup {
    stop_nginx();
    $CtlPid //= (slurp("$Tmp/cachectl.pid") // '') =~ /^(\d+)/ ? $1 : undef;
    stop_pid($CtlPid);
    $CtlPid = undef;
    stop_pid($RedisPid);
    $RedisPid = undef;
    if ($Installed || grep { installed($_) } @Pkgs) {
        my ($rc, $out) = dpkg('--purge', @Pkgs);
        diag("cleanup: dpkg --purge failed: $out") if $rc;
        $Installed = 0;
    }
    # the user and group the package made, which purge leaves
    deluser() if !$Before->{user} && !$Before->{group};
    File::Path::remove_tree($Tmp) if $Tmp && -d $Tmp;
}

$SIG{INT} = $SIG{TERM} = sub { exit 1 };    # so that END runs
my $Main = $$;
END {
    local $?;
    cleanup() if $$ == $Main;
}

# --- the packages: built here when missing or older than their sources ----

my $Out = "$top/build/deb";
my @srcs;
File::Find::find(sub { push @srcs, $File::Find::name if -f },
                 map { "$top/$_" } qw(debian libjpulse ngx_jpulse_module
                                      cachectl-daemon contrib dashboard));
push @srcs, map { "$top/$_" } qw(Makefile config docs/cachectl.1
                                 scripts/deb-build.sh);
my $newest = 0;
for (@srcs) { my $m = (stat $_)[9] // 0; $newest = $m if $m > $newest }

my %Deb;
sub find_debs {
    %Deb = ();
    for my $p (@Pkgs) {
        my @f = glob("$Out/${p}_*.deb");
        $Deb{$p} = $f[0] if @f == 1;
    }
}
find_debs();
my $fresh = keys(%Deb) == 2
    && !grep { (stat $Deb{$_})[9] < $newest } keys %Deb;
unless ($fresh) {
    my $t0 = Time::HiRes::time();
    my $log = `scripts/deb-build.sh 2>&1`;
    is($?, 0, sprintf('scripts/deb-build.sh built the packages (%.0f s)',
                      Time::HiRes::time() - $t0))
        or diag($log);
    find_debs();
}
is(scalar(keys %Deb), 2, 'build/deb/ has both .debs')
    or BAIL_OUT('no packages to install');

my $version = `dpkg-parsechangelog -l debian/changelog -S Version`;
chomp $version;
my ($jp_version) = (slurp('libjpulse/jp_version.h') // '')
    =~ /#define JP_VERSION\s+"([^"]+)"/;
like($version, qr/^\Q$jp_version\E(?:[-+~]|$)/,
     "debian/changelog's version ($version) is jp_version.h's ($jp_version)");

# the ABI: what the module depends on is what this nginx provides
my $abi = `dpkg-query -W -f='\${Provides}' nginx 2>/dev/null` // '';
($abi) = $abi =~ /(nginx-abi-[\w.~+-]+)/;
my $deps = `dpkg-deb -f $Deb{'libnginx-mod-http-jpulse'} Depends`;
ok($abi && $deps =~ /(?:^|, )\Q$abi\E(?:,|$)/m,
   "the module depends on the installed nginx's ABI ($abi)")
    or diag("Depends: $deps");
like(`dpkg-deb -f $Deb{'jpulse-cachectl'} Depends`, qr/\badduser\b/,
     'jpulse-cachectl depends on adduser (its postinst makes the user)');

# --- install -----------------------------------------------------------------

$Installed = 1;
my ($rc, $out) = dpkg('-i', map { $Deb{$_} } @Pkgs);
is($rc, 0, 'dpkg -i installs both packages') or diag($out);
ok(installed($_), "$_ is installed") for @Pkgs;

# the module: the .so, the load file, the link dh_nginx's postinst made
ok(-f $So, "$So");
# the dashboard's templates where the module was built to look for them
my $Dash = '/usr/share/jpulse/dashboard';
ok(-f "$Dash/admin/jpulse-dashboard/$_", "$Dash/admin/jpulse-dashboard/$_")
    for qw(index.shtml dashboard.js dashboard.css);
like(`strings $So`, qr/^\Q$Dash\E$/m, "the module looks for them in $Dash");
is(slurp($Avail), "load_module modules/ngx_http_jpulse_module.so;\n",
   "$Avail loads the module");
is(readlink($Link), $Avail, "$Link links to it");
is(system('/usr/sbin/nginx', '-t', '-q'), 0,
   "nginx -t: Debian's own nginx.conf loads the module through modules-enabled");

# cachectl: binary, man page, conffile, unit, user, state directory
my $v = `/usr/bin/cachectl --version 2>&1`;
like($v, qr/\Q$jp_version\E/, "/usr/bin/cachectl --version: $jp_version");
ok(-f '/usr/share/man/man1/cachectl.1.gz', 'the man page cachectl(1)');
like(`dpkg-query -W -f='\${Conffiles}' jpulse-cachectl`, qr{^ \Q$Conf\E }m,
     "$Conf is a conffile");
my $unit = slurp($Unit) // '';
like($unit, qr{^ExecStart=/usr/bin/cachectl -c \Q$Conf\E daemon$}m,
     'the unit runs /usr/bin/cachectl with the conffile');
like($unit, qr/^User=\Q$User\E$/m, "the unit runs as $User");

# the unit keeps contrib's hardening (the package's copy must not drift)
sub hardening {
    my ($text) = @_;
    my @l = grep { /^(?:NoNewPrivileges|Protect\w+|Private\w+|Restrict\w+|Limit\w+|Restart\w*|Type)=/ }
            split /\n/, $text;
    return join "\n", sort @l;
}
is(hardening($unit), hardening(slurp('contrib/cachectl.service') // ''),
   "the unit's [Service] hardening is contrib/cachectl.service's");

my @pw = getpwnam($User);
ok(@pw, "the user $User exists");
ok(@pw && $pw[2] < 1000, "$User is a system user (uid $pw[2])");
is($pw[7], $State, "${User}'s home is $State");
is($pw[8], '/usr/sbin/nologin', "$User has no login shell");
my @st = stat $State;
ok(@st && $st[4] == $pw[2] && ($st[2] & 07777) == 0750,
   "$State: ${User}'s, mode 750");

# --- a private redis-server, the site, cachectl as its unit starts it -----

my $rport = free_port();
mkdir "$Tmp/redis";
$RedisPid = fork // die "fork: $!";
if ($RedisPid == 0) {
    open STDOUT, '>', '/dev/null';
    { exec 'redis-server', '--bind', '127.0.0.1', '--port', $rport,
           '--save', '', '--appendonly', 'no', '--dir', "$Tmp/redis",
           '--logfile', "$Tmp/redis.log"; }
    POSIX::_exit(127);
}
ok(poll_until(10, sub { `redis-cli -p $rport ping 2>&1` =~ /PONG/ }, 0.1),
   "redis-server on 127.0.0.1:$rport");

# a copy of the example site that _cachectl may read (the checkout may sit
# under a directory it cannot traverse)
system('cp', '-r', 'examples/site', "$Tmp/site") == 0 or die 'cp site';
system('chmod', '-R', 'a+rX', "$Tmp/site");
my $site = "$Tmp/site";

# the admin's edit of the conffile: this Redis, the example's namespace
my $example = slurp($Conf) // '';
like($example, qr/^redis = 127\.0\.0\.1:6379$/m,
     'the conffile as shipped: contrib/cachectl.conf.example');
spew($Conf, <<"CONF");
# $Conf, edited by t/900-deb.t
redis = 127.0.0.1:$rport
site-id = example
mode = dev
views = $site/site/webapp/view
views = $site/webapp/view
app-config = $site/app.json
i18n = $site/webapp/translations
CONF
chmod 0644, $Conf;

# the unit's ExecStart as its User=, by start-stop-daemon as on a machine
# without systemd (docs/packages.md gives the same command)
my ($exec) = $unit =~ /^ExecStart=(.+)$/m;
my @exec = split ' ', $exec;
my $CtlPidFile = "$Tmp/cachectl.pid";
is(system('start-stop-daemon', '--start', '--quiet', '--background',
          '--make-pidfile', '--pidfile', $CtlPidFile,
          '--chuid', "$User:$User", '--chdir', '/',
          '--output', "$Tmp/cachectl.log",
          '--exec', $exec[0], '--', @exec[1 .. $#exec]),
   0, "start-stop-daemon starts the unit's ExecStart as $User");
my $uid_ok = poll_until(5, sub {
    $CtlPid //= (slurp($CtlPidFile) // '') =~ /^(\d+)/ ? $1 : undef;
    return 0 unless $CtlPid;
    my $s = slurp("/proc/$CtlPid/status") // '';
    my ($uid) = $s =~ /^Uid:\s+(\d+)/m;
    my ($gid) = $s =~ /^Gid:\s+(\d+)/m;
    return defined $uid && $uid == $pw[2] && $gid == $pw[3]
        && (readlink("/proc/$CtlPid/exe") // '') eq '/usr/bin/cachectl';
}, 0.05);
ok($uid_ok, "cachectl runs as $User:$User")
    or diag(slurp("$Tmp/cachectl.log"));
my $status = '';
ok(poll_until(20, sub {
       $status = `/usr/bin/cachectl -c $Conf status 2>&1`;
       return $? == 0 && $status =~ /\bpublisher\b/i;
   }, 0.2),
   'cachectl status: the daemon publishes')
    or diag($status, slurp("$Tmp/cachectl.log"));

# --- nginx: the installed module through modules-enabled -------------------

my $port = free_port();
File::Path::make_path(map { "$Tmp/$_" } qw(empty/site empty/fw empty/i18n
                                           temp));
spew("$Tmp/empty/app.json", "{}\n");
my $conf = "$Tmp/nginx.conf";
spew($conf, <<"NGINX");
# as Debian's /etc/nginx/nginx.conf does
include /etc/nginx/modules-enabled/*.conf;

worker_processes 1;
error_log $Tmp/error.log notice;
pid $NginxPidFile;

events {
    worker_connections 64;
}

http {
    access_log off;
    client_body_temp_path $Tmp/temp/body;
    proxy_temp_path $Tmp/temp/proxy;
    fastcgi_temp_path $Tmp/temp/fastcgi;
    uwsgi_temp_path $Tmp/temp/uwsgi;
    scgi_temp_path $Tmp/temp/scgi;

    jpulse_site_id example;
    jpulse_mode dev;
    jpulse_redis 127.0.0.1:$rport;
    # empty: every page comes from what cachectl published to Redis
    jpulse_view_roots $Tmp/empty/site $Tmp/empty/fw;
    jpulse_config $Tmp/empty/app.json;
    jpulse_i18n_dir $Tmp/empty/i18n;
    jpulse_template_check_interval 1s;

    server {
        listen 127.0.0.1:$port;
        location /api/1/health/ { jpulse_health; }
        location / { jpulse_render; }
    }
}
NGINX

my $t = `/usr/sbin/nginx -t -c $conf 2>&1`;
is($?, 0, 'nginx -t: the test conf with the installed module') or diag($t);
is(system('start-stop-daemon', '--start', '--quiet', '--pidfile', $NginxPidFile,
          '--exec', '/usr/sbin/nginx', '--', '-c', $conf),
   0, "start-stop-daemon starts nginx on 127.0.0.1:$port");

my ($st, $h, $body);
ok(poll_until(10, sub {
       ($st, $h, $body) = http_get($port, '/api/1/health/status');
       return $st == 200 && $body =~ /"redis":"connected"/;
   }, 0.1),
   'health: the module answers, Redis connected')
    or diag("$st $body", slurp("$Tmp/error.log") // '');

ok(poll_until(10, sub {
       ($st, $h, $body) = http_get($port, '/home/');
       return $st == 200 && $body =~ m{<h1>Tide tables</h1>};
   }, 0.1),
   "GET /home/: the example site's page, from Redis (cachectl's publish)")
    or diag("$st $body", slurp("$Tmp/error.log") // '');

# an edit of the site reaches nginx through the running daemon
{
    my $f = "$site/site/webapp/view/about/index.shtml";
    my $page = slurp($f);
    spew("$f.tmp", $page . "<!-- t900 edit -->\n");
    chmod 0644, "$f.tmp";
    rename "$f.tmp", $f or die "rename: $!";
    ok(poll_until(15, sub {
           ($st, $h, $body) = http_get($port, '/about/');
           return $st == 200 && $body =~ /t900 edit/;
       }, 0.1),
       'an edit of the site is served after cachectl publishes it')
        or diag("$st $body", slurp("$Tmp/cachectl.log") // '');
}

# --- stop, remove, purge ----------------------------------------------------

stop_nginx();
ok(poll_until(10, sub { !-e $NginxPidFile }, 0.1), 'nginx stopped');
is(system('start-stop-daemon', '--stop', '--quiet', '--retry', 'TERM/10',
          '--pidfile', $CtlPidFile, '--remove-pidfile'),
   0, 'start-stop-daemon stops cachectl (SIGTERM)');
$CtlPid = undef;
# SIGTERM: the batch finished, the lease given up, the heartbeat removed
$status = `/usr/bin/cachectl -c $Conf status 2>&1`;
is($? >> 8, 1, 'cachectl status after the stop: no daemon runs')
    or diag($status);

# an upgrade (the same packages as version $version+t900): the admin's
# choices stay, the link they removed stays removed, the conffile they
# edited stays edited, the user keeps its uid
unlink $Link or die "unlink $Link: $!";
my $edited = slurp($Conf);
my %Up;
for my $p (@Pkgs) {
    my $dir = "$Tmp/repack-$p";
    system('dpkg-deb', '-R', $Deb{$p}, $dir) == 0 or die "dpkg-deb -R $p";
    my $ctl = slurp("$dir/DEBIAN/control");
    $ctl =~ s/^Version: .*$/Version: $version+t900/m or die 'no Version';
    spew("$dir/DEBIAN/control", $ctl);
    $Up{$p} = "$Tmp/${p}_$version+t900.deb";
    system("dpkg-deb -b $dir $Up{$p} >/dev/null") == 0 or die "dpkg-deb -b $p";
}
($rc, $out) = dpkg('-i', map { $Up{$_} } @Pkgs);
is($rc, 0, "dpkg -i upgrades both to $version+t900") or diag($out);
is(`dpkg-query -W -f='\${Version}' $_`, "$version+t900", "$_ upgraded")
    for @Pkgs;
ok(!-l $Link && !-l "$Link.removed",
   'upgrade: the link the admin removed stays removed');
is(slurp($Conf), $edited, "upgrade: the admin's conffile stays");
is((getpwnam($User))[2], $pw[2], "upgrade: $User keeps its uid");
# the admin enables the module again
symlink $Avail, $Link or die "symlink: $!";

($rc, $out) = dpkg('-r', @Pkgs);
is($rc, 0, 'dpkg -r removes both') or diag($out);
ok(!-e $Link && !-l $Link, "remove: $Link is gone");
is(readlink("$Link.removed"), $Avail,
   'remove: parked as .removed (a reinstall puts it back, as Debian does)');
ok(-f $Conf, 'remove: the conffile stays');
ok(defined getpwnam($User), "remove: $User stays");
ok(!-e $So && !-e '/usr/bin/cachectl', 'remove: the .so and the binary are gone');
ok(!-e '/usr/share/jpulse', 'remove: the dashboard templates are gone');

# installed again after a remove: the parked link comes back
($rc, $out) = dpkg('-i', $Deb{'libnginx-mod-http-jpulse'});
is($rc, 0, 'dpkg -i the module again') or diag($out);
is(readlink($Link), $Avail, 'reinstall: the link is back');
ok(!-l "$Link.removed", 'reinstall: no .removed left');

($rc, $out) = dpkg('--purge', @Pkgs);
is($rc, 0, 'dpkg --purge purges both') or diag($out);
$Installed = 0;
ok(!installed($_), "$_ is not installed") for @Pkgs;
ok(!-e $Link && !-l $Link && !-l "$Link.removed", 'purge: no modules-enabled link left');
ok(!-e $Conf, 'purge: the conffile is gone');
ok(!-e $State, "purge: $State is gone");
ok(defined getpwnam($User),
   "purge: $User stays (Debian leaves system users; deluser removes it)");

# the machine as it was, once this suite deletes the user it caused
deluser() if !$Before->{user} && !$Before->{group};
is_deeply(snapshot(), $Before,
          'the machine is as it was: modules-enabled, directories, user, group');

done_testing();
