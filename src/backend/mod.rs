//! The backend interface: the same [`FrameInputs`] in, the same [`SensorFrames`] out, on the
//! GPU (wgpu compute) or on the CPU (rayon twins).

use crate::frame::{FrameInputs, SensorFrames};
use crate::geometry::GeometryPool;

pub mod cpu;
pub mod exposure;
pub mod gpu;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "no usable GPU adapter: {detail}. Install a Vulkan driver for your GPU, or render with \
         --backend cpu (for tests on a machine without a GPU, `apt-get install \
         mesa-vulkan-drivers libvulkan1` gives the lavapipe software adapter)"
    )]
    NoAdapter { detail: String },
    #[error("{0}")]
    BadRequest(String),
    #[error("GPU device request failed on {adapter}: {source}")]
    Device {
        adapter: String,
        #[source]
        source: wgpu::RequestDeviceError,
    },
    #[error("GPU readback failed: {0}")]
    Readback(String),
    #[error("GPU error: {0}")]
    Gpu(String),
    #[error("collect called with no frame in flight")]
    NothingInFlight,
}

/// Which backend the user asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendKind {
    /// A hardware GPU adapter (discrete, then integrated) when one exists, else the CPU
    /// backend; never a software adapter unless VERISIM_ADAPTER=software
    Auto,
    /// A GPU adapter, hardware first; a software one (llvmpipe) with a warning; an error
    /// when there is none
    Gpu,
    /// The CPU backend (rayon twins of the shaders)
    Cpu,
}

pub trait Backend {
    /// One line naming the backend and device.
    fn describe(&self) -> String;

    /// Starts a frame. Frames come back from [`Backend::collect`] in submission order; a
    /// pipelined backend (the GPU) renders while the caller prepares the next frame.
    fn submit(&mut self, inputs: &FrameInputs) -> Result<(), BackendError>;

    /// The oldest submitted frame, waited for. Calling it with no frame in flight is an error.
    fn collect(&mut self) -> Result<SensorFrames, BackendError>;

    /// How many frames to keep submitted before collecting the oldest (1: no overlap).
    fn frames_in_flight(&self) -> usize {
        1
    }

    /// Seconds spent in the backend's own stages so far, named, for the run summary.
    fn timings(&self) -> Vec<(&'static str, f64)> {
        Vec::new()
    }

    /// Renders one frame and waits for it (submit, then collect).
    fn render(&mut self, inputs: &FrameInputs) -> Result<SensorFrames, BackendError> {
        self.submit(inputs)?;
        self.collect()
    }
}

/// Creates the backend. `Auto` takes a hardware adapter or the CPU backend, `Gpu` any adapter
/// (a software one with a warning); see [`crate::backend::gpu::choose_adapter`]. The choice and its
/// reason are logged once per process (a sweep makes a backend per episode).
pub fn create_backend(
    kind: BackendKind,
    pool: &GeometryPool,
) -> Result<Box<dyn Backend>, BackendError> {
    use crate::backend::gpu::{AdapterUse, GpuBackend, GpuContext, pick_adapter};
    static LOGGED: std::sync::Once = std::sync::Once::new();
    let usage = match kind {
        BackendKind::Cpu => {
            LOGGED.call_once(|| log::info!("backend: cpu (asked for with --backend cpu)"));
            return Ok(Box::new(cpu::CpuBackend::new(pool)));
        }
        BackendKind::Gpu => AdapterUse::Any,
        BackendKind::Auto => AdapterUse::HardwareOnly,
    };
    match pick_adapter(usage) {
        Ok((adapter, why, warning)) => {
            let ctx = GpuContext::on(&adapter)?;
            LOGGED.call_once(|| {
                log::info!("backend: {} ({why})", ctx.describe());
                if let Some(w) = warning {
                    log::warn!("{w}");
                }
            });
            Ok(Box::new(GpuBackend::with_context(ctx, pool)))
        }
        Err(BackendError::NoAdapter { detail }) if kind == BackendKind::Auto => {
            LOGGED.call_once(|| {
                if detail.starts_with("no hardware") {
                    log::info!(
                        "backend: cpu ({detail}; the CPU backend is faster than a software \
                         adapter: --backend gpu or VERISIM_ADAPTER=software uses one)"
                    )
                } else {
                    log::info!("backend: cpu (no GPU adapter: {detail})")
                }
            });
            Ok(Box::new(cpu::CpuBackend::new(pool)))
        }
        Err(e) => Err(e),
    }
}
