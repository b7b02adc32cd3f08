//! Object-level statistics: what the lidar sees of each labelled car, from the `label_2` boxes,
//! the calibration and the velodyne points of a frame. Global lidar and camera statistics pass a
//! world of boxes; these do not, because a real car's points are not spread like a box's.
//!
//! Box convention (KITTI's, as `label_2` stores it and OpenPCDet's `points_in_boxes` tests it):
//! the location is the bottom centre of the box in the rectified camera frame (y down), the box
//! turns by `rotation_y` about the camera's y axis, its length runs along the heading. A point is
//! inside when, in box coordinates, |x| ≤ l/2, |z| ≤ w/2 and 0 ≤ height above the bottom ≤ h,
//! without a margin.
//!
//! Per car (class `Car`, box centre within [`MAX_DISTANCE_M`] of the camera):
//! - points inside its box, as `log10(1 + n·(d/10 m)²)`: a solid angle falls as 1/d², so this is
//!   about constant over distance for one shape, and 0 for a labelled car without points;
//! - the share of the points near the box (inside it grown by [`SHELL_M`], above
//!   [`GROUND_CLEARANCE_M`]) that lie inside it: KITTI's annotators drew tight boxes;
//! - with at least [`MIN_SHAPE_POINTS`] points inside, the normalised place of each point in its
//!   box (each car weighs one, however many points it has): the height profile, the side view
//!   (length × height), the top view (length × distance from the centre line) and the
//!   intensities. A car has a bonnet, a glass cabin that returns little and wheel arches; a box
//!   has flat faces filled evenly;
//! - the observation angle `alpha`, the box width and the 2D box's aspect ratio.

use glam::DVec3;
use serde::{Deserialize, Serialize};

use super::hist::Hist;
use super::readers::{KittiCalib, KittiObject, rect_from_velo};

/// The class these statistics describe.
pub const CLASS: &str = "Car";
/// Boxes farther than this from the camera (√(x² + z²)) are left out.
pub const MAX_DISTANCE_M: f64 = 80.0;
/// Cars with fewer points inside their box are left out of the shape statistics.
pub const MIN_SHAPE_POINTS: usize = 30;
/// Growth of a box, on every side but the bottom, within which points count as near it.
pub const SHELL_M: f64 = 0.4;
/// Points lower than this above the bottom of a box are taken for ground.
pub const GROUND_CLEARANCE_M: f64 = 0.3;
/// Bins of the side view along the length (rear to front) and the height.
pub const SIDE_LENGTH_BINS: usize = 8;
pub const SIDE_HEIGHT_BINS: usize = 5;
/// Bins of the top view across the width, from the centre line to a side.
pub const TOP_WIDTH_BINS: usize = 4;

/// Object statistics of a group of frames (mergeable; no points are kept).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectAgg {
    /// Cars counted (within [`MAX_DISTANCE_M`]).
    pub cars: u64,
    /// Cars with at least [`MIN_SHAPE_POINTS`] points inside their box.
    pub shaped_cars: u64,
    /// Points inside the box per car, `log10(1 + n·(d/10 m)²)`.
    pub points_per_car: Hist,
    /// Per car, points inside the box over points near it.
    pub inside_share: Hist,
    /// Height of a point above the box bottom over the box height.
    pub height_profile: Hist,
    /// Side view: bin `length_bin · SIDE_HEIGHT_BINS + height_bin` (length bin 0 at the rear).
    pub side_view: Hist,
    /// Top view: bin `length_bin · TOP_WIDTH_BINS + width_bin` (width bin 0 on the centre line).
    pub top_view: Hist,
    /// Intensities of the points inside boxes.
    pub intensity: Hist,
    /// Observation angle `alpha` (rad).
    pub alpha_rad: Hist,
    /// Box width (m).
    pub width_m: Hist,
    /// `ln(width / height)` of the 2D box.
    pub aspect_2d: Hist,
}

impl Default for ObjectAgg {
    fn default() -> Self {
        Self {
            cars: 0,
            shaped_cars: 0,
            points_per_car: Hist::new(0.0, 5.0, 20),
            inside_share: Hist::new(0.0, 1.0, 10),
            height_profile: Hist::new(0.0, 1.0, 10),
            side_view: Hist::new(
                0.0,
                (SIDE_LENGTH_BINS * SIDE_HEIGHT_BINS) as f64,
                SIDE_LENGTH_BINS * SIDE_HEIGHT_BINS,
            ),
            top_view: Hist::new(
                0.0,
                (SIDE_LENGTH_BINS * TOP_WIDTH_BINS) as f64,
                SIDE_LENGTH_BINS * TOP_WIDTH_BINS,
            ),
            intensity: Hist::new(0.0, 1.0, 20),
            alpha_rad: Hist::new(-std::f64::consts::PI, std::f64::consts::PI, 12),
            width_m: Hist::new(1.2, 2.4, 12),
            aspect_2d: Hist::new(-1.0, 2.0, 15),
        }
    }
}

impl ObjectAgg {
    pub fn merge(&mut self, o: &ObjectAgg) {
        self.cars += o.cars;
        self.shaped_cars += o.shaped_cars;
        for (a, b) in [
            (&mut self.points_per_car, &o.points_per_car),
            (&mut self.inside_share, &o.inside_share),
            (&mut self.height_profile, &o.height_profile),
            (&mut self.side_view, &o.side_view),
            (&mut self.top_view, &o.top_view),
            (&mut self.intensity, &o.intensity),
            (&mut self.alpha_rad, &o.alpha_rad),
            (&mut self.width_m, &o.width_m),
            (&mut self.aspect_2d, &o.aspect_2d),
        ] {
            a.merge(b);
        }
    }
}

/// A point in a box's coordinates: along the heading, up from the bottom, and across (m).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoxPoint {
    pub along_m: f64,
    pub up_m: f64,
    pub across_m: f64,
}

/// `p` (rectified camera frame) in the coordinates of `o`'s box.
pub fn box_coordinates(o: &KittiObject, p: DVec3) -> BoxPoint {
    let d = p - DVec3::from_array(o.location_m);
    let (s, c) = o.rotation_y_rad.sin_cos();
    BoxPoint {
        along_m: c * d.x - s * d.z,
        up_m: -d.y,
        across_m: s * d.x + c * d.z,
    }
}

/// Whether a point in box coordinates lies inside the box of dimensions `[h, w, l]`, grown by
/// `grow_m` on every side but the bottom.
pub fn inside(b: BoxPoint, dims_m: [f64; 3], grow_m: f64) -> bool {
    let [h, w, l] = dims_m;
    b.along_m.abs() <= l / 2.0 + grow_m
        && b.across_m.abs() <= w / 2.0 + grow_m
        && b.up_m >= 0.0
        && b.up_m <= h + grow_m
}

/// Adds one frame's cars. Frames without a usable calibration add nothing (the validity
/// report already counts a missing calib).
pub fn accumulate_objects(
    objs: &[KittiObject],
    points: &[[f32; 4]],
    calib: &KittiCalib,
    agg: &mut ObjectAgg,
) {
    let Some((rot, t)) = rect_from_velo(calib) else {
        return;
    };
    let cars: Vec<&KittiObject> = objs
        .iter()
        .filter(|o| o.class == CLASS && o.dims_m.iter().all(|&d| d > 0.0 && d.is_finite()))
        .filter(|o| o.location_m[0].hypot(o.location_m[2]) <= MAX_DISTANCE_M)
        .collect();
    if cars.is_empty() {
        return;
    }
    let rect: Vec<(DVec3, f64)> = points
        .iter()
        .filter(|p| p.iter().all(|v| v.is_finite()))
        .map(|p| {
            let v = DVec3::new(p[0] as f64, p[1] as f64, p[2] as f64);
            (rot * v + t, p[3] as f64)
        })
        .collect();
    for o in cars {
        add_car(o, &rect, agg);
    }
}

fn add_car(o: &KittiObject, rect: &[(DVec3, f64)], agg: &mut ObjectAgg) {
    let [h, w, l] = o.dims_m;
    let reach = 0.5 * l.hypot(w) + SHELL_M;
    let centre = DVec3::from_array(o.location_m);
    let mut in_box: Vec<(BoxPoint, f64)> = Vec::new();
    let (mut near, mut near_inside) = (0usize, 0usize);
    for &(p, intensity) in rect {
        let (dx, dz) = (p.x - centre.x, p.z - centre.z);
        if dx * dx + dz * dz > reach * reach {
            continue;
        }
        let b = box_coordinates(o, p);
        let is_in = inside(b, o.dims_m, 0.0);
        if is_in {
            in_box.push((b, intensity));
        }
        if b.up_m >= GROUND_CLEARANCE_M && inside(b, o.dims_m, SHELL_M) {
            near += 1;
            near_inside += usize::from(is_in);
        }
    }
    agg.cars += 1;
    let d = o.location_m[0].hypot(o.location_m[2]);
    let n = in_box.len() as f64;
    agg.points_per_car
        .add((1.0 + n * (d / 10.0).powi(2)).log10(), 1.0);
    if near > 0 {
        agg.inside_share.add(near_inside as f64 / near as f64, 1.0);
    }
    agg.alpha_rad.add(o.alpha_rad, 1.0);
    agg.width_m.add(w, 1.0);
    let [x0, y0, x1, y1] = o.bbox_px;
    if x1 > x0 && y1 > y0 {
        agg.aspect_2d.add(((x1 - x0) / (y1 - y0)).ln(), 1.0);
    }
    if in_box.len() < MIN_SHAPE_POINTS {
        return;
    }
    agg.shaped_cars += 1;
    let weight = 1.0 / n;
    let bin = |x: f64, bins: usize| ((x * bins as f64).floor().max(0.0) as usize).min(bins - 1);
    for (b, intensity) in in_box {
        let along = b.along_m / l + 0.5;
        let up = b.up_m / h;
        let across = b.across_m.abs() / (w / 2.0);
        agg.height_profile.add(up, weight);
        let lb = bin(along, SIDE_LENGTH_BINS);
        agg.side_view.add(
            (lb * SIDE_HEIGHT_BINS + bin(up, SIDE_HEIGHT_BINS)) as f64 + 0.5,
            weight,
        );
        agg.top_view.add(
            (lb * TOP_WIDTH_BINS + bin(across, TOP_WIDTH_BINS)) as f64 + 0.5,
            weight,
        );
        agg.intensity.add(intensity, weight);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn car(location_m: [f64; 3], rotation_y_rad: f64) -> KittiObject {
        KittiObject {
            class: CLASS.into(),
            truncated: 0.0,
            occluded: 0,
            alpha_rad: 0.0,
            bbox_px: [100.0, 100.0, 300.0, 200.0],
            dims_m: [1.5, 1.8, 4.0],
            location_m,
            rotation_y_rad,
        }
    }

    /// Identity rect-from-velo: velodyne coordinates are the camera's.
    fn identity_calib() -> KittiCalib {
        let mut c = KittiCalib::new();
        c.insert(
            "R0_rect".into(),
            vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
        );
        c.insert(
            "Tr_velo_to_cam".into(),
            vec![1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
        );
        c
    }

    #[test]
    fn box_coordinates_follow_kitti_corners() {
        // KITTI's corners: R_y(ry)·(±l/2, −h or 0, ±w/2) + location. The front-left-bottom
        // corner must come back as (l/2, 0, w/2) for any heading.
        for ry in [0.0, 0.7, -2.1, 3.0] {
            let o = car([3.0, 1.6, 20.0], ry);
            let (s, c) = f64::sin_cos(ry);
            let local = DVec3::new(2.0, 0.0, 0.9);
            let world = DVec3::new(c * local.x + s * local.z, 0.0, -s * local.x + c * local.z)
                + DVec3::from_array(o.location_m);
            let b = box_coordinates(&o, world);
            assert!((b.along_m - 2.0).abs() < 1e-12, "{ry}: {b:?}");
            assert!((b.across_m - 0.9).abs() < 1e-12, "{ry}: {b:?}");
            assert!(b.up_m.abs() < 1e-12);
            // 1 mm in from the corner, towards the centre and up (y down): inside.
            let toward = (DVec3::from_array(o.location_m) - world).normalize() * 1e-3;
            let just_in = box_coordinates(&o, world + toward - DVec3::Y * 1e-3);
            assert!(inside(just_in, o.dims_m, 0.0), "{ry}: {just_in:?}");
            let top = box_coordinates(&o, world - DVec3::new(0.0, 1.5, 0.0));
            assert!((top.up_m - 1.5).abs() < 1e-12);
            let past = box_coordinates(&o, world + DVec3::new(c * 0.1, 0.0, -s * 0.1));
            assert!(
                !inside(past, o.dims_m, 0.0),
                "{ry}: 10 cm past the front is outside"
            );
            assert!(inside(past, o.dims_m, SHELL_M));
        }
    }

    #[test]
    fn points_are_counted_inside_and_placed_in_the_views() {
        let o = car([0.0, 1.0, 10.0], 0.0);
        // 40 points on the box's side face at across = −0.9 (z = 10 − 0.9), spread over length
        // and height; 10 points 0.2 m outside the front (near, not inside); 5 points 5 cm above
        // the box's bottom (inside, as points_in_boxes counts them, but below the ground
        // clearance, so not near).
        let mut pts = Vec::new();
        for i in 0..8 {
            for j in 0..5 {
                let x = -2.0 + 0.25 + 0.5 * i as f64;
                let up = 0.15 + 0.3 * j as f64;
                pts.push([x as f32, (1.0 - up) as f32, 9.1, 0.5]);
            }
        }
        for j in 0..10 {
            pts.push([2.2, (1.0 - 0.4 - 0.1 * j as f64) as f32, 10.0, 0.9]);
        }
        for k in 0..5 {
            pts.push([k as f32 * 0.3 - 0.6, 0.95, 10.0, 0.1]);
        }
        let mut agg = ObjectAgg::default();
        accumulate_objects(&[o], &pts, &identity_calib(), &mut agg);
        assert_eq!((agg.cars, agg.shaped_cars), (1, 1));
        // 40 + 5 ground points inside the box (the ground points are 5 cm above its bottom).
        let n = 45.0_f64;
        let expect = (1.0 + n).log10();
        assert_eq!(
            agg.points_per_car.counts[agg.points_per_car.bin(expect).unwrap()],
            1.0
        );
        // Near: 40 side points at up ≥ 0.3 m but the lowest row (0.15 m) is ground: 32 inside,
        // plus 10 outside the front.
        let share = 32.0 / 42.0;
        assert_eq!(
            agg.inside_share.counts[agg.inside_share.bin(share).unwrap()],
            1.0
        );
        // Each car weighs one in the shape views.
        assert!((agg.side_view.total() - 1.0).abs() < 1e-9);
        assert!((agg.height_profile.total() - 1.0).abs() < 1e-9);
        // The side face points sit in the outer width bin; the ground points near the centre line.
        let outer: f64 = (0..SIDE_LENGTH_BINS)
            .map(|lb| agg.top_view.counts[lb * TOP_WIDTH_BINS + TOP_WIDTH_BINS - 1])
            .sum();
        assert!((outer - 40.0 / 45.0).abs() < 1e-9, "{outer}");
        // Every length bin of the side view holds five side points.
        for lb in 0..SIDE_LENGTH_BINS {
            let col: f64 = (0..SIDE_HEIGHT_BINS)
                .map(|hb| agg.side_view.counts[lb * SIDE_HEIGHT_BINS + hb])
                .sum();
            assert!(col >= 5.0 / 45.0 - 1e-9, "length bin {lb}: {col}");
        }
    }

    #[test]
    fn far_cars_other_classes_and_frames_without_calib_add_nothing() {
        let pts = vec![[0.0, 0.5, 10.0, 0.5]; 50];
        let mut agg = ObjectAgg::default();
        let mut far = car([0.0, 1.0, 90.0], 0.0);
        accumulate_objects(
            std::slice::from_ref(&far),
            &pts,
            &identity_calib(),
            &mut agg,
        );
        far.class = "Pedestrian".into();
        far.location_m = [0.0, 1.0, 10.0];
        accumulate_objects(&[far], &pts, &identity_calib(), &mut agg);
        accumulate_objects(
            &[car([0.0, 1.0, 10.0], 0.0)],
            &pts,
            &KittiCalib::new(),
            &mut agg,
        );
        assert_eq!(agg, ObjectAgg::default());
        // A labelled car without points counts, in the first bin, and has no shape.
        accumulate_objects(
            &[car([0.0, 1.0, 30.0], 0.0)],
            &pts,
            &identity_calib(),
            &mut agg,
        );
        assert_eq!((agg.cars, agg.shaped_cars), (1, 0));
        assert_eq!(agg.points_per_car.counts[0], 1.0);
        assert_eq!(agg.side_view.total(), 0.0);
    }
}
