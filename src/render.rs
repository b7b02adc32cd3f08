//! A render run: simulate, render each frame on the chosen backend, label it and write it,
//! with rendering and encoding overlapped (a bounded queue between the two).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::backend::{BackendError, BackendKind, SensorFrames, create_backend};
use crate::export::ExportError;
use crate::export::atomic::{create_dir, write_atomic};
use crate::export::kitti::{KittiLayout, encode_frame, write_files};
use crate::labels::boxes::label_camera;
use crate::scenario::{Scenario, Source};
use crate::sim::{FrameInputs, Simulation};

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(
        "{path}: output directory is not empty; use --resume to continue a run there, or choose another --out"
    )]
    NotEmpty { path: PathBuf },
}

#[derive(Clone, Debug)]
pub struct RenderOptions {
    pub out: PathBuf,
    pub backend: BackendKind,
    /// Skip frames whose files all exist (continue an interrupted run).
    pub resume: bool,
    pub progress: bool,
}

#[derive(Clone, Debug, Default)]
pub struct RenderSummary {
    pub backend: String,
    pub frames_rendered: u32,
    pub frames_skipped: u32,
    pub lidar_points: u64,
    pub bytes_written: u64,
    pub seconds: f64,
}

impl RenderSummary {
    pub fn frames_per_s(&self) -> f64 {
        self.frames_rendered as f64 / self.seconds.max(1e-9)
    }
}

fn frame_done(layout: &KittiLayout, frame: u32) -> bool {
    layout.frame_files(frame).iter().all(|p| p.is_file())
}

fn dir_is_empty(path: &Path) -> bool {
    std::fs::read_dir(path).map_or(true, |mut d| d.next().is_none())
}

/// Renders every frame of `scenario` into `opts.out` (KITTI layout under `training/`).
pub fn render(
    scenario: &Scenario,
    source: &Source,
    opts: &RenderOptions,
    mut on_frame: impl FnMut(u32, u32),
) -> Result<RenderSummary, RenderError> {
    if !opts.resume && !dir_is_empty(&opts.out) {
        return Err(RenderError::NotEmpty {
            path: opts.out.clone(),
        });
    }
    let start = Instant::now();
    let mut sim = Simulation::new(scenario.clone());
    let mut backend = create_backend(opts.backend, &sim.assets.pool)?;
    let layout = KittiLayout::new(
        &opts.out,
        scenario.rig.cameras.len(),
        !scenario.rig.lidars.is_empty(),
    );
    create_dir(&opts.out)?;
    layout.create()?;
    let resolved =
        ron::ser::to_string_pretty(scenario, ron::ser::PrettyConfig::default()).unwrap_or_default();
    write_atomic(&opts.out.join("scenario.ron"), resolved.as_bytes())?;

    let total = scenario.run.frames;
    let mut summary = RenderSummary {
        backend: backend.describe(),
        ..Default::default()
    };
    let pool = &sim.assets.pool.clone();
    let (tx, rx) = mpsc::sync_channel::<(FrameInputs, SensorFrames)>(2);
    let writer_result = std::thread::scope(|scope| -> Result<(), RenderError> {
        let layout_w = layout.clone();
        let writer = scope.spawn(move || -> Result<(u64, u64, u32), ExportError> {
            let (mut bytes, mut points, mut n) = (0u64, 0u64, 0u32);
            for (inputs, frames) in rx {
                let labels = match (inputs.cameras.first(), frames.cameras.first()) {
                    (Some(ci), Some(cf)) => label_camera(pool, ci, cf, &inputs.objects),
                    _ => Vec::new(),
                };
                points += frames
                    .lidar
                    .as_ref()
                    .map_or(0, |l| l.points().count() as u64);
                let files = encode_frame(&layout_w, &inputs, &frames, &labels)?;
                bytes += write_files(&files)?;
                n += 1;
            }
            Ok((bytes, points, n))
        });
        let mut send_error = None;
        for f in 0..total {
            sim.advance_to_frame(f);
            if opts.resume && frame_done(&layout, f) {
                summary.frames_skipped += 1;
                on_frame(f, total);
                continue;
            }
            let inputs = sim.frame_inputs();
            let frames = match backend.render(&inputs) {
                Ok(fr) => fr,
                Err(e) => {
                    send_error = Some(RenderError::from(e));
                    break;
                }
            };
            if tx.send((inputs, frames)).is_err() {
                break; // the writer stopped on an error; it is reported below
            }
            on_frame(f, total);
        }
        drop(tx);
        let (bytes, points, n) = writer.join().expect("writer thread does not panic")?;
        summary.bytes_written = bytes;
        summary.lidar_points = points;
        summary.frames_rendered = n;
        match send_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    });
    writer_result?;
    summary.seconds = start.elapsed().as_secs_f64();
    let manifest = serde_json::json!({
        "generator": "verisim",
        "version": env!("CARGO_PKG_VERSION"),
        "scenario": source.path.display().to_string(),
        "scenario_sha256": format!("{:x}", Sha256::digest(source.text.as_bytes())),
        "frames": total,
        "backend": summary.backend,
    });
    write_atomic(
        &opts.out.join("manifest.json"),
        serde_json::to_string_pretty(&manifest)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    Ok(summary)
}
