# The instance registry is read as Redis holds it: a member id is binary
# (anyone who may write the namespace may register one), and the key
# status and instances MGET for it is the namespace, the prefix and the
# id's bytes, a NUL included. Before, the key was built with "%s" (cut at
# the NUL) but sent with the id's full length: the bytes after the NUL
# were uninitialized heap memory of the CLI, sent to Redis as part of a
# key, and the record was never found ("Daemon none running", exit 1).
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(cli);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't395:prod:';
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't395');
our $Result;

my $id = "nul\0id";
JPulseTest::redis_command($Redis, 'ZADD', "${NS}metrics:registry",
                          '9999999999999', $id);
JPulseTest::redis_command($Redis, 'SET', "${NS}cachectl:status:$id",
    '{"instanceId":"nul-id","hostname":"h1","views":["/v"]}', 'EX', 300);
JPulseTest::redis_command($Redis, 'SET', "${NS}metrics:instance:$id",
    '{"kind":"cachectl","hostname":"h1","ip":"10.0.0.1",'
    . '"uptimeFormatted":"1s","instances":[{"instanceId":"nul-id"}]}', 'EX', 300);

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: status and instances find the records of an id with a NUL
--- pre_request
my ($rc, $out) = CachectlTest::cachectl(@main::Cli, 'status');
my ($irc, $inst) = CachectlTest::cachectl(@main::Cli, 'instances', '--json');
my $j = CachectlTest::json_decode($inst);
$main::Result = "status: exit $rc\n" . join('', grep { /^Daemon/ } split /^/, $out)
    . "instances: exit $irc, " . scalar(@{ $j || [] }) . " ("
    . join(' ', map { $_->{hostname} } @{ $j || [] }) . ")\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
status: exit 0
Daemon     nul-id on h1: 0 files tracked, last sync never
instances: exit 0, 1 (h1)
