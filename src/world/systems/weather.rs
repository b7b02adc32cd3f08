//! Weather over time: scripted changes, and road surfaces that wet, dry and collect snow.

use bevy_ecs::prelude::*;

use crate::physics::friction::SurfaceWeather;
use crate::world::components::{Ego, Pose};
use crate::world::resources::{PrecipField, RoadSurfaces, SimClock, SimRng, WeatherState};

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

/// Records one tick of the precipitation particle field around the ego (keyed by the scenario
/// seed and the tick, so runs are deterministic), after the ego moved: the box follows the ego
/// and particles leaving it are recycled. The world only records the step; the backend that
/// renders the frame replays it on its particles (`PrecipField`). Sizes the population when
/// the rates change; empties it when precipitation stops.
pub fn advance_particles(
    clock: Res<SimClock>,
    rng: Res<SimRng>,
    state: Res<WeatherState>,
    ego: Query<&Pose, With<Ego>>,
    mut field: ResMut<PrecipField>,
) {
    use crate::physics::precip::{population_targets, precip_seed};
    use crate::physics::precip_field::{MAX_FIELD_PARTICLES, field_config};
    let w = &state.weather;
    let ego_position = ego.single().map(|p| p.position).unwrap_or(glam::Vec3::ZERO);
    let wind_dir = w.wind_dir_deg.to_radians();
    let wind = glam::Vec3::new(
        w.wind_m_per_s * wind_dir.cos(),
        w.wind_m_per_s * wind_dir.sin(),
        0.0,
    );
    let config = field_config(
        ego_position,
        w.rain_mm_per_h,
        w.snow_mm_per_h,
        wind,
        clock.dt_s,
        precip_seed(crate::rng::seed32(rng.seed)),
        clock.tick as u32,
    );
    let field = &mut *field;
    if (w.rain_mm_per_h, w.snow_mm_per_h) != field.sized_for {
        field.sized_for = (w.rain_mm_per_h, w.snow_mm_per_h);
        match population_targets(&config, MAX_FIELD_PARTICLES) {
            Ok([rain, snow]) => field.resize(config, rain + snow),
            Err(e) => {
                log::error!("precipitation field: {e}");
                field.clear();
                field.error = Some(e);
            }
        }
    }
    match config.params(field.len() as u32) {
        Ok(p) => field.params = p,
        Err(e) => {
            field.clear();
            field.error = Some(e);
            return;
        }
    }
    if !field.is_empty() {
        let params = field.params;
        field.queue_step(params);
    }
}
