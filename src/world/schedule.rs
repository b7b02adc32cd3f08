//! The fixed-step schedule: motion, then the clock. Single-threaded, so runs are
//! deterministic.

use bevy_ecs::prelude::*;
use bevy_ecs::schedule::SingleThreadedExecutor;

use super::systems::motion::{advance_clock, follow_route};

#[derive(SystemSet, Debug, Clone, PartialEq, Eq, Hash)]
pub enum SimSet {
    Motion,
    Clock,
}

pub fn build_schedule() -> Schedule {
    let mut schedule = Schedule::default();
    schedule.set_executor(SingleThreadedExecutor::new());
    schedule.configure_sets((SimSet::Motion, SimSet::Clock).chain());
    schedule.add_systems(follow_route.in_set(SimSet::Motion));
    schedule.add_systems(advance_clock.in_set(SimSet::Clock));
    schedule
}
