//! Extinction by rain, snow and fog against the closed forms and REFERENCE.md figures.

use verisim::physics::precip::{
    fog_alpha_per_m, koschmieder_sigma_per_m, mor_from_alpha_m, rain_extinction_per_m,
    snow_extinction_per_m, total_extinction_per_m,
};

#[test]
fn rain_extinction_matches_closed_form_and_reference_figures() {
    // REFERENCE.md: α ≈ 3.65e-4·R^0.63 /m; 1 mm/h → 0.36 /km, 10 → 1.6 /km, 50 → 4.3 /km.
    for (rate, per_km) in [(1.0f32, 0.36f32), (10.0, 1.6), (50.0, 4.3)] {
        let alpha = rain_extinction_per_m(rate);
        let closed = 3.65e-4 * rate.powf(0.63);
        // The drop population is truncated to [0.1, 6] mm, which removes ≤ 1% of D²-weight at
        // R ≥ 1 mm/h.
        assert!(
            (alpha - closed).abs() / closed < 0.02,
            "R={rate}: {alpha} vs closed form {closed}"
        );
        let figure = per_km * 1e-3;
        assert!(
            (alpha - figure).abs() / figure < 0.10,
            "R={rate}: {alpha} /m vs {figure} /m"
        );
    }
    // Exact integral over the drop sizes [0.1, 6] mm:
    // ∫D²e^{−ΛD}dD = −e^{−ΛD}(D²/Λ + 2D/Λ² + 2/Λ³).
    for rate in [0.5f32, 5.0, 25.0, 100.0] {
        let l = 4.1 * (rate as f64).powf(-0.21);
        let f = |d: f64| -(-l * d).exp() * (d * d / l + 2.0 * d / (l * l) + 2.0 / l.powi(3));
        let exact = std::f64::consts::FRAC_PI_2 * 8000.0 * (f(6.0) - f(0.1)) * 1e-6;
        let alpha = rain_extinction_per_m(rate) as f64;
        assert!(
            (alpha - exact).abs() / exact < 0.005,
            "R={rate}: {alpha} vs {exact}"
        );
    }
    assert_eq!(rain_extinction_per_m(0.0), 0.0);
    assert_eq!(rain_extinction_per_m(f32::NAN), 0.0);
}

#[test]
fn snow_extinction_matches_its_closed_form_and_moderate_snow_visibility() {
    // Closed form over the melted sizes [0.2, 5] mm: (π/2)·N0/0.17·∫D³e^{−ΛD}dD with
    // ∫D³e^{−ΛD}dD = −e^{−ΛD}(D³/Λ + 3D²/Λ² + 6D/Λ³ + 6/Λ⁴), N0 = 3800·R^−0.87,
    // Λ = 2.55·R^−0.48.
    for rate in [0.3f32, 1.0, 3.0] {
        let r = rate as f64;
        let (n0, l) = (3800.0 * r.powf(-0.87), 2.55 * r.powf(-0.48));
        let f = |d: f64| {
            -(-l * d).exp()
                * (d.powi(3) / l + 3.0 * d * d / (l * l) + 6.0 * d / l.powi(3) + 6.0 / l.powi(4))
        };
        let exact = std::f64::consts::FRAC_PI_2 * n0 / 0.17 * (f(5.0) - f(0.2)) * 1e-6;
        let alpha = snow_extinction_per_m(rate) as f64;
        assert!(
            (alpha - exact).abs() / exact < 0.005,
            "R={rate}: {alpha} vs {exact}"
        );
    }
    // 1 mm/h of melted water is moderate-to-heavy snow: visibility (MOR) 0.4–1 km.
    let mor = mor_from_alpha_m(snow_extinction_per_m(1.0));
    assert!((400.0..=1000.0).contains(&mor), "MOR {mor} m");
    // Snow hides far more than the same water as rain.
    assert!(snow_extinction_per_m(1.0) > 5.0 * rain_extinction_per_m(1.0));
}

#[test]
fn fog_mor_and_koschmieder() {
    // MOR 50 m ⇒ α = 0.060 /m (REFERENCE.md).
    assert!((fog_alpha_per_m(50.0) - 0.060).abs() < 0.0005);
    // 5% transmittance at MOR, 2% contrast at the Koschmieder range.
    for v in [50.0f32, 200.0, 1000.0] {
        assert!(((-fog_alpha_per_m(v) * v).exp() - 0.05).abs() < 1e-4);
        assert!(((-koschmieder_sigma_per_m(v) * v).exp() - 0.02).abs() < 1e-4);
        assert!((mor_from_alpha_m(fog_alpha_per_m(v)) - v).abs() < 1e-3 * v);
    }
    assert!(fog_alpha_per_m(0.0).is_infinite());
    let total = total_extinction_per_m(Some(100.0), 10.0, 0.0);
    assert!((total - fog_alpha_per_m(100.0) - rain_extinction_per_m(10.0)).abs() < 1e-7);
}
