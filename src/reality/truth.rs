//! Ground truth of a synthetic dataset, read from the dataset itself: `scenario.ron` (the
//! resolved scenario: file plus `--set` overrides, written by `verisim render`) and, for
//! scenarios with a `variations` block, the per-frame draws listed in `manifest.json`
//! (`vs:frames[].variation.sets`). CLI flags override what is found here.

use super::error::{RealityError, Result};
use super::physical::PhysicalTruth;
use std::path::{Path, PathBuf};

/// Where the truth of one synthetic input came from, and what could not be known.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetTruth {
    pub truth: PhysicalTruth,
    /// The `scenario.ron` read.
    pub scenario: Option<PathBuf>,
    /// Vignetting strength of the first camera (for the contrast fit).
    pub camera_vignetting: Option<f64>,
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

/// Per-frame weather draws from `manifest.json`: for each of fog and rain, the distinct values
/// the frames were rendered with (`None` = the key is never varied).
type Draws = (Option<Vec<Option<f64>>>, Option<Vec<Option<f64>>>);

fn manifest_draws(root: &Path) -> Result<Draws> {
    let path = root.join("manifest.json");
    if !path.is_file() {
        return Ok((None, None));
    }
    let text = std::fs::read_to_string(&path).map_err(|e| RealityError::io(&path, e))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| RealityError::parse(&path, e.line(), e.to_string()))?;
    let (mut fog, mut rain): Draws = (None, None);
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
            let slot = match k.trim() {
                "weather.fog_visibility_m" => &mut fog,
                "weather.rain_mm_per_h" => &mut rain,
                _ => continue,
            };
            let x = set_number(s, val, &path)?;
            let list = slot.get_or_insert_with(Vec::new);
            if !list.contains(&x) {
                list.push(x);
            }
        }
    }
    Ok((fog, rain))
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
    let mut t = DatasetTruth {
        truth: PhysicalTruth {
            fog_visibility_m: w.fog_visibility_m.map(f64::from),
            rain_mm_per_h: (w.rain_mm_per_h > 0.0).then_some(w.rain_mm_per_h as f64),
            ..Default::default()
        },
        scenario: Some(path.clone()),
        camera_vignetting: scenario.rig.cameras.first().map(|c| c.vignetting as f64),
        notes: Vec::new(),
    };
    let (fog, rain) = manifest_draws(&root)?;
    if let Some(v) = fog {
        if v.len() == 1 {
            t.truth.fog_visibility_m = v[0];
        } else {
            t.truth.fog_visibility_m = None;
            t.notes.push(format!(
                "fog visibility varies between frames ({}): not checked on the pooled frames",
                v.iter().map(|x| fmt_opt(*x)).collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if let Some(v) = rain {
        if v.len() == 1 {
            t.truth.rain_mm_per_h = v[0].filter(|r| *r > 0.0);
        } else {
            t.truth.rain_mm_per_h = None;
            t.notes.push(
                "rain rate varies between frames: rain extinction not checked on the pooled frames"
                    .into(),
            );
        }
    }
    if !scenario.weather_changes.is_empty() {
        t.truth.rain_mm_per_h = None;
        t.notes.push(
            "the scenario changes the weather during the run (weather_changes): rain extinction \
             not checked"
                .into(),
        );
    }
    Ok(Some(t))
}

/// The truth for a check: read from the synthetic datasets (which must agree), then each field
/// given on the command line (`explicit`) replaces what was read.
pub fn resolve(synthetic: &[PathBuf], explicit: &PhysicalTruth) -> Result<DatasetTruth> {
    let mut found: Option<(PathBuf, DatasetTruth)> = None;
    for p in synthetic {
        let Some(t) = truth_of_dataset(p)? else {
            continue;
        };
        match &found {
            Some((q, f)) if f.truth != t.truth => {
                return Err(RealityError::Dataset {
                    path: p.clone(),
                    what: format!(
                        "rendered with other weather than {} (fog {} vs {} m, rain {} vs {} mm/h); \
                         check them one at a time or give --truth-visibility-m/--truth-rain-mm-per-h",
                        q.display(),
                        fmt_opt(t.truth.fog_visibility_m),
                        fmt_opt(f.truth.fog_visibility_m),
                        fmt_opt(t.truth.rain_mm_per_h),
                        fmt_opt(f.truth.rain_mm_per_h),
                    ),
                });
            }
            Some(_) => {}
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
