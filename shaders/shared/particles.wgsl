// Precipitation particle structs and constants.
// Keep in sync with src/physics/precip.rs (Particle, PrecipParams, KIND_*, *_D_*_MM, draw ids).
// A test (tests/physics_wgsl.rs) checks sizes and member offsets against the Rust structs.

// 32 bytes: vec3 at offset 0 and 16, each followed by a 4-byte scalar.
struct Particle {
    position_m: vec3<f32>,
    diameter_mm: f32,
    velocity_m_per_s: vec3<f32>,
    kind: u32,
}

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

const KIND_RAIN: u32 = 0u;
const KIND_SNOW: u32 = 1u;

const RAIN_D_MIN_MM: f32 = 0.1;
const RAIN_D_MAX_MM: f32 = 6.0;
const SNOW_MELTED_D_MIN_MM: f32 = 0.2;
const SNOW_MELTED_D_MAX_MM: f32 = 5.0;
const HOLROYD_DENSITY_COEFF: f32 = 0.17;
const RAIN_FLUX_ENVELOPE_SLOPE: f32 = 4.2;

const PARTICLES_WORKGROUP_SIZE: u32 = 256u;

// Draw ids of the counter RNG (precip::draw).
const DRAW_DRIFT: u32 = 16u;
const DRAW_RESPAWN_X: u32 = 24u;
const DRAW_RESPAWN_Y: u32 = 25u;
const DRAW_RESPAWN_DRIFT: u32 = 26u;
const DRAW_RESPAWN_D: u32 = 32u;
const DRAW_RESPAWN_D_TRIES: u32 = 32u;
