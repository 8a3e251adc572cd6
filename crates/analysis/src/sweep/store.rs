//! Per-ε run files: atomic writes, resume, and merging shard directories.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{AnalysisError, Result};

/// Canonical, lossless text key of an ε: Rust's shortest round-trip scientific notation,
/// e.g. `1e-3`, `3.1622776601683794e-4`. `epsilon_key(e).parse::<f64>() == Ok(e)` for every
/// finite `e`, and equal ε always give the same key.
pub fn epsilon_key(eps: f64) -> String {
    format!("{eps:e}")
}

/// The content of one run file: the ε (as a number and as its key) and the closure's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord<R> {
    /// The ε of the run.
    pub epsilon: f64,
    /// Its canonical key (also the file name's stem after `eps_`).
    pub epsilon_key: String,
    /// The result.
    pub result: R,
}

/// A run directory: one file `eps_<key>.json` per finished ε (see [`epsilon_key`]).
///
/// Files are written atomically (a temporary file `.eps_<key>.json.tmp-…` in the same
/// directory, flushed and synced, then renamed over the final name), so a file that exists
/// is complete: an interrupted sweep leaves at most a stray temporary file, which is ignored.
/// Several processes (shards) may share one directory since their keys are disjoint.
#[derive(Debug, Clone)]
pub struct RunStore {
    dir: PathBuf,
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

const PREFIX: &str = "eps_";
const SUFFIX: &str = ".json";

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AnalysisError + '_ {
    move |source| AnalysisError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl RunStore {
    /// Opens (creating it and its parents if needed) the run directory `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        Ok(Self { dir })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of the run file of `eps`.
    pub fn path_for(&self, eps: f64) -> PathBuf {
        self.dir
            .join(format!("{PREFIX}{}{SUFFIX}", epsilon_key(eps)))
    }

    /// Whether a finished run of `eps` is stored.
    pub fn contains(&self, eps: f64) -> bool {
        self.path_for(eps).is_file()
    }

    /// Stores `result` for `eps`, atomically (replacing an older file).
    pub fn save<R: Serialize>(&self, eps: f64, result: &R) -> Result<()> {
        let record = RunRecord {
            epsilon: eps,
            epsilon_key: epsilon_key(eps),
            result,
        };
        let bytes = serde_json::to_vec_pretty(&record).map_err(|source| AnalysisError::Json {
            path: self.path_for(eps),
            source,
        })?;
        self.write_atomic(eps, &bytes)
    }

    fn write_atomic(&self, eps: f64, bytes: &[u8]) -> Result<()> {
        let path = self.path_for(eps);
        let tmp = self.dir.join(format!(
            ".{PREFIX}{}{SUFFIX}.tmp-{}-{}",
            epsilon_key(eps),
            std::process::id(),
            TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        let write = || -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.write_all(b"\n")?;
            f.sync_all()
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(&tmp)(e));
        }
        if let Err(e) = fs::rename(&tmp, &path) {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(&path)(e));
        }
        // Make the rename durable where the platform allows it (best effort).
        if let Ok(d) = fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Loads the stored result of `eps`, if any.
    pub fn load<R: DeserializeOwned>(&self, eps: f64) -> Result<Option<R>> {
        let path = self.path_for(eps);
        if !path.is_file() {
            return Ok(None);
        }
        read_record::<R>(&path, &epsilon_key(eps)).map(|r| Some(r.result))
    }

    /// The stored ε and their files, sorted by ε ascending. Files not named `eps_<key>.json`
    /// are ignored; a name whose key is not canonical is an error.
    pub fn list(&self) -> Result<Vec<(f64, PathBuf)>> {
        let mut out = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(io_err(&self.dir))? {
            let entry = entry.map_err(io_err(&self.dir))?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let Some(key) = name
                .strip_prefix(PREFIX)
                .and_then(|s| s.strip_suffix(SUFFIX))
            else {
                continue;
            };
            let path = entry.path();
            let eps: f64 = key.parse().map_err(|_| AnalysisError::BadRunFile {
                path: path.clone(),
                reason: format!("`{key}` is not a number"),
            })?;
            if epsilon_key(eps) != key {
                return Err(AnalysisError::BadRunFile {
                    path,
                    reason: format!(
                        "key `{key}` is not canonical (expected `{}`)",
                        epsilon_key(eps)
                    ),
                });
            }
            out.push((eps, path));
        }
        out.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(out)
    }

    /// Loads every stored run, sorted by ε ascending.
    pub fn load_all<R: DeserializeOwned>(&self) -> Result<Vec<(f64, R)>> {
        self.list()?
            .into_iter()
            .map(|(eps, path)| read_record::<R>(&path, &epsilon_key(eps)).map(|r| (eps, r.result)))
            .collect()
    }
}

/// Reads a run file and checks that its key matches the file name.
fn read_record<R: DeserializeOwned>(path: &Path, key: &str) -> Result<RunRecord<R>> {
    let bytes = fs::read(path).map_err(io_err(path))?;
    let rec: RunRecord<R> =
        serde_json::from_slice(&bytes).map_err(|source| AnalysisError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    if rec.epsilon_key != key || epsilon_key(rec.epsilon) != key {
        return Err(AnalysisError::BadRunFile {
            path: path.to_path_buf(),
            reason: format!(
                "file is named for epsilon {key} but holds epsilon {} (key `{}`)",
                rec.epsilon, rec.epsilon_key
            ),
        });
    }
    Ok(rec)
}

/// What [`merge_run_dirs`] did.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MergeReport {
    /// ε written to the output directory.
    pub written: Vec<f64>,
    /// ε found in several inputs with identical content (written once).
    pub duplicates: Vec<f64>,
    /// ε already in the output directory with identical content (left as is).
    pub already_present: Vec<f64>,
}

/// Merges the run files of several (shard) directories into `output`.
///
/// Files are compared as JSON values: the same ε in two inputs (or in an input and the
/// output) with identical content is a duplicate and is kept once; with different content it
/// is a [`AnalysisError::MergeConflict`] naming both files. Every input is read and checked
/// before anything is written, so a conflict leaves `output` untouched. Writes are atomic.
pub fn merge_run_dirs<P: AsRef<Path>>(inputs: &[P], output: &Path) -> Result<MergeReport> {
    let mut merged: BTreeMap<u64, (f64, serde_json::Value, PathBuf)> = BTreeMap::new();
    let mut report = MergeReport::default();
    for dir in inputs {
        let dir = dir.as_ref();
        if !dir.is_dir() {
            return Err(AnalysisError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            });
        }
        let store = RunStore {
            dir: dir.to_path_buf(),
        };
        for (eps, path) in store.list()? {
            let rec = read_record::<serde_json::Value>(&path, &epsilon_key(eps))?;
            let value = rec.result;
            match merged.get(&eps.to_bits()) {
                Some((_, v, first)) if *v != value => {
                    return Err(AnalysisError::MergeConflict {
                        epsilon: eps,
                        first: first.clone(),
                        second: path,
                    });
                }
                Some(_) => report.duplicates.push(eps),
                None => {
                    merged.insert(eps.to_bits(), (eps, value, path));
                }
            }
        }
    }
    let out = RunStore::open(output)?;
    let mut to_write = Vec::new();
    for (eps, value, path) in merged.into_values() {
        let existing = out.path_for(eps);
        if existing.is_file() {
            let rec = read_record::<serde_json::Value>(&existing, &epsilon_key(eps))?;
            if rec.result != value {
                return Err(AnalysisError::MergeConflict {
                    epsilon: eps,
                    first: path,
                    second: existing,
                });
            }
            report.already_present.push(eps);
        } else {
            to_write.push((eps, value));
        }
    }
    for (eps, value) in to_write {
        out.save(eps, &value)?;
        report.written.push(eps);
    }
    report.duplicates.sort_by(f64::total_cmp);
    report.duplicates.dedup();
    report.written.sort_by(f64::total_cmp);
    report.already_present.sort_by(f64::total_cmp);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct Res {
        times: Vec<f64>,
        label: String,
    }

    #[test]
    fn keys_are_lossless() {
        let grid = crate::sweep::EpsGrid::parse("1e-3:1e-9:37").unwrap();
        for &e in grid.points() {
            let k = epsilon_key(e);
            assert_eq!(k.parse::<f64>().unwrap().to_bits(), e.to_bits(), "{k}");
        }
        assert_eq!(epsilon_key(1e-3), "1e-3");
        assert_ne!(epsilon_key(0.1 + 0.2), epsilon_key(0.3));
    }

    #[test]
    fn save_load_roundtrip_bit_exact() {
        let tmp = tempfile::tempdir().unwrap();
        let store = RunStore::open(tmp.path().join("a/b")).unwrap();
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
    fn bad_files_are_reported_with_their_path() {
        let tmp = tempfile::tempdir().unwrap();
        let store = RunStore::open(tmp.path()).unwrap();
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

    #[test]
    fn merge_detects_duplicates_and_conflicts() {
        let tmp = tempfile::tempdir().unwrap();
        let a = RunStore::open(tmp.path().join("s0")).unwrap();
        let b = RunStore::open(tmp.path().join("s1")).unwrap();
        a.save(1e-3, &vec![1.0, 2.0]).unwrap();
        a.save(1e-5, &vec![3.0]).unwrap();
        b.save(1e-4, &vec![4.0]).unwrap();
        b.save(1e-5, &vec![3.0]).unwrap(); // duplicate, identical
        let out = tmp.path().join("merged");
        let rep = merge_run_dirs(&[a.dir(), b.dir()], &out).unwrap();
        assert_eq!(rep.written, vec![1e-5, 1e-4, 1e-3]);
        assert_eq!(rep.duplicates, vec![1e-5]);
        let m = RunStore::open(&out).unwrap();
        let all: Vec<(f64, Vec<f64>)> = m.load_all().unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[2], (1e-3, vec![1.0, 2.0]));
        // Merging again: everything already present.
        let again = merge_run_dirs(&[a.dir(), b.dir()], &out).unwrap();
        assert!(again.written.is_empty());
        assert_eq!(again.already_present.len(), 3);
        // A conflicting shard: nothing is written.
        let c = RunStore::open(tmp.path().join("s2")).unwrap();
        c.save(1e-4, &vec![4.5]).unwrap();
        c.save(1e-6, &vec![9.0]).unwrap();
        let out2 = tmp.path().join("merged2");
        match merge_run_dirs(&[a.dir(), b.dir(), c.dir()], &out2) {
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
        assert!(!out2.exists() || fs::read_dir(&out2).unwrap().next().is_none());
        // Conflict with the output's own content.
        assert!(matches!(
            merge_run_dirs(&[c.dir()], &out),
            Err(AnalysisError::MergeConflict { .. })
        ));
    }
}
