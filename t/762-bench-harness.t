# bench/run's own correctness (issue 15, review R15a): the adaptive
# warm-up's stopping rule, the connections last.tsv records, which
# processes a side's memory counts, and that no process outlives the
# harness when it is hung up on or killed. bench/run is loaded as a
# library (it runs main() only when not required), with measure()
# replaced by a fake where only the rule is under test. No timing is
# asserted: polls wait for processes to go, with a generous bound.
use strict;
use warnings;

use File::Temp ();
use POSIX ();
use Time::HiRes qw(sleep time);
use Test::More;

my $top = POSIX::getcwd();
require "$top/bench/run";

sub slurp { -e $_[0] or return ""; local (@ARGV, $/) = @_; return scalar <> }

# ---- warm_up: 1 s slices until the last three agree within 5 %
{
    my @seq;
    my @asked;
    no warnings qw(redefine once);
    local *main::measure = sub {
        my ($sc, $where, $side, $secs) = @_;
        push @asked, $secs;
        return { cpu_us => shift @seq, requests => 1, rps => 1 };
    };
    my $run = sub {
        my ($bound, @cpu) = @_;
        @seq = @cpu;
        @asked = ();
        my $sc = { warmup_s => $bound };
        open(my $fh, '>', \my $out) or die;
        my $old = select $fh;
        main::warm_up($sc, {}, 'baseline');
        select $old;
        return ($sc, $out, [@asked]);
    };

    my ($sc, $out, $asked) = $run->(15, 833, 437, 368, 282, 278, 281, 388);
    is_deeply $sc->{warmup_trail}{baseline}, [833, 437, 368, 282, 278, 281],
        'a Node-like ramp: stops at the first three slices within 5 %';
    is $sc->{warmup_settled}{baseline}, 1, '... settled';
    like $out, qr/warm-up: baseline 833 437 368 282 278 281 us\/req in 1 s slices: settled/,
        '... and the trail is printed';

    # seen on a loaded machine: two slices agreed while Node still ramped
    ($sc, $out) = $run->(15, 1093, 890, 674, 628, 455, 382, 524, 427, 455,
                         351, 441, 452, 351, 262, 258, 260);
    is_deeply $sc->{warmup_trail}{baseline},
        [1093, 890, 674, 628, 455, 382, 524, 427, 455, 351, 441, 452, 351,
         262, 258],
        'two agreeing slices (441, 452) do not end a warm-up that still ramps';

    ($sc, $out) = $run->(3, 833, 437, 368, 282);
    is scalar @{ $sc->{warmup_trail}{baseline} }, 3, 'never more slices than the bound';
    like $out, qr/NOT settled within the bound of 3 s/, '... and says it did not settle';

    ($sc, $out, $asked) = $run->(1, 833, 437);
    is_deeply $asked, [1], 'warmup 1: one 1 s slice (the old fixed warm-up)';

    ($sc, $out, $asked) = $run->(0, 833);
    is_deeply $asked, [], 'warmup 0: none';

    ($sc, $out, $asked) = $run->(15, undef);
    is_deeply $asked, [1, 14], 'a side without CPU (command:) warms up for the whole bound';
}

# ---- the warmup: key
{
    my $sc = main::parse_scenario("$top/bench/scenarios/peer-page.conf");
    is $sc->{warmup}, 15, 'peer-page.conf: warmup: 15';
    my $dir = File::Temp->newdir('t762-XXXXXX', TMPDIR => 1);
    open(my $fh, '>', "$dir/bad.conf") or die;
    print $fh "description: x\ntarget: >= 1\npath: /\nwarmup: soon\n[baseline]\n[feature]\n";
    close $fh;
    ok !eval { main::parse_scenario("$dir/bad.conf"); 1 }, 'warmup: soon is refused';
    like $@, qr/warmup: expected seconds/, '... with the reason';
}

# ---- last.tsv: the connections wrk used, not --connections
{
    my $dir = File::Temp->newdir('t762-XXXXXX', TMPDIR => 1);
    local @ARGV = ('--results', "$dir/last.tsv");
    main::parse_args();
    my $sc = main::parse_scenario("$top/bench/scenarios/peer-page.conf");
    my $sel = main::parse_scenario("$top/bench/scenarios/selftest.conf");
    $_->{nworkers} = 1 for $sc, $sel;
    $sc->{mem}{baseline} = { rss => 100, pss => 90 };
    $sc->{warmup_trail} = { baseline => [800, 500, 490], feature => [20, 20.5] };
    my $m = { result => 'PASS', ratio => 30, baseline => 1, feature => 30,
              ratio_of_medians => 30, spread => '30-30', cpu_ratio => 30, error => '',
              cpu => { baseline => [300], feature => [10] },
              runs => { baseline => [1], feature => [30] } };
    open(my $null, '>', '/dev/null') or die;
    my $old = select $null;
    main::write_tsv([[$sc, $m], [$sel, $m]]);
    select $old;
    my ($head, @rows) = split /\n/, slurp("$dir/last.tsv");
    my @cols = split /\t/, $head;
    my %row = map { my @v = split /\t/, $_, -1; my %r; @r{@cols} = @v; ($r{scenario} => \%r) } @rows;
    is $row{'peer-page'}{connections}, 20, 'peer-page (connections: 20): last.tsv says 20';
    is $row{selftest}{connections}, 50, 'selftest (none of its own): --connections, 50';
    is_deeply [@cols[0 .. 24]],
        [qw(timestamp scenario result ratio target baseline_median feature_median
            ratio_of_medians round_ratios cpu_ratio baseline_cpu_us feature_cpu_us
            rounds duration connections threads baseline_runs feature_runs error
            reports baseline_p50_ms baseline_p99_ms feature_p50_ms feature_p99_ms workers)],
        'the existing columns, unchanged and in order';
    is_deeply [@cols[25 .. $#cols]],
        [qw(baseline_rss_kb baseline_pss_kb feature_rss_kb feature_pss_kb
            baseline_warmup_us feature_warmup_us verdict cpu_round_ratios)], 'the new ones appended';
    is $row{'peer-page'}{baseline_pss_kb}, 90, 'pss column';
    is $row{'peer-page'}{baseline_warmup_us}, '800.0,500.0,490.0', 'warm-up trail column';
}

# ---- memory: the serving processes (not a cluster's primary)
{
    pipe(my $r, my $w) or die;
    my $pid = fork // die;
    if (!$pid) {
        close $r;
        my $kid = fork // die;
        if (!$kid) { sleep 60; POSIX::_exit(0) }
        print $w "$kid\n";
        close $w;
        waitpid $kid, 0;
        POSIX::_exit(0);
    }
    close $w;
    chomp(my $kid = <$r>);
    is_deeply [main::side_mem_pids({ server => 1, pid => $pid })], [$kid],
        'a cluster (a server with children): its workers, not the primary';
    is main::side_head_pid({ server => 1, pid => $pid }), $pid, '... the primary reported apart';
    is_deeply [main::side_mem_pids({ server => 1, pid => $kid })], [$kid],
        'a single server process: itself';
    is_deeply [main::side_mem_pids({ pid => 1, workers => [$kid] })], [$kid],
        'nginx: its workers';
    my $m = main::mem_kb($kid);
    ok $m->{rss} > 0 && $m->{pss} > 0 && $m->{pss} <= $m->{rss}, 'VmRSS and PSS read';
    kill 'KILL', $kid;
    waitpid $pid, 0;
}

# ---- nothing outlives bench/run: HUP, and KILL (no handler, no END)
SKIP: {
    skip 'the bench peer is not installed (make deps)', 4
        unless -d "$top/bench/peers/node/node_modules";
    -e "$top/build/ngx_http_jpulse_module.so" or BAIL_OUT('build/ is missing: run make');
    for my $sig ('HUP', 'KILL') {
        my $dir = File::Temp->newdir('t762-XXXXXX', TMPDIR => 1);
        my $pid = fork // die;
        if (!$pid) {
            POSIX::setsid();
            open STDOUT, '>', "$dir/out" or die;
            open STDERR, '>&', \*STDOUT or die;
            { exec { "$top/bench/run" } "$top/bench/run", '--rounds', 1, '--duration', 30, '--warmup', 0,
                 '--results', "$dir/last.tsv", 'peer-selftest' }
            POSIX::_exit(127);
        }
        # wait until both sides are up (the round has started)
        my $deadline = time + 120;
        sleep 1 until time > $deadline || slurp("$dir/out") =~ /same body/;
        my $out = slurp("$dir/out");
        my @prefixes = $out =~ /\(prefix (\S+)\)/g;
        my $ps = sub { my $all = `ps -eo pid,args`; grep { my $p = $_; grep { index($p, $_) >= 0 } @prefixes } split /\n/, $all };
        my @before = $ps->();
        ok @prefixes == 2 && @before >= 2, "$sig: node and nginx of peer-selftest are up"
            or diag $out;
        kill $sig, $pid;
        waitpid $pid, 0;
        my $end = time + 20;
        sleep 0.2 while $ps->() && time < $end;
        is join("\n", $ps->()), '', "$sig to bench/run: no node or nginx of it is left";
        # a KILLed harness cannot remove its temp dirs; the processes are what matters
        system('rm', '-rf', @prefixes) if $sig eq 'KILL';
    }
}

done_testing();
