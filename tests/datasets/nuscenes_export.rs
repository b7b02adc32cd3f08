//! `--format nuscenes` read back: the tables against each other and against the KITTI files
//! of the same run, and by the official nuscenes-devkit (loaded as users load it).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn table(root: &Path, name: &str) -> Vec<Value> {
    let p = root.join(format!("nuscenes/v1.0-verisim/{name}.json"));
    serde_json::from_slice::<Value>(&std::fs::read(&p).unwrap())
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn render_plain(out: &Path) {
    let o = Command::new(env!("CARGO_BIN_EXE_verisim"))
        .args(["render", "scenes/smoke.ron", "--out"])
        .arg(out)
        .args([
            "--backend",
            "cpu",
            "--frames",
            "10",
            "--format",
            "nuscenes",
            "-q",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn nuscenes_tables_link_up_and_match_the_kitti_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // Five episodes of two frames: five scenes; at the smoke scene's 10 Hz, keyframes every
    // 5 frames, so each scene holds one sample and one sweep per sensor.
    super::formats::render_episodes(&out, &["--format", "nuscenes"]);
    let o = Command::new(env!("CARGO_BIN_EXE_verisim"))
        .arg("verify")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    let tables: BTreeMap<&str, Vec<Value>> = verisim::export::nuscenes::TABLES
        .into_iter()
        .map(|t| (t, table(&out, t)))
        .collect();
    let tokens = |t: &str| -> BTreeSet<String> {
        tables[t]
            .iter()
            .map(|r| r["token"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(tables["scene"].len(), 5);
    assert_eq!(tables["sample"].len(), 5);
    assert_eq!(
        tables["sample_data"].len(),
        10 * 2,
        "two sensors, ten frames"
    );
    assert_eq!(tables["ego_pose"].len(), 10);
    // Every foreign key resolves.
    for (t, key, target) in [
        ("sample_data", "sample_token", "sample"),
        ("sample_data", "ego_pose_token", "ego_pose"),
        (
            "sample_data",
            "calibrated_sensor_token",
            "calibrated_sensor",
        ),
        ("calibrated_sensor", "sensor_token", "sensor"),
        ("sample", "scene_token", "scene"),
        ("scene", "log_token", "log"),
        ("sample_annotation", "sample_token", "sample"),
        ("sample_annotation", "instance_token", "instance"),
        ("sample_annotation", "visibility_token", "visibility"),
        ("instance", "category_token", "category"),
    ] {
        let have = tokens(target);
        for r in &tables[t] {
            let k = r[key].as_str().unwrap();
            assert!(have.contains(k), "{t}.{key} = {k} is no {target}");
        }
    }
    let anns = &tables["sample_annotation"];
    assert!(anns.len() >= 5, "{} annotations", anns.len());
    for a in anns {
        assert!(a["num_lidar_pts"].as_u64().unwrap() > 0 || a["visibility_token"] != "1");
        let q: Vec<f64> = a["rotation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!((q.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-5);
    }
    // Keyframes: samples/ with is_key_frame, the rest sweeps/.
    for sd in &tables["sample_data"] {
        let f = sd["filename"].as_str().unwrap();
        assert_eq!(
            sd["is_key_frame"].as_bool().unwrap(),
            f.starts_with("samples/"),
            "{f}"
        );
        assert!(out.join("nuscenes").join(f).is_file(), "{f}");
    }
    // The sweeps hold the KITTI points: x, y, z equal, intensity × 255, a ring within 16 beams.
    let kitti = std::fs::read(out.join("training/velodyne/000000.bin")).unwrap();
    let lidar0 = tables["sample_data"]
        .iter()
        .find(|sd| {
            sd["filename"]
                .as_str()
                .unwrap()
                .starts_with("samples/LIDAR_TOP/scene-0000__")
        })
        .unwrap();
    let pcd = std::fs::read(
        out.join("nuscenes")
            .join(lidar0["filename"].as_str().unwrap()),
    )
    .unwrap();
    assert_eq!(pcd.len() / 20, kitti.len() / 16);
    let f32s = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    };
    for (p, k) in f32s(&pcd).chunks_exact(5).zip(f32s(&kitti).chunks_exact(4)) {
        assert_eq!(&p[..3], &k[..3]);
        assert!((p[3] - 255.0 * k[3]).abs() < 1e-3);
        assert!(
            p[4] >= 0.0 && p[4] < 16.0 && p[4].fract() == 0.0,
            "ring {}",
            p[4]
        );
    }
    // The map mask: the road under every ego pose is drivable (nuScenes' MapMask: 0.1 m per
    // pixel, row 0 at the top).
    let map = &tables["map"][0];
    let mask = image::open(out.join("nuscenes").join(map["filename"].as_str().unwrap()))
        .unwrap()
        .to_luma8();
    for e in &tables["ego_pose"] {
        let t: Vec<f64> = e["translation"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert!(
            t[0] > 0.0 && t[1] > 0.0,
            "global coordinates are positive: {t:?}"
        );
        let (x, y) = ((t[0] / 0.1) as u32, (t[1] / 0.1) as u32);
        assert_eq!(
            mask.get_pixel(x, mask.height() - 1 - y).0[0],
            255,
            "ego at {t:?}"
        );
    }
    // The road returns reach well beyond the ego's own 3 m squares (31² pixels; every episode
    // starts where the first did).
    let drivable = mask.pixels().filter(|p| p.0[0] == 255).count();
    assert!(drivable > 4 * 31 * 31, "{drivable} drivable pixels");
    assert_eq!(
        map["log_tokens"].as_array().unwrap().len(),
        5,
        "every log has the map"
    );
    let splits: Value =
        serde_json::from_slice(&std::fs::read(out.join("nuscenes/splits.json")).unwrap()).unwrap();
    let n: usize = splits
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_array().unwrap().len())
        .sum();
    assert_eq!(n, 5);
}

#[test]
#[cfg_attr(
    verisim_no_nuscenes_devkit,
    ignore = "needs the nuScenes devkit (pip install nuscenes-devkit, in its own environment since it pins numpy < 2; VERISIM_NUSCENES_PYTHON names its python): none was found at build time"
)]
fn the_nuscenes_devkit_loads_the_export_and_draws_its_boxes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    render_plain(&out);
    let picture = tmp.path().join("cam_front.png");
    let stdout = crate::common::run_python(
        env!("VERISIM_NUSCENES_PYTHON"),
        &[
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/datasets/scripts/nuscenes_devkit.py"),
            out.join("nuscenes"),
            picture.clone(),
        ],
    );
    let r: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    // Ten frames at 10 Hz: keyframes 0 and 5.
    assert_eq!(r["scenes"], 1);
    assert_eq!(r["samples"], 2);
    assert_eq!(r["sample_data"], 20);
    assert!(r["anns"].as_u64().unwrap() >= 4, "{r}");
    assert!(r["boxes_in_front_camera"].as_u64().unwrap() >= 2, "{r}");
    let img = image::open(&picture).unwrap();
    assert!(img.width() > 300 && img.height() > 100);
}
