//! All meshes' BLASes in one node buffer and one triangle buffer (uploaded once), and the
//! per-frame TLAS over placed instances.

use glam::{Affine3A, Vec3};

use super::bvh::{self, Aabb};
use super::mesh::Mesh;
use crate::abi::{BvhNode, EMPTY_SLOT, GpuMaterial, Instance, Triangle, affine_rows};

/// Index of a mesh in a [`GeometryPool`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MeshId(pub u32);

#[derive(Clone, Debug)]
pub struct GeometryPool {
    /// The materials triangles name by index: `assets/materials.ron`'s table, then those of
    /// imported models.
    pub materials: Vec<GpuMaterial>,
    pub nodes: Vec<BvhNode>,
    pub triangles: Vec<Triangle>,
    /// Per mesh: root node index and object-space bounds.
    pub roots: Vec<u32>,
    pub bounds: Vec<Aabb>,
    /// Per mesh: first triangle and triangle count.
    pub tri_ranges: Vec<(u32, u32)>,
}

impl Default for GeometryPool {
    fn default() -> Self {
        GeometryPool {
            materials: crate::scenario::materials::gpu_table(),
            nodes: Vec::new(),
            triangles: Vec::new(),
            roots: Vec::new(),
            bounds: Vec::new(),
            tri_ranges: Vec::new(),
        }
    }
}

impl GeometryPool {
    /// Appends a material (an imported model's); returns its id.
    pub fn add_material(&mut self, m: GpuMaterial) -> u32 {
        self.materials.push(m);
        self.materials.len() as u32 - 1
    }

    /// Builds the mesh's BLAS and appends it; returns its id.
    pub fn add(&mut self, mesh: &Mesh) -> MeshId {
        let tri_bounds: Vec<Aabb> = mesh
            .tris
            .iter()
            .map(|t| {
                let mut b = Aabb::EMPTY;
                for p in t {
                    b.grow_point(*p);
                }
                b
            })
            .collect();
        let built = bvh::build(&tri_bounds);
        let node_base = self.nodes.len() as u32;
        let tri_base = self.triangles.len() as u32;
        self.triangles.extend(built.order.iter().map(|&i| {
            let [a, b, c] = mesh.tris[i as usize];
            Triangle {
                v0: a.to_array(),
                material: mesh.material[i as usize],
                e1: (b - a).to_array(),
                class: mesh.class[i as usize].id() as u32,
                e2: (c - a).to_array(),
                _pad: 0,
            }
        }));
        self.nodes.extend(built.nodes.iter().map(|n| {
            let mut n = *n;
            for k in 0..4 {
                match n.count[k] {
                    EMPTY_SLOT => {}
                    0 => n.child[k] += node_base,
                    _ => n.child[k] += tri_base,
                }
            }
            n
        }));
        let mut bounds = Aabb::EMPTY;
        for t in &mesh.tris {
            for p in t {
                bounds.grow_point(*p);
            }
        }
        if mesh.is_empty() {
            bounds = Aabb {
                min: Vec3::ZERO,
                max: Vec3::ZERO,
            };
        }
        self.roots.push(node_base);
        self.tri_ranges.push((tri_base, mesh.len() as u32));
        self.bounds.push(bounds);
        MeshId(self.roots.len() as u32 - 1)
    }

    pub fn triangle_count(&self) -> usize {
        self.triangles.len()
    }
}

/// A mesh placed in the world for one frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Placement {
    pub mesh: MeshId,
    pub world_from_object: Affine3A,
    /// Label instance id (0 = static world, not an object).
    pub instance_id: u32,
    /// Motion over the frame interval (world, m/s; rad/s about the object's vertical axis):
    /// the pose at time `t` from the frame time is `[Rz(ω·t)·R | p + v·t]`.
    pub velocity_m_per_s: Vec3,
    pub yaw_rate_rad_per_s: f32,
}

impl Placement {
    /// A placement that does not move.
    pub fn fixed(mesh: MeshId, world_from_object: Affine3A, instance_id: u32) -> Self {
        Placement {
            mesh,
            world_from_object,
            instance_id,
            velocity_m_per_s: Vec3::ZERO,
            yaw_rate_rad_per_s: 0.0,
        }
    }

    /// World pose `time_s` seconds from the frame time.
    pub fn world_from_object_at(&self, time_s: f32) -> Affine3A {
        moved(
            &self.world_from_object,
            self.velocity_m_per_s,
            self.yaw_rate_rad_per_s,
            time_s,
        )
    }
}

/// `world_from_object` moved along a constant twist for `time_s` seconds: the origin moves at
/// `velocity` and the body turns about its own vertical axis at `yaw_rate`.
pub fn moved(world_from_object: &Affine3A, velocity: Vec3, yaw_rate: f32, time_s: f32) -> Affine3A {
    let rot = glam::Mat3A::from_rotation_z(yaw_rate * time_s);
    Affine3A {
        matrix3: rot * world_from_object.matrix3,
        translation: world_from_object.translation + glam::Vec3A::from(velocity * time_s),
    }
}

/// World box of a mesh's object-space box under `world_from_object`.
fn world_box(b: &Aabb, world_from_object: &Affine3A) -> Aabb {
    let mut out = Aabb::EMPTY;
    for k in 0..8 {
        let c = Vec3::new(
            if k & 1 == 0 { b.min.x } else { b.max.x },
            if k & 2 == 0 { b.min.y } else { b.max.y },
            if k & 4 == 0 { b.min.z } else { b.max.z },
        );
        out.grow_point(world_from_object.transform_point3(c));
    }
    out
}

/// Pieces the swept bound of a turning instance is built from.
const SWEEP_STEPS: u32 = 8;

/// A box holding the placed mesh at every time of `window_s` (seconds from the frame time).
/// Translation only: the union of the boxes at both ends (each point moves on a segment).
/// Turning: per step, the boxes at both ends of the turn (about the origin, padded by the
/// sagitta r·(1 − cos(δ/2)) of the arcs' chords), plus the step's translation segment.
pub fn swept_bounds(b: &Aabb, p: &Placement, window_s: [f32; 2]) -> Aabb {
    let [t0, t1] = window_s;
    if (p.velocity_m_per_s == Vec3::ZERO && p.yaw_rate_rad_per_s == 0.0) || t1 <= t0 {
        return world_box(b, &p.world_from_object);
    }
    if p.yaw_rate_rad_per_s == 0.0 {
        let mut out = world_box(b, &p.world_from_object_at(t0));
        let e = world_box(b, &p.world_from_object_at(t1));
        out.grow_point(e.min);
        out.grow_point(e.max);
        return out;
    }
    let origin = Vec3::from(p.world_from_object.translation);
    let turn_only = |t: f32| {
        let mut m = moved(&p.world_from_object, Vec3::ZERO, p.yaw_rate_rad_per_s, t);
        m.translation = glam::Vec3A::ZERO;
        m
    };
    // Farthest corner from the vertical axis through the origin.
    let r = (0..8)
        .map(|k| {
            let c = Vec3::new(
                if k & 1 == 0 { b.min.x } else { b.max.x },
                if k & 2 == 0 { b.min.y } else { b.max.y },
                if k & 4 == 0 { b.min.z } else { b.max.z },
            );
            p.world_from_object.matrix3.mul_vec3(c).truncate().length()
        })
        .fold(0.0f32, f32::max);
    let dt = (t1 - t0) / SWEEP_STEPS as f32;
    let half_turn = 0.5 * (p.yaw_rate_rad_per_s * dt).abs();
    let sag = r * (1.0 - half_turn.min(std::f32::consts::PI).cos()) + 1.0e-4;
    let mut out = Aabb::EMPTY;
    for k in 0..SWEEP_STEPS {
        let (ta, tb) = (t0 + k as f32 * dt, t0 + (k + 1) as f32 * dt);
        let mut turn = world_box(b, &turn_only(ta));
        let e = world_box(b, &turn_only(tb));
        turn.grow_point(e.min);
        turn.grow_point(e.max);
        let (va, vb) = (p.velocity_m_per_s * ta, p.velocity_m_per_s * tb);
        let pad = Vec3::new(sag, sag, 0.0);
        out.grow_point(origin + turn.min + va.min(vb) - pad);
        out.grow_point(origin + turn.max + va.max(vb) + pad);
    }
    out
}

/// The TLAS of one frame: instances in leaf order and the TLAS nodes.
#[derive(Clone, Debug, Default)]
pub struct Tlas {
    pub instances: Vec<Instance>,
    pub nodes: Vec<BvhNode>,
}

/// The TLAS of instances at their frame-time pose.
pub fn build_tlas(pool: &GeometryPool, placements: &[Placement]) -> Tlas {
    build_tlas_swept(pool, placements, [0.0, 0.0])
}

/// The TLAS for rays cast at any time of `window_s` (seconds from the frame time): each
/// moving instance is bounded over its motion in the window.
pub fn build_tlas_swept(pool: &GeometryPool, placements: &[Placement], window_s: [f32; 2]) -> Tlas {
    let world_bounds: Vec<Aabb> = placements
        .iter()
        .map(|p| swept_bounds(&pool.bounds[p.mesh.0 as usize], p, window_s))
        .collect();
    let built = bvh::build(&world_bounds);
    let instances = built
        .order
        .iter()
        .map(|&i| {
            let p = &placements[i as usize];
            Instance {
                object_from_world: affine_rows(&p.world_from_object.inverse()),
                world_from_object: affine_rows(&p.world_from_object),
                blas_root: pool.roots[p.mesh.0 as usize],
                instance_id: p.instance_id,
                _pad: [0; 2],
                velocity_m_per_s: p.velocity_m_per_s.to_array(),
                yaw_rate_rad_per_s: p.yaw_rate_rad_per_s,
            }
        })
        .collect();
    Tlas {
        instances,
        nodes: built.nodes,
    }
}
