//! Function specifications and their Hermite expansions.

use std::fmt;

use crate::basis::hermite_series;
use crate::closed_form::{
    abs_coeffs, exp_coeffs, exp_norm_sq, polynomial_to_hermite, relu_coeffs, relu_norm_sq,
};
use crate::{Activation, HermiteError};

mod numerical;

#[cfg(test)]
mod tests;

/// Largest expansion degree accepted by [`FunctionSpec::expand`].
pub const MAX_DEGREE: usize = 1024;

/// Largest accepted [`ExpandOptions::max_nodes`].
const MAX_RULE_NODES: usize = 1 << 16;

/// Largest accepted [`ExpandOptions::max_composite_nodes`].
const MAX_COMPOSITE_NODES: usize = 1 << 24;

/// Nodes per panel of the composite Gauss–Legendre rule.
const PANEL_NODES: usize = 16;

/// What a scenario gives for an activation `σ` or a target `φ`.
#[derive(Debug, Clone, PartialEq)]
pub enum FunctionSpec {
    /// Explicit normalized Hermite coefficients: `f(x) = Σ_k c_k h_k(x)`, `c_0, c_1, …`.
    Hermite(Vec<f64>),
    /// A polynomial in monomial form: `f(x) = Σ_j c_j x^j`, `c_0, c_1, …`.
    Polynomial(Vec<f64>),
    /// A named activation with an affine pre-activation:
    /// `f(x) = activation(scale · x + shift)`.
    ///
    /// For example `Named { activation: Relu, shift: −0.5, scale: 2.0 }` is
    /// `x ↦ max(2x − 0.5, 0)` (kink at `x = 0.25`). `scale = 1, shift = 0` is the plain
    /// activation; `scale = 0` is the constant `activation(shift)`.
    Named {
        /// The activation `f`.
        activation: Activation,
        /// Added after scaling: the argument is `scale · x + shift`.
        shift: f64,
        /// Multiplies `x` before the shift.
        scale: f64,
    },
}

/// How the coefficients of an [`Expansion`] were obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpansionMethod {
    /// A closed-form formula (relu, abs, exp, identity, constants): exact up to rounding.
    ClosedForm,
    /// Exact algebra on the given coefficients (Hermite lists, polynomials).
    Exact,
    /// Quadrature with doubling: Gauss–Hermite, or composite Gauss–Legendre for steep
    /// functions and high degrees (see [`FunctionSpec::expand_with`]).
    Quadrature {
        /// Number of nodes of the accepted (finer) rule.
        nodes: usize,
    },
}

/// Hermite expansion of a function `f`: `f_k = E[f(G) h_k(G)]`, `k = 0..=degree`.
#[derive(Debug, Clone, PartialEq)]
pub struct Expansion {
    /// `f_0, …, f_degree`. Hermite lists shorter than `degree + 1` are zero-padded.
    pub coeffs: Vec<f64>,
    /// `‖f‖² = E[f(G)²] = Σ_{k≥0} f_k²` of the whole function (not of the truncation).
    pub norm_sq: f64,
    /// Estimated absolute accuracy of the coefficients: `0` for [`ExpansionMethod::Exact`],
    /// a rounding-level estimate for closed forms, and for quadrature the largest difference
    /// between the coefficient vectors of the last two rules (`n/2` and `n` nodes).
    pub accuracy: f64,
    /// How the coefficients were obtained.
    pub method: ExpansionMethod,
}

impl Expansion {
    /// Degree `K` of the expansion (`coeffs.len() − 1`; `0` for an empty list).
    pub fn degree(&self) -> usize {
        self.coeffs.len().saturating_sub(1)
    }

    /// `Σ_{k≤K} f_k²`, the energy captured by the truncation.
    pub fn truncated_norm_sq(&self) -> f64 {
        self.coeffs.iter().map(|c| c * c).sum()
    }

    /// Risk floor of the truncation, `½ Σ_{k>K} f_k² = ½ (‖f‖² − Σ_{k≤K} f_k²)`, clamped at
    /// `0` (rounding can make the difference slightly negative). This is the
    /// `½ Σ_{k>K} φ_k²` term of the population risk (model.md §4).
    pub fn tail_energy(&self) -> f64 {
        (0.5 * (self.norm_sq - self.truncated_norm_sq())).max(0.0)
    }

    /// Indices `k` whose coefficient is zero to within `max(tol, accuracy)`.
    ///
    /// A zero `σ_l` or `φ_l` removes phase `l` (model.md §5); use this to say so up front.
    pub fn zero_indices(&self, tol: f64) -> Vec<usize> {
        let t = tol.max(self.accuracy);
        (0..self.coeffs.len())
            .filter(|&k| self.coeffs[k].abs() <= t)
            .collect()
    }

    /// `Σ_k f_k h_k(x)`: the truncated series at `x`.
    pub fn eval(&self, x: f64) -> f64 {
        hermite_series(&self.coeffs, x).0
    }
}

/// Controls of the Gauss–Hermite path of [`FunctionSpec::expand_with`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExpandOptions {
    /// Target absolute accuracy of the coefficients, relative to `max(1, ‖f‖)`:
    /// doubling stops when successive coefficient vectors differ by at most
    /// `tol · max(1, ‖f‖)` and successive `‖f‖²` by at most `tol · max(1, ‖f‖²)`.
    pub tol: f64,
    /// Number of nodes of the first rule (rounded up to a power of two and to at least
    /// `2 (degree + 1)`).
    pub initial_nodes: usize,
    /// Largest Gauss–Hermite rule tried (at most `2^16`); reaching it without convergence is
    /// [`HermiteError::NotConverged`].
    pub max_nodes: usize,
    /// Largest total node count (16 to `2^24`) of the composite Gauss–Legendre rule used for
    /// steep functions (`|scale| > 1.5`) and high degrees (`4 (degree + 1) > max_nodes`).
    pub max_composite_nodes: usize,
}

impl Default for ExpandOptions {
    /// `tol = 1e−13`, `initial_nodes = 64`, `max_nodes = 2048`,
    /// `max_composite_nodes = 2^18`.
    fn default() -> Self {
        ExpandOptions {
            tol: 1e-13,
            initial_nodes: 64,
            max_nodes: 2048,
            max_composite_nodes: 1 << 18,
        }
    }
}

impl ExpandOptions {
    fn validate(&self) -> Result<(), HermiteError> {
        if !(self.tol.is_finite() && self.tol > 0.0) {
            return Err(HermiteError::InvalidOptions {
                field: "tol",
                value: self.tol,
                reason: "must be finite and positive",
            });
        }
        if self.initial_nodes == 0 {
            return Err(HermiteError::InvalidOptions {
                field: "initial_nodes",
                value: 0.0,
                reason: "must be at least 1",
            });
        }
        if self.max_nodes < self.initial_nodes {
            return Err(HermiteError::InvalidOptions {
                field: "max_nodes",
                value: self.max_nodes as f64,
                reason: "must be at least initial_nodes",
            });
        }
        if self.max_nodes > MAX_RULE_NODES {
            return Err(HermiteError::InvalidOptions {
                field: "max_nodes",
                value: self.max_nodes as f64,
                reason: "must be at most 2^16 (Gauss-Hermite rules cost O(n^2))",
            });
        }
        if !(PANEL_NODES..=MAX_COMPOSITE_NODES).contains(&self.max_composite_nodes) {
            return Err(HermiteError::InvalidOptions {
                field: "max_composite_nodes",
                value: self.max_composite_nodes as f64,
                reason: "must be between 16 (one panel) and 2^24",
            });
        }
        Ok(())
    }
}

impl fmt::Display for FunctionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FunctionSpec::Hermite(c) => write!(f, "Hermite series with {} coefficients", c.len()),
            FunctionSpec::Polynomial(c) => {
                write!(f, "polynomial with {} monomial coefficients", c.len())
            }
            FunctionSpec::Named {
                activation,
                shift,
                scale,
            } => write!(f, "{activation}({scale}·x + {shift})"),
        }
    }
}

fn check_list(c: &[f64], what: &'static str) -> Result<(), HermiteError> {
    if c.is_empty() {
        return Err(HermiteError::EmptyList { what });
    }
    if let Some((i, &v)) = c.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(HermiteError::NonFiniteParameter {
            what,
            index: Some(i),
            value: v,
        });
    }
    Ok(())
}

impl FunctionSpec {
    /// `activation(x)` with `scale = 1`, `shift = 0`.
    pub fn named(activation: Activation) -> Self {
        FunctionSpec::Named {
            activation,
            shift: 0.0,
            scale: 1.0,
        }
    }

    /// Checks that every number is finite and that coefficient lists are non-empty.
    pub fn validate(&self) -> Result<(), HermiteError> {
        match self {
            FunctionSpec::Hermite(c) => check_list(c, "Hermite coefficient"),
            FunctionSpec::Polynomial(c) => check_list(c, "polynomial coefficient"),
            FunctionSpec::Named { shift, scale, .. } => {
                for (what, v) in [("shift", *shift), ("scale", *scale)] {
                    if !v.is_finite() {
                        return Err(HermiteError::NonFiniteParameter {
                            what,
                            index: None,
                            value: v,
                        });
                    }
                }
                Ok(())
            }
        }
    }

    /// Pointwise value `f(x)`: `Σ_k c_k h_k(x)` (Hermite form), `Σ_j c_j x^j` (Horner), or
    /// `activation(scale · x + shift)`. An empty list is the zero function.
    pub fn eval(&self, x: f64) -> f64 {
        match self {
            FunctionSpec::Hermite(c) => hermite_series(c, x).0,
            FunctionSpec::Polynomial(c) => c.iter().rev().fold(0.0, |acc, &cj| acc * x + cj),
            FunctionSpec::Named {
                activation,
                shift,
                scale,
            } => activation.eval(scale * x + shift),
        }
    }

    /// Pointwise derivative `f'(x)`: `Σ_k c_k sqrt(k) h_{k−1}(x)` (Hermite form, from
    /// `h_k' = sqrt(k) h_{k−1}`), `Σ_j j c_j x^{j−1}`, or
    /// `scale · activation'(scale · x + shift)`.
    ///
    /// At the kink of `relu` and `abs` the activation's right derivative is used
    /// (`relu'(0) = abs'(0) = 1`, see [`Activation::derivative`]); with `scale < 0` that is
    /// the left derivative of `x ↦ f(scale · x + shift)` at its kink.
    pub fn derivative(&self, x: f64) -> f64 {
        match self {
            FunctionSpec::Hermite(c) => hermite_series(c, x).1,
            FunctionSpec::Polynomial(c) => c
                .iter()
                .enumerate()
                .skip(1)
                .rev()
                .fold(0.0, |acc, (j, &cj)| acc * x + j as f64 * cj),
            FunctionSpec::Named {
                activation,
                shift,
                scale,
            } => scale * activation.derivative(scale * x + shift),
        }
    }

    /// The degree at which the expansion is exact, when the spec states one.
    ///
    /// `Hermite(c)`: `c.len() − 1` (the list length, even with trailing zeros);
    /// `Polynomial(c)`: the index of the last non-zero coefficient (the true degree; `0` for
    /// the zero polynomial); `Named { .. }`: `None` (even for `identity`: a named activation
    /// never fixes the degree). An empty list gives `None`.
    pub fn natural_degree(&self) -> Option<usize> {
        match self {
            FunctionSpec::Hermite(c) => c.len().checked_sub(1),
            FunctionSpec::Polynomial(c) => {
                if c.is_empty() {
                    None
                } else {
                    Some(c.iter().rposition(|&v| v != 0.0).unwrap_or(0))
                }
            }
            FunctionSpec::Named { .. } => None,
        }
    }

    /// Hermite coefficients `f_k = E[f(G) h_k(G)]`, `k = 0..=degree`, with default
    /// [`ExpandOptions`]. See [`FunctionSpec::expand_with`].
    ///
    /// ```
    /// use timescales_hermite::{Activation, FunctionSpec};
    /// let relu = FunctionSpec::named(Activation::Relu).expand(4).unwrap();
    /// // σ_0 = 1/sqrt(2π), σ_1 = 1/2, σ_2 = 1/(2 sqrt(π)), σ_3 = 0 (closed form).
    /// assert!((relu.coeffs[1] - 0.5).abs() < 1e-15 && relu.coeffs[3] == 0.0);
    /// assert!((relu.norm_sq - 0.5).abs() < 1e-15); // E[relu(G)²] = 1/2
    /// ```
    pub fn expand(&self, degree: usize) -> Result<Expansion, HermiteError> {
        self.expand_with(degree, &ExpandOptions::default())
    }

    /// Hermite coefficients `f_k = E[f(G) h_k(G)]`, `k = 0..=degree`, and `‖f‖² = E[f(G)²]`.
    ///
    /// Methods:
    /// - `Hermite(c)`: the list itself, zero-padded; `‖f‖² = Σ c_k²`
    ///   ([`ExpansionMethod::Exact`]). A list longer than `degree + 1` is
    ///   [`HermiteError::ListTooLong`].
    /// - `Polynomial(c)`: exact conversion by Horner's scheme in the Hermite basis
    ///   (`x h_k = sqrt(k+1) h_{k+1} + sqrt(k) h_{k−1}`), truncated to `degree`;
    ///   `‖f‖²` is the sum of squares of all coefficients ([`ExpansionMethod::Exact`]).
    /// - Closed forms ([`ExpansionMethod::ClosedForm`]), with `c = scale`, `b = shift`:
    ///   - `exp`: `f_k = exp(b − ½ + c²/2) c^k / sqrt(k!)`, `‖f‖² = exp(2b − 1 + 2c²)`;
    ///   - `identity`: `f_0 = b`, `f_1 = c`, `‖f‖² = b² + c²`;
    ///   - `relu(c x + b)` by Gaussian integration by parts `E[f(G) He_k(G)] = E[f^{(k)}(G)]`:
    ///     for `c > 0`, with `t = b/c` and the kink `x0 = −t`,
    ///     `f_0 = b Φ(t) + c ϕ(t)`, `f_1 = c Φ(t)`,
    ///     `f_k = c He_{k−2}(x0) ϕ(x0) / sqrt(k!) = c ϕ(x0) h_{k−2}(x0) / sqrt(k(k−1))`
    ///     (`k ≥ 2`); for `c < 0`, `f_k(c, b) = (−1)^k f_k(|c|, b)` (substitute `G → −G`);
    ///     `‖f‖² = c² [(1 + t²) Φ(t) + t ϕ(t)]` with `t = b/|c|`;
    ///   - `abs(c x + b) = relu(c x + b) + relu(−c x − b)`, `‖f‖² = b² + c²`;
    ///   - `scale = 0`: the constant `activation(shift)`.
    ///
    ///   `accuracy` is then a rounding-level estimate, `16 ε max(1, ‖f‖)`.
    /// - `tanh`, `erf`, `sigmoid`, `softplus`, `gelu`: Gauss–Hermite quadrature
    ///   `f_k ≈ Σ_i w_i f(x_i) h_k(x_i)` with `n = initial_nodes, 2n, 4n, …` nodes until
    ///   successive coefficient vectors agree to `tol · max(1, ‖f‖)` (and successive `‖f‖²`
    ///   to `tol · max(1, ‖f‖²)`); `accuracy` is that last difference. For steep functions
    ///   (`|scale| > 1.5`), where Gauss–Hermite needs `O(scale²)` nodes, and for
    ///   `4 (degree + 1) > max_nodes`, the same doubling runs on a composite Gauss–Legendre
    ///   rule for `∫ f(x) h_k(x) ϕ(x) dx` on `[−L, L]`, `L = sqrt(4·degree + 2) + 12`, with
    ///   panels narrower than `1/|scale|`. Failing by the node cap is
    ///   [`HermiteError::NotConverged`], reporting the accuracy reached.
    ///
    /// Errors also on non-finite parameters, empty lists, `degree > MAX_DEGREE`, invalid
    /// options, and functions or closed forms that overflow.
    pub fn expand_with(
        &self,
        degree: usize,
        options: &ExpandOptions,
    ) -> Result<Expansion, HermiteError> {
        self.validate()?;
        options.validate()?;
        if degree > MAX_DEGREE {
            return Err(HermiteError::DegreeTooLarge {
                degree,
                max: MAX_DEGREE,
            });
        }
        let expansion = match self {
            FunctionSpec::Hermite(c) => {
                if c.len() > degree + 1 {
                    return Err(HermiteError::ListTooLong {
                        len: c.len(),
                        degree,
                    });
                }
                let mut coeffs = c.clone();
                coeffs.resize(degree + 1, 0.0);
                Expansion {
                    norm_sq: c.iter().map(|v| v * v).sum(),
                    coeffs,
                    accuracy: 0.0,
                    method: ExpansionMethod::Exact,
                }
            }
            FunctionSpec::Polynomial(c) => {
                let mut coeffs = polynomial_to_hermite(c);
                let norm_sq = coeffs.iter().map(|v| v * v).sum();
                coeffs.resize(degree + 1, 0.0);
                Expansion {
                    coeffs,
                    norm_sq,
                    accuracy: 0.0,
                    method: ExpansionMethod::Exact,
                }
            }
            FunctionSpec::Named {
                activation,
                shift,
                scale,
            } => self.expand_named(*activation, *shift, *scale, degree, options)?,
        };
        self.check_finite(&expansion)?;
        Ok(expansion)
    }

    fn check_finite(&self, e: &Expansion) -> Result<(), HermiteError> {
        if !e.norm_sq.is_finite() {
            return Err(HermiteError::NonFiniteValue {
                function: self.to_string(),
                what: "norm_sq",
                x: None,
                value: e.norm_sq,
            });
        }
        if let Some(&v) = e.coeffs.iter().find(|v| !v.is_finite()) {
            return Err(HermiteError::NonFiniteValue {
                function: self.to_string(),
                what: "Hermite coefficient",
                x: None,
                value: v,
            });
        }
        Ok(())
    }

    fn expand_named(
        &self,
        activation: Activation,
        shift: f64,
        scale: f64,
        degree: usize,
        options: &ExpandOptions,
    ) -> Result<Expansion, HermiteError> {
        let closed = |coeffs: Vec<f64>, norm_sq: f64| {
            // Rounding-level estimate: a few ulps of the function's size.
            let accuracy = 16.0 * f64::EPSILON * norm_sq.sqrt().max(1.0);
            Expansion {
                coeffs,
                norm_sq,
                accuracy,
                method: ExpansionMethod::ClosedForm,
            }
        };
        if scale == 0.0 {
            let v = activation.eval(shift);
            let mut coeffs = vec![0.0; degree + 1];
            coeffs[0] = v;
            return Ok(closed(coeffs, v * v));
        }
        Ok(match activation {
            Activation::Identity => {
                let mut coeffs = vec![0.0; degree + 1];
                coeffs[0] = shift;
                if degree >= 1 {
                    coeffs[1] = scale;
                }
                closed(coeffs, shift * shift + scale * scale)
            }
            Activation::Exp => closed(exp_coeffs(scale, shift, degree), exp_norm_sq(scale, shift)),
            Activation::Relu => closed(
                relu_coeffs(scale, shift, degree),
                relu_norm_sq(scale, shift),
            ),
            Activation::Abs => closed(
                abs_coeffs(scale, shift, degree),
                shift * shift + scale * scale,
            ),
            Activation::Tanh
            | Activation::Erf
            | Activation::Sigmoid
            | Activation::Softplus
            | Activation::Gelu => self.expand_quadrature(degree, scale, options)?,
        })
    }
}
