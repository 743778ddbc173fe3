//! PoSR's bandwidth sample (docs/posr.md, "Probing"): once per PoSR window a relay sends each
//! registered relay it measures [`SAMPLE_BYTES`] of filler over `/trustchain/bw/1` and times the
//! answer. The transfer time is the round trip less the peer's median ping RTT (at least a quarter
//! of the round trip, so a noisy RTT cannot make a sample look infinitely fast); the figure goes
//! into the next observation report as `bandwidth_kbps`, where the chain takes the median over
//! observers and smooths it into the node's capacity.
//!
//! The sample is small on purpose (it is paid by every relay, every window, for every peer): it
//! measures what one short TCP exchange achieves, which a long fat path's window limits. PoSR
//! saturates the capacity factor at `capacity_saturation_kbps` anyway; the sample separates a
//! server on a thin or congested link from a well-connected one, not 1 from 10 Gbit/s.

use std::time::Duration;

use trustchain_core::encoding::{Decode, DecodeError, Encode, Limits, Reader, Writer};

/// The protocol's name.
pub const PROTOCOL: &str = "/trustchain/bw/1";

/// Bytes of filler in one sample (128 KiB).
pub const SAMPLE_BYTES: usize = 128 * 1024;

/// Decoding limits of both frames: one sample and a little framing.
pub const LIMITS: Limits = Limits {
    max_total: SAMPLE_BYTES + 64,
    max_len: SAMPLE_BYTES as u32,
    max_depth: 2,
};

/// What the measuring relay sends: filler (zeros; the content is not looked at).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sample(pub Vec<u8>);

impl Sample {
    /// A sample of [`SAMPLE_BYTES`].
    pub fn full() -> Sample {
        Sample(vec![0; SAMPLE_BYTES])
    }
}

impl Encode for Sample {
    fn encode(&self, w: &mut Writer) {
        w.bytes(&self.0);
    }
}

impl Decode for Sample {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Sample(r.bytes("sample", SAMPLE_BYTES as u32)?.to_vec()))
    }
}

/// What the measured relay answers: how many bytes it received.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received(pub u32);

impl Encode for Received {
    fn encode(&self, w: &mut Writer) {
        w.u32(self.0);
    }
}

impl Decode for Received {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Received(r.u32("received")?))
    }
}

/// The `/trustchain/bw/1` frames (for [`crate::net::FrameCodec`]).
#[derive(Clone, Default)]
pub struct BandwidthFrames;

impl crate::net::Frames for BandwidthFrames {
    type Request = Sample;
    type Response = Received;
    const MAX_REQUEST: usize = LIMITS.max_total;
    const MAX_RESPONSE: usize = 16;
    const REQUEST_LIMITS: Limits = LIMITS;
    const RESPONSE_LIMITS: Limits = LIMITS;
}

/// The bandwidth, in kbit/s, of `bytes` sent and acknowledged in `elapsed`, given the path's
/// round-trip time `rtt` (the median ping of the window, if any). `None` for an empty sample.
pub fn kbps(bytes: usize, elapsed: Duration, rtt: Option<Duration>) -> Option<u32> {
    if bytes == 0 {
        return None;
    }
    let elapsed_us = elapsed.as_micros().max(1);
    let transfer_us = elapsed_us
        .saturating_sub(rtt.map_or(0, |r| r.as_micros()))
        .max(elapsed_us / 4)
        .max(1);
    // bits per µs = Mbit/s; × 1000 = kbit/s.
    let kbps = (bytes as u128 * 8 * 1000) / transfer_us;
    Some(u32::try_from(kbps).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn frames_round_trip_and_are_bounded() {
        let s = Sample::full();
        assert_eq!(Sample::from_bytes_with(&s.to_bytes(), LIMITS), Ok(s));
        let r = Received(SAMPLE_BYTES as u32);
        assert_eq!(Received::from_bytes_with(&r.to_bytes(), LIMITS), Ok(r));
        // One byte more than a sample is refused.
        let mut w = Writer::new();
        w.bytes(&vec![0; SAMPLE_BYTES + 1]);
        assert!(Sample::from_bytes_with(&w.into_bytes(), LIMITS).is_err());
    }

    #[test]
    fn bandwidth_of_a_sample() {
        // 128 KiB in 10 ms with a 2 ms RTT: 1 Mbit in 8 ms ≈ 131 Mbit/s.
        let k = kbps(
            SAMPLE_BYTES,
            Duration::from_millis(10),
            Some(Duration::from_millis(2)),
        )
        .unwrap();
        assert_eq!(k, (SAMPLE_BYTES as u64 * 8 * 1000 / 8000) as u32);
        // An RTT as long as the exchange counts at most three quarters of it.
        let k = kbps(
            SAMPLE_BYTES,
            Duration::from_millis(4),
            Some(Duration::from_millis(9)),
        )
        .unwrap();
        assert_eq!(k, (SAMPLE_BYTES as u64 * 8 * 1000 / 1000) as u32);
        assert_eq!(kbps(0, Duration::from_millis(1), None), None);
        // A zero duration counts as 1 µs.
        assert_eq!(
            kbps(SAMPLE_BYTES, Duration::ZERO, None),
            Some((SAMPLE_BYTES as u64 * 8 * 1000) as u32)
        );
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = Sample::from_bytes_with(&bytes, LIMITS);
            let _ = Received::from_bytes_with(&bytes, LIMITS);
        }

        #[test]
        fn slower_is_never_faster(ms in 1u64..10_000, extra in 1u64..10_000, rtt in 0u64..1_000) {
            let rtt = Some(Duration::from_millis(rtt));
            let a = kbps(SAMPLE_BYTES, Duration::from_millis(ms), rtt).unwrap();
            let b = kbps(SAMPLE_BYTES, Duration::from_millis(ms + extra), rtt).unwrap();
            prop_assert!(b <= a);
        }
    }
}
