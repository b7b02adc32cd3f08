//! 2D and 3D object labels from a camera frame: 2D boxes from the instance mask, KITTI
//! truncation from the fraction of the object's silhouette outside the image, occlusion from
//! the fraction of its in-image silhouette hidden by other things.

use glam::{Affine3A, Vec3};
use rayon::prelude::*;

use super::Class;
use super::masks::{InstanceMask, instance_masks};
use crate::backend::CameraFrame;
use crate::cpu::bvh::{SceneView, xform_dir, xform_point};
use crate::cpu::packet::{LANES, PacketStacks, hit_mask_packet};
use crate::geometry::{GeometryPool, Placement, build_tlas};
use crate::gpu::types::GpuMaterial;
use crate::sim::{CameraInputs, ObjectState};

/// Objects whose visible box is shorter than this, or that show fewer pixels, are written as
/// `DontCare` regions, as KITTI does for objects too small to label.
pub const MIN_BOX_HEIGHT_PX: f32 = 10.0;
pub const MIN_VISIBLE_PIXELS: u32 = 30;
/// The silhouette is sampled on the image plane extended by this many image sizes on each side.
const EXTENSION: f32 = 1.0;
/// Rays a silhouette is sampled with at most (1/19 of a KITTI image): truncation and the
/// visible fraction are ratios of areas, and a 25k-sample grid puts them within about 1 %
/// (100k took up to twice the labelling time on frames with cars beside the camera).
const SILHOUETTE_SAMPLES: f32 = 25_000.0;

#[derive(Clone, Debug, PartialEq)]
pub struct ObjectLabel {
    pub instance_id: u32,
    pub class: Class,
    /// Too small to label: written as a `DontCare` region.
    pub dont_care: bool,
    /// Fraction of the object's silhouette outside the image, [0, 1].
    pub truncation: f32,
    /// KITTI occlusion level: 0 fully visible, 1 partly, 2 largely occluded.
    pub occlusion: u8,
    /// Fraction of the in-image silhouette that is visible.
    pub visible_fraction: f32,
    pub alpha_rad: f32,
    /// Visible 2D box: left, top, right, bottom (inclusive pixel indices).
    pub bbox: [f32; 4],
    /// Height, width, length in metres (KITTI order).
    pub dims_hwl: [f32; 3],
    /// Bottom centre of the 3D box in camera coordinates (x right, y down, z forward).
    pub location: [f32; 3],
    pub rotation_y: f32,
    pub visible_pixels: u32,
    pub silhouette_pixels: u32,
}

/// KITTI occlusion level from the hidden fraction of the in-image silhouette.
pub fn occlusion_level(visible_fraction: f32) -> u8 {
    let hidden = 1.0 - visible_fraction;
    if hidden < 0.15 {
        0
    } else if hidden < 0.5 {
        1
    } else {
        2
    }
}

fn wrap_angle(a: f32) -> f32 {
    let mut a = a;
    while a > std::f32::consts::PI {
        a -= std::f32::consts::TAU;
    }
    while a < -std::f32::consts::PI {
        a += std::f32::consts::TAU;
    }
    a
}

/// Counts the object's silhouette pixels (rays through pixel centres that hit the object
/// alone; a pixel labelled as the object counts without one): (inside the image, in total
/// over the extended plane).
fn silhouette(
    pool: &GeometryPool,
    materials: &[GpuMaterial],
    cam: &CameraInputs,
    frame: &CameraFrame,
    obj: &ObjectState,
    camera_from_object: &Affine3A,
) -> (u32, u32) {
    let p = &cam.params;
    let (w, h) = (p.width as f32, p.height as f32);
    // Bound the projection of the label box's part in front of the camera: its corners in
    // front, and where its edges cross the near plane (an object beside the camera reaches
    // behind it, and its silhouette is bounded by the near-plane crossings).
    let (l, wd, ht) = (obj.size_m.x, obj.size_m.y, obj.size_m.z);
    let corners: [Vec3; 8] = std::array::from_fn(|k| {
        camera_from_object.transform_point3(Vec3::new(
            if k & 1 == 0 { -l / 2.0 } else { l / 2.0 },
            if k & 2 == 0 { -wd / 2.0 } else { wd / 2.0 },
            if k & 4 == 0 { 0.0 } else { ht },
        ))
    });
    const NEAR: f32 = 0.05;
    let mut front: Vec<Vec3> = corners.iter().copied().filter(|q| q.z >= NEAR).collect();
    for a in 0..8usize {
        for bit in [1usize, 2, 4] {
            let b = a | bit;
            if b == a {
                continue;
            }
            let (qa, qb) = (corners[a], corners[b]);
            if (qa.z >= NEAR) != (qb.z >= NEAR) {
                front.push(qa.lerp(qb, (NEAR - qa.z) / (qb.z - qa.z)));
            }
        }
    }
    let mut lo = (f32::INFINITY, f32::INFINITY);
    let mut hi = (f32::NEG_INFINITY, f32::NEG_INFINITY);
    for q in &front {
        let z = q.z.max(NEAR);
        let (u, v) = (p.fx * q.x / z + p.cx, p.fy * q.y / z + p.cy);
        lo = (lo.0.min(u), lo.1.min(v));
        hi = (hi.0.max(u), hi.1.max(v));
    }
    if !(lo.0.is_finite() && lo.1.is_finite() && hi.0.is_finite() && hi.1.is_finite()) {
        return (0, 0);
    }
    let (x0, y0, x1, y1) = (
        lo.0.max(-EXTENSION * w).floor(),
        lo.1.max(-EXTENSION * h).floor(),
        hi.0.min((1.0 + EXTENSION) * w).ceil(),
        hi.1.min((1.0 + EXTENSION) * h).ceil(),
    );
    if x1 <= x0 || y1 <= y0 {
        return (0, 0);
    }
    let tlas = build_tlas(
        pool,
        &[Placement::fixed(
            obj.mesh,
            obj.world_from_object,
            obj.instance_id,
        )],
    );
    let scene = SceneView {
        blas_nodes: &pool.nodes,
        triangles: &pool.triangles,
        instances: &tlas.instances,
        tlas_nodes: &tlas.nodes,
        materials,
        tlas_root: 0,
    };
    let o = xform_point(&p.world_from_camera, Vec3::ZERO);
    let (xs, ys) = (x0 as i32, y0 as i32);
    let (xe, ye) = (x1 as i32, y1 as i32);
    // A silhouette larger than SILHOUETTE_SAMPLES pixels is sampled on a coarser grid, each
    // sample counting for stride² pixels: truncation and the visible fraction are ratios of
    // areas, and an object beside the camera can cover millions of extended-plane pixels.
    let area = (x1 - x0) * (y1 - y0);
    let stride = (area / SILHOUETTE_SAMPLES).sqrt().ceil().max(1.0) as i32;
    let weight = (stride * stride) as u32;
    let in_image =
        |x: i32, y: i32| x >= 0 && y >= 0 && (x as u32) < p.width && (y as u32) < p.height;
    let dir_of = |x: i32, y: i32| {
        let dc = Vec3::new(
            (x as f32 + 0.5 - p.cx) / p.fx,
            (y as f32 + 0.5 - p.cy) / p.fy,
            1.0,
        );
        xform_dir(&p.world_from_camera, dc).normalize()
    };
    (ys..ye)
        .into_par_iter()
        .step_by(stride as usize)
        .map_init(PacketStacks::default, |stacks, y| {
            let mut inside = 0u32;
            let mut total = 0u32;
            // Samples that need a ray, traced four at a time: neighbouring samples of a row
            // are nearly parallel rays at one object, which a packet walks together, each
            // ray stopping at its first hit. A hit or a miss is what the one-ray trace finds
            // (tests/packet_traversal.rs).
            let mut xq = [0i32; LANES];
            let mut n = 0;
            // (inside, total) of the first `n` queued samples.
            let flush = |xq: &[i32; LANES], n: usize, stacks: &mut PacketStacks| {
                let d: [Vec3; LANES] = std::array::from_fn(|l| dir_of(xq[l.min(n - 1)], y));
                let live = (1u32 << n) - 1;
                let hits = hit_mask_packet(&scene, &[o; LANES], &d, p.max_depth_m, live, stacks);
                let mut sum = (0, 0);
                for (l, &x) in xq.iter().enumerate().take(n) {
                    if hits >> l & 1 != 0 {
                        sum.1 += weight;
                        if in_image(x, y) {
                            sum.0 += weight;
                        }
                    }
                }
                sum
            };
            for x in (xs..xe).step_by(stride as usize) {
                // A pixel whose label is this object is inside its silhouette: only the
                // others (occluded, background or outside the image) need a ray.
                if in_image(x, y)
                    && frame.pixels[(y as u32 * p.width + x as u32) as usize].label >> 16
                        == obj.instance_id
                {
                    total += weight;
                    inside += weight;
                    continue;
                }
                xq[n] = x;
                n += 1;
                if n == LANES {
                    let (i, t) = flush(&xq, n, stacks);
                    (inside, total) = (inside + i, total + t);
                    n = 0;
                }
            }
            if n > 0 {
                let (i, t) = flush(&xq, n, stacks);
                (inside, total) = (inside + i, total + t);
            }
            (inside, total)
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

/// Labels every object visible in one camera frame.
pub fn label_camera(
    pool: &GeometryPool,
    cam: &CameraInputs,
    frame: &CameraFrame,
    objects: &[ObjectState],
) -> Vec<ObjectLabel> {
    label_camera_masked(pool, cam, frame, &instance_masks(frame), objects)
}

/// [`label_camera`] with the frame's `instance_masks` already made (the writer makes them
/// once for the boxes and COCO).
pub fn label_camera_masked(
    pool: &GeometryPool,
    cam: &CameraInputs,
    frame: &CameraFrame,
    masks: &[InstanceMask],
    objects: &[ObjectState],
) -> Vec<ObjectLabel> {
    let materials = crate::geometry::materials::gpu_table();
    let camera_from_world = cam.world_from_camera.inverse();
    let mut out = Vec::new();
    for obj in objects {
        let Ok(m) = masks.binary_search_by_key(&obj.instance_id, |m| m.instance_id) else {
            continue;
        };
        let s = &masks[m].all;
        let camera_from_object = camera_from_world * obj.world_from_object;
        let (inside, total) = silhouette(pool, &materials, cam, frame, obj, &camera_from_object);
        let inside = inside.max(s.pixels);
        let total = total.max(inside);
        let truncation = if total > 0 {
            1.0 - inside as f32 / total as f32
        } else {
            0.0
        };
        let visible_fraction = (s.pixels as f32 / inside.max(1) as f32).min(1.0);
        let bbox = s.bbox.map(|v| v as f32);
        let location = camera_from_object.transform_point3(Vec3::ZERO);
        let heading = camera_from_object.transform_vector3(Vec3::X);
        let rotation_y = (-heading.z).atan2(heading.x);
        let alpha_rad = wrap_angle(rotation_y - location.x.atan2(location.z));
        let dont_care =
            bbox[3] - bbox[1] + 1.0 < MIN_BOX_HEIGHT_PX || s.pixels < MIN_VISIBLE_PIXELS;
        out.push(ObjectLabel {
            instance_id: obj.instance_id,
            class: obj.class,
            dont_care,
            truncation,
            occlusion: occlusion_level(visible_fraction),
            visible_fraction,
            alpha_rad,
            bbox,
            dims_hwl: [obj.size_m.z, obj.size_m.y, obj.size_m.x],
            location: location.to_array(),
            rotation_y,
            visible_pixels: s.pixels,
            silhouette_pixels: total,
        });
    }
    out
}

/// One KITTI label_2 line.
pub fn kitti_line(l: &ObjectLabel) -> String {
    let b = l.bbox;
    if l.dont_care {
        return format!(
            "DontCare -1 -1 -10 {:.2} {:.2} {:.2} {:.2} -1 -1 -1 -1000 -1000 -1000 -10",
            b[0], b[1], b[2], b[3]
        );
    }
    format!(
        "{} {:.2} {} {:.2} {:.2} {:.2} {:.2} {:.2} {:.2} {:.2} {:.2} {:.2} {:.2} {:.2} {:.2}",
        l.class.info().kitti_type,
        l.truncation,
        l.occlusion,
        l.alpha_rad,
        b[0],
        b[1],
        b[2],
        b[3],
        l.dims_hwl[0],
        l.dims_hwl[1],
        l.dims_hwl[2],
        l.location[0],
        l.location[1],
        l.location[2],
        wrap_angle(l.rotation_y)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occlusion_levels_follow_hidden_fraction() {
        assert_eq!(occlusion_level(1.0), 0);
        assert_eq!(occlusion_level(0.9), 0);
        assert_eq!(occlusion_level(0.6), 1);
        assert_eq!(occlusion_level(0.2), 2);
    }
}
