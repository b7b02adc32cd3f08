//! Ground truth of a synthetic dataset, read from the dataset itself: `scenario.ron` (the
//! resolved scenario: file plus `--set` overrides, written by `verisim render`) and, for
//! scenarios with a `variations` block, the per-frame draws listed in `manifest.json`
//! (`vs:frames[].variation.sets`), and the hardest braking before each frame
//! (`vs:frames[].braking`). CLI flags override what is found here.

use super::error::{RealityError, Result};
use super::lidar_decay::DecayModel;
use super::physical::{BrakingTruth, PhysicalTruth};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the truth of one synthetic input came from, and what could not be known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetTruth {
    pub truth: PhysicalTruth,
    /// The `scenario.ron` read.
    pub scenario: Option<PathBuf>,
    /// Vignetting strength of the first camera (for the contrast fit).
    pub camera_vignetting: Option<f64>,
    /// The first lidar's intensity model and the road's water film (for the road-return fit);
    /// `None` without a lidar or when the film changes between frames.
    pub lidar_decay: Option<DecayModel>,
    pub notes: Vec<String>,
}

/// The dataset root of a synthetic input: the input itself or an ancestor (up to three levels,
/// e.g. for `DIR/training/velodyne/000000.bin`) holding `scenario.ron`.
fn dataset_root(p: &Path) -> Option<PathBuf> {
    let mut cur = if p.is_dir() { Some(p) } else { p.parent() };
    for _ in 0..4 {
        let d = cur?;
        if d.join("scenario.ron").is_file() {
            return Some(d.to_path_buf());
        }
        cur = d.parent();
    }
    None
}

/// The value of a `weather.KEY=VALUE` assignment (`set`, read from `manifest`) as a number;
/// `Ok(None)` for `None`.
pub fn set_number(set: &str, value: &str, manifest: &Path) -> Result<Option<f64>> {
    let v = value.trim();
    if v == "None" {
        return Ok(None);
    }
    let inner = v
        .strip_prefix("Some(")
        .and_then(|s| s.strip_suffix(')'))
        .unwrap_or(v);
    inner
        .trim()
        .parse::<f64>()
        .map(Some)
        .map_err(|_| RealityError::Field {
            path: manifest.into(),
            field: "vs:frames[].variation.sets".into(),
            what: format!("`{set}`: expected a number, Some(number) or None"),
        })
}

/// Weather keys whose per-frame draws the truth follows.
const DRAWN_KEYS: [&str; 4] = [
    "weather.fog_visibility_m",
    "weather.rain_mm_per_h",
    "weather.snow_mm_per_h",
    "weather.wetness",
];

/// What `manifest.json` says of the frames: for each drawn weather key, the distinct values the
/// frames were rendered with (absent = never varied), and the recorded brakings.
#[derive(Debug, Default)]
struct ManifestFacts {
    draws: BTreeMap<&'static str, Vec<Option<f64>>>,
    braking: Vec<BrakingTruth>,
}

fn manifest_facts(root: &Path) -> Result<ManifestFacts> {
    let path = root.join("manifest.json");
    let mut out = ManifestFacts::default();
    if !path.is_file() {
        return Ok(out);
    }
    let text = std::fs::read_to_string(&path).map_err(|e| RealityError::io(&path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| RealityError::parse(&path, e.line(), e.to_string()))?;
    let frames = v.get("vs:frames").and_then(|f| f.as_array());
    for f in frames.into_iter().flatten() {
        let sets = f
            .get("variation")
            .and_then(|d| d.get("sets"))
            .and_then(|s| s.as_array());
        for s in sets.into_iter().flatten().filter_map(|s| s.as_str()) {
            let Some((k, val)) = s.split_once('=') else {
                continue;
            };
            let Some(key) = DRAWN_KEYS.iter().find(|d| **d == k.trim()) else {
                continue;
            };
            let x = set_number(s, val, &path)?;
            let list = out.draws.entry(key).or_default();
            if !list.contains(&x) {
                list.push(x);
            }
        }
        if let Some(b) = f.get("braking") {
            let field = "vs:frames[].braking";
            let bad = |what: &str| RealityError::Field {
                path: path.clone(),
                field: field.into(),
                what: what.into(),
            };
            let num = |k: &str| {
                b.get(k)
                    .and_then(|x| x.as_f64())
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| bad(&format!("`{k}`: expected a finite number")))
            };
            let (decel, mu) = (num("decel_m_per_s2")?, num("mu")?);
            if mu <= 0.0 {
                return Err(bad("`mu`: expected a positive friction coefficient"));
            }
            out.braking.push(BrakingTruth {
                frame: f.get("frame").and_then(|x| x.as_u64()).unwrap_or(0) as u32,
                instance_id: b.get("instance_id").and_then(|x| x.as_u64()).unwrap_or(0) as u32,
                decel_m_per_s2: decel,
                mu,
            });
        }
    }
    Ok(out)
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map_or("none".into(), |x| format!("{x}"))
}

/// Reads the truth of one synthetic dataset. `Ok(None)` when the input is not a verisim
/// dataset (no `scenario.ron`).
pub fn truth_of_dataset(input: &Path) -> Result<Option<DatasetTruth>> {
    let Some(root) = dataset_root(input) else {
        return Ok(None);
    };
    let path = root.join("scenario.ron");
    let (scenario, _) = crate::scenario::load(&path).map_err(|e| RealityError::Dataset {
        path: path.clone(),
        what: e.to_string(),
    })?;
    let w = &scenario.weather;
    let snowing = w.snow_mm_per_h > 1e-4;
    let mut wetness = w.wetness as f64;
    let mut t = DatasetTruth {
        truth: PhysicalTruth {
            fog_visibility_m: w.fog_visibility_m.map(f64::from),
            rain_mm_per_h: (w.rain_mm_per_h > 0.0).then_some(w.rain_mm_per_h as f64),
            snow_mm_per_h: snowing.then_some(w.snow_mm_per_h as f64),
            ..Default::default()
        },
        scenario: Some(path.clone()),
        camera_vignetting: scenario.rig.cameras.first().map(|c| c.vignetting as f64),
        lidar_decay: scenario.rig.lidars.first().map(|l| DecayModel {
            falloff_range_m: crate::sensors::lidar::INTENSITY_FALLOFF_RANGE_M as f64,
            overlap_full_m: l.overlap_full_m.max(l.overlap_start_m) as f64,
            wetness: 0.0, // set below, once the draws are known
            road_backscatter: road_backscatter(),
        }),
        notes: Vec::new(),
    };
    let facts = manifest_facts(&root)?;
    t.truth.braking = facts.braking;
    for (key, values) in &facts.draws {
        let single = (values.len() == 1).then(|| values[0]);
        let listed = || {
            values
                .iter()
                .map(|x| fmt_opt(*x))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match *key {
            "weather.fog_visibility_m" => {
                t.truth.fog_visibility_m = single.flatten();
                if single.is_none() {
                    t.notes.push(format!(
                        "fog visibility varies between frames ({}): not checked on the pooled frames",
                        listed()
                    ));
                }
            }
            "weather.rain_mm_per_h" => {
                t.truth.rain_mm_per_h = single.flatten().filter(|r| *r > 0.0);
                if single.is_none() {
                    t.notes.push(
                        "rain rate varies between frames: rain extinction not checked on the \
                         pooled frames"
                            .into(),
                    );
                }
            }
            "weather.snow_mm_per_h" => {
                t.truth.snow_mm_per_h = single.flatten().filter(|r| *r > 1e-4);
                if single.is_none() {
                    t.lidar_decay = None;
                    t.notes.push(
                        "snow rate varies between frames: lidar extinction not fitted".into(),
                    );
                }
            }
            _ => match single.flatten() {
                Some(wet) => wetness = wet,
                None => {
                    t.lidar_decay = None;
                    t.notes.push(format!(
                        "road wetness varies between frames ({}): lidar extinction not fitted",
                        listed()
                    ));
                }
            },
        }
    }
    // The lidar sees a snow-covered road, not a water film, while it snows (sensors::lidar).
    if let Some(m) = t.lidar_decay.as_mut() {
        m.wetness = if t.truth.snow_mm_per_h.is_some() {
            0.0
        } else {
            wetness
        };
    }
    if !scenario.weather_changes.is_empty() {
        t.truth.rain_mm_per_h = None;
        t.lidar_decay = None;
        t.notes.push(
            "the scenario changes the weather during the run (weather_changes): rain extinction \
             and the lidar's extinction not checked"
                .into(),
        );
    }
    Ok(Some(t))
}

/// The truth for a check: read from the synthetic datasets (which must agree), then each field
/// given on the command line (`explicit`) replaces what was read.
pub fn resolve(synthetic: &[PathBuf], explicit: &PhysicalTruth) -> Result<DatasetTruth> {
    let mut found: Option<(PathBuf, DatasetTruth)> = None;
    let weather = |t: &PhysicalTruth| (t.fog_visibility_m, t.rain_mm_per_h, t.snow_mm_per_h);
    for p in synthetic {
        let Some(t) = truth_of_dataset(p)? else {
            continue;
        };
        match &mut found {
            Some((q, f)) if weather(&f.truth) != weather(&t.truth) => {
                return Err(RealityError::Dataset {
                    path: p.clone(),
                    what: format!(
                        "rendered with other weather than {} (fog {} vs {} m, rain {} vs {} mm/h, \
                         snow {} vs {} mm/h); check them one at a time or give \
                         --truth-visibility-m/--truth-rain-mm-per-h",
                        q.display(),
                        fmt_opt(t.truth.fog_visibility_m),
                        fmt_opt(f.truth.fog_visibility_m),
                        fmt_opt(t.truth.rain_mm_per_h),
                        fmt_opt(f.truth.rain_mm_per_h),
                        fmt_opt(t.truth.snow_mm_per_h),
                        fmt_opt(f.truth.snow_mm_per_h),
                    ),
                });
            }
            Some((q, f)) => {
                f.truth.braking.extend(t.truth.braking);
                if f.lidar_decay != t.lidar_decay {
                    f.lidar_decay = None;
                    f.notes.push(format!(
                        "{} and {} differ in lidar or road wetness: lidar extinction not fitted",
                        q.display(),
                        p.display()
                    ));
                }
            }
            None => found = Some((p.clone(), t)),
        }
    }
    let mut out = found.map(|f| f.1).unwrap_or_default();
    let e = explicit;
    if e.fog_visibility_m.is_some() {
        out.truth.fog_visibility_m = e.fog_visibility_m;
        out.notes
            .push("fog visibility from the command line".into());
    }
    if e.rain_mm_per_h.is_some() {
        out.truth.rain_mm_per_h = e.rain_mm_per_h;
        out.notes.push("rain rate from the command line".into());
    }
    if e.friction_mu.is_some() {
        out.truth.friction_mu = e.friction_mu;
    }
    if !e.decelerations_m_per_s2.is_empty() {
        out.truth.decelerations_m_per_s2 = e.decelerations_m_per_s2.clone();
    }
    Ok(out)
}

/// Backscatter terms of the road surface (the map's roads are `asphalt`).
fn road_backscatter() -> (f64, f64) {
    use crate::scenario::materials;
    let (a, b) = materials::table()[materials::id("asphalt") as usize].lidar_backscatter_terms();
    (a as f64, b as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A dataset directory holding the snow intersection as `scenario.ron` and a manifest whose
    /// frames carry `frames` (each a JSON frame entry).
    fn dataset(frames: serde_json::Value) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let scene = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/snow_intersection.ron");
        std::fs::copy(scene, dir.path().join("scenario.ron")).unwrap();
        let m = json!({ "vs:frames": frames });
        std::fs::write(dir.path().join("manifest.json"), m.to_string()).unwrap();
        dir
    }

    fn sets(s: &[&str]) -> serde_json::Value {
        json!({ "frame": 0, "variation": { "sets": s } })
    }

    #[test]
    fn the_lidar_sees_snow_cover_or_the_drawn_water_film() {
        // snow_intersection: 2 mm/h of snow, wetness 0.2: the road is snow-covered.
        let d = dataset(json!([]));
        let t = truth_of_dataset(d.path()).unwrap().unwrap();
        assert_eq!(t.truth.snow_mm_per_h, Some(2.0));
        assert_eq!(t.lidar_decay.map(|m| m.wetness), Some(0.0));
        // Every frame drawn without snow and with a 0.7 film: the film counts.
        let d = dataset(json!([sets(&[
            "weather.snow_mm_per_h=0.0",
            "weather.wetness=0.7"
        ])]));
        let t = truth_of_dataset(d.path()).unwrap().unwrap();
        assert_eq!(t.truth.snow_mm_per_h, None);
        let wet = t.lidar_decay.map(|m| m.wetness).unwrap();
        assert!((wet - 0.7).abs() < 1e-6, "{wet}");
        // A film that varies between frames: no lidar fit, and the notes say why.
        let d = dataset(json!([
            sets(&["weather.snow_mm_per_h=0.0", "weather.wetness=0.2"]),
            sets(&["weather.snow_mm_per_h=0.0", "weather.wetness=0.5"])
        ]));
        let t = truth_of_dataset(d.path()).unwrap().unwrap();
        assert!(t.lidar_decay.is_none());
        assert!(
            t.notes.iter().any(|n| n.contains("wetness varies")),
            "{:?}",
            t.notes
        );
    }

    #[test]
    fn brakings_are_read_per_frame_and_bad_ones_named() {
        let b = |frame: u32, d: f64, mu: serde_json::Value| json!({ "frame": frame, "braking": { "instance_id": 4, "decel_m_per_s2": d, "mu": mu } });
        let d = dataset(json!([
            json!({"frame": 0}),
            b(1, 2.5, json!(0.3)),
            b(2, 7.0, json!(0.8))
        ]));
        let t = truth_of_dataset(d.path()).unwrap().unwrap();
        let got: Vec<(u32, f64, f64)> = t
            .truth
            .braking
            .iter()
            .map(|b| (b.frame, b.decel_m_per_s2, b.mu))
            .collect();
        assert_eq!(got, vec![(1, 2.5, 0.3), (2, 7.0, 0.8)]);
        for bad in [json!(0.0), json!("ice"), json!(null)] {
            let d = dataset(json!([b(5, 1.0, bad.clone())]));
            let e = truth_of_dataset(d.path()).unwrap_err().to_string();
            assert!(
                e.contains("manifest.json")
                    && e.contains("vs:frames[].braking")
                    && e.contains("`mu`"),
                "{bad}: {e}"
            );
        }
    }
}
