//! `run_user_system` (what `timescales run FILE.toml` does for a file with a `[system]`
//! table), called directly: the CLI module is compiled into this test.

#[allow(dead_code)]
#[path = "../src/cli/matching.rs"]
mod matching;

/// The issue's example file.
const EXAMPLE: &str = r#"
[system]
slow = { x = "y" }                      # x' = …
fast = { y = "(1 - x^2)*y - x" }        # ε y' = …  (right-hand side given without the ε)
parameters = { }                        # named constants usable in the expressions
initial = { x = 2.0, y = 0.0 }
[run]
epsilon = 1e-6
t_end = 2.0
rtol = 1e-10
atol = 1e-12
times = [0.5, 1.0, 2.0]
"#;

fn rows(path: &std::path::Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

#[test]
fn writes_the_trajectory_with_variable_names_and_the_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("example.toml");
    std::fs::write(&path, EXAMPLE).unwrap();
    let out = dir.path().join("out");
    matching::run_user_system(&path, &out, None).unwrap();
    let t = rows(&out.join("trajectory.csv"));
    assert_eq!(t[0], ["t", "x", "y"]);
    let times: Vec<f64> = t[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(times, [0.5, 1.0, 2.0]);
    // At ε = 1e-6 the state at t = 0.5 sits on the attracting branch y = x/(1 − x²)
    // (|x| > 1) up to O(ε).
    let (x, y): (f64, f64) = (t[1][1].parse().unwrap(), t[1][2].parse().unwrap());
    assert!(
        x > 1.0 && (y - x / (1.0 - x * x)).abs() < 1e-4,
        "x = {x}, y = {y}"
    );
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["epsilon"], 1e-6);
    assert_eq!(record["slow"][0], "x");
    assert_eq!(record["fast"][0], "y");
    // --epsilon overrides [run] epsilon.
    matching::run_user_system(&path, &out, Some(1e-3)).unwrap();
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(record["epsilon"], 1e-3);
}

#[test]
fn errors_name_the_file_and_the_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        EXAMPLE.replace("(1 - x^2)*y - x", "(1 - x^2)*y -* x"),
    )
    .unwrap();
    let e = matching::run_user_system(&path, dir.path(), None).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("line 4, column 28"), "{msg}");
    assert!(msg.contains("left operand"), "{msg}");
    let no_eps = EXAMPLE.replace("epsilon = 1e-6\n", "");
    std::fs::write(&path, no_eps).unwrap();
    let e = matching::run_user_system(&path, dir.path(), None).unwrap_err();
    assert!(e.to_string().contains("no [run] epsilon"), "{e}");
}
