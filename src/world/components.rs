//! ECS components: small nouns.

use bevy_ecs::prelude::*;
use glam::{Affine3A, Vec2, Vec3};

use crate::geometry::MeshId;
use crate::scenario::ActorKind;

/// Position of the footprint centre on the ground (world frame) and heading.
#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct Pose {
    pub position: Vec3,
    pub yaw_rad: f32,
}

impl Pose {
    pub fn world_from_body(&self) -> Affine3A {
        Affine3A::from_rotation_translation(
            glam::Quat::from_rotation_z(self.yaw_rad),
            self.position,
        )
    }
}

/// The pose before the last tick (to measure [`Twist`]).
#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct PrevPose(pub Pose);

/// Motion measured over the last tick: velocity of the footprint centre (world, m/s) and yaw
/// rate (rad/s, counter-clockwise). Frames carry it as each actor's motion over the frame
/// interval (lidar sweep, camera exposure).
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
pub struct Twist {
    pub velocity_m_per_s: Vec3,
    pub yaw_rate_rad_per_s: f32,
}

#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct Speed {
    pub m_per_s: f32,
}

/// Waypoints followed in order at the actor's speed.
#[derive(Component, Clone, Debug, PartialEq)]
pub struct Route {
    pub waypoints: Vec<Vec2>,
    pub next: usize,
    pub looping: bool,
}

/// Something that is rendered as its own instance and labeled.
#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct Actor {
    pub kind: ActorKind,
    /// Stable label instance id (1-based), equal in camera and lidar labels.
    pub instance_id: u32,
    pub mesh: MeshId,
    /// Label box: length, width, height.
    pub size_m: Vec3,
}

/// The vehicle carrying the sensor rig (not rendered).
#[derive(Component, Clone, Copy, Debug, Default)]
pub struct Ego;

/// A camera on the ego; `vehicle_from_camera` ends in the optical frame (x right, y down,
/// z forward).
#[derive(Component, Clone, Copy, Debug)]
pub struct CameraMount {
    pub index: usize,
    pub vehicle_from_camera: Affine3A,
}

/// The lidar on the ego; lidar frame as KITTI's velodyne (x forward, y left, z up).
#[derive(Component, Clone, Copy, Debug)]
pub struct LidarMount {
    pub vehicle_from_lidar: Affine3A,
}

/// The static world mesh.
#[derive(Component, Clone, Copy, Debug)]
pub struct StaticMap {
    pub mesh: MeshId,
}

/// A vehicle's place on the lane graph.
#[derive(Component, Clone, Copy, Debug, PartialEq)]
pub struct LaneRider {
    pub lane: u32,
    /// Arc length along the lane, metres.
    pub s_m: f32,
    /// Centre-line segment near the vehicle (speeds up projection).
    pub hint: usize,
    /// Tick at which the vehicle started waiting at an unsignalled stop line.
    pub waiting_since: Option<u64>,
    /// A lane change under way: the vehicle already rides `lane` (the target) but is still
    /// in the lane it left, where followers keep seeing it until it is centred on the target.
    pub change: Option<LaneChange>,
    /// Tick at which the last lane change started (changes are spaced out).
    pub last_change_tick: Option<u64>,
}

/// A lane change in progress.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LaneChange {
    /// The lane being left.
    pub from_lane: u32,
    /// Arc length on `from_lane` and signed offset from its centre line (updated every step).
    pub from_s_m: f32,
    pub from_lateral_m: f32,
    pub started_tick: u64,
    /// Forced by a scripted cut-in (MOBIL's criteria are not applied).
    pub forced: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriveMode {
    Normal,
    /// Braking at μ·g (a scripted hard brake).
    Braking,
    /// Stopped for good (a stalled vehicle, or after a hard brake).
    Stalled,
}

/// The traffic model's driver of a vehicle.
#[derive(Component, Clone, Debug, PartialEq)]
pub struct Driver {
    pub idm: crate::physics::longitudinal::IdmParams,
    pub bicycle: crate::physics::lateral::BicycleParams,
    pub desired_speed_m_per_s: Option<f32>,
    pub events: Vec<crate::scenario::DriveEvent>,
    pub length_m: f32,
    pub mode: DriveMode,
    /// Rear-axle pose of the kinematic bicycle model.
    pub rear_axle: crate::physics::lateral::Pose2,
    /// Friction used in the last step.
    pub mu: f32,
    pub salt: u32,
    /// Lane-change behaviour (politeness, threshold, safe deceleration).
    pub mobil: crate::physics::mobil::MobilParams,
    /// Preferred way through intersections (the scenario's `turn`).
    pub turn: Option<crate::scenario::TurnChoice>,
    /// Whether the driver changes lanes by MOBIL.
    pub lane_changes: bool,
    /// Whether the driver keeps its own line in the lane
    /// (`systems::traffic::driving_line_offset_m`): motor vehicles other than the ego, which
    /// drives the centre. Cyclists ride the centre line here (their keeping to the kerb is not
    /// modelled).
    pub keeps_line: bool,
    /// Events already fired (bit k for `events[k]`).
    pub fired: u32,
}

/// Longitudinal acceleration in the last step.
#[derive(Component, Clone, Copy, Debug, Default, PartialEq)]
pub struct Accel {
    pub m_per_s2: f32,
}

/// An animated actor (a walking pedestrian, a pedalling cyclist): one mesh per phase of its
/// cycle and the label box of each pose, and how far it has moved. The phase follows the
/// distance travelled, so the feet keep pace with the ground and stop when the actor stops.
#[derive(Component, Clone, Debug, PartialEq)]
pub struct Gait {
    pub meshes: Vec<MeshId>,
    pub sizes_m: Vec<Vec3>,
    /// Distance per cycle (a walker's stride, a bicycle's distance per crank turn), metres.
    pub cycle_m: f32,
    /// Phase at the start, [0, 1).
    pub phase0: f32,
    pub distance_m: f32,
}

impl Gait {
    /// The phase now, [0, 1).
    pub fn phase(&self) -> f32 {
        (self.phase0 + self.distance_m / self.cycle_m.max(1e-3)).rem_euclid(1.0)
    }

    /// The pose to show now: an index into `meshes` and `sizes_m`.
    pub fn index(&self) -> usize {
        let n = self.meshes.len().max(1);
        ((self.phase() * n as f32) as usize).min(n - 1)
    }
}
