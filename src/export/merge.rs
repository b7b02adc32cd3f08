//! `verisim merge SHARD_DIRS... --out DIR`: one dataset from the shards of a run. The shards
//! must come from the same resolved scenario and formats, and together hold every frame once.
//! Each frame's files are copied with their checksums checked against the frame's record,
//! then the aggregates and the manifest are assembled exactly as an unsharded run does, so the
//! data files and checksums are the same bytes.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::ExportError;
use super::atomic::{create_dir, link_atomic, write_atomic};
use super::dataset::{DatasetDir, FrameRecord, RunConfig, Session, sha256_hex};
use super::manifest::{SCENARIO_COPY, SCENARIO_RESOLVED, finalize};
use crate::scenario::Source;

#[derive(Clone, Debug, Default)]
pub struct MergeSummary {
    pub shards: usize,
    pub frames: usize,
    pub files: usize,
    pub bytes: u64,
}

fn fail(path: &Path, message: String) -> ExportError {
    ExportError::Dataset {
        path: path.to_owned(),
        message,
    }
}

/// The relative target of `path` when it is a symbolic link to a file that `record` lists
/// with checksum `sha256`, inside the shard whose canonical root is `root`. That file is copied
/// checked, so the link is valid in the merged dataset without reading its bytes again.
fn link_to_listed(path: &Path, root: &Path, record: &FrameRecord, sha256: &str) -> Option<PathBuf> {
    let target = std::fs::read_link(path).ok()?;
    let resolved = path.parent()?.join(&target).canonicalize().ok()?;
    let rel = resolved.strip_prefix(root).ok()?;
    let rel: Vec<&str> = rel.iter().map(|c| c.to_str()).collect::<Option<_>>()?;
    let rel = rel.join("/");
    let listed = record
        .files
        .iter()
        .any(|g| g.path == rel && g.sha256 == sha256);
    (target.is_relative() && listed).then_some(target)
}

/// Copies `from` to `to` when its bytes have `sha256`; returns the bytes written.
fn copy_checked(from: &Path, to: &Path, sha256: &str) -> Result<u64, ExportError> {
    let bytes = std::fs::read(from).map_err(|source| ExportError::Io {
        path: from.to_owned(),
        source,
    })?;
    if sha256_hex(&bytes) != sha256 {
        return Err(fail(
            from,
            "sha256 differs from the shard's frame record (corrupted shard); re-render this shard"
                .into(),
        ));
    }
    if let Some(parent) = to.parent() {
        create_dir(parent)?;
    }
    write_atomic(to, &bytes)?;
    Ok(bytes.len() as u64)
}

/// Merges `shards` into `out` (which must be empty or missing).
pub fn merge(shards: &[PathBuf], out: &Path) -> Result<MergeSummary, ExportError> {
    if shards.is_empty() {
        return Err(fail(out, "no shard directories given".into()));
    }
    if !crate::files::is_unstarted(out) {
        return Err(fail(
            out,
            "the output directory is not empty; merge into a new directory".into(),
        ));
    }
    let dirs: Vec<DatasetDir> = shards.iter().map(|s| DatasetDir::new(s)).collect();
    let cfgs: Vec<RunConfig> = dirs
        .iter()
        .map(|d| DatasetDir::read_json(&d.run_config()))
        .collect::<Result<_, _>>()?;
    let first = &cfgs[0];
    let count = first.shard.map_or(1, |s| s.count);
    let mut seen = vec![None::<usize>; count as usize];
    for (i, (c, d)) in cfgs.iter().zip(&dirs).enumerate() {
        if let Some(reason) = first.incompatibility(c) {
            return Err(fail(
                &d.root,
                format!("does not belong with {}: {reason}", shards[0].display()),
            ));
        }
        if c.frames != first.frames {
            return Err(fail(
                &d.root,
                format!(
                    "has {} frames, {} has {}",
                    c.frames,
                    shards[0].display(),
                    first.frames
                ),
            ));
        }
        let s = c.shard.map_or((0, 1), |s| (s.index, s.count));
        if s.1 != count {
            return Err(fail(
                &d.root,
                format!("is shard {}/{}, the first is one of {count}", s.0, s.1),
            ));
        }
        if let Some(j) = seen[s.0 as usize].replace(i) {
            return Err(fail(
                &d.root,
                format!(
                    "is shard {}/{count} again (also {})",
                    s.0,
                    shards[j].display()
                ),
            ));
        }
    }
    if let Some(missing) = seen.iter().position(Option::is_none) {
        return Err(fail(out, format!("shard {missing}/{count} is missing")));
    }
    // The scenario copies must agree too.
    let scenario_text = |d: &DatasetDir, name: &str| {
        std::fs::read(d.root.join(name)).map_err(|source| ExportError::Io {
            path: d.root.join(name),
            source,
        })
    };
    let resolved = scenario_text(&dirs[0], SCENARIO_RESOLVED)?;
    let copy = scenario_text(&dirs[0], SCENARIO_COPY)?;
    for d in &dirs[1..] {
        if scenario_text(d, SCENARIO_RESOLVED)? != resolved
            || scenario_text(d, SCENARIO_COPY)? != copy
        {
            return Err(fail(
                &d.root,
                "its scenario copy differs from the first shard's".into(),
            ));
        }
    }

    let dst = DatasetDir::new(out);
    create_dir(out)?;
    // Held until the merge returns: a render or another merge into `out` is refused.
    let _lock = crate::files::DirLock::acquire(out, "merge").map_err(|e| fail(out, e.reason()))?;
    if !crate::files::is_unstarted(out) {
        return Err(fail(
            out,
            "another process wrote into the output directory while the merge started".into(),
        ));
    }
    // What a start killed before its first file left (`files::is_unstarted`).
    dst.remove_temporaries();
    dst.create()?;
    let mut summary = MergeSummary {
        shards: dirs.len(),
        ..Default::default()
    };
    let mut sessions: Vec<Session> = Vec::new();
    for (d, c) in dirs.iter().zip(&cfgs) {
        let records: Vec<FrameRecord> = super::manifest::read_records(d, c)?;
        let root = d.root.canonicalize().map_err(|source| ExportError::Io {
            path: d.root.clone(),
            source,
        })?;
        let bytes: Vec<u64> = records
            .par_iter()
            .map(|r| -> Result<u64, ExportError> {
                let mut b = 0;
                for f in &r.files {
                    let (from, to) = (d.root.join(&f.path), dst.root.join(&f.path));
                    // A link (a SemanticKITTI view file) to a file of its frame stays that
                    // link; any other link is copied as the file it reads as.
                    if let Some(target) = link_to_listed(&from, &root, r, &f.sha256) {
                        if let Some(parent) = to.parent() {
                            create_dir(parent)?;
                        }
                        link_atomic(&to, &target)?;
                        continue;
                    }
                    b += copy_checked(&from, &to, &f.sha256)?;
                }
                dst.write_record(r, true)?;
                Ok(b)
            })
            .collect::<Result<_, _>>()?;
        summary.bytes += bytes.iter().sum::<u64>();
        summary.frames += records.len();
        summary.files += records.iter().map(|r| r.files.len()).sum::<usize>();
        sessions.extend(DatasetDir::read_json::<Vec<Session>>(&d.sessions()).unwrap_or_default());
    }
    write_atomic(&out.join(SCENARIO_RESOLVED), &resolved)?;
    create_dir(&out.join("provenance"))?;
    write_atomic(&out.join(SCENARIO_COPY), &copy)?;
    let mut cfg = first.clone();
    cfg.shard = None;
    DatasetDir::write_json(&dst.run_config(), &cfg)?;
    DatasetDir::write_json(&dst.sessions(), &sessions)?;
    // The dataset policy comes from the resolved scenario.
    let source = Source {
        path: out.join(SCENARIO_RESOLVED),
        text: String::from_utf8_lossy(&resolved).into_owned(),
    };
    let scenario =
        crate::scenario::parse(&source).map_err(|e| fail(&source.path, e.to_string()))?;
    finalize(
        &dst,
        &cfg,
        &scenario.dataset,
        &scenario.description,
        &sessions,
    )?;
    Ok(summary)
}
