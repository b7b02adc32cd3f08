//! Traffic and weather physics in the ECS, against closed forms: braking distances on four
//! surfaces, the IDM equilibrium gap of a platoon, no collisions in the busiest scene, road
//! wetness following the rain, determinism of `simulate`.

use crate::common;

use std::collections::HashMap;

use verisim::Simulation;
use verisim::physics::longitudinal::{G_M_PER_S2, IdmParams, equilibrium_gap_m};
use verisim::physics::vehicle::VehicleType;
use verisim::world::ActorState;

#[test]
fn braking_from_100_kmh_stops_within_5_percent_of_v2_over_2_mu_g() {
    let scenario = common::load_scene("scenes/braking.ron");
    let mut sim = Simulation::new(scenario);
    let mus = [0.8f32, 0.55, 0.3, 0.1];
    let mut start: HashMap<u32, (f32, f32)> = HashMap::new();
    let mut stop: HashMap<u32, f32> = HashMap::new();
    let mut prev: Vec<ActorState> = sim.states();
    while sim.time_s() < 40.0 && stop.len() < 4 {
        sim.step();
        let now = sim.states();
        for (p, s) in prev.iter().zip(&now) {
            if s.id == 0 {
                continue;
            }
            if s.accel_m_per_s2 < -0.5 && !start.contains_key(&s.id) {
                start.insert(s.id, (p.position.x, p.speed_m_per_s));
            }
            if start.contains_key(&s.id) && s.speed_m_per_s == 0.0 && !stop.contains_key(&s.id) {
                stop.insert(s.id, s.position.x);
            }
        }
        prev = now;
    }
    assert_eq!(stop.len(), 4, "every car must stop");
    for id in 1..=4u32 {
        let (x0, v0) = start[&id];
        let mu = mus[id as usize - 1];
        let expected = v0 * v0 / (2.0 * mu * G_M_PER_S2);
        let d = stop[&id] - x0;
        assert!((v0 - 27.78).abs() < 0.05, "car {id} braked from {v0} m/s");
        assert!(
            (d - expected).abs() / expected < 0.05,
            "car {id} (μ {mu}): {d} m vs {expected} m"
        );
    }
}

#[test]
fn platoon_settles_at_the_idm_equilibrium_gap() {
    let mut actors = String::new();
    for k in 0..10 {
        let desired = if k == 0 { "Some(10.0)" } else { "None" };
        actors += &format!(
            "(kind: Car, speed_m_per_s: 10.0, drive: Some((road: 0, lane: 0, s_m: {}, desired_speed_m_per_s: {desired}))),",
            300.0 - 30.0 * k as f32
        );
    }
    let text = format!(
        r#"Scenario(
    name: "platoon",
    map: (ground_size_m: 0.0, roads: [(shape: Straight(from: (0.0, 0.0), to: (6000.0, 0.0)), speed_limit_m_per_s: 13.9)]),
    actors: [{actors}],
    ego: (spawn: Some((0.0, -30.0, 0.0))),
    rig: (),
    run: (frames: 1, physics_dt_s: 0.05),
)"#
    );
    let mut sim = Simulation::new(common::scenario_from_str("platoon.ron", &text));
    while sim.time_s() < 400.0 {
        sim.step();
    }
    let idm = IdmParams::for_type(VehicleType::Car);
    let expected = equilibrium_gap_m(10.0, 13.9, &idm);
    // Bumper to bumper: each car's drawn length.
    let length: HashMap<u32, f32> = sim
        .frame_inputs()
        .objects
        .iter()
        .map(|o| (o.instance_id, o.size_m.x))
        .collect();
    let mut xs: Vec<(u32, f32)> = sim
        .states()
        .iter()
        .filter(|s| s.id > 0)
        .map(|s| (s.id, s.position.x))
        .collect();
    xs.sort_by_key(|(id, _)| *id);
    for w in xs.windows(2) {
        let gap = w[0].1 - w[1].1 - 0.5 * (length[&w[0].0] + length[&w[1].0]);
        assert!(
            (gap - expected).abs() / expected < 0.02,
            "gap {gap} vs equilibrium {expected}"
        );
    }
}

fn overlap(a: &ActorState, b: &ActorState, size: &HashMap<u32, (f32, f32)>) -> bool {
    common::footprints_overlap(a, size[&a.id], b, size[&b.id])
}

#[test]
fn no_collisions_in_ten_minutes_of_the_busiest_scene() {
    let scenario = common::load_scene("scenes/traffic_city.ron");
    let mut sim = Simulation::new(scenario);
    // Each vehicle's footprint: its drawn size (the ego's is the default car's).
    let drawn: HashMap<u32, (f32, f32)> = sim
        .frame_inputs()
        .objects
        .iter()
        .map(|o| (o.instance_id, (o.size_m.x, o.size_m.y)))
        .collect();
    let mut size: HashMap<u32, (f32, f32)> = HashMap::new();
    let mut vehicles = 0;
    for s in sim.states() {
        let (l, w) = match s.kind.as_str() {
            "ego" => (4.5, 1.8),
            "car" | "van" | "truck" | "bus" => drawn[&s.id],
            _ => (0.0, 0.0),
        };
        if l > 0.0 {
            vehicles += 1;
        }
        size.insert(s.id, (l, w));
    }
    assert!(vehicles > 50, "busy scene has {vehicles} vehicles");
    let mut moved = 0.0f64;
    let mut checks = 0;
    while sim.time_s() < 600.0 {
        sim.step();
        if !sim.tick().is_multiple_of(5) {
            continue;
        }
        let states: Vec<ActorState> = sim.states().into_iter().filter(|s| s.lane >= 0).collect();
        for (i, a) in states.iter().enumerate() {
            moved += a.speed_m_per_s as f64 * 0.05;
            for b in &states[i + 1..] {
                if a.position.truncate().distance(b.position.truncate()) < 14.0 {
                    assert!(
                        !overlap(a, b, &size),
                        "t = {:.2} s: {} ({}) and {} ({}) collide at {} / {}",
                        sim.time_s(),
                        a.id,
                        a.kind,
                        b.id,
                        b.kind,
                        a.position,
                        b.position
                    );
                }
            }
        }
        checks += 1;
    }
    assert!(checks > 10_000);
    // Traffic flows (signals, a first-come-first-served crossing and a stalled car slow it):
    // on average vehicles covered more than half a kilometre each.
    assert!(
        moved / vehicles as f64 > 500.0,
        "mean distance {}",
        moved / vehicles as f64
    );
}

#[test]
fn the_road_wets_in_rain_dries_after_and_stopping_distance_follows() {
    let text = r#"Scenario(
    name: "rain-then-dry",
    map: (ground_size_m: 0.0, roads: [(shape: Straight(from: (0.0, 0.0), to: (500.0, 0.0)))]),
    actors: [(kind: Car, speed_m_per_s: 10.0, drive: Some((road: 0, lane: 0, s_m: 10.0)))],
    weather: (rain_mm_per_h: 10.0),
    weather_changes: [(at_s: 900.0, rain_mm_per_h: Some(0.0))],
    ego: (spawn: Some((0.0, -30.0, 0.0))),
    rig: (),
    run: (frames: 1, physics_dt_s: 0.1),
)"#;
    let mut sim = Simulation::new(common::scenario_from_str("rain.ron", text));
    let mu_at = |sim: &mut Simulation| sim.states().iter().find(|s| s.id == 1).unwrap().mu;
    let mu0 = mu_at(&mut sim);
    let mut samples = Vec::new();
    for t in [300.0, 900.0, 1500.0, 3000.0] {
        while sim.time_s() < t {
            sim.step();
        }
        samples.push((
            t,
            mu_at(&mut sim),
            sim.states()
                .iter()
                .find(|s| s.id == 1)
                .unwrap()
                .surface
                .clone(),
        ));
    }
    let v = 27.78f32;
    let dist = |mu: f32| v * v / (2.0 * mu * G_M_PER_S2);
    assert_eq!(samples[1].2, "wet", "{samples:?}");
    assert!(
        samples[0].1 < mu0 && samples[1].1 <= samples[0].1,
        "μ falls while it rains: {mu0} {samples:?}"
    );
    assert!(
        samples[2].1 > samples[1].1 && samples[3].1 > samples[2].1,
        "μ recovers after the rain: {samples:?}"
    );
    assert!(
        dist(samples[1].1) > 1.15 * dist(mu0),
        "wet stopping distance {} vs dry {}",
        dist(samples[1].1),
        dist(mu0)
    );
    assert_eq!(samples[3].2, "dry", "{samples:?}");
}

#[test]
fn simulate_is_deterministic() {
    let tmp = tempfile::tempdir().unwrap();
    let scenario = common::load_scene("scenes/traffic_city.ron");
    let a = tmp.path().join("a.csv");
    let b = tmp.path().join("b.csv");
    verisim::pipeline::simulate::write_states(&scenario, 300, &a).unwrap();
    verisim::pipeline::simulate::write_states(&scenario, 300, &b).unwrap();
    let (ta, tb) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    assert!(ta.len() > 10_000);
    assert!(ta == tb, "states.csv differs between two runs");
    let text = String::from_utf8(ta).unwrap();
    assert!(text.starts_with(verisim::pipeline::simulate::CSV_HEADER));
    assert_eq!(text.lines().nth(1).unwrap().split(',').count(), 13);
}
