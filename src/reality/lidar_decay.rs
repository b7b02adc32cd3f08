//! Extinction from the synthetic lidar's own road returns (REFERENCE.md "Atmosphere and
//! weather"; `docs/lidar.md` for the intensity model): a hard target at range R through a medium
//! of extinction α returns P ∝ ρ·g(θ)·exp(−2αR)/R², and verisim's intensity is
//! I = k·P·R²·f²/(f² + R²) (f the sensor's range-response constant), so on a uniform flat road,
//! where cos θ = −z/R in the lidar frame,
//!
//!   y = ln I − ln g(θ) + ln(1 + R²/f²) − ln w(cos θ) = ln(k·ρ) − 2αR,
//!
//! g(θ) = A·cos θ + B·sin² θ the road material's backscatter (Oren–Nayar; Lambert's cos θ when
//! A = 1, B = 0), w the two-way transmission through a wet road's water film (1 when dry). The fit is a least
//! squares line through the median y of 2 m range bins; α̂ = −slope/2.
//!
//! Road points are those labelled `road` in `velodyne_labels` (lane paint has its own class, so
//! the surface has one reflectivity). With no intensity noise in the model, every road point of a
//! range bin is detected or none is: the signal-to-noise cut removes far bins whole and biases no
//! median. Points inside the optics' overlap zone and clipped intensities (I ≥ 0.999) are left
//! out. Unlike a comparison with real clear-air data, nothing here depends on how the real
//! sensor's intensities are calibrated.

use super::error::{RealityError, Result};
use super::readers::{read_bytes, read_lidar};
use crate::classes::Class;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const RANGE_BIN_M: f64 = 2.0;
pub const RANGE_BINS: usize = 60;
/// Nearest range fitted, whatever the optics (the road under the bumper is seen at grazing
/// incidence by few beams).
pub const MIN_RANGE_M: f64 = 5.0;
/// Points a bin needs (pooled over frames) to enter the fit.
pub const MIN_BIN_POINTS: usize = 20;
/// Bins the fit needs.
pub const MIN_BINS: usize = 4;

/// What the fit must know of the sensor and the road, from the dataset's scenario.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DecayModel {
    /// Range-response constant f of the intensity model (m).
    pub falloff_range_m: f64,
    /// Range from which the optics see the whole beam (m).
    pub overlap_full_m: f64,
    /// Water film on the road as the lidar sees it (0–1; 0 under snow).
    pub wetness: f64,
    /// The road material's backscatter terms `(A, B)`: g(θ) = A·cos θ + B·sin² θ.
    pub road_backscatter: (f64, f64),
}

/// Road samples y pooled over frames, per range bin.
#[derive(Debug, Clone, Default)]
pub struct DecayAcc {
    pub frames: usize,
    pub bins: Vec<Vec<f32>>,
}

/// The fitted extinction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecayFit {
    pub frames: usize,
    pub road_points: usize,
    pub bins_used: usize,
    pub range_span_m: (f64, f64),
    /// Extinction α (1/m) from the slope (negative values, noise in clear air, kept); `None`
    /// when fewer than [`MIN_BINS`] bins qualify.
    pub alpha_per_m: Option<f64>,
    /// Root-mean-square residual of the bin medians about the line.
    pub rms_residual: f64,
}

impl DecayAcc {
    pub fn new() -> Self {
        Self {
            frames: 0,
            bins: vec![Vec::new(); RANGE_BINS],
        }
    }

    /// Adds one frame: points (x, y, z, intensity in the lidar frame, intensity full scale 1)
    /// and their SemanticKITTI label words.
    pub fn add_frame(&mut self, points: &[[f32; 4]], labels: &[u32], m: &DecayModel) {
        let road = Class::Road.info().semantic_kitti_id as u32;
        let f2 = m.falloff_range_m * m.falloff_range_m;
        let r_min = MIN_RANGE_M.max(m.overlap_full_m);
        self.frames += 1;
        for (p, &l) in points.iter().zip(labels) {
            let (z, i) = (p[2] as f64, p[3] as f64);
            if l & 0xFFFF != road || z >= 0.0 || !(i > 0.0 && i < 0.999) {
                continue;
            }
            let r = (p[0] as f64).hypot(p[1] as f64).hypot(z);
            let k = (r / RANGE_BIN_M) as usize;
            if r < r_min || k >= RANGE_BINS {
                continue;
            }
            let cos = -z / r;
            let w = crate::sensors::lidar::wet_return_factor(cos as f32, m.wetness as f32) as f64;
            if w <= 0.0 {
                continue;
            }
            let (a, b) = m.road_backscatter;
            let g = crate::sensors::lidar::backscatter(a as f32, b as f32, cos as f32) as f64;
            let y = i.ln() - g.ln() + (1.0 + r * r / f2).ln() - w.ln();
            self.bins[k].push(y as f32);
        }
    }

    /// The line through the bin medians.
    pub fn fit(&self) -> DecayFit {
        let road_points = self.bins.iter().map(Vec::len).sum();
        let pts = super::hist::bin_medians(&self.bins, RANGE_BIN_M, MIN_BIN_POINTS);
        let mut fit = DecayFit {
            frames: self.frames,
            road_points,
            bins_used: pts.len(),
            range_span_m: (0.0, 0.0),
            alpha_per_m: None,
            rms_residual: 0.0,
        };
        if pts.len() < MIN_BINS {
            return fit;
        }
        let n = pts.len() as f64;
        let mx = pts.iter().map(|p| p.0).sum::<f64>() / n;
        let my = pts.iter().map(|p| p.1).sum::<f64>() / n;
        let sxx: f64 = pts.iter().map(|&(x, _)| (x - mx).powi(2)).sum();
        let sxy: f64 = pts.iter().map(|&(x, y)| (x - mx) * (y - my)).sum();
        let slope = sxy / sxx;
        fit.rms_residual = (pts
            .iter()
            .map(|&(x, y)| (y - my - slope * (x - mx)).powi(2))
            .sum::<f64>()
            / n)
            .sqrt();
        fit.range_span_m = (pts[0].0, pts[pts.len() - 1].0);
        fit.alpha_per_m = Some(-slope / 2.0);
        fit
    }
}

/// Reads a SemanticKITTI label file of `points` points.
fn read_labels(path: &Path, points: usize) -> Result<Vec<u32>> {
    let bytes = read_bytes(path)?;
    if bytes.len() != 4 * points {
        return Err(RealityError::Corrupt {
            path: path.into(),
            offset: bytes.len().min(4 * points) as u64,
            what: format!(
                "{} bytes, but its point cloud has {points} points (4 bytes each)",
                bytes.len()
            ),
        });
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Fits the extinction over the frames of a verisim dataset that have `velodyne` and
/// `velodyne_labels`. `Ok(None)` when no frame has both; a label file whose size disagrees with
/// its point cloud is an error naming it.
pub fn fit_dataset(ds: &super::Dataset, model: &DecayModel) -> Result<Option<DecayFit>> {
    let mut acc = DecayAcc::new();
    let mut any = false;
    for f in &ds.frames {
        let Some(lidar) = &f.lidar else { continue };
        let Some(labels_p) = super::dataset::sibling_of(lidar, "velodyne_labels", "label") else {
            continue;
        };
        any = true;
        let cloud = read_lidar(lidar)?;
        let labels = read_labels(&labels_p, cloud.points.len())?;
        acc.add_frame(&cloud.points, &labels, model);
    }
    Ok(any.then(|| acc.fit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRY: DecayModel = DecayModel {
        falloff_range_m: 60.0,
        overlap_full_m: 6.0,
        wetness: 0.0,
        road_backscatter: (1.0, 0.0),
    };

    /// Road points of a lidar 1.7 m above a flat road, with intensities from the model.
    fn road(alpha: f64, m: &DecayModel, rho: f64) -> (Vec<[f32; 4]>, Vec<u32>) {
        let road = Class::Road.info().semantic_kitti_id as u32;
        let (mut pts, mut lab) = (Vec::new(), Vec::new());
        for k in 0..1600 {
            let r = 3.0 + k as f64 * 0.05;
            let z = -1.7;
            let cos = -z / r;
            let w = crate::sensors::lidar::wet_return_factor(cos as f32, m.wetness as f32) as f64;
            let f2 = m.falloff_range_m.powi(2);
            let (a, b) = m.road_backscatter;
            let g = a * cos + b * (1.0 - cos * cos);
            let i = 0.4 * rho * g * w * (-2.0 * alpha * r).exp() * f2 / (f2 + r * r);
            let x = (r * r - z * z).sqrt();
            pts.push([x as f32, 0.0, z as f32, i as f32]);
            lab.push(road | 7 << 16);
        }
        (pts, lab)
    }

    #[test]
    fn recovers_alpha_of_model_returns_dry_and_wet() {
        use crate::scenario::materials;
        let rough = materials::table()[materials::id("asphalt") as usize].lidar_backscatter_terms();
        let rough = (rough.0 as f64, rough.1 as f64);
        assert!(rough.1 > 0.0, "asphalt is rough at 905 nm");
        for (alpha, wetness, road_backscatter) in [
            (0.0, 0.0, (1.0, 0.0)),
            (0.025, 0.0, (1.0, 0.0)),
            (0.06, 0.0, (1.0, 0.0)),
            (0.025, 0.8, (1.0, 0.0)),
            (0.0, 0.0, rough),
            (0.025, 0.0, rough),
            (0.025, 0.8, rough),
        ] {
            let m = DecayModel {
                wetness,
                road_backscatter,
                ..DRY
            };
            let (p, l) = road(alpha, &m, 0.2);
            let mut acc = DecayAcc::new();
            acc.add_frame(&p, &l, &m);
            let fit = acc.fit();
            let a = fit.alpha_per_m.expect("enough bins");
            assert!(
                (a - alpha).abs() < 2e-4,
                "α {alpha} wetness {wetness}: fitted {}",
                a
            );
            assert!(fit.range_span_m.0 >= 6.0, "overlap zone left out");
        }
    }

    #[test]
    fn ignoring_the_wet_film_would_bias_the_fit() {
        // The film's Fresnel loss grows with range (grazing incidence): fitted as dry, a wet
        // road reads as extinction where there is none.
        let wet = DecayModel {
            wetness: 0.8,
            ..DRY
        };
        let (p, l) = road(0.0, &wet, 0.2);
        let mut acc = DecayAcc::new();
        acc.add_frame(&p, &l, &DRY);
        let a = acc.fit().alpha_per_m.expect("enough bins");
        assert!(a > 0.005, "{a}");
    }

    #[test]
    fn other_classes_and_clipped_points_are_left_out() {
        let (mut p, mut l) = road(0.025, &DRY, 0.2);
        let paint = Class::LaneMarking.info().semantic_kitti_id as u32;
        for k in 0..200 {
            let r = 10.0 + k as f32 * 0.1;
            p.push([r, 0.0, -1.7, 0.9]);
            l.push(paint);
            p.push([r, 0.0, -1.7, 1.0]);
            l.push(Class::Road.info().semantic_kitti_id as u32);
        }
        let mut acc = DecayAcc::new();
        acc.add_frame(&p, &l, &DRY);
        let a = acc.fit().alpha_per_m.expect("enough bins");
        assert!((a - 0.025).abs() < 2e-4, "{a}");
    }

    #[test]
    fn too_few_road_points_give_no_fit() {
        let (p, l) = road(0.025, &DRY, 0.2);
        let mut acc = DecayAcc::new();
        acc.add_frame(&p[..180], &l[..180], &DRY);
        let fit = acc.fit();
        assert!(fit.alpha_per_m.is_none() && fit.road_points > 40, "{fit:?}");
    }

    #[test]
    fn a_label_file_of_the_wrong_size_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("verisim-decay-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("000000.label");
        std::fs::write(&p, [0u8; 10]).unwrap();
        let e = read_labels(&p, 3).unwrap_err().to_string();
        assert!(e.contains("000000.label") && e.contains("3 points"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
