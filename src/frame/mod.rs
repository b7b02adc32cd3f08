//! Plain per-frame data between the layers: [`FrameInputs`] (what the world extracts and a
//! backend renders) and [`SensorFrames`] (what a backend returns). No ECS, no wgpu: the
//! `#[repr(C)]` structs inside are the shader ABI of [`crate::abi`].

use glam::{Affine3A, Vec3};

use crate::abi::{CameraParams, GpuLight, LidarHit, LidarParams, PixelOut};
use crate::classes::Class;
use crate::geometry::{MeshId, Tlas};
use crate::scenario::{ActorKind, ExposureMode};

/// One labeled object as placed in a frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ObjectState {
    pub instance_id: u32,
    pub kind: ActorKind,
    pub class: Class,
    /// Length, width, height of the label box (origin at the bottom centre).
    pub size_m: Vec3,
    /// Pose at the frame time (KITTI boxes are at the frame timestamp).
    pub world_from_object: Affine3A,
    pub mesh: MeshId,
    /// Motion over the frame interval, from the simulation's last tick (world m/s, rad/s).
    pub velocity_m_per_s: Vec3,
    pub yaw_rate_rad_per_s: f32,
}

impl ObjectState {
    /// Pose `time_s` seconds from the frame time (as the renderers place it).
    pub fn world_from_object_at(&self, time_s: f32) -> Affine3A {
        crate::geometry::pool::moved(
            &self.world_from_object,
            self.velocity_m_per_s,
            self.yaw_rate_rad_per_s,
            time_s,
        )
    }
}

#[derive(Clone, Debug)]
pub struct CameraInputs {
    pub params: CameraParams,
    pub vehicle_from_camera: Affine3A,
    pub world_from_camera: Affine3A,
    /// Lamps lighting this camera's frame (street lights, head- and tail-lights).
    pub lights: Vec<GpuLight>,
    /// Words of the lamp grid (`camera_model::LightGrid`; empty when
    /// `params.light_grid_cells` = 0). Left empty by the world: the grid depends on the
    /// exposure, which the backend meters (its `exposure` stage).
    pub light_grid: Vec<u32>,
    /// How the backend sets `params.exposure` before rendering.
    pub exposure_mode: ExposureMode,
    /// Exposure compensation (a factor on what the mode chooses; 1 = none).
    pub exposure_compensation: f32,
    /// No scene point lies below this height (m): the floor of the lamp grid.
    pub floor_z: f32,
}

#[derive(Clone, Debug)]
pub struct LidarInputs {
    pub params: LidarParams,
    /// (cos, sin) of each beam's elevation.
    pub beams: Vec<[f32; 2]>,
    /// (cos, sin) of each column's azimuth.
    pub columns: Vec<[f32; 2]>,
    pub vehicle_from_lidar: Affine3A,
    pub world_from_lidar: Affine3A,
    /// Duration of one sweep (1 / rotation rate), seconds; the per-point firing times follow
    /// from it (`sensors::lidar::slot_time_s`).
    pub sweep_s: f32,
}

/// Everything a backend needs to render one frame.
#[derive(Clone, Debug)]
pub struct FrameInputs {
    pub frame: u32,
    pub time_s: f64,
    pub seed: u32,
    pub tlas: Tlas,
    pub objects: Vec<ObjectState>,
    pub world_from_ego: Affine3A,
    pub cameras: Vec<CameraInputs>,
    pub lidar: Option<LidarInputs>,
    /// Times (s from the frame time) at which rays are cast this frame: the lidar sweep with
    /// motion distortion, the camera exposure with motion blur. The TLAS bounds each moving
    /// instance over this window.
    pub motion_window_s: [f32; 2],
    /// What the explicit precipitation particles around the rig did since the previous frame:
    /// the backend keeps the particles, replays these steps on them (the GPU with its particle
    /// stage, the CPU with the twin) and grids them for the frame.
    pub precip: crate::physics::precip_field::PrecipFrame,
    /// The hardest braking (relative to friction) in the ticks since the previous frame.
    pub braking: Option<BrakingSample>,
}

/// One vehicle's braking: its deceleration over a tick and the tyre–road friction it braked on.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BrakingSample {
    /// Label instance id; 0 for the ego.
    pub instance_id: u32,
    pub decel_m_per_s2: f32,
    pub mu: f32,
}

impl BrakingSample {
    /// How hard relative to the friction: deceleration / μ (m/s²; the limit is g).
    pub fn per_mu(&self) -> f32 {
        self.decel_m_per_s2 / self.mu
    }

    /// Harder than `other`, ties to the lower instance id (so the record does not depend on
    /// query order).
    pub fn harder_than(&self, other: &BrakingSample) -> bool {
        let (a, b) = (self.per_mu(), other.per_mu());
        a > b || (a == b && self.instance_id < other.instance_id)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CameraFrame {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<PixelOut>,
}

/// One slot per ray (`column * channels + beam`); slots with no return have label NO_RETURN.
#[derive(Clone, Debug, PartialEq)]
pub struct LidarFrame {
    pub channels: u32,
    pub columns: u32,
    pub hits: Vec<LidarHit>,
}

impl LidarFrame {
    /// The returns only, in slot order.
    pub fn points(&self) -> impl Iterator<Item = &LidarHit> {
        self.hits
            .iter()
            .filter(|h| h.label != crate::abi::NO_RETURN)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SensorFrames {
    pub cameras: Vec<CameraFrame>,
    pub lidar: Option<LidarFrame>,
}
