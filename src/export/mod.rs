//! Writing frames to disk: the KITTI object layout, the SemanticKITTI sequence view, COCO, MCAP,
//! the provenance manifest, `verify` and `merge`, PLY meshes, crash-safe writes.

pub mod atomic;
pub mod coco;
pub mod dataset;
pub mod kitti;
pub mod manifest;
pub mod mcap;
pub mod merge;
pub mod nuscenes;
pub mod ply;
pub mod semantic_kitti;
pub mod splits;
pub mod verify;

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: cannot encode image: {message}")]
    Encode { path: PathBuf, message: String },
    /// What to do next depends on the command (`render` resumes, `merge` starts over): the
    /// command line adds it (`main.rs`, `disk_full_advice`).
    #[error("{path}: out of disk space; the partial file was removed")]
    DiskFull { path: PathBuf },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    Dataset { path: PathBuf, message: String },
}
