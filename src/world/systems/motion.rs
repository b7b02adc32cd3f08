//! Route following: actors move along their waypoints at their speed.

use bevy_ecs::prelude::*;
use glam::Vec2;

use super::pedestrians::Walker;
use crate::world::components::{Driver, Gait, Pose, PrevPose, Route, Speed, Twist};
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

/// Keeps each pose as it was before this tick.
pub fn remember_poses(mut q: Query<(&Pose, &mut PrevPose)>) {
    for (pose, mut prev) in q.iter_mut() {
        prev.0 = *pose;
    }
}

/// The motion of the last tick: displacement / dt, and for lane-driven vehicles (kinematic
/// bicycle, smooth heading) the heading change / dt. Route followers turn instantly at
/// waypoints: their heading jumps are not a rate, so their yaw rate is 0.
pub fn measure_twist(
    clock: Res<SimClock>,
    mut q: Query<(&Pose, &PrevPose, &mut Twist, Option<&Driver>)>,
) {
    if clock.dt_s <= 0.0 {
        return;
    }
    for (pose, prev, mut twist, driver) in q.iter_mut() {
        twist.velocity_m_per_s = (pose.position - prev.0.position) / clock.dt_s;
        twist.yaw_rate_rad_per_s = if driver.is_some() {
            let d = pose.yaw_rad - prev.0.yaw_rad;
            let wrapped =
                (d + std::f32::consts::PI).rem_euclid(std::f32::consts::TAU) - std::f32::consts::PI;
            wrapped / clock.dt_s
        } else {
            0.0
        };
    }
}

/// Advances each animated actor's distance by the ground speed of the last tick.
pub fn advance_gait(clock: Res<SimClock>, mut q: Query<(&Twist, &mut Gait)>) {
    for (twist, mut gait) in q.iter_mut() {
        gait.distance_m += twist.velocity_m_per_s.truncate().length() * clock.dt_s;
    }
}
