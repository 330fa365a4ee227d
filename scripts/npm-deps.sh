#!/bin/sh
# Installs the Node peers with npm ci, each pinned by its package-lock.json:
# peers/node (express, express-session, connect-redis 7, ioredis: the
# session suites and `make run` start it) and bench/peers/node (the same
# plus handlebars and mongodb: the bench peer of bench/scenarios/peer-*).
# Needs node >= 18 and npm: Debian's nodejs and npm packages when neither
# is there (as root; otherwise it prints the apt-get line and fails). Runs
# npm ci again only when a package-lock.json or node's version changed
# since its last install (one stamp per directory).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
peer="$top/peers/node"

fail() {
    echo "npm-deps: $*" >&2
    exit 1
}

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    if [ "$(id -u)" -ne 0 ]; then
        fail "node and npm are missing; run as root:
    apt-get install -y nodejs npm"
    fi
    echo "npm-deps: installing Debian's nodejs and npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
        || fail "apt-get installed nodejs and npm, but node or npm is not in PATH"
fi

major=$(node -p 'process.versions.node.split(".")[0]') \
    || fail "node does not run"
[ "$major" -ge 18 ] \
    || fail "node $(node --version) is too old: the peer needs node >= 18"

# npm ci in DIR (from its package-lock.json) unless its stamp says the lock
# and node's version are what it was installed with; then IMPORTS must load
npm_install() {
    dir=$1 imports=$2
    stamp="$dir/node_modules/.ngx-jpulse-installed"
    want="$(node --version) $(cksum < "$dir/package-lock.json")"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
        return 0
    fi

    echo "npm-deps: npm ci in ${dir#"$top"/} ($(node --version), npm $(npm --version))"
    # no package of the peers needs an install script: run none
    (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --omit=dev) \
        || fail "npm ci failed in $dir"

    # what the peer imports must load, or the suites and benchmarks fail
    # later and less clearly
    (cd "$dir" && node --input-type=module -e "$imports") \
        || fail "the packages of $dir do not load"

    echo "$want" > "$stamp"
    (cd "$dir" && npm ls --omit=dev --depth=0) || true
}

# the session peer of the suites and of make run
npm_install "$peer" "
    await import('express'); await import('express-session');
    await import('connect-redis'); await import('ioredis');"

# the bench peer (bench/peers/node: bench/scenarios/peer-*.conf, the curves)
npm_install "$top/bench/peers/node" "
    await import('express'); await import('express-session');
    await import('connect-redis'); await import('ioredis');
    await import('handlebars'); await import('mongodb');"
