//! ECS resources: global state.

use bevy_ecs::prelude::*;

pub use crate::frame::BrakingSample;
use crate::scenario::Weather;

/// Fixed-step clock.
#[derive(Resource, Clone, Copy, Debug)]
pub struct SimClock {
    pub dt_s: f32,
    pub tick: u64,
}

impl SimClock {
    pub fn time_s(&self) -> f64 {
        self.tick as f64 * self.dt_s as f64
    }
}

/// The scenario seed, from which every random draw derives (counter-based, so no state).
#[derive(Resource, Clone, Copy, Debug)]
pub struct SimRng {
    pub seed: u64,
}

/// Current weather, and the scripted changes still to come (sorted by time).
#[derive(Resource, Clone, Debug)]
pub struct WeatherState {
    pub weather: Weather,
    pub changes: Vec<crate::scenario::WeatherChange>,
}

/// Surface state of every road (index as `map.roads`), evolving with the weather unless the
/// scenario forces it.
#[derive(Resource, Clone, Debug, Default)]
pub struct RoadSurfaces {
    pub surfaces: Vec<crate::physics::friction::RoadSurface>,
    pub forced: Vec<Option<crate::physics::friction::SurfaceKind>>,
}

impl RoadSurfaces {
    /// Tyre–road friction on `road` at `speed_m_per_s`.
    pub fn mu(&self, road: usize, speed_m_per_s: f32) -> f32 {
        match self.forced.get(road).copied().flatten() {
            Some(kind) => kind.nominal_mu(),
            None => self
                .surfaces
                .get(road)
                .map_or(crate::physics::friction::MU_DRY, |s| s.mu(speed_m_per_s)),
        }
    }

    pub fn kind(&self, road: usize) -> crate::physics::friction::SurfaceKind {
        match self.forced.get(road).copied().flatten() {
            Some(kind) => kind,
            None => self
                .surfaces
                .get(road)
                .map_or(crate::physics::friction::SurfaceKind::Dry, |s| s.kind()),
        }
    }
}

/// The hardest braking, relative to friction, since the log was last taken (`log_braking` keeps
/// it every tick; datasets record it per frame).
#[derive(Resource, Clone, Copy, Debug, Default)]
pub struct BrakingLog {
    pub hardest: Option<BrakingSample>,
}

/// The explicit precipitation particles around the ego rig (`physics::precip_field`), advanced
/// every tick by `advance_particles`; empty when it neither rains nor snows. The ticks are
/// queued and applied together when the particles are read ([`PrecipField::settled`]): the
/// same particles, with one pass over them per rendered frame instead of one per tick.
#[derive(Resource, Clone, Debug, Default)]
pub struct PrecipField {
    particles: Vec<crate::physics::precip::Particle>,
    /// Steps not yet applied to `particles`, oldest first.
    pending: Vec<crate::physics::precip::PrecipParams>,
    pub params: crate::physics::precip::PrecipParams,
    /// Rates the population was last sized for (mm/h).
    pub sized_for: (f32, f32),
    /// Set when the rates asked for more than `MAX_FIELD_PARTICLES` (scenario validation
    /// prevents it; the field then stays empty).
    pub error: Option<crate::physics::precip::PrecipError>,
}

/// Most steps [`PrecipField`] queues before it applies them (80 bytes each).
pub const MAX_QUEUED_STEPS: usize = 1024;

impl PrecipField {
    /// The particles with every queued step applied.
    pub fn settled(&mut self) -> &mut Vec<crate::physics::precip::Particle> {
        if !self.pending.is_empty() {
            crate::physics::precip::advance_particles_cpu_steps(&mut self.particles, &self.pending);
            self.pending.clear();
        }
        &mut self.particles
    }

    /// How many particles there are (queued steps never change it).
    pub fn len(&self) -> usize {
        self.particles.len()
    }

    pub fn is_empty(&self) -> bool {
        self.particles.is_empty()
    }

    /// Queues one step with `params` (applied by [`PrecipField::settled`]). A long stretch
    /// without a read (frames skipped on resume or by a shard) is applied every
    /// [`MAX_QUEUED_STEPS`] steps, so the queue stays small.
    pub fn queue_step(&mut self, params: crate::physics::precip::PrecipParams) {
        if self.pending.len() >= MAX_QUEUED_STEPS {
            self.settled();
        }
        self.pending.push(params);
    }

    /// Drops every particle and every queued step.
    pub fn clear(&mut self) {
        self.particles.clear();
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::physics::precip::{
        Particle, PrecipConfig, PrecipParams, advance_particles_cpu, resize_population,
    };

    /// Past the cap the queue applies itself and starts again: the particles are still those of
    /// one pass per step, and the queue never holds more than the cap.
    #[test]
    fn queued_steps_past_the_cap_equal_one_pass_per_step() {
        let mut config = PrecipConfig {
            half_extents_m: glam::Vec3::new(1.0, 1.0, 0.5),
            wind_m_per_s: glam::Vec3::new(2.0, -1.0, 0.0),
            dt_s: 0.01,
            rain_mm_per_h: 10.0,
            snow_mm_per_h: 1.0,
            seed: 3,
            ..Default::default()
        };
        let mut particles: Vec<Particle> = Vec::new();
        let mut params = PrecipParams::default();
        resize_population(&mut particles, &config, &mut params, 100_000).unwrap();
        assert!(particles.len() > 100, "{}", particles.len());
        let mut field = PrecipField {
            particles: particles.clone(),
            ..Default::default()
        };
        for _ in 0..2 * MAX_QUEUED_STEPS + 7 {
            config.tick += 1;
            config.center_m.x += 0.1;
            let step = config.params(params.particle_count).unwrap();
            field.queue_step(step);
            advance_particles_cpu(&mut particles, &step);
            assert!(field.pending.len() <= MAX_QUEUED_STEPS);
        }
        assert_eq!(field.pending.len(), 7);
        let queued: &[Particle] = field.settled();
        assert!(
            bytemuck::cast_slice::<Particle, u8>(queued)
                == bytemuck::cast_slice::<Particle, u8>(&particles),
            "queued steps differ from one pass per step"
        );
    }
}
