//! CPU twin of `shaders/lidar.wgsl`, loop for loop alike, parallel over rays with rayon.

use glam::Vec3;
use rayon::prelude::*;

use super::bvh::{SceneView, hit_normal, trace, xform_dir, xform_point};
use crate::gpu::types::{LidarHit, LidarParams, NO_RETURN};

/// Casts one ray; `slot = column * channels + beam`.
pub fn lidar_ray(
    scene: &SceneView,
    lp: &LidarParams,
    beams: &[[f32; 2]],
    columns: &[[f32; 2]],
    slot: u32,
) -> LidarHit {
    let col = slot / lp.channels;
    let beam = slot % lp.channels;
    let b = beams[beam as usize];
    let c = columns[col as usize];
    let dir_l = Vec3::new(b[0] * c[0], b[0] * c[1], b[1]);
    let o = xform_point(&lp.world_from_lidar, Vec3::ZERO);
    let d = xform_dir(&lp.world_from_lidar, dir_l).normalize();
    let h = trace(scene, o, d, lp.max_range_m, false);
    let mut out = LidarHit {
        x: 0.0,
        y: 0.0,
        z: 0.0,
        intensity: 0.0,
        label: NO_RETURN,
    };
    if h.tri != NO_RETURN && h.t >= lp.min_range_m {
        let r = h.t;
        let n = hit_normal(scene, &h, d);
        let cos_inc = (-n.dot(d)).clamp(0.0, 1.0);
        let tri = &scene.triangles[h.tri as usize];
        let refl = scene.materials[tri.material as usize].reflectivity;
        let q = r / lp.falloff_range_m;
        let falloff = 1.0 / (1.0 + q * q);
        let atten = (-2.0 * lp.extinction_per_m * r).exp();
        out.x = dir_l.x * r;
        out.y = dir_l.y * r;
        out.z = dir_l.z * r;
        out.intensity = (refl * cos_inc * falloff * atten).clamp(0.0, 1.0);
        out.label = (tri.class & 0xffff) | (scene.instances[h.inst as usize].instance_id << 16);
    }
    out
}

/// A whole sweep: one slot per ray.
pub fn lidar_sweep(
    scene: &SceneView,
    lp: &LidarParams,
    beams: &[[f32; 2]],
    columns: &[[f32; 2]],
) -> Vec<LidarHit> {
    let n = lp.channels * lp.columns;
    (0..n)
        .into_par_iter()
        .with_min_len(256)
        .map(|slot| lidar_ray(scene, lp, beams, columns, slot))
        .collect()
}
