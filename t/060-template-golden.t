# cachectl render: the CLI on the template engine. The page-by-page golden
# comparison (fixed clock) is t/unit/test_tpl_golden.c; this suite checks
# what only the CLI does: exit statuses, FILE:LINE:COLUMN errors, options.
use strict;
use warnings;
use Test::More;
use File::Temp qw(tempdir);

my $ctl = $ENV{TEST_NGINX_CACHECTL} || 'build/cachectl';
my $site = 'examples/site';
my @roots = ('--root', "$site/site/webapp/view", '--root', "$site/webapp/view");
my $dir = tempdir(CLEANUP => 1);

sub run_ctl {
    my @args = @_;
    my $pid = open(my $out, '-|');
    die "fork: $!" unless defined $pid;
    if ($pid == 0) {
        open(STDERR, '>', "$dir/stderr") or die;
        exec($ctl, 'render', @args) or die "exec $ctl: $!";
    }
    local $/;
    my $stdout = <$out> // '';
    close($out);
    my $rc = $? >> 8;
    open(my $e, '<', "$dir/stderr") or die;
    my $stderr = <$e> // '';
    return ($rc, $stdout, $stderr);
}

sub write_file {
    my ($name, $text) = @_;
    open(my $f, '>', "$dir/$name") or die;
    print $f $text;
    close($f);
    return "$dir/$name";
}

my ($rc, $out, $err);

# a page of the example site, both languages
($rc, $out, $err) = run_ctl("$site/webapp/view/home/index.shtml", @roots,
    '--i18n', "$site/webapp/translations", '--lang', 'de',
    '--context', 't/golden/contexts/admin.json');
is($rc, 0, 'home page renders') or diag($err);
like($out, qr{<html lang="de" data-theme="dark">}, 'context values');
like($out, qr{<h1>Gezeitentafeln</h1>}, 'i18n');
like($out, qr{Hallo Jana, willkommen}, 'expression inside a translation');
like($out, qr{<p v-if="loaded">\{\{ liveLevel \}\} \{\{ unit \}\}</p>},
     'Vue passes through');
unlike($out, qr{<!-- Error}, 'no helper errors');

# request data is escaped even in compatible mode
($rc, $out, $err) = run_ctl("$site/webapp/view/error/index.shtml", @roots,
    '--i18n', "$site/webapp/translations", '--lang', 'en',
    '--context', 't/golden/contexts/xss.json');
is($rc, 0, 'error page renders');
like($out, qr{&lt;script&gt;alert\(document.cookie\)}, 'url.param escaped');
unlike($out, qr{<script>alert}, 'no reflected script');

# strict mode
my $page = write_file('s.shtml', '{{h}}|{{{h}}}');
my $ctx = write_file('ctx.json', '{"h":"<i>"}');
($rc, $out) = run_ctl($page, '--context', $ctx);
is($out, '<i>|<i>', 'compatible mode: raw');
($rc, $out) = run_ctl($page, '--context', $ctx, '--strict');
is($out, '&lt;i&gt;|<i>', 'strict mode: escaped unless triple');

# includes default to FILE's directory, and stay inside it
write_file('inc.tmpl', "<!--\n * \@name inc\n-->\nI{{v}}");
$page = write_file('i.shtml',
    '{{file.include "inc.tmpl" v=1}}{{file.include "../etc/passwd"}}');
($rc, $out) = run_ctl($page);
is($rc, 0, 'include renders');
like($out, qr{^I1<!-- Error: Handlebar "file.include "../etc/passwd""}, 'include');
like($out, qr{Prohibited path in include: \.\./etc/passwd\. Use relative paths from view root only\. -->$},
     'traversal refused');

# an unbalanced block renders as jPulse renders it; --check says where
$page = write_file('bad.shtml', "<p>\n  {{#if user}}x{{/each}}\n");
($rc, $out, $err) = run_ctl($page);
is($rc, 0, 'an unbalanced page renders');
is($out, "<p>\n  <!-- Error: Unbalanced handlebar \"#if user\" removed -->x"
    . "<!-- Error: Unbalanced handlebar \"/each\" removed -->\n",
    'as jPulse: error comments, the text stays');
($rc, $out, $err) = run_ctl($page, '--check');
is($rc, 1, '--check exits 1');
is($out, '', 'nothing printed');
like($err, qr{^\Q$page\E:2:3: unbalanced "\{\{#if user\}\}"}, 'file:line:col');
($rc, $out, $err) = run_ctl(write_file('ok.shtml', '{{#if a}}x{{/if}}'),
    '--check');
is($rc, 0, '--check of a clean page exits 0');
is($err, '', 'and says nothing');

($rc, $out, $err) = run_ctl("$dir/missing.shtml");
is($rc, 1, 'missing file exits 1');

$ctx = write_file('bad.json', '{"a":');
($rc, $out, $err) = run_ctl($page, '--context', $ctx);
is($rc, 1, 'bad context exits 1');
like($err, qr{bad\.json:1:}, 'context error names the file');

# usage errors exit 2
for my $args ([], ['a', 'b'], ['a', '--lang', 'en'], ['a', '--bogus', 'x'],
              ['a', '--i18n', $dir, '--lang', '../en'], ['a', '--context'])
{
    ($rc) = run_ctl(@$args);
    is($rc, 2, "usage error: @$args");
}

done_testing();
