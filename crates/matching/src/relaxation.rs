//! The ε → 0 limit of a relaxation oscillation: reduced segments on attracting branches
//! joined by fast jumps (interior layers) at folds — and the same orbit with the Airy
//! delays of the jumps at a given ε ([`corrected_orbit`], [`crate::airy`]).

use nalgebra::DVector;
use timescales_inner::{LayerSolution, LayerStart, solve_layer};
use timescales_ode::SlowFastSystem;
use timescales_outer::linear::blocks;
use timescales_outer::{
    FoldEvent, ImpasseEvent, OuterSolution, OuterStart, Termination, solve_reduced,
};

use crate::{FoldNormalForm, MatchingError, MatchingOptions, fold_normal_form};

/// A fast jump: the interior layer started just past a fold.
#[derive(Debug, Clone, PartialEq)]
pub struct Jump {
    /// The fold that ended the previous segment (its `t` is the reduced flow's arrival).
    pub fold: FoldEvent,
    /// The normal form of the passage through the fold (its Airy delay), when the orbit
    /// was asked for the delays.
    pub normal_form: Option<FoldNormalForm>,
    /// The delay of the jump past the fold, `|a₁| ε^{2/3} (A B)^{-1/3}` (0 in the singular
    /// orbit).
    pub delay: f64,
    /// When the jump leaves: `fold.t + delay`.
    pub t: f64,
    /// The slow state when it leaves: `x_f + g_f delay`.
    pub x: Vec<f64>,
    /// The interior layer, `τ = (t − t_jump)/ε`, from the fold's fast state (nudged along
    /// the critical direction) at the jump's slow state to the landing branch.
    pub layer: LayerSolution,
}

/// Reduced segments and the jumps between them.
#[derive(Debug, Clone, PartialEq)]
pub struct SingularOrbit {
    /// The initial layer.
    pub initial_layer: LayerSolution,
    /// Reduced segments, each ending at a fold (the last one possibly at `t_max`).
    pub segments: Vec<OuterSolution>,
    /// Jumps, `jumps[k]` between `segments[k]` and `segments[k + 1]`.
    pub jumps: Vec<Jump>,
}

impl SingularOrbit {
    /// Jump times (the folds' times in the singular orbit, delayed in a corrected one).
    pub fn jump_times(&self) -> Vec<f64> {
        self.jumps.iter().map(|j| j.t).collect()
    }

    /// How the last segment ended: at an impasse (the orbit cannot go on), if so.
    pub fn impasse(&self) -> Option<&ImpasseEvent> {
        match &self.segments.last()?.termination {
            Termination::Impasse(ev) => Some(ev),
            _ => None,
        }
    }
}

/// Follows the singular orbit from `(x0, y0)` at `t = 0`: initial layer, then reduced
/// flow until a fold, a jump (the layer problem at the fold's slow state, started
/// `δ = 10⁻³(1 + ‖y_f‖)` along the null direction of `∂f/∂y` on the side where `f` pushes
/// away), landing on an attracting branch, and so on, for at most `max_jumps` jumps or
/// until `t_max`. Output times of each segment: every `dt`.
///
/// # Errors
/// Layer or outer failures; a jump that lands nowhere attracting is
/// [`MatchingError::Inner`]. An impasse ends the orbit (see [`SingularOrbit::impasse`]).
pub fn singular_orbit<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x0: &[f64],
    y0: &[f64],
    t_max: f64,
    dt: f64,
    max_jumps: usize,
    opts: &MatchingOptions,
) -> Result<SingularOrbit, MatchingError> {
    follow(sys, x0, y0, t_max, dt, max_jumps, None, opts)
}

/// The orbit at `ε` with the Airy delays of its jumps: as [`singular_orbit`], but each jump
/// leaves `Δt = |a₁| ε^{2/3} (A B)^{-1/3}` after the reduced flow reaches the fold, from
/// the slow state `x_f + g_f Δt`, with `A`, `B` the normal-form coefficients computed from
/// the system at the fold ([`fold_normal_form`]). The landing point, and so the next
/// segment, moves with it: for van der Pol each fold costs `|a₁| ε^{2/3}` of delay plus
/// `|a₁| ε^{2/3}/2` on the next branch, `3|a₁| ε^{2/3}` a period (Dorodnitsyn's term).
///
/// # Errors
/// As [`singular_orbit`]; [`MatchingError::DegenerateFold`] at a fold without a
/// normal form; `ε ∉ (0, 1)` is an invalid request.
#[allow(clippy::too_many_arguments)]
pub fn corrected_orbit<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x0: &[f64],
    y0: &[f64],
    t_max: f64,
    dt: f64,
    max_jumps: usize,
    eps: f64,
    opts: &MatchingOptions,
) -> Result<SingularOrbit, MatchingError> {
    if !(eps > 0.0 && eps < 1.0) {
        return Err(MatchingError::InvalidRequest(format!(
            "eps must lie in (0, 1), got {eps}"
        )));
    }
    follow(sys, x0, y0, t_max, dt, max_jumps, Some(eps), opts)
}

#[allow(clippy::too_many_arguments)]
fn follow<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x0: &[f64],
    y0: &[f64],
    t_max: f64,
    dt: f64,
    max_jumps: usize,
    eps: Option<f64>,
    opts: &MatchingOptions,
) -> Result<SingularOrbit, MatchingError> {
    if !(dt > 0.0 && t_max > 0.0) {
        return Err(MatchingError::InvalidRequest(format!(
            "dt and t_max must be positive, got {dt} and {t_max}"
        )));
    }
    let initial_layer = solve_layer(sys, &LayerStart::leading(0.0, x0, y0), &[], &opts.layer)?;
    let (mut t, mut x, mut y) = (0.0, x0.to_vec(), initial_layer.y_limit.clone());
    let mut segments = Vec::new();
    let mut jumps = Vec::new();
    loop {
        let times: Vec<f64> = std::iter::once(t)
            .chain((1..).map(|k| t + k as f64 * dt).take_while(|&s| s < t_max))
            .chain(std::iter::once(t_max))
            .collect();
        let seg = solve_reduced(
            sys,
            &OuterStart {
                t0: t,
                x0: x.clone(),
                y_guess: y.clone(),
                x1_0: None,
            },
            &times,
            &opts.outer,
        )?;
        let fold = match &seg.termination {
            Termination::Fold(ev) => Some(ev.clone()),
            _ => None,
        };
        segments.push(seg);
        let Some(fold) = fold else { break };
        if jumps.len() >= max_jumps {
            break;
        }
        let (normal_form, delay, x_jump) = match eps {
            None => (None, 0.0, fold.x.clone()),
            Some(e) => {
                let nf = fold_normal_form(sys, &fold.x, &fold.y)?;
                let (d, xj) = (nf.delay(e), nf.jump_start(e));
                (Some(nf), d, xj)
            }
        };
        let t_jump = fold.t + delay;
        if t_jump >= t_max {
            // The jump leaves after the horizon: the orbit ends at this fold.
            break;
        }
        // The critical direction: eigenvector of ∂f/∂y for the eigenvalue closest to 0.
        let b = blocks(sys, &fold.x, &fold.y, 0.0);
        let v = null_direction(&b.fy);
        let scale = 1.0 + fold.y.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let delta = 1e-3 * scale;
        let m = fold.y.len();
        let mut start = fold.y.clone();
        let mut f = vec![0.0; m];
        for s in [1.0, -1.0] {
            let trial: Vec<f64> = fold
                .y
                .iter()
                .zip(&v)
                .map(|(y, v)| y + s * delta * v)
                .collect();
            sys.fast_field(&x_jump, &trial, 0.0, &mut f);
            let push: f64 = f.iter().zip(&v).map(|(f, v)| f * v).sum();
            if push * s > 0.0 {
                start = trial;
                break;
            }
        }
        let layer = solve_layer(
            sys,
            &LayerStart::leading(t_jump, &x_jump, &start),
            &[],
            &opts.layer,
        )?;
        t = t_jump;
        x = x_jump.clone();
        y = layer.y_limit.clone();
        jumps.push(Jump {
            fold,
            normal_form,
            delay,
            t: t_jump,
            x: x_jump,
            layer,
        });
        if t >= t_max {
            break;
        }
    }
    Ok(SingularOrbit {
        initial_layer,
        segments,
        jumps,
    })
}

/// A unit vector along which `∂f/∂y` is (nearly) singular: the right singular vector of
/// the smallest singular value.
fn null_direction(fy: &nalgebra::DMatrix<f64>) -> Vec<f64> {
    let m = fy.nrows();
    if m == 1 {
        return vec![1.0];
    }
    let svd = fy.clone().svd(false, true);
    match svd.v_t {
        Some(vt) => {
            let (k, _) = svd.singular_values.iter().enumerate().fold(
                (0, f64::INFINITY),
                |(bk, bv), (k, &s)| {
                    if s < bv { (k, s) } else { (bk, bv) }
                },
            );
            let row: DVector<f64> = vt.row(k).transpose();
            row.as_slice().to_vec()
        }
        None => {
            let mut e = vec![0.0; m];
            e[0] = 1.0;
            e
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use timescales_systems::builtin::van_der_pol::{self, VanDerPol};

    #[test]
    fn van_der_pol_singular_cycle_has_the_closed_form_period() {
        let orbit = singular_orbit(
            &VanDerPol,
            &[2.0 / 3.0],
            &[0.0],
            20.0,
            0.05,
            5,
            &MatchingOptions::default(),
        )
        .unwrap();
        let jt = orbit.jump_times();
        assert_eq!(jt.len(), 5);
        // First fold after 3/2 − ln 2 from y = 2; then half periods of (3 − 2 ln 2)/2
        // (branch from y = ∓2 to y = ∓1).
        assert!((jt[0] - van_der_pol::fold_time(2.0)).abs() < 1e-6, "{jt:?}");
        for k in 0..jt.len() - 2 {
            let period = jt[k + 2] - jt[k];
            assert!(
                (period - van_der_pol::REDUCED_PERIOD).abs() < 1e-6,
                "{k}: {period} vs {}",
                van_der_pol::REDUCED_PERIOD
            );
        }
        // Jumps land on the other outer branch: y = ∓2.
        for (k, j) in orbit.jumps.iter().enumerate() {
            let expect = if k % 2 == 0 { -2.0 } else { 2.0 };
            assert!(
                (j.layer.y_limit[0] - expect).abs() < 1e-5,
                "{k}: {:?}",
                j.layer.y_limit
            );
        }
    }
}
