//! Exponent fits: power laws with confidence intervals, the log-corrected phase-1 law and
//! local slopes.
//!
//! Conventions for the quantities of `docs/model.md` §5: a phase time `t_l ≈ C ε^{γ_l}`; the
//! second-layer size at a phase end `max|a| ≈ C ε^{−ω}` (so [`fit_power_law`] returns
//! `γ = −ω`); the first-layer overlap `max|s| ≈ C ε^{β}` (`γ = β`).

mod local_slope;
mod log_corrected;
mod power_law;

pub use local_slope::{LocalSlope, local_slopes};
pub use log_corrected::{LogCorrectedFit, fit_log_corrected, fit_log_corrected_in};
pub use power_law::{PowerLawFit, fit_power_law};

use crate::error::{AnalysisError, Result};
use statrs::distribution::{ContinuousCDF, StudentsT};

/// Two-sided Student-t quantile `t_{1 − (1 − level)/2, dof}`.
pub(crate) fn t_quantile(level: f64, dof: usize) -> Result<f64> {
    check_level(level)?;
    let dist =
        StudentsT::new(0.0, 1.0, dof as f64).map_err(|_| AnalysisError::InvalidParameter {
            name: "degrees of freedom",
            value: dof as f64,
            reason: "must be >= 1",
        })?;
    Ok(dist.inverse_cdf(0.5 + 0.5 * level))
}

/// Checks a confidence level.
pub(crate) fn check_level(level: f64) -> Result<()> {
    if level > 0.0 && level < 1.0 {
        Ok(())
    } else {
        Err(AnalysisError::InvalidParameter {
            name: "level",
            value: level,
            reason: "a confidence level must be in (0, 1)",
        })
    }
}
