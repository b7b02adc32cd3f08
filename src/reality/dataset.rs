//! Dataset discovery: KITTI layout (a root holding `training/` or `testing/`, or a split
//! directory holding `velodyne/`, `image_2/`, ... directly), nuScenes layout (`samples/LIDAR_TOP`,
//! `samples/CAM_*`), a directory of loose files, or a list of files. For a file inside a KITTI
//! split directory its siblings (image_2, label_2, calib) are found by frame number.

use super::error::{RealityError, Result};
use super::lidar::SensorModel;
use super::readers::LidarFormat;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The files of one frame. Any part may be missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrameSpec {
    pub id: String,
    /// Recording (drive) the frame belongs to, when known: frames of one drive are correlated and
    /// are resampled together for the baseline.
    pub drive: Option<String>,
    pub lidar: Option<PathBuf>,
    pub image: Option<PathBuf>,
    pub label: Option<PathBuf>,
    pub calib: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Layout {
    Kitti,
    Nuscenes,
    Files,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub root: PathBuf,
    pub layout: Layout,
    pub frames: Vec<FrameSpec>,
}

fn is_image(p: &Path) -> bool {
    matches!(
        p.extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
            .as_deref(),
        Some("png" | "jpg" | "jpeg")
    )
}

fn stem_of(p: &Path) -> String {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.strip_suffix(".pcd.bin")
        .unwrap_or_else(|| name.rsplit_once('.').map_or(name, |(s, _)| s))
        .to_string()
}

fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let rd = std::fs::read_dir(dir).map_err(|e| RealityError::io(dir, e))?;
    let mut v = Vec::new();
    for e in rd {
        let e = e.map_err(|e| RealityError::io(dir, e))?;
        v.push(e.path());
    }
    v.sort();
    Ok(v)
}

/// nuScenes names files `<log>__<CHANNEL>__<timestamp>`; the log is the drive.
fn nuscenes_drive(p: &Path) -> Option<String> {
    let name = p.file_name()?.to_str()?;
    let (log, rest) = name.split_once("__")?;
    rest.contains("__").then(|| log.to_string())
}

fn kitti_split(dir: &Path) -> Result<Vec<FrameSpec>> {
    let mut frames: BTreeMap<String, FrameSpec> = BTreeMap::new();
    for (sub, slot) in [
        ("velodyne", 0),
        ("image_2", 1),
        ("label_2", 2),
        ("calib", 3),
    ] {
        let d = dir.join(sub);
        if !d.is_dir() {
            continue;
        }
        for p in list_dir(&d)? {
            let ok = match slot {
                0 => LidarFormat::from_path(&p).is_some(),
                1 => is_image(&p),
                _ => p.extension().is_some_and(|e| e == "txt"),
            };
            if !ok {
                continue;
            }
            let id = stem_of(&p);
            let f = frames.entry(id.clone()).or_insert_with(|| FrameSpec {
                id,
                ..Default::default()
            });
            match slot {
                0 => f.lidar = Some(p),
                1 => f.image = Some(p),
                2 => f.label = Some(p),
                _ => f.calib = Some(p),
            }
        }
    }
    Ok(frames.into_values().collect())
}

fn sibling(split: &Path, sub: &str, id: &str, exts: &[&str]) -> Option<PathBuf> {
    exts.iter()
        .map(|e| split.join(sub).join(format!("{id}.{e}")))
        .find(|p| p.is_file())
}

/// The file of the same frame in folder `sub` of the same split, with extension `ext`
/// (`training/velodyne/000003.bin` → `training/velodyne_labels/000003.label`), if it exists.
pub fn sibling_of(file: &Path, sub: &str, ext: &str) -> Option<PathBuf> {
    let split = file.parent()?.parent()?;
    sibling(split, sub, file.file_stem()?.to_str()?, &[ext])
}

/// A single file as a frame; inside a KITTI split directory its siblings come along.
fn frame_from_file(p: &Path) -> Option<FrameSpec> {
    let parent = p.parent()?;
    let pname = parent.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let id = stem_of(p);
    let is_lidar = LidarFormat::from_path(p).is_some();
    if !is_lidar && !is_image(p) {
        return None;
    }
    let mut f = FrameSpec {
        id: id.clone(),
        drive: nuscenes_drive(p),
        ..Default::default()
    };
    if is_lidar {
        f.lidar = Some(p.to_path_buf());
    } else {
        f.image = Some(p.to_path_buf());
    }
    if matches!(pname, "velodyne" | "image_2") {
        let split = parent.parent()?;
        if f.lidar.is_none() {
            f.lidar = sibling(split, "velodyne", &id, &["bin"]);
        }
        if f.image.is_none() {
            f.image = sibling(split, "image_2", &id, &["png", "jpg"]);
        }
        f.label = sibling(split, "label_2", &id, &["txt"]);
        f.calib = sibling(split, "calib", &id, &["txt"]);
        f.id = format!("{}/{id}", split.display());
    } else {
        f.id = p.display().to_string();
    }
    Some(f)
}

impl Dataset {
    /// Opens a dataset directory or a single file.
    pub fn open(path: &Path) -> Result<Dataset> {
        if path.is_file() {
            return Self::from_files(&[path.to_path_buf()]);
        }
        if !path.is_dir() {
            return Err(RealityError::Dataset {
                path: path.into(),
                what: "no such file or directory".into(),
            });
        }
        for split in ["training", "testing"] {
            if path.join(split).join("velodyne").is_dir()
                || path.join(split).join("image_2").is_dir()
            {
                return Ok(Dataset {
                    root: path.into(),
                    layout: Layout::Kitti,
                    frames: kitti_split(&path.join(split))?,
                });
            }
        }
        if ["velodyne", "image_2"]
            .iter()
            .any(|s| path.join(s).is_dir())
        {
            return Ok(Dataset {
                root: path.into(),
                layout: Layout::Kitti,
                frames: kitti_split(path)?,
            });
        }
        let samples = path.join("samples");
        if samples.join("LIDAR_TOP").is_dir() {
            let mut frames = Vec::new();
            for dir in list_dir(&samples)? {
                let ch = dir
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("")
                    .to_string();
                if !dir.is_dir() || !(ch == "LIDAR_TOP" || ch.starts_with("CAM_")) {
                    continue;
                }
                for p in list_dir(&dir)? {
                    if let Some(f) = frame_from_file(&p) {
                        frames.push(f);
                    }
                }
            }
            return Ok(Dataset {
                root: path.into(),
                layout: Layout::Nuscenes,
                frames,
            });
        }
        let files = list_dir(path)?;
        let mut ds = Self::from_files(&files)?;
        ds.root = path.into();
        if ds.frames.is_empty() {
            return Err(RealityError::Dataset {
                path: path.into(),
                what: "no lidar or image files found (expected KITTI training/ or velodyne/, nuScenes samples/, or .bin/.pcd/.ply/.png/.jpg files)".into(),
            });
        }
        Ok(ds)
    }

    /// A list of files; files of one KITTI frame are merged into one frame.
    pub fn from_files(files: &[PathBuf]) -> Result<Dataset> {
        let mut by_id: BTreeMap<String, FrameSpec> = BTreeMap::new();
        for p in files {
            if !p.exists() {
                return Err(RealityError::Dataset {
                    path: p.clone(),
                    what: "no such file".into(),
                });
            }
            if let Some(f) = frame_from_file(p) {
                let e = by_id.entry(f.id.clone()).or_insert_with(|| f.clone());
                e.lidar = e.lidar.clone().or(f.lidar);
                e.image = e.image.clone().or(f.image);
            }
        }
        let root = files
            .first()
            .and_then(|p| p.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        Ok(Dataset {
            root,
            layout: Layout::Files,
            frames: by_id.into_values().collect(),
        })
    }

    /// Opens several inputs as one dataset (directories or files).
    pub fn open_many(paths: &[PathBuf]) -> Result<Dataset> {
        let (dirs, files): (Vec<&PathBuf>, Vec<&PathBuf>) = paths.iter().partition(|p| p.is_dir());
        let mut frames = Vec::new();
        let mut layout = None;
        for d in &dirs {
            let ds = Self::open(d)?;
            layout.get_or_insert(ds.layout);
            frames.extend(ds.frames);
        }
        if !files.is_empty() {
            let owned: Vec<PathBuf> = files.into_iter().cloned().collect();
            let ds = Self::from_files(&owned)?;
            layout.get_or_insert(ds.layout);
            frames.extend(ds.frames);
        }
        let root = paths.first().cloned().unwrap_or_default();
        if frames.is_empty() {
            return Err(RealityError::Dataset {
                path: root,
                what: "no frames".into(),
            });
        }
        Ok(Dataset {
            root,
            layout: layout.unwrap_or(Layout::Files),
            frames,
        })
    }

    /// The lidar model the data implies: ring-carrying nuScenes files → HDL-32E, otherwise the
    /// KITTI HDL-64E.
    pub fn inferred_sensor(&self) -> SensorModel {
        let nus = self
            .frames
            .iter()
            .filter_map(|f| f.lidar.as_deref())
            .any(|p| LidarFormat::from_path(p) == Some(LidarFormat::NuscenesPcdBin));
        if nus {
            SensorModel::hdl32e()
        } else {
            SensorModel::hdl64e()
        }
    }
}
