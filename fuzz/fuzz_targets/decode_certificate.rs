#![no_main]
//! Decoding untrusted bytes as `CommitCertificate` never panics, and accepts only canonical encodings.

use libfuzzer_sys::fuzz_target;
use trustchain_core::chain::block::CommitCertificate;

fuzz_target!(|data: &[u8]| {
    let _ = trustchain_core_fuzz::round_trip::<CommitCertificate>(data);
});
