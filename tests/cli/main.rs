//! The command line and the repository: CLI behaviour and errors, the README's commands,
//! the toolchain, the layer rules.
//!
//! One test binary (links wgpu and bevy once); each module was a file of its own.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod layers;
mod readme;
mod toolchain;
