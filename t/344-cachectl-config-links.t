# Config and translation files are read only when they stay in their own
# directory: a symlink from the i18n directory or in place of the app
# config to a file elsewhere is refused (the log says so, Redis keeps
# what it had) while a link inside the directory is fine. A file refused
# for bad JSON is named with line, column and the kind of error, never
# with its text (a config holds passwords).
#
# The one-shot `cachectl sync` drives the publisher. A private
# redis-server, namespace "t344:prod:".
use lib 't/lib';
use JPulseTest qw(redis_start);
use CachectlTest qw(write_file);
use Test::Nginx::Socket;

our $Redis = redis_start();
our $NS = 't344:prod:';
our $Dir = CachectlTest::tmpdir();
our @Cli = ('--redis', "127.0.0.1:$Redis->{port}", '--site-id', 't344');
our $Result;

sub main::rcli { my $o = JPulseTest::redis_cli($main::Redis, @_); chomp $o; $o }

# "exit N" and the error lines of the log, without their prefix
sub main::sync {
    my ($code, $out, $err) = CachectlTest::cachectl(@main::Cli, 'sync', @_);
    return "exit $code\n" . join '', map { s/^.*? cachectl\[\d+\] //r . "\n" }
        grep { / error: / } split /\n/, $err;
}

sub main::keys_now {
    return join(' ', sort grep { length } split /\n/,
                main::rcli('KEYS', "${main::NS}*")) . "\n";
}

repeat_each(1);

plan tests => repeat_each() * blocks() * 2;

CachectlTest::ping_blocks();

no_shuffle();
run_tests();

__DATA__

=== TEST 1: links out of the i18n directory and an app config that is a
link out of its directory are not read; a link inside is
--- pre_request
write_file("$main::Dir/secret/shadow.json", '{"password":"hunter2"}');
write_file("$main::Dir/i18n/en.json", '{"hello":"hello"}');
symlink "$main::Dir/secret/shadow.json", "$main::Dir/i18n/de.json" or die;
symlink 'en.json', "$main::Dir/i18n/fr.json" or die;
mkdir "$main::Dir/conf";
symlink "$main::Dir/secret/shadow.json", "$main::Dir/conf/app.json" or die;
$main::Result = main::sync('--i18n', "$main::Dir/i18n",
                           '--app-config', "$main::Dir/conf/app.json")
    . "keys: " . main::keys_now()
    . "hunter2 in Redis: "
    . (main::rcli('MGET', "${main::NS}i18n:de", "${main::NS}cfg:app")
       =~ /hunter2/ ? 'yes' : 'no') . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result =~ s/\Q$main::Dir\E/DIR/gr }
--- response_body
exit 0
error: DIR/conf/app.json: a link out of its directory, not read; the config in Redis stays
error: refused DIR/i18n/de.json: a link out of its directory, not read
keys: t344:prod:gen t344:prod:i18n:en t344:prod:i18n:fr
hunter2 in Redis: no



=== TEST 2: bad JSON in the app config and in a translation: refused
with file:line:column and the kind of error, never the text
--- pre_request
write_file("$main::Dir/conf2/app.json",
           qq({"email": {"smtpPass": hunter2secret}}\n));
write_file("$main::Dir/i18n2/en.json", qq({\n  "key": tr0ub4dor\n}\n));
write_file("$main::Dir/i18n2/de.json", qq(["not", "an", "object"]\n));
my ($code, $out, $err) = CachectlTest::cachectl(@main::Cli, 'sync',
    '--i18n', "$main::Dir/i18n2", '--app-config', "$main::Dir/conf2/app.json");
$main::Result = "exit $code\n"
    . join('', sort map { s/^.*? cachectl\[\d+\] //r . "\n" }
                grep { / error: / } split /\n/, $err)
    . "the text quoted: "
    . ($err =~ /hunter2secret|tr0ub4dor/ ? 'yes' : 'no') . "\n";
--- request
GET /ping
--- response_body_filters eval
sub { $main::Result =~ s/\Q$main::Dir\E/DIR/gr }
--- response_body
exit 1
error: refused DIR/conf2/app.json:1:29: invalid JSON; the config in Redis stays
error: refused DIR/i18n2/de.json:1:1: not a JSON object
error: refused DIR/i18n2/en.json:2:11: invalid JSON
the text quoted: no
