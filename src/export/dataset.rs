//! A dataset directory and its bookkeeping: output formats, the run configuration
//! (`.verisim/run.json`), one record per finished frame (`.verisim/frames/NNNNNN.json`, written
//! atomically after the frame's files, so a frame is done exactly when its record exists) and
//! the sessions that rendered it (`.verisim/sessions.json`).
//!
//! The records carry every checksum and every per-frame fact the aggregate files need (poses,
//! times, COCO annotations), so the manifest is assembled from them alone: a resumed run, a
//! merge of shards and an uninterrupted run produce the same data files and checksums.

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ExportError;
use super::atomic::{create_dir, write_atomic, write_atomic_with};
use super::coco::CocoImage;
use crate::scenario::sweep::EpisodeDraw;
use crate::scenario::{Scenario, Source};

/// Hidden folder for bookkeeping; not part of the distribution.
pub const META_DIR: &str = ".verisim";

/// Output formats (`--format`).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// KITTI object layout under training/ (image_2, velodyne, label_2, calib, depth_2,
    /// semantic_2, instance_2, velodyne_labels)
    Kitti,
    /// SemanticKITTI sequence view: sequences/00/{velodyne,labels,poses.txt,calib.txt,times.txt}
    SemanticKitti,
    /// COCO instances: coco/instances.json over training/image_2 (RLE masks)
    Coco,
    /// MCAP, one file per episode (mcap/episode_SS.mcap) with Foxglove's schemas; assembled
    /// from the KITTI files when the run finishes, so it writes kitti too
    Mcap,
    /// nuScenes tables, samples and sweeps under nuscenes/ (v1.0-verisim), for the nuScenes
    /// devkit; writes kitti too (the map is made from its point labels)
    #[serde(rename = "nuscenes")]
    #[value(name = "nuscenes")]
    NuScenes,
}

impl Format {
    pub fn all() -> Vec<Format> {
        vec![Format::Kitti, Format::SemanticKitti, Format::Coco]
    }
}

/// A deterministic subset of the frames: those with `frame % count == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn contains(&self, frame: u32) -> bool {
        frame % self.count == self.index
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("expected INDEX/COUNT such as 0/4, found `{s}`"))?;
        let index: u32 = i
            .trim()
            .parse()
            .map_err(|_| format!("`{i}` is not a shard index"))?;
        let count: u32 = n
            .trim()
            .parse()
            .map_err(|_| format!("`{n}` is not a shard count"))?;
        if count == 0 || index >= count {
            return Err(format!("expected 0 ≤ INDEX < COUNT, found {index}/{count}"));
        }
        Ok(Shard { index, count })
    }
}

/// One camera's image size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CameraSize {
    pub width: u32,
    pub height: u32,
}

/// What a dataset directory is being rendered from (`.verisim/run.json`). Two runs may share a
/// directory (resume) or be merged only when these agree (the frame count and shard aside).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunConfig {
    pub name: String,
    /// sha256 of the resolved scenario (overrides applied) with `run.frames` set to 0.
    pub scenario_key: String,
    pub source_path: String,
    pub source_sha256: String,
    pub overrides: Vec<String>,
    pub formats: Vec<Format>,
    pub frames: u32,
    pub seed: u64,
    pub cameras: Vec<CameraSize>,
    pub lidar: bool,
    pub shard: Option<Shard>,
    /// The scenario's `variations.episode_frames`: each episode is its own SemanticKITTI
    /// sequence (None: the run is one sequence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub episode_frames: Option<u32>,
    /// The lidar also writes motion-compensated points (`velodyne_compensated/`).
    #[serde(default)]
    pub lidar_compensated: bool,
    /// The SemanticKITTI view's `velodyne/` and `labels/` files are symbolic links to the
    /// KITTI files (false: files, as every dataset written before the links).
    #[serde(default)]
    pub linked_views: bool,
    /// The trainers' files are written: KITTI `planes/` per frame, `ImageSets/*.txt` and
    /// `semantic-kitti.yaml` (false for datasets written before them; `verify` then does not
    /// expect them).
    #[serde(default)]
    pub trainer_files: bool,
    /// nuScenes keyframes: every this many frames of an episode (2 Hz at the sensor rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keyframe_every: Option<u32>,
    /// The glTF models and the OpenDRIVE map the scenario imports, with the sha256 of each
    /// file: a model changed since the run began is not mixed into it by `--resume`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub models: Vec<ModelFile>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFile {
    pub path: String,
    /// sha256 of the `.gltf`/`.glb` file (the files it names are not hashed), or the read
    /// error.
    pub sha256: String,
}

/// The scenario's model files (actors' then props', each once) and their hashes.
fn model_files(scenario: &Scenario) -> Vec<ModelFile> {
    let mut out: Vec<ModelFile> = Vec::new();
    let paths = scenario
        .actors
        .iter()
        .filter_map(|a| a.mesh.as_ref())
        .chain(scenario.map.props.iter().map(|p| &p.mesh))
        .map(|m| m.path.display().to_string())
        .chain(
            scenario
                .map
                .opendrive
                .iter()
                .map(|o| o.path.display().to_string()),
        );
    for path in paths {
        if out.iter().any(|m| m.path == path) {
            continue;
        }
        let sha256 = match std::fs::read(&path) {
            Ok(bytes) => sha256_hex(&bytes),
            Err(e) => format!("unreadable: {e}"),
        };
        out.push(ModelFile { path, sha256 });
    }
    out
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The resolved scenario as written to `DIR/scenario.ron`.
pub fn resolved_text(scenario: &Scenario) -> String {
    ron::ser::to_string_pretty(scenario, ron::ser::PrettyConfig::default()).unwrap_or_default()
}

impl RunConfig {
    pub fn new(
        scenario: &Scenario,
        source: &Source,
        overrides: &[String],
        formats: &[Format],
        shard: Option<Shard>,
    ) -> Self {
        let mut keyed = scenario.clone();
        keyed.run.frames = 0;
        let keyframe_every = formats
            .contains(&Format::NuScenes)
            .then(|| ((scenario.run.sensor_rate_hz / 2.0).round() as u32).max(1));
        let mut formats = formats.to_vec();
        // MCAP and nuScenes are assembled from the KITTI point clouds, labels and images.
        if formats.contains(&Format::Mcap) || formats.contains(&Format::NuScenes) {
            formats.push(Format::Kitti);
        }
        formats.sort();
        formats.dedup();
        RunConfig {
            name: scenario.name.clone(),
            scenario_key: sha256_hex(resolved_text(&keyed).as_bytes()),
            source_path: source.path.display().to_string(),
            source_sha256: sha256_hex(source.text.as_bytes()),
            overrides: overrides.to_vec(),
            formats,
            frames: scenario.run.frames,
            seed: scenario.run.seed,
            cameras: scenario
                .rig
                .cameras
                .iter()
                .map(|c| CameraSize {
                    width: c.width,
                    height: c.height,
                })
                .collect(),
            lidar: !scenario.rig.lidars.is_empty(),
            shard,
            episode_frames: scenario.variations.as_ref().map(|v| v.episode_frames),
            lidar_compensated: scenario
                .rig
                .lidars
                .first()
                .is_some_and(|l| l.compensated_points),
            linked_views: false,
            trainer_files: true,
            keyframe_every,
            models: model_files(scenario),
        }
    }

    /// The same configuration with the SemanticKITTI view linked to the KITTI files when
    /// `link` is asked for, both formats are written and links can be made here.
    pub fn with_linked_views(mut self, link: bool) -> Self {
        self.linked_views = link
            && super::atomic::LINKS
            && self.lidar
            && self.has(Format::Kitti)
            && self.has(Format::SemanticKitti);
        self
    }

    pub fn has(&self, f: Format) -> bool {
        self.formats.contains(&f)
    }

    /// The frames this run (or shard) is responsible for.
    pub fn frames_of_run(&self) -> Vec<u32> {
        (0..self.frames)
            .filter(|&f| self.shard.is_none_or(|s| s.contains(f)))
            .collect()
    }

    /// The SemanticKITTI sequences this run (or shard) writes into.
    pub fn sequences_of_run(&self) -> Vec<u32> {
        let mut s: Vec<u32> = self
            .frames_of_run()
            .into_iter()
            .map(|f| super::semantic_kitti::sequence_of(f, self.episode_frames).0)
            .collect();
        s.dedup();
        s
    }

    /// The first difference that forbids sharing a directory or merging, if any.
    pub fn incompatibility(&self, other: &RunConfig) -> Option<String> {
        if self.scenario_key != other.scenario_key {
            return Some(format!(
                "the resolved scenario differs (scenario `{}` with overrides {:?} vs `{}` with {:?})",
                self.source_path, self.overrides, other.source_path, other.overrides
            ));
        }
        for (a, b) in self.models.iter().zip(&other.models) {
            if a.sha256 != b.sha256 {
                return Some(format!(
                    "the model {} changed since the run began (sha256 {} vs {})",
                    b.path, a.sha256, b.sha256
                ));
            }
        }
        if self.formats != other.formats {
            return Some(format!(
                "the formats differ ({:?} vs {:?})",
                self.formats, other.formats
            ));
        }
        if self.trainer_files != other.trainer_files {
            return Some(
                "one was written without planes/, ImageSets/ and semantic-kitti.yaml (by an older verisim); render into a new directory"
                    .into(),
            );
        }
        if self.linked_views != other.linked_views {
            let how = |l: bool| if l { "linked" } else { "copies (--copy-views)" };
            return Some(format!(
                "the SemanticKITTI view's files differ ({} vs {})",
                how(self.linked_views),
                how(other.linked_views)
            ));
        }
        None
    }
}

/// One written file: path relative to the dataset root (with `/`), checksum and size.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FileRecord {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// Everything known about one finished frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameRecord {
    pub frame: u32,
    pub seed: u32,
    /// Time since the start of the frame's episode (the whole run without variations).
    pub time_s: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variation: Option<EpisodeDraw>,
    /// The hardest braking (relative to friction) in the ticks before this frame.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub braking: Option<crate::frame::BrakingSample>,
    /// world_from_camera of camera 0 (else world_from_lidar), 3x4 row-major.
    pub pose: [f32; 12],
    /// SemanticKITTI calib.txt text for this frame.
    pub sk_calib: String,
    pub coco: Vec<CocoImage>,
    pub files: Vec<FileRecord>,
    /// Lidar points per SemanticKITTI raw id (for `semantic-kitti.yaml`'s `content`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sk_points: BTreeMap<u16, u64>,
    /// Poses, intrinsics and boxes for the episode's MCAP file and the nuScenes tables (with
    /// `--format mcap` or `nuscenes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mcap: Option<super::mcap::McapFrame>,
}

/// A rendering session in a dataset directory (one per `render` or `render --resume`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub host: String,
    pub backend: String,
    pub shard: Option<Shard>,
    pub started: String,
    /// None while it runs, and for one killed or stopped by a signal.
    pub finished: Option<String>,
    pub frames_rendered: u32,
    /// The signal that stopped it after it finished its frames in flight ("SIGINT",
    /// "SIGTERM"); absent for a session that ran to its end (or was killed outright).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<String>,
}

/// Paths inside a dataset directory.
#[derive(Clone, Debug)]
pub struct DatasetDir {
    pub root: PathBuf,
}

impl DatasetDir {
    pub fn new(root: &Path) -> Self {
        DatasetDir {
            root: root.to_owned(),
        }
    }
    pub fn meta(&self) -> PathBuf {
        self.root.join(META_DIR)
    }
    pub fn run_config(&self) -> PathBuf {
        self.meta().join("run.json")
    }
    pub fn sessions(&self) -> PathBuf {
        self.meta().join("sessions.json")
    }
    pub fn record(&self, frame: u32) -> PathBuf {
        self.meta()
            .join(crate::files::FRAMES_DIR)
            .join(format!("{frame:06}.json"))
    }
    pub fn manifest(&self) -> PathBuf {
        self.root.join("manifest.json")
    }
    /// Path relative to the root, `/`-separated.
    pub fn relative(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        rel.components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join("/")
    }

    pub fn create(&self) -> Result<(), ExportError> {
        create_dir(&self.meta().join(crate::files::FRAMES_DIR))
    }

    pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ExportError> {
        let bytes = std::fs::read(path).map_err(|source| ExportError::Io {
            path: path.to_owned(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|e| ExportError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })
    }

    pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ExportError> {
        let text = serde_json::to_string_pretty(value).expect("plain data serializes");
        write_atomic(path, text.as_bytes())
    }

    /// Writes a frame's record, compact (a pretty record of a frame with COCO masks is 3.7x
    /// larger: every run length on its own line), flushed to the disk when `durable`.
    pub fn write_record(&self, record: &FrameRecord, durable: bool) -> Result<(), ExportError> {
        let text = serde_json::to_vec(record).expect("plain data serializes");
        write_atomic_with(&self.record(record.frame), &text, durable)
    }

    /// A frame's record when the frame is complete: the record parses and every file it lists
    /// exists with its recorded size (files are renamed into place whole, so a size match
    /// means the file is the one written; `verify` checks the bytes).
    pub fn finished_record(&self, frame: u32) -> Option<FrameRecord> {
        let rec: FrameRecord = Self::read_json(&self.record(frame)).ok()?;
        let ok = rec.frame == frame
            && rec.files.iter().all(|f| {
                std::fs::metadata(self.root.join(&f.path)).is_ok_and(|m| m.len() == f.bytes)
            });
        ok.then_some(rec)
    }

    /// Removes temporary files a killed run left behind (`.NAME.tmpPID`), inside the dataset
    /// only (a linked directory is not entered).
    pub fn remove_temporaries(&self) -> usize {
        let mut removed = 0;
        walk_entries(&self.root, &mut |p, name| {
            if super::atomic::is_temporary(name) && std::fs::remove_file(p).is_ok() {
                removed += 1;
            }
        });
        removed
    }
}

/// Calls `visit` with every entry under `root` that is not a directory (files, and symbolic
/// links of any kind) and its name. Directories are entered only when they are real ones: a
/// symbolic link to a directory is visited as an entry, never followed, so a link back up the
/// tree cannot loop and a link out of it cannot lead outside.
fn walk_entries(root: &Path, visit: &mut dyn FnMut(&Path, &str)) {
    let mut stack = vec![root.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            // `DirEntry::file_type` does not follow links.
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            } else {
                visit(&p, &e.file_name().to_string_lossy());
            }
        }
    }
}

/// Every file under `root` (relative, `/`-separated, sorted), bookkeeping included; a link to
/// a directory is listed as an entry of its own, not entered.
pub fn list_files(root: &Path) -> Vec<String> {
    let dir = DatasetDir::new(root);
    let mut out = BTreeSet::new();
    walk_entries(root, &mut |p, _| {
        out.insert(dir.relative(p));
    });
    out.into_iter().collect()
}

/// Host name for provenance.
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

/// The current UTC time as RFC 3339 with milliseconds (`2025-01-31T12:00:00.000Z`).
pub fn now_rfc3339() -> String {
    format!("{:.3}", jiff::Timestamp::now())
}

/// Today's UTC date.
pub fn today() -> (i32, u32, u32) {
    let d = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    (d.year().into(), d.month() as u32, d.day() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let t = now_rfc3339();
        // 2026-12-07T07:12:03.123Z
        assert_eq!(t.len(), 24, "{t}");
        assert!(
            t.ends_with('Z') && t.as_bytes()[10] == b'T' && t.as_bytes()[19] == b'.',
            "{t}"
        );
        let back: jiff::Timestamp = t.parse().expect("parses back");
        let (y, m, d) = today();
        assert!(t.starts_with(&format!("{y:04}-{m:02}-{d:02}")) || back.as_second() % 86_400 < 2);
    }

    /// What a start killed while writing `.verisim/run.json` leaves: the lock and one
    /// temporary. The temporary goes, the lock stays (its holder removes it).
    #[test]
    fn remove_temporaries_clears_a_killed_start() {
        let tmp = tempfile::tempdir().unwrap();
        let meta = tmp.path().join(".verisim");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(tmp.path().join(crate::files::LOCK_FILE), b"render").unwrap();
        std::fs::write(meta.join(".run.json.tmp4242"), b"{\"form").unwrap();
        assert!(crate::files::is_unstarted(tmp.path()));
        assert_eq!(DatasetDir::new(tmp.path()).remove_temporaries(), 1);
        assert!(!meta.join(".run.json.tmp4242").exists());
        assert!(meta.join("lock").exists());
        assert!(crate::files::is_unstarted(tmp.path()));
    }

    #[test]
    fn shards_parse_and_partition() {
        let s: Shard = "1/3".parse().unwrap();
        assert_eq!((s.index, s.count), (1, 3));
        assert!("3/3".parse::<Shard>().is_err());
        assert!("1-3".parse::<Shard>().is_err());
        assert!("0/0".parse::<Shard>().is_err());
        let shards: Vec<Shard> = (0..3).map(|i| Shard { index: i, count: 3 }).collect();
        for f in 0..30 {
            assert_eq!(shards.iter().filter(|s| s.contains(f)).count(), 1);
        }
    }
}
