//! Named activation functions.

use std::f64::consts::{FRAC_1_SQRT_2, PI};
use std::fmt;
use std::str::FromStr;

use crate::HermiteError;

/// `1 / sqrt(2π)`.
pub(crate) const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Standard normal density `ϕ(x) = exp(−x²/2) / sqrt(2π)`.
pub fn normal_pdf(x: f64) -> f64 {
    INV_SQRT_2PI * (-0.5 * x * x).exp()
}

/// Standard normal distribution function `Φ(x) = erfc(−x/√2) / 2` (accurate in both tails).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * libm::erfc(-x * FRAC_1_SQRT_2)
}

/// A named activation `f`, evaluated pointwise by [`Activation::eval`].
///
/// | name | `f(x)` | `f'(x)` |
/// |---|---|---|
/// | `relu` | `max(x, 0)` | `1` for `x ≥ 0`, else `0` (right derivative at the kink) |
/// | `tanh` | `tanh x` | `1 − tanh² x` |
/// | `erf` | `erf x = (2/√π) ∫_0^x e^{−t²} dt` | `(2/√π) e^{−x²}` |
/// | `sigmoid` | `1 / (1 + e^{−x})` | `f (1 − f)` |
/// | `softplus` | `ln(1 + e^x)` | sigmoid `x` |
/// | `gelu` | `x Φ(x)` (exact, not the tanh approximation) | `Φ(x) + x ϕ(x)` |
/// | `abs` | `|x|` | `1` for `x ≥ 0`, else `−1` (right derivative at the kink) |
/// | `exp` | `exp(x − ½)` (so that `E[f(G)] = 1` and `f_k = 1/sqrt(k!)`, model.md §2) | `f` |
/// | `identity` | `x` | `1` |
///
/// Parsed from and displayed as the lowercase names above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `tanh x`.
    Tanh,
    /// The error function `erf x`.
    Erf,
    /// The logistic function `1 / (1 + e^{−x})`.
    Sigmoid,
    /// `ln(1 + e^x)`.
    Softplus,
    /// `x Φ(x)` with `Φ` the standard normal distribution function.
    Gelu,
    /// `|x|`.
    Abs,
    /// `exp(x − ½)`.
    Exp,
    /// `x`.
    Identity,
}

const ALL: [Activation; 9] = [
    Activation::Relu,
    Activation::Tanh,
    Activation::Erf,
    Activation::Sigmoid,
    Activation::Softplus,
    Activation::Gelu,
    Activation::Abs,
    Activation::Exp,
    Activation::Identity,
];

impl Activation {
    /// Every activation, in declaration order.
    pub fn all() -> &'static [Activation] {
        &ALL
    }

    /// The lowercase name used by [`FromStr`] and [`fmt::Display`].
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
            Activation::Erf => "erf",
            Activation::Sigmoid => "sigmoid",
            Activation::Softplus => "softplus",
            Activation::Gelu => "gelu",
            Activation::Abs => "abs",
            Activation::Exp => "exp",
            Activation::Identity => "identity",
        }
    }

    /// All valid names joined by `", "` (used in error messages).
    pub(crate) fn names_joined() -> String {
        ALL.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")
    }

    /// `f(x)`, see the table on [`Activation`]. Written in overflow-free forms:
    /// `sigmoid` and `softplus` never overflow for finite `x`.
    pub fn eval(self, x: f64) -> f64 {
        match self {
            Activation::Relu => x.max(0.0),
            Activation::Tanh => x.tanh(),
            Activation::Erf => libm::erf(x),
            Activation::Sigmoid => sigmoid(x),
            // ln(1 + e^x) = max(x, 0) + ln(1 + e^{−|x|})
            Activation::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            Activation::Gelu => x * normal_cdf(x),
            Activation::Abs => x.abs(),
            Activation::Exp => (x - 0.5).exp(),
            Activation::Identity => x,
        }
    }

    /// `f'(x)`, see the table on [`Activation`]. At the kink of `relu` and `abs` (`x = 0`)
    /// this is the right derivative `lim_{t↓0} (f(t) − f(0))/t`, i.e. `1` for both.
    pub fn derivative(self, x: f64) -> f64 {
        match self {
            Activation::Relu => {
                if x >= 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::Tanh => {
                let t = x.tanh();
                1.0 - t * t
            }
            Activation::Erf => 2.0 / PI.sqrt() * (-x * x).exp(),
            Activation::Sigmoid => {
                let s = sigmoid(x);
                s * (1.0 - s)
            }
            Activation::Softplus => sigmoid(x),
            Activation::Gelu => normal_cdf(x) + x * normal_pdf(x),
            Activation::Abs => {
                if x >= 0.0 {
                    1.0
                } else {
                    -1.0
                }
            }
            Activation::Exp => (x - 0.5).exp(),
            Activation::Identity => 1.0,
        }
    }
}

/// Logistic function in the overflow-free form `1/(1 + e^{−x})` for `x ≥ 0`,
/// `e^x/(1 + e^x)` for `x < 0`.
fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Activation {
    type Err = HermiteError;

    /// Parses one of the lowercase names (`"relu"`, `"tanh"`, …); surrounding whitespace
    /// and letter case are ignored. The error lists the valid names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        ALL.iter()
            .copied()
            .find(|a| a.name().eq_ignore_ascii_case(t))
            .ok_or_else(|| HermiteError::UnknownActivation {
                name: s.to_string(),
            })
    }
}
