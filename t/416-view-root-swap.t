# A deploy that swaps a release directory behind a symlink (current ->
# releases/2) while nginx runs, without Redis: the page from disk is the
# new release's within the check interval, includes too,
# on a keep-alive connection; a root that stops resolving (the link
# removed mid-deploy) keeps serving the last release and is logged once.
# Before, each worker resolved its roots once at start and served the old
# release until a reload.
use strict;
use warnings;

use lib 't/lib';
use File::Temp ();
use HTTP::Tiny ();
use Test::More;
use Time::HiRes ();

use JPulseTest qw(nginx_start nginx_stop poll_until view_tree);

my $dir = File::Temp::tempdir('jpulse-t416-XXXXXX', TMPDIR => 1,
                              CLEANUP => 1);
chmod 0755, $dir;

for my $n (1, 2, 3) {
    view_tree("$dir/releases/$n", {
        'home/index.shtml' => "release $n {{file.include \"part.tmpl\"}}\n",
        'part.tmpl'        => "part$n",
        'about/index.shtml' => "about $n\n",
    });
}
view_tree("$dir/fw", {
    'error/index.shtml' => "E{{url.param.code}}\n",
});

symlink "releases/1", "$dir/current" or die "symlink: $!";

sub swap {
    my ($to) = @_;
    unlink "$dir/current.new";
    symlink "releases/$to", "$dir/current.new" or die "symlink: $!";
    rename "$dir/current.new", "$dir/current" or die "rename: $!";
}

my $n = nginx_start(workers => 1, http => <<"HTTP", config => <<'CONF');
    jpulse_view_roots $dir/current $dir/fw;
    jpulse_template_check_interval 200ms;
HTTP
        location / { jpulse_render; }
CONF

my $ua = HTTP::Tiny->new(keep_alive => 1, timeout => 5);
my $base = "http://127.0.0.1:$n->{port}";

sub page { my $r = $ua->get("$base$_[0]"); return "$r->{status} $r->{content}" }

sub error_log {
    open my $fh, '<', "$n->{dir}/logs/error.log" or return '';
    local $/;
    return <$fh>;
}

is page('/home/'), "200 release 1 part1\n", 'release 1 served';
is page('/about/'), "200 about 1\n", 'another page';

swap(2);

ok poll_until(5, sub { page('/home/') eq "200 release 2 part2\n" }),
   'after the swap, release 2 (page and include) within the interval';
is page('/about/'), "200 about 2\n", 'and the other page';
like error_log(), qr/jpulse_view_roots: "\Q$dir\E\/current" now leads to "[^"]*releases\/2"/,
     'the move is logged';

# the link gone half-way through a deploy: the last release stays
unlink "$dir/current" or die;
Time::HiRes::sleep(0.5);
is page('/home/'), "200 release 2 part2\n", 'a root gone: the last release is served';
is page('/home/'), "200 release 2 part2\n", 'still';
my @warn = error_log() =~ /a view root no longer resolves/g;
is scalar @warn, 1, 'logged once';

symlink "releases/3", "$dir/current" or die;
ok poll_until(5, sub { page('/home/') eq "200 release 3 part3\n" }),
   'the link back, to release 3: served';
unlike error_log(), qr/\[(alert|crit|emerg)\]/, 'no alert';

nginx_stop($n);
done_testing();
