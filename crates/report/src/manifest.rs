//! The files of one invocation as a set, closed by a manifest written last.
//!
//! A command that writes several files into a directory opens an [`OutputSet`], writes each
//! file (atomically) at a path it registers with [`OutputSet::path`], and ends with
//! [`OutputSet::finish`], which
//! 1. checksums every registered file (SHA-256),
//! 2. removes the files that the directory's previous manifest listed and this invocation
//!    did not write (stale outputs of an earlier invocation, e.g. a plot no longer drawn),
//! 3. syncs the directory (once for all the set's renames: while a set is open, a file
//!    written into its directory with [`write_atomic`](crate::write_atomic) is synced and
//!    renamed but the directory is not synced per file),
//! 4. writes the manifest — the caller's provenance plus the list of files with their sizes
//!    and checksums — last, atomically, and syncs the directory again.
//!
//! The previous manifest is removed when the set is opened, so a directory whose manifest
//! exists holds a complete set, and every file in it is the one checksummed there
//! (`sha256sum` of a listed file equals its `sha256`). A directory without a manifest holds
//! an interrupted or failed invocation's files.
//!
//! ```
//! use timescales_report::{OutputSet, write_csv, Table};
//! let dir = tempfile::tempdir().unwrap();
//! let mut set = OutputSet::begin(dir.path(), "run.json")?;
//! write_csv(&Table::new().f64("t", vec![0.0, 1.0]), &set.path("t.csv"))?;
//! let manifest = set.finish(serde_json::json!({ "command": "example" }))?;
//! assert_eq!(manifest.files[0].name, "t.csv");
//! assert!(dir.path().join("run.json").is_file());
//! # Ok::<(), timescales_report::ReportError>(())
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ReportError;
use crate::atomic::{close_set_dir, open_set_dir, sync_dir, write_json_atomic};

/// Lower-case hexadecimal SHA-256 of `bytes` (what `sha256sum` prints).
///
/// ```
/// assert_eq!(
///     timescales_report::sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// One file of a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its name, relative to the directory.
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256, lower-case hexadecimal.
    pub sha256: String,
}

/// What [`OutputSet::finish`] wrote and found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// The files written by this invocation, in the order they were registered.
    pub files: Vec<FileEntry>,
    /// Files of the previous invocation's set that this one did not write, removed.
    pub removed: Vec<String>,
    /// Other files in the directory that no manifest accounts for (left alone: they were
    /// not written by this invocation, perhaps by an older version or by hand).
    pub unlisted: Vec<String>,
}

/// The files of one invocation in one directory (module documentation).
#[derive(Debug)]
pub struct OutputSet {
    dir: PathBuf,
    manifest: String,
    files: Vec<String>,
    previous: Vec<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The names a manifest lists (an unreadable or foreign manifest lists none).
fn listed(path: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    value
        .get("files")
        .and_then(|f| f.as_array())
        .map(|files| {
            files
                .iter()
                .filter_map(|f| f.get("name").and_then(|n| n.as_str()))
                .filter(|n| is_plain_name(n))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// A file name without directories (a manifest is never trusted to name files elsewhere).
fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains('/') && !name.contains('\\')
}

impl Drop for OutputSet {
    fn drop(&mut self) {
        close_set_dir(&self.dir);
    }
}

impl OutputSet {
    /// Opens the set of `dir` (creating it), whose manifest will be `dir/manifest`. The
    /// previous manifest, if any, is read (to know its files) and removed.
    ///
    /// # Errors
    /// [`ReportError::Io`] if the directory cannot be created or the old manifest removed.
    pub fn begin(dir: impl Into<PathBuf>, manifest: &str) -> Result<Self, ReportError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let old = dir.join(manifest);
        let previous = listed(&old);
        match std::fs::remove_file(&old) {
            Ok(()) => sync_dir(&dir).map_err(io(&dir))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&old)(e)),
        }
        open_set_dir(&dir);
        Ok(Self {
            dir,
            manifest: manifest.to_string(),
            files: Vec::new(),
            previous,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Registers `name` as a file of this set and returns its path (write it there).
    pub fn path(&mut self, name: &str) -> PathBuf {
        if !self.files.iter().any(|f| f == name) {
            self.files.push(name.to_string());
        }
        self.dir.join(name)
    }

    /// The names registered so far.
    pub fn names(&self) -> &[String] {
        &self.files
    }

    /// Checksums the registered files, removes the previous set's files not written again,
    /// and writes the manifest: `provenance` (a JSON object) with `files` added. Returns
    /// what it did.
    ///
    /// # Errors
    /// [`ReportError::Io`] if a registered file is missing or unreadable, or a write fails;
    /// [`ReportError::Table`] if `provenance` is not a JSON object.
    pub fn finish(self, provenance: serde_json::Value) -> Result<Manifest, ReportError> {
        let serde_json::Value::Object(mut record) = provenance else {
            return Err(ReportError::Table {
                what: self.manifest.clone(),
                message: "provenance must be a JSON object".into(),
            });
        };
        let mut files = Vec::with_capacity(self.files.len());
        for name in &self.files {
            let path = self.dir.join(name);
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            files.push(FileEntry {
                name: name.clone(),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
            });
        }
        let mut removed = Vec::new();
        for name in &self.previous {
            if name == &self.manifest || self.files.contains(name) {
                continue;
            }
            let path = self.dir.join(name);
            match std::fs::remove_file(&path) {
                Ok(()) => removed.push(name.clone()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path)(e)),
            }
        }
        let mut unlisted = Vec::new();
        for entry in std::fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let entry = entry.map_err(io(&self.dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = entry.file_type().map(|t| t.is_file()).unwrap_or(false);
            if is_file
                && !name.starts_with('.')
                && name != self.manifest
                && !self.files.contains(&name)
            {
                unlisted.push(name);
            }
        }
        unlisted.sort();
        record.insert(
            "files".into(),
            serde_json::to_value(&files).map_err(|e| ReportError::Table {
                what: self.manifest.clone(),
                message: e.to_string(),
            })?,
        );
        if !removed.is_empty() {
            record.insert("removed_stale".into(), serde_json::json!(removed));
        }
        // The renames (and removals) of the set are durable before the manifest exists;
        // the manifest's own rename is made durable after it.
        sync_dir(&self.dir).map_err(io(&self.dir))?;
        write_json_atomic(&self.dir.join(&self.manifest), &record)?;
        sync_dir(&self.dir).map_err(io(&self.dir))?;
        Ok(Manifest {
            files,
            removed,
            unlisted,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(set: &mut OutputSet, name: &str, text: &str) {
        crate::atomic::write_bytes_atomic(&set.path(name), text.as_bytes()).unwrap();
    }

    #[test]
    fn manifest_lists_exactly_this_invocations_files_and_removes_stale_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = OutputSet::begin(dir.path(), "m.json").unwrap();
        write(&mut first, "a.csv", "1\n");
        write(&mut first, "plot.svg", "<svg/>");
        first.finish(serde_json::json!({"run": 1})).unwrap();
        std::fs::write(dir.path().join("mine.txt"), "user's own file").unwrap();
        // The second invocation draws no plot.
        let mut second = OutputSet::begin(dir.path(), "m.json").unwrap();
        assert!(
            !dir.path().join("m.json").exists(),
            "incomplete until finished"
        );
        write(&mut second, "a.csv", "2\n");
        let m = second.finish(serde_json::json!({"run": 2})).unwrap();
        assert_eq!(m.removed, ["plot.svg"]);
        assert_eq!(m.unlisted, ["mine.txt"]);
        assert!(!dir.path().join("plot.svg").exists());
        assert!(dir.path().join("mine.txt").exists(), "not ours: left alone");
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("m.json")).unwrap()).unwrap();
        assert_eq!(v["run"], 2);
        let files = v["files"].as_array().unwrap();
        assert_eq!(files.len(), 1);
        assert_eq!(files[0]["name"], "a.csv");
        assert_eq!(files[0]["bytes"], 2);
        // The checksum is that of the bytes on disk (sha256sum of "2\n").
        assert_eq!(
            files[0]["sha256"],
            "53c234e5e8472b6ac51c1ae1cab3fe06fad053beb8ebfd8977b010655bfdd3c3"
        );
    }

    #[test]
    fn a_missing_registered_file_fails_and_writes_no_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = OutputSet::begin(dir.path(), "m.json").unwrap();
        let _ = set.path("never.csv");
        assert!(matches!(
            set.finish(serde_json::json!({})),
            Err(ReportError::Io { .. })
        ));
        assert!(!dir.path().join("m.json").exists());
    }

    #[test]
    fn a_manifest_never_names_files_outside_its_directory() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("keep.txt");
        std::fs::write(&outside, "x").unwrap();
        let sub = dir.path().join("out");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(
            sub.join("m.json"),
            r#"{"files": [{"name": "../keep.txt"}, {"name": "/etc/passwd"}]}"#,
        )
        .unwrap();
        let set = OutputSet::begin(&sub, "m.json").unwrap();
        let m = set.finish(serde_json::json!({})).unwrap();
        assert!(m.removed.is_empty());
        assert!(outside.exists());
    }
}
