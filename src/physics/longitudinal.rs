//! Longitudinal dynamics: the Intelligent Driver Model, the friction limit and the integration
//! step.
//!
//! IDM (Treiber, Hennecke & Helbing 2000, *Phys. Rev. E* 62, 1805; Treiber & Kesting,
//! *Traffic Flow Dynamics*, 2013, ch. 11):
//!
//! ```text
//! a = a_max·[1 − (v/v0)^δ − (s*/s)²],   s* = s0 + max(0, v·T + v·Δv/(2·√(a_max·b)))
//! ```
//!
//! with `s` the bumper-to-bumper gap and `Δv = v − v_leader` the approach rate. At a constant
//! speed `v` behind a leader at the same speed the gap settles at
//! `s_e = (s0 + v·T)/√(1 − (v/v0)^δ)` ([`equilibrium_gap_m`]).
//!
//! The accelerations a vehicle can realise are limited by the tyres: `|a| ≤ μ·g`
//! ([`limit_accel_m_per_s2`], `g = `[`G_M_PER_S2`]). Braking from speed `v` at `μ·g` covers
//! `v²/(2μg)` ([`braking_distance_m`]).

use serde::{Deserialize, Serialize};

use super::vehicle::VehicleType;

/// Standard gravity (m/s²).
pub const G_M_PER_S2: f32 = 9.81;

/// Driver/vehicle parameters of the IDM.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IdmParams {
    /// Desired time headway T (s).
    pub time_headway_s: f32,
    /// Jam distance s0 (m): bumper gap kept at standstill.
    pub min_gap_m: f32,
    /// Maximum acceleration a_max (m/s²).
    pub max_accel_m_per_s2: f32,
    /// Comfortable deceleration b (m/s², positive).
    pub comfortable_decel_m_per_s2: f32,
    /// Acceleration exponent δ (4 in the standard IDM).
    pub accel_exponent: f32,
    /// Top speed of the vehicle (m/s): the desired speed is `min(v0, max_speed_m_per_s)`.
    pub max_speed_m_per_s: f32,
}

impl IdmParams {
    /// Typical values (Treiber & Kesting 2013, ch. 11; REFERENCE.md "Road and vehicle":
    /// T = 1.5 s, s0 = 2 m, a_max = 1.0–1.5 m/s², b = 2 m/s², δ = 4 for cars). Heavy vehicles
    /// accelerate more slowly, keep longer headways and are speed-limited (EU: trucks 90 km/h,
    /// coaches 100 km/h); cyclists ride at about 20–25 km/h with short gaps.
    pub fn for_type(kind: VehicleType) -> Self {
        let (t, s0, a, b, vmax) = match kind {
            VehicleType::Car => (1.5, 2.0, 1.4, 2.0, 50.0),
            VehicleType::Van => (1.6, 2.0, 1.2, 2.0, 45.0),
            VehicleType::Truck => (1.8, 2.5, 0.7, 1.5, 90.0 / 3.6),
            VehicleType::Bus => (1.8, 2.5, 0.8, 1.5, 100.0 / 3.6),
            VehicleType::Cyclist => (1.0, 1.0, 1.0, 1.5, 25.0 / 3.6),
        };
        Self {
            time_headway_s: t,
            min_gap_m: s0,
            max_accel_m_per_s2: a,
            comfortable_decel_m_per_s2: b,
            accel_exponent: 4.0,
            max_speed_m_per_s: vmax,
        }
    }
}

impl Default for IdmParams {
    fn default() -> Self {
        Self::for_type(VehicleType::Car)
    }
}

/// Smallest desired speed used (m/s): `v0 ≤ 0` would divide by zero.
const MIN_DESIRED_SPEED_M_PER_S: f32 = 0.1;
/// Smallest gap used (m): a zero or negative gap (overlap) yields the strongest braking.
const MIN_GAP_M: f32 = 0.01;

/// IDM acceleration (m/s²), not yet limited by friction.
///
/// `speed_m_per_s` v ≥ 0, `desired_speed_m_per_s` v0 (road speed limit; capped at the vehicle's
/// top speed), `gap_m` bumper-to-bumper gap to the leader (`f32::INFINITY` with no leader),
/// `approach_rate_m_per_s` Δv = v − v_leader (positive when closing in).
pub fn idm_accel_m_per_s2(
    speed_m_per_s: f32,
    desired_speed_m_per_s: f32,
    gap_m: f32,
    approach_rate_m_per_s: f32,
    params: &IdmParams,
) -> f32 {
    let v = speed_m_per_s.max(0.0);
    let v0 = desired_speed_m_per_s
        .min(params.max_speed_m_per_s)
        .max(MIN_DESIRED_SPEED_M_PER_S);
    let free = 1.0 - (v / v0).powf(params.accel_exponent);
    let interaction = if gap_m.is_finite() {
        let s_star = params.min_gap_m
            + (v * params.time_headway_s
                + v * approach_rate_m_per_s
                    / (2.0
                        * (params.max_accel_m_per_s2 * params.comfortable_decel_m_per_s2).sqrt()))
            .max(0.0);
        let ratio = s_star / gap_m.max(MIN_GAP_M);
        ratio * ratio
    } else {
        0.0
    };
    params.max_accel_m_per_s2 * (free - interaction)
}

/// Equilibrium gap (m) at speed `v` behind a leader at the same speed:
/// `s_e = (s0 + v·T)/√(1 − (v/v0)^δ)`; infinite for `v ≥ v0` (no car-following equilibrium).
pub fn equilibrium_gap_m(
    speed_m_per_s: f32,
    desired_speed_m_per_s: f32,
    params: &IdmParams,
) -> f32 {
    let v0 = desired_speed_m_per_s
        .min(params.max_speed_m_per_s)
        .max(MIN_DESIRED_SPEED_M_PER_S);
    let v = speed_m_per_s.max(0.0);
    let free = 1.0 - (v / v0).powf(params.accel_exponent);
    if free <= 0.0 {
        return f32::INFINITY;
    }
    (params.min_gap_m + v * params.time_headway_s) / free.sqrt()
}

/// Clamps an acceleration to what the tyres transmit: `|a| ≤ μ·g`.
pub fn limit_accel_m_per_s2(accel_m_per_s2: f32, mu: f32) -> f32 {
    let limit = mu.max(0.0) * G_M_PER_S2;
    accel_m_per_s2.clamp(-limit, limit)
}

/// The leader as seen by a follower.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LeaderState {
    /// Bumper-to-bumper gap (m).
    pub gap_m: f32,
    /// Leader speed (m/s).
    pub speed_m_per_s: f32,
}

/// IDM acceleration toward `leader` (or free road), limited to `μ·g`: what the traffic system
/// feeds to [`integrate_longitudinal`].
pub fn car_following_accel_m_per_s2(
    speed_m_per_s: f32,
    desired_speed_m_per_s: f32,
    leader: Option<LeaderState>,
    params: &IdmParams,
    mu: f32,
) -> f32 {
    let (gap_m, dv) = match leader {
        Some(l) => (l.gap_m, speed_m_per_s - l.speed_m_per_s),
        None => (f32::INFINITY, 0.0),
    };
    limit_accel_m_per_s2(
        idm_accel_m_per_s2(speed_m_per_s, desired_speed_m_per_s, gap_m, dv, params),
        mu,
    )
}

/// Deceleration of an emergency stop: full braking at the friction limit, `−μ·g` (m/s²).
pub fn emergency_brake_accel_m_per_s2(mu: f32) -> f32 {
    -mu.max(0.0) * G_M_PER_S2
}

/// Braking distance (m) from `speed_m_per_s` at `μ·g`: `v²/(2μg)`.
pub fn braking_distance_m(speed_m_per_s: f32, mu: f32) -> f32 {
    speed_m_per_s * speed_m_per_s / (2.0 * mu * G_M_PER_S2)
}

/// Stopping distance (m): reaction distance `v·t_reaction` plus [`braking_distance_m`].
pub fn stopping_distance_m(speed_m_per_s: f32, mu: f32, reaction_time_s: f32) -> f32 {
    speed_m_per_s * reaction_time_s + braking_distance_m(speed_m_per_s, mu)
}

/// Result of one longitudinal step.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LongitudinalStep {
    /// Speed at the end of the step (m/s), never negative.
    pub speed_m_per_s: f32,
    /// Distance travelled during the step (m), never negative: feed it to
    /// [`super::lateral::bicycle_step`] or add it to the lane arc length.
    pub distance_m: f32,
    /// True when the vehicle came to rest inside this step.
    pub stopped: bool,
}

/// Semi-implicit (symplectic) Euler step: `v' = v + a·dt`, `x' = x + v'·dt`.
///
/// Vehicles do not reverse: when `v + a·dt` would go negative the vehicle stops inside the step,
/// exactly at `v = 0`, after the exact constant-deceleration distance `v²/(2|a|)`, and stays at
/// rest (distance 0) while `a ≤ 0`. No sign oscillation around zero speed.
pub fn integrate_longitudinal(
    speed_m_per_s: f32,
    accel_m_per_s2: f32,
    dt_s: f32,
) -> LongitudinalStep {
    let v = speed_m_per_s.max(0.0);
    let dt = dt_s.max(0.0);
    let v_next = v + accel_m_per_s2 * dt;
    if v_next > 0.0 {
        LongitudinalStep {
            speed_m_per_s: v_next,
            distance_m: v_next * dt,
            stopped: false,
        }
    } else {
        // Comes to rest (or stays at rest) inside the step.
        let distance_m = if v > 0.0 && accel_m_per_s2 < 0.0 {
            (v * v / (2.0 * -accel_m_per_s2)).min(v * dt)
        } else {
            0.0
        };
        LongitudinalStep {
            speed_m_per_s: 0.0,
            distance_m,
            stopped: v > 0.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_road_accelerates_to_desired_speed() {
        let p = IdmParams::default();
        assert!(
            (idm_accel_m_per_s2(0.0, 30.0, f32::INFINITY, 0.0, &p) - p.max_accel_m_per_s2).abs()
                < 1e-6
        );
        assert!(idm_accel_m_per_s2(30.0, 30.0, f32::INFINITY, 0.0, &p).abs() < 1e-5);
        assert!(idm_accel_m_per_s2(35.0, 30.0, f32::INFINITY, 0.0, &p) < 0.0);
    }

    #[test]
    fn equilibrium_gap_zeroes_acceleration() {
        let p = IdmParams::default();
        for v in [5.0, 10.0, 20.0, 25.0] {
            let s = equilibrium_gap_m(v, 30.0, &p);
            assert!(
                idm_accel_m_per_s2(v, 30.0, s, 0.0, &p).abs() < 1e-4,
                "v={v}"
            );
        }
        assert!(equilibrium_gap_m(30.0, 30.0, &p).is_infinite());
    }

    #[test]
    fn step_stops_exactly_and_stays_stopped() {
        let s = integrate_longitudinal(1.0, -5.0, 1.0);
        assert_eq!(s.speed_m_per_s, 0.0);
        assert!((s.distance_m - 0.1).abs() < 1e-6);
        assert!(s.stopped);
        let s2 = integrate_longitudinal(0.0, -5.0, 1.0);
        assert_eq!(
            (s2.speed_m_per_s, s2.distance_m, s2.stopped),
            (0.0, 0.0, false)
        );
        let s3 = integrate_longitudinal(0.0, 1.0, 0.5);
        assert!(s3.speed_m_per_s > 0.0 && s3.distance_m > 0.0);
    }

    #[test]
    fn friction_limit() {
        assert!((limit_accel_m_per_s2(-50.0, 0.1) + 0.981).abs() < 1e-6);
        assert_eq!(limit_accel_m_per_s2(5.0, 0.3), 0.3 * 9.81);
        assert_eq!(emergency_brake_accel_m_per_s2(0.8), -0.8 * 9.81);
    }
}
