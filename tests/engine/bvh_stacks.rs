//! The traversal stacks (shaders/shared/bvh.wgsl and its CPU twin) are deep enough for every
//! shipped scene's BVHs: a 4-wide traversal needs at most 3·depth + 1 entries, and a full stack
//! would drop nodes (and hits) silently.

use crate::common;

use verisim::Simulation;
use verisim::backend::cpu::bvh::{BLAS_STACK, TLAS_STACK};
use verisim::geometry::bvh::depth;

#[test]
fn every_shipped_scene_fits_the_traversal_stacks() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes");
    let mut scenes: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "ron"))
        .collect();
    scenes.sort();
    assert!(scenes.len() >= 5, "scenes found: {scenes:?}");
    for path in scenes {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut sim = Simulation::new(common::load_scene(&format!("scenes/{name}")));
        let pool = &sim.assets.pool;
        assert!(!pool.roots.is_empty(), "{name}: no meshes");
        for (mesh, &root) in pool.roots.iter().enumerate() {
            let d = depth(&pool.nodes, root);
            assert!(
                3 * d < BLAS_STACK,
                "{name}: mesh {mesh} BLAS depth {d} needs {} stack entries, {BLAS_STACK} held",
                3 * d + 1
            );
        }
        let static_depth = depth(&pool.nodes, pool.roots[sim.assets.static_mesh.0 as usize]);
        let triangles = pool.triangle_count();
        let tlas = sim.frame_inputs().tlas;
        let d = depth(&tlas.nodes, 0);
        assert!(
            3 * d < TLAS_STACK,
            "{name}: TLAS depth {d} over {} instances",
            tlas.instances.len()
        );
        eprintln!(
            "{name}: static BLAS depth {static_depth} ({} triangles in all meshes), TLAS depth {d} ({} instances)",
            triangles,
            tlas.instances.len()
        );
    }
}
