//! MCAP export (`--format mcap`): one file per episode, `mcap/episode_SS.mcap`, that Foxglove,
//! Lichtblick and the `mcap` readers open as a recording of the drive.
//!
//! Topics, each with one of Foxglove's schemas, JSON-encoded (schema encoding `jsonschema`,
//! bytes fields in base64: the one encoding Foxglove reads without a protobuf descriptor set
//! or ROS message definitions, and one any reader can decode):
//!
//! | topic | schema | frame |
//! |---|---|---|
//! | `/tf` | `foxglove.FrameTransforms` | `world` → `base_link` → `lidar`, `camera_N` |
//! | `/lidar/points` | `foxglove.PointCloud` | `lidar`: x, y, z, intensity, time (f32), label, instance (u16) |
//! | `/camera_N/image` | `foxglove.CompressedImage` | `camera_N` (PNG) |
//! | `/camera_N/calibration` | `foxglove.CameraCalibration` | `camera_N` |
//! | `/boxes` | `foxglove.SceneUpdate` | `camera_2` (KITTI's reference camera), one cube per object |
//!
//! `N` is the camera's KITTI folder number (`image_2` is camera 0). Every message's log and
//! publish times and its `timestamp` are the simulation clock: seconds since the episode
//! began, as in `sequences/SS/times.txt`.
//!
//! The files are assembled when the run finishes, like the other aggregates: the point clouds,
//! point labels and images are read back from the KITTI files (so `--format mcap` writes
//! `kitti` too), the poses, intrinsics and boxes come from the frame records
//! ([`McapFrame`]). A resumed run, a merge of shards and an uninterrupted run therefore write
//! the same bytes: nothing in a file depends on the clock or the host.

use std::collections::BTreeMap;
use std::io::Write;

use glam::{Affine3A, Quat, Vec3};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::ExportError;
use super::dataset::{DatasetDir, FileRecord, FrameRecord, RunConfig};
use super::kitti::KittiLayout;
use crate::frame::FrameInputs;
use crate::labels::boxes::ObjectLabel;

/// The episode's file, relative to the dataset root.
pub fn episode_path(sequence: u32) -> String {
    format!("mcap/episode_{sequence:02}.mcap")
}

/// The reference frame of the world, the ego vehicle and the lidar.
pub const WORLD_FRAME: &str = "world";
pub const EGO_FRAME: &str = "base_link";
pub const LIDAR_FRAME: &str = "lidar";

/// Camera `i`'s frame (and topic prefix), named after its KITTI folder (`image_{i+2}`).
pub fn camera_frame(i: usize) -> String {
    format!("camera_{}", i + 2)
}

/// One camera's facts for the MCAP file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct McapCamera {
    /// vehicle_from_camera (optical frame: x right, y down, z forward), 3x4 row-major.
    pub pose: [f32; 12],
    pub width: u32,
    pub height: u32,
    /// fx, fy, cx, cy in pixels.
    pub intrinsics: [f32; 4],
    /// Brown–Conrady k1, k2, p1, p2 (OpenCV's `plumb_bob` with k3 = 0).
    pub distortion: [f32; 4],
}

/// One labelled object, as in `label_2` (camera 0's frame, KITTI conventions) at full
/// precision, with its instance id (the track across frames).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct McapBox {
    pub instance: u32,
    /// KITTI type (`Car`, `Pedestrian`, ...).
    pub kind: String,
    /// Height, width, length (m).
    pub dims_hwl: [f32; 3],
    /// Bottom centre in camera 0's frame (x right, y down, z forward).
    pub location: [f32; 3],
    pub rotation_y: f32,
    pub occlusion: u8,
    pub truncation: f32,
}

/// What a frame's record carries for the MCAP file: everything but the point clouds and the
/// images, which are read back from the KITTI files.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct McapFrame {
    /// world_from_ego, 3x4 row-major.
    pub ego: [f32; 12],
    /// vehicle_from_lidar, when the rig has a lidar.
    pub lidar: Option<[f32; 12]>,
    pub cameras: Vec<McapCamera>,
    pub boxes: Vec<McapBox>,
    /// Every object to annotate, in the world frame (with `--format nuscenes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<super::nuscenes::WorldObject>,
}

fn rows12(m: &Affine3A) -> [f32; 12] {
    let r = crate::abi::affine_rows(m);
    std::array::from_fn(|i| r[i / 4][i % 4])
}

/// The facts of one frame (its boxes: the objects of `labels`, `DontCare` regions left out;
/// its world objects when `objects` holds them).
pub fn frame_facts(
    inputs: &FrameInputs,
    labels: &[ObjectLabel],
    objects: Vec<super::nuscenes::WorldObject>,
) -> McapFrame {
    McapFrame {
        objects,
        ego: rows12(&inputs.world_from_ego),
        lidar: inputs.lidar.as_ref().map(|l| rows12(&l.vehicle_from_lidar)),
        cameras: inputs
            .cameras
            .iter()
            .map(|c| {
                let p = &c.params;
                McapCamera {
                    pose: rows12(&c.vehicle_from_camera),
                    width: p.width,
                    height: p.height,
                    intrinsics: [p.fx, p.fy, p.cx, p.cy],
                    distortion: [p.k1, p.k2, p.p1, p.p2],
                }
            })
            .collect(),
        boxes: labels
            .iter()
            .filter(|l| !l.dont_care)
            .map(|l| McapBox {
                instance: l.instance_id,
                kind: l.class.info().kitti_type.to_string(),
                dims_hwl: l.dims_hwl,
                location: l.location,
                rotation_y: crate::labels::boxes::wrap_angle(l.rotation_y),
                occlusion: l.occlusion,
                truncation: l.truncation,
            })
            .collect(),
    }
}

/// Standard base64 (RFC 4648, with padding): how JSON carries Foxglove's bytes fields.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = vec![b'='; bytes.len().div_ceil(3) * 4];
    let whole = bytes.len() / 3;
    // Whole groups of three bytes: four characters each, written in place.
    for (c, o) in bytes.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
        let n = (u32::from(c[0]) << 16) | (u32::from(c[1]) << 8) | u32::from(c[2]);
        o[0] = A[(n >> 18) as usize & 63];
        o[1] = A[(n >> 12) as usize & 63];
        o[2] = A[(n >> 6) as usize & 63];
        o[3] = A[n as usize & 63];
    }
    // One or two bytes left: two or three characters and the padding.
    let rest = &bytes[whole * 3..];
    if !rest.is_empty() {
        let n = (u32::from(rest[0]) << 16) | (u32::from(*rest.get(1).unwrap_or(&0)) << 8);
        let o = &mut out[whole * 4..];
        o[0] = A[(n >> 18) as usize & 63];
        o[1] = A[(n >> 12) as usize & 63];
        if rest.len() == 2 {
            o[2] = A[(n >> 6) as usize & 63];
        }
    }
    String::from_utf8(out).expect("base64 is ASCII")
}

fn to_json(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("plain JSON")
}

/// A JSON object with one more field, `key`, whose value is the base64 of `bytes`: spliced in
/// as text (base64 needs no escaping, and a JSON serializer would scan megabytes of it for
/// characters to escape).
fn with_bytes(head: &Value, key: &str, bytes: &[u8]) -> Vec<u8> {
    let mut out = to_json(head);
    debug_assert_eq!(out.last(), Some(&b'}'));
    out.pop();
    if out.len() > 1 {
        out.push(b',');
    }
    let b64 = base64(bytes);
    out.reserve(key.len() + b64.len() + 6);
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":\"");
    out.extend_from_slice(b64.as_bytes());
    out.extend_from_slice(b"\"}");
    out
}

fn time(ns: u64) -> Value {
    json!({"sec": ns / 1_000_000_000, "nsec": ns % 1_000_000_000})
}

fn vec3(v: Vec3) -> Value {
    json!({"x": v.x, "y": v.y, "z": v.z})
}

fn pose(t: Vec3, q: Quat) -> Value {
    json!({"position": vec3(t), "orientation": {"x": q.x, "y": q.y, "z": q.z, "w": q.w}})
}

/// Translation and rotation of a 3x4 row-major pose (the rotation re-orthonormalised through
/// the quaternion).
fn split_pose(m: &[f32; 12]) -> (Vec3, Quat) {
    let a = crate::abi::affine_from_rows(m);
    (
        a.translation.into(),
        Quat::from_mat3a(&a.matrix3).normalize(),
    )
}

fn transform(ns: u64, parent: &str, child: &str, m: &[f32; 12]) -> Value {
    let (t, q) = split_pose(m);
    json!({
        "timestamp": time(ns),
        "parent_frame_id": parent,
        "child_frame_id": child,
        "translation": vec3(t),
        "rotation": {"x": q.x, "y": q.y, "z": q.z, "w": q.w},
    })
}

/// A box's colour by KITTI type (RGBA in [0, 1]).
fn box_colour(kind: &str) -> Value {
    let [r, g, b] = match kind {
        "Car" => [0.2, 0.5, 1.0],
        "Van" => [0.3, 0.8, 1.0],
        "Truck" | "Tram" => [0.6, 0.3, 1.0],
        "Pedestrian" | "Person_sitting" => [1.0, 0.25, 0.25],
        "Cyclist" => [1.0, 0.8, 0.1],
        _ => [0.7, 0.7, 0.7],
    };
    json!({"r": r, "g": g, "b": b, "a": 0.35})
}

/// `label_2`'s box as a Foxglove cube: KITTI's location is the bottom centre (y points down),
/// the length lies along x before the rotation `rotation_y` about y.
pub fn box_cube(b: &McapBox) -> (Vec3, Quat, Vec3) {
    let [h, w, l] = b.dims_hwl;
    let [x, y, z] = b.location;
    (
        Vec3::new(x, y - h / 2.0, z),
        Quat::from_rotation_y(b.rotation_y),
        Vec3::new(l, h, w),
    )
}

fn scene_update(ns: u64, boxes: &[McapBox]) -> Value {
    let frame = camera_frame(0);
    let entities: Vec<Value> = boxes
        .iter()
        .map(|b| {
            let (c, q, s) = box_cube(b);
            json!({
                "timestamp": time(ns),
                "frame_id": frame,
                "id": b.instance.to_string(),
                "lifetime": {"sec": 0, "nsec": 0},
                "frame_locked": false,
                "metadata": [
                    {"key": "type", "value": b.kind},
                    {"key": "occluded", "value": b.occlusion.to_string()},
                    {"key": "truncated", "value": format!("{:.2}", b.truncation)},
                ],
                "arrows": [], "spheres": [], "cylinders": [], "lines": [],
                "triangles": [], "texts": [], "models": [],
                "cubes": [{"pose": pose(c, q), "size": vec3(s), "color": box_colour(&b.kind)}],
            })
        })
        .collect();
    // Every entity of the previous frame goes first (type 1: all), so objects that left the
    // view do not linger.
    json!({
        "deletions": [{"timestamp": time(ns), "type": 1, "id": ""}],
        "entities": entities,
    })
}

fn calibration(ns: u64, i: usize, c: &McapCamera) -> Value {
    let [fx, fy, cx, cy] = c.intrinsics;
    let [k1, k2, p1, p2] = c.distortion;
    json!({
        "timestamp": time(ns),
        "frame_id": camera_frame(i),
        "width": c.width,
        "height": c.height,
        "distortion_model": "plumb_bob",
        "D": [k1, k2, p1, p2, 0.0],
        "K": [fx, 0.0, cx, 0.0, fy, cy, 0.0, 0.0, 1.0],
        "R": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        "P": [fx, 0.0, cx, 0.0, 0.0, fy, cy, 0.0, 0.0, 0.0, 1.0, 0.0],
    })
}

/// Bytes per point of `/lidar/points`.
pub const POINT_STRIDE: usize = 24;

/// `/lidar/points` from the KITTI files of a frame: `velodyne` (x, y, z, intensity as f32),
/// `velodyne_times` (f32 s) and `velodyne_labels` (u32: SemanticKITTI id | instance << 16).
fn point_cloud(ns: u64, bin: &[u8], times: &[u8], labels: &[u8]) -> Vec<u8> {
    let n = bin.len() / 16;
    let mut data = vec![0u8; n * POINT_STRIDE];
    for (((p, b), t), l) in data
        .chunks_exact_mut(POINT_STRIDE)
        .zip(bin.chunks_exact(16))
        .zip(times.chunks_exact(4))
        .zip(labels.chunks_exact(4))
    {
        p[..16].copy_from_slice(b);
        p[16..20].copy_from_slice(t);
        p[20..24].copy_from_slice(l);
    }
    // Foxglove's numeric types: 3 UINT16, 7 FLOAT32.
    let field =
        |name: &str, offset: u32, kind: u32| json!({"name": name, "offset": offset, "type": kind});
    let head = json!({
        "timestamp": time(ns),
        "frame_id": LIDAR_FRAME,
        "pose": pose(Vec3::ZERO, Quat::IDENTITY),
        "point_stride": POINT_STRIDE,
        "fields": [
            field("x", 0, 7), field("y", 4, 7), field("z", 8, 7), field("intensity", 12, 7),
            field("time", 16, 7), field("label", 20, 3), field("instance", 22, 3),
        ],
    });
    with_bytes(&head, "data", &data)
}

/// The JSON schemas of the five Foxglove message types used here: the fields this writer
/// fills, named and typed as in Foxglove's published schemas.
pub fn schema(name: &str) -> Value {
    let num = json!({"type": "number"});
    let int = json!({"type": "integer", "minimum": 0});
    let string = json!({"type": "string"});
    let time = json!({"type": "object", "properties": {"sec": int, "nsec": int}});
    let vector3 = json!({"type": "object", "properties": {"x": num, "y": num, "z": num}});
    let quaternion =
        json!({"type": "object", "properties": {"x": num, "y": num, "z": num, "w": num}});
    let pose =
        json!({"type": "object", "properties": {"position": vector3, "orientation": quaternion}});
    let bytes = json!({"type": "string", "contentEncoding": "base64"});
    let array_of = |items: Value| json!({"type": "array", "items": items});
    let properties = match name {
        "foxglove.FrameTransforms" => json!({"transforms": array_of(json!({
            "type": "object",
            "properties": {
                "timestamp": time, "parent_frame_id": string, "child_frame_id": string,
                "translation": vector3, "rotation": quaternion,
            }
        }))}),
        "foxglove.PointCloud" => json!({
            "timestamp": time, "frame_id": string, "pose": pose, "point_stride": int,
            "fields": array_of(json!({"type": "object", "properties": {
                "name": string, "offset": int, "type": int,
            }})),
            "data": bytes,
        }),
        "foxglove.CompressedImage" => json!({
            "timestamp": time, "frame_id": string, "data": bytes, "format": string,
        }),
        "foxglove.CameraCalibration" => json!({
            "timestamp": time, "frame_id": string, "width": int, "height": int,
            "distortion_model": string, "D": array_of(num.clone()), "K": array_of(num.clone()),
            "R": array_of(num.clone()), "P": array_of(num),
        }),
        "foxglove.SceneUpdate" => json!({
            "deletions": array_of(json!({"type": "object", "properties": {
                "timestamp": time, "type": int, "id": string,
            }})),
            "entities": array_of(json!({"type": "object", "properties": {
                "timestamp": time, "frame_id": string, "id": string,
                "lifetime": time, "frame_locked": {"type": "boolean"},
                "metadata": array_of(json!({"type": "object", "properties": {
                    "key": string, "value": string,
                }})),
                "cubes": array_of(json!({"type": "object", "properties": {
                    "pose": pose, "size": vector3,
                    "color": {"type": "object", "properties": {"r": num, "g": num, "b": num, "a": num}},
                }})),
            }})),
        }),
        _ => json!({}),
    };
    json!({"title": name, "type": "object", "properties": properties})
}

/// A writer that counts and hashes what passes through it (the MCAP writer streams, so the
/// file's checksum is known when it is closed, without reading it back).
struct Hashing<W> {
    inner: W,
    hash: Sha256,
    bytes: u64,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn mcap_io(e: mcap::McapError) -> std::io::Error {
    match e {
        mcap::McapError::Io(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

/// The channel ids of an episode's file.
struct Channels {
    tf: u16,
    points: Option<u16>,
    /// Image and calibration, per camera.
    cameras: Vec<(u16, u16)>,
    boxes: Option<u16>,
}

/// One message: channel, log time, JSON bytes.
type Message = (u16, u64, Vec<u8>);

/// A frame's messages, in the order they are written; an error names the file it is about.
fn frame_messages(
    layout: &KittiLayout,
    ch: &Channels,
    r: &FrameRecord,
) -> Result<Vec<Message>, (std::path::PathBuf, std::io::Error)> {
    let f = r.frame;
    let facts = r.mcap.as_ref().ok_or_else(|| {
        (
            layout.split.clone(),
            std::io::Error::other(format!(
                "the record of frame {f} has no MCAP facts (written by a run without --format mcap)"
            )),
        )
    })?;
    let ns = (r.time_s.max(0.0) * 1e9).round() as u64;
    let read = |folder: &str, ext: &str| {
        let p = layout.file(folder, f, ext);
        crate::files::read_regular(&p, 1 << 30).map_err(|e| (p, e))
    };
    let mut out = Vec::with_capacity(3 + 2 * ch.cameras.len());
    let mut transforms = vec![transform(ns, WORLD_FRAME, EGO_FRAME, &facts.ego)];
    if let Some(l) = &facts.lidar {
        transforms.push(transform(ns, EGO_FRAME, LIDAR_FRAME, l));
    }
    for (i, c) in facts.cameras.iter().enumerate() {
        transforms.push(transform(ns, EGO_FRAME, &camera_frame(i), &c.pose));
    }
    out.push((ch.tf, ns, to_json(&json!({ "transforms": transforms }))));
    if let Some(points) = ch.points {
        let bin = read("velodyne", "bin")?;
        let times = read("velodyne_times", "times")?;
        let labels = read("velodyne_labels", "label")?;
        let n = bin.len() / 16;
        if bin.len() % 16 != 0 || times.len() != n * 4 || labels.len() != n * 4 {
            return Err((
                layout.file("velodyne", f, "bin"),
                std::io::Error::other(format!(
                    "{} bytes of points, {} of times and {} of labels do not describe one cloud",
                    bin.len(),
                    times.len(),
                    labels.len()
                )),
            ));
        }
        out.push((points, ns, point_cloud(ns, &bin, &times, &labels)));
    }
    for (i, ((image, calib), c)) in ch.cameras.iter().zip(&facts.cameras).enumerate() {
        let png = read(&format!("image_{}", i + 2), "png")?;
        let head = json!({"timestamp": time(ns), "frame_id": camera_frame(i), "format": "png"});
        out.push((*image, ns, with_bytes(&head, "data", &png)));
        out.push((*calib, ns, to_json(&calibration(ns, i, c))));
    }
    if let Some(boxes) = ch.boxes {
        out.push((boxes, ns, to_json(&scene_update(ns, &facts.boxes))));
    }
    Ok(out)
}

/// Writes `mcap/episode_SS.mcap` for one episode from its frames' records (in frame order)
/// and their KITTI files. The frames' messages are made on all cores, a batch at a time, and
/// written in order.
pub fn write_episode(
    dir: &DatasetDir,
    cfg: &RunConfig,
    sequence: u32,
    records: &[&FrameRecord],
) -> Result<FileRecord, ExportError> {
    use rayon::prelude::*;
    let rel = episode_path(sequence);
    let path = dir.root.join(&rel);
    if let Some(parent) = path.parent() {
        super::atomic::create_dir(parent)?;
    }
    let layout = KittiLayout::new(&dir.root, cfg.cameras.len(), cfg.lidar);
    // The file whose reading failed, for the error message.
    let mut failed_at = path.clone();
    let result = crate::files::write_with(&path, false, |w| {
        let sink = Hashing {
            inner: w,
            hash: Sha256::new(),
            bytes: 0,
        };
        let opts = mcap::WriteOptions::new()
            .compression(None)
            .profile("")
            .library(format!("verisim {}", env!("CARGO_PKG_VERSION")))
            .chunk_size(Some(4 << 20))
            .disable_seeking(true);
        let mut m = opts
            .create(mcap::write::NoSeek::new(sink))
            .map_err(mcap_io)?;
        let mut channel = |topic: &str, schema_name: &str| {
            let s = m.add_schema(schema_name, "jsonschema", &to_json(&schema(schema_name)))?;
            m.add_channel(s, topic, "json", &BTreeMap::new())
        };
        let ch = Channels {
            tf: channel("/tf", "foxglove.FrameTransforms").map_err(mcap_io)?,
            points: match cfg.lidar {
                true => Some(channel("/lidar/points", "foxglove.PointCloud").map_err(mcap_io)?),
                false => None,
            },
            cameras: (0..cfg.cameras.len())
                .map(|i| {
                    let prefix = format!("/{}", camera_frame(i));
                    Ok((
                        channel(&format!("{prefix}/image"), "foxglove.CompressedImage")?,
                        channel(
                            &format!("{prefix}/calibration"),
                            "foxglove.CameraCalibration",
                        )?,
                    ))
                })
                .collect::<Result<_, mcap::McapError>>()
                .map_err(mcap_io)?,
            boxes: match cfg.cameras.is_empty() {
                true => None,
                false => Some(channel("/boxes", "foxglove.SceneUpdate").map_err(mcap_io)?),
            },
        };
        let mut meta = BTreeMap::from([
            ("dataset".to_string(), cfg.name.clone()),
            ("episode".to_string(), sequence.to_string()),
            ("frames".to_string(), records.len().to_string()),
            ("seed".to_string(), cfg.seed.to_string()),
            ("scenario".to_string(), cfg.source_path.clone()),
            (
                "generator".to_string(),
                format!("verisim {}", env!("CARGO_PKG_VERSION")),
            ),
        ]);
        if let Some(v) = records.first().and_then(|r| r.variation.as_ref()) {
            meta.insert(
                "variation".into(),
                serde_json::to_string(v).expect("plain data"),
            );
        }
        m.write_metadata(&mcap::records::Metadata {
            name: "verisim".into(),
            metadata: meta,
        })
        .map_err(mcap_io)?;

        let mut sequence_no = 0u32;
        let batch = 2 * rayon::current_num_threads().max(1);
        for frames in records.chunks(batch) {
            let made: Vec<_> = frames
                .par_iter()
                .map(|r| frame_messages(&layout, &ch, r))
                .collect();
            for messages in made {
                let messages = messages.map_err(|(p, e)| {
                    failed_at = p;
                    e
                })?;
                for (channel_id, ns, data) in messages {
                    sequence_no += 1;
                    let header = mcap::records::MessageHeader {
                        channel_id,
                        sequence: sequence_no,
                        log_time: ns,
                        publish_time: ns,
                    };
                    m.write_to_known_channel(&header, &data).map_err(mcap_io)?;
                }
            }
        }
        m.finish().map_err(mcap_io)?;
        let sink = m.into_inner().into_inner();
        Ok((format!("{:x}", sink.hash.finalize()), sink.bytes))
    });
    match result {
        Ok((sha256, bytes)) => Ok(FileRecord {
            path: rel,
            sha256,
            bytes,
        }),
        Err(e) if crate::files::is_disk_full(&e) => Err(ExportError::DiskFull { path }),
        Err(source) => Err(ExportError::Io {
            path: failed_at,
            source,
        }),
    }
}

/// What `verify` checks of an episode's MCAP file: it reads to the end (magic, records,
/// summary), every message parses as JSON, every topic has one message per frame of the
/// episode, and log times never go back.
pub fn check(bytes: &[u8], frames: usize) -> Result<(), String> {
    let summary = mcap::Summary::read(bytes)
        .map_err(|e| format!("not an MCAP file: {e}"))?
        .ok_or("no summary section (the file was not finished)")?;
    let mut per_topic: BTreeMap<String, usize> = BTreeMap::new();
    let mut last = 0u64;
    for m in mcap::MessageStream::new(bytes).map_err(|e| format!("not an MCAP file: {e}"))? {
        let m = m.map_err(|e| format!("unreadable message: {e}"))?;
        if m.log_time < last {
            return Err(format!(
                "log time {} on `{}` goes back from {last}",
                m.log_time, m.channel.topic
            ));
        }
        last = m.log_time;
        serde_json::from_slice::<serde::de::IgnoredAny>(&m.data).map_err(|e| {
            format!(
                "message {} on `{}` is not JSON: {e}",
                m.sequence, m.channel.topic
            )
        })?;
        *per_topic.entry(m.channel.topic.clone()).or_default() += 1;
    }
    if per_topic.len() != summary.channels.len() {
        return Err(format!(
            "{} channels in the summary, messages on {}",
            summary.channels.len(),
            per_topic.len()
        ));
    }
    match per_topic.iter().find(|(_, n)| **n != frames) {
        Some((t, n)) => Err(format!(
            "{n} messages on `{t}`, expected {frames} (one per frame of the episode)"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        // RFC 4648 section 10.
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), enc);
        }
        assert_eq!(base64(&[0xFB, 0xFF, 0xBF]), "+/+/");
    }

    #[test]
    fn bytes_fields_splice_into_valid_json() {
        for head in [json!({}), json!({"format": "png", "t": {"sec": 1}})] {
            let v: Value =
                serde_json::from_slice(&with_bytes(&head, "data", b"\x00\xFFab")).unwrap();
            assert_eq!(v["data"], "AP9hYg==");
            assert_eq!(
                v.as_object().unwrap().len(),
                head.as_object().unwrap().len() + 1
            );
        }
    }

    #[test]
    fn check_refuses_what_is_not_a_finished_mcap_file() {
        assert!(
            check(b"not an mcap file at all", 1)
                .unwrap_err()
                .contains("not an MCAP")
        );
        // The magic alone: no summary.
        assert!(check(b"\x89MCAP0\r\n\x89MCAP0\r\n", 1).is_err());
    }

    /// The cube of a KITTI box holds the box's eight corners as KITTI's devkit computes them
    /// (`roty(ry) · [±l/2, 0 or −h, ±w/2] + location`).
    #[test]
    fn box_cube_spans_kittis_corners() {
        let b = McapBox {
            instance: 3,
            kind: "Car".into(),
            dims_hwl: [1.5, 1.8, 4.2],
            location: [2.0, 1.6, 12.0],
            rotation_y: 0.7,
            occlusion: 0,
            truncation: 0.0,
        };
        let (c, q, s) = box_cube(&b);
        let (sin, cos) = b.rotation_y.sin_cos();
        let [h, w, l] = b.dims_hwl;
        for xs in [-0.5f32, 0.5] {
            for ys in [0.0f32, -1.0] {
                for zs in [-0.5f32, 0.5] {
                    let (x, y, z) = (xs * l, ys * h, zs * w);
                    let corner = Vec3::new(cos * x + sin * z, y, -sin * x + cos * z)
                        + Vec3::from(b.location);
                    let local = q.inverse() * (corner - c);
                    assert!(
                        (local.abs() - s / 2.0).abs().max_element() < 1e-5,
                        "{corner} → {local}"
                    );
                }
            }
        }
    }

    #[test]
    fn split_pose_inverts_rows() {
        let m = Affine3A::from_rotation_translation(
            Quat::from_euler(glam::EulerRot::ZYX, 0.3, -0.2, 0.1),
            Vec3::new(1.0, -2.0, 3.0),
        );
        let (t, q) = split_pose(&rows12(&m));
        let back = Affine3A::from_rotation_translation(q, t);
        assert!(back.abs_diff_eq(m, 1e-6));
    }
}
