//! The exposure stage, run by every backend before it renders a camera: auto exposure meters
//! the frame's mean luminance on a coarse grid of rays (48 × 16, centre-weighted, without
//! precipitation), then the lamp grid is built for the chosen exposure (a lamp's reach is
//! where its light falls under `LAMP_CUTOFF` after exposure).
//!
//! Both backends meter with the CPU twin (`cpu::camera::meter_mean_luminance`, 768 rays,
//! ≈1 ms on one core), so the GPU and CPU backends render with bit-identical exposures. The
//! world extracts the frame and never traces a ray.

use crate::frame::{CameraInputs, FrameInputs};
use crate::geometry::GeometryPool;
use crate::scenario::ExposureMode;
use crate::sensors::camera_model::{build_light_grid, choose_exposure};

use super::cpu::bvh::SceneView;
use super::cpu::camera::meter_mean_luminance;

/// Metering grid: columns and rows of rays over the image.
pub const METER_GRID: (u32, u32) = (48, 16);

/// The frame's cameras with their exposure set and their lamp grids built.
pub fn prepare_cameras(pool: &GeometryPool, inputs: &FrameInputs) -> Vec<CameraInputs> {
    let scene = SceneView {
        blas_nodes: &pool.nodes,
        triangles: &pool.triangles,
        instances: &inputs.tlas.instances,
        tlas_nodes: &inputs.tlas.nodes,
        materials: &pool.materials,
        tlas_root: 0,
    };
    inputs
        .cameras
        .iter()
        .map(|c| {
            let mean = match c.exposure_mode {
                ExposureMode::Manual { .. } => 0.0,
                ExposureMode::Auto { .. } => {
                    let mut m = c.params;
                    m.rain_density_per_m3 = 0.0;
                    m.snow_density_per_m3 = 0.0;
                    meter_mean_luminance(&scene, &m, &c.lights, METER_GRID.0, METER_GRID.1)
                }
            };
            let mut out = c.clone();
            out.params.exposure = choose_exposure(&c.exposure_mode, mean, c.exposure_compensation);
            let grid = build_light_grid(&c.lights, out.params.exposure, c.floor_z);
            out.params.light_grid_cells = grid.cells;
            out.light_grid = grid.words;
            out
        })
        .collect()
}
