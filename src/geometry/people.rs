//! Articulated pedestrians and cyclists.
//!
//! Bodies follow the Drillis–Contini segment ratios (objects.md section 4) and are made of
//! low-poly tapered prisms and ellipsoids, posed by a gait phase (walking) or a pedal phase
//! (cycling), in the actor frame: x forward, y left, z up, origin on the ground at the centre of
//! the footprint.
//!
//! Walking is built foot first. A stance foot rests on z = 0 at a spot fixed in the world (so
//! in the actor frame it slides backwards at the walking speed), rolling over the heel, then flat,
//! then over the toe. The pelvis height follows from the legs' reach, the knees and elbows from
//! two-bone inverse kinematics, and the swing foot travels forward on a lifted arc.

use std::f32::consts::{PI, TAU};

use glam::{Mat3, Quat, Vec2, Vec3};
use serde::{Deserialize, Serialize};

use super::mesh::Mesh;
use crate::classes::Class;
use crate::scenario::materials::id as mat;

/// Most triangles a pedestrian mesh may have.
pub const PEDESTRIAN_TRIANGLE_BUDGET: usize = 1_500;
/// Most triangles a cyclist mesh (rider and bicycle) may have.
pub const CYCLIST_TRIANGLE_BUDGET: usize = 2_500;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AgeGroup {
    Child,
    Adult,
    Elderly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Sex {
    Female,
    Male,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Build {
    Slim,
    Average,
    Heavy,
}

/// One person's body and clothes; the pose comes from the mesh builders.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Person {
    pub age: AgeGroup,
    pub sex: Sex,
    pub build: Build,
    /// Standing height, floor to the crown of the head, barefoot.
    pub stature_m: f32,
    /// Material ids.
    pub skin: u32,
    pub hair: u32,
    pub top: u32,
    pub bottom: u32,
    pub shoes: u32,
}

/// German adult stature (objects.md section 4), women then men, cm.
const ADULT_MEAN_CM: [f32; 2] = [166.0, 179.0];
const ADULT_SD_CM: [f32; 2] = [6.5, 7.0];
/// How much shorter the elderly stand than young adults (spine, older cohorts), cm.
const ELDERLY_SHORTER_CM: f32 = 4.0;
/// WHO 2007 reference medians at 5 and at 12 years (≈ 110 and ≈ 150 cm); age is uniform in
/// between, so the median is uniform on this range.
const CHILD_MEDIAN_CM: (f32, f32) = (110.0, 150.0);
/// Standard deviation of a child's stature as a fraction of the median (≈ 6.5 cm at 10 years).
const CHILD_SD_FRACTION: f32 = 0.045;
/// Children are drawn below this (a 5–12 year old group).
const CHILD_MAX_CM: f32 = 154.0;

impl Person {
    /// A seeded draw: age group (child 15 %, adult 70 %, elderly 15 %), sex, stature from
    /// objects.md section 4 (German adults: men 179 ± 7, women 166 ± 6.5 cm, clipped at ±3 SD;
    /// children 5–12 years, medians 110–150 cm, below 154 cm; elderly 4 cm shorter), build, skin,
    /// hair and clothing colours (mostly dark and muted, as in street scenes). `u` yields uniform
    /// numbers in [0, 1).
    pub fn sample(u: &mut dyn FnMut() -> f32) -> Self {
        let age = pick(
            u(),
            &[
                (0.15, AgeGroup::Child),
                (0.70, AgeGroup::Adult),
                (0.15, AgeGroup::Elderly),
            ],
        );
        let sex = if u() < 0.5 { Sex::Female } else { Sex::Male };
        let stature_cm = match age {
            AgeGroup::Child => {
                let median = CHILD_MEDIAN_CM.0 + u() * (CHILD_MEDIAN_CM.1 - CHILD_MEDIAN_CM.0);
                let sd = CHILD_SD_FRACTION * median;
                let hi = ((CHILD_MAX_CM - median) / sd).min(2.0);
                median + sd * truncated_normal(u, -2.0, hi)
            }
            AgeGroup::Adult | AgeGroup::Elderly => {
                let i = match sex {
                    Sex::Female => 0,
                    Sex::Male => 1,
                };
                let shorter = if age == AgeGroup::Elderly {
                    ELDERLY_SHORTER_CM
                } else {
                    0.0
                };
                ADULT_MEAN_CM[i] - shorter + ADULT_SD_CM[i] * truncated_normal(u, -3.0, 3.0)
            }
        };
        let build = match age {
            AgeGroup::Child => pick(
                u(),
                &[
                    (0.40, Build::Slim),
                    (0.50, Build::Average),
                    (0.10, Build::Heavy),
                ],
            ),
            AgeGroup::Adult => pick(
                u(),
                &[
                    (0.30, Build::Slim),
                    (0.45, Build::Average),
                    (0.25, Build::Heavy),
                ],
            ),
            AgeGroup::Elderly => pick(
                u(),
                &[
                    (0.20, Build::Slim),
                    (0.45, Build::Average),
                    (0.35, Build::Heavy),
                ],
            ),
        };
        let skin = pick(u(), &[(0.8, "skin"), (0.2, "skin_dark")]);
        let hair = if age == AgeGroup::Elderly {
            pick(u(), &[(0.35, "hair_dark"), (0.65, "hair_light")])
        } else {
            pick(u(), &[(0.7, "hair_dark"), (0.3, "hair_light")])
        };
        let top = if age == AgeGroup::Child {
            pick(
                u(),
                &[
                    (0.25, "clothing_dark"),
                    (0.20, "clothing_blue"),
                    (0.20, "clothing_red"),
                    (0.15, "clothing_light"),
                    (0.10, "clothing_white"),
                    (0.10, "denim"),
                ],
            )
        } else {
            pick(
                u(),
                &[
                    (0.42, "clothing_dark"),
                    (0.15, "clothing_blue"),
                    (0.15, "clothing_light"),
                    (0.08, "clothing_white"),
                    (0.08, "clothing_red"),
                    (0.12, "denim"),
                ],
            )
        };
        let bottom = pick(
            u(),
            &[
                (0.42, "denim"),
                (0.40, "clothing_dark"),
                (0.08, "clothing_blue"),
                (0.10, "clothing_light"),
            ],
        );
        // Never the same material as the trousers, so shoes stay tellable apart.
        let shoes = pick(u(), &[(0.75, "shoe_black"), (0.25, "clothing_white")]);
        Person {
            age,
            sex,
            build,
            stature_m: stature_cm / 100.0,
            skin: mat(skin),
            hair: mat(hair),
            top: mat(top),
            bottom: mat(bottom),
            shoes: mat(shoes),
        }
    }

    /// Preferred walking speed (objects.md section 4): adults 1.2–1.4 m/s rising with stature,
    /// elderly ≈ 1.0, children 1.05–1.2 (≈ 1.19 m/s at 7–11 years).
    pub fn walking_speed_m_per_s(&self) -> f32 {
        let tall = ((self.stature_m - 1.55) / 0.40).clamp(0.0, 1.0);
        match self.age {
            AgeGroup::Adult => 1.2 + 0.2 * tall,
            AgeGroup::Elderly => 0.95 + 0.1 * tall,
            AgeGroup::Child => 1.05 + 0.15 * ((self.stature_m - 1.05) / 0.45).clamp(0.0, 1.0),
        }
    }

    /// Step length (heel strike to the other heel's strike): 0.43 × stature for adults
    /// (objects.md: 0.41–0.45), 0.41 for children (0.54 m at ≈ 1.33 m), 0.38 for the elderly
    /// (shorter steps at ≈ 1.0 m/s).
    pub fn step_length_m(&self) -> f32 {
        let ratio = match self.age {
            AgeGroup::Adult => 0.43,
            AgeGroup::Child => 0.41,
            AgeGroup::Elderly => 0.38,
        };
        ratio * self.stature_m
    }

    /// Stride length: two steps, one full gait cycle. The gait phase advances by
    /// 1 / stride = 1 / (2 × step length) cycles per metre walked.
    pub fn stride_m(&self) -> f32 {
        2.0 * self.step_length_m()
    }

    /// Steps per minute at the preferred speed.
    pub fn cadence_steps_per_min(&self) -> f32 {
        60.0 * self.walking_speed_m_per_s() / self.step_length_m()
    }
}

/// The first value whose cumulative weight exceeds `x` (weights sum to 1).
fn pick<T: Copy>(x: f32, table: &[(f32, T)]) -> T {
    let mut acc = 0.0;
    for &(w, v) in table {
        acc += w;
        if x < acc {
            return v;
        }
    }
    table[table.len() - 1].1
}

/// A standard normal deviate within [lo, hi] (Box–Muller with rejection).
fn truncated_normal(u: &mut dyn FnMut() -> f32, lo: f32, hi: f32) -> f32 {
    let mut z = 0.0;
    for _ in 0..32 {
        let r = (-2.0 * (1.0 - u()).ln()).sqrt();
        z = r * (TAU * u()).cos();
        if (lo..=hi).contains(&z) {
            return z;
        }
    }
    z.clamp(lo, hi)
}

/// Segment ratios as fractions of stature.
struct Ratios {
    chin: f32,
    shoulder: f32,
    hip: f32,
    knee: f32,
    ankle: f32,
    upper_arm: f32,
    forearm: f32,
    hand: f32,
    shoulder_width: f32,
    hip_width: f32,
    foot_length: f32,
    foot_width: f32,
}

/// Drillis & Contini as tabulated by Winter (objects.md section 4).
const ADULT_RATIOS: Ratios = Ratios {
    chin: 0.870,
    shoulder: 0.818,
    hip: 0.530,
    knee: 0.285,
    ankle: 0.039,
    upper_arm: 0.186,
    forearm: 0.146,
    hand: 0.108,
    shoulder_width: 0.259,
    hip_width: 0.191,
    foot_length: 0.152,
    foot_width: 0.055,
};

/// Children 5–12: a larger head and shorter legs relative to stature (our estimate [?]).
const CHILD_RATIOS: Ratios = Ratios {
    chin: 0.845,
    shoulder: 0.800,
    hip: 0.500,
    knee: 0.270,
    ankle: 0.042,
    upper_arm: 0.183,
    forearm: 0.140,
    hand: 0.100,
    shoulder_width: 0.245,
    hip_width: 0.185,
    foot_length: 0.155,
    foot_width: 0.058,
};

/// One person's body dimensions, metres.
struct Dims {
    h: f32,
    hip_z: f32,
    /// Height of the shoulder joints and of the neck's base (C7) above the hip joints.
    shoulder_joint: f32,
    neck_base: f32,
    /// Head half-height (crown to chin / 2), half-depth and half-width.
    head: Vec3,
    hair: f32,
    shoulder_y: f32,
    hip_y: f32,
    foot_y: f32,
    upper_arm: f32,
    forearm: f32,
    hand: f32,
    thigh: f32,
    shank: f32,
    foot_length: f32,
    foot_half_width: f32,
    ankle_h: f32,
    heel_back: f32,
    toe_fwd: f32,
    r_thigh: f32,
    r_knee: f32,
    r_ankle: f32,
    r_upper_arm: f32,
    r_elbow: f32,
    r_wrist: f32,
    r_neck: f32,
    /// Torso cross-sections: (height above the hip joints, half-depth, half-width).
    torso: [(f32, f32, f32); 6],
    /// Number of torso sections (from the bottom) in the trousers' material.
    torso_bottom_sections: usize,
    lean_rad: f32,
    arm_swing_rad: f32,
    arm_abduction_rad: f32,
    short_sleeves: bool,
}

impl Dims {
    fn of(p: &Person) -> Self {
        let h = p.stature_m;
        let r = if p.age == AgeGroup::Child {
            &CHILD_RATIOS
        } else {
            &ADULT_RATIOS
        };
        // Width and girth factors: limbs and hips, belly (depth, width), shoulders.
        let (bw, belly_d, belly_w, sf) = match p.build {
            Build::Slim => (0.9, 0.9, 0.9, 0.96),
            Build::Average => (1.0, 1.0, 1.0, 1.0),
            Build::Heavy => (1.15, 1.3, 1.2, 1.05),
        };
        let hip_z = r.hip * h;
        let shoulder_z = r.shoulder * h;
        let spine = shoulder_z - hip_z;
        let head_half = 0.5 * (1.0 - r.chin) * h;
        let hip_half_width = 0.5 * r.hip_width * h * bw;
        let torso = [
            (-0.24 * spine, 0.050 * h * bw, 0.86 * hip_half_width),
            (0.0, 0.060 * h * bw, hip_half_width),
            (0.33 * spine, 0.052 * h * belly_d, 0.080 * h * belly_w),
            (0.70 * spine, 0.064 * h * bw, 0.092 * h * bw),
            (0.98 * spine, 0.050 * h * bw, 0.105 * h * sf),
            (1.10 * spine, 0.034 * h * bw, 0.045 * h * bw),
        ];
        let foot_length = r.foot_length * h;
        let (lean_rad, arm_swing_deg) = match p.age {
            AgeGroup::Child => (0.03, 20.0_f32),
            AgeGroup::Adult => (0.05, 18.0),
            AgeGroup::Elderly => (0.14, 12.0),
        };
        let light_top = p.top == mat("clothing_white") || p.top == mat("clothing_red");
        Dims {
            h,
            hip_z,
            // The joint centre sits a little below the acromion (the tabulated shoulder height).
            shoulder_joint: spine - 0.015 * h,
            neck_base: 1.05 * spine,
            head: Vec3::new(0.88 * head_half, 0.70 * head_half, head_half),
            hair: 0.007 * h,
            shoulder_y: (0.5 * r.shoulder_width - 0.012) * h * sf,
            hip_y: 0.055 * h,
            foot_y: 0.05 * h,
            upper_arm: r.upper_arm * h,
            forearm: r.forearm * h,
            hand: r.hand * h,
            thigh: (r.hip - r.knee) * h,
            shank: (r.knee - r.ankle) * h,
            foot_length,
            foot_half_width: 0.5 * r.foot_width * h,
            ankle_h: r.ankle * h,
            heel_back: 0.25 * foot_length,
            toe_fwd: 0.75 * foot_length,
            r_thigh: 0.051 * h * bw,
            r_knee: 0.032 * h * bw,
            r_ankle: 0.019 * h * bw,
            r_upper_arm: 0.027 * h * bw,
            r_elbow: 0.020 * h * bw,
            r_wrist: 0.015 * h * bw,
            r_neck: 0.031 * h * bw,
            torso,
            torso_bottom_sections: 2,
            lean_rad,
            arm_swing_rad: arm_swing_deg.to_radians(),
            arm_abduction_rad: 0.08 + 0.35 * (bw - 1.0),
            short_sleeves: light_top,
        }
    }

    /// The bottom of the heel and of the toe in the foot frame (origin at the ankle).
    fn heel_local(&self) -> Vec3 {
        Vec3::new(-self.heel_back, 0.0, -self.ankle_h)
    }

    fn toe_local(&self) -> Vec3 {
        Vec3::new(self.toe_fwd, 0.0, -self.ankle_h)
    }

    /// Shoe cross-sections along the foot: (x, half-width, height of the upper above the sole).
    fn shoe_stations(&self) -> [(f32, f32, f32); 5] {
        let (w, a) = (self.foot_half_width, self.ankle_h);
        [
            (-self.heel_back, 0.75 * w, 1.15 * a),
            (0.0, 0.9 * w, 1.3 * a),
            (0.45 * self.toe_fwd, w, 0.75 * a),
            (0.8 * self.toe_fwd, 0.9 * w, 0.55 * a),
            (self.toe_fwd, 0.55 * w, 0.4 * a),
        ]
    }

    /// All shoe vertices in the foot frame, section by section (6 per section, sole first).
    fn shoe_points(&self) -> Vec<[Vec3; 6]> {
        self.shoe_stations()
            .iter()
            .map(|&(x, w, t)| {
                let z0 = -self.ankle_h;
                [
                    Vec3::new(x, -w, z0),
                    Vec3::new(x, w, z0),
                    Vec3::new(x, w, z0 + 0.55 * t),
                    Vec3::new(x, 0.55 * w, z0 + t),
                    Vec3::new(x, -0.55 * w, z0 + t),
                    Vec3::new(x, -w, z0 + 0.55 * t),
                ]
            })
            .collect()
    }
}

/// A foot's rotation for a pitch (positive lifts the toes).
fn foot_rot(pitch_rad: f32) -> Quat {
    Quat::from_rotation_y(-pitch_rad)
}

/// A posed skeleton: everything the body mesh needs.
struct Pose {
    /// Midpoint between the hip joints.
    pelvis: Vec3,
    torso: Quat,
    head: Quat,
    /// Per side (0 left, 1 right): shoulder, elbow, wrist, fingertip.
    arms: [[Vec3; 4]; 2],
    /// Per side: hip, knee, ankle.
    legs: [[Vec3; 3]; 2],
    feet: [Quat; 2],
}

/// y sign of each side: 0 is left (+y), 1 is right (−y).
const SIDES: [f32; 2] = [1.0, -1.0];

/// The middle joint of a two-bone chain from `root` towards `target` (clamped to reach), bent
/// towards `pole`.
fn two_bone(root: Vec3, target: Vec3, l1: f32, l2: f32, pole: Vec3) -> Vec3 {
    let d = target - root;
    let len = d.length();
    let dir = if len > 1e-6 { d / len } else { -Vec3::Z };
    let dist = len.clamp((l1 - l2).abs() + 1e-4, l1 + l2);
    let a = (l1 * l1 - l2 * l2 + dist * dist) / (2.0 * dist);
    let h = (l1 * l1 - a * a).max(0.0).sqrt();
    let mut perp = (pole - dir * pole.dot(dir)).normalize_or_zero();
    if perp == Vec3::ZERO {
        perp = dir.any_orthonormal_vector();
    }
    root + dir * a + perp * h
}

/// Stance phase of a leg as a fraction of its gait cycle (heel strike at 0).
const STANCE_END: f32 = 0.6;
/// Up to this fraction of the cycle the foot carries weight and must rest on the ground; from
/// here to toe-off it may lift early when the leg cannot reach.
const LOADED_END: f32 = 0.5;
/// Foot pitch at heel strike (toes up) and at toe-off (toes down), radians.
const HEEL_STRIKE_PITCH: f32 = 0.35;
const TOE_OFF_PITCH: f32 = 0.96;
/// Pelvis yaw and counter-rotating shoulder yaw amplitudes, radians.
const PELVIS_YAW: f32 = 0.07;
const TORSO_YAW: f32 = 0.05;

/// Foot pitch during stance: heel rocker, flat foot, then heel rise.
fn stance_pitch(psi: f32) -> f32 {
    if psi < 0.1 {
        HEEL_STRIKE_PITCH * (1.0 - psi / 0.1)
    } else if psi < 0.35 {
        0.0
    } else {
        -TOE_OFF_PITCH * ((psi - 0.35) / (STANCE_END - 0.35)).min(1.0)
    }
}

fn smoothstep(t: f32) -> f32 {
    let t = t.clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Where a walking foot is: ankle position (y = 0) and pitch, at leg phase `psi` (heel strike at
/// 0); `flat_x0` is the ankle's x when the foot would lie flat at heel strike.
fn walking_foot(d: &Dims, psi: f32, flat_x0: f32, stride: f32) -> (Vec3, f32) {
    let stance = |psi: f32| {
        let flat_x = flat_x0 - stride * psi;
        let pitch = stance_pitch(psi);
        let rot = foot_rot(pitch);
        // Roll over the heel (toes up) or the toe (heel up), both fixed on the ground.
        let ankle = if pitch >= 0.0 {
            Vec3::new(flat_x - d.heel_back, 0.0, 0.0) - rot * d.heel_local()
        } else {
            Vec3::new(flat_x + d.toe_fwd, 0.0, 0.0) - rot * d.toe_local()
        };
        (ankle, pitch)
    };
    if psi <= STANCE_END {
        return stance(psi);
    }
    let s = (psi - STANCE_END) / (1.0 - STANCE_END);
    let (a0, p0) = stance(STANCE_END);
    let (a1, p1) = stance(0.0);
    let pitch = p0 + (p1 - p0) * smoothstep(s / 0.6);
    let mut ankle = a0.lerp(a1, smoothstep(s));
    let rot = foot_rot(pitch);
    let low = d
        .shoe_points()
        .iter()
        .flatten()
        .map(|&v| ankle.z + (rot * v).z)
        .fold(f32::INFINITY, f32::min);
    let clearance = 0.025 * d.h * (PI * s).sin();
    ankle.z += (clearance - low).max(0.0);
    (ankle, pitch)
}

/// The walking skeleton at gait phase `phase` (right heel strike at 0, left at 0.5).
fn walking_pose(p: &Person, d: &Dims, phase: f32) -> Pose {
    let phase = phase.rem_euclid(1.0);
    let stride = p.stride_m();
    let psi_of =
        |side: usize, phase: f32| (phase + if side == 0 { 0.5 } else { 0.0 }).rem_euclid(1.0);
    // Centre the footprint at double support: feet placed with flat_x0 = 0, then shifted.
    let flat_x0 = {
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for side in 0..2 {
            let (ankle, pitch) = walking_foot(d, psi_of(side, 0.0), 0.0, stride);
            for v in d.shoe_points().iter().flatten() {
                let x = ankle.x + (foot_rot(pitch) * *v).x;
                lo = lo.min(x);
                hi = hi.max(x);
            }
        }
        -0.5 * (lo + hi)
    };
    let leg = 0.999 * (d.thigh + d.shank);
    let hips_at = |phase: f32| {
        let yaw = Quat::from_rotation_z(PELVIS_YAW * (TAU * phase).cos());
        SIDES.map(|s| yaw * Vec3::new(0.0, s * d.hip_y, 0.0))
    };
    let feet_at = |phase: f32| {
        [0, 1].map(|side| {
            let psi = psi_of(side, phase);
            let (ankle, pitch) = walking_foot(d, psi, flat_x0, stride);
            (
                ankle + Vec3::new(0.0, SIDES[side] * d.foot_y, 0.0),
                pitch,
                psi <= LOADED_END,
            )
        })
    };
    // Highest pelvis from which a loaded foot is still reached.
    let reach = |hip: Vec3, ankle: Vec3| {
        let dxy = Vec2::new(ankle.x - hip.x, ankle.y - hip.y);
        ankle.z + (leg * leg - dxy.length_squared()).max(0.0).sqrt()
    };
    let nominal = d.hip_z - 0.004 * d.h;
    let double_support = {
        let (hips, feet) = (hips_at(0.0), feet_at(0.0));
        reach(hips[0], feet[0].0).min(reach(hips[1], feet[1].0))
    };
    let bob = (nominal - double_support).max(0.0);
    let hips = hips_at(phase);
    let feet = feet_at(phase);
    let mut pelvis_z = nominal - bob * 0.5 * (1.0 + (2.0 * TAU * phase).cos());
    for side in 0..2 {
        if feet[side].2 {
            pelvis_z = pelvis_z.min(reach(hips[side], feet[side].0));
        }
    }
    let pelvis = Vec3::new(0.0, 0.0, pelvis_z);
    let mut legs = [[Vec3::ZERO; 3]; 2];
    let mut foot_rots = [Quat::IDENTITY; 2];
    for side in 0..2 {
        let hip = pelvis + hips[side];
        let (mut ankle, pitch, _) = feet[side];
        // An unloaded foot the leg cannot reach is lifted along the leg (early toe-off).
        if (ankle - hip).length() > leg {
            ankle = hip + (ankle - hip).normalize() * leg;
        }
        let pole = Vec3::new(1.0, 0.1 * SIDES[side], 0.0);
        let knee = two_bone(hip, ankle, d.thigh, d.shank, pole);
        legs[side] = [hip, knee, ankle];
        foot_rots[side] = foot_rot(pitch);
    }
    let swing = (TAU * phase).cos();
    let torso_yaw = -TORSO_YAW * swing;
    let torso = Quat::from_rotation_z(torso_yaw) * Quat::from_rotation_y(d.lean_rad);
    let head = Quat::from_rotation_z(0.5 * torso_yaw) * Quat::from_rotation_y(0.3 * d.lean_rad);
    let mut arms = [[Vec3::ZERO; 4]; 2];
    for side in 0..2 {
        let s = SIDES[side];
        // Arms swing opposite to the legs: the left arm leads when the right foot does.
        let theta = s * d.arm_swing_rad * swing;
        let dir = |theta: f32, abduct: f32| {
            Vec3::new(
                theta.sin() * abduct.cos(),
                s * abduct.sin(),
                -theta.cos() * abduct.cos(),
            )
        };
        let shoulder = pelvis + torso * Vec3::new(0.0, s * d.shoulder_y, d.shoulder_joint);
        let elbow = shoulder + dir(theta, d.arm_abduction_rad) * d.upper_arm;
        let flex = 0.26 + 0.35 * (theta / d.arm_swing_rad).max(0.0);
        let fore = dir(theta + flex, 0.6 * d.arm_abduction_rad);
        let wrist = elbow + fore * d.forearm;
        arms[side] = [shoulder, elbow, wrist, wrist + fore * d.hand];
    }
    Pose {
        pelvis,
        torso,
        head,
        arms,
        legs,
        feet: foot_rots,
    }
}

/// A material and class for a batch of triangles.
#[derive(Clone, Copy)]
struct Paint {
    material: u32,
    class: Class,
}

/// A tapered prism from `a` (radius `ra`) to `b` (radius `rb`), optionally capped.
fn tube(m: &mut Mesh, a: (Vec3, f32), b: (Vec3, f32), sides: u32, caps: bool, paint: Paint) {
    m.tube(a, b, sides, (caps, caps), paint.material, paint.class);
}

/// An ellipsoid with semi-axes `radii` in the frame `rot` at `center`, `seg` around and `rings`
/// from pole to pole; with `theta_max` < π only the cap down to that polar angle from +z.
fn ellipsoid(
    m: &mut Mesh,
    center: Vec3,
    rot: Quat,
    radii: Vec3,
    (seg, rings): (u32, u32),
    theta_max: f32,
    paint: Paint,
) {
    let full = theta_max >= PI - 1e-4;
    let point = |i: u32, k: u32| {
        let th = theta_max * k as f32 / rings as f32;
        let ph = TAU * i as f32 / seg as f32;
        center + rot * (radii * Vec3::new(th.sin() * ph.cos(), th.sin() * ph.sin(), th.cos()))
    };
    let (mt, cl) = (paint.material, paint.class);
    for i in 0..seg {
        m.tri(point(0, 0), point(i, 1), point(i + 1, 1), mt, cl);
    }
    for k in 1..rings {
        for i in 0..seg {
            if full && k + 1 == rings {
                m.tri(point(i, k), point(0, rings), point(i + 1, k), mt, cl);
            } else {
                m.quad(
                    point(i, k),
                    point(i, k + 1),
                    point(i + 1, k + 1),
                    point(i + 1, k),
                    mt,
                    cl,
                );
            }
        }
    }
}

/// A frame whose z axis runs along `dir` and whose y axis is as close to `side` as possible.
fn frame_along(dir: Vec3, side: Vec3) -> Quat {
    let z = dir.normalize();
    let mut y = (side - z * side.dot(z)).normalize_or_zero();
    if y == Vec3::ZERO {
        y = z.any_orthonormal_vector();
    }
    Quat::from_mat3(&Mat3::from_cols(y.cross(z), y, z))
}

/// The body of a posed skeleton.
fn body_mesh(p: &Person, d: &Dims, pose: &Pose, class: Class) -> Mesh {
    let mut m = Mesh::default();
    let paint = |material: u32| Paint { material, class };
    let (skin, hair, top, bottom, shoes) = (
        paint(p.skin),
        paint(p.hair),
        paint(p.top),
        paint(p.bottom),
        paint(p.shoes),
    );

    // Torso: elliptic sections lofted along the spine, trousers below the waist.
    let sides = 10;
    let rings: Vec<Vec<Vec3>> = d
        .torso
        .iter()
        .map(|&(z, rx, ry)| {
            (0..sides)
                .map(|i| {
                    let a = i as f32 / sides as f32 * TAU;
                    pose.pelvis + pose.torso * Vec3::new(rx * a.cos(), ry * a.sin(), z)
                })
                .collect()
        })
        .collect();
    for k in 0..rings.len() - 1 {
        let pt = if k < d.torso_bottom_sections {
            bottom
        } else {
            top
        };
        for i in 0..sides {
            let j = (i + 1) % sides;
            m.quad(
                rings[k][i],
                rings[k][j],
                rings[k + 1][j],
                rings[k + 1][i],
                pt.material,
                class,
            );
        }
    }
    let last = rings.len() - 1;
    for (k, pt) in [(0, bottom), (last, top)] {
        let c = pose.pelvis + pose.torso * Vec3::new(0.0, 0.0, d.torso[k].0);
        for i in 0..sides {
            let j = (i + 1) % sides;
            m.tri(c, rings[k][j], rings[k][i], pt.material, class);
        }
    }

    // Neck and head, pivoting at the neck's base.
    let neck_base = pose.pelvis + pose.torso * Vec3::new(0.0, 0.0, d.neck_base);
    let head_up = d.h - d.head.z - (d.hip_z + d.neck_base);
    let head_c = neck_base + pose.head * Vec3::new(0.012 * d.h, 0.0, head_up);
    tube(
        &mut m,
        (
            neck_base - pose.torso * Vec3::new(0.0, 0.0, 0.02 * d.h),
            d.r_neck,
        ),
        (
            head_c - pose.head * Vec3::new(0.0, 0.0, 0.5 * d.head.z),
            0.9 * d.r_neck,
        ),
        8,
        false,
        skin,
    );
    ellipsoid(&mut m, head_c, pose.head, d.head, (10, 6), PI, skin);
    // Hair: a cap tilted back, so the face stays bare and the nape is covered.
    ellipsoid(
        &mut m,
        head_c + pose.head * Vec3::new(-0.004 * d.h, 0.0, 0.0),
        pose.head * Quat::from_rotation_y(-0.45),
        d.head + Vec3::splat(d.hair),
        (10, 4),
        0.56 * PI,
        hair,
    );

    // Arms.
    for (&[shoulder, elbow, wrist, tip], s) in pose.arms.iter().zip(SIDES) {
        let fore = if d.short_sleeves { skin } else { top };
        ellipsoid(
            &mut m,
            shoulder,
            pose.torso,
            Vec3::splat(1.1 * d.r_upper_arm),
            (8, 4),
            PI,
            top,
        );
        let up_dir = (elbow - shoulder).normalize_or_zero();
        tube(
            &mut m,
            (shoulder, d.r_upper_arm),
            (elbow + up_dir * 0.5 * d.r_elbow, d.r_elbow),
            8,
            false,
            top,
        );
        ellipsoid(
            &mut m,
            elbow,
            Quat::IDENTITY,
            Vec3::splat(d.r_elbow),
            (6, 3),
            PI,
            fore,
        );
        tube(
            &mut m,
            (elbow, d.r_elbow),
            (wrist, d.r_wrist),
            8,
            true,
            fore,
        );
        let hand_rot = frame_along(tip - wrist, Vec3::new(0.0, s, 0.0));
        ellipsoid(
            &mut m,
            wrist.lerp(tip, 0.5),
            hand_rot,
            Vec3::new(0.022 * d.h, 0.011 * d.h, 0.5 * d.hand),
            (8, 4),
            PI,
            skin,
        );
    }

    // Legs and shoes.
    for side in 0..2 {
        let [hip, knee, ankle] = pose.legs[side];
        let thigh_dir = (knee - hip).normalize_or_zero();
        tube(
            &mut m,
            (hip, d.r_thigh),
            (knee + thigh_dir * 0.5 * d.r_knee, d.r_knee),
            8,
            false,
            bottom,
        );
        ellipsoid(
            &mut m,
            knee,
            Quat::IDENTITY,
            Vec3::splat(d.r_knee),
            (6, 3),
            PI,
            bottom,
        );
        tube(
            &mut m,
            (knee, d.r_knee),
            (ankle, d.r_ankle),
            8,
            true,
            bottom,
        );
        let sections: Vec<[Vec3; 6]> = d
            .shoe_points()
            .iter()
            .map(|s| s.map(|v| ankle + pose.feet[side] * v))
            .collect();
        for k in 0..sections.len() - 1 {
            for i in 0..6 {
                let j = (i + 1) % 6;
                m.quad(
                    sections[k][i],
                    sections[k][j],
                    sections[k + 1][j],
                    sections[k + 1][i],
                    shoes.material,
                    class,
                );
            }
        }
        for s in [&sections[0], &sections[sections.len() - 1]] {
            for i in 1..5 {
                m.tri(s[0], s[i], s[i + 1], shoes.material, class);
            }
        }
    }
    m
}

/// The walking person at gait phase `phase` in [0, 1) (one full cycle = two steps; the right
/// heel strikes at 0, the left at 0.5): segments from the Drillis–Contini ratios (head, neck,
/// torso with shoulders and hips, upper and lower arms, hands, thighs, shanks, feet), each a
/// low-poly tapered prism or ellipsoid; legs swing about the hip (≈ ±20–25° thigh, knee flexion
/// up to ≈ 60° in swing), arms swing opposite to the legs (±12–20°), the stance foot rests on
/// z = 0. Actor frame: x forward (walking direction), y left, z up, origin on the ground at the
/// centre of the footprint. Every vertex has z ≥ 0 and the lowest is at z = 0. Class Pedestrian.
pub fn pedestrian_mesh(p: &Person, phase: f32) -> Mesh {
    let d = Dims::of(p);
    let pose = walking_pose(p, &d, phase);
    body_mesh(p, &d, &pose, Class::Pedestrian)
}

/// A bicycle sized for its rider, in the actor frame.
struct Bike {
    wheel_r: f32,
    tyre_r: f32,
    k: f32,
    rear: Vec3,
    front: Vec3,
    bb: Vec3,
    seat_dir: Vec3,
    seat_cluster: Vec3,
    steer_dir: Vec3,
    head_bottom: Vec3,
    head_top: Vec3,
    bar: Vec3,
    bar_half_w: f32,
    grip_y: f32,
    crank: f32,
    crank_y: f32,
    pedal_y: f32,
    pedal_half_t: f32,
}

/// Rear wheel revolutions per crank revolution; with 8 spokes (45° apart) 2.5 turns per pedal
/// cycle bring the wheel back to the same look, so the phase wraps without a jump.
const GEAR_RATIO: f32 = 2.5;
const SPOKES: u32 = 8;

impl Bike {
    /// A city/trekking bike with ≈ 0.66 m wheels (smaller for children), wheelbase 1.04 m,
    /// seat tube 73°, head tube 72°, 170 mm cranks.
    fn for_rider(p: &Person) -> Self {
        let k = match p.age {
            AgeGroup::Child => (p.stature_m / 1.65).clamp(0.7, 1.0),
            _ => 1.0,
        };
        let wheel_r = 0.33 * k;
        let rear = Vec3::new(-0.52 * k, 0.0, wheel_r);
        let front = Vec3::new(0.52 * k, 0.0, wheel_r);
        let bb = rear + Vec3::new((0.43f32 * 0.43 - 0.07 * 0.07).sqrt() * k, 0.0, -0.07 * k);
        let seat_dir = Vec3::new(-73f32.to_radians().cos(), 0.0, 73f32.to_radians().sin());
        let (sa, ca) = 72f32.to_radians().sin_cos();
        let steer_dir = Vec3::new(-ca, 0.0, sa);
        let rake = Vec3::new(sa, 0.0, ca);
        let head_bottom = front + rake * 0.045 * k + steer_dir * 0.38 * k;
        let head_top = head_bottom + steer_dir * 0.15 * k;
        Bike {
            wheel_r,
            tyre_r: 0.018 * k,
            k,
            rear,
            front,
            bb,
            seat_dir,
            seat_cluster: bb + seat_dir * 0.5 * k,
            steer_dir,
            head_bottom,
            head_top,
            bar: head_top + steer_dir * 0.13 * k + Vec3::new(0.05 * k, 0.0, 0.0),
            bar_half_w: 0.29 * k,
            grip_y: 0.25 * k,
            crank: 0.17 * k,
            crank_y: 0.075 * k,
            pedal_y: 0.135 * k,
            pedal_half_t: 0.012 * k,
        }
    }

    /// Crank angle of a side at pedal phase `phase`: the right crank points forward at 0 and
    /// turns forward (over the top, then down in front), the left one is opposite.
    fn crank_angle(phase: f32, side: usize) -> f32 {
        -TAU * phase + if side == 0 { PI } else { 0.0 }
    }

    /// The pedal spindle (crank end) of a side.
    fn spindle(&self, phase: f32, side: usize) -> Vec3 {
        let a = Self::crank_angle(phase, side);
        self.bb
            + Vec3::new(
                self.crank * a.cos(),
                SIDES[side] * self.crank_y,
                self.crank * a.sin(),
            )
    }

    /// The top of a pedal's body, where the sole rests.
    fn pedal_top(&self, phase: f32, side: usize) -> Vec3 {
        let s = self.spindle(phase, side);
        Vec3::new(s.x, SIDES[side] * self.pedal_y, s.z + self.pedal_half_t)
    }
}

/// Ankling: the toes point a little down, more so at the bottom of the stroke.
fn pedalling_pitch(phase: f32, side: usize) -> f32 {
    -0.22 + 0.12 * Bike::crank_angle(phase, side).sin()
}

/// The rider's ankle when the ball of the foot rests on the pedal.
fn ankle_on_pedal(d: &Dims, bike: &Bike, phase: f32, side: usize) -> Vec3 {
    let ball = Vec3::new(0.6 * d.foot_length - d.heel_back, 0.0, -d.ankle_h);
    bike.pedal_top(phase, side) - foot_rot(pedalling_pitch(phase, side)) * ball
}

/// Largest x with f(x) ≤ 0 on [lo, hi] for an increasing f, by bisection.
fn bisect(mut lo: f32, mut hi: f32, f: impl Fn(f32) -> f32) -> f32 {
    if f(lo) > 0.0 {
        return lo;
    }
    if f(hi) <= 0.0 {
        return hi;
    }
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        if f(mid) > 0.0 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    lo
}

/// The seated rider: saddle height set so the leg stays at ≤ 96 % of its length over the whole
/// pedal circle, torso leaning forward until the hands reach the grips with slightly bent elbows.
fn cycling_pose(d: &Dims, bike: &Bike, phase: f32) -> (Pose, Vec3) {
    let h = d.h;
    let hip_off = Vec3::new(0.02 * h, 0.0, 0.05 * h);
    let leg_max = 0.96 * (d.thigh + d.shank);
    let max_leg_stretch = |e: f32| {
        let mut worst = 0.0f32;
        for i in 0..24 {
            let ph = i as f32 / 24.0;
            for (side, s) in SIDES.iter().enumerate() {
                let hip = bike.bb + bike.seat_dir * e + hip_off + Vec3::Y * s * d.hip_y;
                worst = worst.max((ankle_on_pedal(d, bike, ph, side) - hip).length());
            }
        }
        worst
    };
    let e = bisect(0.2 * bike.k, 1.3 * bike.k, |e| max_leg_stretch(e) - leg_max);
    let saddle = bike.bb + bike.seat_dir * e;
    let pelvis = saddle + hip_off;

    let hand = d.hand;
    let grip = |side: usize| bike.bar + Vec3::new(0.0, SIDES[side] * bike.grip_y, 0.0);
    let wrist_target = |side: usize| grip(side) + Vec3::new(-0.35 * hand, 0.0, 0.3 * hand);
    let shoulder_at = |lean: f32, side: usize| {
        pelvis
            + Quat::from_rotation_y(lean)
                * Vec3::new(0.0, SIDES[side] * d.shoulder_y, d.shoulder_joint)
    };
    let arm_reach = 0.92 * (d.upper_arm + d.forearm);
    // Leaning forward brings the shoulders towards the bar: distance falls with the lean.
    let lean = bisect(0.05, 1.4, |lean| {
        arm_reach - (shoulder_at(lean, 0) - wrist_target(0)).length()
    });
    let torso = Quat::from_rotation_y(lean);
    // The head tilts back so the rider looks ahead.
    let head = Quat::from_rotation_y(0.3 * lean);
    let mut arms = [[Vec3::ZERO; 4]; 2];
    let mut legs = [[Vec3::ZERO; 3]; 2];
    let mut feet = [Quat::IDENTITY; 2];
    for side in 0..2 {
        let s = SIDES[side];
        let shoulder = shoulder_at(lean, side);
        let mut wrist = wrist_target(side);
        let reach = d.upper_arm + d.forearm;
        if (wrist - shoulder).length() > reach {
            wrist = shoulder + (wrist - shoulder).normalize() * reach;
        }
        let elbow = two_bone(
            shoulder,
            wrist,
            d.upper_arm,
            d.forearm,
            Vec3::new(-0.6, 0.45 * s, -0.65),
        );
        let tip = grip(side) + Vec3::new(0.3 * hand, 0.0, -0.35 * hand);
        arms[side] = [shoulder, elbow, wrist, tip];
        let hip = pelvis + Vec3::new(0.0, s * d.hip_y, 0.0);
        let ankle = ankle_on_pedal(d, bike, phase, side);
        let knee = two_bone(hip, ankle, d.thigh, d.shank, Vec3::new(1.0, 0.2 * s, 0.3));
        legs[side] = [hip, knee, ankle];
        feet[side] = foot_rot(pedalling_pitch(phase, side));
    }
    (
        Pose {
            pelvis,
            torso,
            head,
            arms,
            legs,
            feet,
        },
        saddle,
    )
}

/// A torus around the y axis (a tyre or a rim) centred at `c`.
fn torus_y(m: &mut Mesh, c: Vec3, major: f32, minor: f32, (nu, nv): (u32, u32), paint: Paint) {
    let p = |i: u32, j: u32| {
        let a = TAU * i as f32 / nu as f32;
        let b = TAU * j as f32 / nv as f32;
        let r = major + minor * b.cos();
        c + Vec3::new(r * a.cos(), minor * b.sin(), r * a.sin())
    };
    for i in 0..nu {
        for j in 0..nv {
            m.quad(
                p(i, j),
                p(i + 1, j),
                p(i + 1, j + 1),
                p(i, j + 1),
                paint.material,
                paint.class,
            );
        }
    }
}

fn bike_wheel(m: &mut Mesh, bike: &Bike, axle: Vec3, spin: f32, class: Class) {
    let k = bike.k;
    let tyre = Paint {
        material: mat("rubber"),
        class,
    };
    let alloy = Paint {
        material: mat("rim_alloy"),
        class,
    };
    // 20 segments put a vertex straight below the axle: the tyre touches z = 0 exactly.
    torus_y(
        m,
        axle,
        bike.wheel_r - bike.tyre_r,
        bike.tyre_r,
        (20, 6),
        tyre,
    );
    let rim_major = bike.wheel_r - 2.0 * bike.tyre_r - 0.006 * k;
    torus_y(m, axle, rim_major, 0.007 * k, (20, 4), alloy);
    tube(
        m,
        (axle - Vec3::Y * 0.05 * k, 0.022 * k),
        (axle + Vec3::Y * 0.05 * k, 0.022 * k),
        6,
        true,
        alloy,
    );
    for i in 0..SPOKES {
        let a = spin + TAU * i as f32 / SPOKES as f32;
        let radial = Vec3::new(a.cos(), 0.0, a.sin());
        let flange = Vec3::Y * if i % 2 == 0 { 0.03 } else { -0.03 } * k;
        tube(
            m,
            (axle + flange + radial * 0.02 * k, 0.0025 * k),
            (axle + radial * (rim_major - 0.007 * k), 0.0025 * k),
            3,
            false,
            alloy,
        );
    }
}

fn bike_mesh(bike: &Bike, saddle: Vec3, phase: f32, class: Class) -> Mesh {
    let mut m = Mesh::default();
    let k = bike.k;
    let metal = Paint {
        material: mat("pole_metal"),
        class,
    };
    let alloy = Paint {
        material: mat("rim_alloy"),
        class,
    };
    let black = Paint {
        material: mat("trim_black"),
        class,
    };
    let spin = -TAU * GEAR_RATIO * phase;
    bike_wheel(&mut m, bike, bike.rear, spin, class);
    bike_wheel(&mut m, bike, bike.front, spin, class);

    let y = |v: f32| Vec3::Y * v * k;
    let mut bar = |a: Vec3, b: Vec3, r: f32, paint: Paint| {
        tube(&mut m, (a, r * k), (b, r * k), 6, false, paint)
    };
    bar(
        bike.bb,
        bike.seat_cluster + bike.seat_dir * 0.02 * k,
        0.015,
        metal,
    );
    bar(
        bike.seat_cluster,
        bike.head_top - bike.steer_dir * 0.03 * k,
        0.014,
        metal,
    );
    bar(
        bike.bb,
        bike.head_bottom + bike.steer_dir * 0.03 * k,
        0.018,
        metal,
    );
    bar(bike.head_bottom, bike.head_top, 0.02, metal);
    for s in SIDES {
        bar(
            bike.seat_cluster - bike.seat_dir * 0.03 * k,
            bike.rear + y(0.06 * s),
            0.008,
            metal,
        );
        bar(bike.bb + y(0.03 * s), bike.rear + y(0.06 * s), 0.009, metal);
        bar(
            bike.head_bottom + y(0.045 * s),
            bike.front + y(0.05 * s),
            0.011,
            metal,
        );
    }
    bar(bike.head_top, bike.bar, 0.014, metal);
    bar(
        bike.bar - Vec3::Y * bike.bar_half_w,
        bike.bar + Vec3::Y * bike.bar_half_w,
        0.011,
        metal,
    );
    for s in SIDES {
        bar(
            bike.bar + Vec3::Y * s * (bike.grip_y - 0.05 * k),
            bike.bar + Vec3::Y * s * bike.bar_half_w,
            0.017,
            black,
        );
    }
    bar(
        bike.seat_cluster - bike.seat_dir * 0.05 * k,
        saddle - Vec3::Z * 0.03 * k,
        0.0135,
        metal,
    );
    // Bottom bracket, chainring, cranks and pedals.
    tube(
        &mut m,
        (bike.bb - y(0.04), 0.02 * k),
        (bike.bb + y(0.04), 0.02 * k),
        6,
        true,
        metal,
    );
    m.wheel(
        bike.bb - y(0.055),
        0.1 * k,
        0.004 * k,
        0.0,
        alloy.material,
        class,
    );
    for (side, &s) in SIDES.iter().enumerate() {
        let spindle = bike.spindle(phase, side);
        tube(
            &mut m,
            (bike.bb + y(0.075 * s), 0.011 * k),
            (spindle, 0.011 * k),
            6,
            false,
            alloy,
        );
        tube(
            &mut m,
            (spindle, 0.005 * k),
            (Vec3::new(spindle.x, s * bike.pedal_y, spindle.z), 0.005 * k),
            6,
            false,
            alloy,
        );
        m.oriented_box(
            Vec3::new(spindle.x, s * bike.pedal_y, spindle.z - bike.pedal_half_t),
            Vec3::new(0.10 * k, 0.08 * k, 2.0 * bike.pedal_half_t),
            0.0,
            black.material,
            black.material,
            class,
        );
    }
    let saddle_radii = Vec3::new(0.13, 0.07, 0.028) * k;
    ellipsoid(
        &mut m,
        saddle - Vec3::new(0.02 * k, 0.0, saddle_radii.z),
        Quat::IDENTITY,
        saddle_radii,
        (10, 5),
        PI,
        black,
    );
    m
}

/// A cyclist on a bicycle at pedal phase `phase` in [0, 1) (right crank forward at 0): the
/// bicycle (two ≈ 0.66 m wheels as rubber tyre rings with thin rim_alloy rims, hubs and spokes
/// turning with the phase; a pole_metal diamond frame, fork, handlebar with grips, saddle,
/// chainring, cranks and pedals turning with the phase), the rider seated with the hands on the
/// grips and the feet on the pedals. Class Cyclist on all triangles. Same actor frame as
/// [`pedestrian_mesh`]; the wheels touch z = 0.
pub fn cyclist_mesh(p: &Person, phase: f32) -> Mesh {
    let phase = phase.rem_euclid(1.0);
    let d = Dims::of(p);
    let bike = Bike::for_rider(p);
    let (pose, saddle) = cycling_pose(&d, &bike, phase);
    let mut m = bike_mesh(&bike, saddle, phase, Class::Cyclist);
    m.append(&body_mesh(p, &d, &pose, Class::Cyclist));
    m
}

/// The tight box (length along x, width along y, height) of a mesh about the actor origin:
/// (2·max|x|, 2·max|y|, max z): the label box a KITTI annotator would draw centred on the origin.
pub fn label_box(m: &Mesh) -> (f32, f32, f32) {
    let (mut ax, mut ay, mut mz) = (0.0f32, 0.0f32, 0.0f32);
    for v in m.tris.iter().flatten() {
        ax = ax.max(v.x.abs());
        ay = ay.max(v.y.abs());
        mz = mz.max(v.z);
    }
    (2.0 * ax, 2.0 * ay, mz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SceneRng;

    fn people(n: usize, seed: u64) -> Vec<Person> {
        let mut rng = SceneRng::new(seed, 0);
        let mut u = move || rng.next_f32();
        (0..n).map(|_| Person::sample(&mut u)).collect()
    }

    fn adult(sex: Sex, stature_m: f32) -> Person {
        Person {
            age: AgeGroup::Adult,
            sex,
            build: Build::Average,
            stature_m,
            skin: mat("skin"),
            hair: mat("hair_dark"),
            top: mat("clothing_dark"),
            bottom: mat("denim"),
            shoes: mat("shoe_black"),
        }
    }

    fn centroid(t: &[Vec3; 3]) -> Vec3 {
        (t[0] + t[1] + t[2]) / 3.0
    }

    fn min_z<'a>(tris: impl Iterator<Item = &'a [Vec3; 3]>) -> f32 {
        tris.flatten().map(|v| v.z).fold(f32::INFINITY, f32::min)
    }

    /// Shoe triangles of one side (0 left, 1 right).
    fn shoe<'a>(m: &'a Mesh, p: &Person, side: usize) -> impl Iterator<Item = &'a [Vec3; 3]> {
        let h = p.stature_m;
        m.tris
            .iter()
            .zip(&m.material)
            .filter(move |&(t, &mt)| {
                let c = centroid(t);
                mt == p.shoes && c.z < 0.2 * h && c.y * SIDES[side] > 0.0
            })
            .map(|(t, _)| t)
    }

    fn x_range<'a>(tris: impl Iterator<Item = &'a [Vec3; 3]>) -> (f32, f32) {
        tris.flatten()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v.x), hi.max(v.x))
            })
    }

    #[test]
    fn sampled_pedestrians_are_whole_grounded_and_within_budget() {
        for p in people(200, 11) {
            let h = p.stature_m;
            let hair = Dims::of(&p).hair;
            for k in 0..8 {
                let phase = k as f32 / 8.0;
                let m = pedestrian_mesh(&p, phase);
                let what = format!("{p:?} at phase {phase}");
                assert!(
                    m.len() <= PEDESTRIAN_TRIANGLE_BUDGET,
                    "{} tris: {what}",
                    m.len()
                );
                assert!(m.class.iter().all(|&c| c == Class::Pedestrian), "{what}");
                assert!(
                    m.tris.iter().flatten().all(|v| v.is_finite()),
                    "NaN: {what}"
                );
                let (lo, hi) = m.bounds();
                assert!(lo.z.abs() <= 0.001, "min z {}: {what}", lo.z);
                assert!(
                    hi.z >= 0.98 * h && hi.z <= 1.02 * h + hair,
                    "max z {} for stature {h}: {what}",
                    hi.z
                );
                let parts = |f: &dyn Fn(&[Vec3; 3], u32) -> bool| {
                    m.tris
                        .iter()
                        .zip(&m.material)
                        .filter(|(t, mt)| f(t, **mt))
                        .count()
                };
                let head =
                    parts(&|t, mt| (mt == p.skin || mt == p.hair) && centroid(t).z > 0.85 * h);
                assert!(head > 0, "no head: {what}");
                let feet = parts(&|t, mt| mt == p.shoes && centroid(t).z < 0.06 * h);
                assert!(feet > 0, "no shoes: {what}");
                for s in SIDES {
                    let arm = parts(&|t, mt| {
                        let c = centroid(t);
                        (mt == p.top || mt == p.skin)
                            && c.y * s > 0.12 * h
                            && (0.45 * h..0.82 * h).contains(&c.z)
                    });
                    assert!(arm > 10, "no arm on side {s}: {what}");
                }
            }
        }
    }

    #[test]
    fn stature_statistics_follow_the_reference() {
        let ps = people(3_000, 5);
        let mean = |f: &dyn Fn(&Person) -> bool| {
            let v: Vec<f32> = ps
                .iter()
                .filter(|p| f(p))
                .map(|p| p.stature_m * 100.0)
                .collect();
            (v.iter().sum::<f32>() / v.len() as f32, v.len())
        };
        let (men, n_men) = mean(&|p| p.age == AgeGroup::Adult && p.sex == Sex::Male);
        let (women, n_women) = mean(&|p| p.age == AgeGroup::Adult && p.sex == Sex::Female);
        let (elderly_men, _) = mean(&|p| p.age == AgeGroup::Elderly && p.sex == Sex::Male);
        let (children, n_children) = mean(&|p| p.age == AgeGroup::Child);
        assert!((men - 179.0).abs() < 1.5, "men {men} cm (n = {n_men})");
        assert!(
            (women - 166.0).abs() < 1.5,
            "women {women} cm (n = {n_women})"
        );
        assert!(
            elderly_men < men - 2.0,
            "elderly men {elderly_men} vs {men}"
        );
        // Age group shares 15 / 70 / 15 %: binomial SD at n = 3000 is ≈ 0.65 / 0.84 points.
        let share = |n: usize| n as f32 / ps.len() as f32;
        assert!(
            (share(n_children) - 0.15).abs() < 0.025,
            "{n_children} children"
        );
        assert!((share(n_men + n_women) - 0.70).abs() < 0.03);
        assert!(
            (120.0..140.0).contains(&children),
            "children mean {children}"
        );
        for p in &ps {
            if p.age == AgeGroup::Child {
                assert!((0.95..1.55).contains(&p.stature_m), "{p:?}");
            }
        }
        // Men's SD ≈ 7 cm (clipped at ±3 SD barely changes it).
        let men_h: Vec<f32> = ps
            .iter()
            .filter(|p| p.age == AgeGroup::Adult && p.sex == Sex::Male)
            .map(|p| p.stature_m * 100.0)
            .collect();
        let var = men_h.iter().map(|h| (h - men).powi(2)).sum::<f32>() / men_h.len() as f32;
        assert!((var.sqrt() - 7.0).abs() < 0.6, "men SD {}", var.sqrt());
        // Mostly dark, muted clothes.
        let dark = ps
            .iter()
            .filter(|p| [mat("clothing_dark"), mat("denim"), mat("clothing_blue")].contains(&p.top))
            .count();
        assert!(share(dark) > 0.5, "{dark} dark tops");
    }

    #[test]
    fn gait_speed_stride_and_cadence() {
        for p in people(300, 8) {
            let v = p.walking_speed_m_per_s();
            let range = match p.age {
                AgeGroup::Adult => 1.2..=1.4,
                AgeGroup::Elderly => 0.9..=1.1,
                AgeGroup::Child => 1.0..=1.25,
            };
            assert!(
                v >= range.start() - 1e-4 && v <= range.end() + 1e-4,
                "{v} m/s for {p:?}"
            );
            let cadence = p.cadence_steps_per_min();
            assert!(
                (85.0..150.0).contains(&cadence),
                "{cadence} steps/min for {p:?}"
            );
            assert_eq!(p.stride_m(), 2.0 * p.step_length_m());
        }
        let step = adult(Sex::Male, 1.79).step_length_m();
        assert!((step - 0.43 * 1.79).abs() < 1e-6);
    }

    #[test]
    fn feet_alternate_lift_and_stay_put_in_the_world() {
        let mut cases = vec![adult(Sex::Male, 1.79), adult(Sex::Female, 1.66)];
        cases.extend(people(40, 21));
        for p in cases {
            let stride = p.stride_m();
            let m0 = pedestrian_mesh(&p, 0.0);
            let (lo, hi) = x_range(shoe(&m0, &p, 0).chain(shoe(&m0, &p, 1)));
            assert!(
                hi - lo > 0.5 * stride,
                "feet span {} < step {}: {p:?}",
                hi - lo,
                0.5 * stride
            );
            // Foot centres swap sides between the two double supports.
            let centre = |m: &Mesh, side| {
                let (lo, hi) = x_range(shoe(m, &p, side));
                0.5 * (lo + hi)
            };
            let m5 = pedestrian_mesh(&p, 0.5);
            let (l0, r0, l5, r5) = (
                centre(&m0, 0),
                centre(&m0, 1),
                centre(&m5, 0),
                centre(&m5, 1),
            );
            assert!(
                r0 > 0.0 && l0 < 0.0,
                "phase 0: left {l0}, right {r0}: {p:?}"
            );
            assert!(
                l5 > 0.0 && r5 < 0.0,
                "phase 0.5: left {l5}, right {r5}: {p:?}"
            );
            // Mid-swing: one foot lifted, the other on the ground.
            for (phase, up, down) in [(0.25, 0, 1), (0.75, 1, 0)] {
                let m = pedestrian_mesh(&p, phase);
                let (zu, zd) = (min_z(shoe(&m, &p, up)), min_z(shoe(&m, &p, down)));
                assert!(zu > 0.01, "phase {phase}: swing foot at {zu}: {p:?}");
                assert!(
                    zd.abs() < 0.001,
                    "phase {phase}: stance foot at {zd}: {p:?}"
                );
            }
            // While the right foot lies flat (phase 0.1–0.35) it stays put in the world: its
            // actor-frame x recedes by exactly the distance walked (stride × phase).
            let world_heel = |phase: f32| {
                let m = pedestrian_mesh(&p, phase);
                x_range(shoe(&m, &p, 1)).0 + stride * phase
            };
            let (a, b) = (world_heel(0.12), world_heel(0.33));
            assert!((a - b).abs() < 0.002, "stance foot slid {} m: {p:?}", a - b);
        }
    }

    #[test]
    fn knees_bend_in_swing_and_arms_swing_against_the_legs() {
        let p = adult(Sex::Female, 1.66);
        let d = Dims::of(&p);
        let mut max_flex = 0.0f32;
        for k in 0..40 {
            let pose = walking_pose(&p, &d, k as f32 / 40.0);
            for [hip, knee, ankle] in pose.legs {
                let flex = (knee - hip).angle_between(ankle - knee).to_degrees();
                max_flex = max_flex.max(flex);
            }
        }
        assert!(
            (50.0..75.0).contains(&max_flex),
            "peak knee flexion {max_flex}°"
        );
        // At phase 0 the right foot leads, so the left hand leads.
        let pose = walking_pose(&p, &d, 0.0);
        let (left_hand, right_hand) = (pose.arms[0][3], pose.arms[1][3]);
        assert!(
            left_hand.x > 0.1 && right_hand.x < 0.0,
            "{left_hand} {right_hand}"
        );
    }

    #[test]
    fn label_box_matches_kitti_pedestrians() {
        for p in [adult(Sex::Female, 1.66), adult(Sex::Male, 1.76)] {
            let m = pedestrian_mesh(&p, 0.0);
            let (l, w, h) = label_box(&m);
            assert!((0.5..=1.0).contains(&l), "length {l}: {p:?}");
            assert!((0.45..=0.75).contains(&w), "width {w}: {p:?}");
            assert_eq!(h, m.bounds().1.z);
            // Over a whole cycle the box length averages near KITTI's 0.84 ± 0.23 m.
            let mean_l = (0..16)
                .map(|k| label_box(&pedestrian_mesh(&p, k as f32 / 16.0)).0)
                .sum::<f32>()
                / 16.0;
            assert!((0.6..0.95).contains(&mean_l), "mean length {mean_l}: {p:?}");
        }
    }

    #[test]
    fn cyclist_box_wheels_and_pedals() {
        let black = mat("trim_black");
        let rubber = mat("rubber");
        for p in [adult(Sex::Female, 1.66), adult(Sex::Male, 1.79)] {
            let m0 = cyclist_mesh(&p, 0.0);
            assert!(m0.len() <= CYCLIST_TRIANGLE_BUDGET, "{} tris", m0.len());
            assert!(m0.class.iter().all(|&c| c == Class::Cyclist));
            let (l, w, h) = label_box(&m0);
            assert!((1.6..=1.9).contains(&l), "length {l}: {p:?}");
            assert!((1.5..=1.9).contains(&h), "height {h}: {p:?}");
            assert!((0.5..=0.8).contains(&w), "width {w}: {p:?}");
            for (name, front) in [("rear", false), ("front", true)] {
                let tyre = m0
                    .tris
                    .iter()
                    .zip(&m0.material)
                    .filter(|(t, mt)| **mt == rubber && (centroid(t).x > 0.0) == front)
                    .map(|(t, _)| t);
                let z = min_z(tyre);
                assert!(z.abs() < 0.001, "{name} wheel lowest at {z}");
            }
            assert!(m0.bounds().0.z > -0.001);
            // Right pedal: the black triangles low on the right side.
            let pedal_x = |m: &Mesh| {
                let (lo, hi) = x_range(
                    m.tris
                        .iter()
                        .zip(&m.material)
                        .filter(|(t, mt)| {
                            let c = centroid(t);
                            **mt == black && c.y < 0.0 && c.z < 0.5
                        })
                        .map(|(t, _)| t),
                );
                0.5 * (lo + hi)
            };
            let (x0, x5) = (pedal_x(&m0), pedal_x(&cyclist_mesh(&p, 0.5)));
            assert!(x0 - x5 >= 0.25, "pedal x {x0} at 0 vs {x5} at 0.5");
            // Hands on the grips and soles on the pedals at every phase.
            let d = Dims::of(&p);
            let bike = Bike::for_rider(&p);
            for k in 0..8 {
                let phase = k as f32 / 8.0;
                let (pose, _) = cycling_pose(&d, &bike, phase);
                for (side, &s) in SIDES.iter().enumerate() {
                    let grip = bike.bar + Vec3::Y * s * bike.grip_y;
                    let hand = pose.arms[side][2].lerp(pose.arms[side][3], 0.5);
                    assert!(hand.distance(grip) < 0.05, "hand {hand} vs grip {grip}");
                    let [hip, knee, ankle] = pose.legs[side];
                    let on_pedal = ankle_on_pedal(&d, &bike, phase, side);
                    assert!(ankle.distance(on_pedal) < 1e-3, "foot off the pedal");
                    assert!((knee.distance(hip) - d.thigh).abs() < 1e-3);
                    assert!((knee.distance(ankle) - d.shank).abs() < 1e-3);
                }
            }
        }
    }

    #[test]
    fn sampled_cyclists_are_finite_grounded_and_within_budget() {
        for p in people(100, 3) {
            for k in 0..4 {
                let m = cyclist_mesh(&p, k as f32 / 4.0);
                assert!(m.len() <= CYCLIST_TRIANGLE_BUDGET, "{} tris", m.len());
                assert!(m.tris.iter().flatten().all(|v| v.is_finite()), "{p:?}");
                let (lo, hi) = m.bounds();
                assert!(lo.z.abs() < 0.001, "min z {}: {p:?}", lo.z);
                assert!(hi.z < 1.25 * p.stature_m, "max z {}: {p:?}", hi.z);
            }
        }
    }
}
