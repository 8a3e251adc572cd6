//! The building blocks of the particle kernels: loop lengths known at compile time
//! ([`Len`], [`with_len!`]), blocks of [`LANES`] particles in SIMD registers ([`Lanes`],
//! [`for_blocks!`], [`load`], [`store`]), and lane-wise arithmetic in a fixed order (the
//! always-fused [`fma`], power sums, Horner's rule), so that every result is the same bits
//! on every machine.

use wide::f64x4;

/// A loop length: known at compile time ([`Fixed`]) or only at run time ([`Var`]). The
/// per-particle kernels are written once over `L: Len` and instantiated by [`with_len!`]
/// for the usual small numbers of coefficients, so that their inner loops over the degree
/// unroll and their accumulators stay in registers; the arithmetic (and hence every result
/// bit) is the same in all instances.
pub(super) trait Len: Copy + Send + Sync {
    fn get(self) -> usize;
}

#[derive(Clone, Copy)]
pub(super) struct Fixed<const L: usize>;
impl<const L: usize> Len for Fixed<L> {
    #[inline(always)]
    fn get(self) -> usize {
        L
    }
}

#[derive(Clone, Copy)]
pub(super) struct Var(pub(super) usize);
impl Len for Var {
    #[inline(always)]
    fn get(self) -> usize {
        self.0
    }
}

/// `with_len!(n, L => body)`: `body` with `L` a [`Len`] equal to `n`, compile-time for
/// `n = 1..=8`.
macro_rules! with_len {
    ($n:expr, $l:ident => $body:expr) => {
        match $n {
            1 => {
                let $l = $crate::model::lanes::Fixed::<1>;
                $body
            }
            2 => {
                let $l = $crate::model::lanes::Fixed::<2>;
                $body
            }
            3 => {
                let $l = $crate::model::lanes::Fixed::<3>;
                $body
            }
            4 => {
                let $l = $crate::model::lanes::Fixed::<4>;
                $body
            }
            5 => {
                let $l = $crate::model::lanes::Fixed::<5>;
                $body
            }
            6 => {
                let $l = $crate::model::lanes::Fixed::<6>;
                $body
            }
            7 => {
                let $l = $crate::model::lanes::Fixed::<7>;
                $body
            }
            8 => {
                let $l = $crate::model::lanes::Fixed::<8>;
                $body
            }
            n => {
                let $l = $crate::model::lanes::Var(n);
                $body
            }
        }
    };
}
pub(super) use with_len;

/// Particles processed together by the kernels: independent lanes that the compiler maps
/// onto SIMD registers, and interleaved partial sums (particle `i` adds to lane `i mod
/// LANES`) that break the add-latency chain of a single accumulator. The lanes of a sum are
/// added up in a fixed order, so results do not depend on anything but the input.
pub(super) const LANES: usize = 4;
/// The values of one block of particles (four `f64` in one AVX register, two SSE ones, or
/// four scalars: the same bits in every case).
pub(super) type Lanes = f64x4;

/// `for_blocks!(n, |i, valid| body)`: `body` for the blocks `i..i + valid` of `0..n`, full
/// blocks of [`LANES`] and then the tail (a macro, so that both copies of `body` are inlined
/// with `valid` known in the first).
macro_rules! for_blocks {
    ($n:expr, |$i:ident, $v:ident| $body:block) => {{
        let n: usize = $n;
        let full = n - n % $crate::model::lanes::LANES;
        let mut start = 0;
        while start < full {
            let ($i, $v) = (start, $crate::model::lanes::LANES);
            $body
            start += $crate::model::lanes::LANES;
        }
        if full < n {
            let ($i, $v) = (full, n - full);
            $body
        }
    }};
}
pub(super) use for_blocks;

/// `x[i..i + valid]`, padded with zeros (padded lanes add exact zeros to the sums).
#[inline(always)]
pub(super) fn load(x: &[f64], i: usize, valid: usize) -> Lanes {
    if valid == LANES {
        let block: &[f64; LANES] = x[i..i + LANES].try_into().expect("a full block");
        f64x4::new(*block)
    } else {
        f64x4::new(std::array::from_fn(
            |l| if l < valid { x[i + l] } else { 0.0 },
        ))
    }
}

/// `x[i..i + valid] = v[..valid]`.
#[inline(always)]
pub(super) fn store(x: &mut [f64], i: usize, valid: usize, v: Lanes) {
    if valid == LANES {
        let block: &mut [f64; LANES] = (&mut x[i..i + LANES]).try_into().expect("a full block");
        *block = v.to_array();
    } else {
        for (x, v) in x[i..i + valid].iter_mut().zip(v.to_array()) {
            *x = v;
        }
    }
}

/// `total[j] += Σ_l acc[j][l]` in a fixed order.
#[inline(always)]
pub(super) fn reduce_lanes(acc: &[Lanes], total: &mut [f64]) {
    for (t, a) in total.iter_mut().zip(acc) {
        let a = a.to_array();
        *t += (a[0] + a[1]) + (a[2] + a[3]);
    }
}

/// Runs `f` on `count` zeroed lane accumulators (on the stack when there are at most 64).
#[inline(always)]
pub(super) fn with_lane_acc<R>(count: usize, f: impl FnOnce(&mut [Lanes]) -> R) -> R {
    const M: usize = 64;
    if count <= M {
        let mut acc = [f64x4::ZERO; M];
        f(&mut acc[..count])
    } else {
        f(&mut vec![f64x4::ZERO; count])
    }
}

/// `a b + c` with one rounding, lane-wise: the hardware instruction where the build target
/// has FMA, else `f64::mul_add` per lane (also fused, in software), so that results are the
/// same bits on every machine.
#[inline(always)]
pub(super) fn fma(a: Lanes, b: Lanes, c: Lanes) -> Lanes {
    #[cfg(all(target_arch = "x86_64", target_feature = "avx", target_feature = "fma"))]
    {
        a.mul_add(b, c)
    }
    #[cfg(not(all(target_arch = "x86_64", target_feature = "avx", target_feature = "fma")))]
    {
        let (a, b, c) = (a.to_array(), b.to_array(), c.to_array());
        f64x4::new(std::array::from_fn(|l| a[l].mul_add(b[l], c[l])))
    }
}

/// `acc_j[m] += t_j s^m` for `m = 0..acc_j.len()` and each of the `J` sums `acc_j` (power
/// sums, lane-wise; all `acc_j` have the same length).
#[inline(always)]
pub(super) fn add_powers<const J: usize>(acc: [&mut [Lanes]; J], t: [Lanes; J], s: Lanes) {
    let mut p = f64x4::ONE;
    for m in 0..acc[0].len() {
        for j in 0..J {
            acc[j][m] = fma(t[j], p, acc[j][m]);
        }
        p *= s;
    }
}

/// `(P, P')` of `P(s) = Σ_k c_k s^k` by Horner's rule, lane-wise.
#[inline(always)]
pub(super) fn horner2(c: &[f64], s: Lanes) -> (Lanes, Lanes) {
    let (mut p, mut dp) = (f64x4::ZERO, f64x4::ZERO);
    for &ck in c.iter().rev() {
        dp = fma(dp, s, p);
        p = fma(p, s, f64x4::splat(ck));
    }
    (p, dp)
}

/// `(P', P'')` of `P(s) = Σ_k c_k s^k` by Horner's rule, lane-wise.
#[inline(always)]
pub(super) fn horner3(c: &[f64], s: Lanes) -> (Lanes, Lanes) {
    let (mut p, mut dp, mut d2p) = (f64x4::ZERO, f64x4::ZERO, f64x4::ZERO);
    let two = f64x4::splat(2.0);
    for &ck in c.iter().rev() {
        d2p = fma(d2p, s, two * dp);
        dp = fma(dp, s, p);
        p = fma(p, s, f64x4::splat(ck));
    }
    (dp, d2p)
}
