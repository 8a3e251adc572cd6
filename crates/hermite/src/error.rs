//! The crate's error type.

/// Everything that can go wrong while building or expanding a function.
///
/// Every variant carries fields saying *what* failed and *where* (which parameter,
/// which index, which function, at which point), so that a caller several layers up
/// can report it without extra context.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HermiteError {
    /// A parameter of a function specification or of a call is NaN or infinite.
    #[error("non-finite {what}{}: {value}", index.map(|i| format!(" at index {i}")).unwrap_or_default())]
    NonFiniteParameter {
        /// Which parameter (e.g. `"shift"`, `"scale"`, `"Hermite coefficient"`).
        what: &'static str,
        /// Position in a coefficient list, when the parameter is one.
        index: Option<usize>,
        /// The offending value.
        value: f64,
    },
    /// A coefficient list that must not be empty is empty.
    #[error("{what} list is empty")]
    EmptyList {
        /// Which list (e.g. `"Hermite coefficient"`, `"polynomial coefficient"`).
        what: &'static str,
    },
    /// An explicit Hermite coefficient list is longer than the requested degree allows.
    #[error(
        "Hermite coefficient list has {len} entries but degree {degree} keeps only {} \
         (request degree >= {})",
        degree + 1,
        len.saturating_sub(1)
    )]
    ListTooLong {
        /// Length of the given list.
        len: usize,
        /// The requested expansion degree.
        degree: usize,
    },
    /// The requested expansion degree exceeds [`crate::MAX_DEGREE`].
    #[error("expansion degree {degree} exceeds the maximum {max}")]
    DegreeTooLarge {
        /// Requested degree.
        degree: usize,
        /// Largest supported degree.
        max: usize,
    },
    /// Quadrature did not reach the requested accuracy within the node cap.
    #[error(
        "{rule} quadrature for {function} (degree {degree}) did not converge: \
         successive coefficient vectors differ by {accuracy:e} at {nodes} nodes \
         (target {target:e})"
    )]
    NotConverged {
        /// The function being expanded, as displayed by [`crate::FunctionSpec`].
        function: String,
        /// The rule that was doubled (`"Gauss-Hermite"` or `"composite Gauss-Legendre"`).
        rule: &'static str,
        /// Requested expansion degree.
        degree: usize,
        /// Number of nodes of the last rule tried (the cap).
        nodes: usize,
        /// Maximum absolute difference of the last two coefficient vectors (accuracy reached).
        accuracy: f64,
        /// The accuracy that was asked for.
        target: f64,
    },
    /// The function (or a closed-form quantity derived from it) is not finite.
    #[error("{function}: {what} is not finite ({value}){}", x.map(|x| format!(" at x = {x}")).unwrap_or_default())]
    NonFiniteValue {
        /// The function, as displayed by [`crate::FunctionSpec`].
        function: String,
        /// Which quantity overflowed (e.g. `"value"`, `"coefficient f_0"`, `"norm_sq"`).
        what: &'static str,
        /// The point where the function was evaluated, when applicable.
        x: Option<f64>,
        /// The non-finite value.
        value: f64,
    },
    /// A name that is not one of [`crate::Activation::all`].
    #[error(
        "unknown activation `{name}`; valid names: {}",
        crate::Activation::names_joined()
    )]
    UnknownActivation {
        /// The name that was given.
        name: String,
    },
    /// Invalid [`crate::ExpandOptions`].
    #[error("invalid expansion option {field} = {value}: {reason}")]
    InvalidOptions {
        /// Which option.
        field: &'static str,
        /// Its value (converted to `f64`).
        value: f64,
        /// What is required of it.
        reason: &'static str,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_what_and_where() {
        let cases = [
            (
                HermiteError::NonFiniteParameter {
                    what: "shift",
                    index: None,
                    value: f64::NAN,
                },
                vec!["shift", "NaN"],
            ),
            (
                HermiteError::NonFiniteParameter {
                    what: "Hermite coefficient",
                    index: Some(3),
                    value: f64::INFINITY,
                },
                vec!["Hermite coefficient", "index 3", "inf"],
            ),
            (
                HermiteError::EmptyList {
                    what: "polynomial coefficient",
                },
                vec!["polynomial"],
            ),
            (
                HermiteError::ListTooLong { len: 7, degree: 3 },
                vec!["7 entries", "degree 3", ">= 6"],
            ),
            (
                HermiteError::DegreeTooLarge {
                    degree: 2000,
                    max: 1024,
                },
                vec!["2000", "1024"],
            ),
            (
                HermiteError::NotConverged {
                    function: "tanh(9·x + 0)".into(),
                    rule: "Gauss-Hermite",
                    degree: 5,
                    nodes: 2048,
                    accuracy: 3e-9,
                    target: 1e-13,
                },
                vec![
                    "tanh(9·x + 0)",
                    "Gauss-Hermite",
                    "degree 5",
                    "3e-9",
                    "2048",
                    "1e-13",
                ],
            ),
            (
                HermiteError::NonFiniteValue {
                    function: "exp(40·x + 800)".into(),
                    what: "norm_sq",
                    x: None,
                    value: f64::INFINITY,
                },
                vec!["exp(40·x + 800)", "norm_sq", "inf"],
            ),
            (
                HermiteError::NonFiniteValue {
                    function: "softplus".into(),
                    what: "value",
                    x: Some(2.5),
                    value: f64::INFINITY,
                },
                vec!["x = 2.5"],
            ),
            (
                HermiteError::UnknownActivation {
                    name: "swish".into(),
                },
                vec!["swish", "relu", "identity"],
            ),
            (
                HermiteError::InvalidOptions {
                    field: "tol",
                    value: 0.0,
                    reason: "must be positive",
                },
                vec!["tol", "must be positive"],
            ),
            // Degenerate hand-built value: no underflow panic in the message.
            (
                HermiteError::ListTooLong { len: 0, degree: 0 },
                vec!["0 entries"],
            ),
        ];
        for (err, needles) in cases {
            let msg = err.to_string();
            for n in needles {
                assert!(msg.contains(n), "{msg:?} lacks {n:?}");
            }
        }
    }
}
