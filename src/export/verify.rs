//! `verisim verify DIR`: checks a dataset against its manifest. Structure (every file the
//! layout expects for every frame is listed, nothing unlisted lies in the directory), counts
//! (frames, one label per lidar point, COCO images per frame and camera), checksums and sizes
//! of every listed file, and that every file parses as its format says. Each problem names
//! its path. An expired dataset is a warning, not a problem.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde_json::Value;

use super::dataset::{CameraSize, Format, META_DIR, list_files, sha256_hex, today};
use super::kitti::KittiLayout;
use super::manifest::MANIFEST_SCHEMA;
use super::semantic_kitti::{labels_path, sequence_dir, sequence_of, velodyne_path};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{path}: cannot read the manifest: {message}")]
    Manifest { path: PathBuf, message: String },
    #[error(
        "{path}: the manifest has schema {found}, newer than the {MANIFEST_SCHEMA} this verisim reads; upgrade verisim to verify this dataset"
    )]
    FutureSchema { path: PathBuf, found: u64 },
}

/// One problem with one file (or with the dataset as a whole, path = the directory).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub path: String,
    pub message: String,
}

#[derive(Clone, Debug, Default)]
pub struct VerifyReport {
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    pub files_checked: usize,
    pub frames: usize,
    pub bytes: u64,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

struct Listed {
    sha256: String,
    bytes: u64,
}

fn nums(line: &str, skip: usize) -> Option<Vec<f64>> {
    line.split_whitespace()
        .skip(skip)
        .map(|t| t.parse::<f64>().ok().filter(|x| x.is_finite()))
        .collect()
}

fn check_calib(text: &str, keys: &[(&str, usize)]) -> Result<(), String> {
    for (key, count) in keys {
        let line = text
            .lines()
            .find(|l| l.split(':').next() == Some(key))
            .ok_or_else(|| format!("no `{key}:` line"))?;
        let n = nums(line.split_once(':').map_or("", |x| x.1), 0)
            .ok_or_else(|| format!("`{key}` has a value that is not a finite number"))?;
        if n.len() != *count {
            return Err(format!("`{key}` has {} numbers, expected {count}", n.len()));
        }
    }
    Ok(())
}

const KITTI_TYPES: [&str; 9] = [
    "Car",
    "Van",
    "Truck",
    "Pedestrian",
    "Person_sitting",
    "Cyclist",
    "Tram",
    "Misc",
    "DontCare",
];

/// Parses one file by what its path says it is. Returns the lidar point count for point
/// clouds and label files (for the count cross-check).
fn parse_file(
    path: &str,
    bytes: &[u8],
    cameras: &[CameraSize],
    frames: usize,
) -> Result<Option<usize>, String> {
    let folder = path.rsplit('/').nth(1).unwrap_or("");
    let name = path.rsplit('/').next().unwrap_or("");
    if path.ends_with(".pcd.bin") {
        if !bytes.len().is_multiple_of(20) {
            return Err(format!(
                "{} bytes is not a whole number of 20-byte nuScenes points",
                bytes.len()
            ));
        }
        return Ok(None);
    }
    // nuScenes' copies of the images (checked as the KITTI originals are) and its map mask.
    if path.starts_with("nuscenes/") && path.ends_with(".png") {
        image::load_from_memory(bytes).map_err(|e| format!("not a PNG: {e}"))?;
        return Ok(None);
    }
    if path.ends_with(".png") {
        let img = image::load_from_memory(bytes).map_err(|e| format!("not a PNG: {e}"))?;
        let (stem, k) = folder.rsplit_once('_').unwrap_or((folder, "2"));
        let cam = k
            .parse::<usize>()
            .ok()
            .and_then(|k| cameras.get(k.wrapping_sub(2)))
            .ok_or_else(|| format!("no camera writes `{folder}`"))?;
        if (img.width(), img.height()) != (cam.width, cam.height) {
            return Err(format!(
                "{}x{} pixels, expected {}x{}",
                img.width(),
                img.height(),
                cam.width,
                cam.height
            ));
        }
        let ok = match stem {
            "image" => matches!(img, image::DynamicImage::ImageRgb8(_)),
            "depth" | "instance" => matches!(img, image::DynamicImage::ImageLuma16(_)),
            "semantic" => matches!(img, image::DynamicImage::ImageLuma8(_)),
            _ => true,
        };
        if !ok {
            return Err(format!("unexpected pixel type {:?}", img.color()));
        }
        return Ok(None);
    }
    if path.ends_with(".bin") {
        if !bytes.len().is_multiple_of(16) {
            return Err(format!(
                "{} bytes is not a whole number of 16-byte points",
                bytes.len()
            ));
        }
        if let Some(i) = bytes
            .chunks_exact(4)
            .position(|b| !f32::from_le_bytes(b.try_into().expect("4 bytes")).is_finite())
        {
            return Err(format!("value {i} is not finite"));
        }
        return Ok(Some(bytes.len() / 16));
    }
    if path.ends_with(".times") {
        if !bytes.len().is_multiple_of(4) {
            return Err(format!(
                "{} bytes is not a whole number of float32 times",
                bytes.len()
            ));
        }
        if let Some(i) = bytes
            .chunks_exact(4)
            .position(|b| !f32::from_le_bytes(b.try_into().expect("4 bytes")).is_finite())
        {
            return Err(format!("time {i} is not finite"));
        }
        return Ok(Some(bytes.len() / 4));
    }
    if path.ends_with(".label") {
        if !bytes.len().is_multiple_of(4) {
            return Err(format!(
                "{} bytes is not a whole number of uint32 labels",
                bytes.len()
            ));
        }
        return Ok(Some(bytes.len() / 4));
    }
    if path.ends_with(".mcap") {
        return super::mcap::check(bytes, frames).map(|_| None);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string());
    if path.ends_with(".json") {
        let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        if name == "instances.json" {
            check_coco(&v, cameras, frames)?;
        }
        return Ok(None);
    }
    if path.ends_with(".ron") {
        let source = crate::scenario::Source {
            path: PathBuf::from(path),
            text: text?.to_string(),
        };
        crate::scenario::parse(&source).map_err(|e| e.to_string())?;
        return Ok(None);
    }
    let text = text?;
    match folder {
        "label_2" | "label_3" => {
            for (i, line) in text.lines().enumerate() {
                let f: Vec<&str> = line.split(' ').collect();
                if f.len() != 15 || !KITTI_TYPES.contains(&f[0]) || nums(line, 1).is_none() {
                    return Err(format!(
                        "line {}: expected a KITTI type and 14 numbers, found `{line}`",
                        i + 1
                    ));
                }
            }
        }
        "calib" => check_calib(
            text,
            &[
                ("P0", 12),
                ("P1", 12),
                ("P2", 12),
                ("P3", 12),
                ("R0_rect", 9),
                ("Tr_velo_to_cam", 12),
                ("Tr_imu_to_velo", 12),
            ],
        )?,
        "planes" => {
            let lines: Vec<&str> = text.lines().collect();
            let plane = lines.get(3).and_then(|l| nums(l, 0));
            if lines.len() != 4 || plane.as_ref().is_none_or(|n| n.len() != 4) {
                return Err(
                    "expected a three-line header and the plane's four numbers on line 4".into(),
                );
            }
        }
        "ImageSets" => {
            for (i, l) in text.lines().enumerate() {
                if l.len() != 6 || !l.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "line {}: expected a six-digit frame id, found `{l}`",
                        i + 1
                    ));
                }
            }
        }
        _ if name == "calib.txt" => check_calib(
            text,
            &[("P0", 12), ("P1", 12), ("P2", 12), ("P3", 12), ("Tr", 12)],
        )?,
        _ if name == "poses.txt" || name == "times.txt" => {
            let want = if name == "poses.txt" { 12 } else { 1 };
            let lines: Vec<&str> = text.lines().collect();
            if lines.len() != frames {
                return Err(format!(
                    "{} lines, expected {frames} (one per frame)",
                    lines.len()
                ));
            }
            for (i, l) in lines.iter().enumerate() {
                if nums(l, 0).is_none_or(|n| n.len() != want) {
                    return Err(format!("line {}: expected {want} numbers", i + 1));
                }
            }
        }
        _ => {}
    }
    Ok(None)
}

fn check_coco(v: &Value, cameras: &[CameraSize], frames: usize) -> Result<(), String> {
    let arr = |k: &str| {
        v[k].as_array()
            .ok_or_else(|| format!("no `{k}` array"))
            .cloned()
    };
    let (images, anns, cats) = (arr("images")?, arr("annotations")?, arr("categories")?);
    if images.len() != frames * cameras.len() {
        return Err(format!(
            "{} images, expected {} (frames x cameras)",
            images.len(),
            frames * cameras.len()
        ));
    }
    let mut sizes = BTreeMap::new();
    for i in &images {
        let id = i["id"].as_u64().ok_or("an image without an integer id")?;
        let wh = (
            i["width"].as_u64().unwrap_or(0),
            i["height"].as_u64().unwrap_or(0),
        );
        if sizes.insert(id, wh).is_some() {
            return Err(format!("image id {id} is used twice"));
        }
    }
    let cat_ids: BTreeSet<u64> = cats.iter().filter_map(|c| c["id"].as_u64()).collect();
    let mut ids = BTreeSet::new();
    for a in &anns {
        let id = a["id"]
            .as_u64()
            .ok_or("an annotation without an integer id")?;
        if !ids.insert(id) {
            return Err(format!("annotation id {id} is used twice"));
        }
        let (w, h) = *a["image_id"]
            .as_u64()
            .and_then(|i| sizes.get(&i))
            .ok_or_else(|| format!("annotation {id}: unknown image_id"))?;
        if !a["category_id"]
            .as_u64()
            .is_some_and(|c| cat_ids.contains(&c))
        {
            return Err(format!("annotation {id}: unknown category_id"));
        }
        let b: Vec<f64> = a["bbox"]
            .as_array()
            .map(|b| b.iter().filter_map(Value::as_f64).collect())
            .unwrap_or_default();
        if b.len() != 4
            || b[0] < 0.0
            || b[1] < 0.0
            || b[0] + b[2] > w as f64
            || b[1] + b[3] > h as f64
        {
            return Err(format!(
                "annotation {id}: bbox {b:?} is not inside the {w}x{h} image"
            ));
        }
        let counts: Vec<u64> = a["segmentation"]["counts"]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_u64).collect())
            .unwrap_or_default();
        let total: u64 = counts.iter().sum();
        let area: u64 = counts.iter().skip(1).step_by(2).sum();
        if total != w * h || Some(area) != a["area"].as_u64() {
            return Err(format!(
                "annotation {id}: RLE covers {total} pixels with {area} set, expected {} and area {}",
                w * h,
                a["area"]
            ));
        }
    }
    Ok(())
}

/// The files the layout expects for one frame.
fn expected_files(
    frame: u32,
    formats: &[Format],
    layout: &KittiLayout,
    episode_frames: Option<u32>,
) -> Vec<String> {
    let n = format!("{frame:06}");
    let mut out = Vec::new();
    if formats.contains(&Format::Kitti) {
        out.extend(
            layout
                .frame_files(frame)
                .iter()
                .map(|p| p.to_string_lossy().replace('\\', "/")),
        );
    } else if formats.contains(&Format::Coco) {
        let cameras = layout.cameras;
        for c in 0..cameras {
            out.push(format!("training/image_{}/{n}.png", c + 2));
        }
    }
    if formats.contains(&Format::SemanticKitti) && layout.lidar {
        out.push(velodyne_path(frame, episode_frames));
        out.push(labels_path(frame, episode_frames));
    }
    out
}

/// Checks the dataset in `dir`. `Err` when the manifest itself cannot be used.
pub fn verify(dir: &Path) -> Result<VerifyReport, VerifyError> {
    let manifest_path = dir.join("manifest.json");
    let merr = |message: String| VerifyError::Manifest {
        path: manifest_path.clone(),
        message,
    };
    let text = std::fs::read(&manifest_path).map_err(|e| merr(e.to_string()))?;
    let m: Value = serde_json::from_slice(&text).map_err(|e| merr(format!("not JSON: {e}")))?;
    let schema = m["vs:manifestSchema"]
        .as_u64()
        .ok_or_else(|| merr("no `vs:manifestSchema`: not a verisim manifest".into()))?;
    if schema > MANIFEST_SCHEMA as u64 {
        return Err(VerifyError::FutureSchema {
            path: manifest_path,
            found: schema,
        });
    }
    let mut report = VerifyReport::default();
    let root = dir.display().to_string();
    if m["vs:complete"] != Value::Bool(true) {
        report.problems.push(Problem {
            path: root,
            message: "the dataset is incomplete (rendering was interrupted); run `verisim render --resume` with the same arguments".into(),
        });
        return Ok(report);
    }
    let layout = &m["vs:layout"];
    let formats: Vec<Format> = serde_json::from_value(layout["formats"].clone())
        .map_err(|e| merr(format!("vs:layout.formats: {e}")))?;
    let cameras: Vec<CameraSize> = serde_json::from_value(layout["cameras"].clone())
        .map_err(|e| merr(format!("vs:layout.cameras: {e}")))?;
    let lidar = layout["lidar"].as_bool().unwrap_or(false);
    let episode_frames = layout["episodeFrames"].as_u64().map(|n| n as u32);
    let compensated = layout["lidar_compensated"].as_bool().unwrap_or(false);
    let trainer_files = layout["trainer_files"].as_bool().unwrap_or(false);
    let total = layout["frames"].as_u64().unwrap_or(0) as u32;
    let shard: Option<super::dataset::Shard> =
        serde_json::from_value(layout["shard"].clone()).unwrap_or(None);
    let keyframe_every = layout["keyframeEvery"].as_u64().map_or(1, |n| n as u32);
    let frames: Vec<u32> = m["vs:frames"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["frame"].as_u64().map(|x| x as u32))
                .collect()
        })
        .unwrap_or_default();
    // Frame times, for file names that carry them (nuScenes).
    let times: BTreeMap<u32, f64> = m["vs:frames"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| Some((f["frame"].as_u64()? as u32, f["time_s"].as_f64()?)))
        .collect();
    report.frames = frames.len();
    let want_frames: Vec<u32> = (0..total)
        .filter(|&f| shard.is_none_or(|s| s.contains(f)))
        .collect();
    if frames != want_frames {
        report.problems.push(Problem {
            path: manifest_path.display().to_string(),
            message: format!(
                "lists {} frames, the layout has {} ({} frames{})",
                frames.len(),
                want_frames.len(),
                total,
                shard.map_or(String::new(), |s| format!(
                    ", shard {}/{}",
                    s.index, s.count
                ))
            ),
        });
    }

    let mut listed: BTreeMap<String, Listed> = BTreeMap::new();
    for d in m["distribution"].as_array().into_iter().flatten() {
        let (Some(p), Some(sha)) = (d["contentUrl"].as_str(), d["sha256"].as_str()) else {
            report.problems.push(Problem {
                path: manifest_path.display().to_string(),
                message: format!("a distribution entry without contentUrl or sha256: {d}"),
            });
            continue;
        };
        let bytes = d["contentSize"]
            .as_str()
            .and_then(|s| s.strip_suffix(" B"))
            .and_then(|s| s.parse().ok())
            .unwrap_or(u64::MAX);
        if p.split('/').any(|c| c == ".." || c.is_empty()) || p.starts_with('/') {
            report.problems.push(Problem {
                path: p.to_string(),
                message: "a distribution path must stay inside the dataset".into(),
            });
            continue;
        }
        listed.insert(
            p.to_string(),
            Listed {
                sha256: sha.to_string(),
                bytes,
            },
        );
    }

    // Structure: expected files listed, aggregates present. Paths relative to the root.
    let kitti_layout = KittiLayout::new(Path::new(""), cameras.len(), lidar)
        .with_compensated(compensated)
        .with_planes(trainer_files);
    let mut expected: BTreeSet<String> = want_frames
        .iter()
        .flat_map(|&f| expected_files(f, &formats, &kitti_layout, episode_frames))
        .collect();
    if formats.contains(&Format::NuScenes) {
        let nu = super::nuscenes::NuLayout {
            cameras: cameras.len(),
            lidar,
            episode_frames,
            keyframe_every,
        };
        for &f in &want_frames {
            if let Some(&t) = times.get(&f) {
                expected.extend(nu.frame_files(f, t));
            }
        }
        if shard.is_none() {
            expected.extend(super::nuscenes::table_files(
                m["name"].as_str().unwrap_or(""),
            ));
        }
    }
    expected.insert(super::manifest::SCENARIO_RESOLVED.into());
    expected.insert(super::manifest::SCENARIO_COPY.into());
    if shard.is_none() {
        if formats.contains(&Format::SemanticKitti) && lidar {
            let sequences: BTreeSet<u32> = want_frames
                .iter()
                .map(|&f| sequence_of(f, episode_frames).0)
                .collect();
            for seq in sequences {
                for f in ["poses.txt", "times.txt", "calib.txt"] {
                    expected.insert(format!("{}/{f}", sequence_dir(seq)));
                }
            }
        }
        if formats.contains(&Format::Mcap) {
            expected.extend(
                want_frames
                    .iter()
                    .map(|&f| super::mcap::episode_path(sequence_of(f, episode_frames).0)),
            );
        }
        if formats.contains(&Format::Coco) && !cameras.is_empty() {
            expected.insert("coco/instances.json".into());
        }
        if trainer_files && formats.contains(&Format::Kitti) {
            expected.extend(super::splits::image_set_paths().map(String::from));
        }
        if trainer_files && formats.contains(&Format::SemanticKitti) && lidar {
            expected.insert(super::splits::SEMANTIC_KITTI_YAML.into());
        }
    }
    for e in expected.iter().filter(|e| !listed.contains_key(*e)) {
        report.problems.push(Problem {
            path: e.clone(),
            message: "expected by the layout but not listed in the manifest".into(),
        });
    }
    for l in listed.keys().filter(|l| !expected.contains(*l)) {
        report.problems.push(Problem {
            path: l.clone(),
            message: "listed in the manifest but not part of the layout".into(),
        });
    }

    // Extra files on disk.
    for f in list_files(dir) {
        let bookkeeping = f == "manifest.json" || f.starts_with(&format!("{META_DIR}/"));
        if !bookkeeping && !listed.contains_key(&f) {
            // A link is named as one (a link to a directory is not entered: it could loop
            // or lead out of the dataset).
            let message = match std::fs::read_link(dir.join(&f)) {
                Ok(target) => format!(
                    "extra entry: a symbolic link to {} ({}), not listed in the manifest",
                    target.display(),
                    if dir.join(&f).is_dir() {
                        "a directory, not entered"
                    } else {
                        "a file"
                    }
                ),
                Err(_) => "extra file: not listed in the manifest".into(),
            };
            report.problems.push(Problem { path: f, message });
        }
    }

    // Every listed file: present, size, checksum, parses.
    let n_frames = want_frames.len();
    // Frames per SemanticKITTI sequence (`sequences/SS/poses.txt` has one line per frame).
    let mut sequence_frames: BTreeMap<String, usize> = BTreeMap::new();
    for &f in &want_frames {
        *sequence_frames
            .entry(sequence_dir(sequence_of(f, episode_frames).0))
            .or_default() += 1;
    }
    let results: Vec<(String, u64, Result<Option<usize>, String>)> = listed
        .par_iter()
        .map(|(p, l)| {
            let bytes = match std::fs::read(dir.join(p)) {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return (p.clone(), 0, Err("missing file".to_string()));
                }
                Err(e) => return (p.clone(), 0, Err(format!("cannot read: {e}"))),
            };
            let n = bytes.len() as u64;
            if n != l.bytes {
                return (
                    p.clone(),
                    n,
                    Err(format!(
                        "size {n} bytes, the manifest says {} (truncated or overwritten)",
                        l.bytes
                    )),
                );
            }
            if sha256_hex(&bytes) != l.sha256 {
                return (
                    p.clone(),
                    n,
                    Err("sha256 differs from the manifest (corrupted or modified)".to_string()),
                );
            }
            // An aggregate of one sequence (`sequences/SS/...`, `mcap/episode_SS.mcap`)
            // holds that sequence's frames.
            let sequence = match p.strip_prefix("mcap/episode_") {
                Some(rest) => rest
                    .trim_end_matches(".mcap")
                    .parse::<u32>()
                    .ok()
                    .map(sequence_dir),
                None => p.match_indices('/').nth(1).map(|(i, _)| p[..i].to_string()),
            };
            let frames = sequence
                .and_then(|s| sequence_frames.get(&s))
                .copied()
                .unwrap_or(n_frames);
            (p.clone(), n, parse_file(p, &bytes, &cameras, frames))
        })
        .collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (p, n, r) in results {
        report.files_checked += 1;
        report.bytes += n;
        match r {
            Ok(Some(c)) => {
                counts.insert(p, c);
            }
            Ok(None) => {}
            Err(mut message) => {
                // A SemanticKITTI view file may be a link: say where its bytes are.
                if let Ok(target) = std::fs::read_link(dir.join(&p)) {
                    message += &format!(" (a link to {})", target.display());
                }
                report.problems.push(Problem { path: p, message })
            }
        }
    }
    // One label, one firing time and one compensated point per point.
    let mut pairs = vec![
        (
            "training/velodyne/".to_string(),
            "training/velodyne_labels/".to_string(),
            "label",
        ),
        (
            "training/velodyne/".to_string(),
            "training/velodyne_times/".to_string(),
            "times",
        ),
        (
            "training/velodyne/".to_string(),
            "training/velodyne_compensated/".to_string(),
            "bin",
        ),
    ];
    for sd in sequence_frames.keys() {
        pairs.push((format!("{sd}/velodyne/"), format!("{sd}/labels/"), "label"));
    }
    for (points, labels, ext) in &pairs {
        for (p, n) in counts
            .iter()
            .filter(|(p, _)| p.starts_with(points.as_str()))
        {
            let stem = p.rsplit('/').next().unwrap_or("").trim_end_matches(".bin");
            let lp = format!("{labels}{stem}.{ext}");
            if let Some(&m) = counts.get(&lp)
                && m != *n
            {
                report.problems.push(Problem {
                    path: lp,
                    message: format!("{m} entries for {n} points in {p}"),
                });
            }
        }
    }

    // Shelf life.
    if let Some(exp) = m["vs:policy"]["expires"].as_str() {
        match crate::scenario::parse_date(exp) {
            Some(date) if date < today() => report.warnings.push(format!(
                "the dataset expired on {exp} (vs:policy.expires): regenerate it or confirm it is still fit for use"
            )),
            Some(_) => {}
            None => report.problems.push(Problem {
                path: manifest_path.display().to_string(),
                message: format!("vs:policy.expires `{exp}` is not a date YYYY-MM-DD"),
            }),
        }
    }
    report.problems.sort();
    Ok(report)
}
