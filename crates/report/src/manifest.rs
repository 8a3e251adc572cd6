//! The files of one invocation as a set, closed by a manifest written last.
//!
//! A command that writes several files into a directory opens an [`OutputSet`], writes each
//! file (atomically) at a path it registers with [`OutputSet::path`] — or hands its bytes to
//! [`OutputSet::write_file`], from any thread — and ends with [`OutputSet::finish`], which
//! 1. checksums every registered file (SHA-256; of the bytes given to `write_file`, without
//!    reading the file back, and of the file on disk otherwise),
//! 2. removes the files that the directory's previous manifest listed and this invocation
//!    did not write (stale outputs of an earlier invocation, e.g. a plot no longer drawn),
//! 3. writes and syncs the manifest — the caller's provenance plus the list of files with
//!    their sizes and checksums — under a temporary name, while the files given to
//!    `write_file` are still being synced (each on a thread of its own, renamed into place
//!    once synced) and, as soon as they are in place, while the directory is synced (once
//!    for all the set's renames: while a set is open, a file written into its directory
//!    with [`write_atomic`](crate::write_atomic) is synced and renamed but the directory is
//!    not synced per file),
//! 4. renames the manifest into place only once both are done, last, and syncs the
//!    directory again.
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

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ReportError;
use crate::atomic::{SyncedTemp, close_set_dir, open_set_dir, sync_dir};

/// Lower-case hexadecimal SHA-256 of `bytes` (what `sha256sum` prints).
///
/// ```
/// assert_eq!(
///     timescales_report::sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hexadecimal of `digest`.
fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that hashes (SHA-256) and counts what passes through it.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
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
    /// Size and checksum of the files written by [`OutputSet::write_file`], from their bytes.
    written: Mutex<Vec<FileEntry>>,
    /// The files written by [`OutputSet::write_file`] whose sync and rename are in flight:
    /// one thread each, joined by [`OutputSet::finish`] (or when the set is dropped).
    pending: Mutex<Vec<Pending>>,
    /// The error of a file's sync or rename joined before `finish` (by `path`).
    failed: Option<ReportError>,
    /// The sync of the directories in which [`OutputSet::begin`] created the set's directory
    /// (or its missing ancestors), in flight on a thread of its own.
    created: Option<std::thread::JoinHandle<Result<(), ReportError>>>,
}

/// A file of a set being synced and renamed into place on its own thread.
#[derive(Debug)]
struct Pending {
    name: String,
    done: std::thread::JoinHandle<Result<(), ReportError>>,
}

impl Pending {
    fn join(self) -> Result<(), ReportError> {
        self.done
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Creates `dir` with its missing ancestors, and returns the directories whose entries this
/// changed: the parent of each directory created (syncing them makes the new ones durable;
/// none if `dir` existed).
fn create_dirs(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut level = dir;
    // `try_exists` errs where a level cannot be looked at: taken as there (create_dir_all
    // then says what is wrong).
    while !level.as_os_str().is_empty() && !level.try_exists().unwrap_or(true) {
        missing.push(level);
        match level.parent() {
            Some(parent) => level = parent,
            None => break,
        }
    }
    std::fs::create_dir_all(dir)?;
    Ok(missing
        .into_iter()
        .map(|m| match m.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        })
        .collect())
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
        // A set dropped unfinished (an error) still waits for its files' syncs: no thread
        // outlives it, and no temporary is left behind.
        for p in std::mem::take(
            self.pending
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        ) {
            let _ = p.done.join();
        }
        if let Some(created) = self.created.take() {
            let _ = created.join();
        }
        close_set_dir(&self.dir);
    }
}

impl OutputSet {
    /// Opens the set of `dir` (creating it and its missing ancestors, whose entries are
    /// synced before the manifest is written), whose manifest will be `dir/manifest`. The
    /// previous manifest, if any, is read (to know its files) and removed.
    ///
    /// # Errors
    /// [`ReportError::Io`] if the directory cannot be created or the old manifest removed.
    pub fn begin(dir: impl Into<PathBuf>, manifest: &str) -> Result<Self, ReportError> {
        let dir = dir.into();
        let parents = create_dirs(&dir).map_err(io(&dir))?;
        // A new directory survives a crash only once the directory holding its entry is
        // synced: done while the set is written, and waited for before its manifest.
        let created = if parents.is_empty() {
            None
        } else {
            Some(
                crate::threads::spawn(move || {
                    parents.iter().try_for_each(|p| sync_dir(p).map_err(io(p)))
                })
                .map_err(io(&dir))?,
            )
        };
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
            written: Mutex::new(Vec::new()),
            pending: Mutex::new(Vec::new()),
            failed: None,
            created,
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
        // Written through the path from now on: checksummed from the disk, after an earlier
        // `write_file` of it has landed (its failure is `finish`'s error).
        let pending = self
            .pending
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(k) = pending.iter().position(|p| p.name == name)
            && let Err(e) = pending.swap_remove(k).join()
        {
            self.failed.get_or_insert(e);
        }
        self.written
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|e| e.name != name);
        self.dir.join(name)
    }

    /// Writes `bytes` atomically as the file `name` of this set, registered before with
    /// [`OutputSet::path`], and keeps its size and SHA-256 for the manifest (computed from
    /// `bytes`: [`OutputSet::finish`] does not read the file back). Takes `&self`, so that
    /// the files of a set can be written from several threads at once. Returns once the
    /// bytes are in a temporary sibling; that is synced and renamed to `name` on a thread
    /// of its own, which [`OutputSet::finish`] waits for (the file is in place by the time
    /// it returns, and an error there is its error).
    ///
    /// # Errors
    /// [`ReportError::Table`] if `name` is not registered, [`ReportError::Io`] if writing
    /// fails.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> Result<(), ReportError> {
        self.write_with(name, |w| {
            w.write_all(bytes).map_err(|source| ReportError::Io {
                path: name.to_string(),
                source,
            })
        })
    }

    /// Writes the file `name` of this set (registered before with [`OutputSet::path`])
    /// atomically with what `fill` writes into the (buffered) writer it is given, and keeps
    /// the size and SHA-256 of those bytes, computed as they are written, for the manifest
    /// ([`OutputSet::finish`] does not read the file back). Takes `&self`, so that the files
    /// of a set can be written from several threads at once. Synced and renamed into place
    /// on a thread of its own, as with [`OutputSet::write_file`].
    ///
    /// # Errors
    /// [`ReportError::Table`] if `name` is not registered, [`ReportError::Io`] if writing
    /// fails, or what `fill` returns (the file is not written then).
    pub fn write_with<F>(&self, name: &str, fill: F) -> Result<(), ReportError>
    where
        F: FnOnce(&mut dyn Write) -> Result<(), ReportError>,
    {
        let path = self.dir.join(name);
        if !self.files.iter().any(|f| f == name) {
            return Err(ReportError::Table {
                what: path.display().to_string(),
                message: "not a registered file of its output set (OutputSet::path)".into(),
            });
        }
        // The same name written again: the earlier write's rename must come first.
        let earlier = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            pending
                .iter()
                .position(|p| p.name == name)
                .map(|k| pending.swap_remove(k))
        };
        if let Some(p) = earlier {
            p.join()?;
        }
        let mut entry = None;
        let mut temp = SyncedTemp::unsynced(&path, |file| {
            let mut w = HashingWriter {
                inner: std::io::BufWriter::with_capacity(1 << 16, file),
                hasher: Sha256::new(),
                bytes: 0,
            };
            fill(&mut w)?;
            w.inner.flush().map_err(io(&path))?;
            entry = Some(FileEntry {
                name: name.to_string(),
                bytes: w.bytes,
                sha256: hex(&w.hasher.finalize()),
            });
            Ok(())
        })?;
        let done = crate::threads::spawn(move || {
            temp.sync()?;
            temp.rename()
        })
        .map_err(io(&path))?;
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Pending {
                name: name.to_string(),
                done,
            });
        let mut written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        written.retain(|e| e.name != name);
        written.extend(entry);
        Ok(())
    }

    /// Waits for every file of the set whose sync and rename are in flight; the first
    /// error (in the order the files were written) if one failed.
    fn join_pending(&mut self) -> Result<(), ReportError> {
        let pending = std::mem::take(
            self.pending
                .get_mut()
                .unwrap_or_else(PoisonError::into_inner),
        );
        let mut first = self.failed.take().map_or(Ok(()), Err);
        if let Some(created) = self.created.take() {
            let done = created
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            first = first.and(done);
        }
        for p in pending {
            let done = p.join();
            if first.is_ok() {
                first = done;
            }
        }
        first
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
    pub fn finish(mut self, provenance: serde_json::Value) -> Result<Manifest, ReportError> {
        let serde_json::Value::Object(mut record) = provenance else {
            return Err(ReportError::Table {
                what: self.manifest.clone(),
                message: "provenance must be a JSON object".into(),
            });
        };
        let mut files = Vec::with_capacity(self.files.len());
        let written = self.written.lock().unwrap_or_else(PoisonError::into_inner);
        for name in &self.files {
            if let Some(entry) = written.iter().find(|e| &e.name == name) {
                files.push(entry.clone());
                continue;
            }
            let path = self.dir.join(name);
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            files.push(FileEntry {
                name: name.clone(),
                bytes: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
            });
        }
        drop(written);
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
        let manifest = self.dir.join(&self.manifest);
        let text = serde_json::to_string_pretty(&record).map_err(|e| ReportError::Table {
            what: manifest.display().to_string(),
            message: e.to_string(),
        })?;
        // Crash safety: the manifest must not exist (durably) unless every file it lists is
        // durable under its name. Each file's data are synced before its rename (on its own
        // thread, for the files given to `write_file`), and the directory sync below makes
        // the renames (and the removals) durable. Meanwhile the manifest is written and
        // synced under a temporary name (on a thread of its own), which claims nothing (a
        // directory without its manifest holds an incomplete set); it is renamed to the
        // manifest's name only after that directory sync has returned, and the directory is
        // synced once more so that the manifest itself survives a crash once this returns.
        // On the critical path, the files' syncs having started as each was written: the
        // directory sync as soon as they are in place, with the manifest's own sync in
        // flight, then the second directory sync.
        let (manifest_temp, renames_durable) = crate::threads::join(
            || {
                SyncedTemp::write(&manifest, |f| {
                    f.write_all(text.as_bytes()).map_err(io(&manifest))
                })
            },
            || {
                self.join_pending()
                    .and_then(|()| sync_dir(&self.dir).map_err(io(&self.dir)))
            },
        );
        renames_durable?;
        manifest_temp?.rename()?;
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
    fn the_parents_of_the_directories_created_are_the_ones_to_sync() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a").join("b").join("c");
        assert_eq!(
            create_dirs(&deep).unwrap(),
            vec![
                root.path().join("a").join("b"),
                root.path().join("a"),
                root.path().to_path_buf()
            ]
        );
        assert!(deep.is_dir());
        assert_eq!(
            create_dirs(&deep).unwrap(),
            Vec::<PathBuf>::new(),
            "nothing new"
        );
        let sibling = root.path().join("a").join("d");
        assert_eq!(create_dirs(&sibling).unwrap(), vec![root.path().join("a")]);
        // A relative directory's parent is the working directory.
        let name = format!("ts-create-dirs-{}", std::process::id());
        let cwd_child = std::env::current_dir().unwrap().join(&name);
        let _ = std::fs::remove_dir(&cwd_child);
        let created = create_dirs(Path::new(&name));
        let _ = std::fs::remove_dir(&cwd_child);
        assert_eq!(created.unwrap(), vec![PathBuf::from(".")]);
        // A file in the way: the error of create_dir_all, nothing to sync.
        std::fs::write(root.path().join("f"), "x").unwrap();
        assert!(create_dirs(&root.path().join("f").join("g")).is_err());
    }

    #[test]
    fn a_set_in_a_new_nested_directory_is_complete() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("x").join("y");
        let mut set = OutputSet::begin(&dir, "m.json").unwrap();
        let _ = set.path("a.txt");
        set.write_file("a.txt", b"1\n").unwrap();
        let manifest = set.finish(serde_json::json!({})).unwrap();
        assert_eq!(manifest.files.len(), 1);
        assert!(dir.join("m.json").is_file());
        assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), b"1\n");
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
    fn files_written_from_threads_are_checksummed_from_their_bytes_in_registration_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = OutputSet::begin(dir.path(), "m.json").unwrap();
        let names = ["c.csv", "a.parquet", "b.svg"];
        for name in names {
            let _ = set.path(name);
        }
        let set = set;
        std::thread::scope(|s| {
            for (k, name) in names.iter().enumerate().rev() {
                let set = &set;
                s.spawn(move || {
                    set.write_file(name, &vec![b'0' + k as u8; 1000 + k])
                        .unwrap()
                });
            }
        });
        assert!(matches!(
            set.write_file("unregistered.txt", b"x"),
            Err(ReportError::Table { .. })
        ));
        assert!(!dir.path().join("unregistered.txt").exists());
        let m = set.finish(serde_json::json!({})).unwrap();
        let listed: Vec<&str> = m.files.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(listed, names);
        for entry in &m.files {
            // What sha256sum of the file on disk prints.
            let on_disk = std::fs::read(dir.path().join(&entry.name)).unwrap();
            assert_eq!(entry.bytes, on_disk.len() as u64);
            assert_eq!(entry.sha256, sha256_hex(&on_disk));
        }
    }

    #[test]
    fn a_failed_write_leaves_no_file_and_no_manifest() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = OutputSet::begin(dir.path(), "m.json").unwrap();
        let _ = set.path("failed.bin");
        let failed = set.write_with("failed.bin", |w| {
            w.write_all(b"half").unwrap();
            Err(ReportError::Plot {
                path: "failed.bin".into(),
                message: "boom".into(),
            })
        });
        assert!(matches!(failed, Err(ReportError::Plot { .. })));
        assert!(!dir.path().join("failed.bin").exists());
        // Nothing recorded for it: finishing looks for the file on disk, and fails.
        assert!(matches!(
            set.finish(serde_json::json!({})),
            Err(ReportError::Io { .. })
        ));
        assert!(!dir.path().join("m.json").exists());
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(names.is_empty(), "{names:?}");
    }

    #[test]
    fn a_file_rewritten_through_its_path_is_checksummed_from_the_disk() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = OutputSet::begin(dir.path(), "m.json").unwrap();
        let _ = set.path("a.csv");
        set.write_file("a.csv", b"first\n").unwrap();
        write(&mut set, "a.csv", "2\n");
        let m = set.finish(serde_json::json!({})).unwrap();
        assert_eq!(
            m.files[0].sha256,
            "53c234e5e8472b6ac51c1ae1cab3fe06fad053beb8ebfd8977b010655bfdd3c3"
        );
    }

    #[test]
    fn a_file_written_twice_is_its_second_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = OutputSet::begin(dir.path(), "m.json").unwrap();
        let _ = set.path("a.csv");
        set.write_file("a.csv", &[b'1'; 100_000]).unwrap();
        set.write_file("a.csv", b"2\n").unwrap();
        let m = set.finish(serde_json::json!({})).unwrap();
        assert_eq!(std::fs::read(dir.path().join("a.csv")).unwrap(), b"2\n");
        assert_eq!(m.files.len(), 1);
        assert_eq!(m.files[0].sha256, sha256_hex(b"2\n"));
    }

    #[test]
    fn a_file_that_cannot_be_renamed_into_place_fails_the_set() {
        // The rename, on the file's own thread, fails: its name is a non-empty directory.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a.csv")).unwrap();
        std::fs::write(dir.path().join("a.csv").join("x"), "x").unwrap();
        let mut set = OutputSet::begin(dir.path(), "m.json").unwrap();
        let _ = set.path("a.csv");
        let _ = set.path("b.csv");
        set.write_file("a.csv", b"1\n").unwrap();
        set.write_file("b.csv", b"2\n").unwrap();
        let e = set.finish(serde_json::json!({})).unwrap_err();
        assert!(
            matches!(&e, ReportError::Io { path, .. } if path.ends_with("a.csv")),
            "{e:?}"
        );
        assert!(!dir.path().join("m.json").exists(), "no manifest");
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a.csv", "b.csv"], "no temporary is left behind");
    }

    #[test]
    fn a_set_dropped_unfinished_leaves_its_files_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let mut set = OutputSet::begin(dir.path(), "m.json").unwrap();
        for name in ["a.csv", "b.svg"] {
            let _ = set.path(name);
            set.write_file(name, &[b'x'; 50_000]).unwrap();
        }
        drop(set);
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["a.csv", "b.svg"]);
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
