# A -c file that is a FIFO is refused at once (exit 1, "not a regular
# file"), as a FIFO given as --password-file is (t/372): the daemon's
# start under systemd, or its SIGHUP, must not hang on an open() waiting
# for a writer. Before, fopen() blocked until someone wrote to the FIFO:
# the CLI hung, and a reload of a daemon would stop its loop.
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(cli);
use POSIX ();
use Test::Nginx::Socket;

our $Dir = CachectlTest::tmpdir();
our $Result;

POSIX::mkfifo("$Dir/cachectl.conf", 0644) or die "mkfifo: $!";

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

$ENV{TEST_NGINX_FORCE_RESTART_ON_TEST} = 0;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: -c FIFO: exit 1 at once, said
--- pre_request
$main::Result = cli({ timeout => 5 }, '-c', "$main::Dir/cachectl.conf", 'status')
    =~ s/\Q$main::Dir\E/DIR/gr;
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result }
--- response_body
exit 1
stderr: cachectl: DIR/cachectl.conf: not a regular file
