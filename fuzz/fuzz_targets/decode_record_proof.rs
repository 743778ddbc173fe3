#![no_main]
//! Receipt bytes (a `RecordProof` under the receipt limits) never panic the decoder, and only
//! canonical encodings are accepted.

use libfuzzer_sys::fuzz_target;
use trustchain_core::encoding::Encode;
use trustchain_core::verify::receipt;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = receipt::from_bytes(data) {
        assert_eq!(p.to_bytes(), data, "decoded a non-canonical receipt");
    }
});
