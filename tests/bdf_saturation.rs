//! BDF near saturation: on `data/scenarios/relu_normal.toml` with N = 32 and ε = 1e-7 some
//! overlaps run into `|s| = 1`, where BDF's predictor used to carry them past 1 (to 1 + 3.2e-6
//! at rtol 1e-9, then the invariant check stopped the run; with the check loosened the
//! overshoot grew). With the flow's domain `|s| ≤ 1` enforced by step rejection
//! (`Linearization::enforce_domain`), the run completes inside the domain and agrees with RODAS4
//! at the same tolerance.

use timescales::meanfield::{FlowRun, Method, simulate};
use timescales::scenario::Scenario;

fn run(method: Method) -> FlowRun {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/scenarios/relu_normal.toml"
    );
    let scenario = Scenario::from_path(std::path::Path::new(path))
        .and_then(|s| s.with_particles(32))
        .and_then(|s| s.with_epsilon(1e-7))
        .expect("the scenario resolves");
    let mut problem = scenario.problem;
    problem.method = method;
    assert_eq!((problem.rtol, problem.atol), (1e-9, 1e-11));
    simulate(&problem).unwrap_or_else(|e| panic!("{method:?}: {e}"))
}

#[test]
fn bdf_stays_inside_the_overlap_domain_near_saturation() {
    let (bdf, rodas) = (run(Method::Bdf), run(Method::Rodas4));
    let max_s = |r: &FlowRun| {
        r.trajectory
            .column("max_abs_s")
            .unwrap()
            .iter()
            .fold(0.0f64, |m, v| m.max(*v))
    };
    // Some particles do saturate (otherwise this test would not test anything).
    assert!(max_s(&rodas) > 1.0 - 1e-6, "max |s| = {}", max_s(&rodas));
    assert!(max_s(&bdf) <= 1.0, "max |s| = {}", max_s(&bdf));
    assert!(bdf.final_s.iter().all(|s| s.abs() <= 1.0));
    // The domain rejections are counted as such, and with the other rejected steps.
    let st = bdf.stats;
    assert!(st.domain_failures > 0, "{st:?}");
    assert_eq!(
        st.error_test_failures
            + st.convergence_failures
            + st.non_finite_failures
            + st.domain_failures,
        st.rejected_steps
    );
    let (rb, rr) = (
        bdf.trajectory.column("risk").unwrap(),
        rodas.trajectory.column("risk").unwrap(),
    );
    let diff = rb
        .iter()
        .zip(rr)
        .map(|(b, r)| ((b - r) / r).abs())
        .fold(0.0, f64::max);
    println!("BDF vs RODAS4: max relative risk difference {diff:e}");
    assert!(diff < 1e-3, "{diff:e}");
}
