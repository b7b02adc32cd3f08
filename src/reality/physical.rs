//! Physical-consistency checks where the synthetic scenario's ground truth is known
//! (REFERENCE.md "Atmosphere and weather", "Road and vehicle").
//!
//! Lidar extinction is fitted inside the synthetic dataset from its road returns
//! ([`super::lidar_decay`]): α̂ = −slope/2 of the range-corrected ln intensity. The lidar's fog
//! visibility is a meteorological optical range, MOR = ln(20)/α (the lidar model's definition,
//! REFERENCE.md); rain extinction is compared with the Marshall–Palmer geometric-optics law
//! α = 3.65e-4·R^0.63 /m. The camera's visibility is Koschmieder's, V = 3.912/σ.
//! Decelerations, recorded per frame in the dataset's manifest with the friction the vehicle had,
//! must stay within μ·g.

use super::contrast::{ContrastFit, NO_FOG_VISIBILITY_M};
use super::lidar_decay::DecayFit;
use serde::{Deserialize, Serialize};

/// Ground truth of the synthetic scenario, filled by the caller.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PhysicalTruth {
    pub fog_visibility_m: Option<f64>,
    pub rain_mm_per_h: Option<f64>,
    #[serde(default)]
    pub snow_mm_per_h: Option<f64>,
    /// Friction for `decelerations_m_per_s2` (given on the command line).
    pub friction_mu: Option<f64>,
    /// Decelerations the scenario's vehicles reached (positive numbers, m/s²), all under
    /// `friction_mu`.
    pub decelerations_m_per_s2: Vec<f64>,
    /// Hardest braking recorded by the dataset, each with the friction it was under.
    #[serde(default)]
    pub braking: Vec<BrakingTruth>,
}

/// One recorded braking: a vehicle's deceleration and its tyre–road friction at that moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct BrakingTruth {
    pub frame: u32,
    pub instance_id: u32,
    pub decel_m_per_s2: f64,
    pub mu: f64,
}

/// Fits made inside the synthetic dataset, where depth and labels are exact.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetFits {
    pub camera: Option<ContrastFit>,
    pub lidar: Option<DecayFit>,
}

/// ln(20): the lidar's fog visibility is the range of 5% transmittance.
pub const LN_20: f64 = 2.995_732_273_553_991;

/// Relative slack on μ·g: decelerations are recovered from f32 speed steps (Δv/dt, errors of
/// a few 1e-5 relative), and the engine brakes with g = 9.81 against standard gravity here
/// (3.4e-4 relative).
pub const DECELERATION_SLACK: f64 = 1e-3;

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

/// The snow's extinction by the engine's Gunn–Marshall law (no closed form in REFERENCE.md).
fn snow_extinction_per_m(truth: &PhysicalTruth) -> f64 {
    truth.snow_mm_per_h.map_or(0.0, |s| {
        crate::physics::precip::snow_extinction_per_m(s as f32) as f64
    })
}

/// Fog visibility from the lidar's road returns: the fitted extinction less rain's and snow's,
/// as an optical range ln(20)/α. With no fog configured the fit must find none.
fn lidar_visibility_check(truth: &PhysicalTruth, fit: &DecayFit, tol: f64) -> PhysicalResult {
    let other = truth
        .rain_mm_per_h
        .map(rain_extinction_per_m)
        .unwrap_or(0.0)
        + snow_extinction_per_m(truth);
    let fog = fit.alpha_per_m.map(|a| a - other);
    let est = fog.and_then(|f| (f > 0.0).then(|| LN_20 / f));
    let note = match fit.alpha_per_m {
        Some(a) => format!(
            "{} frames, {} road returns, {} range bins {:.0}–{:.0} m, α = {a:.5} /m, rms {:.3}",
            fit.frames,
            fit.road_points,
            fit.bins_used,
            fit.range_span_m.0,
            fit.range_span_m.1,
            fit.rms_residual
        ),
        None => format!(
            "{} frames, {} road returns: too few range bins to fit (the road fades out of \
             detection too near), not checked",
            fit.frames, fit.road_points
        ),
    };
    match truth.fog_visibility_m {
        Some(v) => {
            let rel = est.map(|e| (e - v).abs() / v);
            PhysicalResult {
                id: "physical.visibility_lidar".into(),
                law: "road returns I ∝ cos θ·exp(−2αR), MOR = ln(20)/α".into(),
                truth: v,
                estimate: est,
                relative_error: rel,
                tolerance: tol,
                pass: fit.alpha_per_m.is_none() || rel.is_some_and(|r| r <= tol),
                note,
            }
        }
        None => PhysicalResult {
            id: "physical.visibility_lidar".into(),
            law: format!(
                "no fog: road returns do not fade beyond rain and snow (MOR ≥ {NO_FOG_VISIBILITY_M} m)"
            ),
            truth: NO_FOG_VISIBILITY_M,
            estimate: est,
            relative_error: None,
            tolerance: tol,
            pass: est.is_none_or(|e| e >= NO_FOG_VISIBILITY_M),
            note,
        },
    }
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
    fits: &DatasetFits,
    tolerance: f64,
) -> Vec<PhysicalResult> {
    let mut out = Vec::new();
    if let Some(fit) = &fits.lidar {
        out.push(lidar_visibility_check(truth, fit, tolerance));
    }
    if let Some(fit) = &fits.camera {
        out.push(camera_visibility_check(truth, fit, tolerance));
    }
    if let (Some(r), Some(fit)) = (truth.rain_mm_per_h, &fits.lidar) {
        let want = rain_extinction_per_m(r);
        let separable = truth.fog_visibility_m.is_none() && truth.snow_mm_per_h.is_none();
        let est = fit.alpha_per_m.filter(|_| separable);
        let rel = est.map(|e| (e - want).abs() / want.max(1e-12));
        out.push(PhysicalResult {
            id: "physical.rain_extinction".into(),
            law: "α = 3.65e-4·R^0.63 /m (Marshall–Palmer, Q_ext ≈ 2), from road returns".into(),
            truth: want,
            estimate: est,
            relative_error: rel,
            tolerance,
            pass: !separable || rel.is_some_and(|x| x <= tolerance),
            note: if separable {
                String::new()
            } else {
                "fog or snow as well: rain extinction not separable (not checked)".into()
            },
        });
    }
    if let Some(r) = deceleration_check(truth) {
        out.push(r);
    }
    out
}

/// Every braking (recorded in the dataset, or given with one μ on the command line) within μ·g:
/// reports the hardest relative to its own limit.
fn deceleration_check(truth: &PhysicalTruth) -> Option<PhysicalResult> {
    // (deceleration, μ, the recorded braking it came from; None = given on the command line)
    let (flagged, flag_mu) = match truth.friction_mu {
        Some(mu) => (&truth.decelerations_m_per_s2[..], mu),
        None => (&[][..], 0.0),
    };
    let samples = truth
        .braking
        .iter()
        .map(|b| (b.decel_m_per_s2, b.mu, Some(b)))
        .chain(flagged.iter().map(|&d| (d, flag_mu, None)));
    let count = truth.braking.len() + flagged.len();
    let (decel, mu, from) = samples.max_by(|a, b| (a.0 / a.1).total_cmp(&(b.0 / b.1)))?;
    let at = match from {
        Some(b) if b.instance_id == 0 => format!("the ego before frame {}", b.frame),
        Some(b) => format!("instance {} before frame {}", b.instance_id, b.frame),
        None => "given on the command line".to_string(),
    };
    let limit = mu * G_M_PER_S2;
    Some(PhysicalResult {
        id: "physical.deceleration".into(),
        law: "deceleration ≤ μ·g (each braking under its own friction)".into(),
        truth: limit,
        estimate: Some(decel),
        relative_error: Some(((decel - limit) / limit).max(0.0)),
        tolerance: DECELERATION_SLACK,
        pass: decel <= limit * (1.0 + DECELERATION_SLACK),
        note: format!(
            "{count} brakings; the hardest relative to its limit: {decel:.2} m/s² at μ = {mu:.3}, {at}"
        ),
    })
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
        let none = DatasetFits::default();
        assert!(physical_checks(&t, &none, 0.25)[0].pass);
        let t = PhysicalTruth {
            decelerations_m_per_s2: vec![5.0],
            ..t
        };
        assert!(!physical_checks(&t, &none, 0.25)[0].pass);
    }

    #[test]
    fn recorded_brakings_are_each_held_to_their_own_friction() {
        let b = |decel, mu| BrakingTruth {
            frame: 3,
            instance_id: 7,
            decel_m_per_s2: decel,
            mu,
        };
        let none = DatasetFits::default();
        // 7 m/s² on dry road (μ 0.8) is fine; 4 m/s² on ice (μ 0.1) is not.
        let t = PhysicalTruth {
            braking: vec![b(7.0, 0.8), b(0.9, 0.1)],
            ..Default::default()
        };
        let r = physical_checks(&t, &none, 0.25);
        assert!(r[0].pass, "{r:?}");
        let t = PhysicalTruth {
            braking: vec![b(7.0, 0.8), b(4.0, 0.1)],
            ..Default::default()
        };
        let r = &physical_checks(&t, &none, 0.25)[0];
        assert!(!r.pass);
        assert_eq!(r.estimate, Some(4.0));
        assert!(r.note.contains("instance 7 before frame 3"), "{}", r.note);
    }

    fn fit(alpha: Option<f64>) -> DatasetFits {
        DatasetFits {
            lidar: Some(DecayFit {
                frames: 2,
                road_points: 5000,
                bins_used: 12,
                range_span_m: (7.0, 41.0),
                alpha_per_m: alpha,
                rms_residual: 0.01,
            }),
            camera: None,
        }
    }

    #[test]
    fn lidar_visibility_is_an_optical_range_net_of_rain() {
        let t = PhysicalTruth {
            fog_visibility_m: Some(100.0),
            rain_mm_per_h: Some(10.0),
            ..Default::default()
        };
        let alpha = LN_20 / 100.0 + rain_extinction_per_m(10.0);
        let r = physical_checks(&t, &fit(Some(alpha)), 0.25);
        assert!((r[0].estimate.unwrap() - 100.0).abs() < 1e-6, "{r:?}");
        assert!(r[0].pass);
        // Half the extinction reads as twice the visibility: fails.
        let r = physical_checks(&t, &fit(Some(alpha / 2.0)), 0.25);
        assert!(!r[0].pass, "{r:?}");
        // Rain with fog is not separable: reported, not failed.
        assert_eq!(r[1].id, "physical.rain_extinction");
        assert!(r[1].pass && r[1].estimate.is_none());
        // No fit (the road fades out of detection within a few bins): reported, not checked.
        let r = physical_checks(&t, &fit(None), 0.25);
        assert!(r[0].pass && r[0].estimate.is_none() && r[0].note.contains("not checked"));
    }

    #[test]
    fn clear_air_must_fit_no_fog_and_rain_alone_its_law() {
        let clear = PhysicalTruth::default();
        assert!(physical_checks(&clear, &fit(Some(1e-4)), 0.25)[0].pass);
        assert!(!physical_checks(&clear, &fit(Some(0.01)), 0.25)[0].pass);
        let rain = PhysicalTruth {
            rain_mm_per_h: Some(50.0),
            ..Default::default()
        };
        let want = rain_extinction_per_m(50.0);
        let r = physical_checks(&rain, &fit(Some(want * 1.1)), 0.25);
        assert!(r.iter().all(|c| c.pass), "{r:?}");
        let r = physical_checks(&rain, &fit(Some(want * 2.0)), 0.25);
        assert!(!r[1].pass, "{r:?}");
    }
}
