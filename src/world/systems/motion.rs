//! Route following: actors move along their waypoints at their speed.

use bevy_ecs::prelude::*;
use glam::Vec2;

use super::pedestrians::Walker;
use crate::world::components::{Pose, Route, Speed};
use crate::world::resources::SimClock;

/// Moves every routed entity `speed * dt` along its polyline, turning at waypoints. A
/// pedestrian stops at the kerb before a crossing for the crosswalk system to decide.
pub fn follow_route(
    clock: Res<SimClock>,
    mut movers: Query<(&mut Pose, &Speed, &mut Route, Option<&Walker>)>,
) {
    for (mut pose, speed, mut route, walker) in movers.iter_mut() {
        let mut budget = speed.m_per_s * clock.dt_s;
        // A few segments per tick at most; guards against zero-length segments.
        for _ in 0..16 {
            if budget <= 0.0 || route.next >= route.waypoints.len() {
                break;
            }
            let here = pose.position.truncate();
            let target = route.waypoints[route.next];
            let to = target - here;
            let dist = to.length();
            if dist <= budget {
                budget -= dist;
                pose.position = target.extend(pose.position.z);
                route.next += 1;
                if route.next >= route.waypoints.len() && route.looping {
                    route.next = 0;
                }
                if walker.is_some_and(|w| w.crossings.get(route.next).is_some_and(|c| c.is_some()))
                {
                    budget = 0.0;
                }
            } else {
                let dir = to / dist;
                pose.position += (dir * budget).extend(0.0);
                pose.yaw_rad = dir.y.atan2(dir.x);
                budget = 0.0;
            }
            if route.next < route.waypoints.len() {
                let ahead: Vec2 = route.waypoints[route.next] - pose.position.truncate();
                if ahead.length() > 1e-3 {
                    pose.yaw_rad = ahead.y.atan2(ahead.x);
                }
            }
        }
    }
}

pub fn advance_clock(mut clock: ResMut<SimClock>) {
    clock.tick += 1;
}
