//! Toolchain honesty: `rust-version` in Cargo.toml is the newest any dependency needs, so a
//! user on an older compiler gets cargo's clear refusal instead of a wall of build errors.

use std::process::Command;

#[test]
fn rust_version_is_what_the_dependencies_need() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--offline", "--locked"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let version = |v: &serde_json::Value| -> Option<(u32, u32)> {
        let mut it = v.as_str()?.split('.').map(|x| x.parse::<u32>().ok());
        Some((it.next()??, it.next().flatten().unwrap_or(0)))
    };
    let mut ours = None;
    let mut needed = ((0, 0), String::new());
    for p in meta["packages"].as_array().unwrap() {
        let Some(v) = version(&p["rust_version"]) else {
            continue;
        };
        if p["name"] == "verisim" {
            ours = Some(v);
        } else if v > needed.0 {
            needed = (v, format!("{} {}", p["name"], p["version"]));
        }
    }
    let ours = ours.expect("Cargo.toml sets rust-version");
    assert_eq!(
        ours, needed.0,
        "rust-version is {ours:?}, but {} needs {:?}",
        needed.1, needed.0
    );
}
