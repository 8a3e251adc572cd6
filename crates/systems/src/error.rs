use thiserror::Error;

/// What went wrong while building a system.
#[derive(Debug, Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum SystemsError {
    /// An expression could not be parsed. `position` is the character index inside
    /// `expression`; `line`/`column` locate it in the file when known (1-based).
    #[error("{}", render_expression_error(.key, .expression, *.position, .message, *.line, *.column))]
    Expression {
        /// The TOML key holding the expression (`fast.y`, `slow.x`, …).
        key: String,
        /// The expression text.
        expression: String,
        /// Character index of the offending token in `expression`.
        position: usize,
        /// What is wrong there.
        message: String,
        /// 1-based line in the file, when the expression came from a file.
        line: Option<usize>,
        /// 1-based column in the file, when the expression came from a file.
        column: Option<usize>,
    },
    /// A variable or parameter name is not usable (reserved, duplicated, malformed).
    #[error("invalid name '{name}' in {key}: {reason}")]
    InvalidName {
        /// The TOML key of the table holding the name.
        key: String,
        /// The offending name.
        name: String,
        /// Why it is refused.
        reason: String,
    },
    /// A variable has no initial value.
    #[error("no initial value for variable '{variable}' in [system.initial]")]
    MissingInitial {
        /// The variable.
        variable: String,
    },
    /// An initial value names no variable of the system.
    #[error("[system.initial] names '{name}', which is neither a slow nor a fast variable")]
    UnknownInitial {
        /// The name.
        name: String,
    },
    /// The file is not valid TOML or does not have the expected shape.
    #[error("{path}: {message}")]
    File {
        /// Where the file came from (path or `<string>`).
        path: String,
        /// What the TOML reader said.
        message: String,
    },
    /// A numeric setting is out of range.
    #[error("invalid value for {key}: {reason}")]
    InvalidValue {
        /// The TOML key.
        key: String,
        /// Why it is refused.
        reason: String,
    },
    /// No built-in problem has this name.
    #[error("unknown problem '{name}'; built-in problems: {known}")]
    UnknownProblem {
        /// The requested name.
        name: String,
        /// The known names, comma separated.
        known: String,
    },
}

fn render_expression_error(
    key: &str,
    expression: &str,
    position: usize,
    message: &str,
    line: Option<usize>,
    column: Option<usize>,
) -> String {
    let place = match (line, column) {
        (Some(l), Some(c)) => format!("line {l}, column {c}: "),
        _ => String::new(),
    };
    let caret = " ".repeat(position) + "^";
    format!(
        "{place}in {key} = \"{expression}\" at character {}: {message}\n    {expression}\n    {caret}",
        position + 1
    )
}
