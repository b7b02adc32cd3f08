//! `DIR/manifest.json`: Croissant 1.0 metadata (name, description, license, creator, dates,
//! version, url, and a `distribution` of `cr:FileObject`s with sha256 per file), plus verisim's
//! fields under the `vs:` prefix: the layout (formats, cameras, lidar, frames, shard), the
//! dataset policy (intended use, tier, expiry), provenance (generator, scenario, overrides,
//! seeds, sessions with host, backend and adapter, start and end time) and the frame list.
//!
//! The manifest is assembled from the per-frame records only ([`super::dataset`]), so the
//! `distribution` and `vs:frames` are the same bytes for an uninterrupted run, a resumed one and
//! a merge of shards; times and hosts live in `vs:provenance` only.

use serde_json::{Value, json};

use super::ExportError;
use super::atomic::write_atomic;
use super::coco::{CocoImage, instances_json};
use super::dataset::{
    DatasetDir, FileRecord, Format, FrameRecord, RunConfig, Session, now_rfc3339, sha256_hex,
};
use super::semantic_kitti::{poses_text, sequence_dir, sequence_of, times_text};
use super::splits;
use crate::scenario::DatasetSpec;

/// Version of the manifest layout this verisim writes and reads.
pub const MANIFEST_SCHEMA: u32 = 1;
/// Where the scenario file's text is copied.
pub const SCENARIO_COPY: &str = "provenance/scenario.source.ron";
/// The resolved scenario (overrides applied).
pub const SCENARIO_RESOLVED: &str = "scenario.ron";

/// The git commit verisim was built from (`unknown` outside a git checkout).
pub fn git_commit() -> &'static str {
    option_env!("VERISIM_GIT_COMMIT").unwrap_or("unknown")
}

fn croissant_context() -> Value {
    json!({
        "@language": "en",
        "@vocab": "https://schema.org/",
        "citeAs": "cr:citeAs",
        "column": "cr:column",
        "conformsTo": "dct:conformsTo",
        "cr": "http://mlcommons.org/croissant/",
        "rai": "http://mlcommons.org/croissant/RAI/",
        "data": {"@id": "cr:data", "@type": "@json"},
        "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
        "dct": "http://purl.org/dc/terms/",
        "examples": {"@id": "cr:examples", "@type": "@json"},
        "extract": "cr:extract",
        "field": "cr:field",
        "fileProperty": "cr:fileProperty",
        "fileObject": "cr:fileObject",
        "fileSet": "cr:fileSet",
        "format": "cr:format",
        "includes": "cr:includes",
        "isLiveDataset": "cr:isLiveDataset",
        "jsonPath": "cr:jsonPath",
        "key": "cr:key",
        "md5": "cr:md5",
        "parentField": "cr:parentField",
        "path": "cr:path",
        "recordSet": "cr:recordSet",
        "references": "cr:references",
        "regex": "cr:regex",
        "repeated": "cr:repeated",
        "replace": "cr:replace",
        "sc": "https://schema.org/",
        "separator": "cr:separator",
        "source": "cr:source",
        "subField": "cr:subField",
        "transform": "cr:transform",
        "vs": "https://github.com/verisim/verisim/blob/main/docs/datasets.md#",
    })
}

/// MIME type of a dataset file, from its name.
pub fn encoding_format(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "png" => "image/png",
        "json" => "application/json",
        "txt" => "text/plain",
        "ron" => "text/plain",
        _ => "application/octet-stream",
    }
}

fn file_object(f: &FileRecord) -> Value {
    json!({
        "@type": "cr:FileObject",
        "@id": f.path,
        "name": f.path,
        "contentUrl": f.path,
        "contentSize": format!("{} B", f.bytes),
        "encodingFormat": encoding_format(&f.path),
        "sha256": f.sha256,
    })
}

fn intended_use_name(u: &crate::scenario::IntendedUse) -> &'static str {
    match u {
        crate::scenario::IntendedUse::Pretraining => "pretraining",
        crate::scenario::IntendedUse::FineTuning => "fine-tuning",
        crate::scenario::IntendedUse::Testing => "testing",
    }
}

pub(crate) fn write_recorded(
    dir: &DatasetDir,
    path: &str,
    bytes: &[u8],
) -> Result<FileRecord, ExportError> {
    if let Some(parent) = dir.root.join(path).parent() {
        super::atomic::create_dir(parent)?;
    }
    write_atomic(&dir.root.join(path), bytes)?;
    Ok(FileRecord {
        path: path.to_string(),
        sha256: sha256_hex(bytes),
        bytes: bytes.len() as u64,
    })
}

fn record_existing(dir: &DatasetDir, path: &str) -> Result<FileRecord, ExportError> {
    let p = dir.root.join(path);
    let bytes = std::fs::read(&p).map_err(|source| ExportError::Io { path: p, source })?;
    Ok(FileRecord {
        path: path.to_string(),
        sha256: sha256_hex(&bytes),
        bytes: bytes.len() as u64,
    })
}

/// Reads the records of every frame of the run; the frames missing, if any, as an error.
pub fn read_records(dir: &DatasetDir, cfg: &RunConfig) -> Result<Vec<FrameRecord>, ExportError> {
    let frames = cfg.frames_of_run();
    let mut records = Vec::with_capacity(frames.len());
    let mut missing = Vec::new();
    for f in frames {
        match dir.finished_record(f) {
            Some(r) => records.push(r),
            None => missing.push(f),
        }
    }
    if !missing.is_empty() {
        return Err(ExportError::Dataset {
            path: dir.root.clone(),
            message: format!(
                "{} frame(s) not finished (first: {}); run `verisim render --resume` with the same arguments",
                missing.len(),
                missing[0]
            ),
        });
    }
    // Paths in a record are data, not trusted: each must name a file inside the dataset.
    for r in &records {
        if let Some(f) = r.files.iter().find(|f| !is_inside_path(&f.path)) {
            return Err(ExportError::Dataset {
                path: dir.record(r.frame),
                message: format!(
                    "file entry `{}` is not a relative path inside the dataset (no `..`, no \
                     root, no drive): the record is damaged or was edited",
                    f.path
                ),
            });
        }
    }
    Ok(records)
}

/// Whether `path` (from a record) stays inside the directory it is relative to: made of plain
/// names only, so no `..`, `.`, root or drive prefix, and not empty.
pub fn is_inside_path(path: &str) -> bool {
    let p = std::path::Path::new(path);
    !path.is_empty()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}

/// What [`finalize`] wrote.
pub struct Finalized {
    pub manifest: Value,
    /// Bytes of the aggregate files (MCAP episodes, COCO, sequence files, ImageSets, ...) and
    /// of the manifest.
    pub bytes_written: u64,
}

/// Writes the aggregate files (SemanticKITTI poses/times/calib, COCO, MCAP) and the manifest
/// from the frame records. A shard writes no aggregates (they span all frames); `merge` does.
pub fn finalize(
    dir: &DatasetDir,
    cfg: &RunConfig,
    spec: &DatasetSpec,
    description: &str,
    sessions: &[Session],
) -> Result<Finalized, ExportError> {
    let records = read_records(dir, cfg)?;
    let mut files: Vec<FileRecord> = records.iter().flat_map(|r| r.files.clone()).collect();
    let frame_files = files.len();
    if cfg.shard.is_none() {
        // One sequence per episode (records are in frame order, so each sequence's records
        // are contiguous).
        let mut by_sequence: std::collections::BTreeMap<u32, Vec<&FrameRecord>> =
            Default::default();
        for r in &records {
            let (seq, _) = sequence_of(r.frame, cfg.episode_frames);
            by_sequence.entry(seq).or_default().push(r);
        }
        if cfg.has(Format::SemanticKitti) && cfg.lidar {
            for (&seq, recs) in &by_sequence {
                let sd = sequence_dir(seq);
                let poses: Vec<[f32; 12]> = recs.iter().map(|r| r.pose).collect();
                let times: Vec<f64> = recs.iter().map(|r| r.time_s).collect();
                files.push(write_recorded(
                    dir,
                    &format!("{sd}/poses.txt"),
                    poses_text(&poses).as_bytes(),
                )?);
                files.push(write_recorded(
                    dir,
                    &format!("{sd}/times.txt"),
                    times_text(&times).as_bytes(),
                )?);
                files.push(write_recorded(
                    dir,
                    &format!("{sd}/calib.txt"),
                    recs[0].sk_calib.as_bytes(),
                )?);
            }
        }
        if cfg.has(Format::Mcap) {
            for (&seq, recs) in &by_sequence {
                files.push(super::mcap::write_episode(dir, cfg, seq, recs)?);
            }
        }
        // Splits by episode: ImageSets for the KITTI trainers, and the SemanticKITTI YAML.
        let frame_episodes: Vec<(u32, u32)> = records
            .iter()
            .map(|r| (r.frame, sequence_of(r.frame, cfg.episode_frames).0))
            .collect();
        let split = splits::assign(&cfg.sequences_of_run(), cfg.seed, &spec.splits);
        if cfg.trainer_files && cfg.has(Format::Kitti) {
            for (path, text) in splits::image_sets(&frame_episodes, &split) {
                files.push(write_recorded(dir, &path, text.as_bytes())?);
            }
        }
        if cfg.has(Format::NuScenes) {
            files.extend(super::nuscenes::write_tables(dir, cfg, &records, &split)?);
        }
        if cfg.trainer_files && cfg.has(Format::SemanticKitti) && cfg.lidar {
            let mut points = std::collections::BTreeMap::new();
            for r in &records {
                for (&raw, &n) in &r.sk_points {
                    *points.entry(raw).or_insert(0u64) += n;
                }
            }
            let yaml = splits::semantic_kitti_yaml(&points, &split);
            files.push(write_recorded(
                dir,
                splits::SEMANTIC_KITTI_YAML,
                yaml.as_bytes(),
            )?);
        }
        if cfg.has(Format::Coco) && !cfg.cameras.is_empty() {
            let images: Vec<(u32, &CocoImage)> = records
                .iter()
                .flat_map(|r| r.coco.iter().map(move |i| (r.frame, i)))
                .collect();
            let text = instances_json(&cfg.name, &spec.version, &images);
            files.push(write_recorded(dir, "coco/instances.json", text.as_bytes())?);
        }
    }
    let aggregate_bytes: u64 = files[frame_files..].iter().map(|f| f.bytes).sum();
    files.push(record_existing(dir, SCENARIO_RESOLVED)?);
    files.push(record_existing(dir, SCENARIO_COPY)?);
    files.sort();

    let started = sessions.iter().map(|s| s.started.clone()).min();
    let ended = sessions.iter().filter_map(|s| s.finished.clone()).max();
    let now = now_rfc3339();
    let date = |t: &Option<String>| t.as_deref().unwrap_or(&now)[..10].to_string();
    let frames: Vec<Value> = records
        .iter()
        .map(|r| {
            let mut v = json!({"frame": r.frame, "seed": r.seed, "time_s": r.time_s});
            if let Some(d) = &r.variation {
                v["variation"] = serde_json::to_value(d).expect("plain data");
            }
            if let Some(b) = &r.braking {
                v["braking"] = serde_json::to_value(b).expect("plain data");
            }
            v
        })
        .collect();
    let hosts: std::collections::BTreeSet<&str> =
        sessions.iter().map(|s| s.host.as_str()).collect();
    let backends: std::collections::BTreeSet<&str> =
        sessions.iter().map(|s| s.backend.as_str()).collect();
    let manifest = json!({
        "@context": croissant_context(),
        "@type": "sc:Dataset",
        "conformsTo": "http://mlcommons.org/croissant/1.0",
        "name": cfg.name,
        "description": if description.is_empty() { format!("verisim synthetic dataset `{}`", cfg.name) } else { description.to_string() },
        "license": spec.license,
        "creator": {"@type": "sc:Organization", "name": spec.creator},
        "url": spec.url.clone().unwrap_or_else(|| format!("urn:verisim:{}:{}", cfg.name, spec.version)),
        "version": spec.version,
        "dateCreated": date(&started),
        "datePublished": date(&Some(now.clone())),
        "keywords": ["synthetic data", "autonomous driving", "lidar", "camera", "KITTI"],
        "distribution": files.iter().map(file_object).collect::<Vec<_>>(),
        "vs:manifestSchema": MANIFEST_SCHEMA,
        "vs:complete": true,
        "vs:layout": {
            "formats": cfg.formats,
            "cameras": cfg.cameras,
            "lidar": cfg.lidar,
            "lidar_compensated": cfg.lidar_compensated,
            "trainer_files": cfg.trainer_files,
            "frames": cfg.frames,
            "shard": cfg.shard,
            "episodeFrames": cfg.episode_frames,
            "keyframeEvery": cfg.keyframe_every,
        },
        "vs:policy": {
            "intendedUse": spec.intended_use.iter().map(intended_use_name).collect::<Vec<_>>(),
            "tier": spec.tier,
            "expires": spec.expires,
        },
        "vs:provenance": {
            "generator": {"name": "verisim", "version": env!("CARGO_PKG_VERSION"), "gitCommit": git_commit()},
            "scenario": {
                "file": cfg.source_path,
                "sha256": cfg.source_sha256,
                "copy": SCENARIO_COPY,
                "resolved": SCENARIO_RESOLVED,
                "overrides": cfg.overrides,
            },
            "seeds": {
                "scenario": cfg.seed,
                "frameSeedRule": "hash3(seed32(run.seed), frame, 0x5EED); variations: rand(seed32(run.seed), 0x53574550, episode, draw)",
            },
            "backends": backends,
            "hosts": hosts,
            "startTime": started,
            "endTime": ended,
            "assembledAt": now,
            "sessions": sessions,
        },
        "vs:frames": frames,
    });
    let text = serde_json::to_string_pretty(&manifest).expect("plain data");
    write_atomic(&dir.manifest(), text.as_bytes())?;
    Ok(Finalized {
        manifest,
        bytes_written: aggregate_bytes + text.len() as u64,
    })
}

/// A placeholder manifest while frames are being written: `verify` reports the dataset as
/// incomplete instead of judging half a run.
pub fn write_incomplete(dir: &DatasetDir, cfg: &RunConfig) -> Result<(), ExportError> {
    let v = json!({
        "@type": "sc:Dataset",
        "name": cfg.name,
        "vs:manifestSchema": MANIFEST_SCHEMA,
        "vs:complete": false,
        "vs:note": "rendering in progress or interrupted; run `verisim render --resume` with the same arguments",
    });
    write_atomic(
        &dir.manifest(),
        serde_json::to_string_pretty(&v)
            .expect("plain data")
            .as_bytes(),
    )
}
