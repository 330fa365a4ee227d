#!/bin/sh
# Installs the Node peer (peers/node: express, express-session,
# connect-redis 7, ioredis, pinned by its package-lock.json) with npm ci.
# The session suites and `make run` start it. Needs node >= 18 and npm:
# Debian's nodejs and npm packages when neither is there (as root;
# otherwise it prints the apt-get line and fails). Runs npm ci again only
# when package-lock.json or node's version changed since the last install.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
peer="$top/peers/node"
stamp="$peer/node_modules/.ngx-jpulse-installed"

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

want="$(node --version) $(cksum < "$peer/package-lock.json")"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi

echo "npm-deps: npm ci in peers/node ($(node --version), npm $(npm --version))"
# no package of the peer needs an install script: run none
(cd "$peer" && npm ci --ignore-scripts --no-audit --no-fund --omit=dev) \
    || fail "npm ci failed in $peer"

# what the peer imports must load, or the suites fail later and less clearly
(cd "$peer" && node --input-type=module -e "
    await import('express'); await import('express-session');
    await import('connect-redis'); await import('ioredis');") \
    || fail "the peer's packages do not load"

echo "$want" > "$stamp"
(cd "$peer" && npm ls --omit=dev --depth=0) || true
