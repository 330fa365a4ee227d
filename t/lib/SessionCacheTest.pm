package SessionCacheTest;

# Helpers of the session cache suites (t/640-649): jPulse's sessions
# written into Redis as connect-redis writes them, cookies signed as
# express-session signs them, and what nginx made of a request.

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_base64 sha256_hex);
use JSON::PP ();
use JPulseTest ();

our $SECRET = 'cache-suite-secret';

# a sid of 32 base64url characters, as express-session makes them
sub sid {
    my ($n) = @_;
    return sprintf('sc%030d', $n);
}

# what the revocation event names: SHA-256 of the sid, lowercase hex
sub digest {
    my ($sid) = @_;
    return sha256_hex($sid);
}

# the Cookie header line naming $sid, signed with $SECRET
sub cookie {
    my ($sid) = @_;
    my $v = "s:$sid." . hmac_sha256_base64($sid, $SECRET);
    $v =~ s/([^A-Za-z0-9\-_.!~*'()])/sprintf('%%%02X', ord $1)/ge;
    return "Cookie: connect.sid=$v\r\n";
}

# SET <ns>sess:<sid> to a signed-in user's session (TTL an hour, as
# connect-redis does); %opt: username, roles, pad (bytes of filler in
# the user object), isAuthenticated
sub put {
    my ($redis, $ns, $sid, %opt) = @_;
    my $user = {
        id => '665f1c2e9b1d4a0012ab34cd',
        username => $opt{username} // 'jsmith',
        firstName => 'Jane', lastName => 'Smith', initials => 'JS',
        roles => $opt{roles} // ['user'],
        preferences => { language => 'en', theme => 'light' },
        isAuthenticated => exists $opt{isAuthenticated}
                           ? $opt{isAuthenticated} : JSON::PP::true,
    };
    $user->{pad} = 'x' x $opt{pad} if $opt{pad};
    my $json = JSON::PP->new->canonical->encode({
        cookie => { originalMaxAge => 3600000,
                    expires => '2099-01-01T00:00:00.000Z',
                    secure => JSON::PP::false, httpOnly => JSON::PP::true,
                    path => '/' },
        user => $user });
    my $r = JPulseTest::redis_command($redis, 'SET', "${ns}sess:$sid",
                                      $json, 'EX', 3600);
    die "SET: $r" unless $r =~ /^\+OK/;
    return length $json;
}

# GET $path with $sid's cookie: "<state> <username>" from the X-User
# header the suites' locations add
sub who {
    my ($port, $sid, $path) = @_;
    my ($status, $h) = JPulseTest::http_get($port, $path // '/u.txt',
                                            headers => cookie($sid));
    return "status $status" unless $status == 200;
    return $h->{'x-user'} // '(no X-User)';
}

# session GETs Redis ran since the last reset (JPulseTest::redis_calls)
sub gets {
    my ($redis) = @_;
    return JPulseTest::redis_calls($redis, 'get');
}

sub reset_stats {
    my ($redis) = @_;
    JPulseTest::redis_cli($redis, 'CONFIG', 'RESETSTAT');
}

# PUBLISH the revocation event (%data: digests => [...], or a raw message
# string) and wait until Redis wrote it to the subscribers
sub revoke {
    my ($redis, $ns, $data) = @_;
    my $msg = ref $data
        ? JSON::PP->new->canonical->encode({
              channel => 'controller:session:cache:revoked', data => $data,
              instanceId => 'test', timestamp => 1 })
        : $data;
    my ($n) = JPulseTest::redis_pipeline($redis,
        ['PUBLISH', "${ns}bc:controller:session:cache:revoked", $msg]);
    JPulseTest::redis_sync($redis);
    return $n;
}

# the JSON metrics' module stats named in @names, "name=value" a line
sub stats {
    my ($port, @names) = @_;
    my ($status, undef, $body) = JPulseTest::http_get($port, '/m');
    return "metrics: $status" unless $status == 200;
    my $doc = JSON::PP->new->decode($body);
    my $st = $doc->{data}{statistics}{components}{module}{stats};
    return join '', map { "$_=" . ($st->{$_} // '(missing)') . "\n" } @names;
}

1;
