//! Braking distances against v²/(2μg), and a road that wets and dries with the weather.

use verisim::physics::friction::{RoadSurface, SurfaceKind, SurfaceWeather};
use verisim::physics::longitudinal::{
    G_M_PER_S2, emergency_brake_accel_m_per_s2, integrate_longitudinal, limit_accel_m_per_s2,
};

/// Brakes from `v0` at the friction limit of `surface` (μ re-evaluated at the current speed each
/// step, as the ECS will) until rest; returns (distance, steps, speed went negative).
fn brake_to_rest(v0: f32, surface: &RoadSurface, dt_s: f32) -> (f32, usize, bool) {
    let mut v = v0;
    let mut x = 0.0f64;
    let mut steps = 0;
    let mut negative = false;
    while v > 0.0 {
        let a = emergency_brake_accel_m_per_s2(surface.mu(v));
        let step = integrate_longitudinal(v, a, dt_s);
        negative |= step.speed_m_per_s < 0.0 || step.distance_m < 0.0;
        x += step.distance_m as f64;
        v = step.speed_m_per_s;
        steps += 1;
        assert!(steps < 1_000_000, "never stopped");
    }
    // Once stopped it stays stopped: no creeping back, no oscillation.
    for _ in 0..100 {
        let step = integrate_longitudinal(v, emergency_brake_accel_m_per_s2(surface.mu(0.0)), dt_s);
        assert_eq!((step.speed_m_per_s, step.distance_m), (0.0, 0.0));
    }
    (x as f32, steps, negative)
}

fn surfaces() -> [(SurfaceKind, RoadSurface); 4] {
    [
        (SurfaceKind::Dry, RoadSurface::dry()),
        (
            SurfaceKind::Wet,
            RoadSurface {
                water_film_mm: 0.8,
                ..Default::default()
            },
        ),
        (
            SurfaceKind::Snow,
            RoadSurface {
                snow_depth_mm: 30.0,
                ..Default::default()
            },
        ),
        (
            SurfaceKind::Ice,
            RoadSurface {
                ice_fraction: 1.0,
                ..Default::default()
            },
        ),
    ]
}

#[test]
fn braking_from_100_kmh_matches_v2_over_2mug_on_every_surface() {
    let v0 = 100.0 / 3.6;
    for (kind, surface) in surfaces() {
        assert_eq!(surface.kind(), kind);
        // Published ranges (REFERENCE.md): dry 0.7–0.9, wet 0.45–0.65, packed snow 0.25–0.35,
        // ice 0.05–0.15.
        let mu0 = surface.mu(v0);
        let range = match kind {
            SurfaceKind::Dry => 0.7..=0.9,
            SurfaceKind::Wet => 0.45..=0.65,
            SurfaceKind::Snow => 0.25..=0.35,
            SurfaceKind::Ice => 0.05..=0.15,
        };
        assert!(range.contains(&mu0), "{kind:?}: μ {mu0}");
        for dt in [0.01f32, 0.05] {
            let (d, _, negative) = brake_to_rest(v0, &surface, dt);
            assert!(!negative);
            // Closed form with the speed-dependent μ: d = ∫ v/(μ(v)·g) dv (midpoint rule over
            // 10,000 speed slices); for a constant μ this is v²/(2μg).
            let n = 10_000;
            let closed: f64 = (0..n)
                .map(|i| {
                    let v = (i as f64 + 0.5) / n as f64 * v0 as f64;
                    v / (surface.mu(v as f32) as f64 * G_M_PER_S2 as f64) * (v0 as f64 / n as f64)
                })
                .sum();
            let rel = (d as f64 - closed).abs() / closed;
            assert!(rel < 0.05, "{kind:?} dt={dt}: {d} m vs {closed} m");
            // And against the REFERENCE figure for the nominal μ (49 m dry, 79 m at 0.5, 131 m at
            // 0.3, 393 m at 0.1): v²/(2μg) with μ at 100 km/h.
            let nominal = v0 * v0 / (2.0 * mu0 * G_M_PER_S2);
            if kind != SurfaceKind::Wet {
                assert!(
                    (d - nominal).abs() / nominal < 0.05,
                    "{kind:?}: {d} vs {nominal}"
                );
            }
        }
    }
    // The REFERENCE table itself, from the closed form.
    for (mu, d_ref) in [(0.8f32, 49.0f32), (0.5, 79.0), (0.3, 131.0), (0.1, 393.0)] {
        let d = v0 * v0 / (2.0 * mu * G_M_PER_S2);
        assert!((d - d_ref).abs() < 1.0, "μ {mu}: {d}");
    }
}

#[test]
fn deceleration_never_exceeds_mu_g() {
    for (_, surface) in surfaces() {
        for a in [-100.0f32, -9.0, -3.0, 0.0, 3.0, 100.0] {
            let limited = limit_accel_m_per_s2(a, surface.mu(20.0));
            assert!(limited.abs() <= surface.mu(20.0) * G_M_PER_S2 + 1e-6);
        }
    }
}

#[test]
fn road_wets_in_rain_dries_after_and_stopping_distance_follows() {
    let v0 = 100.0 / 3.6;
    let mut road = RoadSurface::dry();
    let rain = SurfaceWeather {
        rain_mm_per_h: 10.0,
        ..Default::default()
    };
    let dry_weather = SurfaceWeather::default();
    let dt = 1.0;
    let stop = |r: &RoadSurface| brake_to_rest(v0, r, 0.01).0;
    let d_dry = stop(&road);

    let mut film = vec![road.water_film_mm];
    let mut distances = vec![d_dry];
    for minute in 0..30 {
        for _ in 0..60 {
            road.step(&rain, dt).unwrap();
        }
        film.push(road.water_film_mm);
        if minute % 5 == 4 {
            distances.push(stop(&road));
        }
    }
    // Rising film, monotone, towards the steady state R·τ/3600 = 10·300/3600 mm.
    assert!(film.windows(2).all(|w| w[1] >= w[0]));
    let steady = 10.0 * 300.0 / 3600.0;
    assert!(
        (road.water_film_mm - steady).abs() / steady < 0.02,
        "film {}",
        road.water_film_mm
    );
    assert_eq!(road.kind(), SurfaceKind::Wet);
    assert!(
        distances.windows(2).all(|w| w[1] >= w[0] - 1e-3),
        "{distances:?}"
    );
    let d_wet = stop(&road);
    assert!(d_wet > 1.2 * d_dry, "wet {d_wet} vs dry {d_dry}");

    // Rain stops: the film decays as exp(−t/τ) and the road dries.
    let w0 = road.water_film_mm;
    for _ in 0..300 {
        road.step(&dry_weather, dt).unwrap();
    }
    let expected = w0 * (-1.0f32).exp();
    assert!((road.water_film_mm - expected).abs() / expected < 0.01);
    let d_drying = stop(&road);
    assert!(d_drying <= d_wet);
    for _ in 0..3600 {
        road.step(&dry_weather, dt).unwrap();
    }
    assert_eq!(road.kind(), SurfaceKind::Dry);
    let d_after = stop(&road);
    assert!(
        (d_after - d_dry).abs() / d_dry < 0.01,
        "after drying {d_after} vs {d_dry}"
    );
}

#[test]
fn snow_accumulates_with_ten_to_one_density_and_melts_above_zero() {
    let mut road = RoadSurface::dry();
    let snow = SurfaceWeather {
        snow_mm_per_h: 2.0,
        air_temp_c: Some(-3.0),
        ..Default::default()
    };
    for _ in 0..1800 {
        road.step(&snow, 1.0).unwrap();
    }
    // 2 mm/h of water for 0.5 h at 10:1 → 10 mm of snow.
    assert!(
        (road.snow_depth_mm - 10.0).abs() < 0.01,
        "{}",
        road.snow_depth_mm
    );
    assert_eq!(road.kind(), SurfaceKind::Snow);
    assert!((road.mu(20.0) - 0.3).abs() < 1e-6);
    let warm = SurfaceWeather {
        air_temp_c: Some(4.0),
        ..Default::default()
    };
    // Melt 0.5 mm/(h·°C) · 4 °C = 2 mm/h of water: the 1 mm of water melts in 30 min.
    for _ in 0..1800 {
        road.step(&warm, 1.0).unwrap();
    }
    assert!(road.snow_depth_mm < 0.01, "{}", road.snow_depth_mm);
    assert!(road.water_film_mm > 0.05);
    assert_eq!(road.kind(), SurfaceKind::Wet);
}
