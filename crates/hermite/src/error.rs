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
        len - 1
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
