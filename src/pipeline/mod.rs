//! The run loop over frames and episodes (render, resume, sharding, the run summary), the
//! progress display, and `verisim simulate`'s state log. The CLI calls in here; nothing below
//! this layer calls up.

pub mod progress;
pub mod render;
pub mod simulate;
