//! A compact analytic daylight model: sun direction, direct irradiance reddened by air mass,
//! sky radiance at zenith and horizon, softened by cloud cover, with a twilight ramp.
//! Units are relative (1.0 ≈ clear-sky direct normal irradiance at high sun).

use glam::Vec3;

use crate::scenario::Weather;

/// Depth of the fog layer the sun shines through, metres.
pub const FOG_LAYER_M: f32 = 150.0;
/// Sky radiance scale at night (relative units; 3e-7 ≈ 0.03 cd/m², an urban night sky).
pub const NIGHT_SKY: f32 = 3.0e-7;

/// Angular radius (rad) of the cone shadow rays sample towards the sun: the sun's disc
/// (0.27°) widened by cloud cover, which softens shadows.
pub fn sun_cone_rad(cloud_cover: f32) -> f32 {
    0.0047 + 0.04 * cloud_cover
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SkyLight {
    pub sun_dir: Vec3,
    pub sun_irradiance: Vec3,
    pub sky_zenith: Vec3,
    pub sky_horizon: Vec3,
    /// Irradiance on a horizontal surface from sun and sky together (luminance-weighted).
    pub horizontal_irradiance: f32,
}

/// Kasten & Young (1989) relative optical air mass at elevation `el_deg` (> 0).
pub fn air_mass(el_deg: f32) -> f32 {
    let el = el_deg.max(0.0);
    1.0 / (el.to_radians().sin() + 0.50572 * (el + 6.07995).powf(-1.6364))
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

pub fn sky_light(w: &Weather) -> SkyLight {
    let el = w.sun_elevation_deg.to_radians();
    let az = w.sun_azimuth_deg.to_radians();
    let sun_dir = Vec3::new(el.cos() * az.cos(), el.cos() * az.sin(), el.sin());
    let cloud = w.cloud_cover;
    // Optical depths per channel (Rayleigh + aerosol, red < green < blue).
    let tau = Vec3::new(0.09, 0.13, 0.24);
    let lum = |c: Vec3| 0.2126 * c.x + 0.7152 * c.y + 0.0722 * c.z;
    let clear_sun = if w.sun_elevation_deg > 0.0 {
        let m = air_mass(w.sun_elevation_deg);
        Vec3::new((-tau.x * m).exp(), (-tau.y * m).exp(), (-tau.z * m).exp()) * (1.0 - 0.9 * cloud)
    } else {
        Vec3::ZERO
    };
    // A fog layer FOG_LAYER_M deep dims the direct beam along its slant path (Beer–Lambert with
    // Koschmieder's σ = 3.912/V); most of the lost light comes back as diffuse sky.
    let fog_sigma = w.fog_visibility_m.map_or(0.0, |v| 3.912 / v);
    let slant = FOG_LAYER_M / el.sin().max(0.05);
    let sun_irradiance = clear_sun * (-fog_sigma * slant).exp();
    let lost_horizontal = lum(clear_sun - sun_irradiance) * el.sin().max(0.0);
    let fogginess = 1.0 - (-fog_sigma * 200.0).exp();
    // Sky brightness follows the sun (with twilight below the horizon) and grows with cloud;
    // the floor is an urban night sky of ~0.03 cd/m².
    let day = smoothstep(-12.0, 10.0, w.sun_elevation_deg);
    let strength = (0.03 + 0.05 * el.sin().max(0.0)) * (1.0 + 1.5 * cloud) * day + NIGHT_SKY;
    let clear_zenith = Vec3::new(0.25, 0.45, 1.0);
    // Haze makes the horizon about twice as bright as the zenith.
    let clear_horizon = Vec3::new(0.75, 0.85, 1.0) * 1.8;
    let overcast = Vec3::new(0.8, 0.82, 0.85);
    let grey = cloud.max(fogginess);
    let diffuse_back = overcast * (0.7 * lost_horizontal / std::f32::consts::PI / lum(overcast));
    let sky_zenith = clear_zenith.lerp(overcast, grey) * strength + diffuse_back;
    let sky_horizon = clear_horizon.lerp(overcast, grey) * strength + diffuse_back;
    // A horizontal surface sees the direct beam times sin(el) and about π times the mean sky
    // radiance.
    let horizontal_irradiance = lum(sun_irradiance) * el.sin().max(0.0)
        + std::f32::consts::PI * lum((sky_zenith + sky_horizon) * 0.5);
    SkyLight {
        sun_dir,
        sun_irradiance,
        sky_zenith,
        sky_horizon,
        horizontal_irradiance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn air_mass_matches_kasten_young_values() {
        // Kasten & Young: AM(90°) ≈ 1.0, AM(30°) ≈ 1.994, AM(10°) ≈ 5.60.
        assert!((air_mass(90.0) - 1.0).abs() < 0.01);
        assert!((air_mass(30.0) - 1.994).abs() < 0.01);
        assert!((air_mass(10.0) - 5.60).abs() < 0.05);
    }

    #[test]
    fn low_sun_is_redder_and_night_is_dark() {
        let mut w = Weather {
            cloud_cover: 0.0,
            sun_elevation_deg: 60.0,
            ..Weather::default()
        };
        let high = sky_light(&w);
        w.sun_elevation_deg = 5.0;
        let low = sky_light(&w);
        assert!(
            low.sun_irradiance.x / low.sun_irradiance.z
                > high.sun_irradiance.x / high.sun_irradiance.z
        );
        w.sun_elevation_deg = -20.0;
        let night = sky_light(&w);
        assert_eq!(night.sun_irradiance, Vec3::ZERO);
        assert!(night.horizontal_irradiance < 0.01 * high.horizontal_irradiance);
    }
}
