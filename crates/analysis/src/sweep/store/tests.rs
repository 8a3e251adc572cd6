use super::*;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Res {
    times: Vec<f64>,
    label: String,
}

fn fp(particles: u64) -> Fingerprint {
    Fingerprint::new(serde_json::json!({
        "problem": {"particles": particles, "method": "rodas4", "rtol": 1e-8},
        "version": "0.1.0",
    }))
    .unwrap()
}

fn open(dir: &Path, particles: u64) -> RunStore {
    RunStore::open(dir, fp(particles), OpenMode::Resume).unwrap()
}

#[test]
fn keys_are_lossless() {
    let grid = EpsGrid::parse("1e-3:1e-9:37").unwrap();
    for &e in grid.points() {
        let k = epsilon_key(e);
        assert_eq!(k.parse::<f64>().unwrap().to_bits(), e.to_bits(), "{k}");
    }
    assert_eq!(epsilon_key(1e-3), "1e-3");
    assert_ne!(epsilon_key(0.1 + 0.2), epsilon_key(0.3));
}

#[test]
fn fingerprint_digest_is_canonical_and_differences_are_named() {
    let a =
        Fingerprint::new(serde_json::json!({"b": 1, "a": {"y": [1.0, 2.0], "x": "s"}})).unwrap();
    let b =
        Fingerprint::new(serde_json::json!({"a": {"x": "s", "y": [1.0, 2.0]}, "b": 1})).unwrap();
    assert_eq!(a.digest(), b.digest(), "key order does not matter");
    assert_eq!(a.digest().len(), 64);
    let c =
        Fingerprint::new(serde_json::json!({"a": {"x": "t", "y": [1.0, 2.0]}, "c": true})).unwrap();
    assert_eq!(
        a.differences(&c),
        [
            "a.x: \"s\" → \"t\"",
            "b: 1 → (absent)",
            "c: (absent) → true"
        ]
    );
    assert!(Fingerprint::new(serde_json::json!([1, 2])).is_err());
}

#[test]
fn save_load_roundtrip_bit_exact() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(&tmp.path().join("a/b"), 8);
    let r = Res {
        times: vec![0.1 + 0.2, 1.0 / 3.0, 2.2250738585072014e-308, 1e300 / 7.0],
        label: "x".into(),
    };
    let eps = 10f64.powf(-4.5);
    assert!(store.load::<Res>(eps).unwrap().is_none());
    store.save(eps, &r).unwrap();
    assert!(store.contains(eps));
    let back: Res = store.load(eps).unwrap().unwrap();
    for (a, b) in r.times.iter().zip(&back.times) {
        assert_eq!(a.to_bits(), b.to_bits());
    }
    // No temporary file is left behind; stray files are ignored by list().
    fs::write(tmp.path().join("a/b/notes.txt"), "hi").unwrap();
    fs::write(tmp.path().join("a/b/.eps_1e-3.json.tmp-1-1"), "{trunc").unwrap();
    let listed = store.list().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].0, eps);
}

#[test]
fn a_directory_of_another_computation_is_refused_naming_the_differences() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path(), 8);
    store.save(1e-3, &1.0).unwrap();
    match RunStore::open(tmp.path(), fp(64), OpenMode::Resume) {
        Err(AnalysisError::StoreMismatch { dir, differences }) => {
            assert_eq!(dir, tmp.path());
            assert_eq!(differences, ["problem.particles: 8 → 64"]);
        }
        other => panic!("{other:?}"),
    }
    // The refusal changed nothing.
    assert_eq!(open(tmp.path(), 8).load::<f64>(1e-3).unwrap(), Some(1.0));
    // Fresh: the other computation's runs are gone, the new identity is in place.
    let fresh = RunStore::open(tmp.path(), fp(64), OpenMode::Fresh).unwrap();
    assert!(fresh.list().unwrap().is_empty());
    assert_eq!(RunStore::read(tmp.path()).unwrap().fingerprint(), &fp(64));
}

#[test]
fn runs_without_identity_or_of_another_digest_are_not_reused() {
    let tmp = tempfile::tempdir().unwrap();
    // An older version's directory: run files, no store.json.
    fs::write(
        tmp.path().join("eps_1e-3.json"),
        r#"{"epsilon": 0.001, "epsilon_key": "1e-3", "result": 1.0}"#,
    )
    .unwrap();
    assert!(matches!(
        RunStore::open(tmp.path(), fp(8), OpenMode::Resume),
        Err(AnalysisError::StoreMismatch { .. })
    ));
    assert!(RunStore::read(tmp.path()).is_err());
    // A run file copied in from another computation's directory.
    let other = tempfile::tempdir().unwrap();
    open(other.path(), 64).save(1e-4, &2.0).unwrap();
    let store = RunStore::open(tmp.path(), fp(8), OpenMode::Fresh).unwrap();
    fs::copy(other.path().join("eps_1e-4.json"), store.path_for(1e-4)).unwrap();
    match store.load::<f64>(1e-4) {
        Err(AnalysisError::BadRunFile { reason, .. }) => {
            assert!(reason.contains("another computation"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn failures_are_recorded_with_their_chain_and_cleared_by_a_success() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path(), 8);
    let chain = vec![
        "ε = 1e-5: direct integration failed".to_string(),
        "step size collapsed".to_string(),
    ];
    store.save_failure(1e-5, &chain).unwrap();
    let f = store.failures().unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].epsilon, &f[0].error), (1e-5, &chain));
    assert!(!store.contains(1e-5), "a failure is not a finished run");
    store.save(1e-5, &3.0).unwrap();
    assert!(store.failures().unwrap().is_empty());
}

#[test]
fn bad_files_are_reported_with_their_path() {
    let tmp = tempfile::tempdir().unwrap();
    let store = open(tmp.path(), 8);
    store.save(1e-3, &1.0).unwrap();
    // A file renamed to another epsilon.
    fs::copy(store.path_for(1e-3), store.path_for(1e-4)).unwrap();
    match store.load::<f64>(1e-4) {
        Err(AnalysisError::BadRunFile { path, .. }) => assert_eq!(path, store.path_for(1e-4)),
        other => panic!("{other:?}"),
    }
    fs::write(store.path_for(1e-5), "{not json").unwrap();
    assert!(matches!(
        store.load::<f64>(1e-5),
        Err(AnalysisError::Json { .. })
    ));
    fs::write(tmp.path().join("eps_0.001.json"), "{}").unwrap();
    assert!(matches!(
        store.list(),
        Err(AnalysisError::BadRunFile { .. })
    ));
}

/// A run result with a timing, as the sweep's points have.
fn point(v: f64, wall: f64) -> serde_json::Value {
    serde_json::json!({"value": v, "stats": {"steps": 10, "wall_seconds": wall}})
}

#[test]
fn merge_checks_fingerprints_values_and_coverage() {
    let tmp = tempfile::tempdir().unwrap();
    let grid = EpsGrid::parse("1e-3:1e-6:4").unwrap();
    let a = open(&tmp.path().join("s0"), 8);
    let b = open(&tmp.path().join("s1"), 8);
    a.save(1e-3, &point(1.0, 0.5)).unwrap();
    a.save(1e-5, &point(3.0, 0.5)).unwrap();
    b.save(1e-4, &point(4.0, 0.1)).unwrap();
    // The same value computed twice, with another wall time: a duplicate, not a conflict.
    b.save(1e-5, &point(3.0, 9.9)).unwrap();
    let out = tmp.path().join("merged");
    // 1e-6 is in no input: refused, nothing written, unless a partial merge is asked for.
    match merge_run_dirs(&[a.dir(), b.dir()], &out, &grid, false) {
        Err(AnalysisError::MergeIncomplete { missing, points }) => {
            assert_eq!((missing, points), (vec![1e-6], 4));
        }
        other => panic!("{other:?}"),
    }
    assert!(!out.exists());
    let rep = merge_run_dirs(&[a.dir(), b.dir()], &out, &grid, true).unwrap();
    assert_eq!(rep.written, vec![1e-5, 1e-4, 1e-3]);
    assert_eq!(rep.duplicates, vec![1e-5]);
    assert_eq!(rep.missing, vec![1e-6]);
    // Point 3 of the grid belongs to shard 3 mod 2 = 1 of 2.
    assert_eq!(
        crate::sweep::Shard::owners(&grid, 2, &rep.missing),
        vec![(1, vec![1e-6])]
    );
    let m = RunStore::read(&out).unwrap();
    assert_eq!(m.fingerprint(), a.fingerprint());
    let all: Vec<(f64, serde_json::Value)> = m.load_all().unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[2],
        (1e-3, point(1.0, 0.5)),
        "written as stored, timings included"
    );
    // Merging again: everything already present.
    let again = merge_run_dirs(&[a.dir(), b.dir()], &out, &grid, true).unwrap();
    assert!(again.written.is_empty());
    assert_eq!(again.already_present.len(), 3);
    // A conflicting value: nothing is written.
    let c = open(&tmp.path().join("s2"), 8);
    c.save(1e-4, &point(4.5, 0.1)).unwrap();
    c.save(1e-6, &point(9.0, 0.1)).unwrap();
    let out2 = tmp.path().join("merged2");
    match merge_run_dirs(&[a.dir(), b.dir(), c.dir()], &out2, &grid, false) {
        Err(AnalysisError::MergeConflict {
            epsilon,
            first,
            second,
        }) => {
            assert_eq!(epsilon, 1e-4);
            assert_eq!(first, b.path_for(1e-4));
            assert_eq!(second, c.path_for(1e-4));
        }
        other => panic!("{other:?}"),
    }
    assert!(!out2.exists());
    // Conflict with the output's own content.
    assert!(matches!(
        merge_run_dirs(&[c.dir()], &out, &grid, true),
        Err(AnalysisError::MergeConflict { .. })
    ));
    // A shard of another computation.
    let d = open(&tmp.path().join("s3"), 64);
    d.save(1e-6, &point(9.0, 0.1)).unwrap();
    match merge_run_dirs(&[a.dir(), d.dir()], &tmp.path().join("m3"), &grid, true) {
        Err(AnalysisError::MergeMismatch { differences, .. }) => {
            assert_eq!(differences, ["problem.particles: 8 → 64"])
        }
        other => panic!("{other:?}"),
    }
    // A point outside the grid.
    let e = open(&tmp.path().join("s4"), 8);
    e.save(0.5, &point(1.0, 0.1)).unwrap();
    assert!(matches!(
        merge_run_dirs(&[e.dir()], &tmp.path().join("m4"), &grid, true),
        Err(AnalysisError::BadRunFile { .. })
    ));
    // Not a run directory.
    assert!(
        merge_run_dirs(
            &[tmp.path().join("nope")],
            &tmp.path().join("m5"),
            &grid,
            true
        )
        .is_err()
    );
}
