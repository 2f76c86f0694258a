#!/usr/bin/env bash
# Fetches the C headers of CPython for building the extensions for Windows
# (make test-windows): Debian's source package of python3.11, from the
# mirror the system's own APT lines use, through a private APT
# configuration under .cache/apt (the system's sources are not touched),
# and unpacks Include/ and PC/pyconfig.h (Windows' configuration header)
# into .cache/cpython-windows/. Prints that directory.
#
# Cached: once the headers are there, nothing is downloaded again.
# Needs apt-get and network access on the first run (about 26 MB).
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGE=${CPYTHON_SOURCE_PACKAGE:-python3.11}
CACHE=$PWD/.cache
OUT=$CACHE/cpython-windows
if [ -f "$OUT/PC/pyconfig.h" ] && [ -f "$OUT/Include/Python.h" ]; then
    echo "$OUT"
    exit 0
fi
command -v apt-get >/dev/null || { echo "fetch-cpython-headers: apt-get is needed to fetch $PACKAGE's source" >&2; exit 1; }

# The distribution and mirror of the system's own "deb" lines (deb822 or
# one-line format); deb.debian.org when none can be read.
. /etc/os-release
CODENAME=${VERSION_CODENAME:-bookworm}
MIRROR=$(awk -v suite="$CODENAME" '
    /^Types:/ { deb = ($0 ~ /(^|[ \t])deb([ \t]|$)/) }
    /^URIs:/ { uri = $2 }
    /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite && deb && uri != "") { print uri; exit } }
    /^deb[ \t]/ { u = ($2 ~ /^\[/) ? $3 : $2; s = ($2 ~ /^\[/) ? $4 : $3; if (s == suite) { print u; exit } }
' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}

APT=$CACHE/apt
mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$APT/parts" "$APT/source"
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
echo "deb-src [signed-by=$KEYRING] $MIRROR $CODENAME main" > "$APT/sources.list"
cat > "$APT/apt.conf" <<EOF
Dir::Etc::SourceList "$APT/sources.list";
Dir::Etc::SourceParts "$APT/parts";
Dir::State::Lists "$APT/lists";
Dir::Cache "$APT/cache";
APT::Sandbox::User "$(id -un)";
EOF
export APT_CONFIG=$APT/apt.conf
echo "fetch-cpython-headers: $PACKAGE source from $MIRROR $CODENAME" >&2
apt-get -qq update
(cd "$APT/source" && apt-get -qq source --download-only "$PACKAGE")

ORIG=$(ls "$APT/source/${PACKAGE}"_*.orig.tar.* | awk 'NR == 1')
TOP=$(tar -tf "$ORIG" | awk -F/ 'NR == 1 { print $1 }')
rm -rf "$OUT.tmp"
mkdir -p "$OUT.tmp"
tar -xf "$ORIG" -C "$OUT.tmp" --strip-components=1 "$TOP/Include" "$TOP/PC/pyconfig.h" "$TOP/LICENSE"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
