#!/usr/bin/env bash
# A longer crash soak than CI's: SIGKILL the real relay CYCLES times (default 200) while four
# clients stream contracts, and check every acknowledged contract after each restart.
#   relay-node/tests/soak.sh            # 200 cycles
#   CYCLES=1000 SEED=42 relay-node/tests/soak.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
TRUSTCHAIN_CRASH_CYCLES="${CYCLES:-200}" TRUSTCHAIN_CRASH_SEED="${SEED:-$(date +%s)}" \
  cargo test --release -p trustchain-relay --test crash -- --nocapture
