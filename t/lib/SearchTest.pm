package SearchTest;

# Helpers of the search suites (t/720-739): seeding users and logs into
# the Mongo-wire test server, the common nginx configuration, one search
# over HTTP/1.0, cursor walks, cursors forged with a known key, and the
# test server's pid from its port (to stop, continue or kill it).

use strict;
use warnings;

use Cwd ();
use Digest::SHA ();
use Exporter 'import';
use IO::Socket::INET ();
use JSON::PP ();
use MIME::Base64 ();
use POSIX ();
use Time::HiRes ();

use MongoTest ();
use JPulseTest ();

our @EXPORT_OK = qw(seed_users seed_logs search walk oid forge_cursor
                    server_pid line);

our $Secret  = 'search-suite-secret-0123456789abcdef';      # 36 bytes
our $Secret2 = 'search-suite-second-0123456789abcdef';

my $Json = JSON::PP->new->canonical;

$ENV{TEST_NGINX_SEARCH_CONF} = Cwd::getcwd() . '/conf/search';
$ENV{TEST_NGINX_SEARCH_SECRET} = $Secret;
$ENV{TEST_NGINX_SEARCH_SECRET2} = $Secret2;

sub oid { return sprintf '%024x', $_[0] }

sub _date {
    my ($epoch) = @_;
    return { '$date' => POSIX::strftime('%Y-%m-%dT%H:%M:%S.000Z',
                                        gmtime $epoch) };
}

our $SeedPort;

sub _insert {
    my ($db, $coll, @docs) = @_;
    local $ENV{TEST_NGINX_MONGO_PORT} = $SeedPort // $ENV{TEST_NGINX_MONGO_PORT};

    while (my @batch = splice @docs, 0, 2000) {
        my $r = MongoTest::mongo_cmd(insert => $coll, documents => \@batch,
                                     '$db' => $db);
        my $n = ref $r->{n} ? $r->{n}{'$numberInt'} : $r->{n};
        die "mongo insert: " . $Json->encode($r) . "\n"
            unless defined $n && $n == @batch;
    }
}

# $n users: _id oid(1..n); firstName from a set of 7 (ties on every
# page), lastName from 13, createdAt in steps of 10 s from 2025-01-01
# with every 4th the same as the one before (ties on the date too)
my @First = qw(Ann Bob Carl Dora Eve Finn Gus);
my @Last  = qw(Smith Jones Brown Miller Davis Wilson Moore Taylor Thomas
               White Harris Martin Clark);

sub user_doc {
    my ($i) = @_;
    my $t = 1735689600 + 10 * ($i - ($i % 4 == 0 ? 1 : 0));
    return {
        _id => { '$oid' => oid($i) },
        username => sprintf('user%05d', $i),
        email => sprintf('user%05d@example.com', $i),
        passwordHash => '$2b$12$secret' . $i,
        profile => { firstName => $First[$i % @First],
                     lastName => $Last[$i % @Last], nickName => '' },
        roles => $i % 10 == 0 ? ['user', 'admin'] : ['user'],
        status => $i % 3 == 0 ? 'inactive' : 'active',
        loginCount => { '$numberInt' => '' . ($i % 50) },
        createdAt => _date($t),
    };
}

sub seed_users {
    my ($db, $n, @extra) = @_;
    _insert($db, 'users', (map { user_doc($_) } 1 .. $n), @extra);
}

sub seed_logs {
    my ($db, @docs) = @_;
    _insert($db, 'logs', @docs);
}

# GET $path on a fresh connection: (status, decoded body or raw, headers)
sub search {
    my ($path, %opt) = @_;
    my ($status, $h, $body) = JPulseTest::http_get(
        $opt{port} // $Test::Nginx::Socket::ServerPort,
        $path, %opt);
    my $doc = eval { $Json->decode($body) };
    return ($status, $doc // $body, $h);
}

# Pages forward from $path to the end, then back by prev cursors to the
# start: "ok" when every row came once in order both ways, else what
# went wrong. $expect: the _ids in the order of the sort.
sub walk {
    my ($path, $expect) = @_;
    my (@pages, $cursor);

    my $sep = $path =~ /\?/ ? '&' : '?';
    for (my $i = 0; ; $i++) {
        return "no end after $i pages" if $i > @$expect + 2;
        my ($st, $doc) = search($path . ($cursor ? "${sep}cursor="
                                         . _uri($cursor) : ''));
        return "page $i: $st " . (ref $doc ? $Json->encode($doc) : $doc)
            unless $st == 200 && ref $doc;
        push @pages, $doc;
        last unless $doc->{pagination}{hasMore};
        $cursor = $doc->{pagination}{nextCursor}
            or return "page $i: hasMore without nextCursor";
    }

    my @got = map { map { $_->{_id} } @{ $_->{data} } } @pages;
    return "forward: " . _diff(\@got, $expect) if "@got" ne "@$expect";

    return "first page has a prevCursor"
        if defined $pages[0]{pagination}{prevCursor};

    # back from the last page: each prev page is the forward page before
    my $doc = $pages[-1];
    for (my $i = $#pages - 1; $i >= 0; $i--) {
        my $prev = $doc->{pagination}{prevCursor}
            or return "page " . ($i + 1) . " has no prevCursor";
        my $st;
        ($st, $doc) = search($path . "${sep}cursor=" . _uri($prev));
        return "back to page $i: $st " . (ref $doc ? $Json->encode($doc)
                                                    : $doc)
            unless $st == 200 && ref $doc;
        my @want = map { $_->{_id} } @{ $pages[$i]{data} };
        my @have = map { $_->{_id} } @{ $doc->{data} };
        return "back to page $i: " . _diff(\@have, \@want)
            if "@have" ne "@want";
    }

    return 'ok ' . scalar(@pages) . ' pages';
}

sub _diff {
    my ($got, $want) = @_;
    for my $i (0 .. ($#$got > $#$want ? $#$got : $#$want)) {
        next if ($got->[$i] // '') eq ($want->[$i] // '');
        return "row $i: got " . ($got->[$i] // 'nothing') . ", want "
             . ($want->[$i] // 'nothing') . " (" . scalar(@$got) . " rows)";
    }
    return 'same';
}

sub _uri {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9\-._~])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# a cursor as jp_search_cursor_encode makes it: base64url(JSON) "."
# base64url(HMAC-SHA256(key, collection NUL JSON))
sub forge_cursor {
    my ($cursor, $collection, $key) = @_;
    my $json = ref $cursor ? $Json->encode($cursor) : $cursor;
    my $mac = Digest::SHA::hmac_sha256("$collection\0$json", $key);
    return _b64u($json) . '.' . _b64u($mac);
}

sub _b64u {
    my $s = MIME::Base64::encode_base64($_[0], '');
    $s =~ tr{+/}{-_};
    $s =~ s/=+\z//;
    return $s;
}

# The blocks' defaults: a thread pool, MongoDB database $db, the suites'
# cursor secret, /api/1/user/search and /api/1/log/search as jPulse
# serves them, /ping; the request GET /ping, its body replaced by
# $main::Result (what the block's pre_request found).
sub blocks {
    my (%opt) = @_;
    my $db = $opt{db};

    Test::Nginx::Socket::add_block_preprocessor(sub {
        my ($block) = @_;
        return if defined $block->must_die;
        $block->set_value('main_config', "thread_pool default threads=4;\n"
                                         . ($opt{main} // ''))
            unless defined $block->main_config;
        $block->set_value('http_config',
            "jpulse_mongodb mongodb://127.0.0.1:"
            . ($opt{port} // $ENV{TEST_NGINX_MONGO_PORT})
            . ($opt{uri_opts} // '') . " db=$db;\n"
            . "jpulse_cursor_secret $Secret;\n" . ($opt{http} // ''))
            unless defined $block->http_config;
        $block->set_value('config', <<"CONF" . ($opt{config} // ''))
location = /ping { return 200 "pong\n"; }
location = /api/1/health/status { jpulse_health; }
location /api/1/user/search {
    jpulse_search users schema=$ENV{TEST_NGINX_SEARCH_CONF}/users.json;
}
location /api/1/log/search {
    jpulse_search logs schema=$ENV{TEST_NGINX_SEARCH_CONF}/logs.json;
}
CONF
            unless defined $block->config;
        unless (defined $block->request || defined $block->pipelined_requests
                || defined $block->raw_request)
        {
            $block->set_value('request', "GET /ping\n");
            $block->set_value('response_body_filters',
                              sub { $main::Result })
                unless defined $block->response_body_filters;
        }
    });
}

# what search() found, one line: status, the error code, or the _ids
sub line {
    my ($st, $doc) = @_;
    return "$st " . (ref $doc ? ($doc->{success}
        ? "n=$doc->{count} " . join(',', map { hex $_->{_id} }
                                         @{ $doc->{data} })
        : "$doc->{code}" . ($doc->{details} ? " $doc->{details}{param}"
                                              : ''))
        : "raw: " . substr($doc, 0, 200));
}

# A private Mongo-wire test server (killed, stopped, restarted by the
# suite): mongo_start($port) returns its pid once it listens.
my @Started;

sub mongo_start {
    my ($port) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        { exec 'node', 'scripts/mongo-test-server/server.mjs', '--port', $port; }
        POSIX::_exit(127);
    }
    push @Started, $pid;
    JPulseTest::poll_until(10, sub {
        IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 1)
    }) or die "the test server on $port did not start\n";
    return $pid;
}

sub mongo_stop {
    my ($pid, $sig) = @_;
    kill 'CONT', $pid;
    kill $sig // 'KILL', $pid;
    waitpid $pid, 0;
    @Started = grep { $_ != $pid } @Started;
}

sub free_port {
    my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                  LocalPort => 0) or die "no port: $!";
    return $s->sockport;
}

END {
    local $?;
    for my $pid (@Started) {
        kill 'CONT', $pid;
        kill 'KILL', $pid;
        waitpid $pid, 0;
    }
}

# the pid listening on 127.0.0.1:$port (the test server t/run started)
sub server_pid {
    my ($port) = @_;
    my $hex = sprintf '%04X', $port;
    my %inode;
    for my $f ('/proc/net/tcp', '/proc/net/tcp6') {
        open my $fh, '<', $f or next;
        while (<$fh>) {
            my @c = split ' ';
            $inode{$c[9]} = 1 if ($c[1] // '') =~ /:$hex\z/ && $c[3] eq '0A';
        }
    }
    for my $fd (glob '/proc/[0-9]*/fd/*') {
        my $l = readlink $fd or next;
        return $1 if $l =~ /^socket:\[(\d+)\]$/ && $inode{$1}
                     && $fd =~ m{/proc/(\d+)/};
    }
    return undef;
}

1;
