//! ECS resources: global state.

use bevy_ecs::prelude::*;

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

/// One vehicle's braking: its deceleration over a tick and the tyre–road friction it braked on.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BrakingSample {
    /// Label instance id; 0 for the ego.
    pub instance_id: u32,
    pub decel_m_per_s2: f32,
    pub mu: f32,
}

impl BrakingSample {
    /// How hard relative to the friction: deceleration / μ (m/s²; the limit is g).
    pub fn per_mu(&self) -> f32 {
        self.decel_m_per_s2 / self.mu
    }

    /// Harder than `other`, ties to the lower instance id (so the record does not depend on
    /// query order).
    pub fn harder_than(&self, other: &BrakingSample) -> bool {
        let (a, b) = (self.per_mu(), other.per_mu());
        a > b || (a == b && self.instance_id < other.instance_id)
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

    /// Queues one step with `params` (applied by [`PrecipField::settled`]).
    pub fn queue_step(&mut self, params: crate::physics::precip::PrecipParams) {
        self.pending.push(params);
    }

    /// Drops every particle and every queued step.
    pub fn clear(&mut self) {
        self.particles.clear();
        self.pending.clear();
    }
}
