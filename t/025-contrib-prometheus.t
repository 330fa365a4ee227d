# contrib/prometheus/alerts.yml and contrib/grafana/ngx_jpulse.json against
# what a real nginx exports: every jpulse_* series they read is in a scrape
# of `jpulse_metrics prometheus` (with a heartbeat, a cachectl daemon
# refusing two files and a Node-less cluster in Redis), the scrape passes
# promtool, every dashboard query parses, and each alert's promtool test
# passes. The cluster families: the heartbeat listed (then not, once its
# key is gone), the instances by kind, cachectl's refused files with a
# hostile instance id escaped; none of them while Redis is away.
use strict;
use warnings;

use lib 't/lib';
use File::Temp ();
use HTTP::Tiny ();
use JSON::PP ();
use Test::More;

use JPulseTest qw(redis_start redis_stop nginx_start nginx_stop poll_until
                  redis_command);
use DashboardTest ();

my $top = "$FindBin::Bin/..";
BEGIN { require FindBin; FindBin->import }

my $redis = redis_start();
my $ns = 'prom:dev:';
my $mongo = $ENV{TEST_MONGO_URI}
    or plan skip_all => 'no Mongo-wire test server (t/run starts one)';

my $n = nginx_start(workers => 2, http => <<"HTTP", config => <<'CONF');
    jpulse_site_id prom;
    jpulse_mode dev;
    jpulse_metrics_zone jpulse 1m;
    jpulse_redis 127.0.0.1:$redis->{port};
    jpulse_heartbeat interval=200ms ttl=1s;
    jpulse_mongodb $mongo/t025;
HTTP
        location = /metrics { jpulse_metrics prometheus; }
CONF

my $ua = HTTP::Tiny->new(keep_alive => 1, timeout => 5);
my $url = "http://127.0.0.1:$n->{port}/metrics";

sub scrape { my $r = $ua->get($url); return $r->{status} == 200 ? $r->{content} : "status $r->{status}\n$r->{content}" }

DashboardTest::put_instance($redis, ns => $ns, id => '9:200:7',
                            kind => 'cachectl', refused => 2);
DashboardTest::put_instance($redis, ns => $ns, id => 'evil"\\id',
                            kind => 'cachectl', refused => 1);
DashboardTest::put_instance($redis, ns => $ns, id => '8:100:5');

my $text;
ok poll_until(10, sub {
    $text = scrape();
    $text =~ /^jpulse_heartbeat_listed 1$/m
        && $text =~ /^jpulse_cluster_instances\{kind="cachectl"\} 2$/m
}), 'the heartbeat is listed and both daemons are seen' or diag $text;

like $text, qr/^jpulse_heartbeat_interval_seconds 0\.200$/m, 'the interval';
like $text, qr/^jpulse_cluster_instances\{kind="nginx"\} 2$/m,
     'two nginx: this one and the peer';
like $text, qr/^jpulse_cluster_instances\{kind="node"\} 0$/m, 'no Node';
like $text, qr/^jpulse_cachectl_refused_files\{instance_id="9:200:7"\} 2$/m,
     "cachectl's refused files";
like $text, qr/^jpulse_cachectl_refused_files\{instance_id="evil\\"\\\\id"\} 1$/m,
     'a hostile instance id, escaped';
is JPulseTest::promtool_check($text), "promtool: ok\n", 'the scrape passes promtool';

# every series the alerts and the dashboard read is exported
my %have = map { /^(jpulse_\w+)/ ? ($1 => 1) : () } split /\n/, $text;
for my $h (keys %have) {
    (my $base = $h) =~ s/_(bucket|sum|count)$//;
    $have{$base} = 1;
}

sub slurp { open my $fh, '<', $_[0] or die "$_[0]: $!"; local $/; <$fh> }

my $alerts = slurp("$top/contrib/prometheus/alerts.yml");
my $grafana = JSON::PP->new->decode(slurp("$top/contrib/grafana/ngx_jpulse.json"));

my @exprs;
for my $p (@{ $grafana->{panels} }) {
    push @exprs, map { $_->{expr} } @{ $p->{targets} // [] };
}
ok @exprs > 20, scalar(@exprs) . ' dashboard queries';

# the series of the alerts' expressions (their texts name directives too)
my (%used, $block);
for (split /\n/, $alerts) {
    if (/^(\s+)expr: (.*)$/) {
        $block = $2 eq '|' ? length $1 : undef;
        $used{$_} = 1 for $2 =~ /\b(jpulse_\w+)/g;
    } elsif (defined $block && /^(\s*)\S/ && length $1 > $block) {
        $used{$_} = 1 for /\b(jpulse_\w+)/g;
    } else {
        $block = undef;
    }
}
ok keys %used > 10, scalar(keys %used) . ' series in the alerts';
for (@exprs) { $used{$_} = 1 for /\b(jpulse_\w+)/g }
my @missing = grep { !$have{$_} } sort keys %used;
is "@missing", '', 'every jpulse_* series of contrib/ is exported'
    or diag "used: @{[ sort keys %used ]}";

# the dashboard's queries parse (as recording rules, its variables filled)
my $rules = File::Temp->new(SUFFIX => '.yml');
print $rules "groups:\n  - name: grafana\n    rules:\n";
my $i = 0;
for my $e (@exprs) {
    (my $q = $e) =~ s/\$__rate_interval/1m/g;
    $q =~ s/\$instance/.*/g;
    $q =~ s/'/''/g;
    $i++;
    print $rules "      - record: grafana:q$i\n        expr: '$q'\n";
}
close $rules;
my $out = `promtool check rules $rules 2>&1`;
is $?, 0, 'promtool parses every dashboard query' or diag $out;

$out = `cd $top/contrib/prometheus && promtool check rules alerts.yml 2>&1 && promtool test rules alerts_test.yml 2>&1`;
is $?, 0, 'promtool: the alerts check and their tests pass' or diag $out;

# the heartbeat gone from the registry (another instance took the id's
# place, or Redis refused the script): not listed until written again
redis_command($redis, 'CONFIG', 'SET', 'maxmemory', '1');
redis_command($redis, 'CONFIG', 'SET', 'maxmemory-policy', 'noeviction');
redis_command($redis, 'ZREM', "${ns}metrics:registry",
              JPulseTest::redis_cli($redis, 'ZRANGE', "${ns}metrics:registry",
                                    0, -1) =~ /^(\d+:100:\d+)$/mg);
ok poll_until(5, sub { scrape() =~ /^jpulse_heartbeat_listed 0$/m }),
   'a heartbeat Redis refuses: listed 0';
redis_command($redis, 'CONFIG', 'SET', 'maxmemory', '0');
ok poll_until(5, sub { scrape() =~ /^jpulse_heartbeat_listed 1$/m }),
   'written again: listed 1';

# Redis away: this instance only, no cluster family
redis_stop($redis);
ok poll_until(10, sub { scrape() =~ /^jpulse_dependency_up\{dependency="redis"\} 0$/m }),
   'Redis down seen';
$text = scrape();
unlike $text, qr/^jpulse_(heartbeat_listed|cluster_instances|cachectl_refused)/m,
       'no cluster family while Redis is away';
like $text, qr/^jpulse_heartbeat_interval_seconds 0\.200$/m, 'the interval still';
is JPulseTest::promtool_check($text), "promtool: ok\n", 'and it passes promtool';

nginx_stop($n);
my $log = slurp("$n->{dir}/logs/error.log");
unlike $log, qr/\[(alert|crit|emerg)\]/, 'no alert in error.log';
done_testing();
