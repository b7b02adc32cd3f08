//! The dataset formats read back with parsers written here, independently of the writers:
//! KITTI label and calib lines, SemanticKITTI label counts against point counts, poses and
//! calib, COCO JSON against the spec (unique ids, bboxes inside images, RLE decoding to the
//! instance mask), the manifest's Croissant fields and provenance, and `--format`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_verisim");

fn verisim(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run verisim")
}

fn render(dir: &Path, extra: &[&str]) {
    let mut args = vec![
        "render",
        "scenes/smoke.ron",
        "--out",
        dir.to_str().unwrap(),
        "--backend",
        "cpu",
        "-q",
    ];
    args.extend_from_slice(extra);
    let o = verisim(&args);
    assert!(
        o.status.success(),
        "render failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn numbers(s: &str) -> Vec<f64> {
    s.split_whitespace()
        .map(|t| {
            t.parse::<f64>()
                .unwrap_or_else(|_| panic!("`{t}` is not a number"))
        })
        .collect()
}

/// Decodes an uncompressed COCO RLE (column-major runs, background first) into a row-major
/// mask of `h x w`.
fn decode_rle(counts: &[u64], h: usize, w: usize) -> Vec<bool> {
    let mut col_major = Vec::with_capacity(h * w);
    for (i, &c) in counts.iter().enumerate() {
        col_major.extend(std::iter::repeat_n(i % 2 == 1, c as usize));
    }
    assert_eq!(col_major.len(), h * w, "RLE covers the whole image");
    let mut mask = vec![false; h * w];
    for x in 0..w {
        for y in 0..h {
            mask[y * w + x] = col_major[x * h + y];
        }
    }
    mask
}

#[test]
fn every_format_parses_with_independent_readers() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    render(d, &["--frames", "3"]);

    // KITTI: every label and calib line.
    for f in 0..3 {
        let n = format!("{f:06}");
        let calib = std::fs::read_to_string(d.join(format!("training/calib/{n}.txt"))).unwrap();
        let keys: Vec<(&str, usize)> = calib
            .lines()
            .map(|l| {
                let (k, v) = l.split_once(':').unwrap();
                (k, numbers(v).len())
            })
            .collect();
        assert_eq!(
            keys,
            vec![
                ("P0", 12),
                ("P1", 12),
                ("P2", 12),
                ("P3", 12),
                ("R0_rect", 9),
                ("Tr_velo_to_cam", 12),
                ("Tr_imu_to_velo", 12)
            ]
        );
        let label = std::fs::read_to_string(d.join(format!("training/label_2/{n}.txt"))).unwrap();
        // DontCare regions come after every object, as in KITTI's files (OpenPCDet indexes
        // the per-object arrays by the objects before the first DontCare).
        let types: Vec<&str> = label
            .lines()
            .map(|l| l.split(' ').next().unwrap())
            .collect();
        if let Some(first) = types.iter().position(|t| *t == "DontCare") {
            assert!(
                types[first..].iter().all(|t| *t == "DontCare"),
                "an object after a DontCare line in {n}.txt: {types:?}"
            );
        }
        for line in label.lines() {
            let (ty, rest) = line.split_once(' ').unwrap();
            assert!(
                [
                    "Car",
                    "Van",
                    "Truck",
                    "Pedestrian",
                    "Cyclist",
                    "Misc",
                    "DontCare"
                ]
                .contains(&ty),
                "{line}"
            );
            let v = numbers(rest);
            assert_eq!(v.len(), 14, "{line}");
            if ty != "DontCare" {
                assert!((0.0..=1.0).contains(&v[0]), "truncation {line}");
                assert!([0.0, 1.0, 2.0, 3.0].contains(&v[1]), "occlusion {line}");
                assert!(v[3] <= v[5] && v[4] <= v[6], "bbox {line}");
                assert!(v[7] > 0.0 && v[8] > 0.0 && v[9] > 0.0, "dimensions {line}");
            }
        }
    }

    // SemanticKITTI: one label per point, same bytes as the KITTI velodyne, poses/times/calib.
    let seq = d.join("sequences/00");
    for f in 0..3 {
        let n = format!("{f:06}");
        // With KITTI written too, the view's files are relative links to the KITTI files.
        #[cfg(unix)]
        for (view, kitti) in [
            (format!("velodyne/{n}.bin"), format!("velodyne/{n}.bin")),
            (
                format!("labels/{n}.label"),
                format!("velodyne_labels/{n}.label"),
            ),
        ] {
            assert_eq!(
                std::fs::read_link(seq.join(&view)).unwrap(),
                Path::new("../../../training").join(kitti),
                "{view}"
            );
        }
        let bin = std::fs::read(seq.join(format!("velodyne/{n}.bin"))).unwrap();
        let lab = std::fs::read(seq.join(format!("labels/{n}.label"))).unwrap();
        assert_eq!(bin.len() % 16, 0);
        assert_eq!(lab.len() / 4, bin.len() / 16, "frame {f}: labels = points");
        assert!(bin.len() / 16 > 1000);
        assert_eq!(
            bin,
            std::fs::read(d.join(format!("training/velodyne/{n}.bin"))).unwrap()
        );
        let known: BTreeSet<u16> = [
            0, 10, 13, 18, 20, 30, 31, 40, 48, 50, 52, 60, 70, 71, 72, 80, 81, 99, 110, 111, 112,
        ]
        .into_iter()
        .collect();
        for l in lab.chunks_exact(4) {
            let v = u32::from_le_bytes(l.try_into().unwrap());
            assert!(
                known.contains(&((v & 0xFFFF) as u16)),
                "label {}",
                v & 0xFFFF
            );
        }
    }
    let poses = std::fs::read_to_string(seq.join("poses.txt")).unwrap();
    let rows: Vec<Vec<f64>> = poses.lines().map(numbers).collect();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r.len() == 12));
    let identity = [1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    for (a, b) in rows[0].iter().zip(identity) {
        assert!(
            (a - b).abs() < 1e-5,
            "first pose is the identity: {:?}",
            rows[0]
        );
    }
    // The ego drives forward at 5 m/s and 10 Hz: 0.5 m per frame along the camera's z.
    assert!((rows[1][11] - 0.5).abs() < 0.05, "{:?}", rows[1]);
    assert!((rows[2][11] - 1.0).abs() < 0.05, "{:?}", rows[2]);
    let times: Vec<f64> = std::fs::read_to_string(seq.join("times.txt"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    assert_eq!(times.len(), 3);
    assert!((times[1] - times[0] - 0.1).abs() < 1e-6);
    let calib = std::fs::read_to_string(seq.join("calib.txt")).unwrap();
    let keys: Vec<&str> = calib
        .lines()
        .map(|l| l.split(':').next().unwrap())
        .collect();
    assert_eq!(keys, ["P0", "P1", "P2", "P3", "Tr"]);

    // COCO against the spec.
    let coco: Value =
        serde_json::from_slice(&std::fs::read(d.join("coco/instances.json")).unwrap()).unwrap();
    let images = coco["images"].as_array().unwrap();
    assert_eq!(images.len(), 3);
    let mut image_size = BTreeMap::new();
    for i in images {
        let id = i["id"].as_u64().unwrap();
        let file = d.join(i["file_name"].as_str().unwrap());
        let img = image::open(&file).unwrap();
        assert_eq!(
            (img.width() as u64, img.height() as u64),
            (i["width"].as_u64().unwrap(), i["height"].as_u64().unwrap())
        );
        assert!(
            image_size
                .insert(
                    id,
                    (
                        i["width"].as_u64().unwrap(),
                        i["height"].as_u64().unwrap(),
                        file
                    )
                )
                .is_none(),
            "image ids unique"
        );
    }
    let cats: BTreeSet<u64> = coco["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            assert!(c["name"].is_string() && c["supercategory"].is_string());
            c["id"].as_u64().unwrap()
        })
        .collect();
    let anns = coco["annotations"].as_array().unwrap();
    assert!(
        anns.len() >= 3,
        "the smoke scene shows cars and a pedestrian"
    );
    let mut ann_ids = BTreeSet::new();
    for a in anns {
        assert!(
            ann_ids.insert(a["id"].as_u64().unwrap()),
            "annotation ids unique"
        );
        assert!(cats.contains(&a["category_id"].as_u64().unwrap()));
        assert_eq!(a["iscrowd"], 0);
        let (w, h, file) = &image_size[&a["image_id"].as_u64().unwrap()];
        let b: Vec<f64> = a["bbox"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert!(b[0] >= 0.0 && b[1] >= 0.0 && b[2] > 0.0 && b[3] > 0.0);
        assert!(
            b[0] + b[2] <= *w as f64 && b[1] + b[3] <= *h as f64,
            "bbox {b:?} inside {w}x{h}"
        );
        let seg = &a["segmentation"];
        assert_eq!(seg["size"], serde_json::json!([h, w]));
        let counts: Vec<u64> = seg["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_u64().unwrap())
            .collect();
        let mask = decode_rle(&counts, *h as usize, *w as usize);
        let area = mask.iter().filter(|&&m| m).count() as u64;
        assert_eq!(area, a["area"].as_u64().unwrap(), "RLE decodes to the area");
        // The mask is exactly the instance's pixels in instance_2 (same frame as the image).
        let inst_path = file.to_string_lossy().replace("image_2", "instance_2");
        let inst = image::open(&inst_path).unwrap().to_luma16();
        let want = a["instance_id"].as_u64().unwrap() as u16;
        for (i, p) in inst.pixels().enumerate() {
            assert_eq!(mask[i], p.0[0] == want, "pixel {i} of instance {want}");
        }
        // And the bbox is the mask's extent.
        let xs: Vec<usize> = (0..mask.len())
            .filter(|&i| mask[i])
            .map(|i| i % *w as usize)
            .collect();
        let ys: Vec<usize> = (0..mask.len())
            .filter(|&i| mask[i])
            .map(|i| i / *w as usize)
            .collect();
        assert_eq!(b[0] as usize, *xs.iter().min().unwrap());
        assert_eq!(b[1] as usize, *ys.iter().min().unwrap());
        assert_eq!((b[0] + b[2]) as usize - 1, *xs.iter().max().unwrap());
        assert_eq!((b[1] + b[3]) as usize - 1, *ys.iter().max().unwrap());
    }

    // Manifest: Croissant fields, a checksum for every file, provenance.
    let m: Value =
        serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["@type"], "sc:Dataset");
    assert_eq!(m["conformsTo"], "http://mlcommons.org/croissant/1.0");
    for k in [
        "name",
        "description",
        "license",
        "url",
        "version",
        "dateCreated",
        "datePublished",
    ] {
        assert!(m[k].is_string(), "{k}");
    }
    assert!(m["creator"]["name"].is_string());
    let dist = m["distribution"].as_array().unwrap();
    for e in dist {
        let p = e["contentUrl"].as_str().unwrap();
        let bytes = std::fs::read(d.join(p)).unwrap();
        use sha2::Digest;
        assert_eq!(
            e["sha256"].as_str().unwrap(),
            format!("{:x}", sha2::Sha256::digest(&bytes)),
            "{p}"
        );
        assert_eq!(e["@type"], "cr:FileObject");
    }
    // 3 frames x (calib, 4 PNGs, label, plane, velodyne, labels, times, weather summary,
    // + 2 SemanticKITTI) + 3 SemanticKITTI aggregates + its YAML + 4 ImageSets + COCO + 2
    // scenario copies.
    assert_eq!(dist.len(), 3 * 13 + 3 + 1 + 4 + 1 + 2);
    let prov = &m["vs:provenance"];
    assert_eq!(prov["generator"]["name"], "verisim");
    assert!(prov["generator"]["gitCommit"].as_str().unwrap().len() >= 7);
    assert_eq!(
        prov["scenario"]["overrides"],
        serde_json::json!(["run.frames=3"])
    );
    let copy = std::fs::read(d.join(prov["scenario"]["copy"].as_str().unwrap())).unwrap();
    assert_eq!(
        copy,
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/smoke.ron")).unwrap()
    );
    use sha2::Digest;
    assert_eq!(
        prov["scenario"]["sha256"].as_str().unwrap(),
        format!("{:x}", sha2::Sha256::digest(&copy))
    );
    assert_eq!(prov["seeds"]["scenario"], 1);
    assert!(prov["startTime"].is_string() && prov["endTime"].is_string());
    assert!(
        prov["sessions"][0]["backend"]
            .as_str()
            .unwrap()
            .contains("cpu")
    );
    assert!(prov["hosts"].as_array().unwrap().len() == 1);
    assert_eq!(m["vs:frames"].as_array().unwrap().len(), 3);
    assert_eq!(m["vs:policy"]["tier"], "unrated");
}

#[test]
fn format_chooses_what_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    render(d, &["--frames", "1", "--format", "coco"]);
    assert!(d.join("coco/instances.json").is_file());
    assert!(d.join("training/image_2/000000.png").is_file());
    assert!(!d.join("training/velodyne").join("000000.bin").exists());
    assert!(!d.join("sequences").join("00/velodyne/000000.bin").exists());
    let o = verisim(&["verify", d.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    render(d, &["--frames", "1", "--format", "semantic-kitti"]);
    assert!(d.join("sequences/00/velodyne/000000.bin").is_file());
    // Without KITTI the view's files are the only copies: files, not links.
    for view in ["velodyne/000000.bin", "labels/000000.label"] {
        let m = std::fs::symlink_metadata(d.join("sequences/00").join(view)).unwrap();
        assert!(m.is_file(), "{view}");
    }
    assert!(d.join("sequences/00/poses.txt").is_file());
    assert!(!d.join("training/image_2/000000.png").exists());
    assert!(!d.join("coco/instances.json").exists());
    let o = verisim(&["verify", d.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    // `--copy-views`: the view's files are copies of the KITTI files.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    render(d, &["--frames", "1", "--copy-views"]);
    for (view, kitti) in [
        ("velodyne/000000.bin", "velodyne/000000.bin"),
        ("labels/000000.label", "velodyne_labels/000000.label"),
    ] {
        let v = d.join("sequences/00").join(view);
        assert!(std::fs::symlink_metadata(&v).unwrap().is_file(), "{view}");
        assert_eq!(
            std::fs::read(&v).unwrap(),
            std::fs::read(d.join("training").join(kitti)).unwrap()
        );
    }
    let o = verisim(&["verify", d.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn variations_draw_per_episode_and_are_recorded() {
    let scene =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/smoke.ron"))
            .unwrap();
    let swept = scene.replacen(
        "    run: (",
        r#"    variations: Some((
        episode_frames: 2,
        params: [
            (set: "weather.sun_elevation_deg", values: Grid(["-30.0", "60.0"])),
            (set: "actors.0.material", values: Choice([("Some(\"paint_blue\")", 1.0), ("Some(\"paint_black\")", 1.0)])),
            (set: "weather.rain_mm_per_h", values: Uniform(lo: 0.0, hi: 5.0)),
            (set: "actors.1.kind", values: Choice([("Van", 1.0)])),
        ],
        rare: [(name: "dense fog", weight: 0.5, sets: ["weather.fog_visibility_m=Some(25.0)"])],
    )),
    run: ("#,
        1,
    );
    let tmp = tempfile::tempdir().unwrap();
    let scene_path = tmp.path().join("swept.ron");
    std::fs::write(&scene_path, swept).unwrap();
    let out = tmp.path().join("out");
    let o = verisim(&[
        "render",
        scene_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
        "--frames",
        "6",
        "-q",
        "--format",
        "kitti,semantic-kitti",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let frames = m["vs:frames"].as_array().unwrap();
    // Each episode is its own SemanticKITTI sequence, numbered from 000000, whose poses start
    // at the identity and whose points are the KITTI view's points of the same frame.
    for e in 0..3u32 {
        let seq = out.join(format!("sequences/{e:02}"));
        for local in 0..2u32 {
            let global = 2 * e + local;
            assert_eq!(
                std::fs::read(seq.join(format!("velodyne/{local:06}.bin"))).unwrap(),
                std::fs::read(out.join(format!("training/velodyne/{global:06}.bin"))).unwrap(),
                "sequence {e} frame {local} is run frame {global}"
            );
            assert!(seq.join(format!("labels/{local:06}.label")).is_file());
        }
        assert!(!seq.join("velodyne/000002.bin").exists());
        let poses = std::fs::read_to_string(seq.join("poses.txt")).unwrap();
        let rows: Vec<Vec<f64>> = poses.lines().map(numbers).collect();
        assert_eq!(rows.len(), 2, "{poses}");
        assert_eq!(
            rows[0],
            vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        );
        let times = std::fs::read_to_string(seq.join("times.txt")).unwrap();
        assert_eq!(numbers(&times)[0], 0.0, "each sequence's time starts at 0");
        assert!(seq.join("calib.txt").is_file());
    }
    assert!(!out.join("sequences/03").exists());
    let draws: Vec<&Value> = frames.iter().map(|f| &f["variation"]).collect();
    // Frames 0,1 share episode 0, 2,3 episode 1, 4,5 episode 2; the grid alternates.
    for e in 0..3 {
        assert_eq!(draws[2 * e], draws[2 * e + 1]);
        assert_eq!(draws[2 * e]["episode"], e as u64);
        let sun = draws[2 * e]["sets"][0].as_str().unwrap();
        assert_eq!(
            sun,
            if e % 2 == 0 {
                "weather.sun_elevation_deg=-30.0"
            } else {
                "weather.sun_elevation_deg=60.0"
            }
        );
    }
    // Night frames are darker than day frames.
    let mean = |f: u32| {
        let img = image::open(out.join(format!("training/image_2/{f:06}.png")))
            .unwrap()
            .to_rgb8();
        img.pixels()
            .map(|p| p.0.iter().map(|&c| c as f64).sum::<f64>())
            .sum::<f64>()
            / img.pixels().len() as f64
    };
    assert!(mean(0) < mean(2), "night {} vs day {}", mean(0), mean(2));
    // The episode's time restarts; the frame seeds still follow the global frame index.
    let seeds: BTreeSet<u64> = frames.iter().map(|f| f["seed"].as_u64().unwrap()).collect();
    assert_eq!(seeds.len(), 6);
    assert_eq!(frames[2]["time_s"], frames[0]["time_s"]);
    let o = verisim(&["verify", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));

    // A variation that breaks the schema fails before rendering, naming the assignment.
    let bad = std::fs::read_to_string(&scene_path).unwrap().replace(
        "hi: 5.0",
        "hi: 5.0)), (set: \"weather.cloud_cover\", values: Grid([\"3.0\"]",
    );
    std::fs::write(&scene_path, bad).unwrap();
    let o = verisim(&[
        "render",
        scene_path.to_str().unwrap(),
        "--out",
        tmp.path().join("bad").to_str().unwrap(),
        "--backend",
        "cpu",
        "-q",
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("weather.cloud_cover"), "{err}");
}

/// The smoke scene cut into five episodes of two frames, rendered with `extra` arguments.
pub(crate) fn render_episodes(out: &Path, extra: &[&str]) {
    let scene =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/smoke.ron"))
            .unwrap();
    let swept = scene.replacen(
        "    run: (",
        "    variations: Some((episode_frames: 2, params: [(set: \"weather.sun_elevation_deg\", values: Uniform(lo: 20.0, hi: 60.0))])),\n    run: (",
        1,
    );
    let scene_path = out.with_extension("ron");
    std::fs::write(&scene_path, swept).unwrap();
    let mut args = vec![
        "render",
        scene_path.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
        "--frames",
        "10",
        "-q",
    ];
    args.extend_from_slice(extra);
    let o = verisim(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn ids(path: &Path) -> Vec<u32> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            assert_eq!(l.len(), 6, "{}: `{l}`", path.display());
            l.parse().unwrap()
        })
        .collect()
}

/// What OpenPCDet's `kitti_dataset.py` and mmdetection3d's KITTI converter read, held here
/// (their code is not run: neither installs without a GPU): `ImageSets/<split>.txt` of
/// six-digit ids of `training/` frames; for each, calib, velodyne, image_2, label_2 (objects
/// before DontCare) and `planes/` whose fourth line is the road plane (`get_road_plane` flips
/// it to b < 0 and normalises it).
#[test]
fn kitti_splits_and_planes_follow_the_trainers_conventions() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    render_episodes(
        &out,
        &[
            "--set",
            "dataset.splits.train=0.6",
            "--set",
            "dataset.splits.val=0.2",
            "--set",
            "dataset.splits.test=0.2",
        ],
    );
    let sets = out.join("ImageSets");
    let (train, val, test) = (
        ids(&sets.join("train.txt")),
        ids(&sets.join("val.txt")),
        ids(&sets.join("test.txt")),
    );
    // 5 episodes: 3, 1 and 1, whole.
    assert_eq!((train.len(), val.len(), test.len()), (6, 2, 2));
    let mut all = [train.clone(), val.clone(), test.clone()].concat();
    all.sort_unstable();
    assert_eq!(all, (0..10).collect::<Vec<_>>());
    let mut trainval = [train.clone(), val.clone()].concat();
    trainval.sort_unstable();
    assert_eq!(ids(&sets.join("trainval.txt")), trainval);
    for set in [&train, &val, &test] {
        for f in set.iter() {
            assert!(set.contains(&(f ^ 1)), "episode of frame {f} is split");
        }
    }
    let t = out.join("training");
    for f in 0..10u32 {
        for (folder, ext) in [
            ("calib", "txt"),
            ("velodyne", "bin"),
            ("image_2", "png"),
            ("label_2", "txt"),
            ("planes", "txt"),
        ] {
            assert!(
                t.join(format!("{folder}/{f:06}.{ext}")).is_file(),
                "{folder} {f}"
            );
        }
        let text = std::fs::read_to_string(t.join(format!("planes/{f:06}.txt"))).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(&lines[..3], &["# Plane", "Width 4", "Height 1"]);
        let mut p = numbers(lines[3]);
        assert_eq!(p.len(), 4);
        if p[1] > 0.0 {
            p.iter_mut().for_each(|v| *v = -*v);
        }
        let norm = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2]).sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "written unit: {norm}");
        // The smoke camera is mounted 1.6 m above the ego's wheels, looking level.
        assert!(
            (p[1] + 1.0).abs() < 1e-4 && (p[3] - 1.6).abs() < 1e-4,
            "{p:?}"
        );
        // Labels against the plane: every vehicle's box bottom (location y, camera frame)
        // stands on it.
        for line in std::fs::read_to_string(t.join(format!("label_2/{f:06}.txt")))
            .unwrap()
            .lines()
            .filter(|l| l.starts_with("Car") || l.starts_with("Van"))
        {
            let v = numbers(line.split_once(' ').unwrap().1);
            let (x, y, z) = (v[10], v[11], v[12]);
            let off = p[0] * x + p[1] * y + p[2] * z + p[3];
            assert!(off.abs() < 0.05, "frame {f}: {line}: {off} m off the plane");
        }
    }
    // The manifest lists the new files, and verify checks them.
    let m: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let listed = m.to_string();
    for p in [
        "ImageSets/train.txt",
        "training/planes/000009.txt",
        "semantic-kitti.yaml",
    ] {
        assert!(listed.contains(p), "{p} not in the manifest");
    }
    let o = verisim(&["verify", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
#[cfg_attr(
    verisim_no_pyyaml,
    ignore = "needs python3 with PyYAML (SemanticKITTI's tools read their label configuration with it): none was found at build time"
)]
fn semantic_kitti_yaml_loads_with_pyyaml_and_maps_every_label() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    // A lidar with a detection threshold (an ideal one has no weather returns) in dense fog.
    render_episodes(
        &out,
        &[
            "--set",
            "weather.fog_visibility_m=Some(30.0)",
            "--set",
            "rig.lidars.0.detection_range_m=120.0",
        ],
    );
    // Every raw id in the label files (low 16 bits), fog's 110 included.
    let mut raw: BTreeSet<u32> = BTreeSet::new();
    for e in std::fs::read_dir(out.join("training/velodyne_labels")).unwrap() {
        for w in std::fs::read(e.unwrap().path()).unwrap().chunks_exact(4) {
            raw.insert(u32::from_le_bytes([w[0], w[1], w[2], w[3]]) & 0xFFFF);
        }
    }
    assert!(raw.contains(&110), "fog returns expected: {raw:?}");
    let script = r#"
import json, sys, yaml
c = yaml.safe_load(open(sys.argv[1]))
raw = json.loads(sys.argv[2])
for k in ("labels", "color_map", "content", "learning_map", "learning_map_inv", "learning_ignore", "split"):
    assert k in c, k
for r in raw:
    assert r in c["labels"] and r in c["learning_map"] and r in c["color_map"], r
assert c["learning_map"][110] == 0 and c["learning_map"][40] == 9 and c["learning_map"][10] == 1
assert sorted(c["learning_map_inv"]) == list(range(20))
assert all(c["learning_map"][v] == k or k == 0 for k, v in c["learning_map_inv"].items())
assert abs(sum(c["content"].values()) - 1.0) < 1e-6
assert all(len(c["color_map"][k]) == 3 for k in c["labels"])
print(json.dumps(c["split"]))
"#;
    let stdout = crate::common::run_python(
        "python3",
        &[
            "-c",
            script,
            out.join("semantic-kitti.yaml").to_str().unwrap(),
            &serde_json::to_string(&raw).unwrap(),
        ],
    );
    // The YAML's sequences split as ImageSets split the frames (default shares 0.8 / 0.2).
    let split: Value = serde_json::from_str(&stdout).unwrap();
    let seqs = |k: &str| -> Vec<u64> {
        split[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect()
    };
    let frames_of = |s: &[u64]| -> Vec<u32> {
        let mut v: Vec<u32> = s
            .iter()
            .flat_map(|&e| [2 * e as u32, 2 * e as u32 + 1])
            .collect();
        v.sort_unstable();
        v
    };
    assert_eq!(
        frames_of(&seqs("train")),
        ids(&out.join("ImageSets/train.txt"))
    );
    assert_eq!(
        frames_of(&seqs("valid")),
        ids(&out.join("ImageSets/val.txt"))
    );
    assert_eq!((seqs("train").len(), seqs("valid").len()), (4, 1));
}
