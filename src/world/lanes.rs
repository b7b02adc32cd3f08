//! The lane graph built from the map: a lane per road, direction and lane index, connector
//! lanes through intersections (straight on, right turns from the outermost lane and left turns
//! across oncoming traffic from the innermost lane), which connectors cross one another, stop
//! lines and signal groups, and timed signal phases.

use bevy_ecs::prelude::*;
use glam::Vec2;

use crate::geometry::map::Centerline;
use crate::physics::lateral::CenterLine;
use crate::scenario::{MapSpec, TrafficSpec};

/// Speed limit on right-turn connectors, m/s.
pub const RIGHT_TURN_SPEED_M_PER_S: f32 = 4.5;
/// Speed limit on left-turn connectors, m/s.
pub const LEFT_TURN_SPEED_M_PER_S: f32 = 6.0;
/// Two connectors whose centre lines come closer than this conflict (their vehicles would
/// touch), metres.
pub const CONFLICT_DISTANCE_M: f32 = 2.6;
/// Distance from the lane end (the intersection edge) back to the stop line, metres.
pub const STOP_LINE_BEFORE_END_M: f32 = 4.5;

#[derive(Clone, Debug)]
pub struct Lane {
    pub line: CenterLine,
    pub length_m: f32,
    pub speed_limit_m_per_s: f32,
    /// The road this lane belongs to (connectors: the road they come from).
    pub road: usize,
    /// Successor lanes (connectors at an intersection, or the continuing road).
    pub next: Vec<u32>,
    /// Set on lanes that end at an intersection: (intersection, signal group).
    pub approach: Option<(usize, u8)>,
    /// Set on connector lanes: the intersection they cross.
    pub crossing: Option<usize>,
    /// Lanes that start at the map edge (entries for respawned vehicles).
    pub is_entry: bool,
    /// Road lanes: 0.. from the centre line outwards; connectors: -1.
    pub index: i32,
    /// Road lanes: lanes per direction of the road.
    pub lanes_per_direction: i32,
    /// Connector lanes that turn (long vehicles do not take them).
    pub is_turn: bool,
    /// Connector lanes that turn left across oncoming traffic (they yield to it).
    pub is_left: bool,
    /// Road lanes: width, metres.
    pub width_m: f32,
    /// Connector lanes: the approach lane they leave from.
    pub from: Option<u32>,
    /// Road lanes: the lane of the same road and direction one index inwards and one outwards.
    pub neighbors: [Option<u32>; 2],
    /// Connector lanes: the other connectors of the same intersection that cross this one
    /// (sorted; connectors leaving from the same approach lane are not listed).
    pub conflicts: Vec<u32>,
}

impl Lane {
    /// Position and heading at arc length `s`.
    pub fn pose_at(&self, s_m: f32) -> (Vec2, f32) {
        let s = s_m.clamp(0.0, self.length_m);
        let p = self.line.point_at(s);
        let q = self.line.point_at((s + 0.5).min(self.length_m));
        let r = self.line.point_at((s - 0.5).max(0.0));
        let d = q - r;
        (p, d.y.atan2(d.x))
    }

    pub fn stop_s_m(&self) -> f32 {
        (self.length_m - STOP_LINE_BEFORE_END_M).max(0.0)
    }
}

/// Timed signal phases of one intersection: group 0 (the arms along `arms_deg[0]`) green
/// first, then group 1.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SignalPlan {
    pub green_s: f32,
    pub yellow_s: f32,
    pub all_red_s: f32,
    pub signalled: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignalState {
    Green,
    Yellow,
    Red,
}

impl SignalPlan {
    pub fn cycle_s(&self) -> f32 {
        2.0 * (self.green_s + self.yellow_s + self.all_red_s)
    }

    /// Seconds of green left for `group` at `t_s` (0 when it is not green).
    pub fn green_left_s(&self, group: u8, t_s: f64) -> f32 {
        let half = (self.green_s + self.yellow_s + self.all_red_s) as f64;
        let t = (t_s.rem_euclid(self.cycle_s() as f64) - if group == 0 { 0.0 } else { half })
            .rem_euclid(2.0 * half);
        (self.green_s as f64 - t).max(0.0) as f32
    }

    /// State for signal group `group` at time `t_s`.
    pub fn state(&self, group: u8, t_s: f64) -> SignalState {
        let half = (self.green_s + self.yellow_s + self.all_red_s) as f64;
        let t = (t_s.rem_euclid(self.cycle_s() as f64) - if group == 0 { 0.0 } else { half })
            .rem_euclid(2.0 * half);
        if t < self.green_s as f64 {
            SignalState::Green
        } else if t < (self.green_s + self.yellow_s) as f64 {
            SignalState::Yellow
        } else {
            SignalState::Red
        }
    }
}

/// Side of the square cells of [`LaneGraph::grid`], metres.
pub const GRID_CELL_M: f32 = 10.0;

#[derive(Resource, Clone, Debug, Default)]
pub struct LaneGraph {
    pub lanes: Vec<Lane>,
    /// Per road: the lane ids of `lane` indices 0.. forward, then -1.. backward.
    pub road_lanes: Vec<(Vec<u32>, Vec<u32>)>,
    pub signals: Vec<SignalPlan>,
    /// Lane segments (lane id, segment) by grid cell: each segment is listed in every cell its
    /// footprint (half a lane width and a margin either side) touches.
    pub grid: std::collections::HashMap<(i32, i32), Vec<(u32, u32)>>,
}

fn cell_of(p: Vec2) -> (i32, i32) {
    (
        (p.x / GRID_CELL_M).floor() as i32,
        (p.y / GRID_CELL_M).floor() as i32,
    )
}

fn lane_points(cl: &Centerline, lateral: f32, reverse: bool) -> Vec<Vec2> {
    let len = cl.length();
    let mut pts: Vec<Vec2> = cl
        .samples(0.0, len)
        .iter()
        .map(|&s| cl.offset(s, lateral))
        .collect();
    // Straight roads: add interior points so projections stay local.
    if pts.len() == 2 {
        let n = (len / 10.0).ceil().max(1.0) as usize;
        pts = (0..=n)
            .map(|i| cl.offset(len * i as f32 / n as f32, lateral))
            .collect();
    }
    if reverse {
        pts.reverse();
    }
    pts
}

/// A quadratic Bézier from `a` (heading `da`) to `b` (heading `db`), sampled every ~1 m.
fn connector_points(a: Vec2, da: Vec2, b: Vec2, db: Vec2) -> Vec<Vec2> {
    // Control point: where the two tangent lines meet; the midpoint when they are parallel.
    let cross = da.perp_dot(db);
    let c = if cross.abs() < 1e-3 {
        (a + b) * 0.5
    } else {
        let t = (b - a).perp_dot(db) / cross;
        a + da * t
    };
    let n = (a.distance(b) / 1.0).ceil().max(2.0) as usize;
    (0..=n)
        .map(|i| {
            let t = i as f32 / n as f32;
            a * (1.0 - t) * (1.0 - t) + c * 2.0 * t * (1.0 - t) + b * t * t
        })
        .collect()
}

impl LaneGraph {
    pub fn build(map: &MapSpec, traffic: Option<&TrafficSpec>) -> Self {
        let mut lanes = Vec::new();
        let mut road_lanes = Vec::new();
        for (r, road) in map.roads.iter().enumerate() {
            let cl = Centerline::from_shape(&road.shape);
            let (mut fwd, mut bwd) = (Vec::new(), Vec::new());
            for k in 0..road.lanes_per_direction {
                let lat = (k as f32 + 0.5) * road.lane_width_m;
                for (reverse, list) in [(false, &mut fwd), (true, &mut bwd)] {
                    let pts = lane_points(&cl, if reverse { lat } else { -lat }, reverse);
                    let Ok(line) = CenterLine::new(&pts) else {
                        continue;
                    };
                    list.push(lanes.len() as u32);
                    lanes.push(Lane {
                        length_m: line.length_m(),
                        line,
                        speed_limit_m_per_s: road.speed_limit_m_per_s,
                        road: r,
                        next: Vec::new(),
                        approach: None,
                        crossing: None,
                        is_entry: false,
                        index: k as i32,
                        lanes_per_direction: road.lanes_per_direction as i32,
                        is_turn: false,
                        is_left: false,
                        width_m: road.lane_width_m,
                        from: None,
                        neighbors: [None, None],
                        conflicts: Vec::new(),
                    });
                }
            }
            for list in [&fwd, &bwd] {
                for (k, &id) in list.iter().enumerate() {
                    lanes[id as usize].neighbors =
                        [k.checked_sub(1).map(|j| list[j]), list.get(k + 1).copied()];
                }
            }
            road_lanes.push((fwd, bwd));
        }
        let n_road_lanes = lanes.len();
        let end = |l: &Lane| l.line.point_at(l.length_m);
        let start = |l: &Lane| l.line.point_at(0.0);
        let dir_end = |l: &Lane| {
            (l.line.point_at(l.length_m) - l.line.point_at((l.length_m - 1.0).max(0.0)))
                .normalize_or_zero()
        };
        let dir_start = |l: &Lane| {
            (l.line.point_at(1.0_f32.min(l.length_m)) - l.line.point_at(0.0)).normalize_or_zero()
        };

        // Lanes that continue into one another directly (a road chained to the next).
        for i in 0..n_road_lanes {
            for j in 0..n_road_lanes {
                if i != j
                    && end(&lanes[i]).distance(start(&lanes[j])) < 1.0
                    && dir_end(&lanes[i]).dot(dir_start(&lanes[j])) > 0.9
                {
                    lanes[i].next.push(j as u32);
                }
            }
        }
        // Intersections: connect each approach lane to the exits of the other arms.
        let mut signals = Vec::new();
        for (x, spec) in map.intersections.iter().enumerate() {
            let c = Vec2::new(spec.center.0, spec.center.1);
            let reach = spec.size_m * 0.75 + 2.0;
            let base = Vec2::from_angle(spec.arms_deg[0].to_radians());
            signals.push(SignalPlan {
                green_s: traffic.map_or(20.0, |t| t.signal_green_s),
                yellow_s: traffic.map_or(3.0, |t| t.signal_yellow_s),
                all_red_s: traffic.map_or(2.0, |t| t.signal_all_red_s),
                signalled: spec.signals,
            });
            let approaches: Vec<usize> = (0..n_road_lanes)
                .filter(|&i| end(&lanes[i]).distance(c) < reach)
                .collect();
            let exits: Vec<usize> = (0..n_road_lanes)
                .filter(|&j| start(&lanes[j]).distance(c) < reach)
                .collect();
            for &i in &approaches {
                let (a, da) = (end(&lanes[i]), dir_end(&lanes[i]));
                // Arm direction (from the centre outwards) decides the signal group.
                let arm = (a - c).normalize_or_zero();
                let group = u8::from(arm.dot(base).abs() < std::f32::consts::FRAC_1_SQRT_2);
                lanes[i].approach = Some((x, group));
                for &j in &exits {
                    let (b, db) = (start(&lanes[j]), dir_start(&lanes[j]));
                    if lanes[j].road == lanes[i].road && da.dot(db) < -0.5 {
                        continue; // no U-turns
                    }
                    // Straight on, a right turn (the exit lies to the right) or a left turn.
                    let turn = da.perp_dot(db);
                    let straight = da.dot(db) > 0.9;
                    let right = turn < -0.5;
                    let left = turn > 0.5;
                    if !(straight || right || left) {
                        continue;
                    }
                    // Lane discipline: straight on into the lane with the same index; right turns
                    // from the outermost lane into the outermost lane; left turns from the
                    // innermost lane into the innermost lane.
                    let (li, lj) = (&lanes[i], &lanes[j]);
                    if straight && li.index != lj.index {
                        continue;
                    }
                    if right
                        && (li.index != li.lanes_per_direction - 1
                            || lj.index != lj.lanes_per_direction - 1)
                    {
                        continue;
                    }
                    if left && (li.index != 0 || lj.index != 0) {
                        continue;
                    }
                    let pts = connector_points(a, da, b, db);
                    let Ok(line) = CenterLine::new(&pts) else {
                        continue;
                    };
                    let id = lanes.len() as u32;
                    lanes.push(Lane {
                        length_m: line.length_m(),
                        line,
                        speed_limit_m_per_s: lanes[i].speed_limit_m_per_s.min(if right {
                            RIGHT_TURN_SPEED_M_PER_S
                        } else if left {
                            LEFT_TURN_SPEED_M_PER_S
                        } else {
                            f32::INFINITY
                        }),
                        road: lanes[i].road,
                        next: vec![j as u32],
                        approach: None,
                        crossing: Some(x),
                        is_entry: false,
                        index: -1,
                        lanes_per_direction: 0,
                        is_turn: right || left,
                        is_left: left,
                        width_m: lanes[i].width_m,
                        from: Some(i as u32),
                        neighbors: [None, None],
                        conflicts: Vec::new(),
                    });
                    lanes[i].next.push(id);
                }
            }
        }
        // Conflicts: connectors of one intersection whose centre lines come close.
        for a in n_road_lanes..lanes.len() {
            for b in n_road_lanes..lanes.len() {
                let (la, lb) = (&lanes[a], &lanes[b]);
                if a == b || la.crossing != lb.crossing || la.from == lb.from {
                    continue;
                }
                // Points ~1 m apart against the other's segments, both ways round.
                let near = |x: &Lane, y: &Lane| {
                    x.line
                        .points_m()
                        .iter()
                        .any(|&p| y.line.project(p).lateral_m.abs() < CONFLICT_DISTANCE_M)
                };
                let close = near(la, lb) || near(lb, la);
                if close {
                    lanes[a].conflicts.push(b as u32);
                }
            }
        }
        // Entries: road lanes that nothing leads into.
        let mut has_pred = vec![false; lanes.len()];
        for l in &lanes {
            for &n in &l.next {
                has_pred[n as usize] = true;
            }
        }
        for (i, l) in lanes.iter_mut().enumerate() {
            l.is_entry = i < n_road_lanes && !has_pred[i];
        }
        let mut grid: std::collections::HashMap<(i32, i32), Vec<(u32, u32)>> =
            std::collections::HashMap::new();
        for (l, lane) in lanes.iter().enumerate() {
            let pad = Vec2::splat(0.5 * lane.width_m + 1.5);
            for (k, w) in lane.line.points_m().windows(2).enumerate() {
                let (lo, hi) = (cell_of(w[0].min(w[1]) - pad), cell_of(w[0].max(w[1]) + pad));
                for cx in lo.0..=hi.0 {
                    for cy in lo.1..=hi.1 {
                        grid.entry((cx, cy)).or_default().push((l as u32, k as u32));
                    }
                }
            }
        }
        LaneGraph {
            lanes,
            road_lanes,
            signals,
            grid,
        }
    }

    /// Lanes whose strip (half the lane width plus `margin_m` either side of the centre line)
    /// holds `p`, with the arc length of `p` on each (a lane at most once).
    pub fn lanes_at(&self, p: Vec2, margin_m: f32) -> Vec<(u32, f32)> {
        let mut out: Vec<(u32, f32)> = Vec::new();
        let Some(cands) = self.grid.get(&cell_of(p)) else {
            return out;
        };
        for &(l, k) in cands {
            if out.iter().any(|&(m, _)| m == l) {
                continue;
            }
            let lane = &self.lanes[l as usize];
            // Cheap test on the listed segment first: most candidates are not near `p`.
            let pts = lane.line.points_m();
            let (a, ab) = (pts[k as usize], pts[k as usize + 1] - pts[k as usize]);
            let t = ((p - a).dot(ab) / ab.length_squared()).clamp(0.0, 1.0);
            if (a + ab * t).distance(p) >= 0.5 * lane.width_m + margin_m {
                continue;
            }
            let pr = lane.line.project_near(p, k as usize);
            if pr.lateral_m.abs() < 0.5 * lane.width_m + margin_m
                && pr.arc_m > 0.0
                && pr.arc_m < lane.length_m
            {
                out.push((l, pr.arc_m));
            }
        }
        out
    }

    /// Lane id of `lane` (0.. forward, -1.. backward) on `road`.
    pub fn lane_id(&self, road: usize, lane: i32) -> Option<u32> {
        let (f, b) = self.road_lanes.get(road)?;
        if lane >= 0 {
            f.get(lane as usize).copied()
        } else {
            b.get((-lane - 1) as usize).copied()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signal_groups_alternate_with_clearance() {
        let p = SignalPlan {
            green_s: 20.0,
            yellow_s: 3.0,
            all_red_s: 2.0,
            signalled: true,
        };
        for t in 0..500 {
            let t = t as f64 * 0.1;
            let (a, b) = (p.state(0, t), p.state(1, t));
            assert!(
                !(a != SignalState::Red && b != SignalState::Red),
                "both groups open at {t}"
            );
        }
        assert_eq!(p.state(0, 1.0), SignalState::Green);
        assert_eq!(p.state(0, 21.0), SignalState::Yellow);
        assert_eq!(p.state(0, 24.0), SignalState::Red);
        assert_eq!(p.state(1, 26.0), SignalState::Green);
    }
}
