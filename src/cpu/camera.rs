//! CPU twin of `shaders/camera.wgsl`, loop for loop alike, parallel over rows with rayon.

use glam::Vec3;
use rayon::prelude::*;

use super::bvh::{SceneView, hit_normal, trace, xform_dir, xform_point};
use crate::gpu::types::{CameraParams, NO_RETURN, PixelOut};

use std::f32::consts::PI;

const CLASS_SKY: u32 = 13;

#[inline]
fn v3(a: [f32; 3]) -> Vec3 {
    Vec3::new(a[0], a[1], a[2])
}

fn sky_radiance(cp: &CameraParams, d: Vec3) -> Vec3 {
    let up = d.z.clamp(0.0, 1.0);
    let s = up.sqrt();
    let mut c = v3(cp.sky_horizon) * (1.0 - s) + v3(cp.sky_zenith) * s;
    let cos_sun = d.dot(v3(cp.sun_dir));
    c += v3(cp.sun_irradiance) * (0.02 * cos_sun.max(0.0).powf(8.0));
    if cos_sun > 0.99996 {
        c += v3(cp.sun_irradiance) * 20.0;
    }
    c
}

pub fn srgb_encode(c: f32) -> f32 {
    if c <= 0.0031308 {
        12.92 * c
    } else {
        1.055 * c.powf(1.0 / 2.4) - 0.055
    }
}

fn to_u8(c: f32) -> u32 {
    (srgb_encode(c.clamp(0.0, 1.0)).clamp(0.0, 1.0) * 255.0).round() as u32
}

pub fn camera_pixel(scene: &SceneView, cp: &CameraParams, x: u32, y: u32) -> PixelOut {
    let dc = Vec3::new(
        (x as f32 + 0.5 - cp.cx) / cp.fx,
        (y as f32 + 0.5 - cp.cy) / cp.fy,
        1.0,
    );
    let o = xform_point(&cp.world_from_camera, Vec3::ZERO);
    let d = xform_dir(&cp.world_from_camera, dc).normalize();
    let h = trace(scene, o, d, cp.max_depth_m, false);
    let mut out = PixelOut::default();
    let radiance;
    if h.tri == NO_RETURN {
        radiance = sky_radiance(cp, d);
        out.depth_m = 0.0;
        out.label = CLASS_SKY;
    } else {
        let tri = &scene.triangles[h.tri as usize];
        let mat = &scene.materials[tri.material as usize];
        let n = hit_normal(scene, &h, d);
        let p = o + d * h.t;
        let mut direct = Vec3::ZERO;
        let sun = v3(cp.sun_dir);
        let ndl = n.dot(sun);
        if ndl > 0.0 && cp.sun_irradiance[1] > 0.0 {
            let shadow_o = p + n * (0.002 + 1.0e-5 * h.t);
            let s = trace(scene, shadow_o, sun, 1.0e4, true);
            if s.tri == NO_RETURN {
                direct = v3(cp.sun_irradiance) * ndl;
            }
        }
        let sky_irr = PI * 0.5 * (v3(cp.sky_horizon) + v3(cp.sky_zenith)) * (0.6 + 0.4 * n.z);
        let lit = v3(mat.albedo) / PI * (direct + sky_irr) + v3(mat.emissive);
        out.depth_m = h.t / dc.length();
        out.label = (tri.class & 0xffff) | (scene.instances[h.inst as usize].instance_id << 16);
        let transmittance = (-cp.fog_sigma_per_m * h.t).exp();
        radiance = lit * transmittance + v3(cp.sky_horizon) * (1.0 - transmittance);
    }
    let x = radiance * cp.exposure;
    let mapped = Vec3::ONE - Vec3::new((-x.x).exp(), (-x.y).exp(), (-x.z).exp());
    out.rgba = to_u8(mapped.x) | (to_u8(mapped.y) << 8) | (to_u8(mapped.z) << 16);
    out
}

/// A whole image, row-major.
pub fn camera_image(scene: &SceneView, cp: &CameraParams) -> Vec<PixelOut> {
    let mut pixels = vec![PixelOut::default(); (cp.width * cp.height) as usize];
    pixels
        .par_chunks_mut(cp.width as usize)
        .enumerate()
        .for_each(|(y, row)| {
            for (x, px) in row.iter_mut().enumerate() {
                *px = camera_pixel(scene, cp, x as u32, y as u32);
            }
        });
    pixels
}
