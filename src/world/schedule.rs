//! The fixed-step schedule: weather and road surfaces, traffic (vehicles, then pedestrians'
//! step-outs and crosswalk decisions), route following, the precipitation particles around the
//! ego, then the clock. Single-threaded, so runs are deterministic.

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::SingleThreadedExecutor;

use super::systems::motion::{
    advance_clock, advance_gait, follow_route, measure_twist, remember_poses,
};
use super::systems::pedestrians::{cross_at_crosswalks, trigger_step_outs};
use super::systems::traffic::{drive_vehicles, log_braking};
use super::systems::weather::{advance_particles, apply_weather_changes, update_road_surfaces};

#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum SimSet {
    Weather,
    Traffic,
    Motion,
    Particles,
    Clock,
}

pub fn build_schedule() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.set_executor(SingleThreadedExecutor::new());
    schedule.configure_sets(
        (
            SimSet::Weather,
            SimSet::Traffic,
            SimSet::Motion,
            SimSet::Particles,
            SimSet::Clock,
        )
            .chain(),
    );
    schedule.add_systems(
        (remember_poses, apply_weather_changes, update_road_surfaces)
            .chain()
            .in_set(SimSet::Weather),
    );
    schedule.add_systems(
        (
            drive_vehicles,
            log_braking,
            trigger_step_outs,
            cross_at_crosswalks,
        )
            .chain()
            .in_set(SimSet::Traffic),
    );
    schedule.add_systems(follow_route.in_set(SimSet::Motion));
    schedule.add_systems(advance_particles.in_set(SimSet::Particles));
    schedule.add_systems(
        (measure_twist, advance_gait, advance_clock)
            .chain()
            .in_set(SimSet::Clock),
    );
    schedule
}
