//! Helpers shared by the integration tests.
#![allow(dead_code)]

use verisim::backend::{Backend, BackendError};
use verisim::geometry::GeometryPool;
use verisim::scenario::{self, Scenario, Source};

/// Parses scenario text (as if it were a file named `name`).
pub fn scenario_from_str(name: &str, text: &str) -> Scenario {
    let source = Source {
        path: name.into(),
        text: text.to_owned(),
    };
    scenario::parse(&source).unwrap_or_else(|e| panic!("{e}"))
}

pub fn load_scene(path: &str) -> Scenario {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    scenario::load(&p).unwrap_or_else(|e| panic!("{e}")).0
}

/// `made`, or a panic naming the failure. GPU tests are compiled as ignored (with the reason)
/// when the build found no Vulkan driver (`verisim_no_gpu`, set by build.rs unless
/// VERISIM_REQUIRE_GPU=1), so a test that runs expects an adapter.
fn gpu_or_fail<T>(made: Result<T, BackendError>) -> T {
    made.unwrap_or_else(|e| {
        panic!(
            "GPU test without a usable adapter: {e} (the build found a Vulkan driver; rebuild \
             after removing it to have GPU tests ignored)"
        )
    })
}

/// The GPU backend on any adapter, hardware first (lavapipe in CI).
pub fn gpu_backend(pool: &GeometryPool) -> Box<dyn Backend> {
    let b = gpu_or_fail(verisim::backend::gpu::GpuBackend::new(pool));
    eprintln!("GPU test on {}", b.describe());
    Box::new(b)
}

/// A GPU context on any adapter, hardware first.
pub fn gpu_context() -> verisim::backend::gpu::GpuContext {
    gpu_or_fail(verisim::backend::gpu::GpuContext::new())
}

/// Which backend a test body runs on: each check that holds on both is one body with a
/// `cpu` and a `gpu` test (the latter ignored where the build found no GPU driver).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum On {
    Cpu,
    Gpu,
}

/// The backend `on` names, for `pool`.
pub fn backend(on: On, pool: &GeometryPool) -> Box<dyn Backend> {
    match on {
        On::Cpu => Box::new(verisim::backend::cpu::CpuBackend::new(pool)),
        On::Gpu => gpu_backend(pool),
    }
}

// ---------------------------------------------------------------- datasets

use std::path::{Path, PathBuf};

use serde_json::Value;

pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_owned());
            }
        }
    }
    out.sort();
    out
}

pub fn manifest(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// Data files byte for byte, and the manifest's checksums and frame list. Provenance (times,
/// hosts, sessions) may differ.
pub fn assert_same_dataset(a: &Path, b: &Path) {
    let skip = |p: &PathBuf| p.ends_with("manifest.json") || p.ends_with(".verisim/sessions.json");
    let fa: Vec<PathBuf> = files_under(a).into_iter().filter(|p| !skip(p)).collect();
    let fb: Vec<PathBuf> = files_under(b).into_iter().filter(|p| !skip(p)).collect();
    assert_eq!(fa, fb, "the same files");
    for p in &fa {
        // A link in one is the same link in the other.
        assert_eq!(
            std::fs::read_link(a.join(p)).ok(),
            std::fs::read_link(b.join(p)).ok(),
            "{} is not the same link",
            p.display()
        );
        assert!(
            std::fs::read(a.join(p)).unwrap() == std::fs::read(b.join(p)).unwrap(),
            "{} differs",
            p.display()
        );
    }
    let (ma, mb) = (manifest(a), manifest(b));
    for k in [
        "distribution",
        "vs:frames",
        "vs:layout",
        "vs:policy",
        "name",
        "version",
    ] {
        assert_eq!(ma[k], mb[k], "manifest field {k}");
    }
    assert_eq!(ma["vs:complete"], true);
}

// ---------------------------------------------------------------- traffic

/// Whether two actors' footprints, oriented rectangles of (length, width) at their poses,
/// overlap (separating-axis test).
pub fn footprints_overlap(
    a: &verisim::world::ActorState,
    size_a: (f32, f32),
    b: &verisim::world::ActorState,
    size_b: (f32, f32),
) -> bool {
    use glam::Vec2;
    let rect = |s: &verisim::world::ActorState, (l, w): (f32, f32)| {
        let f = Vec2::from_angle(s.yaw_rad);
        (s.position.truncate(), f, f.perp(), l / 2.0, w / 2.0)
    };
    let (pa, fa, ra, la, wa) = rect(a, size_a);
    let (pb, fb, rb, lb, wb) = rect(b, size_b);
    let d = pb - pa;
    for axis in [fa, ra, fb, rb] {
        let proj_a = la * fa.dot(axis).abs() + wa * ra.dot(axis).abs();
        let proj_b = lb * fb.dot(axis).abs() + wb * rb.dot(axis).abs();
        if d.dot(axis).abs() > proj_a + proj_b {
            return false;
        }
    }
    true
}

/// Runs a Python interpreter with `args`, asserts that it succeeded (printing what it said
/// when not), and returns its standard output.
pub fn run_python<S: AsRef<std::ffi::OsStr>>(python: &str, args: &[S]) -> String {
    let o = std::process::Command::new(python)
        .args(args)
        .output()
        .expect("run python");
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}
