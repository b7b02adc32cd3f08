//! The command line end to end: render the smoke scene, read every file back with independent
//! parsers, determinism, and a corpus of broken scenarios.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common;

const BIN: &str = env!("CARGO_BIN_EXE_verisim");

fn verisim(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run verisim")
}

/// Makes a FIFO at `path`.
fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo reads a valid NUL-terminated path and touches no memory of ours.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn render_smoke(dir: &Path, extra: &[&str]) {
    let out = dir.to_str().unwrap();
    let mut args = vec![
        "render",
        "scenes/smoke.ron",
        "--out",
        out,
        "--backend",
        "cpu",
        "-q",
    ];
    args.extend_from_slice(extra);
    let o = verisim(&args);
    assert!(o.status.success(), "render failed: {}", stderr(&o));
}

#[test]
fn smoke_render_writes_parseable_kitti_files() {
    let tmp = tempfile::tempdir().unwrap();
    render_smoke(tmp.path(), &[]);
    let split = tmp.path().join("training");
    for f in 0..3 {
        let name = format!("{f:06}");
        // velodyne: N x 4 float32; labels: one uint32 per point.
        let bin = std::fs::read(split.join("velodyne").join(format!("{name}.bin"))).unwrap();
        assert_eq!(bin.len() % 16, 0);
        let n = bin.len() / 16;
        assert!(n > 1000, "{n} points");
        let labels =
            std::fs::read(split.join("velodyne_labels").join(format!("{name}.label"))).unwrap();
        assert_eq!(labels.len(), 4 * n, "one label per point");
        for p in bin.chunks_exact(16) {
            let v: Vec<f32> = p
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            assert!(v.iter().all(|x| x.is_finite()));
            assert!((0.0..=1.0).contains(&v[3]), "intensity {}", v[3]);
            let r = (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
            assert!(r <= 100.0 + 1e-3, "range {r} beyond max_range_m");
        }
        // calib: KITTI keys with 12 or 9 numbers.
        let calib =
            std::fs::read_to_string(split.join("calib").join(format!("{name}.txt"))).unwrap();
        for (key, count) in [
            ("P0", 12),
            ("P1", 12),
            ("P2", 12),
            ("P3", 12),
            ("R0_rect", 9),
            ("Tr_velo_to_cam", 12),
            ("Tr_imu_to_velo", 12),
        ] {
            let line = calib
                .lines()
                .find(|l| l.starts_with(&format!("{key}:")))
                .unwrap_or_else(|| panic!("{key} missing"));
            let nums: Vec<f64> = line
                .split_whitespace()
                .skip(1)
                .map(|t| t.parse().unwrap())
                .collect();
            assert_eq!(nums.len(), count, "{key}");
        }
        // label_2: 15 fields, known types.
        let label =
            std::fs::read_to_string(split.join("label_2").join(format!("{name}.txt"))).unwrap();
        assert!(label.lines().count() >= 1);
        for line in label.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            assert_eq!(fields.len(), 15, "{line}");
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
                .contains(&fields[0])
            );
            for f in &fields[1..] {
                f.parse::<f64>().unwrap();
            }
        }
        // Images decode with the right sizes and bit depths.
        let img = image::open(split.join("image_2").join(format!("{name}.png"))).unwrap();
        assert_eq!((img.width(), img.height()), (320, 120));
        assert!(matches!(img, image::DynamicImage::ImageRgb8(_)));
        let depth = image::open(split.join("depth_2").join(format!("{name}.png"))).unwrap();
        assert!(matches!(depth, image::DynamicImage::ImageLuma16(_)));
        let inst = image::open(split.join("instance_2").join(format!("{name}.png"))).unwrap();
        assert!(matches!(inst, image::DynamicImage::ImageLuma16(_)));
        let sem = image::open(split.join("semantic_2").join(format!("{name}.png")))
            .unwrap()
            .to_luma8();
        assert!(
            sem.pixels()
                .all(|p| (p.0[0] as usize) < verisim::classes::CLASSES.len())
        );
    }
    assert!(tmp.path().join("manifest.json").is_file());
    assert!(tmp.path().join("scenario.ron").is_file());
    // No temporary files are left behind.
    assert!(
        files_under(tmp.path()).iter().all(|p| !p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .contains(".tmp"))
    );
}

#[test]
fn same_scenario_and_seed_give_identical_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    render_smoke(a.path(), &[]);
    render_smoke(b.path(), &[]);
    // The manifest and the session log hold times and hosts (provenance); the rest is data.
    let data = |d: &Path| -> Vec<PathBuf> {
        files_under(d)
            .into_iter()
            .filter(|p| !p.ends_with("manifest.json") && !p.ends_with(".verisim/sessions.json"))
            .collect()
    };
    let fa = data(a.path());
    let fb = data(b.path());
    assert_eq!(fa.len(), fb.len());
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(
            x.strip_prefix(a.path()).unwrap(),
            y.strip_prefix(b.path()).unwrap()
        );
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{} differs",
            x.display()
        );
    }
}

#[test]
fn a_different_seed_moves_the_roadside() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    render_smoke(a.path(), &[]);
    render_smoke(b.path(), &["--set", "run.seed=99"]);
    let read = |d: &Path| std::fs::read(d.join("training/velodyne/000000.bin")).unwrap();
    assert_ne!(read(a.path()), read(b.path()));
}

#[test]
fn resume_skips_finished_frames_and_refuses_a_used_dir_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    render_smoke(tmp.path(), &["--frames", "2"]);
    let o = verisim(&[
        "render",
        "scenes/smoke.ron",
        "--out",
        tmp.path().to_str().unwrap(),
        "--backend",
        "cpu",
        "-q",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    let o = verisim(&[
        "render",
        "scenes/smoke.ron",
        "--out",
        tmp.path().to_str().unwrap(),
        "--backend",
        "cpu",
        "-q",
        "--resume",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("1 frames rendered (2 skipped)"),
        "{}",
        stderr(&o)
    );
}

/// Broken scenarios: (description, file text or override, expected text in the message).
#[test]
fn broken_scenarios_fail_cleanly_with_line_and_column() {
    let good =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/smoke.ron"))
            .unwrap();
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "syntax error",
            good.replacen("name: \"smoke\",", "name: \"smoke\"", 1),
            "smoke.ron:",
        ),
        (
            "unknown field",
            good.replacen("seed: 1", "seed: 1, sed: 2", 1),
            "sed",
        ),
        (
            "NaN",
            good.replacen(
                "sun_elevation_deg: 45.0",
                "sun_elevation_deg: 45.0, rain_mm_per_h: NaN",
                1,
            ),
            "weather.rain_mm_per_h",
        ),
        (
            "negative rate",
            good.replacen(
                "sun_elevation_deg: 45.0",
                "sun_elevation_deg: 45.0, snow_mm_per_h: -3.0",
                1,
            ),
            "weather.snow_mm_per_h",
        ),
        (
            "zero-size image",
            good.replacen("width: 320", "width: 0", 1),
            "rig.cameras[0].width",
        ),
        (
            "absurd image",
            good.replacen("height: 120", "height: 20000", 1),
            "rig.cameras[0].height",
        ),
        (
            "too many channels",
            good.replacen("channels: 16", "channels: 1000", 1),
            "rig.lidars[0].channels",
        ),
        (
            "zero frames",
            good.replacen("frames: 3", "frames: 0", 1),
            "run.frames",
        ),
        (
            "unknown material",
            good.replacen("Some(\"paint_red\")", "Some(\"unobtainium\")", 1),
            "actors[0].material",
        ),
        (
            "bad range order",
            good.replacen(
                "max_range_m: 100.0",
                "max_range_m: 100.0, min_range_m: 150.0",
                1,
            ),
            "max_range_m",
        ),
    ];
    for (what, text, expected) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("smoke.ron");
        std::fs::write(&file, &text).unwrap();
        let out_dir = tmp.path().join("out");
        let o = verisim(&[
            "render",
            file.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
            "--backend",
            "cpu",
            "-q",
        ]);
        let err = stderr(&o);
        assert!(!o.status.success(), "{what}: accepted");
        assert!(!err.contains("panicked"), "{what}: panic: {err}");
        assert!(
            err.contains(expected),
            "{what}: message lacks `{expected}`: {err}"
        );
        // file:line:col
        let re_ok = err.contains(&format!("{}:", file.display()))
            && err
                .split(&format!("{}:", file.display()))
                .nth(1)
                .is_some_and(|rest| {
                    let mut parts = rest.splitn(3, ':');
                    parts.next().is_some_and(|l| l.parse::<u32>().is_ok())
                        && parts.next().is_some_and(|c| c.parse::<u32>().is_ok())
                });
        assert!(re_ok, "{what}: no file:line:col in {err}");
        assert!(!out_dir.exists(), "{what}: output directory was created");
    }
}

/// A syntax error names the field whose value was being read (not `weather.?`) and shows the
/// line with a caret under the offending token.
#[test]
fn syntax_errors_name_the_field_and_point_at_the_token() {
    let good =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/smoke.ron"))
            .unwrap();
    let cases = [
        // A missing comma: the caret is under the next field's name.
        (
            "sun_elevation_deg: 45.0, sun_azimuth_deg",
            "sun_elevation_deg: 45.0 sun_azimuth_deg",
            "weather.sun_elevation_deg: Expected comma",
            "sun_azimuth_deg",
        ),
        // A malformed number: the caret is under its first bad character.
        (
            "sun_elevation_deg: 45.0,",
            "sun_elevation_deg: 4x5.0,",
            "weather.sun_elevation_deg: Expected comma",
            "x5.0",
        ),
        // A decimal where a whole number belongs.
        (
            "(width: 320,",
            "(width: 320.5,",
            "rig.cameras[0].width: Expected comma: this field takes a whole number",
            ".5,",
        ),
        // A field inside a nested struct, after an earlier nested struct closed.
        (
            "pole_spacing_m: 40.0)),",
            "pole_spacing_m: 40.0) oops),",
            "map.roads[0].roadside",
            "oops",
        ),
    ];
    for (from, to, message, token) in cases {
        assert!(good.contains(from), "{from}");
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("bad.ron");
        std::fs::write(&file, good.replacen(from, to, 1)).unwrap();
        let o = verisim(&["validate", file.to_str().unwrap()]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(message), "`{to}`: lacks `{message}`: {err}");
        // The snippet: ` N | line`, then the caret under the token's first character.
        let lines: Vec<&str> = err.lines().collect();
        let k = lines
            .iter()
            .position(|l| l.contains(" | ") && l.contains(to))
            .unwrap_or_else(|| panic!("no source line in {err}"));
        let caret = lines[k + 1].find('^').expect("a caret line");
        assert_eq!(
            lines[k].get(caret..).map(|rest| rest.starts_with(token)),
            Some(true),
            "caret not under `{token}`:\n{}\n{}",
            lines[k],
            lines[k + 1]
        );
    }
}

#[test]
fn bad_overrides_are_rejected() {
    for (set, expected) in [
        ("weather.rain_mm_per_h=-1", "rain_mm_per_h"),
        ("weather.nonsense=1", "nonsense"),
        ("run.frames", "KEY=VALUE"),
        ("rig.cameras.5.width=10", "out of range"),
        // Words that are not the field's type, and `None` for a required field: errors, not
        // the field's default.
        ("weather.rain_mm_per_h=heavy", "expected f32"),
        ("weather.street_lights=on", "unknown variant `on`"),
        ("rig.cameras.0.response=linear", "unknown variant `linear`"),
        ("weather.rain_mm_per_h=None", "is not optional"),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let out_dir = tmp.path().join("out");
        let o = verisim(&[
            "render",
            "scenes/smoke.ron",
            "--out",
            out_dir.to_str().unwrap(),
            "--set",
            set,
            "-q",
        ]);
        assert!(!o.status.success(), "{set} accepted");
        assert!(stderr(&o).contains(expected), "{set}: {}", stderr(&o));
        assert!(!out_dir.exists());
    }
}

#[test]
fn overrides_change_the_resolved_scenario() {
    let o = verisim(&[
        "validate",
        "scenes/smoke.ron",
        "--set",
        "weather.fog_visibility_m=50",
        "--set",
        "run.frames=7",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("fog_visibility_m: Some(50.0)"), "{text}");
    assert!(text.contains("frames: 7"), "{text}");
}

#[test]
fn overrides_apply_to_every_shipped_scene() {
    // Optional fields left out of a scene (e.g. a step-out triggered by distance, with no
    // `at_s`) must stay valid when any override is applied.
    for entry in std::fs::read_dir("scenes").unwrap() {
        let path = entry.unwrap().path();
        let scene = path.to_str().unwrap();
        let o = verisim(&["validate", scene, "--set", "run.frames=2"]);
        assert!(o.status.success(), "{scene}: {}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("frames: 2"), "{scene}: {text}");
    }
}

#[test]
fn export_mesh_writes_a_consistent_ply() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("scene.ply");
    let o = verisim(&[
        "export-mesh",
        "scenes/smoke.ron",
        "--frame",
        "2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let bytes = std::fs::read(&out).unwrap();
    let end = bytes
        .windows(11)
        .position(|w| w == b"end_header\n")
        .unwrap()
        + 11;
    let header = std::str::from_utf8(&bytes[..end]).unwrap();
    let count = |name: &str| -> usize {
        header
            .lines()
            .find(|l| l.starts_with(&format!("element {name} ")))
            .unwrap()
            .split(' ')
            .nth(2)
            .unwrap()
            .parse()
            .unwrap()
    };
    let (v, f) = (count("vertex"), count("face"));
    assert_eq!(v, 3 * f);
    assert_eq!(bytes.len() - end, v * 12 + f * (1 + 12 + 2 + 4));
    // Some faces belong to actors (instance > 0), and the classes are in the table.
    let faces = &bytes[end + v * 12..];
    let mut actors = 0;
    for rec in faces.chunks_exact(19) {
        let class = u16::from_le_bytes([rec[13], rec[14]]);
        let inst = u32::from_le_bytes(rec[15..19].try_into().unwrap());
        assert!((class as usize) < verisim::classes::CLASSES.len());
        actors += usize::from(inst > 0);
    }
    assert!(actors > 0);
}

/// `preview --beside` draws the second dataset's frame under the first, each exactly as
/// `preview` draws it alone, with 8 rows between.
#[test]
fn preview_beside_stacks_two_frames_drawn_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("smoke");
    render_smoke(&data, &["--frames", "2", "--format", "kitti"]);
    let png = |name: &str| tmp.path().join(name);
    let d = data.to_str().unwrap();
    for (frame, name) in [("0", "a.png"), ("1", "b.png")] {
        let o = verisim(&[
            "preview",
            d,
            "--frame",
            frame,
            "--out",
            png(name).to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let o = verisim(&[
        "preview",
        d,
        "--frame",
        "0",
        "--beside",
        d,
        "--beside-frame",
        "1",
        "--out",
        png("ab.png").to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).matches("lidar points").count(),
        2,
        "{}",
        stderr(&o)
    );
    let read = |name: &str| image::open(png(name)).unwrap().to_rgb8();
    let (a, b, ab) = (read("a.png"), read("b.png"), read("ab.png"));
    assert_ne!(a, b, "two frames drew alike");
    assert_eq!(ab.width(), a.width().max(b.width()));
    assert_eq!(ab.height(), a.height() + 8 + b.height());
    let top = image::imageops::crop_imm(&ab, 0, 0, a.width(), a.height()).to_image();
    let bottom =
        image::imageops::crop_imm(&ab, 0, a.height() + 8, b.width(), b.height()).to_image();
    assert!(
        top == a && bottom == b,
        "a half differs from its frame drawn alone"
    );
    // --beside-frame without --beside is a usage error.
    let o = verisim(&[
        "preview",
        d,
        "--beside-frame",
        "1",
        "--out",
        png("x.png").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(!png("x.png").exists());
}

#[test]
fn classes_prints_the_table() {
    let o = verisim(&["classes"]);
    assert!(o.status.success());
    let csv = String::from_utf8_lossy(&o.stdout);
    assert!(csv.starts_with("id,name,kitti_type,cityscapes_id,semantic_kitti_id"));
    assert!(csv.contains("14,car,Car,26,10"));
}

fn render_smoke_with(out: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.args(["render", "scenes/smoke.ron", "--out"])
        .arg(out)
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run verisim")
}

/// In a log (stderr not a terminal) `auto` prints plain progress lines, `lines` the same, and
/// `json` one parseable event per line on stdout ending with the summary.
#[test]
fn progress_reaches_logs_as_lines_or_json() {
    let tmp = tempfile::tempdir().unwrap();
    for mode in ["auto", "lines"] {
        let out = tmp.path().join(mode);
        let o = render_smoke_with(
            &out,
            &[
                "--backend",
                "cpu",
                "--progress",
                mode,
                "--progress-interval",
                "0",
            ],
            &[],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let err = stderr(&o);
        for k in 1..=3 {
            assert!(
                err.contains(&format!("verisim: {k}/3 frames (")),
                "--progress {mode}: no line for frame {k} in\n{err}"
            );
        }
        assert!(
            err.contains("MB written") && err.contains("frames/s, ETA"),
            "{err}"
        );
    }
    // The default interval (10 s) prints no line for a run of a second.
    let o = render_smoke_with(&tmp.path().join("quiet"), &["--backend", "cpu"], &[]);
    assert!(!stderr(&o).contains("/3 frames ("), "{}", stderr(&o));

    let out = tmp.path().join("json");
    let o = render_smoke_with(
        &out,
        &[
            "--backend",
            "cpu",
            "--progress",
            "json",
            "--progress-interval",
            "0",
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let done: Vec<u64> = events
        .iter()
        .filter(|e| e["event"] == "progress")
        .map(|e| e["frames_done"].as_u64().unwrap())
        .collect();
    assert_eq!(done, [1, 2, 3]);
    let summary = events.last().unwrap();
    assert_eq!(summary["event"], "summary");
    assert_eq!(summary["frames_rendered"], 3);
    // The bytes the summary reports are the dataset's frame files, as the manifest lists them.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let listed: u64 = manifest["distribution"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["contentSize"].as_str())
        .filter_map(|s| s.trim_end_matches(" B").parse::<u64>().ok())
        .sum();
    let reported = summary["bytes_written"].as_u64().unwrap();
    assert!(
        reported > 0 && reported <= listed,
        "{reported} of {listed} bytes"
    );
}

/// A backend that cannot start (here: no Vulkan driver at all) fails before anything is
/// written, says what to do, and prints no EGL/GL probing noise.
#[test]
fn a_gpu_that_cannot_start_leaves_out_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("ds");
    let o = render_smoke_with(
        &out,
        &["--backend", "gpu", "-q"],
        &[
            ("VK_DRIVER_FILES", "/nonexistent/icd.json"),
            ("VK_ICD_FILENAMES", "/nonexistent/icd.json"),
        ],
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("no usable GPU adapter") && err.contains("--backend cpu"),
        "{err}"
    );
    assert!(!err.contains("XDG_RUNTIME_DIR"), "{err}");
    assert!(!out.exists(), "a failed start wrote {}", out.display());
    // So the same --out takes a plain render at once.
    let o = render_smoke_with(&out, &["--backend", "cpu", "-q"], &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_missing_scene_says_its_cause_once() {
    let o = verisim(&[
        "render",
        "scenes/no_such_scene.ron",
        "--out",
        "/tmp/never-written",
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("No such file").count(), 1, "{err}");
    assert!(err.contains("scenes/no_such_scene.ron"), "{err}");
}

/// `auto` takes a hardware adapter when one exists and otherwise the CPU backend, never a
/// software adapter; `gpu` takes the software one with a warning that the CPU is faster.
#[test]
#[cfg_attr(
    verisim_no_gpu,
    ignore = "needs a GPU adapter: the build found no Vulkan driver (VERISIM_REQUIRE_GPU=1 makes this a failure)"
)]
fn auto_never_takes_a_software_adapter_and_gpu_warns_on_one() {
    let adapters: Vec<_> = verisim::backend::gpu::enumerate_adapters()
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert!(
        !adapters.is_empty(),
        "the build found a Vulkan driver, wgpu no adapter"
    );
    let hardware = adapters.iter().find(|a| !a.is_software());
    let tmp = tempfile::tempdir().unwrap();
    let o = render_smoke_with(
        &tmp.path().join("auto"),
        &["-q"],
        &[("VERISIM_ADAPTER", "")],
    );
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    match hardware {
        Some(h) => assert!(err.contains(&format!("backend: gpu: {}", h.name)), "{err}"),
        None => {
            assert!(
                err.contains("backend: cpu (no hardware GPU adapter (found"),
                "{err}"
            );
            assert!(err.contains("rendered (0 skipped) on cpu"), "{err}");
            let o = render_smoke_with(
                &tmp.path().join("gpu"),
                &["-q", "--backend", "gpu"],
                &[("VERISIM_ADAPTER", "")],
            );
            let err = stderr(&o);
            assert!(o.status.success(), "{err}");
            assert!(
                err.contains("is a software adapter") && err.contains("--backend cpu"),
                "{err}"
            );
            assert!(err.contains("rendered (0 skipped) on gpu:"), "{err}");
        }
    }
    assert!(!err.contains("XDG_RUNTIME_DIR"), "{err}");
}

/// Renders the smoke scene's first `frames` frames into `out` and stops it with `signals`
/// (sent 50 ms apart) once at least 3 frames are on disk; returns its exit code and stderr.
fn render_and_signal(out: &Path, frames: u32, signals: &[i32]) -> (Option<i32>, String) {
    let frames = frames.to_string();
    let child = spawn_verisim(&[
        "render",
        "scenes/smoke.ron",
        "--backend",
        "cpu",
        "-q",
        "--frames",
        &frames,
        "--out",
        out.to_str().unwrap(),
    ]);
    let labels = out.join("training/label_2");
    let start = std::time::Instant::now();
    while std::fs::read_dir(&labels).map_or(0, |d| d.count()) < 3 {
        assert!(
            start.elapsed().as_secs() < 120,
            "no frame written in 2 minutes"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    for (k, &sig) in signals.iter().enumerate() {
        if k > 0 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
    }
    finish_within(child, 120, "a signalled render")
}

/// SIGINT and SIGTERM finish the frames in flight, record the session as stopped, print the
/// command that finishes the run and exit 130 / 143; that command, run as printed, completes a
/// dataset identical to one rendered without a stop. A second signal exits at once, and
/// `--resume` still completes the run.
#[test]
fn a_signal_stops_a_render_cleanly_and_the_printed_command_finishes_it() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    render_smoke(&whole, &["--frames", "300"]);
    for (sig, code, name) in [
        (libc::SIGINT, 130, "SIGINT"),
        (libc::SIGTERM, 143, "SIGTERM"),
    ] {
        let out = tmp.path().join(name);
        let (got, err) = render_and_signal(&out, 300, &[sig]);
        assert_eq!(got, Some(code), "{name}: {err}");
        assert!(err.contains(&format!("stopped by {name}")), "{err}");
        // The session is recorded as stopped, with the frames it finished.
        let sessions: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join(".verisim/sessions.json")).unwrap())
                .unwrap();
        assert_eq!(sessions[0]["stopped_by"], name, "{sessions}");
        assert!(sessions[0]["finished"].is_null(), "{sessions}");
        let done = sessions[0]["frames_rendered"].as_u64().unwrap();
        assert!((3..300).contains(&done), "{done} frames before the stop");
        // Every frame it counts is on disk and sound: verify flags the run as unfinished only.
        let labels = std::fs::read_dir(out.join("training/label_2"))
            .unwrap()
            .count();
        assert_eq!(
            labels as u64, done,
            "{name}: label files vs frames recorded"
        );
        // The advice, run as printed.
        let cmd = err
            .lines()
            .skip_while(|l| !l.contains("To finish the run"))
            .nth(1)
            .unwrap_or_else(|| panic!("no command printed: {err}"))
            .trim()
            .to_string();
        assert!(cmd.ends_with("--resume"), "{cmd}");
        let o = Command::new("bash")
            .args(["-c", &cmd])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap();
        assert!(o.status.success(), "`{cmd}`: {}", stderr(&o));
        common::assert_same_dataset(&whole, &out);
        let m = common::manifest(&out);
        let listed = m["vs:provenance"]["sessions"].as_array().unwrap().len();
        assert_eq!(listed, 2, "the stopped session is listed: {m}");
    }
    // Two signals: the second exits at once; what was written is still resumable.
    let out = tmp.path().join("twice");
    let (got, err) = render_and_signal(&out, 300, &[libc::SIGINT, libc::SIGINT]);
    assert_eq!(got, Some(130), "{err}");
    render_smoke(&out, &["--frames", "300", "--resume"]);
    common::assert_same_dataset(&whole, &out);
}

/// Outputs replace only regular files (one write path, `files::write_with`, serves every
/// command): `export-mesh` and `simulate` refuse an `--out`
/// that is a symbolic link or a FIFO and leave it as it was; `render` refuses an `--out` that is
/// a FIFO or a file, naming what it is.
#[test]
fn outputs_never_replace_links_fifos_or_devices() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("precious.txt");
    std::fs::write(&target, b"keep").unwrap();
    let link = tmp.path().join("link.ply");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let fifo = tmp.path().join("fifo");
    mkfifo(&fifo);
    for (out, kind) in [(&link, "a symbolic link"), (&fifo, "a FIFO")] {
        let o_s = out.to_str().unwrap();
        for args in [
            vec!["export-mesh", "scenes/smoke.ron", "--out", o_s],
            vec![
                "simulate",
                "scenes/smoke.ron",
                "--frames",
                "2",
                "--out",
                o_s,
            ],
        ] {
            let o = verisim(&args);
            let err = stderr(&o);
            assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
            assert!(
                err.contains(o_s) && err.contains(kind) && err.contains("refusing"),
                "{args:?}: {err}"
            );
        }
        let o = verisim(&["render", "scenes/smoke.ron", "--frames", "1", "--out", o_s]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains("not a directory"), "{err}");
    }
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(
        &std::fs::symlink_metadata(&fifo).unwrap().file_type()
    ));
    let o = verisim(&[
        "render",
        "scenes/smoke.ron",
        "--frames",
        "1",
        "--out",
        target.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("a regular file, not a directory"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
}

/// verisim started with `args` in the repository, its stderr piped.
fn spawn_verisim(args: &[&str]) -> std::process::Child {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for `child`, failing the test (and killing it) if it has not exited within `secs`
/// (a FIFO read or an ignored signal would wait forever); returns its exit code and stderr.
fn finish_within(mut child: std::process::Child, secs: u64, what: &str) -> (Option<i32>, String) {
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed().as_secs() >= secs {
            let _ = child.kill();
            panic!("{what} still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let o = child.wait_with_output().unwrap();
    (o.status.code(), stderr(&o))
}

/// verisim with `args`, which must exit within 20 s.
fn verisim_within_20s(args: &[&str]) -> (Option<i32>, String) {
    finish_within(spawn_verisim(args), 20, &format!("{args:?}"))
}

/// Inputs are stat'ed before they are read: a scenario that is a FIFO or /dev/zero, and a 2 GB
/// sparse lidar file given to `check`, are refused at once with what they are, exit 2.
#[test]
fn fifos_devices_and_huge_inputs_are_refused_before_reading() {
    let tmp = tempfile::tempdir().unwrap();
    let fifo = tmp.path().join("scene.ron");
    mkfifo(&fifo);
    let out = tmp.path().join("out");
    for (scene, what) in [
        (fifo.to_str().unwrap(), "a FIFO, not a regular file"),
        ("/dev/zero", "a device, not a regular file"),
    ] {
        for args in [
            vec!["validate", scene],
            vec!["render", scene, "--out", out.to_str().unwrap()],
        ] {
            let (code, err) = verisim_within_20s(&args);
            assert_eq!(code, Some(2), "{args:?}: {err}");
            assert!(err.contains(scene) && err.contains(what), "{args:?}: {err}");
        }
    }
    assert!(!out.exists());
    let big = tmp.path().join("000000.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let small = tmp.path().join("000001.bin");
    std::fs::write(&small, [0u8; 160]).unwrap();
    let (code, err) = verisim_within_20s(&[
        "check",
        big.to_str().unwrap(),
        "--real",
        small.to_str().unwrap(),
        "--out",
        tmp.path().join("rep").to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("000000.bin") && err.contains("2147483648 bytes"),
        "{err}"
    );
}
