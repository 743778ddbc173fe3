#![no_main]
//! Decoding untrusted bytes as `Value` never panics, and accepts only canonical encodings.

use libfuzzer_sys::fuzz_target;
use trustchain_core::encoding::value::Value;

fuzz_target!(|data: &[u8]| {
    let _ = trustchain_core_fuzz::round_trip::<Value>(data);
});
