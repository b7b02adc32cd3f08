//! Precipitation particles (rain drops and snowflakes) in a box around the ego, and the
//! extinction they and fog cause.
//!
//! CPU twin of `shaders/particles.wgsl` (compute stage `advance_particles`): [`advance_particle`]
//! is written line for line like the WGSL `advance_particle`, over the same bytemuck buffers
//! ([`Particle`], [`PrecipParams`]), and both draw their random numbers from [`crate::rng`] keyed
//! by `(seed, tick, particle index, draw id)`. Mirrored by `shaders/shared/particle.wgsl` and
//! `shaders/shared/particles.wgsl` (structs; tests compare the field offsets) and
//! `shaders/particles.wgsl` (the stage); the constants both use are in [`crate::abi::shared`].
//!
//! # Physics
//!
//! * Rain drop sizes, Marshall & Palmer (1948): `N(D) = 8000·exp(−Λ·D)` per m³ per mm,
//!   `Λ = 4.1·R^−0.21` /mm (R in mm/h), truncated to `D ∈ [0.1, 6] mm`.
//! * Snow sizes, Gunn & Marshall (1958): `N(D) = 3800·R^−0.87·exp(−Λ·D)` per m³ per mm,
//!   `Λ = 2.55·R^−0.48` /mm, R the melted-water rate (mm/h) and D the *melted* diameter, truncated
//!   to `[0.2, 5] mm`. A particle stores the *flake* diameter, from mass conservation with
//!   Holroyd's (1971) density of aggregates `ρ = 0.17/D_f g/cm³` (D_f in mm):
//!   `D_f = √(D_m³/0.17)`.
//! * Drops fall at their terminal velocity, Atlas, Srivastava & Sekhon (1973) fit to Gunn & Kinzer
//!   (1949): `v(D) = 9.65 − 10.3·exp(−0.6·D)` m/s; the fit reaches zero at 0.11 mm, so it is floored
//!   with `2.7·min(D, 0.2)` m/s (Gunn & Kinzer: 0.27 m/s at 0.1 mm), which only acts below 0.205 mm.
//!   Flakes fall at `0.8·D_f^0.16` m/s (unrimed aggregates, Locatelli & Hobbs 1974), 0.6–1.4 m/s
//!   here, and drift horizontally with an Ornstein–Uhlenbeck turbulent velocity (standard
//!   deviation `turbulence_m_per_s`, correlation time `turbulence_time_s`).
//! * All particles are carried by the wind: horizontal velocity = wind (+ drift for snow).
//!
//! # Recycling (the box follows the ego)
//!
//! Positions are in the world frame; the box is `center_m ± half_extents_m`. After each step a
//! particle that left the box through a side is wrapped to the opposite side (periodic), one that
//! left through the top is wrapped to the bottom, and one that fell out of the bottom respawns at
//! the top (as far below the top as the new particle falls in the time the old one spent below
//! the box during the step) at a fresh random horizontal position, with a
//! fresh diameter drawn from the *flux* distribution `∝ N(D)·v(D)` (by rejection sampling). Drops
//! cross the top plane at that rate, so the population in the box keeps the size distribution
//! `N(D)` and the number density `∫N(D)dD` (drawing from `N(D)` instead would over-represent slow
//! small drops over time).

use bytemuck::{Pod, Zeroable};
use glam::Vec3;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::rng::{pcg_hash, rand};

pub use crate::abi::shared::{
    HOLROYD_DENSITY_COEFF, KIND_RAIN, KIND_SNOW, PARTICLES_WORKGROUP_SIZE, RAIN_D_MAX_MM,
    RAIN_D_MIN_MM, RAIN_FLUX_ENVELOPE_SLOPE, SNOW_MELTED_D_MAX_MM, SNOW_MELTED_D_MIN_MM,
};

/// Marshall–Palmer intercept N0 (per m³ per mm).
pub const MARSHALL_PALMER_N0_PER_M3_PER_MM: f32 = 8000.0;
/// Most workgroups per dispatch dimension (WebGPU default limit).
pub const MAX_WORKGROUPS_PER_DIM: u32 = 65_535;

/// Draw ids of the counter RNG (the last key word), per particle and tick.
pub mod draw {
    /// Spawn: x, y, z, diameter, then 3 + 3 uniforms for the snow drift.
    pub const SPAWN_X: u32 = 0;
    pub const SPAWN_Y: u32 = 1;
    pub const SPAWN_Z: u32 = 2;
    pub const SPAWN_D: u32 = 3;
    pub const SPAWN_DRIFT: u32 = 4;
    /// Turbulent drift update: 3 uniforms for x, 3 for y.
    pub const DRIFT: u32 = 16;
    /// Respawn at the top: x, y, then 3 + 3 uniforms for the snow drift.
    pub const RESPAWN_X: u32 = 24;
    pub const RESPAWN_Y: u32 = 25;
    pub const RESPAWN_DRIFT: u32 = 26;
    /// Respawn diameter by rejection: 4 draws per try (mixture, two exponentials, acceptance)
    /// from here, so draws 32..160.
    pub const RESPAWN_D: u32 = 32;
    /// Rejection tries before keeping the last candidate.
    pub const RESPAWN_D_TRIES: u32 = 32;
}

/// One precipitation particle. 32 bytes; mirrored by `Particle` in
/// `shaders/shared/particle.wgsl` (there `vec3<f32>` + scalar pairs, same offsets).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Pod, Zeroable, Serialize, Deserialize)]
pub struct Particle {
    /// World position (m).
    pub position_m: [f32; 3],
    /// Drop diameter, or flake diameter for snow (mm).
    pub diameter_mm: f32,
    /// Velocity during the last step (m/s).
    pub velocity_m_per_s: [f32; 3],
    /// [`KIND_RAIN`] or [`KIND_SNOW`].
    pub kind: u32,
}

/// Uniform block of `advance_particles`. 80 bytes; mirrored by `PrecipParams` in
/// `shaders/shared/particles.wgsl`. Build it with [`PrecipConfig::params`].
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Pod, Zeroable, Serialize, Deserialize)]
pub struct PrecipParams {
    /// Box centre, usually the ego position (m, world).
    pub center_m: [f32; 3],
    /// Step (s).
    pub dt_s: f32,
    /// Box half-extents (m).
    pub half_extents_m: [f32; 3],
    /// Rain rate (mm/h); informative, the shader uses `rain_lambda_per_mm`.
    pub rain_mm_per_h: f32,
    /// Wind velocity (m/s, world).
    pub wind_m_per_s: [f32; 3],
    /// Snow rate as melted water (mm/h); informative, the shader uses `snow_lambda_per_mm`.
    pub snow_mm_per_h: f32,
    /// Precipitation seed (see [`precip_seed`]).
    pub seed: u32,
    /// Simulation tick of this step: keys the random draws.
    pub tick: u32,
    /// Number of live particles in the buffer.
    pub particle_count: u32,
    /// Standard deviation of the snow's horizontal turbulent velocity (m/s).
    pub turbulence_m_per_s: f32,
    /// Marshall–Palmer slope Λ (/mm).
    pub rain_lambda_per_mm: f32,
    /// Gunn–Marshall slope Λ (/mm, melted diameter).
    pub snow_lambda_per_mm: f32,
    /// Correlation time of the snow's turbulent velocity (s).
    pub turbulence_time_s: f32,
    /// Poisson thinning: only drops of at least this diameter (snow: melted diameter) are
    /// simulated (mm); 0 = the whole distribution. See [`PrecipConfig::min_diameter_mm`].
    pub min_diameter_mm: f32,
}

/// Errors in precipitation input.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum PrecipError {
    #[error("precipitation field `{field}` must be finite, got {value}")]
    NonFinite { field: &'static str, value: f32 },
    #[error("precipitation field `{field}` must be > 0, got {value}")]
    NotPositive { field: &'static str, value: f32 },
    #[error("precipitation field `{field}` must be >= 0, got {value}")]
    Negative { field: &'static str, value: f32 },
    #[error(
        "the box holds {expected} particles at these rates, more than the limit {limit}: shrink `half_extents_m`"
    )]
    TooManyParticles { expected: u64, limit: usize },
    #[error(
        "precipitation field out of sequence: the frame continues {expected:?}, the backend holds \
         {held:?} (render a world's frames in the order they were extracted, each once)"
    )]
    OutOfSequence {
        expected: super::precip_field::FieldVersion,
        held: Option<super::precip_field::FieldVersion>,
    },
}

/// Plain, validated description of the precipitation for one step (what the weather system
/// holds); [`PrecipConfig::params`] packs it for the shader.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrecipConfig {
    pub center_m: Vec3,
    pub half_extents_m: Vec3,
    pub wind_m_per_s: Vec3,
    pub dt_s: f32,
    pub rain_mm_per_h: f32,
    /// Melted-water rate (mm/h).
    pub snow_mm_per_h: f32,
    pub seed: u32,
    pub tick: u32,
    /// Snow turbulent velocity standard deviation (m/s); default 0.3.
    pub turbulence_m_per_s: f32,
    /// Snow turbulence correlation time (s); default 1.0.
    pub turbulence_time_s: f32,
    /// Poisson thinning of the size distributions: only rain drops (and snowflakes, by melted
    /// diameter) of at least this size are simulated, mm; 0 (default) keeps them all. Thinning
    /// a Poisson field by size keeps it Poisson, with `N(D)` cut at the new lower bound.
    #[serde(default)]
    pub min_diameter_mm: f32,
}

impl Default for PrecipConfig {
    fn default() -> Self {
        Self {
            center_m: Vec3::ZERO,
            half_extents_m: Vec3::new(20.0, 20.0, 10.0),
            wind_m_per_s: Vec3::ZERO,
            dt_s: 0.1,
            rain_mm_per_h: 0.0,
            snow_mm_per_h: 0.0,
            seed: 0,
            tick: 0,
            turbulence_m_per_s: 0.3,
            turbulence_time_s: 1.0,
            min_diameter_mm: 0.0,
        }
    }
}

impl PrecipConfig {
    /// Checks every field.
    pub fn validate(&self) -> Result<(), PrecipError> {
        let vec_fields = [
            ("center_m", self.center_m),
            ("half_extents_m", self.half_extents_m),
            ("wind_m_per_s", self.wind_m_per_s),
        ];
        for (field, v) in vec_fields {
            for c in v.to_array() {
                if !c.is_finite() {
                    return Err(PrecipError::NonFinite { field, value: c });
                }
            }
        }
        for c in self.half_extents_m.to_array() {
            if c <= 0.0 {
                return Err(PrecipError::NotPositive {
                    field: "half_extents_m",
                    value: c,
                });
            }
        }
        let scalars = [
            ("dt_s", self.dt_s),
            ("rain_mm_per_h", self.rain_mm_per_h),
            ("snow_mm_per_h", self.snow_mm_per_h),
            ("turbulence_m_per_s", self.turbulence_m_per_s),
            ("turbulence_time_s", self.turbulence_time_s),
            ("min_diameter_mm", self.min_diameter_mm),
        ];
        for (field, value) in scalars {
            if !value.is_finite() {
                return Err(PrecipError::NonFinite { field, value });
            }
            if value < 0.0 {
                return Err(PrecipError::Negative { field, value });
            }
        }
        if self.turbulence_time_s <= 0.0 {
            return Err(PrecipError::NotPositive {
                field: "turbulence_time_s",
                value: self.turbulence_time_s,
            });
        }
        Ok(())
    }

    /// Packs the config for the shader with `particle_count` live particles.
    pub fn params(&self, particle_count: u32) -> Result<PrecipParams, PrecipError> {
        self.validate()?;
        Ok(PrecipParams {
            center_m: self.center_m.to_array(),
            dt_s: self.dt_s,
            half_extents_m: self.half_extents_m.to_array(),
            rain_mm_per_h: self.rain_mm_per_h,
            wind_m_per_s: self.wind_m_per_s.to_array(),
            snow_mm_per_h: self.snow_mm_per_h,
            seed: self.seed,
            tick: self.tick,
            particle_count,
            turbulence_m_per_s: self.turbulence_m_per_s,
            rain_lambda_per_mm: rain_lambda_per_mm(self.rain_mm_per_h),
            snow_lambda_per_mm: snow_lambda_per_mm(self.snow_mm_per_h),
            turbulence_time_s: self.turbulence_time_s,
            min_diameter_mm: self.min_diameter_mm,
        })
    }

    /// Box volume (m³).
    pub fn volume_m3(&self) -> f64 {
        let h = self.half_extents_m.as_dvec3();
        8.0 * h.x * h.y * h.z
    }

    /// Expected (rain, snow) particle counts in the box: volume × ∫N(D)dD over the simulated
    /// sizes (from `min_diameter_mm` up).
    pub fn expected_counts(&self) -> (f64, f64) {
        let v = self.volume_m3();
        (
            v * rain_number_density_above_per_m3(self.rain_mm_per_h, self.min_diameter_mm),
            v * snow_number_density_above_per_m3(self.snow_mm_per_h, self.min_diameter_mm),
        )
    }
}

/// Seed of the precipitation draws from the scenario seed (a fixed salt keeps it apart from other
/// subsystems that key the same counter RNG).
pub fn precip_seed(scenario_seed: u32) -> u32 {
    pcg_hash(scenario_seed ^ 0x5052_4543) // "PREC"
}

/// Rate below which a rate counts as zero (mm/h): the slopes Λ diverge at 0.
const MIN_RATE_MM_PER_H: f32 = 1e-4;

/// Marshall–Palmer slope Λ = 4.1·R^−0.21 (/mm).
pub fn rain_lambda_per_mm(rain_mm_per_h: f32) -> f32 {
    4.1 * rain_mm_per_h.max(MIN_RATE_MM_PER_H).powf(-0.21)
}

/// Gunn–Marshall slope Λ = 2.55·R^−0.48 (/mm, melted diameter).
pub fn snow_lambda_per_mm(snow_mm_per_h: f32) -> f32 {
    2.55 * snow_mm_per_h.max(MIN_RATE_MM_PER_H).powf(-0.48)
}

/// Gunn–Marshall intercept N0 = 3800·R^−0.87 (per m³ per mm).
pub fn snow_n0_per_m3_per_mm(snow_mm_per_h: f32) -> f64 {
    3800.0 * (snow_mm_per_h.max(MIN_RATE_MM_PER_H) as f64).powf(-0.87)
}

/// ∫N0·exp(−ΛD)dD over [a, b].
fn truncated_exp_integral(n0: f64, lambda: f64, a: f64, b: f64) -> f64 {
    n0 / lambda * ((-lambda * a).exp() - (-lambda * b).exp())
}

/// Rain drops per m³ with D in [0.1, 6] mm (0 for no rain).
pub fn rain_number_density_per_m3(rain_mm_per_h: f32) -> f64 {
    if rain_mm_per_h < MIN_RATE_MM_PER_H {
        return 0.0;
    }
    truncated_exp_integral(
        MARSHALL_PALMER_N0_PER_M3_PER_MM as f64,
        rain_lambda_per_mm(rain_mm_per_h) as f64,
        RAIN_D_MIN_MM as f64,
        RAIN_D_MAX_MM as f64,
    )
}

/// Snowflakes per m³ with melted D in [0.2, 5] mm (0 for no snow).
pub fn snow_number_density_per_m3(snow_mm_per_h: f32) -> f64 {
    if snow_mm_per_h < MIN_RATE_MM_PER_H {
        return 0.0;
    }
    truncated_exp_integral(
        snow_n0_per_m3_per_mm(snow_mm_per_h),
        snow_lambda_per_mm(snow_mm_per_h) as f64,
        SNOW_MELTED_D_MIN_MM as f64,
        SNOW_MELTED_D_MAX_MM as f64,
    )
}

/// Rain drops per m³ with D in [max(0.1, d_min), 6] mm (the Poisson-thinned density).
pub fn rain_number_density_above_per_m3(rain_mm_per_h: f32, d_min_mm: f32) -> f64 {
    let lo = RAIN_D_MIN_MM.max(d_min_mm);
    if rain_mm_per_h < MIN_RATE_MM_PER_H || lo >= RAIN_D_MAX_MM {
        return 0.0;
    }
    truncated_exp_integral(
        MARSHALL_PALMER_N0_PER_M3_PER_MM as f64,
        rain_lambda_per_mm(rain_mm_per_h) as f64,
        lo as f64,
        RAIN_D_MAX_MM as f64,
    )
}

/// Snowflakes per m³ with melted D in [max(0.2, d_min), 5] mm (the Poisson-thinned density).
pub fn snow_number_density_above_per_m3(snow_mm_per_h: f32, d_min_mm: f32) -> f64 {
    let lo = SNOW_MELTED_D_MIN_MM.max(d_min_mm);
    if snow_mm_per_h < MIN_RATE_MM_PER_H || lo >= SNOW_MELTED_D_MAX_MM {
        return 0.0;
    }
    truncated_exp_integral(
        snow_n0_per_m3_per_mm(snow_mm_per_h),
        snow_lambda_per_mm(snow_mm_per_h) as f64,
        lo as f64,
        SNOW_MELTED_D_MAX_MM as f64,
    )
}

/// Rain drop terminal velocity (m/s): `max(9.65 − 10.3·exp(−0.6·D), 2.7·min(D, 0.2))`, D in mm
/// (the floor only acts below 0.205 mm, where the Atlas fit falls to zero).
pub fn rain_terminal_velocity_m_per_s(diameter_mm: f32) -> f32 {
    (9.65 - 10.3 * (-0.6 * diameter_mm).exp()).max(2.7 * diameter_mm.min(0.2))
}

/// Snowflake fall speed (m/s): `0.8·D^0.16`, D the flake diameter in mm.
pub fn snow_fall_speed_m_per_s(flake_diameter_mm: f32) -> f32 {
    0.8 * flake_diameter_mm.max(0.0).powf(0.16)
}

/// Flake diameter (mm) of a snowflake of melted diameter `melted_mm` (Holroyd density).
pub fn snow_flake_diameter_mm(melted_mm: f32) -> f32 {
    (melted_mm * melted_mm * melted_mm / HOLROYD_DENSITY_COEFF).sqrt()
}

/// Melted diameter (mm) of a flake of diameter `flake_mm` (inverse of [`snow_flake_diameter_mm`]).
pub fn snow_melted_diameter_mm(flake_mm: f32) -> f32 {
    (HOLROYD_DENSITY_COEFF * flake_mm * flake_mm).cbrt()
}

/// Fall speed of a particle of `kind` (m/s, positive down).
pub fn fall_speed_m_per_s(kind: u32, diameter_mm: f32) -> f32 {
    if kind == KIND_RAIN {
        rain_terminal_velocity_m_per_s(diameter_mm)
    } else {
        snow_fall_speed_m_per_s(diameter_mm)
    }
}

/// Inverse CDF of `exp(−ΛD)` truncated to [a, b], at `u ∈ [0, 1)`.
pub fn truncated_exp_inverse_cdf(u: f32, lambda_per_mm: f32, d_min_mm: f32, d_max_mm: f32) -> f32 {
    let span = 1.0 - (-lambda_per_mm * (d_max_mm - d_min_mm)).exp();
    let d = d_min_mm - (1.0 - u * span).ln() / lambda_per_mm;
    d.clamp(d_min_mm, d_max_mm)
}

/// Diameter (mm, flake diameter for snow) at uniform `u` from the size distribution of `kind`.
pub fn diameter_from_uniform_mm(kind: u32, u: f32, params: &PrecipParams) -> f32 {
    if kind == KIND_RAIN {
        truncated_exp_inverse_cdf(
            u,
            params.rain_lambda_per_mm,
            RAIN_D_MIN_MM.max(params.min_diameter_mm),
            RAIN_D_MAX_MM,
        )
    } else {
        let melted = truncated_exp_inverse_cdf(
            u,
            params.snow_lambda_per_mm,
            SNOW_MELTED_D_MIN_MM.max(params.min_diameter_mm),
            SNOW_MELTED_D_MAX_MM,
        );
        snow_flake_diameter_mm(melted)
    }
}

/// Draw `d` of particle `index` at this tick.
#[inline]
fn draw_u01(params: &PrecipParams, index: u32, d: u32) -> f32 {
    rand(params.seed, params.tick, index, d)
}

/// Roughly Gaussian unit-variance draw: sum of three uniforms, centred and scaled.
#[inline]
fn draw_gauss3(params: &PrecipParams, index: u32, d: u32) -> f32 {
    (draw_u01(params, index, d) + draw_u01(params, index, d + 1) + draw_u01(params, index, d + 2)
        - 1.5)
        * 2.0
}

/// Wraps `x` into [−h, h) periodically.
#[inline]
fn wrap_periodic(x: f32, h: f32) -> f32 {
    let w = 2.0 * h;
    x - w * ((x + h) / w).floor()
}

/// Diameter for a particle respawning at the top, from the flux distribution `∝ N(D)·v(D)` by
/// rejection. Rain: proposal `∝ D·exp(−ΛD)` (a mixture of an exponential and a gamma(2) in
/// `D − D_min`, sampled from two exponential draws), accepted with `v(D)/(k·D)` where
/// `k = `[`RAIN_FLUX_ENVELOPE_SLOPE`] bounds `v(D)/D` (acceptance ≈ 50% at all rates). Snow: flakes'
/// speeds vary little, so the proposal is `N(D)` itself, accepted with `v(D)/v_max` (≈ 55–65%).
/// After [`draw::RESPAWN_D_TRIES`] rejections (probability < 1e-9 for rain, < 1e-10 for snow) the
/// last candidate is kept.
fn respawn_diameter_mm(kind: u32, index: u32, params: &PrecipParams) -> f32 {
    let mut d = 0.0;
    if kind == KIND_RAIN {
        let lambda = params.rain_lambda_per_mm;
        let a = RAIN_D_MIN_MM.max(params.min_diameter_mm);
        let exp_weight = a * lambda / (a * lambda + 1.0);
        for k in 0..draw::RESPAWN_D_TRIES {
            let base = draw::RESPAWN_D + 4 * k;
            let u_mix = draw_u01(params, index, base);
            let mut x = -(1.0 - draw_u01(params, index, base + 1)).ln() / lambda;
            if u_mix >= exp_weight {
                x += -(1.0 - draw_u01(params, index, base + 2)).ln() / lambda;
            }
            d = a + x;
            let accept = draw_u01(params, index, base + 3);
            if d <= RAIN_D_MAX_MM
                && accept * RAIN_FLUX_ENVELOPE_SLOPE * d < rain_terminal_velocity_m_per_s(d)
            {
                break;
            }
        }
        d = d.clamp(a, RAIN_D_MAX_MM);
    } else {
        let v_max = snow_fall_speed_m_per_s(snow_flake_diameter_mm(SNOW_MELTED_D_MAX_MM));
        for k in 0..draw::RESPAWN_D_TRIES {
            let base = draw::RESPAWN_D + 4 * k;
            d = diameter_from_uniform_mm(kind, draw_u01(params, index, base), params);
            let accept = draw_u01(params, index, base + 3);
            if accept * v_max < snow_fall_speed_m_per_s(d) {
                break;
            }
        }
    }
    d
}

/// Spawns particle `index` of `kind` uniformly in the box with a diameter from N(D) (CPU only;
/// upload the population once).
pub fn spawn_particle(kind: u32, index: u32, params: &PrecipParams) -> Particle {
    let center = Vec3::from(params.center_m);
    let h = Vec3::from(params.half_extents_m);
    let wind = Vec3::from(params.wind_m_per_s);
    let rel = Vec3::new(
        (draw_u01(params, index, draw::SPAWN_X) * 2.0 - 1.0) * h.x,
        (draw_u01(params, index, draw::SPAWN_Y) * 2.0 - 1.0) * h.y,
        (draw_u01(params, index, draw::SPAWN_Z) * 2.0 - 1.0) * h.z,
    );
    let d = diameter_from_uniform_mm(kind, draw_u01(params, index, draw::SPAWN_D), params);
    let (dx, dy) = if kind == KIND_RAIN {
        (0.0, 0.0)
    } else {
        (
            params.turbulence_m_per_s * draw_gauss3(params, index, draw::SPAWN_DRIFT),
            params.turbulence_m_per_s * draw_gauss3(params, index, draw::SPAWN_DRIFT + 3),
        )
    };
    let vel = Vec3::new(
        wind.x + dx,
        wind.y + dy,
        wind.z - fall_speed_m_per_s(kind, d),
    );
    Particle {
        position_m: (center + rel).to_array(),
        diameter_mm: d,
        velocity_m_per_s: vel.to_array(),
        kind,
    }
}

/// Brings the population to the expected counts for the current rates (volume × ∫N(D)dD per
/// kind, rounded): drops surplus particles of a kind from the back, spawns missing ones at the
/// end keyed by their index and `params.tick`, and sets `params.particle_count`. Call it once at
/// start (on an empty vector) and whenever the rates or the box change; existing particles keep
/// their sizes and relax to the new distribution as they recycle.
pub fn resize_population(
    particles: &mut Vec<Particle>,
    config: &PrecipConfig,
    params: &mut PrecipParams,
    max_particles: usize,
) -> Result<(), PrecipError> {
    *params = config.params(params.particle_count)?;
    let targets = population_targets(config, max_particles)?;
    let mut current = [0usize; 2];
    for p in particles.iter() {
        current[kind_slot(p.kind)] += 1;
    }
    let mut surplus = [
        current[0].saturating_sub(targets[0]),
        current[1].saturating_sub(targets[1]),
    ];
    if surplus != [0, 0] {
        let mut keep = vec![true; particles.len()];
        for (i, p) in particles.iter().enumerate().rev() {
            let s = kind_slot(p.kind);
            if surplus[s] > 0 {
                keep[i] = false;
                surplus[s] -= 1;
            }
        }
        let mut it = keep.into_iter();
        particles.retain(|_| it.next().unwrap_or(true));
    }
    for (slot, kind) in [(0usize, KIND_RAIN), (1, KIND_SNOW)] {
        for _ in current[slot]..targets[slot] {
            let index = particles.len() as u32;
            particles.push(spawn_particle(kind, index, params));
        }
    }
    params.particle_count = particles.len() as u32;
    Ok(())
}

/// The rain and snow counts [`resize_population`] brings a population to (whatever it held
/// before), or the error it fails with: the world sizes the field from this alone and leaves
/// the particles to the backend.
pub fn population_targets(
    config: &PrecipConfig,
    max_particles: usize,
) -> Result<[usize; 2], PrecipError> {
    config.validate()?;
    let (rain, snow) = config.expected_counts();
    let (rain, snow) = (rain.round() as u64, snow.round() as u64);
    let total = rain + snow;
    if total > max_particles as u64 || total > u32::MAX as u64 {
        return Err(PrecipError::TooManyParticles {
            expected: total,
            limit: max_particles,
        });
    }
    Ok([rain as usize, snow as usize])
}

fn kind_slot(kind: u32) -> usize {
    if kind == KIND_RAIN { 0 } else { 1 }
}

/// Advances particle `index` by one step. Line for line the WGSL `advance_particle`.
#[inline]
pub fn advance_particle(p_in: Particle, index: u32, params: &PrecipParams) -> Particle {
    let mut p = p_in;
    let dt = params.dt_s;
    let wind = Vec3::from(params.wind_m_per_s);
    let center = Vec3::from(params.center_m);
    let h = Vec3::from(params.half_extents_m);

    // Velocity: wind plus fall speed, plus an Ornstein–Uhlenbeck turbulent drift for snow.
    let mut vel;
    if p.kind == KIND_RAIN {
        vel = Vec3::new(
            wind.x,
            wind.y,
            wind.z - fall_speed_m_per_s(p.kind, p.diameter_mm),
        );
    } else {
        let decay = (-dt / params.turbulence_time_s).exp();
        let sigma = params.turbulence_m_per_s * (1.0 - decay * decay).max(0.0).sqrt();
        let dx = (p.velocity_m_per_s[0] - wind.x) * decay
            + sigma * draw_gauss3(params, index, draw::DRIFT);
        let dy = (p.velocity_m_per_s[1] - wind.y) * decay
            + sigma * draw_gauss3(params, index, draw::DRIFT + 3);
        vel = Vec3::new(
            wind.x + dx,
            wind.y + dy,
            wind.z - fall_speed_m_per_s(p.kind, p.diameter_mm),
        );
    }
    let pos = Vec3::from(p.position_m) + vel * dt;

    // Recycling relative to the box.
    let mut rel = pos - center;
    if rel.z < -h.z {
        // Fell out of the bottom: respawn at the top with a fresh, flux-weighted diameter.
        // It entered the region below the box `t_below` ago; the new particle entered the top
        // at that instant, so it has fallen for `t_below` at its own speed.
        let below = -h.z - rel.z;
        let t_below = (below / (-vel.z).max(1e-3)).min(dt);
        rel.x = (draw_u01(params, index, draw::RESPAWN_X) * 2.0 - 1.0) * h.x;
        rel.y = (draw_u01(params, index, draw::RESPAWN_Y) * 2.0 - 1.0) * h.y;
        let d = respawn_diameter_mm(p.kind, index, params);
        p.diameter_mm = d;
        let mut dx = 0.0;
        let mut dy = 0.0;
        if p.kind != KIND_RAIN {
            dx = params.turbulence_m_per_s * draw_gauss3(params, index, draw::RESPAWN_DRIFT);
            dy = params.turbulence_m_per_s * draw_gauss3(params, index, draw::RESPAWN_DRIFT + 3);
        }
        vel = Vec3::new(
            wind.x + dx,
            wind.y + dy,
            wind.z - fall_speed_m_per_s(p.kind, d),
        );
        rel.z = (h.z + vel.z * t_below).clamp(-h.z, h.z);
    } else if rel.z > h.z {
        rel.z = wrap_periodic(rel.z, h.z);
    }
    rel.x = wrap_periodic(rel.x, h.x);
    rel.y = wrap_periodic(rel.y, h.y);

    p.position_m = (center + rel).to_array();
    p.velocity_m_per_s = vel.to_array();
    p
}

/// CPU twin of the `advance_particles` dispatch: every live particle (index <
/// `params.particle_count`) advanced by one step, in parallel (rayon).
pub fn advance_particles_cpu(particles: &mut [Particle], params: &PrecipParams) {
    advance_particles_cpu_steps(particles, std::slice::from_ref(params));
}

/// Several steps at once, oldest first: each particle goes through every step before the
/// next particle is touched, bit for bit what one [`advance_particles_cpu`] per step gives
/// (a particle's step reads only that particle), with one pass over the memory instead of
/// one per step.
pub fn advance_particles_cpu_steps(particles: &mut [Particle], steps: &[PrecipParams]) {
    particles
        .par_iter_mut()
        .enumerate()
        .with_min_len(4096)
        .for_each(|(i, p)| {
            for params in steps {
                if i < params.particle_count as usize {
                    *p = advance_particle(*p, i as u32, params);
                }
            }
        });
}

/// Workgroup counts for dispatching `advance_particles` over `particle_count` particles; the
/// shader folds `y` into the index (`i = gid.x + gid.y · num_workgroups.x · 256`).
pub fn particles_dispatch_workgroups(particle_count: u32) -> [u32; 3] {
    let groups = particle_count.div_ceil(PARTICLES_WORKGROUP_SIZE);
    if groups <= MAX_WORKGROUPS_PER_DIM {
        [groups, 1, 1]
    } else {
        [
            MAX_WORKGROUPS_PER_DIM,
            groups.div_ceil(MAX_WORKGROUPS_PER_DIM),
            1,
        ]
    }
}

/// WGSL of the stage with its shared code prepended, in the order naga and wgpu need it:
/// `shared/particle.wgsl`, `shared/rng.wgsl`, `shared/particles.wgsl`, `particles.wgsl`, after
/// the generated shared constants.
pub const PARTICLES_SHADER_PARTS: [(&str, &str); 4] = [
    (
        "shaders/shared/particle.wgsl",
        include_str!("../../shaders/shared/particle.wgsl"),
    ),
    (
        "shaders/shared/rng.wgsl",
        include_str!("../../shaders/shared/rng.wgsl"),
    ),
    (
        "shaders/shared/particles.wgsl",
        include_str!("../../shaders/shared/particles.wgsl"),
    ),
    (
        "shaders/particles.wgsl",
        include_str!("../../shaders/particles.wgsl"),
    ),
];

/// Full source of the particle stage, ready for `wgpu::ShaderSource::Wgsl`.
pub fn particles_shader_source() -> String {
    std::iter::once(crate::abi::SHARED_WGSL)
        .chain(PARTICLES_SHADER_PARTS.iter().map(|(_, src)| *src))
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// Extinction
// ---------------------------------------------------------------------------------------------

/// ln(20): meteorological optical range is the distance at 5% transmittance.
pub const LN_20: f32 = 2.995_732_3;
/// Koschmieder constant −ln(0.02): visual range at 2% contrast.
pub const KOSCHMIEDER_CONSTANT: f32 = 3.912;

/// Composite Simpson rule with `n` (even) intervals.
fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
    let n = n + n % 2;
    let h = (b - a) / n as f64;
    let mut s = f(a) + f(b);
    for i in 1..n {
        let x = a + h * i as f64;
        s += if i % 2 == 1 { 4.0 } else { 2.0 } * f(x);
    }
    s * h / 3.0
}

/// Rain extinction coefficient (/m) in geometric optics (Q_ext = 2):
/// `α = (π/4)·2·∫D²N(D)dD` over the drop sizes [0.1, 6] mm, integrated numerically (D in mm,
/// N per m³ per mm, so the integral is in mm²/m³ = 1e-6 /m). Matches `3.65e-4·R^0.63` /m (the
/// closed form over [0, ∞)) within 1% for R ≥ 1 mm/h; in drizzle the 0.1 mm cut removes up to
/// ~1.5%. 0 for R ≤ 0 (and NaN). Wavelength-independent
/// for lidar and camera (drops ≫ λ).
pub fn rain_extinction_per_m(rain_mm_per_h: f32) -> f32 {
    if rain_mm_per_h.is_nan() || rain_mm_per_h < MIN_RATE_MM_PER_H {
        return 0.0;
    }
    let lambda = rain_lambda_per_mm(rain_mm_per_h) as f64;
    let n0 = MARSHALL_PALMER_N0_PER_M3_PER_MM as f64;
    let integral_mm2_per_m3 = simpson(
        |d| d * d * n0 * (-lambda * d).exp(),
        RAIN_D_MIN_MM as f64,
        RAIN_D_MAX_MM as f64,
        2000,
    );
    (std::f64::consts::FRAC_PI_4 * 2.0 * integral_mm2_per_m3 * 1e-6) as f32
}

/// Snow extinction coefficient (/m), geometric optics (Q_ext = 2) over the Gunn–Marshall
/// distribution with flake cross-sections from Holroyd's density (`D_f² = D_m³/0.17`):
/// `α = (π/4)·2·∫(D_m³/0.17)·N(D_m)dD_m`. 1 mm/h (melted) gives ≈ 5e-3 /m (MOR ≈ 600 m), the
/// "moderate snow" visibility band (0.4–1 km). The 5 mm melted-size cut removes 1–5% of the
/// [0, ∞) value between 1 and 3 mm/h. 0 for R ≤ 0 (and NaN).
pub fn snow_extinction_per_m(snow_mm_per_h: f32) -> f32 {
    if snow_mm_per_h.is_nan() || snow_mm_per_h < MIN_RATE_MM_PER_H {
        return 0.0;
    }
    let lambda = snow_lambda_per_mm(snow_mm_per_h) as f64;
    let n0 = snow_n0_per_m3_per_mm(snow_mm_per_h);
    let coeff = HOLROYD_DENSITY_COEFF as f64;
    let integral_mm2_per_m3 = simpson(
        |d| d * d * d / coeff * n0 * (-lambda * d).exp(),
        SNOW_MELTED_D_MIN_MM as f64,
        SNOW_MELTED_D_MAX_MM as f64,
        2000,
    );
    (std::f64::consts::FRAC_PI_4 * 2.0 * integral_mm2_per_m3 * 1e-6) as f32
}

/// Fog extinction α (/m) from the meteorological optical range (MOR, 5% transmittance, WMO):
/// `α = ln(20)/MOR ≈ 2.996/MOR`. MOR 50 m → 0.060 /m. Not Koschmieder's visual range (2%
/// contrast, `σ = 3.912/V`, see [`koschmieder_sigma_per_m`]): for the same α, V is 1.31× MOR.
/// Infinite for visibility ≤ 0.
pub fn fog_alpha_per_m(visibility_m: f32) -> f32 {
    if visibility_m <= 0.0 {
        return f32::INFINITY;
    }
    LN_20 / visibility_m
}

/// Extinction σ (/m) from a Koschmieder visual range (2% contrast threshold): `σ = 3.912/V`.
pub fn koschmieder_sigma_per_m(visual_range_m: f32) -> f32 {
    if visual_range_m <= 0.0 {
        return f32::INFINITY;
    }
    KOSCHMIEDER_CONSTANT / visual_range_m
}

/// Meteorological optical range (m) of an extinction α: `ln(20)/α` (infinite for α ≤ 0).
pub fn mor_from_alpha_m(alpha_per_m: f32) -> f32 {
    if alpha_per_m <= 0.0 {
        return f32::INFINITY;
    }
    LN_20 / alpha_per_m
}

/// Total extinction (/m) of fog (by MOR; `None` for no fog), rain and snow together (extinction
/// coefficients of independent scatterers add).
pub fn total_extinction_per_m(
    fog_visibility_m: Option<f32>,
    rain_mm_per_h: f32,
    snow_mm_per_h: f32,
) -> f32 {
    fog_visibility_m.map_or(0.0, fog_alpha_per_m)
        + rain_extinction_per_m(rain_mm_per_h)
        + snow_extinction_per_m(snow_mm_per_h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_particle_has_the_wgsl_layout() {
        use crate::abi::layout::{assert_same_layout, offsets, shared_module};
        assert_same_layout(
            &shared_module(),
            "Particle",
            "Particle",
            size_of::<Particle>(),
            offsets!(Particle: position_m, diameter_mm, velocity_m_per_s, kind),
        );
    }

    #[test]
    fn struct_sizes() {
        assert_eq!(size_of::<Particle>(), 32);
        assert_eq!(size_of::<PrecipParams>(), 80);
    }

    #[test]
    fn terminal_velocity_table() {
        // REFERENCE.md: 0.5 mm → 2.0, 1 → 4.0, 2 → 6.6, 3 → 8.0, 5 → 9.1 m/s.
        for (d, v) in [(0.5, 2.0), (1.0, 4.0), (2.0, 6.6), (3.0, 8.0), (5.0, 9.1)] {
            assert!(
                (rain_terminal_velocity_m_per_s(d) - v).abs() < 0.06,
                "D={d}"
            );
        }
        assert!(rain_terminal_velocity_m_per_s(0.1) > 0.0);
    }

    #[test]
    fn inverse_cdf_bounds() {
        for u in [0.0, 0.5, 0.999_999_9] {
            let d = truncated_exp_inverse_cdf(u, 2.5, 0.1, 6.0);
            assert!((0.1..=6.0).contains(&d));
        }
    }

    #[test]
    fn dispatch_covers_count() {
        for n in [1u32, 255, 256, 257, 16_777_216, 40_000_000] {
            let [x, y, z] = particles_dispatch_workgroups(n);
            assert!(x <= MAX_WORKGROUPS_PER_DIM && y <= MAX_WORKGROUPS_PER_DIM && z == 1);
            assert!(x as u64 * y as u64 * 256 >= n as u64);
        }
    }

    #[test]
    fn config_validation() {
        let bad = PrecipConfig {
            half_extents_m: Vec3::new(1.0, 0.0, 1.0),
            ..Default::default()
        };
        assert!(matches!(
            bad.params(0),
            Err(PrecipError::NotPositive { .. })
        ));
        let bad = PrecipConfig {
            rain_mm_per_h: -1.0,
            ..Default::default()
        };
        assert!(matches!(bad.params(0), Err(PrecipError::Negative { .. })));
        let bad = PrecipConfig {
            wind_m_per_s: Vec3::new(f32::NAN, 0.0, 0.0),
            ..Default::default()
        };
        assert!(matches!(bad.params(0), Err(PrecipError::NonFinite { .. })));
        let huge = PrecipConfig {
            rain_mm_per_h: 50.0,
            half_extents_m: Vec3::splat(100.0),
            ..Default::default()
        };
        let mut params = PrecipParams::zeroed();
        assert!(matches!(
            resize_population(&mut Vec::new(), &huge, &mut params, 1_000_000),
            Err(PrecipError::TooManyParticles { .. })
        ));
    }
}
