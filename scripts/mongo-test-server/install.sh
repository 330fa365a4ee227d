#!/bin/sh
# Installs the Mongo-wire test server of the suites (CongoDB, from
# @push.rocks/smartmongo 2.2.0) into scripts/mongo-test-server/node_modules.
# Called by "make deps"; idempotent: a second run checks and does nothing.
#
# A plain "npm install @push.rocks/smartmongo@2.2.0" fails (a transitive
# version that the registry no longer serves, in dependencies CongoDB does
# not use), so: npm ci of the six packages CongoDB imports (pinned in
# package-lock.json), then the smartmongo tarball itself, checked against
# its registry integrity, unpacked beside them without its dependencies.
set -eu

SMARTMONGO=@push.rocks/smartmongo@2.2.0
INTEGRITY=sha512-ovVCNoJ3D0aBuKtoKaQWWQKvBngaGJq9fAPQigzji1EHsS1XyGpXWCpe5nq/ptGvBROOcpqZcOFEGAcrnb+OjA==

dir=$(cd "$(dirname "$0")" && pwd)
cd "$dir"

die() {
    echo "mongo-test-server: $*" >&2
    exit 1
}

command -v node >/dev/null 2>&1 || die "node is missing (Debian: apt-get install nodejs)"
command -v npm >/dev/null 2>&1 || die "npm is missing (Debian: apt-get install npm)"

stamp=node_modules/.ngx-jpulse-installed
want="$SMARTMONGO $(cat package-lock.json | cksum)"

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
   && node server.mjs --check >/dev/null 2>&1
then
    exit 0
fi

echo "mongo-test-server: installing CongoDB ($SMARTMONGO) in $dir"
rm -rf node_modules
npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
    || die "npm ci failed"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$SMARTMONGO" >/dev/null) \
    || die "npm pack $SMARTMONGO failed"
tgz=$(ls "$tmp"/*.tgz) || die "npm pack left no tarball"

got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
[ "$got" = "$INTEGRITY" ] \
    || die "$SMARTMONGO: integrity $got, expected $INTEGRITY"

mkdir -p node_modules/@push.rocks/smartmongo
tar xzf "$tgz" -C node_modules/@push.rocks/smartmongo --strip-components=1 \
    || die "cannot unpack $tgz"

node server.mjs --check || die "the installed server does not load"
echo "$want" > "$stamp"
echo "mongo-test-server: installed"
