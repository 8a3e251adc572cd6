//! An interrupted sweep keeps what finished, records no failure for the points it stopped,
//! starts no further point, and a rerun completes it. (Its own test binary: the interrupt
//! request is process-wide.)

use std::sync::atomic::{AtomicUsize, Ordering};

use timescales_analysis::sweep::{
    EpsGrid, Fingerprint, OpenMode, RunStore, Shard, SweepOptions, run_sweep,
};
use timescales_ode::interrupt;

#[test]
fn an_interrupted_sweep_keeps_finished_points_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let what = Fingerprint::new(serde_json::json!({"f": "sqrt"})).unwrap();
    let store = RunStore::open(tmp.path(), what, OpenMode::Resume).unwrap();
    let grid = EpsGrid::parse("1e-1:1e-6:6").unwrap();
    let opts = SweepOptions {
        progress: false,
        threads: Some(1),
    };
    let calls = AtomicUsize::new(0);
    let first = run_sweep(&grid, Shard::default(), &store, &opts, |e| {
        // The third point is interrupted while it runs (as an integration would be: it
        // fails with the interrupt as its error).
        if calls.fetch_add(1, Ordering::SeqCst) == 2 {
            interrupt::request();
            return Err("interrupted at t = 0.5".to_string());
        }
        Ok(e.sqrt())
    })
    .unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        3,
        "no point starts after the request"
    );
    assert_eq!(first.computed.len(), 2);
    assert!(
        first.failed.is_empty(),
        "an interrupted point is not a failure"
    );
    assert_eq!(first.interrupted, grid.points()[2..].to_vec());
    assert!(!first.is_complete());
    assert!(store.failures().unwrap().is_empty());
    assert_eq!(store.list().unwrap().len(), 2);
    interrupt::clear();
    let second = run_sweep(&grid, Shard::default(), &store, &opts, |e| {
        Ok::<_, String>(e.sqrt())
    })
    .unwrap();
    assert_eq!((second.resumed.len(), second.computed.len()), (2, 4));
    assert!(second.is_complete());
    for (e, v) in &second.results {
        assert_eq!(v.to_bits(), e.sqrt().to_bits());
    }
}
