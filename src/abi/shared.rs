//! Constants the WGSL shaders and the Rust code share, defined once, here. `build.rs` turns
//! every `pub const NAME: TYPE = LITERAL;` line of this file into `const NAME: TYPE = …;` in
//! `$OUT_DIR/shared_constants.wgsl`, which every composed shader starts with
//! ([`super::SHARED_WGSL`]); a shader that defined one of these names again would not compile.
//! Keep each definition on one line with a literal value (no expressions).

// Lidar return slots and BVH slots.
/// `LidarHit::label` of a slot with no return.
pub const NO_RETURN: u32 = 0xffff_ffff;
/// `BvhNode::count` of an unused slot.
pub const EMPTY_SLOT: u32 = 0xffff_ffff;
/// `LidarParams::return_mode`: the strongest return of each pulse.
pub const RETURN_STRONGEST: u32 = 0;
/// `LidarParams::return_mode`: the last return of each pulse.
pub const RETURN_LAST: u32 = 1;
/// `LidarParams::return_mode`: strongest in slots `[0, rays)`, and in `[rays, 2·rays)` the
/// last return when it differs from the strongest (else the second strongest, else none).
pub const RETURN_DUAL: u32 = 2;

// BVH traversal.
/// Distance of a miss.
pub const MISS_T: f32 = 1.0e30;
/// Stack sizes: a 4-wide traversal needs at most `3 * depth + 1` entries.
pub const TLAS_STACK: u32 = 48;
pub const BLAS_STACK: u32 = 64;
/// Stack entries: a node index, or a leaf `LEAF_BIT | (count - 1) << LEAF_COUNT_SHIFT | first`.
pub const LEAF_BIT: u32 = 0x8000_0000;
pub const LEAF_COUNT_SHIFT: u32 = 29;

// Semantic class ids the renderers test (`classes::Class`; a unit test holds them equal).
pub const CLASS_ROAD: u32 = 1;
pub const CLASS_SIDEWALK: u32 = 2;
pub const CLASS_LANE: u32 = 3;
pub const CLASS_CROSSWALK: u32 = 4;
pub const CLASS_BUILDING: u32 = 5;
pub const CLASS_VEGETATION: u32 = 10;
pub const CLASS_TERRAIN: u32 = 12;
pub const CLASS_SKY: u32 = 13;
pub const CLASS_FOG: u32 = 20;
pub const CLASS_RAIN: u32 = 21;
pub const CLASS_SNOW: u32 = 22;

// Precipitation.
/// `Particle::kind` of a rain drop.
pub const KIND_RAIN: u32 = 0;
/// `Particle::kind` of a snowflake.
pub const KIND_SNOW: u32 = 1;
/// Smallest rain drop (mm).
pub const RAIN_D_MIN_MM: f32 = 0.1;
/// Largest rain drop (mm).
pub const RAIN_D_MAX_MM: f32 = 6.0;
/// Smallest snowflake, as melted diameter (mm).
pub const SNOW_MELTED_D_MIN_MM: f32 = 0.2;
/// Largest snowflake, as melted diameter (mm).
pub const SNOW_MELTED_D_MAX_MM: f32 = 5.0;
/// Bound on `v(D)/D` for rain (m/s per mm): the maximum of the terminal-velocity law over D is
/// 4.119 (at D = 0.68 mm); the rejection sampler of respawn diameters needs `k ≥` that.
pub const RAIN_FLUX_ENVELOPE_SLOPE: f32 = 4.2;
/// Holroyd (1971) flake density coefficient: ρ = 0.17/D_f g/cm³, D_f in mm.
pub const HOLROYD_DENSITY_COEFF: f32 = 0.17;
/// Workgroup size of `advance_particles`.
pub const PARTICLES_WORKGROUP_SIZE: u32 = 256;

// Lidar.
/// Fresnel reflectance at normal incidence of a car's clear coat (n ≈ 1.5: ((n−1)/(n+1))²).
pub const CLEARCOAT_F0: f32 = 0.04;
/// Panes of glass a lidar ray looks through at most (a car's two sides and a second car).
pub const GLASS_MAX_PANES: u32 = 4;
/// How far past a pane a lidar ray looking through it starts its next trace, metres.
pub const GLASS_STEP_M: f32 = 0.001;
/// Random streams of the lidar kernel (`rng::rand(seed, stream, …)`).
pub const STREAM_NOISE: u32 = 0x4c49_0001;
pub const STREAM_FOG: u32 = 0x4c49_0002;
/// Plus the kind (0 rain, 1 snow).
pub const STREAM_PRECIP: u32 = 0x4c49_0003;
pub const STREAM_DROPOFF: u32 = 0x4c49_0005;
pub const FOG_SAMPLES_PER_PULSE: f32 = 4.0;
pub const FOG_MAX_STEPS: u32 = 64;
pub const PRECIP_BINS: u32 = 16;
pub const RAIN_REFLECTIVITY: f32 = 0.0965;
pub const SNOW_REFLECTIVITY: f32 = 0.8;
pub const GROUND_SNOW_REFLECTIVITY: f32 = 0.8;
/// Columns of one lidar workgroup's tile (the dispatch covers `columns / LIDAR_TILE`).
pub const LIDAR_TILE: u32 = 32;

// Camera.
/// Random streams of the camera kernel.
pub const S_JITTER: u32 = 1;
pub const S_SUN: u32 = 2;
pub const S_AO: u32 = 3;
pub const S_SPEC: u32 = 4;
pub const S_NOISE: u32 = 5;
pub const S_TIME: u32 = 6;
pub const PRECIP_SLICES: u32 = 8;
/// A lamp's light below this (after exposure) is left out of a pixel.
pub const LAMP_CUTOFF: f32 = 2.0e-3;
/// Words before the cell offsets in a lamp grid (`sensors::camera_model::LightGrid`).
pub const LIGHT_GRID_HEADER: u32 = 5;
