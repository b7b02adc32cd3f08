//! MOBIL lane changes ("Minimizing Overall Braking Induced by Lane changes"; Kesting, Treiber &
//! Helbing 2007, *Transp. Res. Rec.* 1999, 86–94), built on the IDM.
//!
//! Ego `c` considers moving to a target lane. With `a` the IDM accelerations now and `ã` after
//! the change, `n` the new follower (target lane) and `o` the old follower (current lane):
//!
//! ```text
//! safety:    ã_n ≥ −b_safe   (and the ego itself: ã_c ≥ −b_safe)
//! incentive: ã_c − a_c + p·[(ã_n − a_n) + (ã_o − a_o)] > Δa_th + a_bias
//! ```
//!
//! `p` is the politeness (0 selfish, 1 altruistic; 0.1–0.5 typical), `Δa_th` the switching
//! threshold (≈ 0.1 m/s²) and `a_bias` a lane bias (positive discourages the change, e.g. keep-right
//! rules). Accelerations are the IDM's raw values, as in the paper.

use serde::{Deserialize, Serialize};

use super::longitudinal::{IdmParams, idm_accel_m_per_s2};
use super::vehicle::VehicleType;

/// MOBIL parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MobilParams {
    /// Politeness factor p.
    pub politeness: f32,
    /// Switching threshold Δa_th (m/s²).
    pub threshold_m_per_s2: f32,
    /// Largest deceleration imposed on the new follower (m/s², positive).
    pub safe_decel_m_per_s2: f32,
    /// Extra incentive required for this particular change (m/s²); negative favours it.
    pub bias_m_per_s2: f32,
}

impl Default for MobilParams {
    /// p = 0.2, Δa_th = 0.1 m/s², b_safe = 4 m/s², no bias (Kesting et al. 2007; Treiber &
    /// Kesting 2013, Table 14.1).
    fn default() -> Self {
        Self {
            politeness: 0.2,
            threshold_m_per_s2: 0.1,
            safe_decel_m_per_s2: 4.0,
            bias_m_per_s2: 0.0,
        }
    }
}

impl MobilParams {
    /// Per-type drivers: cars as the defaults; vans a little more polite; trucks and buses
    /// polite (p = 0.5), reluctant (Δa_th = 0.3 m/s²) and imposing at most 2 m/s² on the new
    /// follower; cyclists stay in their lane (an infinite threshold).
    pub fn for_type(kind: VehicleType) -> Self {
        let (politeness, threshold_m_per_s2, safe_decel_m_per_s2) = match kind {
            VehicleType::Car => (0.2, 0.1, 4.0),
            VehicleType::Van => (0.3, 0.15, 3.5),
            VehicleType::Truck | VehicleType::Bus => (0.5, 0.3, 2.0),
            VehicleType::Cyclist => (0.0, f32::INFINITY, 2.0),
        };
        Self {
            politeness,
            threshold_m_per_s2,
            safe_decel_m_per_s2,
            bias_m_per_s2: 0.0,
        }
    }
}

/// A vehicle that drives by the IDM.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct IdmDriver {
    pub speed_m_per_s: f32,
    pub desired_speed_m_per_s: f32,
    pub params: IdmParams,
    /// Bumper-to-bumper length (m).
    pub length_m: f32,
}

impl IdmDriver {
    fn accel_behind(&self, leader: Option<(f32, f32)>) -> f32 {
        match leader {
            Some((gap_m, leader_speed)) => idm_accel_m_per_s2(
                self.speed_m_per_s,
                self.desired_speed_m_per_s,
                gap_m,
                self.speed_m_per_s - leader_speed,
                &self.params,
            ),
            None => idm_accel_m_per_s2(
                self.speed_m_per_s,
                self.desired_speed_m_per_s,
                f32::INFINITY,
                0.0,
                &self.params,
            ),
        }
    }
}

/// Vehicle ahead of the ego in a lane.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LaneLeader {
    /// Gap from the ego's front bumper to this vehicle's rear bumper (m), along the lane.
    pub gap_m: f32,
    pub speed_m_per_s: f32,
}

/// Vehicle behind the ego in a lane.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LaneFollower {
    /// Gap from this vehicle's front bumper to the ego's rear bumper (m), along the lane.
    pub gap_m: f32,
    pub driver: IdmDriver,
}

/// Neighbours of the ego in one lane (gaps measured as if the ego were in that lane).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct LaneNeighbors {
    pub leader: Option<LaneLeader>,
    pub follower: Option<LaneFollower>,
}

/// Outcome of a MOBIL evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LaneChangeDecision {
    /// Change now.
    pub change: bool,
    /// Whether the safety criterion holds.
    pub safe: bool,
    /// Left-hand side of the incentive criterion (m/s²).
    pub incentive_m_per_s2: f32,
    /// ã_n: the new follower's acceleration after the change (m/s²; 0 with no follower).
    pub new_follower_accel_m_per_s2: f32,
    /// ã_c: the ego's acceleration in the target lane (m/s²).
    pub ego_accel_after_m_per_s2: f32,
}

/// Evaluates a change of `ego` from the `current` lane to the `target` lane.
pub fn mobil_decision(
    ego: &IdmDriver,
    current: &LaneNeighbors,
    target: &LaneNeighbors,
    params: &MobilParams,
) -> LaneChangeDecision {
    let leader_pair = |l: &Option<LaneLeader>| l.map(|l| (l.gap_m, l.speed_m_per_s));

    // Ego now and after.
    let a_c = ego.accel_behind(leader_pair(&current.leader));
    let a_c_new = ego.accel_behind(leader_pair(&target.leader));

    // New follower: now it follows the target leader (gap spans the ego's slot), after the ego.
    let (a_n, a_n_new, overlap_n) = match target.follower {
        Some(f) => {
            let before = f.driver.accel_behind(
                target
                    .leader
                    .map(|l| (f.gap_m + ego.length_m + l.gap_m, l.speed_m_per_s)),
            );
            let after = f.driver.accel_behind(Some((f.gap_m, ego.speed_m_per_s)));
            (before, after, f.gap_m <= 0.0)
        }
        None => (0.0, 0.0, false),
    };
    // Old follower: now it follows the ego, after the current leader.
    let (a_o, a_o_new) = match current.follower {
        Some(f) => {
            let before = f.driver.accel_behind(Some((f.gap_m, ego.speed_m_per_s)));
            let after = f.driver.accel_behind(
                current
                    .leader
                    .map(|l| (f.gap_m + ego.length_m + l.gap_m, l.speed_m_per_s)),
            );
            (before, after)
        }
        None => (0.0, 0.0),
    };
    let overlap_leader = target.leader.is_some_and(|l| l.gap_m <= 0.0);

    let safe = !overlap_n
        && !overlap_leader
        && a_n_new >= -params.safe_decel_m_per_s2
        && a_c_new >= -params.safe_decel_m_per_s2;
    let incentive = a_c_new - a_c + params.politeness * ((a_n_new - a_n) + (a_o_new - a_o));
    let change = safe && incentive > params.threshold_m_per_s2 + params.bias_m_per_s2;
    LaneChangeDecision {
        change,
        safe,
        incentive_m_per_s2: incentive,
        new_follower_accel_m_per_s2: a_n_new,
        ego_accel_after_m_per_s2: a_c_new,
    }
}
