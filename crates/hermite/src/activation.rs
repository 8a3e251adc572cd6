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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_errors_list_valid_names() {
        assert_eq!(Activation::all().len(), 9);
        for a in Activation::all() {
            assert_eq!(a.to_string().parse::<Activation>(), Ok(*a));
            assert_eq!(a.to_string(), a.name());
        }
        assert_eq!(" ReLU ".parse::<Activation>(), Ok(Activation::Relu));
        let err = "swish".parse::<Activation>().unwrap_err();
        assert_eq!(
            err,
            HermiteError::UnknownActivation {
                name: "swish".into()
            }
        );
        let msg = err.to_string();
        assert!(msg.contains("swish"), "{msg}");
        for a in Activation::all() {
            assert!(msg.contains(a.name()), "{msg}");
        }
    }

    #[test]
    fn values_at_reference_points() {
        // Closed forms: erf(0.5) = 0.5204998778130465 (A&S Table 7.1), Φ(1) = 0.8413447460685429
        // (A&S Table 26.1), sigmoid(0) = ½, softplus(0) = ln 2, gelu(1) = Φ(1).
        assert!((Activation::Erf.eval(0.5) - 0.520_499_877_813_046_5).abs() < 2e-16);
        assert!((normal_cdf(1.0) - 0.841_344_746_068_542_9).abs() < 2e-16);
        assert!((normal_cdf(-10.0) - 7.619_853_024_160_527e-24).abs() < 1e-37);
        assert_eq!(Activation::Sigmoid.eval(0.0), 0.5);
        assert!((Activation::Softplus.eval(0.0) - std::f64::consts::LN_2).abs() < 1e-16);
        assert!((Activation::Gelu.eval(1.0) - 0.841_344_746_068_542_9).abs() < 2e-16);
        assert_eq!(Activation::Exp.eval(0.5), 1.0);
        assert_eq!(
            (Activation::Relu.eval(-2.0), Activation::Abs.eval(-2.0)),
            (0.0, 2.0)
        );
    }

    #[test]
    fn stable_forms_do_not_overflow() {
        for x in [-1000.0, -800.0, 800.0, 1000.0] {
            let s = Activation::Sigmoid.eval(x);
            let sp = Activation::Softplus.eval(x);
            assert!(s.is_finite() && sp.is_finite(), "x = {x}");
            assert!(Activation::Sigmoid.derivative(x).is_finite());
        }
        assert_eq!(Activation::Softplus.eval(1000.0), 1000.0);
        assert_eq!(Activation::Sigmoid.eval(-1000.0), 0.0);
        // softplus(−40) = ln(1 + e^{−40}) ≈ e^{−40}, kept to full relative accuracy.
        assert!((Activation::Softplus.eval(-40.0) / (-40f64).exp() - 1.0).abs() < 1e-15);
    }

    #[test]
    fn derivatives_match_finite_differences() {
        let h = 1e-5;
        for a in Activation::all() {
            for &x in &[-2.3, -0.7, 0.4, 1.9] {
                let fd = (a.eval(x + h) - a.eval(x - h)) / (2.0 * h);
                assert!((a.derivative(x) - fd).abs() < 1e-8, "{a} at {x}");
            }
        }
        // Kink convention: right derivative.
        assert_eq!(Activation::Relu.derivative(0.0), 1.0);
        assert_eq!(Activation::Abs.derivative(0.0), 1.0);
    }
}
