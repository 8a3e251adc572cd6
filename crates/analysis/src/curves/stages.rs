//! Across curves: the levels of the interior plateaus, the drops that skip one (merged), the
//! stage of each separate drop, and the exponent fits of each stage against the parameter
//! (see the [module documentation](super), steps 5–6).

use serde::{Deserialize, Serialize};

use super::{AnalyzeOptions, CurveResult};
use crate::fit::{fit_log_corrected, fit_power_law};

/// A quantity fitted across curves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// The drop's midpoint-crossing time `t_mid`.
    TMid,
    /// The length `t_exit − t_entry` of the plateau the drop leaves.
    PlateauLength,
    /// The level of the plateau the drop reaches.
    Level,
}

impl Quantity {
    /// Every quantity, in table order.
    pub const ALL: [Quantity; 3] = [Quantity::TMid, Quantity::PlateauLength, Quantity::Level];

    /// Its name in the tables: `t_mid`, `plateau_length`, `level`.
    pub fn name(self) -> &'static str {
        match self {
            Quantity::TMid => "t_mid",
            Quantity::PlateauLength => "plateau_length",
            Quantity::Level => "level",
        }
    }
}

/// The law fitted against the parameter `p`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Law {
    /// `y = C p^γ` ([`fit_power_law`]: least squares in log–log, Student-t interval).
    PowerLaw,
    /// `y = p^γ (c₁ ln(1/p) + c₀)` ([`fit_log_corrected`]: profile-likelihood interval).
    LogCorrected,
}

impl Law {
    /// Its name in the tables: `power_law`, `log_corrected`.
    pub fn name(self) -> &'static str {
        match self {
            Law::PowerLaw => "power_law",
            Law::LogCorrected => "log_corrected",
        }
    }
}

/// One fit of one quantity of one stage across curves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExponentFit {
    /// The stage (1-based): the passage from the `k`-th to the `(k+1)`-th level seen across
    /// curves; equal to the drop's order within every curve whose drops are all separate.
    pub drop: usize,
    /// The quantity.
    pub quantity: Quantity,
    /// The law.
    pub law: Law,
    /// Exponent `γ` (NaN when the fit failed).
    pub gamma: f64,
    /// Its confidence interval (NaN when the fit failed or has no degree of freedom).
    pub ci: [f64; 2],
    /// `ln C` of a power law (NaN otherwise).
    pub log_c: f64,
    /// Points fitted.
    pub n_points: usize,
    /// Why the fit could not be made (`None`: it was).
    pub failure: Option<String>,
    /// The curves fitted.
    pub curves: Vec<String>,
    /// The curves left out, each with the reason (the drop merged with another, no such
    /// drop, no parameter value, a value not positive).
    pub left_out: Vec<(String, String)>,
}

impl ExponentFit {
    /// `"ok"`, or `"failed"` when the fit could not be made.
    pub fn status(&self) -> &'static str {
        if self.failure.is_none() {
            "ok"
        } else {
            "failed"
        }
    }

    /// The fitted power law at `p`, `C p^γ` (NaN for the log-corrected law).
    pub fn power_law_at(&self, p: f64) -> f64 {
        (self.log_c + self.gamma * p.ln()).exp()
    }
}

/// Distance between two levels: in `ln` when both are positive, else relative to `scale`.
fn distance(a: f64, b: f64, scale: f64) -> f64 {
    if a > 0.0 && b > 0.0 {
        (a.ln() - b.ln()).abs()
    } else {
        (a - b).abs() / scale.max(f64::MIN_POSITIVE)
    }
}

/// The reference levels: the levels of interior plateaus (closed at both ends) of every
/// curve, grouped when within `tol` of the group's first member, as the median of each
/// group, in decreasing order.
pub(crate) fn reference_levels(curves: &[CurveResult], tol: f64, scale: f64) -> Vec<f64> {
    let mut levels: Vec<f64> = curves
        .iter()
        .flat_map(|c| c.plateaus.iter())
        .filter(|p| !p.open_start && !p.open_end && p.level.is_finite())
        .map(|p| p.level)
        .collect();
    levels.sort_by(|a, b| b.total_cmp(a));
    let mut groups: Vec<Vec<f64>> = Vec::new();
    for l in levels {
        match groups.last_mut() {
            Some(g) if distance(g[0], l, scale) <= tol => g.push(l),
            _ => groups.push(vec![l]),
        }
    }
    groups
        .into_iter()
        .map(|mut g| super::denoise::median(&mut g))
        .collect()
}

/// Marks every drop that skips a reference level (strictly between its levels, farther
/// than `tol` from both) as merged, and gives every drop its stage: one plus the number of
/// reference levels at or above its starting level (within `tol`).
pub(crate) fn assign(curves: &mut [CurveResult], refs: &[f64], tol: f64, scale: f64) {
    for c in curves.iter_mut() {
        for d in c.drops.iter_mut() {
            let (hi, lo) = (d.level_before, d.level_after);
            let skipped: Vec<f64> = refs
                .iter()
                .copied()
                .filter(|&r| {
                    r < hi && r > lo && distance(r, hi, scale) > tol && distance(r, lo, scale) > tol
                })
                .collect();
            d.merged = !skipped.is_empty();
            d.skipped_levels = skipped;
            d.stage = 1 + refs
                .iter()
                .filter(|&&r| r > hi || distance(r, hi, scale) <= tol)
                .count();
        }
    }
}

/// The fits of every stage and quantity against the parameter.
pub(crate) fn exponents(curves: &[CurveResult], opts: &AnalyzeOptions) -> Vec<ExponentFit> {
    let stages = curves
        .iter()
        .flat_map(|c| c.drops.iter())
        .map(|d| d.stage + d.skipped_levels.len())
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    for stage in 1..=stages {
        for q in Quantity::ALL {
            let (mut x, mut y, mut used, mut left_out) = (vec![], vec![], vec![], vec![]);
            for c in curves.iter().filter(|c| c.error.is_none()) {
                let covering = c
                    .drops
                    .iter()
                    .find(|d| d.stage <= stage && stage <= d.stage + d.skipped_levels.len());
                let why = match covering {
                    None => Some(format!("no drop {stage}")),
                    Some(d) if d.merged => Some(format!(
                        "drop {} merges stages {}–{} (from {:.4} to {:.4}, skipping {})",
                        d.drop,
                        d.stage,
                        d.stage + d.skipped_levels.len(),
                        d.level_before,
                        d.level_after,
                        d.skipped_levels
                            .iter()
                            .map(|l| format!("{l:.4}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                    Some(d) => {
                        let value = match q {
                            Quantity::TMid => d.t_mid,
                            Quantity::PlateauLength => c
                                .plateaus
                                .get(d.from_plateau)
                                .map_or(f64::NAN, |p| p.t_exit - p.t_entry),
                            Quantity::Level => d.level_after,
                        };
                        match c.by {
                            None => Some("no parameter value".to_string()),
                            Some(p) if !(p > 0.0 && p.is_finite()) => {
                                Some(format!("parameter {p} not positive"))
                            }
                            Some(_) if !(value > 0.0 && value.is_finite()) => {
                                Some(format!("{} = {value} not positive", q.name()))
                            }
                            Some(p) => {
                                x.push(p);
                                y.push(value);
                                used.push(c.name.clone());
                                None
                            }
                        }
                    }
                };
                if let Some(why) = why {
                    left_out.push((c.name.clone(), why));
                }
            }
            let row = |law| ExponentFit {
                drop: stage,
                quantity: q,
                law,
                gamma: f64::NAN,
                ci: [f64::NAN; 2],
                log_c: f64::NAN,
                n_points: x.len(),
                failure: None,
                curves: used.clone(),
                left_out: left_out.clone(),
            };
            // A confidence interval needs three points.
            let power = if x.len() < 3 {
                Err(format!(
                    "{} curve(s) with a separate drop and a positive value; a confidence \
                     interval needs 3",
                    x.len()
                ))
            } else {
                fit_power_law(&x, &y, opts.level).map_err(|e| e.to_string())
            };
            out.push(match power {
                Ok(f) => ExponentFit {
                    gamma: f.gamma,
                    ci: f.gamma_ci,
                    log_c: f.log_c,
                    ..row(Law::PowerLaw)
                },
                Err(reason) => ExponentFit {
                    failure: Some(reason),
                    ..row(Law::PowerLaw)
                },
            });
            if q == Quantity::TMid {
                out.push(match fit_log_corrected(&x, &y, opts.level) {
                    Ok(f) => ExponentFit {
                        gamma: f.gamma,
                        ci: f.gamma_ci,
                        ..row(Law::LogCorrected)
                    },
                    Err(e) => ExponentFit {
                        failure: Some(e.to_string()),
                        ..row(Law::LogCorrected)
                    },
                });
            }
        }
    }
    out
}
