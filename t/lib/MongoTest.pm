package MongoTest;

# The Mongo-wire test server that t/run starts (TEST_NGINX_MONGO_PORT,
# TEST_MONGO_URI; scripts/mongo-test-server). A suite that needs it calls
# skip_unless_mongo() first; mongo_cmd(name => value, ...) runs one
# command (its pairs in order: the command's name first; values in
# Extended JSON: dates as { '$date' => ISO }) through t/lib/mongo-cmd.mjs
# and returns the decoded reply.

use strict;
use warnings;

use Exporter 'import';
use File::Temp ();
use JSON::PP ();
use POSIX ();

our @EXPORT_OK = qw(mongo_port mongo_uri mongo_cmd mongo_insert
                    skip_unless_mongo iso);

my $Json = JSON::PP->new->canonical;

sub mongo_port { return $ENV{TEST_NGINX_MONGO_PORT} }

# the URI of database $db (credentials: "user:pass@")
sub mongo_uri {
    my ($db, $cred) = @_;
    return 'mongodb://' . ($cred // '') . '127.0.0.1:' . mongo_port()
         . '/' . ($db // '');
}

sub skip_unless_mongo {
    return if mongo_port();
    require Test::More;
    Test::More::plan(skip_all => 'no Mongo-wire test server (make deps)');
}

sub mongo_cmd {
    my (@pairs) = @_;

    my @parts;
    while (my ($k, $v) = splice @pairs, 0, 2) {
        push @parts, $Json->encode($k) . ':' . $Json->encode($v);
    }

    my $tmp = File::Temp->new;
    print $tmp '{' . join(',', @parts) . '}';
    close $tmp;

    my $out = `node t/lib/mongo-cmd.mjs @{[ mongo_port() ]} - < @{[ $tmp->filename ]}`;
    return eval { $Json->decode($out) } // { error => $out };
}

# mongo_insert($db, $collection, @documents): dies unless all went in
sub mongo_insert {
    my ($db, $coll, @docs) = @_;

    while (my @batch = splice @docs, 0, 500) {
        my $r = mongo_cmd(insert => $coll, documents => \@batch,
                          '$db' => $db);
        my $n = ref $r->{n} ? $r->{n}{'$numberInt'} : $r->{n};
        die "mongo insert: " . $Json->encode($r) . "\n"
            unless defined $n && $n == @batch;
    }
}

# { '$date' => ... } $s seconds from now (or at epoch ms $ms)
sub iso {
    my ($s) = @_;
    my $t = time + $s;
    return { '$date' => POSIX::strftime('%Y-%m-%dT%H:%M:%S.000Z',
                                        gmtime $t) };
}

1;
