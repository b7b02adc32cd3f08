//! The bevy_ecs world: components, resources, systems and the fixed-step schedule.
//! ECS code never touches wgpu; the renderer sees the world only through
//! [`crate::sim::FrameInputs`].

pub mod components;
pub mod lanes;
pub mod resources;
pub mod schedule;
pub mod systems;
