//! Writing frames to disk: the KITTI object layout, PLY meshes, crash-safe writes.

pub mod atomic;
pub mod kitti;
pub mod ply;

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
}
