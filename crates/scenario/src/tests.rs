use super::*;

/// A valid scenario (`tests/base.toml`) that the tests edit.
const BASE: &str = include_str!("../tests/base.toml");

/// `BASE` with `old` replaced by `new` (which must occur).
fn edit(old: &str, new: &str) -> String {
    assert!(BASE.contains(old), "{old}");
    BASE.replacen(old, new, 1)
}

/// The key an error names, whatever its variant.
fn key_of(err: &ScenarioError) -> String {
    match err {
        ScenarioError::Invalid { key, .. } | ScenarioError::Expansion { key, .. } => key.clone(),
        ScenarioError::Syntax { message, .. } => message.clone(),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn base_scenario_resolves() {
    let s = Scenario::from_toml_str(BASE, "base").unwrap();
    assert_eq!(s.degree, 2);
    assert_eq!(s.problem.sigma, vec![1.0, 1.0, 0.5]);
    assert_eq!(s.problem.particles, 16);
    // R_l = ½ Σ_{k>l} φ_k²: 1.0, 0.5, 0.
    assert_eq!(s.plateau_levels, vec![1.0, 0.5, 0.0]);
}

#[test]
fn default_scenario_is_valid_and_uses_closed_form_exp() {
    let s = Scenario::default_scenario();
    assert_eq!(s.degree, 5);
    // σ(x) = exp(x − ½): σ_k = 1/sqrt(k!) (closed form, model.md §2).
    let mut fact = 1.0f64;
    for k in 0..=5 {
        if k > 0 {
            fact *= k as f64;
        }
        assert!((s.problem.sigma[k] - 1.0 / fact.sqrt()).abs() < 1e-14);
    }
    assert_eq!(s.activation.method, "closed form");
}

#[test]
fn shorter_lists_are_padded_and_degree_is_the_longest() {
    let s = Scenario::from_toml_str(
        &edit("hermite = [0.0, 1.0, 1.0]", "hermite = [0.0, 1.0]"),
        "x",
    )
    .unwrap();
    assert_eq!(s.problem.phi, vec![0.0, 1.0, 0.0]);
    let s = Scenario::from_toml_str(
        &edit("hermite = [1.0, 1.0, 0.5]", "name = \"relu\"\ndegree = 4"),
        "x",
    )
    .unwrap();
    assert_eq!(s.degree, 4);
    assert_eq!(s.problem.phi.len(), 5);
    // relu: σ_1 = 1/2 (closed form).
    assert!((s.problem.sigma[1] - 0.5).abs() < 1e-14);
}

#[test]
fn named_target_reports_tail_energy() {
    // φ = tanh at degree 3: the risk floor includes ½ Σ_{k>3} φ_k² = ½(‖φ‖² − Σ_{k≤3} φ_k²) > 0.
    let s = Scenario::from_toml_str(
        &edit("hermite = [0.0, 1.0, 1.0]", "name = \"tanh\"\ndegree = 3"),
        "x",
    )
    .unwrap();
    assert!(s.problem.tail_energy > 0.0);
    assert_eq!(*s.plateau_levels.last().unwrap(), s.problem.tail_energy);
}

#[test]
fn beta_laws_quantile_placement_and_the_sweep_grid() {
    // A beta law takes quantile placement by default; uniform keeps its Gauss rule.
    let s = Scenario::from_toml_str(
        &edit(
            "law = \"uniform\"",
            "law = \"beta\"\nalpha = 0.5\nbeta = 2.0",
        )
        .replacen("placement = \"quadrature\"", "", 1),
        "beta",
    )
    .unwrap();
    assert_eq!(s.problem.placement, Placement::Quantile);
    assert_eq!(
        s.problem.law,
        InitialLaw::Beta {
            alpha: 0.5,
            beta: 2.0,
            lo: -1.0,
            hi: 1.0
        }
    );
    let q = Scenario::from_toml_str(
        &edit("placement = \"quadrature\"", "placement = \"quantile\""),
        "q",
    )
    .unwrap();
    assert_eq!(q.problem.placement, Placement::Quantile);
    let t = Scenario::from_toml_str(
        &edit(
            "law = \"uniform\"\nlo = -1.0\nhi = 1.0",
            "law = \"normal\"\nmean = 0.0\nstd = 0.5",
        )
        .replacen("placement = \"quadrature\"", "placement = \"trapezoid\"", 1),
        "t",
    )
    .unwrap();
    assert_eq!(t.problem.placement, Placement::Trapezoid);
    // The trapezoidal rule belongs to the normal law: the error names the key.
    let err = Scenario::from_toml_str(
        &edit("placement = \"quadrature\"", "placement = \"trapezoid\""),
        "u",
    )
    .unwrap_err();
    assert!(err.to_string().contains("init.placement"), "{err}");
    // The sweep grid: the scenario's own, else the default; the built-in scenario has one.
    assert_eq!(
        Scenario::from_toml_str(BASE, "base").unwrap().sweep_grid(),
        DEFAULT_SWEEP_GRID
    );
    let g = Scenario::from_toml_str(&format!("{BASE}\n[sweep]\neps = \"1e-6:1e-12:7\"\n"), "g")
        .unwrap();
    assert_eq!(g.sweep_grid(), "1e-6:1e-12:7");
    assert_ne!(
        Scenario::default_scenario().sweep_grid(),
        DEFAULT_SWEEP_GRID
    );
}

#[test]
fn every_bad_input_names_its_key() {
    let cases: Vec<(String, &str)> = vec![
        (edit("epsilon = 1e-6", "epsilon = 0.0"), "run.epsilon"),
        (edit("epsilon = 1e-6", "epsilon = -1e-3"), "run.epsilon"),
        (edit("epsilon = 1e-6", "epsilon = nan"), "run.epsilon"),
        (edit("t_end = 3.0", "t_end = -1.0"), "run.t_end"),
        (edit("rtol = 1e-8", "rtol = 0.0"), "run.rtol"),
        (edit("atol = 1e-10", "atol = -1.0"), "run.atol"),
        (edit("samples = 50", "samples = 1"), "run.samples"),
        (edit("samples = 50", "times = [1.0, 0.5]"), "run.times"),
        (
            edit("samples = 50", "samples = 5\ntimes = [1.0]"),
            "run.times",
        ),
        (edit("samples = 50", "times = [1.0, 4.0]"), "run.times"),
        (
            edit("rtol = 1e-8", "rtol = 1e-8\nmethod = \"euler\""),
            "run.method",
        ),
        (edit("law = \"uniform\"", "law = \"cauchy\""), "init.law"),
        (
            edit("law = \"uniform\"", "law = \"beta\"\nalpha = 0.5"),
            "init.beta",
        ),
        (
            edit(
                "law = \"uniform\"",
                "law = \"beta\"\nalpha = 0.0\nbeta = 1.0",
            ),
            "init.alpha",
        ),
        (
            edit(
                "law = \"uniform\"",
                "law = \"beta\"\nalpha = 2.0\nbeta = 2.0",
            ),
            "init.placement",
        ),
        (edit("lo = -1.0", "lo = -1.0\nalpha = 1.0"), "init.alpha"),
        (
            format!("{BASE}\n[sweep]\neps = \"1e-3:1e-9\"\n"),
            "sweep.eps",
        ),
        (
            format!("{BASE}\n[sweep]\neps = \"1e-3:0:4\"\n"),
            "sweep.eps",
        ),
        (edit("lo = -1.0", "lo = 2.0"), "init.lo/init.hi"),
        (edit("lo = -1.0", "lo = -1.0\nstd = 1.0"), "init.std"),
        (
            edit("placement = \"quadrature\"", "placement = \"sobol\""),
            "init.placement",
        ),
        (edit("placement = \"quadrature\"", "seed = 3"), "init.seed"),
        (edit("particles = 16", "particles = 0"), "init.particles"),
        (
            edit("hermite = [1.0, 1.0, 0.5]", "name = \"swish\""),
            "activation.name",
        ),
        (
            edit(
                "hermite = [1.0, 1.0, 0.5]",
                "hermite = [1.0, 1.0, 0.5]\nname = \"relu\"",
            ),
            "activation",
        ),
        (
            edit(
                "hermite = [1.0, 1.0, 0.5]",
                "hermite = [1.0, 1.0, 0.5]\nshift = 1.0",
            ),
            "activation.shift",
        ),
        (
            edit("hermite = [1.0, 1.0, 0.5]", "hermite = [1.0, nan]"),
            "activation.hermite",
        ),
        (
            edit("hermite = [1.0, 1.0, 0.5]", "hermite = []"),
            "activation.hermite",
        ),
        (
            edit("hermite = [0.0, 1.0, 1.0]", "name = \"tanh\"\nscale = inf"),
            "target.scale",
        ),
        (
            edit("hermite = [0.0, 1.0, 1.0]", "polynomial = [inf]"),
            "target.polynomial",
        ),
    ];
    for (text, key) in cases {
        match Scenario::from_toml_str(&text, "case") {
            Ok(_) => panic!("accepted a bad scenario that should fail on `{key}`:\n{text}"),
            Err(e) => {
                assert_eq!(key_of(&e), key, "{e}");
                assert!(e.to_string().contains(key), "message names the key: {e}");
            }
        }
    }
}

#[test]
fn unknown_keys_and_wrong_types_are_named() {
    for (text, needle) in [
        (edit("t_end = 3.0", "t_end = 3.0\nt_stop = 4.0"), "t_stop"),
        (edit("lo = -1.0", "lo = -1.0\nlow = 0.0"), "low"),
        (edit("epsilon = 1e-6", "epsilon = \"small\""), "epsilon"),
        (format!("{BASE}\n[extra]\nx = 1"), "extra"),
        (BASE.replace("[run]", "[runs]"), "runs"),
    ] {
        match Scenario::from_toml_str(&text, "case") {
            Err(e @ ScenarioError::Syntax { .. }) => assert!(e.to_string().contains(needle), "{e}"),
            other => panic!("expected a syntax error naming {needle}, got {other:?}"),
        }
    }
}

#[test]
fn missing_file_is_an_io_error_with_the_path() {
    let e = Scenario::from_path(Path::new("/nonexistent/scenario.toml")).unwrap_err();
    assert!(matches!(e, ScenarioError::Io { .. }));
    assert!(e.to_string().contains("/nonexistent/scenario.toml"));
}

#[test]
fn overrides_re_resolve_and_validate() {
    let s = Scenario::from_toml_str(BASE, "base").unwrap();
    assert_eq!(s.with_epsilon(1e-3).unwrap().problem.epsilon, 1e-3);
    assert_eq!(s.with_particles(5).unwrap().problem.particles, 5);
    assert_eq!(key_of(&s.with_epsilon(-1.0).unwrap_err()), "run.epsilon");
    assert_eq!(key_of(&s.with_particles(0).unwrap_err()), "init.particles");
}

#[test]
fn system_files_are_recognized() {
    let system = read_toml("[system]\nslow = { x = \"y\" }\n", "s").unwrap();
    assert!(matches!(system, TomlFile::System));
    let TomlFile::Scenario(s) = read_toml(BASE, "base").unwrap() else {
        panic!("BASE is a scenario")
    };
    assert_eq!(
        s.problem,
        Scenario::from_toml_str(BASE, "base").unwrap().problem
    );
    // A file that is not TOML is a scenario's syntax error, as from `from_toml_str`.
    let broken = "[system\nslow = 1";
    assert_eq!(
        read_toml(broken, "b").unwrap_err().to_string(),
        Scenario::from_toml_str(broken, "b")
            .unwrap_err()
            .to_string()
    );
}

#[test]
fn scenario_round_trips_through_toml() {
    let s = Scenario::from_toml_str(BASE, "base").unwrap();
    let text = toml::to_string(&s.file).unwrap();
    let again = Scenario::from_toml_str(&text, "again").unwrap();
    assert_eq!(again.problem, s.problem);
}
