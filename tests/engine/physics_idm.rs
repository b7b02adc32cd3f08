//! IDM platoon against the equilibrium gap s_e = (s0 + vT)/√(1 − (v/v0)^δ), and collision-free
//! following through a leader's emergency stop.

use verisim::physics::friction::RoadSurface;
use verisim::physics::longitudinal::{
    IdmParams, LeaderState, car_following_accel_m_per_s2, emergency_brake_accel_m_per_s2,
    integrate_longitudinal,
};
use verisim::physics::vehicle::VehicleType;

struct Car {
    x_m: f64,
    v_m_per_s: f32,
    length_m: f32,
}

/// Closed form, written out independently of the library.
fn equilibrium_gap(v: f64, v0: f64, p: &IdmParams) -> f64 {
    (p.min_gap_m as f64 + v * p.time_headway_s as f64)
        / (1.0 - (v / v0).powf(p.accel_exponent as f64)).sqrt()
}

/// Open road: car 0 is a scripted leader, cars 1..10 follow by the IDM (μ-limited).
fn simulate_platoon(
    kind: VehicleType,
    v_lead: f32,
    v0: f32,
    dt_s: f32,
    duration_s: f32,
    leader_speed_at: impl Fn(f32, f32) -> Option<f32>,
    mut check: impl FnMut(f32, &[Car]),
) {
    let params = kind.idm_params();
    let mu = RoadSurface::dry().mu(v_lead);
    let length = kind.length_m();
    // Start away from equilibrium: gaps alternate 0.6 and 1.5 × s_e at the leader's speed.
    let s_e = equilibrium_gap(v_lead as f64, v0 as f64, &params);
    let mut cars = Vec::new();
    let mut x = 0.0;
    for i in 0..10 {
        cars.push(Car {
            x_m: x,
            v_m_per_s: v_lead,
            length_m: length,
        });
        x -= length as f64 + s_e * if i % 2 == 0 { 0.6 } else { 1.5 };
    }
    let steps = (duration_s / dt_s).round() as usize;
    for step in 0..steps {
        let t = step as f32 * dt_s;
        // Leader: scripted speed, or an emergency brake at μ·g.
        let lead_accel = match leader_speed_at(t, cars[0].v_m_per_s) {
            Some(target) => ((target - cars[0].v_m_per_s) / dt_s).clamp(-1.5, 1.5),
            None => emergency_brake_accel_m_per_s2(mu),
        };
        let mut accels = vec![lead_accel];
        for i in 1..cars.len() {
            let (ahead, me) = (&cars[i - 1], &cars[i]);
            let leader = LeaderState {
                gap_m: (ahead.x_m - me.x_m) as f32 - ahead.length_m,
                speed_m_per_s: ahead.v_m_per_s,
            };
            accels.push(car_following_accel_m_per_s2(
                me.v_m_per_s,
                v0,
                Some(leader),
                &params,
                RoadSurface::dry().mu(me.v_m_per_s),
            ));
        }
        for (car, a) in cars.iter_mut().zip(accels) {
            let s = integrate_longitudinal(car.v_m_per_s, a, dt_s);
            car.v_m_per_s = s.speed_m_per_s;
            car.x_m += s.distance_m as f64;
        }
        check(t + dt_s, &cars);
    }
}

fn gaps(cars: &[Car]) -> Vec<f64> {
    cars.windows(2)
        .map(|w| w[0].x_m - w[1].x_m - w[0].length_m as f64)
        .collect()
}

#[test]
fn platoon_settles_at_equilibrium_gap_and_survives_emergency_stop() {
    let v_lead = 20.0f32;
    let v0 = 30.0f32;
    let dt = 0.05;
    for kind in [VehicleType::Car, VehicleType::Van] {
        let params = kind.idm_params();
        let s_e = equilibrium_gap(v_lead as f64, v0 as f64, &params);
        let mut min_gap = f64::INFINITY;
        let mut settled_checks = 0;
        let mut stopped_leader = false;
        simulate_platoon(
            kind,
            v_lead,
            v0,
            dt,
            600.0,
            // 0–300 s cruise; at 300 s emergency stop; 10 s standstill; back to 20 m/s.
            |t, v| {
                if t < 300.0 {
                    Some(v_lead)
                } else if v > 0.0 && t < 310.0 {
                    None
                } else if t < 320.0 {
                    Some(0.0)
                } else {
                    Some(v_lead.min(v + 1.5 * 0.05))
                }
            },
            |t, cars| {
                let g = gaps(cars);
                let m = g.iter().cloned().fold(f64::INFINITY, f64::min);
                min_gap = min_gap.min(m);
                assert!(m > 0.0, "{kind:?}: collision at t={t}: gaps {g:?}");
                assert!(cars.iter().all(|c| c.v_m_per_s >= 0.0));
                if t > 305.0 && t < 320.0 && cars[0].v_m_per_s == 0.0 {
                    stopped_leader = true;
                }
                let at_check = (t - 299.0).abs() < 1e-3 || (t - 599.0).abs() < 1e-3;
                if at_check {
                    for (i, gap) in g.iter().enumerate() {
                        let rel = (gap - s_e).abs() / s_e;
                        assert!(
                            rel < 0.02,
                            "{kind:?} t={t}: gap {i} = {gap:.2} m vs s_e {s_e:.2} m"
                        );
                    }
                    settled_checks += 1;
                }
            },
        );
        assert_eq!(settled_checks, 2);
        assert!(stopped_leader, "the leader never came to rest");
        assert!(
            min_gap < 0.5 * s_e,
            "the braking event never tested the followers: {min_gap}"
        );
    }
}

#[test]
fn follower_stops_behind_a_stationary_obstacle_without_oscillating() {
    let params = VehicleType::Car.idm_params();
    let mu = RoadSurface::dry().mu(0.0);
    let mut v = 25.0f32;
    let mut gap = 150.0f32;
    let dt = 0.05;
    let mut speeds = Vec::new();
    for _ in 0..(120.0 / dt) as usize {
        let a = car_following_accel_m_per_s2(
            v,
            30.0,
            Some(LeaderState {
                gap_m: gap,
                speed_m_per_s: 0.0,
            }),
            &params,
            mu,
        );
        let s = integrate_longitudinal(v, a, dt);
        v = s.speed_m_per_s;
        gap -= s.distance_m;
        assert!(gap > 0.0);
        speeds.push(v);
    }
    // Comes to rest short of the obstacle, at most s0 away from the jam distance, and stays.
    assert!(v < 1e-3, "still moving at {v}");
    assert!(
        gap > 0.5 * params.min_gap_m && gap < 2.0 * params.min_gap_m,
        "gap {gap}"
    );
    let tail = &speeds[speeds.len() - 200..];
    assert!(tail.iter().all(|&s| (0.0..1e-3).contains(&s)));
}
