#!/bin/sh
# Installs the Debian packages ngx_jpulse needs to build, test and run.
# As root it runs apt-get; otherwise it prints the apt-get line and fails.
set -eu

PACKAGES="
    gcc make pkg-config clang openssl
    nginx nginx-dev
    libhiredis-dev libmongoc-dev libbson-dev libjansson-dev libssl-dev
    libpcre2-dev
    redis-server redis-tools redis-sentinel
    libcmocka-dev
    libtest-base-perl libtest-longstring-perl libtext-diff-perl liburi-perl
    libwww-perl liblist-moreutils-perl libipc-run-perl libhttp-message-perl
    prometheus wrk
    nodejs
    gnuplot-nox
    dpkg-dev debhelper lintian adduser
    chromium
"

# the Mongo-wire test server (scripts/mongo-test-server) runs on Node.js:
# Debian's npm only where no npm came with the installed nodejs (a nodejs
# package that bundles npm conflicts with Debian's)
if ! command -v npm >/dev/null 2>&1; then
    PACKAGES="$PACKAGES npm"
fi

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages; run as root:" >&2
    echo "    apt-get install -y$missing" >&2
    exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# an old or empty package list finds nothing: refresh it first
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq $missing
