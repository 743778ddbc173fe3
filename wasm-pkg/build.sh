#!/usr/bin/env bash
# Builds the npm package `trustchain-verify` into wasm-pkg/pkg/ and the relay's web files into
# wasm-pkg/site/widget/. Idempotent; run from anywhere. Two modules from the same crate:
#
#   pkg/trustchain_verify{_bg.wasm,.js,.d.ts}   the offline receipt verifier (no network code:
#                                               default features) — what receipt-only pages load
#   pkg/trustchain_widget{_bg.wasm,.js,.d.ts}   the verifier with the light client and its
#                                               transports (feature `transports`: rust-libp2p
#                                               WebRTC-direct + WebSocket, and HTTP)
#   pkg/trust-verify.js                         the <trust-verify> custom element (loads the widget)
#   pkg/package.json, README.md
#
# Both: wasm-release profile, wasm-bindgen --target web, then wasm-opt -Oz.
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
# The one target directory of npm start / npm test (see e2e/setup.sh).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trustchain-target}"
TARGET_DIR="$CARGO_TARGET_DIR"
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

rm -rf "$PKG.tmp" && mkdir -p "$PKG.tmp"
WASM_OPT="$ROOT/node_modules/.bin/wasm-opt"

# build_module NAME [cargo feature args...]
build_module() {
  local name="$1"; shift
  echo "== cargo build $name (wasm32, profile wasm-release${*:+, $*})"
  (cd "$ROOT" && cargo_locked build -j"$JOBS" --locked -p trustchain-verify "$@" \
    --target wasm32-unknown-unknown --profile wasm-release)
  echo "== wasm-bindgen --target web ($name)"
  wasm-bindgen --target web --out-dir "$PKG.tmp" --out-name "$name" \
    "$TARGET_DIR/wasm32-unknown-unknown/wasm-release/trustchain_verify.wasm"
  if [ -x "$WASM_OPT" ]; then
    echo "== wasm-opt -Oz ($("$WASM_OPT" --version))"
    # The features rustc enables by default for wasm32-unknown-unknown; every current browser has
    # them.
    "$WASM_OPT" -Oz --strip-debug --strip-producers \
      --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
      --enable-mutable-globals --enable-reference-types --enable-multivalue \
      -o "$PKG.tmp/${name}_bg.opt.wasm" "$PKG.tmp/${name}_bg.wasm"
    mv "$PKG.tmp/${name}_bg.opt.wasm" "$PKG.tmp/${name}_bg.wasm"
  else
    echo "warning: $WASM_OPT not found (run npm ci): the module is not size-optimised" >&2
  fi
}

build_module trustchain_verify
build_module trustchain_widget --features transports

cp "$HERE/web/trust-verify.js" "$PKG.tmp/"
cp "$HERE/README.md" "$PKG.tmp/"
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)"
cat > "$PKG.tmp/package.json" <<EOF
{
  "name": "trustchain-verify",
  "version": "$VERSION",
  "description": "Verify in the browser that what a page shows is what the Trustchain holds: offline receipts, a light client over libp2p (WebRTC-direct, WebSocket), and the <trust-verify> element.",
  "license": "Apache-2.0",
  "type": "module",
  "main": "trustchain_verify.js",
  "module": "trustchain_verify.js",
  "types": "trustchain_verify.d.ts",
  "exports": {
    ".": { "types": "./trustchain_verify.d.ts", "default": "./trustchain_verify.js" },
    "./widget": { "types": "./trustchain_widget.d.ts", "default": "./trustchain_widget.js" },
    "./trust-verify.js": "./trust-verify.js",
    "./trustchain_verify_bg.wasm": "./trustchain_verify_bg.wasm",
    "./trustchain_widget_bg.wasm": "./trustchain_widget_bg.wasm"
  },
  "files": [
    "trustchain_verify_bg.wasm",
    "trustchain_verify.js",
    "trustchain_verify.d.ts",
    "trustchain_verify_bg.wasm.d.ts",
    "trustchain_widget_bg.wasm",
    "trustchain_widget.js",
    "trustchain_widget.d.ts",
    "trustchain_widget_bg.wasm.d.ts",
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
  "$PKG"/trustchain_widget_bg.wasm "$PKG"/trustchain_widget.js "$PKG"/trustchain_widget.d.ts \
  "$PKG"/trust-verify.js "$HERE/site/widget/"

size() { stat -c %s "$1"; }
gz() { gzip -9 -c "$1" | wc -c; }
printf '== %s\n' "built $PKG"
for f in trustchain_verify_bg.wasm trustchain_verify.js trustchain_widget_bg.wasm trustchain_widget.js trust-verify.js; do
  printf '   %-26s %8d bytes, %7d gzipped\n' "$f" "$(size "$PKG/$f")" "$(gz "$PKG/$f")"
done
off=$(( $(gz "$PKG/trustchain_verify_bg.wasm") + $(gz "$PKG/trustchain_verify.js") ))
wid=$(( $(gz "$PKG/trustchain_widget_bg.wasm") + $(gz "$PKG/trustchain_widget.js") + $(gz "$PKG/trust-verify.js") ))
printf '   offline verifier (wasm + glue):          %7d bytes gzipped (%s KiB; goal <= 150 KiB)\n' "$off" "$(awk "BEGIN{printf \"%.1f\", $off/1024}")"
printf '   widget (wasm + glue + element):          %7d bytes gzipped (%s KiB; goal <= 400 KiB)\n' "$wid" "$(awk "BEGIN{printf \"%.1f\", $wid/1024}")"
