//! End to end: `timescales analyze` on training logs as a user has them — a TensorBoard
//! export, a long CSV with runs and a parameter, the same data as Parquet, a wide table —
//! writes its tables as one set closed by `analyze.json` (input checksums, files' checksums),
//! finds the drops where the closed form puts them, and refuses bad input naming the column
//! and the row.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn analyze(args: &[&str], input: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timescales"))
        .arg("analyze")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(args)
        .output()
        .unwrap()
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

/// A loss that falls from 1 to 0.2 around `t_drop` (`L = 0.2 + 0.8/(1 + (t/t_drop)⁴)`,
/// crossing the midpoint 0.6 exactly at `t_drop`), times `1 + 0.05 u` with `u` uniform on
/// [−√3, √3] (unit variance) from a fixed xorshift stream.
fn loss(t: f64, t_drop: f64, state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    let u = (*state >> 11) as f64 / (1u64 << 53) as f64;
    let noise = 3f64.sqrt() * (2.0 * u - 1.0);
    (0.2 + 0.8 / (1.0 + (t / t_drop).powi(4))) * (1.0 + 0.05 * noise)
}

const WIDTHS: [f64; 3] = [16.0, 64.0, 256.0];

fn t_drop(width: f64) -> f64 {
    30.0 * width.sqrt()
}

/// `step, loss, width, seed` for two seeds per width, 8000 steps each.
fn long_rows() -> Vec<(f64, f64, f64, &'static str)> {
    let mut state = 0x2545_F491_4F6C_DD1D;
    let mut rows = Vec::new();
    for w in WIDTHS {
        for seed in ["s0", "s1"] {
            for s in 1..=8000 {
                let t = f64::from(s);
                rows.push((t, loss(t, t_drop(w), &mut state), w, seed));
            }
        }
    }
    rows
}

fn write_long_csv(path: &Path) {
    let mut text = String::from("step,loss,width,seed\n");
    for (s, l, w, seed) in long_rows() {
        text.push_str(&format!("{s},{l},{w},{seed}\n"));
    }
    std::fs::write(path, text).unwrap();
}

fn rows_of(csv: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(csv)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect()
}

fn sha256sum(p: &Path) -> Option<String> {
    let out = Command::new("sha256sum").arg(p).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    Some(text.split_whitespace().next()?.to_string())
}

#[test]
fn long_csv_with_runs_and_a_parameter() {
    let tmp = tempfile::tempdir().unwrap();
    let input = tmp.path().join("runs.csv");
    write_long_csv(&input);
    let out = tmp.path().join("out");
    let o = analyze(&["--by", "width", "--run", "seed"], &input, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let phases = std::fs::read_to_string(out.join("phases.csv")).unwrap();
    assert!(
        phases
            .starts_with("curve,width,drop,level_before,level_after,t_start,t_mid,t_end,merged\n")
    );
    let rows = rows_of(&out.join("phases.csv"));
    assert_eq!(rows.len(), 6, "{phases}");
    for r in &rows {
        let (w, t_mid): (f64, f64) = (r[1].parse().unwrap(), r[6].parse().unwrap());
        assert!((t_mid / t_drop(w) - 1.0).abs() < 0.05, "{r:?}");
        assert_eq!(r[8], "false");
    }
    let exponents = std::fs::read_to_string(out.join("exponents.csv")).unwrap();
    assert!(exponents.starts_with("drop,quantity,law,gamma,ci_low,ci_high,n_points,status\n"));
    let t_mid = rows_of(&out.join("exponents.csv"))
        .into_iter()
        .find(|r| r[1] == "t_mid" && r[2] == "power_law")
        .unwrap();
    let gamma: f64 = t_mid[3].parse().unwrap();
    assert!((gamma - 0.5).abs() < 0.05, "{t_mid:?}");
    assert_eq!((t_mid[6].as_str(), t_mid[7].as_str()), ("6", "ok"));
    let plateaus = std::fs::read_to_string(out.join("plateaus.csv")).unwrap();
    assert!(
        plateaus.starts_with(
            "curve,width,level,level_ci_low,level_ci_high,t_entry,t_exit,length_log\n"
        )
    );

    // One set, closed by the manifest: every file checksummed (sha256sum agrees), the input
    // with its checksum, the column spec and the options.
    let m = json(&out.join("analyze.json"));
    let files: Vec<&str> = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    for name in [
        "plateaus.csv",
        "phases.csv",
        "exponents.csv",
        "table.md",
        "curves.svg",
        "drop_times.svg",
    ] {
        assert!(files.contains(&name), "{name} not in {files:?}");
    }
    for f in m["files"].as_array().unwrap() {
        if let Some(sum) = sha256sum(&out.join(f["name"].as_str().unwrap())) {
            assert_eq!(f["sha256"].as_str().unwrap(), sum);
        }
    }
    if let Some(sum) = sha256sum(&input) {
        assert_eq!(m["inputs"][0]["sha256"].as_str().unwrap(), sum);
    }
    assert_eq!(m["spec"]["by"], "width");
    assert_eq!(m["columns"]["layout"], "long");
    assert_eq!(m["options"]["level"], 0.95);
    assert!(m["version"].is_string() && m["commit"].is_string());
    let md = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(
        md.contains("| t_mid") && md.contains("parameter `width`"),
        "{md}"
    );

    // The same data as Parquet: the same tables, byte for byte.
    let pq = tmp.path().join("runs.parquet");
    let rows = long_rows();
    let table = timescales::report::Table::new()
        .f64("step", rows.iter().map(|r| r.0).collect::<Vec<_>>())
        .f64("loss", rows.iter().map(|r| r.1).collect::<Vec<_>>())
        .f64("width", rows.iter().map(|r| r.2).collect::<Vec<_>>())
        .str("seed", rows.iter().map(|r| r.3));
    timescales::report::write_parquet(&table, &pq, &[]).unwrap();
    let out_pq = tmp.path().join("out_pq");
    let o = analyze(&["--by", "width", "--run", "seed"], &pq, &out_pq);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for name in ["phases.csv", "plateaus.csv", "exponents.csv"] {
        assert_eq!(
            std::fs::read(out.join(name)).unwrap(),
            std::fs::read(out_pq.join(name)).unwrap(),
            "{name}"
        );
    }
}

#[test]
fn tensorboard_and_wide_exports_as_they_are() {
    let tmp = tempfile::tempdir().unwrap();
    let mut state = 88172645463325252u64;
    let mut tb = String::from("Wall time,Step,Value\n");
    let mut wide = String::from("Step,width=16 - loss,width=16 - loss__MIN,width=256 - loss\n");
    for s in 1..=6000 {
        let t = f64::from(s);
        let (a, b) = (
            loss(t, t_drop(16.0), &mut state),
            loss(t, t_drop(256.0), &mut state),
        );
        tb.push_str(&format!("{},{s},{a}\n", 1.7e9 + t));
        // W&B leaves cells empty where a run logged nothing.
        let b = if s % 10 == 0 {
            String::new()
        } else {
            b.to_string()
        };
        wide.push_str(&format!("{s},{a},{a},{b}\n"));
    }
    let tb_path = tmp.path().join("run-tag-loss.csv");
    std::fs::write(&tb_path, tb).unwrap();
    let out = tmp.path().join("tb");
    let o = analyze(&[], &tb_path, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = rows_of(&out.join("phases.csv"));
    assert_eq!(rows.len(), 1);
    let t_mid: f64 = rows[0][5].parse().unwrap();
    assert!((t_mid / t_drop(16.0) - 1.0).abs() < 0.05, "{rows:?}");
    assert!(!out.join("drop_times.svg").exists());

    let wide_path = tmp.path().join("wandb.csv");
    std::fs::write(&wide_path, wide).unwrap();
    let out = tmp.path().join("wide");
    let o = analyze(&["--by", "width"], &wide_path, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = rows_of(&out.join("phases.csv"));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[1][0], "width=256 - loss");
    let t_mid: f64 = rows[1][6].parse().unwrap();
    assert!((t_mid / t_drop(256.0) - 1.0).abs() < 0.05, "{rows:?}");
    let m = json(&out.join("analyze.json"));
    assert_eq!(m["columns"]["layout"], "wide");
    assert_eq!(m["curves"][1]["counts"]["non_finite_loss"], 600);
}

#[test]
fn bad_input_names_the_column_and_row() {
    let tmp = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| -> PathBuf {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let fails = |args: &[&str], input: &Path, needles: &[&str]| {
        let out = tmp.path().join("bad");
        let o = analyze(args, input, &out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{err}");
        for n in needles {
            assert!(err.contains(n), "{n:?} not in {err}");
        }
        assert!(!out.join("analyze.json").exists());
    };
    let good = write("good.csv", "step,loss\n1,1.0\n2,0.9\n3,0.8\n");
    fails(
        &["--loss", "val_loss"],
        &good,
        &["`val_loss`", "no such column"],
    );
    fails(&["--by", "width"], &good, &["`width`"]);
    let text = write("text.csv", "step,loss\n1,1.0\n2,abc\n3,0.8\n");
    fails(&[], &text, &["`loss`", "row 2", "abc"]);
    let ragged = write("ragged.csv", "step,loss\n1,1.0\n2\n");
    fails(&[], &ragged, &["line 3"]);
    fails(
        &[],
        &write("one.csv", "step,loss\n1,1.0\n"),
        &["needs at least"],
    );
    fails(&[], &tmp.path().join("absent.csv"), &["absent.csv"]);
    let twice = write("twice.csv", "step,loss\n1,1\n2,0.5\n1,1\n2,0.5\n");
    fails(&[], &twice, &["`step`", "row 3", "--run"]);

    // NaN and inf losses are skipped and counted; a constant curve is one plateau.
    let mut flat = String::from("step,loss\n");
    for s in 1..=500 {
        let l = match s {
            7 => "NaN".to_string(),
            8 => "inf".to_string(),
            _ => "0.3".to_string(),
        };
        flat.push_str(&format!("{s},{l}\n"));
    }
    let flat = write("flat.csv", &flat);
    let out = tmp.path().join("flat");
    let o = analyze(&[], &flat, &out);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(rows_of(&out.join("phases.csv")).len(), 0);
    let plateaus = rows_of(&out.join("plateaus.csv"));
    assert_eq!(plateaus.len(), 1);
    assert_eq!(plateaus[0][1], "0.3");
    assert_eq!(
        json(&out.join("analyze.json"))["curves"][0]["counts"]["non_finite_loss"],
        2
    );
    let md = std::fs::read_to_string(out.join("table.md")).unwrap();
    assert!(
        md.contains("2 non-finite or missing loss(es) skipped"),
        "{md}"
    );
}
