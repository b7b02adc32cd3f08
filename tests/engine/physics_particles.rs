//! Precipitation particles against the closed forms: Marshall–Palmer sizes and number density,
//! terminal velocities, snow fall speeds, recycling, determinism.

use bytemuck::Zeroable;
use glam::Vec3;
use verisim::physics::precip::{
    KIND_RAIN, KIND_SNOW, Particle, PrecipConfig, PrecipParams, advance_particle,
    advance_particles_cpu, advance_particles_cpu_steps, resize_population, snow_melted_diameter_mm,
};

const MAX_PARTICLES: usize = 5_000_000;

/// Marshall–Palmer, written out here independently of the library.
fn mp_lambda(r: f64) -> f64 {
    4.1 * r.powf(-0.21)
}

/// ∫_a^b 8000·exp(−ΛD) dD by the trapezoid rule (independent of the library's closed form).
fn mp_number_density(r: f64, a: f64, b: f64) -> f64 {
    let l = mp_lambda(r);
    let n = 20_000;
    let h = (b - a) / n as f64;
    (0..=n)
        .map(|i| {
            let d = a + h * i as f64;
            let w = if i == 0 || i == n { 0.5 } else { 1.0 };
            w * 8000.0 * (-l * d).exp()
        })
        .sum::<f64>()
        * h
}

/// Atlas et al. (1973), written out independently.
fn atlas_v(d: f64) -> f64 {
    9.65 - 10.3 * (-0.6 * d).exp()
}

fn population(config: &PrecipConfig) -> (Vec<Particle>, PrecipParams) {
    let mut particles = Vec::new();
    let mut params = PrecipParams::zeroed();
    resize_population(&mut particles, config, &mut params, MAX_PARTICLES).unwrap();
    (particles, params)
}

/// Runs `steps` steps, moving the box centre by `ego_velocity` each step.
fn run(
    particles: &mut [Particle],
    config: &mut PrecipConfig,
    params: &mut PrecipParams,
    steps: u32,
    ego_velocity_m_per_s: Vec3,
) {
    for _ in 0..steps {
        config.tick += 1;
        config.center_m += ego_velocity_m_per_s * config.dt_s;
        let count = params.particle_count;
        *params = config.params(count).unwrap();
        advance_particles_cpu(particles, params);
    }
}

fn rain_config(rain_mm_per_h: f32, half_extents_m: Vec3) -> PrecipConfig {
    PrecipConfig {
        center_m: Vec3::new(100.0, -50.0, 5.0),
        half_extents_m,
        wind_m_per_s: Vec3::new(3.0, -1.0, 0.0),
        dt_s: 0.05,
        rain_mm_per_h,
        seed: 1234,
        ..Default::default()
    }
}

fn inside(p: &Particle, config: &PrecipConfig) -> bool {
    let rel = Vec3::from(p.position_m) - config.center_m;
    let tol = 1e-3;
    (rel.abs() - config.half_extents_m).max_element() <= tol
}

/// KS distance between the sample and the truncated-exponential CDF on [a, b].
fn ks_truncated_exp(mut sample: Vec<f64>, lambda: f64, a: f64, b: f64) -> f64 {
    sample.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let n = sample.len() as f64;
    let norm = 1.0 - (-lambda * (b - a)).exp();
    let cdf = |d: f64| (1.0 - (-lambda * (d - a)).exp()) / norm;
    sample
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let f = cdf(d);
            (f - i as f64 / n).abs().max((f - (i + 1) as f64 / n).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn rain_count_density_matches_marshall_palmer_integral() {
    for rate in [1.0f32, 10.0, 50.0] {
        let mut config = rain_config(rate, Vec3::new(3.0, 3.0, 2.0));
        let (mut particles, mut params) = population(&config);
        let expected_density = mp_number_density(rate as f64, 0.1, 6.0);
        let volume = config.volume_m3();
        let rel = (particles.len() as f64 - expected_density * volume).abs()
            / (expected_density * volume);
        assert!(
            rel < 0.10,
            "R={rate}: {} particles for {} expected",
            particles.len(),
            expected_density * volume
        );

        // After advection (the box moves with the ego, wind blows): density in an inner box,
        // and per height layer, still matches the integral within 10%.
        run(
            &mut particles,
            &mut config,
            &mut params,
            100,
            Vec3::new(15.0, 0.0, 0.0),
        );
        let inner = config.half_extents_m * 0.8;
        let mut layers = [0usize; 4];
        let mut n_inner = 0usize;
        for p in &particles {
            let rel = Vec3::from(p.position_m) - config.center_m;
            if rel.x.abs() < inner.x && rel.y.abs() < inner.y && rel.z.abs() < inner.z {
                n_inner += 1;
            }
            let layer = (((rel.z + config.half_extents_m.z) / (2.0 * config.half_extents_m.z))
                * 4.0)
                .floor()
                .clamp(0.0, 3.0) as usize;
            layers[layer] += 1;
        }
        let inner_volume = 8.0 * (inner.x * inner.y * inner.z) as f64;
        let density = n_inner as f64 / inner_volume;
        assert!(
            (density - expected_density).abs() / expected_density < 0.10,
            "R={rate}: inner density {density} vs {expected_density} per m³"
        );
        for (i, &n) in layers.iter().enumerate() {
            let d = n as f64 / (volume / 4.0);
            assert!(
                (d - expected_density).abs() / expected_density < 0.10,
                "R={rate} layer {i}: {d}"
            );
        }
    }
}

#[test]
fn rain_diameters_follow_marshall_palmer_after_many_recycles() {
    // A short box (2 m tall): in 20 s even 0.3 mm drops (1.2 m/s) recycle many times, so a
    // respawn distribution other than the flux-weighted one would show.
    let rate = 10.0f32;
    let mut config = rain_config(rate, Vec3::new(3.5, 3.5, 1.0));
    let (mut particles, mut params) = population(&config);
    let lambda = mp_lambda(rate as f64);
    let n = particles.len() as f64;
    // Two-sample-free KS against the analytic CDF; critical value at α = 0.001 is 1.949/√n.
    let critical = 1.949 / n.sqrt();
    let d0 = ks_truncated_exp(
        particles.iter().map(|p| p.diameter_mm as f64).collect(),
        lambda,
        0.1,
        6.0,
    );
    assert!(d0 < critical, "initial KS {d0} >= {critical}");
    run(&mut particles, &mut config, &mut params, 400, Vec3::ZERO);
    let d1 = ks_truncated_exp(
        particles.iter().map(|p| p.diameter_mm as f64).collect(),
        lambda,
        0.1,
        6.0,
    );
    assert!(
        d1 < critical,
        "KS after 20 s of recycling {d1} >= {critical} (n = {n})"
    );
    // Binned check as well (0.5 mm bins, the last one closed at 6 mm): Pearson χ² against the
    // Marshall–Palmer shares below the α = 0.001 critical value for its degrees of freedom, and
    // every bin expecting ≥ 2000 drops within 5% of its share.
    let total = mp_number_density(rate as f64, 0.1, 6.0);
    let edges: Vec<f64> = (0..=8).map(|k| 0.1 + 0.5 * k as f64).chain([6.0]).collect();
    let mut chi2 = 0.0;
    for w in edges.windows(2) {
        let (lo, hi) = (w[0], w[1]);
        let expected = n * mp_number_density(rate as f64, lo, hi) / total;
        let got = particles
            .iter()
            .filter(|p| {
                let d = p.diameter_mm as f64;
                (lo..hi).contains(&d) || (hi == 6.0 && d == 6.0)
            })
            .count() as f64;
        chi2 += (got - expected).powi(2) / expected;
        if expected >= 2000.0 {
            assert!(
                (got - expected).abs() / expected < 0.05,
                "bin [{lo},{hi}): {got} vs {expected}"
            );
        }
    }
    // 9 bins → 8 degrees of freedom; χ²(8) critical value at α = 0.001 is 26.12.
    assert!(chi2 < 26.12, "χ² = {chi2}");
}

#[test]
fn rain_fall_speed_per_diameter_bin_matches_terminal_velocity() {
    let mut config = rain_config(20.0, Vec3::new(4.0, 4.0, 3.0));
    let (mut particles, mut params) = population(&config);
    run(&mut particles, &mut config, &mut params, 100, Vec3::ZERO);
    let before = particles.clone();
    run(&mut particles, &mut config, &mut params, 1, Vec3::ZERO);

    let bin_mm = 0.25;
    let bins = 24; // 0–6 mm
    let mut sum_v = vec![0.0f64; bins];
    let mut sum_d = vec![0.0f64; bins];
    let mut count = vec![0usize; bins];
    let mut wind_sum = Vec3::ZERO.as_dvec3();
    let mut wind_n = 0usize;
    for (a, b) in before.iter().zip(&particles) {
        let dz = a.position_m[2] - b.position_m[2];
        let recycled = a.diameter_mm != b.diameter_mm || dz < 0.0 || dz > config.half_extents_m.z;
        if recycled {
            continue;
        }
        let k = ((a.diameter_mm / bin_mm) as usize).min(bins - 1);
        sum_v[k] += dz as f64 / config.dt_s as f64;
        sum_d[k] += a.diameter_mm as f64;
        count[k] += 1;
        let dxy = (Vec3::from(b.position_m) - Vec3::from(a.position_m)).as_dvec3();
        if dxy.x.abs() < config.half_extents_m.x as f64
            && dxy.y.abs() < config.half_extents_m.y as f64
        {
            wind_sum += dxy / config.dt_s as f64;
            wind_n += 1;
        }
    }
    let mut checked = 0;
    for k in 1..bins {
        if count[k] < 100 {
            continue;
        }
        let mean_v = sum_v[k] / count[k] as f64;
        let mean_d = sum_d[k] / count[k] as f64;
        let law = atlas_v(mean_d);
        assert!(
            (mean_v - law).abs() / law < 0.05,
            "bin {k} (D≈{mean_d:.2} mm): fall speed {mean_v:.3} vs law {law:.3} m/s"
        );
        checked += 1;
    }
    assert!(checked >= 12, "only {checked} bins had enough drops");
    let wind = wind_sum / wind_n as f64;
    assert!(
        (wind.x - 3.0).abs() < 0.03 && (wind.y + 1.0).abs() < 0.03,
        "horizontal drift {wind:?}"
    );
}

#[test]
fn snow_falls_at_half_to_one_and_a_half_metres_per_second_with_drift() {
    let mut config = PrecipConfig {
        half_extents_m: Vec3::new(5.0, 5.0, 3.0),
        wind_m_per_s: Vec3::new(-2.0, 0.0, 0.0),
        dt_s: 0.05,
        snow_mm_per_h: 2.0,
        seed: 99,
        turbulence_m_per_s: 0.3,
        turbulence_time_s: 1.0,
        ..Default::default()
    };
    let (mut particles, mut params) = population(&config);
    assert!(particles.iter().all(|p| p.kind == KIND_SNOW) && particles.len() > 10_000);
    run(&mut particles, &mut config, &mut params, 200, Vec3::ZERO);
    let before = particles.clone();
    run(&mut particles, &mut config, &mut params, 1, Vec3::ZERO);
    let mut speeds = Vec::new();
    let mut drift_sq = 0.0f64;
    for (a, b) in before.iter().zip(&particles) {
        let d = Vec3::from(b.position_m) - Vec3::from(a.position_m);
        if a.diameter_mm != b.diameter_mm || d.z > 0.0 || d.abs().max_element() > 1.0 {
            continue; // recycled this step
        }
        let v = -d.z / config.dt_s;
        speeds.push(v);
        // Closed form 0.8·D^0.16 for the flake diameter.
        let law = 0.8 * a.diameter_mm.powf(0.16);
        assert!(
            (v - law).abs() < 1e-3 * law.max(1.0) + 1e-3,
            "v {v} vs {law}"
        );
        let drift = d.x / config.dt_s - config.wind_m_per_s.x;
        drift_sq += (drift as f64).powi(2);
    }
    assert!(speeds.len() > particles.len() / 2);
    assert!(
        speeds.iter().all(|v| (0.5..=1.5).contains(v)),
        "snow fall speeds outside 0.5–1.5 m/s"
    );
    // Turbulent drift keeps its stationary standard deviation (0.3 m/s) within 10%.
    let sigma = (drift_sq / speeds.len() as f64).sqrt();
    assert!((sigma - 0.3).abs() < 0.03, "drift σ {sigma}");
    // Sizes: melted diameters follow Gunn–Marshall, Λ = 2.55·R^−0.48, on [0.2, 5] mm.
    let lambda = 2.55 * 2.0f64.powf(-0.48);
    let melted: Vec<f64> = particles
        .iter()
        .map(|p| snow_melted_diameter_mm(p.diameter_mm) as f64)
        .collect();
    let n = melted.len() as f64;
    let ks = ks_truncated_exp(melted, lambda, 0.2, 5.0);
    assert!(ks < 1.949 / n.sqrt(), "snow KS {ks}");
}

#[test]
fn recycling_keeps_count_and_everything_inside_the_moving_box() {
    let mut config = PrecipConfig {
        center_m: Vec3::new(0.0, 0.0, 2.0),
        half_extents_m: Vec3::new(3.0, 2.0, 1.5),
        wind_m_per_s: Vec3::new(12.0, -7.0, 0.5),
        dt_s: 0.1,
        rain_mm_per_h: 5.0,
        snow_mm_per_h: 1.0,
        seed: 7,
        ..Default::default()
    };
    let (mut particles, mut params) = population(&config);
    let n = particles.len();
    let kinds = |ps: &[Particle]| ps.iter().filter(|p| p.kind == KIND_RAIN).count();
    let n_rain = kinds(&particles);
    assert!(n_rain > 0 && n_rain < n);
    for step in 0..300 {
        // The ego drives a curve, climbs and descends.
        let t = step as f32 * config.dt_s;
        let ego = Vec3::new(20.0 * t.cos(), 20.0 * t.sin(), 3.0 * (0.5 * t).sin());
        run(&mut particles, &mut config, &mut params, 1, ego);
        assert_eq!(particles.len(), n);
        assert_eq!(kinds(&particles), n_rain);
        let outside = particles.iter().filter(|p| !inside(p, &config)).count();
        assert_eq!(
            outside, 0,
            "step {step}: {outside} particles outside the box"
        );
        assert!(
            particles
                .iter()
                .all(|p| p.diameter_mm.is_finite() && p.diameter_mm > 0.0)
        );
    }
}

#[test]
fn resize_follows_rate_changes() {
    let mut config = rain_config(10.0, Vec3::new(3.0, 3.0, 2.0));
    let (mut particles, mut params) = population(&config);
    let expected = |c: &PrecipConfig| c.expected_counts().0.round() as usize;
    assert_eq!(particles.len(), expected(&config));
    config.rain_mm_per_h = 2.0;
    resize_population(&mut particles, &config, &mut params, MAX_PARTICLES).unwrap();
    assert_eq!(particles.len(), expected(&config));
    assert_eq!(params.particle_count as usize, particles.len());
    config.rain_mm_per_h = 40.0;
    config.snow_mm_per_h = 0.5;
    resize_population(&mut particles, &config, &mut params, MAX_PARTICLES).unwrap();
    let (rain, snow) = config.expected_counts();
    assert_eq!(
        particles.iter().filter(|p| p.kind == KIND_RAIN).count(),
        rain.round() as usize
    );
    assert_eq!(
        particles.iter().filter(|p| p.kind == KIND_SNOW).count(),
        snow.round() as usize
    );
}

#[test]
fn cpu_twin_is_deterministic_and_thread_count_independent() {
    let make = || {
        let mut config = PrecipConfig {
            half_extents_m: Vec3::new(3.0, 3.0, 1.0),
            wind_m_per_s: Vec3::new(4.0, 1.0, 0.0),
            dt_s: 0.05,
            rain_mm_per_h: 8.0,
            snow_mm_per_h: 0.5,
            seed: 42,
            ..Default::default()
        };
        let (particles, params) = population(&config);
        config.tick = 0;
        (particles, params, config)
    };
    let (mut a, mut pa, mut ca) = make();
    let (mut b, mut pb, mut cb) = make();
    let (mut fused, _, mut cf) = make();
    assert_eq!(
        bytemuck::cast_slice::<Particle, u8>(&a),
        bytemuck::cast_slice::<Particle, u8>(&b)
    );
    run(&mut a, &mut ca, &mut pa, 100, Vec3::new(10.0, 0.0, 0.0));
    // The second run: sequential, one particle at a time (the loop the shader runs).
    for _ in 0..100 {
        cb.tick += 1;
        cb.center_m += Vec3::new(10.0, 0.0, 0.0) * cb.dt_s;
        pb = cb.params(pb.particle_count).unwrap();
        for (i, p) in b.iter_mut().enumerate() {
            *p = advance_particle(*p, i as u32, &pb);
        }
    }
    assert_eq!(
        bytemuck::cast_slice::<Particle, u8>(&a),
        bytemuck::cast_slice::<Particle, u8>(&b)
    );
    // The third: the 100 steps at once, each particle through all of them in turn.
    let steps: Vec<PrecipParams> = (0..100)
        .map(|_| {
            cf.tick += 1;
            cf.center_m += Vec3::new(10.0, 0.0, 0.0) * cf.dt_s;
            cf.params(pa.particle_count).unwrap()
        })
        .collect();
    advance_particles_cpu_steps(&mut fused, &steps);
    assert_eq!(
        bytemuck::cast_slice::<Particle, u8>(&a),
        bytemuck::cast_slice::<Particle, u8>(&fused)
    );
    // A different seed gives a different population.
    let mut config = ca;
    config.seed = 43;
    let (c, _) = population(&config);
    assert_ne!(c[..100], a[..100]);
}
