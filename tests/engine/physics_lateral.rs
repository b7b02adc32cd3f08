//! Kinematic bicycle and pure pursuit against closed forms; MOBIL decisions.

use glam::Vec2;
use verisim::physics::lateral::{
    BicycleParams, CenterLine, Pose2, PurePursuitParams, bicycle_step, pure_pursuit_steer,
};
use verisim::physics::longitudinal::integrate_longitudinal;
use verisim::physics::mobil::{
    IdmDriver, LaneFollower, LaneLeader, LaneNeighbors, MobilParams, mobil_decision,
};
use verisim::physics::vehicle::VehicleType;

#[test]
fn constant_steer_drives_a_circle_of_radius_l_over_tan_delta() {
    let params = BicycleParams::for_type(VehicleType::Car);
    for steer in [0.05f32, 0.2, -0.4] {
        let r = params.wheelbase_m / steer.tan().abs();
        let center = Vec2::new(0.0, params.wheelbase_m / steer.tan());
        for dt in [0.01f32, 0.1] {
            let v = 10.0;
            let mut pose = Pose2::default();
            let steps = ((std::f32::consts::TAU * r / v) / dt).ceil() as usize;
            let mut max_dev = 0.0f32;
            for _ in 0..steps {
                pose = bicycle_step(pose, v * dt, steer, &params);
                max_dev = max_dev.max((pose.position_m.distance(center) - r).abs());
            }
            assert!(
                max_dev < 1e-3 * r,
                "steer {steer} dt {dt}: radius off by {max_dev}"
            );
        }
    }
    // Steering beyond the lock is clamped: the radius is L/tan(δ_max).
    let mut pose = Pose2::default();
    pose = bicycle_step(pose, 1.0, 10.0, &params);
    let expected_dpsi = 1.0 * params.max_steer_rad.tan() / params.wheelbase_m;
    assert!((pose.heading_rad - expected_dpsi).abs() < 1e-5);
}

fn follow(
    line: &CenterLine,
    mut pose: Pose2,
    speed: f32,
    seconds: f32,
    mut each: impl FnMut(Pose2, f32),
) -> Pose2 {
    let bicycle = BicycleParams::for_type(VehicleType::Car);
    let pp = PurePursuitParams::default();
    let dt = 0.02;
    for _ in 0..(seconds / dt) as usize {
        let cmd = pure_pursuit_steer(pose, speed, line, &pp, &bicycle);
        assert!(cmd.steer_rad.abs() <= bicycle.max_steer_rad + 1e-6);
        let step = integrate_longitudinal(speed, 0.0, dt);
        pose = bicycle_step(pose, step.distance_m, cmd.steer_rad, &bicycle);
        each(pose, cmd.steer_rad);
    }
    pose
}

#[test]
fn pure_pursuit_converges_onto_a_straight_line() {
    let line = CenterLine::new(&[Vec2::new(-10.0, 0.0), Vec2::new(2000.0, 0.0)]).unwrap();
    for speed in [5.0f32, 15.0, 30.0] {
        let start = Pose2 {
            position_m: Vec2::new(0.0, 2.0),
            heading_rad: 0.0,
        };
        let mut worst_overshoot = 0.0f32;
        let end = follow(&line, start, speed, 40.0, |p, _| {
            worst_overshoot = worst_overshoot.min(p.position_m.y)
        });
        assert!(
            end.position_m.y.abs() < 0.02,
            "v={speed}: cross-track {}",
            end.position_m.y
        );
        assert!(end.heading_rad.abs() < 0.01);
        assert!(
            worst_overshoot > -0.5,
            "v={speed}: overshoot {worst_overshoot}"
        );
    }
}

#[test]
fn pure_pursuit_on_a_circle_steers_at_atan_l_over_r() {
    let r = 40.0f32;
    let pts: Vec<Vec2> = (0..=720)
        .map(|i| {
            let a = i as f32 / 720.0 * 2.0 * std::f32::consts::TAU - std::f32::consts::FRAC_PI_2;
            Vec2::new(r * a.cos(), r + r * a.sin())
        })
        .collect();
    let line = CenterLine::new(&pts).unwrap();
    let bicycle = BicycleParams::for_type(VehicleType::Car);
    let speed = 8.0;
    let mut samples = Vec::new();
    let mut t = 0.0;
    follow(&line, Pose2::default(), speed, 25.0, |p, steer| {
        t += 0.02;
        if t > 10.0 {
            samples.push((p.position_m.distance(Vec2::new(0.0, r)), steer));
        }
    });
    let steer_closed = (bicycle.wheelbase_m / r).atan();
    for (dist, steer) in samples {
        // Pure pursuit cuts the corner slightly: radius within 1%, steering within 5%.
        assert!((dist - r).abs() < 0.01 * r, "radius {dist}");
        assert!(
            (steer - steer_closed).abs() < 0.05 * steer_closed,
            "steer {steer} vs {steer_closed}"
        );
    }
}

fn driver(speed: f32, desired: f32) -> IdmDriver {
    IdmDriver {
        speed_m_per_s: speed,
        desired_speed_m_per_s: desired,
        params: VehicleType::Car.idm_params(),
        length_m: VehicleType::Car.length_m(),
    }
}

#[test]
fn mobil_overtakes_a_slow_truck_into_a_free_lane() {
    let ego = driver(25.0, 33.0);
    let current = LaneNeighbors {
        leader: Some(LaneLeader {
            gap_m: 30.0,
            speed_m_per_s: 22.0,
        }),
        follower: None,
    };
    let target = LaneNeighbors::default();
    let d = mobil_decision(&ego, &current, &target, &MobilParams::default());
    assert!(d.safe && d.change, "{d:?}");
    assert!(d.incentive_m_per_s2 > 0.1);
}

#[test]
fn mobil_refuses_unsafe_gap_and_equal_lanes() {
    let ego = driver(25.0, 33.0);
    let current = LaneNeighbors {
        leader: Some(LaneLeader {
            gap_m: 30.0,
            speed_m_per_s: 22.0,
        }),
        follower: None,
    };
    // A fast car 3 m behind in the target lane would have to brake harder than b_safe.
    let target = LaneNeighbors {
        leader: None,
        follower: Some(LaneFollower {
            gap_m: 3.0,
            driver: driver(30.0, 33.0),
        }),
    };
    let d = mobil_decision(&ego, &current, &target, &MobilParams::default());
    assert!(!d.safe && !d.change, "{d:?}");
    assert!(d.new_follower_accel_m_per_s2 < -MobilParams::default().safe_decel_m_per_s2);
    // Overlap is never safe.
    let target = LaneNeighbors {
        leader: Some(LaneLeader {
            gap_m: -1.0,
            speed_m_per_s: 25.0,
        }),
        follower: None,
    };
    assert!(!mobil_decision(&ego, &current, &target, &MobilParams::default()).change);
    // Identical lanes: zero incentive, no change.
    let d = mobil_decision(&ego, &current, &current, &MobilParams::default());
    assert!(d.incentive_m_per_s2.abs() < 1e-6 && !d.change);
}

#[test]
fn politeness_weighs_the_cost_to_others() {
    // The ego gains ~1.4 m/s²; the new follower, 40 m back and faster, would lose ~2.8 m/s²
    // (still within b_safe).
    let ego = driver(24.0, 28.0);
    let current = LaneNeighbors {
        leader: Some(LaneLeader {
            gap_m: 45.0,
            speed_m_per_s: 23.0,
        }),
        follower: None,
    };
    let target = LaneNeighbors {
        leader: None,
        follower: Some(LaneFollower {
            gap_m: 40.0,
            driver: driver(26.0, 33.0),
        }),
    };
    let selfish = MobilParams {
        politeness: 0.0,
        ..Default::default()
    };
    let polite = MobilParams {
        politeness: 1.0,
        ..Default::default()
    };
    let d0 = mobil_decision(&ego, &current, &target, &selfish);
    let d1 = mobil_decision(&ego, &current, &target, &polite);
    assert!(d0.safe && d1.safe, "{d0:?}");
    assert!(d0.change, "selfish driver should change: {d0:?}");
    assert!(!d1.change, "altruistic driver should stay: {d1:?}");
}
