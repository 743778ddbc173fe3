//! The canonical binary encoding: one byte string per value, so hashes and signatures are stable.
//!
//! The rules (written up for other implementers in `docs/encoding.md`):
//! - integers are fixed-width big-endian (`u8`, `u16`, `u32`, `u64`, `i64`, `i128`);
//! - `bool` is one byte, `0` or `1`; any other byte is rejected;
//! - byte strings and text are a `u32` length then the bytes; text must be UTF-8;
//! - sequences are a `u32` count then the items; maps are sequences of `(key, value)` with keys
//!   strictly ascending (so duplicates and reorderings are rejected);
//! - `Option<T>` is a tag byte `0` (none) or `1` (some) then `T`;
//! - enums are a `u8` tag then the variant's fields;
//! - top-level signed or hashed objects begin with [`FORMAT_VERSION`].
//!
//! Decoding is bounded: the whole input is limited by [`Limits::max_total`], every length or count
//! by [`Limits::max_len`] and by the bytes that remain, and nesting by [`Limits::max_depth`]. A
//! decoder must consume its input exactly; trailing bytes are an error.
//!
//! Submodules: [`hex`] (lower-case hex for JSON and the command line) and [`value`] (typed field
//! values and scenario ids, with their encodings).

pub mod hex;
pub mod value;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// The encoding version that every top-level hashed or signed object starts with.
pub const FORMAT_VERSION: u8 = 1;

/// Limits applied while decoding untrusted bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted input, in bytes.
    pub max_total: usize,
    /// Largest accepted length prefix or element count.
    pub max_len: u32,
    /// Deepest accepted nesting (lists in lists, expressions in expressions).
    pub max_depth: u32,
}

impl Limits {
    /// Limits for one record, proof or block: 1 MiB in all, 64 levels deep.
    pub const DEFAULT: Limits = Limits {
        max_total: 1 << 20,
        max_len: 1 << 20,
        max_depth: 64,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// Why a byte string is not the canonical encoding of the expected value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The input ended inside a value.
    #[error("input ends early while reading {what}")]
    UnexpectedEnd {
        /// What was being read.
        what: &'static str,
    },
    /// Bytes remain after the value.
    #[error("{count} trailing bytes after the value")]
    TrailingBytes {
        /// How many bytes remain.
        count: usize,
    },
    /// The input is larger than the limit.
    #[error("input of {len} bytes exceeds the limit of {max}")]
    TooLarge {
        /// Input size.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// A length or count exceeds its limit.
    #[error("{what}: length {len} exceeds the limit of {max}")]
    TooLong {
        /// What was being read.
        what: &'static str,
        /// The length found.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// Values are nested deeper than the limit.
    #[error("nesting deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: u32,
    },
    /// An enum tag, bool or option byte has no meaning.
    #[error("{what}: invalid tag {tag}")]
    InvalidTag {
        /// What was being read.
        what: &'static str,
        /// The tag found.
        tag: u8,
    },
    /// The version byte is not one this code understands.
    #[error("{what}: unsupported format version {found} (this build reads version {expected})")]
    BadVersion {
        /// What was being read.
        what: &'static str,
        /// Version found.
        found: u8,
        /// Version understood.
        expected: u8,
    },
    /// The bytes decode, but not to the one canonical form (e.g. unsorted map keys).
    #[error("non-canonical encoding: {0}")]
    NonCanonical(&'static str),
    /// A value is out of its domain (bad UTF-8, bad key, bad identifier ...).
    #[error("invalid {what}: {why}")]
    Invalid {
        /// What was being read.
        what: &'static str,
        /// Why it is invalid.
        why: &'static str,
    },
}

/// Appends canonical bytes.
#[derive(Default, Debug)]
pub struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Writer { buf: Vec::new() }
    }
    /// The bytes written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }
    /// Writes one byte.
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    /// Writes a big-endian `u16`.
    pub fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Writes a big-endian `u32`.
    pub fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Writes a big-endian `u64`.
    pub fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Writes a big-endian two's-complement `i64`.
    pub fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Writes a big-endian two's-complement `i128`.
    pub fn i128(&mut self, v: i128) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }
    /// Writes `0` or `1`.
    pub fn bool(&mut self, v: bool) {
        self.buf.push(v as u8);
    }
    /// Writes bytes with no length prefix (fixed-size fields).
    pub fn raw(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    /// Writes a `u32` length prefix. Lengths above `u32::MAX` cannot be produced by this crate's
    /// types, whose constructors bound them far lower.
    pub fn len(&mut self, n: usize) {
        self.u32(u32::try_from(n).expect("length bounded by type constructors"));
    }
    /// Writes a length-prefixed byte string.
    pub fn bytes(&mut self, v: &[u8]) {
        self.len(v.len());
        self.raw(v);
    }
    /// Writes length-prefixed UTF-8 text.
    pub fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    /// Writes a sequence: count then items.
    pub fn seq<T: Encode>(&mut self, items: &[T]) {
        self.len(items.len());
        for item in items {
            item.encode(self);
        }
    }
    /// Writes an optional value.
    pub fn option<T: Encode>(&mut self, v: &Option<T>) {
        match v {
            None => self.u8(0),
            Some(x) => {
                self.u8(1);
                x.encode(self);
            }
        }
    }
}

/// Reads canonical bytes, enforcing [`Limits`].
#[derive(Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    depth: u32,
    limits: Limits,
}

impl<'a> Reader<'a> {
    /// A reader over `input`; fails at once if the input is larger than `limits.max_total`.
    pub fn new(input: &'a [u8], limits: Limits) -> Result<Self, DecodeError> {
        if input.len() > limits.max_total {
            return Err(DecodeError::TooLarge {
                len: input.len(),
                max: limits.max_total,
            });
        }
        Ok(Reader {
            input,
            pos: 0,
            depth: 0,
            limits,
        })
    }
    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }
    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { count }),
        }
    }
    /// Reads `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::UnexpectedEnd { what });
        }
        let s = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, what)?);
        Ok(out)
    }
    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }
    /// Reads a big-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }
    /// Reads a big-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }
    /// Reads a big-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }
    /// Reads a big-endian `i64`.
    pub fn i64(&mut self, what: &'static str) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array(what)?))
    }
    /// Reads a big-endian `i128`.
    pub fn i128(&mut self, what: &'static str) -> Result<i128, DecodeError> {
        Ok(i128::from_be_bytes(self.array(what)?))
    }
    /// Reads a bool, rejecting any byte but `0` and `1`.
    pub fn bool(&mut self, what: &'static str) -> Result<bool, DecodeError> {
        match self.u8(what)? {
            0 => Ok(false),
            1 => Ok(true),
            tag => Err(DecodeError::InvalidTag { what, tag }),
        }
    }
    /// Reads the format version byte and checks it.
    pub fn version(&mut self, what: &'static str) -> Result<(), DecodeError> {
        match self.u8(what)? {
            FORMAT_VERSION => Ok(()),
            found => Err(DecodeError::BadVersion {
                what,
                found,
                expected: FORMAT_VERSION,
            }),
        }
    }
    /// Reads a length prefix, bounded by `max` (a type's own limit), by the reader's limit, and by
    /// `min_item_size` times the count fitting in the remaining input (so a count cannot make the
    /// decoder allocate more than the input justifies).
    pub fn len(
        &mut self,
        what: &'static str,
        max: u32,
        min_item_size: usize,
    ) -> Result<usize, DecodeError> {
        let n = self.u32(what)?;
        let max = max.min(self.limits.max_len);
        if n > max {
            return Err(DecodeError::TooLong {
                what,
                len: n as u64,
                max: max as u64,
            });
        }
        let n = n as usize;
        if n.saturating_mul(min_item_size.max(1)) > self.remaining() && min_item_size > 0 {
            return Err(DecodeError::UnexpectedEnd { what });
        }
        Ok(n)
    }
    /// Reads a length-prefixed byte string of at most `max` bytes.
    pub fn bytes(&mut self, what: &'static str, max: u32) -> Result<&'a [u8], DecodeError> {
        let n = self.len(what, max, 1)?;
        self.take(n, what)
    }
    /// Reads length-prefixed UTF-8 text of at most `max` bytes.
    pub fn str(&mut self, what: &'static str, max: u32) -> Result<String, DecodeError> {
        let b = self.bytes(what, max)?;
        core::str::from_utf8(b)
            .map(String::from)
            .map_err(|_| DecodeError::Invalid {
                what,
                why: "not UTF-8",
            })
    }
    /// Reads a sequence of at most `max` items, each at least `min_item_size` bytes long.
    pub fn seq<T: Decode>(
        &mut self,
        what: &'static str,
        max: u32,
        min_item_size: usize,
    ) -> Result<Vec<T>, DecodeError> {
        let n = self.len(what, max, min_item_size)?;
        self.nested(|r| {
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(T::decode(r)?);
            }
            Ok(v)
        })
    }
    /// Reads an optional value.
    pub fn option<T: Decode>(&mut self, what: &'static str) -> Result<Option<T>, DecodeError> {
        match self.u8(what)? {
            0 => Ok(None),
            1 => Ok(Some(T::decode(self)?)),
            tag => Err(DecodeError::InvalidTag { what, tag }),
        }
    }
    /// Runs `f` one nesting level deeper, failing if that exceeds the depth limit.
    pub fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        if self.depth >= self.limits.max_depth {
            return Err(DecodeError::TooDeep {
                max: self.limits.max_depth,
            });
        }
        self.depth += 1;
        let out = f(self);
        self.depth -= 1;
        out
    }
}

/// A value with one canonical encoding.
pub trait Encode {
    /// Appends the canonical encoding of `self`.
    fn encode(&self, w: &mut Writer);
    /// The canonical encoding of `self`.
    fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        self.encode(&mut w);
        w.into_bytes()
    }
}

/// A value that can be read back from its canonical encoding, rejecting every other byte string.
pub trait Decode: Sized {
    /// Reads one value.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
    /// Decodes exactly `bytes` under `limits`.
    fn from_bytes_with(bytes: &[u8], limits: Limits) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes, limits)?;
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }
    /// Decodes exactly `bytes` under [`Limits::DEFAULT`].
    fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        Self::from_bytes_with(bytes, Limits::DEFAULT)
    }
}

impl Encode for u64 {
    fn encode(&self, w: &mut Writer) {
        w.u64(*self)
    }
}
impl Decode for u64 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.u64("u64")
    }
}

impl Encode for String {
    fn encode(&self, w: &mut Writer) {
        w.str(self)
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, w: &mut Writer) {
        w.seq(self)
    }
}

/// Writes a map with keys in ascending order (the `BTreeMap` order is the canonical order).
pub fn encode_map<V: Encode>(w: &mut Writer, map: &BTreeMap<String, V>) {
    w.len(map.len());
    for (k, v) in map {
        w.str(k);
        v.encode(w);
    }
}

/// Reads a map, rejecting keys that are not strictly ascending.
pub fn decode_map<V: Decode>(
    r: &mut Reader<'_>,
    what: &'static str,
    max_entries: u32,
    max_key: u32,
) -> Result<BTreeMap<String, V>, DecodeError> {
    // Each entry has at least a 4-byte key length and a 1-byte value.
    let n = r.len(what, max_entries, 5)?;
    r.nested(|r| {
        let mut map = BTreeMap::new();
        let mut last: Option<String> = None;
        for _ in 0..n {
            let k = r.str(what, max_key)?;
            if let Some(prev) = &last
                && prev.as_str() >= k.as_str()
            {
                return Err(DecodeError::NonCanonical(
                    "map keys must be strictly ascending",
                ));
            }
            let v = V::decode(r)?;
            last = Some(k.clone());
            map.insert(k, v);
        }
        Ok(map)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_trailing_bytes_and_bad_bool() {
        assert_eq!(
            u64::from_bytes(&[0, 0, 0, 0, 0, 0, 0, 1, 9]),
            Err(DecodeError::TrailingBytes { count: 1 })
        );
        let mut r = Reader::new(&[2], Limits::DEFAULT).unwrap();
        assert!(matches!(
            r.bool("flag"),
            Err(DecodeError::InvalidTag { tag: 2, .. })
        ));
    }

    #[test]
    fn length_prefix_cannot_outrun_input() {
        // Claims 1000 items of >= 8 bytes but carries none: rejected before any allocation.
        let bytes = [0, 0, 3, 232];
        let mut r = Reader::new(&bytes, Limits::DEFAULT).unwrap();
        assert!(r.seq::<u64>("items", 10_000, 8).is_err());
    }

    #[test]
    fn depth_is_bounded() {
        let limits = Limits {
            max_depth: 2,
            ..Limits::DEFAULT
        };
        let mut r = Reader::new(&[], limits).unwrap();
        let res = r.nested(|r| r.nested(|r| r.nested(|_| Ok(()))));
        assert_eq!(res, Err(DecodeError::TooDeep { max: 2 }));
    }

    #[test]
    fn total_size_is_bounded() {
        let limits = Limits {
            max_total: 4,
            ..Limits::DEFAULT
        };
        assert!(matches!(
            Reader::new(&[0; 5], limits),
            Err(DecodeError::TooLarge { len: 5, max: 4 })
        ));
    }
}
