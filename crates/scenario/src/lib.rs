//! Scenario files: the TOML description of a run of the full ODE, parsed, validated and
//! resolved into a [`FlowProblem`].
//!
//! ```toml
//! [activation]          # `hermite = [σ_0, …, σ_K]`, or `polynomial = [c_0, c_1, …]`,
//! hermite = [1.0, 1.0]  # or `name = "relu"` with optional `shift`, `scale`, `degree`
//! [target]              # same forms as [activation]
//! hermite = [0.0, 1.0]
//! [init]
//! law = "uniform"       # "uniform" (lo, hi) | "normal" (mean, std) | "beta" (alpha, beta, lo, hi)
//!                       # | "discrete" (values, weights)
//! lo = -1.0
//! hi = 1.0
//! particles = 64
//! placement = "quadrature"   # Gauss rule (default; "quantile" for beta), "quantile" (equal
//!                            # weights at quantile midpoints), "trapezoid" (normal law: the
//!                            # trapezoidal rule out to 12 std), "graded" (uniform and beta
//!                            # laws: Gauss cells halving toward each edge, down to 2e-13 of
//!                            # the support), or "random" with `seed`
//! [run]
//! epsilon = 1e-6
//! t_end = 3.0
//! rtol = 1e-8           # optional (default 1e-8)
//! atol = 1e-10          # optional (default 1e-10)
//! samples = 200         # optional (default 200), or `times = [ … ]`
//! method = "rodas4"     # optional: "rodas4" (stiff, default) | "bdf" (stiff, fast, error ~100 rtol) | "dopri5" | "dop853"
//! ```
//!
//! The truncation degree `K` is the longest explicit list minus one (shorter lists are
//! padded with zeros), or the largest `degree` given for a named function, whichever is
//! larger; named functions with no degree anywhere use [`DEFAULT_DEGREE`]. Unknown keys and
//! invalid values are errors that name the key ([`ScenarioError`]).
#![warn(missing_docs)]

use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;
use timescales_hermite::{Activation, Expansion, ExpansionMethod, FunctionSpec, HermiteError};
use timescales_meanfield::{FlowError, FlowProblem, InitialLaw, Method, OutputTimes, Placement};

/// Degree used when only named functions without `degree` are given.
pub const DEFAULT_DEGREE: usize = 5;

/// The built-in default scenario (`data/scenarios/default.toml`).
pub const DEFAULT_SCENARIO: &str = include_str!("../../../data/scenarios/default.toml");

/// Errors of parsing and resolving a scenario; each names the offending key.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type.
    #[error("{origin}: {message}")]
    Syntax {
        /// File path or `<default>`.
        origin: String,
        /// The parser's message (with line and column, and the key).
        message: String,
    },
    /// A value is invalid.
    #[error("{origin}: invalid `{key}`: {reason}")]
    Invalid {
        /// File path or `<default>`.
        origin: String,
        /// The key, e.g. `run.epsilon`.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The Hermite expansion of the activation or target failed.
    #[error("{origin}: `{key}`: {source}")]
    Expansion {
        /// File path or `<default>`.
        origin: String,
        /// `activation` or `target`.
        key: String,
        /// Cause.
        #[source]
        source: HermiteError,
    },
}

/// The `[activation]` / `[target]` table as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FunctionTable {
    /// Explicit normalized Hermite coefficients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hermite: Option<Vec<f64>>,
    /// Monomial coefficients of a polynomial.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub polynomial: Option<Vec<f64>>,
    /// A named activation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `x ↦ name(scale·x + shift)`: the shift (default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift: Option<f64>,
    /// The scale (default 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale: Option<f64>,
    /// Expansion degree for a named function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degree: Option<usize>,
}

/// The `[init]` table as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct InitTable {
    /// `uniform`, `normal`, `beta` or `discrete`.
    pub law: String,
    /// Uniform: lower end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lo: Option<f64>,
    /// Uniform: upper end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hi: Option<f64>,
    /// Normal: mean.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Normal: standard deviation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    /// Beta: shape at `lo`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alpha: Option<f64>,
    /// Beta: shape at `hi`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta: Option<f64>,
    /// Discrete: atoms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<f64>>,
    /// Discrete: weights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<f64>>,
    /// Particle count (default 64; for a discrete law with quadrature, the atom count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub particles: Option<usize>,
    /// `quadrature` (default) or `random`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub placement: Option<String>,
    /// Seed for random placement (default 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

/// The `[run]` table as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RunTable {
    /// `ε > 0`.
    pub epsilon: f64,
    /// Final time.
    pub t_end: f64,
    /// Relative tolerance (default 1e-8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rtol: Option<f64>,
    /// Absolute tolerance (default 1e-10).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atol: Option<f64>,
    /// Explicit output times.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub times: Option<Vec<f64>>,
    /// Number of log-spaced output times (default 200).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<usize>,
    /// `bdf`, `rodas4`, `dopri5` or `dop853` (absent: `timescales_meanfield::Method::default()`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

/// A scenario file as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Activation `σ`.
    pub activation: FunctionTable,
    /// Target `φ`.
    pub target: FunctionTable,
    /// Initial law of `a`.
    pub init: InitTable,
    /// Run parameters.
    pub run: RunTable,
    /// The ε grid `timescales sweep` uses when none is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep: Option<SweepTable>,
}

/// The `[sweep]` table as written: the scenario's own ε grid.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SweepTable {
    /// `"start:stop:count"`, a log grid of ε (either order).
    pub eps: String,
}

/// The ε grid of `timescales sweep` for a scenario without a `[sweep]` table.
pub const DEFAULT_SWEEP_GRID: &str = "1e-3:1e-9:13";

/// How one coefficient list was obtained, for the record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpansionRecord {
    /// Coefficients `f_0..f_K`.
    pub coeffs: Vec<f64>,
    /// `‖f‖²` of the whole function.
    pub norm_sq: f64,
    /// Estimated absolute accuracy of the coefficients.
    pub accuracy: f64,
    /// `closed form`, `exact` or `quadrature (n nodes)`.
    pub method: String,
}

impl From<&Expansion> for ExpansionRecord {
    fn from(e: &Expansion) -> Self {
        Self {
            coeffs: e.coeffs.clone(),
            norm_sq: e.norm_sq,
            accuracy: e.accuracy,
            method: match e.method {
                ExpansionMethod::ClosedForm => "closed form".into(),
                ExpansionMethod::Exact => "exact".into(),
                ExpansionMethod::Quadrature { nodes } => format!("quadrature ({nodes} nodes)"),
            },
        }
    }
}

/// A validated scenario: the file as written, and the problem it resolves to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// Where it came from (a path or `<default>`).
    pub origin: String,
    /// The file as written (after command-line overrides).
    pub file: ScenarioFile,
    /// Truncation degree `K`.
    pub degree: usize,
    /// The activation's expansion.
    pub activation: ExpansionRecord,
    /// The target's expansion.
    pub target: ExpansionRecord,
    /// Predicted plateau levels `R_l = ½ Σ_{k>l} φ_k²` (including the tail beyond `K`),
    /// `l = 0..K`.
    pub plateau_levels: Vec<f64>,
    /// The problem to integrate.
    pub problem: FlowProblem,
}

impl Scenario {
    /// The ε grid a sweep of this scenario uses when none is given: its `[sweep] eps`, else
    /// [`DEFAULT_SWEEP_GRID`].
    pub fn sweep_grid(&self) -> &str {
        self.file
            .sweep
            .as_ref()
            .map_or(DEFAULT_SWEEP_GRID, |s| s.eps.as_str())
    }

    /// The built-in default scenario.
    pub fn default_scenario() -> Self {
        Self::from_toml_str(DEFAULT_SCENARIO, "<default>").expect("the default scenario is valid")
    }

    /// Reads and resolves a scenario file.
    ///
    /// # Errors
    /// [`ScenarioError`] naming the key at fault.
    pub fn from_path(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses and resolves scenario text; `origin` names it in errors.
    ///
    /// # Errors
    /// [`ScenarioError`] naming the key at fault.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let file: ScenarioFile = toml::from_str(text).map_err(|e| ScenarioError::Syntax {
            origin: origin.into(),
            message: e.to_string().trim_end().to_string(),
        })?;
        Self::resolve(file, origin)
    }

    /// Resolves a parsed file.
    ///
    /// # Errors
    /// [`ScenarioError`] naming the key at fault.
    pub fn resolve(file: ScenarioFile, origin: &str) -> Result<Self, ScenarioError> {
        let invalid = |key: &str, reason: String| ScenarioError::Invalid {
            origin: origin.into(),
            key: key.into(),
            reason,
        };
        let sigma_spec =
            function_spec(&file.activation, "activation").map_err(|(k, r)| invalid(&k, r))?;
        let phi_spec = function_spec(&file.target, "target").map_err(|(k, r)| invalid(&k, r))?;
        let degree = [
            sigma_spec.natural_degree(),
            phi_spec.natural_degree(),
            file.activation.degree,
            file.target.degree,
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(DEFAULT_DEGREE);
        let expand = |spec: &FunctionSpec, key: &str| {
            spec.expand(degree)
                .map_err(|source| ScenarioError::Expansion {
                    origin: origin.into(),
                    key: key.into(),
                    source,
                })
        };
        let sigma = expand(&sigma_spec, "activation")?;
        let phi = expand(&phi_spec, "target")?;
        let law = initial_law(&file.init).map_err(|(k, r)| invalid(&k, r))?;
        if let Some(sweep) = &file.sweep {
            check_grid(&sweep.eps).map_err(|r| invalid("sweep.eps", r))?;
        }
        let default_placement = if matches!(law, InitialLaw::Beta { .. }) {
            "quantile"
        } else {
            "quadrature"
        };
        let placement = match file.init.placement.as_deref().unwrap_or(default_placement) {
            p @ ("quadrature" | "quantile" | "trapezoid" | "graded") => {
                if file.init.seed.is_some() {
                    return Err(invalid(
                        "init.seed",
                        "only used with placement = \"random\"".into(),
                    ));
                }
                match p {
                    "quadrature" => Placement::Quadrature,
                    "quantile" => Placement::Quantile,
                    "graded" => Placement::Graded,
                    _ => Placement::Trapezoid,
                }
            }
            "random" => Placement::Random {
                seed: file.init.seed.unwrap_or(0),
            },
            other => {
                return Err(invalid(
                    "init.placement",
                    format!(
                        "unknown placement \"{other}\" (expected \"quadrature\", \"quantile\", \"trapezoid\", \"graded\" or \"random\")"
                    ),
                ));
            }
        };
        let particles = match (&law, placement, file.init.particles) {
            (InitialLaw::Discrete { values, .. }, Placement::Quadrature, None) => values.len(),
            (_, _, Some(n)) => n,
            (_, _, None) => 64,
        };
        let run = &file.run;
        let times = match (&run.times, run.samples) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    "run.times",
                    "give either `times` or `samples`, not both".into(),
                ));
            }
            (Some(ts), None) => OutputTimes::Explicit(ts.clone()),
            (None, n) => OutputTimes::LogGrid {
                samples: n.unwrap_or(200),
            },
        };
        let method = match run.method.as_deref() {
            None => Method::default(),
            Some("bdf") => Method::Bdf,
            Some("rodas4") => Method::Rodas4,
            Some("dopri5") => Method::Dopri5,
            Some("dop853") => Method::Dop853,
            Some(other) => {
                return Err(invalid(
                    "run.method",
                    format!(
                        "unknown method \"{other}\" (expected \"bdf\", \"rodas4\", \"dopri5\" or \"dop853\")"
                    ),
                ));
            }
        };
        let problem = FlowProblem {
            sigma: sigma.coeffs.clone(),
            phi: phi.coeffs.clone(),
            tail_energy: phi.tail_energy(),
            law,
            particles,
            placement,
            epsilon: run.epsilon,
            t_end: run.t_end,
            rtol: run.rtol.unwrap_or(1e-8),
            atol: run.atol.unwrap_or(1e-10),
            times,
            method,
        };
        problem.validate().map_err(|e| match e {
            FlowError::InvalidParameter { key, reason } => invalid(&key, reason),
            other => invalid("scenario", other.to_string()),
        })?;
        let plateau_levels = problem.plateau_levels();
        Ok(Self {
            origin: origin.into(),
            file,
            degree,
            activation: (&sigma).into(),
            target: (&phi).into(),
            plateau_levels,
            problem,
        })
    }

    /// The same scenario at another `ε` (the file's `run.epsilon` is updated too).
    ///
    /// # Errors
    /// [`ScenarioError::Invalid`] naming `run.epsilon`.
    pub fn with_epsilon(&self, eps: f64) -> Result<Self, ScenarioError> {
        let mut file = self.file.clone();
        file.run.epsilon = eps;
        Self::resolve(file, &self.origin)
    }

    /// The same scenario with another particle count.
    ///
    /// # Errors
    /// [`ScenarioError::Invalid`] naming `init.particles`.
    pub fn with_particles(&self, n: usize) -> Result<Self, ScenarioError> {
        let mut file = self.file.clone();
        file.init.particles = Some(n);
        Self::resolve(file, &self.origin)
    }
}

/// What a TOML file describes, from one parse of its text ([`read_toml`]).
#[derive(Debug)]
pub enum TomlFile {
    /// A two-layer scenario, resolved.
    Scenario(Box<Scenario>),
    /// A user-defined slow–fast system (a `[system]` table), for `timescales-systems`.
    System,
}

/// Reads TOML text that is either a two-layer scenario or a user-defined slow–fast system
/// (a `[system]` table), parsing it once; `origin` names it in errors. A scenario is the one
/// [`Scenario::from_toml_str`] gives, errors included (on any error the text is parsed again
/// by it, for the message with its line and column).
///
/// ```
/// use timescales_scenario::{DEFAULT_SCENARIO, Scenario, TomlFile, read_toml};
/// assert!(matches!(read_toml("[system]\nslow = { x = \"-x\" }\n", "s")?, TomlFile::System));
/// let TomlFile::Scenario(s) = read_toml(DEFAULT_SCENARIO, "default")? else { panic!() };
/// assert_eq!(s.problem, Scenario::default_scenario().problem);
/// # Ok::<(), timescales_scenario::ScenarioError>(())
/// ```
///
/// # Errors
/// [`ScenarioError`] naming the key at fault, as [`Scenario::from_toml_str`].
pub fn read_toml(text: &str, origin: &str) -> Result<TomlFile, ScenarioError> {
    let file = match text.parse::<toml::Table>() {
        Ok(table) if table.contains_key("system") => return Ok(TomlFile::System),
        Ok(table) => table.try_into::<ScenarioFile>().ok(),
        Err(_) => None,
    };
    let scenario = match file {
        Some(file) => Scenario::resolve(file, origin)?,
        None => Scenario::from_toml_str(text, origin)?,
    };
    Ok(TomlFile::Scenario(Box::new(scenario)))
}

fn function_spec(t: &FunctionTable, table: &str) -> Result<FunctionSpec, (String, String)> {
    let given = [
        t.hermite.is_some(),
        t.polynomial.is_some(),
        t.name.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if given != 1 {
        return Err((
            table.into(),
            "give exactly one of `hermite`, `polynomial` or `name`".into(),
        ));
    }
    let finite = |key: &str, v: &[f64]| -> Result<(), (String, String)> {
        if v.is_empty() {
            return Err((format!("{table}.{key}"), "must not be empty".into()));
        }
        match v.iter().position(|x| !x.is_finite()) {
            Some(i) => Err((format!("{table}.{key}"), format!("entry {i} is {}", v[i]))),
            None => Ok(()),
        }
    };
    if t.name.is_none() {
        for (key, present) in [
            ("shift", t.shift.is_some()),
            ("scale", t.scale.is_some()),
            ("degree", t.degree.is_some()),
        ] {
            if present {
                return Err((
                    format!("{table}.{key}"),
                    "only applies to a named function (`name = …`)".into(),
                ));
            }
        }
    }
    if let Some(h) = &t.hermite {
        finite("hermite", h)?;
        return Ok(FunctionSpec::Hermite(h.clone()));
    }
    if let Some(p) = &t.polynomial {
        finite("polynomial", p)?;
        return Ok(FunctionSpec::Polynomial(p.clone()));
    }
    let name = t.name.as_deref().unwrap_or_default();
    let activation: Activation = name
        .parse()
        .map_err(|e: HermiteError| (format!("{table}.name"), e.to_string()))?;
    let shift = t.shift.unwrap_or(0.0);
    let scale = t.scale.unwrap_or(1.0);
    if !shift.is_finite() {
        return Err((
            format!("{table}.shift"),
            format!("must be finite, got {shift}"),
        ));
    }
    if !scale.is_finite() {
        return Err((
            format!("{table}.scale"),
            format!("must be finite, got {scale}"),
        ));
    }
    Ok(FunctionSpec::Named {
        activation,
        shift,
        scale,
    })
}

/// The shape of `"start:stop:count"`: two positive finite numbers and a count ≥ 1 (the
/// sweep parses it into its grid).
fn check_grid(text: &str) -> Result<(), String> {
    let parts: Vec<&str> = text.split(':').collect();
    let [start, stop, count] = parts.as_slice() else {
        return Err(format!("expected \"start:stop:count\", got \"{text}\""));
    };
    for (what, v) in [("start", start), ("stop", stop)] {
        match v.trim().parse::<f64>() {
            Ok(x) if x > 0.0 && x.is_finite() => {}
            _ => return Err(format!("{what} must be a positive number, got \"{v}\"")),
        }
    }
    match count.trim().parse::<usize>() {
        Ok(n) if n >= 1 => Ok(()),
        _ => Err(format!("count must be a whole number ≥ 1, got \"{count}\"")),
    }
}

fn initial_law(t: &InitTable) -> Result<InitialLaw, (String, String)> {
    let need = |key: &str, v: Option<f64>| {
        v.ok_or_else(|| {
            (
                format!("init.{key}"),
                format!("required for law = \"{}\"", t.law),
            )
        })
    };
    let forbid = |keys: &[(&str, bool)]| -> Result<(), (String, String)> {
        for (k, present) in keys {
            if *present {
                return Err((
                    format!("init.{k}"),
                    format!("does not apply to law = \"{}\"", t.law),
                ));
            }
        }
        Ok(())
    };
    match t.law.as_str() {
        "uniform" => {
            forbid(&[
                ("alpha", t.alpha.is_some()),
                ("beta", t.beta.is_some()),
                ("mean", t.mean.is_some()),
                ("std", t.std.is_some()),
                ("values", t.values.is_some()),
                ("weights", t.weights.is_some()),
            ])?;
            Ok(InitialLaw::Uniform {
                lo: need("lo", t.lo)?,
                hi: need("hi", t.hi)?,
            })
        }
        "normal" => {
            forbid(&[
                ("alpha", t.alpha.is_some()),
                ("beta", t.beta.is_some()),
                ("lo", t.lo.is_some()),
                ("hi", t.hi.is_some()),
                ("values", t.values.is_some()),
                ("weights", t.weights.is_some()),
            ])?;
            Ok(InitialLaw::Normal {
                mean: need("mean", t.mean)?,
                std: need("std", t.std)?,
            })
        }
        "beta" => {
            forbid(&[
                ("mean", t.mean.is_some()),
                ("std", t.std.is_some()),
                ("values", t.values.is_some()),
                ("weights", t.weights.is_some()),
            ])?;
            Ok(InitialLaw::Beta {
                alpha: need("alpha", t.alpha)?,
                beta: need("beta", t.beta)?,
                lo: need("lo", t.lo)?,
                hi: need("hi", t.hi)?,
            })
        }
        "discrete" => {
            forbid(&[
                ("alpha", t.alpha.is_some()),
                ("beta", t.beta.is_some()),
                ("lo", t.lo.is_some()),
                ("hi", t.hi.is_some()),
                ("mean", t.mean.is_some()),
                ("std", t.std.is_some()),
            ])?;
            let values = t.values.clone().ok_or_else(|| {
                (
                    "init.values".to_string(),
                    "required for law = \"discrete\"".to_string(),
                )
            })?;
            let weights = t.weights.clone().unwrap_or_else(|| vec![1.0; values.len()]);
            Ok(InitialLaw::Discrete { values, weights })
        }
        other => Err((
            "init.law".into(),
            format!(
                "unknown law \"{other}\" (expected \"uniform\", \"normal\", \"beta\" or \"discrete\")"
            ),
        )),
    }
}

#[cfg(test)]
mod tests;
