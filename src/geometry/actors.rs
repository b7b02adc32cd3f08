//! Low-poly actor meshes with real proportions, in the actor frame: x forward, y left, z up,
//! origin on the ground at the centre of the footprint. Every triangle lies inside the box
//! (±length/2, ±width/2, 0..height), which is the actor's 3D label box.

use glam::Vec3;

use super::materials::id as mat;
use super::mesh::Mesh;
use crate::labels::Class;
use crate::scenario::ActorKind;

pub fn class_of(kind: ActorKind) -> Class {
    match kind {
        ActorKind::Car => Class::Car,
        ActorKind::Van => Class::Van,
        ActorKind::Truck => Class::Truck,
        ActorKind::Bus => Class::Bus,
        ActorKind::Pedestrian => Class::Pedestrian,
        ActorKind::Cyclist => Class::Cyclist,
    }
}

pub fn default_material(kind: ActorKind) -> &'static str {
    match kind {
        ActorKind::Car => "paint_silver",
        ActorKind::Van => "paint_white",
        ActorKind::Truck => "paint_blue",
        ActorKind::Bus => "paint_yellow",
        ActorKind::Pedestrian => "clothing_light",
        ActorKind::Cyclist => "clothing_dark",
    }
}

/// How far a tyre's outer face sits inside the body's side, metres.
const WHEEL_INSET_M: f32 = 0.01;

/// Builds the mesh of an actor of `kind` with size (length, width, height) and body material.
pub fn actor_mesh(kind: ActorKind, size: (f32, f32, f32), body: u32) -> Mesh {
    let (l, w, h) = size;
    let class = class_of(kind);
    let mut m = Mesh::default();
    match kind {
        ActorKind::Car | ActorKind::Van | ActorKind::Truck | ActorKind::Bus => {
            let r = (0.22 * h).clamp(0.25, 0.55).min(0.2 * l);
            let tyre_w = (0.12 * w).min(0.35);
            let axle_x = 0.5 * l - 1.2 * r - 0.1 * l;
            // Tyres sit 1 cm inside the body's side, so where they overlap it the body hides
            // them: coplanar faces of two materials would z-fight, and which one a ray meets
            // would then hang on rounding.
            let wheel_y = 0.5 * w - 0.5 * tyre_w - WHEEL_INSET_M;
            for (sx, sy) in [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)] {
                m.wheel(
                    Vec3::new(sx * axle_x, sy * wheel_y, r),
                    r,
                    tyre_w,
                    0.0,
                    mat("rubber"),
                    class,
                );
            }
            let body_bottom = 0.6 * r;
            match kind {
                ActorKind::Car => {
                    let belt = 0.62 * h;
                    m.oriented_box(
                        Vec3::new(0.0, 0.0, body_bottom),
                        Vec3::new(l, w, belt - body_bottom),
                        0.0,
                        body,
                        body,
                        class,
                    );
                    // Cabin: glass sides, painted roof, set back from the bonnet.
                    let cabin_l = 0.5 * l;
                    m.oriented_box(
                        Vec3::new(-0.08 * l, 0.0, belt),
                        Vec3::new(cabin_l, 0.88 * w, h - belt),
                        0.0,
                        mat("glass"),
                        body,
                        class,
                    );
                }
                ActorKind::Van => {
                    let belt = 0.5 * h;
                    m.oriented_box(
                        Vec3::new(0.0, 0.0, body_bottom),
                        Vec3::new(l, w, belt - body_bottom),
                        0.0,
                        body,
                        body,
                        class,
                    );
                    m.oriented_box(
                        Vec3::new(-0.1 * l, 0.0, belt),
                        Vec3::new(0.8 * l, w, h - belt),
                        0.0,
                        body,
                        body,
                        class,
                    );
                    m.oriented_box(
                        Vec3::new(0.33 * l, 0.0, belt),
                        Vec3::new(0.06 * l, 0.9 * w, 0.75 * (h - belt)),
                        0.0,
                        mat("glass"),
                        body,
                        class,
                    );
                }
                ActorKind::Truck => {
                    let cab_l = 0.25 * l;
                    m.oriented_box(
                        Vec3::new(0.5 * l - 0.5 * cab_l, 0.0, body_bottom),
                        Vec3::new(cab_l, w, 0.85 * h - body_bottom),
                        0.0,
                        body,
                        body,
                        class,
                    );
                    let cargo_l = 0.72 * l;
                    m.oriented_box(
                        Vec3::new(-0.5 * l + 0.5 * cargo_l, 0.0, body_bottom),
                        Vec3::new(cargo_l, w, h - body_bottom),
                        0.0,
                        mat("paint_white"),
                        mat("paint_white"),
                        class,
                    );
                }
                _ => {
                    // Bus: one body with a band of windows.
                    m.oriented_box(
                        Vec3::new(0.0, 0.0, body_bottom),
                        Vec3::new(l, w, 0.55 * h - body_bottom),
                        0.0,
                        body,
                        body,
                        class,
                    );
                    m.oriented_box(
                        Vec3::new(0.0, 0.0, 0.55 * h),
                        Vec3::new(l, w, 0.3 * h),
                        0.0,
                        mat("glass"),
                        body,
                        class,
                    );
                    m.oriented_box(
                        Vec3::new(0.0, 0.0, 0.85 * h),
                        Vec3::new(l, w, 0.15 * h),
                        0.0,
                        body,
                        body,
                        class,
                    );
                }
            }
        }
        ActorKind::Pedestrian => {
            let leg_h = 0.47 * h;
            let leg_w = (0.28 * w).min(0.16);
            for sy in [-1.0, 1.0] {
                m.oriented_box(
                    Vec3::new(0.0, sy * 0.22 * w, 0.0),
                    Vec3::new(0.5 * l, leg_w, leg_h),
                    0.0,
                    mat("clothing_dark"),
                    mat("clothing_dark"),
                    class,
                );
            }
            let torso_h = 0.35 * h;
            m.oriented_box(
                Vec3::new(0.0, 0.0, leg_h),
                Vec3::new(0.55 * l, 0.9 * w, torso_h),
                0.0,
                body,
                body,
                class,
            );
            let head = (0.13 * h).min(0.25);
            m.oriented_box(
                Vec3::new(0.0, 0.0, h - head),
                Vec3::new(head, head, head),
                0.0,
                mat("skin"),
                mat("skin"),
                class,
            );
        }
        ActorKind::Cyclist => {
            // Bicycle: two wheels (thin, upright, along x) and a frame; the rider above.
            let r = (0.19 * l).min(0.36);
            for sx in [-1.0, 1.0] {
                m.oriented_box(
                    Vec3::new(sx * (0.5 * l - r), 0.0, 0.0),
                    Vec3::new(2.0 * r, 0.05, 2.0 * r),
                    0.0,
                    mat("rubber"),
                    mat("rubber"),
                    class,
                );
            }
            m.oriented_box(
                Vec3::new(0.0, 0.0, r),
                Vec3::new(l - 2.2 * r, 0.06, 0.5 * r),
                0.0,
                mat("pole_metal"),
                mat("pole_metal"),
                class,
            );
            let seat = 0.5 * h;
            for sy in [-1.0, 1.0] {
                m.oriented_box(
                    Vec3::new(0.0, sy * 0.15 * w, 0.6 * r),
                    Vec3::new(0.15, 0.12, seat - 0.6 * r),
                    0.0,
                    mat("clothing_dark"),
                    mat("clothing_dark"),
                    class,
                );
            }
            m.oriented_box(
                Vec3::new(0.05 * l, 0.0, seat),
                Vec3::new(0.35, 0.8 * w, 0.33 * h),
                0.0,
                body,
                body,
                class,
            );
            let head = (0.13 * h).min(0.25);
            m.oriented_box(
                Vec3::new(0.08 * l, 0.0, h - head),
                Vec3::new(head, head, head),
                0.0,
                mat("skin"),
                mat("skin"),
                class,
            );
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_actor_mesh_fits_its_label_box() {
        for kind in [
            ActorKind::Car,
            ActorKind::Van,
            ActorKind::Truck,
            ActorKind::Bus,
            ActorKind::Pedestrian,
            ActorKind::Cyclist,
        ] {
            let (l, w, h) = kind.default_size_m();
            let m = actor_mesh(kind, (l, w, h), mat("paint_red"));
            let (lo, hi) = m.bounds();
            let eps = 1e-4;
            assert!(
                lo.x >= -l / 2.0 - eps && hi.x <= l / 2.0 + eps,
                "{kind:?} x {lo} {hi}"
            );
            assert!(
                lo.y >= -w / 2.0 - eps && hi.y <= w / 2.0 + eps,
                "{kind:?} y {lo} {hi}"
            );
            assert!(lo.z >= -eps && hi.z <= h + eps, "{kind:?} z {lo} {hi}");
            // The mesh fills its box: height within 10%, and vehicles their length too.
            assert!(hi.z - lo.z > 0.9 * h, "{kind:?} does not fill its box");
            if class_of(kind) != Class::Pedestrian {
                assert!(hi.x - lo.x > 0.9 * l, "{kind:?} does not fill its box");
            }
        }
    }
}
