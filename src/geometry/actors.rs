//! Actors' looks: which procedural vehicle (vehicles.rs) or person (people.rs) an actor is, in
//! the actor frame (x forward, y left, z up, origin on the ground at the centre of the
//! footprint). Every triangle lies inside the label box (±length/2, ±width/2, 0..height), which
//! is the mesh's tight box.

use glam::Vec3;

use super::imported::Model;
use super::mesh::Mesh;
use super::people::{Person, cyclist_mesh, label_box, pedestrian_mesh};
use super::vehicles::{BodyType, VehicleShape, paint_for, vehicle_mesh};
use crate::classes::Class;
use crate::rng::{hash3, u01};
use crate::scenario::ActorKind;
use crate::scenario::materials::id as mat;

pub fn class_of(kind: ActorKind) -> Class {
    match kind {
        ActorKind::Car => Class::Car,
        ActorKind::Van => Class::Van,
        ActorKind::Truck => Class::Truck,
        ActorKind::Bus => Class::Bus,
        ActorKind::Pedestrian => Class::Pedestrian,
        ActorKind::Cyclist => Class::Cyclist,
        ActorKind::Target => Class::Wall,
    }
}

/// Shape variants drawn per vehicle body type and per person kind: actors share the meshes
/// (BLASes) of their variant, so memory stays flat however many actors a scene has, while a
/// street still shows a mix of sizes, body types and colours.
pub const VEHICLE_VARIANTS: u32 = 4;
pub const PERSON_VARIANTS: u32 = 12;
/// Poses per walking or pedalling cycle.
pub const GAIT_PHASES: u32 = 8;
/// A bicycle's distance per crank turn, metres (a 44/16 gear on a 2.1 m wheel: 5.8 m).
const CYCLE_DEVELOPMENT_M: f32 = 5.5;

/// What decides an actor's look. Actors with equal keys share their meshes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LookKey {
    Vehicle {
        class: Class,
        body: BodyType,
        /// The variant drawn, or the explicit size's bits when the scenario gives one.
        shape: ShapeChoice,
        paint: u32,
    },
    /// A plain box (`ActorKind::Target`).
    Target { size: [u32; 3], material: u32 },
    /// An imported model (index into the simulation's models), its class and the scenario's
    /// size (bits) when given.
    Imported {
        model: u32,
        class: Class,
        size: Option<[u32; 3]>,
    },
    Person {
        cyclist: bool,
        variant: u32,
        /// The scenario's stature (bits) and clothing material, when it gives them.
        stature_bits: Option<u32>,
        top: Option<u32>,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ShapeChoice {
    Variant(u32),
    Size([u32; 3]),
}

/// An actor's meshes: one for a vehicle, one per gait phase for people; the label box (length,
/// width, height) of each; the distance per gait cycle (0 for vehicles).
pub struct ActorLook {
    pub meshes: Vec<Mesh>,
    pub sizes_m: Vec<Vec3>,
    pub cycle_m: f32,
}

/// A uniform number in [0, 1) from a seed and a draw index.
fn draw(seed: u32, k: u32) -> f32 {
    u01(hash3(seed, k, 0x100C))
}

/// The key of an actor's look: its kind, the scenario's size and material when given, and
/// otherwise draws from `seed` (body type by the KITTI-era mix, shape variant, paint by the
/// colour mix of real traffic).
pub fn look_key(
    kind: ActorKind,
    size_m: Option<(f32, f32, f32)>,
    material: Option<u32>,
    seed: u32,
) -> LookKey {
    let bits = |s: (f32, f32, f32)| [s.0.to_bits(), s.1.to_bits(), s.2.to_bits()];
    match kind {
        ActorKind::Target => LookKey::Target {
            size: bits(size_m.unwrap_or_else(|| kind.default_size_m())),
            material: material.unwrap_or_else(|| mat("wall_target")),
        },
        ActorKind::Pedestrian | ActorKind::Cyclist => LookKey::Person {
            cyclist: kind == ActorKind::Cyclist,
            variant: (draw(seed, 1) * PERSON_VARIANTS as f32) as u32 % PERSON_VARIANTS,
            stature_bits: size_m.map(|s| s.2.to_bits()),
            top: material,
        },
        _ => {
            let body = match kind {
                ActorKind::Van => BodyType::Van,
                ActorKind::Truck => BodyType::BoxTruck,
                ActorKind::Bus => BodyType::Bus,
                // Class Car: the KITTI-era mix without vans (KITTI labels those Van).
                _ => {
                    let cars: Vec<(BodyType, f32)> = BodyType::kitti_car_mix()
                        .iter()
                        .copied()
                        .filter(|(b, _)| *b != BodyType::Van)
                        .collect();
                    BodyType::pick(&cars, draw(seed, 2))
                }
            };
            LookKey::Vehicle {
                class: class_of(kind),
                body,
                shape: match size_m {
                    Some(s) => ShapeChoice::Size(bits(s)),
                    None => ShapeChoice::Variant(
                        (draw(seed, 3) * VEHICLE_VARIANTS as f32) as u32 % VEHICLE_VARIANTS,
                    ),
                },
                paint: material.unwrap_or_else(|| mat(paint_for(draw(seed, 4)))),
            }
        }
    }
}

/// An imported model's look: scaled uniformly so that its rest pose fits `size_m` (touching
/// it on at least one axis) when given, else at the file's scale; each pose centred on its
/// footprint and standing on z = 0, so that its label box is its tight box.
pub fn imported_look(look: &ModelLook, class: Class, size_m: Option<[f32; 3]>) -> ActorLook {
    let model = &look.model;
    let extent = |tris: &[[Vec3; 3]]| {
        let (mut lo, mut hi) = (Vec3::splat(f32::INFINITY), Vec3::splat(f32::NEG_INFINITY));
        for p in tris.iter().flatten() {
            lo = lo.min(*p);
            hi = hi.max(*p);
        }
        (lo, hi)
    };
    let (lo, hi) = extent(&model.poses[0]);
    let native = (hi - lo).max(Vec3::splat(1e-6));
    let scale = match size_m {
        Some([l, w, h]) => (l / native.x).min(w / native.y).min(h / native.z),
        None => 1.0,
    };
    let mut meshes = Vec::with_capacity(model.poses.len());
    let mut sizes_m = Vec::with_capacity(model.poses.len());
    for pose in &model.poses {
        let (lo, hi) = extent(pose);
        let origin = Vec3::new((lo.x + hi.x) / 2.0, (lo.y + hi.y) / 2.0, lo.z);
        let mut m = Mesh::default();
        for (t, &k) in pose.iter().zip(&model.tri_material) {
            let [a, b, c] = t.map(|p| (p - origin) * scale);
            m.tri(a, b, c, look.material_ids[k as usize], class);
        }
        sizes_m.push((hi - lo) * scale);
        meshes.push(m);
    }
    ActorLook {
        meshes,
        sizes_m,
        cycle_m: if model.poses.len() > 1 {
            look.cycle_m
        } else {
            0.0
        },
    }
}

/// A uniform stream for a variant's draws (the same for every actor of that variant).
fn variant_stream(salt: u32, variant: u32) -> impl FnMut() -> f32 {
    let mut k = 0u32;
    move || {
        k += 1;
        u01(hash3(salt, variant, k))
    }
}

/// An imported model ready to place: the pool's id of each of its materials and its distance
/// per animation cycle.
pub struct ModelLook {
    pub model: Model,
    pub material_ids: Vec<u32>,
    pub cycle_m: f32,
}

/// Builds the look `key` names (`models`: those `LookKey::Imported` indexes).
pub fn build_look(key: &LookKey, models: &[ModelLook]) -> ActorLook {
    match *key {
        LookKey::Target { size, material } => {
            let [l, w, h] = size.map(f32::from_bits);
            let mut m = Mesh::default();
            m.oriented_box(
                Vec3::ZERO,
                Vec3::new(l, w, h),
                0.0,
                material,
                material,
                Class::Wall,
            );
            ActorLook {
                meshes: vec![m],
                sizes_m: vec![Vec3::new(l, w, h)],
                cycle_m: 0.0,
            }
        }
        LookKey::Imported { model, class, size } => imported_look(
            &models[model as usize],
            class,
            size.map(|s| s.map(f32::from_bits)),
        ),
        LookKey::Vehicle {
            class,
            body,
            shape,
            paint,
        } => {
            let shape = match shape {
                ShapeChoice::Size([l, w, h]) => VehicleShape::fitted(
                    body,
                    (f32::from_bits(l), f32::from_bits(w), f32::from_bits(h)),
                ),
                ShapeChoice::Variant(v) => {
                    let mut u = variant_stream(0xB0D1 + body as u32, v);
                    VehicleShape::sample(body, &mut u)
                }
            };
            ActorLook {
                meshes: vec![vehicle_mesh(&shape, paint, class)],
                sizes_m: vec![Vec3::new(shape.length_m, shape.width_m, shape.height_m)],
                cycle_m: 0.0,
            }
        }
        LookKey::Person {
            cyclist,
            variant,
            stature_bits,
            top,
        } => {
            let mut u = variant_stream(0x9E85, variant);
            let mut person = Person::sample(&mut u);
            if let Some(h) = stature_bits {
                person.stature_m = f32::from_bits(h);
            }
            if let Some(t) = top {
                person.top = t;
            }
            let meshes: Vec<Mesh> = (0..GAIT_PHASES)
                .map(|k| {
                    let phase = k as f32 / GAIT_PHASES as f32;
                    if cyclist {
                        cyclist_mesh(&person, phase)
                    } else {
                        pedestrian_mesh(&person, phase)
                    }
                })
                .collect();
            let sizes_m = meshes
                .iter()
                .map(|m| {
                    let (l, w, h) = label_box(m);
                    Vec3::new(l, w, h)
                })
                .collect();
            ActorLook {
                meshes,
                sizes_m,
                cycle_m: if cyclist {
                    CYCLE_DEVELOPMENT_M
                } else {
                    person.stride_m()
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind's look fits its label boxes, and the label box is the mesh's tight box.
    #[test]
    fn every_look_fits_its_label_boxes() {
        let kinds = [
            ActorKind::Car,
            ActorKind::Van,
            ActorKind::Truck,
            ActorKind::Bus,
            ActorKind::Pedestrian,
            ActorKind::Cyclist,
            ActorKind::Target,
        ];
        for kind in kinds {
            for seed in 0..6 {
                let key = look_key(kind, None, None, seed);
                let look = build_look(&key, &[]);
                assert_eq!(look.meshes.len(), look.sizes_m.len());
                for (m, s) in look.meshes.iter().zip(&look.sizes_m) {
                    let (lo, hi) = m.bounds();
                    let eps = 2e-3;
                    assert!(
                        lo.x >= -s.x / 2.0 - eps && hi.x <= s.x / 2.0 + eps,
                        "{key:?}"
                    );
                    assert!(
                        lo.y >= -s.y / 2.0 - eps && hi.y <= s.y / 2.0 + eps,
                        "{key:?}"
                    );
                    assert!(
                        lo.z >= -eps && (hi.z - s.z).abs() <= eps,
                        "{key:?} {lo} {hi} {s}"
                    );
                    // Tight: the box is the mesh's extent in at least one side per axis.
                    assert!(
                        (hi.x - s.x / 2.0).abs() <= eps || (lo.x + s.x / 2.0).abs() <= eps,
                        "{key:?} x {lo} {hi} {s}"
                    );
                }
            }
        }
    }

    #[test]
    fn looks_vary_between_actors_and_repeat_for_a_seed() {
        let keys: std::collections::HashSet<LookKey> = (0..64)
            .map(|s| look_key(ActorKind::Car, None, None, s))
            .collect();
        assert!(
            keys.len() >= 12,
            "only {} car looks in 64 actors",
            keys.len()
        );
        assert_eq!(
            look_key(ActorKind::Car, None, None, 7),
            look_key(ActorKind::Car, None, None, 7)
        );
        // A scenario's explicit size and paint are kept.
        let red = mat("paint_red");
        let key = look_key(ActorKind::Car, Some((4.2, 1.7, 1.45)), Some(red), 3);
        let look = build_look(&key, &[]);
        assert_eq!(look.sizes_m[0], Vec3::new(4.2, 1.7, 1.45));
        assert!(look.meshes[0].material.contains(&red));
        // Vans are never drawn for class Car.
        assert!(keys.iter().all(|k| !matches!(
            k,
            LookKey::Vehicle {
                body: BodyType::Van,
                class: Class::Car,
                ..
            }
        )));
    }
}
