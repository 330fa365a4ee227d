# The W-141 filter syntax on /api/1/log/search: exact, wildcards with
# every other regex metacharacter literal, /regex/, OR, AND, NOT, the
# terms limit; date prefixes as ranges in the server's local time
# (env TZ=America/Los_Angeles: a row at 07:59:59Z is the day before).
# Case-insensitive exact matches need the collation, which the test server
# ignores: not tested here (jp_search's unit tests pin that it is sent).
use lib 't/lib';
use MongoTest ();
use SearchTest qw(search line oid);
use Test::Nginx::Socket;

MongoTest::skip_unless_mongo();

my @who = ('a.b', 'ab', 'a+b', 'a(b)', 'x|y', '[z]', '^c$', 'john.doe',
           'johnXdoe', "O'Brien", 'Los_Angeles/America', 'a\\b');
my @when = ('2025-03-01T07:59:59.000Z', '2025-03-01T08:00:00.000Z',
            '2025-01-01T07:00:00.000Z', '2025-01-01T08:00:00.000Z');
my $i = 0;
SearchTest::seed_logs('t724', map {
    $i++;
    { _id => { '$oid' => oid($i) },
      data => { docType => $i % 2 ? 'user' : 'config',
                action => ('create', 'update', 'delete')[$i % 3],
                docId => "doc$i", changes => [] },
      createdBy => $_,
      createdAt => { '$date' => $when[$i % 4] } }
} @who);

SearchTest::blocks(db => 't724', main => "env TZ=America/Los_Angeles;\n");

our $Result;

sub main::f {
    my ($q) = @_;
    my ($st, $doc) = search("/api/1/log/search?limit=100&sort=_id&$q");
    return "$q => " . ($st == 200
        ? join(' ', map { $_->{createdBy} } @{ $doc->{data} })
        : line($st, $doc)) . "\n";
}

sub main::u { my $s = shift; $s =~ s/([^A-Za-z0-9\-._~*,;!\/])/sprintf '%%%02X', ord $1/ge; $s }

repeat_each(1);

plan tests => repeat_each() * blocks() * 3;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the string syntax table
--- pre_request
$main::Result = join '', map { main::f('createdBy=' . main::u($_)) }
    'a.b', 'a.*', 'a+*', 'a(*', '*|*', '[*', '^*', '*$', 'john.*',
    '/^john.doe$/', 'a.b,x|y', 'john*;!*X*', '*\\*', 'Los_Angeles/America',
    "O'Brien", '*', join(',', ('t') x 51);
--- response_body
createdBy=a.b => a.b
createdBy=a.* => a.b
createdBy=a%2B* => a+b
createdBy=a%28* => a(b)
createdBy=*%7C* => x|y
createdBy=%5B* => [z]
createdBy=%5E* => ^c$
createdBy=*%24 => ^c$
createdBy=john.* => john.doe
createdBy=/%5Ejohn.doe%24/ => john.doe johnXdoe
createdBy=a.b,x%7Cy => a.b x|y
createdBy=john*;!*X* => john.doe
createdBy=*%5C* => a\b
createdBy=Los_Angeles/America => Los_Angeles/America
createdBy=O%27Brien => O'Brien
createdBy=* => a.b ab a+b a(b) x|y [z] ^c$ john.doe johnXdoe O'Brien Los_Angeles/America a\b
createdBy=t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t,t => 400 INVALID_PARAMETER createdBy
--- no_error_log
[error]



=== TEST 2: dates: YYYY, YYYY-MM, YYYY-MM-DD are local-time ranges
--- pre_request
$main::Result = join '', map { main::f($_) }
    'createdAt=2025-03-01', 'createdAt=2025-02-28', 'createdAt=2025-02',
    'createdAt=2025-03', 'createdAt=2024', 'createdAt=2024-12-31',
    'createdAt=2025', 'data.docType=config&createdAt=2025-02',
    'data.action=update';
--- response_body
createdAt=2025-03-01 => a.b x|y johnXdoe
createdAt=2025-02-28 => a(b) john.doe a\b
createdAt=2025-02 => a(b) john.doe a\b
createdAt=2025-03 => a.b x|y johnXdoe
createdAt=2024 => ab [z] O'Brien
createdAt=2024-12-31 => ab [z] O'Brien
createdAt=2025 => a.b a+b a(b) x|y ^c$ john.doe johnXdoe Los_Angeles/America a\b
data.docType=config&createdAt=2025-02 => a(b) john.doe a\b
data.action=update => a.b a(b) ^c$ O'Brien
--- no_error_log
[error]
