//! Records the git commit verisim is built from (for dataset provenance) as
//! `VERISIM_GIT_COMMIT`; a packager without git may set that variable itself.
//!
//! Also tells the tests what this machine lacks, as cfgs that mark tests ignored with the
//! reason (never passed): `verisim_no_gpu` (no Vulkan loader or driver), `verisim_no_real_data`
//! (no recorded real drives at `VERISIM_REAL_DATA`, default `../shared/data/real`),
//! `verisim_no_assets` (no third-party models at `VERISIM_ASSETS`, default
//! `../shared/data/assets`; `VERISIM_REQUIRE_REAL_DATA=1` requires them too),
//! `verisim_no_maps` (no third-party OpenDRIVE maps at `VERISIM_MAPS`, default
//! `../shared/data/maps`; required alike),
//! `verisim_no_chromium` (no `/usr/bin/chromium` or `$CHROMIUM`), `verisim_no_pyyaml` (no
//! `python3` that imports PyYAML, the YAML reader of SemanticKITTI's tools),
//! `verisim_no_py_mcap` (no `python3` that imports the `mcap` reader),
//! `verisim_no_nuscenes_devkit` (no `$VERISIM_NUSCENES_PYTHON`, default `python3`, that imports
//! the nuScenes devkit), `verisim_no_mount`
//! (not root, so no tmpfs for the full-disk test). `VERISIM_REQUIRE_GPU=1` and
//! `VERISIM_REQUIRE_REAL_DATA=1` never ignore: the tests then fail where the thing is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let o = Command::new("git").args(args).output().ok()?;
    o.status
        .success()
        .then(|| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

fn env_is_1(name: &str) -> bool {
    println!("cargo:rerun-if-env-changed={name}");
    std::env::var(name).is_ok_and(|v| v == "1")
}

fn env_paths(name: &str) -> Vec<PathBuf> {
    println!("cargo:rerun-if-env-changed={name}");
    std::env::var_os(name)
        .map(|v| std::env::split_paths(&v).collect())
        .unwrap_or_default()
}

/// Watches `p` for changes when it exists (a missing path would rerun this script on every
/// build, and rebuild the crate with it).
fn watch(p: &Path) {
    if p.exists() {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}

/// Whether a Vulkan loader and at least one installable client driver (ICD) exist, the
/// conditions under which wgpu can find a Vulkan adapter on Linux. Elsewhere (Metal, DX12) an
/// adapter is assumed.
fn vulkan_present() -> bool {
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return true;
    }
    let mut lib_dirs = env_paths("LD_LIBRARY_PATH");
    lib_dirs.extend(
        [
            "/usr/lib/x86_64-linux-gnu",
            "/usr/lib/aarch64-linux-gnu",
            "/usr/lib64",
            "/usr/lib",
            "/lib/x86_64-linux-gnu",
            "/lib/aarch64-linux-gnu",
            "/usr/local/lib",
        ]
        .map(PathBuf::from),
    );
    let loader = lib_dirs.iter().any(|d| d.join("libvulkan.so.1").exists());
    // Drivers named directly (files or directories), else the loader's search path.
    let mut icds = env_paths("VK_DRIVER_FILES");
    icds.extend(env_paths("VK_ICD_FILENAMES"));
    icds.extend(env_paths("VK_ADD_DRIVER_FILES"));
    let named = !icds.is_empty();
    if !named {
        let mut roots = env_paths("XDG_CONFIG_DIRS");
        roots.push("/etc/xdg".into());
        roots.push("/etc".into());
        let mut data = env_paths("XDG_DATA_DIRS");
        if data.is_empty() {
            data = vec!["/usr/local/share".into(), "/usr/share".into()];
        }
        roots.extend(data);
        icds = roots.iter().map(|r| r.join("vulkan/icd.d")).collect();
    }
    let driver = icds.iter().any(|p| {
        watch(p);
        if p.is_dir() {
            std::fs::read_dir(p).is_ok_and(|rd| {
                rd.flatten()
                    .any(|e| e.path().extension().is_some_and(|x| x == "json"))
            })
        } else {
            p.is_file()
        }
    });
    loader && driver
}

/// The effective user is root (Linux), so the full-disk test can mount a small tmpfs.
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
        s.lines()
            .find_map(|l| l.strip_prefix("Uid:"))
            .and_then(|l| l.split_whitespace().nth(1))
            == Some("0")
    })
}

fn lacks(cfg: &str, missing: bool) {
    println!("cargo::rustc-check-cfg=cfg({cfg})");
    if missing {
        println!("cargo:rustc-cfg={cfg}");
    }
}

/// Where `python` imports `module` from (watched, so installing it later rebuilds), if it
/// can.
fn python_module(python: &str, module: &str) -> Option<PathBuf> {
    let p = Command::new(python)
        .args(["-c", &format!("import {module} as m; print(m.__file__)")])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))?;
    watch(&p);
    Some(p)
}

fn test_environment() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let real = env_paths("VERISIM_REAL_DATA")
        .pop()
        .unwrap_or_else(|| manifest.join("../shared/data/real"));
    watch(&real);
    let has_real = real.join("kitti_object_openpcdet").is_dir();
    lacks(
        "verisim_no_real_data",
        !has_real && !env_is_1("VERISIM_REQUIRE_REAL_DATA"),
    );
    // Third-party glTF models (and, later, OpenDRIVE maps) that the importers are tested on.
    let assets = env_paths("VERISIM_ASSETS")
        .pop()
        .unwrap_or_else(|| manifest.join("../shared/data/assets"));
    watch(&assets);
    lacks(
        "verisim_no_assets",
        !assets.join("gltf").is_dir() && !env_is_1("VERISIM_REQUIRE_REAL_DATA"),
    );
    let maps = env_paths("VERISIM_MAPS")
        .pop()
        .unwrap_or_else(|| manifest.join("../shared/data/maps"));
    watch(&maps);
    lacks(
        "verisim_no_maps",
        !maps.join("opendrive").is_dir() && !env_is_1("VERISIM_REQUIRE_REAL_DATA"),
    );
    lacks(
        "verisim_no_gpu",
        !vulkan_present() && !env_is_1("VERISIM_REQUIRE_GPU"),
    );
    let chromium = env_paths("CHROMIUM")
        .pop()
        .unwrap_or_else(|| "/usr/bin/chromium".into());
    watch(&chromium);
    lacks("verisim_no_chromium", !chromium.exists());
    lacks(
        "verisim_no_pyyaml",
        python_module("python3", "yaml").is_none(),
    );
    lacks(
        "verisim_no_py_mcap",
        python_module("python3", "mcap.reader").is_none(),
    );
    // The nuScenes devkit pins numpy < 2, so it usually lives in a virtual environment of its
    // own: `VERISIM_NUSCENES_PYTHON` names its interpreter (default python3).
    println!("cargo:rerun-if-env-changed=VERISIM_NUSCENES_PYTHON");
    let nusc = std::env::var("VERISIM_NUSCENES_PYTHON").unwrap_or_else(|_| "python3".into());
    println!("cargo:rustc-env=VERISIM_NUSCENES_PYTHON={nusc}");
    lacks(
        "verisim_no_nuscenes_devkit",
        python_module(&nusc, "nuscenes.nuscenes").is_none(),
    );
    lacks("verisim_no_mount", !is_root());
}

/// `src/abi/shared.rs` → `$OUT_DIR/shared_constants.wgsl`: each `pub const NAME: TYPE = LIT;`
/// becomes `const NAME: TYPE = LIT;` (digit separators dropped, `u`/`i` suffixes on integers),
/// so the shaders and the Rust code read one definition.
fn shared_constants() {
    let path = Path::new("src/abi/shared.rs");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(path).expect("src/abi/shared.rs is readable");
    let mut wgsl =
        String::from("// Generated by build.rs from src/abi/shared.rs: edit that file.\n");
    for (i, line) in text.lines().enumerate() {
        let Some(rest) = line.trim().strip_prefix("pub const ") else {
            continue;
        };
        let parsed = rest.strip_suffix(';').and_then(|r| {
            let (name, r) = r.split_once(':')?;
            let (ty, value) = r.split_once('=')?;
            Some((name.trim(), ty.trim(), value.trim().replace('_', "")))
        });
        let Some((name, ty, value)) = parsed else {
            panic!(
                "src/abi/shared.rs:{}: expected `pub const NAME: TYPE = LITERAL;`",
                i + 1
            )
        };
        let literal_ok = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
        assert!(
            literal_ok,
            "src/abi/shared.rs:{}: `{value}` is not a literal",
            i + 1
        );
        let suffix = match ty {
            "u32" => "u",
            "i32" => "i",
            "f32" => "",
            other => panic!(
                "src/abi/shared.rs:{}: type {other} has no WGSL twin here",
                i + 1
            ),
        };
        wgsl.push_str(&format!("const {name}: {ty} = {value}{suffix};\n"));
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("shared_constants.wgsl"), wgsl).expect("OUT_DIR is writable");
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    shared_constants();
    test_environment();
    println!("cargo:rerun-if-env-changed=VERISIM_GIT_COMMIT");
    let commit = std::env::var("VERISIM_GIT_COMMIT")
        .ok()
        .or_else(|| git(&["rev-parse", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=VERISIM_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves (a commit, a checkout).
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"])
        && let Some(p) = git(&["rev-parse", "--git-path", &r])
    {
        println!("cargo:rerun-if-changed={p}");
    }
}
