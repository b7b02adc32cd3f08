//! 2D and 3D object labels from a camera frame: 2D boxes from the instance mask, KITTI
//! truncation from the fraction of the object's silhouette outside the image, occlusion from
//! the fraction of its in-image silhouette hidden by other things.

use glam::{Affine3A, Vec3};

use super::masks::{InstanceMask, instance_masks};
use crate::abi::CameraParams;
use crate::classes::Class;
use crate::frame::CameraFrame;
use crate::frame::{CameraInputs, LidarInputs, ObjectState};
use crate::geometry::GeometryPool;
use crate::sensors::lidar::{column_fraction, world_from_lidar_at};

/// Objects whose visible box is shorter than this, or that show fewer pixels, are written as
/// `DontCare` regions, as KITTI does for objects too small to label.
pub const MIN_BOX_HEIGHT_PX: f32 = 10.0;
pub const MIN_VISIBLE_PIXELS: u32 = 30;
/// The silhouette is sampled on the image plane extended by this many image sizes on each side.
const EXTENSION: f32 = 1.0;
/// Samples a silhouette is taken at, at most (1/19 of a KITTI image): truncation and the
/// visible fraction are ratios of areas, and a 25k-sample grid puts them within about 1 %
/// (100k rays took up to twice the labelling time on frames with cars beside the camera,
/// when each sample was traced).
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
    /// KITTI's 2D box: the 3D box's projection clipped to the image (amodal: the parts hidden
    /// behind other things count), left, top, right, bottom in pixels.
    pub bbox: [f32; 4],
    /// The visible part's box (modal, from the instance mask; COCO's box): inclusive pixel
    /// indices.
    pub bbox_visible: [f32; 4],
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

/// An angle wrapped into [−π, π] (KITTI's range for alpha and rotation_y).
pub fn wrap_angle(a: f32) -> f32 {
    let mut a = a;
    while a > std::f32::consts::PI {
        a -= std::f32::consts::TAU;
    }
    while a < -std::f32::consts::PI {
        a += std::f32::consts::TAU;
    }
    a
}

/// The grid a silhouette is sampled on: pixel centres `(x0 + i·stride + ½, y0 + j·stride + ½)`
/// for `i < nx`, `j < ny`, over the projection of the object's label box (on the image plane
/// extended by [`EXTENSION`] image sizes on each side).
#[derive(Clone, Copy, Debug, PartialEq)]
struct SampleGrid {
    x0: i32,
    y0: i32,
    nx: usize,
    ny: usize,
    stride: i32,
}

/// Nearest depth (m) at which a silhouette is sampled: the part of an object nearer than
/// this (beside or behind the camera) is cut off.
const NEAR: f32 = 0.05;

/// Where the camera-frame point `q` (z > 0) falls on the pinhole image plane, in pixels.
fn project(p: &CameraParams, q: Vec3) -> [f64; 2] {
    let z = f64::from(q.z);
    [
        f64::from(p.fx) * f64::from(q.x) / z + f64::from(p.cx),
        f64::from(p.fy) * f64::from(q.y) / z + f64::from(p.cy),
    ]
}

/// The pixel bounds (lo, hi) of the projection of the object's label box, or `None` when no
/// part of it lies in front of the camera.
fn projected_box_bounds(
    p: &CameraParams,
    size_m: Vec3,
    camera_from_object: &Affine3A,
) -> Option<((f32, f32), (f32, f32))> {
    // Bound the projection of the label box's part in front of the camera: its corners in
    // front, and where its edges cross the near plane (an object beside the camera reaches
    // behind it, and its silhouette is bounded by the near-plane crossings).
    let (l, wd, ht) = (size_m.x, size_m.y, size_m.z);
    let corners: [Vec3; 8] = std::array::from_fn(|k| {
        camera_from_object.transform_point3(Vec3::new(
            if k & 1 == 0 { -l / 2.0 } else { l / 2.0 },
            if k & 2 == 0 { -wd / 2.0 } else { wd / 2.0 },
            if k & 4 == 0 { 0.0 } else { ht },
        ))
    });
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
        let [u, v] = project(p, *q).map(|c| c as f32);
        lo = (lo.0.min(u), lo.1.min(v));
        hi = (hi.0.max(u), hi.1.max(v));
    }
    if !(lo.0.is_finite() && lo.1.is_finite() && hi.0.is_finite() && hi.1.is_finite()) {
        return None;
    }
    Some((lo, hi))
}

/// Slack of a written 3D box around the mesh's tight box, metres, on each side and over the
/// top (the bottom stays on the ground). KITTI's annotators drew boxes a little loose around
/// the points; a box exactly at the mesh's faces loses about half of the points on them to the
/// labels' centimetre rounding (and to OpenPCDet's `points_in_boxes`, which has no margin).
pub const LABEL_SLACK_M: f32 = 0.02;

/// The size (length, width, height) of an object's written 3D label box.
pub fn label_size_m(obj: &ObjectState) -> Vec3 {
    obj.size_m + Vec3::new(2.0 * LABEL_SLACK_M, 2.0 * LABEL_SLACK_M, LABEL_SLACK_M)
}

/// KITTI's `label_2` box: the projection of the 3D label box clipped to the image (amodal: the
/// parts hidden behind other objects count), as KITTI's annotators drew them (real KITTI:
/// projected 3D box against 2D box IoU median 0.97). `None` when it misses the image.
pub fn amodal_bbox(
    p: &CameraParams,
    obj: &ObjectState,
    camera_from_object: &Affine3A,
) -> Option<[f32; 4]> {
    let (lo, hi) = projected_box_bounds(p, label_size_m(obj), camera_from_object)?;
    let (w, h) = ((p.width - 1) as f32, (p.height - 1) as f32);
    let b = [lo.0.max(0.0), lo.1.max(0.0), hi.0.min(w), hi.1.min(h)];
    (b[2] >= b[0] && b[3] >= b[1]).then_some(b)
}

/// The sample grid over the object's label box, or `None` when no part of the box projects
/// onto the extended image plane.
fn silhouette_grid(
    cam: &CameraInputs,
    obj: &ObjectState,
    camera_from_object: &Affine3A,
) -> Option<SampleGrid> {
    let p = &cam.params;
    let (w, h) = (p.width as f32, p.height as f32);
    let (lo, hi) = projected_box_bounds(p, obj.size_m, camera_from_object)?;
    let (x0, y0, x1, y1) = (
        lo.0.max(-EXTENSION * w).floor(),
        lo.1.max(-EXTENSION * h).floor(),
        hi.0.min((1.0 + EXTENSION) * w).ceil(),
        hi.1.min((1.0 + EXTENSION) * h).ceil(),
    );
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    // A silhouette larger than SILHOUETTE_SAMPLES pixels is sampled on a coarser grid, each
    // sample counting for stride² pixels: truncation and the visible fraction are ratios of
    // areas, and an object beside the camera can cover millions of extended-plane pixels.
    let stride = ((x1 - x0) * (y1 - y0) / SILHOUETTE_SAMPLES)
        .sqrt()
        .ceil()
        .max(1.0) as i32;
    let (xs, ys, xe, ye) = (x0 as i32, y0 as i32, x1 as i32, y1 as i32);
    Some(SampleGrid {
        x0: xs,
        y0: ys,
        nx: ((xe - xs) as u32).div_ceil(stride as u32) as usize,
        ny: ((ye - ys) as u32).div_ceil(stride as u32) as usize,
        stride,
    })
}

/// Which samples of `grid` see the object's mesh, row-major: a sample is covered when the
/// ray from the camera centre through it crosses one of the mesh's triangles at a depth of
/// at least [`NEAR`]. The triangles are clipped at that depth, projected and filled row by
/// row (edges included, as the ray-triangle test includes them): the silhouette the rays
/// through the same pixel centres would find, without tracing them.
fn raster_coverage(
    pool: &GeometryPool,
    p: &CameraParams,
    obj: &ObjectState,
    camera_from_object: &Affine3A,
    grid: &SampleGrid,
) -> Vec<bool> {
    let mut covered = vec![false; grid.nx * grid.ny];
    let (first, count) = pool.tri_ranges[obj.mesh.0 as usize];
    for t in &pool.triangles[first as usize..(first + count) as usize] {
        let v0 = Vec3::from(t.v0);
        let tri = [v0, v0 + Vec3::from(t.e1), v0 + Vec3::from(t.e2)]
            .map(|v| camera_from_object.transform_point3(v));
        // Clip at z = NEAR: the part in front is a triangle or a quadrilateral.
        let mut poly = [Vec3::ZERO; 4];
        let mut n = 0;
        for k in 0..3 {
            let (a, b) = (tri[k], tri[(k + 1) % 3]);
            if a.z >= NEAR {
                poly[n] = a;
                n += 1;
            }
            if (a.z >= NEAR) != (b.z >= NEAR) {
                poly[n] = a.lerp(b, (NEAR - a.z) / (b.z - a.z));
                n += 1;
            }
        }
        if n < 3 {
            continue;
        }
        let uv: [[f64; 2]; 4] = std::array::from_fn(|k| project(p, poly[k.min(n - 1)]));
        for k in 1..n - 1 {
            fill_triangle([uv[0], uv[k], uv[k + 1]], grid, &mut covered);
        }
    }
    covered
}

/// Marks the samples of `grid` inside the image-plane triangle `t` (edges included).
fn fill_triangle(t: [[f64; 2]; 3], grid: &SampleGrid, covered: &mut [bool]) {
    let [a, mut b, mut c] = t;
    let area = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
    if area == 0.0 || !area.is_finite() {
        return; // seen edge-on: no ray crosses it
    }
    if area < 0.0 {
        std::mem::swap(&mut b, &mut c);
    }
    let s = f64::from(grid.stride);
    // Sample i of a row sits at x0 + i·stride + ½; j of a column likewise.
    let (ox, oy) = (f64::from(grid.x0) + 0.5, f64::from(grid.y0) + 0.5);
    let lo_y = a[1].min(b[1]).min(c[1]);
    let hi_y = a[1].max(b[1]).max(c[1]);
    let lo_x = a[0].min(b[0]).min(c[0]);
    let hi_x = a[0].max(b[0]).max(c[0]);
    let first = |v: f64, o: f64, n: usize| ((v - o) / s).ceil().clamp(0.0, n as f64) as usize;
    let last = |v: f64, o: f64, n: usize| ((v - o) / s).floor().clamp(-1.0, n as f64 - 1.0);
    let (j0, j1) = (first(lo_y, oy, grid.ny), last(hi_y, oy, grid.ny));
    if j1 < j0 as f64 {
        return;
    }
    // Edge p→q keeps the interior where (q - p) × (sample - p) ≥ 0, which for a row at height
    // y is A·x + B ≥ 0 with A = p.y - q.y and B = (q.x - p.x)·(y - p.y) + (q.y - p.y)·p.x.
    let edges = [(a, b), (b, c), (c, a)];
    for j in j0..=j1 as usize {
        let y = oy + j as f64 * s;
        let (mut lo, mut hi) = (lo_x, hi_x);
        for (p, q) in edges {
            let ea = p[1] - q[1];
            let eb = (q[0] - p[0]) * (y - p[1]) + (q[1] - p[1]) * p[0];
            if ea > 0.0 {
                lo = lo.max(-eb / ea);
            } else if ea < 0.0 {
                hi = hi.min(-eb / ea);
            } else if eb < 0.0 {
                hi = f64::NEG_INFINITY;
            }
        }
        let (i0, i1) = (first(lo, ox, grid.nx), last(hi, ox, grid.nx));
        if i1 >= i0 as f64 {
            covered[j * grid.nx + i0..=j * grid.nx + i1 as usize].fill(true);
        }
    }
}

/// Counts the object's silhouette pixels, each sample of its grid counting for stride²:
/// (inside the image, in total over the extended plane). A sample is in the silhouette when
/// the mesh covers it or the frame labels its pixel as the object.
fn silhouette(
    pool: &GeometryPool,
    cam: &CameraInputs,
    frame: &CameraFrame,
    obj: &ObjectState,
    camera_from_object: &Affine3A,
) -> (u32, u32) {
    let Some(grid) = silhouette_grid(cam, obj, camera_from_object) else {
        return (0, 0);
    };
    let p = &cam.params;
    let covered = raster_coverage(pool, p, obj, camera_from_object, &grid);
    let weight = (grid.stride * grid.stride) as u32;
    let (mut inside, mut total) = (0u32, 0u32);
    for (j, row) in covered.chunks_exact(grid.nx).enumerate() {
        let y = grid.y0 + j as i32 * grid.stride;
        let row_in_image = y >= 0 && (y as u32) < p.height;
        for (i, &c) in row.iter().enumerate() {
            let x = grid.x0 + i as i32 * grid.stride;
            let in_image = row_in_image && x >= 0 && (x as u32) < p.width;
            let hit = c
                || (in_image
                    && frame.pixels[(y as u32 * p.width + x as u32) as usize].label >> 16
                        == obj.instance_id);
            if hit {
                total += weight;
                inside += if in_image { weight } else { 0 };
            }
        }
    }
    (inside, total)
}

/// The pose of an object's 3D label box in the camera frame, as KITTI's annotators placed
/// boxes: on the lidar sweep. Each object is boxed where the sweep saw it, at the firing time of
/// the column at its azimuth, with both the object and the ego (and so the lidar) moved to that
/// time, then expressed in the camera frame through the fixed lidar-to-camera calibration. So an
/// object's points fall inside its box as in real KITTI (the sweep's points are not motion
/// compensated), where boxes at the frame time missed the points of objects scanned before or
/// after it. Without a lidar, or without motion distortion, the frame-time pose.
pub fn label_camera_from_object(
    cam: &CameraInputs,
    lidar: Option<&LidarInputs>,
    obj: &ObjectState,
) -> Affine3A {
    let camera_from_world = cam.world_from_camera.inverse();
    let at_frame = camera_from_world * obj.world_from_object;
    let Some(l) = lidar.filter(|l| l.params.sweep_s > 0.0 && !l.columns.is_empty()) else {
        return at_frame;
    };
    let lidar_from_world = l.world_from_lidar.inverse();
    let centre = lidar_from_world.transform_point3(
        obj.world_from_object
            .transform_point3(Vec3::new(0.0, 0.0, 0.5 * obj.size_m.z)),
    );
    // The column pointing at the object (largest cosine to its direction).
    let col = l
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| (i, c[0] * centre.x + c[1] * centre.y))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |(i, _)| i);
    let fraction = column_fraction(col as u32, l.columns.len() as u32);
    let t = (fraction - 0.5) * l.params.sweep_s;
    let camera_from_lidar = camera_from_world * l.world_from_lidar;
    camera_from_lidar
        * world_from_lidar_at(&l.params, fraction).inverse()
        * obj.world_from_object_at(t)
}

/// Labels every object visible in one camera frame; `lidar` places the 3D boxes on its sweep
/// (see [`label_camera_from_object`]).
pub fn label_camera(
    pool: &GeometryPool,
    cam: &CameraInputs,
    lidar: Option<&LidarInputs>,
    frame: &CameraFrame,
    objects: &[ObjectState],
) -> Vec<ObjectLabel> {
    label_camera_masked(pool, cam, lidar, frame, &instance_masks(frame), objects)
}

/// [`label_camera`] with the frame's `instance_masks` already made (the writer makes them
/// once for the boxes and COCO).
pub fn label_camera_masked(
    pool: &GeometryPool,
    cam: &CameraInputs,
    lidar: Option<&LidarInputs>,
    frame: &CameraFrame,
    masks: &[InstanceMask],
    objects: &[ObjectState],
) -> Vec<ObjectLabel> {
    let camera_from_world = cam.world_from_camera.inverse();
    let mut out = Vec::new();
    for obj in objects {
        let Ok(m) = masks.binary_search_by_key(&obj.instance_id, |m| m.instance_id) else {
            continue;
        };
        let s = &masks[m].all;
        let camera_from_object = camera_from_world * obj.world_from_object;
        let (inside, total) = silhouette(pool, cam, frame, obj, &camera_from_object);
        let inside = inside.max(s.pixels);
        let total = total.max(inside);
        let truncation = if total > 0 {
            1.0 - inside as f32 / total as f32
        } else {
            0.0
        };
        let visible_fraction = (s.pixels as f32 / inside.max(1) as f32).min(1.0);
        let bbox_visible = s.bbox.map(|v| v as f32);
        let camera_from_box = label_camera_from_object(cam, lidar, obj);
        // KITTI's 2D box is amodal: the 3D box's projection, hidden parts included. (The
        // mesh's whole outline was tried: its IoU with the projected box, median 0.79 on
        // kitti_urban, is far below real KITTI's 0.96-0.97; the projection gives 0.99.)
        let bbox = amodal_bbox(&cam.params, obj, &camera_from_box).unwrap_or(bbox_visible);
        let location = camera_from_box.transform_point3(Vec3::ZERO);
        let heading = camera_from_box.transform_vector3(Vec3::X);
        let rotation_y = (-heading.z).atan2(heading.x);
        let alpha_rad = wrap_angle(rotation_y - location.x.atan2(location.z));
        let dont_care = bbox_visible[3] - bbox_visible[1] + 1.0 < MIN_BOX_HEIGHT_PX
            || s.pixels < MIN_VISIBLE_PIXELS;
        out.push(ObjectLabel {
            instance_id: obj.instance_id,
            class: obj.class,
            dont_care,
            truncation,
            occlusion: occlusion_level(visible_fraction),
            visible_fraction,
            alpha_rad,
            bbox,
            bbox_visible,
            dims_hwl: {
                let s = label_size_m(obj);
                [s.z, s.y, s.x]
            },
            location: location.to_array(),
            rotation_y,
            visible_pixels: s.pixels,
            silhouette_pixels: total,
        });
    }
    out
}

/// One KITTI label_2 line: objects with their amodal box, `DontCare` regions with the
/// visible box (the image region a detector's output is ignored in).
pub fn kitti_line(l: &ObjectLabel) -> String {
    let b = l.bbox;
    if l.dont_care {
        let v = l.bbox_visible;
        return format!(
            "DontCare -1 -1 -10 {:.2} {:.2} {:.2} {:.2} -1 -1 -1 -1000 -1000 -1000 -10",
            v[0], v[1], v[2], v[3]
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
    use crate::backend::cpu::bvh::{SceneView, trace, xform_dir, xform_point};
    use crate::geometry::{Placement, build_tlas};

    /// The rasterized silhouette is the one rays through the same pixel centres find: every
    /// object of kitti_urban's frames (cars beside the camera, parked rows, pedestrians),
    /// traced one ray per sample against the object alone.
    #[test]
    fn raster_coverage_equals_rays_through_the_samples() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/kitti_urban.ron");
        let (scenario, _) = crate::scenario::load(&path).unwrap();
        let mut sim = crate::world::Simulation::new(scenario);
        let pool = sim.assets.pool.clone();
        let materials = pool.materials.clone();
        let (mut samples, mut covered_total, mut differ, mut objects, mut strided) =
            (0, 0, 0, 0, 0);
        for frame in [0, 12] {
            sim.advance_to_frame(frame);
            let inputs = sim.frame_inputs();
            let cam = &inputs.cameras[0];
            let p = &cam.params;
            let camera_from_world = cam.world_from_camera.inverse();
            let o = xform_point(&p.world_from_camera, Vec3::ZERO);
            for obj in &inputs.objects {
                let camera_from_object = camera_from_world * obj.world_from_object;
                let Some(grid) = silhouette_grid(cam, obj, &camera_from_object) else {
                    continue;
                };
                let raster = raster_coverage(&pool, p, obj, &camera_from_object, &grid);
                let tlas = build_tlas(
                    &pool,
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
                    materials: &materials,
                    tlas_root: 0,
                };
                let mut mine = 0;
                for (k, &c) in raster.iter().enumerate() {
                    let (i, j) = ((k % grid.nx) as i32, (k / grid.nx) as i32);
                    let (x, y) = (grid.x0 + i * grid.stride, grid.y0 + j * grid.stride);
                    let d = Vec3::new(
                        (x as f32 + 0.5 - p.cx) / p.fx,
                        (y as f32 + 0.5 - p.cy) / p.fy,
                        1.0,
                    );
                    let d = xform_dir(&p.world_from_camera, d).normalize();
                    let hit = trace(&scene, o, d, p.max_depth_m, true).is_hit();
                    differ += usize::from(hit != c);
                    mine += usize::from(c);
                }
                samples += raster.len();
                covered_total += mine;
                objects += usize::from(mine > 0);
                strided += usize::from(mine > 0 && grid.stride > 1);
            }
        }
        eprintln!(
            "{objects} objects ({strided} on a coarser grid), {covered_total} of {samples} samples covered, {differ} differ from the rays"
        );
        assert!(
            objects >= 20 && strided >= 1,
            "{objects} objects, {strided} strided"
        );
        assert!(covered_total > 50_000, "{covered_total}");
        // Only samples on a triangle's edge to rounding may differ.
        assert!(
            differ * 1000 <= covered_total,
            "{differ} of {covered_total}"
        );
    }

    #[test]
    fn occlusion_levels_follow_hidden_fraction() {
        assert_eq!(occlusion_level(1.0), 0);
        assert_eq!(occlusion_level(0.9), 0);
        assert_eq!(occlusion_level(0.6), 1);
        assert_eq!(occlusion_level(0.2), 2);
    }
}
