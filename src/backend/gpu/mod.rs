//! The GPU backend: wgpu compute pipelines over the same buffers as the CPU twins.
//! Static geometry is uploaded once; per frame only instances, the TLAS and the sensor
//! parameters go up, all sensors are dispatched in one submission and read back together.

pub mod particles;
pub mod shaders;

use std::sync::mpsc;

use wgpu::util::DeviceExt;

use crate::abi::{LidarHit, PixelOut};
use crate::backend::{Backend, BackendError};
use crate::frame::FrameInputs;
use crate::frame::{CameraFrame, LidarFrame, SensorFrames};
use crate::geometry::GeometryPool;

/// Which adapters a caller accepts. Software adapters (llvmpipe/lavapipe, WARP,
/// SwiftShader: `DeviceType::Cpu`) render far slower than the CPU backend, so `--backend auto`
/// takes only hardware; `--backend gpu`, the tests and the benches take either, hardware first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdapterUse {
    /// A hardware adapter or none (`--backend auto`).
    HardwareOnly,
    /// Hardware first, else a software adapter (`--backend gpu`, tests, benches).
    Any,
}

/// `VERISIM_ADAPTER`: `software` asks for a software adapter even where hardware exists (CI's
/// lavapipe), `hardware` refuses software ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdapterRequest {
    Unset,
    Software,
    Hardware,
}

impl AdapterRequest {
    /// Reads `VERISIM_ADAPTER`; any other value is an error naming the variable.
    pub fn from_env() -> Result<Self, BackendError> {
        match std::env::var("VERISIM_ADAPTER").ok().as_deref() {
            None | Some("") => Ok(AdapterRequest::Unset),
            Some("software") => Ok(AdapterRequest::Software),
            Some("hardware") => Ok(AdapterRequest::Hardware),
            Some(other) => Err(BackendError::BadRequest(format!(
                "VERISIM_ADAPTER={other}: expected `software` or `hardware` (or unset)"
            ))),
        }
    }
}

/// What [`choose_adapter`] sees of an adapter.
#[derive(Clone, Debug)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: wgpu::Backend,
    pub device_type: wgpu::DeviceType,
}

impl AdapterSummary {
    pub fn of(info: &wgpu::AdapterInfo) -> Self {
        AdapterSummary {
            name: info.name.clone(),
            backend: info.backend,
            device_type: info.device_type,
        }
    }

    pub fn is_software(&self) -> bool {
        self.device_type == wgpu::DeviceType::Cpu
    }
}

impl std::fmt::Display for AdapterSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({:?}, {:?})",
            self.name, self.backend, self.device_type
        )
    }
}

/// The outcome of [`choose_adapter`]: an adapter (by index) with the reason, or none with the
/// reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdapterChoice {
    Use {
        index: usize,
        why: String,
        /// Set when the chosen adapter is a software one the user did not ask for by name.
        warning: Option<String>,
    },
    None {
        why: String,
    },
}

/// Picks an adapter: discrete, then integrated, then virtual, then other hardware; a software
/// adapter only when `usage` is `Any` and no hardware exists, or when `request` asks for one.
pub fn choose_adapter(
    adapters: &[AdapterSummary],
    usage: AdapterUse,
    request: AdapterRequest,
) -> AdapterChoice {
    use wgpu::DeviceType as D;
    let rank = |a: &AdapterSummary| match a.device_type {
        D::DiscreteGpu => 0,
        D::IntegratedGpu => 1,
        D::VirtualGpu => 2,
        D::Other => 3,
        D::Cpu => 4,
    };
    let best = |software: bool| {
        adapters
            .iter()
            .enumerate()
            .filter(|(_, a)| a.is_software() == software)
            .min_by_key(|(i, a)| (rank(a), *i))
            .map(|(i, _)| i)
    };
    let found = if adapters.is_empty() {
        "wgpu found no adapter".to_string()
    } else {
        format!(
            "found {}",
            adapters
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    if request == AdapterRequest::Software {
        return match best(true) {
            Some(index) => AdapterChoice::Use {
                index,
                why: "VERISIM_ADAPTER=software asks for a software adapter".into(),
                warning: None,
            },
            None => AdapterChoice::None {
                why: format!("VERISIM_ADAPTER=software, but no software adapter: {found}"),
            },
        };
    }
    if let Some(index) = best(false) {
        let why = match adapters[index].device_type {
            D::DiscreteGpu => "the discrete GPU",
            D::IntegratedGpu => "an integrated GPU (no discrete one found)",
            _ => "a hardware adapter (no discrete or integrated GPU found)",
        };
        return AdapterChoice::Use {
            index,
            why: why.into(),
            warning: None,
        };
    }
    match (usage, request, best(true)) {
        (AdapterUse::Any, AdapterRequest::Unset, Some(index)) => AdapterChoice::Use {
            index,
            why: "the only adapter is a software one".into(),
            warning: Some(format!(
                "{} is a software adapter (the CPU emulating a GPU): --backend cpu renders the \
                 same frames many times faster",
                adapters[index].name
            )),
        },
        (_, AdapterRequest::Hardware, _) => AdapterChoice::None {
            why: format!("VERISIM_ADAPTER=hardware, but no hardware adapter: {found}"),
        },
        (_, _, Some(_)) => AdapterChoice::None {
            why: format!("no hardware GPU adapter ({found})"),
        },
        (_, _, None) => AdapterChoice::None { why: found },
    }
}

/// A wgpu instance with only the backends verisim renders on (Vulkan, Metal, DX12; `WGPU_BACKEND`
/// overrides): no GL, whose EGL probing prints errors on machines without a display.
fn instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::PRIMARY;
    wgpu::Instance::new(desc.with_env())
}

/// Every adapter the instance finds, with its summary.
pub fn enumerate_adapters() -> Vec<(wgpu::Adapter, AdapterSummary)> {
    let instance = instance();
    pollster::block_on(instance.enumerate_adapters(wgpu::Backends::all()))
        .into_iter()
        .map(|a| {
            let s = AdapterSummary::of(&a.get_info());
            (a, s)
        })
        .collect()
}

/// Chooses an adapter (see [`choose_adapter`]) and returns it with the reason and a warning;
/// [`BackendError::NoAdapter`] when none may be used.
pub fn pick_adapter(
    usage: AdapterUse,
) -> Result<(wgpu::Adapter, String, Option<String>), BackendError> {
    let request = AdapterRequest::from_env()?;
    let mut adapters = enumerate_adapters();
    let summaries: Vec<AdapterSummary> = adapters.iter().map(|(_, s)| s.clone()).collect();
    match choose_adapter(&summaries, usage, request) {
        AdapterChoice::Use {
            index,
            why,
            warning,
        } => Ok((adapters.swap_remove(index).0, why, warning)),
        AdapterChoice::None { why } => Err(BackendError::NoAdapter { detail: why }),
    }
}

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    /// The device writes pass timestamps (kernel times in the run summary).
    pub timestamps: bool,
}

impl GpuContext {
    /// Opens a device on any adapter, hardware first (see [`AdapterUse::Any`]).
    pub fn new() -> Result<Self, BackendError> {
        let (adapter, _, _) = pick_adapter(AdapterUse::Any)?;
        Self::on(&adapter)
    }

    /// Opens a device on `adapter` with the adapter's limits.
    pub fn on(adapter: &wgpu::Adapter) -> Result<Self, BackendError> {
        let info = adapter.get_info();
        let timestamps = adapter.features().contains(wgpu::Features::TIMESTAMP_QUERY);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("verisim"),
            required_features: if timestamps {
                wgpu::Features::TIMESTAMP_QUERY
            } else {
                wgpu::Features::empty()
            },
            required_limits: adapter.limits(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|source| BackendError::Device {
            adapter: info.name.clone(),
            source,
        })?;
        Ok(GpuContext {
            device,
            queue,
            info,
            timestamps,
        })
    }

    pub fn describe(&self) -> String {
        format!(
            "gpu: {} ({:?}, {:?}, driver {})",
            self.info.name, self.info.backend, self.info.device_type, self.info.driver
        )
    }
}

/// A storage buffer that grows when a frame needs more room.
struct Growable {
    buffer: wgpu::Buffer,
    capacity: u64,
    label: &'static str,
    usage: wgpu::BufferUsages,
}

impl Growable {
    fn new(device: &wgpu::Device, label: &'static str, usage: wgpu::BufferUsages) -> Self {
        let capacity = 256;
        Growable {
            buffer: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: capacity,
                usage,
                mapped_at_creation: false,
            }),
            capacity,
            label,
            usage,
        }
    }

    /// Makes room for `size` bytes (contents are not kept).
    fn ensure(&mut self, device: &wgpu::Device, size: u64) {
        let size = size.max(16).next_multiple_of(256);
        if size > self.capacity {
            let capacity = size.next_power_of_two();
            self.buffer = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size: capacity,
                usage: self.usage,
                mapped_at_creation: false,
            });
            self.capacity = capacity;
        }
    }

    fn upload(&mut self, ctx: &GpuContext, bytes: &[u8]) {
        self.ensure(&ctx.device, bytes.len() as u64);
        ctx.queue.write_buffer(&self.buffer, 0, bytes);
    }
}

/// Output and readback buffers of one sensor.
struct SensorBuffers {
    params: Growable,
    output: Growable,
    /// Camera lamps (unused by the lidar).
    lights: Growable,
    /// Exposed linear RGBA per camera pixel, between the shading and the sensor pass.
    exposed: Growable,
    /// The lamp grid's words (camera only).
    light_grid: Growable,
}

impl SensorBuffers {
    fn new(device: &wgpu::Device) -> Self {
        use wgpu::BufferUsages as U;
        SensorBuffers {
            params: Growable::new(device, "sensor params", U::UNIFORM | U::COPY_DST),
            output: Growable::new(device, "sensor output", U::STORAGE | U::COPY_SRC),
            lights: Growable::new(device, "camera lights", U::STORAGE | U::COPY_DST),
            exposed: Growable::new(device, "camera exposed", U::STORAGE),
            light_grid: Growable::new(device, "camera light grid", U::STORAGE | U::COPY_DST),
        }
    }
}

/// The mappable copies of one frame's outputs. Each frame in flight owns one set, so frame
/// n + 1 renders while frame n is mapped and read.
struct Readbacks {
    lidar: Growable,
    cameras: Vec<Growable>,
    queries: Option<Queries>,
}

/// Pass timestamps, begin and end of each pass in recording order: the lidar's pass, then
/// each camera's shading and sensor passes (passes beyond the set are not timed).
struct Queries {
    set: wgpu::QuerySet,
    resolve: wgpu::Buffer,
    read: wgpu::Buffer,
}

const QUERIES: u32 = 34;
pub use crate::abi::shared::LIDAR_TILE;

impl Readbacks {
    fn new(ctx: &GpuContext) -> Self {
        use wgpu::BufferUsages as U;
        let device = &ctx.device;
        let buffer = |label, usage| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: u64::from(QUERIES) * 8,
                usage,
                mapped_at_creation: false,
            })
        };
        Readbacks {
            lidar: readback_buffer(device),
            cameras: Vec::new(),
            queries: ctx.timestamps.then(|| Queries {
                set: device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("pass timestamps"),
                    ty: wgpu::QueryType::Timestamp,
                    count: QUERIES,
                }),
                resolve: buffer("timestamps resolve", U::QUERY_RESOLVE | U::COPY_SRC),
                read: buffer("timestamps readback", U::MAP_READ | U::COPY_DST),
            }),
        }
    }

    /// Timestamp writes for the pass whose begin index is `first`.
    fn pass_times(&self, first: u32) -> Option<wgpu::ComputePassTimestampWrites<'_>> {
        let q = self.queries.as_ref()?;
        (first + 2 <= QUERIES).then_some(wgpu::ComputePassTimestampWrites {
            query_set: &q.set,
            beginning_of_pass_write_index: Some(first),
            end_of_pass_write_index: Some(first + 1),
        })
    }
}

fn readback_buffer(device: &wgpu::Device) -> Growable {
    use wgpu::BufferUsages as U;
    Growable::new(device, "sensor readback", U::MAP_READ | U::COPY_DST)
}

/// A submitted frame: its readback set, what to read from it, and the mapping callbacks.
struct InFlight {
    readbacks: Readbacks,
    submission: wgpu::SubmissionIndex,
    /// Channels, columns and output slots of the lidar.
    lidar: Option<(u32, u32, usize)>,
    /// Width and height of each camera.
    cameras: Vec<(u32, u32)>,
    mapped: mpsc::Receiver<(usize, Result<(), wgpu::BufferAsyncError>)>,
    /// Buffers mapped for this frame (one callback each on `mapped`).
    mapped_count: usize,
    /// Timestamps written (0: none, or no query set).
    queries_used: u32,
}

/// Seconds spent per stage of the readback thread, summed over frames.
#[derive(Default)]
struct Stages {
    /// Blocked until the GPU finished a frame and its readback was mapped.
    wait: f64,
    /// Copying mapped readbacks into the frames.
    copy: f64,
    /// Lidar and camera kernel time on the device, from pass timestamps.
    lidar_kernels: f64,
    camera_kernels: f64,
}

/// Frames kept in flight on the GPU, from `VERISIM_GPU_FRAMES_IN_FLIGHT` (default 3).
fn frames_in_flight_setting() -> usize {
    std::env::var("VERISIM_GPU_FRAMES_IN_FLIGHT")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| (1..=64).contains(&n))
        .unwrap_or(3)
}

pub struct GpuBackend {
    ctx: GpuContext,
    /// The meshes on the host too: the exposure stage meters with the CPU twin.
    pool: GeometryPool,
    blas_nodes: wgpu::Buffer,
    triangles: wgpu::Buffer,
    materials: wgpu::Buffer,
    instances: Growable,
    tlas_nodes: Growable,
    beams: Growable,
    columns: Growable,
    lidar_pipeline: wgpu::ComputePipeline,
    camera_pipeline: wgpu::ComputePipeline,
    camera_sensor_pipeline: wgpu::ComputePipeline,
    lidar: SensorBuffers,
    cameras: Vec<SensorBuffers>,
    /// The precipitation particle field (group 2: grid uniform, particles, cells), advanced
    /// and gridded on the GPU.
    field: particles::GpuField,
    /// Seconds spent replaying and gridding the particle field (its host side and waits).
    field_time: f64,
    collector: Collector,
    /// Frames submitted and not collected.
    in_flight: usize,
    depth: usize,
    /// Seconds spent recording and submitting (the render thread's part).
    record: f64,
    /// Seconds `collect` waited for the readback thread.
    waited: f64,
}

fn storage_init(device: &wgpu::Device, label: &str, bytes: &[u8]) -> wgpu::Buffer {
    // wgpu rejects zero-sized bindings: pad empty inputs.
    let padded;
    let contents = if bytes.is_empty() {
        padded = [0u8; 16];
        &padded[..]
    } else {
        bytes
    };
    device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some(label),
        contents,
        usage: wgpu::BufferUsages::STORAGE,
    })
}

fn pipeline(
    device: &wgpu::Device,
    name: &str,
    source: String,
    entry: &str,
) -> wgpu::ComputePipeline {
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(name),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(name),
        layout: None,
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    })
}

impl GpuBackend {
    /// The backend on any adapter, hardware first (tests and benches).
    pub fn new(pool: &GeometryPool) -> Result<Self, BackendError> {
        Ok(Self::with_context(GpuContext::new()?, pool))
    }

    /// The backend on an opened device.
    pub fn with_context(ctx: GpuContext, pool: &GeometryPool) -> Self {
        let device = &ctx.device;
        use wgpu::BufferUsages as U;
        let materials = pool.materials.clone();
        let stages = shaders::stages();
        let find = |n: &str| stages.iter().find(|s| s.0 == n).expect("stage exists");
        let (_, lidar_src, lidar_entry) = find("lidar");
        let (_, camera_src, camera_entry) = find("camera");
        let (_, sensor_src, sensor_entry) = find("camera_sensor");
        GpuBackend {
            pool: pool.clone(),
            blas_nodes: storage_init(device, "blas nodes", bytemuck::cast_slice(&pool.nodes)),
            triangles: storage_init(device, "triangles", bytemuck::cast_slice(&pool.triangles)),
            materials: storage_init(device, "materials", bytemuck::cast_slice(&materials)),
            instances: Growable::new(device, "instances", U::STORAGE | U::COPY_DST),
            tlas_nodes: Growable::new(device, "tlas nodes", U::STORAGE | U::COPY_DST),
            beams: Growable::new(device, "beams", U::STORAGE | U::COPY_DST),
            columns: Growable::new(device, "columns", U::STORAGE | U::COPY_DST),
            lidar_pipeline: pipeline(device, "lidar", lidar_src.clone(), lidar_entry),
            camera_pipeline: pipeline(device, "camera", camera_src.clone(), camera_entry),
            camera_sensor_pipeline: pipeline(
                device,
                "camera_sensor",
                sensor_src.clone(),
                sensor_entry,
            ),
            lidar: SensorBuffers::new(device),
            cameras: Vec::new(),
            field: particles::GpuField::new(&ctx),
            field_time: 0.0,
            collector: Collector::new(&ctx),
            in_flight: 0,
            depth: frames_in_flight_setting(),
            record: 0.0,
            waited: 0.0,
            ctx,
        }
    }

    fn scene_group(&self, pipeline: &wgpu::ComputePipeline) -> wgpu::BindGroup {
        let layout = pipeline.get_bind_group_layout(0);
        let entries = [
            &self.blas_nodes,
            &self.triangles,
            &self.instances.buffer,
            &self.tlas_nodes.buffer,
            &self.materials,
        ]
        .iter()
        .enumerate()
        .map(|(i, b)| wgpu::BindGroupEntry {
            binding: i as u32,
            resource: b.as_entire_binding(),
        })
        .collect::<Vec<_>>();
        self.ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("scene"),
                layout: &layout,
                entries: &entries,
            })
    }
}

impl GpuBackend {
    fn field_group(&self, pipeline: &wgpu::ComputePipeline) -> wgpu::BindGroup {
        let layout = pipeline.get_bind_group_layout(2);
        let entries = self
            .field
            .buffers()
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect::<Vec<_>>();
        self.ctx
            .device
            .create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("particle field"),
                layout: &layout,
                entries: &entries,
            })
    }
}

fn read_back<T: bytemuck::Pod>(
    buffer: &wgpu::Buffer,
    count: usize,
) -> Result<Vec<T>, BackendError> {
    let bytes = (count * size_of::<T>()) as u64;
    let slice = buffer.slice(0..bytes.max(4));
    let view = slice
        .get_mapped_range()
        .map_err(|e| BackendError::Readback(format!("{e:?}")))?;
    // One copy on this thread: a parallel copy into fresh memory measured slower on an H100
    // host (its page faults contend), and reusing frame buffers would tie frames to the
    // backend.
    let out = bytemuck::cast_slice::<u8, T>(&view[..bytes as usize]).to_vec();
    drop(view);
    buffer.unmap();
    Ok(out)
}

impl Backend for GpuBackend {
    fn describe(&self) -> String {
        self.ctx.describe()
    }

    fn frames_in_flight(&self) -> usize {
        self.depth
    }

    fn timings(&self) -> Vec<(&'static str, f64)> {
        let st = self.collector.stages.lock().expect("not poisoned");
        vec![
            ("gpu particle field (replay, grid, waits)", self.field_time),
            ("gpu record+upload", self.record),
            ("waiting for the readback thread", self.waited),
            ("readback thread: gpu wait", st.wait),
            ("readback copy", st.copy),
            ("lidar kernels", st.lidar_kernels),
            ("camera kernels", st.camera_kernels),
        ]
    }

    fn submit(&mut self, inputs: &FrameInputs) -> Result<(), BackendError> {
        let field_started = std::time::Instant::now();
        self.field.prepare(&self.ctx, &inputs.precip)?;
        self.field_time += field_started.elapsed().as_secs_f64();
        let started = std::time::Instant::now();
        let cameras = super::exposure::prepare_cameras(&self.pool, inputs);
        let ctx = &self.ctx;
        let reused = self.collector.free.lock().expect("not poisoned").pop();
        let mut rb = reused.unwrap_or_else(|| Readbacks::new(ctx));
        while rb.cameras.len() < inputs.cameras.len() {
            rb.cameras.push(readback_buffer(&ctx.device));
        }
        self.instances
            .upload(ctx, bytemuck::cast_slice(&inputs.tlas.instances));
        self.tlas_nodes
            .upload(ctx, bytemuck::cast_slice(&inputs.tlas.nodes));
        while self.cameras.len() < inputs.cameras.len() {
            self.cameras.push(SensorBuffers::new(&ctx.device));
        }
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        let mut readbacks: Vec<(&wgpu::Buffer, u64)> = Vec::new();
        let mut queries_used = 0u32;
        // Channels, columns and output slots.
        let lidar_shape = inputs.lidar.as_ref().map(|l| {
            (
                l.params.channels,
                l.params.columns,
                crate::backend::cpu::lidar::output_slots(&l.params),
            )
        });
        let lidar_bytes = |slots: usize| slots as u64 * size_of::<LidarHit>() as u64;

        if let (Some(l), Some((_, _, slots))) = (&inputs.lidar, lidar_shape) {
            let out_bytes = lidar_bytes(slots);
            self.beams.upload(ctx, bytemuck::cast_slice(&l.beams));
            self.columns.upload(ctx, bytemuck::cast_slice(&l.columns));
            self.lidar.params.upload(ctx, bytemuck::bytes_of(&l.params));
            self.lidar.output.ensure(&ctx.device, out_bytes);
            rb.lidar.ensure(&ctx.device, out_bytes);
        }
        for ((c, bufs), readback) in cameras
            .iter()
            .zip(self.cameras.iter_mut())
            .zip(rb.cameras.iter_mut())
        {
            let out_bytes =
                (c.params.width * c.params.height) as u64 * size_of::<PixelOut>() as u64;
            readback.ensure(&ctx.device, out_bytes);
            bufs.params.upload(ctx, bytemuck::bytes_of(&c.params));
            if c.lights.is_empty() {
                bufs.lights.upload(ctx, &[0u8; 48]);
            } else {
                bufs.lights.upload(ctx, bytemuck::cast_slice(&c.lights));
            }
            bufs.output.ensure(&ctx.device, out_bytes);
            bufs.exposed
                .ensure(&ctx.device, (c.params.width * c.params.height) as u64 * 16);
            if c.light_grid.is_empty() {
                bufs.light_grid.upload(ctx, &[0u8; 32]);
            } else {
                bufs.light_grid
                    .upload(ctx, bytemuck::cast_slice(&c.light_grid));
            }
        }

        if let Some((channels, columns, slots)) = lidar_shape {
            let out_bytes = lidar_bytes(slots);
            let scene = self.scene_group(&self.lidar_pipeline);
            let field = self.field_group(&self.lidar_pipeline);
            let sensor = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("lidar"),
                layout: &self.lidar_pipeline.get_bind_group_layout(1),
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: self.lidar.params.buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: self.beams.buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: self.columns.buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: self.lidar.output.buffer.as_entire_binding(),
                    },
                ],
            });
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("lidar"),
                    timestamp_writes: rb.pass_times(queries_used),
                });
                pass.set_pipeline(&self.lidar_pipeline);
                pass.set_bind_group(0, &scene, &[]);
                pass.set_bind_group(1, &sensor, &[]);
                pass.set_bind_group(2, &field, &[]);
                let groups = (channels * columns.div_ceil(LIDAR_TILE) * LIDAR_TILE).div_ceil(64);
                let x = groups.min(65535);
                pass.dispatch_workgroups(x, groups.div_ceil(x), 1);
            }
            encoder.copy_buffer_to_buffer(
                &self.lidar.output.buffer,
                0,
                &rb.lidar.buffer,
                0,
                out_bytes,
            );
            readbacks.push((&rb.lidar.buffer, out_bytes));
            queries_used += 2;
        }
        for ((c, bufs), readback) in cameras
            .iter()
            .zip(self.cameras.iter())
            .zip(rb.cameras.iter())
        {
            let first = queries_used;
            let out_bytes =
                (c.params.width * c.params.height) as u64 * size_of::<PixelOut>() as u64;
            let scene = self.scene_group(&self.camera_pipeline);
            let field = self.field_group(&self.camera_pipeline);
            let sensor = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("camera"),
                layout: &self.camera_pipeline.get_bind_group_layout(1),
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: bufs.params.buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: bufs.output.buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 2,
                        resource: bufs.lights.buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: bufs.exposed.buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 4,
                        resource: bufs.light_grid.buffer.as_entire_binding(),
                    },
                ],
            });
            // The sensor pass reads the exposed image of the shading pass (no scene).
            let empty = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("camera sensor (no scene)"),
                layout: &self.camera_sensor_pipeline.get_bind_group_layout(0),
                entries: &[],
            });
            let sensor_io = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("camera sensor"),
                layout: &self.camera_sensor_pipeline.get_bind_group_layout(1),
                entries: &[
                    wgpu::BindGroupEntry {
                        binding: 0,
                        resource: bufs.params.buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 1,
                        resource: bufs.output.buffer.as_entire_binding(),
                    },
                    wgpu::BindGroupEntry {
                        binding: 3,
                        resource: bufs.exposed.buffer.as_entire_binding(),
                    },
                ],
            });
            let groups = (c.params.width.div_ceil(8), c.params.height.div_ceil(8));
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("camera"),
                    timestamp_writes: rb.pass_times(first),
                });
                pass.set_pipeline(&self.camera_pipeline);
                pass.set_bind_group(0, &scene, &[]);
                pass.set_bind_group(1, &sensor, &[]);
                pass.set_bind_group(2, &field, &[]);
                pass.dispatch_workgroups(groups.0, groups.1, 1);
            }
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some("camera sensor"),
                    timestamp_writes: rb.pass_times(first + 2),
                });
                pass.set_pipeline(&self.camera_sensor_pipeline);
                pass.set_bind_group(0, &empty, &[]);
                pass.set_bind_group(1, &sensor_io, &[]);
                pass.dispatch_workgroups(groups.0, groups.1, 1);
            }
            encoder.copy_buffer_to_buffer(&bufs.output.buffer, 0, &readback.buffer, 0, out_bytes);
            readbacks.push((&readback.buffer, out_bytes));
            queries_used = (queries_used + 4).min(QUERIES);
        }
        if let Some(q) = rb.queries.as_ref().filter(|_| queries_used > 0) {
            let bytes = u64::from(queries_used) * 8;
            encoder.resolve_query_set(&q.set, 0..queries_used, &q.resolve, 0);
            encoder.copy_buffer_to_buffer(&q.resolve, 0, &q.read, 0, bytes);
            readbacks.push((&q.read, bytes));
        }
        let submission = ctx.queue.submit([encoder.finish()]);
        let (tx, mapped) = mpsc::channel();
        let mapped_count = readbacks.len();
        for (i, (buffer, bytes)) in readbacks.iter().enumerate() {
            let tx = tx.clone();
            buffer
                .slice(0..(*bytes).max(4))
                .map_async(wgpu::MapMode::Read, move |r| {
                    let _ = tx.send((i, r));
                });
        }
        let frame = InFlight {
            readbacks: rb,
            submission,
            lidar: lidar_shape,
            cameras: cameras
                .iter()
                .map(|c| (c.params.width, c.params.height))
                .collect(),
            mapped,
            mapped_count,
            queries_used,
        };
        self.collector
            .to_finish
            .as_ref()
            .expect("set until drop")
            .send(frame)
            .map_err(|_| BackendError::Gpu("the readback thread stopped".into()))?;
        self.in_flight += 1;
        self.record += started.elapsed().as_secs_f64();
        Ok(())
    }

    fn collect(&mut self) -> Result<SensorFrames, BackendError> {
        if self.in_flight == 0 {
            return Err(BackendError::NothingInFlight);
        }
        self.in_flight -= 1;
        let t = std::time::Instant::now();
        let frame = self
            .collector
            .finished
            .recv()
            .map_err(|_| BackendError::Gpu("the readback thread stopped".into()))?;
        self.waited += t.elapsed().as_secs_f64();
        frame
    }
}

/// Waits for a submitted frame on the readback thread, copies its outputs out of the mapped
/// buffers and hands its readback set back for reuse.
fn finish_frame(
    device: &wgpu::Device,
    period_ns: f64,
    frame: InFlight,
    free: &std::sync::Mutex<Vec<Readbacks>>,
    stages: &std::sync::Mutex<Stages>,
) -> Result<SensorFrames, BackendError> {
    let started = std::time::Instant::now();
    device
        .poll(wgpu::PollType::Wait {
            submission_index: Some(frame.submission.clone()),
            timeout: None,
        })
        .map_err(|e| BackendError::Gpu(e.to_string()))?;
    for _ in 0..frame.mapped_count {
        let (i, r) = frame
            .mapped
            .recv()
            .map_err(|_| BackendError::Readback("a mapping callback was dropped".into()))?;
        r.map_err(|e| BackendError::Readback(format!("buffer {i}: {e}")))?;
    }
    let waited = std::time::Instant::now();
    let lidar = match frame.lidar {
        Some((channels, columns, slots)) => Some(LidarFrame {
            channels,
            columns,
            hits: read_back::<LidarHit>(&frame.readbacks.lidar.buffer, slots)?,
        }),
        None => None,
    };
    let cameras = frame
        .cameras
        .iter()
        .zip(&frame.readbacks.cameras)
        .map(|(&(width, height), rb)| {
            Ok(CameraFrame {
                width,
                height,
                pixels: read_back::<PixelOut>(&rb.buffer, (width * height) as usize)?,
            })
        })
        .collect::<Result<Vec<_>, BackendError>>()?;
    let mut kernels = (0.0, 0.0);
    if let Some(q) = frame
        .readbacks
        .queries
        .as_ref()
        .filter(|_| frame.queries_used > 0)
    {
        let ticks = read_back::<u64>(&q.read, frame.queries_used as usize)?;
        let spans: Vec<f64> = ticks
            .chunks_exact(2)
            .map(|t| t[1].saturating_sub(t[0]) as f64 * period_ns * 1e-9)
            .collect();
        let camera_spans = if frame.lidar.is_some() {
            kernels.0 = spans[0];
            &spans[1..]
        } else {
            &spans[..]
        };
        kernels.1 = camera_spans.iter().sum::<f64>();
    }
    free.lock().expect("not poisoned").push(frame.readbacks);
    let mut st = stages.lock().expect("not poisoned");
    st.wait += (waited - started).as_secs_f64();
    st.copy += waited.elapsed().as_secs_f64();
    st.lidar_kernels += kernels.0;
    st.camera_kernels += kernels.1;
    Ok(SensorFrames { cameras, lidar })
}

/// The readback thread: it finishes submitted frames in order while the render thread
/// simulates and submits the next ones, so the copies out of mapped memory leave the
/// pipeline's critical path.
struct Collector {
    to_finish: Option<mpsc::Sender<InFlight>>,
    finished: mpsc::Receiver<Result<SensorFrames, BackendError>>,
    free: std::sync::Arc<std::sync::Mutex<Vec<Readbacks>>>,
    stages: std::sync::Arc<std::sync::Mutex<Stages>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Collector {
    fn new(ctx: &GpuContext) -> Self {
        let (to_finish, jobs) = mpsc::channel::<InFlight>();
        let (done, finished) = mpsc::channel();
        let free = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stages = std::sync::Arc::new(std::sync::Mutex::new(Stages::default()));
        let device = ctx.device.clone();
        let period_ns = f64::from(ctx.queue.get_timestamp_period());
        let (free_t, stages_t) = (free.clone(), stages.clone());
        let thread = std::thread::Builder::new()
            .name("verisim-readback".into())
            .spawn(move || {
                for frame in jobs {
                    let r = finish_frame(&device, period_ns, frame, &free_t, &stages_t);
                    if done.send(r).is_err() {
                        break;
                    }
                }
            })
            .expect("spawning the readback thread");
        Collector {
            to_finish: Some(to_finish),
            finished,
            free,
            stages,
            thread: Some(thread),
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.to_finish = None; // ends the thread's loop once the queued frames are done
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod adapter_choice_tests {
    use super::*;
    use wgpu::DeviceType as D;

    fn adapter(name: &str, device_type: D) -> AdapterSummary {
        AdapterSummary {
            name: name.into(),
            backend: wgpu::Backend::Vulkan,
            device_type,
        }
    }

    fn chosen(c: &AdapterChoice) -> Option<usize> {
        match c {
            AdapterChoice::Use { index, .. } => Some(*index),
            AdapterChoice::None { .. } => None,
        }
    }

    #[test]
    fn auto_takes_hardware_and_never_a_software_adapter() {
        let lavapipe = adapter("llvmpipe", D::Cpu);
        let igpu = adapter("Intel UHD", D::IntegratedGpu);
        let dgpu = adapter("NVIDIA H100", D::DiscreteGpu);
        let all = [lavapipe.clone(), igpu.clone(), dgpu.clone()];
        let u = AdapterRequest::Unset;
        assert_eq!(
            chosen(&choose_adapter(&all, AdapterUse::HardwareOnly, u)),
            Some(2)
        );
        let no_discrete = [lavapipe.clone(), igpu];
        assert_eq!(
            chosen(&choose_adapter(&no_discrete, AdapterUse::HardwareOnly, u)),
            Some(1)
        );
        let only_software = [lavapipe];
        let c = choose_adapter(&only_software, AdapterUse::HardwareOnly, u);
        match c {
            AdapterChoice::None { why } => assert!(why.contains("llvmpipe"), "{why}"),
            other => panic!("auto must not take a software adapter: {other:?}"),
        }
        assert!(matches!(
            choose_adapter(&[], AdapterUse::HardwareOnly, u),
            AdapterChoice::None { .. }
        ));
    }

    #[test]
    fn gpu_takes_a_software_adapter_with_a_warning_only_when_no_hardware_exists() {
        let lavapipe = adapter("llvmpipe", D::Cpu);
        let dgpu = adapter("NVIDIA H100", D::DiscreteGpu);
        let u = AdapterRequest::Unset;
        match choose_adapter(std::slice::from_ref(&lavapipe), AdapterUse::Any, u) {
            AdapterChoice::Use {
                index: 0,
                warning: Some(w),
                ..
            } => {
                assert!(w.contains("--backend cpu"), "{w}")
            }
            other => panic!("{other:?}"),
        }
        match choose_adapter(&[lavapipe, dgpu], AdapterUse::Any, u) {
            AdapterChoice::Use {
                index: 1,
                warning: None,
                ..
            } => {}
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn verisim_adapter_asks_for_software_or_refuses_it() {
        let lavapipe = adapter("llvmpipe", D::Cpu);
        let dgpu = adapter("NVIDIA H100", D::DiscreteGpu);
        let both = [dgpu.clone(), lavapipe.clone()];
        let sw = AdapterRequest::Software;
        assert_eq!(
            chosen(&choose_adapter(&both, AdapterUse::HardwareOnly, sw)),
            Some(1)
        );
        assert_eq!(chosen(&choose_adapter(&both, AdapterUse::Any, sw)), Some(1));
        assert_eq!(
            chosen(&choose_adapter(
                std::slice::from_ref(&dgpu),
                AdapterUse::Any,
                sw
            )),
            None
        );
        let hw = AdapterRequest::Hardware;
        assert_eq!(
            chosen(&choose_adapter(
                std::slice::from_ref(&lavapipe),
                AdapterUse::Any,
                hw
            )),
            None
        );
        assert_eq!(chosen(&choose_adapter(&both, AdapterUse::Any, hw)), Some(0));
    }
}
