# The revocation event (protocol.md): cachectl publishes jPulse's
# broadcast shape on <ns>bc:controller:session:cache:revoked, data.digests
# (SHA-256 of each sid, hex; never a sid: jPulse forwards controller:*
# broadcasts to anonymous WebSocket clients) in batches of at most 100,
# for "sessions revoke", "revoke-user", the daemon's removal at
# --session-max-age and a revoked session that came back; a dry run
# publishes nothing. A PUBLISH refused (or unanswered): revoke and
# revoke-user say so on stderr and exit 3, the sessions stay revoked. The daemon also keeps
# <ns>cachectl:sessmaxage (the limit in ms, PX 3 pass intervals + 60 s)
# for the module's touch, and deletes it when the limit is 0.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(cli daemon_start daemon_stop write_file);
use Digest::SHA qw(sha256_hex);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $Dir = CachectlTest::tmpdir();
our $Result;

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

sub main::session {
    my ($ns, $sid, $uid) = @_;
    JPulseTest::redis_command($main::Redis, 'SET', "${ns}sess:$sid",
        '{"cookie":{"originalMaxAge":3600000,"path":"/"},'
        . qq("user":{"id":"$uid","username":"u","isAuthenticated":true}}),
        'EX', 3600);
    $main::Sid{ sha256_hex($sid) } = $sid;
}

# the sids whose digests the events may name (main::session's)
our %Sid;

# what a message's digests name: the sids, "?" for an unknown digest
sub main::named {
    my ($j) = @_;
    return map { $main::Sid{$_} // '?' } @{ $j->{data}{digests} // [] };
}

# every message until none comes for $wait s: "channel: shape, sids";
# "sid in it!" when a message holds a sid
sub main::heard {
    my ($sub, $wait) = @_;
    my (@out, @sids);
    while (my $m = JPulseTest::redis_next_message($sub, $wait // 1)) {
        my $j = CachectlTest::json_decode($m->[1]);
        my $d = $j->{data} // {};
        push @sids, main::named($j);
        push @out, 'sid in it!'
            if grep { index($m->[1], $_) >= 0 } values %main::Sid;
        push @out, "$m->[0]: "
            . join(',', sort keys %$j) . " channel=$j->{channel}"
            . ' instanceId=' . ($j->{instanceId} =~ /^\d+:200:\d+$/
                                ? 'ok' : $j->{instanceId})
            . ' timestamp=' . ($j->{timestamp} =~ /^\d{13}$/ ? 'ok' : 'bad')
            . ' data=' . join(',', sort keys %$d)
            . ' digests=' . scalar(@{ $d->{digests} // [] });
    }
    return (\@out, \@sids);
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: revoke and revoke-user publish the digests of the sids they
revoked, 100 a
message; --dry-run and a revoke of nothing publish nothing
--- pre_request
my $ns = 't670a:prod:';
my @cli = ('--redis', "127.0.0.1:$main::Redis->{port}", '--site-id', 't670a');
my $one = 'one' . 'x' x 29;
main::session($ns, $one, 'u1');
main::session($ns, sprintf('many%03d', $_) . 'y' x 25, 'u2') for 1 .. 250;
my $sub = JPulseTest::redis_psubscribe($main::Redis, "${ns}bc:*");
my $r = '';
$r .= 'exit ' . (CachectlTest::cachectl(@cli, 'sessions', 'revoke', $one, '--dry-run'))[0] . "\n";
$r .= 'exit ' . (CachectlTest::cachectl(@cli, 'sessions', 'revoke-user', 'u2', '--dry-run'))[0] . "\n";
$r .= 'exit ' . (CachectlTest::cachectl(@cli, 'sessions', 'revoke', 'nope'))[0] . "\n";
my ($heard) = main::heard($sub, 0.5);
$r .= " dry: " . scalar(@$heard) . "\n";
$r .= 'exit ' . (CachectlTest::cachectl(@cli, 'sessions', 'revoke', $one))[0] . "\n";
my ($h1, $s1) = main::heard($sub);
$r .= "$_\n" for @$h1;
$r .= "sid: " . ($s1->[0] eq $one ? 'the one' : $s1->[0]) . "\n";
$r .= 'exit ' . (CachectlTest::cachectl(@cli, 'sessions', 'revoke-user', 'u2'))[0] . "\n";
my ($h2, $s2) = main::heard($sub);
$r .= "$_\n" for @$h2;
my %u = map { $_ => 1 } @$s2;
$r .= "sids: " . scalar(keys %u) . " distinct, all many*: "
    . ((grep { !/^many\d{3}y+$/ } keys %u) ? 'no' : 'yes') . "\n";
$main::Result = $r;
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 0
exit 0
exit 1
 dry: 0
exit 0
t670a:prod:bc:controller:session:cache:revoked: channel,data,instanceId,timestamp channel=controller:session:cache:revoked instanceId=ok timestamp=ok data=digests digests=1
sid: the one
exit 0
t670a:prod:bc:controller:session:cache:revoked: channel,data,instanceId,timestamp channel=controller:session:cache:revoked instanceId=ok timestamp=ok data=digests digests=100
t670a:prod:bc:controller:session:cache:revoked: channel,data,instanceId,timestamp channel=controller:session:cache:revoked instanceId=ok timestamp=ok data=digests digests=100
t670a:prod:bc:controller:session:cache:revoked: channel,data,instanceId,timestamp channel=controller:session:cache:revoked instanceId=ok timestamp=ok data=digests digests=50
sids: 250 distinct, all many*: yes



=== TEST 2: the daemon: a session past the age limit, then the same
session saved again (a request in flight): an event each; the max-age
key with its TTL, deleted once the limit is 0
--- pre_request
my $ns = 't670b:prod:';
my $sid = 'old' . 'z' x 29;
main::session($ns, $sid, 'u9');
# first seen long ago: past the limit at the first pass
JPulseTest::redis_command($main::Redis, 'HSET', "${ns}cachectl:sessfirst",
                          $sid, '1000 u9');
my $sub = JPulseTest::redis_psubscribe($main::Redis, "${ns}bc:controller:session:*");
my $d = daemon_start(redis => $main::Redis, site_id => 't670b',
                     views => ["$main::Dir/views"],
                     args => ['--session-max-age', 3600,
                              '--session-pass-interval', 2]);
my $m1 = JPulseTest::redis_next_message($sub, 10);
my $gone = CachectlTest::poll_until(10, sub {
    JPulseTest::redis_cli($main::Redis, 'EXISTS', "${ns}sess:$sid") =~ /^0/ });
main::session($ns, $sid, 'u9');
my $m2 = JPulseTest::redis_next_message($sub, 10);
my $max = JPulseTest::redis_cli($main::Redis, 'GET', "${ns}cachectl:sessmaxage") =~ s/\s+//gr;
my $pttl = JPulseTest::redis_cli($main::Redis, 'PTTL', "${ns}cachectl:sessmaxage") =~ s/\s+//gr;
my $r = "removed: " . ($gone ? 'yes' : 'no') . "\n";
for my $m ($m1, $m2) {
    my $j = $m ? CachectlTest::json_decode($m->[1]) : {};
    $r .= "event: " . ($m ? $m->[0] : 'none') . " sids="
        . join(',', map { $_ eq $sid ? 'old' : $_ } main::named($j))
        . "\n";
}
$r .= "sessmaxage: $max, ttl within 66 s: "
    . ($pttl > 60000 && $pttl <= 66000 ? 'yes' : $pttl) . "\n";
daemon_stop($d);
$d = daemon_start(redis => $main::Redis, site_id => 't670b',
                  views => ["$main::Dir/views"],
                  args => ['--session-max-age', 0,
                           '--session-pass-interval', 2]);
my $deleted = CachectlTest::poll_until(10, sub {
    JPulseTest::redis_cli($main::Redis, 'EXISTS', "${ns}cachectl:sessmaxage") =~ /^0/ });
$r .= "limit 0: key deleted: " . ($deleted ? 'yes' : 'no') . "\n";
daemon_stop($d);
$main::Result = $r;
--- response_body_filters eval
sub { $main::Result }
--- response_body
removed: yes
event: t670b:prod:bc:controller:session:cache:revoked sids=old
event: t670b:prod:bc:controller:session:cache:revoked sids=old
sessmaxage: 3600000, ttl within 66 s: yes
limit 0: key deleted: yes



=== TEST 3: a session gone at the age limit by its own TTL (cut to the
limit): the cleanup's tombstone comes with an event too
--- pre_request
my $ns = 't670c:prod:';
my $sid = 'ran-out' . 'w' x 25;
my ($s) = split /\n/, JPulseTest::redis_cli($main::Redis, 'TIME');
# first seen past the limit (an hour) by 100 s, the key already gone
$main::Sid{ sha256_hex($sid) } = $sid;
JPulseTest::redis_command($main::Redis, 'HSET', "${ns}cachectl:sessfirst",
                          $sid, ($s - 3700) * 1000 . ' u7');
# the session channel only: the daemon's own publish at start is an event
# on the same bc: namespace
my $sub = JPulseTest::redis_psubscribe($main::Redis,
                                       "${ns}bc:controller:session:*");
my $d = daemon_start(redis => $main::Redis, site_id => 't670c',
                     views => ["$main::Dir/views"],
                     args => ['--session-max-age', 3600,
                              '--session-pass-interval', 2]);
my $m = JPulseTest::redis_next_message($sub, 10);
my $j = $m ? CachectlTest::json_decode($m->[1]) : {};
my $stone = JPulseTest::redis_cli($main::Redis, 'ZSCORE', "${ns}cachectl:revoked", $sid);
daemon_stop($d);
$main::Result = "event: " . ($m ? $m->[0] : 'none') . " sids="
    . join(',', map { $_ eq $sid ? 'ran-out' : $_ } main::named($j)) . "\n"
    . "tombstone: " . ($stone =~ /^\d+/ ? 'yes' : 'none') . "\n";
--- response_body_filters eval
sub { $main::Result }
--- response_body
event: t670c:prod:bc:controller:session:cache:revoked sids=ran-out
tombstone: yes



=== TEST 4: the PUBLISH refused (ACL: no publish): revoke and revoke-user
say so on stderr and exit 3; the sessions are revoked all the same
--- pre_request
my $ns = 't670d:prod:';
my @cli = ('--redis', "127.0.0.1:$main::Redis->{port}", '--site-id', 't670d');
my $one = 'acl' . 'x' x 29;
main::session($ns, $one, 'u1');
main::session($ns, sprintf('acl%03d', $_) . 'y' x 26, 'u2') for 1 .. 3;
JPulseTest::redis_cli($main::Redis, 'ACL', 'SETUSER', 'default', '-publish');
my @a = CachectlTest::cachectl(@cli, 'sessions', 'revoke', $one);
my @b = CachectlTest::cachectl(@cli, 'sessions', 'revoke-user', 'u2');
JPulseTest::redis_cli($main::Redis, 'ACL', 'SETUSER', 'default', '+publish');
my $left = JPulseTest::redis_cli($main::Redis, 'KEYS', "${ns}sess:*");
my $r = '';
for my $x (\@a, \@b) {
    $r .= "exit $x->[0]\n$x->[1]"
        . ($x->[2] =~ s/\(Redis: NOPERM[^)]*\)/(Redis: NOPERM ...)/r);
}
$r .= "left: " . ($left =~ /sess:/ ? $left : 'none') . "\n";
$main::Result = $r;
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 3
revoked 1 session
cachectl: revoked, but the revocation event was not published (Redis: NOPERM ...): nginx workers may serve it from their session cache for up to its TTL
exit 3
revoked 3 sessions of user u2
cachectl: revoked, but the revocation event was not published (Redis: NOPERM ...): nginx workers may serve them from their session cache for up to its TTL
left: none
