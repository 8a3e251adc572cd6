//! Running a closure over the grid in parallel, resumably.

use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use serde::de::DeserializeOwned;

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

/// Why one grid point has no result.
#[derive(Debug)]
pub enum PointFailure<E> {
    /// The closure failed.
    Run(E),
    /// The result could not be stored.
    Store(AnalysisError),
}

impl<E: std::fmt::Display> std::fmt::Display for PointFailure<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Run(e) => write!(f, "run failed: {e}"),
            Self::Store(e) => write!(f, "storing the result failed: {e}"),
        }
    }
}

/// Outcome of [`run_sweep`] on one shard.
#[derive(Debug)]
pub struct SweepReport<R, E> {
    /// Results of the shard's points that are finished (resumed or computed now), in grid
    /// order.
    pub results: Vec<(f64, R)>,
    /// Points computed by this call.
    pub computed: Vec<f64>,
    /// Points found finished in the run directory and skipped.
    pub resumed: Vec<f64>,
    /// Points that failed, in grid order.
    pub failed: Vec<(f64, PointFailure<E>)>,
}

impl<R, E> SweepReport<R, E> {
    /// Whether every point of the shard has a result.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Runs `run(ε)` on every point of `grid` in `shard`, in parallel, skipping points already
/// stored in `store` and storing each new result as soon as it is computed.
///
/// The sweep is resumable: rerunning the same call after an interruption loads the finished
/// points (their files are complete by construction, see [`RunStore`]) and computes only the
/// others. A failing point does not stop the others; it is listed in
/// [`SweepReport::failed`] (and not stored, so a rerun retries it). An unreadable stored file
/// is an error before any computation starts.
///
/// ```
/// # use timescales_analysis::sweep::{run_sweep, EpsGrid, RunStore, Shard, SweepOptions};
/// let dir = tempfile::tempdir().unwrap();
/// let store = RunStore::open(dir.path())?;
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
) -> Result<SweepReport<R, E>>
where
    R: Serialize + DeserializeOwned + Send,
    E: Send,
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
    let work = |eps: &f64| -> (f64, std::result::Result<R, PointFailure<E>>) {
        let eps = *eps;
        let out = match run(eps) {
            Ok(r) => store.save(eps, &r).map(|()| r).map_err(PointFailure::Store),
            Err(e) => Err(PointFailure::Run(e)),
        };
        bar.set_message(format!("last: eps = {}", epsilon_key(eps)));
        bar.inc(1);
        (eps, out)
    };
    let outcomes: Vec<(f64, std::result::Result<R, PointFailure<E>>)> = match opts.threads {
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
    let mut computed = Vec::new();
    let mut failed = Vec::new();
    for (eps, out) in outcomes {
        match out {
            Ok(r) => {
                computed.push(eps);
                done.push((eps, r));
            }
            Err(f) => failed.push((eps, f)),
        }
    }
    // Grid order.
    let pos = |e: f64| mine.iter().position(|&m| m == e).unwrap_or(usize::MAX);
    done.sort_by_key(|d| pos(d.0));
    failed.sort_by_key(|f| pos(f.0));
    Ok(SweepReport {
        results: done,
        computed,
        resumed,
        failed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn resume_skips_finished_points() {
        let tmp = tempfile::tempdir().unwrap();
        let store = RunStore::open(tmp.path()).unwrap();
        let grid = EpsGrid::parse("1e-3:1e-9:13").unwrap();
        let calls = AtomicUsize::new(0);
        let opts = SweepOptions {
            progress: false,
            threads: Some(2),
        };
        // First attempt: "interrupted" — points below 1e-6 fail.
        let first = run_sweep(&grid, Shard::default(), &store, &opts, |e| {
            calls.fetch_add(1, Ordering::SeqCst);
            if e < 1e-6 {
                Err(format!("interrupted at {e:e}"))
            } else {
                Ok(vec![e, e.sqrt()])
            }
        })
        .unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 13);
        assert_eq!(first.computed.len(), 7);
        assert_eq!(first.failed.len(), 6);
        assert!(!first.is_complete());
        assert!(matches!(first.failed[0].1, PointFailure::Run(_)));
        assert_eq!(store.list().unwrap().len(), 7);
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
            let s = RunStore::open(tmp.path().join(format!("shard{i}"))).unwrap();
            let rep = run_sweep(&grid, Shard::new(i, 3).unwrap(), &s, &opts, f).unwrap();
            assert_eq!(rep.computed.len(), 3);
            dirs.push(s.dir().to_path_buf());
        }
        let out = tmp.path().join("all");
        let m = crate::sweep::merge_run_dirs(&dirs, &out).unwrap();
        assert_eq!(m.written.len(), 9);
        let full = RunStore::open(&out).unwrap();
        let rep = run_sweep(&grid, Shard::default(), &full, &opts, |_| {
            Err::<f64, _>("must not run".to_string())
        })
        .unwrap();
        assert_eq!(rep.resumed.len(), 9);
        assert!(rep.failed.is_empty());
    }
}
