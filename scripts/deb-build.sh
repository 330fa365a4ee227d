#!/bin/sh
# make deb: the Debian packages libnginx-mod-http-jpulse and jpulse-cachectl
# (debian/, docs/packages.md), binary-only and unsigned, into build/deb/
# (DEB_OUT=DIR elsewhere), then lintian on them.
#
# dpkg-buildpackage writes its results into the parent of the tree it
# builds, and debhelper its work files into debian/: it builds a copy of
# what the packages need, build/deb/ngx-jpulse-VERSION/, so that neither
# the checkout nor the folder above it changes. The copy is removed after a
# good build (KEEP=1 keeps it).
#
# Prints the build time, the sizes of the .debs and lintian's verdict;
# build/deb/build.log and build/deb/lintian.txt keep the whole output.
# Exit 1 when the build fails or lintian reports an error or a warning.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${DEB_OUT:-$top/build/deb}
version=$(dpkg-parsechangelog -l "$top/debian/changelog" -S Version)
src=$out/ngx-jpulse-$version

# only what debian/rules and the Makefile's module and cachectl rules read
rm -rf "$out"
mkdir -p "$src"
(cd "$top" && tar cf - Makefile config libjpulse ngx_jpulse_module \
    cachectl-daemon contrib dashboard docs/cachectl.1 debian) | (cd "$src" && tar xf -)

start=$(date +%s)
echo "deb: dpkg-buildpackage -b -us -uc in $src (log: $out/build.log)"
if ! (cd "$src" && dpkg-buildpackage -b -us -uc) > "$out/build.log" 2>&1; then
    tail -40 "$out/build.log" >&2
    echo "deb: the build failed (whole log: $out/build.log)" >&2
    exit 1
fi
end=$(date +%s)
[ "${KEEP:-}" = 1 ] || rm -rf "$src"

echo "deb: built in $((end - start)) s:"
for f in "$out"/*.deb; do
    printf '    %-60s %8s bytes, installed %s KiB\n' "${f#"$top"/}" \
        "$(stat -c %s "$f")" "$(dpkg-deb -f "$f" Installed-Size)"
done

# the .changes names both .debs and the .buildinfo; --fail-on makes a
# warning as fatal as an error (overrides, each with its reason:
# debian/*.lintian-overrides). lintian's own note that it runs as root is
# not about the packages.
changes=$(ls "$out"/*.changes)
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
