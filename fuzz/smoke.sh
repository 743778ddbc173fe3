#!/usr/bin/env bash
# Builds every cargo-fuzz target of trustchain-core and runs each for FUZZ_SECONDS (default 10),
# seeded from the test vectors. Exits non-zero if any target crashes, panics, leaks or times out.
#
#   fuzz/smoke.sh                 # 10 s per target
#   FUZZ_SECONDS=60 fuzz/smoke.sh # longer
#   FUZZ_TARGETS="verify_receipt decode_value" fuzz/smoke.sh
#
# Works on the stable toolchain: cargo-fuzz needs `-Z` rustc flags (sanitizer, coverage passes),
# which RUSTC_BOOTSTRAP=1 unlocks. FUZZ_SANITIZER picks the sanitizer (default "address"; "none"
# builds and runs about twice as fast; core itself forbids unsafe code).
# Needs: cargo-fuzz (`cargo install cargo-fuzz --locked`), python3 for seeding (optional).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
seconds="${FUZZ_SECONDS:-10}"
sanitizer="${FUZZ_SANITIZER:-address}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"
lock="${CARGO_LOCK_FILE:-/tmp/tc-cargo.lock}"
triple="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTC_BOOTSTRAP=1
# Fuzz builds use other rustc flags (sanitizer, coverage): keep them out of the main target dir so
# neither build invalidates the other.
if [ -n "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="$CARGO_TARGET_DIR-fuzz"
  tdir="$CARGO_TARGET_DIR"
else
  tdir="$here/target"
fi

all_targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^trustchain-core-fuzz$')
targets="${FUZZ_TARGETS:-$all_targets}"

# Serialise with other cargo builds on shared machines when flock is available.
with_lock() {
  if command -v flock >/dev/null; then flock "$lock" "$@"; else "$@"; fi
}

echo "== building fuzz targets (sanitizer: $sanitizer)"
with_lock cargo fuzz build -s "$sanitizer"

echo "== seeding corpora from core/tests/vectors"
if command -v python3 >/dev/null; then
  python3 - "$here" <<'PY'
import base64, json, os, sys
here = sys.argv[1]
vec = os.path.join(here, "..", "core", "tests", "vectors")
load = lambda n: json.load(open(os.path.join(vec, n + ".json")))
b64 = lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
h = bytes.fromhex
r, c, ch, a, lg, e = (load(n) for n in ["receipt", "contract", "chain", "anchor", "log", "encoding"])
receipts = [r["receipt"]] + [n["receipt"] for n in r["negatives"]]
seeds = {
    "decode_record_proof": [b64(t) for t in receipts],
    "verify_receipt": [b64(t) for t in receipts],
    "receipt_base64": [t.encode() for t in receipts],
    "decode_entry": [h(x["entry_hex"]) for x in c["contracts"]] + [h(c["charter"]["entry_hex"])],
    "decode_charter": [h(c["charter"]["signed_hex"])],
    "decode_block": [h(ch["header"]["hex"]), h(ch["parent_header"]["hex"])],
    "decode_certificate": [h(ch["certificate"]["hex"])],
    "decode_epoch_change": [h(ch["epoch_change"]["hex"])],
    "decode_anchor_proof": [h(p["hex"]) for p in a["proofs"]],
    "decode_inclusion": [h(p["hex"]) for p in lg["inclusion"]],
    "decode_consistency": [h(p["hex"]) for p in lg["consistency"]],
    "compile_rule": [
        b"amount > 0 && scale(amount) <= 2",
        b"!has(note) || size(note) <= 280",
        b'payee.startsWith("J") ? count % 3 == 0 : amount / 4 > 1.5',
        b'"roof" in tags && size(tags) < 5 && approved',
        b'int(amount) + count - 7 * 2 >= decimal("0.01")',
    ],
    "decode_value": [h(v["hex"]) for v in e["values"]] + [h(v["hex"]) for v in e["rejections"] if v["type"] == "value"],
}
for target, items in seeds.items():
    d = os.path.join(here, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for i, data in enumerate(items):
        with open(os.path.join(d, "vector-%03d" % i), "wb") as f:
            f.write(data)
PY
else
  echo "python3 not found: fuzzing from empty corpora"
fi

failed=()
for t in $targets; do
  bin="$tdir/$triple/release/$t"
  mkdir -p "corpus/$t" "artifacts/$t"
  echo "== $t: ${seconds}s"
  if "$bin" "corpus/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="artifacts/$t/" -print_final_stats=1 >"artifacts/$t.log" 2>&1; then
    grep -E '^stat::number_of_executed_units|^#[0-9]+ *DONE' "artifacts/$t.log" | tail -2 || true
  else
    echo "!! $t FAILED; log: fuzz/artifacts/$t.log"
    grep -E 'panicked at|ERROR: |SUMMARY|^Test unit written' "artifacts/$t.log" | head -8 || true
    failed+=("$t")
  fi
done

if ((${#failed[@]})); then
  echo "== ${#failed[@]} target(s) failed: ${failed[*]}"
  exit 1
fi
echo "== all targets ran ${seconds}s without a crash"
