//! Exact decimal arithmetic with documented result scales.
//!
//! `rust_decimal`'s own operators round silently when a result needs more than 96 bits or 28
//! decimals. Rules must never round money, so the evaluator uses these functions instead: every
//! result is exact or an error. Operands are widened to 256 bits, so intermediate values never
//! overflow (`|mantissa| < 2^96`, `10^28 < 2^94`, products `< 2^192`).
//!
//! Result scales (see `docs/rules.md`):
//! - `a + b`, `a - b`: `max(scale(a), scale(b))`;
//! - `a * b`: `scale(a) + scale(b)`;
//! - `a / b`: the smallest scale that represents the exact quotient;
//!
//! and in every case, if the result does not fit (scale above 28 or mantissa above 96 bits),
//! trailing zeros are dropped as far as needed; if it still does not fit, the operation fails.

use core::cmp::Ordering;

use rust_decimal::Decimal;

/// Why an exact decimal operation has no result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DecimalError {
    /// The divisor is zero.
    DivisionByZero,
    /// The result's magnitude needs more than 96 bits.
    Overflow,
    /// The exact result needs more than 28 digits after the point (or does not terminate).
    Inexact,
}

const MAX_MANTISSA: u128 = (1u128 << 96) - 1;
const MAX_SCALE: u32 = 28;

/// A 256-bit unsigned integer, little-endian 64-bit limbs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct U256([u64; 4]);

impl U256 {
    const ZERO: U256 = U256([0; 4]);

    fn from_u128(v: u128) -> Self {
        U256([v as u64, (v >> 64) as u64, 0, 0])
    }

    fn to_u128(self) -> Option<u128> {
        if self.0[2] == 0 && self.0[3] == 0 {
            Some(self.0[0] as u128 | (self.0[1] as u128) << 64)
        } else {
            None
        }
    }

    fn is_zero(self) -> bool {
        self == U256::ZERO
    }

    /// The full product of two 128-bit values.
    fn product(a: u128, b: u128) -> Self {
        let a = [a as u64, (a >> 64) as u64];
        let b = [b as u64, (b >> 64) as u64];
        let mut out = [0u64; 4];
        for (i, &x) in a.iter().enumerate() {
            let mut carry: u128 = 0;
            for (j, &y) in b.iter().enumerate() {
                let t = x as u128 * y as u128 + out[i + j] as u128 + carry;
                out[i + j] = t as u64;
                carry = t >> 64;
            }
            let mut k = i + 2;
            while carry != 0 && k < 4 {
                let t = out[k] as u128 + carry;
                out[k] = t as u64;
                carry = t >> 64;
                k += 1;
            }
        }
        U256(out)
    }

    fn mul_small(self, m: u64) -> Option<Self> {
        let mut out = [0u64; 4];
        let mut carry: u128 = 0;
        for (o, &x) in out.iter_mut().zip(self.0.iter()) {
            let t = x as u128 * m as u128 + carry;
            *o = t as u64;
            carry = t >> 64;
        }
        (carry == 0).then_some(U256(out))
    }

    fn mul_pow10(mut self, n: u32) -> Option<Self> {
        for _ in 0..n {
            self = self.mul_small(10)?;
        }
        Some(self)
    }

    fn divrem_small(self, d: u64) -> (Self, u64) {
        let mut out = [0u64; 4];
        let mut rem: u128 = 0;
        for i in (0..4).rev() {
            let cur = rem << 64 | self.0[i] as u128;
            out[i] = (cur / d as u128) as u64;
            rem = cur % d as u128;
        }
        (U256(out), rem as u64)
    }

    fn add(self, o: Self) -> Option<Self> {
        let mut out = [0u64; 4];
        let mut carry = false;
        for (i, slot) in out.iter_mut().enumerate() {
            let (s1, c1) = self.0[i].overflowing_add(o.0[i]);
            let (s2, c2) = s1.overflowing_add(carry as u64);
            *slot = s2;
            carry = c1 || c2;
        }
        (!carry).then_some(U256(out))
    }

    /// `self - o`; requires `self >= o`.
    fn sub(self, o: Self) -> Self {
        let mut out = [0u64; 4];
        let mut borrow = false;
        for (i, slot) in out.iter_mut().enumerate() {
            let (d1, b1) = self.0[i].overflowing_sub(o.0[i]);
            let (d2, b2) = d1.overflowing_sub(borrow as u64);
            *slot = d2;
            borrow = b1 || b2;
        }
        U256(out)
    }

    fn cmp(&self, o: &Self) -> Ordering {
        for i in (0..4).rev() {
            match self.0[i].cmp(&o.0[i]) {
                Ordering::Equal => continue,
                other => return other,
            }
        }
        Ordering::Equal
    }
}

/// Sign, magnitude and scale of a decimal (zero is never negative).
fn parts(d: &Decimal) -> (bool, u128, u32) {
    let m = d.mantissa();
    (m < 0, m.unsigned_abs(), d.scale())
}

/// Builds the result, dropping trailing zeros only as far as needed to fit.
fn finish(neg: bool, mut mag: U256, mut scale: u32) -> Result<Decimal, DecimalError> {
    loop {
        let fits_mag = mag.to_u128().is_some_and(|m| m <= MAX_MANTISSA);
        if fits_mag && scale <= MAX_SCALE {
            break;
        }
        let (q, r) = mag.divrem_small(10);
        if scale == 0 || r != 0 {
            return Err(if scale > MAX_SCALE {
                DecimalError::Inexact
            } else {
                DecimalError::Overflow
            });
        }
        mag = q;
        scale -= 1;
    }
    let m = mag.to_u128().ok_or(DecimalError::Overflow)? as i128;
    let m = if neg { -m } else { m };
    Decimal::try_from_i128_with_scale(m, scale).map_err(|_| DecimalError::Overflow)
}

fn rescaled(mag: u128, from: u32, to: u32) -> U256 {
    // `to - from <= 28` and `mag < 2^96`: at most 2^190, never overflows.
    U256::from_u128(mag)
        .mul_pow10(to.saturating_sub(from))
        .unwrap_or(U256([u64::MAX; 4]))
}

fn signed_sum(an: bool, a: U256, bn: bool, b: U256) -> Result<(bool, U256), DecimalError> {
    if an == bn {
        return Ok((an, a.add(b).ok_or(DecimalError::Overflow)?));
    }
    Ok(match a.cmp(&b) {
        Ordering::Less => (bn, b.sub(a)),
        _ => (an, a.sub(b)),
    })
}

/// `a + b` with scale `max(scale(a), scale(b))`.
pub(crate) fn add(a: &Decimal, b: &Decimal) -> Result<Decimal, DecimalError> {
    add_signed(a, b, false)
}

/// `a - b` with scale `max(scale(a), scale(b))`.
pub(crate) fn sub(a: &Decimal, b: &Decimal) -> Result<Decimal, DecimalError> {
    add_signed(a, b, true)
}

fn add_signed(a: &Decimal, b: &Decimal, negate_b: bool) -> Result<Decimal, DecimalError> {
    let (an, am, as_) = parts(a);
    let (bn, bm, bs) = parts(b);
    let bn = bn ^ (negate_b && bm != 0);
    let s = as_.max(bs);
    let (neg, mag) = signed_sum(an, rescaled(am, as_, s), bn, rescaled(bm, bs, s))?;
    finish(neg && !mag.is_zero(), mag, s)
}

/// `a * b` with scale `scale(a) + scale(b)`.
pub(crate) fn mul(a: &Decimal, b: &Decimal) -> Result<Decimal, DecimalError> {
    let (an, am, as_) = parts(a);
    let (bn, bm, bs) = parts(b);
    let mag = U256::product(am, bm);
    finish((an ^ bn) && !mag.is_zero(), mag, as_ + bs)
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The exact quotient `a / b`, with the smallest scale that represents it.
pub(crate) fn div(a: &Decimal, b: &Decimal) -> Result<Decimal, DecimalError> {
    let (an, am, as_) = parts(a);
    let (bn, bm, bs) = parts(b);
    if bm == 0 {
        return Err(DecimalError::DivisionByZero);
    }
    if am == 0 {
        return Ok(Decimal::ZERO);
    }
    // a / b = (n / d) * 10^(bs - as) with n / d in lowest terms.
    let g = gcd(am, bm);
    let (n, mut d) = (am / g, bm / g);
    let twos = d.trailing_zeros();
    d >>= twos;
    let mut fives = 0u32;
    while d % 5 == 0 {
        d /= 5;
        fives += 1;
    }
    if d != 1 {
        // The quotient has a repeating expansion (like 1 / 3).
        return Err(DecimalError::Inexact);
    }
    // n / (2^twos 5^fives) = n 2^(k - twos) 5^(k - fives) / 10^k.
    let k = twos.max(fives);
    let scale = i64::from(k) + i64::from(as_) - i64::from(bs);
    if scale > i64::from(MAX_SCALE) {
        return Err(DecimalError::Inexact);
    }
    let mut mag = U256::from_u128(n);
    for _ in twos..k {
        mag = mag.mul_small(2).ok_or(DecimalError::Overflow)?;
    }
    for _ in fives..k {
        mag = mag.mul_small(5).ok_or(DecimalError::Overflow)?;
    }
    let mut scale = if scale < 0 {
        mag = mag
            .mul_pow10(scale.unsigned_abs() as u32)
            .ok_or(DecimalError::Overflow)?;
        0
    } else {
        scale as u32
    };
    // Smallest scale: drop trailing zeros after the point.
    while scale > 0 {
        let (q, r) = mag.divrem_small(10);
        if r != 0 {
            break;
        }
        mag = q;
        scale -= 1;
    }
    finish(an ^ bn, mag, scale)
}

/// Numeric comparison (`12.50 == 12.5`).
pub(crate) fn cmp(a: &Decimal, b: &Decimal) -> Ordering {
    let (an, am, as_) = parts(a);
    let (bn, bm, bs) = parts(b);
    let s = as_.max(bs);
    let (a, b) = (rescaled(am, as_, s), rescaled(bm, bs, s));
    match (an, bn) {
        (false, true) => Ordering::Greater,
        (true, false) => Ordering::Less,
        (false, false) => a.cmp(&b),
        (true, true) => b.cmp(&a),
    }
}

/// The integer part (truncated toward zero), if it fits an `i64`.
pub(crate) fn trunc_to_i64(d: &Decimal) -> Option<i64> {
    let (neg, m, s) = parts(d);
    let mut mag = U256::from_u128(m);
    for _ in 0..s {
        mag = mag.divrem_small(10).0;
    }
    let m = i128::try_from(mag.to_u128()?).ok()?;
    i64::try_from(if neg { -m } else { m }).ok()
}

/// `-d` (exact; zero stays positive).
pub(crate) fn neg(d: &Decimal) -> Decimal {
    let (n, m, s) = parts(d);
    let m = m as i128; // < 2^96
    Decimal::from_i128_with_scale(if n || m == 0 { m } else { -m }, s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::value::parse_decimal;
    use alloc::string::ToString;

    fn d(s: &str) -> Decimal {
        parse_decimal(s).unwrap()
    }

    fn show(r: Result<Decimal, DecimalError>) -> alloc::string::String {
        match r {
            Ok(v) => v.to_string(),
            Err(e) => alloc::format!("{e:?}"),
        }
    }

    #[test]
    fn scales_are_documented() {
        assert_eq!(show(add(&d("1.10"), &d("2.2"))), "3.30");
        assert_eq!(show(sub(&d("1.10"), &d("1.1"))), "0.00");
        assert_eq!(show(mul(&d("1.5"), &d("2.00"))), "3.000");
        assert_eq!(show(mul(&d("0"), &d("2.00"))), "0.00");
        assert_eq!(show(div(&d("10.00"), &d("4"))), "2.5");
        assert_eq!(show(div(&d("6.0"), &d("2"))), "3");
        assert_eq!(show(div(&d("1"), &d("0.04"))), "25");
        assert_eq!(show(div(&d("-1"), &d("8"))), "-0.125");
        assert_eq!(show(div(&d("1200"), &d("0.5"))), "2400");
    }

    #[test]
    fn never_rounds() {
        assert_eq!(div(&d("1"), &d("3")), Err(DecimalError::Inexact));
        assert_eq!(div(&d("1"), &d("0")), Err(DecimalError::DivisionByZero));
        let tiny = d("0.0000000000000000000000000001");
        assert_eq!(mul(&tiny, &d("0.1")), Err(DecimalError::Inexact));
        assert_eq!(
            show(mul(&tiny, &d("10.0"))),
            "0.0000000000000000000000000010"
        );
        let big = d("79228162514264337593543950335");
        assert_eq!(add(&big, &d("1")), Err(DecimalError::Overflow));
        assert_eq!(add(&big, &d("0.1")), Err(DecimalError::Overflow));
        assert_eq!(show(sub(&big, &big)), "0");
        assert_eq!(show(mul(&big, &d("1.0"))), big.to_string());
        assert_eq!(mul(&big, &d("2")), Err(DecimalError::Overflow));
        // Scale 10 + 20 = 30: two trailing zeros are dropped to fit 28 decimals.
        let e10 = d("10000000000.0000000000");
        let em20 = d("0.00000000000000000001");
        assert_eq!(show(mul(&e10, &em20)), "0.0000000001000000000000000000");
    }

    #[test]
    fn comparisons_and_truncation() {
        assert_eq!(cmp(&d("12.50"), &d("12.5")), Ordering::Equal);
        assert_eq!(cmp(&d("-1"), &d("0.00")), Ordering::Less);
        assert_eq!(cmp(&d("-1.5"), &d("-1.25")), Ordering::Less);
        assert_eq!(trunc_to_i64(&d("-7.99")), Some(-7));
        assert_eq!(trunc_to_i64(&d("79228162514264337593543950335")), None);
        assert_eq!(neg(&d("0.00")).to_string(), "0.00");
        assert_eq!(neg(&d("1.5")).to_string(), "-1.5");
    }
}
