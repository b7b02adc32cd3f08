//! `--format mcap` read back: with the `mcap` crate (Foxglove's Rust reader) against the KITTI
//! files and frame records of the same run, and with the `mcap` Python reader as users open
//! the files.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use glam::{Affine3A, Quat, Vec3};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_verisim");

/// Renders 10 frames of the smoke scene, 2 per episode (5 episodes), with `--format mcap`.
fn render_mcap(out: &Path) {
    super::formats::render_episodes(out, &["--format", "mcap"]);
}

fn unbase64(s: &str) -> Vec<u8> {
    let val = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => (c - b'A') as u32,
            b'a'..=b'z' => (c - b'a' + 26) as u32,
            b'0'..=b'9' => (c - b'0' + 52) as u32,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let mut out = Vec::new();
    for q in s.as_bytes().chunks(4) {
        let pad = q.iter().filter(|&&c| c == b'=').count();
        let n = q
            .iter()
            .map(|&c| if c == b'=' { 0 } else { val(c) })
            .fold(0u32, |a, v| (a << 6) | v);
        out.extend(&n.to_be_bytes()[1..4 - pad]);
    }
    out
}

fn vec3(v: &Value) -> Vec3 {
    Vec3::new(
        v["x"].as_f64().unwrap() as f32,
        v["y"].as_f64().unwrap() as f32,
        v["z"].as_f64().unwrap() as f32,
    )
}

fn quat(v: &Value) -> Quat {
    Quat::from_xyzw(
        v["x"].as_f64().unwrap() as f32,
        v["y"].as_f64().unwrap() as f32,
        v["z"].as_f64().unwrap() as f32,
        v["w"].as_f64().unwrap() as f32,
    )
}

fn numbers(s: &str) -> Vec<f32> {
    s.split_whitespace().map(|t| t.parse().unwrap()).collect()
}

fn calib_row(text: &str, key: &str) -> Vec<f32> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}:")))
        .map(numbers)
        .unwrap()
}

#[test]
fn mcap_holds_each_episodes_points_images_poses_and_boxes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    render_mcap(&out);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["vs:layout"]["formats"],
        serde_json::json!(["kitti", "mcap"]),
        "the MCAP files are assembled from the KITTI ones, so both are written"
    );
    let o = Command::new(BIN).arg("verify").arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    let mut boxes_seen = 0;
    for episode in 0..5u32 {
        let bytes = std::fs::read(out.join(format!("mcap/episode_{episode:02}.mcap"))).unwrap();
        let mut by_topic: BTreeMap<String, Vec<(u64, Value)>> = BTreeMap::new();
        for m in mcap::MessageStream::new(&bytes).unwrap() {
            let m = m.unwrap();
            let schema = m
                .channel
                .schema
                .as_ref()
                .expect("every channel has a schema");
            assert_eq!(
                (
                    schema.encoding.as_str(),
                    m.channel.message_encoding.as_str()
                ),
                ("jsonschema", "json")
            );
            let want = match m.channel.topic.as_str() {
                "/tf" => "foxglove.FrameTransforms",
                "/lidar/points" => "foxglove.PointCloud",
                "/camera_2/image" => "foxglove.CompressedImage",
                "/camera_2/calibration" => "foxglove.CameraCalibration",
                "/boxes" => "foxglove.SceneUpdate",
                t => panic!("unexpected topic {t}"),
            };
            assert_eq!(schema.name, want);
            assert_eq!(m.log_time, m.publish_time);
            by_topic
                .entry(m.channel.topic.clone())
                .or_default()
                .push((m.log_time, serde_json::from_slice(&m.data).unwrap()));
        }
        assert_eq!(by_topic.len(), 5, "{:?}", by_topic.keys());
        assert!(by_topic.values().all(|v| v.len() == 2));
        for k in 0..2usize {
            let frame = episode * 2 + k as u32;
            let n = format!("{frame:06}");
            let record: Value = serde_json::from_slice(
                &std::fs::read(out.join(format!(".verisim/frames/{n}.json"))).unwrap(),
            )
            .unwrap();
            // Simulation clock: seconds since the episode began, in every stamp.
            let ns = (record["time_s"].as_f64().unwrap() * 1e9).round() as u64;
            assert_eq!(k == 0, ns == 0, "frame {frame} at {ns} ns");
            for (topic, msgs) in &by_topic {
                let (t, v) = &msgs[k];
                assert_eq!(*t, ns, "{topic}");
                let stamp = if topic == "/tf" {
                    &v["transforms"][0]["timestamp"]
                } else if topic == "/boxes" {
                    &v["deletions"][0]["timestamp"]
                } else {
                    &v["timestamp"]
                };
                let s = stamp["sec"].as_u64().unwrap() * 1_000_000_000
                    + stamp["nsec"].as_u64().unwrap();
                assert_eq!(s, ns, "{topic} timestamp");
            }

            // Points: the KITTI point, its firing time and its label word, per point.
            let pc = &by_topic["/lidar/points"][k].1;
            assert_eq!(pc["point_stride"], 24);
            let data = unbase64(pc["data"].as_str().unwrap());
            let bin = std::fs::read(out.join(format!("training/velodyne/{n}.bin"))).unwrap();
            let times =
                std::fs::read(out.join(format!("training/velodyne_times/{n}.times"))).unwrap();
            let labels =
                std::fs::read(out.join(format!("training/velodyne_labels/{n}.label"))).unwrap();
            assert!(!bin.is_empty());
            assert_eq!(data.len(), bin.len() / 16 * 24);
            for (i, p) in data.chunks_exact(24).enumerate() {
                assert_eq!(&p[..16], &bin[i * 16..i * 16 + 16]);
                assert_eq!(&p[16..20], &times[i * 4..i * 4 + 4]);
                assert_eq!(&p[20..24], &labels[i * 4..i * 4 + 4]);
            }
            let fields: Vec<(String, u64, u64)> = pc["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f["name"].as_str().unwrap().to_string(),
                        f["offset"].as_u64().unwrap(),
                        f["type"].as_u64().unwrap(),
                    )
                })
                .collect();
            assert_eq!(
                fields[..4].iter().map(|f| f.1).collect::<Vec<_>>(),
                [0, 4, 8, 12]
            );
            assert_eq!(fields[5], ("label".to_string(), 20, 3));

            // The image is the PNG on disk.
            let img = &by_topic["/camera_2/image"][k].1;
            assert_eq!(img["format"], "png");
            assert_eq!(
                unbase64(img["data"].as_str().unwrap()),
                std::fs::read(out.join(format!("training/image_2/{n}.png"))).unwrap()
            );

            // Poses: world → base_link → camera_2 is the record's camera pose; the lidar's
            // and the camera's transforms give the calib file's Tr_velo_to_cam; the
            // calibration gives its P2.
            let tf: BTreeMap<String, Affine3A> = by_topic["/tf"][k].1["transforms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| {
                    (
                        t["child_frame_id"].as_str().unwrap().to_string(),
                        Affine3A::from_rotation_translation(
                            quat(&t["rotation"]),
                            vec3(&t["translation"]),
                        ),
                    )
                })
                .collect();
            let pose: Vec<f32> = record["pose"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            let world_from_camera = tf["base_link"] * tf["camera_2"];
            assert!(
                world_from_camera.abs_diff_eq(
                    verisim::abi::affine_from_rows(&pose[..12].try_into().unwrap()),
                    1e-3
                ),
                "frame {frame}: {world_from_camera:?} vs {pose:?}"
            );
            let calib =
                std::fs::read_to_string(out.join(format!("training/calib/{n}.txt"))).unwrap();
            let tr = verisim::abi::affine_from_rows(
                &calib_row(&calib, "Tr_velo_to_cam")[..12]
                    .try_into()
                    .unwrap(),
            );
            assert!((tf["camera_2"].inverse() * tf["lidar"]).abs_diff_eq(tr, 1e-3));
            let cal = &by_topic["/camera_2/calibration"][k].1;
            let p: Vec<f32> = cal["P"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            for (a, b) in p.iter().zip(calib_row(&calib, "P2")) {
                assert!((a - b).abs() < 1e-3 * b.abs().max(1.0), "{p:?}");
            }

            // Boxes: one cube per label_2 object, at its place, size and heading.
            let label =
                std::fs::read_to_string(out.join(format!("training/label_2/{n}.txt"))).unwrap();
            let objects: Vec<Vec<&str>> = label
                .lines()
                .map(|l| l.split(' ').collect::<Vec<_>>())
                .filter(|f| f[0] != "DontCare")
                .collect();
            let su = &by_topic["/boxes"][k].1;
            assert_eq!(su["deletions"][0]["type"], 1);
            let entities = su["entities"].as_array().unwrap();
            assert_eq!(entities.len(), objects.len(), "frame {frame}");
            for (e, f) in entities.iter().zip(&objects) {
                let v: Vec<f32> = f[8..15].iter().map(|t| t.parse().unwrap()).collect();
                let (h, w, l) = (v[0], v[1], v[2]);
                let bottom = Vec3::new(v[3], v[4], v[5]);
                let cube = &e["cubes"][0];
                assert_eq!(e["frame_id"], "camera_2");
                assert_eq!(e["metadata"][0]["value"], f[0]);
                let size = vec3(&cube["size"]);
                assert!(
                    size.abs_diff_eq(Vec3::new(l, h, w), 0.006),
                    "{size} vs {f:?}"
                );
                let centre = vec3(&cube["pose"]["position"]);
                assert!(
                    centre.abs_diff_eq(bottom - Vec3::Y * h / 2.0, 0.011),
                    "{centre} vs {f:?}"
                );
                let q = quat(&cube["pose"]["orientation"]);
                // The rotation is about y only; its angle is KITTI's rotation_y.
                assert!(q.x.abs() < 1e-6 && q.z.abs() < 1e-6, "{q}");
                let ry = 2.0 * q.y.atan2(q.w);
                let d = (ry - v[6] + std::f32::consts::PI).rem_euclid(std::f32::consts::TAU)
                    - std::f32::consts::PI;
                assert!(d.abs() < 0.006, "ry {ry} vs {}", v[6]);
                boxes_seen += 1;
            }
        }
    }
    assert!(
        boxes_seen >= 5,
        "only {boxes_seen} boxes: the test checks too little"
    );
}

#[test]
#[cfg_attr(
    verisim_no_py_mcap,
    ignore = "needs python3 with the `mcap` reader (pip install mcap): none was found at build time"
)]
fn mcap_files_read_with_the_python_mcap_reader() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    render_mcap(&out);
    let script = r#"
import base64, glob, json, os, struct, sys
from collections import Counter
from mcap.reader import make_reader
out = sys.argv[1]
frames = {f["frame"]: f["time_s"] for f in json.load(open(os.path.join(out, "manifest.json")))["vs:frames"]}
files = sorted(glob.glob(os.path.join(out, "mcap", "*.mcap")))
assert len(files) == 5, files
total = 0
for e, path in enumerate(files):
    with open(path, "rb") as f:
        r = make_reader(f)
        s = r.get_summary()
        assert s.statistics.message_count == 10, s.statistics
        assert sorted(x.name for x in s.schemas.values()) == sorted([
            "foxglove.FrameTransforms", "foxglove.PointCloud", "foxglove.CompressedImage",
            "foxglove.CameraCalibration", "foxglove.SceneUpdate"]), s.schemas
        for x in s.schemas.values():
            assert x.encoding == "jsonschema" and json.loads(x.data)["title"] == x.name
        meta = [m for m in r.iter_metadata()]
        assert meta[0].name == "verisim" and meta[0].metadata["episode"] == str(e), meta
        counts = Counter()
        for schema, channel, msg in r.iter_messages(log_time_order=True):
            counts[channel.topic] += 1
            k = counts[channel.topic] - 1
            assert msg.log_time == round(frames[2 * e + k] * 1e9), (channel.topic, msg.log_time)
            m = json.loads(msg.data)
            if channel.topic == "/lidar/points":
                data = base64.b64decode(m["data"])
                n = len(data) // m["point_stride"]
                bin_ = open(os.path.join(out, "training/velodyne/%06d.bin" % (2 * e + k)), "rb").read()
                assert n == len(bin_) // 16 and n > 0
                x, y, z, i, t, label, inst = struct.unpack_from("<5f2H", data, 0)
                assert (x, y, z, i) == struct.unpack_from("<4f", bin_, 0)
            total += 1
        assert set(counts.values()) == {2}, counts
print(total)
"#;
    let stdout = crate::common::run_python("python3", &["-c", script, out.to_str().unwrap()]);
    assert_eq!(stdout.trim(), "50");
}
