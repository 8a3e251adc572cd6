//! User-defined slow–fast systems: fields given as expressions, evaluated by `exmex`, with
//! exact symbolic partial derivatives for the Jacobian blocks and for `∂/∂ε`.
//!
//! Before `exmex` sees an expression it is checked here token by token, so that every error
//! names the position of the offending token: unknown names, missing operands or operators,
//! unbalanced parentheses, and the one place where exmex's grammar differs from the usual
//! one — a unary minus binds tighter than `^` (`-x^2` would mean `(-x)^2`), which is refused
//! with a hint to write `-(x^2)`. Numbers in scientific notation (`1e-6`) are accepted and
//! rewritten in plain decimal form for exmex.

mod names;
mod syntax;
mod tokens;

use exmex::prelude::*;
use timescales_ode::{JacobianBlocks, SlowFastSystem};

use crate::SystemsError;
use names::EPS_NAME;
use syntax::validate;
use tokens::{Origin, expression_error};

pub(crate) use names::check_name;

/// One state variable and the right-hand side of its equation (for a fast variable, the
/// field `f` without the `1/ε`).
#[derive(Debug, Clone, PartialEq)]
pub struct VariableSpec {
    /// Variable name (letters, digits, `_`; not a function or constant name, not `eps`).
    pub name: String,
    /// Right-hand side.
    pub expression: String,
}

impl VariableSpec {
    /// `name' = expression`.
    pub fn new(name: impl Into<String>, expression: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            expression: expression.into(),
        }
    }
}

/// A parsed field with its derivatives. `index[k]` is the global index (see
/// [`UserSystem`]) of the `k`-th variable of the exmex expression.
#[derive(Debug, Clone)]
struct Field {
    expr: FlatEx<f64>,
    index: Vec<usize>,
    /// `(global index, ∂field/∂var)` for every state variable or `eps` the field uses.
    partials: Vec<(usize, FlatEx<f64>)>,
}

/// A slow–fast system whose fields are expressions:
///
/// ```text
///   x_i' = g_i(x, y, p, eps),      eps · y_j' = f_j(x, y, p, eps),
/// ```
///
/// with named parameters `p` and `eps` = ε available in every expression. Jacobian blocks
/// and `∂/∂ε` come from exmex's symbolic differentiation (finite differences only when an
/// expression uses a function exmex cannot differentiate).
///
/// ```
/// use timescales_ode::SlowFastSystem;
/// use timescales_systems::{UserSystem, VariableSpec};
/// let sys = UserSystem::new(
///     &[VariableSpec::new("x", "y")],
///     &[VariableSpec::new("y", "(1 - x^2)*y - x")],
///     &[],
/// )
/// .unwrap();
/// let mut f = [0.0];
/// sys.fast_field(&[2.0], &[1.0], 1e-3, &mut f);
/// assert_eq!(f[0], -5.0);
/// ```
#[derive(Debug, Clone)]
pub struct UserSystem {
    slow_names: Vec<String>,
    fast_names: Vec<String>,
    param_names: Vec<String>,
    param_values: Vec<f64>,
    slow: Vec<Field>,
    fast: Vec<Field>,
    analytic: bool,
}

impl UserSystem {
    /// Builds the system from its slow and fast equations and named parameters.
    ///
    /// # Errors
    /// [`SystemsError::InvalidName`] for a malformed, reserved or repeated name,
    /// [`SystemsError::Expression`] (with the position) for an expression that does not parse,
    /// [`SystemsError::InvalidValue`] for a system without any variable or a non-finite
    /// parameter.
    pub fn new(
        slow: &[VariableSpec],
        fast: &[VariableSpec],
        parameters: &[(String, f64)],
    ) -> Result<Self, SystemsError> {
        if slow.is_empty() && fast.is_empty() {
            return Err(SystemsError::InvalidValue {
                key: "system.slow/system.fast".into(),
                reason: "the system has no variable: give at least one slow or fast equation"
                    .into(),
            });
        }
        let mut known: Vec<String> = Vec::new();
        for (key, name) in slow
            .iter()
            .map(|v| ("slow", &v.name))
            .chain(fast.iter().map(|v| ("fast", &v.name)))
            .chain(parameters.iter().map(|(n, _)| ("parameters", n)))
        {
            check_name(key, name)?;
            if known.contains(name) {
                return Err(SystemsError::InvalidName {
                    key: key.to_string(),
                    name: name.clone(),
                    reason: "defined twice (names are shared by slow, fast and parameters)".into(),
                });
            }
            known.push(name.clone());
        }
        for (name, value) in parameters {
            if !value.is_finite() {
                return Err(SystemsError::InvalidValue {
                    key: format!("parameters.{name}"),
                    reason: format!("{value} is not finite"),
                });
            }
        }
        let mut analytic = true;
        let mut compile = |key: &str, v: &VariableSpec| -> Result<Field, SystemsError> {
            let origin = Origin {
                key: format!("{key}.{}", v.name),
                expression: &v.expression,
            };
            let text = validate(&origin, &known)?;
            let expr = FlatEx::<f64>::parse(&text)
                .map_err(|e| expression_error(&origin, 0, format!("exmex: {}", e.msg())))?;
            let mut index = Vec::new();
            for name in expr.var_names() {
                let i = if name == EPS_NAME {
                    known.len()
                } else {
                    known.iter().position(|n| n == name).ok_or_else(|| {
                        expression_error(&origin, 0, format!("unknown name '{name}'"))
                    })?
                };
                index.push(i);
            }
            let n_state = slow.len() + fast.len();
            let mut partials = Vec::new();
            for (k, &gi) in index.iter().enumerate() {
                if gi < n_state || gi == known.len() {
                    match expr.clone().partial(k) {
                        Ok(d) => partials.push((gi, d)),
                        Err(_) => analytic = false,
                    }
                }
            }
            Ok(Field {
                expr,
                index,
                partials,
            })
        };
        let slow_fields = slow
            .iter()
            .map(|v| compile("slow", v))
            .collect::<Result<Vec<_>, _>>()?;
        let fast_fields = fast
            .iter()
            .map(|v| compile("fast", v))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            slow_names: slow.iter().map(|v| v.name.clone()).collect(),
            fast_names: fast.iter().map(|v| v.name.clone()).collect(),
            param_names: parameters.iter().map(|(n, _)| n.clone()).collect(),
            param_values: parameters.iter().map(|(_, v)| *v).collect(),
            slow: slow_fields,
            fast: fast_fields,
            analytic,
        })
    }

    /// Whether every field could be differentiated symbolically (otherwise Jacobians are
    /// taken by finite differences).
    pub fn has_analytic_jacobian(&self) -> bool {
        self.analytic
    }

    /// Names of the parameters.
    pub fn parameter_names(&self) -> &[String] {
        &self.param_names
    }

    /// Value of the variable with global index `i` (slow, fast, parameters, then `eps`).
    #[inline]
    fn value(&self, i: usize, x: &[f64], y: &[f64], eps: f64) -> f64 {
        let (n, m, p) = (x.len(), y.len(), self.param_values.len());
        if i < n {
            x[i]
        } else if i < n + m {
            y[i - n]
        } else if i < n + m + p {
            self.param_values[i - n - m]
        } else {
            eps
        }
    }

    fn eval(&self, e: &FlatEx<f64>, index: &[usize], x: &[f64], y: &[f64], eps: f64) -> f64 {
        e.eval_iter(index.iter().map(|&i| self.value(i, x, y, eps)))
            .unwrap_or(f64::NAN)
    }
}

impl SlowFastSystem for UserSystem {
    fn slow_dim(&self) -> usize {
        self.slow.len()
    }
    fn fast_dim(&self) -> usize {
        self.fast.len()
    }
    fn slow_names(&self) -> Vec<String> {
        self.slow_names.clone()
    }
    fn fast_names(&self) -> Vec<String> {
        self.fast_names.clone()
    }
    fn slow_field(&self, x: &[f64], y: &[f64], eps: f64, out: &mut [f64]) {
        for (o, f) in out.iter_mut().zip(&self.slow) {
            *o = self.eval(&f.expr, &f.index, x, y, eps);
        }
    }
    fn fast_field(&self, x: &[f64], y: &[f64], eps: f64, out: &mut [f64]) {
        for (o, f) in out.iter_mut().zip(&self.fast) {
            *o = self.eval(&f.expr, &f.index, x, y, eps);
        }
    }
    fn jacobian(&self, x: &[f64], y: &[f64], eps: f64, blocks: &mut JacobianBlocks) -> bool {
        if !self.analytic {
            return false;
        }
        let n = self.slow.len();
        let m = self.fast.len();
        blocks.gx.fill(0.0);
        blocks.gy.fill(0.0);
        blocks.fx.fill(0.0);
        blocks.fy.fill(0.0);
        for (row, f) in self.slow.iter().enumerate() {
            for (gi, d) in &f.partials {
                let v = self.eval(d, &f.index, x, y, eps);
                if *gi < n {
                    blocks.gx[(row, *gi)] = v;
                } else if *gi < n + m {
                    blocks.gy[(row, gi - n)] = v;
                }
            }
        }
        for (row, f) in self.fast.iter().enumerate() {
            for (gi, d) in &f.partials {
                let v = self.eval(d, &f.index, x, y, eps);
                if *gi < n {
                    blocks.fx[(row, *gi)] = v;
                } else if *gi < n + m {
                    blocks.fy[(row, gi - n)] = v;
                }
            }
        }
        true
    }
    fn eps_derivative(
        &self,
        x: &[f64],
        y: &[f64],
        eps: f64,
        g_eps: &mut [f64],
        f_eps: &mut [f64],
    ) -> bool {
        if !self.analytic {
            return false;
        }
        let eps_index = self.slow.len() + self.fast.len() + self.param_values.len();
        let fill = |fields: &[Field], out: &mut [f64]| {
            for (o, f) in out.iter_mut().zip(fields) {
                *o = f
                    .partials
                    .iter()
                    .find(|(gi, _)| *gi == eps_index)
                    .map_or(0.0, |(_, d)| self.eval(d, &f.index, x, y, eps));
            }
        };
        fill(&self.slow, g_eps);
        fill(&self.fast, f_eps);
        true
    }
}

#[cfg(test)]
mod tests;
