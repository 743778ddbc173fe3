#!/usr/bin/env bash
# Installs what the browser tests need on a fresh Debian machine that has Rust, Node.js and npm,
# then builds the relay and the wasm package. Idempotent: run it as often as you like.
#
#   - Debian's chromium (only if /usr/bin/chromium is missing; needs root for apt-get)
#   - the wasm32-unknown-unknown target
#   - wasm-bindgen-cli 0.2.108 (must equal the wasm-bindgen crate)
#   - node_modules (playwright-core, binaryen's wasm-opt) — never a browser download
#   - target/debug/trustchain-relay and wasm-pkg/pkg (+ wasm-pkg/site/widget)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
JOBS="${CARGO_BUILD_JOBS:-2}"
LOCK="${TC_CARGO_LOCK:-/tmp/tc-cargo.lock}"
cargo_locked() {
  if command -v flock >/dev/null; then flock "$LOCK" cargo "$@"; else cargo "$@"; fi
}

if [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "== adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "0.2.108" ]; then
  echo "== installing wasm-bindgen-cli 0.2.108"
  cargo_locked install wasm-bindgen-cli --version 0.2.108 --locked -j"$JOBS"
fi

echo "== npm packages"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

echo "== building the relay (debug)"
cargo_locked build -j"$JOBS" --locked -p trustchain-relay

echo "== building the wasm package"
bash wasm-pkg/build.sh
echo "== e2e setup done: npm run e2e"
