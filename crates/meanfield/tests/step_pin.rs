//! The step sequence and the numbers of the direct integrations, pinned: what the work on a
//! faster step (issue 17) must not move. The values below were produced by the integrators
//! of commit `2ca18f8` (before that work), except BDF's, re-pinned when BDF began to evaluate
//! the Jacobian again at the first Newton iterate before it halves a step (issue 16; a
//! deliberate change of the step sequence: N = 64 took 1468 steps with 114 rejections
//! before, 1332 with 74 after; the pinned numbers moved by at most 5e-8 relative, inside
//! BDF's error, whose largest relative risk error against RODAS4 at rtol 1e-11 went from
//! 1.92e-6 to 1.86e-6). Every work counter must match exactly and every number to rounding
//! (relative `1e-11`), for BDF and RODAS4, at a size inside one parallel chunk (N = 64) and
//! at one spanning three chunks with a partial SIMD block (N = 10 001).
//! The second test checks that the result is the same bits with one and with two threads.
//!
//! `TIMESCALES_PIN_PRINT=1 cargo test --test step_pin -- --nocapture` prints the values in
//! the form of the table below.

use timescales_meanfield::{FlowProblem, FlowRun, Method, OutputTimes, simulate};

/// One pinned case: method, particles, end time.
struct Case {
    method: Method,
    particles: usize,
    t_end: f64,
    /// `steps, rejected, rhs, jacobians, factorizations, solves`.
    work: [usize; 6],
    /// The risk at the output times `t_end · 10^{−j}`, `j = 4..0`.
    risk: [f64; 5],
    /// `Σ_i s_i`, `Σ_i a_i`, `s_0`, `a_0`, `s_{N−1}`, `a_{N−1}` at `t_end`.
    state: [f64; 6],
}

fn problem(method: Method, particles: usize, t_end: f64) -> FlowProblem {
    FlowProblem {
        particles,
        t_end,
        method,
        times: OutputTimes::Explicit((0..5).rev().map(|j| t_end * 10f64.powi(-j)).collect()),
        ..FlowProblem::public(1e-8)
    }
}

fn summary(run: &FlowRun) -> ([usize; 6], [f64; 5], [f64; 6]) {
    let s = run.stats;
    let work = [
        s.steps,
        s.rejected_steps,
        s.rhs_evals,
        s.jacobian_evals,
        s.factorizations,
        s.linear_solves,
    ];
    let risk_col = &run.trajectory.columns[0];
    let risk: [f64; 5] = std::array::from_fn(|j| risk_col[j]);
    let (fs, fa) = (&run.final_s, &run.final_a);
    let n = fs.len();
    let state = [
        fs.iter().sum(),
        fa.iter().sum(),
        fs[0],
        fa[0],
        fs[n - 1],
        fa[n - 1],
    ];
    (work, risk, state)
}

const CASES: &[Case] = &[
    Case {
        method: Method::Bdf,
        particles: 64,
        t_end: 3e0,
        work: [1332, 74, 4539, 451, 653, 4537],
        risk: [
            1.4966549133302296,
            0.989467276530842,
            0.11195027732409389,
            0.0010634316362406822,
            0.0004924836833789149,
        ],
        state: [
            -1.9255215045539003,
            5953.971352308843,
            0.006444327387193081,
            -316.6379191146636,
            0.36842438921087783,
            28661.422694169727,
        ],
    },
    Case {
        method: Method::Rodas4,
        particles: 64,
        t_end: 1e-1,
        work: [2980, 47, 18163, 2980, 3027, 18162],
        risk: [
            1.4999966444112771,
            1.4999395570387195,
            0.9981387223191499,
            0.15245558869051357,
            0.07532473808472404,
        ],
        state: [
            1.5738755077256847,
            -137.57451465515078,
            -0.0032444029291369275,
            -60.199249084067155,
            0.6478333151612327,
            10799.468628277687,
        ],
    },
    Case {
        method: Method::Bdf,
        particles: 10001,
        t_end: 1e-2,
        work: [740, 21, 2134, 23, 144, 2132],
        risk: [
            1.4999996666438047,
            1.4999966443474557,
            1.4999395567705542,
            0.9981387213430113,
            0.14510949354736974,
        ],
        state: [
            385.2770223989923,
            465128.7737188851,
            0.024634438716015665,
            -192.22709903311363,
            0.9669453506449142,
            7454.865111685308,
        ],
    },
    Case {
        method: Method::Rodas4,
        particles: 10001,
        t_end: 1e-4,
        work: [31, 1, 193, 31, 32, 192],
        risk: [
            1.4999999966666666,
            1.4999999666666457,
            1.4999996666445552,
            1.4999966444112767,
            1.4999395570387188,
        ],
        state: [
            5.114924996599774e-5,
            0.10034313707125375,
            -0.00011750587230282975,
            -1.543013425820559,
            0.00011752725751256246,
            1.5430936652787461,
        ],
    },
];

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-11 * a.abs().max(b.abs()) + 1e-300
}

#[test]
fn step_sequence_and_numbers_are_pinned() {
    let print = std::env::var_os("TIMESCALES_PIN_PRINT").is_some();
    let plan: Vec<(Method, usize, f64)> = vec![
        (Method::Bdf, 64, 3.0),
        (Method::Rodas4, 64, 0.1),
        (Method::Bdf, 10_001, 0.01),
        (Method::Rodas4, 10_001, 1e-4),
    ];
    assert!(
        print || CASES.len() == plan.len(),
        "every planned case is pinned"
    );
    for (i, &(method, particles, t_end)) in plan.iter().enumerate() {
        let run = simulate(&problem(method, particles, t_end)).expect("the pinned case runs");
        let (work, risk, state) = summary(&run);
        if print {
            println!(
                "Case {{ method: Method::{method:?}, particles: {particles}, t_end: {t_end:e}, \
                 work: {work:?}, risk: {risk:?}, state: {state:?} }},"
            );
            continue;
        }
        let case = &CASES[i];
        assert_eq!(
            (case.method, case.particles, case.t_end),
            (method, particles, t_end)
        );
        assert_eq!(work, case.work, "{method:?} N = {particles}: work counters");
        for (got, want) in risk.iter().zip(&case.risk) {
            assert!(
                close(*got, *want),
                "{method:?} N = {particles}: risk {got:e} vs {want:e}"
            );
        }
        for (got, want) in state.iter().zip(&case.state) {
            assert!(
                close(*got, *want),
                "{method:?} N = {particles}: state {got:e} vs {want:e}"
            );
        }
    }
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    for (method, t_end) in [(Method::Bdf, 1e-3), (Method::Rodas4, 1e-5)] {
        // Sixteen chunks of particles, so that two threads really split the work.
        let p = problem(method, 16 * 4096 + 3, t_end);
        let run_with = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool")
                .install(|| simulate(&p).expect("the case runs"))
        };
        let (one, two) = (run_with(1), run_with(2));
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(one.stats.steps, two.stats.steps);
        assert_eq!(bits(&one.final_s), bits(&two.final_s), "{method:?}: s");
        assert_eq!(bits(&one.final_a), bits(&two.final_a), "{method:?}: a");
        assert_eq!(
            bits(&one.trajectory.columns[0]),
            bits(&two.trajectory.columns[0])
        );
    }
}
