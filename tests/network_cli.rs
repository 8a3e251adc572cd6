//! End to end: `timescales network` writes the comparison table, the plot and, for lists
//! of sizes, the convergence table.

use std::process::Command;

fn public_scenario() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/scenarios/public.toml")
}

#[test]
fn network_subcommand_writes_curve_and_convergence_tables() {
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single");
    let status = Command::new(env!("CARGO_BIN_EXE_timescales"))
        .args(["network", public_scenario().to_str().unwrap()])
        .args(["--epsilon", "0.1", "--d", "8", "--m", "8", "--seed", "3"])
        .arg("--out")
        .arg(&single)
        .status()
        .unwrap();
    assert!(status.success());
    let csv = std::fs::read_to_string(single.join("network.csv")).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "t,risk_network,risk_limit,max_abs_overlap"
    );
    let rows: Vec<Vec<f64>> = lines
        .map(|l| l.split(',').map(|v| v.parse().unwrap()).collect())
        .collect();
    assert!(rows.len() > 10);
    assert!(
        rows.iter()
            .all(|r| r.len() == 4 && r.iter().all(|v| v.is_finite()))
    );
    assert!(rows.last().unwrap()[1] < rows[0][1], "the network learns");
    assert!(single.join("network.svg").exists());

    let conv = dir.path().join("conv");
    let status = Command::new(env!("CARGO_BIN_EXE_timescales"))
        .args(["network", public_scenario().to_str().unwrap()])
        .args(["--epsilon", "0.1", "--d", "8,16", "--m", "8"])
        .args(["--sgd", "--batch", "64", "--lr", "0.01"])
        .arg("--out")
        .arg(&conv)
        .status()
        .unwrap();
    assert!(status.success());
    let table = std::fs::read_to_string(conv.join("convergence.csv")).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0], "d,m,sup_distance,t1_network,t1_limit");
    assert!(lines[1].starts_with("8,8,") && lines[2].starts_with("16,8,"));
    // Mismatched lists are an error, not a panic.
    let status = Command::new(env!("CARGO_BIN_EXE_timescales"))
        .args(["network", "--d", "8,16,32", "--m", "8,16", "--out"])
        .arg(dir.path().join("bad"))
        .status()
        .unwrap();
    assert!(!status.success());
}

/// `timescales network` uses rayon's global pool, whose size `RAYON_NUM_THREADS` sets: the
/// written curve is the same, byte for byte, with 1 and 2 threads, for the population flow
/// (d = m = 130: two full column blocks of 64 and a partial one) and for SGD (a batch of
/// 150: two full sample blocks of 64 and a partial one).
#[test]
fn network_output_is_identical_with_1_and_2_threads() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [&[&str]; 2] = [
        &["--d", "130", "--m", "130"],
        &[
            "--d", "70", "--m", "130", "--sgd", "--batch", "150", "--lr", "5e-3",
        ],
    ];
    for (k, args) in cases.iter().enumerate() {
        let csv: Vec<Vec<u8>> = [1, 2]
            .iter()
            .map(|threads| {
                let out = dir.path().join(format!("case{k}_threads{threads}"));
                let run = Command::new(env!("CARGO_BIN_EXE_timescales"))
                    .env("RAYON_NUM_THREADS", threads.to_string())
                    .args(["network", public_scenario().to_str().unwrap()])
                    .args(["--epsilon", "0.1", "--seed", "3"])
                    .args(*args)
                    .arg("--out")
                    .arg(&out)
                    .output()
                    .unwrap();
                assert!(
                    run.status.success(),
                    "{args:?} with {threads} thread(s): {}",
                    String::from_utf8_lossy(&run.stderr)
                );
                std::fs::read(out.join("network.csv")).unwrap()
            })
            .collect();
        assert!(csv[0].len() > 100, "{args:?}: empty table");
        assert!(
            csv[0] == csv[1],
            "{args:?}: network.csv differs between 1 and 2 threads"
        );
    }
}
