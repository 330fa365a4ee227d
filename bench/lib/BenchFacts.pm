package BenchFacts;
# Helpers shared by bench/curves/run and bench/report/run (and readable by
# bench/report/write): one format for the machine files (key<TAB>value,
# ISO UTC dates, /proc/loadavg), one TSV reader, one commit string.
use strict;
use warnings;
use Exporter 'import';
use IO::Socket::INET;
use POSIX qw(strftime);

our @EXPORT_OK = qw(read_tsv_rows loadavg git_commit iso_date write_kv free_port);

# rows of a TSV with one header line, as hashes (empty list when missing)
sub read_tsv_rows {
    my ($file) = @_;
    open(my $fh, '<', $file) or return;
    my $h = <$fh> // return;
    chomp $h;
    my @cols = split /\t/, $h, -1;
    my @rows;
    while (my $l = <$fh>) {
        chomp $l;
        next unless $l =~ /\S/;
        my @v = split /\t/, $l, -1;
        push @rows, { map { $cols[$_] => $v[$_] } 0 .. $#cols };
    }
    return @rows;
}

# the 1, 5 and 15 minute load averages, "0.21 0.30 0.40"
sub loadavg {
    open(my $fh, '<', '/proc/loadavg') or return '?';
    my @l = split ' ', <$fh> // '';
    return @l >= 3 ? "@l[0..2]" : '?';
}

# short commit of the repository, "-dirty" with uncommitted changes to
# tracked files
sub git_commit {
    my ($repo) = @_;
    my $c = `git -C '$repo' rev-parse --short HEAD 2>/dev/null` =~ s/\s+//gr || 'unknown';
    return system("git -C '$repo' diff --quiet HEAD -- 2>/dev/null") == 0 ? $c : "$c-dirty";
}

sub iso_date { return strftime('%Y-%m-%dT%H:%M:%SZ', gmtime($_[0] // time)) }

# key<TAB>value lines, whitespace in values folded
sub write_kv {
    my ($file, @kv) = @_;
    open(my $fh, '>', $file) or die "$file: $!\n";
    while (my ($k, $v) = splice(@kv, 0, 2)) {
        $v = '' unless defined $v;
        $v =~ s/\s+/ /g;
        print $fh "$k\t$v\n";
    }
    close $fh or die "$file: $!\n";
}

# a port nobody listens on now (the caller binds it soon after)
sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
        or die "socket: $!\n";
    return $s->sockport;
}

1;
