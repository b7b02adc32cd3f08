//! Traffic: IDM car following on the lane graph, limited by road friction; MOBIL lane changes
//! on multi-lane roads, executed over time by the lateral controller; signals, permissive left
//! turns that yield to oncoming traffic, and first-come-first-served yielding at unsignalled
//! intersections; vehicles stop for pedestrians on their lane; steering by pure pursuit of the
//! lane centre line with a kinematic bicycle model; scripted hard brakes, stalls, cut-ins and
//! swerves; vehicles leaving the map re-enter at a free entry lane.

use bevy_ecs::prelude::*;
use glam::Vec2;

use crate::frame::BrakingSample;
use crate::physics::lateral::{
    Pose2, PurePursuitParams, bicycle_step, pure_pursuit_steer_near, steer_toward_rad,
    wrap_angle_rad,
};
use crate::physics::longitudinal::{
    IdmParams, LeaderState, car_following_accel_m_per_s2, emergency_brake_accel_m_per_s2,
    integrate_longitudinal,
};
use crate::physics::mobil::{IdmDriver, LaneFollower, LaneLeader, LaneNeighbors, mobil_decision};
use crate::rng::hash3;
use crate::scenario::{ActorKind, DriveEvent, TurnChoice};
use crate::world::components::{
    Accel, Actor, DriveMode, Driver, Ego, LaneChange, LaneRider, Pose, Speed,
};
use crate::world::lanes::{LaneGraph, SignalState};
use crate::world::resources::{BrakingLog, RoadSurfaces, SimClock, SimRng};

/// How far ahead leaders are searched, metres.
const LOOKAHEAD_M: f32 = 150.0;
/// Pure-pursuit tuning for lane following: a short minimum lookahead keeps tight urban turns
/// close to the connector centre lines.
const STEERING: PurePursuitParams = PurePursuitParams {
    lookahead_gain_s: 0.8,
    min_lookahead_m: 2.5,
    max_lookahead_m: 50.0,
};
/// Pure-pursuit tuning during a lane change: the longer lookahead makes the change a smooth S
/// (about 2–4 s at urban speeds).
const LANE_CHANGE_STEERING: PurePursuitParams = PurePursuitParams {
    lookahead_gain_s: 1.2,
    min_lookahead_m: 8.0,
    max_lookahead_m: 40.0,
};
/// Room a respawn needs at the start of an entry lane, metres.
const ENTRY_CLEARANCE_M: f32 = 25.0;

/// Vehicles with a longer wheelbase than this do not take tight urban turns (their swept path
/// would cross the opposite lane); they go straight on where they can.
pub const MAX_TURNING_WHEELBASE_M: f32 = 4.0;
/// How often each driver reconsiders its lane (MOBIL), seconds.
pub const LANE_CHANGE_DECISION_S: f32 = 0.5;
/// Smallest time between the starts of two lane changes of one vehicle, seconds.
pub const LANE_CHANGE_COOLDOWN_S: f32 = 4.0;
/// No lane change starts closer than this to the end of either lane, metres.
pub const LANE_CHANGE_MIN_ROOM_M: f32 = 40.0;
/// A lane change is over when the vehicle's centre is this close to the target centre line
/// and its heading within [`LANE_CHANGE_DONE_RAD`] of the lane's, metres.
pub const LANE_CHANGE_DONE_M: f32 = 0.15;

/// Random stream of the drivers' lines in their lanes.
const STREAM_LINE: u32 = 0x4c4e_0001;

/// Where a driver keeps its vehicle in the lane at arc length `arc_m`: metres left of the
/// centre line. Drivers hold a lane off-centre and weave slowly; here a constant offset in
/// [−0.2, 0.2] m plus a sine of amplitude 0.05–0.2 m and wavelength 60–160 m, drawn per vehicle
/// from its salt (our choice [?]: the lateral position's standard deviation it gives, about
/// 0.1–0.2 m, is the order reported for sober drivers in on-road tests, Verster & Roth 2011,
/// not checked against the paper here). The heading follows from steering onto this line
/// (at most 1.2° off the lane's), so `rotation_y` varies as in real traffic.
pub fn driving_line_offset_m(salt: u32, arc_m: f32) -> f32 {
    let u = |k| crate::rng::rand(salt, STREAM_LINE, 0, k);
    let bias = 0.4 * u(0) - 0.2;
    let amplitude = 0.05 + 0.15 * u(1);
    let wavelength = 60.0 + 100.0 * u(2);
    let phase = std::f32::consts::TAU * u(3);
    bias + amplitude * (std::f32::consts::TAU * arc_m / wavelength + phase).sin()
}
pub const LANE_CHANGE_DONE_RAD: f32 = 0.03;
/// A lane change is over after this long whatever, seconds.
pub const LANE_CHANGE_MAX_S: f32 = 10.0;
/// Permissive left turns: an oncoming vehicle that would reach its stop line within this time
/// (or stands within 3 m of it) keeps the turner waiting, seconds.
pub const LEFT_TURN_GAP_S: f32 = 5.5;
/// A pedestrian's length along a lane when it is an obstacle, metres.
pub const PEDESTRIAN_LENGTH_M: f32 = 0.6;
/// Pedestrians count as on a lane within half its width plus this margin, metres.
pub const PEDESTRIAN_MARGIN_M: f32 = 0.8;

/// How a vehicle picks its way through intersections.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Turning {
    /// Long vehicles do not take turns where they can go straight on.
    pub may_turn: bool,
    /// The scenario's choice, where the intersection offers it.
    pub prefer: Option<TurnChoice>,
}

impl Turning {
    pub fn of(driver: &Driver) -> Self {
        Turning {
            may_turn: driver.bicycle.wheelbase_m <= MAX_TURNING_WHEELBASE_M,
            prefer: driver.turn,
        }
    }
}

/// The successor a vehicle takes at the end of `lane`: the preferred kind of turn where there
/// is one, else deterministic per vehicle and lane.
pub fn next_lane(graph: &LaneGraph, lane: u32, salt: u32, turning: Turning) -> Option<u32> {
    let all = &graph.lanes[lane as usize].next;
    let kind = |n: u32| {
        let l = &graph.lanes[n as usize];
        match (l.is_turn, l.is_left) {
            (false, _) => TurnChoice::Straight,
            (true, true) => TurnChoice::Left,
            (true, false) => TurnChoice::Right,
        }
    };
    if let Some(p) = turning.prefer
        && let Some(&n) = all.iter().find(|&&n| kind(n) == p)
    {
        return Some(n);
    }
    let straight: Vec<u32> = all
        .iter()
        .copied()
        .filter(|&n| kind(n) == TurnChoice::Straight)
        .collect();
    let options = if turning.may_turn || straight.is_empty() {
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

/// Lateral offset of a swerve at `t_s` (0 outside it).
pub fn swerve_offset_m(at_s: f32, amplitude_m: f32, duration_s: f32, t_s: f64) -> f32 {
    let u = ((t_s - at_s as f64) / duration_s as f64) as f32;
    if (0.0..=1.0).contains(&u) {
        amplitude_m * (std::f32::consts::PI * u).sin()
    } else {
        0.0
    }
}

#[derive(Clone, Copy)]
struct Snapshot {
    lane: u32,
    s: f32,
    speed: f32,
    length: f32,
    salt: u32,
    turning: Turning,
    waiting_since: Option<u64>,
    /// During a lane change: the lane being left and the arc length on it.
    from: Option<(u32, f32)>,
    idm: IdmParams,
    /// Desired speed on the current lane.
    desired: f32,
    is_ego: bool,
}

impl Snapshot {
    fn driver(&self) -> IdmDriver {
        IdmDriver {
            speed_m_per_s: self.speed,
            desired_speed_m_per_s: self.desired,
            params: self.idm,
            length_m: self.length,
        }
    }
}

/// Everyone's state at the start of the tick, indexed for the queries drivers make.
struct Traffic<'a> {
    graph: &'a LaneGraph,
    snaps: Vec<Snapshot>,
    /// Per lane: (vehicle, arc length on that lane); a vehicle changing lanes is in both.
    per_lane: Vec<Vec<(usize, f32)>>,
    /// Per lane: arc lengths of pedestrians on it.
    obstacles: Vec<Vec<f32>>,
    /// Per connector: some vehicle is on it or committed to it (past its stop line).
    occupied: Vec<bool>,
    /// Per connector: occupied by a left-turner.
    occupied_left: Vec<bool>,
}

/// Keeps the nearest candidate ahead: (centre distance, speed, length).
fn closer(best: &mut Option<(f32, f32, f32)>, d: f32, tie_ahead: bool, speed: f32, length: f32) {
    if (d > 0.0 || (d == 0.0 && tie_ahead)) && best.is_none_or(|(bd, _, _)| d < bd) {
        *best = Some((d, speed, length));
    }
}

impl Traffic<'_> {
    /// Bumper gap and speed of the nearest vehicle or pedestrian ahead of `me` along its planned
    /// path from (`lane`, `s`), including vehicles on other connectors that merge into the same
    /// exit lane ahead of it.
    fn find_leader(&self, me: usize, lane: u32, s: f32) -> Option<LeaderState> {
        let (graph, snaps) = (self.graph, &self.snaps);
        let m = snaps[me];
        let mut lane = lane;
        let mut offset = -s; // distance from me to the start of `lane`
        for _ in 0..4 {
            let mut best = None;
            for &(j, sj) in &self.per_lane[lane as usize] {
                if j != me {
                    closer(
                        &mut best,
                        offset + sj,
                        j > me,
                        snaps[j].speed,
                        snaps[j].length,
                    );
                }
            }
            for &so in &self.obstacles[lane as usize] {
                closer(&mut best, offset + so, false, 0.0, PEDESTRIAN_LENGTH_M);
            }
            let l = &graph.lanes[lane as usize];
            if l.crossing.is_some() {
                // Merging: a vehicle nearer to the shared exit on another connector goes first.
                let my_to_merge = offset + l.length_m;
                for (c, other) in graph.lanes.iter().enumerate() {
                    if c as u32 == lane || other.crossing.is_none() || other.next != l.next {
                        continue;
                    }
                    for &(j, sj) in &self.per_lane[c] {
                        let d = my_to_merge - (other.length_m - sj);
                        closer(&mut best, d, j > me, snaps[j].speed, snaps[j].length);
                    }
                }
            }
            if let Some((d, v, len)) = best {
                return Some(LeaderState {
                    gap_m: d - 0.5 * (m.length + len),
                    speed_m_per_s: v,
                });
            }
            offset += l.length_m;
            if offset > LOOKAHEAD_M {
                return None;
            }
            lane = next_lane(graph, lane, m.salt, m.turning)?;
        }
        None
    }

    /// Nearest vehicle behind arc length `s` on `lane` (that lane only).
    fn follower(&self, me: usize, lane: u32, s: f32) -> Option<LaneFollower> {
        let m = self.snaps[me];
        let mut best: Option<(f32, usize)> = None;
        for &(j, sj) in &self.per_lane[lane as usize] {
            let d = s - sj;
            if j != me && (d > 0.0 || (d == 0.0 && j > me)) && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, j));
            }
        }
        best.map(|(d, j)| LaneFollower {
            gap_m: d - 0.5 * (m.length + self.snaps[j].length),
            driver: self.snaps[j].driver(),
        })
    }

    /// Nearest vehicle or pedestrian ahead of arc length `s` on `lane` (that lane only).
    fn leader_on(&self, me: usize, lane: u32, s: f32) -> Option<LaneLeader> {
        let m = self.snaps[me];
        let mut best = None;
        for &(j, sj) in &self.per_lane[lane as usize] {
            if j != me {
                closer(
                    &mut best,
                    sj - s,
                    j > me,
                    self.snaps[j].speed,
                    self.snaps[j].length,
                );
            }
        }
        for &so in &self.obstacles[lane as usize] {
            closer(&mut best, so - s, false, 0.0, PEDESTRIAN_LENGTH_M);
        }
        best.map(|(d, v, len)| LaneLeader {
            gap_m: d - 0.5 * (m.length + len),
            speed_m_per_s: v,
        })
    }

    /// MOBIL: the adjacent lane to change to now, if any.
    fn lane_change_target(
        &self,
        me: usize,
        mobil: &crate::physics::mobil::MobilParams,
    ) -> Option<u32> {
        let m = self.snaps[me];
        let lane = &self.graph.lanes[m.lane as usize];
        if lane.crossing.is_some()
            || m.from.is_some()
            || lane.length_m - m.s < LANE_CHANGE_MIN_ROOM_M
        {
            return None;
        }
        let leader = self.find_leader(me, m.lane, m.s);
        // Room to steer out from behind the current leader.
        if leader.is_some_and(|l| l.gap_m < 2.0 * m.idm.min_gap_m + 0.5 * m.speed) {
            return None;
        }
        let current = LaneNeighbors {
            leader: leader.map(|l| LaneLeader {
                gap_m: l.gap_m,
                speed_m_per_s: l.speed_m_per_s,
            }),
            follower: self.follower(me, m.lane, m.s),
        };
        let ego = m.driver();
        let mut best: Option<(f32, u32)> = None;
        for &t in lane.neighbors.iter().flatten() {
            let tl = &self.graph.lanes[t as usize];
            let s_t = m.s * tl.length_m / lane.length_m;
            if tl.length_m - s_t < LANE_CHANGE_MIN_ROOM_M {
                continue;
            }
            let target = LaneNeighbors {
                leader: self.leader_on(me, t, s_t),
                follower: self.follower(me, t, s_t),
            };
            let d = mobil_decision(&ego, &current, &target, mobil);
            if d.change && best.is_none_or(|(inc, _)| d.incentive_m_per_s2 > inc) {
                best = Some((d.incentive_m_per_s2, t));
            }
        }
        best.map(|(_, t)| t)
    }

    /// A scripted cut-in: the ego's lane when the ego rides an adjacent lane behind `me`
    /// within `gap_m`.
    fn cut_in_target(&self, me: usize, gap_m: f32) -> Option<u32> {
        let m = self.snaps[me];
        let lane = &self.graph.lanes[m.lane as usize];
        if m.from.is_some() || lane.crossing.is_some() {
            return None;
        }
        let e = self.snaps.iter().position(|s| s.is_ego)?;
        let ego = self.snaps[e];
        if !lane.neighbors.contains(&Some(ego.lane)) {
            return None;
        }
        let el = &self.graph.lanes[ego.lane as usize];
        let gap = m.s * el.length_m / lane.length_m - ego.s - 0.5 * (m.length + ego.length);
        (gap > 0.0 && gap <= gap_m).then_some(ego.lane)
    }

    /// True when the lane after the crossing has no room for the vehicle yet (do not block the
    /// box).
    fn exit_blocked(&self, me: usize) -> bool {
        let (graph, snaps) = (self.graph, &self.snaps);
        let m = snaps[me];
        let Some(connector) = next_lane(graph, m.lane, m.salt, m.turning) else {
            return false;
        };
        let Some(exit) = next_lane(graph, connector, m.salt, m.turning) else {
            return false;
        };
        self.per_lane[exit as usize]
            .iter()
            .any(|&(j, sj)| sj - 0.5 * snaps[j].length < m.length + 2.0 && snaps[j].speed < 2.0)
    }

    /// Permissive left turn: oncoming traffic with right of way (straight on or turning right on
    /// a crossing connector) is too close, or a conflicting left-turner of the same phase with
    /// priority waits at its line.
    fn left_turn_must_wait(&self, me: usize, connector: u32, group: u8) -> bool {
        let (graph, snaps) = (self.graph, &self.snaps);
        let m = snaps[me];
        for &o in &graph.lanes[connector as usize].conflicts {
            let ol = &graph.lanes[o as usize];
            let Some(a) = ol.from else { continue };
            let al = &graph.lanes[a as usize];
            if al.approach.is_none_or(|(_, g)| g != group) {
                continue;
            }
            for &(j, sj) in &self.per_lane[a as usize] {
                if j == me || next_lane(graph, a, snaps[j].salt, snaps[j].turning) != Some(o) {
                    continue;
                }
                let d = al.stop_s_m() - sj - 0.5 * snaps[j].length;
                if ol.is_left {
                    if d < 3.0 && snaps[j].salt < m.salt {
                        return true;
                    }
                } else if d < 3.0 || d / snaps[j].speed.max(0.1) < LEFT_TURN_GAP_S {
                    return true;
                }
            }
        }
        false
    }

    /// A virtual stopped obstacle at the stop line when the vehicle must not enter.
    fn stop_line(
        &self,
        me: usize,
        t_s: f64,
        comfortable_decel: f32,
        box_busy: &[bool],
        first_waiting: &[Option<usize>],
    ) -> Option<LeaderState> {
        let graph = self.graph;
        let m = self.snaps[me];
        let lane = &graph.lanes[m.lane as usize];
        let (x, group) = lane.approach?;
        let stop_s = lane.stop_s_m();
        let gap = stop_s - m.s - 0.5 * m.length;
        if gap < -0.5 {
            return None; // already past the line
        }
        let plan = &graph.signals[x];
        let connector = next_lane(graph, m.lane, m.salt, m.turning);
        let conflicts = |left_only: bool| {
            connector.is_some_and(|c| {
                graph.lanes[c as usize].conflicts.iter().any(|&o| {
                    if left_only {
                        self.occupied_left[o as usize]
                    } else {
                        self.occupied[o as usize]
                    }
                })
            })
        };
        let must_stop = if plan.signalled {
            match plan.state(group, t_s) {
                SignalState::Green => {
                    self.exit_blocked(me)
                        || match connector {
                            Some(c) if graph.lanes[c as usize].is_left => {
                                conflicts(false) || self.left_turn_must_wait(me, c, group)
                            }
                            // Let a left-turner already in the box out first.
                            _ => conflicts(true),
                        }
                }
                // Stop on yellow when a comfortable stop is still possible.
                SignalState::Yellow => gap > m.speed * m.speed / (2.0 * comfortable_decel),
                SignalState::Red => true,
            }
        } else {
            box_busy[x] || first_waiting[x] != Some(me) || self.exit_blocked(me)
        };
        must_stop.then_some(LeaderState {
            gap_m: gap.max(0.0),
            speed_m_per_s: 0.0,
        })
    }
}

/// What a driver decided this tick.
#[derive(Clone, Copy)]
struct Decision {
    accel: f32,
    /// Start a lane change to this lane (forced: a scripted cut-in).
    change_to: Option<(u32, bool)>,
}

/// Keeps the tick's hardest braking in [`BrakingLog`]: each vehicle's deceleration relative to
/// the friction `drive_vehicles` braked it on.
pub fn log_braking(
    mut log: ResMut<BrakingLog>,
    vehicles: Query<(&Driver, &Accel, Option<&Actor>)>,
) {
    for (driver, accel, actor) in &vehicles {
        let s = BrakingSample {
            instance_id: actor.map_or(0, |a| a.instance_id),
            decel_m_per_s2: -accel.m_per_s2,
            mu: driver.mu,
        };
        if s.decel_m_per_s2 > 0.0 && s.mu > 0.0 && log.hardest.is_none_or(|h| s.harder_than(&h)) {
            log.hardest = Some(s);
        }
    }
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
        Has<Ego>,
    )>,
    walkers: Query<(&Actor, &Pose), Without<LaneRider>>,
) {
    let t = clock.time_s();
    let dt = clock.dt_s;
    let tick = clock.tick;
    let mut rows: Vec<_> = vehicles.iter_mut().collect();
    // Deterministic order whatever the storage order.
    rows.sort_by_key(|r| r.1.salt);
    let snaps: Vec<Snapshot> = rows
        .iter()
        .map(|(r, d, v, _, _, is_ego)| {
            let lane = &graph.lanes[r.lane as usize];
            Snapshot {
                lane: r.lane,
                s: r.s_m,
                speed: v.m_per_s,
                length: d.length_m,
                salt: d.salt,
                turning: Turning::of(d),
                waiting_since: r.waiting_since,
                from: r.change.map(|c| (c.from_lane, c.from_s_m)),
                idm: d.idm,
                desired: desired_speed(d, lane),
                is_ego: *is_ego,
            }
        })
        .collect();
    let mut per_lane = vec![Vec::new(); graph.lanes.len()];
    for (i, s) in snaps.iter().enumerate() {
        per_lane[s.lane as usize].push((i, s.s));
        if let Some((l, s_from)) = s.from {
            per_lane[l as usize].push((i, s_from));
        }
    }
    // Pedestrians on lanes are obstacles (sorted for determinism).
    let mut obstacles = vec![Vec::new(); graph.lanes.len()];
    for (actor, pose) in walkers.iter() {
        if actor.kind == ActorKind::Pedestrian {
            for (l, s) in graph.lanes_at(pose.position.truncate(), PEDESTRIAN_MARGIN_M) {
                obstacles[l as usize].push(s);
            }
        }
    }
    for o in &mut obstacles {
        o.sort_by(f32::total_cmp);
    }
    // Connectors in use: ridden, or committed to (past the stop line).
    let mut occupied = vec![false; graph.lanes.len()];
    let mut occupied_left = vec![false; graph.lanes.len()];
    for s in &snaps {
        let lane = &graph.lanes[s.lane as usize];
        let c = if lane.crossing.is_some() {
            Some(s.lane)
        } else if lane.approach.is_some() && lane.stop_s_m() - s.s - 0.5 * s.length < -0.5 {
            next_lane(&graph, s.lane, s.salt, s.turning)
        } else {
            None
        };
        if let Some(c) = c {
            occupied[c as usize] = true;
            occupied_left[c as usize] |= graph.lanes[c as usize].is_left;
        }
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
    let traffic = Traffic {
        graph: &graph,
        snaps,
        per_lane,
        obstacles,
        occupied,
        occupied_left,
    };

    let decision_ticks = ((LANE_CHANGE_DECISION_S / dt).round() as u64).max(1);
    let cooldown_ticks = (LANE_CHANGE_COOLDOWN_S / dt).round() as u64;
    let decisions: Vec<Decision> = (0..rows.len())
        .map(|i| {
            let (rider, driver, speed, _, _, _) = &rows[i];
            let lane = &graph.lanes[rider.lane as usize];
            let v = speed.m_per_s;
            let mu = surfaces.mu(lane.road, v);
            if driver.mode != DriveMode::Normal {
                let accel = if v > 0.0 {
                    emergency_brake_accel_m_per_s2(mu)
                } else {
                    0.0
                };
                return Decision {
                    accel,
                    change_to: None,
                };
            }
            let m = traffic.snaps[i];
            let mut leader = traffic.find_leader(i, m.lane, m.s);
            // Changing lanes: keep behind the old lane's leader until clear of it sideways.
            if let (Some((from, s_from)), Some(ch)) = (m.from, rider.change) {
                let half_out = ch.from_lateral_m.abs() > 0.75 * lane.width_m.max(2.5);
                if !half_out
                    && let Some(old) = traffic.find_leader(i, from, s_from)
                    && leader.is_none_or(|l| old.gap_m < l.gap_m)
                {
                    leader = Some(old);
                }
            }
            let stop = traffic.stop_line(
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
            let accel = car_following_accel_m_per_s2(v, m.desired, nearest, &driver.idm, mu);
            // Lane changes: a scripted cut-in, else MOBIL every LANE_CHANGE_DECISION_S.
            let mut change_to = None;
            for (k, e) in driver.events.iter().enumerate() {
                if let DriveEvent::CutIn { at_s, gap_m } = *e
                    && driver.fired & (1 << k) == 0
                    && t >= at_s as f64
                    && let Some(target) = traffic.cut_in_target(i, gap_m)
                {
                    change_to = Some((target, true));
                }
            }
            let cooled = rider
                .last_change_tick
                .is_none_or(|t0| tick >= t0 + cooldown_ticks);
            if change_to.is_none()
                && driver.lane_changes
                && cooled
                && (tick + driver.salt as u64).is_multiple_of(decision_ticks)
            {
                change_to = traffic
                    .lane_change_target(i, &driver.mobil)
                    .map(|l| (l, false));
            }
            Decision { accel, change_to }
        })
        .collect();

    let seed = rng.seed as u32;
    // Entry lanes taken by re-entering vehicles this tick.
    let mut claimed: Vec<u32> = Vec::new();
    for (i, (rider, driver, speed, accel, pose, _)) in rows.iter_mut().enumerate() {
        // Scripted events.
        let mut swerve = None;
        for k in 0..driver.events.len() {
            match driver.events[k] {
                DriveEvent::BrakeHard { at_s }
                    if t >= at_s as f64 && driver.mode == DriveMode::Normal =>
                {
                    driver.mode = DriveMode::Braking
                }
                DriveEvent::Stall { at_s } if t >= at_s as f64 => driver.mode = DriveMode::Stalled,
                DriveEvent::Swerve {
                    at_s,
                    amplitude_m,
                    duration_s,
                } if t >= at_s as f64 && t <= (at_s + duration_s) as f64 + 2.0 => {
                    swerve = Some((at_s, amplitude_m, duration_s));
                }
                _ => {}
            }
        }
        let lane_now = &graph.lanes[rider.lane as usize];
        driver.mu = surfaces.mu(lane_now.road, speed.m_per_s);
        let step = integrate_longitudinal(speed.m_per_s, decisions[i].accel, dt);
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
        // Start a lane change: ride the target lane from now on, still seen in the old one.
        if let Some((target, forced)) = decisions[i].change_to {
            let (from_len, to_len) = (lane_now.length_m, graph.lanes[target as usize].length_m);
            rider.change = Some(LaneChange {
                from_lane: rider.lane,
                from_s_m: rider.s_m,
                from_lateral_m: 0.0,
                started_tick: tick,
                forced,
            });
            rider.s_m *= to_len / from_len;
            rider.lane = target;
            rider.last_change_tick = Some(tick);
            if forced {
                for k in 0..driver.events.len() {
                    if matches!(driver.events[k], DriveEvent::CutIn { .. })
                        && t >= driver.events[k].at_s() as f64
                    {
                        driver.fired |= 1 << k;
                    }
                }
            }
        }
        // Advance along the lanes.
        rider.s_m += step.distance_m;
        let mut switched = false;
        while rider.s_m > graph.lanes[rider.lane as usize].length_m {
            let len = graph.lanes[rider.lane as usize].length_m;
            rider.change = None;
            match next_lane(&graph, rider.lane, driver.salt, Turning::of(driver)) {
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
                        .filter(|&l| {
                            !claimed.contains(&l)
                                && traffic.per_lane[l as usize]
                                    .iter()
                                    .all(|&(_, s)| s > ENTRY_CLEARANCE_M)
                        })
                        .collect();
                    if entries.is_empty() {
                        rider.s_m = len;
                        speed.m_per_s = 0.0;
                    } else {
                        let pick = hash3(seed, driver.salt, tick as u32) as usize % entries.len();
                        rider.lane = entries[pick];
                        claimed.push(rider.lane);
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
        // Steer along the lane centre line with pure pursuit and the bicycle model (toward the
        // target lane's centre line during a change; off it by the offset during a swerve).
        let lane = &graph.lanes[rider.lane as usize];
        if !switched || step.distance_m > 0.0 {
            let params = if rider.change.is_some() {
                &LANE_CHANGE_STEERING
            } else {
                &STEERING
            };
            let mut cmd = pure_pursuit_steer_near(
                driver.rear_axle,
                speed.m_per_s,
                &lane.line,
                params,
                &driver.bicycle,
                rider.hint,
            );
            // Off the centre line: by the swerve, else on the driver's own line (outside lane
            // changes and junctions); the target lies that far left of the lookahead point.
            let ahead = cmd.projection.arc_m + cmd.lookahead_m;
            let offset = if let Some((at_s, amplitude_m, duration_s)) = swerve {
                let lead_s = cmd.lookahead_m / speed.m_per_s.max(0.5);
                Some(swerve_offset_m(
                    at_s,
                    amplitude_m,
                    duration_s,
                    t + lead_s as f64,
                ))
            } else {
                (driver.keeps_line && rider.change.is_none() && lane.crossing.is_none())
                    .then(|| driving_line_offset_m(driver.salt, ahead))
            };
            if let Some(offset) = offset {
                let (p, yaw) = lane.pose_at(ahead);
                let target = p + Vec2::from_angle(yaw).perp() * offset;
                cmd.steer_rad = steer_toward_rad(driver.rear_axle, target, &driver.bicycle);
            }
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
        // Follow the lane change: where the vehicle is on the old lane; over when centred.
        if let Some(mut ch) = rider.change {
            let from = &graph.lanes[ch.from_lane as usize];
            let pr = from.line.project_near(centre, rider.hint);
            ch.from_s_m = pr.arc_m;
            ch.from_lateral_m = pr.lateral_m;
            let on_target = lane.line.project_near(centre, rider.hint);
            let (_, lane_yaw) = lane.pose_at(on_target.arc_m);
            let centred = on_target.lateral_m.abs() < LANE_CHANGE_DONE_M
                && wrap_angle_rad(pose.yaw_rad - lane_yaw).abs() < LANE_CHANGE_DONE_RAD;
            let timed_out = (tick - ch.started_tick) as f32 * dt > LANE_CHANGE_MAX_S;
            rider.change = (!centred && !timed_out).then_some(ch);
        }
    }
}

/// A driver's own desired speed holds on roads; turns keep their lower limit.
fn desired_speed(driver: &Driver, lane: &crate::world::lanes::Lane) -> f32 {
    match driver.desired_speed_m_per_s {
        Some(d) if lane.crossing.is_none() => d,
        Some(d) => d.min(lane.speed_limit_m_per_s),
        None => lane.speed_limit_m_per_s,
    }
}
