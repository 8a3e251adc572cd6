//! The files of a matching study (`composite.csv`, `composite_error.csv`, `order.csv`,
//! `matching.csv`, `composite_error.svg`, `composite_<variable>.svg`, `match.json`; for a
//! relaxation oscillation also `cycle.csv`, `cycle_order.csv`, `folds.csv`, and the composite
//! across its folds `fold_composite.csv`, `fold_error.csv`, `fold_order.csv`,
//! `fold_composite_<variable>.svg`) and of a direct
//! run of a user system (`trajectory.csv`, `run.json`), with the summaries shown after them.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::analysis::PowerLawFit;
use crate::matching::{
    APPROXIMATIONS, CycleRow, CycleStudy, FoldErrorRow, FoldStudy, MatchingCheck, MatchingOptions,
    ORBIT_COMPOSITE, OrderRow, Study, VariableErrors,
};
use crate::ode::{SlowFastSystem, SolverStats, Trajectory};
use crate::report::plot::{GREY, sequential_position};
use crate::report::text_table::to_markdown;
use crate::report::{
    Axis, LinePlot, Manifest, OutputSet, PanelPlot, ReportError, Series, Table, write_csv,
};
use crate::systems::SystemFile;

/// What was studied: a built-in problem or a user's system file.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Its name (a built-in problem's, or the file's path).
    pub label: &'a str,
    /// Where its reference solution comes from.
    pub provenance: &'a str,
    /// `x(0)`.
    pub x0: &'a [f64],
    /// `y(0)`.
    pub y0: &'a [f64],
    /// The horizon `T`.
    pub t_end: f64,
}

#[derive(Serialize)]
struct MatchRecord<'a> {
    system: &'a str,
    provenance: &'a str,
    x0: &'a [f64],
    y0: &'a [f64],
    t_end: f64,
    eps: &'a [f64],
    composite_eps: f64,
    options: &'a MatchingOptions,
    orders: &'a [OrderRow],
    matching: &'a MatchingCheck,
    direct_stats: Vec<SolverStats>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cycle: Option<&'a CycleStudy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cycle_note: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    across_folds: Option<FoldRecord<'a>>,
}

#[derive(Serialize)]
struct FoldRecord<'a> {
    t_end: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<&'a [FoldErrorRow]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    orders: Option<&'a [OrderRow]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<&'a str>,
}

/// What the cycle study of a `match` run gave: a relaxation cycle, or why there is none.
#[derive(Debug, Clone, Copy)]
pub enum Cycle<'a> {
    /// Not looked for.
    NotAsked,
    /// The periods and their orders, and the composite across the folds on `[0, t_end]`
    /// (or why it failed).
    Found {
        /// The cycle study.
        cycle: &'a CycleStudy,
        /// Horizon of the composite across folds.
        t_end: f64,
        /// The composite across folds against direct integration.
        across_folds: Result<&'a FoldStudy, &'a str>,
    },
    /// Why there is no cycle (no fold, an impasse, folds that do not recur, …).
    Absent(&'a str),
}

/// Writes the study's files into `out` (`composite.csv` shows the comparison at index
/// `shown`) and, when a cycle was found, its tables ([`cycle_part_tables`]) and
/// `fold_composite_<variable>.svg` inside the same atomic set; the cycle's record (or the
/// reason there is none) goes to `match.json`.
///
/// # Errors
/// [`ReportError`] when a file cannot be written.
pub fn write(
    out: &Path,
    s: &Subject<'_>,
    st: &Study,
    shown: usize,
    opts: &MatchingOptions,
    cycle: Cycle<'_>,
) -> Result<Manifest, ReportError> {
    let c = &st.comparisons[shown];
    let record = MatchRecord {
        system: s.label,
        provenance: s.provenance,
        x0: s.x0,
        y0: s.y0,
        t_end: s.t_end,
        eps: &st.eps,
        composite_eps: c.eps,
        options: opts,
        orders: &st.orders,
        matching: &st.matching,
        direct_stats: st.comparisons.iter().map(|c| c.direct_stats).collect(),
        cycle: match cycle {
            Cycle::Found { cycle, .. } => Some(cycle),
            _ => None,
        },
        cycle_note: match cycle {
            Cycle::Absent(why) => Some(why),
            _ => None,
        },
        across_folds: match cycle {
            Cycle::Found {
                t_end,
                across_folds,
                ..
            } => Some(FoldRecord {
                t_end,
                errors: across_folds.ok().map(|f| f.rows.as_slice()),
                orders: across_folds.ok().map(|f| f.orders.as_slice()),
                note: across_folds.err(),
            }),
            _ => None,
        },
    };
    super::write_set(
        out,
        "match.json",
        super::fields(&record, "match.json")?,
        |set, _| {
            write_files(set, s, st, shown)?;
            for (name, table) in cycle_part_tables(&cycle, st, shown) {
                write_csv(&table, &set.path(name))?;
            }
            if let Cycle::Found {
                across_folds: Ok(f),
                ..
            } = cycle
            {
                for (v, name) in f.names().iter().enumerate() {
                    fold_plot(f, v, &format!("{}: {name} across the folds", s.label))
                        .write_svg(&set.path(&format!("fold_composite_{name}.svg")))?;
                }
            }
            Ok(())
        },
    )
}

/// The cycle study's tables: `cycle.csv` (one row per ε: `epsilon`, `period_direct`,
/// `period_leading`, `period_predicted`, `error_leading`, `error_predicted`,
/// `direct_change`), `cycle_order.csv` (the fitted orders of the two errors, as in
/// `order.csv`) and `folds.csv` (each fold of one loop: time, state, normal form
/// `A`, `B`, the delay coefficient `|a₁|(AB)^{-1/3}`, landing state). `names` are the
/// variables, slow (`n` of them) then fast.
pub fn cycle_tables(c: &CycleStudy, names: &[String], n: usize) -> Vec<(&'static str, Table)> {
    let rows = &c.rows;
    let col = |f: fn(&CycleRow) -> f64| rows.iter().map(f).collect::<Vec<_>>();
    let periods = Table::new()
        .f64("epsilon", col(|r| r.eps))
        .f64("period_direct", col(|r| r.period_direct))
        .f64("period_leading", col(|r| r.period_leading))
        .f64("period_predicted", col(|r| r.period_predicted))
        .f64("error_leading", col(CycleRow::error_leading))
        .f64("error_predicted", col(CycleRow::error_predicted))
        .f64("direct_change", col(|r| r.direct_change));
    let fits = [
        ("leading", &c.order_leading),
        ("predicted", &c.order_predicted),
    ];
    let pick = |f: fn(&PowerLawFit) -> f64| -> Vec<f64> {
        fits.iter()
            .map(|(_, fit)| fit.as_ref().map_or(f64::NAN, f))
            .collect()
    };
    let order = Table::new()
        .str("variable", fits.iter().map(|_| "period"))
        .str("approximation", fits.iter().map(|(a, _)| *a))
        .f64("fitted_order", pick(|f| f.gamma))
        .f64("ci_low", pick(|f| f.gamma_ci[0]))
        .f64("ci_high", pick(|f| f.gamma_ci[1]))
        .str(
            "note",
            fits.iter().map(|(_, f)| {
                if f.is_some() {
                    ""
                } else {
                    "no fit (vanishing error or fewer than two eps)"
                }
            }),
        );
    let f = &c.singular.folds;
    let mut folds = Table::new()
        .f64("fold", (0..f.len()).map(|k| k as f64).collect::<Vec<_>>())
        .f64("t", f.iter().map(|p| p.t).collect::<Vec<_>>());
    for (v, name) in names.iter().enumerate() {
        let value = |p: &crate::matching::FoldPassage| {
            if v < n {
                p.normal_form.x[v]
            } else {
                p.normal_form.y[v - n]
            }
        };
        folds = folds.f64(name, f.iter().map(value).collect::<Vec<_>>());
    }
    folds = folds
        .f64("A", f.iter().map(|p| p.normal_form.a).collect::<Vec<_>>())
        .f64("B", f.iter().map(|p| p.normal_form.b).collect::<Vec<_>>())
        .f64(
            "delay_coefficient",
            f.iter()
                .map(|p| p.normal_form.delay_coefficient())
                .collect::<Vec<_>>(),
        );
    for (k, name) in names[n..].iter().enumerate() {
        folds = folds.f64(
            &format!("landing_{name}"),
            f.iter().map(|p| p.landing[k]).collect::<Vec<_>>(),
        );
    }
    folds = folds.str(
        "located",
        f.iter()
            .map(|p| if p.solved { "solved" } else { "extrapolated" }),
    );
    vec![
        ("cycle.csv", periods),
        ("cycle_order.csv", order),
        ("folds.csv", folds),
    ]
}

/// The tables of a `match` run's cycle part, each with the name of its CSV file: for a
/// cycle found, [`cycle_tables`] and, for its composite across the folds, [`fold_tables`]
/// (at the comparison `shown`); none otherwise.
pub fn cycle_part_tables(
    cycle: &Cycle<'_>,
    st: &Study,
    shown: usize,
) -> Vec<(&'static str, Table)> {
    let Cycle::Found {
        cycle,
        across_folds,
        ..
    } = cycle
    else {
        return Vec::new();
    };
    let mut out = cycle_tables(cycle, &st.names, st.asymptotics.n);
    if let Ok(f) = across_folds {
        out.extend(fold_tables(f, shown));
    }
    out
}

/// The composite across folds' tables: `fold_composite.csv` (at comparison `shown`, the
/// last if there are fewer: `epsilon`, `t`, `in_window` (`true` within
/// `ε^{2/3}(AB)^{−1/3}` of a jump), then `<variable>_direct` and `<variable>_composite`),
/// `fold_error.csv` (`epsilon`, `variable`, `max_error_outside_windows`,
/// `max_error_inside_windows`, `folds`) and `fold_order.csv` (the fitted orders of the
/// error outside the windows, as in `order.csv`).
pub fn fold_tables(f: &FoldStudy, shown: usize) -> Vec<(&'static str, Table)> {
    let c = &f.comparisons[shown.min(f.comparisons.len().saturating_sub(1))];
    let (comp, t) = (&c.composite.trajectory, &c.composite.trajectory.t);
    let mut table = Table::new()
        .f64("epsilon", vec![c.composite.eps; t.len()])
        .f64("t", t.as_slice())
        .bool(
            "in_window",
            t.iter().map(|&t| c.in_window(t)).collect::<Vec<_>>(),
        );
    for (v, name) in f.names().iter().enumerate() {
        table = table
            .f64(&format!("{name}_direct"), c.direct.columns[v].as_slice())
            .f64(&format!("{name}_composite"), comp.columns[v].as_slice());
    }
    vec![
        ("fold_composite.csv", table),
        ("fold_error.csv", fold_error_table(f)),
        ("fold_order.csv", order_table(&f.orders)),
    ]
}

/// `fold_error.csv`: per ε and variable, the maximum error outside and inside the jump
/// windows and the folds passed.
fn fold_error_table(f: &FoldStudy) -> Table {
    let r = &f.rows;
    Table::new()
        .f64("epsilon", r.iter().map(|r| r.eps).collect::<Vec<_>>())
        .str("variable", r.iter().map(|r| r.variable.as_str()))
        .f64(
            "max_error_outside_windows",
            r.iter().map(|r| r.outside).collect::<Vec<_>>(),
        )
        .f64(
            "max_error_inside_windows",
            r.iter().map(|r| r.inside).collect::<Vec<_>>(),
        )
        .u64(
            "folds",
            r.iter().map(|r| r.folds as u64).collect::<Vec<_>>(),
        )
}

/// `fold_composite_<variable>.svg`: for every ε (sequential colours), the direct solution
/// (thick light line) and the composite across folds (thin dashed) on a linear time axis;
/// beneath, `|composite − direct|` on a log axis.
pub fn fold_plot(f: &FoldStudy, v: usize, title: &str) -> PanelPlot {
    let k = f.comparisons.len();
    let (mut top, mut bottom) = (Vec::new(), Vec::new());
    for (i, c) in f.comparisons.iter().enumerate() {
        let tint = sequential_position(i, k);
        let t = c.composite.trajectory.t.clone();
        let comp = c.composite.trajectory.columns[v].clone();
        let err: Vec<f64> = comp
            .iter()
            .zip(&c.direct.columns[v])
            .map(|(p, q)| (p - q).abs())
            .collect();
        top.push(
            Series::direct(
                format!("ε = {:.1e}", c.composite.eps),
                t.clone(),
                c.direct.columns[v].clone(),
            )
            .tinted(tint),
        );
        top.push(Series::composite("", t.clone(), comp).tinted(tint));
        bottom.push(Series::line("", t, err).tinted(tint));
    }
    top.extend(Series::direct_composite_keys());
    PanelPlot::solution_over_error(
        title,
        Axis::Linear,
        (f.names()[v].clone(), top),
        ("|composite − direct|".into(), bottom),
    )
}

/// The summary of the composite across folds.
pub fn fold_text(f: &FoldStudy) -> Result<String, ReportError> {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "composite across the folds on [0, {}] (windows |t − t_jump| < ε^(2/3) (AB)^(-1/3) excluded):",
        f.t_end
    );
    o.push_str(&to_markdown(&fold_error_table(f), 3)?);
    let _ = writeln!(
        o,
        "orders on the ε passing {} fold(s) (expected: 2/3 for error/ln(1/ε), the Airy layer's next order with the jump's O(ε ln ε) timing):",
        f.fitted_folds
    );
    for r in &f.orders {
        let what = if r.approximation == ORBIT_COMPOSITE {
            "error"
        } else {
            "error/ln(1/ε)"
        };
        let _ = match &r.fit {
            Some(fit) => writeln!(
                o,
                "{}: {what} order {:.3} [{:.3}, {:.3}]",
                r.variable, fit.gamma, fit.gamma_ci[0], fit.gamma_ci[1]
            ),
            None => writeln!(o, "{}: {}", r.variable, r.note.as_deref().unwrap_or("")),
        };
    }
    Ok(o)
}

/// The summary of a cycle study.
pub fn cycle_text(c: &CycleStudy) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "relaxation cycle: {} folds a loop, singular period T0 = {:.10}",
        c.singular.folds.len(),
        c.singular.period
    );
    for (k, f) in c.singular.folds.iter().enumerate() {
        let nf = &f.normal_form;
        let _ = writeln!(
            o,
            "  fold {k}: t = {:.8}, x = {:?}, y = {:?} ({}), A = {:.6}, B = {:.6}, Airy delay {:.6} eps^(2/3), lands at y = {:?}",
            f.t,
            nf.x,
            nf.y,
            if f.solved { "solved" } else { "extrapolated" },
            nf.a,
            nf.b,
            nf.delay_coefficient(),
            f.landing
        );
    }
    let _ = writeln!(
        o,
        "| ε | T direct | T leading | T predicted | err leading | err predicted |\n|---|---|---|---|---|---|"
    );
    for r in &c.rows {
        let _ = writeln!(
            o,
            "| {:.3e} | {:.8} | {:.8} | {:.8} | {:.2e} | {:.2e} |",
            r.eps,
            r.period_direct,
            r.period_leading,
            r.period_predicted,
            r.error_leading(),
            r.error_predicted()
        );
    }
    let show = |f: &Option<PowerLawFit>| {
        f.as_ref().map_or("—".to_string(), |f| {
            format!(
                "{:.3} [{:.3}, {:.3}]",
                f.gamma, f.gamma_ci[0], f.gamma_ci[1]
            )
        })
    };
    let _ = writeln!(
        o,
        "period error order in ε: leading {}, predicted {}",
        show(&c.order_leading),
        show(&c.order_predicted)
    );
    o
}

/// Fitted orders: `variable`, `approximation`, `fitted_order`, `ci_low`, `ci_high`, `note`.
fn order_table(o: &[OrderRow]) -> Table {
    let pick = |f: fn(&PowerLawFit) -> f64| -> Vec<f64> {
        o.iter()
            .map(|r| r.fit.as_ref().map_or(f64::NAN, f))
            .collect()
    };
    Table::new()
        .str("variable", o.iter().map(|r| r.variable.as_str()))
        .str("approximation", o.iter().map(|r| r.approximation.as_str()))
        .f64("fitted_order", pick(|f| f.gamma))
        .f64("ci_low", pick(|f| f.gamma_ci[0]))
        .f64("ci_high", pick(|f| f.gamma_ci[1]))
        .str("note", o.iter().map(|r| r.note.clone().unwrap_or_default()))
}

/// The study's tables, each with the name of its CSV file: `composite.csv` (at the
/// comparison `shown`), `composite_error.csv`, `order.csv`, `matching.csv`.
pub fn tables(st: &Study, shown: usize) -> Vec<(&'static str, Table)> {
    let mut out = Vec::new();
    // composite.csv: t, then per variable full, outer, inner, composite; then the
    // first-order composites.
    let c = &st.comparisons[shown];
    let mut names = Vec::new();
    let mut columns = Vec::new();
    for (v, name) in c.names.iter().enumerate() {
        for (suffix, data) in [
            ("full", &c.full),
            ("outer", &c.outer),
            ("inner", &c.inner),
            ("composite", &c.composite),
        ] {
            names.push(format!("{name}_{suffix}"));
            columns.push(data[v].clone());
        }
    }
    for (v, name) in c.names.iter().enumerate() {
        names.push(format!("{name}_composite1"));
        columns.push(c.composite1[v].clone());
    }
    let traj = Trajectory {
        names,
        t: c.t.clone(),
        columns,
    };
    out.push(("composite.csv", Table::from_trajectory(&traj)));

    // composite_error.csv
    let e = &st.errors;
    let col = |f: fn(&VariableErrors) -> f64| e.iter().map(f).collect::<Vec<_>>();
    let err = Table::new()
        .f64("epsilon", col(|r| r.eps))
        .str("variable", e.iter().map(|r| r.variable.as_str()))
        .f64("max_error_outer", col(|r| r.outer))
        .f64("max_error_inner", col(|r| r.inner))
        .f64("max_error_composite", col(|r| r.composite))
        .f64("max_error_composite1", col(|r| r.composite1));
    out.push(("composite_error.csv", err));

    out.push(("order.csv", order_table(&st.orders)));

    // matching.csv: the intermediate-variable check.
    let m = &st.matching;
    let mt = Table::new()
        .f64("epsilon", m.eps.as_slice())
        .f64(
            "t",
            m.eps
                .iter()
                .map(|e| e.powf(m.alpha) * m.eta)
                .collect::<Vec<_>>(),
        )
        .f64("mismatch", m.mismatch.as_slice())
        .f64("mismatch1", m.mismatch1.as_slice());
    out.push(("matching.csv", mt));
    out
}

fn write_files(
    set: &mut OutputSet,
    s: &Subject<'_>,
    st: &Study,
    shown: usize,
) -> Result<(), ReportError> {
    for (name, table) in tables(st, shown) {
        write_csv(&table, &set.path(name))?;
    }
    let e = &st.errors;
    // composite_error.svg: every error against ε, with slope-1 and slope-2 guides.
    let mut series = Vec::new();
    for name in &st.names {
        let rows: Vec<_> = e.iter().filter(|r| &r.variable == name).collect();
        let x: Vec<f64> = rows.iter().map(|r| r.eps).collect();
        for (k, approx) in APPROXIMATIONS.iter().enumerate() {
            let y: Vec<f64> = rows.iter().map(|r| r.values()[k]).collect();
            if y.iter().all(|v| *v <= 0.0 || !v.is_finite()) {
                continue;
            }
            series.push(Series::points(format!("{name} {approx}"), x.clone(), y));
        }
    }
    if let (Some(&e0), Some(first)) = (st.eps.first(), e.first()) {
        let scale1 = first.composite.max(f64::MIN_POSITIVE) / e0;
        let scale2 = first.composite1.max(f64::MIN_POSITIVE) / (e0 * e0);
        // Guides in grey, so that no error series shares their colour.
        series.push(
            Series::dashed(
                "slope 1 (guide)",
                st.eps.clone(),
                st.eps.iter().map(|x| scale1 * x).collect(),
            )
            .width(1)
            .coloured(GREY),
        );
        series.push(
            Series::line(
                "slope 2 (guide)",
                st.eps.clone(),
                st.eps.iter().map(|x| scale2 * x * x).collect(),
            )
            .width(1)
            .coloured(GREY),
        );
    }
    LinePlot {
        title: format!("{}: max error on [0, {}] against ε", s.label, s.t_end),
        x_label: "ε".into(),
        y_label: "max error".into(),
        x_axis: Axis::Log,
        y_axis: Axis::Log,
        series,
        guides: Vec::new(),
    }
    .write_svg(&set.path("composite_error.svg"))?;
    for (v, name) in st.names.iter().enumerate() {
        composite_plot(st, v, &format!("{}: {name}", s.label))
            .write_svg(&set.path(&format!("composite_{name}.svg")))?;
    }
    Ok(())
}

/// `composite_<variable>.svg`: for every ε (coloured on the sequential scale, first ε
/// darkest), the direct solution as a thick light line and the leading-order composite as
/// a thin dashed line with markers on a logarithmic time axis (the layer shows); beneath,
/// `|composite − direct|` (solid) and `|first-order composite − direct|` (dashed) on a log
/// axis. The legend sits right of the data.
pub fn composite_plot(st: &Study, v: usize, title: &str) -> PanelPlot {
    let k = st.comparisons.len();
    let mut top = Vec::new();
    let mut bottom = Vec::new();
    for (i, c) in st.comparisons.iter().enumerate() {
        let tint = sequential_position(i, k);
        let full = &c.full[v];
        top.push(
            Series::direct(format!("ε = {:.1e}", c.eps), c.t.clone(), full.clone()).tinted(tint),
        );
        top.push(Series::composite("", c.t.clone(), c.composite[v].clone()).tinted(tint));
        let err =
            |a: &[f64]| -> Vec<f64> { a.iter().zip(full).map(|(p, q)| (p - q).abs()).collect() };
        bottom.push(Series::line("", c.t.clone(), err(&c.composite[v])).tinted(tint));
        bottom.push(Series::dashed("", c.t.clone(), err(&c.composite1[v])).tinted(tint));
    }
    // Legend entries for the line styles (no points: grey, outside any panel's data).
    top.extend(Series::direct_composite_keys());
    bottom.push(Series::line("|composite − direct|", vec![], vec![]).coloured(GREY));
    bottom.push(Series::dashed("|first-order composite − direct|", vec![], vec![]).coloured(GREY));
    PanelPlot::solution_over_error(
        title,
        Axis::Log,
        (st.names[v].clone(), top),
        ("|error|".into(), bottom),
    )
}

/// The summary shown after a study.
pub fn text(s: &Subject<'_>, st: &Study, out: &Path) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} on [0, {}]: fitted orders of the max error in ε",
        s.label, s.t_end
    );
    let _ = writeln!(
        o,
        "| variable | approximation | order | 95% CI |\n|---|---|---|---|"
    );
    for r in &st.orders {
        let _ = match (&r.fit, &r.note) {
            (Some(f), _) => writeln!(
                o,
                "| {} | {} | {:.3} | [{:.3}, {:.3}] |",
                r.variable, r.approximation, f.gamma, f.gamma_ci[0], f.gamma_ci[1]
            ),
            (None, note) => writeln!(
                o,
                "| {} | {} | — | {} |",
                r.variable,
                r.approximation,
                note.as_deref().unwrap_or("")
            ),
        };
    }
    let m = &st.matching;
    let fmt = |f: &Option<PowerLawFit>| {
        f.as_ref()
            .map_or("—".to_string(), |f| format!("{:.3}", f.gamma))
    };
    let _ = writeln!(
        o,
        "matching: |η₀(τ={}) − Y₀(0)| = {:.1e}, |lim η₁' − Y₀'(0)| = {:.1e}, |lim(η₁ − τY₀'(0)) − Y₁(0)| = {:.1e}; on t = ε^{} η: orders {} (leading) and {} (first order)",
        m.tau_last,
        m.limit_gap,
        m.slope_gap,
        m.offset_gap,
        m.alpha,
        fmt(&m.order),
        fmt(&m.order1)
    );
    let _ = writeln!(o, "written to {}", out.display());
    o
}

#[derive(Serialize)]
struct UserRunRecord<'a> {
    system: String,
    slow: Vec<String>,
    fast: Vec<String>,
    x0: &'a [f64],
    y0: &'a [f64],
    epsilon: f64,
    t_end: f64,
    rtol: f64,
    atol: f64,
    stats: SolverStats,
    final_state: Vec<f64>,
}

/// Writes a direct run of a user system: `trajectory.csv` (`t`, then the variable names)
/// and `run.json`.
///
/// # Errors
/// [`ReportError`] when a file cannot be written.
#[allow(clippy::too_many_arguments)]
pub fn write_user_run(
    out: &Path,
    label: &str,
    file: &SystemFile,
    eps: f64,
    rtol: f64,
    atol: f64,
    traj: &Trajectory,
    stats: SolverStats,
) -> Result<Vec<f64>, ReportError> {
    let sys = &file.system;
    let t_end = traj.t.last().copied().unwrap_or(0.0);
    let final_state = traj.last().map(|(_, v)| v).unwrap_or_default();
    let record = UserRunRecord {
        system: label.to_string(),
        slow: sys.slow_names(),
        fast: sys.fast_names(),
        x0: &file.x0,
        y0: &file.y0,
        epsilon: eps,
        t_end,
        rtol,
        atol,
        stats,
        final_state: final_state.clone(),
    };
    super::write_set(
        out,
        "run.json",
        super::fields(&record, "run.json")?,
        |set, _| write_csv(&Table::from_trajectory(traj), &set.path("trajectory.csv")),
    )?;
    Ok(final_state)
}
