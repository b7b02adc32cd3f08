//! Metrics against values computed by hand from their published formulas.

use verisim::reality::check::baseline_splits;
use verisim::reality::lidar::bev_pmf;
use verisim::reality::metrics::*;
use verisim::reality::profile::SplitMix64;

#[test]
fn js_distance_of_known_distributions() {
    assert!((js_distance_base2(&[1.0, 0.0], &[0.0, 1.0]).unwrap() - 1.0).abs() < 1e-12);
    assert!(js_distance_base2(&[0.2, 0.8], &[2.0, 8.0]).unwrap() < 1e-7);
    // p = (1/2, 1/2), q = (1, 0): M = (3/4, 1/4); KL(p||M) = ½log2(2/3) + ½log2(2) = 0.2075187,
    // KL(q||M) = log2(4/3) = 0.4150375; JSD = 0.3112781 bits; distance = 0.5579230.
    let d = js_distance_base2(&[0.5, 0.5], &[1.0, 0.0]).unwrap();
    assert!((d - 0.557_923_0).abs() < 1e-6, "{d}");
    // scipy's natural-log convention: √(0.3112781·ln 2) = 0.4645014; max √ln2 for disjoint.
    let n = js_distance_scipy(&[0.5, 0.5], &[1.0, 0.0]).unwrap();
    assert!((n - 0.464_501_4).abs() < 1e-6, "{n}");
    assert!(
        (js_distance_scipy(&[1.0, 0.0], &[0.0, 1.0]).unwrap() - 2f64.ln().sqrt()).abs() < 1e-12
    );
    assert!(js_distance_base2(&[1.0], &[1.0, 0.0]).is_none());
}

#[test]
fn js_distance_of_shifted_gaussians_is_042_per_sd() {
    // REFERENCE.md: for two Gaussians JS distance (base 2) ≈ 0.42 x the shift in SDs.
    let bins = 4000;
    let (lo, hi) = (-10.0, 10.0);
    let w = (hi - lo) / bins as f64;
    let g = |mu: f64| -> Vec<f64> {
        (0..bins)
            .map(|k| {
                let x = lo + (k as f64 + 0.5) * w;
                (-(x - mu) * (x - mu) / 2.0).exp()
            })
            .collect()
    };
    let d = js_distance_base2(&g(0.0), &g(0.2)).unwrap();
    assert!((d / 0.2 - 0.42).abs() < 0.02, "{}", d / 0.2);
}

#[test]
fn w1_of_shifted_samples_is_the_shift() {
    let a: Vec<f64> = (0..100).map(|i| i as f64 * 0.37).collect();
    let b: Vec<f64> = a.iter().map(|x| x + 3.0).collect();
    assert!((w1_samples(&b, &a).unwrap() - 3.0).abs() < 1e-9);
    let s = sample_std(&a);
    assert!((w1_normalised(&b, &a).unwrap() - 3.0 / s).abs() < 1e-9);
    // histogram form: unit mass moved by 5 bins of width 0.5 = 2.5
    let mut p = vec![0.0; 20];
    let mut q = vec![0.0; 20];
    p[2] = 1.0;
    q[7] = 1.0;
    assert!((w1_hist(&p, &q, 0.5).unwrap() - 2.5).abs() < 1e-12);
}

#[test]
fn ks_statistic_and_p_value() {
    let a: Vec<f64> = (1..=20).map(f64::from).collect();
    let b: Vec<f64> = (11..=30).map(f64::from).collect();
    let ks = ks_two_sample(&a, &b).unwrap();
    assert!((ks.d - 0.5).abs() < 1e-12);
    // λ = 0.5·√(20·20/40) = 1.5811; Q = 2(e^{−2λ²} − e^{−8λ²} + ...) = 2(e^{−5} − e^{−20}) = 0.0134759
    assert!((ks.p_value - 0.013_475_9).abs() < 1e-6, "{}", ks.p_value);
    assert!((ks.d_crit_05 - 1.358 * (40.0f64 / 400.0).sqrt()).abs() < 1e-12);
    let same = ks_two_sample(&a, &a).unwrap();
    assert_eq!(same.d, 0.0);
    assert_eq!(same.p_value, 1.0);
    assert!((kolmogorov_q(1.358) - 0.05).abs() < 1e-3);
}

#[test]
fn relative_median_difference_by_hand() {
    assert!(
        (relative_median_difference(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0, 10.0]).unwrap() - 0.0).abs()
            < 1e-12
    );
    assert!((relative_median_difference(&[3.0], &[2.0]).unwrap() - 0.5).abs() < 1e-12);
}

fn random_pmf(rng: &mut SplitMix64, n: usize, sparsity: u64) -> Vec<f64> {
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            if rng.next_u64().is_multiple_of(sparsity) {
                rng.next_f64()
            } else {
                0.0
            }
        })
        .collect();
    let t: f64 = v.iter().sum();
    v.iter_mut().for_each(|x| *x /= t);
    v
}

#[test]
fn bev_mmd_closed_form_matches_exact() {
    let mut rng = SplitMix64(7);
    let a: Vec<Vec<f64>> = (0..12).map(|_| random_pmf(&mut rng, 10_000, 3)).collect();
    let b: Vec<Vec<f64>> = (0..9).map(|_| random_pmf(&mut rng, 10_000, 5)).collect();
    let mean = |v: &[Vec<f64>]| -> Vec<f64> {
        (0..v[0].len())
            .map(|k| v.iter().map(|x| x[k]).sum::<f64>() / v.len() as f64)
            .collect()
    };
    let exact = bev_mmd_exact(&a, &b, 0.5).unwrap();
    let closed = bev_mmd_closed_form(&mean(&a), &mean(&b)).unwrap();
    assert!(closed > 0.0);
    assert!(
        (exact - closed).abs() / closed < 1e-3,
        "exact {exact} closed {closed}"
    );
}

#[test]
#[cfg_attr(
    verisim_no_real_data,
    ignore = "needs recorded real drives: VERISIM_REAL_DATA (default ../shared/data/real) was not found at build time (VERISIM_REQUIRE_REAL_DATA=1 makes this a failure)"
)]
fn bev_mmd_on_real_frames_matches_exact() {
    let root = std::env::var_os("VERISIM_REAL_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/real")
        });
    let d = root.join("kitti_object_openpcdet/training/velodyne");
    let pmfs: Vec<Vec<f64>> = (0..6)
        .map(|i| {
            bev_pmf(
                &verisim::reality::readers::read_lidar(&d.join(format!("{i:06}.bin")))
                    .unwrap()
                    .points,
            )
        })
        .collect();
    let (a, b) = pmfs.split_at(3);
    let mean = |v: &[Vec<f64>]| -> Vec<f64> {
        (0..v[0].len())
            .map(|k| v.iter().map(|x| x[k]).sum::<f64>() / v.len() as f64)
            .collect()
    };
    let exact = bev_mmd_exact(a, b, 0.5).unwrap();
    let closed = bev_mmd_closed_form(&mean(a), &mean(b)).unwrap();
    // The closed form is the first-order expansion of exp(−u), u = ‖x−y‖²/(2σ²) = 2‖x−y‖²; the
    // remainder is at most u²/2 per kernel term, and the MMD combines terms with weights summing
    // to 4 in magnitude: |exact − closed| ≤ 4·2·max‖x−y‖⁴. Single real KITTI frames are peaked
    // near the sensor (‖x−y‖² ≈ 0.01–0.03), so here the agreement is ~2%, not three digits.
    let d2max = pmfs
        .iter()
        .flat_map(|x| {
            pmfs.iter()
                .map(move |y| x.iter().zip(y).map(|(p, q)| (p - q) * (p - q)).sum::<f64>())
        })
        .fold(0.0f64, f64::max);
    assert!(
        (exact - closed).abs() <= 8.0 * d2max * d2max,
        "exact {exact} closed {closed} d2max {d2max}"
    );
    assert!(
        (exact - closed).abs() / closed < 0.05,
        "exact {exact} closed {closed}"
    );
}

#[test]
fn baseline_splits_are_disjoint_and_complete() {
    let s = baseline_splits(6, 256, 1);
    assert_eq!(s.len(), 10); // C(6,3)/2
    for (a, b) in &s {
        assert_eq!(a.len() + b.len(), 6);
        assert!(a.iter().all(|x| !b.contains(x)));
    }
    assert_eq!(baseline_splits(3, 256, 1).len(), 3);
    assert!(baseline_splits(1, 256, 1).is_empty());
    assert_eq!(baseline_splits(30, 50, 1).len(), 50);
}
