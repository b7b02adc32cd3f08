//! Pedestrians: crossing roads at intersections by the pedestrian phase of the signals (walk
//! with the parallel vehicle phase, only while enough green is left to get across), or when
//! no vehicle is in the box at an unsignalled one; scripted step-outs. Vehicles yield to
//! pedestrians on their lane in the traffic system.

use bevy_ecs::prelude::*;
use glam::Vec2;

use crate::world::components::{Ego, LaneRider, Pose, Route, Speed};
use crate::world::lanes::{LaneGraph, SignalState};
use crate::world::resources::SimClock;

/// Road crossings within this distance of an intersection's centre are its crosswalks, metres.
pub const CROSSWALK_REACH_M: f32 = 25.0;
/// Seconds a pedestrian keeps in hand when deciding whether the green left is enough to cross
/// (before the conflicting phase gets green).
pub const WALK_MARGIN_S: f32 = 2.0;

/// One road crossing at an intersection.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Crossing {
    pub intersection: usize,
    /// Signal group whose green lets the pedestrian walk (the one parallel to the crossing).
    pub walk_group: u8,
    pub length_m: f32,
}

/// A pedestrian whose route crosses roads at intersections.
#[derive(Component, Clone, Debug, PartialEq)]
pub struct Walker {
    pub speed_m_per_s: f32,
    /// Per route segment (indexed by [`Route::next`] while the segment is walked).
    pub crossings: Vec<Option<Crossing>>,
}

/// A scripted step-out: the pedestrian stands until its trigger, then walks its route.
#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct StepOut {
    pub at_s: Option<f32>,
    pub ego_within_m: Option<f32>,
    pub speed_m_per_s: f32,
    /// Time it started walking.
    pub started_s: Option<f64>,
}

fn segments_cross(a: Vec2, b: Vec2, c: Vec2, d: Vec2) -> bool {
    let (r, s) = (b - a, d - c);
    let den = r.perp_dot(s);
    if den.abs() < 1e-9 {
        return false;
    }
    let t = (c - a).perp_dot(s) / den;
    let u = (c - a).perp_dot(r) / den;
    (0.0..=1.0).contains(&t) && (0.0..=1.0).contains(&u)
}

/// The crossings of a route: segment k runs from waypoint k − 1 (the last one for k = 0 on a
/// loop) to waypoint k; it is a crossing when it cuts a road lane near an intersection.
pub fn route_crossings(
    graph: &LaneGraph,
    map: &crate::scenario::MapSpec,
    waypoints: &[Vec2],
    looping: bool,
) -> Vec<Option<Crossing>> {
    (0..waypoints.len())
        .map(|k| {
            let a = match k {
                0 if looping && waypoints.len() > 1 => *waypoints.last()?,
                0 => return None,
                _ => waypoints[k - 1],
            };
            let b = waypoints[k];
            for lane in graph.lanes.iter().filter(|l| l.crossing.is_none()) {
                for w in lane.line.points_m().windows(2) {
                    if !segments_cross(a, b, w[0], w[1]) {
                        continue;
                    }
                    let dir = (w[1] - w[0]).normalize_or_zero();
                    let mid = 0.5 * (w[0] + w[1]);
                    for (x, spec) in map.intersections.iter().enumerate() {
                        let c = Vec2::new(spec.center.0, spec.center.1);
                        if c.distance(mid) > CROSSWALK_REACH_M.max(spec.size_m) {
                            continue;
                        }
                        let base = Vec2::from_angle(spec.arms_deg[0].to_radians());
                        let road_group =
                            u8::from(dir.dot(base).abs() < std::f32::consts::FRAC_1_SQRT_2);
                        return Some(Crossing {
                            intersection: x,
                            walk_group: 1 - road_group,
                            length_m: a.distance(b),
                        });
                    }
                }
            }
            None
        })
        .collect()
}

/// True when a pedestrian may step off the kerb onto `c` at `t_s`.
pub fn may_walk(
    graph: &LaneGraph,
    c: &Crossing,
    speed_m_per_s: f32,
    t_s: f64,
    box_busy: bool,
) -> bool {
    let plan = &graph.signals[c.intersection];
    if !plan.signalled {
        return !box_busy;
    }
    let crossing_s = c.length_m / speed_m_per_s.max(0.1);
    plan.state(c.walk_group, t_s) == SignalState::Green
        && plan.green_left_s(c.walk_group, t_s) + plan.yellow_s + plan.all_red_s
            >= crossing_s + WALK_MARGIN_S
}

/// Holds pedestrians at the kerb until they may cross; lets them walk otherwise.
pub fn cross_at_crosswalks(
    clock: Res<SimClock>,
    graph: Res<LaneGraph>,
    vehicles: Query<&LaneRider>,
    mut walkers: Query<(&Walker, &Route, &Pose, &mut Speed)>,
) {
    let t = clock.time_s();
    let mut box_busy = vec![false; graph.signals.len()];
    for r in vehicles.iter() {
        if let Some(x) = graph.lanes[r.lane as usize].crossing {
            box_busy[x] = true;
        }
    }
    for (walker, route, pose, mut speed) in walkers.iter_mut() {
        let k = route.next;
        let mut v = walker.speed_m_per_s;
        if let Some(Some(c)) = walker.crossings.get(k) {
            let start = match k {
                0 => route.waypoints[route.waypoints.len() - 1],
                _ => route.waypoints[k - 1],
            };
            let at_kerb = pose.position.truncate().distance(start) < 1e-3;
            if at_kerb && !may_walk(&graph, c, v, t, box_busy[c.intersection]) {
                v = 0.0;
            }
        }
        speed.m_per_s = v;
    }
}

/// Starts scripted step-outs at their time, or when the ego comes close.
pub fn trigger_step_outs(
    clock: Res<SimClock>,
    ego: Query<&Pose, With<Ego>>,
    mut walkers: Query<(&mut StepOut, &Pose, &mut Speed), Without<Ego>>,
) {
    let t = clock.time_s();
    let ego_at = ego.single().ok().map(|p| p.position.truncate());
    for (mut step, pose, mut speed) in walkers.iter_mut() {
        if step.started_s.is_some() {
            continue;
        }
        let by_time = step.at_s.is_some_and(|a| t >= a as f64);
        let by_distance = match (step.ego_within_m, ego_at) {
            (Some(d), Some(e)) => e.distance(pose.position.truncate()) <= d,
            _ => false,
        };
        if by_time || by_distance {
            step.started_s = Some(t);
            speed.m_per_s = step.speed_m_per_s;
        }
    }
}
