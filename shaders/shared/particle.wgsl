// One precipitation particle: `Particle` in src/physics/precip.rs, the only WGSL copy (read by
// the particle stage and, as the frame's field, by the lidar and camera stages).
// 32 bytes: vec3 at offset 0 and 16, each followed by a 4-byte scalar.
struct Particle {
    position_m: vec3<f32>,
    diameter_mm: f32,
    velocity_m_per_s: vec3<f32>,
    kind: u32,
}
