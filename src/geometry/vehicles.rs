//! Procedural vehicles: a body lofted from cross-sections along its length, with wheel arches,
//! wheels, glazing, lamps, number plates, mirrors and an interior, for eight body types whose
//! sizes are drawn from real statistics.
//!
//! Sources (`shared/reference/objects.md`): label sizes from KITTI (section 1), proportions from
//! makers' data (section 2: Golf, Passat, Tiguan, F-150, Sprinter, Citaro), tyre diameters from
//! the size code (D = 25.4·rim + 2·aspect·width, section 2), the European colour mix (section 3),
//! the licence-plate height band from KITTI intensities (section 5, 0.42–0.59 m). What section 2
//! marks [?] (overhang split, clearance, rake, bonnet rise) and the shapes of the profiles are our
//! choices, kept in the tables below.
//!
//! Frame: the actor frame of `actors.rs` (x forward, y left, z up, origin on the ground at the
//! centre of the footprint). Every triangle lies inside the label box and the mesh spans it:
//! the plates reach the front and rear faces, the mirror tips the sides (the width includes the
//! mirrors, as KITTI labels do), the tyres the ground and the roof the top. Along the body the
//! code works in `d`, the distance back from the front face (x = l/2 − d).

use std::f32::consts::{FRAC_PI_2, PI, TAU};

use glam::{Vec2, Vec3};
use serde::{Deserialize, Serialize};

use super::mesh::{Mesh, ray_triangle};
use crate::classes::Class;
use crate::scenario::materials::id as mat;

/// The body types procedural vehicles are built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BodyType {
    Sedan,
    Hatchback,
    Estate,
    Suv,
    Pickup,
    Van,
    BoxTruck,
    Bus,
}

impl BodyType {
    pub const ALL: [BodyType; 8] = [
        BodyType::Sedan,
        BodyType::Hatchback,
        BodyType::Estate,
        BodyType::Suv,
        BodyType::Pickup,
        BodyType::Van,
        BodyType::BoxTruck,
        BodyType::Bus,
    ];

    /// The body-type mix of a car park in Karlsruhe around 2011 (KITTI): mostly hatchbacks,
    /// sedans and estates; few SUVs (12 % of EU new-car sales in 2010, fewer on the road);
    /// some vans. Weights sum to 1. Used for class Car actors. The weights are our blend [?];
    /// the size draws of the four car types are centred so that their part of the mix keeps
    /// KITTI's Car mean and SD (see [`size_distribution`]). A Van drawn with
    /// [`VehicleShape::sample`] has KITTI Van sizes, which lifts the whole mix's mean length by
    /// about 0.06 m and its mean height by about 0.03 m.
    pub fn kitti_car_mix() -> &'static [(BodyType, f32)] {
        &[
            (BodyType::Hatchback, 0.42),
            (BodyType::Sedan, 0.24),
            (BodyType::Estate, 0.24),
            (BodyType::Suv, 0.05),
            (BodyType::Van, 0.05),
        ]
    }

    /// The body type a uniform draw `u` in [0, 1) picks from a weighted `mix` (weights need not
    /// sum to 1). An empty mix gives a hatchback.
    pub fn pick(mix: &[(BodyType, f32)], u: f32) -> BodyType {
        let total: f32 = mix.iter().map(|(_, w)| w.max(0.0)).sum();
        let mut acc = 0.0;
        for &(body, w) in mix {
            acc += w.max(0.0) / total;
            if u < acc {
                return body;
            }
        }
        mix.last().map_or(BodyType::Hatchback, |m| m.0)
    }

    /// Most triangles a mesh of this type may have.
    pub fn triangle_budget(self) -> usize {
        match self {
            BodyType::Bus => 5000,
            _ => 3000,
        }
    }

    /// Sedan, hatchback, estate or SUV: the types sized from KITTI's Car statistics.
    pub fn is_car(self) -> bool {
        matches!(
            self,
            BodyType::Sedan | BodyType::Hatchback | BodyType::Estate | BodyType::Suv
        )
    }

    fn is_heavy(self) -> bool {
        matches!(self, BodyType::BoxTruck | BodyType::Bus)
    }
}

/// The parameters a vehicle mesh is built from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct VehicleShape {
    pub body: BodyType,
    /// The label box: the mesh's tight bounds equal these (within 1 mm).
    pub length_m: f32,
    pub width_m: f32,
    pub height_m: f32,
    pub wheelbase_m: f32,
    pub front_overhang_m: f32,
    pub wheel_diameter_m: f32,
    pub tyre_width_m: f32,
    pub ground_clearance_m: f32,
    /// Height of the bonnet's leading edge (for cab-overs and buses: of the windscreen's base).
    pub bonnet_height_m: f32,
    /// Windscreen angle from the horizontal.
    pub windscreen_rake_deg: f32,
}

/// A body type's reference vehicle (objects.md section 2; [?] there means our choice).
struct Typical {
    size_m: (f32, f32, f32),
    wheelbase_frac: f32,
    front_overhang_frac: f32,
    /// Outer tyre diameter from the size code.
    wheel_diameter_m: f32,
    tyre_width_m: f32,
    ground_clearance_m: f32,
    bonnet_height_m: f32,
    windscreen_rake_deg: f32,
}

fn typical(body: BodyType) -> Typical {
    match body {
        // VW Passat B8: 4.77 x 1.83 x 1.46, wheelbase 2.79; 215/55 R17 = 668 mm.
        BodyType::Sedan => Typical {
            size_m: (4.77, 1.83, 1.46),
            wheelbase_frac: 2.79 / 4.77,
            front_overhang_frac: 0.195,
            wheel_diameter_m: 0.668,
            tyre_width_m: 0.215,
            ground_clearance_m: 0.145,
            bonnet_height_m: 0.74,
            windscreen_rake_deg: 27.0,
        },
        // VW Golf 8: 4.28 x 1.79 x 1.47, wheelbase 2.63; 205/55 R16 = 632 mm.
        BodyType::Hatchback => Typical {
            size_m: (4.28, 1.79, 1.47),
            wheelbase_frac: 2.63 / 4.28,
            front_overhang_frac: 0.203,
            wheel_diameter_m: 0.632,
            tyre_width_m: 0.205,
            ground_clearance_m: 0.14,
            bonnet_height_m: 0.72,
            windscreen_rake_deg: 27.0,
        },
        // Passat Variant: the sedan's length and width, roof rails add height.
        BodyType::Estate => Typical {
            size_m: (4.77, 1.83, 1.50),
            wheelbase_frac: 2.79 / 4.77,
            front_overhang_frac: 0.195,
            wheel_diameter_m: 0.668,
            tyre_width_m: 0.215,
            ground_clearance_m: 0.145,
            bonnet_height_m: 0.74,
            windscreen_rake_deg: 27.0,
        },
        // VW Tiguan II: 4.49 x 1.84 x 1.65, wheelbase 2.68; 235/55 R18 = 716 mm.
        BodyType::Suv => Typical {
            size_m: (4.49, 1.84, 1.65),
            wheelbase_frac: 2.68 / 4.49,
            front_overhang_frac: 0.205,
            wheel_diameter_m: 0.716,
            tyre_width_m: 0.235,
            ground_clearance_m: 0.19,
            bonnet_height_m: 0.92,
            windscreen_rake_deg: 32.0,
        },
        // A short-bed pickup; 265/70 R17 = 803 mm.
        BodyType::Pickup => Typical {
            size_m: (5.3, 2.0, 1.9),
            wheelbase_frac: 0.60,
            front_overhang_frac: 0.18,
            wheel_diameter_m: 0.803,
            tyre_width_m: 0.265,
            ground_clearance_m: 0.22,
            bonnet_height_m: 1.12,
            windscreen_rake_deg: 35.0,
        },
        // KITTI's mean Van (a VW Transporter-sized box); 215/65 R16 = 686 mm.
        BodyType::Van => Typical {
            size_m: (5.07, 1.90, 2.21),
            wheelbase_frac: 0.60,
            front_overhang_frac: 0.17,
            wheel_diameter_m: 0.686,
            tyre_width_m: 0.215,
            ground_clearance_m: 0.17,
            bonnet_height_m: 1.0,
            windscreen_rake_deg: 40.0,
        },
        // A 7.5 t rigid with a box body (cab-over); 215/75 R17.5 = 767 mm, twin rear tyres.
        BodyType::BoxTruck => Typical {
            size_m: (7.5, 2.5, 3.3),
            wheelbase_frac: 0.56,
            front_overhang_frac: 0.167,
            wheel_diameter_m: 0.767,
            tyre_width_m: 0.215,
            ground_clearance_m: 0.25,
            bonnet_height_m: 1.35,
            windscreen_rake_deg: 78.0,
        },
        // Mercedes Citaro: 12.0 x 2.55 x 3.1, wheelbase 5.845, front overhang 2.705, floor
        // 0.37 m; 275/70 R22.5 = 956 mm, twin rear tyres.
        BodyType::Bus => Typical {
            size_m: (12.0, 2.55, 3.1),
            wheelbase_frac: 5.845 / 12.0,
            front_overhang_frac: 2.705 / 12.0,
            wheel_diameter_m: 0.956,
            tyre_width_m: 0.275,
            ground_clearance_m: 0.27,
            bonnet_height_m: 0.95,
            windscreen_rake_deg: 85.0,
        },
    }
}

/// KITTI Car label statistics (objects.md section 1): mean and SD of (l, w, h).
const KITTI_CAR_MEAN_M: [f32; 3] = [3.88, 1.63, 1.53];
const KITTI_CAR_SD_M: [f32; 3] = [0.43, 0.10, 0.14];

/// How each car type departs from the KITTI Car mean before the mix is re-centred (our choice,
/// following section 2: hatchbacks shortest, sedans and estates longest, SUVs tallest).
fn car_offset_m(body: BodyType) -> Option<[f32; 3]> {
    match body {
        BodyType::Hatchback => Some([-0.25, -0.02, -0.02]),
        BodyType::Sedan => Some([0.20, 0.02, -0.06]),
        BodyType::Estate => Some([0.20, 0.02, -0.01]),
        BodyType::Suv => Some([0.15, 0.07, 0.17]),
        _ => None,
    }
}

/// Mean and SD of (length, width, height) of `body`'s size draws, metres. The four car types
/// are shifted from KITTI's Car mean and re-centred so that their [`BodyType::kitti_car_mix`]
/// keeps KITTI's mean; their SD is shrunk by the spread between types, so that the mix keeps
/// KITTI's SD. Van follows KITTI's Van mean, the others section 2 (their SDs are ours [?]).
pub fn size_distribution(body: BodyType) -> ([f32; 3], [f32; 3]) {
    if let Some(off) = car_offset_m(body) {
        let cars: Vec<(f32, [f32; 3])> = BodyType::kitti_car_mix()
            .iter()
            .filter_map(|&(b, w)| car_offset_m(b).map(|o| (w, o)))
            .collect();
        let wsum: f32 = cars.iter().map(|c| c.0).sum();
        let mean_off: [f32; 3] =
            std::array::from_fn(|i| cars.iter().map(|(w, o)| w * o[i]).sum::<f32>() / wsum);
        let between: [f32; 3] = std::array::from_fn(|i| {
            cars.iter()
                .map(|(w, o)| w * (o[i] - mean_off[i]).powi(2))
                .sum::<f32>()
                / wsum
        });
        let mean = std::array::from_fn(|i| KITTI_CAR_MEAN_M[i] + off[i] - mean_off[i]);
        let sd = std::array::from_fn(|i| {
            let sd = KITTI_CAR_SD_M[i];
            (sd * sd - between[i]).max(0.25 * sd * sd).sqrt()
        });
        return (mean, sd);
    }
    match body {
        BodyType::Van => ([5.07, 1.90, 2.21], [0.40, 0.08, 0.15]),
        BodyType::Pickup => ([5.3, 2.0, 1.9], [0.35, 0.05, 0.08]),
        BodyType::BoxTruck => ([7.5, 2.5, 3.3], [0.5, 0.02, 0.15]),
        _ => ([12.0, 2.55, 3.1], [0.15, 0.01, 0.04]),
    }
}

/// How far each side mirror reaches beyond the body's side, metres.
fn mirror_reach_m(body: BodyType, width_m: f32) -> f32 {
    let frac = match body {
        BodyType::Van | BodyType::Pickup => 0.05,
        BodyType::BoxTruck | BodyType::Bus => 0.04,
        _ => 0.043,
    };
    frac * width_m
}

impl VehicleShape {
    /// Typical proportions of the body type (objects.md section 2), scaled so that its box is
    /// (l, w, h): lengths along x with l, heights with h, tyre width with w.
    pub fn fitted(body: BodyType, size_m: (f32, f32, f32)) -> Self {
        Self::fitted_with(body, size_m, 0.0, 1.0)
    }

    fn fitted_with(
        body: BodyType,
        size_m: (f32, f32, f32),
        rake_delta_deg: f32,
        wheel_scale: f32,
    ) -> Self {
        let t = typical(body);
        let (l, w, h) = size_m;
        let sh = h / t.size_m.2;
        let sw = w / t.size_m.1;
        let wheel = (t.wheel_diameter_m * sh * wheel_scale).clamp(0.3, (0.45 * h).min(0.17 * l));
        let gap = arch_gap_m(body);
        // Room for the arch and a bumper at both ends.
        let min_overhang = 0.5 * wheel + gap + 0.12;
        let front = (t.front_overhang_frac * l).max(min_overhang);
        let wheelbase = (t.wheelbase_frac * l).min(l - front - min_overhang);
        let bonnet_min = PLATE_Z_M + 0.15;
        VehicleShape {
            body,
            length_m: l,
            width_m: w,
            height_m: h,
            wheelbase_m: wheelbase,
            front_overhang_m: front,
            wheel_diameter_m: wheel,
            tyre_width_m: t.tyre_width_m * sw,
            ground_clearance_m: t.ground_clearance_m * sh,
            bonnet_height_m: (t.bonnet_height_m * sh).clamp(bonnet_min, bonnet_min.max(0.62 * h)),
            windscreen_rake_deg: (t.windscreen_rake_deg + rake_delta_deg).clamp(20.0, 88.0),
        }
    }

    /// A draw for the body type: l, w, h from a normal per type ([`size_distribution`]: cars
    /// centred on KITTI's Car statistics, Van on KITTI's Van, the others on section 2), clipped
    /// to ±2.5 SD; then the rake ±3° and the wheel ±4 % (a rim size up or down). `u` yields
    /// uniform numbers in [0, 1) (6 draws; normals by Box–Muller). Deterministic for the same
    /// sequence of u.
    pub fn sample(body: BodyType, u: &mut dyn FnMut() -> f32) -> Self {
        let (mean, sd) = size_distribution(body);
        let z = normals(u);
        let size: [f32; 3] = std::array::from_fn(|i| mean[i] + sd[i] * z[i].clamp(-2.5, 2.5));
        let rake_delta = 6.0 * (u() - 0.5);
        let wheel_scale = 1.0 + 0.08 * (u() - 0.5);
        Self::fitted_with(body, (size[0], size[1], size[2]), rake_delta, wheel_scale)
    }
}

/// Four standard normals from four uniforms (Box–Muller).
fn normals(u: &mut dyn FnMut() -> f32) -> [f32; 4] {
    let mut out = [0.0; 4];
    for pair in out.chunks_mut(2) {
        let u1 = (1.0 - u()).clamp(f32::MIN_POSITIVE, 1.0); // (0, 1]: ln stays finite
        let u2 = u();
        let r = (-2.0 * u1.ln()).sqrt();
        pair[0] = r * (TAU * u2).cos();
        pair[1] = r * (TAU * u2).sin();
    }
    out
}

/// Name of a paint for a uniform draw `u` in [0, 1), with the European colour mix of
/// objects.md section 3: white 25, grey 25, black 20, silver 10, blue 10, red 6, green 2,
/// beige 2 % ("other" split in two).
pub fn paint_for(u: f32) -> &'static str {
    const MIX: [(&str, f32); 8] = [
        ("paint_white", 0.25),
        ("paint_gray", 0.25),
        ("paint_black", 0.20),
        ("paint_silver", 0.10),
        ("paint_blue", 0.10),
        ("paint_red", 0.06),
        ("paint_green", 0.02),
        ("paint_beige", 0.02),
    ];
    let mut acc = 0.0;
    for (name, share) in MIX {
        acc += share;
        if u < acc {
            return name;
        }
    }
    MIX[MIX.len() - 1].0
}

/// Gap between the body's front/rear faces and the label box, where the plates sit.
const PLATE_GAP_M: f32 = 0.005;
/// EU plate, 520 x 110 mm.
const PLATE_W_M: f32 = 0.52;
const PLATE_H_M: f32 = 0.11;
/// Plate centre height: KITTI's retro-reflective returns sit at 0.42–0.59 m (section 5).
const PLATE_Z_M: f32 = 0.50;
/// How far the tyre's outer face sits inside the body's side.
const TYRE_INSET_M: f32 = 0.02;
/// How far lamps and grilles stand off the body surface.
const DECAL_LIFT_M: f32 = 0.006;
/// Segments around a wheel.
const WHEEL_SEGMENTS: usize = 16;

fn arch_gap_m(body: BodyType) -> f32 {
    if body.is_heavy() { 0.06 } else { 0.04 }
}

/// A piecewise-linear function of `d` (keys in increasing d; clamped beyond the ends).
struct Pwl(Vec<(f32, f32)>);

impl Pwl {
    /// Sorts out keys that extreme shapes pushed out of order, keeping the first of a tie.
    fn new(mut keys: Vec<(f32, f32)>) -> Self {
        for i in 1..keys.len() {
            if keys[i].0 < keys[i - 1].0 + 1e-3 {
                keys[i].0 = keys[i - 1].0 + 1e-3;
            }
        }
        Pwl(keys)
    }

    fn at(&self, d: f32) -> f32 {
        let k = &self.0;
        if d <= k[0].0 {
            return k[0].1;
        }
        for w in k.windows(2) {
            let ((d0, v0), (d1, v1)) = (w[0], w[1]);
            if d <= d1 {
                let t = (d - d0) / (d1 - d0);
                return if t >= 1.0 { v1 } else { v0 + t * (v1 - v0) };
            }
        }
        k[k.len() - 1].1
    }

    fn keys(&self) -> impl Iterator<Item = f32> + '_ {
        self.0.iter().map(|k| k.0)
    }
}

fn inside(zones: &[(f32, f32)], d: f32) -> bool {
    zones.iter().any(|&(a, b)| d > a && d < b)
}

/// The cross-section's rounding and glasshouse, metres.
#[derive(Clone, Copy)]
struct Style {
    /// Rounding of the lower edge, the shoulder and the roof edge.
    r_bottom: f32,
    r_shoulder: f32,
    r_roof: f32,
    /// How far the window base sits inside the shoulder, and how far the glasshouse leans in
    /// per metre of height (tumblehome).
    window_inset: f32,
    tumblehome: f32,
    /// The window's top as a share of the height from belt to roof rail.
    window_top: f32,
}

fn style(body: BodyType) -> Style {
    let s = |r_bottom, r_shoulder, r_roof, window_inset, tumblehome, window_top| Style {
        r_bottom,
        r_shoulder,
        r_roof,
        window_inset,
        tumblehome,
        window_top,
    };
    match body {
        BodyType::Suv => s(0.05, 0.07, 0.08, 0.04, 0.14, 0.96),
        BodyType::Pickup => s(0.05, 0.06, 0.07, 0.045, 0.12, 0.95),
        BodyType::Van => s(0.05, 0.06, 0.10, 0.03, 0.07, 0.88),
        BodyType::BoxTruck => s(0.06, 0.06, 0.10, 0.02, 0.04, 0.9),
        BodyType::Bus => s(0.06, 0.06, 0.20, 0.02, 0.02, 0.85),
        _ => s(0.05, 0.06, 0.07, 0.045, 0.22, 1.0),
    }
}

/// A thin part laid on the body's front or rear, seen along x: y and z ranges in metres (for
/// a mirrored pair, the left one).
#[derive(Clone, Copy)]
struct Decal {
    y: (f32, f32),
    z: (f32, f32),
    mirrored: bool,
}

impl Decal {
    fn pair(y: (f32, f32), z: (f32, f32)) -> Self {
        Decal {
            y,
            z,
            mirrored: true,
        }
    }
    fn centred(half_width: f32, z: (f32, f32)) -> Self {
        Decal {
            y: (-half_width, half_width),
            z,
            mirrored: false,
        }
    }
}

enum Extra {
    None,
    /// An open bed behind the cab: walls and tailgate from `d0` back, floor to rim.
    Bed {
        d0: f32,
        z_floor: f32,
        z_rim: f32,
    },
    /// A cargo box from `d0` back, from `z_floor` to the roof.
    Cargo {
        d0: f32,
        z_floor: f32,
    },
}

/// Everything the mesh builder needs, derived from a shape.
struct Layout {
    l: f32,
    w: f32,
    h: f32,
    /// Body half-width without the mirrors.
    hw: f32,
    r: f32,
    c: f32,
    /// Roof (top centre) line, shoulder (belt) line, lower edge, plan-width factor along d.
    z_top: Pwl,
    z_belt: Pwl,
    z_low: Pwl,
    width: Pwl,
    style: Style,
    /// Zones along d: windscreen and rear window; side windows; doors (right side, bus).
    top_glass: Vec<(f32, f32)>,
    side_glass: Vec<(f32, f32)>,
    doors_right: Vec<(f32, f32)>,
    /// The bumpers: d before `.0` and after `.1`.
    bumpers: (f32, f32),
    /// The bumpers' material; None: the body paint.
    bumper_material: Option<u32>,
    trim_mirror: bool,
    /// Wheel centres along d with their tyre widths.
    wheels: [(f32, f32); 2],
    arch_r: f32,
    cabin: (f32, f32),
    belt: f32,
    rear_bench: bool,
    head: Decal,
    grille: Option<(Decal, u32)>,
    tail: Decal,
    /// Mirror: d of its centre and its z range.
    mirror: (f32, f32, f32),
    extra: Extra,
}

fn arch_keys(d_w: f32, r: f32, arch_r: f32, c: f32) -> Vec<(f32, f32)> {
    let mut k = vec![(d_w - arch_r - 0.002, c)];
    for j in 0..=6 {
        let th = PI - j as f32 * PI / 6.0;
        k.push((d_w + arch_r * th.cos(), r + arch_r * th.sin()));
    }
    k.push((d_w + arch_r + 0.002, c));
    k
}

fn layout(s: &VehicleShape) -> Layout {
    let body = s.body;
    let e = PLATE_GAP_M;
    let (l, w, h) = (s.length_m.max(1.5), s.width_m.max(0.8), s.height_m.max(0.9));
    let hw = 0.5 * w - mirror_reach_m(body, w);
    let r = (0.5 * s.wheel_diameter_m).clamp(0.12, (0.23 * h).min(0.09 * l));
    let arch_r = r + arch_gap_m(body);
    let c = s.ground_clearance_m.clamp(0.05, 0.8 * r);
    let d_fw = s.front_overhang_m.clamp(arch_r + 0.1, 0.4 * l);
    let d_rw = (d_fw + s.wheelbase_m).clamp(d_fw + 2.0 * arch_r + 0.1, l - arch_r - 0.1);
    let bh = s
        .bonnet_height_m
        .clamp(PLATE_Z_M + 0.15, (0.8 * h).max(PLATE_Z_M + 0.15));
    let rake = s.windscreen_rake_deg.clamp(15.0, 89.0).to_radians();
    let tyre = s.tyre_width_m.clamp(0.08, 0.25 * hw);
    let heavy = body.is_heavy();
    let rear_tyre = if heavy {
        (1.9 * tyre).min(0.45 * hw)
    } else {
        tyre
    };
    let trim = mat("trim_black");

    let mut top_glass = Vec::new();
    let mut side_glass = Vec::new();
    let mut doors_right = Vec::new();
    let lift_front = if body == BodyType::Bus { 0.05 } else { 0.10 };
    let lift_rear = if body == BodyType::Bus { 0.05 } else { 0.12 };

    let (
        z_top,
        z_belt,
        width,
        bumpers,
        bumper_material,
        cabin,
        belt,
        head,
        grille,
        tail,
        mirror,
        extra,
    );
    let mut rear_bench = false;
    let mut trim_mirror = false;
    match body {
        BodyType::Sedan | BodyType::Hatchback | BodyType::Estate | BodyType::Suv => {
            let notch = body == BodyType::Sedan;
            let (cowl, roof_end, glass_end, gate_end) = match body {
                BodyType::Sedan => (0.28, 0.74, 0.875, 0.975),
                BodyType::Hatchback => (0.27, 0.80, 0.95, 0.985),
                BodyType::Estate => (0.27, 0.915, 0.97, 0.99),
                _ => (0.28, 0.90, 0.96, 0.988),
            };
            let z_bump = (0.8 * bh).max(PLATE_Z_M + 0.09).min(bh - 0.05);
            let belt_f = bh + 0.32 * (h - bh);
            let belt_r = belt_f + 0.04;
            let (d_c, d_r1, d_g) = (cowl * l, roof_end * l, glass_end * l);
            let z_c = belt_f + 0.01;
            let rise = h - 0.03 - z_c;
            let run = (rise / rake.tan()).clamp(0.10 * l, 0.45 * (d_r1 - d_c));
            let d_r0 = d_c + run;
            let roof = d_r1 - d_r0;
            let z_r1 = h - if notch || body == BodyType::Hatchback {
                0.035
            } else {
                0.015
            };
            let z_tail = belt_r + if notch { 0.05 } else { 0.02 };
            let d_n = 0.035 * l;
            let mut zt = vec![
                (e, z_bump),
                (d_n, bh),
                (0.5 * (d_n + d_c), 0.5 * (bh + z_c) + 0.015),
                (d_c, z_c),
                (d_c + 0.5 * run, z_c + 0.5 * rise + 0.012),
                (d_r0, h - 0.03),
                (d_r0 + 0.2 * roof, h - 0.008),
                (d_r0 + 0.45 * roof, h),
                (d_r0 + 0.8 * roof, h - 0.01),
                (d_r1, z_r1),
                (0.5 * (d_r1 + d_g), 0.5 * (z_r1 + z_tail) + 0.01),
                (d_g, z_tail),
            ];
            let mut zs = vec![(e, z_bump), (d_n, bh - 0.035), (d_c, belt_f), (d_g, belt_r)];
            if notch {
                zt.push((gate_end * l, z_tail - 0.01));
                zs.push((gate_end * l, belt_r - 0.01));
            } else {
                zt.push((gate_end * l, z_bump + 0.03));
                zs.push((gate_end * l, z_bump + 0.03));
            }
            zt.push((l - e, z_bump));
            zs.push((l - e, z_bump));
            z_top = Pwl::new(zt);
            z_belt = Pwl::new(zs);
            let nose = if body == BodyType::Suv { 0.9 } else { 0.86 };
            width = Pwl::new(vec![
                (e, nose),
                (d_n, 0.95),
                (0.1 * l, 0.99),
                (0.22 * l, 1.0),
                (0.82 * l, 1.0),
                (0.95 * l, 0.975),
                (l - e, nose + 0.03),
            ]);
            top_glass.push((d_c, d_r0));
            top_glass.push((d_r1, d_g));
            let d_b = d_c + 0.30 * l;
            side_glass.push((d_c + 0.03, d_b - 0.05));
            match body {
                BodyType::Sedan => side_glass.push((d_b + 0.05, d_r1 + 0.3 * (d_g - d_r1))),
                BodyType::Hatchback => side_glass.push((d_b + 0.05, d_r1 - 0.06)),
                _ => {
                    let d_cp = d_b + 0.2 * l;
                    side_glass.push((d_b + 0.05, d_cp));
                    side_glass.push((d_cp + 0.1, d_g - 0.08));
                }
            }
            bumpers = (d_n, l - 0.03 * l);
            // Painted bumpers on cars, black plastic on SUVs.
            bumper_material = (body == BodyType::Suv).then_some(trim);
            cabin = (d_c, d_r1);
            belt = belt_f;
            rear_bench = true;
            // Lamps and grille on the nose above the bumper (not across its top edge).
            let z_lamp = (z_bump + 0.01).max(bh - 0.14);
            let head_top = (bh - 0.035).max(z_lamp + 0.04).min(bh - 0.005);
            head = Decal::pair((0.45 * hw, 0.82 * hw), (z_lamp, head_top));
            grille = Some((Decal::centred(0.33 * hw, (z_lamp, bh - 0.05)), trim));
            tail = Decal::pair((0.55 * hw, 0.88 * hw), (belt_r - 0.17, belt_r - 0.03));
            mirror = (d_c + 0.12, belt_f + 0.03, belt_f + 0.15);
            extra = Extra::None;
        }
        BodyType::Van => {
            let z_bump = (0.75 * bh).max(PLATE_Z_M + 0.09).min(bh - 0.1);
            let belt_f = bh + 0.3 * (h - bh);
            let belt_r = belt_f + 0.02;
            let d_c = 0.17 * l;
            let z_c = belt_f + 0.01;
            let rise = h - 0.04 - z_c;
            let run = (rise / rake.tan()).clamp(0.06 * l, 0.25 * l);
            let d_r0 = d_c + run;
            z_top = Pwl::new(vec![
                (e, z_bump),
                (0.03 * l, bh),
                (0.1 * l, 0.5 * (bh + z_c) + 0.02),
                (d_c, z_c),
                (d_c + 0.5 * run, z_c + 0.5 * rise + 0.01),
                (d_r0, h - 0.04),
                (d_r0 + 0.12 * l, h),
                (0.955 * l, h),
                (0.972 * l, h - 0.04),
                (0.985 * l, belt_r + 0.08),
                (0.996 * l, z_bump + 0.03),
                (l - e, z_bump),
            ]);
            z_belt = Pwl::new(vec![
                (e, z_bump),
                (0.03 * l, bh - 0.04),
                (d_c, belt_f),
                (0.985 * l, belt_r),
                (0.996 * l, z_bump + 0.03),
                (l - e, z_bump),
            ]);
            width = Pwl::new(vec![
                (e, 0.9),
                (0.03 * l, 0.96),
                (0.1 * l, 0.99),
                (0.2 * l, 1.0),
                (0.95 * l, 1.0),
                (l - e, 0.96),
            ]);
            top_glass.push((d_c, d_r0));
            top_glass.push((0.972 * l, 0.985 * l));
            let d_b = d_r0 + 0.12 * l;
            side_glass.push((d_c + 0.03, d_b - 0.05));
            side_glass.push((d_b + 0.05, d_b + 0.22 * l));
            bumpers = (0.03 * l, 0.996 * l);
            bumper_material = Some(trim);
            trim_mirror = true;
            cabin = (d_c, d_b);
            belt = belt_f;
            rear_bench = true;
            head = Decal::pair((0.5 * hw, 0.86 * hw), (bh - 0.2, bh - 0.06));
            grille = Some((Decal::centred(0.4 * hw, (bh - 0.2, bh - 0.08)), trim));
            tail = Decal::pair((0.8 * hw, 0.93 * hw), (z_bump + 0.08, z_bump + 0.55));
            mirror = (d_c + 0.1, belt_f + 0.05, belt_f + 0.3);
            extra = Extra::None;
        }
        BodyType::Pickup => {
            let z_bump = (0.7 * bh).max(PLATE_Z_M + 0.09).min(bh - 0.1);
            let belt_f = bh + 0.3 * (h - bh);
            let d_c = 0.33 * l;
            let z_c = belt_f + 0.01;
            let rise = h - 0.03 - z_c;
            let run = (rise / rake.tan()).clamp(0.08 * l, 0.15 * l);
            let d_r0 = d_c + run;
            let d_r1 = 0.61 * l;
            let z_floor = (belt_f - 0.5).max(2.0 * r + arch_gap_m(body) + 0.1);
            let z_rim = belt_f - 0.02;
            z_top = Pwl::new(vec![
                (e, z_bump),
                (0.03 * l, bh),
                (0.5 * (0.03 * l + d_c), 0.5 * (bh + z_c) + 0.02),
                (d_c, z_c),
                (d_c + 0.5 * run, z_c + 0.5 * rise + 0.01),
                (d_r0, h - 0.03),
                (0.5 * (d_r0 + d_r1), h),
                (d_r1, h - 0.03),
                (d_r1 + 0.004, belt_f + 0.03),
                (d_r1 + 0.008, z_floor),
                (l - e, z_floor),
            ]);
            z_belt = Pwl::new(vec![
                (e, z_bump),
                (0.03 * l, bh - 0.04),
                (d_c, belt_f),
                (d_r1 + 0.004, belt_f),
                (d_r1 + 0.008, z_floor),
                (l - e, z_floor),
            ]);
            width = Pwl::new(vec![
                (e, 0.9),
                (0.03 * l, 0.97),
                (0.1 * l, 1.0),
                (l - e, 1.0),
            ]);
            top_glass.push((d_c, d_r0));
            top_glass.push((d_r1, d_r1 + 0.004));
            side_glass.push((d_c + 0.03, d_r1 - 0.35));
            side_glass.push((d_r1 - 0.27, d_r1 - 0.08));
            bumpers = (0.03 * l, 0.985 * l);
            bumper_material = Some(mat("chrome"));
            cabin = (d_c, d_r1);
            belt = belt_f;
            head = Decal::pair((0.55 * hw, 0.9 * hw), (bh - 0.2, bh - 0.05));
            grille = Some((
                Decal::centred(0.5 * hw, (bh - 0.28, bh - 0.04)),
                mat("chrome"),
            ));
            tail = Decal::pair((0.86 * hw, 0.99 * hw), (z_rim - 0.4, z_rim - 0.06));
            mirror = (d_c + 0.12, belt_f + 0.04, belt_f + 0.22);
            extra = Extra::Bed {
                d0: d_r1 + 0.008,
                z_floor,
                z_rim,
            };
        }
        BodyType::BoxTruck => {
            let cab_h = (0.8 * h).clamp(bh + 0.5, (h - 0.2).max(bh + 0.5));
            let z_bump = (0.75f32).min(bh - 0.2).max(PLATE_Z_M + 0.09);
            let d_n = 0.012 * l;
            let d_c = 0.022 * l;
            let z_c = bh + 0.01;
            let rise = cab_h - 0.04 - z_c;
            let run = (rise / rake.tan()).clamp(0.05, 0.05 * l);
            let d_r0 = d_c + run;
            let d_cab = 0.25 * l;
            let z_floor = (2.0 * r + arch_gap_m(body) + 0.22).max(1.05);
            z_top = Pwl::new(vec![
                (e, z_bump),
                (d_n, bh),
                (d_c, z_c),
                (d_c + 0.5 * run, z_c + 0.5 * rise + 0.005),
                (d_r0, cab_h - 0.04),
                (d_r0 + 0.08, cab_h),
                (d_cab - 0.06, cab_h),
                (d_cab, cab_h - 0.04),
                (d_cab + 0.006, z_floor - 0.005),
                (l - e, z_floor - 0.005),
            ]);
            z_belt = Pwl::new(vec![
                (e, z_bump),
                (d_n, bh - 0.02),
                (d_c, bh),
                (d_cab, bh + 0.02),
                (d_cab + 0.006, z_floor - 0.005),
                (l - e, z_floor - 0.005),
            ]);
            width = Pwl::new(vec![(e, 0.95), (d_n, 0.985), (0.03 * l, 1.0), (l - e, 1.0)]);
            top_glass.push((d_c, d_r0));
            side_glass.push((d_c + 0.02, d_cab - 0.3));
            bumpers = (d_n, l - 0.05);
            bumper_material = Some(trim);
            trim_mirror = true;
            cabin = (d_c, d_cab);
            belt = bh;
            head = Decal::pair((0.55 * hw, 0.88 * hw), (z_bump - 0.24, z_bump - 0.08));
            grille = Some((Decal::centred(0.5 * hw, (z_bump + 0.1, bh - 0.08)), trim));
            tail = Decal::pair((0.6 * hw, 0.9 * hw), (z_floor - 0.28, z_floor - 0.1));
            mirror = (d_c + 0.05, bh + 0.15, bh + 0.6);
            extra = Extra::Cargo {
                d0: d_cab + 0.08,
                z_floor,
            };
        }
        BodyType::Bus => {
            let belt_b = (0.4 * h).max(bh + 0.2);
            let z_bump = (0.75f32).min(bh - 0.1).max(PLATE_Z_M + 0.09);
            let d_n = 0.006 * l;
            let rise = h - 0.08 - bh;
            let run = (rise / rake.tan()).clamp(0.05, 0.04 * l);
            let d_w1 = d_n + run;
            z_top = Pwl::new(vec![
                (e, z_bump),
                (d_n, bh),
                (d_n + 0.5 * run, bh + 0.5 * rise + 0.01),
                (d_w1, h - 0.08),
                (d_w1 + 0.25, h),
                (0.975 * l, h),
                (0.985 * l, h - 0.07),
                (0.99 * l, 0.55 * h),
                (0.9975 * l, z_bump + 0.04),
                (l - e, z_bump),
            ]);
            z_belt = Pwl::new(vec![
                (e, z_bump),
                (d_n, bh - 0.02),
                (d_w1, belt_b),
                (0.99 * l, belt_b),
                (0.9975 * l, z_bump + 0.04),
                (l - e, z_bump),
            ]);
            width = Pwl::new(vec![
                (e, 0.95),
                (d_n, 0.975),
                (0.02 * l, 1.0),
                (0.98 * l, 1.0),
                (l - e, 0.96),
            ]);
            top_glass.push((d_n, d_w1));
            top_glass.push((0.985 * l, 0.99 * l));
            side_glass.push((d_n, d_w1));
            // Side windows between pillars about 1.35 m apart.
            let (start, end) = (d_w1 + 0.12, 0.975 * l);
            let n = ((end - start) / 1.35).round().max(1.0);
            let pitch = (end - start) / n;
            for i in 0..n as usize {
                let a = start + i as f32 * pitch;
                side_glass.push((a + 0.05, a + pitch - 0.05));
            }
            // Doors on the kerb side (right): ahead of the front axle, mid-wheelbase, behind
            // the rear axle (Citaro three-door).
            doors_right.push((d_w1 + 0.06, d_w1 + 1.3));
            let mid = 0.5 * (d_fw + d_rw);
            doors_right.push((mid - 0.62, mid + 0.62));
            let rear = d_rw + arch_r + 0.25;
            if rear + 1.2 < 0.95 * l {
                doors_right.push((rear, rear + 1.2));
            }
            bumpers = (d_n, 0.9975 * l);
            bumper_material = Some(trim);
            trim_mirror = true;
            cabin = (d_w1, 0.97 * l);
            belt = belt_b;
            head = Decal::pair((0.62 * hw, 0.9 * hw), (z_bump - 0.2, z_bump - 0.05));
            grille = None;
            tail = Decal::pair((0.8 * hw, 0.94 * hw), (z_bump + 0.1, belt_b + 0.3));
            mirror = (0.03 * l, h - 1.2, h - 0.85);
            extra = Extra::None;
        }
    }

    let mut zb = vec![
        (e, c + lift_front),
        ((0.05 * l).min(d_fw - arch_r - 0.02), c),
    ];
    zb.extend(arch_keys(d_fw, r, arch_r, c));
    zb.extend(arch_keys(d_rw, r, arch_r, c));
    zb.push(((0.95 * l).max(d_rw + arch_r + 0.02), c));
    zb.push((l - e, c + lift_rear));

    Layout {
        l,
        w,
        h,
        hw,
        r,
        c,
        z_top,
        z_belt,
        z_low: Pwl::new(zb),
        width,
        style: style(body),
        top_glass,
        side_glass,
        doors_right,
        bumpers,
        bumper_material,
        trim_mirror,
        wheels: [(d_fw, tyre), (d_rw, rear_tyre)],
        arch_r,
        cabin,
        belt,
        rear_bench,
        head,
        grille,
        tail,
        mirror,
        extra,
    }
}

/// Points of a cross-section's left half, from the bottom centre up to the top centre.
const HALF: usize = 10;

impl Layout {
    fn x(&self, d: f32) -> f32 {
        0.5 * self.l - d
    }

    fn half_width(&self, d: f32) -> f32 {
        self.hw * self.width.at(d)
    }

    /// The left half of the cross-section at `d`, (y, z) from the bottom centre (P0) over the
    /// underbody edge, the side, the shoulder, the belt ledge, the window band, the header and
    /// the roof edge to the top centre (P9).
    fn section(&self, d: f32) -> [Vec2; HALF] {
        let st = self.style;
        let zt = self.z_top.at(d);
        let zs = self.z_belt.at(d).min(zt);
        let hw = self.half_width(d);
        let (rb, rs) = (st.r_bottom, st.r_shoulder);
        let zb = self.z_low.at(d).min(zs - rs - rb - 0.01).max(0.0);
        let g = (zt - zs).max(0.0);
        let rr = st.r_roof.min(0.45 * g);
        let hwg = hw - st.window_inset;
        let z_win = zs + st.window_top * (g - rr);
        let hwt = hwg - st.tumblehome * (zt - rr - zs);
        [
            Vec2::new(0.0, zb),
            Vec2::new(hw - rb, zb),
            Vec2::new(hw, zb + rb),
            Vec2::new(hw, zs - rs),
            Vec2::new(hw - 0.5 * st.window_inset, zs),
            Vec2::new(hwg, zs),
            Vec2::new(hwg - st.tumblehome * (z_win - zs), z_win),
            Vec2::new(hwt, zt - rr),
            Vec2::new(hwt - rr, zt),
            Vec2::new(0.0, zt),
        ]
    }

    /// Material of the loft face over edge `k` (P_k to P_k+1) of the segment around `d`.
    fn edge_material(&self, k: usize, d: f32, right: bool, m: &Mats) -> u32 {
        let door = right && inside(&self.doors_right, d);
        let bumper = d < self.bumpers.0 || d > self.bumpers.1;
        match k {
            0 | 1 => m.trim,
            2..=4 if door => m.glass,
            2 if bumper => self.bumper_material.unwrap_or(m.paint),
            2..=4 => m.paint,
            5 if door || inside(&self.side_glass, d) => m.glass,
            8 if inside(&self.top_glass, d) => m.glass,
            _ => m.paint,
        }
    }

    /// Material of the end cap's band over edge `k`.
    fn cap_material(&self, k: usize, m: &Mats) -> u32 {
        match k {
            0 | 1 => m.trim,
            2..=4 => self.bumper_material.unwrap_or(m.paint),
            _ => m.paint,
        }
    }

    /// The stations along d: every key of every profile and every zone boundary.
    fn stations(&self) -> Vec<f32> {
        let e = PLATE_GAP_M;
        let mut ds: Vec<f32> = self
            .z_top
            .keys()
            .chain(self.z_belt.keys())
            .chain(self.z_low.keys())
            .chain(self.width.keys())
            .chain(
                self.top_glass
                    .iter()
                    .chain(&self.side_glass)
                    .chain(&self.doors_right)
                    .flat_map(|&(a, b)| [a, b]),
            )
            .map(|d| d.clamp(e, self.l - e))
            .collect();
        ds.sort_by(f32::total_cmp);
        ds.dedup_by(|b, a| *b - *a < 4e-4);
        ds
    }
}

struct Mats {
    paint: u32,
    glass: u32,
    trim: u32,
}

/// Adds a triangle unless it is degenerate.
fn tri(m: &mut Mesh, a: Vec3, b: Vec3, c: Vec3, material: u32, class: Class) {
    if (b - a).cross(c - a).length_squared() > 1e-14 {
        m.tri(a, b, c, material, class);
    }
}

fn quad(m: &mut Mesh, p: [Vec3; 4], material: u32, class: Class) {
    tri(m, p[0], p[1], p[2], material, class);
    tri(m, p[0], p[2], p[3], material, class);
}

/// An axis-aligned box given by its corners.
fn aabox(m: &mut Mesh, lo: Vec3, hi: Vec3, material: u32, class: Class) {
    let size = hi - lo;
    if size.min_element() <= 0.0 {
        return;
    }
    let bottom = Vec3::new(0.5 * (lo.x + hi.x), 0.5 * (lo.y + hi.y), lo.z);
    m.oriented_box(bottom, size, 0.0, material, material, class);
}

/// Lays a decal (lamp, grille) on the body's front (`front`) or rear: a 6 x 3 grid of points
/// over the y, z rectangle, each projected along x onto `body` and lifted off it towards the
/// viewer, kept 1 mm inside the box. Where the body bulges between grid points the lift grows
/// until every triangle stands clear of it. None when a grid point misses the body.
fn decal(
    body: &[[Vec3; 3]],
    half_l: f32,
    front: bool,
    y: (f32, f32),
    z: (f32, f32),
) -> Option<Vec<[Vec3; 3]>> {
    const NY: usize = 6;
    const NZ: usize = 3;
    let sign = if front { 1.0 } else { -1.0 };
    let dir = Vec3::new(-sign, 0.0, 0.0);
    // How far out (sign * x) the body's surface is at (y, z), seen from outside.
    let surface = |yy: f32, zz: f32| {
        let o = Vec3::new(sign * (half_l + 1.0), yy, zz);
        body.iter()
            .filter_map(|t| ray_triangle(o, dir, t))
            .min_by(f32::total_cmp)
            .map(|t| half_l + 1.0 - t)
    };
    let mut out = [[Vec2::ZERO; NZ + 1]; NY + 1]; // (y, z)
    let mut depth = [[0.0f32; NZ + 1]; NY + 1];
    for i in 0..=NY {
        for j in 0..=NZ {
            let yy = y.0 + (y.1 - y.0) * i as f32 / NY as f32;
            let zz = z.0 + (z.1 - z.0) * j as f32 / NZ as f32;
            out[i][j] = Vec2::new(yy, zz);
            depth[i][j] = surface(yy, zz)?;
        }
    }
    let mut tris = Vec::with_capacity(2 * NY * NZ);
    for lift in [1.0, 2.0, 4.0].map(|k| k * DECAL_LIFT_M) {
        let p = |i: usize, j: usize| {
            let x = sign * (depth[i][j] + lift).min(half_l - 0.001);
            Vec3::new(x, out[i][j].x, out[i][j].y)
        };
        tris.clear();
        for i in 0..NY {
            for j in 0..NZ {
                let (a, b, c, d) = (p(i, j), p(i + 1, j), p(i + 1, j + 1), p(i, j + 1));
                // Facing +x at the front and -x at the rear.
                if front {
                    tris.extend([[a, b, c], [a, c, d]]);
                } else {
                    tris.extend([[a, d, c], [a, c, b]]);
                }
            }
        }
        let clear = tris.iter().all(|t| {
            let c = (t[0] + t[1] + t[2]) / 3.0;
            surface(c.y, c.z).is_none_or(|s| sign * c.x > s + 1e-4)
        });
        if clear {
            break;
        }
    }
    Some(tris)
}

/// A wheel with its axle along y: tread, sidewalls, an inset rim (barrel lip and disc) and the
/// inner disc. `side` is +1 for a left wheel, -1 for a right one; `y_outer` its outer face.
#[allow(clippy::too_many_arguments)] // plain geometric parameters
fn wheel(
    m: &mut Mesh,
    x: f32,
    y_outer: f32,
    side: f32,
    r: f32,
    width: f32,
    rubber: u32,
    rim: u32,
    class: Class,
) {
    let n = WHEEL_SEGMENTS;
    let r_rim = 0.64 * r;
    let inset = (0.3 * width).min(0.03);
    let y_o = side * y_outer;
    let y_i = side * (y_outer - width);
    let y_rim = side * (y_outer - inset);
    let p = |k: usize, y: f32, rad: f32| {
        // Starting at the bottom, so that the tyre touches the ground exactly.
        let a = -FRAC_PI_2 + k as f32 * TAU / n as f32;
        Vec3::new(x + rad * a.cos(), y, r + rad * a.sin())
    };
    for k in 0..n {
        let j = k + 1;
        let mut face = |pts: [Vec3; 4], material: u32| {
            if side > 0.0 {
                quad(m, pts, material, class);
            } else {
                quad(m, [pts[3], pts[2], pts[1], pts[0]], material, class);
            }
        };
        face(
            [p(k, y_i, r), p(j, y_i, r), p(j, y_o, r), p(k, y_o, r)],
            rubber,
        );
        face(
            [
                p(k, y_o, r),
                p(j, y_o, r),
                p(j, y_o, r_rim),
                p(k, y_o, r_rim),
            ],
            rubber,
        );
        face(
            [
                p(k, y_i, r_rim),
                p(j, y_i, r_rim),
                p(j, y_i, r),
                p(k, y_i, r),
            ],
            rubber,
        );
        face(
            [
                p(k, y_rim, r_rim),
                p(j, y_rim, r_rim),
                p(j, y_o, r_rim),
                p(k, y_o, r_rim),
            ],
            rim,
        );
        let hub_o = Vec3::new(x, y_rim, r);
        let hub_i = Vec3::new(x, y_i, r);
        face([hub_o, hub_o, p(j, y_rim, r_rim), p(k, y_rim, r_rim)], rim);
        face([hub_i, hub_i, p(k, y_i, r_rim), p(j, y_i, r_rim)], rim);
    }
}

/// The vehicle in the actor frame: x forward, y left, z up, origin on the ground at the centre
/// of the footprint. Every triangle lies inside [-l/2, l/2] x [-w/2, w/2] x [0, h] and the mesh
/// spans that box (tight bounds equal it within 1 mm). All triangles carry `class`. `paint` is
/// the material id of the painted panels.
pub fn vehicle_mesh(shape: &VehicleShape, paint: u32, class: Class) -> Mesh {
    let lay = layout(shape);
    let mats = Mats {
        paint,
        glass: mat("glass"),
        trim: mat("trim_black"),
    };
    let (l, w, h) = (lay.l, lay.w, lay.h);
    let half_l = 0.5 * l;
    let mut m = Mesh::default();

    // The body: a loft through the stations, closed by the end caps.
    let stations: Vec<(f32, [Vec2; HALF])> = lay
        .stations()
        .into_iter()
        .map(|d| (d, lay.section(d)))
        .collect();
    let pt = |d: f32, v: Vec2, side: f32| Vec3::new(lay.x(d), side * v.x, v.y);
    for pair in stations.windows(2) {
        let ((da, a), (db, b)) = (&pair[0], &pair[1]);
        let mid = 0.5 * (da + db);
        for k in 0..HALF - 1 {
            for side in [1.0, -1.0] {
                let material = lay.edge_material(k, mid, side < 0.0, &mats);
                let (a0, a1) = (pt(*da, a[k], side), pt(*da, a[k + 1], side));
                let (b0, b1) = (pt(*db, b[k], side), pt(*db, b[k + 1], side));
                if side > 0.0 {
                    quad(&mut m, [a0, b0, b1, a1], material, class);
                } else {
                    quad(&mut m, [a0, a1, b1, b0], material, class);
                }
            }
        }
    }
    for (i, (d, s)) in [stations[0], stations[stations.len() - 1]]
        .iter()
        .enumerate()
    {
        for k in 0..HALF - 1 {
            let material = lay.cap_material(k, &mats);
            let p = [
                pt(*d, s[k], 1.0),
                pt(*d, s[k + 1], 1.0),
                pt(*d, s[k + 1], -1.0),
                pt(*d, s[k], -1.0),
            ];
            if i == 0 {
                quad(&mut m, p, material, class);
            } else {
                quad(&mut m, [p[3], p[2], p[1], p[0]], material, class);
            }
        }
    }

    // Parts on top of the loft: the pickup's bed, the truck's cargo box.
    match lay.extra {
        Extra::None => {}
        Extra::Bed { d0, z_floor, z_rim } => {
            let wall = 0.05;
            let z0 = z_floor - lay.style.r_shoulder;
            let (x0, x1) = (lay.x(l - PLATE_GAP_M), lay.x(d0));
            for side in [1.0, -1.0] {
                let (ya, yb) = (side * (lay.hw - wall), side * lay.hw);
                aabox(
                    &mut m,
                    Vec3::new(x0, ya.min(yb), z0),
                    Vec3::new(x1, ya.max(yb), z_rim),
                    paint,
                    class,
                );
            }
            let y = lay.hw - wall;
            aabox(
                &mut m,
                Vec3::new(x0, -y, z0),
                Vec3::new(x0 + 0.05, y, z_rim - 0.01),
                paint,
                class,
            );
        }
        Extra::Cargo { d0, z_floor } => {
            let white = mat("paint_white");
            let lo = Vec3::new(lay.x(l - PLATE_GAP_M), -lay.hw, z_floor);
            aabox(&mut m, lo, Vec3::new(lay.x(d0), lay.hw, h), white, class);
        }
    }

    // Lamps, grille: laid on what is built so far.
    let body = m.tris.clone();
    let lay_decal = |m: &mut Mesh, dc: Decal, front: bool, material: u32| {
        if dc.z.1 - dc.z.0 < 0.02 {
            return; // no room on this body
        }
        // Shrink towards the centre of the rectangle until every point meets the body.
        let (yc, zc) = (0.5 * (dc.y.0 + dc.y.1), 0.5 * (dc.z.0 + dc.z.1));
        let found = [1.0, 0.85, 0.7].into_iter().find_map(|shrink| {
            let (hy, hz) = (
                0.5 * (dc.y.1 - dc.y.0) * shrink,
                0.5 * (dc.z.1 - dc.z.0) * shrink,
            );
            decal(&body, half_l, front, (yc - hy, yc + hy), (zc - hz, zc + hz))
        });
        for t in found.unwrap_or_default() {
            tri(m, t[0], t[1], t[2], material, class);
            if dc.mirrored {
                let flip = |p: Vec3| Vec3::new(p.x, -p.y, p.z);
                tri(m, flip(t[0]), flip(t[2]), flip(t[1]), material, class);
            }
        }
    };

    lay_decal(&mut m, lay.head, true, mat("headlight_lens"));
    if let Some((g, material)) = lay.grille {
        lay_decal(&mut m, g, true, material);
    }
    lay_decal(&mut m, lay.tail, false, mat("taillight_red"));

    // Number plates, front and rear, reaching the box's faces.
    let (py, pz0, pz1) = (
        0.5 * PLATE_W_M,
        PLATE_Z_M - 0.5 * PLATE_H_M,
        PLATE_Z_M + 0.5 * PLATE_H_M,
    );
    let plate = mat("plate_retroreflective");
    for sx in [1.0, -1.0] {
        let x = sx * half_l;
        let p = [
            Vec3::new(x, -py, pz0),
            Vec3::new(x, py, pz0),
            Vec3::new(x, py, pz1),
            Vec3::new(x, -py, pz1),
        ];
        if sx > 0.0 {
            quad(&mut m, p, plate, class);
        } else {
            quad(&mut m, [p[3], p[2], p[1], p[0]], plate, class);
        }
    }

    // Wheels and wheel wells (dark liners inside the arches).
    let (rubber, rim) = (mat("rubber"), mat("rim_alloy"));
    for &(d_w, tyre) in &lay.wheels {
        let y_outer = lay.half_width(d_w) - TYRE_INSET_M;
        let x = lay.x(d_w);
        let y_liner = y_outer - tyre - 0.03;
        let ra = lay.arch_r;
        let mut outline = vec![Vec2::new(d_w - ra, lay.c)];
        for j in 0..=6 {
            let th = PI - j as f32 * PI / 6.0;
            outline.push(Vec2::new(d_w + ra * th.cos(), lay.r + ra * th.sin()));
        }
        outline.push(Vec2::new(d_w + ra, lay.c));
        for side in [1.0, -1.0] {
            wheel(&mut m, x, y_outer, side, lay.r, tyre, rubber, rim, class);
            let centre = Vec3::new(x, side * y_liner, lay.c);
            let on_liner = |v: Vec2| Vec3::new(lay.x(v.x), side * y_liner, v.y);
            for seg in outline.windows(2) {
                tri(
                    &mut m,
                    centre,
                    on_liner(seg[0]),
                    on_liner(seg[1]),
                    mats.trim,
                    class,
                );
            }
        }
    }

    // Side mirrors: housings from the window base out to the box's side, glass facing back.
    let (d_m, mz0, mz1) = lay.mirror;
    let mirror_material = if lay.trim_mirror { mats.trim } else { paint };
    let y_in = lay.half_width(d_m) - lay.style.window_inset - 0.01;
    let (xm, len) = (lay.x(d_m), 0.14);
    for side in [1.0, -1.0] {
        let (ya, yb) = (side * y_in, side * 0.5 * w);
        let lo = Vec3::new(xm - 0.5 * len, ya.min(yb), mz0);
        let hi = Vec3::new(xm + 0.5 * len, ya.max(yb), mz1);
        aabox(&mut m, lo, hi, mirror_material, class);
        let xg = lo.x - 0.002;
        let (g0, g1) = (side * (y_in + 0.04), side * (0.5 * w - 0.01));
        let p = [
            Vec3::new(xg, g0, mz0 + 0.015),
            Vec3::new(xg, g1, mz0 + 0.015),
            Vec3::new(xg, g1, mz1 - 0.015),
            Vec3::new(xg, g0, mz1 - 0.015),
        ];
        quad(&mut m, p, mat("chrome"), class);
    }

    interior(&mut m, &lay, shape.body, class);
    m
}

/// Seats and a dashboard of interior_dark, so that a beam through the glass meets something.
fn interior(m: &mut Mesh, lay: &Layout, body: BodyType, class: Class) {
    let dark = mat("interior_dark");
    let (d_c, d_end) = lay.cabin;
    // A box between d0 and d1 (d0 < d1), kept under the roof line.
    let mut block = |d0: f32, d1: f32, y0: f32, y1: f32, z0: f32, z1: f32| {
        let roof = [d0, 0.5 * (d0 + d1), d1]
            .iter()
            .map(|&d| lay.z_top.at(d))
            .fold(f32::INFINITY, f32::min);
        let z1 = z1.min(roof - 0.06);
        aabox(
            m,
            Vec3::new(lay.x(d1), y0, z0),
            Vec3::new(lay.x(d0), y1, z1),
            dark,
            class,
        );
    };
    let hwg = lay.hw - lay.style.window_inset - 0.06;
    let floor = lay.c + 0.12;
    let belt = lay.belt;
    // Dashboard across the cabin, behind the windscreen's base.
    let (dash0, dash1) = (d_c + 0.12, d_c + 0.42);
    block(dash0, dash1, -hwg, hwg, belt - 0.28, belt + 0.03);
    if body == BodyType::Bus {
        // Rows of double seats on both sides, clear of doors and wheels.
        let seat_top = (lay.belt - 0.35).max(floor + 0.5);
        let mut d = dash1 + 1.0;
        while d + 0.55 < d_end {
            let clear = !lay
                .doors_right
                .iter()
                .any(|&(a, b)| d + 0.55 > a - 0.1 && d < b + 0.1)
                && lay
                    .wheels
                    .iter()
                    .all(|&(dw, _)| (d + 0.27 - dw).abs() > lay.arch_r + 0.35);
            if clear {
                for side in [1.0, -1.0] {
                    let (ya, yb) = (side * 0.3 * lay.hw, side * 0.9 * lay.hw);
                    block(d, d + 0.45, ya.min(yb), ya.max(yb), floor + 0.1, seat_top);
                    block(
                        d + 0.45,
                        d + 0.55,
                        ya.min(yb),
                        ya.max(yb),
                        seat_top,
                        seat_top + 0.55,
                    );
                }
            }
            d += 0.85;
        }
        return;
    }
    // Front seats: cushion and backrest, one a side.
    let cushion_top = (belt - 0.4).max(floor + 0.2);
    let back_top = belt + 0.38;
    let d_back = (d_c + 0.24 * lay.l.min(4.8)).min(d_end - 0.15);
    for side in [1.0, -1.0] {
        let (ya, yb) = (side * 0.12 * lay.hw, side * 0.75 * lay.hw);
        let (y0, y1) = (ya.min(yb), ya.max(yb));
        block(d_back - 0.5, d_back, y0, y1, floor, cushion_top);
        block(d_back, d_back + 0.12, y0, y1, cushion_top, back_top);
    }
    // A rear bench where the cabin is long enough.
    let d_bench = d_back + 0.85;
    if lay.rear_bench && d_bench + 0.1 < d_end + 0.3 {
        let y = 0.8 * lay.hw;
        block(d_bench - 0.45, d_bench, -y, y, floor, cushion_top);
        block(d_bench, d_bench + 0.12, -y, y, cushion_top, back_top - 0.05);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::materials;

    /// A small deterministic uniform generator for the tests (xorshift).
    fn uniforms(seed: u32) -> impl FnMut() -> f32 {
        let mut s = seed.max(1);
        move || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s >> 8) as f32 / 16_777_216.0
        }
    }

    fn paint() -> u32 {
        mat("paint_red")
    }

    /// First hit along a ray: (distance, material), both faces counted (Möller–Trumbore).
    fn first_hit(m: &Mesh, o: Vec3, dir: Vec3) -> Option<(f32, u32)> {
        let mut best: Option<(f32, u32)> = None;
        for (t, &material) in m.tris.iter().zip(&m.material) {
            let e1 = t[1] - t[0];
            let e2 = t[2] - t[0];
            let p = dir.cross(e2);
            let det = e1.dot(p);
            if det.abs() < 1e-12 {
                continue;
            }
            let s = o - t[0];
            let u = s.dot(p) / det;
            let q = s.cross(e1);
            let v = dir.dot(q) / det;
            let dist = e2.dot(q) / det;
            if u >= 0.0 && v >= 0.0 && u + v <= 1.0 && dist > 0.0 && best.is_none_or(|b| dist < b.0)
            {
                best = Some((dist, material));
            }
        }
        best
    }

    /// All hits along a ray, nearest first.
    fn hits(m: &Mesh, o: Vec3, dir: Vec3) -> Vec<u32> {
        let mut out = Vec::new();
        let mut origin = o;
        while let Some((t, material)) = first_hit(m, origin, dir) {
            out.push(material);
            origin += dir * (t + 1e-4);
        }
        out
    }

    fn shapes(body: BodyType) -> Vec<VehicleShape> {
        let (mean, _) = size_distribution(body);
        let mut out = vec![VehicleShape::fitted(body, (mean[0], mean[1], mean[2]))];
        let t = typical(body);
        out.push(VehicleShape::fitted(body, t.size_m));
        let mut u = uniforms(7 + body as u32);
        out.extend((0..20).map(|_| VehicleShape::sample(body, &mut u)));
        out
    }

    #[test]
    fn every_body_fills_its_box_with_every_part_within_budget() {
        let parts = [
            "glass",
            "rubber",
            "rim_alloy",
            "headlight_lens",
            "taillight_red",
            "plate_retroreflective",
            "interior_dark",
        ];
        for body in BodyType::ALL {
            for s in shapes(body) {
                let m = vehicle_mesh(&s, paint(), Class::Car);
                let (l, w, h) = (s.length_m, s.width_m, s.height_m);
                let (lo, hi) = m.bounds();
                let want_lo = Vec3::new(-0.5 * l, -0.5 * w, 0.0);
                let want_hi = Vec3::new(0.5 * l, 0.5 * w, h);
                assert!(
                    (lo - want_lo).abs().max_element() < 1e-3
                        && (hi - want_hi).abs().max_element() < 1e-3,
                    "{body:?} {s:?}: bounds {lo} {hi}, want {want_lo} {want_hi}"
                );
                for (t, c) in m.tris.iter().zip(&m.class) {
                    assert_eq!(*c, Class::Car);
                    for p in t {
                        assert!(p.is_finite(), "{body:?}: NaN vertex");
                        assert!(
                            p.cmpge(want_lo - 1e-4).all() && p.cmple(want_hi + 1e-4).all(),
                            "{body:?} {s:?}: vertex {p} outside the box"
                        );
                    }
                }
                assert!(
                    m.len() <= body.triangle_budget(),
                    "{body:?}: {} triangles",
                    m.len()
                );
                assert_eq!(m.material.len(), m.len());
                let count = |part: &str| {
                    let id = mat(part);
                    m.material.iter().filter(|&&x| x == id).count()
                };
                for part in parts {
                    assert!(count(part) > 0, "{body:?} {s:?}: no {part}");
                }
                // Both lamps of each pair found the body (a 6 x 3 grid of quads each).
                assert_eq!(count("headlight_lens"), 72, "{body:?} {s:?}");
                assert_eq!(count("taillight_red"), 72, "{body:?} {s:?}");
                assert_eq!(count("plate_retroreflective"), 4, "{body:?} {s:?}");
                // Lamps are seen, not buried in the body: a ray along x onto each lamp
                // triangle meets that lamp first.
                for (lamp, sx) in [("headlight_lens", 1.0), ("taillight_red", -1.0)] {
                    let id = mat(lamp);
                    for (t, _) in m.tris.iter().zip(&m.material).filter(|(_, x)| **x == id) {
                        let c = (t[0] + t[1] + t[2]) / 3.0;
                        let o = Vec3::new(sx * (0.5 * l + 1.0), c.y, c.z);
                        let hit = first_hit(&m, o, Vec3::new(-sx, 0.0, 0.0)).map(|h| h.1);
                        assert_eq!(hit, Some(id), "{body:?} {s:?}: {lamp} hidden at {c}");
                    }
                }
                // Tyres stay at least 1 cm inside the body's side below the belt.
                let (rubber, paint_id) = (mat("rubber"), paint());
                let max_y = |pred: &dyn Fn(u32, &[Vec3; 3]) -> bool| {
                    m.tris
                        .iter()
                        .zip(&m.material)
                        .filter(|(t, mt)| pred(**mt, t))
                        .flat_map(|(t, _)| t.iter().map(|p| p.y.abs()))
                        .fold(0.0f32, f32::max)
                };
                let tyre = max_y(&|mt, _| mt == rubber);
                let side =
                    max_y(&|mt, t| mt == paint_id && t.iter().any(|p| p.z < s.wheel_diameter_m));
                assert!(
                    tyre <= side - 0.01,
                    "{body:?}: tyre at {tyre}, side at {side}"
                );
            }
        }
    }

    /// Heights of the top surface over the centre line at 21 stations, front to rear.
    fn top_profile(m: &Mesh, l: f32) -> Vec<f32> {
        (0..21)
            .map(|i| {
                let x = 0.5 * l - (i as f32 + 0.5) * l / 21.0;
                let o = Vec3::new(x, 0.0, 10.0);
                first_hit(m, o, Vec3::NEG_Z).map_or(0.0, |(t, _)| 10.0 - t)
            })
            .collect()
    }

    #[test]
    fn the_body_is_shaped_like_a_car_not_a_box() {
        let sedan = VehicleShape::fitted(BodyType::Sedan, (4.1, 1.65, 1.48));
        let m = vehicle_mesh(&sedan, paint(), Class::Car);
        let p = top_profile(&m, sedan.length_m);
        let roof = p.iter().copied().fold(0.0, f32::max);
        let peak = p.iter().position(|&z| z == roof).unwrap();
        assert!((roof - sedan.height_m).abs() < 0.02, "{p:?}");
        assert!(
            (7..=13).contains(&peak),
            "the roof is highest mid-car: {p:?}"
        );
        let bonnet = p[1..5].iter().copied().fold(0.0, f32::max);
        assert!(bonnet < roof - 0.3, "bonnet {bonnet} vs roof {roof}: {p:?}");
        assert!(p[20] < roof - 0.3 && p[19] < roof - 0.3, "boot: {p:?}");
        // Bonnet rises to the windscreen, the windscreen to the roof.
        assert!(p[1] < p[4] && p[4] < p[6], "{p:?}");

        // An estate's roof runs further back than a sedan's.
        let estate = VehicleShape {
            body: BodyType::Estate,
            ..sedan
        };
        let q = top_profile(&vehicle_mesh(&estate, paint(), Class::Car), estate.length_m);
        let last_roof = |p: &[f32]| p.iter().rposition(|&z| z > sedan.height_m - 0.08).unwrap();
        assert!(
            last_roof(&q) >= last_roof(&p) + 3,
            "sedan {p:?}\nestate {q:?}"
        );

        // From the side: the wheels at wheel-centre height, glass at window height mid-car.
        let (rubber, rim, glass) = (mat("rubber"), mat("rim_alloy"), mat("glass"));
        let r = 0.5 * sedan.wheel_diameter_m;
        let x_front = 0.5 * sedan.length_m - sedan.front_overhang_m;
        for x in [x_front, x_front - sedan.wheelbase_m] {
            for dx in [0.0, 0.8 * r] {
                for sy in [1.0, -1.0] {
                    let o = Vec3::new(x + dx, sy * 3.0, r);
                    let hit = first_hit(&m, o, Vec3::new(0.0, -sy, 0.0)).unwrap().1;
                    assert!(hit == rubber || hit == rim, "x {x} dx {dx}: hit {hit}");
                }
            }
        }
        let (bh, h) = (sedan.bonnet_height_m, sedan.height_m);
        let z_window = 0.5 * (bh + 0.32 * (h - bh) + h - 0.07);
        let side = hits(&m, Vec3::new(0.0, 3.0, z_window), Vec3::NEG_Y);
        assert_eq!(side.first(), Some(&glass), "{side:?}");
        // Through the glass a beam meets the interior somewhere along the cabin.
        let dark = mat("interior_dark");
        let seen = (0..30).any(|i| {
            let x = 0.6 - 0.06 * i as f32;
            let hs = hits(&m, Vec3::new(x, 3.0, z_window - 0.1), Vec3::NEG_Y);
            hs.first() == Some(&glass) && hs.get(1) == Some(&dark)
        });
        assert!(seen, "no interior behind the side glass");
        // Below the belt the side is paint, and in front the plate sits at plate height.
        let low = first_hit(&m, Vec3::new(0.0, 3.0, 0.6), Vec3::NEG_Y)
            .unwrap()
            .1;
        assert_eq!(low, paint());
        let plate = first_hit(&m, Vec3::new(5.0, 0.0, 0.5), Vec3::NEG_X)
            .unwrap()
            .1;
        assert_eq!(plate, mat("plate_retroreflective"));
    }

    #[test]
    fn meshes_are_mirror_symmetric() {
        for body in BodyType::ALL {
            let (mean, _) = size_distribution(body);
            let s = VehicleShape::fitted(body, (mean[0], mean[1], mean[2]));
            let m = vehicle_mesh(&s, paint(), Class::Car);
            let key = |p: Vec3| {
                [
                    (p.x * 1e3).round() as i32,
                    (p.y * 1e3).round() as i32,
                    (p.z * 1e3).round() as i32,
                ]
            };
            let set: std::collections::HashSet<[i32; 3]> =
                m.tris.iter().flatten().map(|&p| key(p)).collect();
            let missing: Vec<_> = m
                .tris
                .iter()
                .flatten()
                .filter(|&&p| {
                    let q = Vec3::new(p.x, -p.y, p.z);
                    // Rounding may put a coordinate on either side of a millimetre boundary.
                    !(-1..=1).any(|dx| {
                        (-1..=1).any(|dy| {
                            (-1..=1).any(|dz| {
                                let k = key(q);
                                set.contains(&[k[0] + dx, k[1] + dy, k[2] + dz])
                            })
                        })
                    })
                })
                .collect();
            assert!(
                missing.is_empty(),
                "{body:?}: unmirrored vertices {:?}",
                &missing[..missing.len().min(5)]
            );
        }
    }

    #[test]
    fn draws_are_reproducible_and_match_kitti_car_statistics() {
        for body in BodyType::ALL {
            let a = VehicleShape::sample(body, &mut uniforms(42));
            let b = VehicleShape::sample(body, &mut uniforms(42));
            assert_eq!(a, b);
            let c = VehicleShape::sample(body, &mut uniforms(43));
            assert_ne!(a, c);
        }
        let cars: Vec<(BodyType, f32)> = BodyType::kitti_car_mix()
            .iter()
            .copied()
            .filter(|(b, _)| b.is_car())
            .collect();
        let total: f32 = BodyType::kitti_car_mix().iter().map(|m| m.1).sum();
        assert!((total - 1.0).abs() < 1e-6);
        let mut u = uniforms(2011);
        let n = 2000;
        let (mut sum_l, mut sum_h, mut sum_l2) = (0.0f64, 0.0f64, 0.0f64);
        for _ in 0..n {
            let body = BodyType::pick(&cars, u());
            let s = VehicleShape::sample(body, &mut u);
            sum_l += s.length_m as f64;
            sum_l2 += (s.length_m as f64).powi(2);
            sum_h += s.height_m as f64;
        }
        let (mean_l, mean_h) = (sum_l / n as f64, sum_h / n as f64);
        let sd_l = (sum_l2 / n as f64 - mean_l * mean_l).sqrt();
        assert!((mean_l - 3.88).abs() < 0.15, "mean length {mean_l}");
        assert!((mean_h - 1.53).abs() < 0.08, "mean height {mean_h}");
        assert!((sd_l - 0.43).abs() < 0.1, "length SD {sd_l}");
        // Hatchbacks are shorter than sedans, SUVs taller than estates.
        let mean = |b| size_distribution(b).0;
        assert!(mean(BodyType::Hatchback)[0] < mean(BodyType::Sedan)[0]);
        assert!(mean(BodyType::Suv)[2] > mean(BodyType::Estate)[2] + 0.1);
    }

    #[test]
    fn paint_shares_follow_the_european_mix() {
        let want = [
            ("paint_white", 0.25),
            ("paint_gray", 0.25),
            ("paint_black", 0.20),
            ("paint_silver", 0.10),
            ("paint_blue", 0.10),
            ("paint_red", 0.06),
            ("paint_green", 0.02),
            ("paint_beige", 0.02),
        ];
        let n = 100_000;
        let mut counts = std::collections::HashMap::new();
        for i in 0..n {
            *counts
                .entry(paint_for((i as f32 + 0.5) / n as f32))
                .or_insert(0usize) += 1;
        }
        assert_eq!(counts.len(), want.len(), "{counts:?}");
        for (name, share) in want {
            let got = counts.get(name).copied().unwrap_or(0) as f32 / n as f32;
            assert!((got - share).abs() < 0.01, "{name}: {got} vs {share}");
            assert!(materials::lookup(name).is_ok(), "{name} is not a material");
        }
    }
}
