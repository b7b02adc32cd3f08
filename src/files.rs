//! Crash-safe file writes, the one implementation every layer that writes uses (datasets,
//! reality-check reports and profiles, `verisim simulate`'s CSV): the bytes go to a temporary
//! file beside the target (`.NAME.tmpPID`), are flushed (and, when durable, synced to the
//! disk), and the file is renamed over the target. Readers see the old file or the whole new
//! one; a failed write removes its temporary file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// The temporary name [`write_with`] uses for `path`: `.NAME.tmpPID` in the same folder.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

/// Whether a file name is one of [`temp_path`]'s temporary names (`.NAME.tmpPID`).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.')
        && name
            .rsplit_once(".tmp")
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// ENOSPC (Linux, macOS 28) and ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL (Windows 112, 39).
pub fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || matches!(e.raw_os_error(), Some(28))
        || (cfg!(windows) && matches!(e.raw_os_error(), Some(112 | 39)))
}

/// Writes `bytes` to `path` atomically; with `durable` the data reaches the disk (`fsync`)
/// before the rename, so after a power loss the file is the old one or the whole new one.
/// Without it a killed process still leaves no torn file, but a power loss may.
pub fn write_atomic(path: &Path, bytes: &[u8], durable: bool) -> std::io::Result<()> {
    write_with(path, durable, |w| w.write_all(bytes))
}

/// [`write_atomic`] for output produced piece by piece: `fill` writes into a buffered writer
/// on the temporary file; its result is returned once the file is in place. On any error,
/// from `fill` or from the file system, the temporary file is removed and `path` is untouched.
pub fn write_with<T>(
    path: &Path,
    durable: bool,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<T>,
) -> std::io::Result<T> {
    // Only a regular file (or nothing) is replaced: a rename over a device node, a FIFO or a
    // symbolic link would put a file where the user pointed at something else (as root,
    // `--out /dev/null` would replace the system's /dev/null).
    if let Ok(m) = std::fs::symlink_metadata(path)
        && !m.file_type().is_file()
    {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!(
                "{}, not a regular file; refusing to replace it",
                file_kind(&m.file_type())
            ),
        ));
    }
    let tmp = temp_path(path);
    let result = (|| {
        let mut w = BufWriter::new(File::create(&tmp)?);
        let out = fill(&mut w)?;
        let f = w.into_inner().map_err(|e| e.into_error())?;
        if durable {
            f.sync_data()?;
        }
        drop(f);
        std::fs::rename(&tmp, path)?;
        Ok(out)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Reads a whole input file that must be a regular file of at most `max_bytes`, checked before
/// a byte is read: a FIFO would block forever, `/dev/zero` would fill memory, and a sparse file
/// of gigabytes would be read whole. Links are followed (a link to a regular file is one).
pub fn read_regular(path: &Path, max_bytes: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let m = std::fs::metadata(path)?;
    if !m.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{}, not a regular file", file_kind(&m.file_type())),
        ));
    }
    let too_big = |n: u64| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{n} bytes or more, over the {max_bytes} bytes such a file may hold"),
        )
    };
    if m.len() > max_bytes {
        return Err(too_big(m.len()));
    }
    let mut bytes = Vec::with_capacity(m.len() as usize);
    File::open(path)?
        .take(max_bytes + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// What a file system entry is, for messages ("a symbolic link").
pub fn file_kind(t: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() || t.is_block_device() {
            return "a device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn mkfifo(path: &Path) {
        let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo reads a valid NUL-terminated path and touches no memory of ours.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    }

    /// Inputs: a FIFO and a device are refused without opening them; a file over the limit
    /// before it is read; a regular file within it is read whole.
    #[test]
    fn read_regular_refuses_fifos_devices_and_oversized_files() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("fifo");
        mkfifo(&fifo);
        let e = read_regular(&fifo, 100).unwrap_err().to_string();
        assert!(e.contains("a FIFO, not a regular file"), "{e}");
        let e = read_regular(Path::new("/dev/zero"), 100)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a device"), "{e}");
        let big = tmp.path().join("sparse.bin");
        let f = File::create(&big).unwrap();
        f.set_len(2 << 30).unwrap();
        let e = read_regular(&big, 1 << 20).unwrap_err().to_string();
        assert!(e.contains("2147483648 bytes"), "{e}");
        std::fs::write(&big, b"12345").unwrap();
        assert_eq!(read_regular(&big, 5).unwrap(), b"12345");
        assert!(read_regular(&big, 4).is_err());
    }

    /// A symbolic link, a FIFO or a directory at the target is refused and left as it was.
    #[test]
    fn only_a_regular_file_is_replaced() {
        let tmp = tempfile::tempdir().unwrap();
        let real = tmp.path().join("real.txt");
        std::fs::write(&real, b"keep").unwrap();
        let link = tmp.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let fifo = tmp.path().join("fifo");
        mkfifo(&fifo);
        let dir = tmp.path().join("dir");
        std::fs::create_dir(&dir).unwrap();
        for (p, kind) in [
            (&link, "a symbolic link"),
            (&fifo, "a FIFO"),
            (&dir, "a directory"),
        ] {
            let e = write_with(p, false, |w| w.write_all(b"new")).unwrap_err();
            assert!(e.to_string().contains(kind), "{e}");
            assert!(e.to_string().contains("refusing to replace"), "{e}");
        }
        assert_eq!(std::fs::read(&real).unwrap(), b"keep");
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        // A regular file is replaced, and a missing one created.
        write_with(&real, false, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        let fresh = tmp.path().join("fresh.txt");
        write_with(&fresh, false, |w| w.write_all(b"x")).unwrap();
        assert_eq!(std::fs::read(&fresh).unwrap(), b"x");
        assert!(
            std::fs::read_dir(tmp.path())
                .unwrap()
                .all(|e| !is_temporary(&e.unwrap().file_name().to_string_lossy())),
            "a temporary left"
        );
    }

    #[test]
    fn temporary_names_are_recognised() {
        let t = temp_path(Path::new("/x/000001.png"));
        assert!(is_temporary(&t.file_name().unwrap().to_string_lossy()));
        assert!(!is_temporary("000001.png"));
        assert!(!is_temporary(".hidden"));
        assert!(!is_temporary(".a.tmpx"));
    }

    #[test]
    fn a_failed_fill_leaves_the_old_file_and_no_temporary() {
        let dir = std::env::temp_dir().join(format!("verisim-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("states.csv");
        write_atomic(&p, b"old", false).unwrap();
        let err = write_with(&p, true, |w| {
            w.write_all(b"half of the new")?;
            Err::<(), _>(std::io::Error::other("the producer failed"))
        })
        .unwrap_err();
        assert_eq!(err.to_string(), "the producer failed");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        let n = write_with(&p, false, |w| w.write_all(b"new").map(|()| 3)).unwrap();
        assert_eq!((n, std::fs::read(&p).unwrap()), (3, b"new".to_vec()));
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, vec!["states.csv".to_string()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_missing_folder_is_an_error_not_a_panic() {
        let p = Path::new("/nonexistent-verisim-dir/x.bin");
        assert!(write_atomic(p, b"x", true).is_err());
    }
}

/// The lock file inside a locked directory (in its bookkeeping folder).
pub const LOCK_FILE: &str = ".verisim/lock";

/// An exclusive lock on an output directory, held for a whole run (`render`, `--resume`,
/// `merge`): a second process that wants the same directory gets [`LockError::Held`] naming
/// the holder, instead of both writing into it. The lock is the operating system's lock on
/// `LOCK_FILE` (`flock` on Unix), so it goes away with the process that held it: a killed run
/// leaves no stale lock, only the file, which the next run takes over. A run that ends
/// removes the file.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
    path: PathBuf,
}

impl Drop for DirLock {
    /// The lock file goes when the run ends (a finished dataset holds no trace of the lock);
    /// it is removed while still locked, then the lock is released with the file.
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(
        "{path}: in use by another verisim process ({holder}); wait for it to finish, or choose \
         another directory"
    )]
    Held { path: PathBuf, holder: String },
    #[error("{path}: cannot lock the directory: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl LockError {
    /// The message without the directory (for errors that name it themselves).
    pub fn reason(&self) -> String {
        match self {
            LockError::Held { holder, .. } => format!(
                "in use by another verisim process ({holder}); wait for it to finish, or choose \
                 another directory"
            ),
            LockError::Io { source, .. } => format!("cannot lock the directory: {source}"),
        }
    }
}

impl DirLock {
    /// Creates `dir` (and its bookkeeping folder) when missing and locks it; `purpose` (e.g.
    /// "render") is written into the lock file for whoever finds it held.
    pub fn acquire(dir: &Path, purpose: &str) -> Result<DirLock, LockError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| LockError::Io {
            path: dir.to_owned(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LockError::Held {
                    path: dir.to_owned(),
                    holder: holder_text(&path),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        file.set_len(0).map_err(io)?;
        writeln!(file, "{purpose} by process {}", std::process::id()).map_err(io)?;
        Ok(DirLock { _file: file, path })
    }
}

fn holder_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "holder unknown".into())
}

/// Who holds the lock on `dir` when another process does (read only: creates nothing and
/// leaves a free lock free).
pub fn lock_holder(dir: &Path) -> Option<String> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new().read(true).open(&path).ok()?;
    match file.try_lock_shared() {
        Err(std::fs::TryLockError::WouldBlock) => Some(holder_text(&path)),
        _ => None,
    }
}

/// The directory of per-frame records inside `.verisim/`, made before the first file
/// (`export::dataset::DatasetDir::create`).
pub const FRAMES_DIR: &str = "frames";

/// Whether `dir` holds no run: nothing at all (missing counts), or only what a start killed
/// before it wrote a file leaves in `.verisim/`: a lock left by [`DirLock`], the temporaries
/// of a write that never finished ([`is_temporary`]) and the empty directories made first
/// (`.verisim/frames/`). A run may start afresh there (removing
/// the temporaries first: `export::dataset::DatasetDir::remove_temporaries`).
pub fn is_unstarted(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    let lock = Path::new(LOCK_FILE);
    let meta = lock.parent().and_then(|p| p.file_name());
    for e in entries.flatten() {
        if Some(e.file_name().as_os_str()) != meta {
            return false;
        }
        let only_debris = std::fs::read_dir(e.path()).is_ok_and(|inner| {
            inner.flatten().all(|f| {
                let name = f.file_name();
                let empty_dir = name == FRAMES_DIR
                    && f.file_type().is_ok_and(|t| t.is_dir())
                    && std::fs::read_dir(f.path()).is_ok_and(|mut d| d.next().is_none());
                Some(name.as_os_str()) == lock.file_name()
                    || empty_dir
                    || (is_temporary(&name.to_string_lossy())
                        && f.file_type().is_ok_and(|t| t.is_file()))
            })
        });
        if !only_debris {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod lock_tests {
    use super::*;

    #[test]
    fn a_second_lock_on_a_directory_is_refused_until_the_first_is_dropped() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        assert!(is_unstarted(&dir));
        let first = DirLock::acquire(&dir, "render").unwrap();
        assert!(
            is_unstarted(&dir),
            "the lock alone leaves the directory empty"
        );
        assert!(lock_holder(&dir).is_some_and(|h| h.starts_with("render by process")));
        let e = DirLock::acquire(&dir, "merge").unwrap_err().to_string();
        assert!(
            e.contains("in use") && e.contains("render by process"),
            "{e}"
        );
        drop(first);
        assert_eq!(lock_holder(&dir), None);
        assert!(
            !dir.join(LOCK_FILE).exists(),
            "the lock file goes with the lock"
        );
        let _again = DirLock::acquire(&dir, "merge").unwrap();
        std::fs::write(dir.join("x"), b"").unwrap();
        assert!(!is_unstarted(&dir));
    }

    /// A start killed while writing its first file leaves the lock and a temporary: no run.
    #[test]
    fn a_killed_start_leaves_an_unstarted_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("out");
        let meta = dir.join(".verisim");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(dir.join(LOCK_FILE), b"render by process 1").unwrap();
        std::fs::write(meta.join(".run.json.tmp4242"), b"{\"form").unwrap();
        assert!(is_unstarted(&dir));
        // Anything else is a run (or someone else's file).
        std::fs::write(meta.join("run.json"), b"{}").unwrap();
        assert!(!is_unstarted(&dir));
        std::fs::remove_file(meta.join("run.json")).unwrap();
        std::fs::write(meta.join(".run.json.tmpx"), b"").unwrap();
        assert!(!is_unstarted(&dir), "not one of our temporary names");
        std::fs::remove_file(meta.join(".run.json.tmpx")).unwrap();
        std::fs::create_dir(meta.join(".d.tmp7")).unwrap();
        assert!(!is_unstarted(&dir), "a directory is not a temporary file");
        std::fs::remove_dir(meta.join(".d.tmp7")).unwrap();
        // The records' directory, made before `run.json`: debris while it is empty.
        std::fs::create_dir(meta.join(FRAMES_DIR)).unwrap();
        assert!(is_unstarted(&dir), "an empty frames directory");
        std::fs::write(meta.join(FRAMES_DIR).join("000000.json"), b"{}").unwrap();
        assert!(!is_unstarted(&dir), "a frame record is a run");
        std::fs::remove_file(meta.join(FRAMES_DIR).join("000000.json")).unwrap();
        // Without the temporary (`DatasetDir::remove_temporaries` clears it: see its test),
        // the lock alone remains.
        std::fs::remove_file(meta.join(".run.json.tmp4242")).unwrap();
        assert!(is_unstarted(&dir));
    }
}
