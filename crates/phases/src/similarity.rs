//! Why `p`: the continuum blow-up of the drop through phases 2 and 3 in similarity variables
//! (README, "Phase 3 with N converged"; `examples/phase_separation.rs`, "Why p").
//!
//! Near the blow-up of the continuum inner problem of phase 2 ([`crate::DropProblem`] as
//! ε → 0), with `θ = T* − T`, the particle at the growing edge of the law has `S, A ∝ θ^{−1}`
//! and the multiplier of degree 1 is `μ₁ = λ/θ`. In `u = c₂θS`, `v = c₂θA`, `σ = −ln θ` a
//! particle follows
//!
//! ```text
//!   u' = −u + v (λ + 2u),   v' = −v + λ u + u²
//! ```
//!
//! (`μ₀` drops out at this order). The edge particle sits at the fixed point
//! `u* = (−3λ + √(λ² + 8))/4`, `v* = λu* + u*²`; a label at distance `x` from the edge (law
//! density `∝ x^κ`) leaves it along the unstable direction, as `x θ^{−λ_u}`, and follows the
//! branch `Γ` of the unstable manifold that runs into the origin (the bulk), which it
//! approaches along the slow direction `(1, −1)` at the rate `1 − |λ|`. So the layer has width
//! `x½ ∝ θ^{λ_u}`, `⟨A S²⟩ ∝ θ^{−q}` with `q = 3 − (κ + 1)λ_u`, and `p = 1/(4q)`.
//!
//! What fixes λ is `μ₁` itself, the multiplier that holds `⟨A S⟩`:
//! `μ₁ = −c₂ (⟨S³⟩ + 2⟨A²S⟩ − ⟨S²⟩⟨S⟩)/(Var S + ⟨A²⟩)`. Over the layer, with `⟨S⟩` finite,
//! it is `μ₁ θ = −I_N/I_D` with
//!
//! ```text
//!   I_N = ∫ e^{(κ+1)λ_u τ} (u³ + 2v²u)(Γ(τ)) dτ,   I_D = ∫ e^{(κ+1)λ_u τ} (u² + v²)(Γ(τ)) dτ
//! ```
//!
//! (`τ = σ + ln x / λ_u` labels the particles along `Γ`; the constants of the labelling
//! cancel). `I_D` converges while `(κ + 1)λ_u < 2(1 − |λ|)`; at equality
//! ([`closure_exponents`], the **marginal** `λ_m`, where the layer's far tail grows like the
//! bulk's `Var S ∝ θ^{2λ}`) it diverges. **The self-consistency** `λ = −I_N(λ)/I_D(λ)`
//! ([`self_consistent_exponents`]) has, on `λ_m < λ < 0`, its root just inside `λ_m`: away
//! from `λ_m` the layer asks for a stronger multiplier than `λ` (`−I_N/I_D ≈ −0.5` for the
//! uniform law), and only the divergence of `I_D` brings it back. So the closure that was
//! assumed, `2|λ| = 2 − (κ + 1)λ_u(λ)`, is the self-consistency up to the small tail rate
//! `2(1 − |λ|) − (κ + 1)λ_u ≈ 0.01–0.02` left at the root. The same rate is how fast the
//! bulk's own `Var S ∝ θ^{2λ}` falls behind the layer's as `θ → 0`: the root is the limit,
//! which `λ = μ₁θ` approaches only logarithmically slowly in θ.

use timescales_ode::{
    Direction, Dop853, Event, Observer, OdeSystem, SolverOptions, Stop, integrate,
};

use crate::PhaseError;

/// `λ`, the unstable exponent `λ_u`, `q = 3 − (κ + 1)λ_u` and `p = 1/(4q)` of the blow-up of
/// a law with edge exponent κ ([module docs](self)).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimilarityExponents {
    /// `λ = μ₁ θ`.
    pub lambda: f64,
    /// The unstable exponent of the edge fixed point, `λ_u(λ)` ([`unstable_exponent`]).
    pub lambda_u: f64,
    /// `q = 3 − (κ + 1)λ_u`: `⟨A S²⟩ ∝ θ^{−q}`.
    pub q: f64,
    /// `p = 1/(4q)`: `t₃/t₂ − 1 ∝ ε^{2p − 1/4}`.
    pub p: f64,
}

impl SimilarityExponents {
    fn at(lambda: f64, kappa: f64) -> Self {
        let lambda_u = unstable_exponent(lambda);
        let q = 3.0 - (kappa + 1.0) * lambda_u;
        Self {
            lambda,
            lambda_u,
            q,
            p: 1.0 / (4.0 * q),
        }
    }
}

/// The edge fixed point `(u*, v*)` of the similarity flow at `λ`.
fn fixed_point(lambda: f64) -> (f64, f64) {
    let u = (-3.0 * lambda + (lambda * lambda + 8.0).sqrt()) / 4.0;
    (u, lambda * u + u * u)
}

/// The unstable exponent of the edge fixed point: its Jacobian is the symmetric
/// `[[−1 + 2v, λ + 2u], [λ + 2u, −1]]`, so `λ_u = −1 + v + √(v² + (λ + 2u)²)` (`λ = 0`:
/// `u = 1/√2`, `v = ½`, `λ_u = 1`, the layer argument).
///
/// ```
/// let l = timescales_phases::unstable_exponent(0.0);
/// assert!((l - 1.0).abs() < 1e-15);
/// ```
pub fn unstable_exponent(lambda: f64) -> f64 {
    let (u, v) = fixed_point(lambda);
    -1.0 + v + (v * v + (lambda + 2.0 * u).powi(2)).sqrt()
}

/// The closure that balances the layer's `Var S + ⟨A²⟩` against the bulk's,
/// `2|λ| = 2 − (κ + 1)λ_u(λ)` (bisection on `λ ∈ [−1, 0]`): the marginal `λ_m` of the
/// [module docs](self). `None` outside `−1 < κ < 1` (at `κ = 1`, `λ = 0` and `p = 1/4`).
///
/// ```
/// let m = timescales_phases::closure_exponents(0.0).unwrap();
/// assert!((m.lambda + 0.3426).abs() < 1e-4 && (m.p - 0.1484).abs() < 1e-4);
/// ```
pub fn closure_exponents(kappa: f64) -> Option<SimilarityExponents> {
    if !(kappa > -1.0 && kappa < 1.0) {
        return None;
    }
    let f = |l: f64| -> Result<f64, std::convert::Infallible> {
        Ok(2.0 * l - (2.0 - (kappa + 1.0) * unstable_exponent(-l)))
    };
    let Ok(root) = bisect(f, 0.0, 1.0, 1e-15);
    root.map(|l| SimilarityExponents::at(-l, kappa))
}

/// The root of `f` on `[lo, hi]` by bisection to `tol`, or `None` without a sign change.
fn bisect<E>(
    mut f: impl FnMut(f64) -> Result<f64, E>,
    mut lo: f64,
    mut hi: f64,
    tol: f64,
) -> Result<Option<f64>, E> {
    let mut f_lo = f(lo)?;
    if f_lo * f(hi)? > 0.0 {
        return Ok(None);
    }
    while (hi - lo).abs() > tol {
        let mid = 0.5 * (lo + hi);
        let f_mid = f(mid)?;
        if f_lo * f_mid <= 0.0 {
            hi = mid;
        } else {
            (lo, f_lo) = (mid, f_mid);
        }
    }
    Ok(Some(0.5 * (lo + hi)))
}

/// The edge exponent κ* where `p = 1/8` (`(κ + 1)λ_u = 1`) for a rule that gives the
/// exponents from κ ([`closure_exponents`] or [`self_consistent_exponents`]), by bisection on
/// `−0.9 ≤ κ ≤ 0.5` to `10⁻⁶`: phases 2 and 3 of the continuum separate as ε → 0 for
/// `κ < κ*` (`p < 1/8`) and merge above. `None` if the rule gives no exponents there.
///
/// ```
/// let k = timescales_phases::separation_threshold(|k| Ok(timescales_phases::closure_exponents(k)));
/// assert!((k.unwrap().unwrap() + 0.313).abs() < 1e-3);
/// ```
///
/// # Errors
/// What the rule returns.
pub fn separation_threshold(
    rule: impl Fn(f64) -> Result<Option<SimilarityExponents>, PhaseError>,
) -> Result<Option<f64>, PhaseError> {
    // `Err(None)`: the rule has no exponents at that κ.
    let f = |k: f64| match rule(k) {
        Ok(Some(e)) => Ok(e.p - 0.125),
        Ok(None) => Err(None),
        Err(e) => Err(Some(e)),
    };
    match bisect(f, -0.9, 0.5, 1e-6) {
        Ok(root) => Ok(root),
        Err(None) => Ok(None),
        Err(Some(e)) => Err(e),
    }
}

/// The similarity flow with its clock and the two layer integrals as extra components:
/// state `(u, v, τ − τ₀, J_N, J_D)` with `J' = e^{a τ} f(u, v)`, `a = (κ + 1)λ_u`, from the
/// start `τ₀`.
struct LayerFlow {
    lambda: f64,
    a: f64,
    tau0: f64,
}

impl OdeSystem for LayerFlow {
    fn dim(&self) -> usize {
        5
    }
    fn rhs(&self, y: &[f64], dy: &mut [f64]) {
        let (u, v) = (y[0], y[1]);
        let w = (self.a * (self.tau0 + y[2])).exp();
        dy[0] = -u + v * (self.lambda + 2.0 * u);
        dy[1] = -v + self.lambda * u + u * u;
        dy[2] = 1.0;
        dy[3] = w * (u * u * u + 2.0 * v * v * u);
        dy[4] = w * (u * u + v * v);
    }
}

struct Quiet;

impl Observer for Quiet {
    fn observe(&mut self, _t: f64, _u: &[f64]) -> std::ops::ControlFlow<()> {
        std::ops::ControlFlow::Continue(())
    }
}

/// The layer integrals `(I_N, I_D)` of the [module docs](self) at `λ` for edge exponent κ:
/// `Γ` integrated with the integrals as components of the same system (Dormand–Prince
/// 8(5,3), rtol 1e-11) from `10⁻⁸` along the unstable direction until `|Γ| = 10⁻⁵`, plus the
/// two ends in closed form:
/// before the start `Γ = (u*, v*)`, after the end the decay at the slow rate `s = 1 − |λ|`,
/// which gives `e^{aτ_end} f(Γ_end)/(m s − a)` with `m = 3` for `I_N` and `2` for `I_D`.
/// `I_D = ∞` where `2s ≤ a`.
///
/// # Errors
/// [`PhaseError::Invalid`] outside `−1 < κ < 1`, `−1 < λ ≤ 0`, or when `Γ` does not reach
/// the origin by `τ = 200` (or the integration fails).
pub fn layer_integrals(lambda: f64, kappa: f64) -> Result<(f64, f64), PhaseError> {
    if !(kappa > -1.0 && kappa < 1.0 && lambda > -1.0 && lambda <= 0.0) {
        return Err(PhaseError::Invalid(format!(
            "layer integrals need −1 < κ < 1 and −1 < λ ≤ 0, got κ = {kappa}, λ = {lambda}"
        )));
    }
    let (u0, v0) = fixed_point(lambda);
    let lambda_u = unstable_exponent(lambda);
    // The unstable eigenvector of the symmetric Jacobian [[p, r], [r, −1]]: (r, λ_u − p).
    let (p, r) = (-1.0 + 2.0 * v0, lambda + 2.0 * u0);
    let (mut eu, mut ev) = (r, lambda_u - p);
    let norm = eu.hypot(ev);
    (eu, ev) = (eu / norm, ev / norm);
    if eu > 0.0 {
        // The branch toward the origin: u decreasing.
        (eu, ev) = (-eu, -ev);
    }
    let d0: f64 = 1e-8;
    let a = (kappa + 1.0) * lambda_u;
    let tau0 = d0.ln() / lambda_u;
    let flow = LayerFlow { lambda, a, tau0 };
    let opts = SolverOptions {
        rtol: 1e-11,
        atol: 1e-16,
        ..SolverOptions::default()
    };
    let start = [u0 + d0 * eu, v0 + d0 * ev, 0.0, 0.0, 0.0];
    let failed = |e: timescales_ode::IntegrationError| {
        PhaseError::Invalid(format!("the similarity layer at λ = {lambda}: {e}"))
    };
    let mut solver = Dop853::new(&flow, 0.0, &start, &opts).map_err(failed)?;
    let (horizon, stop) = (200.0, 1e-5);
    let mut events =
        [Event::new(move |_t, y: &[f64]| y[0].hypot(y[1]) - stop).direction(Direction::Falling)];
    let outcome = integrate(&mut solver, &[horizon], &mut events, &mut Quiet).map_err(failed)?;
    let Stop::Event(end) = outcome.stop else {
        return Err(PhaseError::Invalid(format!(
            "the similarity layer at λ = {lambda}: Γ does not reach |Γ| = {stop:e} by τ = {horizon}"
        )));
    };
    let (ue, ve) = (end.state[0], end.state[1]);
    let head = (a * tau0).exp() / a;
    let slow = 1.0 + lambda;
    let we = (a * (tau0 + end.t)).exp();
    let i_n = end.state[3]
        + head * (u0 * u0 * u0 + 2.0 * v0 * v0 * u0)
        + we * (ue * ue * ue + 2.0 * ve * ve * ue) / (3.0 * slow - a);
    let i_d = if 2.0 * slow > a {
        end.state[4] + head * (u0 * u0 + v0 * v0) + we * (ue * ue + ve * ve) / (2.0 * slow - a)
    } else {
        f64::INFINITY
    };
    Ok((i_n, i_d))
}

/// The root of the self-consistency `λ = −I_N(λ)/I_D(λ)` ([`layer_integrals`], module docs)
/// on `λ_m < λ < 0`, `λ_m` the closure's ([`closure_exponents`]): bracketed by scanning
/// `λ = λ_m (1 − 10⁻⁶), 0.99 λ_m, 0.98 λ_m, …` for the first sign change, then bisected to
/// `10⁻⁹`. `None` outside `−1 < κ < 1` or without a sign change.
///
/// ```
/// let s = timescales_phases::self_consistent_exponents(0.0).unwrap().unwrap();
/// assert!((s.lambda + 0.3348).abs() < 1e-4 && (s.p - 0.1477).abs() < 1e-4);
/// ```
///
/// # Errors
/// As [`layer_integrals`].
pub fn self_consistent_exponents(kappa: f64) -> Result<Option<SimilarityExponents>, PhaseError> {
    let Some(marginal) = closure_exponents(kappa) else {
        return Ok(None);
    };
    let lm = marginal.lambda;
    let g = |l: f64| -> Result<f64, PhaseError> {
        let (i_n, i_d) = layer_integrals(l, kappa)?;
        Ok(-i_n / i_d - l)
    };
    let mut fractions = vec![1.0 - 1e-6];
    fractions.extend((1..100).map(|k| 1.0 - 0.01 * k as f64));
    let mut lo = lm * fractions[0];
    let mut g_lo = g(lo)?;
    let mut bracket = None;
    for &f in &fractions[1..] {
        let hi = lm * f;
        let g_hi = g(hi)?;
        if g_lo * g_hi <= 0.0 {
            bracket = Some((lo, g_lo, hi));
            break;
        }
        (lo, g_lo) = (hi, g_hi);
    }
    let Some((lo, _, hi)) = bracket else {
        return Ok(None);
    };
    Ok(bisect(g, lo, hi, 1e-9)?.map(|l| SimilarityExponents::at(l, kappa)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from an independent integration: scipy's `solve_ivp` (DOP853,
    /// rtol 1e-12) of the same flow, the integrals by the trapezoid rule on 200 001 points
    /// with the same closed-form ends, and `brentq` on the self-consistency (2026-12-07).
    #[test]
    fn the_self_consistent_root_agrees_with_an_independent_solver() {
        for (kappa, lambda_a, p_a, lambda_m) in [
            (0.0, -0.33483, 0.14774, -0.34258),
            (-0.5, -0.60654, 0.11231, -0.61183),
            (0.5, -0.14239, 0.19218, -0.14714),
        ] {
            let m = closure_exponents(kappa).unwrap();
            assert!((m.lambda - lambda_m).abs() < 1e-5, "κ = {kappa}: {m:?}");
            let s = self_consistent_exponents(kappa).unwrap().unwrap();
            assert!((s.lambda - lambda_a).abs() < 2e-5, "κ = {kappa}: {s:?}");
            assert!((s.p - p_a).abs() < 2e-5, "κ = {kappa}: {s:?}");
            // Just inside the marginal point: the tail of I_D still converges there.
            assert!(s.lambda > m.lambda && 2.0 * (1.0 + s.lambda) > (kappa + 1.0) * s.lambda_u);
        }
        // The closure's threshold in closed form: λ = −½ gives p = 1/8, κ* = 1/λ_u(−½) − 1.
        let closed = 1.0 / unstable_exponent(-0.5) - 1.0;
        let k = separation_threshold(|k| Ok(closure_exponents(k)))
            .unwrap()
            .unwrap();
        assert!((k - closed).abs() < 2e-6, "{k} vs {closed}");
    }

    /// Away from the marginal point the layer asks for a stronger multiplier than λ
    /// (`−I_N/I_D < λ`), and `I_D` diverges as λ reaches it: the sign change the root needs.
    #[test]
    fn the_layer_alone_overshoots_except_near_the_marginal_point() {
        let m = closure_exponents(0.0).unwrap().lambda;
        for f in [0.9, 0.6, 0.3, 0.05] {
            let l = m * f;
            let (i_n, i_d) = layer_integrals(l, 0.0).unwrap();
            assert!(-i_n / i_d < l, "λ = {l}: {}", -i_n / i_d);
        }
        let (_, near) = layer_integrals(m * (1.0 - 1e-6), 0.0).unwrap();
        let (_, away) = layer_integrals(m * 0.9, 0.0).unwrap();
        assert!(near > 1e3 * away, "{near} vs {away}");
        assert!(matches!(
            layer_integrals(m * 1.01, 0.0),
            Ok((_, d)) if d.is_infinite()
        ));
    }

    #[test]
    fn bad_exponents_are_refused_by_name() {
        for (l, k) in [(0.1, 0.0), (-0.2, 1.0), (-0.2, -1.0), (f64::NAN, 0.0)] {
            let e = layer_integrals(l, k).unwrap_err().to_string();
            assert!(e.contains('κ') && e.contains('λ'), "{e}");
        }
        assert_eq!(closure_exponents(1.0), None);
        assert!(matches!(self_consistent_exponents(-1.0), Ok(None)));
        assert!(matches!(separation_threshold(|_| Ok(None)), Ok(None)));
    }
}
