//! The backend interface: the same [`FrameInputs`] in, the same [`SensorFrames`] out, on the
//! GPU (wgpu compute) or on the CPU (rayon twins).

use crate::geometry::GeometryPool;
use crate::gpu::types::{LidarHit, PixelOut};
use crate::sim::FrameInputs;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error(
        "no GPU adapter found ({detail}). Install a Vulkan driver: on Debian/Ubuntu \
         `apt-get install mesa-vulkan-drivers libvulkan1` gives the lavapipe software adapter; \
         or use --backend cpu"
    )]
    NoAdapter { detail: String },
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
    /// A GPU adapter when one exists, else the CPU backend.
    Auto,
    Gpu,
    Cpu,
}

#[derive(Clone, Debug, PartialEq)]
pub struct CameraFrame {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<PixelOut>,
}

/// One slot per ray (`column * channels + beam`); slots with no return have label NO_RETURN.
#[derive(Clone, Debug, PartialEq)]
pub struct LidarFrame {
    pub channels: u32,
    pub columns: u32,
    pub hits: Vec<LidarHit>,
}

impl LidarFrame {
    /// The returns only, in slot order.
    pub fn points(&self) -> impl Iterator<Item = &LidarHit> {
        self.hits
            .iter()
            .filter(|h| h.label != crate::gpu::types::NO_RETURN)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct SensorFrames {
    pub cameras: Vec<CameraFrame>,
    pub lidar: Option<LidarFrame>,
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

/// Creates the backend; `Auto` falls back to the CPU with a one-line notice on stderr.
pub fn create_backend(
    kind: BackendKind,
    pool: &GeometryPool,
) -> Result<Box<dyn Backend>, BackendError> {
    match kind {
        BackendKind::Cpu => Ok(Box::new(crate::cpu::CpuBackend::new(pool))),
        BackendKind::Gpu => Ok(Box::new(crate::gpu::GpuBackend::new(pool)?)),
        BackendKind::Auto => match crate::gpu::GpuBackend::new(pool) {
            Ok(g) => Ok(Box::new(g)),
            Err(e @ BackendError::NoAdapter { .. }) => {
                eprintln!("verisim: {e}; rendering on the CPU backend");
                Ok(Box::new(crate::cpu::CpuBackend::new(pool)))
            }
            Err(e) => Err(e),
        },
    }
}
