//! The camera model around the shaders: exposure (auto on a mean-luminance target or manual
//! EV100), the tone curve and its inverse, and the lamps (street lights, head- and tail-lights)
//! that light night scenes. Radiometric units are the sky model's: irradiance 1.0 stands for
//! 100 klux, so a radiance of 1.0 is 1e5 cd/m² and a lamp of I candela has intensity I·1e-5.

use glam::{Affine3A, Vec3};

use crate::gpu::types::GpuLight;
use crate::scenario::{ExposureMode, LightSwitch};

/// Candela (and cd/m²) to the sky model's units.
pub const CD_TO_REL: f32 = 1.0e-5;

/// Exposure factor (multiplies relative radiance) of a saturation-based EV100: the luminance
/// `1.2·2^EV100` cd/m² maps to 1.0 before the tone curve.
pub fn exposure_from_ev100(ev100: f32) -> f32 {
    1.0 / (1.2 * 2f32.powf(ev100) * CD_TO_REL)
}

/// The EV100 of an exposure factor (inverse of [`exposure_from_ev100`]).
pub fn ev100_from_exposure(exposure: f32) -> f32 {
    (1.0 / (1.2 * exposure * CD_TO_REL)).log2()
}

/// Exposure for a mode, given the metered mean linear luminance of the frame (relative
/// units), times the user's compensation factor.
pub fn choose_exposure(mode: &ExposureMode, mean_luminance: f32, compensation: f32) -> f32 {
    let e = match *mode {
        ExposureMode::Manual { ev100 } => exposure_from_ev100(ev100),
        ExposureMode::Auto {
            target,
            min_ev100,
            max_ev100,
        } => {
            // The brightest the camera can go is min_ev100 (longest shutter, highest gain).
            let hi = exposure_from_ev100(min_ev100);
            let lo = exposure_from_ev100(max_ev100);
            (target / mean_luminance.max(1e-12)).clamp(lo, hi)
        }
    };
    e * compensation
}

/// The tone curve applied to exposed linear values: the sensor's linear response clipped at
/// full scale (sRGB encoding follows).
pub fn tone(x: f32) -> f32 {
    x.clamp(0.0, 1.0)
}

/// Inverse of [`tone`] below full scale.
pub fn inverse_tone(y: f32) -> f32 {
    y.clamp(0.0, 1.0)
}

pub fn srgb_encode(c: f32) -> f32 {
    if c <= 0.0031308 {
        12.92 * c
    } else {
        1.055 * c.powf(1.0 / 2.4) - 0.055
    }
}

pub fn srgb_decode(c: f32) -> f32 {
    if c <= 0.04045 {
        c / 12.92
    } else {
        ((c + 0.055) / 1.055).powf(2.4)
    }
}

/// Exposed linear value (before the tone curve) of an 8-bit sRGB code value.
pub fn linear_from_code(code: u8) -> f32 {
    inverse_tone(srgb_decode(code as f32 / 255.0))
}

/// OpenCV's forward Brown–Conrady model on normalised coordinates (x, y) = (X/Z, Y/Z):
/// the distorted normalised position; pixel = (fx·xd + cx, fy·yd + cy).
pub fn distort(x: f32, y: f32, k: (f32, f32, f32, f32)) -> (f32, f32) {
    let (k1, k2, p1, p2) = k;
    let r2 = x * x + y * y;
    let radial = 1.0 + r2 * (k1 + r2 * k2);
    (
        x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x),
        y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y,
    )
}

/// Whether lamps of a switch are lit at this sun elevation.
pub fn lamps_on(switch: LightSwitch, sun_elevation_deg: f32) -> bool {
    match switch {
        LightSwitch::On => true,
        LightSwitch::Off => false,
        LightSwitch::Auto => sun_elevation_deg < 2.0,
    }
}

/// A street light: a sodium-white lamp of 6000 cd looking down with a wide cone.
pub fn street_light(position: Vec3) -> GpuLight {
    let i = 6000.0 * CD_TO_REL;
    GpuLight {
        position: position.to_array(),
        radius_m: 0.25,
        direction: [0.0, 0.0, -1.0],
        cos_outer: 80f32.to_radians().cos(),
        intensity: [i, i * 0.82, i * 0.6],
        cos_inner: 45f32.to_radians().cos(),
    }
}

/// Low-beam headlights (15000 cd on axis, aimed 1.5° down) and tail-lights (40 cd, red) of a
/// vehicle with box `size` (length, width, height) placed by `world_from_object`.
pub fn vehicle_lights(
    world_from_object: &Affine3A,
    size: Vec3,
    headlights_only: bool,
) -> Vec<GpuLight> {
    let (l, w, h) = (size.x, size.y, size.z);
    let z = (0.45 * h).clamp(0.55, 1.1);
    let fwd = world_from_object
        .transform_vector3(Vec3::new(1.0, 0.0, -(1.5f32.to_radians().tan())))
        .normalize();
    let back = world_from_object.transform_vector3(Vec3::NEG_X).normalize();
    let head = 15000.0 * CD_TO_REL;
    let tail = 40.0 * CD_TO_REL;
    let mut out = Vec::with_capacity(4);
    for side in [-1.0f32, 1.0] {
        let y = side * (0.5 * w - 0.3);
        out.push(GpuLight {
            position: world_from_object
                .transform_point3(Vec3::new(0.5 * l + 0.06, y, z))
                .to_array(),
            radius_m: 0.09,
            direction: fwd.to_array(),
            cos_outer: 35f32.to_radians().cos(),
            intensity: [head, head * 0.97, head * 0.9],
            cos_inner: 8f32.to_radians().cos(),
        });
        if !headlights_only {
            out.push(GpuLight {
                position: world_from_object
                    .transform_point3(Vec3::new(-0.5 * l - 0.05, y, z + 0.1))
                    .to_array(),
                radius_m: 0.06,
                direction: back.to_array(),
                cos_outer: -0.2,
                intensity: [tail, tail * 0.06, tail * 0.03],
                cos_inner: 0.5,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ev100_round_trips_and_sunny_16_is_daylight() {
        for ev in [0.0f32, 4.0, 9.5, 15.0] {
            assert!((ev100_from_exposure(exposure_from_ev100(ev)) - ev).abs() < 1e-4);
        }
        // Sunny-16 (EV100 15): a white Lambertian surface under 1.0 (100 klux) has radiance
        // 1/π ≈ 31.8 kcd/m², which maps to 0.81 (just under clipping).
        let x = exposure_from_ev100(15.0) / std::f32::consts::PI;
        assert!((0.7..0.9).contains(&x), "{x}");
    }

    #[test]
    fn auto_exposure_hits_target_and_stops_at_min_ev() {
        let mode = ExposureMode::default();
        let e = choose_exposure(&mode, 0.05, 1.0);
        assert!((e * 0.05 - 0.14).abs() < 1e-5);
        let night = choose_exposure(&mode, 1e-9, 1.0);
        assert_eq!(night, exposure_from_ev100(4.0));
    }

    #[test]
    fn tone_and_srgb_invert() {
        for code in [1u8, 20, 100, 200, 250] {
            let x = linear_from_code(code);
            let back = (srgb_encode(tone(x)) * 255.0).round() as u8;
            assert_eq!(back, code);
        }
    }
}
