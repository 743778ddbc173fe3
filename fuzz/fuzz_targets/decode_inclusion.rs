#![no_main]
//! Decoding untrusted bytes as `InclusionProof` never panics, and accepts only canonical encodings.

use libfuzzer_sys::fuzz_target;
use trustchain_core::merkle::log::InclusionProof;

fuzz_target!(|data: &[u8]| {
    let _ = trustchain_core_fuzz::round_trip::<InclusionProof>(data);
});
