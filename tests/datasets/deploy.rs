//! The shipped cluster recipes run as written: the Slurm array script (one process per array
//! task, with the variables Slurm sets) and the Kubernetes Indexed Job (each pod's command with
//! the index the Job controller sets, its volumes mounted under a temporary root), then their
//! merge steps. The merged dataset must verify and equal a single-machine run byte for byte.
//! The backend is the cluster's choice (`gpu` in the recipes); here it is the CPU twin so the
//! test runs anywhere. Scheduling itself (sbatch, kubectl) is not exercised.

use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

use crate::common;
use common::assert_same_dataset;

const BIN: &str = env!("CARGO_BIN_EXE_verisim");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A directory holding a `verisim` executable, for PATH.
fn bin_dir(tmp: &Path) -> PathBuf {
    let d = tmp.join("bin");
    std::fs::create_dir_all(&d).unwrap();
    std::os::unix::fs::symlink(BIN, d.join("verisim")).unwrap();
    d
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

fn run_ok(cmd: &mut Command, what: &str) {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn reference(tmp: &Path, scene: &Path) -> PathBuf {
    let whole = tmp.join("whole");
    run_ok(
        Command::new(BIN).current_dir(ROOT).args([
            "render",
            scene.to_str().unwrap(),
            "--out",
            whole.to_str().unwrap(),
            "--backend",
            "cpu",
            "-q",
        ]),
        "unsharded render",
    );
    whole
}

#[test]
fn the_slurm_array_and_merge_scripts_produce_the_unsharded_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = bin_dir(tmp.path());
    let out = tmp.path().join("qs");
    let scene = Path::new(ROOT).join("scenes/smoke.ron");
    let tasks = 3;
    // Tasks in an arbitrary order, as a scheduler runs them; one task runs twice (a requeue
    // after preemption resumes a finished shard without changing it).
    for id in [2, 0, 1, 0] {
        run_ok(
            Command::new("bash")
                .current_dir(ROOT)
                .arg("deploy/slurm_array.sh")
                .arg(&scene)
                .arg(&out)
                .env("PATH", path_with(&bin))
                .env("SLURM_ARRAY_TASK_COUNT", tasks.to_string())
                .env("SLURM_ARRAY_TASK_ID", id.to_string())
                .env("VERISIM_BACKEND", "cpu"),
            &format!("array task {id}"),
        );
    }
    run_ok(
        Command::new("bash")
            .current_dir(ROOT)
            .arg("deploy/slurm_merge.sh")
            .arg(&out)
            .env("PATH", path_with(&bin)),
        "merge job",
    );
    assert_same_dataset(&reference(tmp.path(), &scene), &out.join("merged"));

    // Without the array variables the script refuses to run instead of rendering everything.
    let o = Command::new("bash")
        .current_dir(ROOT)
        .arg("deploy/slurm_array.sh")
        .arg(&scene)
        .arg(tmp.path().join("x"))
        .env("PATH", path_with(&bin))
        .env_remove("SLURM_ARRAY_TASK_COUNT")
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--array"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn load_job(file: &str) -> Yaml {
    let text = std::fs::read_to_string(Path::new(ROOT).join(file)).unwrap();
    YamlLoader::load_from_str(&text)
        .unwrap_or_else(|e| panic!("{file}: {e}"))
        .remove(0)
}

/// The container's shell command with each volume's mountPath moved under `root`.
fn pod_command(job: &Yaml, root: &Path) -> String {
    let pod = &job["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    assert_eq!(c["command"][0].as_str(), Some("/bin/sh"));
    assert_eq!(c["command"][1].as_str(), Some("-c"));
    let mut cmd = c["args"][0]
        .as_str()
        .expect("one shell command")
        .to_string();
    for m in c["volumeMounts"].as_vec().expect("volumes") {
        let mount = m["mountPath"].as_str().unwrap();
        cmd = cmd.replace(&format!("{mount}/"), &format!("{}{mount}/", root.display()));
    }
    cmd.replace("--backend gpu", "--backend cpu")
}

#[test]
fn the_kubernetes_indexed_job_and_merge_job_produce_the_unsharded_dataset() {
    let job = load_job("deploy/k8s_indexed_job.yaml");
    assert_eq!(job["kind"].as_str(), Some("Job"));
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let n = spec["completions"].as_i64().expect("completions");
    assert_eq!(spec["parallelism"].as_i64(), Some(n));
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("pod");
    let cmd = pod_command(&job, &root);
    assert!(
        cmd.contains(&format!("--shard $JOB_COMPLETION_INDEX/{n}")),
        "every pod renders its own shard of {n}: {cmd}"
    );
    // The scenes ConfigMap holds the user's scenario; the smoke scene stands in for it.
    let scene_arg = cmd
        .split_whitespace()
        .find(|w| w.ends_with(".ron"))
        .expect("a scenario path")
        .to_string();
    std::fs::create_dir_all(Path::new(&scene_arg).parent().unwrap()).unwrap();
    std::fs::copy(Path::new(ROOT).join("scenes/smoke.ron"), &scene_arg).unwrap();
    let bin = bin_dir(tmp.path());
    for index in 0..n {
        run_ok(
            Command::new("sh")
                .args(["-c", &cmd])
                .env("PATH", path_with(&bin))
                .env("JOB_COMPLETION_INDEX", index.to_string()),
            &format!("pod {index}"),
        );
    }
    let merge = load_job("deploy/k8s_merge_job.yaml");
    let mcmd = pod_command(&merge, &root);
    run_ok(
        Command::new("sh")
            .args(["-c", &mcmd])
            .env("PATH", path_with(&bin)),
        "merge pod",
    );
    let merged = mcmd
        .split_whitespace()
        .skip_while(|w| *w != "--out")
        .nth(1)
        .expect("merge --out")
        .to_string();
    assert_same_dataset(
        &reference(tmp.path(), Path::new(&scene_arg)),
        Path::new(&merged),
    );
}
