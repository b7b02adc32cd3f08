//! The engine: physics against closed forms, geometry, traffic, the sensors on both backends
//! (GPU against the CPU twin), shaders, labels against geometry.
//!
//! One test binary (links wgpu and bevy once); each module was a file of its own.

#[path = "../common/mod.rs"]
mod common;

mod actor_motion;
mod bvh_stacks;
mod camera_physics;
mod camera_scenes;
mod car_paint;
mod geometry_laws;
mod gpu_vs_cpu;
mod imported_models;
mod labels;
mod lidar_motion;
mod lidar_presets;
mod lidar_weather;
mod opendrive;
mod packet_traversal;
mod particles_gpu;
mod physics_braking;
mod physics_extinction;
mod physics_idm;
mod physics_lateral;
mod physics_particles;
mod physics_wgsl;
mod precip_field;
mod shaders;
mod traffic;
mod traffic_rules;
