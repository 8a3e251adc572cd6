//! Per-ε run files that describe themselves: a fingerprint of the computation, atomic
//! writes, resume of matching runs only, recorded failures, and checked merges of shards.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use timescales_report::{sha256_hex, write_bytes_atomic};

use super::EpsGrid;
use crate::error::{AnalysisError, Result};

/// Canonical, lossless text key of an ε: Rust's shortest round-trip scientific notation,
/// e.g. `1e-3`, `3.1622776601683794e-4`. `epsilon_key(e).parse::<f64>() == Ok(e)` for every
/// finite `e`, and equal ε always give the same key.
pub fn epsilon_key(eps: f64) -> String {
    format!("{eps:e}")
}

/// Everything that determines the numbers of a run but ε: a JSON object of named
/// parameters (the resolved scenario, particle count, placement and seed, method,
/// tolerances, the program's version and commit, …), and its SHA-256 digest over the
/// canonical JSON (keys sorted, shortest round-trip floats).
///
/// Two computations with equal fingerprints give the same numbers at every ε, so a store
/// reuses a run only under an equal fingerprint, and only stores of equal fingerprints are
/// merged.
///
/// ```
/// # use timescales_analysis::sweep::Fingerprint;
/// let a = Fingerprint::new(serde_json::json!({"particles": 8, "method": "rodas4"}))?;
/// let b = Fingerprint::new(serde_json::json!({"method": "rodas4", "particles": 64}))?;
/// assert_ne!(a.digest(), b.digest());
/// assert_eq!(a.differences(&b), ["particles: 8 → 64"]);
/// # Ok::<(), timescales_analysis::AnalysisError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    fields: Value,
    digest: String,
}

/// `v` with every object's keys in sorted order (whatever serde_json's map preserves).
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            let mut out = serde_json::Map::new();
            for (k, v) in sorted {
                out.insert(k.clone(), v);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// `path → value` of every leaf of `v` (objects flattened with `.`).
fn leaves(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// A value for a message: at most 60 characters.
fn short(v: &str) -> String {
    if v.chars().count() <= 60 {
        v.to_string()
    } else {
        format!("{}…", v.chars().take(59).collect::<String>())
    }
}

impl Fingerprint {
    /// The fingerprint of `fields` (a JSON object).
    ///
    /// # Errors
    /// [`AnalysisError::BadRunFile`] when `fields` is not a JSON object.
    pub fn new(fields: Value) -> Result<Self> {
        if !fields.is_object() {
            return Err(AnalysisError::BadRunFile {
                path: PathBuf::from("<fingerprint>"),
                reason: "a fingerprint is a JSON object of named parameters".into(),
            });
        }
        let fields = canonical(&fields);
        let bytes = serde_json::to_vec(&fields).map_err(|source| AnalysisError::Json {
            path: PathBuf::from("<fingerprint>"),
            source,
        })?;
        Ok(Self {
            digest: sha256_hex(&bytes),
            fields,
        })
    }

    /// The named parameters.
    pub fn fields(&self) -> &Value {
        &self.fields
    }

    /// The SHA-256 digest of the canonical JSON, lower-case hexadecimal.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// What differs from `other`, one `key: this → other` per differing leaf (nested keys
    /// joined with `.`; `(absent)` where a key is missing on one side).
    pub fn differences(&self, other: &Fingerprint) -> Vec<String> {
        let (mut a, mut b) = (BTreeMap::new(), BTreeMap::new());
        leaves("", &self.fields, &mut a);
        leaves("", &other.fields, &mut b);
        let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
        let absent = "(absent)".to_string();
        keys.into_iter()
            .filter(|k| a.get(*k) != b.get(*k))
            .map(|k| {
                format!(
                    "{k}: {} → {}",
                    short(a.get(k).unwrap_or(&absent)),
                    short(b.get(k).unwrap_or(&absent))
                )
            })
            .collect()
    }
}

/// The content of one run file: the ε (as a number and as its key), the digest of the
/// computation's fingerprint, and the closure's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord<R> {
    /// The ε of the run.
    pub epsilon: f64,
    /// Its canonical key (also the file name's stem after `eps_`).
    pub epsilon_key: String,
    /// [`Fingerprint::digest`] of the computation that produced it.
    pub fingerprint: String,
    /// The result.
    pub result: R,
}

/// The record of a failed run: its error, outermost first, then each cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// The ε of the run.
    pub epsilon: f64,
    /// Its canonical key.
    pub epsilon_key: String,
    /// [`Fingerprint::digest`] of the computation.
    pub fingerprint: String,
    /// The error chain: the error's message, then its source's, and so on.
    pub error: Vec<String>,
}

/// Whether [`RunStore::open`] keeps the runs of an equal fingerprint or discards the
/// directory's runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OpenMode {
    /// Reuse the stored runs; a directory of another fingerprint is an error.
    #[default]
    Resume,
    /// Remove every stored run and failure first, whatever their fingerprint.
    Fresh,
}

/// A run directory: its identity `store.json` (the [`Fingerprint`]), one file
/// `eps_<key>.json` per finished ε (see [`epsilon_key`]) and one `failed_<key>.json` per ε
/// whose last attempt failed.
///
/// Files are written atomically (a temporary sibling, synced, renamed, the directory
/// synced), so a file that exists is complete: an interrupted sweep leaves at most a stray
/// temporary file, which is ignored. Several processes (shards) may share one directory:
/// their keys are disjoint and they write the same `store.json`.
#[derive(Debug, Clone)]
pub struct RunStore {
    dir: PathBuf,
    fingerprint: Fingerprint,
}

const PREFIX: &str = "eps_";
const FAILED: &str = "failed_";
const SUFFIX: &str = ".json";
const IDENTITY: &str = "store.json";

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> AnalysisError + '_ {
    move |source| AnalysisError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_err(path: &Path) -> impl FnOnce(timescales_report::ReportError) -> AnalysisError + '_ {
    move |e| AnalysisError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

fn json_err(path: &Path) -> impl FnOnce(serde_json::Error) -> AnalysisError + '_ {
    move |source| AnalysisError::Json {
        path: path.to_path_buf(),
        source,
    }
}

/// `(ε, key)` of a file name `prefix<key>.json`; `None` for other names; an error for a
/// key that is not a canonical ε.
fn parse_name(path: &Path, name: &str, prefix: &str) -> Result<Option<f64>> {
    let Some(key) = name
        .strip_prefix(prefix)
        .and_then(|s| s.strip_suffix(SUFFIX))
    else {
        return Ok(None);
    };
    let eps: f64 = key.parse().map_err(|_| AnalysisError::BadRunFile {
        path: path.to_path_buf(),
        reason: format!("`{key}` is not a number"),
    })?;
    if epsilon_key(eps) != key {
        return Err(AnalysisError::BadRunFile {
            path: path.to_path_buf(),
            reason: format!(
                "key `{key}` is not canonical (expected `{}`)",
                epsilon_key(eps)
            ),
        });
    }
    Ok(Some(eps))
}

/// The files `prefix<key>.json` of `dir`, sorted by ε ascending.
fn list_prefixed(dir: &Path, prefix: &str) -> Result<Vec<(f64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let path = entry.path();
        if let Some(eps) = parse_name(&path, name, prefix)? {
            out.push((eps, path));
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    Ok(out)
}

/// The fingerprint a directory's `store.json` holds, if it has one.
fn stored_identity(dir: &Path) -> Result<Option<Fingerprint>> {
    let path = dir.join(IDENTITY);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(json_err(&path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_err(&path)(e)),
    }
}

impl RunStore {
    /// Opens (creating it and its parents if needed) the run directory `dir` for the
    /// computation `fingerprint`.
    ///
    /// With [`OpenMode::Resume`], a directory whose `store.json` holds another fingerprint,
    /// or that holds run files but no `store.json` (an older version's), is refused with
    /// the differences named; with [`OpenMode::Fresh`] its runs, failures and identity are
    /// removed first.
    ///
    /// # Errors
    /// [`AnalysisError::StoreMismatch`], or a file-system error naming the path.
    pub fn open(dir: impl Into<PathBuf>, fingerprint: Fingerprint, mode: OpenMode) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let store = Self { dir, fingerprint };
        let stored = stored_identity(&store.dir)?;
        let runs = !list_prefixed(&store.dir, PREFIX)?.is_empty();
        let differences = match &stored {
            Some(f) if f.digest() != store.fingerprint.digest() => {
                let d = f.differences(&store.fingerprint);
                if d.is_empty() {
                    vec!["the stored digest does not match its parameters".to_string()]
                } else {
                    d
                }
            }
            None if runs => vec![
                "the runs have no fingerprint (written by an older version of timescales)"
                    .to_string(),
            ],
            _ => Vec::new(),
        };
        match mode {
            OpenMode::Resume if !differences.is_empty() => Err(AnalysisError::StoreMismatch {
                dir: store.dir,
                differences,
            }),
            OpenMode::Fresh => {
                store.clear()?;
                store.write_identity()?;
                Ok(store)
            }
            OpenMode::Resume => {
                if stored.is_none() {
                    store.write_identity()?;
                }
                Ok(store)
            }
        }
    }

    /// Opens an existing run directory for reading, with the fingerprint its `store.json`
    /// holds.
    ///
    /// # Errors
    /// [`AnalysisError::BadRunFile`] when the directory has no `store.json` (not a run
    /// directory, or one written by an older version), or a file-system error.
    pub fn read(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        if !dir.is_dir() {
            return Err(AnalysisError::Io {
                path: dir,
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not a directory"),
            });
        }
        let fingerprint = stored_identity(&dir)?.ok_or_else(|| AnalysisError::BadRunFile {
            path: dir.join(IDENTITY),
            reason: "missing: not a run directory of this version of timescales".into(),
        })?;
        Ok(Self { dir, fingerprint })
    }

    fn write_identity(&self) -> Result<()> {
        let path = self.dir.join(IDENTITY);
        let bytes = serde_json::to_vec_pretty(&self.fingerprint).map_err(json_err(&path))?;
        write_bytes_atomic(&path, &bytes).map_err(write_err(&path))
    }

    /// Removes every run file, failure record and the identity.
    fn clear(&self) -> Result<()> {
        for prefix in [PREFIX, FAILED] {
            for (_, path) in list_prefixed(&self.dir, prefix)? {
                fs::remove_file(&path).map_err(io_err(&path))?;
            }
        }
        match fs::remove_file(self.dir.join(IDENTITY)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io_err(&self.dir.join(IDENTITY))(e))
            }
            _ => Ok(()),
        }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The fingerprint of the computation whose runs this directory holds.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// Path of the run file of `eps`.
    pub fn path_for(&self, eps: f64) -> PathBuf {
        self.dir
            .join(format!("{PREFIX}{}{SUFFIX}", epsilon_key(eps)))
    }

    fn failure_path(&self, eps: f64) -> PathBuf {
        self.dir
            .join(format!("{FAILED}{}{SUFFIX}", epsilon_key(eps)))
    }

    /// Whether a finished run of `eps` is stored.
    pub fn contains(&self, eps: f64) -> bool {
        self.path_for(eps).is_file()
    }

    /// Stores `result` for `eps`, atomically (replacing an older file), and forgets an
    /// earlier failure of `eps`.
    pub fn save<R: Serialize>(&self, eps: f64, result: &R) -> Result<()> {
        let path = self.path_for(eps);
        let record = RunRecord {
            epsilon: eps,
            epsilon_key: epsilon_key(eps),
            fingerprint: self.fingerprint.digest().to_string(),
            result,
        };
        let mut bytes = serde_json::to_vec_pretty(&record).map_err(json_err(&path))?;
        bytes.push(b'\n');
        write_bytes_atomic(&path, &bytes).map_err(write_err(&path))?;
        let failed = self.failure_path(eps);
        match fs::remove_file(&failed) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&failed)(e)),
            _ => Ok(()),
        }
    }

    /// Records that the run of `eps` failed with `error` (its chain, outermost first).
    pub fn save_failure(&self, eps: f64, error: &[String]) -> Result<()> {
        let path = self.failure_path(eps);
        let record = FailureRecord {
            epsilon: eps,
            epsilon_key: epsilon_key(eps),
            fingerprint: self.fingerprint.digest().to_string(),
            error: error.to_vec(),
        };
        let bytes = serde_json::to_vec_pretty(&record).map_err(json_err(&path))?;
        write_bytes_atomic(&path, &bytes).map_err(write_err(&path))
    }

    /// The recorded failures (of ε not finished since), sorted by ε ascending.
    pub fn failures(&self) -> Result<Vec<FailureRecord>> {
        list_prefixed(&self.dir, FAILED)?
            .into_iter()
            .map(|(_, path)| {
                let bytes = fs::read(&path).map_err(io_err(&path))?;
                serde_json::from_slice(&bytes).map_err(json_err(&path))
            })
            .collect()
    }

    /// Loads the stored result of `eps`, if any.
    pub fn load<R: DeserializeOwned>(&self, eps: f64) -> Result<Option<R>> {
        let path = self.path_for(eps);
        if !path.is_file() {
            return Ok(None);
        }
        self.read_record::<R>(&path, &epsilon_key(eps))
            .map(|r| Some(r.result))
    }

    /// The stored ε and their files, sorted by ε ascending. Files not named `eps_<key>.json`
    /// are ignored; a name whose key is not canonical is an error.
    pub fn list(&self) -> Result<Vec<(f64, PathBuf)>> {
        list_prefixed(&self.dir, PREFIX)
    }

    /// Loads every stored run, sorted by ε ascending.
    pub fn load_all<R: DeserializeOwned>(&self) -> Result<Vec<(f64, R)>> {
        self.list()?
            .into_iter()
            .map(|(eps, path)| {
                self.read_record::<R>(&path, &epsilon_key(eps))
                    .map(|r| (eps, r.result))
            })
            .collect()
    }

    /// Reads a run file and checks that its key matches the file name and its fingerprint
    /// the directory's.
    fn read_record<R: DeserializeOwned>(&self, path: &Path, key: &str) -> Result<RunRecord<R>> {
        let bytes = fs::read(path).map_err(io_err(path))?;
        let rec: RunRecord<R> = serde_json::from_slice(&bytes).map_err(json_err(path))?;
        if rec.epsilon_key != key || epsilon_key(rec.epsilon) != key {
            return Err(AnalysisError::BadRunFile {
                path: path.to_path_buf(),
                reason: format!(
                    "file is named for epsilon {key} but holds epsilon {} (key `{}`)",
                    rec.epsilon, rec.epsilon_key
                ),
            });
        }
        if rec.fingerprint != self.fingerprint.digest() {
            return Err(AnalysisError::BadRunFile {
                path: path.to_path_buf(),
                reason: format!(
                    "written by another computation (fingerprint {}, the directory's is {})",
                    rec.fingerprint,
                    self.fingerprint.digest()
                ),
            });
        }
        Ok(rec)
    }
}

/// Whether two results agree on everything but their timings (every key `wall_seconds`, at
/// any depth): what two runs of the same computation must agree on.
fn same_values(a: &Value, b: &Value) -> bool {
    without_timings(a.clone()) == without_timings(b.clone())
}

/// `v` without its timings.
fn without_timings(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(k, _)| k != "wall_seconds")
                .map(|(k, v)| (k, without_timings(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_timings).collect()),
        other => other,
    }
}

/// What [`merge_run_dirs`] did.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MergeReport {
    /// ε written to the output directory.
    pub written: Vec<f64>,
    /// ε found in several inputs with equal values (written once).
    pub duplicates: Vec<f64>,
    /// ε already in the output directory with equal values (left as is).
    pub already_present: Vec<f64>,
    /// Points of the grid found in no input (and not in the output), in grid order.
    pub missing: Vec<f64>,
}

/// Merges the run directories of several shards of the sweep over `grid` into `output`.
///
/// Checked before anything is written (a refusal leaves `output` untouched):
/// - every input has the fingerprint of the first ([`AnalysisError::MergeMismatch`] names
///   the differences), and so has `output` if it already holds runs
///   ([`AnalysisError::StoreMismatch`]);
/// - the same ε in two inputs (or in an input and the output) must hold equal values,
///   timings aside: a duplicate is kept once, a difference is a
///   [`AnalysisError::MergeConflict`] naming both files;
/// - runs of ε outside `grid` are an error ([`AnalysisError::BadRunFile`]);
/// - every point of `grid` is in an input or already in `output`, unless `partial`
///   ([`AnalysisError::MergeIncomplete`] lists the others; see [`Shard::owners`] for the
///   shards to rerun). With `partial` they are listed in [`MergeReport::missing`].
///
/// Writes are atomic; each run is written as stored (timings included).
///
/// [`Shard::owners`]: super::Shard::owners
pub fn merge_run_dirs<P: AsRef<Path>>(
    inputs: &[P],
    output: &Path,
    grid: &EpsGrid,
    partial: bool,
) -> Result<MergeReport> {
    let mut merged: BTreeMap<u64, (f64, Value, PathBuf)> = BTreeMap::new();
    let mut report = MergeReport::default();
    let mut first: Option<RunStore> = None;
    for dir in inputs {
        let store = RunStore::read(dir.as_ref())?;
        if let Some(f) = &first
            && f.fingerprint.digest() != store.fingerprint.digest()
        {
            return Err(AnalysisError::MergeMismatch {
                first: f.dir.clone(),
                second: store.dir.clone(),
                differences: f.fingerprint.differences(&store.fingerprint),
            });
        }
        for (eps, path) in store.list()? {
            if !grid.points().contains(&eps) {
                return Err(AnalysisError::BadRunFile {
                    path,
                    reason: format!("epsilon {eps:e} is not a point of the grid merged"),
                });
            }
            let value = store.read_record::<Value>(&path, &epsilon_key(eps))?.result;
            match merged.get(&eps.to_bits()) {
                Some((_, v, first)) if !same_values(v, &value) => {
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
        first.get_or_insert(store);
    }
    let Some(first) = first else {
        return Err(AnalysisError::TooFewPoints {
            what: "merge",
            needed: 1,
            got: 0,
        });
    };
    let mut present: Vec<f64> = merged.values().map(|m| m.0).collect();
    if output.is_dir() {
        present.extend(list_prefixed(output, PREFIX)?.into_iter().map(|(e, _)| e));
    }
    report.missing = grid.missing(&present);
    if !report.missing.is_empty() && !partial {
        return Err(AnalysisError::MergeIncomplete {
            missing: report.missing,
            points: grid.len(),
        });
    }
    let out = RunStore::open(output, first.fingerprint.clone(), OpenMode::Resume)?;
    let mut to_write = Vec::new();
    for (eps, value, path) in merged.into_values() {
        let existing = out.path_for(eps);
        if existing.is_file() {
            let rec = out.read_record::<Value>(&existing, &epsilon_key(eps))?;
            if !same_values(&rec.result, &value) {
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
mod tests;
