#![no_main]
//! Base64url receipt text: any string, never a panic; what decodes re-encodes to the same text
//! (modulo the surrounding whitespace the reader ignores).

use libfuzzer_sys::fuzz_target;
use trustchain_core::verify::receipt;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(p) = receipt::from_base64url(text) {
        assert_eq!(
            receipt::to_base64url(&p),
            text.trim(),
            "non-canonical base64url accepted"
        );
    }
});
