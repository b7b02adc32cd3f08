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
