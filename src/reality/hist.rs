//! Mergeable fixed-bin histograms. Values outside `[lo, hi)` fall into the edge bins so that no
//! mass is lost (a defect such as intensities x3 shows up as mass piled into the top bin).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hist {
    pub lo: f64,
    pub hi: f64,
    pub counts: Vec<f64>,
}

impl Hist {
    pub fn new(lo: f64, hi: f64, bins: usize) -> Self {
        Self {
            lo,
            hi,
            counts: vec![0.0; bins.max(1)],
        }
    }

    pub fn bins(&self) -> usize {
        self.counts.len()
    }

    pub fn width(&self) -> f64 {
        (self.hi - self.lo) / self.bins() as f64
    }

    /// Bin index of `v`, clamped to the edge bins; `None` for non-finite values.
    #[inline]
    pub fn bin(&self, v: f64) -> Option<usize> {
        if !v.is_finite() {
            return None;
        }
        let k = ((v - self.lo) / (self.hi - self.lo) * self.bins() as f64).floor();
        Some(k.clamp(0.0, (self.bins() - 1) as f64) as usize)
    }

    pub fn add(&mut self, v: f64, w: f64) {
        if let Some(k) = self.bin(v) {
            self.counts[k] += w;
        }
    }

    /// Adds a per-frame count vector normalised to unit mass (each frame weighs one).
    pub fn add_frame_counts(&mut self, counts: &[u32]) {
        let total: u64 = counts.iter().map(|&c| c as u64).sum();
        if total == 0 {
            return;
        }
        let inv = 1.0 / total as f64;
        for (d, &c) in self.counts.iter_mut().zip(counts) {
            *d += c as f64 * inv;
        }
    }

    /// Adds another histogram with the same binning; mismatched binning is ignored with `false`.
    pub fn merge(&mut self, other: &Hist) -> bool {
        if other.counts.len() != self.counts.len() || other.lo != self.lo || other.hi != self.hi {
            return false;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        true
    }

    pub fn total(&self) -> f64 {
        self.counts.iter().sum()
    }

    pub fn pmf(&self) -> Vec<f64> {
        let t = self.total();
        if t <= 0.0 {
            return vec![0.0; self.bins()];
        }
        self.counts.iter().map(|c| c / t).collect()
    }

    pub fn centers(&self) -> Vec<f64> {
        let w = self.width();
        (0..self.bins())
            .map(|k| self.lo + (k as f64 + 0.5) * w)
            .collect()
    }

    pub fn mean(&self) -> f64 {
        let p = self.pmf();
        self.centers().iter().zip(&p).map(|(c, p)| c * p).sum()
    }

    pub fn std(&self) -> f64 {
        let p = self.pmf();
        let m = self.mean();
        self.centers()
            .iter()
            .zip(&p)
            .map(|(c, p)| p * (c - m) * (c - m))
            .sum::<f64>()
            .sqrt()
    }

    /// Quantile with linear interpolation inside the bin.
    pub fn quantile(&self, q: f64) -> f64 {
        let t = self.total();
        if t <= 0.0 {
            return f64::NAN;
        }
        let target = q.clamp(0.0, 1.0) * t;
        let mut acc = 0.0;
        let w = self.width();
        for (k, &c) in self.counts.iter().enumerate() {
            if acc + c >= target && c > 0.0 {
                return self.lo + (k as f64 + (target - acc) / c) * w;
            }
            acc += c;
        }
        self.hi
    }
}

/// A row-major 2-D grid of accumulated values (BEV maps, beams x azimuth sectors, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    pub rows: usize,
    pub cols: usize,
    pub values: Vec<f32>,
}

impl Grid {
    pub fn new(rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            values: vec![0.0; rows * cols],
        }
    }

    pub fn merge(&mut self, other: &Grid) -> bool {
        if other.rows != self.rows
            || other.cols != self.cols
            || other.values.len() != self.values.len()
        {
            return false;
        }
        for (a, b) in self.values.iter_mut().zip(&other.values) {
            *a += b;
        }
        true
    }

    pub fn as_f64(&self) -> Vec<f64> {
        self.values.iter().map(|&v| v as f64).collect()
    }
}

/// Quantile of a sample (linear interpolation between order statistics, numpy's default).
pub fn sample_quantile(values: &[f64], q: f64) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let i = pos.floor() as usize;
    let j = (i + 1).min(v.len() - 1);
    v[i] + (v[j] - v[i]) * (pos - i as f64)
}

pub fn median(values: &[f64]) -> f64 {
    sample_quantile(values, 0.5)
}

/// Samples pooled per range bin of `bin_width` (bin k starts at k·bin_width): (bin centre,
/// median) of every bin holding at least `min_count` samples, in range order.
pub fn bin_medians(bins: &[Vec<f32>], bin_width: f64, min_count: usize) -> Vec<(f64, f64)> {
    bins.iter()
        .enumerate()
        .filter(|(_, b)| b.len() >= min_count.max(1))
        .map(|(k, b)| {
            let mut v = b.clone();
            v.sort_by(f32::total_cmp);
            ((k as f64 + 0.5) * bin_width, v[v.len() / 2] as f64)
        })
        .collect()
}
