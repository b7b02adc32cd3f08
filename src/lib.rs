//! verisim: synthetic lidar and camera data for autonomous driving, rendered with wgpu compute
//! shaders (or their CPU twins), labeled, and written as KITTI-layout datasets.
//!
//! Data flow: scenario file → [`Scenario`] → [`Simulation`] (bevy_ecs world) → [`FrameInputs`]
//! → [`Backend`] → [`SensorFrames`] → labels → files. The modules are layers with one-way
//! imports (`docs/architecture.md`; `tests/cli/layers.rs` fails on an upward import).
//!
//! The API for programs is what this page lists at the top level; the layer modules are public
//! for the tests and benches but hidden from these docs and may change between versions.
//!
//! Rendering one frame of a shipped scenario through the library:
//!
//! ```
//! use std::path::Path;
//! use verisim::{BackendKind, Simulation, create_backend, load_scenario};
//!
//! let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenes/smoke.ron");
//! let scenario = load_scenario(&path)?;
//! let lidar_beams = scenario.rig.lidars[0].channels;
//! let mut sim = Simulation::new(scenario);
//! let mut backend = create_backend(BackendKind::Cpu, &sim.assets.pool)?;
//! let inputs = sim.frame_inputs(); // frame 0; `sim.step()` advances one physics tick
//! let frames = backend.render(&inputs)?;
//! let lidar = frames.lidar.expect("the smoke scene has a lidar");
//! assert_eq!(lidar.channels, lidar_beams);
//! assert!(lidar.points().count() > 1000);
//! let camera = &frames.cameras[0];
//! assert_eq!(camera.pixels.len(), (camera.width * camera.height) as usize);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#[doc(hidden)]
pub mod abi;
#[doc(hidden)]
pub mod backend;
#[doc(hidden)]
pub mod classes;
#[doc(hidden)]
pub mod export;
#[doc(hidden)]
pub mod files;
#[doc(hidden)]
pub mod frame;
#[doc(hidden)]
pub mod geometry;
#[doc(hidden)]
pub mod interrupt;
#[doc(hidden)]
pub mod labels;
#[doc(hidden)]
pub mod physics;
#[doc(hidden)]
pub mod pipeline;
#[doc(hidden)]
pub mod reality;
#[doc(hidden)]
pub mod rng;
#[doc(hidden)]
pub mod scenario;
#[doc(hidden)]
pub mod sensors;
#[doc(hidden)]
pub mod world;

pub use backend::{Backend, BackendError, BackendKind, create_backend};
pub use classes::Class;
pub use frame::{CameraFrame, FrameInputs, LidarFrame, SensorFrames};
pub use scenario::{Scenario, ScenarioError};
pub use world::Simulation;

/// Reads and validates a scenario file (RON). Errors name the file, line and field.
pub fn load_scenario(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
    scenario::load(path).map(|(s, _)| s)
}
