# A session is what Node's JSON.stringify() wrote, and Node writes JSON
# that jansson (and, for the first case, Redis's cjson) refuses: a lone
# UTF-16 surrogate as \udXXX (a name cut inside a pair, or sent so by
# the user in a profile update), a NUL as \u0000, an integer past 2^63 as
# its digits. Node reads such a session back: the user is logged in. So
# the daemon must index it under its user id and "revoke-user" must find
# it and delete it (the Lua check of user.id included), and a revoked one
# that comes back is deleted again with its index entry. Before, such a
# session was in no index and "revoke-user u5" said "no session of user
# u5" (exit 1) while the user stayed logged in.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(daemon_start write_file cli);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't390:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't390');

write_file("$Dir/views/index.shtml", "<p>v1</p>\n");

# the user part as JSON.stringify() writes it, with $extra in it
our %Sess = (
    surrogate => [u5 => '"firstName":"Jo\ud83d"'],
    nul       => [u5 => '"nickName":"a\u0000b"'],
    bigint    => [u5 => '"loginCount":100000000000000000000'],
    plain     => [u5 => '"firstName":"Ann"'],
    nulid     => ["u5\\u0000x" => '"firstName":"Eve"'],
);
our %Sid = map { $_ => $_ . 'x' x (32 - length $_) } keys %Sess;

sub main::set {
    my ($name) = @_;
    my ($uid, $extra) = @{ $main::Sess{$name} };
    JPulseTest::redis_command($main::Redis, 'SET',
        "${main::NS}sess:$main::Sid{$name}",
        '{"cookie":{"originalMaxAge":3600000,"path":"/"},'
        . qq("user":{"id":"$uid","username":"u",$extra,"isAuthenticated":true}}),
        'EX', 3600);
}

sub main::left {
    return join(' ', sort map { s/^.*sess://r =~ s/x{4,}//r }
                     split /\n/, JPulseTest::redis_cli($main::Redis,
                         '--scan', '--pattern', "${main::NS}sess:*")) || 'none';
}

main::set($_) for keys %Sess;

our $Daemon = daemon_start(redis => $Redis, site_id => 't390',
                           views => ["$Dir/views"]);
our $Result;

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the daemon indexes the four sessions of u5 (not the one whose
id only starts with "u5" before a NUL); revoke-user u5 finds and deletes
all four; the surrogate one comes back (a request in flight) and is
deleted again, out of the index
--- pre_request
my $indexed = CachectlTest::poll_until(10, sub {
    JPulseTest::redis_cli($main::Redis, 'SCARD', "${main::NS}sessidx:u5") =~ /^4\b/ });
my $members = join ' ', sort map { s/x{4,}//r } split /\n/,
    JPulseTest::redis_cli($main::Redis, 'SMEMBERS', "${main::NS}sessidx:u5");
my $revoke = cli(@main::Cli, 'sessions', 'revoke-user', 'u5', '--json');
my $left = main::left();
main::set('surrogate');
my $gone = CachectlTest::poll_until(10, sub { main::left() eq 'nulid' });
$main::Result = "indexed: $members\n"
    . "revoke-user: $revoke"
    . "left: $left\n"
    . "came back, deleted again: " . ($gone ? 'yes' : 'no: ' . main::left()) . "\n"
    . "index: " . (JPulseTest::redis_cli($main::Redis, 'SCARD',
                       "${main::NS}sessidx:u5") =~ s/\s+//gr) . "\n";
$main::Result =~ s/x{4,}//g;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
indexed: bigint nul plain surrogate
revoke-user: exit 0
{"revoked":4,"sessions":["bigint","nul","plain","surrogate"],"kept":[],"dryRun":false}
left: nulid
came back, deleted again: yes
index: 0
