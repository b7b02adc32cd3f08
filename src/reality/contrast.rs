//! Fog visibility from the synthetic camera's contrast against ground-truth depth (Koschmieder,
//! REFERENCE.md "Atmosphere and weather"): a surface of radiance L0 seen through fog at range d
//! has L(d) = L0·e^(−σd) + A·(1 − e^(−σd)), A the airlight (the horizon sky, which every sky
//! pixel shows in fog), so its contrast against the airlight C(d) = (L − A)/A = C0·e^(−σd) and
//! V = 3.912/σ.
//!
//! Uses a verisim dataset's `image_2` (sRGB, decoded to linear with the camera's inverse tone
//! curve), `depth_2` (uint16, metres × 256) and `semantic_2` (verisim class ids), plus P2 from
//! `calib` for the range along each pixel's ray (lens distortion ignored: under 1% on the road),
//! and the camera's cos⁴ vignetting strength from the dataset's scenario: without undoing it the
//! near road (image bottom) and the sky (image top) read darker than the far road at the centre,
//! which alone biased the fitted visibility of a 60 m fog render to 39 m.
//! Road pixels are the uniform surface: one albedo, lit alike, seen at every range from a few
//! metres to the horizon. Contrast is normalised by each frame's airlight (the mean of its
//! unclipped sky pixels), so frames with different auto exposure pool. The fit is
//! C(d) = C∞ + C0·e^(−σd) on the median contrast of 1 m range bins (each bin one point):
//! C∞ absorbs what the sky mean misses of the true airlight (2% of A on the fog highway), σ is
//! found by a scan and golden-section refinement, C∞ and C0 by linear least squares. Clear air
//! gives a flat contrast: when the fitted curve changes by less than [`MIN_CONTRAST_CHANGE`]
//! over the ranges seen, or σ is below 3.912/[`NO_FOG_VISIBILITY_M`], it reads as "no fog".

use super::dataset::sibling_of;
use super::error::{RealityError, Result};
use crate::classes::Class;
use crate::sensors::camera_model::linear_from_code;
use serde::{Deserialize, Serialize};
use std::path::Path;

pub const RANGE_BIN_M: f64 = 1.0;
pub const RANGE_BINS: usize = 200;
/// Nearest range used (the road right under the bonnet sees the car's own shadow in real data).
pub const MIN_RANGE_M: f64 = 4.0;
/// Smallest change of fitted contrast over the observed ranges that counts as fog (clear air
/// on the fog highway: 0.03 from residual shading; 5 km of visibility over 5–100 m: 0.06).
pub const MIN_CONTRAST_CHANGE: f64 = 0.05;
/// Pixels a range bin needs (pooled over frames) to enter the fit.
pub const MIN_BIN_PIXELS: usize = 30;
/// Fitted visibilities beyond this (σ < 3.912/5000 m) mean no measurable fog.
pub const NO_FOG_VISIBILITY_M: f64 = 5000.0;
/// Sky pixels with a channel at or above this code are clipped and say nothing about A.
const SKY_CLIP_CODE: u8 = 250;

/// Contrast samples pooled over frames, per 1 m range bin.
#[derive(Debug, Clone, Default)]
pub struct ContrastAcc {
    pub frames: usize,
    /// Frames skipped because they had no unclipped sky pixel (airlight unknown).
    pub frames_without_airlight: usize,
    pub bins: Vec<Vec<f32>>,
}

/// The fitted extinction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContrastFit {
    pub frames: usize,
    pub road_pixels: usize,
    /// Range bins used by the fit and the range they span (m).
    pub bins_used: usize,
    pub range_span_m: (f64, f64),
    /// Fitted extinction (1/m); 0 when contrast does not change with range.
    pub sigma_per_m: f64,
    /// Contrast extrapolated to range 0 (C∞ + C0) and at infinite range (C∞).
    pub contrast_at_zero: f64,
    pub contrast_at_infinity: f64,
}

impl ContrastFit {
    /// Koschmieder visibility 3.912/σ, `None` for no measurable fog.
    pub fn visibility_m(&self) -> Option<f64> {
        (self.sigma_per_m > 3.912 / NO_FOG_VISIBILITY_M).then(|| 3.912 / self.sigma_per_m)
    }
}

/// Weighted-free linear least squares of m = c∞ + c0·e^(−σd): (c∞, c0, sse).
fn solve(pts: &[(f64, f64)], sigma: f64) -> (f64, f64, f64) {
    let n = pts.len() as f64;
    let (mut se, mut see, mut sm, mut sem) = (0.0, 0.0, 0.0, 0.0);
    for &(d, m) in pts {
        let e = (-sigma * d).exp();
        se += e;
        see += e * e;
        sm += m;
        sem += e * m;
    }
    let det = n * see - se * se;
    if det.abs() < 1e-12 {
        return (
            sm / n,
            0.0,
            pts.iter().map(|p| (p.1 - sm / n).powi(2)).sum(),
        );
    }
    let c0 = (n * sem - se * sm) / det;
    let cinf = (sm - c0 * se) / n;
    let sse = pts
        .iter()
        .map(|&(d, m)| (m - cinf - c0 * (-sigma * d).exp()).powi(2))
        .sum();
    (cinf, c0, sse)
}

fn luminance_linear(px: &[u8]) -> f32 {
    0.2126 * linear_from_code(px[0])
        + 0.7152 * linear_from_code(px[1])
        + 0.0722 * linear_from_code(px[2])
}

/// Camera intrinsics (fx, fy, cx, cy) from a KITTI calib's P2.
pub fn intrinsics_from_p2(path: &Path, p2: Option<&Vec<f64>>) -> Result<[f64; 4]> {
    match p2 {
        Some(p) if p.len() == 12 && p[0] > 0.0 && p[5] > 0.0 => Ok([p[0], p[5], p[2], p[6]]),
        _ => Err(RealityError::Field {
            path: path.into(),
            field: "P2".into(),
            what: "expected 12 numbers with positive focal lengths".into(),
        }),
    }
}

impl ContrastAcc {
    pub fn new() -> Self {
        Self {
            bins: vec![Vec::new(); RANGE_BINS],
            ..Default::default()
        }
    }

    /// Adds one frame: `rgb` (3 bytes per pixel), `depth` (metres × 256, 0 = none), `semantic`
    /// (verisim class ids), all `width` × `height`.
    // The buffers of one frame side by side, as the dataset stores them; a wrapper struct
    // would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn add_frame(
        &mut self,
        width: usize,
        height: usize,
        rgb: &[u8],
        depth: &[u16],
        semantic: &[u8],
        [fx, fy, cx, cy]: [f64; 4],
        vignetting: f64,
    ) {
        let n = width * height;
        if rgb.len() < 3 * n || depth.len() < n || semantic.len() < n {
            return; // mismatched buffers: nothing to add (fit_dataset checks sizes first)
        }
        // Linear luminance with the camera's vignetting 1 − v·(1 − cos⁴θ) undone.
        let lum = |i: usize| -> f64 {
            let (row, col) = (i / width, i % width);
            let (xn, yn) = ((col as f64 - cx) / fx, (row as f64 - cy) / fy);
            let q = 1.0 + xn * xn + yn * yn;
            luminance_linear(&rgb[i * 3..i * 3 + 3]) as f64
                / (1.0 - vignetting * (1.0 - 1.0 / (q * q)))
        };
        let (sky, road) = (Class::Sky.id() as u8, Class::Road.id() as u8);
        let (mut a_sum, mut a_n) = (0f64, 0usize);
        for i in 0..n {
            let px = &rgb[i * 3..i * 3 + 3];
            if semantic[i] == sky && px.iter().all(|&c| c < SKY_CLIP_CODE) {
                a_sum += lum(i);
                a_n += 1;
            }
        }
        if a_n < 20 || a_sum <= 0.0 {
            self.frames_without_airlight += 1;
            return;
        }
        let a = a_sum / a_n as f64;
        self.frames += 1;
        for row in 0..height {
            let yn = (row as f64 - cy) / fy;
            for col in 0..width {
                let i = row * width + col;
                if semantic[i] != road || depth[i] == 0 {
                    continue;
                }
                let xn = (col as f64 - cx) / fx;
                let range = depth[i] as f64 / 256.0 * (1.0 + xn * xn + yn * yn).sqrt();
                let k = (range / RANGE_BIN_M) as usize;
                if range < MIN_RANGE_M || k >= RANGE_BINS {
                    continue;
                }
                self.bins[k].push(((lum(i) - a) / a) as f32);
            }
        }
    }

    /// Fits C(d) = C∞ + C0·e^(−σd) to the bin medians. `None` when fewer than 5 bins qualify.
    pub fn fit(&self) -> Option<ContrastFit> {
        let road_pixels = self.bins.iter().map(Vec::len).sum();
        let pts = super::hist::bin_medians(&self.bins, RANGE_BIN_M, MIN_BIN_PIXELS);
        if pts.len() < 5 {
            return None;
        }
        // Scan σ on a log grid from 1e-4 to 1 /m, then refine around the best by golden section.
        let steps = 200;
        let sig = |i: usize| 1e-4 * 1e4f64.powf(i as f64 / steps as f64);
        let best = (0..=steps)
            .min_by(|&a, &b| solve(&pts, sig(a)).2.total_cmp(&solve(&pts, sig(b)).2))
            .unwrap_or(0);
        let (mut lo, mut hi) = (sig(best.saturating_sub(1)), sig((best + 1).min(steps)));
        let g = (5f64.sqrt() - 1.0) / 2.0;
        for _ in 0..60 {
            let (a, b) = (hi - g * (hi - lo), lo + g * (hi - lo));
            if solve(&pts, a).2 < solve(&pts, b).2 {
                hi = b;
            } else {
                lo = a;
            }
        }
        let mut sigma = 0.5 * (lo + hi);
        let (cinf, c0, _) = solve(&pts, sigma);
        let (d0, d1) = (pts[0].0, pts[pts.len() - 1].0);
        let change = (c0 * ((-sigma * d0).exp() - (-sigma * d1).exp())).abs();
        if change < MIN_CONTRAST_CHANGE {
            sigma = 0.0;
        }
        Some(ContrastFit {
            frames: self.frames,
            road_pixels,
            bins_used: pts.len(),
            range_span_m: (d0, d1),
            sigma_per_m: sigma,
            contrast_at_zero: cinf + c0,
            contrast_at_infinity: cinf,
        })
    }
}

/// Fits the visibility over the frames of a verisim dataset that have image_2, depth_2,
/// semantic_2 and calib. `Ok(None)` when the dataset has no such frame (not a verisim dataset,
/// or rendered without a camera); an unreadable or mismatched file is an error naming it.
pub fn fit_dataset(ds: &super::Dataset, vignetting: f64) -> Result<Option<ContrastFit>> {
    let mut acc = ContrastAcc::new();
    let mut any = false;
    for f in &ds.frames {
        let (Some(img_p), Some(calib_p)) = (&f.image, &f.calib) else {
            continue;
        };
        let (Some(depth_p), Some(sem_p)) = (
            sibling_of(img_p, "depth_2", "png"),
            sibling_of(img_p, "semantic_2", "png"),
        ) else {
            continue;
        };
        any = true;
        let img = super::readers::read_rgb(img_p)?;
        let open = |p: &Path| {
            image::open(p).map_err(|e| RealityError::Image {
                path: p.into(),
                what: e.to_string(),
            })
        };
        let depth = open(&depth_p)?.to_luma16();
        let sem = open(&sem_p)?.to_luma8();
        let (w, h) = img.dimensions();
        for (p, d) in [(&depth_p, depth.dimensions()), (&sem_p, sem.dimensions())] {
            if d != (w, h) {
                return Err(RealityError::Dataset {
                    path: p.clone(),
                    what: format!(
                        "{}x{} pixels, but the image {} is {w}x{h}",
                        d.0,
                        d.1,
                        img_p.display()
                    ),
                });
            }
        }
        let calib = super::readers::read_kitti_calib(calib_p)?;
        let k = intrinsics_from_p2(calib_p, calib.get("P2"))?;
        acc.add_frame(
            w as usize,
            h as usize,
            img.as_raw(),
            depth.as_raw(),
            sem.as_raw(),
            k,
            vignetting,
        );
    }
    Ok(if any { acc.fit() } else { None })
}
