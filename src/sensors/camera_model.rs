//! The camera model around the shaders: exposure (auto on a mean-luminance target or manual
//! EV100), the tone curve and its inverse, and the lamps (street lights, head- and tail-lights)
//! that light night scenes. Radiometric units are the sky model's: irradiance 1.0 stands for
//! 100 klux, so a radiance of 1.0 is 1e5 cd/m² and a lamp of I candela has intensity I·1e-5.

use glam::{Affine3A, Vec3};

use crate::abi::GpuLight;
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

/// Exposed irradiance (luminance x exposure) below which a lamp's light on a surface is
/// dropped, in the shader and its twin alike (no shadow ray, no contribution). The bias: each
/// dropped lamp would have added at most ρ/π·LAMP_CUTOFF ≈ 1e-4 of full scale (albedo ρ ≤ 0.2,
/// about 0.03 of a linear 8-bit code), so even 20 dropped lamps stay under one code.
pub use crate::abi::shared::LAMP_CUTOFF;

/// Distance beyond which a lamp's irradiance can no longer reach `LAMP_CUTOFF` after
/// `exposure`, whatever the cone and the surface orientation: on axis and facing the lamp,
/// E = I/d², so d = √(lum(I)·exposure / LAMP_CUTOFF). Never below 0.1 m (the shader clamps
/// d² at 0.01).
pub fn lamp_influence_radius_m(light: &GpuLight, exposure: f32) -> f32 {
    let i = light.intensity;
    let lum = 0.2126 * i[0] + 0.7152 * i[1] + 0.0722 * i[2];
    (lum.max(0.0) * exposure / LAMP_CUTOFF).sqrt().max(0.1)
}

/// Words before the cell offsets in a light grid: nx, ny, origin x, origin y (f32 bits),
/// 1 / cell size (f32 bits).
pub const LIGHT_GRID_HEADER: usize = crate::abi::shared::LIGHT_GRID_HEADER as usize;
/// At most this many cells along a side of the light grid.
pub const LIGHT_GRID_MAX_SIDE: u32 = 64;

/// A uniform grid over the ground plane (world x, y) listing, per cell, the lamps whose
/// reach (`lamp_reach_xy`) overlaps the cell, in ascending
/// lamp order (so a lookup sums the same lamps in the same order as the full loop, minus those
/// that contribute nothing). One `u32` buffer: `LIGHT_GRID_HEADER` words, nx·ny + 1 offsets
/// (absolute word indices), then the lamp indices. Outside the grid no lamp reaches.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LightGrid {
    pub words: Vec<u32>,
    /// nx·ny (0 = no grid: every lamp is tried).
    pub cells: u32,
}

/// A circle in the ground plane (centre x, y and radius, metres) holding every point a lamp
/// can light to `LAMP_CUTOFF` after `exposure`, given that no scene point lies below
/// `floor_z`: the sphere of `lamp_influence_radius_m`, tightened by the cone. A cone of
/// half-angle θ ≤ 60° truncated at R lies in the sphere of radius R/(2 cos θ) centred
/// R/(2 cos θ) along its axis; a lamp aimed straight down (street lights) reaches no further
/// sideways than (z − floor_z)·tan θ. Both bounds are exact: they drop only what the cone
/// and the cutoff drop.
pub fn lamp_reach_xy(light: &GpuLight, exposure: f32, floor_z: f32) -> (f32, f32, f32) {
    let r = lamp_influence_radius_m(light, exposure);
    let p = Vec3::from_array(light.position);
    let dir = Vec3::from_array(light.direction);
    let (mut cx, mut cy, mut reach) = (p.x, p.y, r);
    let cos_outer = light.cos_outer;
    if cos_outer >= 0.5 {
        let c = r / (2.0 * cos_outer);
        (cx, cy, reach) = (p.x + dir.x * c, p.y + dir.y * c, c);
    }
    if cos_outer > 0.0 && dir.z <= -0.9999 {
        let tan = (1.0 - cos_outer * cos_outer).sqrt() / cos_outer;
        let side = (p.z - floor_z).max(0.0) * tan + light.radius_m;
        if side < reach {
            (cx, cy, reach) = (p.x, p.y, side);
        }
    }
    (cx, cy, reach)
}

pub fn build_light_grid(lights: &[GpuLight], exposure: f32, floor_z: f32) -> LightGrid {
    if lights.is_empty() {
        return LightGrid::default();
    }
    let reach: Vec<(f32, f32, f32)> = lights
        .iter()
        .map(|l| lamp_reach_xy(l, exposure, floor_z))
        .collect();
    let (mut lo, mut hi) = ([f32::MAX; 2], [f32::MIN; 2]);
    for &(x, y, r) in &reach {
        lo[0] = lo[0].min(x - r);
        lo[1] = lo[1].min(y - r);
        hi[0] = hi[0].max(x + r);
        hi[1] = hi[1].max(y + r);
    }
    let extent = (hi[0] - lo[0]).max(hi[1] - lo[1]);
    if !extent.is_finite() {
        return LightGrid::default();
    }
    let cell_m = (extent / LIGHT_GRID_MAX_SIDE as f32).max(1.0);
    let nx = (((hi[0] - lo[0]) / cell_m).ceil() as u32).clamp(1, LIGHT_GRID_MAX_SIDE);
    let ny = (((hi[1] - lo[1]) / cell_m).ceil() as u32).clamp(1, LIGHT_GRID_MAX_SIDE);
    let cells = (nx * ny) as usize;
    // Lamps per cell: the cells whose rectangle the lamp's influence circle touches.
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); cells];
    for (i, &(px, py, r)) in reach.iter().enumerate() {
        let x0 = (((px - r - lo[0]) / cell_m).floor().max(0.0) as u32).min(nx - 1);
        let x1 = (((px + r - lo[0]) / cell_m).floor().max(0.0) as u32).min(nx - 1);
        let y0 = (((py - r - lo[1]) / cell_m).floor().max(0.0) as u32).min(ny - 1);
        let y1 = (((py + r - lo[1]) / cell_m).floor().max(0.0) as u32).min(ny - 1);
        for cy in y0..=y1 {
            for cx in x0..=x1 {
                // Distance from the lamp to the cell's rectangle.
                let (ax, ay) = (lo[0] + cx as f32 * cell_m, lo[1] + cy as f32 * cell_m);
                let dx = (ax - px).max(px - (ax + cell_m)).max(0.0);
                let dy = (ay - py).max(py - (ay + cell_m)).max(0.0);
                if dx * dx + dy * dy <= r * r {
                    lists[(cy * nx + cx) as usize].push(i as u32);
                }
            }
        }
    }
    let mut words = Vec::with_capacity(LIGHT_GRID_HEADER + cells + 1);
    words.extend([
        nx,
        ny,
        lo[0].to_bits(),
        lo[1].to_bits(),
        (1.0 / cell_m).to_bits(),
    ]);
    let mut at = (LIGHT_GRID_HEADER + cells + 1) as u32;
    for list in &lists {
        words.push(at);
        at += list.len() as u32;
    }
    words.push(at);
    for list in &lists {
        words.extend_from_slice(list);
    }
    LightGrid {
        words,
        cells: cells as u32,
    }
}

/// The lamps to try at world point `p` (as the shader's `lamp_range` + `lamp_index`): every
/// lamp without a grid, else the list of p's cell (empty outside the grid).
pub fn lamps_near(grid: &[u32], cells: u32, light_count: u32, p: Vec3) -> Vec<u32> {
    if cells == 0 || grid.is_empty() {
        return (0..light_count).collect();
    }
    let (nx, ny) = (grid[0], grid[1]);
    let (ox, oy, inv) = (
        f32::from_bits(grid[2]),
        f32::from_bits(grid[3]),
        f32::from_bits(grid[4]),
    );
    let gx = ((p.x - ox) * inv).floor();
    let gy = ((p.y - oy) * inv).floor();
    if gx < 0.0 || gy < 0.0 || gx >= nx as f32 || gy >= ny as f32 {
        return Vec::new();
    }
    let c = LIGHT_GRID_HEADER + (gy as u32 * nx + gx as u32) as usize;
    grid[grid[c] as usize..grid[c + 1] as usize].to_vec()
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

    /// Every lamp whose on-axis irradiance at a point reaches LAMP_CUTOFF is listed in the
    /// point's cell; outside the grid no lamp reaches.
    #[test]
    fn light_grid_lists_every_lamp_that_reaches_a_point() {
        let mut lights = Vec::new();
        for i in 0..60u32 {
            let h = |k: u32| crate::rng::u01(crate::rng::hash3(i, k, 7));
            let p = Vec3::new(400.0 * h(1) - 200.0, 60.0 * h(2) - 30.0, 0.5 + 7.0 * h(3));
            lights.push(if i % 3 == 0 {
                street_light(p)
            } else {
                let w = Affine3A::from_translation(p);
                vehicle_lights(&w, Vec3::new(4.5, 1.8, 1.5), false)[(i % 4) as usize]
            });
        }
        let exposure = exposure_from_ev100(4.0);
        let grid = build_light_grid(&lights, exposure, 0.0);
        assert!(grid.cells > 1);
        let mut listed_total = 0usize;
        let mut reaching_total = 0usize;
        for j in 0..4000u32 {
            let h = |k: u32| crate::rng::u01(crate::rng::hash3(j, k, 99));
            let p = Vec3::new(600.0 * h(1) - 300.0, 200.0 * h(2) - 100.0, 9.0 * h(3));
            let near = lamps_near(&grid.words, grid.cells, lights.len() as u32, p);
            assert!(near.windows(2).all(|w| w[0] < w[1]), "lamps out of order");
            listed_total += near.len();
            for (i, l) in lights.iter().enumerate() {
                let lv = Vec3::from_array(l.position) - p;
                let d2 = lv.length_squared().max(0.01);
                let to_p = -lv / d2.sqrt();
                let t = ((to_p.dot(Vec3::from_array(l.direction)) - l.cos_outer)
                    / (l.cos_inner - l.cos_outer))
                    .clamp(0.0, 1.0);
                let cone = t * t * (3.0 - 2.0 * t);
                let e = Vec3::from_array(l.intensity) * (cone / d2);
                let lum = 0.2126 * e.x + 0.7152 * e.y + 0.0722 * e.z;
                if lum * exposure >= LAMP_CUTOFF {
                    reaching_total += 1;
                    assert!(
                        near.contains(&(i as u32)),
                        "lamp {i} reaches {p} but is not listed"
                    );
                }
            }
        }
        // The grid is conservative but not everything: far fewer lamps than all are listed.
        assert!(listed_total >= reaching_total);
        assert!(
            listed_total * 10 < 4000 * lights.len() * 6,
            "{listed_total}"
        );
        assert!(build_light_grid(&[], exposure, 0.0).cells == 0);
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
