//! Datasets a team can trust: `verify` finds damage by path, SIGKILL at random moments and
//! `--resume` end with the bytes of an uninterrupted run, shards merge into the unsharded run,
//! a full disk leaves a resumable directory, expired datasets warn and manifests from a newer
//! verisim are refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::common;
use common::{assert_same_dataset, files_under, manifest};

const BIN: &str = env!("CARGO_BIN_EXE_verisim");

fn verisim(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run verisim")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn render_args<'a>(dir: &'a str, frames: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec![
        "render",
        "scenes/smoke.ron",
        "--out",
        dir,
        "--backend",
        "cpu",
        "--frames",
        frames,
        "-q",
    ];
    a.extend_from_slice(extra);
    a
}

fn render(dir: &Path, frames: u32, extra: &[&str]) {
    let f = frames.to_string();
    let o = verisim(&render_args(dir.to_str().unwrap(), &f, extra));
    assert!(o.status.success(), "render failed: {}", text(&o));
}

fn verify_ok(dir: &Path) {
    let o = verisim(&["verify", dir.to_str().unwrap()]);
    assert!(o.status.success(), "verify: {}", text(&o));
}

#[test]
fn verify_finds_each_kind_of_damage_by_path() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    render(d, 2, &[]);
    verify_ok(d);

    let flipped = "training/image_2/000000.png";
    let truncated = "training/velodyne/000001.bin";
    let missing = "training/calib/000000.txt";
    let extra = "training/label_2/000009.txt";
    let mut bytes = std::fs::read(d.join(flipped)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(d.join(flipped), bytes).unwrap();
    let bin = std::fs::read(d.join(truncated)).unwrap();
    std::fs::write(d.join(truncated), &bin[..bin.len() - 16]).unwrap();
    std::fs::remove_file(d.join(missing)).unwrap();
    std::fs::write(d.join(extra), "Car 0 0 0 1 1 2 2 1 1 1 0 0 5 0\n").unwrap();

    let o = verisim(&["verify", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let line = |path: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{path}: ")))
            .unwrap_or_else(|| panic!("{path} not reported in:\n{out}"))
            .to_string()
    };
    assert!(line(flipped).contains("sha256"), "{out}");
    assert!(line(truncated).contains("size"), "{out}");
    assert!(line(missing).contains("missing"), "{out}");
    assert!(line(extra).contains("extra"), "{out}");
    // The SemanticKITTI view's link to the truncated file shows the damage too.
    let view = line("sequences/00/velodyne/000001.bin");
    assert!(
        view.contains("size") && view.contains("a link to ../../../training/velodyne/000001.bin"),
        "{out}"
    );
    assert_eq!(out.lines().count(), 5, "exactly the five problems:\n{out}");
}

#[test]
fn expired_datasets_warn_and_future_manifests_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    render(d, 1, &["--set", "dataset.expires=Some(\"2001-02-03\")"]);
    let o = verisim(&["verify", d.to_str().unwrap()]);
    assert!(o.status.success(), "expiry is a warning: {}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning") && err.contains("expired on 2001-02-03"),
        "{err}"
    );

    let mut m = manifest(d);
    m["vs:manifestSchema"] = 2.into();
    std::fs::write(d.join("manifest.json"), serde_json::to_vec(&m).unwrap()).unwrap();
    let o = verisim(&["verify", d.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("schema 2") && err.contains("newer") && err.contains("upgrade"),
        "{err}"
    );

    // A dataset that does not expire yet gives no warning; a bad date is refused up front.
    let o = verisim(&render_args(
        tmp.path().join("bad").to_str().unwrap(),
        "1",
        &["--set", "dataset.expires=Some(\"2030-02-30\")"],
    ));
    assert!(!o.status.success());
    assert!(text(&o).contains("dataset.expires"), "{}", text(&o));
}

/// A deterministic sequence of delays (an LCG from a fixed seed).
fn delays_ms(n: usize, seed: u64, max_ms: u64) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % max_ms
        })
        .collect()
}

#[test]
fn sigkill_at_random_moments_then_resume_equals_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    render(&whole, 12, &[]);
    let start = std::time::Instant::now();
    render(&tmp.path().join("timing"), 12, &[]);
    let run_ms = start.elapsed().as_millis() as u64;

    let killed = tmp.path().join("killed");
    let dir = killed.to_str().unwrap().to_string();
    let (mut kills, mut finished_early) = (0, 0);
    // Short delays (up to a quarter of a whole run) until a run finishes on its own: each kill
    // lands somewhere in startup, rendering, writing or the manifest.
    for delay in delays_ms(80, 0x5eed, (run_ms / 4).max(10)) {
        let mut child = Command::new(BIN)
            .args(render_args(&dir, "12", &["--resume"]))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success());
                finished_early += 1;
                break;
            }
            None => {
                child.kill().unwrap(); // SIGKILL on Unix
                child.wait().unwrap();
                kills += 1;
            }
        }
    }
    eprintln!(
        "{kills} kills, {finished_early} runs finished before their kill (run ≈ {run_ms} ms)"
    );
    assert!(
        kills >= 5,
        "too few kills landed ({kills}); the run is too fast to test"
    );
    let o = verisim(&render_args(&dir, "12", &["--resume"]));
    assert!(o.status.success(), "{}", text(&o));
    verify_ok(&killed);
    assert_same_dataset(&whole, &killed);
    let sessions: Vec<Value> =
        serde_json::from_slice(&std::fs::read(killed.join(".verisim/sessions.json")).unwrap())
            .unwrap();
    assert!(
        sessions.len() > finished_early,
        "the sessions that finished are recorded"
    );
}

#[test]
fn merging_three_shards_equals_the_unsharded_run() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    // Every format, the MCAP episodes and the nuScenes tables included (assembled from the
    // merged records).
    let formats = ["--format", "kitti,semantic-kitti,coco,mcap,nuscenes"];
    render(&whole, 7, &formats);
    let shards: Vec<PathBuf> = (0..3)
        .map(|i| tmp.path().join(format!("shard{i}")))
        .collect();
    for (i, s) in shards.iter().enumerate() {
        let shard = format!("{i}/3");
        render(s, 7, &[formats[0], formats[1], "--shard", &shard]);
        verify_ok(s);
        let frames = manifest(s)["vs:frames"].as_array().unwrap().len();
        assert_eq!(frames, (0..7).filter(|f| f % 3 == i).count());
    }
    let merged = tmp.path().join("merged");
    let mut args = vec!["merge"];
    let names: Vec<String> = shards
        .iter()
        .rev()
        .map(|s| s.display().to_string())
        .collect();
    args.extend(names.iter().map(String::as_str));
    let out = merged.display().to_string();
    args.extend(["--out", &out]);
    let o = verisim(&args);
    assert!(o.status.success(), "{}", text(&o));
    verify_ok(&merged);
    assert_same_dataset(&whole, &merged);
    assert_eq!(
        manifest(&merged)["vs:provenance"]["sessions"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // A missing shard and a duplicated one are refused by name.
    let o = verisim(&[
        "merge",
        &names[0],
        &names[1],
        "--out",
        tmp.path().join("m2").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("shard 0/3 is missing"), "{}", text(&o));
    let o = verisim(&[
        "merge",
        &names[0],
        &names[1],
        &names[0],
        "--out",
        tmp.path().join("m3").to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    assert!(text(&o).contains("again"), "{}", text(&o));
}

#[test]
fn resume_refuses_a_directory_of_another_scenario() {
    let tmp = tempfile::tempdir().unwrap();
    render(tmp.path(), 1, &[]);
    let o = verisim(&render_args(
        tmp.path().to_str().unwrap(),
        "2",
        &["--resume", "--set", "run.seed=5"],
    ));
    assert!(!o.status.success());
    assert!(text(&o).contains("cannot resume here"), "{}", text(&o));
    // The SemanticKITTI view stays as it was started: linked, not copies.
    let o = verisim(&render_args(
        tmp.path().to_str().unwrap(),
        "2",
        &["--resume", "--copy-views"],
    ));
    assert!(!o.status.success());
    assert!(
        text(&o).contains("view's files differ (linked vs copies (--copy-views))"),
        "{}",
        text(&o)
    );
    // More frames on the same scenario is fine: the finished ones are kept.
    let o = verisim(&render_args(
        tmp.path().to_str().unwrap(),
        "2",
        &["--resume"],
    ));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("1 frames rendered (1 skipped)"),
        "{}",
        text(&o)
    );
}

/// Unmounts a tmpfs when dropped.
struct Mount(PathBuf);
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
#[cfg_attr(
    verisim_no_mount,
    ignore = "needs root to mount a small tmpfs (the build ran as another user)"
)]
fn a_full_disk_fails_clearly_leaves_nothing_corrupt_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=600k", "tmpfs"])
        .arg(&small)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        mounted,
        "cannot mount a small tmpfs at {} although running as root (a container without \
         CAP_SYS_ADMIN?)",
        small.display()
    );
    let _guard = Mount(small.clone());
    let out = small.join("ds");
    let o = verisim(&render_args(out.to_str().unwrap(), "12", &[]));
    assert!(!o.status.success(), "12 frames do not fit in 600 kB");
    let msg = text(&o);
    assert!(
        msg.contains("out of disk space") && msg.contains("--resume"),
        "{msg}"
    );
    // No temporary files, and every finished frame is whole.
    assert!(
        files_under(&out).iter().all(|p| !p
            .file_name()
            .unwrap()
            .to_string_lossy()
            .contains(".tmp")),
        "temporary files left: {:?}",
        files_under(&out)
    );
    let o = verisim(&["verify", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("incomplete"), "{}", text(&o));
    // Commands without --resume give advice they can follow.
    let mesh = small.join("scene.ply");
    let o = verisim(&[
        "export-mesh",
        "scenes/smoke.ron",
        "--out",
        mesh.to_str().unwrap(),
    ]);
    let msg = text(&o);
    assert_eq!(o.status.code(), Some(2), "{msg}");
    assert!(
        msg.contains("out of disk space")
            && msg.contains("run the same command again")
            && !msg.contains("--resume"),
        "{msg}"
    );
    assert!(!mesh.exists());
    // Move it where there is room and resume: the same dataset as an uninterrupted run.
    let moved = tmp.path().join("moved");
    let status = Command::new("cp")
        .arg("-a")
        .arg(&out)
        .arg(&moved)
        .status()
        .unwrap();
    assert!(status.success());
    let o = verisim(&render_args(moved.to_str().unwrap(), "12", &["--resume"]));
    assert!(o.status.success(), "{}", text(&o));
    let whole = tmp.path().join("whole");
    render(&whole, 12, &[]);
    verify_ok(&moved);
    assert_same_dataset(&whole, &moved);
}

/// Two runs never share an output directory: while a render holds it, a second render, a
/// `--resume` and a `merge` into it are refused by name, and the first run's dataset is whole.
#[test]
fn a_directory_in_use_is_refused_to_a_second_run() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let out_s = out.to_str().unwrap();
    let first = Command::new(BIN)
        .args(render_args(out_s, "400", &["--set", "run.seed=5"]))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The run configuration is written under the lock.
    let started = std::time::Instant::now();
    while !out.join(".verisim/run.json").exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first render did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = verisim(&render_args(out_s, "400", &["--set", "run.seed=6"]));
    let resumed = verisim(&render_args(
        out_s,
        "400",
        &["--set", "run.seed=5", "--resume"],
    ));
    let finished = first.wait_with_output().unwrap();
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    for (what, o) in [("a second render", &second), ("--resume", &resumed)] {
        assert!(
            !o.status.success(),
            "{what} into a directory in use was accepted"
        );
        // Refused by the lock, or (had the first run ended already) as not empty.
        let t = text(o);
        assert!(
            t.contains("in use by another verisim process") || t.contains("not empty"),
            "{what}: {t}"
        );
    }
    assert!(
        text(&second).contains("in use by another verisim process"),
        "{}",
        text(&second)
    );
    let v = verisim(&["verify", out_s]);
    assert!(v.status.success(), "{}", text(&v));
    assert_eq!(
        manifest(&out)["vs:frames"].as_array().map(|a| a.len()),
        Some(400),
        "the first run's frames, all of them"
    );
}

/// A record whose file entry leaves the dataset (`../`, or an absolute path) is refused by
/// `merge`, naming the record and the entry, and nothing is written outside `--out`.
#[test]
fn merge_refuses_record_paths_that_leave_the_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let shards: Vec<PathBuf> = (0..2).map(|i| tmp.path().join(format!("s{i}"))).collect();
    for (i, s) in shards.iter().enumerate() {
        render(s, 2, &["--shard", &format!("{i}/2")]);
    }
    let record = shards[0].join(".verisim/frames/000000.json");
    let original = std::fs::read_to_string(&record).unwrap();
    let first: Value = serde_json::from_str(&original).unwrap();
    let entry = first["files"][0]["path"].as_str().unwrap().to_owned();
    // A file outside the shards with the size and checksum the record will claim.
    let victim = tmp.path().join("victim.txt");
    let bytes = std::fs::read(shards[0].join(&entry)).unwrap();
    std::fs::write(&victim, &bytes).unwrap();
    let sha = verisim::export::dataset::sha256_hex(&bytes);
    let absolute = victim.display().to_string();
    for bad in ["../victim.txt".to_string(), absolute] {
        let mut edited = first.clone();
        edited["files"][0]["path"] = Value::String(bad.clone());
        edited["files"][0]["sha256"] = Value::String(sha.clone());
        std::fs::write(&record, serde_json::to_vec(&edited).unwrap()).unwrap();
        let merged = tmp.path().join("merged");
        let _ = std::fs::remove_dir_all(&merged);
        let before = std::fs::metadata(&victim).unwrap().modified().unwrap();
        let o = verisim(&[
            "merge",
            shards[0].to_str().unwrap(),
            shards[1].to_str().unwrap(),
            "--out",
            merged.to_str().unwrap(),
        ]);
        let t = text(&o);
        assert!(!o.status.success(), "{bad}: merge accepted it");
        assert!(t.contains("000000.json") && t.contains(&bad), "{bad}: {t}");
        assert_eq!(
            std::fs::metadata(&victim).unwrap().modified().unwrap(),
            before
        );
        assert!(!tmp.path().join("victim.txt.tmp").exists());
    }
    std::fs::write(&record, original).unwrap();
}

/// A start killed while it wrote its first file (`kill -9`, a full disk) leaves the lock and a
/// temporary in `.verisim/`: a plain render and a `--resume` both take the directory as empty,
/// clear the temporary and give the dataset of an uninterrupted run.
#[test]
fn a_start_killed_before_its_first_file_leaves_a_usable_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    render(&whole, 3, &[]);
    for extra in [&[][..], &["--resume"][..]] {
        let out = tmp.path().join(format!("killed{}", extra.len()));
        let meta = out.join(".verisim");
        std::fs::create_dir_all(&meta).unwrap();
        std::fs::write(meta.join("lock"), b"render by process 1 on vm\n").unwrap();
        std::fs::write(meta.join(".run.json.tmp4242"), b"{\"version\":").unwrap();
        let o = verisim(&render_args(out.to_str().unwrap(), "3", extra));
        assert!(o.status.success(), "{extra:?}: {}", text(&o));
        assert!(!meta.join(".run.json.tmp4242").exists());
        verify_ok(&out);
        assert_same_dataset(&whole, &out);
    }
}

/// Links to directories inside a dataset are never followed: a link back up the tree is one
/// problem for `verify` (not thousands, nor a hang), and `render --resume` neither loops nor
/// removes temporary-looking files outside the dataset through a link.
#[cfg(unix)]
#[test]
fn directory_links_in_a_dataset_are_not_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    render(&out, 2, &[]);
    std::os::unix::fs::symlink("..", out.join("training/up")).unwrap();
    let outside = tmp.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join(".notes.txt.tmp42"), b"keep me").unwrap();
    std::os::unix::fs::symlink(&outside, out.join("training/elsewhere")).unwrap();

    let start = std::time::Instant::now();
    let o = verisim(&["verify", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let report = text(&o);
    assert!(start.elapsed() < Duration::from_secs(20));
    assert!(
        report.contains("2 problem(s)"),
        "one problem per link: {report}"
    );
    assert!(
        report
            .contains("training/up: extra entry: a symbolic link to .. (a directory, not entered)"),
        "{report}"
    );

    let o = verisim(&render_args(out.to_str().unwrap(), "2", &["--resume"]));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        outside.join(".notes.txt.tmp42").exists(),
        "a file outside the dataset was removed through a link"
    );
}
