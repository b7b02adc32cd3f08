//! Traffic rules in the ECS, measured from the simulation states: MOBIL lane changes (a fast car
//! passes a slow one; never into an unsafe gap), permissive left turns that wait for oncoming
//! traffic, pedestrians who cross only on their phase, vehicles that stop for pedestrians, and
//! the rare events (a pedestrian stepping out, a cut-in, a cyclist's swerve) as configured.

use crate::common;

use verisim::Simulation;
use verisim::physics::longitudinal::{IdmParams, idm_accel_m_per_s2};
use verisim::physics::mobil::MobilParams;
use verisim::physics::vehicle::VehicleType;
use verisim::world::ActorState;
use verisim::world::lanes::{LaneGraph, SignalState};

fn footprint(kind: &str) -> (f32, f32) {
    match kind {
        "car" | "ego" => (4.5, 1.8),
        "van" => (5.1, 2.0),
        "truck" => (8.5, 2.5),
        "bus" => (12.0, 2.55),
        "pedestrian" => (0.5, 0.6),
        "cyclist" => (1.8, 0.6),
        _ => (0.0, 0.0),
    }
}

/// Separating-axis test of two oriented footprints.
fn overlap(a: &ActorState, b: &ActorState) -> bool {
    common::footprints_overlap(a, footprint(&a.kind), b, footprint(&b.kind))
}

/// No vehicle overlaps another road user (pedestrians may brush past one another).
fn assert_no_overlap(t: f64, states: &[ActorState]) {
    for (i, a) in states.iter().enumerate() {
        for b in &states[i + 1..] {
            if a.kind == "pedestrian" && b.kind == "pedestrian" {
                continue;
            }
            assert!(
                !overlap(a, b),
                "t = {t:.2} s: {} ({}) at {} and {} ({}) at {} overlap",
                a.id,
                a.kind,
                a.position,
                b.id,
                b.kind,
                b.position
            );
        }
    }
}

/// Runs `sim` to `until_s`, checking for overlaps, and returns (time, states) per tick.
fn run(sim: &mut Simulation, until_s: f64) -> Vec<(f64, Vec<ActorState>)> {
    let mut out = vec![(sim.time_s(), sim.states())];
    while sim.time_s() < until_s {
        sim.step();
        let states = sim.states();
        assert_no_overlap(sim.time_s(), &states);
        out.push((sim.time_s(), states));
    }
    out
}

fn of(states: &[ActorState], id: u32) -> &ActorState {
    states.iter().find(|s| s.id == id).unwrap()
}

fn two_lane_road(actors: &str, extra: &str) -> Simulation {
    let text = format!(
        r#"Scenario(
    name: "two-lane",
    map: (ground_size_m: 0.0, roads: [(shape: Straight(from: (0.0, 0.0), to: (3000.0, 0.0)), lanes_per_direction: 2, speed_limit_m_per_s: 25.0)]),
    actors: [{actors}],
    ego: (spawn: Some((0.0, -60.0, 0.0))),
    rig: (),
    run: (frames: 1, physics_dt_s: 0.05),
    {extra}
)"#
    );
    Simulation::new(common::scenario_from_str("two-lane.ron", &text))
}

#[test]
fn a_fast_car_changes_lanes_behind_a_slow_one_and_passes() {
    let mut sim = two_lane_road(
        "(kind: Car, speed_m_per_s: 10.0, drive: Some((road: 0, lane: 0, s_m: 200.0, desired_speed_m_per_s: Some(10.0), lane_changes: false))),
         (kind: Car, speed_m_per_s: 20.0, drive: Some((road: 0, lane: 0, s_m: 100.0, desired_speed_m_per_s: Some(20.0)))),",
        "",
    );
    let trace = run(&mut sim, 60.0);
    let lane0 = of(&trace[0].1, 2).lane;
    let y0 = of(&trace[0].1, 2).position.y;
    // The change: the lane id switches once; the car then moves sideways by one lane width
    // over a few seconds (not in a jump).
    let switch = trace
        .iter()
        .position(|(_, s)| of(s, 2).lane != lane0)
        .expect("the fast car changes lanes");
    let t_switch = trace[switch].0;
    let y_target = y0 - 3.5; // lane 1 lies one lane width further right
    let settled = trace[switch..]
        .iter()
        .find(|(_, s)| (of(s, 2).position.y - y_target).abs() < 0.1)
        .expect("the car reaches the target lane's centre line")
        .0;
    assert!(
        (1.0..8.0).contains(&(settled - t_switch)),
        "lane change took {} s",
        settled - t_switch
    );
    // The largest sideways step in one tick stays small (pure pursuit and the bicycle model).
    for w in trace.windows(2) {
        let dy = (of(&w[1].1, 2).position.y - of(&w[0].1, 2).position.y).abs();
        assert!(dy < 0.25, "sideways jump of {dy} m at {}", w[1].0);
    }
    // It was slowed by the slow car before, and passes it.
    let end = &trace.last().unwrap().1;
    assert!(
        of(end, 2).position.x > of(end, 1).position.x + 20.0,
        "fast car at {} vs slow car at {}",
        of(end, 2).position.x,
        of(end, 1).position.x
    );
    assert!(of(end, 2).speed_m_per_s > 18.0);
    // The slow car kept its lane.
    assert!(
        trace
            .iter()
            .all(|(_, s)| of(s, 1).lane == of(&trace[0].1, 1).lane)
    );
}

#[test]
fn no_lane_change_into_a_gap_that_would_brake_the_new_follower_beyond_b_safe() {
    // Car 2 (wants 20 m/s) sits behind slow car 1; car 3 comes up fast in the target lane,
    // 12 m behind car 2: changing now would force it to brake far harder than b_safe.
    let mut sim = two_lane_road(
        "(kind: Car, speed_m_per_s: 10.0, drive: Some((road: 0, lane: 0, s_m: 125.0, desired_speed_m_per_s: Some(10.0), lane_changes: false))),
         (kind: Car, speed_m_per_s: 10.0, drive: Some((road: 0, lane: 0, s_m: 100.0, desired_speed_m_per_s: Some(20.0)))),
         (kind: Car, speed_m_per_s: 20.0, drive: Some((road: 0, lane: 1, s_m: 88.0, desired_speed_m_per_s: Some(20.0), lane_changes: false))),",
        "",
    );
    let trace = run(&mut sim, 40.0);
    let lane0 = of(&trace[0].1, 2).lane;
    let switch = trace
        .iter()
        .position(|(_, s)| of(s, 2).lane != lane0)
        .expect("car 2 changes once the gap is safe");
    let before = &trace[switch - 1].1;
    let (c, n) = (of(before, 2), of(before, 3));
    assert!(
        n.position.x > c.position.x,
        "car 2 changed at {:.2} s while car 3 was still behind it ({} vs {})",
        trace[switch].0,
        n.position.x,
        c.position.x
    );
    // Over the whole run, whenever car 3 was behind car 2, a change would have cost car 3
    // more than b_safe; car 2 stayed in its lane all that time.
    let idm = IdmParams::for_type(VehicleType::Car);
    let b_safe = MobilParams::for_type(VehicleType::Car).safe_decel_m_per_s2;
    let mut unsafe_ticks = 0;
    for (_, s) in &trace[..switch] {
        let (c, n) = (of(s, 2), of(s, 3));
        if n.position.x < c.position.x {
            let gap = c.position.x - n.position.x - 4.5;
            let a = idm_accel_m_per_s2(
                n.speed_m_per_s,
                20.0,
                gap,
                n.speed_m_per_s - c.speed_m_per_s,
                &idm,
            );
            if a < -b_safe {
                unsafe_ticks += 1;
            }
        }
    }
    assert!(unsafe_ticks > 5, "the test never had an unsafe gap");
}

fn t_junction(actors: &str) -> Simulation {
    let text = format!(
        r#"Scenario(
    name: "t-junction",
    map: (
        ground_size_m: 0.0,
        roads: [
            (shape: Straight(from: (-200.0, 0.0), to: (-10.0, 0.0)), speed_limit_m_per_s: 13.9),
            (shape: Straight(from: (10.0, 0.0), to: (200.0, 0.0)), speed_limit_m_per_s: 13.9),
            (shape: Straight(from: (0.0, -10.0), to: (0.0, -200.0)), speed_limit_m_per_s: 13.9),
        ],
        intersections: [(center: (0.0, 0.0), arms_deg: [0.0, 180.0, 270.0], size_m: 20.0, signals: true)],
    ),
    actors: [{actors}],
    ego: (spawn: Some((-100.0, -100.0, 0.0))),
    traffic: Some((vehicles_per_km_per_lane: 0.0, signal_green_s: 30.0)),
    rig: (),
    run: (frames: 1, physics_dt_s: 0.05),
)"#
    );
    Simulation::new(common::scenario_from_str("t-junction.ron", &text))
}

#[test]
fn a_left_turner_waits_for_oncoming_traffic_then_turns() {
    // Car 1 comes from the east and turns left (south) across the oncoming cars 2-4, which
    // come from the west and go straight on, all on green.
    let mut sim = t_junction(
        "(kind: Car, speed_m_per_s: 10.0, drive: Some((road: 1, lane: -1, s_m: 140.0, turn: Some(Left)))),
         (kind: Car, speed_m_per_s: 12.0, drive: Some((road: 0, lane: 0, s_m: 130.0, turn: Some(Straight)))),
         (kind: Car, speed_m_per_s: 12.0, drive: Some((road: 0, lane: 0, s_m: 105.0, turn: Some(Straight)))),
         (kind: Car, speed_m_per_s: 12.0, drive: Some((road: 0, lane: 0, s_m: 80.0, turn: Some(Straight)))),",
    );
    let trace = run(&mut sim, 30.0);
    // When car 1 crossed its stop line (x = 10 + 4.5 m, heading west), every oncoming car had
    // already passed the centre of the junction.
    let enter = trace
        .iter()
        .position(|(_, s)| of(s, 1).position.x - 2.25 < 14.5)
        .expect("the left-turner reaches its stop line");
    for id in 2..=4 {
        let x = of(&trace[enter].1, id).position.x;
        assert!(
            x > 2.25,
            "t = {:.2} s: car 1 entered while oncoming car {id} was at x = {x}",
            trace[enter].0
        );
    }
    // It waited: stopped near the line while the oncoming cars passed.
    assert!(
        trace[..enter]
            .iter()
            .any(|(_, s)| of(s, 1).speed_m_per_s < 0.1 && of(s, 1).position.x < 25.0),
        "car 1 never waited at the line"
    );
    // And turned: heading south on the south arm at the end.
    let end = of(&trace.last().unwrap().1, 1);
    assert!(
        end.position.y < -20.0 && end.position.x.abs() < 3.0,
        "car 1 ended at {}",
        end.position
    );
    assert!((end.yaw_rad + std::f32::consts::FRAC_PI_2).abs() < 0.1);
}

fn crossing_junction(actors: &str) -> (Simulation, LaneGraph) {
    let text = format!(
        r#"Scenario(
    name: "crosswalks",
    map: (
        ground_size_m: 0.0,
        roads: [
            (shape: Straight(from: (-200.0, 0.0), to: (-10.0, 0.0))),
            (shape: Straight(from: (10.0, 0.0), to: (200.0, 0.0))),
            (shape: Straight(from: (0.0, -200.0), to: (0.0, -10.0))),
            (shape: Straight(from: (0.0, 10.0), to: (0.0, 200.0))),
        ],
        intersections: [(center: (0.0, 0.0), arms_deg: [0.0, 90.0, 180.0, 270.0], size_m: 20.0, signals: true)],
    ),
    actors: [{actors}],
    ego: (spawn: Some((-100.0, -100.0, 0.0))),
    traffic: Some((vehicles_per_km_per_lane: 0.0)),
    rig: (),
    run: (frames: 1, physics_dt_s: 0.05),
)"#
    );
    let scenario = common::scenario_from_str("crosswalks.ron", &text);
    let graph = LaneGraph::build(&scenario.map, scenario.traffic.as_ref());
    (Simulation::new(scenario), graph)
}

#[test]
fn pedestrians_cross_only_on_their_phase_and_turning_cars_stop_for_them() {
    // Pedestrians walk round the junction's corners (crossing every arm); a car from the south
    // turns right into the east arm, across the crosswalk walked with its own phase.
    let (mut sim, graph) = crossing_junction(
        "(kind: Pedestrian, route: [(-12.0, -12.0), (12.0, -12.0), (12.0, 12.0), (-12.0, 12.0)], speed_m_per_s: 1.4, loop_route: true),
         (kind: Pedestrian, route: [(12.0, 12.0), (-12.0, 12.0), (-12.0, -12.0), (12.0, -12.0)], speed_m_per_s: 1.2, loop_route: true),
         (kind: Pedestrian, route: [(12.0, -12.0), (12.0, 12.0)], speed_m_per_s: 1.4, loop_route: true),
         (kind: Car, speed_m_per_s: 8.0, drive: Some((road: 2, lane: 0, s_m: 100.0, turn: Some(Right)))),",
    );
    let plan = graph.signals[0];
    let trace = run(&mut sim, 200.0);
    let mut crossings = 0;
    let mut stopped_for_pedestrian = false;
    for w in trace.windows(2) {
        let (t, s) = (w[1].0, &w[1].1);
        for id in 1..=3 {
            let (p0, p1) = (of(&w[0].1, id).position, of(s, id).position);
            // On a carriageway: the E-W arms (|y| < 3.5 with |x| > 10) are crossed walking
            // along y, with the N-S phase; the N-S arms with the E-W phase.
            let on_ew = p1.y.abs() < 3.5 && p1.x.abs() > 10.0;
            let on_ns = p1.x.abs() < 3.5 && p1.y.abs() > 10.0;
            if on_ew {
                assert_ne!(
                    plan.state(0, t),
                    SignalState::Green,
                    "t = {t:.2}: pedestrian {id} on an E-W arm at {p1} while E-W traffic has green"
                );
            }
            if on_ns {
                assert_ne!(
                    plan.state(1, t),
                    SignalState::Green,
                    "t = {t:.2}: pedestrian {id} on a N-S arm at {p1} while N-S traffic has green"
                );
            }
            // Stepping off the kerb: only on the walking phase's green.
            let was_kerb = p0.x.abs() > 11.9 && p0.y.abs() > 11.9;
            if was_kerb && p1.distance(p0) > 1e-4 {
                let walk_group = if (p1.x - p0.x).abs() > (p1.y - p0.y).abs() {
                    0
                } else {
                    1
                };
                assert_eq!(
                    plan.state(walk_group, w[0].0),
                    SignalState::Green,
                    "t = {t:.2}: pedestrian {id} stepped off at {p0} on don't walk"
                );
                crossings += 1;
            }
        }
        let car = of(s, 4);
        if car.speed_m_per_s < 0.1 && car.position.x > 0.0 {
            stopped_for_pedestrian |= (1..=3).any(|id| {
                let p = of(s, id).position;
                p.distance(car.position) < 8.0 && p.y.abs() < 4.3
            });
        }
    }
    assert!(crossings >= 10, "only {crossings} crossings started");
    assert!(
        stopped_for_pedestrian,
        "the turning car never stopped for a pedestrian"
    );
    // It got going again into the east arm (it may leave the map and re-enter later).
    assert!(
        trace.iter().any(|(_, s)| of(s, 4).position.x > 30.0),
        "the car never went on into the east arm"
    );
}

#[test]
fn a_car_stops_for_a_pedestrian_crossing_mid_block() {
    let mut sim = two_lane_road(
        "(kind: Car, speed_m_per_s: 12.0, drive: Some((road: 0, lane: 0, s_m: 0.0, desired_speed_m_per_s: Some(12.0), lane_changes: false))),
         (kind: Pedestrian, route: [(160.0, -9.0), (160.0, 9.0)], speed_m_per_s: 0.5),",
        "",
    );
    let trace = run(&mut sim, 50.0);
    // The car slows almost to a halt short of the pedestrian while it is on the car's lane.
    let slowest = trace
        .iter()
        .min_by(|a, b| {
            of(&a.1, 1)
                .speed_m_per_s
                .total_cmp(&of(&b.1, 1).speed_m_per_s)
        })
        .unwrap();
    let (car, ped) = (of(&slowest.1, 1), of(&slowest.1, 2));
    assert!(car.speed_m_per_s < 0.1, "slowest {} m/s", car.speed_m_per_s);
    assert!(
        car.position.x < ped.position.x - 2.25,
        "slowed past the pedestrian"
    );
    // It never drove past the pedestrian while the pedestrian was on its lane.
    for (t, s) in &trace {
        let (car, ped) = (of(s, 1), of(s, 2));
        if (ped.position.y - car.position.y).abs() < 1.75 + 0.3 {
            assert!(
                car.position.x < ped.position.x,
                "t = {t}: car passed the pedestrian"
            );
        }
    }
    let end = &trace.last().unwrap().1;
    assert!(
        of(end, 1).position.x > 200.0,
        "the car went on after the pedestrian crossed"
    );
}

fn rare_events_road(actors: &str, ego_drive: &str, events: &str) -> Simulation {
    let text = format!(
        r#"Scenario(
    name: "rare",
    map: (ground_size_m: 0.0, roads: [(shape: Straight(from: (0.0, 0.0), to: (2000.0, 0.0)), lanes_per_direction: 2, speed_limit_m_per_s: 20.0)]),
    actors: [{actors}],
    ego: (speed_m_per_s: 10.0, drive: Some({ego_drive})),
    rig: (),
    run: (frames: 1, physics_dt_s: 0.05),
    rare_events: [{events}],
)"#
    );
    Simulation::new(common::scenario_from_str("rare.ron", &text))
}

#[test]
fn a_pedestrian_steps_out_when_the_ego_comes_within_range_and_the_ego_stops() {
    let mut sim = rare_events_road(
        "",
        "(road: 0, lane: 1, s_m: 50.0, desired_speed_m_per_s: Some(10.0), lane_changes: false)",
        "PedestrianStepOut(road: 0, lane: 1, s_m: 150.0, ego_within_m: 30.0, speed_m_per_s: 1.5)",
    );
    let trace = run(&mut sim, 30.0);
    // Ids: 1 the parked car, 2 the pedestrian; 0 the ego.
    let p0 = of(&trace[0].1, 2).position;
    let start = trace
        .iter()
        .position(|(_, s)| of(s, 2).position.distance(p0) > 1e-4)
        .expect("the pedestrian steps out");
    let d = of(&trace[start].1, 0).position.distance(p0);
    assert!(
        (29.4..=30.0).contains(&d),
        "stepped out with the ego {d} m away (asked 30 m)"
    );
    // It walks into the ego's lane (lane 1: y in [-7, -3.5]) ...
    assert!(trace.iter().any(|(_, s)| {
        let y = of(s, 2).position.y;
        (-7.0..-3.5).contains(&y)
    }));
    // ... and the ego brakes for it and never drives past it while it is on the ego's lane.
    let slowest = trace
        .iter()
        .map(|(_, s)| of(s, 0).speed_m_per_s)
        .fold(f32::INFINITY, f32::min);
    assert!(slowest < 5.0, "the ego only slowed to {slowest} m/s");
    for (t, s) in &trace {
        let (ego, ped) = (of(s, 0), of(s, 2));
        if (ped.position.y - ego.position.y).abs() < 1.75 + 0.3 {
            assert!(
                ego.position.x < ped.position.x,
                "t = {t}: the ego passed the pedestrian"
            );
        }
    }
    assert!(of(&trace[start].1, 1).kind == "car");
}

#[test]
fn a_pedestrian_steps_out_at_its_time() {
    let mut sim = rare_events_road(
        "",
        "(road: 0, lane: 0, s_m: 10.0, desired_speed_m_per_s: Some(5.0), lane_changes: false)",
        "PedestrianStepOut(road: 0, lane: 1, s_m: 400.0, at_s: 4.0)",
    );
    let trace = run(&mut sim, 8.0);
    let p0 = of(&trace[0].1, 2).position;
    let start = trace
        .iter()
        .position(|(_, s)| of(s, 2).position.distance(p0) > 1e-4)
        .unwrap();
    assert!((trace[start].0 - 4.0).abs() < 0.11, "{}", trace[start].0);
    let moved = of(&trace.last().unwrap().1, 2).position.distance(p0);
    let expected = 1.5 * (trace.last().unwrap().0 - trace[start - 1].0) as f32;
    assert!(
        (moved - expected).abs() < 0.1,
        "walked {moved} m, expected {expected}"
    );
}

#[test]
fn a_cut_in_merges_in_front_of_the_ego_at_the_configured_gap() {
    // The ego (lane 0, 14 m/s) closes on a car in lane 1 (8 m/s) that cuts in at 12 m.
    let mut sim = rare_events_road(
        "(kind: Car, speed_m_per_s: 8.0, drive: Some((road: 0, lane: 1, s_m: 120.0, desired_speed_m_per_s: Some(8.0), lane_changes: false, events: [CutIn(at_s: 2.0, gap_m: 12.0)])))",
        "(road: 0, lane: 0, s_m: 50.0, desired_speed_m_per_s: Some(14.0), lane_changes: false)",
        "",
    );
    let mut changed_at = None;
    let mut prev = sim.states();
    let ego_lane = of(&prev, 0).lane;
    while sim.time_s() < 30.0 {
        sim.step();
        let now = sim.states();
        assert_no_overlap(sim.time_s(), &now);
        if changed_at.is_none() && of(&now, 1).lane == ego_lane {
            let gap = of(&prev, 1).position.x - of(&prev, 0).position.x - 4.5;
            let closing = (of(&prev, 0).speed_m_per_s - of(&prev, 1).speed_m_per_s) * 0.05;
            changed_at = Some((sim.time_s(), gap, closing));
        }
        prev = now;
    }
    let (t, gap, closing) = changed_at.expect("the car cuts in");
    assert!(t >= 2.0, "cut in at {t} s, before its time");
    assert!(
        gap <= 12.0 + 0.05 && gap >= 12.0 - closing - 0.05,
        "cut in at a gap of {gap} m (asked 12 m)"
    );
    // It ends up centred in the ego's lane, ahead of the ego.
    let end = sim.states();
    assert!((of(&end, 1).position.y - of(&end, 0).position.y).abs() < 0.2);
    assert!(of(&end, 1).position.x > of(&end, 0).position.x);
}

#[test]
fn a_cyclist_swerves_by_the_configured_amplitude_over_the_configured_time() {
    let mut sim = rare_events_road(
        "(kind: Cyclist, speed_m_per_s: 5.0, drive: Some((road: 0, lane: 1, s_m: 100.0, desired_speed_m_per_s: Some(5.0), events: [Swerve(at_s: 3.0, amplitude_m: 1.2, duration_s: 4.0)])))",
        "(road: 0, lane: 0, s_m: 10.0, desired_speed_m_per_s: Some(3.0), lane_changes: false)",
        "",
    );
    let trace = run(&mut sim, 12.0);
    let y0 = of(&trace[0].1, 1).position.y;
    let off = |s: &Vec<ActorState>| of(s, 1).position.y - y0;
    let (peak_t, peak) = trace
        .iter()
        .map(|(t, s)| (*t, off(s)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert!(
        (peak - 1.2).abs() < 0.2 * 1.2,
        "peak lateral excursion {peak} m (asked 1.2 m)"
    );
    assert!((3.0..7.0).contains(&peak_t), "peak at {peak_t} s");
    // Before the event and well after it, the cyclist rides its lane centre.
    for (t, s) in &trace {
        if *t < 2.9 || *t > 9.0 {
            assert!(off(s).abs() < 0.1, "t = {t}: off by {} m", off(s));
        }
    }
}

#[test]
fn bad_rare_events_are_reported_at_their_line() {
    let text = |events: &str| {
        format!(
            r#"Scenario(
    name: "bad",
    map: (ground_size_m: 0.0, roads: [(shape: Straight(from: (0.0, 0.0), to: (500.0, 0.0)))]),
    ego: (spawn: Some((0.0, -30.0, 0.0))),
    rig: (),
    run: (frames: 1),
    rare_events: [
        {events}
    ],
)"#
        )
    };
    let parse = |events: &str| {
        let source = verisim::scenario::Source {
            path: "bad.ron".into(),
            text: text(events),
        };
        verisim::scenario::parse(&source).unwrap_err().to_string()
    };
    let e = parse("PedestrianStepOut(road: 3, lane: 0, s_m: 10.0, at_s: 1.0)");
    assert!(
        e.contains("bad.ron:8") && e.contains("rare_events[0].road") && e.contains("out of range"),
        "{e}"
    );
    let e = parse("PedestrianStepOut(road: 0, lane: 2, s_m: 10.0, at_s: 1.0)");
    assert!(e.contains("bad.ron:8") && e.contains("lane"), "{e}");
    let e = parse("PedestrianStepOut(road: 0, lane: 0, s_m: 10.0, at_s: -1.0)");
    assert!(e.contains("bad.ron:8") && e.contains("≥ 0"), "{e}");
    let e = parse("PedestrianStepOut(road: 0, lane: 0, s_m: 10.0)");
    assert!(e.contains("trigger"), "{e}");
    let e = parse("PedestrianStepOut(road: 0, lane: 0, s_m: 900.0, at_s: 1.0)");
    assert!(e.contains("s_m"), "{e}");
    // Driver events: negative times and a cut-in with no adjacent lane or no driven ego.
    let actor = |events: &str| {
        let source = verisim::scenario::Source {
            path: "bad.ron".into(),
            text: format!(
                r#"Scenario(
    name: "bad",
    map: (ground_size_m: 0.0, roads: [(shape: Straight(from: (0.0, 0.0), to: (500.0, 0.0)))]),
    actors: [(kind: Cyclist, drive: Some((road: 0, events: [{events}])))],
    ego: (drive: Some((road: 0, s_m: 5.0))),
    rig: (),
    run: (frames: 1),
)"#
            ),
        };
        verisim::scenario::parse(&source).unwrap_err().to_string()
    };
    let e = actor("Swerve(at_s: -2.0, amplitude_m: 1.0, duration_s: 2.0)");
    assert!(e.contains("bad.ron:4") && e.contains("≥ 0"), "{e}");
    let e = actor("Swerve(at_s: 2.0, amplitude_m: 9.0, duration_s: 2.0)");
    assert!(e.contains("amplitude_m"), "{e}");
    let e = actor("CutIn(at_s: 2.0, gap_m: 10.0)");
    assert!(e.contains("adjacent lane"), "{e}");
}

#[test]
fn the_rare_events_scene_shows_all_three_events() {
    let mut sim = Simulation::new(common::load_scene("scenes/rare_events.ron"));
    let mut trace = vec![(sim.time_s(), sim.states())];
    while sim.time_s() < 25.0 {
        sim.step();
        let states = sim.states();
        assert_no_overlap(sim.time_s(), &states);
        // Keep every 10th tick (0.1 s).
        if sim.tick().is_multiple_of(10) {
            trace.push((sim.time_s(), states));
        }
    }
    // Ids: 1 the cut-in car, 2 the cyclist, 3 the parked car, 4 the pedestrian; 0 the ego.
    let ego_lane = of(&trace[0].1, 0).lane;
    assert!(
        trace.iter().any(|(_, s)| of(s, 1).lane == ego_lane),
        "the cut-in never happened"
    );
    let y0 = of(&trace[0].1, 2).position.y;
    let swerve = trace
        .iter()
        .map(|(_, s)| of(s, 2).position.y - y0)
        .fold(0.0f32, f32::max);
    assert!((0.8..1.2).contains(&swerve), "cyclist swerved {swerve} m");
    let p0 = of(&trace[0].1, 4).position;
    let walked = of(&trace.last().unwrap().1, 4).position.distance(p0);
    assert!(walked > 5.0, "the pedestrian walked {walked} m");
    assert_eq!(of(&trace[0].1, 3).kind, "car");
}

#[test]
fn drivers_keep_their_own_line_in_the_lane_and_the_ego_the_centre() {
    // Eight cars on a long straight road (lanes along +x), the ego behind them.
    let cars: Vec<String> = (0..8)
        .map(|k| {
            format!(
                "(kind: Car, speed_m_per_s: 12.0, drive: Some((road: 0, lane: {}, s_m: {}, desired_speed_m_per_s: Some(12.0), lane_changes: false)))",
                k % 2,
                200 + 60 * k
            )
        })
        .collect();
    let mut sim = rare_events_road(
        &cars.join(", "),
        "(road: 0, lane: 1, s_m: 20.0, desired_speed_m_per_s: Some(10.0), lane_changes: false)",
        "",
    );
    let trace = run(&mut sim, 40.0);
    let start: Vec<ActorState> = trace[0].1.clone();
    let (mut offsets, mut headings) = (Vec::new(), Vec::new());
    for (t, states) in &trace {
        for s in states {
            let lane_y = of(&start, s.id).position.y;
            let off = s.position.y - lane_y;
            if s.id == 0 {
                assert!(
                    off.abs() < 0.05,
                    "t = {t}: the ego is {off} m off its centre line"
                );
                continue;
            }
            // Every car stays well inside its 3.5 m lane (a car is 1.6-1.9 m wide).
            assert!(
                off.abs() < 0.45,
                "t = {t}: car {} is {off} m off centre",
                s.id
            );
            if *t > 10.0 {
                offsets.push(off as f64);
                headings.push(verisim::physics::lateral::wrap_angle_rad(s.yaw_rad) as f64);
            }
        }
    }
    let sd = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    };
    let (off_sd, heading_max) = (
        sd(&offsets),
        headings
            .iter()
            .fold(0.0f64, |a, h| a.max(h.abs().to_degrees())),
    );
    eprintln!("lateral offset SD {off_sd:.3} m, largest heading off the lane {heading_max:.2}°");
    assert!(
        (0.05..0.3).contains(&off_sd),
        "lateral offset SD {off_sd} m"
    );
    assert!(
        (0.2..2.0).contains(&heading_max),
        "heading off the lane up to {heading_max}°"
    );
}
