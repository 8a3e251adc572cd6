//! The names of the expression language: its functions and constants, the name under which
//! expressions see `ε`, and the rules for the names a user may give to variables and
//! parameters.

use crate::SystemsError;

/// Functions of one argument known to the expression language.
pub(super) const UNARY_FUNCTIONS: &[&str] = &[
    "abs", "signum", "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
    "acosh", "atanh", "floor", "round", "ceil", "trunc", "fract", "exp", "sqrt", "cbrt", "ln",
    "log2", "log10", "log",
];
/// Functions of two arguments (`min(a, b)`).
pub(super) const BINARY_FUNCTIONS: &[&str] = &["atan2", "min", "max"];
/// Named constants.
pub(super) const CONSTANTS: &[&str] = &["PI", "π", "E", "e", "TAU", "τ"];
/// The name under which expressions see `ε`.
pub(crate) const EPS_NAME: &str = "eps";

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
