# Signed-in users for the suites of the gates (t/620-639): jPulse's
# session JSON (contract 4.3) written into the private Redis, and the
# connect.sid cookie that names it, signed as express-session signs it
# (cookie-signature: HMAC-SHA256, base64 without '=', then
# encodeURIComponent).
package GatesTest;

use strict;
use warnings;

use Digest::SHA qw(hmac_sha256_base64);
use POSIX ();

use JPulseTest ();

our $Secret = 'gates-secret-of-the-tests';

# the Cookie header's pair for sid
sub cookie {
    my ($sid, $secret) = @_;

    my $signed = 's:' . $sid . '.' . hmac_sha256_base64($sid,
                                                         $secret // $Secret);
    $signed =~ s/([^A-Za-z0-9\-_.!~*'()])/sprintf('%%%02X', ord $1)/ge;
    return "connect.sid=$signed";
}

# jPulse's session JSON for a user (the fields login writes, in its order)
sub session_json {
    my (%u) = @_;

    my $expires = POSIX::strftime('%Y-%m-%dT%H:%M:%S.000Z',
                                  gmtime(time + 3600));
    my $roles = join ',', map { qq("$_") } @{ $u{roles} // ['user'] };
    my $auth = exists $u{isAuthenticated} ? $u{isAuthenticated} : 'true';

    return '{"cookie":{"originalMaxAge":3600000,"expires":"' . $expires
        . '","secure":false,"httpOnly":true,"path":"/"},"user":{'
        . qq("id":"$u{id}","username":"$u{username}","email":")
        . ($u{email} // "$u{username}\@example.com") . '",'
        . qq("firstName":"$u{firstName}","lastName":"$u{lastName}",)
        . qq("nickName":"$u{nickName}","initials":"$u{initials}",)
        . qq("roles":[$roles],"preferences":)
        . ($u{preferences} // '{"language":"en","theme":"light"}')
        . qq(,"isAuthenticated":$auth}});
}

# the session of sid in Redis under the namespace ns, for an hour
sub put_session {
    my ($redis, $ns, $sid, $json) = @_;

    my $r = JPulseTest::redis_command($redis, 'SET', "${ns}sess:$sid",
                                      $json, 'EX', 3600);
    die "SET ${ns}sess:$sid: $r" unless $r =~ /^\+OK/;
}

# the usual cast: Ada the admin, Bob the user, Eve the editor
our %Users = (
    ada => { id => '65a1f0c2e4b0a1b2c3d4e5f6', username => 'ada',
             firstName => 'Ada', lastName => 'Lovelace', nickName => 'Ada',
             initials => 'AL', roles => ['user', 'admin'] },
    bob => { id => '65a1f0c2e4b0a1b2c3d4e5f7', username => 'bob',
             firstName => 'Bob', lastName => '', nickName => 'Bobby',
             initials => 'B', roles => ['user'] },
    eve => { id => '65a1f0c2e4b0a1b2c3d4e5f8', username => 'eve',
             firstName => 'Eve', lastName => 'Editor', nickName => 'Eve',
             initials => 'EE', roles => ['user', 'editor'] },
);

# writes the cast's sessions (sid "<name>-session-id-0123456789abcdef",
# 32 characters as express-session's) and returns name => cookie
sub cast {
    my ($redis, $ns, %extra) = @_;

    my %users = (%Users, %extra);
    my %cookies;

    for my $name (keys %users) {
        my $sid = substr("$name-session-id-0123456789abcdefghij", 0, 32);
        put_session($redis, $ns, $sid, session_json(%{ $users{$name} }));
        $cookies{$name} = cookie($sid);
    }

    return %cookies;
}

1;
