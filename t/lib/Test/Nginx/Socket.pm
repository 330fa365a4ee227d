package Test::Nginx::Socket;

# The ngx_jpulse project's own runner for the Test::Nginx data-driven test
# format (the "=== TEST n" / "--- section" files that upstream
# Test::Nginx::Socket reads). Upstream cannot be installed here, so this is
# an independent implementation of the same format on top of Test::Base:
# a .t file says `use Test::Nginx::Socket;` and runs unchanged under either.
#
# For every block we write servroot/conf/nginx.conf, (re)start nginx (or
# reload it with SIGHUP), send the requests over plain keep-alive sockets,
# parse the responses ourselves by their framing (Content-Length, chunked,
# read-until-close), fail on any response nobody asked for, and check them
# and the part of logs/error.log that this block produced.
#
# See t/README.md for the sections, functions and environment variables.

use strict;
use warnings;

use base 'Test::Base';

use Digest::MD5 ();
use Digest::SHA ();
use File::Path ();
use File::Spec ();
use IO::Select ();
use IO::Socket::INET ();
use POSIX ();
use Test::Builder ();
use Time::HiRes ();

our $VERSION = '0.01';

our @EXPORT = qw(
    run_tests repeat_each no_shuffle workers master_on master_off
    master_process_enabled log_level worker_connections env_to_nginx
    no_long_string no_diff add_block_preprocessor no_root_location
    server_port server_root server_addr html_dir bail_out
    $ServerPort $ServerRoot $ServerAddr
);

# ---------------------------------------------------------------------------
# Settings. Computed at load time so a .t file can use $ServerPort & co.
# before run_tests().

our $ServerAddr = '127.0.0.1';
our $ServerPort = $ENV{TEST_NGINX_PORT} || $ENV{TEST_NGINX_SERVER_PORT} || 1984;
our $ServerRoot = File::Spec->rel2abs(
    $ENV{TEST_NGINX_SERVROOT} || File::Spec->catdir('t', 'servroot'));
$ServerRoot =~ s{(?<=.)/+\z}{};

our $HtmlDir    = "$ServerRoot/html";
our $LogDir     = "$ServerRoot/logs";
our $ConfFile   = "$ServerRoot/conf/nginx.conf";
our $ErrLogFile = "$LogDir/error.log";
our $PidFile    = "$LogDir/nginx.pid";
our $StderrFile = "$LogDir/nginx-stderr.log";
our $ValgrindLogFile = "$LogDir/valgrind.log";

# Let configs and requests say $TEST_NGINX_SERVER_PORT etc.
$ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
$ENV{TEST_NGINX_HTML_DIR}    = $HtmlDir;
$ENV{TEST_NGINX_SERVROOT}    = $ServerRoot;

our $RepeatEach           = 1;
our $Workers              = 1;
our $MasterProcessEnabled = 0;
our $LogLevel             = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
our $WorkerConnections    = 64;
our @EnvToNginx;
our $NoLongString = 0;
our $NoDiff       = 0;
our @BlockPreprocessors;

my $TB = Test::Builder->new;

my $UseValgrind = $ENV{TEST_NGINX_USE_VALGRIND} ? 1 : 0;

# Polling step while waiting for nginx, and the pause that lets nginx finish
# writing error.log lines for a request before no_error_log is checked.
my $Sleep = defined $ENV{TEST_NGINX_SLEEP} ? $ENV{TEST_NGINX_SLEEP} : 0.02;

# Valgrind makes nginx start, serve and exit many times slower.
my $StartTimeout = $UseValgrind ? 60 : 10;
my $NginxLogStart = 0;      # error.log offset where the running nginx began
my $StopTimeout  = $UseValgrind ? 60 : 10;

# How long to keep re-reading error.log for "--- error_log" patterns that
# have not shown up yet (lines logged after the response was sent).
my $LogGrace = $UseValgrind ? 5 : 1;

my $LogTailLines = 30;

# The nginx we started: pid, and whether it is our child (valgrind runs it
# in the foreground, so we must reap it) or a daemon.
my %Nginx;
my $MainPid = $$;
my %RandPorts;       # $TEST_NGINX_RAND_PORT_N values of the current block
my $NginxVersion;

# ---------------------------------------------------------------------------
# Public functions (the upstream API that our .t files use).

sub repeat_each            { $RepeatEach = shift if @_; return $RepeatEach }
sub workers                { $Workers = shift if @_; return $Workers }
sub worker_connections     { $WorkerConnections = shift if @_; return $WorkerConnections }
sub log_level              { $LogLevel = shift if @_; return $LogLevel }
sub master_on              { $MasterProcessEnabled = 1 }
sub master_off             { $MasterProcessEnabled = 0 }
sub no_long_string         { $NoLongString = 1 }
sub no_diff                { $NoDiff = 1 }
sub server_port            { return $ServerPort }
sub server_root            { return $ServerRoot }
sub server_addr            { return $ServerAddr }
sub html_dir               { return $HtmlDir }
sub env_to_nginx           { push @EnvToNginx, @_ }
sub bail_out               { $TB->BAIL_OUT(@_) }

sub master_process_enabled {
    $MasterProcessEnabled = $_[0] ? 1 : 0 if @_;
    return $MasterProcessEnabled;
}

# Blocks always run in file order; kept so upstream-style .t files compile.
sub no_shuffle { }

# nginx already serves servroot/html by default (its root is "html" relative
# to the -p prefix), so there is no extra "location /" to switch off.
sub no_root_location { }

sub add_block_preprocessor {
    my ($code) = @_;
    die "add_block_preprocessor() needs a code reference\n"
        unless ref $code eq 'CODE';
    push @BlockPreprocessors, $code;
}

sub run_tests {
    # A .t file may skip plan(); then we count as we go.
    $TB->plan('no_plan') unless $TB->has_plan;

    # Make Ctrl-C, kill and a reader of our output going away (prove -v |
    # head) go through END, which stops nginx.
    local $SIG{INT}  = sub { exit 130 };
    local $SIG{TERM} = sub { exit 143 };
    local $SIG{PIPE} = sub { exit 141 };

    _stop_stale_nginx();
    _prepare_servroot();

    for my $block (Test::Base::blocks()) {
        _run_block($block);
    }

    if ($ENV{TEST_NGINX_NO_CLEAN}) {
        $TB->note("TEST_NGINX_NO_CLEAN: leaving nginx (pid $Nginx{pid}) running")
            if $Nginx{pid};
        %Nginx = ();
    }
    else {
        _stop_nginx();
    }
}

END {
    # A die() in the middle of a file must not leave nginx running.
    if ($$ == $MainPid && $Nginx{pid} && !$ENV{TEST_NGINX_NO_CLEAN}) {
        local $?;
        _stop_nginx();
    }
}

# ---------------------------------------------------------------------------
# Running one block.

sub _run_block {
    my ($block) = @_;

    $_->($block) for @BlockPreprocessors;
    %RandPorts = ();
    _expand_env_in_block($block);

    my $name = $block->name;
    my %state = (startup_log => '');    # shared by the rounds of the block
    for my $round (1 .. $RepeatEach) {
        my $label = $round == 1 ? $name : "$name (repeat $round)";

        if (my $skip = _skip_spec($block)) {
            $TB->skip("$label - $skip->{reason}") for 1 .. $skip->{count};
            next;
        }

        my $failed_before = _failed_count();
        my $log_pos = _run_round($block, $label, $round, \%state);
        _diag_log_tail($label, $log_pos, $state{startup_stderr})
            if _failed_count() > $failed_before;
    }

    # Leaks are only reported when nginx exits, so stop it now to blame the
    # right block. A single-process nginx exits on SIGQUIT without closing
    # its connections, whose memory would then show up as lost: let them
    # finish first.
    if ($UseValgrind) {
        _wait_until_idle($Nginx{pid}, 3) if $Nginx{pid};
        _check_valgrind($block->name, _stop_nginx());
    }
}

# Runs one round (one of the repeat_each() runs) of a block. Returns the
# error.log offset where what the round logged starts.
#
# The log that the round's checks see is the startup output of the nginx
# that serves the block (its stderr, where an nginx built with
# --error-log-path=stderr reports config-time warnings, and the error.log
# lines written while it started or reloaded) followed by what nginx logged
# during the round.
sub _run_round {
    my ($block, $label, $round, $state) = @_;

    # Later rounds reuse the nginx of the first one, unless it went away or
    # did not take this block's config. must_die blocks try every time.
    # With TEST_NGINX_FORCE_RESTART_ON_TEST=0, a block whose config is the
    # one nginx already runs keeps that nginx too (state it built up, such
    # as connections to a backend, carries over to the block).
    my $fresh = $round == 1 || !_nginx_running() || $state->{start_failed}
             || defined $block->must_die;
    $fresh = 0 if $fresh && $round == 1 && _can_keep_nginx($block);

    # Stop before remembering the log position, so the old nginx's shutdown
    # lines do not count as this block's.
    _stop_nginx() if $fresh && !_use_hup();

    my $start_pos = _log_size();
    my $failure;
    if ($fresh) {
        ($failure, my $stderr) = _bring_up_nginx($block);
        $state->{start_failed} = $failure ? 1 : 0;
        $state->{startup_stderr} = $stderr;
        $state->{startup_log} = $stderr . _read_log_since($start_pos);
    }
    $state->{nginx_log_start} = $start_pos if $fresh;
    $state->{nginx_log_start} //= $NginxLogStart;
    $NginxLogStart = $state->{nginx_log_start};

    my $log_pos = _log_size();
    my $startup_log = $state->{startup_log};

    if (defined $block->must_die) {
        _check_must_die($block, $label, $log_pos, $startup_log, $failure);
        return $start_pos;
    }

    if ($failure) {
        _fail_not_started($block, $label, $failure);
        return $start_pos;
    }

    _wait_for_log($block, $label, $state) if defined $block->wait_for_log;
    _pre_request($block, $label) if defined $block->pre_request;

    my @responses = _send_requests($block);

    if (defined $block->wait) {
        Time::HiRes::sleep(_duration($block->wait, "$label: --- wait"));
    }

    _check_responses($block, $label, \@responses)
        unless defined $block->ignore_response;
    _check_error_log($block, $label, $log_pos, $startup_log);
    _warn_about_crashes($label, $log_pos);
    return $fresh ? $start_pos : $log_pos;
}

# The nginx of the previous block may serve this one as it is.
sub _can_keep_nginx {
    my ($block) = @_;

    my $force = $ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} // 1;

    return 0 if $force || !_nginx_running() || defined $block->must_die;
    return 0 if $UseValgrind;

    # the first line names the block: compare the rest
    my ($running, $wanted) = map { s/\A# Generated [^\n]*\n//r }
                             _slurp($ConfFile), _nginx_conf($block);
    return $running eq $wanted;
}

# "--- wait_for_log": one pattern per line (or an eval'd array of strings
# and qr//). Before sending requests, wait until every pattern has appeared
# in what the running nginx logged since it started, for instance until a
# backend connection the module opens at start-up is ready. Project
# extension: upstream Test::Nginx ignores the section.
sub _wait_for_log {
    my ($block, $label, $state) = @_;

    my @patterns = _patterns($block->wait_for_log);
    my $timeout = $ENV{TEST_NGINX_WAIT_FOR_LOG_TIMEOUT} || 5;
    my $deadline = Time::HiRes::time() + $timeout;

    while (1) {
        my $log = ($state->{startup_stderr} // '')
                . _read_log_since($state->{nginx_log_start});
        my @missing = grep { !_log_has($log, $_) } @patterns;
        return unless @missing;

        if (Time::HiRes::time() >= $deadline) {
            $TB->diag("$label: --- wait_for_log: after ${timeout}s the log "
                      . "still lacks: " . join(', ', map {"'$_'"} @missing));
            return;
        }
        Time::HiRes::sleep($Sleep);
    }
}

sub _patterns {
    my ($spec) = @_;
    return @$spec if ref $spec eq 'ARRAY';
    return grep { length } split /\n/, $spec;
}

sub _log_has {
    my ($log, $pattern) = @_;
    return ref $pattern eq 'Regexp' ? $log =~ $pattern
                                    : index($log, $pattern) >= 0;
}

# "--- pre_request": Perl code run after nginx is up (and after
# wait_for_log), right before the requests: to stop or start a backend, to
# sleep, and so on. It runs in package main; a die fails loudly. Project
# extension, like wait_for_log.
sub _pre_request {
    my ($block, $label) = @_;

    my $code = $block->pre_request;
    my $ok = eval "package main; no strict; $code; 1";
    $TB->diag("$label: --- pre_request died: $@") unless $ok;
}

sub _check_must_die {
    my ($block, $label, $log_pos, $startup_log, $failure) = @_;

    my $name = "$label - nginx failed to start as expected";
    if ($failure) {
        $TB->ok(1, $name);
    }
    else {
        $TB->ok(0, $name);
        $TB->diag("$label: nginx started although the block says --- must_die");
        _stop_nginx();
    }

    # The reason nginx died is in its startup output.
    _check_error_log($block, $label, $log_pos, $startup_log);
}

# Fails the round once, with everything we know about why nginx did not
# come up, and skips the round's other tests so the plan still adds up.
sub _fail_not_started {
    my ($block, $label, $failure) = @_;

    $TB->ok(0, "$label - nginx failed to start");
    $TB->diag("$label: $failure->{reason}");
    $TB->diag("nginx stderr:\n" . _indent($failure->{stderr}))
        if length $failure->{stderr};

    my $count = _tests_per_round($block);
    $TB->skip("$label - nginx failed to start") for 2 .. $count;
}

sub _skip_spec {
    my ($block) = @_;

    if (defined(my $spec = $block->skip_nginx)) {
        my ($count, $op, $version) =
            $spec =~ /^\s*(\d+)\s*:\s*(<=|>=|==|!=|<|>)\s*v?([\d.]+)\s*$/
            or die $block->name . ": bad --- skip_nginx '$spec'"
                 . " (want 'N: OP VERSION', e.g. '3: < 1.21.0')\n";
        my $have = _nginx_version();
        return undef unless _version_test($have, $op, $version);
        return { count  => $count,
                 reason => "tests skipped due to nginx version $have $op $version" };
    }

    if (defined(my $spec = $block->skip_eval)) {
        my ($count, $code) = $spec =~ /^\s*(\d+)\s*:\s*(.*?)\s*$/s
            or die $block->name . ": bad --- skip_eval '$spec' (want 'N: perl code')\n";
        my $yes = eval "package main; $code";
        die $block->name . ": --- skip_eval failed: $@" if $@;
        return $yes ? { count => $count, reason => "tests skipped by skip_eval" }
                    : undef;
    }

    return undef;
}

# The number of tests one round of a block emits; must agree with the
# _check_* functions, which use the same helpers to decide what to check.
sub _tests_per_round {
    my ($block) = @_;

    my $count = _log_pattern_count($block);
    return 1 + $count if defined $block->must_die;
    return $count if defined $block->ignore_response;

    my $n = @{ _requests($block) };
    for my $i (0 .. $n - 1) {
        $count += 1 + _header_specs($block, $i) + _body_specs($block, $i);
    }
    return $count;
}

sub _failed_count {
    return scalar grep { !$_ } $TB->summary;
}

# ---------------------------------------------------------------------------
# $TEST_NGINX_* expansion.

my @ExpandedSections = qw(
    main_config http_config config request raw_request pipelined_requests
    more_headers response_body response_headers error_log no_error_log
    user_files
);

sub _expand_env_in_block {
    my ($block) = @_;

    for my $section (@ExpandedSections) {
        my $value = $block->$section;
        next unless defined $value;
        $block->set_value($section,
                          _expand_env_value($value, $block->name, $section));
    }
}

sub _expand_env_value {
    my ($value, $name, $section) = @_;

    if (ref $value eq 'ARRAY') {
        return [ map { _expand_env_value($_, $name, $section) } @$value ];
    }
    return $value if ref $value || !defined $value;

    $value =~ s{\$(TEST_NGINX_[A-Za-z0-9_]+)}{_env_var($1, $name, $section)}ge;
    return $value;
}

sub _env_var {
    my ($var, $name, $section) = @_;

    if ($var =~ /^TEST_NGINX_RAND_PORT_\d+$/) {
        return $RandPorts{$var} //= _free_port();
    }
    return $ENV{$var} if defined $ENV{$var};

    die "$name: \$$var is used in --- $section but the environment variable"
      . " $var is not set\n";
}

sub _free_port {
    for (1 .. 10) {
        my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                         LocalPort => 0, Proto => 'tcp',
                                         Listen => 1)
            or die "cannot find a free port: $!\n";
        my $port = $sock->sockport;
        close $sock;
        return $port unless $port == $ServerPort
                         || grep { defined && $_ == $port } values %RandPorts;
    }
    die "cannot find a free port\n";
}

# ---------------------------------------------------------------------------
# servroot and nginx.conf.

my @TempDirs = qw(client_body_temp proxy_temp fastcgi_temp uwsgi_temp scgi_temp);

sub _prepare_servroot {
    # Only remove what we create ourselves, in case TEST_NGINX_SERVROOT
    # points somewhere that holds other things.
    for my $dir ('conf', 'logs', 'html', @TempDirs) {
        File::Path::rmtree("$ServerRoot/$dir");
    }
    _make_dirs($ServerRoot, map { "$ServerRoot/$_" } 'conf', 'logs', 'html', @TempDirs);
    _warn_if_unreachable($HtmlDir);
}

# Workers run as "nobody" when we are root: they must be able to reach
# html/ and the temp dirs, whatever our umask.
sub _make_dirs {
    my @created = File::Path::make_path(@_);
    chmod 0755, @created, @_;
}

sub _warn_if_unreachable {
    my ($dir) = @_;
    return unless $> == 0;

    my $path = '';
    for my $part (grep { length } split m{/}, $dir) {
        $path .= "/$part";
        my $mode = (stat $path)[2] // return;
        next if $mode & 01;
        $TB->diag(sprintf "warning: %s (mode %04o) is not searchable by"
                  . " others; nginx workers (user nobody) cannot read files"
                  . " under %s", $path, $mode & 07777, $dir);
        return;
    }
}

sub _nginx_conf {
    my ($block) = @_;

    my $master = _master_enabled() ? 'on' : 'off';
    my $daemon = $UseValgrind ? 'off' : 'on';
    my $level  = _trimmed(scalar $block->log_level) // $LogLevel;

    my $main = _conf_part(map({ "load_module $_;" } _load_modules()),
        "worker_processes $Workers;",
        "daemon $daemon;",
        "master_process $master;",
        "error_log logs/error.log $level;",
        'pid logs/nginx.pid;',
        map({ "env $_;" } @EnvToNginx),
        scalar $block->main_config);

    my $http = _conf_part(
        '    access_log logs/access.log;',
        '    default_type text/plain;',
        '    keepalive_timeout 68;',
        map({ "    ${_}_path $ServerRoot/$_;" } @TempDirs),
        scalar $block->http_config);

    my $config = $block->config // '';

    return <<"CONF";
# Generated by Test::Nginx::Socket for: ${\ $block->name }
$main
events {
    accept_mutex off;
    worker_connections $WorkerConnections;
}

http {
$http
    server {
        listen $ServerAddr:$ServerPort;
        server_name localhost;
        client_max_body_size 30M;

$config
    }
}
CONF
}

# Joins directives and user snippets, one per line, leaving out empty ones.
sub _conf_part {
    my $text = join '', map { /\n\z/ ? $_ : "$_\n" } grep { defined && /\S/ } @_;
    return $text;
}

sub _load_modules {
    my $list = $ENV{TEST_NGINX_LOAD_MODULES} // '';
    # nginx would resolve relative paths against servroot: anchor them here.
    return map { File::Spec->rel2abs($_) } grep { length } split /\s+/, $list;
}

sub _master_enabled {
    return 0 if $UseValgrind;
    return $MasterProcessEnabled || _use_hup();
}

sub _use_hup {
    return $ENV{TEST_NGINX_USE_HUP} && !$UseValgrind;
}

# "--- user_files": ">>> path" lines start files written under html/.
sub _write_user_files {
    my ($block) = @_;

    my $spec = $block->user_files;
    return unless defined $spec;

    my @files;
    if (ref $spec eq 'ARRAY') {
        for my $pair (@$spec) {
            die "user_files: want [name, content] pairs\n" unless ref $pair eq 'ARRAY';
            push @files, [@$pair[0, 1]];
        }
    }
    else {
        for my $chunk (split /^>>>[ \t]*/m, $spec) {
            next unless length $chunk;
            my ($file, $content) = split /\n/, $chunk, 2;
            push @files, [$file, $content // ''];
        }
    }

    for my $f (@files) {
        my ($file, $content) = @$f;
        $file =~ s/^\s+|\s+$//g;
        my $path = "$HtmlDir/$file";
        (my $dir = $path) =~ s{/[^/]*\z}{};
        _make_dirs($dir);
        _write_file($path, $content);
    }
}

# ---------------------------------------------------------------------------
# Starting, reloading and stopping nginx.

# Returns (undef, stderr) when nginx serves this block's config, or
# ({ reason, stderr }, stderr) saying why it does not.
sub _bring_up_nginx {
    my ($block) = @_;

    _write_file($ConfFile, _nginx_conf($block));
    _write_user_files($block);

    if (_use_hup() && _nginx_running()) {
        return (_reload_nginx(), '');    # a reload reports to error.log
    }
    my $failure = _spawn_nginx();
    return ($failure, $failure ? $failure->{stderr} : _slurp($StderrFile));
}

sub _nginx_binary {
    return $ENV{TEST_NGINX_BINARY} if $ENV{TEST_NGINX_BINARY};
    for my $dir (File::Spec->path) {
        return "$dir/nginx" if -x "$dir/nginx" && !-d _;
    }
    return '/usr/sbin/nginx';
}

sub _spawn_nginx {
    if (my $user = _port_in_use()) {
        return { reason => "port $ServerAddr:$ServerPort is already in use"
                         . " ($user); set TEST_NGINX_PORT to another port",
                 stderr => '' };
    }

    unlink $PidFile;
    my @cmd = (_nginx_binary(), '-p', "$ServerRoot/", '-c', 'conf/nginx.conf');
    unshift @cmd, _valgrind_command() if $UseValgrind;

    my $pid = _fork_exec(\@cmd, $StderrFile);
    my $deadline = Time::HiRes::time() + $StartTimeout;
    my $exited;

    # Daemon mode: the process we forked exits once nginx has bound its
    # sockets, and the daemon writes the pid file right after. Valgrind
    # mode: nginx stays in the foreground and writes the pid file once it
    # is ready to accept connections. We never probe the port with a
    # connection, as that would show up in error.log and in connection
    # counters that tests look at.
    while (1) {
        if (!$exited && waitpid($pid, POSIX::WNOHANG()) == $pid) {
            $exited = 1;
            return _start_failure("nginx exited with " . _exit_text($?))
                if $? != 0 || $UseValgrind;
        }

        my $running = _read_pid_file();
        if ($running && !_process_alive($running) && ($exited || $running != $pid)) {
            # Up long enough to write its pid file, then gone: typically a
            # module's init_process handler failed. error.log says why.
            return _start_failure("nginx (pid $running) exited right after"
                                  . " starting");
        }
        if ($running && _process_alive($running)) {
            # Only a foreground nginx is our child; reap a daemon's parent,
            # which exits right after forking the daemon.
            my $child = $running == $pid;
            waitpid($pid, 0) unless $child || $exited;
            %Nginx = (pid => $running, child => $child);
            return undef if !_master_enabled() || _wait_for_workers($running, {});
            return _start_failure("fewer than $Workers nginx workers came up"
                                  . " within ${StartTimeout}s");
        }

        if (Time::HiRes::time() > $deadline) {
            kill 'KILL', $pid unless $exited;
            return _start_failure("nginx did not write $PidFile within"
                                  . " ${StartTimeout}s");
        }
        Time::HiRes::sleep($Sleep);
    }
}

sub _start_failure {
    my ($reason) = @_;
    return { reason => $reason, stderr => _slurp($StderrFile) };
}

sub _valgrind_command {
    my @cmd = ('valgrind', '--tool=memcheck', '--leak-check=full',
               '--num-callers=30', '--gen-suppressions=all',
               "--log-file=$ValgrindLogFile");
    my $supp = _valgrind_suppressions();
    push @cmd, "--suppressions=$supp" if $supp;
    return @cmd;
}

sub _valgrind_suppressions {
    # t/lib/Test/Nginx/Socket.pm -> t/valgrind.suppress, whatever the cwd.
    my $here = File::Spec->rel2abs(__FILE__);
    (my $t_dir = $here) =~ s{/lib/Test/Nginx/Socket\.pm\z}{};
    for my $file ("$t_dir/valgrind.suppress", 't/valgrind.suppress',
                  'valgrind.suppress') {
        return File::Spec->rel2abs($file) if -f $file;
    }
    return undef;
}

# With TEST_NGINX_USE_HUP: SIGHUP the running master and wait until the
# new workers have replaced the old ones, so requests see the new config.
sub _reload_nginx {
    my $master = $Nginx{pid};
    my $log_pos = _log_size();
    my %old = map { $_ => 1 } _children_of($master);

    kill 'HUP', $master
        or return { reason => "cannot send SIGHUP to nginx $master: $!",
                    stderr => '' };

    my $deadline = Time::HiRes::time() + $StartTimeout;
    while (Time::HiRes::time() < $deadline) {
        Time::HiRes::sleep($Sleep);

        # A bad config makes the master log [emerg] and keep the old workers.
        my $new_log = _read_log_since($log_pos);
        if ($new_log =~ /\[emerg\]/) {
            return { reason => "nginx rejected the new configuration on SIGHUP",
                     stderr => join '', grep { /\[emerg\]/ } split /^/, $new_log };
        }
        return { reason => "nginx master $master died during the reload",
                 stderr => '' } unless _process_alive($master);

        my @kids = _children_of($master);
        next if grep { $old{$_} } @kids;    # old workers finishing up
        return undef if _wait_for_workers($master, \%old, 0);
    }

    return { reason => "fewer than $Workers new nginx workers came up within"
                     . " ${StartTimeout}s of SIGHUP", stderr => '' }
        unless _wait_for_workers($master, \%old, 0);

    # New workers serve; old ones still finishing requests do no harm.
    $TB->diag("warning: old nginx workers still running ${StartTimeout}s after SIGHUP");
    return undef;
}

# Stops the nginx we run: SIGQUIT, then SIGKILL if it takes too long.
# Returns the valgrind log of that nginx, if any.
sub _stop_nginx {
    my $pid = $Nginx{pid} or return undef;
    my $child = $Nginx{child};
    %Nginx = ();

    my @workers = _children_of($pid);
    kill 'QUIT', $pid;
    unless (_wait_for_exit($pid, $child, $StopTimeout)) {
        $TB->diag("nginx (pid $pid) did not exit ${StopTimeout}s after"
                  . " SIGQUIT; sending SIGKILL");
        kill 'KILL', $pid, @workers;
        _wait_for_exit($pid, $child, 5);
    }

    # Workers of a killed master would keep the listening socket open.
    for my $w (@workers) {
        next if _wait_for_exit($w, 0, 2);
        kill 'KILL', $w;
    }

    return $UseValgrind ? $ValgrindLogFile : undef;
}

# An nginx left running by an earlier run (TEST_NGINX_NO_CLEAN, or a killed
# test) would hold the port.
sub _stop_stale_nginx {
    my $pid = _read_pid_file() or return;
    return unless _process_alive($pid) && _looks_like_nginx($pid);
    %Nginx = (pid => $pid, child => 0);
    _stop_nginx();
}

sub _nginx_running {
    return $Nginx{pid} && _process_alive($Nginx{pid});
}

sub _read_pid_file {
    my $text = _slurp($PidFile);
    return $text =~ /^\s*(\d+)\s*$/ ? $1 : undef;
}

sub _wait_for_exit {
    my ($pid, $is_child, $timeout) = @_;

    my $deadline = Time::HiRes::time() + $timeout;
    while (1) {
        if ($is_child) {
            return 1 if waitpid($pid, POSIX::WNOHANG()) != 0;
        }
        else {
            return 1 unless _process_alive($pid);
        }
        return 0 if Time::HiRes::time() > $deadline;
        Time::HiRes::sleep($Sleep);
    }
}

sub _process_alive {
    my ($pid) = @_;
    return 0 unless $pid && kill 0, $pid;

    # A zombie still answers kill 0 (nobody may reap a daemon in a container).
    my $stat = _slurp("/proc/$pid/stat");
    return $stat =~ /.*\) Z /s ? 0 : 1;
}

# With a master, the pid file is written before the workers exist. Wait
# until $Workers of them (not in %$ignore) sit in their event loop, which
# means every module's init_process has run, so that the first request does
# not find half of the workers still starting. $timeout defaults to the
# start timeout.
sub _wait_for_workers {
    my ($master, $ignore, $timeout) = @_;

    my $deadline = Time::HiRes::time() + ($timeout // $StartTimeout);
    while (1) {
        my @ready = grep { !$ignore->{$_} && _in_event_loop($_) }
                    _children_of($master);
        return 1 if @ready >= $Workers;
        return 0 if Time::HiRes::time() >= $deadline || !_process_alive($master);
        Time::HiRes::sleep($Sleep);
    }
}

sub _in_event_loop {
    my ($pid) = @_;

    my ($state) = _slurp("/proc/$pid/stat") =~ /.*\) (\S) /s or return 0;
    return 0 unless $state eq 'S';    # still running its init
    my $wchan = _slurp("/proc/$pid/wchan");

    # A kernel without wchan support says "0" even for a sleeping process:
    # then asleep is the best we can tell.
    return 1 if $wchan eq '' || $wchan eq '0';
    return $wchan =~ /epoll/;
}

# Waits until process $pid has no TCP sockets open other than listening
# ones, or $timeout seconds have passed.
sub _wait_until_idle {
    my ($pid, $timeout) = @_;

    my $deadline = Time::HiRes::time() + $timeout;
    while (Time::HiRes::time() < $deadline) {
        my %mine;
        for my $fd (glob "/proc/$pid/fd/*") {
            my $target = readlink($fd) // next;
            $mine{$1} = 1 if $target =~ /^socket:\[(\d+)\]$/;
        }
        return 1 unless grep { $mine{$_} } _busy_tcp_inodes();
        Time::HiRes::sleep($Sleep);
    }
    return 0;
}

# Inodes of TCP sockets that are not listening (state 0A in /proc/net/tcp).
sub _busy_tcp_inodes {
    my @inodes;
    for my $table ('/proc/net/tcp', '/proc/net/tcp6') {
        for my $line (split /\n/, _slurp($table)) {
            my @f = split ' ', $line;
            next unless @f > 9 && $f[3] =~ /^[0-9A-F]{2}$/;
            push @inodes, $f[9] if $f[3] ne '0A';
        }
    }
    return @inodes;
}

sub _looks_like_nginx {
    my ($pid) = @_;
    return _slurp("/proc/$pid/cmdline") =~ /nginx|valgrind|memcheck/;
}

sub _children_of {
    my ($ppid) = @_;

    my @kids;
    opendir my $dh, '/proc' or return;
    for my $pid (grep { /^\d+$/ } readdir $dh) {
        my $stat = _slurp("/proc/$pid/stat");
        # Fields after the command name, which may itself contain ") ".
        my ($state, $parent) = $stat =~ /.*\) (\S) (\d+) /s or next;
        push @kids, $pid if $parent == $ppid && $state ne 'Z';
    }
    closedir $dh;
    return @kids;
}

# Reports who holds our port, without connecting to it: a probe connection
# would be logged by an nginx and counted by stub_status-like handlers.
sub _port_in_use {
    my $sock = IO::Socket::INET->new(LocalAddr => $ServerAddr,
                                     LocalPort => $ServerPort,
                                     Proto => 'tcp', ReuseAddr => 1,
                                     Listen => 1);
    return "bind: $!" unless $sock;
    close $sock;
    return undef;
}

sub _fork_exec {
    my ($cmd, $stderr_file) = @_;

    my $pid = fork;
    die "fork failed: $!\n" unless defined $pid;
    return $pid if $pid;

    # Child: keep nginx away from our TAP stream.
    open STDIN,  '<', '/dev/null';
    open STDOUT, '>', '/dev/null';
    open STDERR, '>', $stderr_file;
    { no warnings 'exec'; exec { $cmd->[0] } @$cmd; }
    print STDERR "cannot run $cmd->[0]: $!\n";
    POSIX::_exit(127);
}

sub _exit_text {
    my ($status) = @_;
    return 'signal ' . ($status & 127) if $status & 127;
    return 'status ' . ($status >> 8);
}

sub _nginx_version {
    return $NginxVersion if defined $NginxVersion;
    my $bin = _nginx_binary();
    my $pid = open(my $fh, '-|');
    die "fork failed: $!\n" unless defined $pid;
    if (!$pid) {
        open STDERR, '>&', \*STDOUT;    # nginx -v prints to stderr
        { no warnings 'exec'; exec $bin, '-v'; }
        POSIX::_exit(127);
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    ($NginxVersion) = $out =~ m{nginx/([\d.]+)};
    die "cannot tell the version of $bin: $out\n" unless defined $NginxVersion;
    return $NginxVersion;
}

sub _version_test {
    my ($have, $op, $want) = @_;

    my @a = split /\./, $have;
    my @b = split /\./, $want;
    my $cmp = 0;
    while (!$cmp && (@a || @b)) {
        $cmp = (shift(@a) // 0) <=> (shift(@b) // 0);
    }
    return { '<'  => $cmp < 0,  '<=' => $cmp <= 0, '>' => $cmp > 0,
             '>=' => $cmp >= 0, '==' => $cmp == 0, '!=' => $cmp != 0 }->{$op};
}

# ---------------------------------------------------------------------------
# Building requests.

# Returns [ { pieces => [bytes...], heads => [is_head...] } ...]: one entry
# per connection, with the bytes to write and one flag per response to
# read (is it the answer to a HEAD?).
#
# Connections are keep-alive: no "Connection" header is added, so nginx
# keeps the connection open after each response, as a browser or a proxy
# would make it. A response is read by its framing, never up to EOF when it
# has one; then the runner half-closes and reads until nginx closes: any
# byte in between is a response nobody asked for (a request smuggled in a
# body nginx did not read), which fails the block.
sub _connections {
    my ($block) = @_;

    if (defined(my $p = $block->pipelined_requests)) {
        my @reqs = ref $p eq 'ARRAY' ? @$p : ($p);
        my @built = map {
            _http_request($block, 'pipelined_requests', $reqs[$_], $_)
        } 0 .. $#reqs;
        return [ { pieces => [ join '', map { $_->{bytes} } @built ],
                   heads  => [ map { $_->{head} } @built ] } ];
    }

    if (defined(my $raw = $block->raw_request)) {
        my @pieces = ref $raw eq 'ARRAY' ? @$raw : ($raw);
        utf8::encode($_) for grep { utf8::is_utf8($_) } @pieces;
        return [ { pieces => \@pieces,
                   heads  => _raw_heads(join('', @pieces),
                                        _raw_response_count($block)),
                   delay  => scalar $block->raw_request_middle_delay } ];
    }

    if (defined(my $r = $block->request)) {
        my @reqs = ref $r eq 'ARRAY' ? @$r : ($r);
        return [ map {
            my $req = _http_request($block, 'request', $reqs[$_], $_);
            { pieces => [ $req->{bytes} ], heads => [ $req->{head} ] }
        } 0 .. $#reqs ];
    }

    return [];
}

# A raw_request holds one request unless the expectations are lists: then
# it holds (and pipelines) one request per entry of the longest list.
sub _raw_response_count {
    my ($block) = @_;

    my $n = 1;
    for my $section (qw(error_code response_body response_body_like
                        response_body_unlike response_headers
                        response_headers_like))
    {
        my $v = $block->$section;
        $n = @$v if ref $v eq 'ARRAY' && @$v > $n;
    }
    return $n;
}

# HEAD flags for the responses to raw bytes: the n-th thing that looks like
# a request line says whether the n-th response has a body.
sub _raw_heads {
    my ($bytes, $n) = @_;

    my @methods = $bytes =~ m{^[ \t]*([A-Z]+)[ \t]+\S+[ \t]+HTTP/\d\.\d\r?$}mg;
    return [ map { ($methods[$_] // '') eq 'HEAD' ? 1 : 0 } 0 .. $n - 1 ];
}

# One flag per expected response, in order.
sub _requests {
    my ($block) = @_;
    return [ map { @{ $_->{heads} } } @{ _connections($block) } ];
}

# Turns "METHOD URI [HTTP/x.y]\nbody" into bytes on the wire.
sub _http_request {
    my ($block, $section, $text, $i) = @_;

    my $name = $block->name;
    die "$name: request #$i is undefined\n" unless defined $text;

    # Leading blank and "#" comment lines are allowed, and indentation.
    $text =~ s/\A(?:[ \t]*(?:#[^\n]*)?\n)+//;
    $text =~ s/\A[ \t]+//;

    my ($line, $body) = split /\n/, $text, 2;
    $body //= '';
    # A plain section keeps one newline after its last line: that one
    # belongs to the section format, not to the body. Eval'd requests are
    # taken byte for byte.
    $body =~ s/\n\z// unless _section_has_filter($block, $section, 'eval');

    $line =~ s/\s+\z//;
    my ($method, $uri) = $line =~ /^(\S+)\s*(.*)$/
        or die "$name: no request line in request #$i\n";
    my $proto = 'HTTP/1.1';
    $proto = $1 if $uri =~ s{\s+(HTTP/\d+\.\d+)\z}{};

    my @headers = _parse_header_lines(_pick(scalar $block->more_headers, $i), $name);
    my %given = map { lc $_->[0] => 1 } @headers;

    my @lines = ("$method $uri $proto");
    push @lines, 'Host: localhost'           unless $given{host};
    push @lines, map { "$_->[0]: $_->[1]" } @headers;

    utf8::encode($body) if utf8::is_utf8($body);
    if (!$given{'content-length'} && !$given{'transfer-encoding'}
        && (length $body || $method =~ /^(?:POST|PUT|PATCH)$/))
    {
        push @lines, 'Content-Length: ' . length $body;
    }

    my $bytes = join("\r\n", @lines) . "\r\n\r\n" . $body;
    utf8::encode($bytes) if utf8::is_utf8($bytes);
    return { bytes => $bytes, head => $method eq 'HEAD' ? 1 : 0 };
}

sub _parse_header_lines {
    my ($text, $name) = @_;

    my @headers;
    for my $line (_lines($text)) {
        my ($key, $value) = $line =~ /^\s*([^:\s]+)\s*:\s*(.*?)\s*$/
            or die "$name: bad header line '$line' in --- more_headers\n";
        push @headers, [$key, $value];
    }
    return @headers;
}

sub _section_has_filter {
    my ($block, $section, $filter) = @_;
    my $map = $block->_section_map || {};
    my $filters = $map->{$section} ? $map->{$section}{filters} // '' : '';
    return $filters =~ /(?:^|\s)\Q$filter\E(?:\s|$)/;
}

# ---------------------------------------------------------------------------
# Talking to nginx.

sub _send_requests {
    my ($block) = @_;

    my $timeout = _duration($block->timeout // $ENV{TEST_NGINX_TIMEOUT} // 3,
                            $block->name . ': --- timeout');
    local $SIG{PIPE} = 'IGNORE';

    my @responses;
    for my $conn (@{ _connections($block) }) {
        my $delay = defined $conn->{delay}
                  ? _duration($conn->{delay}, $block->name . ': raw_request_middle_delay')
                  : 0;
        push @responses, _exchange($conn, $timeout, $delay);
    }
    return @responses;
}

# One connection: write the pieces, then read one response per flag.
sub _exchange {
    my ($conn, $timeout, $delay) = @_;
    my ($pieces, $heads) = @$conn{qw(pieces heads)};

    my $sock = IO::Socket::INET->new(PeerAddr => $ServerAddr,
                                     PeerPort => $ServerPort,
                                     Proto => 'tcp', Timeout => $timeout);
    unless ($sock) {
        my $err = "cannot connect to $ServerAddr:$ServerPort: $!";
        return map { { error => $err, headers => {}, body => '' } } @$heads;
    }
    $sock->blocking(0);

    my $send_error;
    for my $k (0 .. $#$pieces) {
        Time::HiRes::sleep($delay) if $k && $delay;
        # nginx may answer (e.g. 413) and close before taking all of the
        # request: keep going and read what it said.
        last if $send_error = _send_all($sock, $pieces->[$k], $timeout);
    }

    my $reader = { sock => $sock, buf => '', eof => 0, timeout => $timeout,
                   select => IO::Select->new($sock) };
    my @responses;
    for my $head (@$heads) {
        if (@responses && defined $responses[-1]{error}) {
            push @responses, { error => 'no response: the previous response'
                                       . ' on this connection failed',
                               headers => {}, body => '' };
            next;
        }
        push @responses, _read_response($reader, $head);
    }

    if ($send_error && defined $responses[0]{error}) {
        $responses[0]{error} .= " (after a send error: $send_error)";
    }

    # Half-close and read until nginx closes. nginx closes a keep-alive
    # connection on our EOF only once it is done with every request it
    # read from it, log phase included, so the next request and the
    # error.log checks never race a log handler. Bytes before that EOF
    # answer a request we did not send: with a body left unread, nginx
    # takes the body for the next request (request smuggling).
    my $last = $responses[-1];
    if (!defined $last->{error}) {
        shutdown $sock, 1;
        $reader->{stage} = 'the connection close';
        # A reset after nginx closed with our bytes unread is an EOF too.
        eval { 1 while _fill($reader); 1 };
        $last->{extra} = $reader->{buf} if length $reader->{buf};
    }

    close $sock;
    return @responses;
}

# Returns undef, or why the data could not all be written.
sub _send_all {
    my ($sock, $data, $timeout) = @_;

    my $select = IO::Select->new($sock);
    my $off = 0;
    while ($off < length $data) {
        return "client socket timed out while sending the request"
            unless $select->can_write($timeout);
        my $n = syswrite($sock, $data, length($data) - $off, $off);
        unless (defined $n) {
            next if $!{EINTR} || $!{EAGAIN} || $!{EWOULDBLOCK};
            return "write failed: $!";
        }
        $off += $n;
    }
    return undef;
}

# Reads one response. Never dies: problems end up in {error}, along with
# whatever was received up to then (so "--- abort" blocks can check it).
sub _read_response {
    my ($r, $is_head) = @_;

    my $res = { status => undef, headers => {}, body => '', error => undef };
    my $ok = eval {
        _read_head($r, $res);
        # Interim 1xx responses come before the real one.
        while ($res->{status} =~ /^1/ && $res->{status} != 101) {
            %$res = (status => undef, headers => {}, body => '', error => undef);
            _read_head($r, $res);
        }
        _read_body($r, $res, $is_head);
        1;
    };
    unless ($ok) {
        ($res->{error} = $@) =~ s/\s+\z//;
        # Keep what arrived of the body for diagnostics and --- abort.
        if ($r->{partial_body}) {
            $res->{body} .= $r->{buf};
            $r->{buf} = '';
        }
    }
    $r->{partial_body} = 0;
    return $res;
}

sub _read_head {
    my ($r, $res) = @_;

    $r->{stage} = 'the status line';
    my $line = _read_line($r);
    $line =~ m{^HTTP/\d+\.\d+\s+(\d{3})(?:\s+(.*?))?\r?\n\z}
        or die "bad status line: " . _visible($line) . "\n";
    $res->{status} = $1;
    $res->{reason} = $2 // '';

    $r->{stage} = 'the response headers';
    my $last;
    while (1) {
        my $h = _read_line($r);
        last if $h =~ /^\r?\n\z/;
        $h =~ s/\r?\n\z//;
        if ($h =~ /^[ \t]+(.*)/ && defined $last) {    # obsolete folding
            $res->{headers}{$last}[-1] .= " $1";
            next;
        }
        my ($key, $value) = $h =~ /^([^:]+):[ \t]*(.*?)[ \t]*$/
            or die "bad response header line: " . _visible($h) . "\n";
        $last = lc $key;
        push @{ $res->{headers}{$last} }, $value;
    }
}

sub _read_body {
    my ($r, $res, $is_head) = @_;

    $r->{stage} = 'the response body';
    my $status = $res->{status};
    return if $is_head || $status == 204 || $status == 304 || $status < 200;

    my $te = join ',', @{ $res->{headers}{'transfer-encoding'} || [] };
    my $cl = $res->{headers}{'content-length'};

    if ($te =~ /chunked/i) {
        _read_chunked($r, $res);
    }
    elsif ($cl) {
        my ($len) = $cl->[0] =~ /^(\d+)$/
            or die "bad Content-Length: $cl->[0]\n";
        $r->{partial_body} = 1;
        $res->{body} = _read_exact($r, $len);
    }
    else {
        $r->{partial_body} = 1;
        $res->{body} = _read_to_eof($r);
    }
    $r->{partial_body} = 0;
}

sub _read_chunked {
    my ($r, $res) = @_;

    $res->{chunks} = 0;
    while (1) {
        my $line = _read_line($r);
        my ($hex) = $line =~ /^\s*([0-9a-fA-F]+)\s*(?:;.*)?\r?\n\z/
            or die "bad chunk size line: " . _visible($line) . "\n";
        my $size = hex $hex;

        if ($size == 0) {
            while (1) {    # trailers, up to the empty line
                last if _read_line($r) =~ /^\r?\n\z/;
            }
            return;
        }

        $res->{chunks}++;
        $r->{partial_body} = 1;
        $res->{body} .= _read_exact($r, $size);
        $r->{partial_body} = 0;
        my $crlf = _read_line($r);
        die "missing CRLF after a chunk of $size bytes, got "
            . _visible($crlf) . "\n" unless $crlf =~ /^\r?\n\z/;
    }
}

# Adds bytes to the read buffer. Returns 0 at end of stream; dies when
# nothing arrives within the timeout.
sub _fill {
    my ($r) = @_;
    return 0 if $r->{eof};

    my $deadline = Time::HiRes::time() + $r->{timeout};
    while (1) {
        my $left = $deadline - Time::HiRes::time();
        die "client socket timed out (nothing for $r->{timeout}s) while"
            . " reading $r->{stage}\n" if $left <= 0;
        next unless $r->{select}->can_read($left);

        my $n = sysread($r->{sock}, $r->{buf}, 65536, length $r->{buf});
        if (!defined $n) {
            next if $!{EINTR} || $!{EAGAIN} || $!{EWOULDBLOCK};
            die "read failed while reading $r->{stage}: $!\n";
        }
        $r->{eof} = 1 if $n == 0;
        return $n;
    }
}

sub _read_line {
    my ($r) = @_;
    while (index($r->{buf}, "\n") < 0) {
        next if _fill($r);
        die "connection closed before $r->{stage} was complete"
            . (length $r->{buf} ? ', got ' . _visible($r->{buf}) : '') . "\n";
    }
    return substr $r->{buf}, 0, index($r->{buf}, "\n") + 1, '';
}

# Reads exactly $len bytes.
sub _read_exact {
    my ($r, $len) = @_;
    while (length $r->{buf} < $len) {
        next if _fill($r);
        die "connection closed after " . length($r->{buf})
            . " of $len bytes of $r->{stage}\n";
    }
    return substr $r->{buf}, 0, $len, '';
}

sub _read_to_eof {
    my ($r) = @_;
    1 while _fill($r);
    my $all = $r->{buf};
    $r->{buf} = '';
    return $all;
}

# ---------------------------------------------------------------------------
# Checking responses.

sub _check_responses {
    my ($block, $label, $responses) = @_;

    my $n = @$responses;
    for my $i (0 .. $n - 1) {
        my $res = $responses->[$i];
        my $suffix = $n > 1 ? " (req $i)" : '';

        _check_status($block, $label, $suffix, $i, $res);
        for my $spec (_header_specs($block, $i)) {
            _check_header($label, $suffix, $res, $spec);
        }
        my @body_specs = _body_specs($block, $i);
        if (@body_specs) {
            my $body = _filtered_body($block, $i, $n, $res->{body});
            _check_body($label, $suffix, $body, $_) for @body_specs;
        }
    }
}

sub _check_status {
    my ($block, $label, $suffix, $i, $res) = @_;

    my $want = _trimmed(_pick(scalar $block->error_code, $i));
    $want = 200 unless defined $want && length $want;
    my $name = "$label - status code ok$suffix";

    if (defined $res->{error} && !defined $block->abort) {
        $TB->ok(0, $name);
        $TB->diag("$label$suffix: $res->{error}");
        $TB->diag("  received before that: "
                  . (defined $res->{status} ? "status $res->{status}, " : 'no status line, ')
                  . length($res->{body}) . " body bytes; expected status $want");
        return;
    }
    if (defined $res->{extra}) {
        # Folded into the status test, so that plans do not change.
        $TB->ok(0, $name);
        $TB->diag("$label$suffix: after the expected response(s) nginx sent "
                  . length($res->{extra}) . " more bytes on the connection,"
                  . " answering a request the test did not send (a body"
                  . " nginx did not read, taken for a request?):\n"
                  . _indent(_visible_text(substr $res->{extra}, 0, 600)));
        $TB->diag("  status of the expected response: $res->{status}"
                  . " (expected $want)") if $res->{status} ne $want;
        return;
    }
    $TB->is_eq($res->{status}, $want, $name);
}

# What "--- response_headers(_like)" asks of response #$i.
sub _header_specs {
    my ($block, $i) = @_;

    my $name = $block->name;
    my @specs;
    for my $line (_lines(_pick(scalar $block->response_headers, $i))) {
        if ($line =~ /^\s*!\s*([^:\s]+)\s*$/) {
            push @specs, { header => $1, kind => 'absent' };
            next;
        }
        my ($key, $value) = $line =~ /^\s*([^:\s]+)\s*:\s*(.*?)\s*$/
            or die "$name: bad line '$line' in --- response_headers\n";
        push @specs, { header => $key, value => $value,
                       kind => length $value ? 'is' : 'empty' };
    }
    for my $line (_lines(_pick(scalar $block->response_headers_like, $i))) {
        my ($key, $re) = $line =~ /^\s*([^:\s]+)\s*:\s*(.*?)\s*$/
            or die "$name: bad line '$line' in --- response_headers_like\n";
        push @specs, { header => $key, value => $re, kind => 'like' };
    }
    return @specs;
}

sub _check_header {
    my ($label, $suffix, $res, $spec) = @_;

    my $key = $spec->{header};
    my $values = $res->{headers}{lc $key};
    my $got = $values ? join(', ', @$values) : undef;
    my $name = "$label - header $key ok$suffix";

    if ($spec->{kind} eq 'absent') {
        $TB->ok(!defined $got, $name)
            or $TB->diag("  $key should be absent, got: $got");
    }
    elsif ($spec->{kind} eq 'empty') {
        # "Name:" with no value: absent or empty both satisfy it.
        $TB->ok(!defined $got || $got eq '', $name)
            or $TB->diag("  $key should be absent or empty, got: $got");
    }
    elsif ($spec->{kind} eq 'like') {
        $TB->like($got // '', qr/^(?:$spec->{value})$/s, $name)
            or $TB->diag("  ($key " . (defined $got ? "present" : "absent") . ")");
    }
    else {
        $TB->is_eq($got, $spec->{value}, $name);
    }
}

# What the body of response #$i is checked against; one test each.
sub _body_specs {
    my ($block, $i) = @_;

    my @specs;
    for my $kind (qw(response_body response_body_like response_body_unlike)) {
        my $want = _pick(scalar $block->$kind, $i);
        push @specs, { kind => $kind, want => $want } if defined $want;
    }
    return @specs;
}

# "--- response_body_filters": a filter is a code ref, or the name of a
# built-in (uc lc md5_hex sha1_hex length) or of a function in main. With
# several requests an array ref holds one entry per request (undef: none),
# each a filter or an array ref of filters; with one request an array ref
# is a chain of filters.
sub _filtered_body {
    my ($block, $i, $n, $body) = @_;

    my $spec = $block->response_body_filters;
    return $body unless defined $spec;

    $spec = $spec->[$i] if ref $spec eq 'ARRAY' && $n > 1;
    my @filters = ref $spec eq 'ARRAY' ? @$spec
                : ref $spec            ? ($spec)
                : defined $spec        ? split(' ', $spec)
                :                        ();

    for my $f (grep { defined } @filters) {
        $body = _apply_body_filter($f, $body, $block->name);
    }
    return $body;
}

my %BuiltinBodyFilters = (
    uc       => sub { uc $_[0] },
    lc       => sub { lc $_[0] },
    md5_hex  => sub { Digest::MD5::md5_hex($_[0]) },
    sha1_hex => sub { Digest::SHA::sha1_hex($_[0]) },
    length   => sub { length $_[0] },
);

sub _apply_body_filter {
    my ($filter, $body, $name) = @_;

    my $code = ref $filter eq 'CODE' ? $filter
             : $BuiltinBodyFilters{$filter} || main->can($filter)
             || die "$name: unknown response_body_filters entry '$filter'\n";
    return $code->($body);
}

sub _check_body {
    my ($label, $suffix, $got, $spec) = @_;

    my $want = $spec->{want};
    my $kind = $spec->{kind};
    my $name = "$label - $kind - response is expected$suffix";
    $got //= '';

    if ($kind eq 'response_body' && ref $want ne 'Regexp') {
        _compare_text($got, $want, $name);
        return;
    }

    # A plain section ends in a newline that belongs to the format, not to
    # the pattern (think of a pattern ending in \z).
    $want =~ s/\n\z// unless ref $want;
    my $re = ref $want eq 'Regexp' ? $want : qr/$want/s;
    my $ok = $kind eq 'response_body_unlike' ? $got !~ $re : $got =~ $re;
    $TB->ok($ok, $name);
    unless ($ok) {
        $TB->diag("  body " . ($kind eq 'response_body_unlike' ? 'matches' : 'does not match')
                  . " $re; got " . length($got) . " bytes:\n" . _indent(_visible_text($got)));
    }
}

# Exact comparison with a readable report: a unified diff by default,
# Test::LongString's report with no_diff(), plain is() with both
# no_diff() and no_long_string().
sub _compare_text {
    my ($got, $want, $name) = @_;

    return $TB->ok(1, $name) if $got eq $want;

    if ($NoDiff) {
        if (!$NoLongString && eval { require Test::LongString; 1 }) {
            local $Test::Builder::Level = $Test::Builder::Level + 1;
            return Test::LongString::is_string($got, $want, $name);
        }
        return $TB->is_eq($got, $want, $name);
    }

    $TB->ok(0, $name);
    $TB->diag(_diff_text($want, $got));
}

sub _diff_text {
    my ($want, $got) = @_;

    my $summary = sprintf "  expected %d bytes, got %d bytes%s\n",
                          length $want, length $got, _first_difference($want, $got);
    unless (eval { require Text::Diff; 1 }) {
        return $summary . "  expected:\n" . _indent(_visible_text($want))
                        . "  got:\n" . _indent(_visible_text($got));
    }
    my $a = _visible_text($want);
    my $b = _visible_text($got);
    return $summary . Text::Diff::diff(\$a, \$b, { STYLE => 'Unified',
                                                   FILENAME_A => 'expected',
                                                   FILENAME_B => 'got' });
}

# Where two strings start to differ, with a little context: the one hint
# that helps when a long single-line body (JSON) differs in one character.
sub _first_difference {
    my ($want, $got) = @_;

    my $i = 0;
    $i++ while $i < length $want && $i < length $got
               && substr($want, $i, 1) eq substr($got, $i, 1);
    my $from = $i > 10 ? $i - 10 : 0;
    return sprintf "; they differ from byte %d: expected %s..., got %s...",
                   $i, _visible(substr $want, $from, 30),
                   _visible(substr $got, $from, 30);
}

# ---------------------------------------------------------------------------
# Checking error.log.

sub _log_patterns {
    my ($value) = @_;
    return () unless defined $value;
    return grep { defined && (ref || length) } @$value if ref $value eq 'ARRAY';
    return ($value) if ref $value eq 'Regexp';
    return _lines($value);
}

sub _log_pattern_count {
    my ($block) = @_;
    my @patterns = (_log_patterns(scalar $block->error_log),
                    _log_patterns(scalar $block->no_error_log));
    return @patterns + (defined $block->grep_error_log_out ? 1 : 0);
}

# Checks "--- error_log", "--- no_error_log" and "--- grep_error_log" on
# $startup_log followed by the error.log lines written since $pos.
sub _check_error_log {
    my ($block, $label, $pos, $startup_log) = @_;

    my @want = _log_patterns(scalar $block->error_log);
    my @dont = _log_patterns(scalar $block->no_error_log);
    my $grep_out = $block->grep_error_log_out;
    return unless @want || @dont || defined $grep_out;

    # Lines for a request can be written just after its response was sent.
    Time::HiRes::sleep($Sleep) if @dont || defined $grep_out;

    my $deadline = Time::HiRes::time() + $LogGrace;
    my @lines;
    while (1) {
        @lines = split /\n/, $startup_log . "\n" . _read_log_since($pos);
        last if Time::HiRes::time() > $deadline;
        last unless grep { !_first_match(\@lines, $_) } @want;
        Time::HiRes::sleep(0.05);
    }

    for my $pat (@want) {
        $TB->ok(defined _first_match(\@lines, $pat),
                "$label - pattern \"" . _pattern_text($pat)
                . "\" matches a line in error.log");
    }
    for my $pat (@dont) {
        my @hits = grep { _line_matches($_, $pat) } @lines;
        $TB->ok(!@hits, "$label - pattern \"" . _pattern_text($pat)
                        . "\" should not match any line in error.log")
            or $TB->diag("  matching lines:\n"
                         . _indent(join "\n", grep { defined } @hits[0 .. 4]));
    }
    if (defined $grep_out) {
        my $got = _grep_log(\@lines, scalar $block->grep_error_log, $label);
        _compare_text($got, $grep_out, "$label - grep_error_log - output is expected");
    }
}

sub _line_matches {
    my ($line, $pat) = @_;
    return ref $pat eq 'Regexp' ? $line =~ $pat : index($line, $pat) >= 0;
}

sub _first_match {
    my ($lines, $pat) = @_;
    for (@$lines) { return $_ if _line_matches($_, $pat) }
    return undef;
}

sub _pattern_text {
    my ($pat) = @_;
    return ref $pat eq 'Regexp' ? "$pat" : $pat;
}

# "--- grep_error_log": every match of the pattern (a string or qr//),
# one per output line.
sub _grep_log {
    my ($lines, $pat, $label) = @_;

    die "$label: --- grep_error_log_out needs --- grep_error_log\n"
        unless defined $pat;
    $pat = _trimmed($pat) unless ref $pat;
    my $re = ref $pat eq 'Regexp' ? $pat : qr/\Q$pat\E/;

    my $out = '';
    for my $line (@$lines) {
        $out .= "$&\n" while $line =~ /$re/g;
    }
    return $out;
}

# A crashed worker is easy to miss when the master replaces it.
sub _warn_about_crashes {
    my ($label, $pos) = @_;
    for my $line (split /\n/, _read_log_since($pos)) {
        $TB->diag("WARNING: $label: $line") if $line =~ /exited on signal \d+/;
    }
}

# After a failure: the end of what nginx logged during the round. Debug
# lines are left out, as at the default level they bury everything else.
sub _diag_log_tail {
    my ($label, $pos, $stderr) = @_;

    $TB->diag("$label: nginx stderr at startup:\n" . _indent($stderr))
        if defined $stderr && length $stderr;

    # Entries start with a timestamp; some (header dumps) span lines.
    my @entries = split /\n(?=\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d )/,
                        _read_log_since($pos);
    my $all = @entries;
    @entries = grep { !/^\S+ \S+ \[debug\] / } @entries;
    my $omitted = $all - @entries;
    @entries = @entries[-$LogTailLines .. -1] if @entries > $LogTailLines;

    my $head = "$label: error.log of this round, last " . @entries
             . " entries" . ($omitted ? " (not showing $omitted [debug] ones)" : '')
             . "; full log: $ErrLogFile";
    $TB->diag("$head\n" . (@entries ? _indent(join "\n", @entries) : "    (nothing)\n"));
}

sub _log_size {
    return (-s $ErrLogFile) || 0;
}

sub _read_log_since {
    my ($pos) = @_;

    open my $fh, '<', $ErrLogFile or return '';
    my $size = -s $fh;
    $pos = 0 if $pos > $size;    # truncated or replaced meanwhile
    seek $fh, $pos, 0;
    local $/;
    my $text = <$fh>;
    return $text // '';
}

# ---------------------------------------------------------------------------
# Valgrind.

sub _check_valgrind {
    my ($name, $log) = @_;
    return unless $log && -f $log;

    my $text = _slurp($log);
    my ($errors) = $text =~ /ERROR SUMMARY: ([\d,]+) errors/;

    unless (defined $errors) {
        $TB->diag("WARNING: $name: no valgrind ERROR SUMMARY in $log"
                  . " (was nginx killed?)");
        return;
    }
    $errors =~ s/,//g;
    return unless $errors;

    # Keep the evidence: the next start overwrites the log.
    my $kept = "$log." . time . ".$$";
    $kept = $log unless eval { require File::Copy; File::Copy::copy($log, $kept) };

    # Not part of the plan: only shows up when something is wrong.
    $TB->ok(0, "$name - valgrind reported $errors error(s)");

    # Skip valgrind's banner, which ends with the command line.
    my @lines = split /\n/, $text;
    my ($command) = grep { $lines[$_] =~ /^==\d+== Command: / } 0 .. $#lines;
    splice @lines, 0, $command + 1 if defined $command;
    @lines = (@lines[0 .. 299], '...') if @lines > 300;
    $TB->diag(join("\n", @lines) . "\nfull valgrind log: $kept");
}

# ---------------------------------------------------------------------------
# Small helpers.

# An expectation for request #$i: array refs hold one entry per request.
sub _pick {
    my ($value, $i) = @_;
    return ref $value eq 'ARRAY' ? $value->[$i] : $value;
}

sub _lines {
    my ($text) = @_;
    return () unless defined $text;
    return grep { /\S/ } split /\n/, $text;
}

sub _trimmed {
    my ($value) = @_;
    return undef unless defined $value;
    return $value if ref $value;
    $value =~ s/^\s+|\s+$//g;
    return $value;
}

# "1.5", "300ms", "2s" or "1m" -> seconds.
sub _duration {
    my ($value, $what) = @_;
    my $v = _trimmed($value);
    my ($num, $unit) = $v =~ /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m)?$/
        or die "$what: bad duration '$v' (want e.g. 1.5, 300ms, 2s)\n";
    return $num / 1000 if ($unit // 's') eq 'ms';
    return $num * 60   if $unit && $unit eq 'm';
    return $num;
}

sub _slurp {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    local $/;
    my $text = <$fh>;
    return $text // '';
}

sub _write_file {
    my ($file, $content) = @_;
    open my $fh, '>', $file or die "cannot write $file: $!\n";
    binmode $fh;
    utf8::encode($content) if utf8::is_utf8($content);
    print {$fh} $content;
    close $fh or die "cannot write $file: $!\n";
    chmod 0644, $file;
}

sub _indent {
    my ($text) = @_;
    $text =~ s/^/    /mg;
    $text .= "\n" unless $text =~ /\n\z/;
    return $text;
}

# Makes control characters visible in a single line of diagnostics.
sub _visible {
    my ($s) = @_;
    $s =~ s/([^\x20-\x7e])/sprintf '\\x%02x', ord $1/ge;
    return "'$s'";
}

# Like _visible, but keeps newlines so multi-line bodies diff line by line,
# and marks a missing final newline (otherwise invisible in a diff).
sub _visible_text {
    my ($s) = @_;
    $s =~ s/\r/\\r/g;
    $s =~ s/([^\n\t\x20-\x7e\x80-\xff])/sprintf '\\x%02x', ord $1/ge;
    $s .= "\n\\ (no newline at end)\n" if length $s && $s !~ /\n\z/;
    return $s;
}

1;
