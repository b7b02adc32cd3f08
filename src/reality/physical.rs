//! Physical-consistency checks where the synthetic scenario's ground truth is known
//! (REFERENCE.md "Atmosphere and weather", "Road and vehicle").
//!
//! Lidar extinction: a hard-target return through an attenuating medium carries
//! exp(−2αR); with per-point intensities normalised to full scale, the mean ln(intensity) per
//! 10 m range band falls with slope −2α relative to clear air. The real (clear-weather) profile
//! supplies the clear-air slope, so α̂ = −(slope_synth − slope_real)/2. Fog visibility follows from
//! Koschmieder, V = 3.912/α; rain extinction is compared with the Marshall–Palmer geometric-optics
//! law α = 3.65e-4·R^0.63 /m.

use super::contrast::{ContrastFit, NO_FOG_VISIBILITY_M};
use super::lidar::{LidarAgg, RANGE_BAND_M};
use serde::{Deserialize, Serialize};

/// Ground truth of the synthetic scenario, filled by the caller.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhysicalTruth {
    pub fog_visibility_m: Option<f64>,
    pub rain_mm_per_h: Option<f64>,
    pub friction_mu: Option<f64>,
    /// Decelerations the scenario's vehicles reached (positive numbers, m/s²).
    pub decelerations_m_per_s2: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhysicalResult {
    pub id: String,
    pub law: String,
    pub truth: f64,
    pub estimate: Option<f64>,
    pub relative_error: Option<f64>,
    pub tolerance: f64,
    pub pass: bool,
    pub note: String,
}

pub const G_M_PER_S2: f64 = 9.80665;

/// Marshall–Palmer rain extinction, geometric optics (Q_ext ≈ 2), per metre.
pub fn rain_extinction_per_m(rain_mm_per_h: f64) -> f64 {
    3.65e-4 * rain_mm_per_h.max(0.0).powf(0.63)
}

/// Least-squares slope of mean ln(intensity) against band-centre range over bands 5–65 m where
/// both profiles have at least 200 points.
fn ln_intensity_slope(a: &LidarAgg, gate: &LidarAgg) -> Option<f64> {
    let y = a.ln_intensity_by_band();
    let (mut sx, mut sy, mut sxx, mut sxy, mut n) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for (b, &yb) in y.iter().enumerate().take(7) {
        if a.count_by_band[b] < 200.0 || gate.count_by_band[b] < 200.0 || !yb.is_finite() {
            continue;
        }
        let x = (b as f64 + 0.5) * RANGE_BAND_M;
        sx += x;
        sy += yb;
        sxx += x * x;
        sxy += x * yb;
        n += 1.0;
    }
    (n >= 3.0).then(|| (n * sxy - sx * sy) / (n * sxx - sx * sx))
}

/// Extinction coefficient (1/m) of the synthetic data relative to the clear real profile.
pub fn lidar_extinction_estimate(synth: &LidarAgg, real_clear: &LidarAgg) -> Option<f64> {
    let s = ln_intensity_slope(synth, real_clear)?;
    let r = ln_intensity_slope(real_clear, synth)?;
    Some((-(s - r) / 2.0).max(0.0))
}

/// Visibility from the camera's contrast against depth (see [`super::contrast`]). Rain and snow
/// add to the extinction the camera sees, so the rain's Marshall–Palmer share is taken off
/// before comparing with the fog visibility. With no fog configured the fit must find none.
fn camera_visibility_check(truth: &PhysicalTruth, fit: &ContrastFit, tol: f64) -> PhysicalResult {
    let rain_alpha = truth
        .rain_mm_per_h
        .map(rain_extinction_per_m)
        .unwrap_or(0.0);
    let sigma = fit.sigma_per_m - rain_alpha;
    let span = format!(
        "{} frames, {} road pixels, {} range bins {:.0}–{:.0} m, σ = {:.5} /m",
        fit.frames,
        fit.road_pixels,
        fit.bins_used,
        fit.range_span_m.0,
        fit.range_span_m.1,
        fit.sigma_per_m
    );
    match truth.fog_visibility_m {
        Some(v) => {
            let est = (sigma > 0.0).then(|| 3.912 / sigma);
            let rel = est.map(|e| (e - v).abs() / v);
            PhysicalResult {
                id: "physical.visibility_camera".into(),
                law: "C(d) = C0·exp(−σd), σ = 3.912/V (Koschmieder, road contrast vs depth_2)"
                    .into(),
                truth: v,
                estimate: est,
                relative_error: rel,
                tolerance: tol,
                pass: rel.is_some_and(|r| r <= tol),
                note: span,
            }
        }
        None => {
            let est = (sigma > 0.0).then(|| 3.912 / sigma);
            PhysicalResult {
                id: "physical.visibility_camera".into(),
                law: format!(
                    "no fog: contrast does not fall with range (V ≥ {NO_FOG_VISIBILITY_M} m)"
                ),
                truth: NO_FOG_VISIBILITY_M,
                estimate: est,
                relative_error: None,
                tolerance: tol,
                pass: est.is_none_or(|e| e >= NO_FOG_VISIBILITY_M),
                note: span,
            }
        }
    }
}

pub fn physical_checks(
    truth: &PhysicalTruth,
    synth: &LidarAgg,
    real: &LidarAgg,
    tolerance: f64,
    camera: Option<&ContrastFit>,
) -> Vec<PhysicalResult> {
    let mut out = Vec::new();
    let alpha = if synth.frames > 0 && real.frames > 0 {
        lidar_extinction_estimate(synth, real)
    } else {
        None
    };
    let rain_alpha = truth
        .rain_mm_per_h
        .map(rain_extinction_per_m)
        .unwrap_or(0.0);
    if let Some(v) = truth.fog_visibility_m {
        let est = alpha.and_then(|a| {
            let fog = a - rain_alpha;
            (fog > 0.0).then(|| 3.912 / fog)
        });
        let rel = est.map(|e| (e - v).abs() / v);
        out.push(PhysicalResult {
            id: "physical.visibility_lidar".into(),
            law: "I ∝ exp(−2αR), V = 3.912/α (Koschmieder)".into(),
            truth: v,
            estimate: est,
            relative_error: rel,
            tolerance,
            pass: rel.is_some_and(|r| r <= tolerance),
            note: if alpha.is_none() {
                "not enough lidar returns in 5–65 m to fit".into()
            } else {
                String::new()
            },
        });
    }
    if let Some(fit) = camera {
        out.push(camera_visibility_check(truth, fit, tolerance));
    }
    if let Some(r) = truth.rain_mm_per_h {
        let want = rain_extinction_per_m(r);
        let est = if truth.fog_visibility_m.is_some() {
            None
        } else {
            alpha
        };
        let rel = est.map(|e| (e - want).abs() / want.max(1e-12));
        out.push(PhysicalResult {
            id: "physical.rain_extinction".into(),
            law: "α = 3.65e-4·R^0.63 /m (Marshall–Palmer, Q_ext ≈ 2)".into(),
            truth: want,
            estimate: est,
            relative_error: rel,
            tolerance,
            pass: rel.is_some_and(|x| x <= tolerance),
            note: if truth.fog_visibility_m.is_some() {
                "fog and rain together: rain extinction not separable".into()
            } else {
                String::new()
            },
        });
    }
    if let Some(mu) = truth.friction_mu
        && !truth.decelerations_m_per_s2.is_empty()
    {
        let limit = mu * G_M_PER_S2;
        let worst = truth
            .decelerations_m_per_s2
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        out.push(PhysicalResult {
            id: "physical.deceleration".into(),
            law: "deceleration ≤ μ·g".into(),
            truth: limit,
            estimate: Some(worst),
            relative_error: Some(((worst - limit) / limit).max(0.0)),
            tolerance: 1e-6,
            pass: worst <= limit * (1.0 + 1e-6),
            note: String::new(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marshall_palmer_values_from_reference() {
        // REFERENCE.md: 1 mm/h → 0.36 /km; 10 → 1.6 /km; 50 → 4.3 /km
        assert!((rain_extinction_per_m(1.0) * 1e3 - 0.365).abs() < 0.01);
        assert!((rain_extinction_per_m(10.0) * 1e3 - 1.55).abs() < 0.1);
        assert!((rain_extinction_per_m(50.0) * 1e3 - 4.3).abs() < 0.15);
    }

    #[test]
    fn deceleration_gate() {
        let t = PhysicalTruth {
            friction_mu: Some(0.5),
            decelerations_m_per_s2: vec![3.0, 4.9],
            ..Default::default()
        };
        let agg = LidarAgg::new(&super::super::lidar::SensorModel::hdl64e());
        assert!(physical_checks(&t, &agg, &agg, 0.25, None)[0].pass);
        let t = PhysicalTruth {
            decelerations_m_per_s2: vec![5.0],
            ..t
        };
        assert!(!physical_checks(&t, &agg, &agg, 0.25, None)[0].pass);
    }
}
