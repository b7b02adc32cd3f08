//! nuScenes export (`--format nuscenes`): `nuscenes/v1.0-verisim/*.json` (the 13 tables the
//! devkit loads), `nuscenes/samples/` and `nuscenes/sweeps/` (`LIDAR_TOP` as `.pcd.bin`,
//! cameras as PNG), `nuscenes/maps/` (the drivable-area mask) and `nuscenes/splits.json`.
//!
//! - Each episode is a scene (and a log). Frames are sample data; every
//!   `keyframe_every`-th frame of an episode (nuScenes' 2 Hz at the run's sensor rate) is a
//!   keyframe: a sample, with `samples/` files and annotations; the frames between are sweeps.
//! - Point clouds: five float32 per point (x, y, z, intensity 0–255, ring), in the lidar's
//!   frame, as nuScenes' `LidarPointCloud.from_file` reads them; written with each frame.
//! - Poses: nuScenes' global frame is verisim's world moved by `offset` (so that every pose and
//!   the map mask, whose pixel origin is the global origin, lie at positive coordinates); the
//!   offset is in each log's `location` and scene's `description`.
//! - Annotations: every object with a lidar return or a visible pixel in camera 0: its
//!   category, box centre, size (w, l, h), rotation, the lidar points inside it, visibility
//!   (the visible share of its silhouette in camera 0, nuScenes' four bins) and attribute
//!   (moving, stopped, standing, with rider).
//! - Timestamps: microseconds of the simulation clock since the episode began.

use std::collections::BTreeMap;

use glam::{Affine3A, Vec3};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ExportError;
use super::dataset::{DatasetDir, FileRecord, FrameRecord, RunConfig, sha256_hex};
use super::kitti::KittiLayout;
use crate::classes::Class;
use crate::frame::{FrameInputs, LidarFrame};
use crate::labels::boxes::ObjectLabel;

/// The root of the nuScenes layout inside a dataset.
pub const ROOT: &str = "nuscenes";
/// The version folder (`NuScenes(version=...)`).
pub const VERSION: &str = "v1.0-verisim";

/// One annotated object of a frame, in verisim's world frame.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WorldObject {
    pub instance: u32,
    pub category: String,
    pub attribute: String,
    /// Box centre (m, world).
    pub center: [f32; 3],
    /// Width, length, height (m), nuScenes' order.
    pub size_wlh: [f32; 3],
    /// Rotation, w x y z.
    pub rotation: [f32; 4],
    pub lidar_points: u32,
    /// nuScenes visibility token: 1 (0–40 % visible) … 4 (80–100 %).
    pub visibility: u8,
}

/// nuScenes' category of a verisim object class (None: not annotated).
pub fn category(class: Class) -> Option<&'static str> {
    Some(match class {
        Class::Car | Class::Van => "vehicle.car",
        Class::Truck => "vehicle.truck",
        Class::Bus => "vehicle.bus.rigid",
        Class::Pedestrian => "human.pedestrian.adult",
        Class::Cyclist => "vehicle.bicycle",
        _ => return None,
    })
}

/// The categories and attributes written (nuScenes' names and descriptions, abridged).
const CATEGORIES: [(&str, &str); 5] = [
    (
        "vehicle.car",
        "Vehicle designed primarily for personal use (cars, vans).",
    ),
    (
        "vehicle.truck",
        "Vehicles primarily designed to haul cargo.",
    ),
    ("vehicle.bus.rigid", "Rigid bus."),
    ("human.pedestrian.adult", "Adult subcategory."),
    (
        "vehicle.bicycle",
        "Human or electric powered 2-wheeled vehicle, with its rider.",
    ),
];
const ATTRIBUTES: [(&str, &str); 5] = [
    ("vehicle.moving", "Vehicle is moving."),
    ("vehicle.stopped", "Vehicle, with a driver, is not moving."),
    ("pedestrian.moving", "The human is moving."),
    ("pedestrian.standing", "The human is standing."),
    ("cycle.with_rider", "There is someone on the bicycle."),
];
const VISIBILITY: [(&str, &str); 4] = [
    ("v0-40", "visibility of whole object is between 0 and 40%"),
    ("v40-60", "visibility of whole object is between 40 and 60%"),
    ("v60-80", "visibility of whole object is between 60 and 80%"),
    (
        "v80-100",
        "visibility of whole object is between 80 and 100%",
    ),
];

/// The objects of a frame to annotate: those with a lidar point inside their box or visible
/// in camera 0. `num_lidar_pts` is nuScenes' count: the sweep's points inside the box (ground
/// and neighbours' points included), as the devkit's `points_in_box` counts them.
pub fn world_objects(
    inputs: &FrameInputs,
    lidar: Option<&LidarFrame>,
    labels: &[ObjectLabel],
) -> Vec<WorldObject> {
    let world_points: Vec<Vec3> = match (lidar, &inputs.lidar) {
        (Some(l), Some(li)) => l
            .hits
            .iter()
            .filter(|h| h.label != crate::abi::NO_RETURN)
            .map(|h| {
                let p = super::kitti::point_bytes(h);
                let v = |k: usize| f32::from_le_bytes([p[k], p[k + 1], p[k + 2], p[k + 3]]);
                li.world_from_lidar
                    .transform_point3(Vec3::new(v(0), v(4), v(8)))
            })
            .collect(),
        _ => Vec::new(),
    };
    inputs
        .objects
        .iter()
        .filter_map(|o| {
            let cat = category(o.class)?;
            let object_from_world = o.world_from_object.inverse();
            let half = o.size_m / 2.0;
            // A circle around the footprint rejects most points before the transform.
            let c = Vec3::from(o.world_from_object.translation);
            let r2 = half.x * half.x + half.y * half.y;
            let n = world_points
                .iter()
                .filter(|p| {
                    let (dx, dy) = (p.x - c.x, p.y - c.y);
                    if dx * dx + dy * dy > r2 {
                        return false;
                    }
                    let q = object_from_world.transform_point3(**p);
                    q.x.abs() <= half.x && q.y.abs() <= half.y && q.z >= 0.0 && q.z <= o.size_m.z
                })
                .count() as u32;
            let visible = labels
                .iter()
                .find(|l| l.instance_id == o.instance_id && !l.dont_care)
                .map_or(0.0, |l| l.visible_fraction * (1.0 - l.truncation));
            if n == 0 && visible <= 0.0 {
                return None;
            }
            let (_, rot, _) = o.world_from_object.to_scale_rotation_translation();
            let centre = o
                .world_from_object
                .transform_point3(Vec3::Z * (o.size_m.z / 2.0));
            let speed = o.velocity_m_per_s.truncate().length();
            let attribute = match o.class {
                Class::Pedestrian if speed > 0.2 => "pedestrian.moving",
                Class::Pedestrian => "pedestrian.standing",
                Class::Cyclist => "cycle.with_rider",
                _ if speed > 0.3 => "vehicle.moving",
                _ => "vehicle.stopped",
            };
            Some(WorldObject {
                instance: o.instance_id,
                category: cat.into(),
                attribute: attribute.into(),
                center: centre.into(),
                size_wlh: [o.size_m.y, o.size_m.x, o.size_m.z],
                rotation: [rot.w, rot.x, rot.y, rot.z],
                lidar_points: n,
                visibility: match visible {
                    v if v < 0.4 => 1,
                    v if v < 0.6 => 2,
                    v if v < 0.8 => 3,
                    _ => 4,
                },
            })
        })
        .collect()
}

/// Camera `i`'s channel: `CAM_FRONT` for camera 0, `CAM_<folder number>` for the others.
pub fn camera_channel(i: usize) -> String {
    if i == 0 {
        "CAM_FRONT".into()
    } else {
        format!("CAM_{}", i + 2)
    }
}

/// Microseconds of a frame's simulation time.
fn micros(time_s: f64) -> u64 {
    (time_s.max(0.0) * 1e6).round() as u64
}

/// A scene's name (`scene-0003`).
pub fn scene_name(sequence: u32) -> String {
    format!("scene-{sequence:04}")
}

/// Whether a frame is a keyframe, and its file's path relative to the dataset root.
pub fn frame_path(
    channel: &str,
    sequence: u32,
    in_episode: u32,
    keyframe_every: u32,
    time_s: f64,
    ext: &str,
) -> (bool, String) {
    let key = in_episode.is_multiple_of(keyframe_every.max(1));
    (
        key,
        format!(
            "{ROOT}/{}/{channel}/{}__{channel}__{}.{ext}",
            if key { "samples" } else { "sweeps" },
            scene_name(sequence),
            micros(time_s)
        ),
    )
}

/// What decides the nuScenes files' names (for `verify`).
pub struct NuLayout {
    pub cameras: usize,
    pub lidar: bool,
    pub episode_frames: Option<u32>,
    pub keyframe_every: u32,
}

impl NuLayout {
    /// The files one frame writes.
    pub fn frame_files(&self, frame: u32, time_s: f64) -> Vec<String> {
        let (seq, in_ep) = super::semantic_kitti::sequence_of(frame, self.episode_frames);
        let mut out: Vec<String> = (0..self.cameras)
            .map(|i| {
                frame_path(
                    &camera_channel(i),
                    seq,
                    in_ep,
                    self.keyframe_every,
                    time_s,
                    "png",
                )
                .1
            })
            .collect();
        if self.lidar {
            out.push(
                frame_path(
                    "LIDAR_TOP",
                    seq,
                    in_ep,
                    self.keyframe_every,
                    time_s,
                    "pcd.bin",
                )
                .1,
            );
        }
        out
    }
}

/// The names of the 13 tables the devkit loads.
pub const TABLES: [&str; 13] = [
    "attribute",
    "calibrated_sensor",
    "category",
    "ego_pose",
    "instance",
    "log",
    "map",
    "sample",
    "sample_annotation",
    "sample_data",
    "scene",
    "sensor",
    "visibility",
];

/// The map mask's path inside `nuscenes/` for a dataset name.
fn map_file(name: &str) -> String {
    format!("maps/{}.png", token("map", name))
}

/// The files written when the run finishes: the tables, the map mask and the splits.
pub fn table_files(name: &str) -> Vec<String> {
    let mut v: Vec<String> = TABLES
        .iter()
        .map(|t| format!("{ROOT}/{VERSION}/{t}.json"))
        .collect();
    v.push(format!("{ROOT}/{}", map_file(name)));
    v.push(format!("{ROOT}/splits.json"));
    v
}

/// The folders of the frames' files (`nuscenes/{samples,sweeps}/CHANNEL`).
pub fn frame_dirs(cfg: &RunConfig) -> Vec<String> {
    let mut channels: Vec<String> = (0..cfg.cameras.len()).map(camera_channel).collect();
    if cfg.lidar {
        channels.push("LIDAR_TOP".into());
    }
    channels
        .iter()
        .flat_map(|ch| ["samples", "sweeps"].map(|k| format!("{ROOT}/{k}/{ch}")))
        .collect()
}

/// A lidar sweep as nuScenes stores it: x, y, z, intensity (0–255), ring (the beam), float32.
pub fn pcd_bin(lidar: &LidarFrame) -> Vec<u8> {
    let channels = lidar.channels.max(1) as usize;
    let mut out = Vec::with_capacity(lidar.hits.len() * 20);
    for column in lidar.hits.chunks(channels) {
        for (beam, h) in column.iter().enumerate() {
            if h.label == crate::abi::NO_RETURN {
                continue;
            }
            let p = super::kitti::point_bytes(h);
            out.extend_from_slice(&p[..12]);
            let i = f32::from_le_bytes([p[12], p[13], p[14], p[15]]);
            out.extend_from_slice(&(i * 255.0).to_le_bytes());
            out.extend_from_slice(&(beam as f32).to_le_bytes());
        }
    }
    out
}

/// A 32-hex-digit token from a kind and a key, stable across runs.
fn token(kind: &str, key: &str) -> String {
    sha256_hex(format!("verisim/{kind}/{key}").as_bytes())[..32].to_string()
}

fn translation_rotation(m: &Affine3A, offset: Vec3) -> (Value, Value) {
    let (_, q, t) = m.to_scale_rotation_translation();
    let q = q.normalize();
    let t = t + offset;
    (json!([t.x, t.y, t.z]), json!([q.w, q.x, q.y, q.z]))
}

/// Map mask resolution (m per pixel): nuScenes' readers assume 0.1.
const MAP_RESOLUTION_M: f32 = 0.1;
/// Margin around everything driven and annotated (m).
const MAP_MARGIN_M: f32 = 60.0;
/// Largest mask side (pixels): 1.6 km at 0.1 m.
const MAP_MAX_SIDE: u32 = 16_384;

/// A drivable-area mask as nuScenes' `MapMask` reads it: 0.1 m per pixel, the global origin
/// at the bottom-left pixel (row 0 at the top, y growing upwards), 255 where drivable.
struct MapMask {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

impl MapMask {
    fn new(width: u32, height: u32) -> Self {
        MapMask {
            width,
            height,
            pixels: vec![0; (width * height) as usize],
        }
    }

    /// Marks the square of `2 r + 1` pixels centred on the global point `g` (clipped).
    fn stamp(&mut self, g: Vec3, r: i64) {
        let (cx, cy) = (
            (g.x / MAP_RESOLUTION_M) as i64,
            (g.y / MAP_RESOLUTION_M) as i64,
        );
        let (w, h) = (self.width as i64, self.height as i64);
        for y in (cy - r).max(0)..=(cy + r).min(h - 1) {
            for x in (cx - r).max(0)..=(cx + r).min(w - 1) {
                self.pixels[((h - 1 - y) * w + x) as usize] = 255;
            }
        }
    }

    fn png(self) -> Result<Vec<u8>, image::ImageError> {
        let mut png = Vec::new();
        image::GrayImage::from_raw(self.width, self.height, self.pixels)
            .expect("sized by the mask")
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
        Ok(png)
    }
}

/// Writes the tables, the map mask and the splits from the frame records (in frame order);
/// the frames' point clouds and images were written with the frames. Returns the files.
pub fn write_tables(
    dir: &DatasetDir,
    cfg: &RunConfig,
    records: &[FrameRecord],
    split: &BTreeMap<u32, super::splits::Split>,
) -> Result<Vec<FileRecord>, ExportError> {
    let keyframe_every = cfg.keyframe_every.unwrap_or(1).max(1);
    fn facts<'a>(
        dir: &DatasetDir,
        r: &'a FrameRecord,
    ) -> Result<&'a super::mcap::McapFrame, ExportError> {
        r.mcap.as_ref().ok_or_else(|| ExportError::Dataset {
            path: dir.record(r.frame),
            message: "no sensor facts in the record (written without --format nuscenes)".into(),
        })
    }
    let facts = |r| facts(dir, r);
    // The global frame: the world moved so that everything lies at positive coordinates.
    let mut lo = Vec3::splat(f32::INFINITY);
    let mut hi = Vec3::splat(f32::NEG_INFINITY);
    for r in records {
        let f = facts(r)?;
        let e = crate::abi::affine_from_rows(&f.ego).translation;
        lo = lo.min(e.into());
        hi = hi.max(e.into());
        for o in &f.objects {
            lo = lo.min(Vec3::from(o.center));
            hi = hi.max(Vec3::from(o.center));
        }
    }
    let offset = Vec3::new(MAP_MARGIN_M - lo.x, MAP_MARGIN_M - lo.y, 0.0).floor();
    let offset = if records.is_empty() {
        Vec3::ZERO
    } else {
        offset
    };
    let extent = (hi - lo).max(Vec3::ZERO) + Vec3::splat(2.0 * MAP_MARGIN_M);
    let (mw, mh) = (
        ((extent.x / MAP_RESOLUTION_M).ceil() as u32).clamp(1, MAP_MAX_SIDE),
        ((extent.y / MAP_RESOLUTION_M).ceil() as u32).clamp(1, MAP_MAX_SIDE),
    );

    let mut t: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (name, desc) in CATEGORIES {
        t.entry("category").or_default().push(json!({
            "token": token("category", name), "name": name, "description": desc,
        }));
    }
    for (name, desc) in ATTRIBUTES {
        t.entry("attribute").or_default().push(json!({
            "token": token("attribute", name), "name": name, "description": desc,
        }));
    }
    for (i, (level, desc)) in VISIBILITY.iter().enumerate() {
        t.entry("visibility").or_default().push(json!({
            "token": (i + 1).to_string(), "level": level, "description": desc,
        }));
    }
    let mut channels: Vec<(String, &str)> = Vec::new();
    if cfg.lidar {
        channels.push(("LIDAR_TOP".into(), "lidar"));
    }
    for i in 0..cfg.cameras.len() {
        channels.push((camera_channel(i), "camera"));
    }
    for (ch, modality) in &channels {
        t.entry("sensor").or_default().push(json!({
            "token": token("sensor", ch), "channel": ch, "modality": modality,
        }));
    }
    let map_token = token("map", &cfg.name);
    let map_file = map_file(&cfg.name);

    // Per episode: log, scene, samples; per frame: ego pose, sample data; per keyframe:
    // annotations, chained per instance.
    let mut by_sequence: BTreeMap<u32, Vec<&FrameRecord>> = BTreeMap::new();
    for r in records {
        by_sequence
            .entry(super::semantic_kitti::sequence_of(r.frame, cfg.episode_frames).0)
            .or_default()
            .push(r);
    }
    let mut mask = MapMask::new(mw, mh);
    let layout = KittiLayout::new(&dir.root, cfg.cameras.len(), cfg.lidar);
    let mut log_tokens = Vec::new();
    for (&seq, recs) in &by_sequence {
        let scene = scene_name(seq);
        let log = token("log", &scene);
        log_tokens.push(log.clone());
        t.entry("log").or_default().push(json!({
            "token": log, "logfile": scene, "vehicle": "verisim-ego",
            "date_captured": "2026-01-01",
            "location": format!("verisim:{} (global = world + ({}, {}, 0) m)", cfg.name, offset.x, offset.y),
        }));
        // Calibrated sensors: one per sensor and scene (the rig of the first frame).
        let first = facts(recs[0])?;
        let mut calib_tokens = BTreeMap::new();
        for (ch, _) in &channels {
            let (pose, intrinsic) = if ch == "LIDAR_TOP" {
                (first.lidar.unwrap_or([0.0; 12]), json!([]))
            } else {
                let i = (0..cfg.cameras.len())
                    .find(|&i| &camera_channel(i) == ch)
                    .unwrap_or(0);
                let c = &first.cameras[i];
                let [fx, fy, cx, cy] = c.intrinsics;
                (
                    c.pose,
                    json!([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]]),
                )
            };
            let (tr, rot) = translation_rotation(&crate::abi::affine_from_rows(&pose), Vec3::ZERO);
            let tok = token("calibrated_sensor", &format!("{scene}/{ch}"));
            t.entry("calibrated_sensor").or_default().push(json!({
                "token": tok, "sensor_token": token("sensor", ch),
                "translation": tr, "rotation": rot, "camera_intrinsic": intrinsic,
            }));
            calib_tokens.insert(ch.clone(), tok);
        }
        let keyframes: Vec<&&FrameRecord> = recs
            .iter()
            .filter(|r| {
                super::semantic_kitti::sequence_of(r.frame, cfg.episode_frames)
                    .1
                    .is_multiple_of(keyframe_every)
            })
            .collect();
        let sample_token = |r: &FrameRecord| token("sample", &format!("{}", r.frame));
        for (k, r) in keyframes.iter().enumerate() {
            let link = |j: Option<usize>| {
                j.and_then(|j| keyframes.get(j))
                    .map_or(String::new(), |r| sample_token(r))
            };
            t.entry("sample").or_default().push(json!({
                "token": sample_token(r), "timestamp": micros(r.time_s), "scene_token": token("scene", &scene),
                "prev": link(k.checked_sub(1)), "next": link(Some(k + 1)),
            }));
        }
        t.entry("scene").or_default().push(json!({
            "token": token("scene", &scene), "log_token": log, "nbr_samples": keyframes.len(),
            "first_sample_token": keyframes.first().map_or(String::new(), |r| sample_token(r)),
            "last_sample_token": keyframes.last().map_or(String::new(), |r| sample_token(r)),
            "name": scene,
            "description": format!("verisim `{}`, episode {seq}; global = world + ({}, {}, 0) m", cfg.name, offset.x, offset.y),
        }));
        // Sample data, chained per channel; a sweep belongs to the last keyframe's sample.
        for (ch, _) in &channels {
            let sd_token = |r: &FrameRecord| token("sample_data", &format!("{}/{ch}", r.frame));
            let mut current_sample = String::new();
            for (k, r) in recs.iter().enumerate() {
                let f = facts(r)?;
                let in_ep = super::semantic_kitti::sequence_of(r.frame, cfg.episode_frames).1;
                let is_key = in_ep.is_multiple_of(keyframe_every);
                let (ext, (w, h)) = if ch == "LIDAR_TOP" {
                    ("pcd.bin", (0, 0))
                } else {
                    let i = (0..cfg.cameras.len())
                        .find(|&i| &camera_channel(i) == ch)
                        .unwrap_or(0);
                    let c = &f.cameras[i];
                    ("png", (c.width, c.height))
                };
                if is_key {
                    current_sample = sample_token(r);
                }
                let (_, path) = frame_path(ch, seq, in_ep, keyframe_every, r.time_s, ext);
                let ego = token("ego_pose", &format!("{}", r.frame));
                let link = |j: Option<usize>| {
                    j.and_then(|j| recs.get(j))
                        .map_or(String::new(), |r| sd_token(r))
                };
                t.entry("sample_data").or_default().push(json!({
                    "token": sd_token(r), "sample_token": current_sample,
                    "ego_pose_token": ego, "calibrated_sensor_token": calib_tokens[ch],
                    "timestamp": micros(r.time_s),
                    "fileformat": if ext == "png" { "png" } else { "pcd" },
                    "is_key_frame": is_key, "height": h, "width": w,
                    "filename": path.strip_prefix(&format!("{ROOT}/")).unwrap_or(&path),
                    "prev": link(k.checked_sub(1)), "next": link(Some(k + 1)),
                }));
            }
        }
        for r in recs {
            let f = facts(r)?;
            let (tr, rot) = translation_rotation(&crate::abi::affine_from_rows(&f.ego), offset);
            t.entry("ego_pose").or_default().push(json!({
                "token": token("ego_pose", &format!("{}", r.frame)),
                "timestamp": micros(r.time_s), "translation": tr, "rotation": rot,
            }));
            // The drivable-area mask, in the global frame (image row 0 at the top: y grows
            // upwards, as nuScenes' MapMask reads it): where the ego stood (a 3 m square: it
            // drives on the road) and the lidar's road returns (0.5 m squares).
            mask.stamp(
                Vec3::from(crate::abi::affine_from_rows(&f.ego).translation) + offset,
                15,
            );
            if let Some(vl) = f.lidar.as_ref().filter(|_| cfg.lidar) {
                let to_world =
                    crate::abi::affine_from_rows(&f.ego) * crate::abi::affine_from_rows(vl);
                let pts =
                    crate::files::read_regular(&layout.file("velodyne", r.frame, "bin"), 1 << 30)
                        .map_err(|source| ExportError::Io {
                        path: layout.file("velodyne", r.frame, "bin"),
                        source,
                    })?;
                let labs = crate::files::read_regular(
                    &layout.file("velodyne_labels", r.frame, "label"),
                    1 << 30,
                )
                .map_err(|source| ExportError::Io {
                    path: layout.file("velodyne_labels", r.frame, "label"),
                    source,
                })?;
                let road: [u16; 3] = [Class::Road, Class::LaneMarking, Class::Crosswalk]
                    .map(|c| c.info().semantic_kitti_id);
                for (p, l) in pts.chunks_exact(16).zip(labs.chunks_exact(4)) {
                    let raw = u16::from_le_bytes([l[0], l[1]]);
                    if !road.contains(&raw) {
                        continue;
                    }
                    let v = |k: usize| f32::from_le_bytes([p[k], p[k + 1], p[k + 2], p[k + 3]]);
                    mask.stamp(
                        to_world.transform_point3(Vec3::new(v(0), v(4), v(8))) + offset,
                        2,
                    );
                }
            }
        }
        // Annotations of the keyframes, chained per instance.
        let mut by_instance: BTreeMap<u32, Vec<(u32, &WorldObject)>> = BTreeMap::new();
        for r in &keyframes {
            for o in &facts(r)?.objects {
                by_instance
                    .entry(o.instance)
                    .or_default()
                    .push((r.frame, o));
            }
        }
        for (inst, anns) in &by_instance {
            let inst_token = token("instance", &format!("{scene}/{inst}"));
            let ann_token = |frame: u32| token("sample_annotation", &format!("{frame}/{inst}"));
            for (k, (frame, o)) in anns.iter().enumerate() {
                let g = Vec3::from(o.center) + offset;
                let link = |j: Option<usize>| {
                    j.and_then(|j| anns.get(j))
                        .map_or(String::new(), |(f, _)| ann_token(*f))
                };
                t.entry("sample_annotation").or_default().push(json!({
                    "token": ann_token(*frame),
                    "sample_token": token("sample", &format!("{frame}")),
                    "instance_token": inst_token,
                    "visibility_token": o.visibility.to_string(),
                    "attribute_tokens": [token("attribute", &o.attribute)],
                    "translation": [g.x, g.y, g.z], "size": o.size_wlh, "rotation": o.rotation,
                    "num_lidar_pts": o.lidar_points, "num_radar_pts": 0,
                    "prev": link(k.checked_sub(1)), "next": link(Some(k + 1)),
                }));
            }
            t.entry("instance").or_default().push(json!({
                "token": inst_token, "category_token": token("category", &anns[0].1.category),
                "nbr_annotations": anns.len(),
                "first_annotation_token": ann_token(anns[0].0),
                "last_annotation_token": ann_token(anns[anns.len() - 1].0),
            }));
        }
    }
    t.entry("map").or_default().push(json!({
        "token": map_token, "log_tokens": log_tokens, "category": "semantic_prior", "filename": map_file,
    }));

    let mut files = Vec::new();
    for name in TABLES {
        let rows = t.remove(name).unwrap_or_default();
        let text = serde_json::to_string_pretty(&rows).expect("plain JSON");
        files.push(super::manifest::write_recorded(
            dir,
            &format!("{ROOT}/{VERSION}/{name}.json"),
            text.as_bytes(),
        )?);
    }
    let png = mask.png().map_err(|e| ExportError::Encode {
        path: dir.root.join(ROOT).join(&map_file),
        message: e.to_string(),
    })?;
    files.push(super::manifest::write_recorded(
        dir,
        &format!("{ROOT}/{map_file}"),
        &png,
    )?);
    // Scenes per split, as the devkit's `create_splits_scenes` returns them.
    let mut splits: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (&seq, s) in split {
        splits
            .entry(format!("{s:?}").to_lowercase())
            .or_default()
            .push(scene_name(seq));
    }
    let text = serde_json::to_string_pretty(&splits).expect("plain JSON");
    files.push(super::manifest::write_recorded(
        dir,
        &format!("{ROOT}/splits.json"),
        text.as_bytes(),
    )?);
    Ok(files)
}
