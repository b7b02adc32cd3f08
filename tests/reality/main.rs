//! The reality check: readers, statistics, gates, the HTML report and the CLI.
//!
//! One test binary (links wgpu and bevy once); each module was a file of its own.

#[path = "../common/mod.rs"]
mod common;

mod cli;
mod gates;
mod html;
mod metrics;
mod physical;
mod power;
mod readers;
