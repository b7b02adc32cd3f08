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

/// The precipitation field around the ego rig as the world knows it: its size, its box and
/// step, and what happened to it since the last extracted frame (`physics::precip_field::
/// FieldOp`s: resizes when the rates change, one step per tick). The particles themselves live
/// in the backend that renders them (the CPU twin, or the GPU stage), which replays the ops:
/// the world never moves a particle. Empty when it neither rains nor snows.
#[derive(Resource, Clone, Debug)]
pub struct PrecipField {
    ops: Vec<crate::physics::precip_field::FieldOp>,
    /// How many particles the field holds after `ops`.
    len: usize,
    pub params: crate::physics::precip::PrecipParams,
    /// Rates the population was last sized for (mm/h).
    pub sized_for: (f32, f32),
    /// Set when the rates asked for more than `MAX_FIELD_PARTICLES` (scenario validation
    /// prevents it; the field then stays empty).
    pub error: Option<crate::physics::precip::PrecipError>,
    /// This world's field, and the frames extracted so far.
    world: u64,
    extracted: Option<u64>,
}

impl Default for PrecipField {
    fn default() -> Self {
        PrecipField {
            ops: Vec::new(),
            len: 0,
            params: Default::default(),
            sized_for: (0.0, 0.0),
            error: None,
            world: crate::physics::precip_field::FieldVersion::fresh_world(),
            extracted: None,
        }
    }
}

impl PrecipField {
    /// How many particles there are once the recorded ops are replayed.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Records a resize to `config`'s rates (`len` from
    /// [`population_targets`](crate::physics::precip::population_targets)).
    pub fn resize(&mut self, config: crate::physics::precip::PrecipConfig, len: usize) {
        self.ops
            .push(crate::physics::precip_field::FieldOp::Resize {
                config,
                params: self.params,
            });
        self.len = len;
    }

    /// Records one step with `params`. The log grows by 80 bytes per tick until the next
    /// extracted frame (frames skipped by `--resume` or a shard keep their ticks here).
    pub fn queue_step(&mut self, params: crate::physics::precip::PrecipParams) {
        self.ops
            .push(crate::physics::precip_field::FieldOp::Step(params));
    }

    /// Drops every particle (and every op before, which a clear makes moot).
    pub fn clear(&mut self) {
        self.ops.clear();
        self.ops.push(crate::physics::precip_field::FieldOp::Clear);
        self.len = 0;
    }

    /// The frame's part of the field: the ops since the previous frame, handed over.
    pub fn take_frame(
        &mut self,
        exposure_s: f32,
        ego_velocity_m_per_s: glam::Vec3,
    ) -> crate::physics::precip_field::PrecipFrame {
        use crate::physics::precip_field::FieldVersion;
        let version = |frame| FieldVersion {
            world: self.world,
            frame,
        };
        let before = self.extracted.map(version);
        let next = self.extracted.map_or(0, |f| f + 1);
        self.extracted = Some(next);
        crate::physics::precip_field::PrecipFrame {
            before,
            after: version(next),
            ops: std::mem::take(&mut self.ops),
            params: self.params,
            exposure_s,
            ego_velocity_m_per_s,
        }
    }
}
