//! Distances between distributions, following docs REFERENCE.md "Reality-check statistics".

/// Normalises non-negative weights to a pmf; `None` when the mass is zero or not finite.
fn normalise(p: &[f64]) -> Option<Vec<f64>> {
    let t: f64 = p.iter().map(|v| v.max(0.0)).sum();
    if t.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) || !t.is_finite() {
        return None;
    }
    Some(p.iter().map(|v| v.max(0.0) / t).collect())
}

fn js_divergence(p: &[f64], q: &[f64], log: fn(f64) -> f64) -> Option<f64> {
    if p.len() != q.len() {
        return None;
    }
    let p = normalise(p)?;
    let q = normalise(q)?;
    let mut d = 0.0;
    for (a, b) in p.iter().zip(&q) {
        let m = 0.5 * (a + b);
        if *a > 0.0 {
            d += 0.5 * a * (log(*a) - log(m));
        }
        if *b > 0.0 {
            d += 0.5 * b * (log(*b) - log(m));
        }
    }
    Some(d.max(0.0))
}

/// Jensen–Shannon *distance* with base-2 logarithms: √JSD, in [0, 1]. Inputs are normalised.
pub fn js_distance_base2(p: &[f64], q: &[f64]) -> Option<f64> {
    js_divergence(p, q, f64::log2).map(f64::sqrt)
}

/// Jensen–Shannon distance with natural logarithms, as `scipy.spatial.distance.jensenshannon`
/// returns it by default (max √ln 2 ≈ 0.833). Used for the BEV metric to compare with LiDARGen.
pub fn js_distance_scipy(p: &[f64], q: &[f64]) -> Option<f64> {
    js_divergence(p, q, f64::ln).map(f64::sqrt)
}

/// Wasserstein-1 between two histograms on the same bins of width `bin_width`: Σ|F_p − F_q|·w.
pub fn w1_hist(p: &[f64], q: &[f64], bin_width: f64) -> Option<f64> {
    if p.len() != q.len() {
        return None;
    }
    let p = normalise(p)?;
    let q = normalise(q)?;
    let (mut fp, mut fq, mut s) = (0.0, 0.0, 0.0);
    for (a, b) in p.iter().zip(&q) {
        fp += a;
        fq += b;
        s += (fp - fq).abs();
    }
    Some(s * bin_width)
}

fn sorted_finite(v: &[f64]) -> Vec<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    s.sort_by(f64::total_cmp);
    s
}

/// Wasserstein-1 between two samples: ∫|F_a(x) − F_b(x)| dx over the pooled support.
pub fn w1_samples(a: &[f64], b: &[f64]) -> Option<f64> {
    let a = sorted_finite(a);
    let b = sorted_finite(b);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut all: Vec<f64> = a.iter().chain(&b).copied().collect();
    all.sort_by(f64::total_cmp);
    let (mut i, mut j, mut w) = (0usize, 0usize, 0.0);
    for k in 0..all.len() - 1 {
        let x = all[k];
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        let fa = i as f64 / a.len() as f64;
        let fb = j as f64 / b.len() as f64;
        w += (fa - fb).abs() * (all[k + 1] - x);
    }
    Some(w)
}

/// Sample standard deviation (n − 1).
pub fn sample_std(v: &[f64]) -> f64 {
    let v = sorted_finite(v);
    if v.len() < 2 {
        return f64::NAN;
    }
    let m = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Normalised W1 = W1(synthetic, real) / σ(real) (REFERENCE.md).
pub fn w1_normalised(synth: &[f64], real: &[f64]) -> Option<f64> {
    let s = sample_std(real);
    let w = w1_samples(synth, real)?;
    if s > 0.0 { Some(w / s) } else { None }
}

/// Result of a two-sample Kolmogorov–Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ks {
    pub d: f64,
    /// Asymptotic p-value Q_KS(D·√(nm/(n+m))) (scipy's `method="asymp"` convention).
    pub p_value: f64,
    /// Critical D at α = 0.05: 1.358·√((n+m)/(nm)).
    pub d_crit_05: f64,
}

/// Kolmogorov distribution survival function Q_KS(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}.
pub fn kolmogorov_q(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0;
    }
    let mut s = 0.0;
    for k in 1..=100 {
        let kf = k as f64;
        let t = (-2.0 * kf * kf * lambda * lambda).exp();
        s += if k % 2 == 1 { t } else { -t };
        if t < 1e-16 {
            break;
        }
    }
    (2.0 * s).clamp(0.0, 1.0)
}

pub fn ks_two_sample(a: &[f64], b: &[f64]) -> Option<Ks> {
    let a = sorted_finite(a);
    let b = sorted_finite(b);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    let en = (n * m / (n + m)).sqrt();
    Some(Ks {
        d,
        p_value: kolmogorov_q(d * en),
        d_crit_05: ks_critical_05(a.len(), b.len()),
    })
}

pub fn ks_critical_05(n: usize, m: usize) -> f64 {
    let (n, m) = (n as f64, m as f64);
    1.358 * ((n + m) / (n * m)).sqrt()
}

/// |median(synth) − median(real)| / |median(real)|.
pub fn relative_median_difference(synth: &[f64], real: &[f64]) -> Option<f64> {
    let ms = super::hist::median(synth);
    let mr = super::hist::median(real);
    if !ms.is_finite() || !mr.is_finite() {
        return None;
    }
    Some((ms - mr).abs() / mr.abs().max(1e-12))
}

/// BEV-MMD, closed form: 4·‖mean pmf(A) − mean pmf(B)‖², which the biased RBF-kernel MMD
/// estimator with σ = 0.5 equals to three digits at BEV-pmf scales (REFERENCE.md).
pub fn bev_mmd_closed_form(mean_pmf_a: &[f64], mean_pmf_b: &[f64]) -> Option<f64> {
    if mean_pmf_a.len() != mean_pmf_b.len() {
        return None;
    }
    Some(
        4.0 * mean_pmf_a
            .iter()
            .zip(mean_pmf_b)
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>(),
    )
}

/// BEV-MMD, exact biased estimator with k(x, y) = exp(−‖x − y‖² / (2σ²)): O(n²) in the number of
/// frames, used to cross-check the closed form.
pub fn bev_mmd_exact(a: &[Vec<f64>], b: &[Vec<f64>], sigma: f64) -> Option<f64> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let k = |x: &[f64], y: &[f64]| {
        let d2: f64 = x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)).sum();
        (-d2 / (2.0 * sigma * sigma)).exp()
    };
    let mean_k = |u: &[Vec<f64>], v: &[Vec<f64>]| {
        let mut s = 0.0;
        for x in u {
            for y in v {
                s += k(x, y);
            }
        }
        s / (u.len() * v.len()) as f64
    };
    Some(mean_k(a, a) + mean_k(b, b) - 2.0 * mean_k(a, b))
}

/// Mean absolute difference of two curves over the entries where both are finite.
pub fn mean_abs_difference(a: &[f64], b: &[f64]) -> Option<f64> {
    let pairs: Vec<f64> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| x.is_finite() && y.is_finite())
        .map(|(x, y)| (x - y).abs())
        .collect();
    if pairs.is_empty() {
        None
    } else {
        Some(pairs.iter().sum::<f64>() / pairs.len() as f64)
    }
}
