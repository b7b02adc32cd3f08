//! Reference profiles: aggregated statistics of a dataset (never raw points or pixels), kept per
//! group of frames (a drive when known, else a frame, else a run of frames) so that a real-versus-
//! real baseline can be computed from the profile alone.

use super::camera::{self, CameraAgg, CameraScalars};
use super::dataset::{Dataset, FrameSpec, Layout};
use super::error::{RealityError, Result};
use super::labels::{self, LabelAgg, LabelValidity};
use super::lidar::{self, LidarAgg, LidarScalars, LidarValidity, SensorModel};
use super::objects::{self, ObjectAgg};
use super::readers::{self, KittiCalib, KittiObject, PointCloud};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub const PROFILE_FORMAT: &str = "verisim-reality-profile";
/// 2: groups gained object statistics (`objects`).
pub const PROFILE_VERSION: u32 = 2;
/// At most this many groups are kept; beyond it, groups are merged in runs.
pub const MAX_GROUPS: usize = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupAgg {
    pub id: String,
    pub frames: u64,
    pub lidar: LidarAgg,
    pub camera: CameraAgg,
    pub labels: LabelAgg,
    pub objects: ObjectAgg,
}

impl GroupAgg {
    pub fn new(id: impl Into<String>, model: &SensorModel) -> Self {
        Self {
            id: id.into(),
            frames: 0,
            lidar: LidarAgg::new(model),
            camera: CameraAgg::default(),
            labels: LabelAgg::default(),
            objects: ObjectAgg::default(),
        }
    }
    pub fn merge(&mut self, o: &GroupAgg) {
        self.frames += o.frames;
        self.lidar.merge(&o.lidar);
        self.camera.merge(&o.camera);
        self.labels.merge(&o.labels);
        self.objects.merge(&o.objects);
    }
}

/// Per-frame scalars (the only per-frame data a profile keeps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameRecord {
    pub id: String,
    pub group: usize,
    pub lidar: Option<LidarScalars>,
    pub camera: Option<CameraScalars>,
    pub objects: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Validity {
    pub frames: u64,
    pub lidar: LidarValidity,
    pub images: u64,
    pub images_too_small: u64,
    pub labels: LabelValidity,
    pub label_files: u64,
    /// Frames with labels or images in KITTI layout and whether a calib with P2 and
    /// Tr_velo_to_cam came along.
    pub frames_needing_calib: u64,
    pub calib_missing: u64,
}

impl Validity {
    pub fn merge(&mut self, o: &Validity) {
        self.frames += o.frames;
        self.lidar.merge(&o.lidar);
        self.images += o.images;
        self.images_too_small += o.images_too_small;
        self.labels.merge(&o.labels);
        self.label_files += o.label_files;
        self.frames_needing_calib += o.frames_needing_calib;
        self.calib_missing += o.calib_missing;
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceInfo {
    pub path: String,
    pub layout: String,
    pub frames: usize,
    /// sha256 over the per-file sha256 digests of every file read, in frame order.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DpInfo {
    pub epsilon: f64,
    pub mechanism: String,
    pub laplace_scale: f64,
    pub histograms_noised: usize,
    pub withheld: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub format: String,
    pub version: u32,
    pub name: String,
    pub software: String,
    pub software_version: String,
    pub sources: Vec<SourceInfo>,
    pub sensor: SensorModel,
    pub differential_privacy: Option<DpInfo>,
    pub validity: Validity,
    pub groups: Vec<GroupAgg>,
    pub frames: Vec<FrameRecord>,
}

impl Profile {
    pub fn empty(name: &str, sensor: SensorModel) -> Self {
        Self {
            format: PROFILE_FORMAT.into(),
            version: PROFILE_VERSION,
            name: name.into(),
            software: "verisim".into(),
            software_version: env!("CARGO_PKG_VERSION").into(),
            sources: Vec::new(),
            sensor,
            differential_privacy: None,
            validity: Validity::default(),
            groups: Vec::new(),
            frames: Vec::new(),
        }
    }

    /// All groups merged.
    pub fn total(&self) -> GroupAgg {
        let mut t = GroupAgg::new("all", &self.sensor);
        for g in &self.groups {
            t.merge(g);
        }
        t
    }

    pub fn load(path: &Path) -> Result<Profile> {
        let text = std::fs::read_to_string(path).map_err(|e| RealityError::io(path, e))?;
        let p: Profile = serde_json::from_str(&text).map_err(|e| RealityError::Parse {
            path: path.into(),
            line: e.line(),
            what: format!("not a verisim profile: {e}"),
        })?;
        if p.format != PROFILE_FORMAT {
            return Err(RealityError::Profile {
                path: path.into(),
                what: format!("format `{}` is not `{PROFILE_FORMAT}`", p.format),
            });
        }
        if p.version != PROFILE_VERSION {
            return Err(RealityError::Profile {
                path: path.into(),
                what: format!("version {} (this build reads {PROFILE_VERSION})", p.version),
            });
        }
        Ok(p)
    }

    /// Writes the profile as JSON to a temporary file beside `path`, then renames it.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_string(self).map_err(|e| RealityError::Profile {
            path: path.into(),
            what: e.to_string(),
        })?;
        write_atomic(path, json.as_bytes())
    }
}

/// Crash-safe write (`crate::files`): the old file or the whole new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    crate::files::write_atomic(path, bytes, false).map_err(|e| RealityError::io(path, e))
}

/// One frame already in memory (tests, and callers holding rendered frames).
#[derive(Debug, Clone, Default)]
pub struct FrameData {
    pub id: String,
    pub lidar: Option<PointCloud>,
    pub image: Option<image::RgbImage>,
    pub labels: Option<Vec<KittiObject>>,
    pub calib: Option<KittiCalib>,
    /// Whether this frame comes from a KITTI-layout dataset (calibration expected).
    pub expects_calib: bool,
}

/// Statistics of one in-memory frame, added to `group` and `validity`.
pub fn accumulate(
    model: &SensorModel,
    f: &FrameData,
    group_index: usize,
    group: &mut GroupAgg,
    validity: &mut Validity,
) -> FrameRecord {
    group.frames += 1;
    validity.frames += 1;
    let lidar = f.lidar.as_ref().map(|pc| {
        lidar::accumulate_frame(
            model,
            &pc.points,
            pc.ring.as_deref(),
            &mut group.lidar,
            &mut validity.lidar,
        )
    });
    let camera = f.image.as_ref().map(|img| {
        validity.images += 1;
        let (w, h) = (img.width() as usize, img.height() as usize);
        if w < camera::SPECTRUM_N || h < camera::SPECTRUM_N {
            validity.images_too_small += 1;
        }
        camera::accumulate_image(w, h, img.as_raw(), &mut group.camera)
    });
    let objects = f.labels.as_ref().map(|objs| {
        validity.label_files += 1;
        labels::accumulate_labels(objs, &mut group.labels, &mut validity.labels)
    });
    if let (Some(pc), Some(objs), Some(calib)) = (&f.lidar, &f.labels, &f.calib) {
        objects::accumulate_objects(objs, &pc.points, calib, &mut group.objects);
    }
    if f.expects_calib && (f.image.is_some() || f.labels.is_some()) {
        validity.frames_needing_calib += 1;
        let ok = f
            .calib
            .as_ref()
            .is_some_and(|c| c.contains_key("P2") && c.contains_key("Tr_velo_to_cam"));
        if !ok {
            validity.calib_missing += 1;
        }
    }
    FrameRecord {
        id: f.id.clone(),
        group: group_index,
        lidar,
        camera,
        objects,
    }
}

/// One frame of a dataset read into memory (for analyses that transform frames, such as
/// `verisim power`).
pub fn load_frame_data(spec: &FrameSpec, ds: &Dataset) -> Result<FrameData> {
    load_frame(spec, ds.layout == Layout::Kitti, &mut Vec::new())
}

fn load_frame(
    spec: &FrameSpec,
    expects_calib: bool,
    hasher_out: &mut Vec<[u8; 32]>,
) -> Result<FrameData> {
    let mut f = FrameData {
        id: spec.id.clone(),
        expects_calib,
        ..Default::default()
    };
    let mut digest = |b: &[u8]| {
        let d: [u8; 32] = Sha256::digest(b).into();
        hasher_out.push(d);
    };
    if let Some(p) = &spec.lidar {
        let b = readers::read_bytes(p)?;
        digest(&b);
        let pc = readers::parse_lidar(p, &b)?;
        check_cloud(p, &pc)?;
        f.lidar = Some(pc);
    }
    if let Some(p) = &spec.image {
        let b = readers::read_bytes(p)?;
        digest(&b);
        let img = readers::decode_rgb(p, &b)?;
        if img.width() > MAX_IMAGE_SIDE || img.height() > MAX_IMAGE_SIDE {
            return Err(RealityError::Dataset {
                path: p.clone(),
                what: format!(
                    "a {}x{} image; no camera of a drive is over {MAX_IMAGE_SIDE} px a side",
                    img.width(),
                    img.height()
                ),
            });
        }
        f.image = Some(img);
    }
    if let Some(p) = &spec.label {
        let b = readers::read_bytes(p)?;
        digest(&b);
        let text = String::from_utf8(b).map_err(|e| {
            RealityError::corrupt(
                p,
                e.utf8_error().valid_up_to() as u64,
                "label file is not UTF-8 text",
            )
        })?;
        f.labels = Some(readers::parse_kitti_labels(p, &text)?);
    }
    if let Some(p) = &spec.calib {
        let b = readers::read_bytes(p)?;
        digest(&b);
        let text = String::from_utf8(b).map_err(|e| {
            RealityError::corrupt(
                p,
                e.utf8_error().valid_up_to() as u64,
                "calib file is not UTF-8 text",
            )
        })?;
        let calib = readers::parse_kitti_calib(p, &text)?;
        if expects_calib {
            check_calib(p, &calib, f.image.as_ref())?;
        }
        f.calib = Some(calib);
    }
    Ok(f)
}

/// Sides of an image beyond any drive's camera: a larger one is taken as corrupt, not read.
const MAX_IMAGE_SIDE: u32 = 16_384;

/// A scan `check` and `profile` can use: not empty, every value finite.
fn check_cloud(path: &Path, pc: &PointCloud) -> Result<()> {
    if pc.points.is_empty() {
        return Err(RealityError::Dataset {
            path: path.into(),
            what: "an empty scan: 0 points".into(),
        });
    }
    let broken = |p: &&[f32; 4]| p.iter().any(|v| !v.is_finite());
    if let Some(first) = pc.points.iter().position(|p| broken(&p)) {
        let bad = pc.points.iter().filter(broken).count();
        return Err(RealityError::Dataset {
            path: path.into(),
            what: format!(
                "{bad} of {} points hold a NaN or infinite value (the first is point {first}: {:?})",
                pc.points.len(),
                pc.points[first]
            ),
        });
    }
    Ok(())
}

/// A KITTI calib the checks can use: P2 and Tr_velo_to_cam present, and P2's principal point
/// inside the frame's image when there is one.
fn check_calib(path: &Path, calib: &KittiCalib, image: Option<&image::RgbImage>) -> Result<()> {
    for key in ["P2", "Tr_velo_to_cam"] {
        if !calib.contains_key(key) {
            return Err(RealityError::Dataset {
                path: path.into(),
                what: format!("no `{key}` line (needed to project lidar and boxes into camera 2)"),
            });
        }
    }
    if let (Some(img), Some(p2)) = (image, calib.get("P2")) {
        let (cx, cy) = (p2[2], p2[6]);
        let inside = cx > 0.0 && cy > 0.0 && cx < img.width() as f64 && cy < img.height() as f64;
        if !inside {
            return Err(RealityError::Dataset {
                path: path.into(),
                what: format!(
                    "P2's principal point ({cx}, {cy}) lies outside the frame's {}x{} image: \
                     the image and the calibration do not belong together",
                    img.width(),
                    img.height()
                ),
            });
        }
    }
    Ok(())
}

/// Group key of every frame: the drive when known, else the frame itself; more than
/// `MAX_GROUPS` keys are folded into runs of consecutive frames.
fn assign_groups(frames: &[FrameSpec]) -> (Vec<String>, Vec<usize>) {
    let mut keys: Vec<String> = Vec::new();
    let mut idx = Vec::with_capacity(frames.len());
    for f in frames {
        let k = f.drive.clone().unwrap_or_else(|| f.id.clone());
        let i = keys.iter().position(|x| *x == k).unwrap_or_else(|| {
            keys.push(k);
            keys.len() - 1
        });
        idx.push(i);
    }
    if keys.len() > MAX_GROUPS {
        let n = keys.len();
        let names = (0..MAX_GROUPS).map(|g| format!("run{g:02}")).collect();
        return (names, idx.into_iter().map(|i| i * MAX_GROUPS / n).collect());
    }
    (keys, idx)
}

/// Profiles a dataset: reads every frame in parallel (rayon) and keeps only aggregates and
/// per-frame scalars.
pub fn profile_dataset(name: &str, ds: &Dataset, model: &SensorModel) -> Result<Profile> {
    let (keys, gidx) = assign_groups(&ds.frames);
    let expects_calib = ds.layout == Layout::Kitti;
    let mut profile = Profile::empty(name, model.clone());
    let mut digests: Vec<(usize, Vec<[u8; 32]>)> = Vec::new();
    for (g, key) in keys.iter().enumerate() {
        let members: Vec<usize> = (0..ds.frames.len()).filter(|&i| gidx[i] == g).collect();
        type Acc = (
            GroupAgg,
            Validity,
            Vec<FrameRecord>,
            Vec<(usize, Vec<[u8; 32]>)>,
        );
        let init = || -> Acc {
            (
                GroupAgg::new(key.clone(), model),
                Validity::default(),
                Vec::new(),
                Vec::new(),
            )
        };
        let (agg, val, recs, dig) = members
            .par_iter()
            .try_fold(init, |mut acc, &i| -> Result<Acc> {
                let mut d = Vec::new();
                let fd = load_frame(&ds.frames[i], expects_calib, &mut d)?;
                let rec = accumulate(model, &fd, g, &mut acc.0, &mut acc.1);
                acc.2.push(rec);
                acc.3.push((i, d));
                Ok(acc)
            })
            .try_reduce(init, |mut a, b| {
                a.0.merge(&b.0);
                a.1.merge(&b.1);
                a.2.extend(b.2);
                a.3.extend(b.3);
                Ok(a)
            })?;
        profile.groups.push(agg);
        profile.validity.merge(&val);
        profile.frames.extend(recs);
        digests.extend(dig);
    }
    digests.sort_by_key(|d| d.0);
    let mut h = Sha256::new();
    for (_, ds_) in &digests {
        for d in ds_ {
            h.update(d);
        }
    }
    profile.sources.push(SourceInfo {
        path: ds.root.display().to_string(),
        layout: format!("{:?}", ds.layout),
        frames: ds.frames.len(),
        sha256: hex(&h.finalize()),
    });
    profile.frames.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(profile)
}

/// Profiles frames already in memory, each with its group key (drive).
pub fn profile_frames(name: &str, model: &SensorModel, frames: &[(String, FrameData)]) -> Profile {
    let mut profile = Profile::empty(name, model.clone());
    let mut keys: Vec<String> = Vec::new();
    for (key, f) in frames {
        let g = keys.iter().position(|k| k == key).unwrap_or_else(|| {
            keys.push(key.clone());
            profile.groups.push(GroupAgg::new(key.clone(), model));
            keys.len() - 1
        });
        let mut v = Validity::default();
        let rec = accumulate(model, f, g, &mut profile.groups[g], &mut v);
        profile.validity.merge(&v);
        profile.frames.push(rec);
    }
    profile.sources.push(SourceInfo {
        path: "(in memory)".into(),
        layout: "Files".into(),
        frames: frames.len(),
        sha256: String::new(),
    });
    profile
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub use crate::rng::SplitMix64;

/// Differential privacy (ε-DP over frames, add/remove one frame): every histogram holds the sum of
/// per-frame pmfs, so one frame changes each by at most 1 in L1; with K released histograms per
/// group the total sensitivity is K, and Laplace noise of scale K/ε is added to every count
/// (negative counts clamped to 0, which is post-processing). A frame lies in exactly one group,
/// so groups compose in parallel. Everything not bounded this way is withheld.
pub fn apply_differential_privacy(p: &mut Profile, epsilon: f64, seed: u64) -> Result<()> {
    if !(epsilon > 0.0 && epsilon.is_finite()) {
        return Err(RealityError::Usage(format!(
            "--epsilon must be a positive number, got {epsilon}"
        )));
    }
    const K: usize = 9;
    let b = K as f64 / epsilon;
    let mut rng = SplitMix64(seed);
    let mut noise = |v: &mut f64| *v = (*v + rng.laplace(b)).max(0.0);
    for g in &mut p.groups {
        let l = &mut g.lidar;
        for h in [
            &mut l.range_m,
            &mut l.intensity,
            &mut l.z_m,
            &mut l.beam_share,
        ] {
            h.counts.iter_mut().for_each(&mut noise);
        }
        for grid in [&mut l.intensity_by_range_band, &mut l.bev] {
            for v in grid.values.iter_mut() {
                let mut x = *v as f64;
                noise(&mut x);
                *v = x as f32;
            }
        }
        let c = &mut g.camera;
        for h in [&mut c.luminance, &mut c.opponent_rg, &mut c.opponent_yb] {
            h.counts.iter_mut().for_each(&mut noise);
        }
        // Withheld: not bounded per frame.
        let beams = l.beam_return_ratio.len();
        l.beam_return_ratio = vec![0.0; beams];
        l.return_ratio_map.values.iter_mut().for_each(|v| *v = 0.0);
        l.beam_elevation_sum_deg = vec![0.0; beams];
        l.beam_elevation_frames = vec![0.0; beams];
        c.noise_abs_sum_by_brightness
            .iter_mut()
            .for_each(|v| *v = 0.0);
        c.noise_count_by_brightness
            .iter_mut()
            .for_each(|v| *v = 0.0);
        c.log10_power_sum.iter_mut().for_each(|v| *v = 0.0);
        c.spectrum_frames = 0;
        g.labels = LabelAgg::default();
        g.objects = ObjectAgg::default();
    }
    p.frames.clear();
    p.differential_privacy = Some(DpInfo {
        epsilon,
        mechanism:
            "Laplace on per-frame-normalised histogram counts, sensitivity 1 per histogram, K histograms per group"
                .into(),
        laplace_scale: b,
        histograms_noised: K,
        withheld: vec![
            "per-frame scalars".into(),
            "per-beam drop curves and drop map".into(),
            "beam elevations".into(),
            "intensity-vs-range fit sums".into(),
            "camera noise and spectra".into(),
            "label statistics".into(),
            "object statistics".into(),
        ],
    });
    Ok(())
}

/// Profiles the given inputs (directories or files) under `name`.
pub fn profile_paths(
    name: &str,
    inputs: &[PathBuf],
    sensor: Option<&SensorModel>,
) -> Result<Profile> {
    let ds = Dataset::open_many(inputs)?;
    let model = sensor.cloned().unwrap_or_else(|| ds.inferred_sensor());
    profile_dataset(name, &ds, &model)
}
