//! Meshes, materials, the procedural map, actor meshes and the two-level BVH.

pub mod actors;
pub mod bvh;
pub mod ground;
pub mod imported;
pub mod map;
pub mod mesh;
pub mod opendrive;
pub mod people;
pub mod pool;
pub mod vegetation;
pub mod vehicles;

pub use mesh::Mesh;
pub use pool::{GeometryPool, MeshId, Placement, Tlas, build_tlas, build_tlas_swept};
