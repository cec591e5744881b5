#!/usr/bin/env bash
# Refresh the console's vendored browser libraries from npm, on purpose (never at run time).
# Bump a version below, run this script, look at the diff, run `make test`, commit.
#   htm's preact/standalone.module.js: Preact 10 and its hooks with htm, one ES module
#   socket.io-client: the ES module build
#   axe-core: for the browser tests' accessibility scan only (not shipped in the package)
set -euo pipefail
HTM=3.1.1
PREACT=10.7.1    # licence text only: htm 3.1.1's standalone build bundles a Preact 10 of its day
SOCKET_IO=4.8.4
AXE=4.14.1

root="$(cd "$(dirname "$0")/.." && pwd)"
static="$root/src/seam_api/console/static/vendor"
tests="$root/tests/console/vendor"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

unpack() {  # unpack NAME VERSION -> $work/NAME/package
    (cd "$work" && npm pack --silent "$1@$2" >/dev/null)
    mkdir -p "$work/$1"
    tar xzf "$work/$1-$2.tgz" -C "$work/$1"
}

unpack htm "$HTM"
unpack preact "$PREACT"
unpack socket.io-client "$SOCKET_IO"
unpack axe-core "$AXE"

mkdir -p "$static" "$tests"
cp "$work/htm/package/preact/standalone.module.js" "$static/preact-htm.module.js"
cp "$work/htm/package/LICENSE" "$static/LICENSE.htm"
cp "$work/preact/package/LICENSE" "$static/LICENSE.preact"
cp "$work/socket.io-client/package/dist/socket.io.esm.min.js" "$static/socket.io.esm.min.js"
cp "$work/socket.io-client/package/LICENSE" "$static/LICENSE.socket.io-client"
cp "$work/axe-core/package/axe.min.js" "$tests/axe.min.js"
cp "$work/axe-core/package/LICENSE" "$tests/LICENSE.axe-core"
cat > "$static/VERSIONS" <<VERSIONS
htm $HTM (preact/standalone.module.js: Preact 10 with hooks and htm)
preact $PREACT (licence)
socket.io-client $SOCKET_IO (dist/socket.io.esm.min.js)
VERSIONS
echo "axe-core $AXE (axe.min.js)" > "$tests/VERSIONS"
echo "vendored: htm $HTM, socket.io-client $SOCKET_IO, axe-core $AXE"
