# The bench peer's view roots and processes (bench/peers/node), what the
# curves and the invalidation bench rely on: GET /<path>/ renders
# <root>/<path>/index.hbs with partials from <root>/partials/ (first root
# wins), jPulse's dotted helpers and i18n pre-pass work in generated pages,
# a page added later is found, --scan-interval recompiles a changed page,
# partial or translation, --workers N runs a node:cluster whose workers all
# answer and all stop with the primary, and bad arguments fail clearly.
# No nginx here (t/760 compares with nginx); no timing: changes are polled
# for with a generous bound.
use strict;
use warnings;

use lib 't/lib';
use File::Path qw(make_path);
use File::Temp ();
use JSON::PP ();
use POSIX ();
use Test::More;

use BenchPeer;
use JPulseTest ();

my $Bench = File::Spec->rel2abs('bench');
my $Dir = File::Temp::tempdir('jpulse-t761-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub put {
    my ($rel, $text) = @_;
    (my $d = "$Dir/$rel") =~ s{/[^/]+$}{};
    make_path($d);
    open my $fh, '>', "$Dir/$rel" or die "$Dir/$rel: $!";
    print $fh $text;
    close $fh or die "$Dir/$rel: $!";
}

sub body {
    my ($peer, $path) = @_;
    my ($status, $h, $body) = $peer->get($path);
    return "$status $body";
}

# a later mtime than the file had, whatever the file system's granularity
sub bump {
    my ($rel) = @_;
    my $t = time + 5;
    utime $t, $t, "$Dir/$rel" or die "utime $Dir/$rel: $!";
}

put('a/p/0001/index.hbs', <<'EOF');
<h1>{{app.site.shortName}} {{math.add 1 2}}</h1>{{> box n=1}}
<p>{{i18n.view.tides.intro}}</p>{{#each appConfig.view.home.features}}<i>{{this.title}}</i>{{/each}} {{url.param.q}}
EOF
put('a/partials/box.hbs', '[a-box {{n}}]');
put('b/p/0001/index.hbs', 'the second root loses');
put('b/p/0002/index.hbs', '{{> box n=2}} {{> only-b}}');
put('b/partials/box.hbs', '[b-box]');
put('b/partials/only-b.hbs', '[only in b]');
put('i18n/en.json', '{"view":{"tides":{"intro":"{{array.length appConfig.view.tides.readings}} readings of {{app.site.shortName}}"}}}');

my $peer = BenchPeer->start(args => ['--views', "$Dir/a", '--views', "$Dir/b",
                                     '--i18n', "$Dir/i18n",
                                     '--config', "$Bench/site/app.json",
                                     '--scan-interval', '1', '--scan-phase', 'random']);

is(body($peer, '/p/0001/?q=tide'),
   "200 <h1>Tides 3</h1>[a-box 1]\n<p>24 readings of Tides</p>"
   . "<i>Live gauges</i><i>Seven-day forecast</i><i>Harbour notices</i> tide\n",
   'a generated page: jPulse helpers, the i18n pre-pass with expressions, a partial, #each, url.param');
is(body($peer, '/p/0002/'), '200 [a-box 2] [only in b]',
   'the first root wins for partials too; the second root adds what the first lacks');
like(body($peer, '/p/0003/'), qr/^404 .*"code":"NOT_FOUND"/, 'no page: 404');

put('a/p/0003/index.hbs', 'new {{math.add 40 2}}');
is(body($peer, '/p/0003/'), '200 new 42', 'a page added after the start: found at its first request');

# the scan: a page, a partial, a translation changed on disk
put('a/p/0001/index.hbs', 'edited {{> box n=9}} {{i18n.view.tides.intro}}');
bump('a/p/0001/index.hbs');
my $seen = JPulseTest::poll_until(30, sub {
    body($peer, '/p/0001/') eq '200 edited [a-box 9] 24 readings of Tides';
}, 0.2);
ok($seen, '--scan-interval 1 --scan-phase random: an edited page is compiled again')
    or diag(body($peer, '/p/0001/'));

put('a/partials/box.hbs', '<box {{n}}>');
bump('a/partials/box.hbs');
$seen = JPulseTest::poll_until(30, sub {
    body($peer, '/p/0002/') eq '200 <box 2> [only in b]';
}, 0.2);
ok($seen, 'an edited partial: every page that calls it shows it')
    or diag(body($peer, '/p/0002/'));

put('i18n/en.json', '{"view":{"tides":{"intro":"now {{app.site.name}}"}}}');
bump('i18n/en.json');
$seen = JPulseTest::poll_until(30, sub {
    body($peer, '/p/0001/') eq '200 edited <box 9> now Tide Tables of the North Sea';
}, 0.2);
ok($seen, 'an edited translation: the pages are compiled again with it')
    or diag(body($peer, '/p/0001/'));

my ($status, $h, $m) = $peer->get('/api/1/health/metrics');
my $doc = eval { JSON::PP->new->decode($m) } // {};
my $view = $doc->{data}{servers}[0]{instances}[0]{components}{view}{stats} // {};
ok(($view->{scans} // 0) > 0 && ($view->{recompiles} // 0) >= 3,
   'the metrics count the scans and the recompiles')
    or diag($m);
$peer->stop;

# the cluster: both workers answer, and all go with the primary
my $cl = BenchPeer->start(args => ['--workers', '2']);
my %pids;
JPulseTest::poll_until(30, sub {
    my (undef, undef, $b) = $cl->get('/api/1/health/metrics');
    my $d = eval { JSON::PP->new->decode($b) } // {};
    my $pid = $d->{data}{servers}[0]{instances}[0]{pid};
    $pids{$pid} = 1 if $pid;
    return keys %pids == 2;
}, 0.05);
is(scalar keys %pids, 2, '--workers 2: two processes answer on the one port');
{
    # --pid-header yes (BenchPeer's): X-Worker-Pid is the answering worker
    my %hp;
    JPulseTest::poll_until(30, sub {
        my (undef, $h) = $cl->get('/api/1/health/status');
        $hp{ $h->{'x-worker-pid'} } = 1 if $h->{'x-worker-pid'};
        return keys %hp == 2;
    }, 0.05);
    is_deeply([sort keys %hp], [sort keys %pids],
              'X-Worker-Pid names the worker that answered');
}
my $primary = $cl->{pid};
ok(!exists $pids{$primary}, 'the primary itself serves nothing');
$cl->stop;
my @left = grep { kill 0, $_ } keys %pids;
my $gone = JPulseTest::poll_until(10, sub {
    @left = grep { kill 0, $_ } keys %pids;
    !@left;
}, 0.05);
ok($gone, 'SIGTERM to the primary stops its workers') or diag("left: @left");

# bad arguments: exit 2 and a line that says what is wrong
for (
    [[], qr/--port N is required/],
    [['--port', '1', '--workers', '0'], qr/--workers must be 1-256/],
    [['--port', '1', '--redis', '127.0.0.1:1'], qr/--redis needs --secret/],
    [['--port', '1', '--views', "$Dir/nowhere"], qr/not a directory/],
    [['--port', '1', '--bogus', 'x'], qr/unknown argument "--bogus"/],
    [['--port', '1', '--mongo', 'mongodb://127.0.0.1:1'], qr/--mongo URI and --db NAME go together/],
    [['--port', '1', '--scan-phase', 'soon'], qr/--scan-phase must be start or random/],
    [['--port', '1', '--pid-header', 'maybe'], qr/--pid-header must be yes or no/],
) {
    my ($args, $want) = @$_;
    my $out = `node $Bench/peers/node/server.js @$args 2>&1`;
    my $rc = $? >> 8;
    ok($rc == 2 && $out =~ $want, "server.js @$args: exit 2, $want")
        or diag("exit $rc: $out");
}

SKIP: {
    skip 'search.js is there (the search engineer\'s)', 1
        if -e "$Bench/peers/node/search.js";
    my $out = `node $Bench/peers/node/server.js --port 0 --mongo mongodb://127.0.0.1:1 --db x 2>&1`;
    like($out, qr/search\.js is missing/, '--mongo without search.js: says so');
}

done_testing();
