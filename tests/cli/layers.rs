//! The crate's modules are layers with one-way imports (`docs/architecture.md`). This test reads
//! every `crate::` path in `src/` (use statements and inline paths, test modules included) and
//! fails on an import from a layer above, so a cycle cannot come back unnoticed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Bottom to top: a module may import the modules before it in this list.
const LAYERS: &[(&str, &str)] = &[
    (
        "abi",
        "#[repr(C)] structs and constants shared with the WGSL shaders",
    ),
    (
        "rng",
        "counter-based random numbers (the same on the CPU and in WGSL)",
    ),
    (
        "files",
        "crash-safe file writes (temporary file, sync, rename), disk-full detection",
    ),
    (
        "interrupt",
        "SIGINT and SIGTERM as a request to stop, polled by long commands",
    ),
    (
        "classes",
        "semantic classes: ids, names, KITTI types, colours",
    ),
    (
        "physics",
        "plain laws: friction, car following, lateral dynamics, precipitation",
    ),
    (
        "scenario",
        "the user-facing schema: parsing, validation, presets, materials, sweeps",
    ),
    (
        "geometry",
        "meshes, procedural actors and maps, the BVH and the instance pool",
    ),
    (
        "frame",
        "plain per-frame data: FrameInputs in, SensorFrames out",
    ),
    (
        "sensors",
        "sensor models: lidar and camera parameters, timing, motion compensation",
    ),
    (
        "world",
        "the bevy_ecs world: components, systems, spawn, extract",
    ),
    (
        "backend",
        "CPU and GPU renderers of a FrameInputs, and their shared stages",
    ),
    (
        "labels",
        "boxes, masks and classes from geometry and sensor frames",
    ),
    ("export", "dataset writers, manifests, verification, merge"),
    (
        "pipeline",
        "the run loop, sweeps of episodes, resume, progress, the run summary",
    ),
    (
        "reality",
        "the reality check: reads datasets and recorded drives",
    ),
];

/// Pairs that the order alone would allow but the design forbids.
const FORBIDDEN: &[(&str, &str, &str)] = &[
    (
        "backend",
        "world",
        "a backend renders FrameInputs and never touches the ECS",
    ),
    (
        "reality",
        "frame",
        "the reality check reads datasets, not the engine's frames",
    ),
    (
        "reality",
        "world",
        "the reality check reads datasets, not the simulation",
    ),
    (
        "reality",
        "backend",
        "the reality check reads datasets, it does not render",
    ),
    (
        "reality",
        "labels",
        "the reality check reads labels from files",
    ),
    (
        "reality",
        "export",
        "the reality check reads datasets through its own readers",
    ),
    (
        "reality",
        "pipeline",
        "the reality check does not run the engine",
    ),
];

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(m, _)| *m == module)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src is readable") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level modules a source text names through `crate::`, with the line of each. A
/// `use crate::{a::x, b::y}` group names each of its members.
fn crate_imports(text: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(k) = text[i..].find("crate::") {
        let at = i + k;
        i = at + "crate::".len();
        // Skip `$crate::` and identifiers ending in `crate` (e.g. `my_crate::`).
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || matches!(bytes[at - 1], b'_' | b'$'))
        {
            continue;
        }
        let line = text[..at].matches('\n').count() + 1;
        if bytes.get(i) == Some(&b'{') {
            // A group: its top-level members, up to the matching brace.
            let mut depth = 0;
            let mut member_start = i + 1;
            let mut j = i;
            while j < bytes.len() {
                match bytes[j] {
                    b'{' => depth += 1,
                    b'}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    b',' if depth == 1 => {
                        push_member(&text[member_start..j], line, &mut out);
                        member_start = j + 1;
                    }
                    _ => {}
                }
                j += 1;
            }
            push_member(&text[member_start..j.min(bytes.len())], line, &mut out);
        } else {
            push_member(&text[i..], line, &mut out);
        }
    }
    out
}

fn push_member(s: &str, line: usize, out: &mut Vec<(String, usize)>) {
    let name: String = s
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if !name.is_empty() && name != "self" {
        out.push((name, line));
    }
}

#[test]
fn every_module_is_in_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    for line in lib.lines() {
        if let Some(rest) = line
            .strip_prefix("pub mod ")
            .or_else(|| line.strip_prefix("mod "))
        {
            let m = rest.trim_end_matches(';').trim();
            assert!(
                rank(m).is_some(),
                "src/lib.rs declares `{m}`, which no layer in tests/cli/layers.rs holds"
            );
        }
    }
}

#[test]
fn imports_only_go_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut violations = Vec::new();
    let mut edges: BTreeMap<(String, String), usize> = BTreeMap::new();
    for f in &files {
        let rel = f.strip_prefix(&src).expect("under src");
        let first = rel.components().next().expect("a component");
        let first = first.as_os_str().to_string_lossy();
        let module = first.trim_end_matches(".rs");
        if module == "lib" || module == "main" {
            continue; // the crate root and the CLI sit above every layer
        }
        let from = rank(module).unwrap_or_else(|| panic!("{} is in no layer", rel.display()));
        let text = std::fs::read_to_string(f).expect("readable");
        for (target, line) in crate_imports(&text) {
            if target == module {
                continue;
            }
            let Some(to) = rank(&target) else {
                // `crate::Scenario` and other root re-exports are not layers; a module name
                // that is in no layer is caught by `every_module_is_in_a_layer`.
                if target
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_lowercase())
                {
                    violations.push(format!(
                        "{}:{line}: crate::{target} is in no layer",
                        rel.display()
                    ));
                } else {
                    violations.push(format!(
                        "{}:{line}: crate::{target} goes through the crate root; import it from its layer",
                        rel.display()
                    ));
                }
                continue;
            };
            *edges
                .entry((module.to_string(), target.clone()))
                .or_default() += 1;
            if to > from {
                violations.push(format!(
                    "{}:{line}: `{module}` (layer {from}) imports `{target}` (layer {to}, above it)",
                    rel.display()
                ));
            }
            if let Some((_, _, why)) = FORBIDDEN
                .iter()
                .find(|(a, b, _)| *a == module && *b == target)
            {
                violations.push(format!(
                    "{}:{line}: `{module}` imports `{target}`: {why}",
                    rel.display()
                ));
            }
        }
    }
    assert!(
        violations.is_empty(),
        "upward imports:\n{}",
        violations.join("\n")
    );
    // The parser sees the imports it must (so a broken parser cannot pass silently).
    for (a, b) in [
        ("world", "frame"),
        ("backend", "frame"),
        ("geometry", "scenario"),
        ("pipeline", "export"),
    ] {
        assert!(
            edges.contains_key(&(a.to_string(), b.to_string())),
            "expected {a} → {b} among {edges:?}"
        );
    }
}

#[test]
fn the_parser_reads_groups_and_inline_paths() {
    let text = "use crate::{abi::X, geometry::{a, b}, self};\nfn f() { crate::world::g(); my_crate::no(); }\n";
    let got = crate_imports(text);
    assert_eq!(
        got,
        vec![
            ("abi".into(), 1),
            ("geometry".into(), 1),
            ("world".into(), 2)
        ]
    );
}
