//! Labels: the class table, 2D/3D boxes with occlusion and truncation.

pub mod boxes;
pub mod masks;
