//! The precipitation particle stage on the GPU (`shaders/particles.wgsl`); its CPU twin is
//! `physics::precip::advance_particles_cpu`. Particles stay on the GPU between steps; read
//! them back only when needed.

use wgpu::util::DeviceExt;

use super::GpuContext;
use crate::backend::BackendError;
use crate::physics::precip::{
    Particle, PrecipParams, particles_dispatch_workgroups, particles_shader_source,
};

pub struct ParticleStage {
    pipeline: wgpu::ComputePipeline,
    params: wgpu::Buffer,
    particles: wgpu::Buffer,
    readback: wgpu::Buffer,
    bind: wgpu::BindGroup,
    count: u32,
}

impl ParticleStage {
    /// Uploads a particle population (at least one particle).
    pub fn new(ctx: &GpuContext, particles: &[Particle], params: &PrecipParams) -> Self {
        let device = &ctx.device;
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("particles"),
            source: wgpu::ShaderSource::Wgsl(particles_shader_source().into()),
        });
        let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some("particles"),
            layout: None,
            module: &module,
            entry_point: Some("advance_particles"),
            compilation_options: Default::default(),
            cache: None,
        });
        use wgpu::BufferUsages as U;
        let params_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("precip params"),
            contents: bytemuck::bytes_of(params),
            usage: U::UNIFORM | U::COPY_DST,
        });
        let one = [<Particle as bytemuck::Zeroable>::zeroed()];
        let data: &[Particle] = if particles.is_empty() {
            &one
        } else {
            particles
        };
        let particles_buf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("particles"),
            contents: bytemuck::cast_slice(data),
            usage: U::STORAGE | U::COPY_SRC | U::COPY_DST,
        });
        let readback = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("particles readback"),
            size: size_of_val(data) as u64,
            usage: U::MAP_READ | U::COPY_DST,
            mapped_at_creation: false,
        });
        let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("particles"),
            layout: &pipeline.get_bind_group_layout(0),
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: params_buf.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: particles_buf.as_entire_binding(),
                },
            ],
        });
        ParticleStage {
            pipeline,
            params: params_buf,
            particles: particles_buf,
            readback,
            bind,
            count: particles.len() as u32,
        }
    }

    /// Advances the particles one step per entry of `steps` (one submission).
    pub fn advance(&mut self, ctx: &GpuContext, steps: &[PrecipParams]) {
        for p in steps {
            // Each step's parameters must be visible to its own dispatch: submit per step.
            ctx.queue
                .write_buffer(&self.params, 0, bytemuck::bytes_of(p));
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&self.pipeline);
                pass.set_bind_group(0, &self.bind, &[]);
                let [x, y, z] = particles_dispatch_workgroups(self.count);
                pass.dispatch_workgroups(x, y, z);
            }
            ctx.queue.submit([encoder.finish()]);
        }
    }

    /// Waits for the GPU and reads the particles back.
    pub fn download(&self, ctx: &GpuContext) -> Result<Vec<Particle>, BackendError> {
        let bytes = self.count as u64 * size_of::<Particle>() as u64;
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.particles, 0, &self.readback, 0, bytes.max(32));
        ctx.queue.submit([encoder.finish()]);
        let slice = self.readback.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| BackendError::Gpu(e.to_string()))?;
        rx.recv()
            .map_err(|e| BackendError::Readback(e.to_string()))?
            .map_err(|e| BackendError::Readback(e.to_string()))?;
        let view = slice
            .get_mapped_range()
            .map_err(|e| BackendError::Readback(format!("{e:?}")))?;
        let out = bytemuck::cast_slice::<u8, Particle>(&view[..bytes as usize]).to_vec();
        drop(view);
        self.readback.unmap();
        Ok(out)
    }

    /// Waits until every submitted step has run.
    pub fn finish(&self, ctx: &GpuContext) -> Result<(), BackendError> {
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(|e| BackendError::Gpu(e.to_string()))
    }
}
