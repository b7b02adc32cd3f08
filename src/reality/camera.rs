//! Camera statistics that need no neural network (REFERENCE.md): luminance
//! Y = 0.2126 R + 0.7152 G + 0.0722 B, clipped fractions, opponent colours (R−G)/√2 and
//! (R+G−2B)/√6, white-balance ratios, the radially averaged power-spectrum slope of a Hann-windowed
//! 256x256 centre crop, the high-frequency energy fraction, Sobel edge density, the variance of
//! the 4-neighbour Laplacian, and Immerkær's noise σ, globally and binned by brightness.

use super::hist::Hist;
use serde::{Deserialize, Serialize};

pub const LUMA_BINS: usize = 64;
pub const OPP_BINS: usize = 96;
pub const OPP_HALF_RANGE: f64 = 96.0;
pub const HUE_BINS: usize = 36;
pub const HUE_MIN_CHROMA: f32 = 6.0;
pub const NOISE_BRIGHTNESS_BINS: usize = 8;
pub const SPECTRUM_N: usize = 256;
pub const SPECTRUM_BINS: usize = SPECTRUM_N / 2;
/// A pixel is green-dominant when G exceeds both R and B by more than this (8-bit levels).
///
/// Leaves and grass reflect green most, but chlorophyll and carotenoids absorb blue (400–500 nm)
/// more than the camera's red band (580–700 nm, which reaches the red edge), so foliage images as
/// yellow-green (G > R > B), hardly ever as cyan-green (G > B > R). The statistic is the log odds
/// of R > B among green-dominant pixels (ties left out): on the six shared KITTI frames +0.48,
/// +0.38, +0.47, +0.59, +0.24, +1.42, every one positive; a red/blue swap negates each exactly. A swap
/// leaves luminance almost unchanged and, KITTI's camera being nearly grey-balanced, white
/// balance as well, so this conditional statistic is the one that sees it.
pub const FOLIAGE_MIN_GREEN_EXCESS: u8 = 8;
/// Sobel magnitude (on 0..255 luminance) above which a pixel counts as an edge.
pub const EDGE_THRESHOLD: f32 = 100.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CameraAgg {
    pub frames: u64,
    pub luminance: Hist,
    pub opponent_rg: Hist,
    pub opponent_yb: Hist,
    /// Hue angle atan2(yb, rg) of pixels with chroma above `HUE_MIN_CHROMA`, 36 bins over ±π
    /// (per-frame pmf summed). Catches channel swaps that leave the marginals nearly unchanged.
    pub hue: Hist,
    /// Sum over frames of Σ|I∗N| and pixel counts per brightness bin (32 levels each).
    pub noise_abs_sum_by_brightness: Vec<f64>,
    pub noise_count_by_brightness: Vec<f64>,
    /// Sum over frames of log10 radially averaged power at integer radius k = 1..=128 (cycles per
    /// 256 px); divide by `spectrum_frames`.
    pub log10_power_sum: Vec<f64>,
    pub spectrum_frames: u64,
}

impl Default for CameraAgg {
    fn default() -> Self {
        Self {
            frames: 0,
            luminance: Hist::new(0.0, 256.0, LUMA_BINS),
            opponent_rg: Hist::new(-OPP_HALF_RANGE, OPP_HALF_RANGE, OPP_BINS),
            opponent_yb: Hist::new(-OPP_HALF_RANGE, OPP_HALF_RANGE, OPP_BINS),
            hue: Hist::new(-std::f64::consts::PI, std::f64::consts::PI, HUE_BINS),
            noise_abs_sum_by_brightness: vec![0.0; NOISE_BRIGHTNESS_BINS],
            noise_count_by_brightness: vec![0.0; NOISE_BRIGHTNESS_BINS],
            log10_power_sum: vec![0.0; SPECTRUM_BINS],
            spectrum_frames: 0,
        }
    }
}

impl CameraAgg {
    pub fn merge(&mut self, o: &CameraAgg) {
        self.frames += o.frames;
        self.luminance.merge(&o.luminance);
        self.opponent_rg.merge(&o.opponent_rg);
        self.opponent_yb.merge(&o.opponent_yb);
        self.hue.merge(&o.hue);
        super::lidar::add_vec(
            &mut self.noise_abs_sum_by_brightness,
            &o.noise_abs_sum_by_brightness,
        );
        super::lidar::add_vec(
            &mut self.noise_count_by_brightness,
            &o.noise_count_by_brightness,
        );
        super::lidar::add_vec(&mut self.log10_power_sum, &o.log10_power_sum);
        self.spectrum_frames += o.spectrum_frames;
    }

    /// Immerkær σ per brightness bin (NaN where no pixel fell).
    pub fn noise_sigma_by_brightness(&self) -> Vec<f64> {
        self.noise_abs_sum_by_brightness
            .iter()
            .zip(&self.noise_count_by_brightness)
            .map(|(s, n)| {
                if *n > 0.0 {
                    (std::f64::consts::PI / 2.0).sqrt() * s / (6.0 * n)
                } else {
                    f64::NAN
                }
            })
            .collect()
    }

    pub fn mean_log10_power(&self) -> Vec<f64> {
        let n = self.spectrum_frames.max(1) as f64;
        self.log10_power_sum.iter().map(|s| s / n).collect()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct CameraScalars {
    pub luminance_median: f64,
    pub luminance_p99: f64,
    pub clipped_high_fraction: f64,
    pub clipped_low_fraction: f64,
    pub wb_r_over_g: f64,
    pub wb_b_over_g: f64,
    pub spectrum_slope_alpha: f64,
    pub high_freq_energy_fraction: f64,
    pub edge_density: f64,
    pub laplacian_variance: f64,
    pub noise_sigma: f64,
    /// Immerkær σ of the blue channel over that of the red channel (sensor/demosaic fingerprint;
    /// swapped channels invert it).
    pub noise_b_over_r: f64,
    /// ln(n(R > B) / n(B > R)) over green-dominant pixels (see [`FOLIAGE_MIN_GREEN_EXCESS`]);
    /// foliage images yellow-green (positive), a red/blue swap makes it cyan-green (negative).
    #[serde(default = "nan")]
    pub foliage_red_blue_log_odds: f64,
}

pub(crate) fn nan() -> f64 {
    f64::NAN
}

/// Luminance of 8-bit RGB on the 0..255 scale.
#[inline]
pub fn luminance(r: u8, g: u8, b: u8) -> f32 {
    0.2126 * r as f32 + 0.7152 * g as f32 + 0.0722 * b as f32
}

/// Statistics of one RGB8 image (row-major, 3 bytes per pixel), added to `agg`.
pub fn accumulate_image(
    width: usize,
    height: usize,
    rgb: &[u8],
    agg: &mut CameraAgg,
) -> CameraScalars {
    let n = width * height;
    let mut y = vec![0f32; n];
    let mut luma_c = [0u32; 256];
    let mut rg_c = [0u32; OPP_BINS];
    let mut yb_c = [0u32; OPP_BINS];
    let mut hue_c = [0u32; HUE_BINS];
    let hue_scale = HUE_BINS as f32 / (2.0 * std::f32::consts::PI);
    let (mut sr, mut sg, mut sb) = (0u64, 0u64, 0u64);
    let (mut clip_hi, mut clip_lo) = (0u64, 0u64);
    let opp_scale = OPP_BINS as f32 / (2.0 * OPP_HALF_RANGE as f32);
    let inv_s2 = 1.0 / std::f32::consts::SQRT_2;
    let inv_s6 = 1.0 / 6f32.sqrt();
    let (mut green_r_over_b, mut green_b_over_r) = (0u64, 0u64);
    for (i, px) in rgb.chunks_exact(3).take(n).enumerate() {
        let (r, g, b) = (px[0], px[1], px[2]);
        let l = luminance(r, g, b);
        y[i] = l;
        luma_c[(l as usize).min(255)] += 1;
        sr += r as u64;
        sg += g as u64;
        sb += b as u64;
        let mx = r.max(g).max(b);
        clip_hi += (mx == 255) as u64;
        clip_lo += (mx <= 1) as u64;
        if g > r.max(b).saturating_add(FOLIAGE_MIN_GREEN_EXCESS) {
            green_r_over_b += (r > b) as u64;
            green_b_over_r += (b > r) as u64;
        }
        let (rf, gf, bf) = (r as f32, g as f32, b as f32);
        let o1 = (rf - gf) * inv_s2;
        let o2 = (rf + gf - 2.0 * bf) * inv_s6;
        let k1 =
            ((o1 + OPP_HALF_RANGE as f32) * opp_scale).clamp(0.0, (OPP_BINS - 1) as f32) as usize;
        let k2 =
            ((o2 + OPP_HALF_RANGE as f32) * opp_scale).clamp(0.0, (OPP_BINS - 1) as f32) as usize;
        rg_c[k1] += 1;
        yb_c[k2] += 1;
        if o1 * o1 + o2 * o2 > HUE_MIN_CHROMA * HUE_MIN_CHROMA {
            let h = super::lidar::fast_atan2(o2, o1) + std::f32::consts::PI;
            hue_c[((h * hue_scale) as usize).min(HUE_BINS - 1)] += 1;
        }
    }
    agg.hue.add_frame_counts(&hue_c);
    let mut coarse = [0u32; LUMA_BINS];
    for (k, c) in luma_c.iter().enumerate() {
        coarse[k * LUMA_BINS / 256] += c;
    }
    agg.luminance.add_frame_counts(&coarse);
    agg.opponent_rg.add_frame_counts(&rg_c);
    agg.opponent_yb.add_frame_counts(&yb_c);

    // Interior pass: Laplacian, Immerkær, Sobel.
    let (mut lap_s, mut lap_s2, mut lap_n) = (0f64, 0f64, 0u64);
    let mut noise_sum = 0f64;
    let mut noise_bin_sum = [0f64; NOISE_BRIGHTNESS_BINS];
    let mut noise_bin_n = [0f64; NOISE_BRIGHTNESS_BINS];
    let mut edges = 0u64;
    if width >= 3 && height >= 3 {
        for row in 1..height - 1 {
            let up = &y[(row - 1) * width..row * width];
            let mid = &y[row * width..(row + 1) * width];
            let dn = &y[(row + 1) * width..(row + 2) * width];
            let mut row_noise = [0f32; NOISE_BRIGHTNESS_BINS];
            let mut row_noise_n = [0u32; NOISE_BRIGHTNESS_BINS];
            let (mut rl, mut rl2) = (0f32, 0f32);
            let mut row_edges = 0u32;
            for c in 1..width - 1 {
                let (a, b, cc) = (up[c - 1], up[c], up[c + 1]);
                let (d, e, f) = (mid[c - 1], mid[c], mid[c + 1]);
                let (g, h, i) = (dn[c - 1], dn[c], dn[c + 1]);
                let lap = b + d + f + h - 4.0 * e;
                rl += lap;
                rl2 += lap * lap;
                let nk = (a + cc + g + i) - 2.0 * (b + d + f + h) + 4.0 * e;
                let bin = ((e as usize) >> 5).min(NOISE_BRIGHTNESS_BINS - 1);
                row_noise[bin] += nk.abs();
                row_noise_n[bin] += 1;
                let gx = (cc + 2.0 * f + i) - (a + 2.0 * d + g);
                let gy = (g + 2.0 * h + i) - (a + 2.0 * b + cc);
                row_edges += (gx * gx + gy * gy > EDGE_THRESHOLD * EDGE_THRESHOLD) as u32;
            }
            lap_s += rl as f64;
            lap_s2 += rl2 as f64;
            lap_n += (width - 2) as u64;
            edges += row_edges as u64;
            for k in 0..NOISE_BRIGHTNESS_BINS {
                noise_sum += row_noise[k] as f64;
                noise_bin_sum[k] += row_noise[k] as f64;
                noise_bin_n[k] += row_noise_n[k] as f64;
            }
        }
    }
    for k in 0..NOISE_BRIGHTNESS_BINS {
        agg.noise_abs_sum_by_brightness[k] += noise_bin_sum[k];
        agg.noise_count_by_brightness[k] += noise_bin_n[k];
    }
    let interior = ((width.saturating_sub(2)) * (height.saturating_sub(2))) as f64;
    let noise_sigma = if interior > 0.0 {
        (std::f64::consts::PI / 2.0).sqrt() * noise_sum / (6.0 * interior)
    } else {
        f64::NAN
    };
    let laplacian_variance = if lap_n > 0 {
        let m = lap_s / lap_n as f64;
        lap_s2 / lap_n as f64 - m * m
    } else {
        f64::NAN
    };

    let (alpha, hf) = match power_spectrum(width, height, &y) {
        Some(p) => {
            for (d, v) in agg.log10_power_sum.iter_mut().zip(&p) {
                *d += v.max(1e-30).log10();
            }
            agg.spectrum_frames += 1;
            spectrum_slope_and_hf(&p)
        }
        None => (f64::NAN, f64::NAN),
    };

    let noise_b_over_r = {
        let (sr_, sb_) = (
            channel_noise_abs_sum(width, height, rgb, 0),
            channel_noise_abs_sum(width, height, rgb, 2),
        );
        if sr_ > 0.0 { sb_ / sr_ } else { f64::NAN }
    };
    agg.frames += 1;
    let mut lh = Hist::new(0.0, 256.0, 256);
    for (d, &c) in lh.counts.iter_mut().zip(luma_c.iter()) {
        *d = c as f64;
    }
    let nf = n.max(1) as f64;
    CameraScalars {
        luminance_median: lh.quantile(0.5),
        luminance_p99: lh.quantile(0.99),
        clipped_high_fraction: clip_hi as f64 / nf,
        clipped_low_fraction: clip_lo as f64 / nf,
        wb_r_over_g: sr as f64 / (sg.max(1)) as f64,
        wb_b_over_g: sb as f64 / (sg.max(1)) as f64,
        spectrum_slope_alpha: alpha,
        high_freq_energy_fraction: hf,
        edge_density: if lap_n > 0 {
            edges as f64 / lap_n as f64
        } else {
            f64::NAN
        },
        laplacian_variance,
        noise_sigma,
        noise_b_over_r,
        foliage_red_blue_log_odds: foliage_log_odds(green_r_over_b, green_b_over_r),
    }
}

/// ln((a + ½)/(b + ½)) (Haldane's correction keeps one-sided counts finite); NaN with no pixel.
fn foliage_log_odds(r_over_b: u64, b_over_r: u64) -> f64 {
    if r_over_b + b_over_r == 0 {
        return f64::NAN;
    }
    ((r_over_b as f64 + 0.5) / (b_over_r as f64 + 0.5)).ln()
}

/// Σ|I∗N| of one colour channel over every second interior row (Immerkær's numerator).
fn channel_noise_abs_sum(width: usize, height: usize, rgb: &[u8], ch: usize) -> f64 {
    if width < 3 || height < 3 {
        return 0.0;
    }
    let px = |r: usize, c: usize| rgb[(r * width + c) * 3 + ch] as i32;
    let mut total = 0i64;
    for row in (1..height - 1).step_by(2) {
        let mut acc = 0i32;
        for c in 1..width - 1 {
            let v =
                (px(row - 1, c - 1) + px(row - 1, c + 1) + px(row + 1, c - 1) + px(row + 1, c + 1))
                    - 2 * (px(row - 1, c) + px(row, c - 1) + px(row, c + 1) + px(row + 1, c))
                    + 4 * px(row, c);
            acc += v.abs();
        }
        total += acc as i64;
    }
    total as f64
}

/// Slope α of log P vs log k over k = 4..=96 (P ∝ k^−α) and the fraction of power (k ≥ 1) at
/// k > 64, i.e. above a quarter of the sampling frequency.
pub fn spectrum_slope_and_hf(p: &[f64]) -> (f64, f64) {
    let (mut sx, mut sy, mut sxx, mut sxy, mut m) = (0f64, 0f64, 0f64, 0f64, 0f64);
    for k in 4..=96usize.min(p.len()) {
        let v = p[k - 1];
        if v > 0.0 {
            let (x, yv) = ((k as f64).ln(), v.ln());
            sx += x;
            sy += yv;
            sxx += x * x;
            sxy += x * yv;
            m += 1.0;
        }
    }
    let slope = (m * sxy - sx * sy) / (m * sxx - sx * sx);
    let total: f64 = p.iter().sum();
    let hi: f64 = p.iter().skip(64).sum();
    (-slope, if total > 0.0 { hi / total } else { f64::NAN })
}

/// In-place iterative radix-2 FFT on (re, im) of power-of-two length.
fn fft(re: &mut [f64], im: &mut [f64]) {
    let n = re.len();
    let mut j = 0usize;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            re.swap(i, j);
            im.swap(i, j);
        }
    }
    let mut len = 2;
    while len <= n {
        let ang = -2.0 * std::f64::consts::PI / len as f64;
        let (wr, wi) = (ang.cos(), ang.sin());
        for start in (0..n).step_by(len) {
            let (mut cr, mut ci) = (1.0f64, 0.0f64);
            for k in 0..len / 2 {
                let (a, b) = (start + k, start + k + len / 2);
                let tr = re[b] * cr - im[b] * ci;
                let ti = re[b] * ci + im[b] * cr;
                re[b] = re[a] - tr;
                im[b] = im[a] - ti;
                re[a] += tr;
                im[a] += ti;
                let ncr = cr * wr - ci * wi;
                ci = cr * wi + ci * wr;
                cr = ncr;
            }
        }
        len <<= 1;
    }
}

/// Radially averaged power spectrum of the Hann-windowed, mean-removed 256x256 centre crop of the
/// luminance; entry k−1 holds the mean power at integer radius k = 1..=128. `None` if the image
/// is smaller than 256x256.
pub fn power_spectrum(width: usize, height: usize, y: &[f32]) -> Option<Vec<f64>> {
    let n = SPECTRUM_N;
    if width < n || height < n {
        return None;
    }
    let (x0, y0) = ((width - n) / 2, (height - n) / 2);
    let win: Vec<f64> = (0..n)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / (n - 1) as f64).cos())
        .collect();
    let mut mean = 0.0;
    for r in 0..n {
        for c in 0..n {
            mean += y[(y0 + r) * width + x0 + c] as f64;
        }
    }
    mean /= (n * n) as f64;
    let mut re = vec![0f64; n * n];
    let mut im = vec![0f64; n * n];
    for r in 0..n {
        for c in 0..n {
            re[r * n + c] = (y[(y0 + r) * width + x0 + c] as f64 - mean) * win[r] * win[c];
        }
    }
    for r in 0..n {
        fft(&mut re[r * n..(r + 1) * n], &mut im[r * n..(r + 1) * n]);
    }
    let (mut cr, mut ci) = (vec![0f64; n], vec![0f64; n]);
    for c in 0..n {
        for r in 0..n {
            cr[r] = re[r * n + c];
            ci[r] = im[r * n + c];
        }
        fft(&mut cr, &mut ci);
        for r in 0..n {
            re[r * n + c] = cr[r];
            im[r * n + c] = ci[r];
        }
    }
    let mut sum = vec![0f64; SPECTRUM_BINS];
    let mut cnt = vec![0f64; SPECTRUM_BINS];
    for r in 0..n {
        let fy = if r < n / 2 {
            r as f64
        } else {
            r as f64 - n as f64
        };
        for c in 0..n {
            let fx = if c < n / 2 {
                c as f64
            } else {
                c as f64 - n as f64
            };
            let k = (fx * fx + fy * fy).sqrt().round() as usize;
            if (1..=SPECTRUM_BINS).contains(&k) {
                let i = r * n + c;
                sum[k - 1] += re[i] * re[i] + im[i] * im[i];
                cnt[k - 1] += 1.0;
            }
        }
    }
    Some(
        sum.iter()
            .zip(&cnt)
            .map(|(s, c)| if *c > 0.0 { s / c } else { 0.0 })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_matches_dft() {
        let n = 16;
        let x: Vec<f64> = (0..n).map(|i| ((i * 7 % 5) as f64) - 1.5).collect();
        let (mut re, mut im) = (x.clone(), vec![0.0; n]);
        fft(&mut re, &mut im);
        for k in 0..n {
            let (mut r, mut i) = (0.0, 0.0);
            for (t, v) in x.iter().enumerate() {
                let a = -2.0 * std::f64::consts::PI * (k * t) as f64 / n as f64;
                r += v * a.cos();
                i += v * a.sin();
            }
            assert!((re[k] - r).abs() < 1e-9 && (im[k] - i).abs() < 1e-9);
        }
    }

    #[test]
    fn immerkaer_on_flat_image_is_zero_and_grows_with_noise() {
        let (w, h) = (64, 64);
        let flat = vec![100u8; w * h * 3];
        let mut agg = CameraAgg::default();
        let s = accumulate_image(w, h, &flat, &mut agg);
        assert_eq!(s.noise_sigma, 0.0);
        // checkerboard +-d has |I*N| = 16 d at every pixel: σ = √(π/2)·16d/6
        let mut cb = vec![0u8; w * h * 3];
        for r in 0..h {
            for c in 0..w {
                let v = if (r + c) % 2 == 0 { 110 } else { 90 };
                cb[(r * w + c) * 3..(r * w + c) * 3 + 3].copy_from_slice(&[v, v, v]);
            }
        }
        let s = accumulate_image(w, h, &cb, &mut agg);
        let want = (std::f64::consts::PI / 2.0).sqrt() * 16.0 * 10.0 / 6.0;
        assert!(
            (s.noise_sigma - want).abs() / want < 1e-3,
            "{} vs {want}",
            s.noise_sigma
        );
    }
}
