//! Crash-safe dataset writes: `crate::files` with errors as [`ExportError`] (a full disk by
//! its own variant), atomic links, directory syncs.

use std::path::{Path, PathBuf};

use super::ExportError;

pub use crate::files::is_temporary;
use crate::files::{is_disk_full, temp_path};

/// Writes `bytes` to `path` atomically and durably: readers see the old file or the whole new
/// one, and after a power loss the new file is either absent or whole (its data is on disk
/// before the rename makes it visible).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    write_atomic_with(path, bytes, true)
}

/// [`write_atomic`], with the data flushed to the disk (`fsync`) before the rename only when
/// `durable`. Without it a killed process still leaves no torn file (rename is atomic), but a
/// power loss may: the kernel can persist the rename before the data.
pub fn write_atomic_with(path: &Path, bytes: &[u8], durable: bool) -> Result<(), ExportError> {
    crate::files::write_atomic(path, bytes, durable).map_err(|e| write_error(path, e))
}

/// A failed write of `path`: a full disk by its own variant.
fn write_error(path: &Path, source: std::io::Error) -> ExportError {
    if is_disk_full(&source) {
        ExportError::DiskFull {
            path: path.to_owned(),
        }
    } else {
        ExportError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// Whether [`link_atomic`] can make links here (symbolic links need a Unix).
pub const LINKS: bool = cfg!(unix);

/// Makes `path` a symbolic link to `target` (relative to `path`'s folder) atomically: the
/// link is made under a temporary name and renamed over `path`, so readers see the old entry
/// or the new link. Where [`LINKS`] is false it fails with `Unsupported`.
pub fn link_atomic(path: &Path, target: &Path) -> Result<(), ExportError> {
    let tmp = temp_path(path);
    #[cfg(unix)]
    let result =
        std::os::unix::fs::symlink(target, &tmp).and_then(|()| std::fs::rename(&tmp, path));
    #[cfg(not(unix))]
    let result = {
        let _ = target;
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    };
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_error(path, e));
    }
    Ok(())
}

/// The target of a link at dataset path `link` (relative, `/`-separated) to the dataset
/// path `target`: up from the link's folder to the root, then down.
pub fn relative_target(link: &str, target: &str) -> PathBuf {
    let mut p = PathBuf::new();
    for _ in 0..link.matches('/').count() {
        p.push("..");
    }
    p.join(target)
}

/// Flushes a directory's entries (the renames into it) to the disk. A no-op where directories
/// cannot be opened for syncing (Windows).
pub fn sync_dir(path: &Path) -> Result<(), ExportError> {
    #[cfg(unix)]
    {
        let io = |source| ExportError::Io {
            path: path.to_owned(),
            source,
        };
        std::fs::File::open(path)
            .map_err(io)?
            .sync_all()
            .map_err(io)?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates a directory and its parents.
pub fn create_dir(path: &Path) -> Result<(), ExportError> {
    std::fs::create_dir_all(path).map_err(|source| ExportError::Io {
        path: path.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durable_and_fast_writes_leave_the_same_bytes_and_no_temporary() {
        let dir = std::env::temp_dir().join(format!("verisim-atomic-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, durable) in [true, false].into_iter().enumerate() {
            let p = dir.join(format!("{i}.bin"));
            write_atomic_with(&p, b"old", durable).unwrap();
            write_atomic_with(&p, &[7u8; 4096], durable).unwrap();
            assert_eq!(std::fs::read(&p).unwrap(), vec![7u8; 4096]);
        }
        sync_dir(&dir).unwrap();
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !is_temporary(n)), "{names:?}");
        assert!(sync_dir(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_full_disk_is_reported_as_such_and_leaves_nothing() {
        let e = std::io::Error::from_raw_os_error(28);
        assert!(is_disk_full(&e));
        let err = ExportError::DiskFull {
            path: "/data/x.png".into(),
        };
        let msg = err.to_string();
        assert!(
            msg.contains("/data/x.png: out of disk space") && msg.contains("removed"),
            "{msg}"
        );
    }
}
