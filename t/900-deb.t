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
# with a higher version) under the running nginx: the module's postinst
# and nginx's trigger act on this suite's nginx (an invoke-rc.d first in
# PATH), whose processes must then map the new .so, not the deleted old
# one. A second upgrade after the admin removed the link and with the
# conffile edited: both choices stay. Then dpkg -r (the link parked as
# .removed, the conffile and the user kept) and dpkg --purge: no link,
# conffile or state directory left, the user kept as Debian packages keep
# theirs (this suite then deletes it when it made it, so the machine is as
# it was). Before all that, scripts/deb-build.sh in a scratch git
# repository (dpkg-buildpackage stubbed): it builds the commit, refuses a
# dirty tree unless ALLOW_DIRTY=1, never ships untracked files, and
# deletes nothing in DEB_OUT but its own files; and the maintainer scripts
# the packages carry (systemd: restart on upgrade, stop on remove).
#
# It installs packages system-wide and makes a running system nginx reload
# (the nginx-reload trigger): it runs only under CI=1 or JPULSE_TEST_DEB=1,
# as root, one at a time (flock on /run/lock/jpulse-t900.lock), and only
# when neither package is known to dpkg at all (not even removed but not
# purged) and no modules-enabled link or .removed is there; otherwise it
# skips, or fails under CI (a clean machine).
#
# Uses build/deb/*.deb when build/deb/source-id is what
# `scripts/deb-build.sh --source-id` says of the tree now, else builds them
# (about a minute) with ALLOW_DIRTY=1: with local edits of tracked files it
# tests the working tree (untracked files never go in). An END block, run
# on SIGINT, SIGTERM, SIGHUP, SIGQUIT and SIGPIPE too, stops what it
# started and purges the packages whatever happened, so a failure halfway
# leaves no package, link or user behind (SIGKILL cannot be caught: the
# next run then finds the packages and skips, or fails under CI).
use strict;
use warnings;

use lib 't/lib';
use Fcntl qw(:flock O_CREAT O_RDWR);
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

# dpkg's state of a package: "not-installed" when dpkg does not know it
sub dpkg_state {
    my ($p) = @_;
    my $st = `dpkg-query -W -f='\${Status}' $p 2>/dev/null` // '';
    return $? == 0 && $st =~ /\S/ ? ($st =~ /(\S+)$/)[0] : 'not-installed';
}

my $LockFile = -d '/run/lock' ? '/run/lock/jpulse-t900.lock' : '/run/jpulse-t900.lock';
my $LockFh;

# not for this machine now: a skip, or a failure under CI (a fresh machine)
sub refuse {
    my ($why) = @_;
    if ($LockFh) {
        unlink $LockFile;
        close $LockFh;
    }
    if ($ENV{CI}) {
        plan tests => 1;
        fail($why);
        exit 1;
    }
    plan skip_all => $why;
}

# --- may it run here? --------------------------------------------------------

plan skip_all => 'installs packages system-wide and makes a running nginx '
    . 'reload: runs under CI=1 or JPULSE_TEST_DEB=1 (docs/packages.md)'
    unless $ENV{CI} || $ENV{JPULSE_TEST_DEB};
plan skip_all => 'installs packages with dpkg: root only' if $> != 0;

# from here on an END block cleans up: signals must run it
$SIG{INT} = $SIG{TERM} = $SIG{HUP} = $SIG{QUIT} = $SIG{PIPE} = sub { exit 1 };

# one run at a time on this machine: another one's purge and deluser would
# pull the packages and the user out from under this one
sub take_lock {
    for (1 .. 5) {
        sysopen(my $fh, $LockFile, O_CREAT | O_RDWR, 0644)
            or return "cannot open $LockFile: $!";
        flock($fh, LOCK_EX | LOCK_NB)
            or return "another t/900-deb.t runs (it holds $LockFile)";
        # the holder before unlinks it: the lock must be on the file there
        my @a = stat $fh;
        my @b = stat $LockFile;
        if (@b && $a[0] == $b[0] && $a[1] == $b[1]) {
            $LockFh = $fh;
            return undef;
        }
        close $fh;
    }
    return "$LockFile keeps changing";
}
my $locked = take_lock();
refuse($locked) if defined $locked;

for my $p (@Pkgs) {
    my $st = dpkg_state($p);
    refuse("$p is known to dpkg already (state $st: installed, or removed "
           . 'and not purged): this suite would overwrite and purge it')
        if $st ne 'not-installed';
}
refuse("$Link exists without the package") if -e $Link || -l $Link;
refuse("$Link.removed exists without the package (this suite would consume it)")
    if -e "$Link.removed" || -l "$Link.removed";
for my $tool (qw(/usr/sbin/nginx /usr/bin/redis-server /usr/bin/dpkg-buildpackage
                 /usr/bin/lintian /usr/sbin/start-stop-daemon /usr/bin/setpriv
                 /usr/bin/git)) {
    refuse("$tool is missing (make deps)") unless -x $tool;
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

my $Main = $$;
my $Armed = 1;    # what END cleans up exists from here on
END {
    local $?;
    if ($Armed && $$ == $Main) {
        cleanup();
        # unlinked while still held: a run waiting on this file retries
        unlink $LockFile;
        close $LockFh if $LockFh;
    }
}

# --- one at a time (R17 L3) ---------------------------------------------------

# a second run now, as another worktree's `make test` would start one: it
# must stop at the lock (before its END block has anything to clean up)
{
    my ($rc2, $out2) = run_env({ CI => '', JPULSE_TEST_DEB => 1 },
                               $^X, '-I', 't/lib', $0);
    like($out2, qr/^1\.\.0 # SKIP another t\/900-deb\.t runs/m,
         'a second t/900-deb.t meanwhile skips: this one holds the lock')
        or diag($out2);
}

# --- scripts/deb-build.sh: what it builds, what it deletes (R17 L6, M2) ----
#
# in a scratch git repository of the files it builds from, with a
# dpkg-buildpackage first in PATH that lists the tree it was given and fails

sub run_env {
    my ($env, @cmd) = @_;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if ($pid == 0) {
        open STDERR, '>&', \*STDOUT;
        @ENV{keys %$env} = values %$env;
        exec @cmd or POSIX::_exit(127);
    }
    local $/;
    my $out = <$fh> // '';
    close $fh;
    return ($? >> 8, $out);
}

{
    my $scr = "$Tmp/scratch";
    my @paths = split ' ', (`sed -n '/^PATHS="/,/"\$/p' scripts/deb-build.sh`
                            =~ s/PATHS=|"//gr);
    mkdir $scr or die "$scr: $!";
    system("git ls-files -z -- @paths | tar cf - --null -T - | tar xf - -C $scr") == 0
        or die 'scratch copy';
    my $git = "git -C $scr -c user.name=t900 -c user.email=t900\@invalid";
    system("$git init -q && $git add -A && $git commit -qm scratch") == 0
        or die 'scratch commit';
    mkdir "$Tmp/stub";
    spew("$Tmp/stub/dpkg-buildpackage",
         "#!/bin/sh\nfind . -type f | sort > \"\$T900_SEEN\"\nexit 1\n");
    chmod 0755, "$Tmp/stub/dpkg-buildpackage";
    my $victim = "$Tmp/victim";
    File::Path::make_path("$victim/someone-elses-work");
    spew("$victim/someone-elses-work/file", "important\n");
    spew("$victim/other_1.0_all.deb", "not ours\n");
    my %env = (PATH => "$Tmp/stub:$ENV{PATH}", DEB_OUT => $victim,
               T900_SEEN => "$Tmp/seen", ALLOW_DIRTY => '');
    my $page = 'dashboard/admin/jpulse-dashboard/index.shtml';
    my $committed = slurp("$scr/$page");
    spew("$scr/$page", $committed . "<!-- t900 uncommitted -->\n");
    spew("$scr/dashboard/admin/jpulse-dashboard/stray.orig", "stray\n");

    my ($rc, $out) = run_env(\%env, "$scr/scripts/deb-build.sh");
    ok($rc != 0 && $out =~ /refusing to build.*uncommitted/s && !-e "$Tmp/seen",
       'deb-build.sh refuses a tree with uncommitted changes') or diag($out);

    ($rc, $out) = run_env({ %env, ALLOW_DIRTY => 1 }, "$scr/scripts/deb-build.sh");
    my $seen = slurp("$Tmp/seen") // '';
    my ($copy) = glob("$victim/ngx-jpulse-*");
    ok($seen =~ m{^\./\Q$page\E$}m
       && (slurp("$copy/$page") // '') =~ /t900 uncommitted/,
       'ALLOW_DIRTY=1: it builds the working tree\'s tracked files') or diag($out, $seen);
    ok($seen !~ /stray\.orig/, 'ALLOW_DIRTY=1: an untracked file is not built');
    ok(-f "$victim/someone-elses-work/file" && -f "$victim/other_1.0_all.deb",
       'DEB_OUT=DIR: what else DIR holds stays') or diag(`ls -la $victim`);

    system("$git checkout -q -- .") == 0 or die 'checkout';
    unlink "$Tmp/seen";
    ($rc, $out) = run_env(\%env, "$scr/scripts/deb-build.sh");
    $seen = slurp("$Tmp/seen") // '';
    ($copy) = glob("$victim/ngx-jpulse-*");
    ok($seen =~ m{^\./\Q$page\E$}m && $seen !~ /stray\.orig/
       && slurp("$copy/$page") eq $committed,
       'a clean tree: it builds the commit, without the untracked file')
        or diag($out, $seen);
    ok(-f "$victim/someone-elses-work/file", 'DEB_OUT=DIR: a second run keeps it too');
}

# --- the packages: built here when missing or not of this tree -------------

my $Out = "$top/build/deb";
my %Deb;
sub find_debs {
    %Deb = ();
    for my $p (@Pkgs) {
        my @f = glob("$Out/${p}_*.deb");
        $Deb{$p} = $f[0] if @f == 1;
    }
}
find_debs();
my $want_id = `scripts/deb-build.sh --source-id`;
my $have_id = slurp("$Out/source-id") // '';
unless (keys(%Deb) == 2 && $want_id =~ /\S/ && $have_id eq $want_id) {
    my $t0 = Time::HiRes::time();
    # local edits of tracked files are what `make test` should test
    my ($brc, $log) = run_env({ ALLOW_DIRTY => 1 }, 'scripts/deb-build.sh');
    is($brc, 0, sprintf('scripts/deb-build.sh built the packages (%.0f s)',
                        Time::HiRes::time() - $t0))
        or diag($log);
    note($log =~ /^(deb: built from .*)$/m ? $1 : 'deb: ?');
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

# the maintainer scripts (R17 H1): no systemd here, so their text. An
# upgrade restarts a running unit (and loads a changed unit file), a remove
# stops it; nothing stops it in the preinst of an upgrade
my %Ctl;
for my $p (@Pkgs) {
    system('dpkg-deb', '-e', $Deb{$p}, "$Tmp/ctl-$p") == 0 or die "dpkg-deb -e $p";
    $Ctl{$p}{$_} = slurp("$Tmp/ctl-$p/$_") // '' for qw(preinst postinst prerm postrm);
}
my $c = $Ctl{'jpulse-cachectl'};
like($c->{postinst}, qr/systemctl --system daemon-reload/,
     'jpulse-cachectl postinst: systemctl daemon-reload');
like($c->{postinst}, qr/_dh_action=(?:try-)?restart\b.*deb-systemd-invoke \$_dh_action 'cachectl\.service'/s,
     'jpulse-cachectl postinst: restarts cachectl.service on upgrade');
like($c->{prerm}, qr/deb-systemd-invoke stop 'cachectl\.service'/,
     'jpulse-cachectl prerm: stops cachectl.service on remove');
unlike($c->{preinst}, qr/deb-systemd-invoke stop/,
       'jpulse-cachectl preinst: does not stop it for good on upgrade');
# R17 M1: the module's postinst upgrades a running nginx, as nginx's does
like($Ctl{'libnginx-mod-http-jpulse'}{postinst},
     qr/"\$1" = "configure" \] && \[ -n "\$2" \].*invoke-rc\.d --quiet nginx status.*invoke-rc\.d nginx upgrade \|\| invoke-rc\.d nginx restart/s,
     'libnginx-mod-http-jpulse postinst: on upgrade, a running nginx: upgrade || restart');

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
    my @l = grep { /^(?:NoNewPrivileges|Protect\w+|Private\w+|Restrict\w+|Limit\w+|Restart\w*|Type|State\w+|StartLimit\w+|Capability\w+|SystemCall\w+|Lock\w+|UMask)=/ }
            split /\n/, $text;
    return join "\n", sort @l;
}
is(hardening($unit), hardening(slurp('contrib/cachectl.service') // ''),
   "the unit's [Service] hardening is contrib/cachectl.service's");
# R17 L1: systemd chmods the StateDirectory at every start (0755 unless told)
like($unit, qr/^StateDirectoryMode=0750$/m, 'the unit keeps the state directory 0750');
# R17 L2: getifaddrs() (the heartbeat's ip) needs a NETLINK_ROUTE socket
like($unit, qr/^RestrictAddressFamilies=.*\bAF_NETLINK\b/m,
     'the unit allows AF_NETLINK (else every host reports ip 127.0.0.1)');
# R17 L7: a bad config does not restart every 2 s for ever
like($unit, qr/^StartLimitIntervalSec=60$/m, 'the unit has a start limit');
# every key is one this systemd knows (verify works without systemd running)
my $verify = `systemd-analyze verify --man=no $Unit 2>&1`;
is($verify, '', 'systemd-analyze verify: the unit parses, no unknown key');

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

# --- upgrades -----------------------------------------------------------------

# the same packages as version $version+SUFFIX
sub repack {
    my ($suffix) = @_;
    my %up;
    for my $p (@Pkgs) {
        my $dir = "$Tmp/repack-$suffix-$p";
        system('dpkg-deb', '-R', $Deb{$p}, $dir) == 0 or die "dpkg-deb -R $p";
        my $ctl = slurp("$dir/DEBIAN/control");
        $ctl =~ s/^Version: .*$/Version: $version+$suffix/m or die 'no Version';
        spew("$dir/DEBIAN/control", $ctl);
        $up{$p} = "$Tmp/${p}_$version+$suffix.deb";
        system("dpkg-deb -b $dir $up{$p} >/dev/null") == 0 or die "dpkg-deb -b $p";
    }
    return %up;
}

# cachectl stopped as docs/packages.md stops it: by pidfile, but only a
# process named cachectl running as _cachectl (a stale pidfile's reused pid
# is left alone; --exec would not match the binary an upgrade replaced)
is(system('start-stop-daemon', '--stop', '--quiet', '--retry', 'TERM/10',
          '--pidfile', $CtlPidFile, '--remove-pidfile',
          '--name', 'cachectl', '--user', $User),
   0, 'start-stop-daemon stops cachectl (SIGTERM)');
$CtlPid = undef;
# SIGTERM: the batch finished, the lease given up, the heartbeat removed
$status = `/usr/bin/cachectl -c $Conf status 2>&1`;
is($? >> 8, 1, 'cachectl status after the stop: no daemon runs')
    or diag($status);

# The first upgrade, under the running nginx (R17 M1). The module's
# postinst and nginx's trigger call invoke-rc.d; this one, first in PATH,
# logs the call and does to this suite's nginx what /etc/init.d/nginx does
# to the system's (the same start-stop-daemon lines, this pidfile), so the
# system's nginx is left alone. Then every process of this nginx must map
# the .so now installed, none the deleted one.
my $IrcLog = "$Tmp/invoke-rc.d.log";
mkdir "$Tmp/irc";
spew("$Tmp/irc/invoke-rc.d", <<"SH");
#!/bin/sh
# t/900-deb.t's invoke-rc.d: only nginx, and that is the suite's
echo "\$*" >> $IrcLog
[ "\$1" = --quiet ] && shift
[ "\$1" = nginx ] || exit 101
PID=$NginxPidFile
case "\$2" in
status)  start-stop-daemon --status --pidfile \$PID --name nginx ;;
reload)  start-stop-daemon --stop --signal HUP --quiet --pidfile \$PID --name nginx ;;
upgrade) # /etc/init.d/nginx's upgrade_nginx
    start-stop-daemon --stop --signal USR2 --quiet --pidfile \$PID --name nginx || exit 1
    cnt=0
    while [ ! -s "\$PID.oldbin" ] || [ ! -s "\$PID" ]; do
        cnt=\$((cnt + 1)); [ \$cnt -gt 100 ] && exit 2; sleep 0.1
    done
    start-stop-daemon --stop --signal QUIT --quiet --pidfile "\$PID.oldbin" --name nginx || exit 3 ;;
restart)
    /usr/sbin/nginx -t -q -c $conf || exit 1
    start-stop-daemon --stop --quiet --retry=QUIT/5/TERM/5 --pidfile \$PID --name nginx
    start-stop-daemon --start --quiet --pidfile \$PID --exec /usr/sbin/nginx -- -c $conf ;;
*)       exit 101 ;;
esac
SH
chmod 0755, "$Tmp/irc/invoke-rc.d";

# the nginx processes of the suite's master: pid => its maps
sub nginx_maps {
    my $m = (slurp($NginxPidFile) // '') =~ /^(\d+)/ ? $1 : return ();
    my %maps;
    for my $d (glob '/proc/[0-9]*') {
        my ($pid) = $d =~ /(\d+)$/;
        my $stat = slurp("$d/stat") // next;
        my ($ppid) = $stat =~ /\) \S+ (\d+)/;
        next unless $pid == $m || ($ppid // 0) == $m;
        $maps{$pid} = join '', grep { /jpulse/ } split /^/, slurp("$d/maps") // '';
    }
    return %maps;
}
my %m0 = nginx_maps();
ok(%m0 && !grep({ $_ !~ /\Q$So\E$/m } values %m0),
   'before the upgrade: every nginx process maps the module') or diag(explain \%m0);

my %Up = repack('t900');
my $edited = slurp($Conf);
{
    local $ENV{PATH} = "$Tmp/irc:$ENV{PATH}";
    ($rc, $out) = dpkg('-i', map { $Up{$_} } @Pkgs);
}
is($rc, 0, "dpkg -i upgrades both to $version+t900 under the running nginx") or diag($out);
is(`dpkg-query -W -f='\${Version}' $_`, "$version+t900", "$_ upgraded")
    for @Pkgs;
my $irc = slurp($IrcLog) // '';
like($irc, qr/^nginx upgrade$/m, 'the module\'s postinst upgraded the running nginx')
    or diag($irc);
my $ino = (stat $So)[1];
my %m1;
ok(poll_until(15, sub {
       %m1 = nginx_maps();
       return 0 if !%m1 || -e "$NginxPidFile.oldbin";
       return !grep { !/ \Q$ino\E\s+\Q$So\E$/m || /\(deleted\)/ } values %m1;
   }, 0.1),
   "after the upgrade: nginx's master and workers map the new .so (inode $ino), "
   . 'none the deleted one')
    or diag($irc, explain \%m1);
ok(poll_until(10, sub {
       ($st, $h, $body) = http_get($port, '/home/');
       return $st == 200 && $body =~ m{<h1>Tide tables</h1>};
   }, 0.1),
   'after the upgrade: the new module serves the page')
    or diag("$st $body", slurp("$Tmp/error.log") // '');
is(slurp($Conf), $edited, "upgrade: the admin's conffile stays");
is((getpwnam($User))[2], $pw[2], "upgrade: $User keeps its uid");

stop_nginx();
ok(poll_until(10, sub { !-e $NginxPidFile }, 0.1), 'nginx stopped');

# a second upgrade after the admin removed the link: it stays removed
unlink $Link or die "unlink $Link: $!";
%Up = repack('t901');
($rc, $out) = dpkg('-i', map { $Up{$_} } @Pkgs);
is($rc, 0, "dpkg -i upgrades both to $version+t901") or diag($out);
ok(!-l $Link && !-l "$Link.removed",
   'upgrade: the link the admin removed stays removed');
is(slurp($Conf), $edited, "upgrade: the admin's conffile stays again");
# the admin enables the module again
symlink $Avail, $Link or die "symlink: $!";

# --- remove, purge -------------------------------------------------------------


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
