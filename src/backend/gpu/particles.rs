//! The precipitation field on the GPU: the particle stage (`shaders/particles.wgsl`, CPU twin
//! `physics::precip::advance_particles_cpu`) keeps the particles in a GPU buffer and advances
//! them there, and the binning stages (`shaders/particle_bin.wgsl`, CPU twin
//! `physics::precip_field::build_particle_grid`) grid them for each frame. The host sees the
//! particles only when a rate change resizes the population (rare); per frame it reads back 24
//! bytes of bounds and 4 bytes of cell total.

use glam::Vec3;

use super::{GpuContext, Growable};
use crate::abi::ParticleGrid;
use crate::backend::BackendError;
use crate::physics::precip::{
    Particle, PrecipParams, particles_dispatch_workgroups, particles_shader_source,
    resize_population,
};
use crate::physics::precip_field::{
    self, FieldVersion, MAX_FIELD_PARTICLES, PrecipFrame, ReplayOp, replay_needed, replay_ops,
};

/// Uniform offsets must be multiples of this (wgpu's default limit).
const PARAMS_STRIDE: u64 = 256;
/// Steps recorded per submission.
const STEPS_PER_SUBMIT: usize = 256;
/// Counts per scan block (`SCAN_BLOCK` in particle_bin.wgsl).
const SCAN_BLOCK: u32 = 1024;

const BIN_SOURCE: &str = include_str!("../../../shaders/particle_bin.wgsl");

/// The binning stages' full WGSL source.
pub fn bin_shader_source() -> String {
    [
        crate::abi::SHARED_WGSL,
        super::shaders::TYPES,
        super::shaders::PARTICLE,
        BIN_SOURCE,
    ]
    .join("\n")
}

/// Entry points of [`bin_shader_source`], in the order a frame runs them.
pub const BIN_ENTRIES: [&str; 7] = [
    "bin_bounds",
    "bin_count",
    "scan_blocks",
    "scan_sums",
    "scan_add",
    "bin_scatter",
    "bin_sort",
];

fn gpu_err(e: impl std::fmt::Display) -> BackendError {
    BackendError::Gpu(e.to_string())
}

/// Waits for the GPU and copies `bytes` of `buffer` (MAP_READ) out.
fn read_mapped(
    ctx: &GpuContext,
    buffer: &wgpu::Buffer,
    bytes: u64,
) -> Result<Vec<u8>, BackendError> {
    let slice = buffer.slice(0..bytes.max(4));
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    ctx.device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(gpu_err)?;
    rx.recv()
        .map_err(|e| BackendError::Readback(e.to_string()))?
        .map_err(|e| BackendError::Readback(e.to_string()))?;
    let view = slice
        .get_mapped_range()
        .map_err(|e| BackendError::Readback(format!("{e:?}")))?;
    let out = view[..bytes as usize].to_vec();
    drop(view);
    buffer.unmap();
    Ok(out)
}

/// The particles in a GPU buffer and the `advance_particles` stage over them.
pub struct ParticleStage {
    pipeline: wgpu::ComputePipeline,
    /// One `PrecipParams` per step, `PARAMS_STRIDE` apart.
    params: wgpu::Buffer,
    particles: Growable,
    count: u32,
}

impl ParticleStage {
    /// Uploads a particle population.
    pub fn new(ctx: &GpuContext, particles: &[Particle]) -> Self {
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
        let params = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("precip params"),
            size: PARAMS_STRIDE * STEPS_PER_SUBMIT as u64,
            usage: U::UNIFORM | U::COPY_DST,
            mapped_at_creation: false,
        });
        let mut stage = ParticleStage {
            pipeline,
            params,
            particles: Growable::new(device, "particles", U::STORAGE | U::COPY_SRC | U::COPY_DST),
            count: 0,
        };
        stage.set(ctx, particles);
        stage
    }

    /// How many particles there are.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Replaces the population.
    pub fn set(&mut self, ctx: &GpuContext, particles: &[Particle]) {
        self.count = particles.len() as u32;
        if !particles.is_empty() {
            self.particles.upload(ctx, bytemuck::cast_slice(particles));
        }
    }

    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.particles.buffer
    }

    /// Advances the particles one step per entry of `steps`, oldest first (one submission per
    /// `STEPS_PER_SUBMIT` steps; the GPU runs them in order).
    pub fn advance(&mut self, ctx: &GpuContext, steps: &[PrecipParams]) {
        if self.count == 0 {
            return;
        }
        let layout = self.pipeline.get_bind_group_layout(0);
        for chunk in steps.chunks(STEPS_PER_SUBMIT) {
            let mut bytes = vec![0u8; chunk.len() * PARAMS_STRIDE as usize];
            for (k, p) in chunk.iter().enumerate() {
                let at = k * PARAMS_STRIDE as usize;
                bytes[at..at + size_of::<PrecipParams>()].copy_from_slice(bytemuck::bytes_of(p));
            }
            ctx.queue.write_buffer(&self.params, 0, &bytes);
            let mut encoder = ctx.device.create_command_encoder(&Default::default());
            {
                let mut pass = encoder.begin_compute_pass(&Default::default());
                pass.set_pipeline(&self.pipeline);
                for k in 0..chunk.len() {
                    let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("particles"),
                        layout: &layout,
                        entries: &[
                            wgpu::BindGroupEntry {
                                binding: 0,
                                resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                    buffer: &self.params,
                                    offset: k as u64 * PARAMS_STRIDE,
                                    size: wgpu::BufferSize::new(size_of::<PrecipParams>() as u64),
                                }),
                            },
                            wgpu::BindGroupEntry {
                                binding: 1,
                                resource: self.particles.buffer.as_entire_binding(),
                            },
                        ],
                    });
                    pass.set_bind_group(0, &bind, &[]);
                    let [x, y, z] = particles_dispatch_workgroups(self.count);
                    pass.dispatch_workgroups(x, y, z);
                }
            }
            ctx.queue.submit([encoder.finish()]);
        }
    }

    /// Waits until every submitted step has run.
    pub fn finish(&self, ctx: &GpuContext) -> Result<(), BackendError> {
        ctx.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map(|_| ())
            .map_err(gpu_err)
    }

    /// Waits for the GPU and reads the particles back.
    pub fn download(&self, ctx: &GpuContext) -> Result<Vec<Particle>, BackendError> {
        if self.count == 0 {
            return Ok(Vec::new());
        }
        let bytes = self.count as u64 * size_of::<Particle>() as u64;
        let readback = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("particles readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.particles.buffer, 0, &readback, 0, bytes);
        ctx.queue.submit([encoder.finish()]);
        let raw = read_mapped(ctx, &readback, bytes)?;
        Ok(bytemuck::pod_collect_to_vec(&raw))
    }
}

/// `x` as a u32 key with the same order (the shader's `order_key`).
fn order_key(x: f32) -> u32 {
    let b = x.to_bits();
    if b & 0x8000_0000 != 0 {
        !b
    } else {
        b | 0x8000_0000
    }
}

fn from_order_key(k: u32) -> f32 {
    f32::from_bits(if k & 0x8000_0000 != 0 {
        k & 0x7fff_ffff
    } else {
        !k
    })
}

/// The frame's particle field on the GPU: the particles (kept between frames), the grid
/// header, and the grid's cells (starts, then the sorted indices), as the lidar and camera
/// stages bind them (group 2).
pub struct GpuField {
    stage: ParticleStage,
    layout: wgpu::BindGroupLayout,
    /// One pipeline per entry of [`BIN_ENTRIES`].
    pipelines: Vec<wgpu::ComputePipeline>,
    grid: wgpu::Buffer,
    bounds: wgpu::Buffer,
    counts: Growable,
    cells: Growable,
    block_sums: Growable,
    readback: wgpu::Buffer,
    version: Option<FieldVersion>,
    /// The grid header of the last prepared frame.
    header: ParticleGrid,
    /// Index entries of the last grid (sizes the next one's buffer).
    last_total: u64,
}

impl GpuField {
    pub fn new(ctx: &GpuContext) -> Self {
        let device = &ctx.device;
        use wgpu::BufferUsages as U;
        let storage = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("particle bins"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                },
                storage(1, true),
                storage(2, false),
                storage(3, false),
                storage(4, false),
                storage(5, false),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("particle bins"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("particle bins"),
            source: wgpu::ShaderSource::Wgsl(bin_shader_source().into()),
        });
        let pipelines = BIN_ENTRIES
            .iter()
            .map(|entry| {
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(entry),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(entry),
                    compilation_options: Default::default(),
                    cache: None,
                })
            })
            .collect();
        let buffer = |label: &str, size: u64, usage: wgpu::BufferUsages| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        GpuField {
            stage: ParticleStage::new(ctx, &[]),
            layout,
            pipelines,
            grid: buffer(
                "particle grid",
                size_of::<ParticleGrid>() as u64,
                U::UNIFORM | U::COPY_DST,
            ),
            bounds: buffer(
                "particle bounds",
                32,
                U::STORAGE | U::COPY_SRC | U::COPY_DST,
            ),
            counts: Growable::new(device, "cell counts", U::STORAGE | U::COPY_DST),
            cells: Growable::new(device, "grid cells", U::STORAGE | U::COPY_SRC | U::COPY_DST),
            block_sums: Growable::new(device, "scan block sums", U::STORAGE),
            readback: buffer("bin readback", 32, U::MAP_READ | U::COPY_DST),
            version: None,
            header: precip_field::empty_grid(),
            last_total: 0,
        }
    }

    /// The grid header uniform, the particles and the cells (group 2 of the sensor stages).
    pub fn buffers(&self) -> [&wgpu::Buffer; 3] {
        [&self.grid, self.stage.buffer(), &self.cells.buffer]
    }

    /// The last prepared frame's grid header.
    pub fn header(&self) -> ParticleGrid {
        self.header
    }

    pub fn stage(&self) -> &ParticleStage {
        &self.stage
    }

    /// Replays the frame's field ops on the GPU particles and grids them for the frame.
    pub fn prepare(&mut self, ctx: &GpuContext, frame: &PrecipFrame) -> Result<(), BackendError> {
        let bad = |e: crate::physics::precip::PrecipError| BackendError::BadRequest(e.to_string());
        if !replay_needed(self.version, frame).map_err(bad)? {
            return Ok(());
        }
        if frame.before.is_none() {
            self.stage.set(ctx, &[]);
        }
        for op in replay_ops(&frame.ops) {
            match op {
                ReplayOp::Clear => self.stage.set(ctx, &[]),
                ReplayOp::Replace(p) => self.stage.set(ctx, p),
                ReplayOp::Resize(config, params) => {
                    // Rare (a rate change): the host resizes with the twin's code.
                    let mut particles = self.stage.download(ctx)?;
                    let mut p = *params;
                    resize_population(&mut particles, config, &mut p, MAX_FIELD_PARTICLES)
                        .map_err(bad)?;
                    self.stage.set(ctx, &particles);
                }
                ReplayOp::Steps(steps) => self.stage.advance(ctx, &steps),
            }
        }
        // Named before the grid is built: a failure below leaves a state to start again from.
        self.version = None;
        self.grid_frame(ctx, frame)?;
        self.version = Some(frame.after);
        Ok(())
    }

    fn bind_group(&self, ctx: &GpuContext) -> wgpu::BindGroup {
        let buffers = [
            &self.grid,
            self.stage.buffer(),
            &self.bounds,
            &self.counts.buffer,
            &self.cells.buffer,
            &self.block_sums.buffer,
        ];
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("particle bins"),
            layout: &self.layout,
            entries: &entries,
        })
    }

    /// Records pass `entry` (an index into [`BIN_ENTRIES`]) over `workgroups`.
    fn pass(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        bind: &wgpu::BindGroup,
        entry: usize,
        workgroups: [u32; 3],
    ) {
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(BIN_ENTRIES[entry]),
            timestamp_writes: None,
        });
        pass.set_pipeline(&self.pipelines[entry]);
        pass.set_bind_group(0, bind, &[]);
        let [x, y, z] = workgroups;
        pass.dispatch_workgroups(x, y, z);
    }

    /// Copies `bytes` at `offset` of `src` to the host.
    fn read_back(
        &self,
        ctx: &GpuContext,
        mut encoder: wgpu::CommandEncoder,
        src: &wgpu::Buffer,
        offset: u64,
        bytes: u64,
    ) -> Result<Vec<u32>, BackendError> {
        encoder.copy_buffer_to_buffer(src, offset, &self.readback, 0, bytes);
        ctx.queue.submit([encoder.finish()]);
        Ok(bytemuck::pod_collect_to_vec(&read_mapped(
            ctx,
            &self.readback,
            bytes,
        )?))
    }

    fn grid_frame(&mut self, ctx: &GpuContext, frame: &PrecipFrame) -> Result<(), BackendError> {
        let n = self.stage.len();
        let device = &ctx.device;
        if n == 0 {
            let grid = if precip_field::has_field_box(&frame.params) {
                precip_field::empty_field_grid(&frame.params)
            } else {
                precip_field::empty_grid()
            };
            ctx.queue
                .write_buffer(&self.grid, 0, bytemuck::bytes_of(&grid));
            self.cells.upload(ctx, bytemuck::cast_slice(&[0u32, 0]));
            self.header = grid;
            return Ok(());
        }
        let mut grid = precip_field::field_grid_header(
            n,
            &frame.params,
            frame.exposure_s,
            frame.ego_velocity_m_per_s,
        );
        // 1. Bounds of the segment boxes, from the field box.
        ctx.queue
            .write_buffer(&self.grid, 0, bytemuck::bytes_of(&grid));
        let start: Vec<u32> = grid
            .field_min_m
            .iter()
            .chain(&grid.field_max_m)
            .map(|&x| order_key(x))
            .collect();
        ctx.queue
            .write_buffer(&self.bounds, 0, bytemuck::cast_slice(&start));
        self.counts.ensure(device, 16);
        self.cells.ensure(device, 16);
        self.block_sums.ensure(device, 16);
        let bind = self.bind_group(ctx);
        let per_particle = particles_dispatch_workgroups(n as u32);
        let mut encoder = device.create_command_encoder(&Default::default());
        self.pass(&mut encoder, &bind, 0, per_particle);
        let keys = self.read_back(ctx, encoder, &self.bounds, 0, 24)?;
        let lo = Vec3::from_array([0, 1, 2].map(|k| from_order_key(keys[k])));
        let hi = Vec3::from_array([3, 4, 5].map(|k| from_order_key(keys[k])));
        // 2. The layout on the host (the twin's function), counts and their prefix sum.
        let (cell, dims) = precip_field::grid_layout(lo, hi, n);
        let cell_count = dims[0] * dims[1] * dims[2];
        grid.origin_m = lo.to_array();
        grid.cell_m = cell;
        grid.dims = dims;
        grid.index_offset = cell_count + 1;
        ctx.queue
            .write_buffer(&self.grid, 0, bytemuck::bytes_of(&grid));
        let blocks = cell_count.div_ceil(SCAN_BLOCK);
        self.counts.ensure(device, cell_count as u64 * 4);
        self.block_sums.ensure(device, blocks as u64 * 4);
        let guess = (cell_count as u64 + 1 + self.last_total.max(4 * n as u64)) * 4;
        self.cells.ensure(device, guess);
        let bind = self.bind_group(ctx);
        let per_cell = particles_dispatch_workgroups(cell_count);
        let mut encoder = device.create_command_encoder(&Default::default());
        encoder.clear_buffer(&self.counts.buffer, 0, Some(cell_count as u64 * 4));
        self.pass(&mut encoder, &bind, 1, per_particle);
        let block_groups = if blocks <= crate::physics::precip::MAX_WORKGROUPS_PER_DIM {
            [blocks, 1, 1]
        } else {
            let x = crate::physics::precip::MAX_WORKGROUPS_PER_DIM;
            [x, blocks.div_ceil(x), 1]
        };
        self.pass(&mut encoder, &bind, 2, block_groups);
        self.pass(&mut encoder, &bind, 3, [1, 1, 1]);
        self.pass(&mut encoder, &bind, 4, per_cell);
        let total = self.read_back(ctx, encoder, &self.cells.buffer, cell_count as u64 * 4, 4)?[0];
        // 3. Room for the indices (keeping the starts), then scatter and sort per cell.
        let needed = (cell_count as u64 + 1 + total as u64) * 4;
        let mut encoder = device.create_command_encoder(&Default::default());
        if needed > self.cells.capacity {
            let usage = self.cells.usage;
            let old =
                std::mem::replace(&mut self.cells, Growable::new(device, "grid cells", usage));
            self.cells.ensure(device, needed);
            encoder.copy_buffer_to_buffer(
                &old.buffer,
                0,
                &self.cells.buffer,
                0,
                (cell_count as u64 + 1) * 4,
            );
        }
        let bind = self.bind_group(ctx);
        encoder.clear_buffer(&self.counts.buffer, 0, Some(cell_count as u64 * 4));
        self.pass(&mut encoder, &bind, 5, per_particle);
        self.pass(&mut encoder, &bind, 6, per_cell);
        ctx.queue.submit([encoder.finish()]);
        self.last_total = total as u64;
        self.header = grid;
        Ok(())
    }

    /// Waits for the GPU and reads the grid's cells back (starts, then indices): the layout
    /// `build_particle_grid` gives the same particles.
    pub fn download_cells(&self, ctx: &GpuContext) -> Result<Vec<u32>, BackendError> {
        let h = self.header;
        let cell_count = (h.dims[0] * h.dims[1] * h.dims[2]) as u64;
        let words = if h.particle_count == 0 {
            2
        } else {
            let encoder = ctx.device.create_command_encoder(&Default::default());
            let total = self.read_back(ctx, encoder, &self.cells.buffer, cell_count * 4, 4)?[0];
            cell_count + 1 + total as u64
        };
        let bytes = words * 4;
        let readback = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("cells readback"),
            size: bytes,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&self.cells.buffer, 0, &readback, 0, bytes);
        ctx.queue.submit([encoder.finish()]);
        Ok(bytemuck::pod_collect_to_vec(&read_mapped(
            ctx, &readback, bytes,
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_keys_sort_like_the_floats() {
        let xs = [-1e30f32, -3.5, -0.0, 0.0, 1e-30, 2.0, 7.5e3, f32::MAX];
        for w in xs.windows(2) {
            assert!(order_key(w[0]) <= order_key(w[1]), "{} {}", w[0], w[1]);
        }
        for x in xs {
            assert_eq!(from_order_key(order_key(x)).to_bits(), x.to_bits());
        }
    }
}
