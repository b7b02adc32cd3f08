//! The bevy_ecs world: components, resources, systems and the fixed-step schedule.
//! ECS code never touches wgpu; the renderer sees the world only through
//! [`crate::frame::FrameInputs`].

pub mod components;
pub mod lanes;
pub mod resources;
pub mod schedule;
pub mod simulation;
pub mod systems;

pub use simulation::{ActorState, SceneAssets, Simulation, camera_params};
