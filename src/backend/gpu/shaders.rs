//! WGSL sources, composed from `shaders/shared/*.wgsl` and one stage file each.

pub const TYPES: &str = include_str!("../../../shaders/shared/types.wgsl");
pub const RNG: &str = include_str!("../../../shaders/shared/rng.wgsl");
pub const BVH: &str = include_str!("../../../shaders/shared/bvh.wgsl");
pub const PARTICLE: &str = include_str!("../../../shaders/shared/particle.wgsl");
pub const PARTICLE_GRID: &str = include_str!("../../../shaders/shared/particle_grid.wgsl");
pub const LIDAR: &str = include_str!("../../../shaders/lidar.wgsl");
pub const CAMERA: &str = include_str!("../../../shaders/camera.wgsl");

/// A stage's full source: shared code first.
pub fn compose(stage: &str) -> String {
    [
        crate::abi::SHARED_WGSL,
        TYPES,
        PARTICLE,
        RNG,
        BVH,
        PARTICLE_GRID,
        stage,
    ]
    .join("\n")
}

/// Every compute stage: (name, composed source, entry point).
pub fn stages() -> Vec<(&'static str, String, &'static str)> {
    let mut out = vec![
        ("lidar", compose(LIDAR), "lidar_main"),
        ("camera", compose(CAMERA), "camera_main"),
        ("camera_sensor", compose(CAMERA), "camera_sensor"),
        (
            "particles",
            crate::physics::precip::particles_shader_source(),
            "advance_particles",
        ),
    ];
    let bins = super::particles::bin_shader_source();
    out.extend(
        super::particles::BIN_ENTRIES
            .iter()
            .map(|e| (*e, bins.clone(), *e)),
    );
    out
}
