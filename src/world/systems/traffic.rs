//! Traffic: IDM car following on the lane graph, limited by road friction; signals and
//! first-come-first-served yielding at unsignalled intersections; steering by pure pursuit of
//! the lane centre line with a kinematic bicycle model; scripted hard brakes and stalls;
//! vehicles leaving the map re-enter at a free entry lane.

use bevy_ecs::prelude::*;
use glam::Vec2;

use crate::physics::lateral::{Pose2, PurePursuitParams, bicycle_step, pure_pursuit_steer_near};
use crate::physics::longitudinal::{
    LeaderState, car_following_accel_m_per_s2, emergency_brake_accel_m_per_s2,
    integrate_longitudinal,
};
use crate::rng::hash3;
use crate::scenario::DriveEvent;
use crate::world::components::{Accel, DriveMode, Driver, LaneRider, Pose, Speed};
use crate::world::lanes::{LaneGraph, SignalState};
use crate::world::resources::{RoadSurfaces, SimClock, SimRng};

/// How far ahead leaders are searched, metres.
const LOOKAHEAD_M: f32 = 150.0;
/// Pure-pursuit tuning for lane following: a short minimum lookahead keeps tight urban turns
/// close to the connector centre lines.
const STEERING: PurePursuitParams = PurePursuitParams {
    lookahead_gain_s: 0.8,
    min_lookahead_m: 2.5,
    max_lookahead_m: 50.0,
};
/// Room a respawn needs at the start of an entry lane, metres.
const ENTRY_CLEARANCE_M: f32 = 25.0;

/// Vehicles with a longer wheelbase than this do not take tight urban turns (their swept path
/// would cross the opposite lane); they go straight on where they can.
pub const MAX_TURNING_WHEELBASE_M: f32 = 4.0;

/// The successor a vehicle takes at the end of `lane` (deterministic per vehicle and lane).
pub fn next_lane(graph: &LaneGraph, lane: u32, salt: u32, may_turn: bool) -> Option<u32> {
    let all = &graph.lanes[lane as usize].next;
    let straight: Vec<u32> = all
        .iter()
        .copied()
        .filter(|&n| !graph.lanes[n as usize].is_turn)
        .collect();
    let options = if may_turn || straight.is_empty() {
        all.as_slice()
    } else {
        straight.as_slice()
    };
    if options.is_empty() {
        None
    } else {
        Some(options[(hash3(salt, lane, 0x7A11) % options.len() as u32) as usize])
    }
}

#[derive(Clone, Copy)]
struct Snapshot {
    lane: u32,
    s: f32,
    speed: f32,
    length: f32,
    salt: u32,
    may_turn: bool,
    waiting_since: Option<u64>,
}

/// Bumper gap and speed of the nearest vehicle ahead along the vehicle's planned path,
/// including vehicles on other connectors that merge into the same exit lane ahead of it.
fn find_leader(
    graph: &LaneGraph,
    per_lane: &[Vec<usize>],
    snaps: &[Snapshot],
    me: usize,
) -> Option<LeaderState> {
    let m = snaps[me];
    let mut lane = m.lane;
    let mut offset = -m.s; // distance from me to the start of `lane`
    for _ in 0..4 {
        let mut best: Option<(f32, usize)> = None;
        for &j in &per_lane[lane as usize] {
            if j == me {
                continue;
            }
            let d = offset + snaps[j].s;
            // Same lane: strictly ahead (ties broken by index so two never lead each other).
            let ahead = d > 0.0 || (d == 0.0 && j > me);
            if ahead && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, j));
            }
        }
        let l = &graph.lanes[lane as usize];
        if l.crossing.is_some() {
            // Merging: a vehicle nearer to the shared exit on another connector goes first.
            let my_to_merge = offset + l.length_m;
            for (c, other) in graph.lanes.iter().enumerate() {
                if c as u32 == lane || other.crossing.is_none() || other.next != l.next {
                    continue;
                }
                for &j in &per_lane[c] {
                    let their_to_merge = other.length_m - snaps[j].s;
                    let d = my_to_merge - their_to_merge;
                    if (d > 0.0 || (d == 0.0 && j > me)) && best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, j));
                    }
                }
            }
        }
        if let Some((d, j)) = best {
            return Some(LeaderState {
                gap_m: d - 0.5 * (m.length + snaps[j].length),
                speed_m_per_s: snaps[j].speed,
            });
        }
        offset += l.length_m;
        if offset > LOOKAHEAD_M {
            return None;
        }
        lane = next_lane(graph, lane, m.salt, m.may_turn)?;
    }
    None
}

/// True when the lane after the crossing has no room for the vehicle yet (do not block the box).
fn exit_blocked(graph: &LaneGraph, per_lane: &[Vec<usize>], snaps: &[Snapshot], me: usize) -> bool {
    let m = snaps[me];
    let Some(connector) = next_lane(graph, m.lane, m.salt, m.may_turn) else {
        return false;
    };
    let Some(exit) = next_lane(graph, connector, m.salt, m.may_turn) else {
        return false;
    };
    per_lane[exit as usize]
        .iter()
        .any(|&j| snaps[j].s - 0.5 * snaps[j].length < m.length + 2.0 && snaps[j].speed < 2.0)
}

/// A virtual stopped obstacle at the stop line when the vehicle must not enter.
#[allow(clippy::too_many_arguments)]
fn stop_line(
    graph: &LaneGraph,
    per_lane: &[Vec<usize>],
    snaps: &[Snapshot],
    me: usize,
    t_s: f64,
    comfortable_decel: f32,
    box_busy: &[bool],
    first_waiting: &[Option<usize>],
) -> Option<LeaderState> {
    let m = snaps[me];
    let lane = &graph.lanes[m.lane as usize];
    let (x, group) = lane.approach?;
    let stop_s = lane.stop_s_m();
    let gap = stop_s - m.s - 0.5 * m.length;
    if gap < -0.5 {
        return None; // already past the line
    }
    let plan = &graph.signals[x];
    let must_stop = if plan.signalled {
        match plan.state(group, t_s) {
            SignalState::Green => exit_blocked(graph, per_lane, snaps, me),
            // Stop on yellow when a comfortable stop is still possible.
            SignalState::Yellow => gap > m.speed * m.speed / (2.0 * comfortable_decel),
            SignalState::Red => true,
        }
    } else {
        box_busy[x] || first_waiting[x] != Some(me) || exit_blocked(graph, per_lane, snaps, me)
    };
    must_stop.then_some(LeaderState {
        gap_m: gap.max(0.0),
        speed_m_per_s: 0.0,
    })
}

#[allow(clippy::type_complexity)]
pub fn drive_vehicles(
    clock: Res<SimClock>,
    graph: Res<LaneGraph>,
    surfaces: Res<RoadSurfaces>,
    rng: Res<SimRng>,
    mut vehicles: Query<(
        &mut LaneRider,
        &mut Driver,
        &mut Speed,
        &mut Accel,
        &mut Pose,
    )>,
) {
    let t = clock.time_s();
    let dt = clock.dt_s;
    let mut rows: Vec<_> = vehicles.iter_mut().collect();
    // Deterministic order whatever the storage order.
    rows.sort_by_key(|r| r.1.salt);
    let snaps: Vec<Snapshot> = rows
        .iter()
        .map(|(r, d, v, _, _)| Snapshot {
            lane: r.lane,
            s: r.s_m,
            speed: v.m_per_s,
            length: d.length_m,
            salt: d.salt,
            may_turn: d.bicycle.wheelbase_m <= MAX_TURNING_WHEELBASE_M,
            waiting_since: r.waiting_since,
        })
        .collect();
    let mut per_lane = vec![Vec::new(); graph.lanes.len()];
    for (i, s) in snaps.iter().enumerate() {
        per_lane[s.lane as usize].push(i);
    }
    // Unsignalled intersections: busy while anyone crosses; the longest waiter goes next.
    let n_x = graph.signals.len();
    let mut box_busy = vec![false; n_x];
    let mut first_waiting: Vec<Option<(u64, usize)>> = vec![None; n_x];
    for (i, s) in snaps.iter().enumerate() {
        let lane = &graph.lanes[s.lane as usize];
        if let Some(x) = lane.crossing {
            box_busy[x] = true;
        }
        if let (Some((x, _)), Some(since)) = (lane.approach, s.waiting_since)
            && first_waiting[x].is_none_or(|(t0, j)| (since, i) < (t0, j))
        {
            first_waiting[x] = Some((since, i));
        }
    }
    let first_waiting: Vec<Option<usize>> =
        first_waiting.iter().map(|f| f.map(|(_, i)| i)).collect();

    let accels: Vec<f32> = (0..rows.len())
        .map(|i| {
            let (rider, driver, speed, _, _) = &rows[i];
            let lane = &graph.lanes[rider.lane as usize];
            let v = speed.m_per_s;
            let mu = surfaces.mu(lane.road, v);
            match driver.mode {
                DriveMode::Braking | DriveMode::Stalled => {
                    if v > 0.0 {
                        emergency_brake_accel_m_per_s2(mu)
                    } else {
                        0.0
                    }
                }
                DriveMode::Normal => {
                    let leader = find_leader(&graph, &per_lane, &snaps, i);
                    let stop = stop_line(
                        &graph,
                        &per_lane,
                        &snaps,
                        i,
                        t,
                        driver.idm.comfortable_decel_m_per_s2,
                        &box_busy,
                        &first_waiting,
                    );
                    let nearest = match (leader, stop) {
                        (Some(a), Some(b)) => Some(if a.gap_m <= b.gap_m { a } else { b }),
                        (a, b) => a.or(b),
                    };
                    // A driver's own desired speed holds on roads; turns keep their lower limit.
                    let v0 = match driver.desired_speed_m_per_s {
                        Some(d) if lane.crossing.is_none() => d,
                        Some(d) => d.min(lane.speed_limit_m_per_s),
                        None => lane.speed_limit_m_per_s,
                    };
                    car_following_accel_m_per_s2(v, v0, nearest, &driver.idm, mu)
                }
            }
        })
        .collect();

    let tick = clock.tick;
    let seed = rng.seed as u32;
    for (i, (rider, driver, speed, accel, pose)) in rows.iter_mut().enumerate() {
        // Scripted events.
        for k in 0..driver.events.len() {
            match driver.events[k] {
                DriveEvent::BrakeHard { at_s }
                    if t >= at_s as f64 && driver.mode == DriveMode::Normal =>
                {
                    driver.mode = DriveMode::Braking
                }
                DriveEvent::Stall { at_s } if t >= at_s as f64 => driver.mode = DriveMode::Stalled,
                _ => {}
            }
        }
        let lane_now = &graph.lanes[rider.lane as usize];
        driver.mu = surfaces.mu(lane_now.road, speed.m_per_s);
        let step = integrate_longitudinal(speed.m_per_s, accels[i], dt);
        accel.m_per_s2 = (step.speed_m_per_s - speed.m_per_s) / dt;
        speed.m_per_s = step.speed_m_per_s;
        if step.stopped && driver.mode == DriveMode::Braking {
            driver.mode = DriveMode::Stalled;
        }
        // Waiting at an unsignalled stop line.
        let stopped_at_line = lane_now
            .approach
            .is_some_and(|(x, _)| !graph.signals[x].signalled)
            && speed.m_per_s < 0.5
            && lane_now.stop_s_m() - rider.s_m - 0.5 * driver.length_m < 3.0;
        if stopped_at_line {
            rider.waiting_since.get_or_insert(tick);
        }
        // Advance along the lanes.
        rider.s_m += step.distance_m;
        let mut switched = false;
        while rider.s_m > graph.lanes[rider.lane as usize].length_m {
            let len = graph.lanes[rider.lane as usize].length_m;
            match next_lane(
                &graph,
                rider.lane,
                driver.salt,
                driver.bicycle.wheelbase_m <= MAX_TURNING_WHEELBASE_M,
            ) {
                Some(n) => {
                    rider.s_m -= len;
                    rider.lane = n;
                    rider.hint = 0;
                    rider.waiting_since = None;
                    switched = true;
                }
                None => {
                    // Leave the map: re-enter at a free entry lane, else wait at the edge.
                    let entries: Vec<u32> = (0..graph.lanes.len() as u32)
                        .filter(|&l| graph.lanes[l as usize].is_entry)
                        .filter(|&l| snaps.iter().all(|s| s.lane != l || s.s > ENTRY_CLEARANCE_M))
                        .collect();
                    if entries.is_empty() {
                        rider.s_m = len;
                        speed.m_per_s = 0.0;
                    } else {
                        let pick = hash3(seed, driver.salt, tick as u32) as usize % entries.len();
                        rider.lane = entries[pick];
                        rider.s_m = 0.0;
                        rider.hint = 0;
                        rider.waiting_since = None;
                        let (p, yaw) = graph.lanes[rider.lane as usize].pose_at(0.0);
                        driver.rear_axle = Pose2 {
                            position_m: p - Vec2::from_angle(yaw)
                                * 0.5
                                * driver.bicycle.wheelbase_m,
                            heading_rad: yaw,
                        };
                        switched = true;
                    }
                    break;
                }
            }
        }
        // Steer along the lane centre line with pure pursuit and the bicycle model.
        let lane = &graph.lanes[rider.lane as usize];
        if !switched || step.distance_m > 0.0 {
            let cmd = pure_pursuit_steer_near(
                driver.rear_axle,
                speed.m_per_s,
                &lane.line,
                &STEERING,
                &driver.bicycle,
                rider.hint,
            );
            rider.hint = cmd.projection.segment;
            driver.rear_axle = bicycle_step(
                driver.rear_axle,
                step.distance_m,
                cmd.steer_rad,
                &driver.bicycle,
            );
        }
        let fwd = driver.rear_axle.forward();
        let centre = driver.rear_axle.position_m + fwd * 0.5 * driver.bicycle.wheelbase_m;
        pose.position = centre.extend(pose.position.z);
        pose.yaw_rad = driver.rear_axle.heading_rad;
    }
}
