//! The procedural map: roads (straight and curved) with lanes, markings and sidewalks,
//! intersections with crosswalks, stop lines and signals, and roadside buildings, trees, poles
//! and parked cars, all placed deterministically from the scenario seed.

use glam::{Vec2, Vec3};

use super::mesh::Mesh;
use super::vegetation::{TreeKind, tree_mesh};
use crate::classes::Class;
use crate::rng::SceneRng;
use crate::scenario::materials::id as mat;
use crate::scenario::{ActorKind, ActorSpec, BoxClass, MapSpec, Markings, RoadShape, RoadSpec};

/// Height of the terrain plane; roads and the ego's wheels are at z = 0.
pub const TERRAIN_Z_M: f32 = -0.05;
pub const MARKING_Z_M: f32 = 0.005;
pub const CURB_HEIGHT_M: f32 = 0.15;

/// A road's centre line, parameterised by arc length.
#[derive(Clone, Copy, Debug)]
pub enum Centerline {
    Straight { a: Vec2, b: Vec2 },
    Arc { c: Vec2, r: f32, a0: f32, a1: f32 },
}

impl Centerline {
    pub fn from_shape(shape: &RoadShape) -> Self {
        match *shape {
            RoadShape::Straight { from, to } => Centerline::Straight {
                a: Vec2::new(from.0, from.1),
                b: Vec2::new(to.0, to.1),
            },
            RoadShape::Arc {
                center,
                radius_m,
                start_deg,
                end_deg,
            } => Centerline::Arc {
                c: Vec2::new(center.0, center.1),
                r: radius_m,
                a0: start_deg.to_radians(),
                a1: end_deg.to_radians(),
            },
        }
    }

    pub fn length(&self) -> f32 {
        match *self {
            Centerline::Straight { a, b } => a.distance(b),
            Centerline::Arc { r, a0, a1, .. } => r * (a1 - a0),
        }
    }

    /// Position and unit tangent at arc length `s`.
    pub fn at(&self, s: f32) -> (Vec2, Vec2) {
        match *self {
            Centerline::Straight { a, b } => {
                let t = (b - a).normalize();
                (a + t * s, t)
            }
            Centerline::Arc { c, r, a0, .. } => {
                let ang = a0 + s / r;
                let (sn, cs) = ang.sin_cos();
                (c + Vec2::new(cs, sn) * r, Vec2::new(-sn, cs))
            }
        }
    }

    /// Point at arc length `s`, `lateral` metres to the left of the centre line.
    pub fn offset(&self, s: f32, lateral: f32) -> Vec2 {
        let (p, t) = self.at(s);
        p + t.perp() * lateral
    }

    /// Arc-length samples from `s0` to `s1` no farther apart than 2 m on curves.
    pub fn samples(&self, s0: f32, s1: f32) -> Vec<f32> {
        let n = match self {
            Centerline::Straight { .. } => 1,
            Centerline::Arc { .. } => ((s1 - s0) / 2.0).ceil().max(1.0) as usize,
        };
        (0..=n)
            .map(|i| s0 + (s1 - s0) * i as f32 / n as f32)
            .collect()
    }

    /// Distance from `p` to the centre line (to its nearest point, ends included).
    pub fn distance_to(&self, p: Vec2) -> f32 {
        match *self {
            Centerline::Straight { a, b } => {
                let ab = b - a;
                let t = ((p - a).dot(ab) / ab.length_squared()).clamp(0.0, 1.0);
                p.distance(a + ab * t)
            }
            Centerline::Arc { c, r, a0, a1 } => {
                let v = p - c;
                let mut ang = v.y.atan2(v.x);
                while ang < a0 {
                    ang += std::f32::consts::TAU;
                }
                if ang <= a1 {
                    (v.length() - r).abs()
                } else {
                    let e0 = c + Vec2::from_angle(a0) * r;
                    let e1 = c + Vec2::from_angle(a1) * r;
                    p.distance(e0).min(p.distance(e1))
                }
            }
        }
    }
}

/// The static world: one mesh, plus parked cars that become actors (they get labels).
pub struct StaticWorld {
    pub mesh: Mesh,
    /// Roadside trees: where each stands (its base) and which of [`TREE_VARIANTS`] it is. They
    /// are instanced (one BLAS per variant), not merged into `mesh`.
    pub trees: Vec<(Vec3, f32, u32)>,
    pub parked: Vec<ActorSpec>,
    /// Street-light heads (world positions) at the top of the roadside poles, over the road.
    pub lamps: Vec<Vec3>,
}

fn road_half_width(r: &RoadSpec) -> f32 {
    r.lanes_per_direction as f32 * r.lane_width_m
}

fn road_outer_half_width(r: &RoadSpec) -> f32 {
    road_half_width(r) + r.sidewalk_width_m
}

struct Clearance<'a> {
    map: &'a MapSpec,
    lines: Vec<Centerline>,
}

impl Clearance<'_> {
    /// True when a disc at `p` of `radius` stays off every other road and every intersection.
    fn clear(&self, p: Vec2, radius: f32, own_road: usize) -> bool {
        let roads_ok = self
            .map
            .roads
            .iter()
            .zip(&self.lines)
            .enumerate()
            .all(|(j, (r, cl))| {
                j == own_road || cl.distance_to(p) > road_outer_half_width(r) + radius
            });
        let crossings_ok = self.map.intersections.iter().all(|x| {
            p.distance(Vec2::new(x.center.0, x.center.1)) > x.size_m * 0.75 + radius + 2.0
        });
        let boxes_ok = self.map.boxes.iter().all(|b| {
            let half = Vec2::new(b.size_m.0, b.size_m.1).length() * 0.5;
            p.distance(Vec2::new(b.center.0, b.center.1)) > half + radius
        });
        roads_ok && crossings_ok && boxes_ok
    }
}

/// Adds a strip between lateral offsets `lat0 < lat1` over arc lengths `s0..s1`.
#[allow(clippy::too_many_arguments)] // plain geometric parameters
fn strip(
    m: &mut Mesh,
    cl: &Centerline,
    s0: f32,
    s1: f32,
    lat0: f32,
    lat1: f32,
    z: f32,
    material: u32,
    class: Class,
) {
    let ss = cl.samples(s0, s1);
    for w in ss.windows(2) {
        m.flat_segment(
            cl.offset(w[0], lat1),
            cl.offset(w[0], lat0),
            cl.offset(w[1], lat1),
            cl.offset(w[1], lat0),
            z,
            material,
            class,
        );
    }
}

/// A vertical wall along the road at lateral offset `lat`, from `z0` to `z1`.
#[allow(clippy::too_many_arguments)] // plain geometric parameters
fn curb_face(
    m: &mut Mesh,
    cl: &Centerline,
    len: f32,
    lat: f32,
    z0: f32,
    z1: f32,
    material: u32,
    class: Class,
) {
    let ss = cl.samples(0.0, len);
    for w in ss.windows(2) {
        let a = cl.offset(w[0], lat);
        let b = cl.offset(w[1], lat);
        m.quad(
            a.extend(z0),
            b.extend(z0),
            b.extend(z1),
            a.extend(z1),
            material,
            class,
        );
    }
}

/// A dashed line of `width` at lateral offset `c`: `dash` metres painted every `period`.
#[allow(clippy::too_many_arguments)]
fn dashed(m: &mut Mesh, cl: &Centerline, c: f32, width: f32, dash: f32, period: f32, paint: u32) {
    let len = cl.length();
    let mut s = 2.0;
    while s + dash < len {
        strip(
            m,
            cl,
            s,
            s + dash,
            c - 0.5 * width,
            c + 0.5 * width,
            MARKING_Z_M,
            paint,
            Class::LaneMarking,
        );
        s += period;
    }
}

fn road_mesh(m: &mut Mesh, road: &RoadSpec, cl: &Centerline, markings: Markings) {
    let len = cl.length();
    let hw = road_half_width(road);
    strip(m, cl, 0.0, len, -hw, hw, 0.0, mat("asphalt"), Class::Road);
    let (paint, yellow) = (mat("lane_paint"), mat("lane_paint_yellow"));
    // Line width, and the lane lines' dash and period (objects.md section 8).
    let (width, dash, period) = match markings {
        Markings::Us => (0.15, 3.0, 12.0),
        Markings::Eu => (0.12, 3.0, 9.0),
    };
    match markings {
        // Double yellow centre line.
        Markings::Us => {
            for c in [-0.12f32, 0.12] {
                strip(
                    m,
                    cl,
                    0.0,
                    len,
                    c - 0.06,
                    c + 0.06,
                    MARKING_Z_M,
                    yellow,
                    Class::LaneMarking,
                );
            }
        }
        // A broken white centre line.
        Markings::Eu => dashed(m, cl, 0.0, width, dash, period, paint),
    }
    for side in [-1.0f32, 1.0] {
        let c = side * (hw - 0.25);
        strip(
            m,
            cl,
            0.0,
            len,
            c - 0.5 * width,
            c + 0.5 * width,
            MARKING_Z_M,
            paint,
            Class::LaneMarking,
        );
        for k in 1..road.lanes_per_direction {
            let c = side * k as f32 * road.lane_width_m;
            let lane_width = if markings == Markings::Us {
                0.12
            } else {
                width
            };
            dashed(m, cl, c, lane_width, dash, period, paint);
        }
    }
    if road.sidewalk_width_m > 0.0 {
        let concrete = mat("concrete");
        for side in [-1.0f32, 1.0] {
            let (a, b) = (side * hw, side * (hw + road.sidewalk_width_m));
            strip(
                m,
                cl,
                0.0,
                len,
                a.min(b),
                a.max(b),
                CURB_HEIGHT_M,
                concrete,
                Class::Sidewalk,
            );
            curb_face(m, cl, len, a, 0.0, CURB_HEIGHT_M, concrete, Class::Sidewalk);
            curb_face(
                m,
                cl,
                len,
                b,
                TERRAIN_Z_M,
                CURB_HEIGHT_M,
                concrete,
                Class::Sidewalk,
            );
        }
    }
}

/// Street-tree variants a scene's trees are drawn from (each one BLAS, instanced).
pub const TREE_VARIANTS: u32 = 6;

/// Street tree `variant`: broadleaf, 5.5–8.5 m tall, crowns of 1.6–2.6 m radius, leaves a lidar
/// partly sees through (vegetation.rs).
pub fn tree_variant(variant: u32) -> Mesh {
    let mut rng = SceneRng::new(0x7EE5, variant);
    let height = rng.range(5.5, 8.5);
    let crown = rng.range(1.6, 2.6);
    tree_mesh(
        TreeKind::Broadleaf,
        height,
        crown,
        0x7EE5_0000 + variant as u64,
    )
}

const BUILDING_MATERIALS: [&str; 3] = ["brick", "facade_concrete", "facade_plaster"];

#[allow(clippy::too_many_arguments)]
fn roadside(
    m: &mut Mesh,
    trees: &mut Vec<(Vec3, f32, u32)>,
    parked: &mut Vec<ActorSpec>,
    lamps: &mut Vec<Vec3>,
    map: &MapSpec,
    clear: &Clearance,
    i: usize,
    rng: &mut SceneRng,
) {
    let road = &map.roads[i];
    let cl = &clear.lines[i];
    let rs = &road.roadside;
    let len = cl.length();
    let hw = road_half_width(road);
    let outer = road_outer_half_width(road);
    let heading = |s: f32| {
        let t = cl.at(s).1;
        t.y.atan2(t.x)
    };
    for side in [-1.0f32, 1.0] {
        if rs.building_spacing_m > 0.0 {
            let mut s = rs.building_spacing_m * 0.5;
            while s < len {
                let width = rs.building_spacing_m * rng.range(0.75, 0.95);
                let depth = rng.range(8.0, 14.0);
                let height = rng.range(rs.building_min_height_m, rs.building_max_height_m);
                let lat = side * (outer + rs.building_setback_m + depth * 0.5);
                let p = cl.offset(s, lat);
                let radius = 0.5 * (width * width + depth * depth).sqrt();
                let material = mat(BUILDING_MATERIALS[(rng.next_f32() * 3.0) as usize % 3]);
                if clear.clear(p, radius, i) {
                    m.oriented_box(
                        p.extend(TERRAIN_Z_M),
                        Vec3::new(width, depth, height - TERRAIN_Z_M),
                        heading(s),
                        material,
                        mat("concrete"),
                        Class::Building,
                    );
                }
                s += rs.building_spacing_m;
            }
        }
        if rs.tree_spacing_m > 0.0 {
            let mut s = rs.tree_spacing_m * rng.range(0.3, 0.7);
            while s < len {
                let lat = if road.sidewalk_width_m >= 1.5 {
                    side * (outer - 0.7)
                } else {
                    side * (outer + 1.2)
                };
                let p = cl.offset(s + rng.range(-1.0, 1.0), lat);
                let variant = (rng.next_f32() * TREE_VARIANTS as f32) as u32 % TREE_VARIANTS;
                let yaw = rng.range(0.0, std::f32::consts::TAU);
                if clear.clear(p, 1.0, i) {
                    let base = p.extend(if road.sidewalk_width_m >= 1.5 {
                        CURB_HEIGHT_M
                    } else {
                        TERRAIN_Z_M
                    });
                    trees.push((base, yaw, variant));
                }
                s += rs.tree_spacing_m;
            }
        }
        if rs.pole_spacing_m > 0.0 {
            let mut s = rs.pole_spacing_m * 0.25;
            let mut k = 0;
            while s < len {
                let lat = side * (hw + 0.4);
                let p = cl.offset(s, lat);
                if clear.clear(p, 0.5, i) {
                    let base = p.extend(if road.sidewalk_width_m > 0.0 {
                        CURB_HEIGHT_M
                    } else {
                        0.0
                    });
                    m.prism(base, 0.09, 7.5, 8, mat("pole_metal"), Class::Pole);
                    lamps.push(cl.offset(s, side * (hw - 1.1)).extend(base.z + 7.3));
                    if k % 3 == 0 {
                        let t = cl.at(s).1;
                        let yaw = t.y.atan2(t.x) + std::f32::consts::FRAC_PI_2;
                        m.oriented_box(
                            base + Vec3::new(0.0, 0.0, 2.2) - (t * 0.1).extend(0.0),
                            Vec3::new(0.04, 0.65, 0.65),
                            yaw,
                            mat("sign_retroreflective"),
                            mat("pole_metal"),
                            Class::TrafficSign,
                        );
                    }
                }
                k += 1;
                s += rs.pole_spacing_m;
            }
        }
        if rs.parked_car_spacing_m > 0.0 {
            let mut s = rs.parked_car_spacing_m * 0.5;
            while s < len {
                // Parked by people: a little off the kerb line and a few degrees askew.
                let lat = side * (hw - 1.1 + rng.range(-0.25, 0.15));
                let p = cl.offset(s + rng.range(-0.6, 0.6), lat);
                let keep = rng.next_f32() < 0.75;
                let kind = if rng.next_f32() < 0.85 {
                    ActorKind::Car
                } else {
                    ActorKind::Van
                };
                let askew_deg = rng.range(-1.0, 1.0) * rng.range(0.0, 3.5);
                if keep && clear.clear(p, 3.0, i) {
                    let yaw = heading(s)
                        + if side > 0.0 {
                            std::f32::consts::PI
                        } else {
                            0.0
                        };
                    // Size, body type and paint are drawn with the actor's look.
                    parked.push(ActorSpec {
                        kind,
                        size_m: None,
                        material: None,
                        spawn: Some((p.x, p.y, yaw.to_degrees() + askew_deg)),
                        route: Vec::new(),
                        speed_m_per_s: 0.0,
                        loop_route: false,
                        drive: None,
                        mesh: None,
                    });
                }
                s += rs.parked_car_spacing_m;
            }
        }
    }
}

fn intersection_mesh(m: &mut Mesh, x: &crate::scenario::IntersectionSpec) {
    let c = Vec2::new(x.center.0, x.center.1);
    let half = x.size_m * 0.5;
    let base = x.arms_deg[0].to_radians();
    let (u, v) = (Vec2::from_angle(base), Vec2::from_angle(base).perp());
    let corner = |a: f32, b: f32| (c + u * a + v * b).extend(0.0);
    m.quad(
        corner(-half, -half),
        corner(half, -half),
        corner(half, half),
        corner(-half, half),
        mat("asphalt"),
        Class::Road,
    );
    let paint = mat("lane_paint");
    for &arm in &x.arms_deg {
        let d = Vec2::from_angle(arm.to_radians());
        let n = d.perp();
        if x.crosswalks {
            // Zebra stripes 0.5 m wide every metre across the arm, 3 m long along it.
            let mut lat = -half + 0.75;
            while lat + 0.5 <= half - 0.5 {
                let p0 = c + d * (half + 0.5) + n * lat;
                let p1 = p0 + d * 3.0;
                m.flat_segment(
                    p0 + n * 0.5,
                    p0,
                    p1 + n * 0.5,
                    p1,
                    MARKING_Z_M,
                    paint,
                    Class::Crosswalk,
                );
                lat += 1.0;
            }
        }
        // Stop line across the incoming half of the arm (right-hand traffic).
        let p0 = c + d * (half + 4.0);
        m.flat_segment(
            p0 + n * (half - 0.3),
            p0 + n * 0.2,
            p0 + d * 0.4 + n * (half - 0.3),
            p0 + d * 0.4 + n * 0.2,
            MARKING_Z_M,
            paint,
            Class::LaneMarking,
        );
    }
    if x.signals {
        for (a, b) in [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)] {
            let p = c + u * (a * (half + 1.0)) + v * (b * (half + 1.0));
            m.prism(
                p.extend(CURB_HEIGHT_M),
                0.1,
                5.5,
                8,
                mat("pole_metal"),
                Class::Pole,
            );
            m.oriented_box(
                p.extend(4.6),
                Vec3::new(0.3, 0.3, 0.9),
                base,
                mat("paint_black"),
                mat("paint_black"),
                Class::TrafficLight,
            );
        }
    }
}

/// Builds the static world of a map; `seed` drives roadside placement.
pub fn build_static_world(map: &MapSpec, seed: u64) -> StaticWorld {
    let mut m = Mesh::default();
    let mut parked = Vec::new();
    let mut trees = Vec::new();
    let mut lamps = Vec::new();
    if map.ground_size_m > 0.0 {
        let h = map.ground_size_m * 0.5;
        let z = TERRAIN_Z_M;
        m.quad(
            Vec3::new(-h, -h, z),
            Vec3::new(h, -h, z),
            Vec3::new(h, h, z),
            Vec3::new(-h, h, z),
            mat("terrain_grass"),
            Class::Terrain,
        );
    }
    let clear = Clearance {
        map,
        lines: map
            .roads
            .iter()
            .map(|r| Centerline::from_shape(&r.shape))
            .collect(),
    };
    for (i, road) in map.roads.iter().enumerate() {
        road_mesh(&mut m, road, &clear.lines[i], map.markings);
        let mut rng = SceneRng::new(seed, 1000 + i as u32);
        roadside(
            &mut m,
            &mut trees,
            &mut parked,
            &mut lamps,
            map,
            &clear,
            i,
            &mut rng,
        );
    }
    for x in &map.intersections {
        intersection_mesh(&mut m, x);
    }
    for b in &map.boxes {
        let (class, default_material) = match b.class {
            BoxClass::Building => (Class::Building, "facade_concrete"),
            BoxClass::Wall => (Class::Wall, "wall_target"),
            BoxClass::TrafficSign => (Class::TrafficSign, "sign_retroreflective"),
        };
        let material = b
            .material
            .as_deref()
            .map(mat)
            .unwrap_or_else(|| mat(default_material));
        m.oriented_box(
            Vec3::new(b.center.0, b.center.1, 0.0),
            Vec3::new(b.size_m.0, b.size_m.1, b.size_m.2),
            b.yaw_deg.to_radians(),
            material,
            material,
            class,
        );
    }
    StaticWorld {
        mesh: m,
        trees,
        parked,
        lamps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centerline_length_is_the_scenario_road_length() {
        for shape in [
            RoadShape::Straight {
                from: (-3.0, 4.0),
                to: (120.0, -7.5),
            },
            RoadShape::Arc {
                center: (5.0, 5.0),
                radius_m: 37.0,
                start_deg: -20.0,
                end_deg: 135.0,
            },
        ] {
            let cl = Centerline::from_shape(&shape).length();
            assert!(
                (cl - shape.length_m()).abs() < 1e-4 * cl,
                "{shape:?}: {cl} vs {}",
                shape.length_m()
            );
            // The end of the line is `length` along it.
            let (end, _) = Centerline::from_shape(&shape).at(shape.length_m());
            let expect = match shape {
                RoadShape::Straight { to, .. } => Vec2::new(to.0, to.1),
                RoadShape::Arc {
                    center,
                    radius_m,
                    end_deg,
                    ..
                } => {
                    Vec2::new(center.0, center.1)
                        + radius_m
                            * Vec2::new(end_deg.to_radians().cos(), end_deg.to_radians().sin())
                }
            };
            assert!(end.distance(expect) < 1e-3, "{shape:?}: {end} vs {expect}");
        }
    }

    #[test]
    fn arc_centerline_is_parameterised_by_length() {
        let cl = Centerline::Arc {
            c: Vec2::ZERO,
            r: 50.0,
            a0: 0.0,
            a1: std::f32::consts::FRAC_PI_2,
        };
        assert!((cl.length() - 50.0 * std::f32::consts::FRAC_PI_2).abs() < 1e-3);
        let (p, t) = cl.at(cl.length());
        assert!(p.distance(Vec2::new(0.0, 50.0)) < 1e-3, "{p}");
        assert!(t.distance(Vec2::new(-1.0, 0.0)) < 1e-5, "{t}");
        assert!(
            (cl.distance_to(Vec2::new(30.0, 30.0)) - (30f32.hypot(30.0) - 50.0).abs()).abs() < 1e-3
        );
    }
}
