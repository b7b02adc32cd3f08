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

/// Writes `bytes` to `path` atomically: readers see the old file or the whole new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let tmp = temp_path(path);
    let io = |source: std::io::Error| {
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
    };
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.flush()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io(e));
    }
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
