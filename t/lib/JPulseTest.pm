package JPulseTest;

# Helpers for the ngx_jpulse suites, used as response_body_filters:
# they turn a response into short, stable text to compare against.
# Plain Perl on Debian's packages, so the .t files keep running under
# upstream Test::Nginx::Socket too.

use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use JSON::PP ();

our @EXPORT_OK = qw(json_pick promtool_check);


# json_pick('data.a', 'data.list.0.b', ...) returns a filter that decodes
# the body as JSON and prints one "path=value" line per path: strings as
# they are, numbers as numbers, true/false, null, (missing), and objects or
# arrays as canonical JSON. Invalid JSON prints "invalid JSON: ...".
sub json_pick {
    my @paths = @_;

    return sub {
        my ($body) = @_;
        my $doc = eval { JSON::PP->new->decode($body) };

        return "invalid JSON: $@" unless defined $doc;

        return join '', map { "$_=" . _render(_lookup($doc, $_)) . "\n" }
                        @paths;
    };
}


sub _lookup {
    my ($node, $path) = @_;

    for my $step (split /\./, $path) {
        if (ref $node eq 'HASH' && exists $node->{$step}) {
            $node = $node->{$step};

        } elsif (ref $node eq 'ARRAY' && $step =~ /^\d+$/ && $step < @$node) {
            $node = $node->[$step];

        } else {
            return \'(missing)';
        }
    }

    return $node;
}


sub _render {
    my ($value) = @_;

    return 'null' unless defined $value;
    return $$value if ref $value eq 'SCALAR';
    return $value ? 'true' : 'false' if JSON::PP::is_bool($value);
    return JSON::PP->new->canonical->encode($value) if ref $value;
    return $value;
}


# A filter: "promtool: ok" when `promtool check metrics` accepts the body,
# else what promtool said.
sub promtool_check {
    my ($body) = @_;
    my $tmp = File::Temp->new;

    print $tmp $body;
    close $tmp;

    my $out = `promtool check metrics < $tmp 2>&1`;

    return $? == 0 ? "promtool: ok\n" : "promtool failed:\n$out";
}


1;
