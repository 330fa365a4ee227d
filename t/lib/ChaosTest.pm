package ChaosTest;

# The goals of chaos/faults' RESULT lines, for t/830 and t/831: for each
# fault asked, a RESULT line, no crash, no session lost by us, recovered
# within its bound, and its own goals (or "skipped": said why by the
# script, e.g. disk-full without root).
#
#   ChaosTest::check($out, @faults);

use strict;
use warnings;

use Test::More;

sub check {
    my ($out, @faults) = @_;
    my %r;

    for (split /\n/, $out) {
        next unless /^RESULT (\S+) (.*)$/;
        $r{$1} = { map { split /=/, $_, 2 } split ' ', $2 };
    }

    for my $f (@faults) {
        my $r = $r{$f};
        ok($r, "$f: a RESULT line") or next;
        if ($r->{goals} eq 'skipped') {
            pass("$f: not run here");
            next;
        }
        is($r->{crashes}, 0, "$f: no crash");
        is($r->{lost_us}, 0, "$f: no session lost by us");
        ok($r->{recovered} ne 'no' && $r->{recovered} <= $r->{bound},
           "$f: recovered in $r->{recovered} s (bound $r->{bound} s)");
        is($r->{goals}, 'ok', "$f: its own goals")
            or diag grep { /^   / } split /\n/, $out;
    }
}

1;
