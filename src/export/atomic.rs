//! Crash-safe file writes: write a temporary file beside the target, then rename it over.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::ExportError;

fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp{}", std::process::id()))
}

/// Whether a file name is one of [`write_atomic`]'s temporary names (`.NAME.tmpPID`).
pub fn is_temporary(name: &str) -> bool {
    name.starts_with('.')
        && name
            .rsplit_once(".tmp")
            .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

/// ENOSPC (Linux, macOS 28) and ERROR_DISK_FULL / ERROR_HANDLE_DISK_FULL (Windows 112, 39).
fn is_disk_full(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
        || matches!(e.raw_os_error(), Some(28))
        || (cfg!(windows) && matches!(e.raw_os_error(), Some(112 | 39)))
}

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
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.flush()?;
        if durable {
            f.sync_data()?;
        }
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_error(path, e));
    }
    Ok(())
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
    fn temporary_names_are_recognised() {
        let t = temp_path(Path::new("/x/000001.png"));
        assert!(is_temporary(&t.file_name().unwrap().to_string_lossy()));
        assert!(!is_temporary("000001.png"));
        assert!(!is_temporary(".hidden"));
        assert!(!is_temporary(".a.tmpx"));
    }

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
            msg.contains("out of disk space") && msg.contains("--resume"),
            "{msg}"
        );
    }
}
