#!/usr/bin/env bash
# Installs what the browser tests need on a fresh Debian machine that has Rust, Node.js and npm,
# then builds the relay and the wasm package. Idempotent: run it as often as you like.
#
#   - Debian's chromium (only if /usr/bin/chromium is missing; needs root for apt-get)
#   - the wasm32-unknown-unknown target
#   - wasm-bindgen-cli 0.2.108 (must equal the wasm-bindgen crate)
#   - node_modules (playwright-core, binaryen's wasm-opt) — never a browser download
#   - $CARGO_TARGET_DIR/debug/trustchain-relay and wasm-pkg/pkg (+ wasm-pkg/site/widget)
#   - trunk 0.21.14 and the explorer (web-app/) in wasm-pkg/site/explorer
#
# With --web (what `npm start` runs): only the browser parts — no Chromium, no debug relay.
#
# Builds go to CARGO_TARGET_DIR, by default ~/.cache/trustchain-target — the one target directory of
# `npm start`, `npm test`, .ci/run and the browser tests (e2e/lib.mjs finds the relay there), so
# nothing is compiled twice.
set -euo pipefail
WEB_ONLY=0
for arg in "$@"; do
  case "$arg" in
    --web) WEB_ONLY=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//;/^set -euo/d'; exit 0 ;;
    *) echo "e2e/setup.sh: unknown option $arg (use --web or nothing)" >&2; exit 2 ;;
  esac
done
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/trustchain-target}"
JOBS="${CARGO_BUILD_JOBS:-2}"
LOCK="${TC_CARGO_LOCK:-/tmp/tc-cargo.lock}"
cargo_locked() {
  if command -v flock >/dev/null; then flock "$LOCK" cargo "$@"; else cargo "$@"; fi
}

if [ "$WEB_ONLY" = 0 ] && [ ! -x /usr/bin/chromium ]; then
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

if [ "$(trunk --version 2>/dev/null | awk '{print $2}')" != "0.21.14" ]; then
  echo "== installing trunk 0.21.14 (builds the explorer)"
  cargo_locked install trunk --version 0.21.14 --locked -j"$JOBS"
fi

echo "== npm packages"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

if [ "$WEB_ONLY" = 0 ]; then
  echo "== building the relay (debug)"
  cargo_locked build -j"$JOBS" --locked -p trustchain-relay
fi

echo "== building the wasm package"
bash wasm-pkg/build.sh

echo "== building the explorer (trunk build --release → wasm-pkg/site/explorer)"
# Offline (Trunk.toml; and no update check): wasm-bindgen from ~/.cargo/bin, wasm-opt from the
# npm binaryen package.
if command -v flock >/dev/null; then
  TRUNK_SKIP_VERSION_CHECK=true PATH="$ROOT/node_modules/.bin:$PATH" flock "$LOCK" trunk build --release
else
  TRUNK_SKIP_VERSION_CHECK=true PATH="$ROOT/node_modules/.bin:$PATH" trunk build --release
fi
explorer_gz=0
for f in wasm-pkg/site/explorer/*.wasm wasm-pkg/site/explorer/*.js; do
  explorer_gz=$(( explorer_gz + $(gzip -9 -c "$f" | wc -c) ))
done
printf '   explorer (wasm + js):                    %7d bytes gzipped (%s KiB; goal <= 1536 KiB)\n' "$explorer_gz" "$(awk "BEGIN{printf \"%.1f\", $explorer_gz/1024}")"
if [ "$WEB_ONLY" = 0 ]; then echo "== e2e setup done: npm run e2e"; else echo "== browser parts built (wasm-pkg/site)"; fi
