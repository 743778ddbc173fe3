#!/usr/bin/env bash
# Builds the npm package `trustchain-verify` into wasm-pkg/pkg/ and the relay's web files into
# wasm-pkg/site/widget/. Idempotent; run from anywhere.
#
#   pkg/trustchain_verify_bg.wasm   the verifier (wasm-release profile, then wasm-opt -Oz)
#   pkg/trustchain_verify.js        wasm-bindgen glue (--target web, an ES module)
#   pkg/trustchain_verify.d.ts      TypeScript types
#   pkg/trust-verify.js             the <trust-verify> custom element
#   pkg/package.json, README.md
#
# Needs: the wasm32-unknown-unknown target and wasm-bindgen-cli 0.2.108 (e2e/setup.sh installs
# both). wasm-opt comes from the npm `binaryen` package (node_modules/.bin/wasm-opt, `npm ci`);
# Debian's binaryen package produces a module that does not load, so it is never used. Without
# the npm one the module is left unoptimised (and says so).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
PKG="$HERE/pkg"
WASM_BINDGEN_VERSION="0.2.108"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
JOBS="${CARGO_BUILD_JOBS:-2}"
LOCK="${TC_CARGO_LOCK:-/tmp/tc-cargo.lock}"

cargo_locked() {
  # Several engineers share this machine: one cargo at a time.
  if command -v flock >/dev/null; then flock "$LOCK" cargo "$@"; else cargo "$@"; fi
}

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
  echo "error: wasm-bindgen-cli $WASM_BINDGEN_VERSION is needed (it must match the wasm-bindgen crate);" >&2
  echo "       install it with: cargo install wasm-bindgen-cli --version $WASM_BINDGEN_VERSION --locked" >&2
  exit 1
fi

echo "== cargo build (wasm32, profile wasm-release)"
(cd "$ROOT" && cargo_locked build -j"$JOBS" --locked -p trustchain-verify \
  --target wasm32-unknown-unknown --profile wasm-release)

echo "== wasm-bindgen --target web"
rm -rf "$PKG.tmp" && mkdir -p "$PKG.tmp"
wasm-bindgen --target web --out-dir "$PKG.tmp" --out-name trustchain_verify \
  "$TARGET_DIR/wasm32-unknown-unknown/wasm-release/trustchain_verify.wasm"

WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"
if [ -x "$WASM_OPT" ]; then
  echo "== wasm-opt -Oz ($("$WASM_OPT" --version))"
  # The features rustc enables by default for wasm32-unknown-unknown; every current browser has them.
  "$WASM_OPT" -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue \
    -o "$PKG.tmp/trustchain_verify_bg.opt.wasm" "$PKG.tmp/trustchain_verify_bg.wasm"
  mv "$PKG.tmp/trustchain_verify_bg.opt.wasm" "$PKG.tmp/trustchain_verify_bg.wasm"
else
  echo "warning: $WASM_OPT not found (run npm ci): the module is not size-optimised" >&2
fi

cp "$HERE/web/trust-verify.js" "$PKG.tmp/"
cp "$HERE/README.md" "$PKG.tmp/"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"
cat > "$PKG.tmp/package.json" <<EOF
{
  "name": "trustchain-verify",
  "version": "$VERSION",
  "description": "Verify in the browser that what a page shows is what the Trustchain holds: offline receipts, a light client, and the <trust-verify> element.",
  "license": "Apache-2.0",
  "type": "module",
  "main": "trustchain_verify.js",
  "module": "trustchain_verify.js",
  "types": "trustchain_verify.d.ts",
  "exports": {
    ".": { "types": "./trustchain_verify.d.ts", "default": "./trustchain_verify.js" },
    "./trust-verify.js": "./trust-verify.js",
    "./trustchain_verify_bg.wasm": "./trustchain_verify_bg.wasm"
  },
  "files": [
    "trustchain_verify_bg.wasm",
    "trustchain_verify.js",
    "trustchain_verify.d.ts",
    "trustchain_verify_bg.wasm.d.ts",
    "trust-verify.js",
    "README.md"
  ],
  "sideEffects": ["./trust-verify.js"]
}
EOF
rm -rf "$PKG" && mv "$PKG.tmp" "$PKG"

# The relay serves wasm-pkg/site (see `trustchain-relay dev --web-dir`): the demo page is kept in
# git, the widget is this package.
rm -rf "$HERE/site/widget" && mkdir -p "$HERE/site/widget"
cp "$PKG"/trustchain_verify_bg.wasm "$PKG"/trustchain_verify.js "$PKG"/trustchain_verify.d.ts \
  "$PKG"/trust-verify.js "$HERE/site/widget/"

size() { stat -c %s "$1"; }
gz() { gzip -9 -c "$1" | wc -c; }
W="$PKG/trustchain_verify_bg.wasm"; J="$PKG/trustchain_verify.js"; E="$PKG/trust-verify.js"
printf '== %s\n' "built $PKG"
printf '   %-26s %8d bytes, %7d gzipped\n' \
  "trustchain_verify_bg.wasm" "$(size "$W")" "$(gz "$W")" \
  "trustchain_verify.js" "$(size "$J")" "$(gz "$J")" \
  "trust-verify.js" "$(size "$E")" "$(gz "$E")"
