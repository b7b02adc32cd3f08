//! All meshes' BLASes in one node buffer and one triangle buffer (uploaded once), and the
//! per-frame TLAS over placed instances.

use glam::{Affine3A, Vec3};

use super::bvh::{self, Aabb};
use super::mesh::Mesh;
use crate::gpu::types::{BvhNode, Instance, Triangle, affine_rows};

/// Index of a mesh in a [`GeometryPool`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MeshId(pub u32);

#[derive(Clone, Debug, Default)]
pub struct GeometryPool {
    pub nodes: Vec<BvhNode>,
    pub triangles: Vec<Triangle>,
    /// Per mesh: root node index and object-space bounds.
    pub roots: Vec<u32>,
    pub bounds: Vec<Aabb>,
    /// Per mesh: first triangle and triangle count.
    pub tri_ranges: Vec<(u32, u32)>,
}

impl GeometryPool {
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
            if n.count > 0 {
                n.left_first += tri_base;
            } else if n.aabb_min[0] < 1.0e29 {
                n.left_first += node_base;
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
}

/// The TLAS of one frame: instances in leaf order and the TLAS nodes.
#[derive(Clone, Debug, Default)]
pub struct Tlas {
    pub instances: Vec<Instance>,
    pub nodes: Vec<BvhNode>,
}

pub fn build_tlas(pool: &GeometryPool, placements: &[Placement]) -> Tlas {
    let world_bounds: Vec<Aabb> = placements
        .iter()
        .map(|p| {
            let b = pool.bounds[p.mesh.0 as usize];
            let mut out = Aabb::EMPTY;
            for k in 0..8 {
                let c = Vec3::new(
                    if k & 1 == 0 { b.min.x } else { b.max.x },
                    if k & 2 == 0 { b.min.y } else { b.max.y },
                    if k & 4 == 0 { b.min.z } else { b.max.z },
                );
                out.grow_point(p.world_from_object.transform_point3(c));
            }
            out
        })
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
            }
        })
        .collect();
    Tlas {
        instances,
        nodes: built.nodes,
    }
}
