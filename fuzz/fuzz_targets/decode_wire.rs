#![no_main]
//! Frames of the libp2p relay protocol come from any peer: decoding a request or a response never
//! panics, and accepts only canonical encodings.

use libfuzzer_sys::fuzz_target;
use trustchain_core::encoding::{Decode, Encode};
use trustchain_core::verify::wire::{FRAME_LIMITS, Request, Response};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = Request::from_bytes_with(data, FRAME_LIMITS) {
        assert_eq!(r.to_bytes(), data);
    }
    if let Ok(r) = Response::from_bytes_with(data, FRAME_LIMITS) {
        assert_eq!(r.to_bytes(), data);
    }
});
