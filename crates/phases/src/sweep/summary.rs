//! A sweep's tables as typed rows: phases, plateaus, exponent fits with their predictions,
//! local slopes and the convergence in `N`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use timescales_analysis::{fit_log_corrected, fit_power_law, local_slopes};

use super::{PhaseId, Quantity, SweepPoint};
use crate::PhaseError;

/// Confidence level of every interval.
const LEVEL: f64 = 0.95;

/// One phase (drop of the risk) at one ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseRow {
    /// ε.
    pub epsilon: f64,
    /// Which degrees the drop learns.
    pub phase: PhaseId,
    /// When the risk crosses halfway between the plateaus around the drop.
    pub t_mid: f64,
    /// The steepest descent in `ln t`.
    pub t_steepest: f64,
    /// Level of the plateau the drop reaches.
    pub plateau_level: f64,
    /// The predicted level `R_l` of that plateau (NaN when it matches none).
    pub predicted_level: f64,
    /// Measured minus predicted level.
    pub level_deviation: f64,
    /// Length of that plateau in `ln t`.
    pub plateau_length_log: f64,
    /// `max_i |a_i|` at the end of the drop.
    pub max_abs_a: f64,
    /// `max_i |s_i|` at the end of the drop.
    pub max_abs_s: f64,
    /// Particle count used.
    pub particles: usize,
}

impl PhaseRow {
    /// The value of `quantity`.
    pub fn value(&self, quantity: Quantity) -> f64 {
        match quantity {
            Quantity::TMid => self.t_mid,
            Quantity::TSteepest => self.t_steepest,
            Quantity::MaxAbsA => self.max_abs_a,
            Quantity::MaxAbsS => self.max_abs_s,
        }
    }
}

/// One plateau at one ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlateauRow {
    /// ε.
    pub epsilon: f64,
    /// The degree `l` of the predicted level it matches, if any.
    pub degree: Option<usize>,
    /// Measured level.
    pub level: f64,
    /// Predicted level `R_l` (NaN when it matches none).
    pub predicted_level: f64,
    /// Measured minus predicted.
    pub deviation: f64,
    /// Start of the plateau.
    pub t_entry: f64,
    /// End of the plateau.
    pub t_exit: f64,
    /// Its length in `ln t`.
    pub length_log: f64,
}

/// The law fitted across ε.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FitLaw {
    /// `y = C ε^γ` (least squares in log–log, Student-t interval).
    PowerLaw,
    /// `t = ε^γ (c₁ ln(1/ε) + c₀)` (phase 1; profile-likelihood interval).
    LogCorrected,
}

impl std::fmt::Display for FitLaw {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FitLaw::PowerLaw => "C ε^γ",
            FitLaw::LogCorrected => "ε^γ (c₁ ln(1/ε) + c₀)",
        })
    }
}

/// The fit of one quantity of one phase across ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExponentRow {
    /// The phase.
    pub phase: PhaseId,
    /// The quantity fitted.
    pub quantity: Quantity,
    /// The law.
    pub law: FitLaw,
    /// Exponent `γ` of ε.
    pub gamma: f64,
    /// Its 95% confidence interval.
    pub ci: [f64; 2],
    /// `ln C` of a power law (NaN for the log-corrected law).
    pub log_c: f64,
    /// The exponent model.md §5 predicts, if any.
    pub predicted: Option<f64>,
    /// Points in the fit.
    pub n_points: usize,
    /// Smallest and largest ε fitted.
    pub eps_range: [f64; 2],
    /// Why the fit could not be made (`None`: it was; then `gamma`, `ci` are NaN).
    pub failure: Option<String>,
}

impl ExponentRow {
    /// `"ok"`, or `"failed"` when the fit could not be made (see [`ExponentRow::failure`]).
    pub fn status(&self) -> &'static str {
        if self.failure.is_none() {
            "ok"
        } else {
            "failed"
        }
    }

    /// The fitted power law at `eps`, `C ε^γ` (NaN for the log-corrected law).
    pub fn power_law_at(&self, eps: f64) -> f64 {
        (self.log_c + self.gamma * eps.ln()).exp()
    }
}

/// The slope of `ln y` against `ln ε` between neighbouring ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlopeRow {
    /// Geometric mean of the two ε.
    pub eps_mid: f64,
    /// The phase.
    pub phase: PhaseId,
    /// The quantity.
    pub quantity: Quantity,
    /// The local slope.
    pub slope: f64,
}

/// The particle-count doubling at one ε.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceRow {
    /// ε.
    pub epsilon: f64,
    /// The particle count used.
    pub particles: usize,
    /// Whether the phase times settled before the largest count.
    pub converged: bool,
    /// The last relative change of the phase times.
    pub last_change: f64,
    /// The counts tried with the number of phases seen at each, `N:phases`.
    pub tried: String,
}

/// The tables of a complete sweep (module documentation of [`crate::sweep`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepSummary {
    /// Where the scenario came from.
    pub scenario: String,
    /// The ε of the points, decreasing.
    pub epsilon: Vec<f64>,
    /// The distinct particle counts used, in ε order.
    pub particles: Vec<usize>,
    /// Predicted plateau levels `R_l`.
    pub plateau_levels: Vec<f64>,
    /// Every phase at every ε.
    pub phases: Vec<PhaseRow>,
    /// Every plateau at every ε.
    pub plateaus: Vec<PlateauRow>,
    /// The exponent fits, phases in the order they happen.
    pub exponents: Vec<ExponentRow>,
    /// Local slopes of every fitted quantity.
    pub slopes: Vec<SlopeRow>,
    /// Measured minus predicted plateau level per ε (rows) and degree seen (columns).
    pub level_deviations: Vec<(usize, Vec<f64>)>,
    /// The convergence in `N`, when the sweep converged it.
    pub convergence: Option<Vec<ConvergenceRow>>,
}

impl SweepSummary {
    /// The tables of `points` (any order; sorted by decreasing ε here).
    ///
    /// # Errors
    /// [`PhaseError::Invalid`] for no points, or trajectories with different columns (points
    /// from different scenarios).
    pub fn new(points: &[SweepPoint]) -> Result<Self, PhaseError> {
        let mut points = points.to_vec();
        points.sort_by(|a, b| b.epsilon.total_cmp(&a.epsilon));
        let Some(first) = points.first() else {
            return Err(PhaseError::Invalid("a sweep summary needs points".into()));
        };
        if let Some(p) = points
            .iter()
            .find(|p| p.trajectory.names != first.trajectory.names)
        {
            return Err(PhaseError::Invalid(format!(
                "trajectories have different columns (ε = {:e}): were the shards run with one scenario?",
                p.epsilon
            )));
        }
        let mut particles: Vec<usize> = points.iter().map(|p| p.particles).collect();
        particles.dedup();
        let phases = phase_rows(&points);
        let (exponents, slopes) = fits(&phases);
        Ok(Self {
            scenario: first.scenario.clone(),
            epsilon: points.iter().map(|p| p.epsilon).collect(),
            particles,
            plateau_levels: first.plateau_levels.clone(),
            plateaus: plateau_rows(&points),
            level_deviations: level_deviations(&points),
            convergence: convergence_rows(&points),
            phases,
            exponents,
            slopes,
        })
    }

    /// The phases in the order they happen (by the mean of `ln t_mid` across ε), each with its
    /// `(ε, t_mid)` points.
    pub fn phase_times(&self) -> Vec<(PhaseId, Vec<f64>, Vec<f64>)> {
        groups(&self.phases)
            .into_iter()
            .map(|(id, rows)| {
                (
                    id,
                    rows.iter().map(|r| r.epsilon).collect(),
                    rows.iter().map(|r| r.t_mid).collect(),
                )
            })
            .collect()
    }

    /// A short explanation of the tables.
    pub fn legend(&self) -> String {
        let levels: Vec<String> = self
            .plateau_levels
            .iter()
            .map(|v| format!("{v:.4}"))
            .collect();
        let n = self.epsilon.len();
        format!(
            "Scenario {}: {} values of ε from {:e} to {:e}, N = {}.\n\
             The risk falls in phases between plateaus at the predicted levels R_l = ½ Σ_{{k>l}} φ_k² = [{}].\n\
             Phase l is the drop in which degree l is learnt, from plateau R_(l-1) to R_l (\"2–3\": phases 2 and 3\n\
             merged into one drop; \"to x\": the drop reaches a plateau at level x that matches no R_l).\n\
             t_mid: when the risk crosses halfway between the two plateaus; t_steepest: steepest descent in log t.\n\
             Each row fits the quantity across ε by the law shown (γ: exponent of ε, least squares in log–log,\n\
             95% Student-t interval; log-corrected law: profile-likelihood interval); max_abs_a, max_abs_s:\n\
             largest |a_i| and |s_i| at the end of the phase. predicted: model.md §5 (— where none is known).\n\
             Order of limits: {}",
            self.scenario,
            n,
            self.epsilon[0],
            self.epsilon[n - 1],
            self.particles
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("/"),
            levels.join(", "),
            self.order_of_limits(),
        )
    }

    /// Which order of the limits `ε → 0` and `N → ∞` the sweep shows, in words.
    fn order_of_limits(&self) -> String {
        match (&self.convergence, self.particles.as_slice()) {
            (Some(_), _) => "N → ∞ first: at every ε the particle count was doubled until the \
                             phase times settled (the N used is in the last table)."
                .into(),
            (None, [n]) => format!(
                "ε → 0 at a fixed width of N = {n} particles. Phases can separate at fixed N \
                 below some ε*(N) that falls steeply with N, while with N converged first they \
                 need not (results/phase_separation.md; `--converge-n`, `timescales asymptotics \
                 --n-max`)."
            ),
            (None, _) => "ε → 0 at the fixed particle counts listed (no convergence in N).".into(),
        }
    }
}

fn phase_rows(points: &[SweepPoint]) -> Vec<PhaseRow> {
    let mut rows = Vec::new();
    for p in points {
        for (ph, end) in p.detection.phases.iter().zip(&p.phase_end) {
            let reached = &p.detection.plateaus[ph.to_plateau];
            rows.push(PhaseRow {
                epsilon: p.epsilon,
                phase: PhaseId::of_drop(&ph.degrees_learnt, ph.degree, ph.level_after),
                t_mid: ph.t_mid,
                t_steepest: ph.t_steepest,
                plateau_level: reached.level,
                predicted_level: reached.hint_level.unwrap_or(f64::NAN),
                level_deviation: reached.hint_deviation().unwrap_or(f64::NAN),
                plateau_length_log: reached.length_log,
                max_abs_a: end[0],
                max_abs_s: end[1],
                particles: p.particles,
            });
        }
    }
    rows
}

fn plateau_rows(points: &[SweepPoint]) -> Vec<PlateauRow> {
    points
        .iter()
        .flat_map(|p| {
            p.detection.plateaus.iter().map(|pl| PlateauRow {
                epsilon: p.epsilon,
                degree: pl.degree,
                level: pl.level,
                predicted_level: pl.hint_level.unwrap_or(f64::NAN),
                deviation: pl.hint_deviation().unwrap_or(f64::NAN),
                t_entry: pl.t_entry,
                t_exit: pl.t_exit,
                length_log: pl.length_log,
            })
        })
        .collect()
}

/// The rows of each phase, phases in the order they happen (mean `ln t_mid`).
fn groups(rows: &[PhaseRow]) -> Vec<(PhaseId, Vec<&PhaseRow>)> {
    let mut by_id: BTreeMap<PhaseId, Vec<&PhaseRow>> = BTreeMap::new();
    for r in rows {
        by_id.entry(r.phase).or_default().push(r);
    }
    let mut ordered: Vec<(PhaseId, Vec<&PhaseRow>, f64)> = by_id
        .into_iter()
        .map(|(id, g)| {
            let mean = g.iter().map(|r| r.t_mid.ln()).sum::<f64>() / g.len() as f64;
            (id, g, mean)
        })
        .collect();
    ordered.sort_by(|a, b| a.2.total_cmp(&b.2));
    ordered.into_iter().map(|(id, g, _)| (id, g)).collect()
}

/// Exponent fits and local slopes of every quantity of every phase.
fn fits(rows: &[PhaseRow]) -> (Vec<ExponentRow>, Vec<SlopeRow>) {
    let (mut exponents, mut slopes) = (Vec::new(), Vec::new());
    for (id, group) in groups(rows) {
        let eps: Vec<f64> = group.iter().map(|r| r.epsilon).collect();
        let eps_range = [
            eps.iter().copied().fold(f64::INFINITY, f64::min),
            eps.iter().copied().fold(0.0, f64::max),
        ];
        for q in Quantity::ALL {
            let (x, y): (Vec<f64>, Vec<f64>) = group
                .iter()
                .map(|r| (r.epsilon, r.value(q)))
                .filter(|(_, y)| y.is_finite() && *y > 0.0)
                .unzip();
            // A confidence interval needs three points.
            let power = if x.len() < 3 {
                Err(format!(
                    "{} value(s) finite and positive; a confidence interval needs 3",
                    x.len()
                ))
            } else {
                fit_power_law(&x, &y, LEVEL).map_err(|e| e.to_string())
            };
            let row = |law, predicted| ExponentRow {
                phase: id,
                quantity: q,
                law,
                gamma: f64::NAN,
                ci: [f64::NAN; 2],
                log_c: f64::NAN,
                predicted,
                n_points: x.len(),
                eps_range,
                failure: None,
            };
            exponents.push(match power {
                Ok(f) => ExponentRow {
                    gamma: f.gamma,
                    ci: f.gamma_ci,
                    log_c: f.log_c,
                    n_points: f.n_points,
                    ..row(FitLaw::PowerLaw, id.predicted_exponent(q))
                },
                Err(reason) => ExponentRow {
                    failure: Some(reason),
                    ..row(FitLaw::PowerLaw, id.predicted_exponent(q))
                },
            });
            if let Ok(local) = local_slopes(&x, &y) {
                slopes.extend(local.into_iter().map(|s| SlopeRow {
                    eps_mid: s.eps_mid,
                    phase: id,
                    quantity: q,
                    slope: s.slope,
                }));
            }
            let phase_one = id == PhaseId::Degrees { first: 1, last: 1 };
            if q == Quantity::TMid && phase_one {
                exponents.push(match fit_log_corrected(&x, &y, LEVEL) {
                    Ok(f) => ExponentRow {
                        gamma: f.gamma,
                        ci: f.gamma_ci,
                        n_points: f.n_points,
                        ..row(FitLaw::LogCorrected, Some(0.5))
                    },
                    Err(e) => ExponentRow {
                        failure: Some(e.to_string()),
                        ..row(FitLaw::LogCorrected, Some(0.5))
                    },
                });
            }
        }
    }
    (exponents, slopes)
}

/// Per degree seen, the measured plateau level minus `R_l` at each ε.
fn level_deviations(points: &[SweepPoint]) -> Vec<(usize, Vec<f64>)> {
    let mut degrees: Vec<usize> = points
        .iter()
        .flat_map(|p| p.detection.plateaus.iter().filter_map(|q| q.degree))
        .collect();
    degrees.sort_unstable();
    degrees.dedup();
    degrees
        .into_iter()
        .map(|l| {
            let v = points
                .iter()
                .map(|p| {
                    p.detection
                        .plateaus
                        .iter()
                        .find(|q| q.degree == Some(l))
                        .and_then(|q| q.hint_deviation())
                        .unwrap_or(f64::NAN)
                })
                .collect();
            (l, v)
        })
        .collect()
}

fn convergence_rows(points: &[SweepPoint]) -> Option<Vec<ConvergenceRow>> {
    let rows: Vec<ConvergenceRow> = points
        .iter()
        .filter_map(|p| {
            let c = p.convergence.as_ref()?;
            Some(ConvergenceRow {
                epsilon: p.epsilon,
                particles: c.n,
                converged: c.converged,
                last_change: c
                    .history
                    .last()
                    .and_then(|s| s.max_rel_change)
                    .unwrap_or(f64::NAN),
                tried: c
                    .history
                    .iter()
                    .map(|s| format!("{}:{}", s.n, s.phase_times.len()))
                    .collect::<Vec<_>>()
                    .join(" "),
            })
        })
        .collect();
    (!rows.is_empty()).then_some(rows)
}
