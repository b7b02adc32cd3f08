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

/// Current weather (constant for now; the weather physics grows in its own issue).
#[derive(Resource, Clone, Debug)]
pub struct WeatherState {
    pub weather: Weather,
}
