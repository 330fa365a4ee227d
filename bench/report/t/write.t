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
