//! Lateral dynamics: the kinematic bicycle model and pure-pursuit path following.
//!
//! Kinematic bicycle, rear-axle reference (Rajamani, *Vehicle Dynamics and Control*, 2012, §2.2;
//! Kong et al. 2015): with wheelbase `L` and front steering angle `δ`, the rear axle moves along
//! its heading and the heading turns at `ψ̇ = v·tan δ / L`. Over a step of constant `δ` the rear
//! axle travels an arc of radius `R = L / tan δ`, which [`bicycle_step`] integrates exactly (no
//! drift on circles, any step size).
//!
//! Pure pursuit (Coulter 1992, CMU-RI-TR-92-01): aim at the point of the centre line a lookahead
//! distance `ℓ` ahead of the vehicle's projection; the arc through the rear axle and that point has
//! curvature `κ = 2·sin α / ℓ` (α the bearing of the target in the vehicle frame), hence
//! `δ = atan(2·L·sin α / ℓ)`. The lookahead grows with speed: `ℓ = clamp(k·v, ℓ_min, ℓ_max)`.
//! Tiny lateral control of this kind is fine for traffic; no tyre slip, no load transfer.

use glam::Vec2;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::vehicle::VehicleType;

/// Errors building a centre line.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum LateralError {
    #[error("centre line needs at least 2 distinct points, got {distinct}")]
    TooFewPoints { distinct: usize },
    #[error("centre line point {index} is not finite: ({x}, {y})")]
    NonFinitePoint { index: usize, x: f32, y: f32 },
}

/// Planar pose of the rear-axle centre in the world frame (z up, heading from +x toward +y).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Pose2 {
    pub position_m: Vec2,
    pub heading_rad: f32,
}

impl Pose2 {
    /// Unit vector along the heading.
    pub fn forward(&self) -> Vec2 {
        Vec2::from_angle(self.heading_rad)
    }
}

/// Kinematic-bicycle parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BicycleParams {
    /// Distance between the axles (m).
    pub wheelbase_m: f32,
    /// Largest front-wheel steering angle (rad), symmetric.
    pub max_steer_rad: f32,
}

impl BicycleParams {
    /// Typical wheelbases and steering locks: car 2.7 m / 35°, van 3.3 m / 35°, truck (rigid) 5.0 m
    /// / 40°, bus 6.0 m / 45°, bicycle 1.05 m / 45°.
    pub fn for_type(kind: VehicleType) -> Self {
        let (wheelbase_m, max_steer_deg): (f32, f32) = match kind {
            VehicleType::Car => (2.7, 35.0),
            VehicleType::Van => (3.3, 35.0),
            VehicleType::Truck => (5.0, 40.0),
            VehicleType::Bus => (6.0, 45.0),
            VehicleType::Cyclist => (1.05, 45.0),
        };
        Self {
            wheelbase_m,
            max_steer_rad: max_steer_deg.to_radians(),
        }
    }

    /// Clamps a steering angle to the lock.
    pub fn clamp_steer_rad(&self, steer_rad: f32) -> f32 {
        steer_rad.clamp(-self.max_steer_rad, self.max_steer_rad)
    }
}

/// Moves the rear axle `distance_m` (≥ 0; from
/// [`super::longitudinal::integrate_longitudinal`]) along the arc set by `steer_rad` (clamped to
/// the lock). Exact for a constant steering angle over the step.
pub fn bicycle_step(pose: Pose2, distance_m: f32, steer_rad: f32, params: &BicycleParams) -> Pose2 {
    let steer = params.clamp_steer_rad(steer_rad);
    let curvature_per_m = steer.tan() / params.wheelbase_m;
    let dpsi = distance_m * curvature_per_m;
    let heading = pose.heading_rad;
    let displacement = if dpsi.abs() < 1e-4 {
        // Second-order expansion of the arc: chord along the mean heading.
        Vec2::from_angle(heading + 0.5 * dpsi) * distance_m
    } else {
        let r = 1.0 / curvature_per_m;
        let new_heading = heading + dpsi;
        Vec2::new(
            r * (new_heading.sin() - heading.sin()),
            -r * (new_heading.cos() - heading.cos()),
        )
    };
    Pose2 {
        position_m: pose.position_m + displacement,
        heading_rad: wrap_angle_rad(heading + dpsi),
    }
}

/// Wraps an angle into (−π, π].
pub fn wrap_angle_rad(a: f32) -> f32 {
    let two_pi = std::f32::consts::TAU;
    let mut w = a - two_pi * ((a + std::f32::consts::PI) / two_pi).floor();
    if w <= -std::f32::consts::PI {
        w += two_pi;
    }
    w
}

/// A lane centre line: a polyline with cumulative arc lengths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CenterLine {
    points_m: Vec<Vec2>,
    arc_m: Vec<f32>,
}

/// Segments searched before the hint by [`CenterLine::project_near`].
pub const PROJECTION_WINDOW_BACK: usize = 2;
/// Segments searched after the hint by [`CenterLine::project_near`].
pub const PROJECTION_WINDOW_AHEAD: usize = 8;

/// Where a point projects onto a centre line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// Arc length of the foot point from the start (m).
    pub arc_m: f32,
    /// Signed lateral offset (m): positive left of the direction of travel.
    pub lateral_m: f32,
    /// Index of the segment holding the foot point.
    pub segment: usize,
}

impl CenterLine {
    /// Builds a centre line from points in travel order; consecutive duplicates are dropped.
    pub fn new(points_m: &[Vec2]) -> Result<Self, LateralError> {
        let mut pts: Vec<Vec2> = Vec::with_capacity(points_m.len());
        for (index, p) in points_m.iter().enumerate() {
            if !p.is_finite() {
                return Err(LateralError::NonFinitePoint {
                    index,
                    x: p.x,
                    y: p.y,
                });
            }
            if pts.last().is_none_or(|q| q.distance(*p) > 1e-6) {
                pts.push(*p);
            }
        }
        if pts.len() < 2 {
            return Err(LateralError::TooFewPoints {
                distinct: pts.len(),
            });
        }
        let mut arc_m = Vec::with_capacity(pts.len());
        let mut s = 0.0;
        arc_m.push(0.0);
        for w in pts.windows(2) {
            s += w[0].distance(w[1]);
            arc_m.push(s);
        }
        Ok(Self {
            points_m: pts,
            arc_m,
        })
    }

    /// Total length (m).
    pub fn length_m(&self) -> f32 {
        *self.arc_m.last().unwrap_or(&0.0)
    }

    /// The polyline's points.
    pub fn points_m(&self) -> &[Vec2] {
        &self.points_m
    }

    /// Number of segments.
    pub fn segment_count(&self) -> usize {
        self.points_m.len() - 1
    }

    /// Closest point of the polyline to `p` (all segments searched).
    pub fn project(&self, p: Vec2) -> Projection {
        self.project_segments(p, 0, self.segment_count())
    }

    /// Closest point to `p` among the segments near `hint_segment` (the previous step's
    /// [`Projection::segment`]): [`PROJECTION_WINDOW_BACK`] before to [`PROJECTION_WINDOW_AHEAD`]
    /// after. O(1) per step for long centre lines; falls back to all segments when the foot point
    /// lands on the window's edge.
    pub fn project_near(&self, p: Vec2, hint_segment: usize) -> Projection {
        let n = self.segment_count();
        let start = hint_segment
            .min(n - 1)
            .saturating_sub(PROJECTION_WINDOW_BACK);
        let end = (hint_segment + PROJECTION_WINDOW_AHEAD + 1).min(n);
        let pr = self.project_segments(p, start, end);
        let on_edge = (pr.segment == start && start > 0) || (pr.segment + 1 == end && end < n);
        if on_edge { self.project(p) } else { pr }
    }

    fn project_segments(&self, p: Vec2, start: usize, end: usize) -> Projection {
        let mut best = Projection {
            arc_m: 0.0,
            lateral_m: 0.0,
            segment: start,
        };
        let mut best_d2 = f32::INFINITY;
        for i in start..end {
            let (a, b) = (self.points_m[i], self.points_m[i + 1]);
            let ab = b - a;
            let len2 = ab.length_squared();
            let t = ((p - a).dot(ab) / len2).clamp(0.0, 1.0);
            let foot = a + ab * t;
            let d2 = p.distance_squared(foot);
            if d2 < best_d2 {
                best_d2 = d2;
                let side = ab.perp_dot(p - a).signum();
                best = Projection {
                    arc_m: self.arc_m[i] + t * len2.sqrt(),
                    lateral_m: side * d2.sqrt(),
                    segment: i,
                };
            }
        }
        best
    }

    /// Point at arc length `arc_m`, extrapolated along the end segments beyond either end.
    pub fn point_at(&self, arc_m: f32) -> Vec2 {
        let n = self.points_m.len();
        let i = match self.arc_m.partition_point(|&s| s <= arc_m) {
            0 => 0,
            k if k >= n => n - 2,
            k => k - 1,
        };
        let (a, b) = (self.points_m[i], self.points_m[i + 1]);
        let seg = self.arc_m[i + 1] - self.arc_m[i];
        a + (b - a) * ((arc_m - self.arc_m[i]) / seg)
    }
}

/// Pure-pursuit tuning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PurePursuitParams {
    /// Lookahead per unit speed k (s): ℓ = k·v.
    pub lookahead_gain_s: f32,
    /// Shortest lookahead (m).
    pub min_lookahead_m: f32,
    /// Longest lookahead (m).
    pub max_lookahead_m: f32,
}

impl Default for PurePursuitParams {
    /// ℓ = clamp(0.8 s · v, 4 m, 50 m): smooth at speed, tight enough in urban turns.
    fn default() -> Self {
        Self {
            lookahead_gain_s: 0.8,
            min_lookahead_m: 4.0,
            max_lookahead_m: 50.0,
        }
    }
}

/// Pure-pursuit output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PurePursuitCommand {
    /// Steering angle (rad), already clamped to the lock.
    pub steer_rad: f32,
    /// Target point on the centre line (m).
    pub target_m: Vec2,
    /// Lookahead distance used (m).
    pub lookahead_m: f32,
    /// Projection of the rear axle onto the centre line (arc length, cross-track error).
    pub projection: Projection,
}

/// Pure-pursuit steering angle (rad, clamped to the lock) that puts the rear axle on the circle
/// through `target_m`: δ = atan(2·L·sin α / d).
pub fn steer_toward_rad(pose: Pose2, target_m: Vec2, bicycle: &BicycleParams) -> f32 {
    let local = Vec2::from_angle(-pose.heading_rad).rotate(target_m - pose.position_m);
    let distance = local.length().max(1e-3);
    let sin_alpha = local.y / distance;
    bicycle.clamp_steer_rad((2.0 * bicycle.wheelbase_m * sin_alpha / distance).atan())
}

/// Steering command that makes the rear axle follow `line` at `speed_m_per_s` (projection
/// searches the whole line; see [`pure_pursuit_steer_near`] for long lines).
pub fn pure_pursuit_steer(
    pose: Pose2,
    speed_m_per_s: f32,
    line: &CenterLine,
    params: &PurePursuitParams,
    bicycle: &BicycleParams,
) -> PurePursuitCommand {
    let projection = line.project(pose.position_m);
    pure_pursuit_from(pose, speed_m_per_s, line, params, bicycle, projection)
}

/// [`pure_pursuit_steer`] with the projection searched near `hint_segment` (keep the previous
/// command's `projection.segment` per vehicle).
pub fn pure_pursuit_steer_near(
    pose: Pose2,
    speed_m_per_s: f32,
    line: &CenterLine,
    params: &PurePursuitParams,
    bicycle: &BicycleParams,
    hint_segment: usize,
) -> PurePursuitCommand {
    let projection = line.project_near(pose.position_m, hint_segment);
    pure_pursuit_from(pose, speed_m_per_s, line, params, bicycle, projection)
}

fn pure_pursuit_from(
    pose: Pose2,
    speed_m_per_s: f32,
    line: &CenterLine,
    params: &PurePursuitParams,
    bicycle: &BicycleParams,
    projection: Projection,
) -> PurePursuitCommand {
    let lookahead_m = (params.lookahead_gain_s * speed_m_per_s.abs())
        .clamp(params.min_lookahead_m, params.max_lookahead_m);
    // The target lies on the line ℓ ahead of the foot point; if the vehicle is off the line
    // by more than ℓ, aim at the foot point's lookahead anyway (it still pulls toward the line).
    let target_m = line.point_at(projection.arc_m + lookahead_m);
    PurePursuitCommand {
        steer_rad: steer_toward_rad(pose, target_m, bicycle),
        target_m,
        lookahead_m,
        projection,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn center_line_rejects_bad_input() {
        assert!(matches!(
            CenterLine::new(&[Vec2::ZERO, Vec2::ZERO]),
            Err(LateralError::TooFewPoints { distinct: 1 })
        ));
        assert!(matches!(
            CenterLine::new(&[Vec2::ZERO, Vec2::new(f32::NAN, 0.0)]),
            Err(LateralError::NonFinitePoint { index: 1, .. })
        ));
    }

    #[test]
    fn projection_and_point_at() {
        let line =
            CenterLine::new(&[Vec2::ZERO, Vec2::new(10.0, 0.0), Vec2::new(10.0, 10.0)]).unwrap();
        assert_eq!(line.length_m(), 20.0);
        let pr = line.project(Vec2::new(4.0, 1.0));
        assert!((pr.arc_m - 4.0).abs() < 1e-6 && (pr.lateral_m - 1.0).abs() < 1e-6);
        let pr = line.project(Vec2::new(11.0, 5.0));
        assert!((pr.arc_m - 15.0).abs() < 1e-6 && (pr.lateral_m + 1.0).abs() < 1e-6);
        assert!(line.point_at(25.0).distance(Vec2::new(10.0, 15.0)) < 1e-5);
        assert!(line.point_at(-2.0).distance(Vec2::new(-2.0, 0.0)) < 1e-5);
    }

    #[test]
    fn project_near_agrees_with_full_search() {
        let pts: Vec<Vec2> = (0..200)
            .map(|i| Vec2::new(i as f32, (i as f32 * 0.1).sin() * 5.0))
            .collect();
        let line = CenterLine::new(&pts).unwrap();
        for (x, hint) in [
            (50.3f32, 49usize),
            (50.3, 45),
            (120.0, 10),
            (3.0, 190),
            (199.5, 198),
        ] {
            let p = Vec2::new(x, 1.0);
            assert_eq!(
                line.project_near(p, hint),
                line.project(p),
                "x={x} hint={hint}"
            );
        }
    }

    #[test]
    fn wrap_angle() {
        assert!((wrap_angle_rad(3.0 * std::f32::consts::PI) - std::f32::consts::PI).abs() < 1e-5);
        assert!((wrap_angle_rad(-0.5) + 0.5).abs() < 1e-6);
    }
}
