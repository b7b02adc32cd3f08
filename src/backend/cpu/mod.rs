//! The CPU backend: twins of the compute shaders over the same buffers (rayon-parallel).
//! It is the test oracle for the GPU and the fallback when no adapter exists.

pub mod bvh;
pub mod camera;
pub mod lanes;
pub mod lidar;
pub mod packet;
pub mod particle_grid;

use std::collections::VecDeque;

use crate::abi::GpuMaterial;
use crate::backend::{Backend, BackendError};
use crate::frame::FrameInputs;
use crate::frame::{CameraFrame, LidarFrame, SensorFrames};
use crate::geometry::GeometryPool;

pub struct CpuBackend {
    pool: GeometryPool,
    materials: Vec<GpuMaterial>,
    /// Frames rendered by `submit` and not collected yet (the CPU renders at once).
    done: VecDeque<SensorFrames>,
    /// The precipitation particles, kept between frames and advanced by the twin.
    field: crate::physics::precip_field::ParticleField,
}

impl CpuBackend {
    pub fn new(pool: &GeometryPool) -> Self {
        CpuBackend {
            pool: pool.clone(),
            materials: pool.materials.clone(),
            done: VecDeque::new(),
            field: Default::default(),
        }
    }

    pub fn view<'a>(&'a self, inputs: &'a FrameInputs) -> bvh::SceneView<'a> {
        bvh::SceneView {
            blas_nodes: &self.pool.nodes,
            triangles: &self.pool.triangles,
            instances: &inputs.tlas.instances,
            tlas_nodes: &inputs.tlas.nodes,
            materials: &self.materials,
            tlas_root: 0,
        }
    }
}

impl Backend for CpuBackend {
    fn describe(&self) -> String {
        format!("cpu ({} threads)", rayon::current_num_threads())
    }

    fn submit(&mut self, inputs: &FrameInputs) -> Result<(), BackendError> {
        let frame = self.render(inputs)?;
        self.done.push_back(frame);
        Ok(())
    }

    fn collect(&mut self) -> Result<SensorFrames, BackendError> {
        self.done.pop_front().ok_or(BackendError::NothingInFlight)
    }

    fn render(&mut self, inputs: &FrameInputs) -> Result<SensorFrames, BackendError> {
        let precip = self
            .field
            .frame_inputs(&inputs.precip)
            .map_err(|e| BackendError::BadRequest(e.to_string()))?;
        let scene = self.view(inputs);
        let field = particle_grid::GridView::new(&precip);
        let prepared = super::exposure::prepare_cameras(&self.pool, inputs);
        let cameras = prepared
            .iter()
            .map(|c| CameraFrame {
                width: c.params.width,
                height: c.params.height,
                pixels: camera::camera_image_full(
                    &scene,
                    &field,
                    &c.params,
                    &c.lights,
                    &c.light_grid,
                ),
            })
            .collect();
        let lidar = inputs.lidar.as_ref().map(|l| LidarFrame {
            channels: l.params.channels,
            columns: l.params.columns,
            hits: lidar::lidar_sweep_with_field(&scene, &field, &l.params, &l.beams, &l.columns),
        });
        Ok(SensorFrames { cameras, lidar })
    }
}
