//! User-defined slow–fast systems: fields given as expressions, evaluated by `exmex`, with
//! exact symbolic partial derivatives for the Jacobian blocks and for `∂/∂ε`.
//!
//! Before `exmex` sees an expression it is checked here token by token, so that every error
//! names the position of the offending token: unknown names, missing operands or operators,
//! unbalanced parentheses, and the one place where exmex's grammar differs from the usual
//! one — a unary minus binds tighter than `^` (`-x^2` would mean `(-x)^2`), which is refused
//! with a hint to write `-(x^2)`. Numbers in scientific notation (`1e-6`) are accepted and
//! rewritten in plain decimal form for exmex.

use exmex::prelude::*;
use timescales_ode::{JacobianBlocks, SlowFastSystem};

use crate::SystemsError;

/// Functions of one argument known to the expression language.
const UNARY_FUNCTIONS: &[&str] = &[
    "abs", "signum", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
    "acosh", "atanh", "floor", "round", "ceil", "trunc", "fract", "exp", "sqrt", "cbrt", "ln",
    "log2", "log10", "log",
];
/// Functions of two arguments (`min(a, b)`).
const BINARY_FUNCTIONS: &[&str] = &["atan2", "min", "max"];
/// Named constants.
const CONSTANTS: &[&str] = &["PI", "π", "E", "e", "TAU", "τ"];
/// The name under which expressions see `ε`.
pub(crate) const EPS_NAME: &str = "eps";

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

/// Where an expression came from, to place errors.
pub(crate) struct Origin<'a> {
    pub key: String,
    pub expression: &'a str,
}

fn expression_error(
    origin: &Origin<'_>,
    position: usize,
    message: impl Into<String>,
) -> SystemsError {
    SystemsError::Expression {
        key: origin.key.clone(),
        expression: origin.expression.to_string(),
        position,
        message: message.into(),
        line: None,
        column: None,
    }
}

pub(crate) fn check_name(key: &str, name: &str) -> Result<(), SystemsError> {
    let bad = |reason: &str| SystemsError::InvalidName {
        key: key.to_string(),
        name: name.to_string(),
        reason: reason.to_string(),
    };
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_alphabetic() || c == '_' => {}
        _ => return Err(bad("a name starts with a letter or '_'")),
    }
    if !chars.all(|c| c.is_alphanumeric() || c == '_') {
        return Err(bad("a name has only letters, digits and '_'"));
    }
    if name == EPS_NAME {
        return Err(bad("'eps' is reserved for ε"));
    }
    if UNARY_FUNCTIONS.contains(&name) || BINARY_FUNCTIONS.contains(&name) {
        return Err(bad("this is the name of a function"));
    }
    if CONSTANTS.contains(&name) {
        return Err(bad("this is the name of a constant"));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(String),
    Ident(String),
    Op(char),
    Open,
    Close,
    Comma,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

fn tokenize(origin: &Origin<'_>) -> Result<Vec<Token>, SystemsError> {
    let chars: Vec<char> = origin.expression.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        let is_digit = |k: usize| k < chars.len() && chars[k].is_ascii_digit();
        if c.is_ascii_digit() || (c == '.' && is_digit(i + 1)) {
            while is_digit(i) {
                i += 1;
            }
            if i < chars.len() && chars[i] == '.' {
                i += 1;
                while is_digit(i) {
                    i += 1;
                }
            }
            if i < chars.len() && (chars[i] == 'e' || chars[i] == 'E') {
                let mut k = i + 1;
                if k < chars.len() && (chars[k] == '+' || chars[k] == '-') {
                    k += 1;
                }
                if is_digit(k) {
                    i = k;
                    while is_digit(i) {
                        i += 1;
                    }
                }
            }
            let text: String = chars[start..i].iter().collect();
            let value: f64 = text.parse().map_err(|_| {
                expression_error(origin, start, format!("malformed number '{text}'"))
            })?;
            if !value.is_finite() {
                return Err(expression_error(
                    origin,
                    start,
                    format!("number '{text}' is out of range"),
                ));
            }
            // exmex reads plain decimals only; Display of f64 never uses an exponent and
            // round-trips exactly.
            out.push(Token {
                tok: Tok::Num(format!("{value}")),
                pos: start,
            });
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token {
                tok: Tok::Ident(chars[start..i].iter().collect()),
                pos: start,
            });
            continue;
        }
        let tok = match c {
            '+' | '-' | '*' | '/' | '^' => Tok::Op(c),
            '(' => Tok::Open,
            ')' => Tok::Close,
            ',' => Tok::Comma,
            _ => {
                return Err(expression_error(
                    origin,
                    start,
                    format!("unexpected character '{c}'"),
                ));
            }
        };
        out.push(Token { tok, pos: start });
        i += 1;
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Group {
    Plain,
    Unary,
    Binary,
}

struct Paren {
    pos: usize,
    kind: Group,
    commas: usize,
    /// Position of a unary minus applying to the whole group (or function call).
    negated: Option<usize>,
}

/// Checks the token sequence and returns the text handed to exmex.
fn validate(origin: &Origin<'_>, known: &[String]) -> Result<String, SystemsError> {
    let tokens = tokenize(origin)?;
    if tokens.is_empty() {
        return Err(expression_error(origin, 0, "empty expression"));
    }
    let mut stack: Vec<Paren> = Vec::new();
    let mut expect_operand = true;
    // Position of a unary minus that applies to the operand being read.
    let mut pending_minus: Option<usize> = None;
    // The completed operand was negated by a unary minus at this position.
    let mut last_negated: Option<usize> = None;
    let mut normalized = Vec::with_capacity(tokens.len());
    let mut k = 0;
    while k < tokens.len() {
        let Token { tok, pos } = &tokens[k];
        let pos = *pos;
        if expect_operand {
            match tok {
                Tok::Num(s) => {
                    normalized.push(s.clone());
                    expect_operand = false;
                    last_negated = pending_minus.take();
                }
                Tok::Ident(name) => {
                    let is_fn = UNARY_FUNCTIONS.contains(&name.as_str());
                    let is_bin = BINARY_FUNCTIONS.contains(&name.as_str());
                    if is_fn || is_bin {
                        if !matches!(tokens.get(k + 1).map(|t| &t.tok), Some(Tok::Open)) {
                            return Err(expression_error(
                                origin,
                                pos,
                                format!("function '{name}' must be followed by '('"),
                            ));
                        }
                        stack.push(Paren {
                            pos: tokens[k + 1].pos,
                            kind: if is_bin { Group::Binary } else { Group::Unary },
                            commas: 0,
                            negated: pending_minus.take(),
                        });
                        normalized.push(name.clone());
                        normalized.push("(".into());
                        k += 2;
                        continue;
                    }
                    if !(CONSTANTS.contains(&name.as_str())
                        || name == EPS_NAME
                        || known.iter().any(|n| n == name))
                    {
                        let hint = if known.is_empty() {
                            String::new()
                        } else {
                            format!(" (known: {}, {EPS_NAME})", known.join(", "))
                        };
                        return Err(expression_error(
                            origin,
                            pos,
                            format!(
                                "unknown name '{name}': not a variable, parameter, function or constant{hint}"
                            ),
                        ));
                    }
                    normalized.push(name.clone());
                    expect_operand = false;
                    last_negated = pending_minus.take();
                }
                Tok::Open => {
                    stack.push(Paren {
                        pos,
                        kind: Group::Plain,
                        commas: 0,
                        negated: pending_minus.take(),
                    });
                    normalized.push("(".into());
                }
                Tok::Op(c @ ('-' | '+')) => {
                    if *c == '-' {
                        pending_minus = Some(pos);
                    }
                    normalized.push(c.to_string());
                }
                Tok::Op(c) => {
                    return Err(expression_error(
                        origin,
                        pos,
                        format!("operator '{c}' is missing its left operand"),
                    ));
                }
                Tok::Close => {
                    return Err(expression_error(origin, pos, "missing operand before ')'"));
                }
                Tok::Comma => {
                    return Err(expression_error(origin, pos, "missing operand before ','"));
                }
            }
        } else {
            match tok {
                Tok::Op(c) => {
                    if *c == '^'
                        && let Some(m) = last_negated
                    {
                        return Err(expression_error(
                            origin,
                            m,
                            "a unary '-' binds tighter than '^' here (it would compute (-a)^b); write -(a^b), or (-a)^b if that is meant",
                        ));
                    }
                    normalized.push(c.to_string());
                    expect_operand = true;
                    last_negated = None;
                }
                Tok::Close => {
                    let Some(p) = stack.pop() else {
                        return Err(expression_error(origin, pos, "unmatched ')'"));
                    };
                    if p.kind == Group::Binary && p.commas != 1 {
                        return Err(expression_error(
                            origin,
                            p.pos,
                            "this function takes two arguments separated by ','",
                        ));
                    }
                    normalized.push(")".into());
                    last_negated = p.negated;
                }
                Tok::Comma => match stack.last_mut() {
                    Some(p) if p.kind == Group::Binary && p.commas == 0 => {
                        p.commas += 1;
                        normalized.push(",".into());
                        expect_operand = true;
                        last_negated = None;
                    }
                    _ => {
                        return Err(expression_error(
                            origin,
                            pos,
                            "',' is only allowed between the two arguments of atan2, min or max",
                        ));
                    }
                },
                Tok::Num(_) | Tok::Ident(_) | Tok::Open => {
                    return Err(expression_error(
                        origin,
                        pos,
                        "missing operator before this token (write products with '*')",
                    ));
                }
            }
        }
        k += 1;
    }
    if expect_operand {
        let last = tokens.last().map_or(0, |t| t.pos);
        return Err(expression_error(
            origin,
            last,
            "the expression ends where an operand is expected",
        ));
    }
    if let Some(p) = stack.last() {
        return Err(expression_error(origin, p.pos, "this '(' is never closed"));
    }
    Ok(normalized.join(" "))
}

impl UserSystem {
    /// Builds the system from its slow and fast equations and named parameters.
    ///
    /// # Errors
    /// [`SystemsError::InvalidName`] for a malformed, reserved or repeated name,
    /// [`SystemsError::Expression`] (with the position) for an expression that does not parse.
    pub fn new(
        slow: &[VariableSpec],
        fast: &[VariableSpec],
        parameters: &[(String, f64)],
    ) -> Result<Self, SystemsError> {
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
mod tests {
    use super::*;
    use timescales_ode::finite_difference_blocks;

    fn one_fast(expr: &str) -> Result<UserSystem, SystemsError> {
        UserSystem::new(
            &[VariableSpec::new("x", "y")],
            &[VariableSpec::new("y", expr)],
            &[("a".to_string(), 2.0)],
        )
    }

    fn position_of(err: SystemsError) -> (usize, String) {
        match err {
            SystemsError::Expression {
                position, message, ..
            } => (position, message),
            other => panic!("expected an expression error, got {other:?}"),
        }
    }

    #[test]
    fn evaluates_with_parameters_eps_and_scientific_numbers() {
        let s = one_fast("a*x - y^3/3 + 1.5e-1*eps + 2E1").unwrap();
        let mut f = [0.0];
        s.fast_field(&[1.0], &[3.0], 0.5, &mut f);
        assert!((f[0] - (2.0 - 9.0 + 0.075 + 20.0)).abs() < 1e-14);
        assert!(s.has_analytic_jacobian());
    }

    #[test]
    fn parse_errors_point_at_the_token() {
        let cases = [
            ("x + foo", 4, "unknown name 'foo'"),
            ("(1 - x^2)*y - x)", 15, "unmatched ')'"),
            ("(1 - x^2*y - x", 0, "never closed"),
            ("x +* y", 3, "left operand"),
            ("2 x", 2, "missing operator"),
            ("x - ", 2, "ends where an operand"),
            ("-x^2 + y", 0, "binds tighter"),
            ("y * -(x + 1)^2", 4, "binds tighter"),
            ("sin x", 0, "followed by '('"),
            ("min(x)", 3, "two arguments"),
            ("x # y", 2, "unexpected character '#'"),
            ("", 0, "empty"),
            ("x, y", 1, "','"),
        ];
        for (expr, pos, needle) in cases {
            let (p, msg) = position_of(one_fast(expr).unwrap_err());
            assert_eq!(p, pos, "{expr:?}: {msg}");
            assert!(msg.contains(needle), "{expr:?}: {msg}");
        }
        // The rendered message shows the expression and a caret under the token.
        let text = one_fast("x + foo").unwrap_err().to_string();
        assert!(text.contains("fast.y"), "{text}");
        assert!(text.contains("\n    x + foo\n        ^"), "{text}");
    }

    #[test]
    fn accepted_forms() {
        for expr in [
            "-(x^2)",
            "0 - x^2",
            "x^-1",
            "2^-x",
            "-x*y",
            "max(x, y) + min(x,y) + atan2(y, x)",
            "exp(-x) * sqrt(abs(y)) + PI + e",
            ".5*x",
        ] {
            assert!(one_fast(expr).is_ok(), "{expr}");
        }
    }

    #[test]
    fn reserved_and_repeated_names_are_refused() {
        let e = UserSystem::new(
            &[VariableSpec::new("e", "1")],
            &[VariableSpec::new("y", "-y")],
            &[],
        )
        .unwrap_err();
        assert!(matches!(e, SystemsError::InvalidName { .. }), "{e:?}");
        let e = UserSystem::new(
            &[VariableSpec::new("x", "1")],
            &[VariableSpec::new("x", "-x")],
            &[],
        )
        .unwrap_err();
        assert!(matches!(e, SystemsError::InvalidName { .. }), "{e:?}");
        let e = UserSystem::new(&[VariableSpec::new("eps", "1")], &[], &[]).unwrap_err();
        assert!(matches!(e, SystemsError::InvalidName { .. }), "{e:?}");
    }

    #[test]
    fn symbolic_jacobian_and_eps_derivative_match_finite_differences() {
        let s = UserSystem::new(
            &[
                VariableSpec::new("u", "-u + v*w + eps*u^2"),
                VariableSpec::new("v", "sin(u)*w"),
            ],
            &[
                VariableSpec::new("w", "u - (w^3/3 - w) + k*eps*v"),
                VariableSpec::new("z", "exp(-z)*u - z*(1 + eps)"),
            ],
            &[("k".to_string(), 0.7)],
        )
        .unwrap();
        let (x, y, eps) = ([0.3, -1.2], [0.8, 0.4], 0.05);
        let mut b = JacobianBlocks::zeros(2, 2);
        assert!(s.jacobian(&x, &y, eps, &mut b));
        let fd = finite_difference_blocks(&s, &x, &y, eps);
        for (a, f) in [
            (&b.gx, &fd.gx),
            (&b.gy, &fd.gy),
            (&b.fx, &fd.fx),
            (&b.fy, &fd.fy),
        ] {
            assert!((a - f).amax() < 1e-8, "{a} vs {f}");
        }
        let (mut ge, mut fe) = ([0.0; 2], [0.0; 2]);
        assert!(s.eps_derivative(&x, &y, eps, &mut ge, &mut fe));
        assert!((ge[0] - x[0] * x[0]).abs() < 1e-14);
        assert_eq!(ge[1], 0.0);
        assert!((fe[0] - 0.7 * x[1]).abs() < 1e-14);
        assert!((fe[1] + y[1]).abs() < 1e-14);
    }
}
