package SessionTest;

# Sessions as jPulse writes them (express-session 1.17 + connect-redis 7,
# contract 4.3), for the session suites: signed cookies made with Perl's
# core Digest::SHA exactly as cookie-signature signs them, and records
# stored the way connect-redis stores them.

use strict;
use warnings;

use Digest::SHA ();
use JSON::PP ();
use POSIX ();

use JPulseTest ();

our $Secret = 'keyboard cat';

# s:<sid>.<base64(HMAC-SHA256(secret, sid)) without '='>, URL-encoded as
# express-session's cookie.serialize (encodeURIComponent) writes it
sub signed {
    my ($sid, $secret) = @_;
    my $sig = Digest::SHA::hmac_sha256_base64($sid, $secret // $Secret);
    $sig =~ s/=+$//;
    return "s:$sid.$sig";
}

sub cookie {
    my ($sid, $secret, $name) = @_;
    my $v = signed($sid, $secret);
    $v =~ s/([^A-Za-z0-9\-_.!~*'()])/sprintf('%%%02X', ord $1)/ge;
    return ($name // 'connect.sid') . "=$v";
}

# jPulse's record of a signed-in user (override fields with %over)
sub user_record {
    my (%over) = @_;
    my $now = time;
    my $exp = POSIX::strftime('%Y-%m-%dT%H:%M:%S.000Z', gmtime($now + 3600));
    my $user = {
        id => '64b7f0c2a1b2c3d4e5f60718', username => 'jdoe',
        email => 'jdoe@example.com', firstName => 'Jane', lastName => 'Doe',
        nickName => 'Jane', initials => 'JD', roles => ['user', 'admin'],
        preferences => { language => 'de', theme => 'dark' },
        isAuthenticated => JSON::PP::true,
        %{ $over{user} // {} },
    };
    my $rec = {
        cookie => { originalMaxAge => 3600000, expires => $exp,
                    secure => JSON::PP::false, httpOnly => JSON::PP::true,
                    path => '/' },
        user => $user,
    };
    delete $rec->{user} if $over{no_user};
    return $rec;
}

# SET <ns>sess:<sid> with connect-redis's TTL; $rec a hash (to JSON) or
# the raw text
sub put {
    my ($redis, $ns, $sid, $rec, $ttl) = @_;
    my $text = ref $rec ? JSON::PP->new->canonical->encode($rec) : $rec;
    JPulseTest::redis_command($redis, 'SET', "${ns}sess:$sid", $text,
                              'EX', $ttl // 3600);
}

1;
