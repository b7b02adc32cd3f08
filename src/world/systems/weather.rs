//! Weather over time: scripted changes, and road surfaces that wet, dry and collect snow.

use bevy_ecs::prelude::*;

use crate::physics::friction::SurfaceWeather;
use crate::world::resources::{RoadSurfaces, SimClock, WeatherState};

/// Applies the scripted weather changes whose time has come.
pub fn apply_weather_changes(clock: Res<SimClock>, mut state: ResMut<WeatherState>) {
    let t = clock.time_s() as f32;
    while state.changes.first().is_some_and(|c| c.at_s <= t) {
        let c = state.changes.remove(0);
        if let Some(r) = c.rain_mm_per_h {
            state.weather.rain_mm_per_h = r;
        }
        if let Some(s) = c.snow_mm_per_h {
            state.weather.snow_mm_per_h = s;
        }
    }
}

/// Steps every road's water film, snow and ice under the current weather.
pub fn update_road_surfaces(
    clock: Res<SimClock>,
    state: Res<WeatherState>,
    mut roads: ResMut<RoadSurfaces>,
) {
    let w = SurfaceWeather {
        rain_mm_per_h: state.weather.rain_mm_per_h,
        snow_mm_per_h: state.weather.snow_mm_per_h,
        air_temp_c: None,
    };
    for s in roads.surfaces.iter_mut() {
        // Rates are validated when the scenario loads, so the step cannot fail.
        let _ = s.step(&w, clock.dt_s);
    }
}
