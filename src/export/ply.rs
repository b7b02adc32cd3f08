//! Binary PLY of the world's triangles at one frame, with per-face semantic class (verisim
//! id) and instance id.

use glam::Vec3;

use crate::backend::cpu::bvh::xform_point;
use crate::frame::FrameInputs;
use crate::geometry::GeometryPool;

/// Encodes all instances of a frame as one binary little-endian PLY; returns the bytes and the
/// number of faces.
pub fn encode_frame_ply(pool: &GeometryPool, inputs: &FrameInputs) -> (Vec<u8>, usize) {
    let mut faces: Vec<([Vec3; 3], u16, u32)> = Vec::new();
    for inst in &inputs.tlas.instances {
        let mesh = pool
            .roots
            .iter()
            .position(|&r| r == inst.blas_root)
            .expect("every instance refers to a pool mesh");
        let (start, count) = pool.tri_ranges[mesh];
        for t in &pool.triangles[start as usize..(start + count) as usize] {
            let v0 = Vec3::from_array(t.v0);
            let obj = [v0, v0 + Vec3::from_array(t.e1), v0 + Vec3::from_array(t.e2)];
            let world = obj.map(|p| xform_point(&inst.world_from_object, p));
            faces.push((world, t.class as u16, inst.instance_id));
        }
    }
    let header = format!(
        "ply\nformat binary_little_endian 1.0\ncomment verisim frame {}\n\
         element vertex {}\nproperty float x\nproperty float y\nproperty float z\n\
         element face {}\nproperty list uchar uint vertex_indices\n\
         property ushort semantic\nproperty uint instance\nend_header\n",
        inputs.frame,
        faces.len() * 3,
        faces.len()
    );
    let mut out = header.into_bytes();
    out.reserve(faces.len() * (36 + 19));
    for (tri, _, _) in &faces {
        for p in tri {
            for c in p.to_array() {
                out.extend_from_slice(&c.to_le_bytes());
            }
        }
    }
    for (i, (_, class, inst)) in faces.iter().enumerate() {
        out.push(3);
        for k in 0..3u32 {
            out.extend_from_slice(&(i as u32 * 3 + k).to_le_bytes());
        }
        out.extend_from_slice(&class.to_le_bytes());
        out.extend_from_slice(&inst.to_le_bytes());
    }
    (out, faces.len())
}
