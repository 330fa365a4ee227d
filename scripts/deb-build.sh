#!/bin/sh
# make deb: the Debian packages libnginx-mod-http-jpulse and jpulse-cachectl
# (debian/, docs/packages.md), binary-only and unsigned, into build/deb/
# (DEB_OUT=DIR elsewhere), then lintian on them.
#
# What it builds: the committed tree, `git archive HEAD` of the paths the
# packages are made of (PATHS below), never untracked files (a stray .orig
# or .swp under dashboard/admin/ would ship). When those paths have
# uncommitted changes it refuses, unless ALLOW_DIRTY=1: then it builds the
# tracked files as they are in the working tree (still no untracked file),
# and says so. t/900-deb.t builds with ALLOW_DIRTY=1 so that `make test`
# with local edits tests them.
#
# dpkg-buildpackage writes its results into the parent of the tree it
# builds, and debhelper its work files into debian/: it builds a copy,
# OUT/ngx-jpulse-VERSION/, so that neither the checkout nor the folder
# above it changes. The copy is removed after a good build (KEEP=1 keeps
# it). In OUT it deletes only what it writes itself (earlier .debs,
# .changes, .buildinfo, its logs, the copy), never anything else: DEB_OUT
# may be a directory that holds other files.
#
# OUT/source-id records what was built (`--source-id` prints the same for
# the tree as it is now: t/900-deb.t rebuilds when they differ).
#
# Prints the build time, the sizes of the .debs and lintian's verdict;
# OUT/build.log and OUT/lintian.txt keep the whole output.
# Exit 1 when the build fails or lintian reports an error or a warning.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

# only what debian/rules and the Makefile's module and cachectl rules read
PATHS="Makefile config libjpulse ngx_jpulse_module cachectl-daemon contrib
dashboard docs/cachectl.1 debian scripts/deb-build.sh"

if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "deb: $top is not a git checkout: the packages are built from its commit" >&2
    exit 1
fi

# the tracked files of PATHS as they are now: path and content, hashed
# (the same as HEAD's when the tree is clean)
source_id() {
    # shellcheck disable=SC2086
    git ls-files -z -- $PATHS | xargs -0 sh -c '
        for f; do
            if [ -e "$f" ]; then printf "%s %s\n" "$f" "$(git hash-object -- "$f")"
            else printf "%s deleted\n" "$f"; fi
        done' sh | sha1sum | cut -d' ' -f1
}

# shellcheck disable=SC2086
dirty=$(git status --porcelain --untracked-files=no -- $PATHS)

if [ "${1:-}" = --source-id ]; then
    source_id
    exit 0
fi

if [ -n "$dirty" ] && [ "${ALLOW_DIRTY:-}" != 1 ]; then
    {
        echo "deb: refusing to build: what the packages are made of has uncommitted changes:"
        echo "$dirty" | sed 's/^/    /'
        echo "deb: commit them (the packages are built from HEAD), or ALLOW_DIRTY=1"
        echo "     to build the tracked files as they are in the working tree"
    } >&2
    exit 1
fi

out=${DEB_OUT:-$top/build/deb}
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src=$out/ngx-jpulse-$version

# only what this script wrote before (R17 M2: DEB_OUT may hold other files)
mkdir -p "$out"
rm -rf "$out"/ngx-jpulse-*/
for p in libnginx-mod-http-jpulse jpulse-cachectl; do
    rm -f "$out/${p}"_*.deb "$out/${p}"-dbgsym_*.deb
done
rm -f "$out"/ngx-jpulse_*.changes "$out"/ngx-jpulse_*.buildinfo \
    "$out"/build.log "$out"/lintian.txt "$out"/lintian.raw "$out"/source-id
mkdir -p "$src"
id=$(source_id)
if [ -z "$dirty" ]; then
    what="commit $(git rev-parse --short HEAD)"
    # shellcheck disable=SC2086
    git archive --format=tar HEAD -- $PATHS | tar xf - -C "$src"
else
    what="the working tree (uncommitted changes; ALLOW_DIRTY=1), on $(git rev-parse --short HEAD)"
    # the tracked files only, as they are now
    # shellcheck disable=SC2086
    git ls-files -z -- $PATHS | xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh \
        | tar cf - --null -T - | tar xf - -C "$src"
fi

start=$(date +%s)
echo "deb: dpkg-buildpackage -b -us -uc in $src (log: $out/build.log)"
echo "deb: built from $what"
if ! (echo "deb: built from $what"; cd "$src" && dpkg-buildpackage -b -us -uc) > "$out/build.log" 2>&1; then
    tail -40 "$out/build.log" >&2
    echo "deb: the build failed (whole log: $out/build.log)" >&2
    exit 1
fi
end=$(date +%s)
[ "${KEEP:-}" = 1 ] || rm -rf "$src"
echo "$id" > "$out/source-id"

echo "deb: built in $((end - start)) s:"
for f in "$out"/libnginx-mod-http-jpulse*_"$version"_*.deb "$out"/jpulse-cachectl*_"$version"_*.deb; do
    printf '    %-60s %8s bytes, installed %s KiB\n' "${f#"$top"/}" \
        "$(stat -c %s "$f")" "$(dpkg-deb -f "$f" Installed-Size)"
done

# the .changes names both .debs and the .buildinfo; --fail-on makes a
# warning as fatal as an error (overrides, each with its reason:
# debian/*.lintian-overrides). lintian's own note that it runs as root is
# not about the packages.
changes=$(ls "$out"/ngx-jpulse_"$version"_*.changes)
rc=0
lintian --fail-on error,warning --display-info --show-overrides "$changes" \
    > "$out/lintian.raw" 2>&1 || rc=$?
grep -v '^running with root privileges' "$out/lintian.raw" \
    > "$out/lintian.txt" || true
rm -f "$out/lintian.raw"
if [ "$rc" -ne 0 ]; then
    echo "deb: lintian failed (exit $rc):" >&2
    sed 's/^/    /' "$out/lintian.txt" >&2
    exit 1
elif [ -s "$out/lintian.txt" ]; then
    echo "deb: lintian: no error or warning; info and overrides:"
    sed 's/^/    /' "$out/lintian.txt"
else
    echo "deb: lintian: clean"
fi
