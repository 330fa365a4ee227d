#!/usr/bin/perl
# bench/report/t/write.t - the report writer against hand-made results
# (t/fixture: every part present, one scenario broken, two pairs noisy) and
# against nothing at all. Run: prove bench/report/t/ (or perl this file).
# Checks what the report says, not the pixels: look at the PNGs yourself.

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use Test::More;

my $T = dirname(abs_path($0));
my $WRITE = dirname($T) . '/write';

sub run_write {
    my ($dir) = @_;
    my $out = `'$WRITE' '$dir' 2>&1`;
    return ($? >> 8, $out, do { local (@ARGV, $/) = "$dir/report.md"; -e $ARGV[0] ? <> : '' });
}

# 1. every part there
my $d = tempdir(CLEANUP => 1);
system('cp', '-r', "$T/fixture/.", $d) == 0 or die 'cp';
my ($st, $out, $md) = run_write($d);
is($st, 0, 'fixture: exit 0') or diag $out;
my @png = map { s{.*/}{}r } glob("$d/benchmarks/*.png");
is_deeply([sort @png], [sort qw(peer-ratio-cpu.png peer-ratio-rps.png peer-rps.png cdf-peer-page.png cdf-peer-session.png
                                cdf-paced-peer-page.png cdf-paced-peer-session.png
                                cdf-peer-selftest.png invalidation.png curve-pagesize.png
                                curve-templates.png curve-connections.png curve-instances.png)],
          'fixture: one chart per figure');
like($md, qr/\(benchmarks\/peer-ratio-cpu\.png\)/, 'charts linked relative (copy to docs/ as is)');
unlike($md, qr/\Q$d\E/, 'no absolute path of the results directory in the report');
like($md, qr/\| `peer-page` \| ngx_jpulse render \| 2,100 \| 56,900 \| \*\*30\.1×\*\* ✔ \| 27\.8–30\.4 \| 27\.1× \| 25\.9–28\.3 \|/,
     'peer-page row: both sides\' req/s, the judged cpu ratio with its rounds from the log, the req/s ratio');
like($md, qr/\| `peer-selftest` \| nginx static \| 25,000 \| 76,000 \| 3\.20× \| - \| \*\*3\.05×\*\* ✔ \|/,
     'a scenario judged on req/s (no cpu verdict in its log or file)');
like($md, qr/page, rendered per request \(ngx_jpulse render \/ Node\): CPU \*\*30\.1×\*\* per core \(rounds 27\.8–30\.4; target ≥ 25: PASS\), req\/s 27\.1×/,
     'summary line: the judged ratio first');
like($md, qr/`peer-metrics`: \*\*not measured\*\*: node server did not accept/,
     'an ERROR scenario shows as not measured, with its error');
like($md, qr/NOISY.*\n(?:.*\n)*- `peer-page-static` \(per core[^)]*\): req\/s round ratios 38\.0-52\.0, 35 %/,
     'a spread over 10 % of the ratio is flagged NOISY at the top');
unlike($md, qr/- `peer-page` \(per core/, 'a spread under 10 % of the ratio is not NOISY');
like($md, qr/periodic mtime scan gives, with a scan every 5 s/, 'invalidation: scan interval stated');
like($md, qr/\| cachectl \| 50 \|/, 'invalidation: edits counted per system');
like($md, qr/Command: `bench\/run \.\.\. \(fixture\)`; 2 cores, load average before 0\.21/,
     'machine facts under each section');
like($md, qr/commit `abc1234`/, 'the commit of the measurement');
like($md, qr/`peer-selftest` Node 61,200 kB/, 'rss reports shown');

# latency (review R15b 1): the paced part is the comparison; saturation
# CDFs are labelled as such, with connections, sample counts and a cut tail
like($md, qr/### 2\.1 At a fixed rate/, 'latency: a fixed-rate section');
like($md, qr/20 connections; offered ≈ 500 req\/s per side \(20 connections × 1000 ÷ 40 ms\); the CDF from 1 of 3 rounds of 5 s/,
     'fixed rate: connections, offered rate, rounds stated');
like($md, qr/Node peer: p50 [\d.]+ ms, p99 [\d.]+ ms, ≈ 2,490 requests \(drawn to p99\.5: at most 10 requests beyond\); 498 req\/s measured/,
     'fixed rate: sample count and the cut (1 - 10/n) per side');
like($md, qr/### 2\.2 At saturation \(closed loop/, 'saturation CDFs labelled as closed loop');
like($md, qr/Node peer: p50 [\d.]+ ms, p99 [\d.]+ ms, ≈ 4,200 requests \(drawn to p99\.5: at most 10 requests beyond\); 2,100 req\/s, so connections ÷ req\/s = 23\.81 ms/,
     'saturation: n, the cut, and what the closed loop predicts');
ok(-e "$d/benchmarks/cdf-paced-peer-page.png", 'a chart per paced scenario');
# noise (R15b 7): neighbours' CPU, not the load our own benchmark makes
unlike($md, qr/`peer-(?:latency|allcores)` \(load\)/, 'load 3.4 on 2 cores from our own run: not NOISY');
like($md, qr/`curves` \(load\): other processes used 24 % of the machine/, 'others_cpu_pct 24: NOISY');
like($md, qr/other processes 2\.5 % of the CPU/, 'neighbours\' share shown in the facts');

# curves (R15b 8, 4, 6): a broken point is listed, not joined over; rounds
# that disagree are NOISY; the instances figures say what they include
like($md, qr/\*\*not measured\*\* \(the line breaks there\): 64 node: node server did not accept/,
     'curve: a broken point listed as not measured');
like($md, qr/\*\*NOISY points\*\*: 16 node: rounds 1,500–2,300 req\/s, 41 % of the median apart/,
     'curve: a point whose rounds disagree flagged');
like($md, qr/- curve `pagesize`: 16 node/, 'curve: noisy point in the summary at the top');
like($md, qr/measured at `interval=1s`; nginx's default is 15 s.*cachectl daemon's own commands/,
     'instances: heartbeat interval and cachectl stated');
like($md, qr/idle commands and idle CPU, measured for a few seconds before it, are taken off/,
     'instances: idle CPU taken off, said');

like($md, qr/every 60 s: p50 [\d,.]+ ms, max [\d,.]+ ms; every 600 s: p50/, 'invalidation: the scan scaled to 60 s and 600 s');

# a scenario with few requests: its tail is cut, not drawn from the max
my $f = tempdir(CLEANUP => 1);
system('cp', '-r', "$T/fixture/.", $f) == 0 or die 'cp';
system('perl', '-i', '-F\t', '-lape', 's/^(\S+\tpeer-session\t(?:[^\t]*\t){3})1500\.0/${1}20.0/', "$f/peer-1core.tsv") == 0 or die;
(undef, undef, my $fmd) = run_write($f);
like($fmd, qr/#### page, signed-in user.*\n(?:.*\n)*?.*Node peer: p50 [\d.]+ ms, ≈ 40 requests \(drawn to p75: at most 10 requests beyond\)/,
     '40 requests: cut at p75, no p99 claimed');
# a part stopped at its cap (R15b 3): the scenarios it meant to run and
# never did are "not measured" in the summary
open(my $mf, '>>', "$f/run-peer-1core.machine") or die;
print $mf "scenarios\tpeer-selftest peer-page peer-session peer-search\n";
close $mf;
(undef, undef, $fmd) = run_write($f);
like($fmd, qr/- search, 50 users \(jpulse_search \/ Node\): per core not measured/,
     'summary: a planned scenario the capped part never ran');
# the per-core part ran and left no TSV (R15b 3): the summary says so
unlink "$f/peer-1core.tsv";
(undef, undef, $fmd) = run_write($f);
like($fmd, qr/- page, rendered per request [^\n]*: per core not measured; CPU \*\*/,
     'summary: "per core not measured" beside the all-cores ratio');

# bench/run's own verdict and cpu_round_ratios columns (comma-separated)
# win over the log, which may be missing
my $g = tempdir(CLEANUP => 1);
system('cp', '-r', "$T/fixture/.", $g) == 0 or die 'cp';
unlink "$g/logs/peer-1core.log";
system('perl', '-F\t', '-i', '-lape', 'if ($.==1) { $_ .= "\tverdict\tcpu_round_ratios" } '
       . 'elsif (/\tpeer-page\t/) { $_ .= "\tcpu\t28.0000,31.5000,30.1000" } else { $_ .= "\trps\t" }',
       "$g/peer-1core.tsv") == 0 or die;
(undef, undef, my $gmd) = run_write($g);
like($gmd, qr/\| `peer-page` \| ngx_jpulse render \| 2,100 \| 56,900 \| \*\*30\.1×\*\* ✔ \| 28\.0–31\.5 \|/,
     'TSV columns verdict and cpu_round_ratios (comma list) used without the log');

# 2. a run where every part failed or never ran
my $e = tempdir(CLEANUP => 1);
open(my $fh, '>', "$e/peer-1core.tsv") or die;
print $fh "timestamp\tscenario\tresult\tratio\n";          # header only
close $fh;
open($fh, '>', "$e/run-curves.machine") or die;
print $fh "cores 2\nstatus 124\nwhy stopped after its cap of 320 s, see logs/curves.log\n";
close $fh;
($st, $out, $md) = run_write($e);
is($st, 0, 'nothing measured: still exit 0') or diag $out;
like($md, qr/\*\*not measured\*\*: peer-1core\.tsv has a header and no rows/, 'empty TSV');
like($md, qr/\*\*not measured\*\*: no file peer-allcores\.tsv \(the part was not run/, 'missing TSV');
like($md, qr/\*\*not measured\*\*: stopped after its cap of 320 s.*\(no file curves\/pagesize\.tsv\)/,
     'a part stopped at its cap says so');
is(scalar(() = glob("$e/benchmarks/*.png")), 0, 'no empty charts');

done_testing();
