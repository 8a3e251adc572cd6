//! Property tests of the scenario parser with a bounded budget: arbitrary and mutated TOML
//! text never panics; random structured scenarios (degenerate values included) resolve or fail
//! with an error naming a scenario key; a valid scenario with exactly one invalid value fails
//! naming that value's key.

use proptest::prelude::*;
use timescales_hermite::Activation;
use timescales_scenario::{
    FunctionTable, InitTable, RunTable, Scenario, ScenarioError, ScenarioFile, TomlFile, read_toml,
};

/// A valid scenario (`tests/base.toml`) that the tests edit.
const BASE: &str = include_str!("base.toml");

/// The scenario keys an `Invalid` or `Expansion` error may name.
const KEYS: &[&str] = &[
    "activation",
    "target",
    "init.",
    "run.",
    "sweep.",
    "scenario",
];

/// The key an error names (`None` for syntax and I/O errors, which quote the parser).
fn key_of(e: &ScenarioError) -> Option<&str> {
    match e {
        ScenarioError::Invalid { key, .. } | ScenarioError::Expansion { key, .. } => Some(key),
        _ => None,
    }
}

/// Every error names where: a known key (in its message too) or the parser's position.
fn check_error(e: &ScenarioError) -> Result<(), TestCaseError> {
    let msg = e.to_string();
    match key_of(e) {
        Some(key) => {
            prop_assert!(
                KEYS.iter().any(|k| key.starts_with(k)),
                "unknown key {key}: {msg}"
            );
            prop_assert!(msg.contains(key), "message does not name {key}: {msg}");
        }
        None => prop_assert!(!msg.trim().is_empty()),
    }
    Ok(())
}

/// A resolved scenario is runnable: its problem validates and its numbers are finite.
fn check_resolved(s: &Scenario) -> Result<(), TestCaseError> {
    prop_assert!(s.problem.validate().is_ok(), "{:?}", s.problem.validate());
    prop_assert!(s.degree <= timescales_hermite::MAX_DEGREE);
    prop_assert_eq!(s.problem.sigma.len(), s.degree + 1);
    prop_assert_eq!(s.problem.phi.len(), s.degree + 1);
    prop_assert!(s.plateau_levels.iter().all(|r| r.is_finite() && *r >= 0.0));
    prop_assert!(!s.problem.output_times().is_empty());
    Ok(())
}

/// The lines of the text `chars`.
fn split_lines(chars: &[char]) -> Vec<String> {
    chars
        .iter()
        .collect::<String>()
        .lines()
        .map(str::to_string)
        .collect()
}

/// `BASE` edited at random: characters inserted, deleted or replaced, lines dropped or
/// repeated.
fn mutated() -> impl Strategy<Value = String> {
    let edit = (
        0usize..4,
        any::<prop::sample::Index>(),
        prop_oneof![
            any::<char>(),
            prop::sample::select(vec!['[', ']', '=', '"', '\n', '.', '-', '0', '#', ','])
        ],
    );
    prop::collection::vec(edit, 1..6).prop_map(|edits| {
        let mut lines: Vec<String> = BASE.lines().map(str::to_string).collect();
        for (kind, at, c) in edits {
            let text = lines.join("\n");
            let chars: Vec<char> = text.chars().collect();
            let i = at.index(chars.len().max(1));
            match kind {
                0 => {
                    let mut v = chars.clone();
                    v.insert(i.min(v.len()), c);
                    lines = split_lines(&v);
                }
                1 if !chars.is_empty() => {
                    let mut v = chars.clone();
                    let j = i.min(v.len() - 1);
                    v[j] = c;
                    lines = split_lines(&v);
                }
                2 if !lines.is_empty() => {
                    let j = at.index(lines.len());
                    lines.remove(j);
                }
                _ if !lines.is_empty() => {
                    let j = at.index(lines.len());
                    let l = lines[j].clone();
                    lines.insert(j, l);
                }
                _ => {}
            }
        }
        lines.join("\n")
    })
}

/// A float, degenerate values included.
fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        9 => -3.0..3.0f64,
        1 => prop::sample::select(vec![
            0.0, -0.0, 1.0, -1.0, 1e-300, 1e300, f64::MIN_POSITIVE, f64::MAX,
            f64::INFINITY, f64::NEG_INFINITY, f64::NAN,
        ]),
    ]
}

fn coeffs() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![2 => Just(0.0), 6 => -2.0..2.0f64, 1 => float()],
        0..7,
    )
}

fn names() -> Vec<String> {
    Activation::all()
        .iter()
        .map(|a| a.name().to_string())
        .collect()
}

/// A name: usually valid, sometimes unknown, empty or oddly cased.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(names()),
        1 => prop::sample::select(vec!["swish".to_string(), String::new(), " ReLU ".to_string()]),
    ]
}

/// An `[activation]` / `[target]` table: usually one form, sometimes none or two.
fn function_table() -> impl Strategy<Value = FunctionTable> {
    (
        0usize..12,
        coeffs(),
        name(),
        prop::option::of(prop_oneof![6 => -2.0..2.0f64, 1 => float()]),
        prop::option::of(prop_oneof![6 => 0.2..3.0f64, 1 => float()]),
        prop::option::of(prop_oneof![12 => 0usize..9, 1 => Just(1025usize)]),
    )
        .prop_map(|(form, list, name, shift, scale, degree)| {
            let mut t = FunctionTable::default();
            match form {
                0..=4 => t.hermite = Some(list),
                5..=6 => t.polynomial = Some(list),
                7..=9 => {
                    t.name = Some(name);
                    t.shift = shift;
                    t.scale = scale;
                    t.degree = degree;
                }
                10 => {} // none
                _ => {
                    t.hermite = Some(list);
                    t.name = Some(name); // two forms
                }
            }
            t
        })
}

fn init_table() -> impl Strategy<Value = InitTable> {
    (
        prop_oneof![
            9 => prop::sample::select(vec!["uniform", "normal", "discrete"]),
            1 => Just("cauchy"),
        ],
        (float(), float(), float(), float()),
        prop::option::of(prop::collection::vec(float(), 0..4)),
        prop::option::of(prop::collection::vec(
            prop_oneof![6 => 0.0..2.0f64, 1 => float()],
            0..4,
        )),
        prop::option::of(0usize..20),
        prop::option::of(prop_oneof![
            8 => prop::sample::select(vec!["quadrature", "random"]),
            1 => Just("sobol"),
        ]),
        prop::option::of(any::<u64>()),
        prop::array::uniform4(prop::bool::weighted(0.9)),
    )
        .prop_map(
            |(law, (x0, x1, x2, x3), values, weights, particles, placement, seed, keep)| {
                let pick = |b: bool, v: f64| b.then_some(v);
                let mut t = InitTable {
                    law: law.to_string(),
                    particles,
                    placement: placement.map(str::to_string),
                    seed,
                    ..InitTable::default()
                };
                match law {
                    "uniform" => {
                        t.lo = pick(keep[0], x0);
                        t.hi = pick(keep[1], x0 + x1.abs());
                    }
                    "normal" => {
                        t.mean = pick(keep[0], x2);
                        t.std = pick(keep[1], x3);
                    }
                    _ => {
                        t.values = values;
                        t.weights = weights;
                    }
                }
                // Sometimes a key of another law.
                if !keep[2] && !keep[3] {
                    t.mean = Some(x2);
                }
                t
            },
        )
}

fn run_table() -> impl Strategy<Value = RunTable> {
    (
        prop_oneof![6 => (-9.0..0.0f64).prop_map(|e| 10f64.powf(e)), 1 => float()],
        prop_oneof![6 => 1e-3..10.0f64, 1 => float()],
        prop::option::of(prop_oneof![6 => 1e-12..1e-3f64, 1 => float()]),
        prop::option::of(prop_oneof![6 => 1e-14..1e-6f64, 1 => float()]),
        prop_oneof![
            4 => Just(None),
            1 => prop::option::of(prop::collection::vec(prop_oneof![0.0..10.0f64, float()], 0..5)),
        ],
        prop::option::of(0usize..40),
        prop::option::of(prop_oneof![
            8 => prop::sample::select(vec!["rodas4", "bdf", "dopri5", "dop853"]),
            1 => Just("euler"),
        ]),
    )
        .prop_map(
            |(epsilon, t_end, rtol, atol, times, samples, method)| RunTable {
                epsilon,
                t_end,
                rtol,
                atol,
                times,
                samples,
                method: method.map(str::to_string),
            },
        )
}

fn scenario_file() -> impl Strategy<Value = ScenarioFile> {
    (
        function_table(),
        function_table(),
        init_table(),
        run_table(),
    )
        .prop_map(|(activation, target, init, run)| ScenarioFile {
            activation,
            target,
            init,
            run,
            sweep: None,
        })
}

/// A valid scenario: small explicit coefficients (zeros and K = 0 included), a valid law,
/// a short log grid.
fn valid_file() -> impl Strategy<Value = ScenarioFile> {
    let list = || prop::collection::vec(prop_oneof![1 => Just(0.0), 2 => -2.0..2.0f64], 1..5);
    let law = prop_oneof![
        (-2.0..2.0f64, 1e-3..2.0f64).prop_map(|(lo, w)| InitTable {
            law: "uniform".into(),
            lo: Some(lo),
            hi: Some(lo + w),
            particles: Some(4),
            ..InitTable::default()
        }),
        (-1.0..1.0f64, 1e-3..2.0f64, 1usize..6).prop_map(|(mean, std, n)| InitTable {
            law: "normal".into(),
            mean: Some(mean),
            std: Some(std),
            particles: Some(n),
            ..InitTable::default()
        }),
        (0.2..4.0f64, 0.2..4.0f64, 1usize..6).prop_map(|(alpha, beta, n)| InitTable {
            law: "beta".into(),
            alpha: Some(alpha),
            beta: Some(beta),
            lo: Some(-1.0),
            hi: Some(1.0),
            particles: Some(n),
            ..InitTable::default()
        }),
        (-2.0..2.0f64, 1e-3..2.0f64, 1usize..6).prop_map(|(lo, w, n)| InitTable {
            law: "uniform".into(),
            lo: Some(lo),
            hi: Some(lo + w),
            particles: Some(n),
            placement: Some("quantile".into()),
            ..InitTable::default()
        }),
        prop::collection::vec(-2.0..2.0f64, 1..4).prop_map(|values| InitTable {
            law: "discrete".into(),
            values: Some(values),
            ..InitTable::default()
        }),
    ];
    let activation = prop_oneof![
        3 => list().prop_map(|h| FunctionTable {
            hermite: Some(h),
            ..FunctionTable::default()
        }),
        1 => (prop::sample::select(names()), 0usize..6).prop_map(|(n, k)| FunctionTable {
            name: Some(n),
            degree: Some(k),
            ..FunctionTable::default()
        }),
    ];
    let method = prop::option::of(prop::sample::select(vec![
        "rodas4", "bdf", "dopri5", "dop853",
    ]));
    (activation, list(), law, -6.0..-1.0f64, method).prop_map(
        |(activation, phi, init, le, method)| ScenarioFile {
            activation,
            target: FunctionTable {
                hermite: Some(phi),
                ..FunctionTable::default()
            },
            init,
            run: RunTable {
                epsilon: 10f64.powf(le),
                t_end: 1.0,
                samples: Some(10),
                method: method.map(str::to_string),
                ..RunTable::default()
            },
            sweep: None,
        },
    )
}

/// One invalid value put into a valid scenario, and the key its error must name.
fn fault() -> impl Strategy<Value = (usize, f64)> {
    (
        0usize..25,
        prop_oneof![Just(f64::NAN), Just(f64::INFINITY), -5.0..-1e-3f64],
    )
}

fn inject(f: &mut ScenarioFile, which: usize, bad: f64) -> &'static str {
    match which {
        0 => {
            f.run.epsilon = if bad.is_nan() { bad } else { -bad.abs() };
            "run.epsilon"
        }
        1 => {
            f.run.epsilon = 1e-200;
            "run.epsilon"
        }
        2 => {
            f.run.t_end = if bad.is_nan() { bad } else { -bad.abs() };
            "run.t_end"
        }
        3 => {
            f.run.t_end = f.run.epsilon / 20.0;
            "run.t_end"
        }
        4 => {
            f.run.rtol = Some(if bad.is_nan() { bad } else { 1.0 + bad.abs() });
            "run.rtol"
        }
        5 => {
            f.run.atol = Some(-bad.abs());
            "run.atol"
        }
        6 => {
            f.run.samples = Some(1);
            "run.samples"
        }
        7 => {
            f.run.times = Some(vec![0.5, 0.25]);
            "run.times"
        }
        8 => {
            f.run.samples = None;
            f.run.times = Some(vec![bad]);
            "run.times"
        }
        9 => {
            f.run.method = Some("euler".into());
            "run.method"
        }
        10 => {
            f.init.law = "cauchy".into();
            "init.law"
        }
        11 => {
            f.init.particles = Some(0);
            "init.particles"
        }
        12 => {
            f.init.placement = Some("sobol".into());
            "init.placement"
        }
        13 => {
            f.init.placement = None;
            f.init.seed = Some(1);
            "init.seed"
        }
        14 => {
            *f = with_law(f, "discrete");
            f.init.weights = Some(vec![bad; f.init.values.as_ref().map_or(1, Vec::len)]);
            "init.weights"
        }
        15 => {
            *f = with_law(f, "discrete");
            let n = f.init.values.as_ref().map_or(1, Vec::len);
            f.init.particles = Some(n + 1);
            "init.particles"
        }
        16 => {
            *f = with_law(f, "normal");
            f.init.std = Some(if bad.is_nan() { bad } else { -bad.abs() });
            "init.std"
        }
        17 => {
            *f = with_law(f, "uniform");
            f.init.hi = f.init.lo;
            "init.lo/init.hi"
        }
        18 => {
            let list = if bad.is_finite() {
                Vec::new()
            } else {
                vec![1.0, bad]
            };
            f.activation = FunctionTable {
                hermite: Some(list),
                ..FunctionTable::default()
            };
            "activation.hermite"
        }
        19 => {
            f.target.name = Some("relu".into());
            "target"
        }
        20 => {
            f.target.shift = Some(1.0);
            "target.shift"
        }
        21 => {
            *f = with_law(f, "beta");
            f.init.beta = Some(if bad.is_nan() { bad } else { -bad.abs() });
            "init.beta"
        }
        22 => {
            *f = with_law(f, "beta");
            f.init.placement = Some("quadrature".into());
            "init.placement"
        }
        23 => {
            f.sweep = Some(timescales_scenario::SweepTable {
                eps: format!("1e-3:{bad}:5"),
            });
            "sweep.eps"
        }
        _ => {
            f.activation = FunctionTable {
                name: Some("swish".into()),
                ..FunctionTable::default()
            };
            "activation.name"
        }
    }
}

/// `f`'s scenario with a valid `[init]` of the given law.
fn with_law(f: &ScenarioFile, law: &str) -> ScenarioFile {
    let init = match law {
        "discrete" => InitTable {
            law: law.into(),
            values: Some(vec![-0.5, 0.5]),
            ..InitTable::default()
        },
        "beta" => InitTable {
            law: law.into(),
            alpha: Some(0.5),
            beta: Some(2.0),
            lo: Some(-1.0),
            hi: Some(1.0),
            particles: Some(4),
            ..InitTable::default()
        },
        "normal" => InitTable {
            law: law.into(),
            mean: Some(0.0),
            std: Some(1.0),
            particles: Some(4),
            ..InitTable::default()
        },
        _ => InitTable {
            law: law.into(),
            lo: Some(-1.0),
            hi: Some(1.0),
            particles: Some(4),
            ..InitTable::default()
        },
    };
    ScenarioFile { init, ..f.clone() }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in any::<String>()) {
        if let Err(e) = Scenario::from_toml_str(&text, "arbitrary") {
            check_error(&e)?;
        }
    }

    #[test]
    fn mutated_text_resolves_or_names_the_fault(text in mutated()) {
        let direct = Scenario::from_toml_str(&text, "mutated");
        match &direct {
            Ok(s) => check_resolved(s)?,
            Err(e) => check_error(e)?,
        }
        // `read_toml`'s one parse gives what `from_toml_str` gives, errors included.
        match (read_toml(&text, "mutated"), direct) {
            (Ok(TomlFile::Scenario(a)), Ok(b)) => prop_assert_eq!(a.problem, b.problem),
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
            (Ok(TomlFile::System), _) => prop_assert!(text.contains("system"), "{text}"),
            (a, b) => prop_assert!(false, "read_toml {a:?}, from_toml_str {b:?}\n{text}"),
        }
    }

    #[test]
    fn structured_scenarios_resolve_or_name_a_key(file in scenario_file()) {
        match Scenario::resolve(file.clone(), "structured") {
            Ok(s) => {
                check_resolved(&s)?;
                // What resolves also survives a trip through TOML text.
                let text = toml::to_string(&file).unwrap();
                let again = Scenario::from_toml_str(&text, "again");
                prop_assert!(again.is_ok(), "{again:?}\n{text}");
                let read = read_toml(&text, "again");
                prop_assert!(
                    matches!(&read, Ok(TomlFile::Scenario(r)) if r.problem == s.problem),
                    "{read:?}\n{text}"
                );
            }
            Err(e) => check_error(&e)?,
        }
    }

    #[test]
    fn valid_scenarios_resolve(file in valid_file()) {
        let s = Scenario::resolve(file, "valid");
        prop_assert!(s.is_ok(), "{s:?}");
        check_resolved(&s.unwrap())?;
    }

    #[test]
    fn one_invalid_value_is_named(file in valid_file(), (which, bad) in fault()) {
        let mut f = file;
        let key = inject(&mut f, which, bad);
        match Scenario::resolve(f.clone(), "fault") {
            Ok(_) => prop_assert!(false, "accepted a fault in `{key}`: {f:?}"),
            Err(e) => {
                prop_assert_eq!(key_of(&e), Some(key), "{}", e);
                check_error(&e)?;
            }
        }
    }
}
