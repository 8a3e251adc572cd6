//! Running a closure over the grid in parallel, resumably.

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

use timescales_ode::interrupt;

use super::{EpsGrid, RunStore, Shard, epsilon_key};
use crate::error::{AnalysisError, Result};

/// Options of [`run_sweep`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SweepOptions {
    /// Draw a progress bar on standard error (indicatif hides it when stderr is not a
    /// terminal).
    pub progress: bool,
    /// Number of worker threads; `None` uses rayon's global pool (one per core).
    pub threads: Option<usize>,
}

/// The messages of `error` and of each of its sources, outermost first.
///
/// ```
/// # use timescales_analysis::sweep::error_chain;
/// let io = std::io::Error::other("disk full");
/// let e = timescales_analysis::AnalysisError::Io { path: "x.json".into(), source: io };
/// assert_eq!(error_chain(&e), ["I/O error on x.json: disk full", "disk full"]);
/// ```
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut chain = vec![error.to_string()];
    let mut source = error.source();
    while let Some(e) = source {
        chain.push(e.to_string());
        source = e.source();
    }
    chain
}

/// Outcome of [`run_sweep`] on one shard.
#[derive(Debug)]
pub struct SweepReport<R> {
    /// Results of the shard's points that are finished (resumed or computed now), in grid
    /// order.
    pub results: Vec<(f64, R)>,
    /// Points computed by this call.
    pub computed: Vec<f64>,
    /// Points found finished in the run directory and skipped.
    pub resumed: Vec<f64>,
    /// Points that failed, in grid order, each with its error chain (outermost first; see
    /// [`error_chain`]). Also recorded in the store ([`RunStore::failures`]).
    pub failed: Vec<(f64, Vec<String>)>,
    /// Points not finished because the process was interrupted
    /// ([`timescales_ode::interrupt`]), in grid order: a rerun computes them.
    pub interrupted: Vec<f64>,
}

impl<R> SweepReport<R> {
    /// Whether every point of the shard has a result.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.interrupted.is_empty()
    }
}

/// What became of one point.
enum PointOutcome<R> {
    Done(R),
    Failed(Vec<String>),
    Interrupted,
}

/// Runs `run(ε)` on every point of `grid` in `shard`, in parallel, skipping points already
/// stored in `store` and storing each new result as soon as it is computed.
///
/// The sweep is resumable: rerunning the same call after an interruption loads the finished
/// points (their files are complete by construction, see [`RunStore`]) and computes only the
/// others. A failing point does not stop the others; it is listed in
/// [`SweepReport::failed`] with its error chain and recorded in the store as a failure (not
/// as a result, so a rerun retries it). Once the process's interrupt is requested
/// ([`timescales_ode::interrupt`]: the running integrations stop at their next step), no
/// further point starts and the unfinished ones are listed in [`SweepReport::interrupted`].
/// An unreadable stored file is an error before any computation starts.
///
/// ```
/// # use timescales_analysis::sweep::{run_sweep, EpsGrid, Fingerprint, OpenMode, RunStore, Shard, SweepOptions};
/// let dir = tempfile::tempdir().unwrap();
/// let what = Fingerprint::new(serde_json::json!({"f": "sqrt"}))?;
/// let store = RunStore::open(dir.path(), what, OpenMode::Resume)?;
/// let grid = EpsGrid::parse("1e-2:1e-4:3")?;
/// let rep = run_sweep(&grid, Shard::default(), &store, &SweepOptions::default(), |e| {
///     Ok::<_, String>(e.sqrt())
/// })?;
/// assert_eq!(rep.computed.len(), 3);
/// let again = run_sweep(&grid, Shard::default(), &store, &SweepOptions::default(), |_| {
///     Err::<f64, _>("not called".to_string())
/// })?;
/// assert_eq!(again.resumed.len(), 3);
/// assert!((again.results[1].1 - 1e-3f64.sqrt()).abs() < 1e-15);
/// # Ok::<(), timescales_analysis::AnalysisError>(())
/// ```
pub fn run_sweep<R, E, F>(
    grid: &EpsGrid,
    shard: Shard,
    store: &RunStore,
    opts: &SweepOptions,
    run: F,
) -> Result<SweepReport<R>>
where
    R: Serialize + DeserializeOwned + Send,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
    F: Fn(f64) -> std::result::Result<R, E> + Sync + Send,
{
    let mine = shard.select(grid.points());
    let mut done: Vec<(f64, R)> = Vec::new();
    let mut todo = Vec::new();
    for &eps in &mine {
        match store.load::<R>(eps)? {
            Some(r) => done.push((eps, r)),
            None => todo.push(eps),
        }
    }
    let resumed: Vec<f64> = done.iter().map(|d| d.0).collect();
    let bar = if opts.progress {
        let b = ProgressBar::new(todo.len() as u64);
        if let Ok(style) = ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} runs (eta {eta}) {msg}",
        ) {
            b.set_style(style.progress_chars("=> "));
        }
        if !resumed.is_empty() {
            b.println(format!(
                "resuming: {} of {} points already finished",
                resumed.len(),
                mine.len()
            ));
        }
        b
    } else {
        ProgressBar::hidden()
    };
    let work = |eps: &f64| -> (f64, PointOutcome<R>) {
        let eps = *eps;
        if interrupt::requested() {
            return (eps, PointOutcome::Interrupted);
        }
        let out = match run(eps) {
            Ok(r) => match store.save(eps, &r) {
                Ok(()) => PointOutcome::Done(r),
                Err(e) => {
                    let mut chain = vec!["storing the result failed".to_string()];
                    chain.extend(error_chain(&e));
                    PointOutcome::Failed(chain)
                }
            },
            // A failure caused by the interrupt is not the point's failure.
            Err(_) if interrupt::requested() => PointOutcome::Interrupted,
            Err(e) => {
                let e: Box<dyn std::error::Error + Send + Sync> = e.into();
                let chain = error_chain(&*e);
                match store.save_failure(eps, &chain) {
                    Ok(()) => PointOutcome::Failed(chain),
                    Err(store_err) => {
                        let mut chain = chain;
                        chain.push(format!("(and recording the failure failed: {store_err})"));
                        PointOutcome::Failed(chain)
                    }
                }
            }
        };
        bar.set_message(format!("last: eps = {}", epsilon_key(eps)));
        bar.inc(1);
        (eps, out)
    };
    let outcomes: Vec<(f64, PointOutcome<R>)> = match opts.threads {
        Some(n) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| AnalysisError::InvalidParameter {
                    name: "threads",
                    value: n as f64,
                    reason: if e.to_string().is_empty() {
                        "could not build the thread pool"
                    } else {
                        "could not build the thread pool with this many threads"
                    },
                })?;
            pool.install(|| todo.par_iter().map(work).collect())
        }
        None => todo.par_iter().map(work).collect(),
    };
    bar.finish_and_clear();
    let (mut computed, mut failed, mut interrupted) = (Vec::new(), Vec::new(), Vec::new());
    for (eps, out) in outcomes {
        match out {
            PointOutcome::Done(r) => {
                computed.push(eps);
                done.push((eps, r));
            }
            PointOutcome::Failed(chain) => failed.push((eps, chain)),
            PointOutcome::Interrupted => interrupted.push(eps),
        }
    }
    // Grid order (par_iter's collect keeps it for the others).
    let pos = |e: f64| mine.iter().position(|&m| m == e).unwrap_or(usize::MAX);
    done.sort_by_key(|d| pos(d.0));
    Ok(SweepReport {
        results: done,
        computed,
        resumed,
        failed,
        interrupted,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::{Fingerprint, OpenMode};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn what() -> Fingerprint {
        Fingerprint::new(serde_json::json!({"f": "test"})).unwrap()
    }

    /// A typed error with a source, as the library's are.
    #[derive(Debug, thiserror::Error)]
    #[error("point failed")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_failed_point_keeps_its_whole_error_chain() {
        let tmp = tempfile::tempdir().unwrap();
        let store = RunStore::open(tmp.path(), what(), OpenMode::Resume).unwrap();
        let grid = EpsGrid::parse("1e-2:1e-3:2").unwrap();
        let rep = run_sweep(
            &grid,
            Shard::default(),
            &store,
            &SweepOptions::default(),
            |e| {
                if e < 5e-3 {
                    Err(Outer(std::io::Error::other("the cause")))
                } else {
                    Ok(e)
                }
            },
        )
        .unwrap();
        assert_eq!(
            rep.failed,
            vec![(
                1e-3,
                vec!["point failed".to_string(), "the cause".to_string()]
            )]
        );
        assert_eq!(store.failures().unwrap()[0].error, rep.failed[0].1);
    }

    #[test]
    fn resume_skips_finished_points() {
        let tmp = tempfile::tempdir().unwrap();
        let store = RunStore::open(tmp.path(), what(), OpenMode::Resume).unwrap();
        let grid = EpsGrid::parse("1e-3:1e-9:13").unwrap();
        let calls = AtomicUsize::new(0);
        let opts = SweepOptions {
            progress: false,
            threads: Some(2),
        };
        // First attempt: points below 1e-6 fail.
        let first = run_sweep(&grid, Shard::default(), &store, &opts, |e| {
            calls.fetch_add(1, Ordering::SeqCst);
            if e < 1e-6 {
                Err(format!("failed at {e:e}"))
            } else {
                Ok(vec![e, e.sqrt()])
            }
        })
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 13);
        assert_eq!(first.computed.len(), 7);
        assert_eq!(first.failed.len(), 6);
        assert!(!first.is_complete());
        assert_eq!(first.failed[0].0, grid.points()[7]);
        assert_eq!(
            first.failed[0].1,
            [format!("failed at {:e}", grid.points()[7])]
        );
        assert_eq!(store.list().unwrap().len(), 7);
        assert_eq!(store.failures().unwrap().len(), 6);
        // Resume: only the 6 missing points run.
        calls.store(0, Ordering::SeqCst);
        let second = run_sweep(&grid, Shard::default(), &store, &opts, |e| {
            calls.fetch_add(1, Ordering::SeqCst);
            assert!(e < 1e-6, "finished point {e} recomputed");
            Ok::<_, String>(vec![e, e.sqrt()])
        })
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 6);
        assert_eq!((second.resumed.len(), second.computed.len()), (7, 6));
        assert!(second.is_complete());
        assert!(
            store.failures().unwrap().is_empty(),
            "retried points clear their failure"
        );
        let order: Vec<f64> = second.results.iter().map(|r| r.0).collect();
        assert_eq!(order, grid.points());
        for (e, v) in &second.results {
            assert_eq!(v, &vec![*e, e.sqrt()]);
        }
    }

    #[test]
    fn shards_then_merge_equal_a_full_sweep() {
        let tmp = tempfile::tempdir().unwrap();
        let grid = EpsGrid::parse("1e-2:1e-6:9").unwrap();
        let opts = SweepOptions::default();
        let f = |e: f64| Ok::<_, String>(e.powf(0.25));
        let mut dirs = Vec::new();
        for i in 0..3 {
            let s = RunStore::open(
                tmp.path().join(format!("shard{i}")),
                what(),
                OpenMode::Resume,
            )
            .unwrap();
            let rep = run_sweep(&grid, Shard::new(i, 3).unwrap(), &s, &opts, f).unwrap();
            assert_eq!(rep.computed.len(), 3);
            dirs.push(s.dir().to_path_buf());
        }
        let out = tmp.path().join("all");
        let m = crate::sweep::merge_run_dirs(&dirs, &out, &grid, false).unwrap();
        assert_eq!(m.written.len(), 9);
        assert!(m.missing.is_empty());
        let full = RunStore::open(&out, what(), OpenMode::Resume).unwrap();
        let rep = run_sweep(&grid, Shard::default(), &full, &opts, |_| {
            Err::<f64, _>("must not run".to_string())
        })
        .unwrap();
        assert_eq!(rep.resumed.len(), 9);
        assert!(rep.failed.is_empty());
    }
}
