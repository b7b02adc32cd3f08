//! Datasets as files: formats against the tools that read them, integrity, resume, merge,
//! the run summary, deployment.
//!
//! One test binary (links wgpu and bevy once); each module was a file of its own.

#[path = "../common/mod.rs"]
mod common;

mod deploy;
mod formats;
mod integrity;
mod mcap_export;
mod nuscenes_export;
mod render_summary;
