//! Slow–fast systems `x' = g(x, y, ε)`, `ε y' = f(x, y, ε)` ready to be studied: the classic
//! reference problems of singular perturbation theory, each with its closed form or
//! published reference solution, and systems written by users as expressions in a TOML file.
//!
//! - [`builtin`]: the built-in problems selectable by name ([`builtin::by_name`],
//!   [`builtin::list`]): a linear two-timescale system with an exact solution, Michaelis–Menten
//!   kinetics (reduced problem solved in closed form by the Lambert W function), the van der
//!   Pol relaxation oscillator in standard slow–fast form, and the canonical fold
//!   `ε u' = u² − s`, `s' = −1` (Airy-function jump delay);
//! - [`UserSystem`]: a system whose fields are expressions (parsed by `exmex`, with exact
//!   symbolic partial derivatives for the Jacobian blocks and `∂/∂ε`), read from a `[system]`
//!   table by [`SystemFile::parse`]; parse errors name the key, the expression and the position;
//! - [`lambert_w0`], [`lambert_wm1`]: the two real branches of the Lambert W function (Halley
//!   iteration).
#![warn(missing_docs)]

pub mod builtin;
mod error;
mod expr;
mod file;
mod lambert;

pub use builtin::Problem;
pub use error::SystemsError;
pub use expr::{UserSystem, VariableSpec};
pub use file::{RunSpec, SystemFile};
pub use lambert::{lambert_w0, lambert_wm1};
