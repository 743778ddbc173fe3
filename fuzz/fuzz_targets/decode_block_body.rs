#![no_main]
//! Decoding untrusted bytes as `BlockBody` (checkpoints, PoSR observation reports, a beacon round:
//! what proposals and synced blocks carry from other relays) never panics, and accepts only
//! canonical encodings.

use libfuzzer_sys::fuzz_target;
use trustchain_core::chain::block::BlockBody;

fuzz_target!(|data: &[u8]| {
    let _ = trustchain_core_fuzz::round_trip::<BlockBody>(data);
});
