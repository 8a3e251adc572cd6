//! Outer, inner and composite expansions of a slow–fast system written in TOML, checked
//! against direct integration, with the fitted order of each error.
//!
//! `cargo run --release --example matching [SYSTEM.toml]` (default: the Michaelis–Menten-like
//! system below).

use timescales::matching::Role;
use timescales::prelude::*;

const SYSTEM: &str = r#"
[system]
slow = { s = "-s + (s + 1 - 0.5)*c" }
fast = { c = "s - (s + 1)*c" }
initial = { s = 1.0, c = 0.0 }
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let file = match std::env::args().nth(1) {
        Some(path) => SystemFile::read(std::path::Path::new(&path))?,
        None => SystemFile::parse(SYSTEM, "built-in example")?,
    };
    let t_end = file.run.as_ref().map_or(2.0, |r| r.t_end);
    let eps = EpsGrid::parse("1e-1:1e-4:7")?.points().to_vec();
    let study = matching_study(
        &file.system,
        &file.x0,
        &file.y0,
        t_end,
        &eps,
        &MatchingOptions::default(),
    )?;
    println!("max error on [0, {t_end}] ~ ε^p:");
    for row in &study.orders {
        match &row.fit {
            Some(f) => println!(
                "  {:>4} {:>11}: p = {:.3} [{:.3}, {:.3}]",
                row.variable, row.approximation, f.gamma, f.gamma_ci[0], f.gamma_ci[1]
            ),
            None => println!(
                "  {:>4} {:>11}: {}",
                row.variable,
                row.approximation,
                row.note.as_deref().unwrap_or("")
            ),
        }
    }
    // The composite of the fast variable at the largest ε, term by term.
    let [lead, _] =
        study
            .asymptotics
            .composites(study.names.len() - 1, eps[0], &study.comparisons[0].t)?;
    let terms: Vec<String> = lead
        .terms
        .iter()
        .map(|t| match t.role {
            Role::Common => format!("− {} (common part)", t.name),
            Role::Outer => format!("+ {} (outer)", t.name),
            Role::Inner => format!("+ {} (inner)", t.name),
        })
        .collect();
    let error = lead.max_error(&study.comparisons[0].full[study.names.len() - 1], t_end);
    println!(
        "composite of {} at ε = {:e}: {}; max error {error:.2e}, expected O(ε^{})",
        lead.observable,
        eps[0],
        terms.join(" "),
        lead.order.unwrap_or(f64::NAN)
    );
    Ok(())
}
