#!/bin/sh
# The cost of one batch in a big tree (issue 11, item 16): FILES files in
# directories of 100, the daemon started with --rescan 0 on a private
# redis-server, then EDITS single-file edits, each waited for; prints the
# "published 1 view ... in N ms" times the daemon logged.
#
#   bench/cachectl/batch-cost.sh [BINARY] [FILES] [EDITS]
#
# Needs redis-server and redis-cli; uses a temporary directory it removes.
set -eu

bin=${1:-build/cachectl}
files=${2:-100000}
edits=${3:-5}
dir=$(mktemp -d /tmp/cachectl-cost-XXXXXX)
# a port nobody listens on
port=$(perl -MIO::Socket::INET -e 'print IO::Socket::INET->new(Listen => 1,
    LocalAddr => "127.0.0.1", LocalPort => 0)->sockport')

cleanup() {
    [ -n "${dpid:-}" ] && kill "$dpid" 2>/dev/null && wait "$dpid" 2>/dev/null
    # only the redis-server started here, by its pid
    [ -s "$dir/redis.pid" ] && kill "$(cat "$dir/redis.pid")" 2>/dev/null
    rm -rf "$dir" 2>/dev/null || { sleep 1; rm -rf "$dir"; }
}
trap cleanup EXIT INT TERM

redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
    --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
    >/dev/null
until [ -s "$dir/redis.pid" ] && redis-cli -p "$port" ping >/dev/null 2>&1
do
    grep -q aborting "$dir/redis.log" 2>/dev/null && {
        echo "redis-server did not start" >&2; exit 1; }
    sleep 0.1
done

# FILES files, 100 per directory
mkdir -p "$dir/view"
perl -e '
    my ($root, $n) = @ARGV;
    for my $i (0 .. $n - 1) {
        my $d = sprintf "%s/d%04d", $root, $i / 100;
        mkdir $d unless -d $d;
        open my $fh, ">", "$d/f$i.shtml" or die "$d/f$i: $!";
        print $fh "<p>page $i</p>\n";
        close $fh;
    }' "$dir/view" "$files"

# the file edited: one in the middle of the tree
mid=$((files / 2))
target=$(printf '%s/view/d%04d/f%d.shtml' "$dir" $((mid / 100)) "$mid")

"$bin" --redis "127.0.0.1:$port" --site-id cost daemon --views "$dir/view" \
    --rescan 0 >"$dir/daemon.log" 2>&1 &
dpid=$!

# the start: one full publish
until grep -q "published $files view" "$dir/daemon.log"; do sleep 0.5; done
grep "published $files view" "$dir/daemon.log" | sed 's/^.*: /start: /'
sleep 1

i=0
while [ "$i" -lt "$edits" ]; do
    i=$((i + 1))
    n=$(grep -c "published 1 view" "$dir/daemon.log" || true)
    echo "<p>edit $i</p>" > "$target"
    until [ "$(grep -c "published 1 view" "$dir/daemon.log" || true)" -gt "$n" ]
    do
        sleep 0.05
    done
    grep "published 1 view" "$dir/daemon.log" | tail -1 \
        | sed "s/^.*: /edit $i: /"
    sleep 0.5
done
