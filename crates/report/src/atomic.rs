//! Atomic file writes: temporary sibling, flush, `fsync`, rename, `fsync` of the directory.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::ReportError;

/// Distinguishes the temporary files of concurrent writes within one process.
static CALLS: AtomicU64 = AtomicU64::new(0);

/// The directories of the open [`OutputSet`](crate::OutputSet)s of this process (once per
/// open set). A rename into one of them is made durable by the set's own directory sync,
/// done once when the set finishes and before its manifest is written (the manifest is what
/// claims that the set is complete), instead of once per file.
static OPEN_SET_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// Registers `dir` as the directory of an open set (see [`OPEN_SET_DIRS`]).
pub(crate) fn open_set_dir(dir: &Path) {
    OPEN_SET_DIRS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(dir.to_path_buf());
}

/// Unregisters one registration of `dir` made by [`open_set_dir`].
pub(crate) fn close_set_dir(dir: &Path) {
    let mut dirs = OPEN_SET_DIRS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(k) = dirs.iter().position(|d| d == dir) {
        dirs.swap_remove(k);
    }
}

fn in_open_set(dir: &Path) -> bool {
    OPEN_SET_DIRS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
        .any(|d| d == dir)
}

/// Writes `path` atomically: `fill` writes into a temporary file in the same directory
/// (named for this process and this call, so concurrent writes never share one), which is
/// synced and renamed over `path` only if `fill` succeeds; the directory is then synced so
/// that the rename survives a crash — unless the directory is that of an open
/// [`OutputSet`](crate::OutputSet), whose [`finish`](crate::OutputSet::finish) syncs it
/// once for all its files before writing the manifest. On failure the temporary file is
/// removed and `path` is untouched.
///
/// # Errors
/// [`ReportError::Io`], or whatever `fill` returns.
pub fn write_atomic<F>(path: &Path, fill: F) -> Result<(), ReportError>
where
    F: FnOnce(&mut std::fs::File) -> Result<(), ReportError>,
{
    let synced = SyncedTemp::write(path, fill)?;
    let dir = synced.dir().to_path_buf();
    synced.rename()?;
    if in_open_set(&dir) {
        return Ok(());
    }
    sync_dir(&dir).map_err(|source| ReportError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// The first half of [`write_atomic`]: a temporary sibling of `path`, filled and (after
/// [`SyncedTemp::sync`]) synced, not yet renamed over `path` ([`SyncedTemp::rename`]).
/// Dropped without the rename, the temporary is removed and `path` is untouched. The halves
/// apart let [`OutputSet`](crate::OutputSet) sync a set's files and its manifest at once,
/// and rename the manifest only after the files.
#[derive(Debug)]
pub(crate) struct SyncedTemp {
    tmp: PathBuf,
    path: PathBuf,
    dir: PathBuf,
    file: Option<std::fs::File>,
    renamed: bool,
}

impl SyncedTemp {
    /// Creates the temporary (and the directory), lets `fill` write it, flushes and syncs
    /// it. On failure the temporary is removed.
    pub(crate) fn write<F>(path: &Path, fill: F) -> Result<Self, ReportError>
    where
        F: FnOnce(&mut std::fs::File) -> Result<(), ReportError>,
    {
        let mut temp = Self::unsynced(path, fill)?;
        temp.sync()?;
        Ok(temp)
    }

    /// [`SyncedTemp::write`] without the sync: the data are written to the file (flushed
    /// from user space) but not yet durable.
    pub(crate) fn unsynced<F>(path: &Path, fill: F) -> Result<Self, ReportError>
    where
        F: FnOnce(&mut std::fs::File) -> Result<(), ReportError>,
    {
        let io = |source| ReportError::Io {
            path: path.display().to_string(),
            source,
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir).map_err(io)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = dir.join(format!(
            ".{name}.{}-{}.tmp",
            std::process::id(),
            CALLS.fetch_add(1, Ordering::Relaxed)
        ));
        let file = std::fs::File::create(&tmp).map_err(io)?;
        // From here on, dropping `temp` (an error below) removes the temporary.
        let mut temp = Self {
            tmp,
            path: path.to_path_buf(),
            dir: dir.to_path_buf(),
            file: Some(file),
            renamed: false,
        };
        if let Some(file) = temp.file.as_mut() {
            fill(file)?;
            file.flush().map_err(io)?;
        }
        Ok(temp)
    }

    /// Syncs the temporary's data and closes it (a no-op once done).
    pub(crate) fn sync(&mut self) -> Result<(), ReportError> {
        match self.file.take() {
            Some(file) => file.sync_all().map_err(|source| ReportError::Io {
                path: self.path.display().to_string(),
                source,
            }),
            None => Ok(()),
        }
    }

    /// The directory the temporary is in.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Renames the temporary over `path` (not durable until the directory is synced).
    pub(crate) fn rename(mut self) -> Result<(), ReportError> {
        std::fs::rename(&self.tmp, &self.path).map_err(|source| ReportError::Io {
            path: self.path.display().to_string(),
            source,
        })?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for SyncedTemp {
    fn drop(&mut self) {
        if !self.renamed {
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Syncs a directory, making the renames and removals in it durable (a no-op where the
/// platform cannot open a directory as a file).
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::File::open(dir) {
        Ok(d) => d.sync_all().or_else(|e| {
            // Some file systems refuse fsync on a directory handle; the rename is then as
            // durable as they make it.
            if e.kind() == std::io::ErrorKind::InvalidInput || e.raw_os_error() == Some(22) {
                Ok(())
            } else {
                Err(e)
            }
        }),
        Err(_) => Ok(()),
    }
}

/// Writes `bytes` to `path` atomically.
///
/// # Errors
/// [`ReportError::Io`].
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    write_atomic(path, |f| {
        f.write_all(bytes).map_err(|source| ReportError::Io {
            path: path.display().to_string(),
            source,
        })
    })
}

/// Writes `value` as pretty JSON to `path` atomically.
///
/// # Errors
/// [`ReportError::Io`] or [`ReportError::Table`] if serialization fails.
pub fn write_json_atomic<T: serde::Serialize>(path: &Path, value: &T) -> Result<(), ReportError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| ReportError::Table {
        what: path.display().to_string(),
        message: e.to_string(),
    })?;
    write_bytes_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_fill_leaves_old_file_and_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.txt");
        write_bytes_atomic(&p, b"old").unwrap();
        let r = write_atomic(&p, |f| {
            f.write_all(b"half").unwrap();
            Err(ReportError::Plot {
                path: "x".into(),
                message: "boom".into(),
            })
        });
        assert!(r.is_err());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_synced_temporary_is_the_file_only_once_renamed_and_gone_if_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.json");
        let names = || -> Vec<String> {
            let mut v: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let fill = |bytes: &'static [u8]| {
            move |f: &mut std::fs::File| {
                f.write_all(bytes).map_err(|source| ReportError::Io {
                    path: "m.json".into(),
                    source,
                })
            }
        };
        let kept = SyncedTemp::write(&p, fill(b"new")).unwrap();
        assert!(!p.exists(), "not the file before the rename");
        assert_eq!(names().len(), 1);
        kept.rename().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(names(), ["m.json"]);
        drop(SyncedTemp::write(&p, fill(b"newer")).unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(names(), ["m.json"]);
    }

    #[test]
    fn concurrent_writes_of_one_file_never_share_a_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("same.txt");
        std::thread::scope(|s| {
            for k in 0..8u8 {
                let p = &p;
                s.spawn(move || {
                    for _ in 0..20 {
                        write_bytes_atomic(p, &[b'a' + k; 4096]).unwrap();
                    }
                });
            }
        });
        // Whole content of one writer, never a mix; no temporary left.
        let got = std::fs::read(&p).unwrap();
        assert_eq!(got.len(), 4096);
        assert!(got.iter().all(|&b| b == got[0]));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn creates_missing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/c.json");
        write_json_atomic(&p, &vec![1, 2, 3]).unwrap();
        assert!(std::fs::read_to_string(&p).unwrap().contains('2'));
    }
}
