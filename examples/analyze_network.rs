//! Validation of `timescales analyze` on curves it was not shaped on: online SGD of finite
//! two-layer networks (`crates/network`) on the public scenario (σ(x) = exp(x − ½),
//! φ = h₁ + h₂ + h₃, a(0) ~ U[−1, 1]), its exact population risk logged at every step on a
//! linear step axis up to `t = 10`, at several widths `d = m` and step sizes `η`, against the
//! phase times of the `d, m → ∞` limit flow (the toolkit's direct integration; phases by the
//! `PlateauDetector` with the predicted levels as hints).
//!
//! ```sh
//! cargo run --release --example analyze_network            # ε = 0.01, d = m = 64, 128, 256
//! cargo run --release --example analyze_network -- 0.1 64,128,256 5e-3,1e-2
//! ```
//!
//! For each run it prints the drops `analyze` found (time `t = step · η`) against the limit's,
//! and the seeding parameter `d ε Var a(0)` of
//! [`LimitComparison`](timescales::network::LimitComparison): where it is not `≫ 1` the
//! network's phase 1 comes early (finite `d`), so a difference from the limit there is the
//! network's, not the detector's. At ε = 0.1 and 0.01 (64 quadrature particles) the limit
//! learns degrees 1–3 in one drop, from `R_0 = 1.5` to a slowly sinking plateau near 0.13
//! (phases 2 and 3 merge with phase 1 at these ε, as model.md §5 warns). The logged curves
//! are written to `analyze_network.csv` in the temporary directory for `timescales analyze`.

use timescales::analysis::PlateauDetector;
use timescales::analysis::curves::{AnalyzeOptions, ColumnSpec, CurveSet, analyze};
use timescales::meanfield::simulate;
use timescales::network::{LimitComparison, Model, NetworkState, Sgd, SgdOptions, SummaryRecorder};
use timescales::report::{Column, Table};
use timescales::scenario::Scenario;

fn list<T: std::str::FromStr>(arg: Option<String>, default: &str) -> Vec<T> {
    arg.as_deref()
        .unwrap_or(default)
        .split(',')
        .filter_map(|s| s.parse().ok())
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let eps: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(0.01);
    let widths: Vec<usize> = list(args.next(), "64,128,256");
    let rates: Vec<f64> = list(args.next(), "1e-3,2.5e-3");
    let (t_end, batch, seed) = (10.0, 256, 1);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/scenarios/public.toml");
    let scenario = Scenario::from_path(&path)?.with_epsilon(eps)?;
    let mut problem = scenario.problem.clone();
    problem.t_end = t_end;
    let limit = simulate(&problem)?;
    let (lt, lr) = (
        &limit.trajectory.t,
        limit.trajectory.column("risk").unwrap_or_default(),
    );
    let reference = PlateauDetector::default().detect(lt, lr, Some(&scenario.plateau_levels))?;
    println!(
        "limit d, m → ∞ at ε = {eps}: plateaus {:?}",
        reference
            .plateaus
            .iter()
            .map(|p| format!("{:.4}", p.level))
            .collect::<Vec<_>>()
    );
    for ph in &reference.phases {
        println!(
            "  phase to degree {:?}: {:.4} → {:.4}, t_mid = {:.4}",
            ph.degree, ph.level_before, ph.level_after, ph.t_mid
        );
    }
    let model = Model::new(&problem.sigma, &problem.phi, 2.0 * problem.tail_energy)?;
    let (mut step, mut loss, mut width, mut lr_col, mut run) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut comparisons = Vec::new();
    for &eta in &rates {
        for &m in &widths {
            let started = std::time::Instant::now();
            let mut state = NetworkState::random(m, m, &problem.law, seed)?;
            let mean_a = state.a.mean();
            let var_a = state.a.iter().map(|a| (a - mean_a).powi(2)).sum::<f64>() / m as f64;
            let n = (t_end / eta).round() as usize;
            let times: Vec<f64> = (0..=n).map(|k| k as f64 * eta).collect();
            let mut rec = SummaryRecorder::new();
            let opts = SgdOptions {
                eps,
                lr: eta,
                batch,
                seed,
            };
            Sgd::new(model.clone(), m, m, opts)?.run(&mut state, &times, &mut rec)?;
            let risk = rec.trajectory.column("risk").unwrap_or_default();
            let cmp =
                LimitComparison::new(m, m, &rec.trajectory, &limit.trajectory, &model, eps, var_a)?;
            let name = format!("d=m={m}, lr={eta}");
            for (t, r) in rec.trajectory.t.iter().zip(risk) {
                step.push((t / eta).round());
                loss.push(*r);
                width.push(m as f64);
                lr_col.push(eta);
                run.push(name.clone());
            }
            eprintln!(
                "{name}: {n} steps in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            comparisons.push((name, eta, cmp));
        }
    }
    let mut table = Table::new()
        .f64("step", step)
        .f64("loss", loss)
        .f64("width", width)
        .f64("lr", lr_col);
    table.push("run", Column::Str(run));
    let csv = std::env::temp_dir().join("analyze_network.csv");
    timescales::report::write_csv(&table, &csv)?;
    println!(
        "the logged curves: {} (`timescales analyze` reads them as they are)",
        csv.display()
    );
    let spec = ColumnSpec {
        by: Some("width".into()),
        run: Some("run".into()),
        ..ColumnSpec::default()
    };
    let set = CurveSet::from_table(&table, &spec)?;
    let result = analyze(&set, &AnalyzeOptions::default())?;
    println!(
        "\nrun | drop | level before → after | t_mid (analyze, t = step·η) | limit t_mid | rel. diff"
    );
    for (c, (name, eta, cmp)) in result.curves.iter().zip(&comparisons) {
        for d in &c.drops {
            let t_mid = d.t_mid * eta;
            // The limit's phase whose levels are nearest.
            let near = reference.phases.iter().min_by(|a, b| {
                let da =
                    (a.level_before - d.level_before).abs() + (a.level_after - d.level_after).abs();
                let db =
                    (b.level_before - d.level_before).abs() + (b.level_after - d.level_after).abs();
                da.total_cmp(&db)
            });
            let (lim, diff) =
                near.map_or((f64::NAN, f64::NAN), |p| (p.t_mid, t_mid / p.t_mid - 1.0));
            println!(
                "{name} | {} | {:.4} → {:.4}{} | {t_mid:.4} | {lim:.4} | {:+.1} %",
                d.drop,
                d.level_before,
                d.level_after,
                if d.merged { " (merged)" } else { "" },
                100.0 * diff
            );
        }
        if c.drops.is_empty() {
            println!("{name} | no drop found (no plateau after it recognised) |");
        }
        println!(
            "{name}: d ε Var a(0) = {:.2} (≫ 1 for the limit's phase 1; the network's comes \
             early otherwise), sup |R_network − R_limit| = {:.3}",
            cmp.seeding, cmp.sup_distance
        );
    }
    Ok(())
}
