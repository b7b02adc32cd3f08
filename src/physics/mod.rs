//! Physics building blocks of traffic and weather: plain structs and functions that the ECS
//! systems call each fixed step. No ECS and no wgpu here.
//!
//! * [`friction`]: road surface (water film, snow, ice) driven by the weather, and tyre–road μ.
//! * [`longitudinal`]: IDM car following, the μ·g limit, the integration step, braking.
//! * [`lateral`]: kinematic bicycle model and pure-pursuit steering along a centre line.
//! * [`mobil`]: MOBIL lane-change decisions.
//! * [`precip`]: rain/snow particles around the ego (CPU twin of `shaders/particles.wgsl`) and
//!   extinction by rain, snow and fog.
//! * [`vehicle`]: road-user types with default dimensions and parameters.

pub mod friction;
pub mod lateral;
pub mod longitudinal;
pub mod mobil;
pub mod precip;
pub mod precip_field;
pub mod vehicle;

pub use friction::{RoadSurface, SurfaceKind, SurfaceWeather};
pub use lateral::{
    BicycleParams, CenterLine, Pose2, PurePursuitParams, bicycle_step, pure_pursuit_steer,
    pure_pursuit_steer_near,
};
pub use longitudinal::{
    G_M_PER_S2, IdmParams, LeaderState, LongitudinalStep, car_following_accel_m_per_s2,
    equilibrium_gap_m, idm_accel_m_per_s2, integrate_longitudinal, limit_accel_m_per_s2,
};
pub use mobil::{LaneChangeDecision, MobilParams, mobil_decision};
pub use precip::{Particle, PrecipConfig, PrecipParams, advance_particles_cpu};
pub use vehicle::VehicleType;
