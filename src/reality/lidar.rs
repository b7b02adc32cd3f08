//! Lidar statistics per frame, accumulated into a mergeable [`LidarAgg`].
//!
//! Beams: taken from the ring field when the file has one; otherwise recovered from the elevation
//! angle atan2(z, hypot(x, y)) by nearest match against the sensor's nominal elevation table (for
//! the HDL-64E: upper block of 32 lasers from +2.0° to −8.33° at 1/3°, lower block of 32 from
//! −8.83° to −24.33° at 1/2°). The match compares tan(elevation) with precomputed tangents of the
//! mid-points between neighbouring lasers, so no trigonometric call is needed per point. Real KITTI
//! scans are calibrated per laser, so a few points land in a neighbouring beam; both sides of a
//! comparison go through the same recovery, which is what matters for the statistics.

use super::hist::{Grid, Hist};
use serde::{Deserialize, Serialize};

/// The lidar a dataset was recorded (or rendered) with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorModel {
    pub name: String,
    /// Nominal elevation per laser, degrees, beam 0 the highest.
    pub elevation_deg: Vec<f64>,
    /// Rays each laser fires per revolution (expected returns per beam with no drop).
    pub rays_per_rev_per_beam: f64,
    /// Full-scale intensity as the files store it (1 for KITTI, 255 for nuScenes).
    pub intensity_max: f64,
    pub max_range_m: f64,
}

impl SensorModel {
    /// Velodyne HDL-64E as on the KITTI car (10 Hz, ≈0.17° azimuth step, ≈133k rays/revolution).
    pub fn hdl64e() -> Self {
        let mut el = Vec::with_capacity(64);
        for i in 0..32 {
            el.push(2.0 - i as f64 / 3.0);
        }
        for i in 0..32 {
            el.push(-8.83 - i as f64 * 0.5);
        }
        Self {
            name: "HDL-64E".into(),
            elevation_deg: el,
            rays_per_rev_per_beam: 2083.0,
            intensity_max: 1.0,
            max_range_m: 120.0,
        }
    }

    /// Velodyne HDL-32E as on the nuScenes car (20 Hz, +10.67° to −30.67°).
    pub fn hdl32e() -> Self {
        let el = (0..32).map(|i| 10.67 - i as f64 * (41.34 / 31.0)).collect();
        Self {
            name: "HDL-32E".into(),
            elevation_deg: el,
            rays_per_rev_per_beam: 1084.0,
            intensity_max: 255.0,
            max_range_m: 100.0,
        }
    }

    pub fn by_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "hdl64e" | "hdl64" => Some(Self::hdl64e()),
            "hdl32e" | "hdl32" => Some(Self::hdl32e()),
            _ => None,
        }
    }

    pub fn beams(&self) -> usize {
        self.elevation_deg.len()
    }

    /// Beam lookup table over tan(elevation) in [TAN_LUT_LO, TAN_LUT_HI): entry k holds the beam
    /// whose nominal interval contains the cell centre (cells of ≈0.01°, far finer than the
    /// 1/3° laser spacing); values outside clamp to the edge beams.
    fn beam_lut(&self) -> Vec<u8> {
        let b = self.tan_boundaries();
        (0..TAN_LUT_CELLS)
            .map(|k| {
                let t = TAN_LUT_LO
                    + (k as f32 + 0.5) * (TAN_LUT_HI - TAN_LUT_LO) / TAN_LUT_CELLS as f32;
                b.partition_point(|&x| x > t).min(255) as u8
            })
            .collect()
    }

    /// tan of the mid-points between neighbouring lasers, descending.
    fn tan_boundaries(&self) -> Vec<f32> {
        self.elevation_deg
            .windows(2)
            .map(|w| (0.5 * (w[0] + w[1])).to_radians().tan() as f32)
            .collect()
    }
}

pub const AZIMUTH_SECTORS: usize = 36;
const TAN_LUT_LO: f32 = -1.2;
const TAN_LUT_HI: f32 = 0.4;
const TAN_LUT_CELLS: usize = 8192;
pub const BEV_BINS: usize = 100;
pub const BEV_HALF_EXTENT_M: f64 = 80.0;
pub const BEV_MIN_RANGE_M: f64 = 3.0;
pub const BEV_MAX_RANGE_M: f64 = 70.0;
pub const RANGE_BANDS: usize = 12;
pub const RANGE_BAND_M: f64 = 10.0;
pub const INTENSITY_BINS: usize = 50;
pub const BAND_INTENSITY_BINS: usize = 20;
pub const MIN_RANGE_M: f64 = 1.0;
pub const FAR_RANGE_M: f64 = 40.0;

/// Aggregated lidar statistics of a set of frames. Histograms hold the sum over frames of each
/// frame's pmf (every frame weighs one, LiDARGen's convention for BEV); curves hold sums over
/// frames to be divided by `frames`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LidarAgg {
    pub frames: u64,
    pub points: u64,
    pub range_m: Hist,
    pub intensity: Hist,
    /// RANGE_BANDS x BAND_INTENSITY_BINS, per-frame pmf summed.
    pub intensity_by_range_band: Grid,
    pub z_m: Hist,
    /// Share of each beam in the frame's points (per-frame pmf summed).
    pub beam_share: Hist,
    /// Sum over frames of returns / expected rays, per beam.
    pub beam_return_ratio: Vec<f64>,
    /// Sum over frames of returns / expected rays per (beam, azimuth sector).
    pub return_ratio_map: Grid,
    /// Sum over frames of the mean elevation of each beam's points (deg) and how many frames had it.
    pub beam_elevation_sum_deg: Vec<f64>,
    pub beam_elevation_frames: Vec<f64>,
    /// LiDARGen BEV: 100x100 over ±80 m, 3 m < r < 70 m, per-frame pmf summed.
    pub bev: Grid,
}

impl LidarAgg {
    pub fn new(model: &SensorModel) -> Self {
        let b = model.beams();
        Self {
            frames: 0,
            points: 0,
            range_m: Hist::new(0.0, 120.0, 120),
            intensity: Hist::new(0.0, 1.0, INTENSITY_BINS),
            intensity_by_range_band: Grid::new(RANGE_BANDS, BAND_INTENSITY_BINS),
            z_m: Hist::new(-5.0, 5.0, 100),
            beam_share: Hist::new(0.0, b as f64, b),
            beam_return_ratio: vec![0.0; b],
            return_ratio_map: Grid::new(b, AZIMUTH_SECTORS),
            beam_elevation_sum_deg: vec![0.0; b],
            beam_elevation_frames: vec![0.0; b],
            bev: Grid::new(BEV_BINS, BEV_BINS),
        }
    }

    pub fn merge(&mut self, o: &LidarAgg) {
        if o.frames == 0 {
            return;
        }
        if self.frames == 0 && self.beam_return_ratio.len() != o.beam_return_ratio.len() {
            *self = o.clone();
            return;
        }
        self.frames += o.frames;
        self.points += o.points;
        self.range_m.merge(&o.range_m);
        self.intensity.merge(&o.intensity);
        self.intensity_by_range_band
            .merge(&o.intensity_by_range_band);
        self.z_m.merge(&o.z_m);
        self.beam_share.merge(&o.beam_share);
        add_vec(&mut self.beam_return_ratio, &o.beam_return_ratio);
        self.return_ratio_map.merge(&o.return_ratio_map);
        add_vec(&mut self.beam_elevation_sum_deg, &o.beam_elevation_sum_deg);
        add_vec(&mut self.beam_elevation_frames, &o.beam_elevation_frames);
        self.bev.merge(&o.bev);
    }

    /// Mean per-beam drop rate 1 − returns/expected, clamped at 0 (beams with two lasers' worth
    /// of returns after recovery read as 0).
    pub fn beam_drop_rate(&self) -> Vec<f64> {
        let n = self.frames.max(1) as f64;
        self.beam_return_ratio
            .iter()
            .map(|r| (1.0 - r / n).max(0.0))
            .collect()
    }

    pub fn drop_map(&self) -> Vec<f64> {
        let n = self.frames.max(1) as f64;
        self.return_ratio_map
            .values
            .iter()
            .map(|&r| (1.0 - r as f64 / n).max(0.0))
            .collect()
    }

    pub fn beam_elevation_deg(&self) -> Vec<f64> {
        self.beam_elevation_sum_deg
            .iter()
            .zip(&self.beam_elevation_frames)
            .map(|(s, n)| if *n > 0.0 { s / n } else { f64::NAN })
            .collect()
    }
}

pub(crate) fn add_vec(a: &mut [f64], b: &[f64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
}

/// Per-frame scalars of one lidar frame.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LidarScalars {
    pub points_in_range: f64,
    pub mount_height_m: f64,
    pub far_fraction: f64,
    pub mean_intensity: f64,
    pub range_p99_m: f64,
    pub mean_drop_rate: f64,
    /// Share of the in-range points beyond half the sensor's maximum range (NaN in profiles
    /// written before it).
    #[serde(default = "super::camera::nan")]
    pub beyond_half_range: f64,
}

/// Data-validity counters for lidar frames.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LidarValidity {
    pub points: u64,
    pub non_finite: u64,
    pub intensity_out_of_range: u64,
    /// Points farther than 1.5x the sensor's maximum range (wrong units or garbage).
    pub beyond_max_range: u64,
    pub ring_out_of_range: u64,
}

impl LidarValidity {
    pub fn merge(&mut self, o: &LidarValidity) {
        self.points += o.points;
        self.non_finite += o.non_finite;
        self.intensity_out_of_range += o.intensity_out_of_range;
        self.beyond_max_range += o.beyond_max_range;
        self.ring_out_of_range += o.ring_out_of_range;
    }
}

/// Fast atan2 approximation (max error ≈ 0.0015 rad), enough for 10° azimuth sectors.
#[inline]
pub(crate) fn fast_atan2(y: f32, x: f32) -> f32 {
    use std::f32::consts::{FRAC_PI_2, PI};
    let ax = x.abs();
    let ay = y.abs();
    let mx = ax.max(ay);
    if mx == 0.0 {
        return 0.0;
    }
    let a = ax.min(ay) / mx;
    let s = a * a;
    let mut r = ((-0.046_496_473 * s + 0.159_314_22) * s - 0.327_622_77) * s * a + a;
    if ay > ax {
        r = FRAC_PI_2 - r;
    }
    if x < 0.0 {
        r = PI - r;
    }
    if y < 0.0 { -r } else { r }
}

thread_local! {
    /// The beam lookup table of the last sensor model seen on this thread (building it costs
    /// about as much as binning 10k points, so it is built once per model, not once per frame).
    static BEAM_LUT: std::cell::RefCell<(Vec<f64>, std::rc::Rc<[u8]>)> =
        std::cell::RefCell::new((Vec::new(), std::rc::Rc::from(Vec::new())));
}

fn cached_beam_lut(model: &SensorModel) -> std::rc::Rc<[u8]> {
    BEAM_LUT.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != model.elevation_deg || c.1.is_empty() {
            *c = (
                model.elevation_deg.clone(),
                std::rc::Rc::from(model.beam_lut()),
            );
        }
        c.1.clone()
    })
}

/// Computes one frame's statistics and adds them to `agg`; returns its scalars.
/// `ring` is used when present and within the model's beam count.
pub fn accumulate_frame(
    model: &SensorModel,
    points: &[[f32; 4]],
    ring: Option<&[u16]>,
    agg: &mut LidarAgg,
    validity: &mut LidarValidity,
) -> LidarScalars {
    let beams = model.beams();
    let lut = cached_beam_lut(model);
    let lut_scale = TAN_LUT_CELLS as f32 / (TAN_LUT_HI - TAN_LUT_LO);
    let beam_of = |t: f32| -> usize {
        let k = ((t - TAN_LUT_LO) * lut_scale).clamp(0.0, (TAN_LUT_CELLS - 1) as f32) as usize;
        (lut[k] as usize).min(beams - 1)
    };
    let inv_imax = (1.0 / model.intensity_max) as f32;
    let max_r = model.max_range_m as f32;
    let mut range_c = [0u32; 120];
    let mut int_c = [0u32; INTENSITY_BINS];
    let mut band_c = [0u32; RANGE_BANDS * BAND_INTENSITY_BINS];
    let mut z_c = [0u32; 100];
    let mut beam_c = vec![0u32; beams];
    let mut map_c = vec![0u32; beams * AZIMUTH_SECTORS];
    let mut tan_sum = vec![0f64; beams];
    let mut bev_c = vec![0u32; BEV_BINS * BEV_BINS];
    let mut ground_c = [0u32; 250]; // z in [-4, 1), 2 cm bins, 4 m < r_xy < 25 m
    let (mut n_in, mut n_far, mut n_half, mut int_sum) = (0u64, 0u64, 0u64, 0f64);
    let half_r = 0.5 * max_r;
    let mut v = LidarValidity {
        points: points.len() as u64,
        ..Default::default()
    };
    let bev_scale = BEV_BINS as f32 / (2.0 * BEV_HALF_EXTENT_M as f32);
    let sector_scale = AZIMUTH_SECTORS as f32 / (2.0 * std::f32::consts::PI);
    for (idx, p) in points.iter().enumerate() {
        let [x, y, z, i_raw] = *p;
        if !(x.is_finite() && y.is_finite() && z.is_finite() && i_raw.is_finite()) {
            v.non_finite += 1;
            continue;
        }
        let inten = i_raw * inv_imax;
        if !(0.0..=1.0).contains(&inten) {
            v.intensity_out_of_range += 1;
        }
        let rxy2 = x * x + y * y;
        let rxy = rxy2.sqrt();
        let r = (rxy2 + z * z).sqrt();
        if r > 1.5 * max_r {
            v.beyond_max_range += 1;
        }
        if r < MIN_RANGE_M as f32 || r > max_r {
            continue;
        }
        n_in += 1;
        if r > FAR_RANGE_M as f32 {
            n_far += 1;
        }
        if r > half_r {
            n_half += 1;
        }
        int_sum += inten as f64;
        range_c[(r as usize).min(119)] += 1;
        // Clamping the intensity to [0, 1] before binning gives the same bins as clamping the
        // bin index (values below 0 land in bin 0, values at or above 1 in the top bin).
        let ic = inten.clamp(0.0, 1.0);
        let ib = ((ic * INTENSITY_BINS as f32) as usize).min(INTENSITY_BINS - 1);
        int_c[ib] += 1;
        let band = ((r / RANGE_BAND_M as f32) as usize).min(RANGE_BANDS - 1);
        let bib = ((ic * BAND_INTENSITY_BINS as f32) as usize).min(BAND_INTENSITY_BINS - 1);
        band_c[band * BAND_INTENSITY_BINS + bib] += 1;
        if rxy < 40.0 {
            // floor then clamp to [0, 99] equals clamp then truncate (no libm call per point)
            let zb = ((z + 5.0) * 10.0).clamp(0.0, 99.0) as usize;
            z_c[zb] += 1;
        }
        if rxy > 4.0 && rxy < 25.0 && (-4.0..1.0).contains(&z) {
            ground_c[(((z + 4.0) * 50.0) as usize).min(249)] += 1;
        }
        // Beam: ring field, else elevation against the nominal table.
        let t = z / rxy.max(1e-6);
        let beam = match ring {
            Some(rg) if (rg[idx] as usize) < beams => rg[idx] as usize,
            Some(_) => {
                v.ring_out_of_range += 1;
                beam_of(t)
            }
            None => beam_of(t),
        };
        beam_c[beam] += 1;
        tan_sum[beam] += t as f64;
        let az = fast_atan2(y, x) + std::f32::consts::PI;
        let sector = ((az * sector_scale) as usize).min(AZIMUTH_SECTORS - 1);
        map_c[beam * AZIMUTH_SECTORS + sector] += 1;
        if r > BEV_MIN_RANGE_M as f32 && r < BEV_MAX_RANGE_M as f32 {
            // floor(v) ∈ [0, BEV_BINS) exactly when v ∈ [0, BEV_BINS), where floor = truncation.
            let bx = (x + BEV_HALF_EXTENT_M as f32) * bev_scale;
            let by = (y + BEV_HALF_EXTENT_M as f32) * bev_scale;
            if (0.0..BEV_BINS as f32).contains(&bx) && (0.0..BEV_BINS as f32).contains(&by) {
                bev_c[bx as usize * BEV_BINS + by as usize] += 1;
            }
        }
    }
    validity.merge(&v);
    agg.frames += 1;
    agg.points += n_in;
    agg.range_m.add_frame_counts(&range_c);
    agg.intensity.add_frame_counts(&int_c);
    let band_total: u64 = band_c.iter().map(|&c| c as u64).sum();
    if band_total > 0 {
        for (d, &c) in agg
            .intensity_by_range_band
            .values
            .iter_mut()
            .zip(band_c.iter())
        {
            *d += (c as f64 / band_total as f64) as f32;
        }
    }
    agg.z_m.add_frame_counts(&z_c);
    agg.beam_share.add_frame_counts(&beam_c);
    let expected = model.rays_per_rev_per_beam;
    let mut drop_sum = 0.0;
    for b in 0..beams {
        let ratio = beam_c[b] as f64 / expected;
        agg.beam_return_ratio[b] += ratio;
        drop_sum += (1.0 - ratio).max(0.0);
        if beam_c[b] > 0 {
            agg.beam_elevation_sum_deg[b] += (tan_sum[b] / beam_c[b] as f64).atan().to_degrees();
            agg.beam_elevation_frames[b] += 1.0;
        }
    }
    let cell_expected = (expected / AZIMUTH_SECTORS as f64) as f32;
    for (d, &c) in agg.return_ratio_map.values.iter_mut().zip(map_c.iter()) {
        *d += c as f32 / cell_expected;
    }
    let bev_total: u64 = bev_c.iter().map(|&c| c as u64).sum();
    if bev_total > 0 {
        let inv = 1.0 / bev_total as f64;
        for (d, &c) in agg.bev.values.iter_mut().zip(bev_c.iter()) {
            if c > 0 {
                *d += (c as f64 * inv) as f32;
            }
        }
    }
    // Mounting height: the mode of z between 4 and 25 m (the road), refined by the mean of the
    // points within ±10 cm of it, negated.
    let mount_height_m = {
        let (k, &c) = ground_c
            .iter()
            .enumerate()
            .max_by_key(|(_, c)| **c)
            .unwrap_or((0, &0));
        if c == 0 {
            f64::NAN
        } else {
            let (mut s, mut w) = (0.0, 0.0);
            let lo = k.saturating_sub(5);
            for (j, &gc) in ground_c.iter().enumerate().take((k + 6).min(250)).skip(lo) {
                let zc = -4.0 + (j as f64 + 0.5) / 50.0;
                s += zc * gc as f64;
                w += gc as f64;
            }
            -(s / w)
        }
    };
    let range_p99_m = {
        let mut h = Hist::new(0.0, 120.0, 120);
        for (d, &c) in h.counts.iter_mut().zip(range_c.iter()) {
            *d = c as f64;
        }
        h.quantile(0.99)
    };
    LidarScalars {
        points_in_range: n_in as f64,
        mount_height_m,
        far_fraction: if n_in > 0 {
            n_far as f64 / n_in as f64
        } else {
            f64::NAN
        },
        mean_intensity: if n_in > 0 {
            int_sum / n_in as f64
        } else {
            f64::NAN
        },
        range_p99_m,
        mean_drop_rate: drop_sum / beams as f64,
        beyond_half_range: if n_in > 0 {
            n_half as f64 / n_in as f64
        } else {
            f64::NAN
        },
    }
}

/// Per-frame BEV pmf (for the exact MMD cross-check in tests), LiDARGen's definition.
pub fn bev_pmf(points: &[[f32; 4]]) -> Vec<f64> {
    let mut c = vec![0f64; BEV_BINS * BEV_BINS];
    let scale = BEV_BINS as f64 / (2.0 * BEV_HALF_EXTENT_M);
    for p in points {
        let (x, y, z) = (p[0] as f64, p[1] as f64, p[2] as f64);
        let r = (x * x + y * y + z * z).sqrt();
        if !(r > BEV_MIN_RANGE_M && r < BEV_MAX_RANGE_M) {
            continue;
        }
        let bx = ((x + BEV_HALF_EXTENT_M) * scale).floor();
        let by = ((y + BEV_HALF_EXTENT_M) * scale).floor();
        if (0.0..BEV_BINS as f64).contains(&bx) && (0.0..BEV_BINS as f64).contains(&by) {
            c[bx as usize * BEV_BINS + by as usize] += 1.0;
        }
    }
    let t: f64 = c.iter().sum();
    if t > 0.0 {
        c.iter_mut().for_each(|v| *v /= t);
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_atan2_is_close() {
        for k in 0..360 {
            let a = (k as f32 + 0.3).to_radians() - std::f32::consts::PI;
            let (y, x) = (a.sin() * 7.0, a.cos() * 7.0);
            assert!((fast_atan2(y, x) - y.atan2(x)).abs() < 0.002, "{k}");
        }
    }

    #[test]
    fn beams_recovered_from_nominal_elevations() {
        let m = SensorModel::hdl64e();
        let pts: Vec<[f32; 4]> = m
            .elevation_deg
            .iter()
            .map(|e| {
                let r = 20.0f64;
                [r as f32, 0.0, (r * e.to_radians().tan()) as f32, 0.5]
            })
            .collect();
        let mut agg = LidarAgg::new(&m);
        let mut v = LidarValidity::default();
        accumulate_frame(&m, &pts, None, &mut agg, &mut v);
        // one point per beam: every beam's share is 1/64
        for s in &agg.beam_share.counts {
            assert!((s - 1.0 / 64.0).abs() < 1e-12);
        }
        let el = agg.beam_elevation_deg();
        for (a, b) in el.iter().zip(&m.elevation_deg) {
            assert!((a - b).abs() < 1e-4);
        }
    }
}
