// Precipitation particle structs and constants.
// Mirrors src/physics/precip.rs (PrecipParams, draw ids); `Particle` is in shared/particle.wgsl,
// KIND_* and *_D_*_MM come from src/abi/shared.rs.
// A test (tests/physics_wgsl.rs) checks sizes and member offsets against the Rust structs.

// 80 bytes, uniform-layout compatible.
struct PrecipParams {
    center_m: vec3<f32>,
    dt_s: f32,
    half_extents_m: vec3<f32>,
    rain_mm_per_h: f32,
    wind_m_per_s: vec3<f32>,
    snow_mm_per_h: f32,
    seed: u32,
    tick: u32,
    particle_count: u32,
    turbulence_m_per_s: f32,
    rain_lambda_per_mm: f32,
    snow_lambda_per_mm: f32,
    turbulence_time_s: f32,
    min_diameter_mm: f32,
}




// Draw ids of the counter RNG (precip::draw).
const DRAW_DRIFT: u32 = 16u;
const DRAW_RESPAWN_X: u32 = 24u;
const DRAW_RESPAWN_Y: u32 = 25u;
const DRAW_RESPAWN_DRIFT: u32 = 26u;
const DRAW_RESPAWN_D: u32 = 32u;
const DRAW_RESPAWN_D_TRIES: u32 = 32u;
