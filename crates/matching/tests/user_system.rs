//! User-defined (TOML/exmex) systems go through the same machinery as the built-in ones and
//! give the same numbers; from arbitrary initial data their composites converge, at their
//! orders in ε, to references that owe nothing to the machinery (a closed form, and
//! `ode_solvers`' Dormand–Prince integrator), and the matching conditions hold between the
//! layer and the reduced solvers run separately, both checked against the closed-form slow
//! manifold.
//!
//! These replace a property test that only checked what the construction guarantees: that
//! `outer + inner − common` equals the initial value at `t = 0` (the common part is the
//! outer value there) and the outer solution once the layer has decayed.

use ode_solvers::{DVector, Dopri5, OutputType};
use proptest::prelude::*;
use timescales_analysis::fit_power_law;
use timescales_inner::{LayerOptions, LayerStart, solve_layer};
use timescales_matching::{Asymptotics, MatchingOptions, study};
use timescales_ode::SlowFastSystem;
use timescales_outer::{OuterStart, ReducedOptions, solve_reduced};
use timescales_systems::{SystemFile, UserSystem, builtin};

const MICHAELIS_MENTEN: &str = r#"
[system]
slow = { s = "-s + (s + K - lambda)*c" }
fast = { c = "s - (s + K)*c" }
parameters = { K = 1.0, lambda = 0.5 }
initial = { s = 1.0, c = 0.0 }
[run]
t_end = 2.0
"#;

/// The linear problem with its ε-dependent fast field written as an expression: the
/// first-order correction needs ∂f/∂ε = −y from exmex's derivative.
const LINEAR: &str = r#"
[system]
slow = { x = "y" }
fast = { y = "-x - (1 + eps)*y" }
initial = { x = 1.0, y = 0.0 }
[run]
t_end = 2.0
"#;

#[test]
fn user_systems_reproduce_the_builtin_studies() {
    let eps = [1e-1, 1e-2, 1e-3];
    let opts = MatchingOptions::default();
    for (text, name) in [(MICHAELIS_MENTEN, "michaelis-menten"), (LINEAR, "linear")] {
        let file = SystemFile::parse(text, name).unwrap();
        let t_end = file.run.as_ref().unwrap().t_end;
        let user = study(&file.system, &file.x0, &file.y0, t_end, &eps, &opts).unwrap();
        let p = builtin::by_name(name).unwrap();
        let reference = study(p.system.as_ref(), &p.x0, &p.y0, p.t_end, &eps, &opts).unwrap();
        assert_eq!(user.names, reference.names);
        for (a, b) in user.errors.iter().zip(&reference.errors) {
            for (u, r) in a.values().iter().zip(b.values()) {
                // Same equations, different evaluation order: agreement to well below the
                // smallest error studied.
                assert!((u - r).abs() <= 1e-9 + 1e-6 * r, "{name}: {a:?} vs {b:?}");
            }
        }
    }
}

/// The ε of the order fits: two decades.
const EPS: [f64; 3] = [1e-2, 1e-3, 1e-4];
/// Bands for the fitted orders of the leading (`O(ε)`) and first-order (`O(ε²)`)
/// composites. Measured over 40 random starts of each property below: 0.990 and 1.990 for
/// the linear problem (the factor `1/(1 − ε)` of the closed form bends the log–log line
/// slightly), 0.993–1.000 and 1.984–2.000 for Michaelis–Menten.
const LEAD_BAND: [f64; 2] = [0.95, 1.05];
const FIRST_BAND: [f64; 2] = [1.93, 2.07];

fn user(text: &str, name: &str) -> UserSystem {
    SystemFile::parse(text, name).unwrap().system
}

/// The comparison grids at ε: the layer, `t = ε τ` for `τ = 0, ¼, …, 20`, and the outer
/// region, `t = T j/100`.
fn grids(eps: f64, t_end: f64) -> [Vec<f64>; 2] {
    [
        (0..=80).map(|k| eps * 0.25 * k as f64).collect(),
        (0..=100).map(|j| t_end * j as f64 / 100.0).collect(),
    ]
}

/// `max |composite − reference|` over `grid` for the leading and the first-order
/// composite of each variable (slow then fast); `reference[v][k]` is variable `v` at
/// `grid[k]`. The asymptotic pieces are computed on the grid itself.
fn composite_errors<S: SlowFastSystem + ?Sized>(
    sys: &S,
    x0: &[f64],
    y0: &[f64],
    eps: f64,
    grid: &[f64],
    reference: &[Vec<f64>],
) -> Vec<[f64; 2]> {
    let taus: Vec<f64> = grid.iter().map(|t| t / eps).collect();
    let a = Asymptotics::compute(sys, x0, y0, grid, &taus, &MatchingOptions::default()).unwrap();
    (0..reference.len())
        .map(|v| {
            let [lead, first] = a.composites(v, eps, grid).unwrap();
            [
                lead.max_error(&reference[v], f64::INFINITY),
                first.max_error(&reference[v], f64::INFINITY),
            ]
        })
        .collect()
}

/// Errors below this are at the accuracy of the computation itself (the layer's tolerance
/// 1e-12, the outer solver's and the reference's), not the composite's: a first-order error
/// of 2.45e-7 and 2.45e-9 at ε = 1e-2, 1e-3 (c, Michaelis–Menten from (2.22, 0.089)), so
/// 2.4e-11 at 1e-4 at order 2, came out as 3.9e-11 there and bent the fitted order to 1.90
/// (a CI failure on 2026-12-07).
const FLOOR: f64 = 1e-10;

/// Fitted orders `(leading, first-order)` of the errors `errs[e][v]` over the [`EPS`] where
/// they are at least [`FLOOR`], per variable; `NaN` where fewer than two are.
fn orders(errs: &[Vec<[f64; 2]>]) -> Vec<[f64; 2]> {
    (0..errs[0].len())
        .map(|v| {
            [0, 1].map(|k| {
                let (eps, e): (Vec<f64>, Vec<f64>) = EPS
                    .iter()
                    .zip(errs)
                    .map(|(&eps, row)| (eps, row[v][k]))
                    .filter(|&(_, e)| e >= FLOOR)
                    .unzip();
                if e.len() < 2 {
                    return f64::NAN;
                }
                fit_power_law(&eps, &e, 0.95).unwrap().gamma
            })
        })
        .collect()
}

fn in_band(x: f64, band: [f64; 2]) -> bool {
    x >= band[0] && x <= band[1]
}

/// The exact solution of the linear problem `x' = y`, `ε y' = −x − (1+ε) y` from any
/// `(x0, y0)`: the characteristic polynomial `ελ² + (1+ε)λ + 1 = (ελ + 1)(λ + 1)` (Bender
/// & Orszag 1978, §9.1, as in `builtin::linear`) gives `x = A e^{−t} + B e^{−t/ε}`,
/// `y = x' = −A e^{−t} − (B/ε) e^{−t/ε}` with `B = −ε (x0 + y0)/(1 − ε)`, `A = x0 − B`.
fn linear_exact(t: f64, eps: f64, x0: f64, y0: f64) -> [f64; 2] {
    let b = -eps * (x0 + y0) / (1.0 - eps);
    let a = x0 - b;
    let (slow, fast) = ((-t).exp(), (-t / eps).exp());
    [a * slow + b * fast, -a * slow - b / eps * fast]
}

#[test]
fn linear_closed_form_from_the_builtin_start() {
    // The general closed form above reduces to builtin::linear::exact from (1, 0).
    for t in [0.0, 1e-3, 0.1, 1.0] {
        let ours = linear_exact(t, 1e-2, 1.0, 0.0);
        let theirs = builtin::linear::exact(t, 1e-2);
        assert!((ours[0] - theirs[0]).abs() < 1e-15 && (ours[1] - theirs[1]).abs() < 1e-15);
    }
}

/// Michaelis–Menten (`K = 1`, `λ = 1/2`) integrated by `ode_solvers`' Dopri5 (an
/// implementation independent of this workspace) at rtol 1e-13, atol 1e-15, with its dense
/// output every `dx` on `[0, span]`: the times and `[s, c]` there. Stiffness detection is
/// off: the fast rate `(s + K)/ε` only costs steps (about 10⁴ at ε = 1e-4). The run goes two
/// outputs past `span` and those are dropped: ode_solvers 0.6.2 adds the end point by
/// extrapolating the last step's interpolant when an output time falls within rounding of
/// the end but past the step (an O(1e-3) error at ε = 1e-4, where the steps are
/// stability-limited).
fn dopri5_michaelis_menten(
    eps: f64,
    s0: f64,
    c0: f64,
    span: f64,
    dx: f64,
) -> (Vec<f64>, [Vec<f64>; 2]) {
    #[derive(Clone, Copy)]
    struct Mm {
        eps: f64,
    }
    impl ode_solvers::System<f64, DVector<f64>> for Mm {
        fn system(&self, _t: f64, u: &DVector<f64>, du: &mut DVector<f64>) {
            let (s, c) = (u[0], u[1]);
            du[0] = -s + (s + 1.0 - 0.5) * c;
            du[1] = (s - (s + 1.0) * c) / self.eps;
        }
    }
    let x_end = span + 2.0 * dx;
    let mut solver = Dopri5::from_param(
        Mm { eps },
        0.0,
        x_end,
        dx,
        DVector::from_column_slice(&[s0, c0]),
        1e-13,
        1e-15,
        0.9,
        0.04,
        0.2,
        10.0,
        x_end,
        0.0,
        10_000_000,
        u32::MAX,
        OutputType::Dense,
    );
    solver.integrate().unwrap();
    let (mut t, mut s, mut c) = (Vec::new(), Vec::new(), Vec::new());
    for (ti, u) in solver.x_out().iter().zip(solver.y_out()) {
        if *ti > span + 0.5 * dx {
            break;
        }
        t.push(*ti);
        s.push(u[0]);
        c.push(u[1]);
    }
    (t, [s, c])
}

/// The fitted orders of the leading and first-order composites of each variable lie in
/// `LEAD_BAND` and `FIRST_BAND` (over the errors above [`FLOOR`]; with fewer than two
/// above it, the errors at every ε but the largest must be below it).
fn check_orders(what: &str, names: [&str; 2], errs: &[Vec<[f64; 2]>]) -> Result<(), TestCaseError> {
    let fitted = orders(errs);
    eprintln!("{what}: orders {fitted:?}; errors {errs:?}");
    for (v, name) in names.iter().enumerate() {
        for (k, band, which) in [(0, LEAD_BAND, "leading"), (1, FIRST_BAND, "first")] {
            let order = fitted[v][k];
            if order.is_nan() {
                prop_assert!(
                    errs[1..].iter().all(|row| row[v][k] < FLOOR),
                    "{name}: {which}-order errors {errs:?}"
                );
            } else {
                prop_assert!(
                    in_band(order, band),
                    "{name}: {which} order {order:.3}; errors {errs:?}"
                );
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(6))]

    /// Linear problem, any initial data with `x0 + y0` away from 0 (at `x0 + y0 = 0` the
    /// start is on the slow manifold and the composites are exact): against the closed
    /// form, the leading composite's error is `O(ε)` and the first-order composite's
    /// `O(ε²)` for both variables, orders fitted over ε = 1e-2, 1e-3, 1e-4.
    ///
    /// Measured: orders 0.990 (leading) and 1.990 (first order) for x and y; the errors at
    /// ε = 1e-4 are 1.0e-4 |x0 + y0| and 1.0e-8 |x0 + y0|.
    #[test]
    fn linear_composites_converge_to_the_closed_form(x0 in 0.5f64..2.0, y0 in 0.2f64..1.5) {
        let sys = user(LINEAR, "linear");
        let errs: Vec<Vec<[f64; 2]>> = EPS
            .iter()
            .map(|&eps| {
                let mut worst = vec![[0.0f64; 2]; 2];
                for grid in grids(eps, 2.0) {
                    let exact: Vec<[f64; 2]> =
                        grid.iter().map(|&t| linear_exact(t, eps, x0, y0)).collect();
                    let reference: Vec<Vec<f64>> =
                        (0..2).map(|v| exact.iter().map(|e| e[v]).collect()).collect();
                    for (w, e) in worst
                        .iter_mut()
                        .zip(composite_errors(&sys, &[x0], &[y0], eps, &grid, &reference))
                    {
                        *w = [w[0].max(e[0]), w[1].max(e[1])];
                    }
                }
                worst
            })
            .collect();
        check_orders(&format!("linear from ({x0}, {y0})"), ["x", "y"], &errs)?;
    }

    /// Michaelis–Menten from random `(s0, c0)`: against `ode_solvers`' Dopri5 (dense output
    /// every ε/4 over the layer, `τ ≤ 20`, and every T/100 on `[0, T]`, T = 2), the
    /// leading composite's error is `O(ε)` and the first-order composite's `O(ε²)`, orders
    /// fitted over ε = 1e-2, 1e-3, 1e-4.
    ///
    /// Measured: orders 0.993–1.000 and 1.984–2.000; at ε = 1e-4 errors of about 3e-5 and
    /// 7e-10 (the oracle agrees with the workspace's RODAS4 at rtol 1e-12 to 1e-13).
    #[test]
    fn michaelis_menten_composites_converge_to_an_independent_integration(
        s0 in 0.3f64..3.0,
        c0 in 0.0f64..1.0,
    ) {
        let sys = user(MICHAELIS_MENTEN, "michaelis-menten");
        let t_end = 2.0;
        let errs: Vec<Vec<[f64; 2]>> = EPS
            .iter()
            .map(|&eps| {
                let mut worst = vec![[0.0f64; 2]; 2];
                for (span, dx) in [(20.0 * eps, 0.25 * eps), (t_end, t_end / 100.0)] {
                    let (grid, reference) = dopri5_michaelis_menten(eps, s0, c0, span, dx);
                    for (w, e) in worst
                        .iter_mut()
                        .zip(composite_errors(&sys, &[s0], &[c0], eps, &grid, &reference))
                    {
                        *w = [w[0].max(e[0]), w[1].max(e[1])];
                    }
                }
                worst
            })
            .collect();
        check_orders(&format!("michaelis-menten from ({s0}, {c0})"), ["s", "c"], &errs)?;
    }

    /// Matching, from the two solvers run separately (the reduced one started from a guess
    /// that is not the layer's limit): the layer's integrated `η₀` at its last recorded
    /// `τ` equals the outer `Y₀(0)`, and the rate `dη₁/dτ` of the first-order layer equals
    /// the outer slope `Y₀'(0)`; each is also checked against the closed form of the slow
    /// manifold, `c = s/(s + K)`, along which `s' = −λ s/(s + K)`, so
    /// `Y₀(0) = s0/(s0 + K)` and `Y₀'(0) = −λ K s0/(s0 + K)³` (K = 1, λ = ½).
    ///
    /// Bounds in units of the layer's convergence tolerance 1e-12 (`LayerOptions::tol`):
    /// 10 for `η₀`, 100 for the rate; the outer values against the closed forms to
    /// rounding (1e-14). Measured over 40 random starts: at most 1.9e-13, 7.9e-13, 0 and
    /// 5.6e-17.
    #[test]
    fn matching_holds_between_separately_solved_layer_and_outer(
        s0 in 0.3f64..3.0,
        c0 in 0.0f64..1.0,
    ) {
        let sys = user(MICHAELIS_MENTEN, "michaelis-menten");
        let taus: Vec<f64> = (1..=200).map(f64::from).collect();
        let layer = solve_layer(
            &sys,
            &LayerStart { t0: 0.0, x0: vec![s0], y0: vec![c0], first_order: true },
            &taus,
            &LayerOptions::default(),
        )
        .unwrap();
        let outer = solve_reduced(
            &sys,
            &OuterStart { t0: 0.0, x0: vec![s0], y_guess: vec![0.0], x1_0: None },
            &[0.0, 1.0],
            &ReducedOptions::default(),
        )
        .unwrap();
        let (k, lambda) = (1.0, 0.5);
        let c_star = s0 / (s0 + k);
        let slope_star = -lambda * k * s0 / (s0 + k).powi(3);
        let eta0_last = layer.y.last().unwrap()[0];
        let rate = layer.eta1_rate.as_ref().unwrap()[0];
        let (y0_outer, dy0_outer) = (outer.y[0][0], outer.dydt[0][0]);
        eprintln!(
            "({s0}, {c0}): |η₀ − Y₀(0)| {:.1e}, |Y₀(0) − c*| {:.1e}, |dη₁/dτ − Y₀'(0)| {:.1e}, \
             |Y₀'(0) − closed form| {:.1e}",
            (eta0_last - y0_outer).abs(),
            (y0_outer - c_star).abs(),
            (rate - dy0_outer).abs(),
            (dy0_outer - slope_star).abs()
        );
        let tau_last = layer.tau.last().unwrap();
        prop_assert!(
            (eta0_last - y0_outer).abs() < 1e-11,
            "η₀(τ = {tau_last}) = {eta0_last} vs Y₀(0) = {y0_outer}"
        );
        prop_assert!((y0_outer - c_star).abs() < 1e-14, "Y₀(0) = {y0_outer} vs {c_star}");
        prop_assert!((eta0_last - c_star).abs() < 1e-11, "η₀ = {eta0_last} vs {c_star}");
        prop_assert!(
            (rate - dy0_outer).abs() < 1e-10,
            "dη₁/dτ = {rate} vs Y₀'(0) = {dy0_outer}"
        );
        prop_assert!(
            (dy0_outer - slope_star).abs() < 1e-14,
            "Y₀'(0) = {dy0_outer} vs {slope_star}"
        );
    }
}
