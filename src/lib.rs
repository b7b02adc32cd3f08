//! verisim: synthetic lidar and camera data for autonomous driving, rendered with wgpu compute
//! shaders (or their CPU twins), labeled, and written as KITTI-layout datasets.
//!
//! Data flow: scenario file → [`scenario::Scenario`] → [`sim::Simulation`] (bevy_ecs world) →
//! [`sim::FrameInputs`] → [`backend::Backend`] → [`backend::SensorFrames`] → labels → files.

pub mod backend;
pub mod cpu;
pub mod export;
pub mod geometry;
pub mod gpu;
pub mod labels;
pub mod physics;
pub mod progress;
pub mod reality;
pub mod render;
pub mod rng;
pub mod scenario;
pub mod sensors;
pub mod sim;
pub mod simulate;
pub mod sweep;
pub mod world;

pub use backend::{Backend, BackendKind, SensorFrames, create_backend};
pub use scenario::Scenario;
pub use sim::{FrameInputs, Simulation};
