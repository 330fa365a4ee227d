# bench/invalidation/run (issue 15, scenario 5) in small: 2 edits on
# each side with a 0.5 s scan. It exits 0, writes invalidation.tsv
# (system edit latency_ms: 2 cachectl and 2 scan lines, each a latency),
# .meta (the four keys, as given) and .machine (cores, load, command,
# commit, date), and leaves no process or temp dir behind. Bad arguments
# are refused with the usage. No latency is asserted: the figures are the
# machine's, not a property of the code (bench/README.md).
use strict;
use warnings;

use lib 't/lib';
use File::Temp ();
use POSIX ();
use Test::More;

my $top = POSIX::getcwd();
my $run = "$top/bench/invalidation/run";

plan skip_all => 'the bench peer is not installed (make deps)'
    unless -d "$top/bench/peers/node/node_modules";
-e "$top/build/$_" or BAIL_OUT("build/$_ is missing: run make")
    for 'ngx_http_jpulse_module.so', 'cachectl';

sub slurp { local (@ARGV, $/) = @_; return scalar <> }

my $out = File::Temp->newdir('t766-XXXXXX', TMPDIR => 1);
my $log = `$run --out $out --edits 2 --scan-interval 0.5 2>&1`;
is $?, 0, 'bench/invalidation/run exits 0' or diag $log;

my @tsv = split /\n/, slurp("$out/invalidation.tsv") // '';
is shift(@tsv), "system\tedit\tlatency_ms", 'invalidation.tsv: the header';
is_deeply [map { join ' ', (split /\t/)[0, 1] } @tsv],
    ['cachectl 1', 'cachectl 2', 'scan 1', 'scan 2'],
    'one line per edit and system';
is scalar(grep { (split /\t/)[2] =~ /^\d+\.\d$/ } @tsv), 4,
    'each with a latency in ms';

is slurp("$out/invalidation.meta"),
    "scan_interval_s\t0.5\nedits\t2\ninstances\t2\nworkers\t2\n",
    'invalidation.meta';

my %m = map { split /\t/, $_, 2 } split /\n/, slurp("$out/invalidation.machine");
like $m{cores}, qr/^\d+$/, 'machine: cores';
like $m{$_}, qr/load average/, "machine: $_" for 'load_before', 'load_after';
is $m{command}, 'bench/invalidation/run --out ' . $out
    . ' --edits 2 --scan-interval 0.5', 'machine: the command line';
like $m{commit}, qr/^[0-9a-f]{7,}(-dirty)?$/, 'machine: the commit';
like $m{date}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'machine: the date, UTC';

my ($tmp) = $log =~ /^   temp: (\S+)$/m;
ok $tmp && !-e $tmp, 'its temp dir is removed';
my $ps = `ps -eo args`;
ok $tmp && index($ps, $tmp) < 0,
    'nothing it started runs on (nginx, node, cachectl, redis)';

for (['--edits', 0], ['--scan-interval', 0], ['--nope', 1]) {
    my $err = `$run --out $out @$_ 2>&1`;
    isnt $? >> 8, 0, "@$_ is refused";
    like $err, qr/usage: bench\/invalidation\/run/, "@$_: the usage";
}

done_testing();
