//! A render run: simulate, render each frame on the chosen backend, label it and write it.
//!
//! Rendering and writing overlap through a bounded queue: the render thread (GPU or CPU
//! backend) works on frame n+1 while the rayon pool labels, encodes, checksums and writes
//! frame n (several frames at once when cores are free). Each frame's files are written to
//! temporary names and renamed, then its record (`.verisim/frames/NNNNNN.json`) is written the
//! same way: a frame is finished exactly when its record exists, so a run killed at any moment
//! resumes with `--resume` and ends with the same bytes as an uninterrupted run.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rayon::prelude::*;

use crate::backend::{Backend, BackendError, BackendKind, create_backend};
use crate::export::ExportError;
use crate::export::atomic::{
    create_dir, link_atomic, relative_target, sync_dir, write_atomic, write_atomic_with,
};
use crate::export::coco::{self, CocoImage};
use crate::export::dataset::{
    DatasetDir, FileRecord, Format, FrameRecord, RunConfig, Session, Shard, host_name, now_rfc3339,
    resolved_text, sha256_hex,
};
use crate::export::kitti::{EncodedFile, KittiLayout, calib_text, encode_frame};
use crate::export::manifest::{SCENARIO_COPY, SCENARIO_RESOLVED, finalize, write_incomplete};
use crate::export::semantic_kitti;
use crate::frame::FrameInputs;
use crate::frame::SensorFrames;
use crate::geometry::GeometryPool;
use crate::labels::boxes::label_camera_masked;
use crate::labels::masks::{InstanceMask, instance_masks};
use crate::rng::{hash3, seed32};
use crate::scenario::{Scenario, ScenarioError, Source};
use crate::world::Simulation;

use crate::scenario::sweep::EpisodeDraw;

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Import(#[from] crate::geometry::imported::ImportError),
    #[error(
        "{path}: output directory is not empty; use --resume to continue a run there, or choose another --out"
    )]
    NotEmpty { path: PathBuf },
    #[error("{path}: cannot resume here: {reason}")]
    Mismatch { path: PathBuf, reason: String },
    #[error(transparent)]
    Lock(#[from] crate::files::LockError),
    #[error("{path}: {kind}, not a directory; --out names the directory the dataset goes in")]
    NotADirectory { path: PathBuf, kind: &'static str },
}

#[derive(Clone, Debug)]
pub struct RenderOptions {
    pub out: PathBuf,
    pub backend: BackendKind,
    /// Skip finished frames (continue an interrupted run); starts afresh in an empty or
    /// missing directory.
    pub resume: bool,
    /// Formats to write (all when empty).
    pub formats: Vec<Format>,
    pub shard: Option<Shard>,
    /// The `--set` assignments (recorded in the manifest).
    pub overrides: Vec<String>,
    /// Render and drop the frames: no labels, no encoding, no files (a throughput baseline).
    pub render_only: bool,
    /// fsync each frame's files and directories before its record is written, so a finished
    /// frame survives a power loss (on by default; `--no-fsync` for scratch output, where a
    /// killed process is still safe but a power loss may tear recent frames).
    pub fsync: bool,
    /// With KITTI and SemanticKITTI both written, the sequence view's `velodyne/` and
    /// `labels/` files are symbolic links to the KITTI files (on by default where links exist;
    /// `--copy-views` writes copies): the same bytes, written and stored once.
    pub link_views: bool,
}

impl RenderOptions {
    pub fn new(out: &Path, backend: BackendKind) -> Self {
        RenderOptions {
            out: out.to_owned(),
            backend,
            resume: false,
            formats: Format::all(),
            shard: None,
            overrides: Vec::new(),
            render_only: false,
            fsync: true,
            link_views: true,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct RenderSummary {
    pub backend: String,
    pub frames_rendered: u32,
    pub frames_skipped: u32,
    pub lidar_points: u64,
    pub bytes_written: u64,
    pub seconds: f64,
    pub temporaries_removed: usize,
    pub stages: RenderClock,
    /// The signal that stopped the run early (`crate::interrupt`): the frames in flight were
    /// finished and the session recorded, but the dataset is not finalised; `--resume`
    /// completes it.
    pub interrupted_by: Option<i32>,
    /// Frames of this run (shard) in all.
    pub frames_of_run: u32,
}

/// Where a run's time went: seconds of the render thread per stage, the backend's own
/// stages, and seconds summed over the writer's tasks (which run in parallel with each other
/// and with rendering, so they can exceed the wall time; on a loaded machine they include
/// time spent waiting for a core).
#[derive(Clone, Debug, Default)]
pub struct RenderClock {
    /// Building episodes' worlds and backends (static BVH, pipelines, uploads).
    pub setup: f64,
    /// Advancing the world and building the frame inputs (TLAS, particles, lamps).
    pub simulate: f64,
    /// Handing a frame to the backend (on the CPU backend: rendering it).
    pub submit: f64,
    /// Waiting for a submitted frame and reading it back.
    pub collect: f64,
    /// Blocked because the writer had no room: the run was bound by encoding and writing.
    pub writer_full: f64,
    /// Labels, COCO masks and file encoding (seconds summed over the writer's tasks).
    pub encode: f64,
    /// Checksums, writes, fsyncs and frame records (seconds summed over the writer's tasks).
    pub write: f64,
    pub backend: Vec<(&'static str, f64)>,
    /// CPU seconds of the thread that ran the render loop (less than its wall time when the
    /// writer's threads kept it off a core), where the platform tells.
    pub render_cpu: Option<f64>,
    /// The writer's threads, and their CPU seconds over the run: how busy the writer was,
    /// without the double counting of the task times above (a task waiting for one of its
    /// parts runs other frames' tasks meanwhile).
    pub writer_threads: usize,
    pub writer_cpu: Option<f64>,
    /// Wall seconds of the render loop, which the CPU seconds are compared with.
    pub wall: f64,
}

impl RenderClock {
    /// One line for the run summary.
    pub fn describe(&self) -> String {
        let mut s = format!(
            "render thread: setup {:.2} s, simulate {:.2} s, submit {:.2} s, collect {:.2} s, writer full {:.2} s",
            self.setup, self.simulate, self.submit, self.collect, self.writer_full
        );
        if !self.backend.is_empty() {
            let parts: Vec<String> = self
                .backend
                .iter()
                .map(|(n, v)| format!("{n} {v:.3} s"))
                .collect();
            s += &format!(" ({})", parts.join(", "));
        }
        s += &format!(
            "; writer tasks (summed over threads): encode {:.2} s, write {:.2} s",
            self.encode, self.write
        );
        let wall = self.wall.max(1e-9);
        if let Some(cpu) = self.render_cpu {
            s += &format!(
                "; CPU time: render thread {cpu:.2} s of {:.2} s ({:.0} %)",
                self.wall,
                100.0 * cpu / wall
            );
        }
        if let Some(cpu) = self.writer_cpu.filter(|_| self.writer_threads > 0) {
            s += &format!(
                ", writer {cpu:.2} s over {} threads ({:.0} % busy)",
                self.writer_threads,
                100.0 * cpu / (wall * self.writer_threads as f64)
            );
        }
        s
    }
}

/// CPU seconds the calling thread has run so far, where the platform tells.
fn thread_cpu_s() -> Option<f64> {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime only writes the timespec it is handed.
        let r = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        (r == 0).then_some(ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9)
    }
    #[cfg(not(unix))]
    None
}

/// Adds the seconds since `t` to a nanosecond counter shared by the writer's tasks.
fn add_since(counter: &AtomicU64, t: Instant) {
    counter.fetch_add(t.elapsed().as_nanos() as u64, Ordering::Relaxed);
}

impl RenderSummary {
    pub fn frames_per_s(&self) -> f64 {
        self.frames_rendered as f64 / self.seconds.max(1e-9)
    }
}

/// One rendered frame on its way to the writer.
struct Rendered {
    inputs: FrameInputs,
    frames: SensorFrames,
    pool: Arc<GeometryPool>,
    variation: Option<EpisodeDraw>,
}

/// Gives the inputs of an episode-local frame the identity of the global frame: frame seeds
/// derive from the scenario seed and the global frame index, never from the episode or shard.
fn at_global_frame(inputs: &mut FrameInputs, seed: u64, frame: u32) {
    let s = hash3(seed32(seed), frame, 0x5EED);
    inputs.frame = frame;
    inputs.seed = s;
    for c in &mut inputs.cameras {
        c.params.seed = s;
        c.params.frame = frame;
    }
    if let Some(l) = &mut inputs.lidar {
        l.params.seed = s;
        l.params.frame = frame;
    }
}

fn same_geometry(a: &GeometryPool, b: &GeometryPool) -> bool {
    a.roots == b.roots
        && bytemuck::cast_slice::<_, u8>(&a.materials)
            == bytemuck::cast_slice::<_, u8>(&b.materials)
        && a.tri_ranges == b.tri_ranges
        && bytemuck::cast_slice::<_, u8>(&a.triangles)
            == bytemuck::cast_slice::<_, u8>(&b.triangles)
        && bytemuck::cast_slice::<_, u8>(&a.nodes) == bytemuck::cast_slice::<_, u8>(&b.nodes)
}

/// A frame's files: encoded bytes, and second copies of some of them (SemanticKITTI's copies
/// of the KITTI point clouds and labels), as (path, index into `files`).
struct FrameFiles {
    files: Vec<EncodedFile>,
    copies: Vec<(PathBuf, usize)>,
}

/// Encodes one frame in the chosen formats: the files, and the record without checksums.
fn encode_dataset_frame(
    dir: &DatasetDir,
    layout: &KittiLayout,
    cfg: &RunConfig,
    r: &Rendered,
) -> Result<(FrameFiles, FrameRecord), ExportError> {
    let inputs = &r.inputs;
    let f = inputs.frame;
    // Each camera's instance masks, made once for the boxes (camera 0) and COCO (all).
    let masked = match (cfg.has(Format::Coco), cfg.has(Format::Kitti)) {
        (true, _) => r.frames.cameras.len(),
        (false, true) => r.frames.cameras.len().min(1),
        (false, false) => 0,
    };
    let masks: Vec<Vec<InstanceMask>> = r.frames.cameras[..masked]
        .par_iter()
        .map(instance_masks)
        .collect();
    let (labels, coco_images) = rayon::join(
        || match (inputs.cameras.first(), r.frames.cameras.first()) {
            (Some(ci), Some(cf)) if cfg.has(Format::Kitti) => label_camera_masked(
                &r.pool,
                ci,
                inputs.lidar.as_ref(),
                cf,
                &masks[0],
                &inputs.objects,
            ),
            _ => Vec::new(),
        },
        || -> Vec<CocoImage> {
            if !cfg.has(Format::Coco) {
                return Vec::new();
            }
            r.frames
                .cameras
                .par_iter()
                .enumerate()
                .map(|(i, cam)| CocoImage {
                    camera: i as u32,
                    file_name: format!("training/image_{}/{f:06}.png", i + 2),
                    width: cam.width,
                    height: cam.height,
                    objects: coco::objects_masked(cam, &masks[i]),
                })
                .collect()
        },
    );
    let all = encode_frame(layout, inputs, &r.frames, &labels)?;
    let mut out = FrameFiles {
        files: Vec::with_capacity(all.len()),
        copies: Vec::new(),
    };
    for (path, bytes) in all {
        let rel = dir.relative(&path);
        let folder = rel.split('/').nth(1).unwrap_or("");
        let sk_path = match folder {
            "velodyne" => Some(semantic_kitti::velodyne_path(f, cfg.episode_frames)),
            "velodyne_labels" => Some(semantic_kitti::labels_path(f, cfg.episode_frames)),
            _ => None,
        }
        .filter(|_| cfg.has(Format::SemanticKitti))
        .map(|p| dir.root.join(p));
        let keep =
            cfg.has(Format::Kitti) || (cfg.has(Format::Coco) && folder.starts_with("image_"));
        match (keep, sk_path) {
            (true, Some(sk)) => {
                out.copies.push((sk, out.files.len()));
                out.files.push((path, bytes));
            }
            (true, None) => out.files.push((path, bytes)),
            (false, Some(sk)) => out.files.push((sk, bytes)),
            (false, None) => {}
        }
    }
    if cfg.has(Format::NuScenes) {
        // The sweep in nuScenes' five floats; each camera's PNG a second time under its
        // channel (a copy: the nuScenes folder stands alone).
        let (seq, in_ep) = semantic_kitti::sequence_of(f, cfg.episode_frames);
        let every = cfg.keyframe_every.unwrap_or(1);
        let path = |ch: &str, ext| {
            let (_, p) =
                crate::export::nuscenes::frame_path(ch, seq, in_ep, every, inputs.time_s, ext);
            dir.root.join(p)
        };
        if let Some(l) = &r.frames.lidar {
            out.files.push((
                path("LIDAR_TOP", "pcd.bin"),
                crate::export::nuscenes::pcd_bin(l),
            ));
        }
        for i in 0..r.frames.cameras.len() {
            let png = layout.file(&format!("image_{}", i + 2), f, "png");
            if let Some(k) = out.files.iter().position(|(p, _)| *p == png) {
                out.copies
                    .push((path(&crate::export::nuscenes::camera_channel(i), "png"), k));
            }
        }
    }
    let pose = inputs
        .cameras
        .first()
        .map(|c| c.world_from_camera)
        .or_else(|| inputs.lidar.as_ref().map(|l| l.world_from_lidar))
        .unwrap_or(inputs.world_from_ego);
    let rows = crate::abi::affine_rows(&pose);
    let record = FrameRecord {
        frame: f,
        seed: inputs.seed,
        time_s: inputs.time_s,
        variation: r.variation.clone(),
        braking: inputs.braking,
        pose: std::array::from_fn(|i| rows[i / 4][i % 4]),
        sk_calib: if cfg.has(Format::SemanticKitti) {
            semantic_kitti::calib_from_kitti(&calib_text(inputs))
        } else {
            String::new()
        },
        coco: coco_images,
        files: Vec::new(),
        sk_points: if cfg.has(Format::SemanticKitti) {
            r.frames
                .lidar
                .as_ref()
                .map(semantic_kitti::points_per_raw_id)
                .unwrap_or_default()
        } else {
            Default::default()
        },
        mcap: (cfg.has(Format::Mcap) || cfg.has(Format::NuScenes)).then(|| {
            let objects = if cfg.has(Format::NuScenes) {
                crate::export::nuscenes::world_objects(inputs, r.frames.lidar.as_ref(), &labels)
            } else {
                Vec::new()
            };
            crate::export::mcap::frame_facts(inputs, &labels, objects)
        }),
    };
    Ok((out, record))
}

/// Writes a frame's files, then its record; returns the bytes written (a link counts none).
/// With `fsync` the files' data and their directories' entries reach the disk before the
/// record does, so a record never outlives its files; with `link` the second copies are
/// symbolic links to the first.
fn write_dataset_frame(
    dir: &DatasetDir,
    frame: FrameFiles,
    mut record: FrameRecord,
    (fsync, link): (bool, bool),
) -> Result<u64, ExportError> {
    let files = frame.files;
    let mut written: Vec<FileRecord> = files
        .par_iter()
        .map(|(p, b)| {
            write_atomic_with(p, b, fsync)?;
            Ok(FileRecord {
                path: dir.relative(p),
                sha256: sha256_hex(b),
                bytes: b.len() as u64,
            })
        })
        .collect::<Result<_, ExportError>>()?;
    // Second copies share the first's bytes and checksum. A symbolic link says what it is
    // (a hard link would look like a second file, and an edit in place of one would change
    // the other).
    let copies: Vec<FileRecord> = frame
        .copies
        .par_iter()
        .map(|(path, i)| {
            if link {
                link_atomic(
                    path,
                    &relative_target(&dir.relative(path), &written[*i].path),
                )?;
            } else {
                write_atomic_with(path, &files[*i].1, fsync)?;
            }
            Ok(FileRecord {
                path: dir.relative(path),
                ..written[*i].clone()
            })
        })
        .collect::<Result<_, ExportError>>()?;
    let copied: u64 = copies.iter().map(|f| f.bytes).sum();
    let bytes = written.iter().map(|f| f.bytes).sum::<u64>() + if link { 0 } else { copied };
    written.extend(copies);
    if fsync {
        let parents: std::collections::BTreeSet<&Path> = files
            .iter()
            .map(|(p, _)| p)
            .chain(frame.copies.iter().map(|(p, _)| p))
            .filter_map(|p| p.parent())
            .collect();
        for d in parents {
            sync_dir(d)?;
        }
    }
    record.files = written;
    record.files.sort();
    // Without fsync the files are not flushed either, so neither is the record.
    dir.write_record(&record, fsync)?;
    if fsync && let Some(d) = dir.record(record.frame).parent() {
        sync_dir(d)?;
    }
    Ok(bytes)
}

/// Checks that `opts.out` may be used (empty, or a compatible run with `--resume`) without
/// writing anything. Returns whether it holds an earlier run.
fn check_out(opts: &RenderOptions, dir: &DatasetDir, cfg: &RunConfig) -> Result<bool, RenderError> {
    check_out_locked(opts, dir, cfg, false)
}

/// [`check_out`]; `locked`: this process holds the directory's lock (a second open of the lock
/// file would see it held).
fn check_out_locked(
    opts: &RenderOptions,
    dir: &DatasetDir,
    cfg: &RunConfig,
    locked: bool,
) -> Result<bool, RenderError> {
    if let Some(holder) = (!locked)
        .then(|| crate::files::lock_holder(&opts.out))
        .flatten()
    {
        return Err(crate::files::LockError::Held {
            path: opts.out.clone(),
            holder,
        }
        .into());
    }
    // Followed: a link to a directory is a directory the user chose.
    if let Ok(m) = std::fs::metadata(&opts.out)
        && !m.is_dir()
    {
        return Err(RenderError::NotADirectory {
            path: opts.out.clone(),
            kind: crate::files::file_kind(&m.file_type()),
        });
    }
    let empty = crate::files::is_unstarted(&opts.out);
    if !opts.resume && !empty {
        return Err(RenderError::NotEmpty {
            path: opts.out.clone(),
        });
    }
    if !empty {
        let previous: RunConfig =
            DatasetDir::read_json(&dir.run_config()).map_err(|_| RenderError::Mismatch {
                path: opts.out.clone(),
                reason: format!(
                    "{} is missing or unreadable, so this is not a verisim dataset directory",
                    dir.run_config().display()
                ),
            })?;
        if let Some(reason) = previous.incompatibility(cfg).or_else(|| {
            (previous.shard != cfg.shard).then(|| {
                format!(
                    "it was started as shard {:?}, not {:?}",
                    previous.shard, cfg.shard
                )
            })
        }) {
            return Err(RenderError::Mismatch {
                path: opts.out.clone(),
                reason,
            });
        }
    }
    Ok(!empty)
}

/// Prepares `opts.out` after [`check_out`]: removes an earlier run's temporaries, writes the
/// run configuration, the scenario copies and a placeholder manifest. Returns the earlier
/// sessions and the temporaries removed.
fn prepare(
    scenario: &Scenario,
    source: &Source,
    opts: &RenderOptions,
    dir: &DatasetDir,
    cfg: &RunConfig,
    earlier_run: bool,
) -> Result<(Vec<Session>, usize), RenderError> {
    let mut sessions = Vec::new();
    if earlier_run {
        sessions = DatasetDir::read_json(&dir.sessions()).unwrap_or_default();
    }
    // An earlier run's temporaries, or what a start killed before its first file left
    // (`files::is_unstarted`).
    let removed = dir.remove_temporaries();
    create_dir(&opts.out)?;
    dir.create()?;
    DatasetDir::write_json(&dir.run_config(), cfg)?;
    write_incomplete(dir, cfg)?;
    write_atomic(
        &opts.out.join(SCENARIO_RESOLVED),
        resolved_text(scenario).as_bytes(),
    )?;
    create_dir(&opts.out.join("provenance"))?;
    write_atomic(&opts.out.join(SCENARIO_COPY), source.text.as_bytes())?;
    Ok((sessions, removed))
}

/// Where a run stands, for progress reports: called after each frame is handed to the
/// writer.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    /// Frames of this session rendered so far.
    pub done: u32,
    /// Frames this session renders (finished frames skipped by `--resume` not counted).
    pub total: u32,
    /// Bytes of frame files the writer has finished so far.
    pub bytes_written: u64,
    /// Seconds since the run started.
    pub elapsed_s: f64,
}

impl Progress {
    /// Frames per second so far.
    pub fn frames_per_s(&self) -> f64 {
        if self.elapsed_s > 0.0 {
            self.done as f64 / self.elapsed_s
        } else {
            0.0
        }
    }

    /// Seconds left at the rate so far; None before the first frame.
    pub fn eta_s(&self) -> Option<f64> {
        let rate = self.frames_per_s();
        (self.done > 0 && rate > 0.0).then(|| (self.total - self.done) as f64 / rate)
    }
}

/// Bytes, lidar points and frames written, and the first error.
#[derive(Default)]
struct Tally {
    totals: (u64, u64, u32),
    error: Option<ExportError>,
}

impl Tally {
    fn add(&mut self, r: Result<(u64, u64, u32), ExportError>) {
        match r {
            Ok(t) => {
                let a = self.totals;
                self.totals = (a.0 + t.0, a.1 + t.1, a.2 + t.2);
            }
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
    }
}

/// The world of the current episode, and the backend that renders it.
struct EpisodeState {
    episode: u32,
    sim: Simulation,
    pool: Arc<GeometryPool>,
    draw: Option<EpisodeDraw>,
}

impl EpisodeState {
    fn new(scenario: &Scenario, episode: u32) -> Result<Self, RenderError> {
        let (sc, draw) = crate::scenario::sweep::episode_scenario(scenario, episode)?;
        let sim = Simulation::try_new(sc)?;
        Ok(EpisodeState {
            episode,
            pool: Arc::new(sim.assets.pool.clone()),
            sim,
            draw,
        })
    }
}

/// Renders the frames of `scenario` (or of one shard) into `opts.out`. `on_progress` is
/// called after each frame is handed to the writer.
pub fn render(
    scenario: &Scenario,
    source: &Source,
    opts: &RenderOptions,
    on_progress: impl FnMut(&Progress),
) -> Result<RenderSummary, RenderError> {
    render_with(
        scenario,
        source,
        opts,
        |pool| create_backend(opts.backend, pool),
        on_progress,
    )
}

/// [`render`] with the backend made by `make_backend` for each episode's geometry instead of
/// `opts.backend` (the `pipeline` bench replays frames rendered beforehand, to measure
/// everything but the renderer).
pub fn render_with(
    scenario: &Scenario,
    source: &Source,
    opts: &RenderOptions,
    mut make_backend: impl FnMut(&GeometryPool) -> Result<Box<dyn Backend>, BackendError>,
    mut on_progress: impl FnMut(&Progress),
) -> Result<RenderSummary, RenderError> {
    let start = Instant::now();
    let started = now_rfc3339();
    crate::scenario::sweep::precheck(scenario)?;
    let formats = if opts.formats.is_empty() {
        Format::all()
    } else {
        opts.formats.clone()
    };
    let cfg = RunConfig::new(scenario, source, &opts.overrides, &formats, opts.shard)
        .with_linked_views(opts.link_views);
    let dir = DatasetDir::new(&opts.out);
    let earlier_run = !opts.render_only && check_out(opts, &dir, &cfg)?;
    let mine = cfg.frames_of_run();
    let todo: Vec<u32> = mine
        .iter()
        .copied()
        .filter(|&f| !(opts.resume && dir.finished_record(f).is_some()))
        .collect();
    // The first episode's world and backend are made before anything is written, so a
    // backend that cannot start (no GPU adapter) leaves `--out` as it was.
    let t_setup = Instant::now();
    let mut state: Option<EpisodeState> = None;
    let mut backend: Option<Box<dyn Backend>> = None;
    if let Some(&f) = todo.first() {
        let st = EpisodeState::new(scenario, crate::scenario::sweep::episode_of(scenario, f))?;
        backend = Some(make_backend(&st.sim.assets.pool)?);
        state = Some(st);
    }
    let first_setup_s = t_setup.elapsed().as_secs_f64();
    // The directory is this run's from here to the end: a second render, `--resume` or
    // `merge` into it is refused while the lock is held. Checked again under the lock, as
    // another run may have started since the first check.
    let _lock = if opts.render_only {
        None
    } else {
        let lock =
            crate::files::DirLock::acquire(&opts.out, &format!("render on {}", host_name()))?;
        if check_out_locked(opts, &dir, &cfg, true)? != earlier_run {
            return Err(RenderError::Mismatch {
                path: opts.out.clone(),
                reason: "another run wrote into it while this one started".into(),
            });
        }
        Some(lock)
    };
    let (mut sessions, removed) = if opts.render_only {
        (Vec::new(), 0)
    } else {
        prepare(scenario, source, opts, &dir, &cfg, earlier_run)?
    };
    let layout = KittiLayout::new(
        &opts.out,
        scenario.rig.cameras.len(),
        !scenario.rig.lidars.is_empty(),
    )
    .with_compensated(cfg.lidar_compensated)
    .with_planes(cfg.trainer_files);
    if !opts.render_only {
        layout.create()?;
        if cfg.has(Format::SemanticKitti) && cfg.lidar {
            for seq in cfg.sequences_of_run() {
                for sub in ["velodyne", "labels"] {
                    create_dir(&opts.out.join(semantic_kitti::sequence_dir(seq)).join(sub))?;
                }
            }
        }
        if cfg.has(Format::NuScenes) {
            for dir in crate::export::nuscenes::frame_dirs(&cfg) {
                create_dir(&opts.out.join(dir))?;
            }
        }
    }

    let mut summary = RenderSummary {
        frames_skipped: (mine.len() - todo.len()) as u32,
        temporaries_removed: removed,
        ..Default::default()
    };

    let backend_name = Mutex::new(String::new());
    let total = todo.len() as u32;
    let (tx, rx) = mpsc::sync_channel::<Rendered>(2);
    let (encode_ns, write_ns) = (AtomicU64::new(0), AtomicU64::new(0));
    let bytes_done = AtomicU64::new(0);
    // One core is left to the render thread, the pipeline's critical path.
    let writer_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(rayon::current_num_threads().saturating_sub(1).max(2))
        .thread_name(|i| format!("verisim-writer-{i}"))
        .build()
        .map_err(|e| ExportError::Io {
            path: opts.out.clone(),
            source: std::io::Error::other(e),
        })?;
    let (loop_start, loop_cpu) = (Instant::now(), thread_cpu_s());
    let result = std::thread::scope(|scope| -> Result<(), RenderError> {
        let writer_pool = &writer_pool;
        let (dir_w, layout_w, cfg_w) = (&dir, &layout, &cfg);
        let (encode_ns, write_ns, bytes_done) = (&encode_ns, &write_ns, &bytes_done);
        let write_mode = (opts.fsync, cfg.linked_views);
        let writer = scope.spawn(move || -> Result<(u64, u64, u32), ExportError> {
            // This thread receives (blocking, outside any rayon pool) and hands each frame to
            // the writer's own pool, with at most one frame per worker in flight: frames encode
            // in parallel with each other and with rendering. The render thread's parallel work
            // (the TLAS, particles, the CPU backend) stays in the global pool, so it is never
            // queued behind a busy writer's tasks; the OS shares the cores between the two.
            let max_in_flight = writer_pool.current_num_threads().max(2);
            let (done_tx, done_rx) = mpsc::channel::<Result<(u64, u64, u32), ExportError>>();
            let mut tally = Tally::default();
            writer_pool.in_place_scope(|s| {
                let mut in_flight = 0;
                for r in rx {
                    while in_flight >= max_in_flight {
                        tally.add(done_rx.recv().expect("a task is in flight"));
                        in_flight -= 1;
                    }
                    let done_tx = done_tx.clone();
                    s.spawn(move |_| {
                        let work = || -> Result<(u64, u64, u32), ExportError> {
                            let points = r
                                .frames
                                .lidar
                                .as_ref()
                                .map_or(0, |l| l.points().count() as u64);
                            let t = Instant::now();
                            let (files, record) = encode_dataset_frame(dir_w, layout_w, cfg_w, &r)?;
                            drop(r);
                            add_since(encode_ns, t);
                            let t = Instant::now();
                            let bytes = write_dataset_frame(dir_w, files, record, write_mode)?;
                            add_since(write_ns, t);
                            bytes_done.fetch_add(bytes, Ordering::Relaxed);
                            Ok((bytes, points, 1))
                        };
                        let _ = done_tx.send(work());
                    });
                    in_flight += 1;
                    // Stop taking frames after an error (the render loop sees the closed queue).
                    while let Ok(res) = done_rx.try_recv() {
                        tally.add(res);
                        in_flight -= 1;
                    }
                    if tally.error.is_some() {
                        break;
                    }
                }
            });
            drop(done_tx);
            for res in done_rx {
                tally.add(res);
            }
            match tally.error {
                Some(e) => Err(e),
                None => Ok(tally.totals),
            }
        });
        let mut render_error = None;
        let mut interrupted = None;
        let mut rendered_only = 0u32;
        // Frames submitted to the backend and not collected yet, oldest first: a pipelined
        // backend renders them while this thread simulates the next frame.
        let mut pending: VecDeque<(FrameInputs, Arc<GeometryPool>, Option<EpisodeDraw>)> =
            VecDeque::new();
        let mut done = 0u32;
        // Collects the oldest pending frames and hands them on until at most `keep` remain;
        // false when the run must stop.
        let mut finish_down_to = |keep: usize,
                                  b: &mut Box<dyn Backend>,
                                  pending: &mut VecDeque<_>,
                                  render_error: &mut Option<RenderError>,
                                  clock: &mut RenderClock|
         -> bool {
            while pending.len() > keep {
                let Some((inputs, pool, variation)) = pending.pop_front() else {
                    break;
                };
                let t = Instant::now();
                let frames = match b.collect() {
                    Ok(fr) => fr,
                    Err(e) => {
                        *render_error = Some(e.into());
                        return false;
                    }
                };
                clock.collect += t.elapsed().as_secs_f64();
                if opts.render_only {
                    rendered_only += 1;
                } else {
                    let t = Instant::now();
                    let item = Rendered {
                        inputs,
                        frames,
                        pool,
                        variation,
                    };
                    if tx.send(item).is_err() {
                        return false; // the writer stopped on an error; it is reported below
                    }
                    clock.writer_full += t.elapsed().as_secs_f64();
                }
                done += 1;
                on_progress(&Progress {
                    done,
                    total,
                    bytes_written: bytes_done.load(Ordering::Relaxed),
                    elapsed_s: start.elapsed().as_secs_f64(),
                });
            }
            true
        };
        let mut clock = RenderClock {
            setup: first_setup_s,
            ..Default::default()
        };
        'frames: for &f in &todo {
            // A stop request (SIGINT, SIGTERM) takes no new frame; the ones in flight are
            // finished below.
            if let Some(sig) = crate::interrupt::requested() {
                interrupted = Some(sig);
                break;
            }
            let t = Instant::now();
            let episode = crate::scenario::sweep::episode_of(scenario, f);
            if state.as_ref().is_none_or(|s| s.episode != episode) {
                let next = match EpisodeState::new(scenario, episode) {
                    Ok(x) => x,
                    Err(e) => {
                        render_error = Some(e);
                        break;
                    }
                };
                let reuse = state
                    .as_ref()
                    .is_some_and(|s| same_geometry(&s.pool, &next.pool));
                if !reuse || backend.is_none() {
                    // A new backend starts empty: finish the old one's frames first.
                    if let Some(b) = backend.as_mut()
                        && !finish_down_to(0, b, &mut pending, &mut render_error, &mut clock)
                    {
                        break 'frames;
                    }
                    match make_backend(&next.sim.assets.pool) {
                        Ok(b) => backend = Some(b),
                        Err(e) => {
                            render_error = Some(e.into());
                            break;
                        }
                    }
                }
                state = Some(next);
                clock.setup += t.elapsed().as_secs_f64();
            }
            let t = Instant::now();
            let st = state.as_mut().expect("set above");
            let b = backend.as_mut().expect("set above");
            st.sim
                .advance_to_frame(f - crate::scenario::sweep::episode_start(scenario, f));
            let mut inputs = st.sim.frame_inputs();
            at_global_frame(&mut inputs, scenario.run.seed, f);
            let t_submit = Instant::now();
            clock.simulate += (t_submit - t).as_secs_f64();
            if let Err(e) = b.submit(&inputs) {
                render_error = Some(e.into());
                break;
            }
            clock.submit += t_submit.elapsed().as_secs_f64();
            *backend_name.lock().expect("not poisoned") = b.describe();
            pending.push_back((inputs, st.pool.clone(), st.draw.clone()));
            let keep = b.frames_in_flight().saturating_sub(1);
            if !finish_down_to(keep, b, &mut pending, &mut render_error, &mut clock) {
                break;
            }
        }
        if render_error.is_none()
            && let Some(b) = backend.as_mut()
        {
            finish_down_to(0, b, &mut pending, &mut render_error, &mut clock);
        }
        clock.backend = backend.as_ref().map(|b| b.timings()).unwrap_or_default();
        clock.render_cpu = thread_cpu_s().zip(loop_cpu).map(|(b, a)| b - a);
        summary.stages = clock;
        drop(tx);
        let (bytes, points, n) = writer.join().expect("writer thread does not panic")?;
        summary.stages.wall = loop_start.elapsed().as_secs_f64();
        if !opts.render_only {
            // The pool is this run's own, so its threads' CPU time is the writer's.
            summary.stages.writer_threads = writer_pool.current_num_threads();
            summary.stages.writer_cpu = writer_pool
                .broadcast(|_| thread_cpu_s())
                .into_iter()
                .sum::<Option<f64>>();
        }
        summary.stages.encode = encode_ns.load(Ordering::Relaxed) as f64 * 1e-9;
        summary.stages.write = write_ns.load(Ordering::Relaxed) as f64 * 1e-9;
        summary.bytes_written = bytes;
        summary.lidar_points = points;
        summary.frames_rendered = n.max(rendered_only);
        summary.interrupted_by = interrupted;
        match render_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    });
    result?;
    summary.backend = backend_name.into_inner().expect("not poisoned");
    if summary.backend.is_empty() {
        summary.backend = backend.as_ref().map_or_else(
            || format!("{:?} (no frame rendered)", opts.backend).to_lowercase(),
            |b| b.describe(),
        );
    }
    summary.seconds = start.elapsed().as_secs_f64();
    summary.frames_of_run = mine.len() as u32;
    if opts.render_only {
        return Ok(summary);
    }
    sessions.push(Session {
        host: host_name(),
        backend: summary.backend.clone(),
        shard: cfg.shard,
        started,
        // An interrupted session has no end: the run goes on with `--resume`.
        finished: summary.interrupted_by.is_none().then(now_rfc3339),
        frames_rendered: summary.frames_rendered,
        stopped_by: summary.interrupted_by.map(crate::interrupt::name),
    });
    DatasetDir::write_json(&dir.sessions(), &sessions)?;
    if summary.interrupted_by.is_some() {
        return Ok(summary);
    }
    let done = finalize(
        &dir,
        &cfg,
        &scenario.dataset,
        &scenario.description,
        &sessions,
    )?;
    // The run ends with its aggregates (an MCAP file per episode is read back from the
    // frames' files): their time and bytes are the run's.
    summary.bytes_written += done.bytes_written;
    summary.seconds = start.elapsed().as_secs_f64();
    Ok(summary)
}
